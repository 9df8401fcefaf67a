import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  MAX_HEADER_BYTES,
  MAX_JSON_DEPTH,
  MAX_RANK,
  SAFETENSORS_DTYPE_BITS,
  StrictJsonReader,
  createSafetensorsFormat,
  firstInvalidUtf8,
  safetensorsFormat,
} from '../../src/formats/safetensors.ts';
import { HEAD_BYTES, type FormatModule, type Inspection } from '../../src/formats/types.ts';
import { createNodeSha256 } from '../../src/hash/node-sha256.ts';
import type { ByteSource } from '../../src/io/byte-source.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import { RULES, ruleEffect, verdictOf } from '../../src/rules/index.ts';
import { SAFETENSORS_RULES } from '../../src/rules/catalog/safetensors.ts';
import { scanSource } from '../../src/scan.ts';
import {
  buildSafetensors,
  buildSafetensorsRaw,
  deterministicBytes,
  padSafetensorsHeader,
  safetensorsByteLength,
  safetensorsHeaderText,
} from '../builders/safetensors.ts';

const encoder = new TextEncoder();

async function inspect(bytes: Uint8Array, format: FormatModule = safetensorsFormat, name = 'm.safetensors'): Promise<Inspection> {
  return format.inspect(createMemorySource(bytes, name), { head: bytes.subarray(0, HEAD_BYTES) });
}

/** Header length N of a built file, so expected offsets are computed from the bytes, not from the code under test. */
function headerLength(file: Uint8Array): number {
  return Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
}

function dataStart(file: Uint8Array): number {
  return 8 + headerLength(file);
}

/** Byte offset in `file` of the `occurrence`-th (1-based) appearance of `text` (UTF-8) after `after`. */
function offsetOf(file: Uint8Array, text: string, occurrence = 1, after = ''): number {
  const needle = encoder.encode(text);
  let from = after ? offsetOf(file, after) : 0;
  for (let found = 0; ; from++) {
    if (from + needle.length > file.length) throw new Error(`${text} not found`);
    if (needle.every((byte, index) => file[from + index] === byte)) {
      found++;
      if (found === occurrence) return from;
    }
  }
}

type Entry = { dtype?: unknown; shape?: unknown; data_offsets?: unknown; [field: string]: unknown };
const u8 = (begin: number, end: number): Entry => ({ dtype: 'U8', shape: [end - begin], data_offsets: [begin, end] });

/** A file with a good tensor `ok` at [0, 4) followed by the members given, and `dataLength` bytes of data. */
function withOk(members: Array<[string, unknown]>, dataLength: number): Uint8Array {
  return buildSafetensorsRaw(safetensorsHeaderText([['ok', u8(0, 4)], ...members]), deterministicBytes(dataLength));
}

describe('safetensors builder', () => {
  it('writes the layout the reference library writes', () => {
    const file = buildSafetensors([{ name: 'w', dtype: 'F32', shape: [2, 3] }], { format: 'pt' });
    const n = headerLength(file);
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n)));
    expect(header).toEqual({ __metadata__: { format: 'pt' }, w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] } });
    expect(file.length).toBe(8 + n + 24);
  });

  it('sizes sub-byte dtypes as ceil(bits × elements / 8)', () => {
    expect(safetensorsByteLength('F4', [4])).toBe(2);
    expect(safetensorsByteLength('F4', [3])).toBe(2);
    expect(safetensorsByteLength('F6_E2M3', [4])).toBe(3);
    expect(safetensorsByteLength('C64', [2])).toBe(16);
    expect(safetensorsByteLength('BOOL', [])).toBe(1);
    expect(() => safetensorsByteLength('F7', [1])).toThrow(/unknown dtype/);
  });

  it('refuses to build a duplicate or reserved name', () => {
    expect(() => buildSafetensors([{ name: 'a', dtype: 'U8', shape: [1] }, { name: 'a', dtype: 'U8', shape: [1] }])).toThrow();
    expect(() => buildSafetensors([{ name: '__metadata__', dtype: 'U8', shape: [1] }])).toThrow();
  });

  it('pads header text to a multiple of 8 bytes, counting UTF-8 bytes', () => {
    expect(encoder.encode(padSafetensorsHeader('{"é":1}')).length % 8).toBe(0);
  });
});

describe('safetensors detect', () => {
  const valid = buildSafetensors([{ name: 'a', dtype: 'U8', shape: [1] }]);
  const rows: Array<{ name: string; head: Uint8Array; detected: boolean }> = [
    { name: 'a valid file', head: valid, detected: true },
    { name: 'an empty header `{}`', head: buildSafetensorsRaw('{}'), detected: true },
    { name: 'an absurd length before `{`', head: buildSafetensorsRaw('{}', undefined, { declaredLength: 2n ** 64n - 1n }), detected: true },
    { name: 'a pickle', head: Uint8Array.from([0x80, 0x04, 0x95, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x7d, 0x94, 0x2e]), detected: false },
    { name: 'a JSON file whose ninth character is `{`', head: encoder.encode('{"abcd":{"x":1}}'), detected: false },
    { name: 'a header not starting with `{`', head: buildSafetensorsRaw(' {}'), detected: false },
    { name: 'eight bytes only', head: valid.subarray(0, 8), detected: false },
    { name: 'nothing', head: new Uint8Array(0), detected: false },
  ];
  it.each(rows)('$name → $detected', ({ head, detected }) => {
    expect(safetensorsFormat.detect(head, 'm.safetensors')).toBe(detected);
  });

  it('keeps the registry identity', () => {
    expect(safetensorsFormat.id).toBe('safetensors');
    expect(safetensorsFormat.label).toBe('safetensors');
    expect(safetensorsFormat.extensions).toEqual(['.safetensors']);
  });
});

describe('safetensors valid files', () => {
  it('a file with no tensors', async () => {
    const result = await inspect(buildSafetensors([]));
    expect(result).toEqual({ tensors: [], metadata: {}, findings: [] });
  });

  it('scalars, zero-element tensors and metadata, with absolute offsets', async () => {
    const file = buildSafetensors(
      [
        { name: 'weight', dtype: 'F32', shape: [2, 3] },
        { name: 'step', dtype: 'I64', shape: [] },
        { name: 'empty', dtype: 'BF16', shape: [0, 4] },
        { name: 'mask', dtype: 'BOOL', shape: [3] },
      ],
      { format: 'pt', note: 'ünïcode ✓' },
    );
    const start = dataStart(file);
    const result = await inspect(file);
    expect(result.findings).toEqual([]);
    expect(result.metadata).toEqual({ format: 'pt', note: 'ünïcode ✓' });
    expect(result.tensors).toEqual([
      { name: 'weight', dtype: 'F32', shape: [2, 3], offset: start, length: 24 },
      { name: 'step', dtype: 'I64', shape: [], offset: start + 24, length: 8 },
      { name: 'empty', dtype: 'BF16', shape: [0, 4], offset: start + 32, length: 0 },
      { name: 'mask', dtype: 'BOOL', shape: [3], offset: start + 32, length: 3 },
    ]);
    expect(start + 35).toBe(file.length);
  });

  it('every dtype the library knows, sub-byte ones included', async () => {
    const dtypes = Object.keys(SAFETENSORS_DTYPE_BITS);
    expect(dtypes).toHaveLength(22);
    const file = buildSafetensors(dtypes.map((dtype) => ({ name: dtype.toLowerCase(), dtype, shape: [4, 2] })));
    const result = await inspect(file);
    expect(result.findings).toEqual([]);
    expect(result.tensors.map((tensor) => [tensor.dtype, tensor.length])).toEqual(
      dtypes.map((dtype) => [dtype, SAFETENSORS_DTYPE_BITS[dtype]]),
    );
  });

  it('the exact bytes the safetensors 0.8.0 library wrote', async () => {
    // Python: safetensors.numpy.save({"a": np.zeros((2, 3), np.float32), "b": np.array(1, np.int64)},
    //                                metadata={"format": "np"})
    // The library orders tensors by alignment then name and pads the header with spaces.
    const header =
      '{"__metadata__":{"format":"np"},"b":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[8,32]}}    ';
    const file = buildSafetensorsRaw(header, new Uint8Array(32));
    expect(headerLength(file)).toBe(0x90);
    const result = await inspect(file);
    expect(result.findings).toEqual([]);
    expect(result.metadata).toEqual({ format: 'np' });
    expect(result.tensors.map((tensor) => [tensor.name, tensor.offset, tensor.length])).toEqual([
      ['b', 8 + 0x90, 8],
      ['a', 8 + 0x90 + 8, 24],
    ]);
  });

  it('keeps header order, odd names and a `__proto__` key as plain data', async () => {
    const file = buildSafetensorsRaw(
      safetensorsHeaderText([
        // JSON.parse, unlike an object literal, makes `__proto__` an own key.
        ['__metadata__', JSON.parse('{"__proto__":"x","constructor":"y"}')],
        ['10', u8(0, 1)],
        ['2', u8(1, 2)],
        ['__proto__', u8(2, 3)],
        ['<script>', u8(3, 4)],
      ]),
      new Uint8Array(4),
    );
    const result = await inspect(file);
    expect(result.findings).toEqual([]);
    expect(result.tensors.map((tensor) => tensor.name)).toEqual(['10', '2', '__proto__', '<script>']);
    expect(Object.getPrototypeOf(result.metadata)).toBe(Object.prototype);
    expect(Object.keys(result.metadata)).toEqual(['__proto__', 'constructor']);
    expect(result.metadata.__proto__).toBe('x');
  });

  it('accepts huge dimensions whose product stays within u64 (checked like the reference loader)', async () => {
    const file = buildSafetensorsRaw(
      safetensorsHeaderText([
        ['a', { dtype: 'U8', shape: [2 ** 32, 2 ** 32 - 1, 0], data_offsets: [0, 0] }],
        ['b', { dtype: 'F64', shape: [0, 2 ** 32, 2 ** 32], data_offsets: [0, 0] }],
      ]),
    );
    const result = await inspect(file);
    expect(result.findings).toEqual([]);
    expect(result.tensors.map((tensor) => tensor.length)).toEqual([0, 0]);
  });

  it(`accepts shapes up to rank ${MAX_RANK}`, async () => {
    const file = buildSafetensors([{ name: 'deep', dtype: 'U8', shape: Array(MAX_RANK).fill(1) }]);
    expect((await inspect(file)).findings).toEqual([]);
  });

  it('accepts a null __metadata__, as the reference loader does', async () => {
    const file = buildSafetensorsRaw(safetensorsHeaderText([['__metadata__', null], ['a', u8(0, 1)]]), new Uint8Array(1));
    expect((await inspect(file)).findings).toEqual([]);
  });

  it('accepts zero-length tensors that touch, at the start and at the end', async () => {
    const file = buildSafetensorsRaw(
      safetensorsHeaderText([
        ['first', u8(0, 0)],
        ['a', u8(0, 2)],
        ['b', u8(2, 2)],
        ['c', u8(2, 2)],
        ['d', u8(2, 4)],
        ['last', u8(4, 4)],
      ]),
      new Uint8Array(4),
    );
    const result = await inspect(file);
    expect(result.findings).toEqual([]);
    expect(result.tensors).toHaveLength(6);
  });

  it('reads the header once, with one bounded read, and never the data region', async () => {
    const file = buildSafetensors([{ name: 'a', dtype: 'F64', shape: [1000] }]);
    const reads: Array<[number, number]> = [];
    const memory = createMemorySource(file, 'm.safetensors');
    const source: ByteSource = { ...memory, read: (offset, length) => (reads.push([offset, length]), memory.read(offset, length)) };
    const result = await safetensorsFormat.inspect(source, { head: file.subarray(0, 8 + 16) });
    expect(result.findings).toEqual([]);
    expect(reads).toEqual([[8, headerLength(file)]]);
  });
});

interface MalformedRow {
  name: string;
  file: Uint8Array;
  rule: string;
  offset: number;
  length?: number;
  /** Names that must still be listed as tensors. */
  tensors: string[];
  /** Names that must not be listed (the broken entry). */
  absent?: string[];
  format?: FormatModule;
}

function malformedRows(): MalformedRow[] {
  const rows: MalformedRow[] = [];
  const add = (row: MalformedRow) => rows.push(row);

  add({ name: 'file shorter than the length field', file: Uint8Array.from([1, 0, 0]), rule: 'safetensors.header.truncated', offset: 0, tensors: [] });
  add({
    name: 'header length above 100 MB',
    file: buildSafetensorsRaw('{}', undefined, { declaredLength: MAX_HEADER_BYTES + 1 }),
    rule: 'safetensors.header.too-large',
    offset: 0,
    length: 8,
    tensors: [],
  });
  add({
    name: 'header length of 2^64 - 1',
    file: buildSafetensorsRaw('{}', undefined, { declaredLength: 2n ** 64n - 1n }),
    rule: 'safetensors.header.too-large',
    offset: 0,
    tensors: [],
  });
  add({
    name: 'header length beyond the file',
    file: buildSafetensorsRaw('{}', new Uint8Array(4), { declaredLength: 7 }),
    rule: 'safetensors.header.beyond-file',
    offset: 0,
    length: 8,
    tensors: [],
  });
  const invalidUtf8 = (bytes: number[]) => {
    const header = encoder.encode('{"ok":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b?":{}}');
    const at = header.indexOf(0x3f);
    const patched = new Uint8Array([...header.subarray(0, at), ...bytes, ...header.subarray(at + 1)]);
    return { file: buildSafetensorsRaw(patched, new Uint8Array(1)), offset: 8 + at };
  };
  for (const [what, bytes] of [['a lone continuation byte', [0x80]], ['an overlong NUL', [0xc0, 0x80]], ['a UTF-16 surrogate', [0xed, 0xa0, 0x80]], ['a truncated sequence', [0xe2, 0x82]]] as const) {
    const { file, offset } = invalidUtf8([...bytes]);
    add({ name: `header with ${what}`, file, rule: 'safetensors.header.invalid-utf8', offset, length: 1, tensors: [] });
  }
  add({ name: 'header that is not JSON', file: buildSafetensorsRaw('{"a":}'), rule: 'safetensors.header.invalid-json', offset: 8 + 5, length: 1, tensors: [] });
  add({ name: 'empty header', file: buildSafetensorsRaw(''), rule: 'safetensors.header.invalid-json', offset: 8, tensors: [] });
  add({ name: 'header padded with NULs', file: buildSafetensorsRaw('{}\0\0'), rule: 'safetensors.header.invalid-json', offset: 8 + 2, length: 2, tensors: [] });
  {
    // 4096 characters, one of them two bytes long: the error is at the very end of a non-ASCII header.
    const file = buildSafetensorsRaw(`{"é":${' '.repeat(4096 - 5)}`);
    add({ name: 'non-ASCII header that ends early', file, rule: 'safetensors.header.invalid-json', offset: file.length, length: 0, tensors: [] });
  }
  {
    const file = withOk([['__metadata__', { long: 'é✓'.repeat(5000) }], ['bad', { dtype: 'F7', shape: [1], data_offsets: [4, 5] }]], 5);
    add({ name: 'finding far into a non-ASCII header', file, rule: 'safetensors.entry.unknown-dtype', offset: offsetOf(file, '"dtype"', 1, '"bad"'), tensors: ['ok'], absent: ['bad'] });
  }
  add({ name: 'header with a raw tab in a name', file: buildSafetensorsRaw('{"a\tb":{}}'), rule: 'safetensors.header.invalid-json', offset: 8 + 3, tensors: [] });
  {
    const file = buildSafetensorsRaw(`{"__metadata__":{"é":"${'['.repeat(50)}"},"x":${'['.repeat(200)}}`);
    add({ name: 'nesting deeper than serde_json allows', file, rule: 'safetensors.header.invalid-json', offset: offsetOf(file, '[', 50 + MAX_JSON_DEPTH), tensors: [] });
  }
  add({ name: 'header that is an array', file: buildSafetensorsRaw('[]'), rule: 'safetensors.header.not-object', offset: 8, tensors: [] });

  {
    const file = withOk([['dup', u8(4, 5)], ['dup', u8(4, 6)]], 6);
    add({ name: 'duplicate tensor name', file, rule: 'safetensors.header.duplicate-key', offset: offsetOf(file, '"dup"', 2), tensors: ['ok', 'dup'] });
  }
  {
    const file = buildSafetensorsRaw(
      '{"__metadata__":{"a":"1"},"ok":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"__metadata__":{"b":"2"}}',
      new Uint8Array(4),
    );
    add({ name: 'duplicate __metadata__', file, rule: 'safetensors.header.duplicate-key', offset: offsetOf(file, '"__metadata__"', 2), tensors: ['ok'] });
  }
  {
    const file = buildSafetensorsRaw(
      '{"ok":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"bad":{"dtype":"U8","shape":[2],"dtype":"I8","data_offsets":[4,6]}}',
      new Uint8Array(6),
    );
    add({ name: 'duplicate field in an entry', file, rule: 'safetensors.entry.duplicate-field', offset: offsetOf(file, '"dtype"', 3), tensors: ['ok', 'bad'] });
  }
  {
    const file = buildSafetensorsRaw('{"__metadata__":{"k":"1","k":"2"}}');
    add({ name: 'duplicate key in __metadata__', file, rule: 'safetensors.entry.duplicate-field', offset: offsetOf(file, '"k"', 2), tensors: [] });
  }
  {
    const fields = Array.from({ length: 20 }, (_, index) => `"k${index}":"v"`).join(',');
    const file = buildSafetensorsRaw(`{"__metadata__":{${fields},"k3":"again"}}`);
    add({ name: 'duplicate among 20 __metadata__ keys', file, rule: 'safetensors.entry.duplicate-field', offset: offsetOf(file, '"k3"', 2), tensors: [] });
  }
  {
    const file = withOk([['bad', 5]], 4);
    add({ name: 'entry that is a number', file, rule: 'safetensors.entry.not-object', offset: offsetOf(file, '"bad"'), tensors: ['ok'], absent: ['bad'] });
  }

  const badEntry = (rule: string, name: string, entry: Entry, field: string | null, dataLength: number) => {
    const file = withOk([['bad', entry]], dataLength);
    const offset = field === null ? offsetOf(file, '"bad"') : offsetOf(file, `"${field}"`, 1, '"bad"');
    add({ name, file, rule, offset, tensors: ['ok'], absent: ['bad'] });
  };
  badEntry('safetensors.entry.invalid-dtype', 'missing dtype', { shape: [2], data_offsets: [4, 6] }, null, 6);
  badEntry('safetensors.entry.invalid-dtype', 'dtype that is a number', { dtype: 8, shape: [2], data_offsets: [4, 6] }, 'dtype', 6);
  badEntry('safetensors.entry.unknown-dtype', 'unknown dtype F7', { dtype: 'F7', shape: [2], data_offsets: [4, 6] }, 'dtype', 6);
  badEntry('safetensors.entry.unknown-dtype', 'lower-case dtype', { dtype: 'f32', shape: [2], data_offsets: [4, 12] }, 'dtype', 12);
  badEntry('safetensors.entry.invalid-shape', 'missing shape', { dtype: 'U8', data_offsets: [4, 6] }, null, 6);
  badEntry('safetensors.entry.invalid-shape', 'shape that is a string', { dtype: 'U8', shape: '2', data_offsets: [4, 6] }, 'shape', 6);
  badEntry('safetensors.entry.invalid-shape', 'negative dimension', { dtype: 'U8', shape: [-2], data_offsets: [4, 6] }, 'shape', 6);
  badEntry('safetensors.entry.invalid-shape', 'fractional dimension', { dtype: 'U8', shape: [1.5], data_offsets: [4, 6] }, 'shape', 6);
  badEntry('safetensors.entry.invalid-shape', 'dimension above 2^53', { dtype: 'U8', shape: [2 ** 60], data_offsets: [4, 6] }, 'shape', 6);
  badEntry('safetensors.entry.invalid-shape', `rank ${MAX_RANK + 1}`, { dtype: 'U8', shape: Array(MAX_RANK + 1).fill(1), data_offsets: [4, 5] }, 'shape', 5);
  {
    const file = buildSafetensorsRaw(
      '{"ok":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"bad":{"dtype":"U8","shape":[2.0],"data_offsets":[4,6]}}',
      new Uint8Array(6),
    );
    add({ name: 'dimension written 2.0', file, rule: 'safetensors.entry.invalid-shape', offset: offsetOf(file, '"shape"', 2), tensors: ['ok'], absent: ['bad'] });
  }
  badEntry('safetensors.entry.invalid-offsets', 'missing data_offsets', { dtype: 'U8', shape: [2] }, null, 4);
  badEntry('safetensors.entry.invalid-offsets', 'three data_offsets', { dtype: 'U8', shape: [2], data_offsets: [4, 6, 8] }, 'data_offsets', 6);
  badEntry('safetensors.entry.invalid-offsets', 'begin one after end', { dtype: 'U8', shape: [2], data_offsets: [5, 4] }, 'data_offsets', 6);
  badEntry('safetensors.entry.invalid-offsets', 'negative offset', { dtype: 'U8', shape: [2], data_offsets: [-2, 6] }, 'data_offsets', 6);
  badEntry('safetensors.entry.invalid-offsets', 'offset that is a string', { dtype: 'U8', shape: [2], data_offsets: ['4', 6] }, 'data_offsets', 6);
  {
    const file = buildSafetensorsRaw(
      '{"ok":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"bad":{"dtype":"U8","shape":[2],"data_offsets":[4,6e0]}}',
      new Uint8Array(6),
    );
    add({ name: 'offset written 6e0', file, rule: 'safetensors.entry.invalid-offsets', offset: offsetOf(file, '"data_offsets"', 2), tensors: ['ok'], absent: ['bad'] });
  }

  {
    const file = withOk([['bad', u8(4, 9)]], 8);
    add({ name: 'tensor one byte past the end of the file', file, rule: 'safetensors.offsets.out-of-bounds', offset: offsetOf(file, '"data_offsets"', 1, '"bad"'), tensors: ['ok'] });
  }
  {
    const file = withOk([['bad', u8(3, 7)]], 7);
    add({ name: 'tensors that overlap on one byte', file, rule: 'safetensors.offsets.overlap', offset: dataStart(file) + 3, length: 1, tensors: ['ok', 'bad'] });
  }
  {
    const file = withOk([['bad', u8(1, 1)]], 4);
    add({ name: 'zero-length tensor inside another', file, rule: 'safetensors.offsets.overlap', offset: dataStart(file) + 1, length: 0, tensors: ['ok', 'bad'] });
  }
  {
    const file = withOk([['bad', u8(5, 9)]], 9);
    add({ name: 'one-byte gap between tensors', file, rule: 'safetensors.offsets.gap', offset: dataStart(file) + 4, length: 1, tensors: ['ok', 'bad'] });
  }
  {
    const file = buildSafetensorsRaw(safetensorsHeaderText([['late', u8(3, 7)]]), new Uint8Array(7));
    add({ name: 'first tensor not at 0', file, rule: 'safetensors.offsets.gap', offset: dataStart(file), length: 3, tensors: ['late'] });
  }
  {
    const file = withOk([], 5);
    add({ name: 'one byte after the last tensor', file, rule: 'safetensors.offsets.trailing-bytes', offset: dataStart(file) + 4, length: 1, tensors: ['ok'] });
  }
  {
    const file = buildSafetensorsRaw('{}', encoder.encode('PK\x03\x04'));
    add({ name: 'no tensors but a data region', file, rule: 'safetensors.offsets.trailing-bytes', offset: 10, length: 4, tensors: [] });
  }
  {
    const file = withOk([['bad', { dtype: 'F32', shape: [2], data_offsets: [4, 8] }]], 8);
    add({ name: 'range shorter than shape × dtype', file, rule: 'safetensors.tensor.size-mismatch', offset: offsetOf(file, '"data_offsets"', 1, '"bad"'), tensors: ['ok', 'bad'] });
  }
  {
    const file = withOk([['bad', { dtype: 'U8', shape: [2 ** 32, 2 ** 32, 2], data_offsets: [4, 8] }]], 8);
    add({ name: 'element count that overflows u64', file, rule: 'safetensors.tensor.size-mismatch', offset: offsetOf(file, '"shape"', 1, '"bad"'), tensors: ['ok', 'bad'] });
  }
  {
    // The reference loader multiplies left to right in u64 and fails on the overflow, even before a 0.
    const file = withOk([['bad', { dtype: 'U8', shape: [2 ** 32, 2 ** 32, 0], data_offsets: [4, 4] }]], 4);
    add({ name: 'element count that overflows u64 before a 0', file, rule: 'safetensors.tensor.size-mismatch', offset: offsetOf(file, '"shape"', 1, '"bad"'), tensors: ['ok', 'bad'] });
  }
  {
    const file = withOk([['bad', { dtype: 'F4', shape: [3], data_offsets: [4, 6] }]], 6);
    add({ name: 'F4 tensor of 3 elements (12 bits)', file, rule: 'safetensors.tensor.misaligned-bits', offset: offsetOf(file, '"shape"', 1, '"bad"'), tensors: ['ok', 'bad'] });
  }
  {
    const file = withOk([['bad', { dtype: 'F6_E3M2', shape: [3], data_offsets: [4, 7] }]], 7);
    add({ name: 'F6 tensor of 3 elements (18 bits)', file, rule: 'safetensors.tensor.misaligned-bits', offset: offsetOf(file, '"shape"', 1, '"bad"'), tensors: ['ok', 'bad'] });
  }
  {
    const file = withOk([['__metadata__', 'pt']], 4);
    add({ name: '__metadata__ that is a string', file, rule: 'safetensors.metadata.not-object', offset: offsetOf(file, '"__metadata__"'), tensors: ['ok'] });
  }
  {
    const file = withOk([['__metadata__', ['a']]], 4);
    add({ name: '__metadata__ that is an array', file, rule: 'safetensors.metadata.not-object', offset: offsetOf(file, '"__metadata__"'), tensors: ['ok'] });
  }
  {
    const file = withOk([['__metadata__', { good: 'yes', step: 3 }]], 4);
    add({ name: '__metadata__ value that is a number', file, rule: 'safetensors.metadata.not-string', offset: offsetOf(file, '"step"'), tensors: ['ok'] });
  }
  {
    const file = buildSafetensors([
      { name: 'a', dtype: 'U8', shape: [1] },
      { name: 'b', dtype: 'U8', shape: [1] },
      { name: 'c', dtype: 'U8', shape: [1] },
    ]);
    add({ name: 'more tensors than the limit', file, rule: 'safetensors.tensors.too-many', offset: 8, tensors: ['a', 'b'], absent: ['c'], format: createSafetensorsFormat({ maxTensors: 2 }) });
  }
  return rows;
}

describe('safetensors malformed files', () => {
  const rows = malformedRows();

  it.each(rows)('$name → $rule at $offset', async (row) => {
    const result = await inspect(row.file, row.format);
    const finding = result.findings.find((candidate) => candidate.rule === row.rule);
    expect(finding, JSON.stringify(result.findings.map((candidate) => candidate.rule))).toBeDefined();
    expect(finding!.location.offset).toBe(row.offset);
    if (row.length !== undefined) expect(finding!.location.length).toBe(row.length);
    expect(finding!.detail).toMatch(/offset \d+/);
    expect(ruleEffect(finding!.rule)).toBe('malformed');
    expect(verdictOf(result.findings)).toBe('malformed');
    const names = result.tensors.map((tensor) => tensor.name);
    expect(names).toEqual(expect.arrayContaining(row.tensors));
    for (const absent of row.absent ?? []) expect(names).not.toContain(absent);
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });

  it('has a row for every rule of the catalog', () => {
    const covered = new Set(rows.map((row) => row.rule));
    const untested = Object.keys(SAFETENSORS_RULES).filter((rule) => rule !== 'safetensors.findings.truncated' && !covered.has(rule));
    expect(untested).toEqual([]);
  });

  it('reports each violation of a broken entry as its own finding', async () => {
    const file = withOk([['bad', { dtype: 'F7', shape: [-1], data_offsets: [9, 2] }]], 4);
    const rules = (await inspect(file)).findings.map((finding) => finding.rule).sort();
    expect(rules).toEqual(['safetensors.entry.invalid-offsets', 'safetensors.entry.invalid-shape', 'safetensors.entry.unknown-dtype']);
  });

  it('reports a header both too large and beyond the file twice, without reading it', async () => {
    const file = buildSafetensorsRaw('{}', undefined, { declaredLength: 2n ** 64n - 1n });
    const result = await inspect(file);
    expect(result.findings.map((finding) => finding.rule)).toEqual(['safetensors.header.too-large', 'safetensors.header.beyond-file']);
    expect(result.findings[0].detail).toBe(`header length 18446744073709551615 exceeds ${MAX_HEADER_BYTES} at offset 0`);
  });

  it('accepts a header of exactly MAX_HEADER_BYTES as far as the limit goes', async () => {
    const file = buildSafetensorsRaw('{}', undefined, { declaredLength: MAX_HEADER_BYTES });
    const rules = (await inspect(file)).findings.map((finding) => finding.rule);
    expect(rules).toEqual(['safetensors.header.beyond-file']);
  });

  it('lists the tensor the loader would use when a name repeats (the last one)', async () => {
    const file = withOk([['dup', u8(4, 5)], ['dup', { dtype: 'U8', shape: [1, 2], data_offsets: [4, 6] }]], 6);
    const result = await inspect(file);
    expect(result.tensors.find((tensor) => tensor.name === 'dup')?.shape).toEqual([1, 2]);
    expect(result.findings.map((finding) => finding.rule)).toEqual(['safetensors.header.duplicate-key']);
  });

  it('detects keys that are equal once JSON escapes are decoded', async () => {
    const file = buildSafetensorsRaw(
      '{"ok":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"\\u006fk":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}',
      new Uint8Array(4),
    );
    const result = await inspect(file);
    expect(result.findings.map((finding) => finding.rule)).toEqual(['safetensors.header.duplicate-key']);
    expect(result.findings[0].location.offset).toBe(offsetOf(file, '"\\u006fk"'));
  });

  it('keeps the valid __metadata__ strings and drops the others', async () => {
    const result = await inspect(withOk([['__metadata__', { good: 'yes', step: 3, nested: { a: 'b' } }]], 4));
    expect(result.metadata).toEqual({ good: 'yes' });
    expect(result.findings.map((finding) => finding.rule)).toEqual(['safetensors.metadata.not-string', 'safetensors.metadata.not-string']);
  });

  it('caps findings per rule and says how many were left out', async () => {
    const members: Array<[string, unknown]> = Array.from({ length: 5 }, (_, index) => [`t${index}`, { dtype: 'F7', shape: [1], data_offsets: [index, index + 1] }]);
    const file = buildSafetensorsRaw(safetensorsHeaderText(members), new Uint8Array(5));
    const result = await inspect(file, createSafetensorsFormat({ maxFindingsPerRule: 2 }));
    expect(result.findings.map((finding) => finding.rule)).toEqual([
      'safetensors.entry.unknown-dtype',
      'safetensors.entry.unknown-dtype',
      'safetensors.findings.truncated',
    ]);
    expect(result.findings[2].detail).toContain('3 more findings of safetensors.entry.unknown-dtype');
  });

  it('quotes hostile names as data in details and evidence', async () => {
    const name = '<img src=x onerror=alert(1)>'.repeat(20);
    const file = withOk([[name, { dtype: 'F7', shape: [1], data_offsets: [4, 5] }]], 5);
    const [finding] = (await inspect(file)).findings;
    expect(finding.detail).toContain(JSON.stringify(name.slice(0, 120) + '…'));
    expect(finding.evidence!.length).toBeLessThanOrEqual(241);
  });
});

describe('safetensors large headers', () => {
  it('inspects 100,000 tensors without quadratic work', async () => {
    const count = 100_000;
    const specs = Array.from({ length: count }, (_, index) => ({ name: `model.layers.${index}.weight`, dtype: 'F16', shape: [2], data: new Uint8Array(4) }));
    const file = buildSafetensors(specs);
    const result = await inspect(file);
    expect(result.findings).toEqual([]);
    expect(result.tensors).toHaveLength(count);
    expect(result.tensors[count - 1]).toEqual({ name: `model.layers.${count - 1}.weight`, dtype: 'F16', shape: [2], offset: dataStart(file) + (count - 1) * 4, length: 4 });
  });

  it('keeps a 100,000-entry hostile header (all overlapping, all duplicates) to capped findings', async () => {
    const count = 100_000;
    const members: Array<[string, unknown]> = Array.from({ length: count }, (_, index) => [index % 2 ? 'same' : `t${index}`, u8(0, 4)]);
    const result = await inspect(buildSafetensorsRaw(safetensorsHeaderText(members), new Uint8Array(4)));
    const rules = new Map<string, number>();
    for (const finding of result.findings) rules.set(finding.rule, (rules.get(finding.rule) ?? 0) + 1);
    expect(rules.get('safetensors.header.duplicate-key')).toBe(100);
    expect(rules.get('safetensors.offsets.overlap')).toBe(100);
    expect(rules.get('safetensors.findings.truncated')).toBe(2);
    expect(result.tensors).toHaveLength(count / 2 + 1);
  });
});

/** JSON.parse's verdict and value, or the marker 'rejected'. */
function parseWith(parse: (text: string) => unknown, text: string): unknown {
  try {
    return parse(text);
  } catch {
    return 'rejected';
  }
}

const strictParse = (text: string) => new StrictJsonReader(text).document();

describe('StrictJsonReader', () => {
  const tricky = [
    '{}', ' [ ] ', '0', '-0', '-0.0e-0', '1E5', '1e+2', '123456789012345678901234567890', '0.1', '2.5e-3',
    '"\\u0000"', '"\\ud800"', '"\\u00e9\\n\\/"', '"é ✓ 𝄞"', 'true', 'false', 'null', '{"__proto__":{"x":1}}',
    '{"a":1,"a":2}', '[[],[{}]]', '\t\r\n{"a" : [1 , 2]}\n',
    '', ' ', '1.', '.5', '01', '-', '--1', '1e', '1e+', '+1', 'tru', 'nul', 'True', '[1,]', '{"a":1,}', '{,}', '[,]',
    '{"a" 1}', '{a:1}', "{'a':1}", '"\\x"', '"\\u12"', '"\\u12g4"', '"a\tb"', '"unterminated', '[1 2]', '{} {}', '\u00a0{}',
    '\ufeff{}', 'NaN', 'Infinity', '0x10', '[1]]', '{"a":1}}', '"\\"', '[-]', '1.e5', '1e5.0',
  ];
  it.each(tricky.map((text) => [text]))('agrees with JSON.parse on %j', (text) => {
    expect(parseWith(strictParse, text)).toEqual(parseWith(JSON.parse, text));
  });

  it('agrees with JSON.parse on 5,000 mutated documents', () => {
    let seed = 99;
    const random = (below: number) => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return (seed >>> 8) % below;
    };
    const seeds = ['{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}', '[1,-2.5e3,"x\\"y",true,null,{"k":[0]}]'];
    const alphabet = ['{', '}', '[', ']', '"', ':', ',', ' ', '\\', '-', '+', '.', 'e', '0', '1', '9', 'a', 't', 'n', 'u', '\t', '\n', '\u0001', 'é'];
    let accepted = 0;
    for (let round = 0; round < 5000; round++) {
      let text = seeds[random(seeds.length)];
      for (let edits = 1 + random(3); edits > 0; edits--) {
        const at = random(text.length + 1);
        const kind = random(3);
        const char = alphabet[random(alphabet.length)];
        text = kind === 0 ? text.slice(0, at) + char + text.slice(at) : kind === 1 ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + char + text.slice(at + 1);
      }
      const expected = parseWith(JSON.parse, text);
      if (expected !== 'rejected') accepted++;
      expect(parseWith(strictParse, text), text).toEqual(expected);
    }
    expect(accepted).toBeGreaterThan(100);
  });

  it('keeps `__proto__` as data and stops at MAX_JSON_DEPTH', () => {
    const parsed = strictParse('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(() => strictParse('['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH))).not.toThrow();
    expect(() => strictParse('['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1))).toThrow(/nesting deeper than 128/);
    expect(() => strictParse('['.repeat(1_000_000))).toThrow(/nesting/);
  });
});

describe('firstInvalidUtf8', () => {
  it('agrees with a fatal TextDecoder on random and tricky bytes', () => {
    const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    const samples: Uint8Array[] = [
      encoder.encode('plain ascii'),
      encoder.encode('ünïcödé ✓ 𝄞'),
      Uint8Array.from([0xf4, 0x90, 0x80, 0x80]),
      Uint8Array.from([0xf0, 0x8f, 0xbf, 0xbf]),
      Uint8Array.from([0xef, 0xbb, 0xbf, 0x41]),
    ];
    const alphabet = [0x41, 0x80, 0xbf, 0xc2, 0xc0, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xa0, 0x90, 0x8f, 0xff];
    for (let sample = 0; sample < 2000; sample++) {
      samples.push(Uint8Array.from({ length: 1 + (random() % 8) }, () => alphabet[random() % alphabet.length]));
    }
    for (const bytes of samples) {
      let valid = true;
      try {
        fatal.decode(bytes);
      } catch {
        valid = false;
      }
      expect(firstInvalidUtf8(bytes) === -1, [...bytes].join(',')).toBe(valid);
    }
  });
});

describe('safetensors through scanSource', () => {
  it('a valid file: format, verdict, tensors and SHA-256', async () => {
    const file = buildSafetensors(
      [
        { name: 'embed', dtype: 'BF16', shape: [4, 8] },
        { name: 'bias', dtype: 'F32', shape: [8] },
      ],
      { format: 'pt' },
    );
    const report = await scanSource(createMemorySource(file, 'm.safetensors'), { createSha256: createNodeSha256, chunkSize: 17 });
    expect(report.format).toBe('safetensors');
    expect(report.verdict).toBe('clean');
    expect(report.findings).toEqual([]);
    expect(report.metadata).toEqual({ format: 'pt' });
    expect(report.tensors).toEqual([
      { name: 'embed', dtype: 'BF16', shape: [4, 8], offset: dataStart(file), length: 64 },
      { name: 'bias', dtype: 'F32', shape: [8], offset: dataStart(file) + 64, length: 32 },
    ]);
    expect(report.sha256).toBe(createHash('sha256').update(file).digest('hex'));
  });

  it('a pickle named model.safetensors is not read as safetensors', async () => {
    const pickle = Uint8Array.from([0x80, 0x04, 0x95, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0x8c, 0x02, 0x6f, 0x73, 0x94, 0x2e]);
    const report = await scanSource(createMemorySource(pickle, 'model.safetensors'), { createSha256: createNodeSha256 });
    expect(report.format).not.toBe('safetensors');
    expect(report.findings.map((finding) => finding.rule)).toContain('format.extension-mismatch');
    expect(report.tensors).toEqual([]);
  });

  it('an absurd header length is detected and reported, not skipped', async () => {
    const file = buildSafetensorsRaw('{}', undefined, { declaredLength: 0xffff_ffff });
    const report = await scanSource(createMemorySource(file, 'm.safetensors'), { createSha256: createNodeSha256 });
    expect(report.format).toBe('safetensors');
    expect(report.verdict).toBe('malformed');
    expect(report.findings.find((finding) => finding.rule === 'safetensors.header.too-large')?.detail).toBe(
      'header length 4294967295 exceeds 100000000 at offset 0',
    );
  });

  it('every rule id is registered in the catalog', () => {
    for (const rule of Object.keys(SAFETENSORS_RULES)) expect(RULES).toHaveProperty([rule]);
  });
});
