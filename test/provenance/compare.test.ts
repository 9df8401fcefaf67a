import { describe, expect, it } from 'vitest';
import { compareProvenance, provenanceFails } from '../../src/provenance/compare.ts';
import { parseExpectations } from '../../src/provenance/parse-expectations.ts';
import { formatProvenanceText } from '../../src/provenance/text.ts';
import type { ScannedFile } from '../../src/provenance/types.ts';
import { fixtureCertificate, modelSigningStatement, sigstoreBundle } from './bundle-builder.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);

const file = (path: string, sha256: string | null, size = 10): ScannedFile => ({ path, sha256, size });
const sums = (name: string, ...lines: string[]) => parseExpectations(name, lines.join('\n') + '\n');

describe('compareProvenance: statuses', () => {
  it('matches, differs, not listed and listed-but-not-scanned', () => {
    const report = compareProvenance(
      [file('my-model/model.safetensors', A), file('my-model/config.json', C), file('my-model/README.md', B)],
      [sums('SHA256SUMS', `${A}  model.safetensors`, `${B}  config.json`, `${C}  tokenizer.json`)],
    );
    expect(report.files.map((result) => [result.path, result.status])).toEqual([
      ['my-model/model.safetensors', 'matches'],
      ['my-model/config.json', 'differs'],
      ['my-model/README.md', 'not-listed'],
    ]);
    expect(report.files[1].claims).toEqual([
      { source: 'SHA256SUMS', kind: 'sha256sums', listedPath: 'config.json', line: 2, sha256: B, agrees: false, mismatch: 'sha256' },
    ]);
    expect(report.listedNotScanned).toEqual([
      { source: 'SHA256SUMS', kind: 'sha256sums', listedPath: 'tokenizer.json', line: 3, sha256: C, missing: 'path' },
    ]);
    expect(report.counts).toEqual({ matches: 1, differs: 1, notListed: 1, notHashed: 0, listedNotScanned: 1, conflicts: 0 });
    expect(provenanceFails(report)).toBe(true);
  });

  it('all matching does not fail', () => {
    const report = compareProvenance([file('m/x.bin', A)], [sums('SUMS', `${A}  x.bin`)]);
    expect(report.files[0].status).toBe('matches');
    expect(provenanceFails(report)).toBe(false);
  });

  it('a file whose hash was not computed is not-hashed, unless the size already differs', () => {
    const pointer = parseExpectations('y.bin', `version https://git-lfs.github.com/spec/v1\noid sha256:${B}\nsize 99\n`);
    const report = compareProvenance([file('x.bin', null), file('y.bin', null, 10)], [sums('SUMS', `${A}  x.bin`), pointer]);
    expect(report.files.map((result) => result.status)).toEqual(['not-hashed', 'differs']);
    expect(report.files[1].claims[0]).toMatchObject({ agrees: false, mismatch: 'size', size: 99 });
  });

  it('a Git LFS pointer compares the size as well as the hash', () => {
    const pointer = parseExpectations('model.safetensors', `version https://git-lfs.github.com/spec/v1\noid sha256:${A}\nsize 11\n`);
    const report = compareProvenance([file('dl/model.safetensors', A, 10)], [pointer]);
    expect(report.files[0]).toMatchObject({ status: 'differs', claims: [{ mismatch: 'size', size: 11 }] });
  });

  it('hash comparison ignores the case of the scanned hash', () => {
    expect(compareProvenance([file('x', A.toUpperCase())], [sums('S', `${A}  x`)]).files[0].status).toBe('matches');
  });
});

describe('compareProvenance: path matching', () => {
  it.each<[string, string, string, boolean]>([
    ['a bare name fits a file in a folder', 'model.safetensors', 'my-model/model.safetensors', true],
    ['./ is ignored', './model.safetensors', 'my-model/model.safetensors', true],
    ['an absolute scanned path', 'model.safetensors', '/home/me/my-model/model.safetensors', true],
    ['a listed folder prefix', 'my-model/model.safetensors', '/data/my-model/model.safetensors', true],
    ['Windows separators', 'sub\\model.safetensors', 'm/sub/model.safetensors', true],
    ['only whole components', 'model.safetensors', 'my-model/old-model.safetensors', false],
    ['a different folder', 'other/model.safetensors', 'my-model/model.safetensors', false],
    ['a listed path longer than the scanned one', 'a/b/model.safetensors', 'b/model.safetensors', false],
  ])('%s', (_, listed, scanned, fits) => {
    const report = compareProvenance([file(scanned, A)], [sums('SUMS', `${A}  ${listed}`)]);
    expect(report.files[0].status).toBe(fits ? 'matches' : 'not-listed');
  });

  it('within one source the longest fitting entry wins', () => {
    const report = compareProvenance(
      [file('m/x.bin', A), file('m/sub/x.bin', B)],
      [sums('SUMS', `${A}  x.bin`, `${B}  sub/x.bin`)],
    );
    expect(report.files.map((result) => [result.status, result.claims.map((claim) => claim.line)])).toEqual([
      ['matches', [1]],
      ['matches', [2]],
    ]);
    expect(report.notes).toEqual([]);
  });

  it('a name that fits several files goes to the one with its hash, with a note', () => {
    const report = compareProvenance([file('a/model.bin', B), file('b/model.bin', A)], [sums('SUMS', `${A}  model.bin`)]);
    expect(report.files.map((result) => result.status)).toEqual(['not-listed', 'matches']);
    expect(report.notes).toEqual(['SUMS line 1 lists model.bin, which fits 2 scanned files; it was compared with the one(s) that have its hash (b/model.bin) only']);
  });

  it('a name that fits several files, none with its hash, is compared with each', () => {
    const report = compareProvenance([file('a/model.bin', B), file('b/model.bin', C)], [sums('SUMS', `${A}  model.bin`)]);
    expect(report.files.map((result) => result.status)).toEqual(['differs', 'differs']);
    expect(report.notes[0]).toMatch(/none has its hash, so it was compared with each/);
  });
});

describe('compareProvenance: pasted hashes', () => {
  const pasted = () => parseExpectations('pasted', A);

  it('applies to the only scanned file', () => {
    expect(compareProvenance([file('x.bin', B)], [pasted()]).files[0]).toMatchObject({ status: 'differs', claims: [{ listedPath: null, sha256: A }] });
  });

  it('with several files, applies to those that have it', () => {
    const report = compareProvenance([file('x.bin', B), file('y.bin', A)], [pasted()]);
    expect(report.files.map((result) => result.status)).toEqual(['not-listed', 'matches']);
    expect(provenanceFails(report)).toBe(false);
  });

  it('with several files and none that has it, fails', () => {
    const report = compareProvenance([file('x.bin', B), file('y.bin', C)], [pasted()]);
    expect(report.listedNotScanned).toEqual([{ source: 'pasted', kind: 'sha256', listedPath: null, sha256: A, missing: 'sha256' }]);
    expect(provenanceFails(report)).toBe(true);
  });
});

describe('compareProvenance: several sources', () => {
  it('reports conflicting expectations for a scanned file', () => {
    const report = compareProvenance(
      [file('m/model.safetensors', A)],
      [sums('SHA256SUMS', `${A}  model.safetensors`), sums('mirror.sha256', `${B}  m/model.safetensors`)],
    );
    expect(report.files[0].status).toBe('differs');
    expect(report.conflicts).toEqual([
      {
        path: 'm/model.safetensors',
        claims: [
          { source: 'SHA256SUMS', listedPath: 'model.safetensors', line: 1, sha256: A },
          { source: 'mirror.sha256', listedPath: 'm/model.safetensors', line: 1, sha256: B },
        ],
      },
    ]);
  });

  it('reports conflicts between listings for a file that was not scanned', () => {
    const report = compareProvenance([], [sums('one', `${A}  x.bin`), sums('two', `${B}  x.bin`)]);
    expect(report.listedNotScanned).toHaveLength(2);
    expect(report.conflicts).toEqual([{ path: 'x.bin', claims: [{ source: 'one', listedPath: 'x.bin', line: 1, sha256: A }, { source: 'two', listedPath: 'x.bin', line: 1, sha256: B }] }]);
  });

  it('agreeing sources are all shown as claims and are no conflict', () => {
    const bundle = parseExpectations(
      'model.sig',
      JSON.stringify(sigstoreBundle({ statement: modelSigningStatement([{ name: 'model.safetensors', digest: A }]), certificateDer: fixtureCertificate('fulcio-like.der') })),
    );
    const report = compareProvenance([file('m/model.safetensors', A)], [sums('SHA256SUMS', `${A}  model.safetensors`), bundle]);
    expect(report.files[0].status).toBe('matches');
    expect(report.files[0].claims.map((claim) => claim.kind)).toEqual(['sha256sums', 'model-signing-bundle']);
    expect(report.conflicts).toEqual([]);
    expect(report.sources[1].signature?.verified).toBe(false);
  });

  it('the report is plain JSON', () => {
    const report = compareProvenance([file('x', A)], [sums('S', `${A}  x`, 'bad line')]);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });
});

describe('formatProvenanceText', () => {
  it('shows each status, the expected and actual hashes, the source and line, problems and the signature claim', () => {
    const bundle = parseExpectations(
      'model.sig',
      JSON.stringify(sigstoreBundle({ statement: modelSigningStatement([{ name: 'model.safetensors', digest: A }]), certificateDer: fixtureCertificate('fulcio-like.der') })),
    );
    const report = compareProvenance(
      [file('m/model.safetensors', A), file('m/config.json', C), file('m/README.md', B)],
      [sums('SHA256SUMS', `${A}  model.safetensors`, `${B}  config.json`, 'oops', `${C}  tokenizer.json`), bundle],
    );
    const text = formatProvenanceText(report);
    expect(text).toContain('  MATCHES     m/model.safetensors  (SHA256SUMS line 1; model.sig)');
    expect(text).toContain(`  DIFFERS     m/config.json  (SHA256SUMS line 2)\n      expected ${B} (SHA256SUMS line 2)\n      actual   ${C}`);
    expect(text).toContain('  NOT LISTED  m/README.md');
    expect(text).toContain('  NOT SCANNED tokenizer.json (SHA256SUMS line 4)');
    expect(text).toContain('      problem: line 3: expected 64 hex digits then two spaces and a path; found "oops"');
    expect(text).toContain('      signed by (UNVERIFIED claim): email signer@example.com, uri https://github.com/example/model/.github/workflows/sign.yml@refs/heads/main, issuer https://token.actions.githubusercontent.com');
    expect(text).toContain('      verify: model_signing verify sigstore MODEL_PATH --signature model.sig --identity signer@example.com');
    expect(text).toContain('  1 match, 1 differ, 1 not listed, 1 listed but not scanned, 0 conflict(s)');
  });

  it('escapes control characters in listed paths', () => {
    const report = compareProvenance([], [sums('SUMS', `${A}  evil\u001b[2J.bin`)]);
    expect(formatProvenanceText(report)).toContain('evil\\u001b[2J.bin');
  });
});
