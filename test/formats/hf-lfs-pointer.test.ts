import { describe, expect, it } from 'vitest';
import { MAX_POINTER_BYTES, parseLfsPointer } from '../../src/formats/lfs-pointer.ts';
import { rulesOf, scanText } from '../folder/scan-helpers.ts';

const OID = '5fb133602674962e0a5f2653733e249f0c094056982bb529f41bee80ce26518f';
const pointer = (oid = `sha256:${OID}`, size = '648') => `version https://git-lfs.github.com/spec/v1\noid ${oid}\nsize ${size}\n`;

describe('git-lfs-pointer', () => {
  it('is detected by content whatever the name, with the oid and size in the metadata', async () => {
    const report = await scanText('m/model-00002-of-00003.safetensors', pointer());
    expect(report.format).toBe('git-lfs-pointer');
    expect(report.metadata).toEqual({ lfsVersion: 'https://git-lfs.github.com/spec/v1', lfsOid: OID, lfsSize: 648 });
    expect(rulesOf(report)).toEqual(['format.extension-mismatch', 'hf.lfs-pointer']);
    expect(report.verdict).toBe('suspicious');
    expect(report.findings[1].severity).toBe('medium');
    expect(report.findings[1].detail).toBe(
      `model-00002-of-00003.safetensors is a 128-byte Git LFS pointer to the object sha256:${OID} of 648 bytes, not the file itself`,
    );
  });

  it('reports a malformed pointer, still as a pointer', async () => {
    const report = await scanText('weights.bin', pointer('md5:abc', '-1'));
    expect(report.format).toBe('git-lfs-pointer');
    expect(report.metadata.lfsOid).toBeNull();
    expect(report.findings.at(-1)?.detail).toContain('the pointer itself is malformed: oid "md5:abc" is not sha256:<64 lower-case hex digits>; size "-1" is not a byte count');
  });

  it(`is not a pointer at ${MAX_POINTER_BYTES} bytes or more (git-lfs reads only smaller blobs)`, async () => {
    const text = pointer() + 'x'.repeat(MAX_POINTER_BYTES);
    expect((await scanText('notes.txt', text)).format).toBe('unknown');
  });

  it.each([
    ['no trailing newline', `version https://git-lfs.github.com/spec/v1\noid sha256:${OID}\nsize 1`, ['the last line has no newline']],
    ['no oid or size', 'version https://git-lfs.github.com/spec/v1\n', ['no oid line', 'no size line']],
    ['an extension line', `version https://git-lfs.github.com/spec/v1\next-0-foo sha256:${OID}\noid sha256:${OID}\nsize 2\n`, []],
  ])('parseLfsPointer: %s', (_, text, problems) => {
    expect(parseLfsPointer(text).problems).toEqual(problems);
  });
});
