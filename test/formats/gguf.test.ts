import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ARRAY_HEAD_ITEMS,
  MAX_ARRAY_LENGTH,
  MAX_FINDINGS_PER_RULE,
  MAX_HEADER_BYTES,
  MAX_KV,
  MAX_STRING_BYTES,
  MAX_TENSORS,
  ggufFormat,
  inspectGguf,
} from '../../src/formats/gguf.ts';
import { GGML_TYPES } from '../../src/formats/gguf-types.ts';
import { HEAD_BYTES, type Inspection } from '../../src/formats/types.ts';
import { createNodeSha256 } from '../../src/hash/node-sha256.ts';
import { type ByteSource, clampRange } from '../../src/io/byte-source.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import type { MetadataArraySummary } from '../../src/report/types.ts';
import { scanSource } from '../../src/scan.ts';
import { type GgufBuildOptions, buildGguf, buildGgufWithLayout, gguf, kv } from '../builders/gguf.ts';

async function inspect(bytes: Uint8Array): Promise<Inspection> {
  return inspectSource(createMemorySource(bytes, 'model.gguf'));
}

async function inspectSource(source: ByteSource): Promise<Inspection> {
  return inspectGguf(source, { head: await source.read(0, HEAD_BYTES) });
}

const rules = (inspection: Inspection) => inspection.findings.map((finding) => finding.rule);

/** A source that records every range read from it. */
function countingSource(bytes: Uint8Array) {
  const inner = createMemorySource(bytes, 'model.gguf');
  const reads: number[] = [];
  const source: ByteSource = {
    name: inner.name,
    size: inner.size,
    read(offset, length) {
      reads.push(length);
      return inner.read(offset, length);
    },
    chunks: (options) => inner.chunks(options),
  };
  return { source, reads };
}

/**
 * A large file that exists only where `parts` put bytes (zeros elsewhere),
 * so limits of hundreds of MB can be tested without allocating them.
 */
function sparseSource(size: number, parts: [offset: number, bytes: Uint8Array][]): ByteSource {
  return {
    name: 'sparse.gguf',
    size,
    async read(offset, length) {
      const [start, end] = clampRange(size, offset, length);
      const out = new Uint8Array(Math.max(0, end - start));
      for (const [partOffset, bytes] of parts) {
        const from = Math.max(start, partOffset);
        const to = Math.min(end, partOffset + bytes.length);
        if (to > from) out.set(bytes.subarray(from - partOffset, to - partOffset), from - start);
      }
      return out;
    },
    chunks() {
      throw new Error('sparse sources are for header tests only');
    },
  };
}

const u32 = (value: number) => new Uint8Array(new Uint32Array([value]).buffer);
const u64 = (value: bigint | number) => new Uint8Array(new BigUint64Array([BigInt(value)]).buffer);
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
};
const ascii = (text: string) => new TextEncoder().encode(text);

describe('ggufFormat.detect', () => {
  it.each([
    { head: ascii('GGUF\x03\x00\x00\x00'), expected: true },
    { head: ascii('GGUF'), expected: true },
    { head: ascii('GGU'), expected: false },
    { head: ascii('GGML\x03'), expected: false },
    { head: new Uint8Array([0x80, 0x02]), expected: false },
  ])('detects $head as $expected', ({ head, expected }) => {
    expect(ggufFormat.detect(head, 'x')).toBe(expected);
  });

  it('is registered as GGUF for .gguf files', () => {
    expect([ggufFormat.id, ggufFormat.label, ggufFormat.extensions]).toEqual(['gguf', 'GGUF', ['.gguf']]);
  });
});

describe('inspectGguf on valid files', () => {
  it('reads every value type and the tensors of a v3 file', async () => {
    const { bytes, layout } = buildGgufWithLayout({
      version: 3,
      kv: [
        kv('general.architecture', gguf.string('llama')),
        kv('general.name', gguf.string('Tiny Llama ✓')),
        kv('test.u8', gguf.u8(255)),
        kv('test.i8', gguf.i8(-128)),
        kv('test.u16', gguf.u16(65535)),
        kv('test.i16', gguf.i16(-32768)),
        kv('test.u32', gguf.u32(4294967295)),
        kv('test.i32', gguf.i32(-2147483648)),
        kv('test.f32', gguf.f32(1e-5)),
        kv('test.f64', gguf.f64(0.1)),
        kv('test.bool', gguf.bool(true)),
        kv('test.u64.small', gguf.u64(42n)),
        kv('test.u64.large', gguf.u64(18446744073709551615n)),
        kv('test.i64', gguf.i64(-9007199254740993n)),
        kv('test.f32.nan', gguf.f32(Number.NaN)),
        kv('test.array.small', gguf.array('i32', [1, -2, 3])),
        kv('test.array.nested', gguf.array('array', [gguf.array('string', ['a', 'b']), gguf.array('u8', [])])),
      ],
      tensors: [
        { name: 'token_embd.weight', dims: [64, 10], type: 'Q8_0' },
        { name: 'blk.0.attn_q.weight', dims: [256, 3], type: 'Q4_K' },
        { name: 'output_norm.weight', dims: [64], type: 'F32' },
      ],
    });
    const inspection = await inspect(bytes);
    expect(inspection.findings).toEqual([]);
    expect(inspection.metadata).toEqual({
      'general.architecture': 'llama',
      'general.name': 'Tiny Llama ✓',
      'test.u8': 255,
      'test.i8': -128,
      'test.u16': 65535,
      'test.i16': -32768,
      'test.u32': 4294967295,
      'test.i32': -2147483648,
      'test.f32': 1e-5,
      'test.f64': 0.1,
      'test.bool': true,
      'test.u64.small': 42,
      'test.u64.large': '18446744073709551615',
      'test.i64': '-9007199254740993',
      'test.f32.nan': 'NaN',
      'test.array.small': [1, -2, 3],
      'test.array.nested': [['a', 'b'], []],
    });
    expect(inspection.tensors).toEqual([
      { name: 'token_embd.weight', dtype: 'Q8_0', shape: [64, 10], offset: layout.tensors[0].dataOffset, length: 2 * 34 * 10 },
      { name: 'blk.0.attn_q.weight', dtype: 'Q4_K', shape: [256, 3], offset: layout.tensors[1].dataOffset, length: 144 * 3 },
      { name: 'output_norm.weight', dtype: 'F32', shape: [64], offset: layout.tensors[2].dataOffset, length: 256 },
    ]);
    expect(layout.tensors[0].dataOffset % 32).toBe(0);
  });

  it('reads a v2 file with a custom alignment', async () => {
    const { bytes, layout } = buildGgufWithLayout({
      version: 2,
      alignment: 64,
      kv: [kv('general.architecture', gguf.string('gpt2'))],
      tensors: [
        { name: 'a', dims: [3], type: 'F16' },
        { name: 'b', dims: [5, 2], type: 'BF16' },
        { name: 'c', dims: [32], type: 'MXFP4' },
      ],
    });
    const inspection = await inspect(bytes);
    expect(inspection.findings).toEqual([]);
    expect(inspection.metadata['general.alignment']).toBe(64);
    expect(inspection.tensors.map((tensor) => [tensor.dtype, tensor.offset, tensor.length])).toEqual([
      ['F16', layout.dataStart, 6],
      ['BF16', layout.dataStart + 64, 20],
      ['MXFP4', layout.dataStart + 128, 17],
    ]);
    expect(layout.dataStart % 64).toBe(0);
  });

  it('reads a vocabulary-only file with no tensors', async () => {
    const inspection = await inspect(buildGguf({ kv: [kv('tokenizer.ggml.model', gguf.string('gpt2'))] }));
    expect(inspection).toEqual({ tensors: [], metadata: { 'tokenizer.ggml.model': 'gpt2' }, findings: [] });
  });

  it('summarises a 150k-token vocabulary without decoding past its head', async () => {
    const tokens = Array.from({ length: 151_936 }, (_, index) => `tok${index}`);
    const bytes = buildGguf({
      kv: [
        kv('tokenizer.ggml.tokens', gguf.array('string', tokens)),
        kv('tokenizer.ggml.scores', gguf.array('f32', tokens.map((_, index) => -index))),
        kv('tokenizer.ggml.token_type', gguf.array('i32', tokens.map(() => 1))),
        kv('general.name', gguf.string('after the vocabulary')),
      ],
    });
    const decode = vi.spyOn(TextDecoder.prototype, 'decode');
    const inspection = await inspect(bytes);
    const decodeCalls = decode.mock.calls.length;
    expect(inspection.findings).toEqual([]);
    const summary: MetadataArraySummary = { summary: 'array', itemType: 'string', length: 151_936, head: tokens.slice(0, ARRAY_HEAD_ITEMS) };
    expect(inspection.metadata['tokenizer.ggml.tokens']).toEqual(summary);
    expect(inspection.metadata['tokenizer.ggml.scores']).toEqual({ summary: 'array', itemType: 'f32', length: 151_936, head: [0, -1, -2, -3, -4, -5, -6, -7] });
    expect(inspection.metadata['tokenizer.ggml.token_type']).toMatchObject({ itemType: 'i32', length: 151_936 });
    expect(inspection.metadata['general.name']).toBe('after the vocabulary');
    // Keys, the head and one string: nowhere near one decode per token.
    expect(decodeCalls).toBeLessThan(50);
  });

  it('never reads the tensor data, only the header', async () => {
    const bytes = buildGguf({ kv: [kv('general.name', gguf.string('big'))], tensors: [{ name: 'w', dims: [2048, 1024], type: 'F32' }] });
    expect(bytes.length).toBeGreaterThan(8 * 1024 * 1024);
    const { source, reads } = countingSource(bytes);
    const inspection = await inspectSource(source);
    expect(inspection.findings).toEqual([]);
    expect(inspection.tensors[0].length).toBe(8 * 1024 * 1024);
    // The detection head only: the header fits in it.
    expect(reads).toEqual([HEAD_BYTES]);
  });

  it('keeps a key named __proto__ as a plain entry', async () => {
    const inspection = await inspect(buildGguf({ kv: [kv('__proto__', gguf.string('x')), kv('constructor', gguf.u8(1))] }));
    expect(Object.getPrototypeOf(inspection.metadata)).toBe(Object.prototype);
    expect(Object.keys(inspection.metadata)).toEqual(['__proto__', 'constructor']);
    expect(JSON.parse(JSON.stringify(inspection.metadata))).toEqual(JSON.parse('{"__proto__":"x","constructor":1}'));
  });

  it('has a size for every ggml type it names', () => {
    for (const type of GGML_TYPES) {
      expect(type.blockSize, type.name).toBeGreaterThan(0);
      expect(type.typeSize, type.name).toBeGreaterThan(0);
    }
    expect(GGML_TYPES.map((type) => type.name)).toEqual(expect.arrayContaining(['BF16', 'IQ2_XXS', 'IQ4_XS', 'TQ1_0', 'TQ2_0', 'MXFP4', 'NVFP4']));
  });
});

interface MalformedCase {
  name: string;
  options?: GgufBuildOptions;
  bytes?: () => Uint8Array;
  rule: string;
  /** Expected location.offset, when the case pins it down. */
  offset?: number | ((layout: ReturnType<typeof buildGgufWithLayout>['layout']) => number);
  detail?: RegExp;
  /** What must survive: partial metadata and tensors. */
  check?: (inspection: Inspection) => void;
}

const header = (version: number, tensors: bigint | number, kvs: bigint | number) => concat(ascii('GGUF'), u32(version), u64(tensors), u64(kvs));

const MALFORMED: MalformedCase[] = [
  { name: 'bad magic', bytes: () => concat(ascii('GGUX'), u32(3), u64(0), u64(0)), rule: 'gguf.header.magic', offset: 0 },
  { name: 'version 1', options: { version: 1 }, rule: 'gguf.header.version', offset: 4, detail: /version 1 .* no longer read/ },
  { name: 'big-endian version', options: { version: 0x03000000 }, rule: 'gguf.header.version', detail: /big-endian/ },
  { name: 'version 4', options: { version: 4 }, rule: 'gguf.header.version', detail: /version 4 at offset 4/ },
  { name: 'header cut inside the counts', bytes: () => buildGguf().slice(0, 14), rule: 'gguf.truncated', offset: 8 },
  { name: 'kv count over MAX_KV', options: { kvCount: MAX_KV + 1 }, rule: 'gguf.limit.kv-count', offset: 16, detail: new RegExp(`${MAX_KV + 1} .* MAX_KV \\(${MAX_KV}\\)`) },
  { name: 'kv count the file cannot hold', options: { kvCount: 1000, kv: [kv('a', gguf.u8(1))] }, rule: 'gguf.truncated', offset: 24, detail: /1000 key-value pairs need at least 13000 bytes/ },
  {
    name: 'tensor count over MAX_TENSORS (metadata still read)',
    options: { tensorCount: BigInt(MAX_TENSORS) + 1n, kv: [kv('general.name', gguf.string('x'))] },
    rule: 'gguf.limit.tensor-count',
    offset: 8,
    check: (inspection) => expect(inspection.metadata).toEqual({ 'general.name': 'x' }),
  },
  {
    name: 'tensor count the file cannot hold',
    options: { tensorCount: 5000, kv: [kv('general.name', gguf.string('x'))] },
    rule: 'gguf.truncated',
    detail: /5000 tensor infos need at least 120000 bytes/,
    check: (inspection) => expect(inspection.metadata).toEqual({ 'general.name': 'x' }),
  },
  {
    name: 'key longer than MAX_STRING_BYTES',
    options: { kv: [kv('ok', gguf.u8(1)), { key: 'x', value: gguf.u8(1), declaredKeyLength: MAX_STRING_BYTES + 1 }] },
    rule: 'gguf.limit.string-length',
    offset: (layout) => layout.kv[1].offset,
    check: (inspection) => expect(inspection.metadata).toEqual({ ok: 1 }),
  },
  {
    name: 'string value longer than the file',
    options: { kv: [kv('ok', gguf.u8(1)), kv('s', gguf.string('abc', 1_000_000))] },
    rule: 'gguf.truncated',
    offset: (layout) => layout.kv[1].valueOffset + 8,
    check: (inspection) => expect(inspection.metadata).toEqual({ ok: 1 }),
  },
  {
    name: 'array longer than MAX_ARRAY_LENGTH',
    options: { kv: [kv('a', gguf.array('u8', [], MAX_ARRAY_LENGTH + 1))] },
    rule: 'gguf.limit.array-length',
    offset: (layout) => layout.kv[0].valueOffset + 4,
    detail: new RegExp(`claims ${MAX_ARRAY_LENGTH + 1} items`),
  },
  {
    name: 'array the file cannot hold (refused before allocating)',
    options: { kv: [kv('a', gguf.array('string', ['x'], 1_000_000))] },
    rule: 'gguf.truncated',
    detail: /1000000 items of value of "a" need at least 8000000 bytes/,
  },
  {
    name: 'arrays nested past MAX_ARRAY_DEPTH',
    options: {
      kv: [kv('deep', Array.from({ length: 9 }).reduce<ReturnType<typeof gguf.array>>((inner) => gguf.array('array', [inner]), gguf.array('u8', [1])))],
    },
    rule: 'gguf.limit.array-depth',
    detail: /nests arrays 9 deep, over MAX_ARRAY_DEPTH \(8\)/,
  },
  {
    name: 'unknown value type (earlier pairs kept)',
    options: { kv: [kv('first', gguf.string('kept')), kv('bad', gguf.raw(13, u32(0)))] },
    rule: 'gguf.kv.unknown-type',
    offset: (layout) => layout.kv[1].valueOffset - 4,
    check: (inspection) => expect(inspection.metadata).toEqual({ first: 'kept' }),
  },
  { name: 'unknown array item type', options: { kv: [kv('a', gguf.array(99, []))] }, rule: 'gguf.kv.unknown-type', detail: /item type 99/ },
  {
    name: 'duplicate key (first value kept, parsing goes on)',
    options: { kv: [kv('general.name', gguf.string('first')), kv('general.name', gguf.string('second')), kv('after', gguf.u8(7))] },
    rule: 'gguf.kv.duplicate-key',
    offset: (layout) => layout.kv[1].offset,
    check: (inspection) => expect(inspection.metadata).toEqual({ 'general.name': 'first', after: 7 }),
  },
  { name: 'empty key', options: { kv: [kv('', gguf.u8(1))] }, rule: 'gguf.kv.invalid-key', detail: /is empty/ },
  { name: 'non-ASCII key posing as the chat template', options: { kv: [kv('tokenizer.chat_templatе', gguf.string('x'))] }, rule: 'gguf.kv.invalid-key', detail: /outside printable ASCII/ },
  { name: 'boolean byte 2', options: { kv: [kv('b', gguf.bool(2))] }, rule: 'gguf.kv.invalid-bool', offset: (layout) => layout.kv[0].valueOffset },
  {
    name: 'alignment of the wrong type',
    options: { kv: [kv('general.alignment', gguf.u64(32))], tensors: [{ name: 'w', dims: [8], type: 'F32' }] },
    rule: 'gguf.alignment.invalid',
    detail: /has type u64; it must be u32/,
  },
  { name: 'alignment zero', options: { kv: [kv('general.alignment', gguf.u32(0))] }, rule: 'gguf.alignment.invalid', detail: /is 0, not a non-zero power of two/ },
  { name: 'alignment not a power of two', options: { kv: [kv('general.alignment', gguf.u32(48))] }, rule: 'gguf.alignment.invalid', detail: /is 48/ },
  {
    name: 'alignment of 2^31 (reported, and used for the layout)',
    options: { kv: [kv('general.alignment', gguf.u32(2 ** 31))], tensors: [{ name: 'w', dims: [8], type: 'F32', offset: 0 }] },
    rule: 'gguf.alignment.invalid',
    detail: /is 2147483648, over MAX_ALIGNMENT \(1048576\)/,
    check: (inspection) => expect(inspection.tensors[0].offset).toBe(2 ** 31),
  },
  {
    name: 'duplicate tensor name',
    options: { tensors: [{ name: 'w', dims: [8], type: 'F32' }, { name: 'w', dims: [8], type: 'F32' }] },
    rule: 'gguf.tensor.duplicate-name',
    offset: (layout) => layout.tensors[1].infoOffset,
  },
  { name: 'tensor name of 64 bytes', options: { tensors: [{ name: 'n'.repeat(64), dims: [8], type: 'F32' }] }, rule: 'gguf.tensor.name-too-long', detail: /is 64 bytes, over 63/ },
  {
    name: 'five dimensions (earlier tensors kept)',
    options: { tensors: [{ name: 'ok', dims: [8], type: 'F32' }, { name: 'bad', dims: [1, 1, 1, 1, 8], type: 'F32' }] },
    rule: 'gguf.limit.dimensions',
    offset: (layout) => layout.tensors[1].infoOffset + 8 + 3,
    check: (inspection) => expect(inspection.tensors).toEqual([{ name: 'ok', dtype: 'F32', shape: [8], offset: -1, length: 32 }]),
  },
  {
    name: 'unknown ggml type',
    options: { tensors: [{ name: 'w', dims: [8], type: 99, byteLength: 8 }] },
    rule: 'gguf.tensor.unknown-type',
    offset: (layout) => layout.tensors[0].infoOffset + 8 + 1 + 4 + 8,
    check: (inspection) => expect(inspection.tensors[0]).toMatchObject({ dtype: 'unknown(99)', length: 0 }),
  },
  {
    name: 'removed ggml type',
    options: { tensors: [{ name: 'w', dims: [32], type: 31, byteLength: 18 }] },
    rule: 'gguf.tensor.removed-type',
    check: (inspection) => expect(inspection.tensors[0]).toMatchObject({ dtype: 'Q4_0_4_4', length: 18 }),
  },
  {
    name: 'element count overflowing int64',
    options: { tensors: [{ name: 'w', dims: [1n << 32n, 1n << 32n], type: 'F32', byteLength: 4 }] },
    rule: 'gguf.tensor.dims-overflow',
    detail: /\[4294967296, 4294967296\]/,
  },
  { name: 'dimension of 2^63', options: { tensors: [{ name: 'w', dims: [1n << 63n], type: 'I8', byteLength: 1 }] }, rule: 'gguf.tensor.dims-overflow' },
  {
    name: 'row not a multiple of the block size',
    options: { tensors: [{ name: 'w', dims: [100, 2], type: 'Q4_K', byteLength: 288 }] },
    rule: 'gguf.tensor.block-size-mismatch',
    detail: /rows of 100 elements, not a multiple of the Q4_K block size 256/,
  },
  {
    name: 'unaligned tensor offset',
    options: { tensors: [{ name: 'a', dims: [8], type: 'F32' }, { name: 'b', dims: [2], type: 'F32', offset: 40 }] },
    rule: 'gguf.tensor.offset-unaligned',
    offset: (layout) => layout.tensors[1].infoOffset + 8 + 1 + 4 + 8 + 4,
    detail: /data offset 40 .* alignment 32/,
  },
  {
    name: 'tensor data past the end of the file',
    options: { tensors: [{ name: 'w', dims: [8], type: 'F32', offset: 1 << 20 }] },
    rule: 'gguf.tensor.out-of-bounds',
    detail: /spans file offsets \d+ to \d+, past the end of the file/,
    check: (inspection) => expect(inspection.tensors[0].offset).toBeGreaterThan(1 << 20),
  },
  {
    name: 'tensor data cut short',
    options: { tensors: [{ name: 'w', dims: [64], type: 'F32' }], truncateAt: -1 },
    rule: 'gguf.tensor.out-of-bounds',
  },
  {
    name: 'overlapping tensors',
    options: { tensors: [{ name: 'a', dims: [16], type: 'F32' }, { name: 'b', dims: [16], type: 'F32', offset: 32 }] },
    rule: 'gguf.tensor.overlap',
    detail: /tensor "b" .* overlaps tensor "a"/,
  },
  {
    name: 'bytes after the last tensor',
    options: { tensors: [{ name: 'w', dims: [8], type: 'F32' }], trailing: new Uint8Array(100).fill(0x50) },
    rule: 'gguf.data.unreferenced-bytes',
    offset: (layout) => layout.size - 100,
    detail: /^100 bytes/,
  },
  {
    name: 'a gap between tensors',
    options: { tensors: [{ name: 'a', dims: [8], type: 'F32' }, { name: 'b', dims: [8], type: 'F32', offset: 64 }] },
    rule: 'gguf.data.unreferenced-bytes',
    offset: (layout) => layout.dataStart + 32,
  },
];

describe('inspectGguf on malformed files', () => {
  it.each(MALFORMED)('reports $name as $rule', async ({ options, bytes, rule, offset, detail, check }) => {
    let built = bytes ? { bytes: bytes(), layout: null } : buildGgufWithLayout(options);
    if (options?.truncateAt === -1) built = { ...built, bytes: built.bytes.slice(0, built.bytes.length - 64) };
    const inspection = await inspect(built.bytes);
    const finding = inspection.findings.find((candidate) => candidate.rule === rule);
    expect(finding, JSON.stringify(inspection.findings.map((candidate) => candidate.detail))).toBeDefined();
    if (offset !== undefined) {
      const expected = typeof offset === 'number' ? offset : offset(built.layout!);
      expect(finding!.location.offset).toBe(expected);
    }
    if (detail) expect(finding!.detail).toMatch(detail);
    check?.(inspection);
    expect(JSON.parse(JSON.stringify(inspection))).toEqual(inspection);
  });

  it('reports an oversized string value, skips it and keeps reading', async () => {
    const { bytes: prefix, layout } = buildGgufWithLayout({ kv: [kv('before', gguf.u8(1)), kv('huge', gguf.string(new Uint8Array(0), MAX_STRING_BYTES + 1))] });
    const stringStart = layout.kv[1].valueOffset + 8;
    const source = sparseSource(stringStart + MAX_STRING_BYTES + 1, [[0, prefix.subarray(0, stringStart)]]);
    const inspection = await inspectSource(source);
    expect(rules(inspection)).toEqual(['gguf.limit.string-length']);
    expect(inspection.metadata).toEqual({ before: 1, huge: null });
  });

  it('stops at MAX_HEADER_BYTES, keeping what came before', async () => {
    const first = concat(header(3, 0, 2), u64(1), ascii('a'), u32(9), u32(10), u64(MAX_ARRAY_LENGTH));
    const secondOffset = first.length + MAX_ARRAY_LENGTH * 8;
    const second = concat(u64(1), ascii('b'), u32(9), u32(10), u64(MAX_ARRAY_LENGTH));
    const source = sparseSource(300 * 1024 * 1024, [
      [0, first],
      [secondOffset, second],
    ]);
    expect(secondOffset + second.length + MAX_ARRAY_LENGTH * 8).toBeGreaterThan(MAX_HEADER_BYTES);
    const inspection = await inspectSource(source);
    expect(rules(inspection)).toEqual(['gguf.limit.header-size']);
    // The limit trips when skipping the items after the head of the second array.
    expect(inspection.findings[0].location.offset).toBe(secondOffset + second.length + ARRAY_HEAD_ITEMS * 8);
    expect(inspection.findings[0].detail).toContain('MAX_HEADER_BYTES');
    expect(inspection.metadata.a).toEqual({ summary: 'array', itemType: 'u64', length: MAX_ARRAY_LENGTH, head: new Array(ARRAY_HEAD_ITEMS).fill(0) });
  });

  it('keeps at most MAX_FINDINGS_PER_RULE findings of a rule and says how many more', async () => {
    const tensors = Array.from({ length: 30 }, (_, index) => ({ name: `t${index}`, dims: [8], type: 'F32', offset: 8 + index * 64 }));
    const inspection = await inspect(buildGguf({ tensors }));
    const unaligned = inspection.findings.filter((finding) => finding.rule === 'gguf.tensor.offset-unaligned');
    expect(unaligned).toHaveLength(MAX_FINDINGS_PER_RULE);
    expect(unaligned.at(-1)!.detail).toMatch(/\(10 more findings of this rule were not listed\)$/);
    expect(inspection.tensors).toHaveLength(30);
  });

  it('returns tensors read before a break with unknown (-1) offsets', async () => {
    const { bytes, layout } = buildGgufWithLayout({ tensors: [{ name: 'a', dims: [8], type: 'F32' }, { name: 'b', dims: [8], type: 'F32' }] });
    // Cut inside the second tensor's type field: the first tensor info is whole.
    const inspection = await inspect(bytes.slice(0, layout.tensors[1].infoOffset + 8 + 1 + 4 + 8 + 2));
    expect(rules(inspection)).toEqual(['gguf.truncated']);
    expect(inspection.tensors).toEqual([{ name: 'a', dtype: 'F32', shape: [8], offset: -1, length: 32 }]);
  });
});

const MALICIOUS_TEMPLATE = `{% for x in ().__class__.__base__.__subclasses__() %}{{ x.__init__.__globals__['os'].popen('id') }}{% endfor %}`;
const BENIGN_TEMPLATE = `{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}`;

describe('inspectGguf chat templates', () => {
  it('flags a sandbox escape at the file offset of the template string', async () => {
    const { bytes, layout } = buildGgufWithLayout({
      kv: [kv('general.name', gguf.string('x')), kv('tokenizer.chat_template', gguf.string(MALICIOUS_TEMPLATE))],
    });
    const inspection = await inspect(bytes);
    expect(rules(inspection)).toEqual(['template.jinja.sandbox-escape']);
    const [finding] = inspection.findings;
    const templateOffset = layout.kv[1].valueOffset + 8;
    expect(finding.location).toEqual({ offset: templateOffset, length: MALICIOUS_TEMPLATE.length });
    expect(finding.severity).toBe('critical');
    expect(finding.detail).toMatch(/^tokenizer\.chat_template reaches Python internals through dunder:__class__/);
    expect(finding.detail).toContain(`file offset ${templateOffset + MALICIOUS_TEMPLATE.indexOf('__class__')}`);
    expect(finding.evidence).toContain('().__class__.__base__');
    expect(inspection.metadata['tokenizer.chat_template']).toBe(MALICIOUS_TEMPLATE);
  });

  it('checks named templates and every copy of a duplicated key', async () => {
    const inspection = await inspect(
      buildGguf({
        kv: [
          kv('tokenizer.chat_template', gguf.string(BENIGN_TEMPLATE)),
          kv('tokenizer.chat_template.tool_use', gguf.string(`{{ lipsum.__globals__ }}`)),
          kv('tokenizer.chat_template', gguf.string(`{{ cycler.__init__ }}`)),
        ],
      }),
    );
    expect(inspection.findings.map((finding) => [finding.rule, finding.detail.split(' ')[0]])).toEqual([
      ['template.jinja.sandbox-escape', 'tokenizer.chat_template.tool_use'],
      ['gguf.kv.duplicate-key', 'key'],
      ['template.jinja.sandbox-escape', 'tokenizer.chat_template'],
    ]);
    expect(inspection.metadata['tokenizer.chat_template']).toBe(BENIGN_TEMPLATE);
  });

  it('does not treat other strings as templates', async () => {
    const inspection = await inspect(buildGguf({ kv: [kv('general.description', gguf.string('{{ lipsum.__globals__ }}'))] }));
    expect(inspection.findings).toEqual([]);
  });
});

describe('GGUF through scanSource', () => {
  afterEach(() => vi.restoreAllMocks());

  it('reports a clean model with its hash, tensors and metadata', async () => {
    const bytes = buildGguf({
      alignment: 32,
      kv: [kv('general.architecture', gguf.string('llama')), kv('tokenizer.chat_template', gguf.string(BENIGN_TEMPLATE))],
      tensors: [{ name: 'token_embd.weight', dims: [32, 4], type: 'Q8_0', data: new Uint8Array(136).fill(7) }],
    });
    const headers: string[] = [];
    const report = await scanSource(createMemorySource(bytes, 'tiny.gguf'), {
      createSha256: createNodeSha256,
      chunkSize: 100,
      onHeader: (header) => headers.push(`${header.format}:${header.tensors.length}:${header.sha256}`),
    });
    expect(report).toMatchObject({ path: 'tiny.gguf', size: bytes.length, format: 'gguf', verdict: 'clean', findings: [] });
    expect(report.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(report.tensors).toEqual([{ name: 'token_embd.weight', dtype: 'Q8_0', shape: [32, 4], offset: bytes.length - 160, length: 136 }]);
    expect(report.metadata['general.architecture']).toBe('llama');
    expect(headers).toEqual(['gguf:1:null']);
  });

  it('calls a model with a template escape dangerous, and a broken one malformed', async () => {
    const dangerous = await scanSource(createMemorySource(buildGguf({ kv: [kv('tokenizer.chat_template', gguf.string(MALICIOUS_TEMPLATE))] }), 'evil.gguf'), {
      createSha256: createNodeSha256,
    });
    expect(dangerous.verdict).toBe('dangerous');
    const malformed = await scanSource(createMemorySource(buildGguf({ version: 1 }), 'old.gguf'), { createSha256: createNodeSha256 });
    expect([malformed.format, malformed.verdict, malformed.findings.map((finding) => finding.rule)]).toEqual(['gguf', 'malformed', ['gguf.header.version']]);
    expect(malformed.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('flags a GGUF renamed to .bin as an extension mismatch but still inspects it', async () => {
    const report = await scanSource(createMemorySource(buildGguf(), 'model.bin'), { createSha256: createNodeSha256 });
    expect(report.format).toBe('gguf');
    expect(report.findings.map((finding) => finding.rule)).toEqual(['format.extension-mismatch']);
  });
});
