import { deflateSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import type { ByteSource } from '../../src/io/byte-source.ts';
import { createInflateSource } from '../../src/io/inflate-source.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import { ParseError } from '../../src/io/parse-error.ts';
import type { Finding } from '../../src/report/types.ts';
import { deflateZerosBomb } from '../builders/zip.ts';

/** Deterministic bytes from a 16-letter alphabet: they compress about 2:1, so decoding spans many pushes. */
function sampleBytes(length: number, seed = 7): Uint8Array {
  const next = random(seed);
  return Uint8Array.from({ length }, () => 0x61 + next(16));
}

/** Byte equality without vitest's slow element-by-element diff; names the first difference. */
function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  const first = actual.findIndex((byte, index) => byte !== expected[index]);
  expect(first).toBe(-1);
}

function random(seed: number) {
  let state = seed >>> 0;
  return (limit: number) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value ^= value + Math.imul(value ^ (value >>> 7), 61 | value);
    return ((value ^ (value >>> 14)) >>> 0) % limit;
  };
}

async function collect(source: ByteSource, chunkSize?: number): Promise<{ bytes: Uint8Array; sizes: number[] }> {
  const parts: Uint8Array[] = [];
  const sizes: number[] = [];
  for await (const chunk of source.chunks({ chunkSize })) {
    parts.push(chunk.slice());
    sizes.push(chunk.length);
  }
  const bytes = new Uint8Array(sizes.reduce((sum, size) => sum + size, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return { bytes, sizes };
}

/** A compressed source that records how far into it the decoder read. */
function countingSource(bytes: Uint8Array) {
  const inner = createMemorySource(bytes, 'compressed');
  const stats = { furthest: 0, reads: 0 };
  const source: ByteSource = {
    ...inner,
    async read(offset, length) {
      stats.reads++;
      const result = await inner.read(offset, length);
      stats.furthest = Math.max(stats.furthest, offset + result.length);
      return result;
    },
  };
  return { source, stats };
}

const original = sampleBytes(600_000);
const compressed = deflateSync(original);

function open(declaredSize = original.length, extra: Partial<Parameters<typeof createInflateSource>[1]> = {}) {
  const findings: Finding[] = [];
  const source = createInflateSource(createMemorySource(compressed, 'c'), {
    name: 'model.npz/x.npy',
    entry: 'x.npy',
    declaredSize,
    onFinding: (finding) => findings.push(finding),
    ...extra,
  });
  return { source, findings };
}

describe('createInflateSource: streaming', () => {
  it.each([13, 1000, 65_536, 4 * 1024 * 1024])('decodes the whole stream with chunk size %i', async (chunkSize) => {
    const { source, findings } = open();
    expect(source.size).toBe(original.length);
    const { bytes, sizes } = await collect(source, chunkSize);
    expectSameBytes(bytes, original);
    expect(sizes.slice(0, -1).every((size) => size === chunkSize)).toBe(true);
    expect(findings).toEqual([]);
  });

  it('names itself as asked', () => {
    expect(open().source.name).toBe('model.npz/x.npy');
  });
});

describe('createInflateSource: random reads', () => {
  it('answers random reads with the right bytes', async () => {
    const { source } = open();
    const next = random(42);
    for (let round = 0; round < 40; round++) {
      const offset = next(original.length + 100);
      const length = next(20_000);
      const expected = original.subarray(offset, Math.min(original.length, offset + length));
      expectSameBytes(await source.read(offset, length), expected);
    }
  });

  it('answers sequential reads by continuing the decoder, and overlapping reads from the last result', async () => {
    const { source } = open();
    for (let offset = 0; offset < original.length; offset += 50_000) {
      expectSameBytes(await source.read(offset, 50_000), original.subarray(offset, offset + 50_000));
      expect(await source.read(offset + 10, 20)).toEqual(original.subarray(offset + 10, offset + 30));
      expect(await source.read(offset + 49_990, 20)).toEqual(original.subarray(offset + 49_990, offset + 50_010));
    }
  });

  it('serialises concurrent reads', async () => {
    const { source } = open();
    const offsets = [500_000, 10, 300_000, 10_000, 599_990];
    const results = await Promise.all(offsets.map((offset) => source.read(offset, 100)));
    results.forEach((bytes, index) => expect(bytes).toEqual(original.subarray(offsets[index], offsets[index] + 100)));
  });

  it('returns copies: changing a result does not change later reads', async () => {
    const { source } = open();
    const first = await source.read(0, 10);
    first.fill(0xff);
    expect(await source.read(0, 10)).toEqual(original.subarray(0, 10));
  });

  it('refuses a read that would decode more than maxSeekDecodeBytes first', async () => {
    const { source } = open(original.length, { maxSeekDecodeBytes: 100_000 });
    expect(await source.read(90_000, 10)).toEqual(original.subarray(90_000, 90_010));
    expect(await source.read(180_000, 10)).toEqual(original.subarray(180_000, 180_010));
    const error = await source.read(400_000, 10).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ParseError);
    expect((error as ParseError).rule).toBe('container.inflate.seek-limit');
    expect((error as ParseError).offset).toBe(400_000);
    // Going back restarts from 0, which is within the limit again.
    expect(await source.read(5, 10)).toEqual(original.subarray(5, 15));
  });

  it('gives an empty array outside the source', async () => {
    const { source } = open();
    expect(await source.read(original.length, 10)).toEqual(new Uint8Array(0));
    expect(await source.read(-1, 10)).toEqual(new Uint8Array(0));
  });
});

describe('createInflateSource: sizes that lie', () => {
  it('cuts a stream longer than declared and reports it at the declared end', async () => {
    const { source, findings } = open(1000);
    expect(source.size).toBe(1000);
    const { bytes } = await collect(source, 300);
    expect(bytes).toEqual(original.subarray(0, 1000));
    expect(findings.map((finding) => [finding.rule, finding.location])).toEqual([
      ['container.inflate.size-mismatch', { entry: 'x.npy', offset: 1000 }],
    ]);
  });

  it('reports a stream shorter than declared where it ends', async () => {
    const { source, findings } = open(original.length + 5000);
    const { bytes } = await collect(source);
    expectSameBytes(bytes, original);
    expect(findings.map((finding) => [finding.rule, finding.location.offset])).toEqual([['container.inflate.size-mismatch', original.length]]);
  });

  it('reports each problem once, however often the source is read', async () => {
    const { source, findings } = open(1000);
    await collect(source);
    await collect(source);
    await source.read(0, 2000);
    expect(findings).toHaveLength(1);
  });

  it.each([
    { case: 'negative', declared: -5 },
    { case: 'NaN', declared: Number.NaN },
    { case: 'infinite', declared: Number.POSITIVE_INFINITY },
  ])('treats a $case declared size as 0', async ({ declared }) => {
    const { source } = open(declared);
    expect(source.size).toBe(0);
    expect((await collect(source)).bytes).toEqual(new Uint8Array(0));
  });
});

describe('createInflateSource: corrupt data', () => {
  it.each([
    { case: 'random bytes', bytes: Uint8Array.from({ length: 2000 }, (_, index) => (index * 73 + 11) & 0xff) },
    { case: 'a truncated stream', bytes: compressed.subarray(0, compressed.length - 20) },
    { case: 'reserved block type 3', bytes: Uint8Array.of(0x07, 0, 0, 0) },
  ])('ends with a ParseError on $case', async ({ bytes }) => {
    const source = createInflateSource(createMemorySource(bytes, 'c'), { name: 'x', declaredSize: original.length });
    const error = await collect(source).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ParseError);
    expect((error as ParseError).rule).toBe('container.inflate.corrupt');
    const readError = await source.read(0, original.length).catch((caught: unknown) => caught);
    expect(readError).toBeInstanceOf(ParseError);
  });
});

it('reports an empty stream as shorter than declared (fflate cannot tell it from a finished one)', async () => {
  const findings: Finding[] = [];
  const source = createInflateSource(createMemorySource(new Uint8Array(0), 'c'), {
    name: 'x',
    declaredSize: 100,
    onFinding: (finding) => findings.push(finding),
  });
  expect((await collect(source)).bytes.length).toBe(0);
  expect(findings.map((finding) => [finding.rule, finding.location.offset])).toEqual([['container.inflate.size-mismatch', 0]]);
});

describe('createInflateSource: decompression bombs', () => {
  it('stops 10 MB of zeros at a 1 MB cap, with a finding', async () => {
    const zeros = deflateSync(new Uint8Array(10 * 1024 * 1024));
    const findings: Finding[] = [];
    const source = createInflateSource(createMemorySource(zeros, 'c'), {
      name: 'bomb',
      entry: 'bomb.pkl',
      declaredSize: 10 * 1024 * 1024,
      maxOutputBytes: 1024 * 1024,
      onFinding: (finding) => findings.push(finding),
    });
    expect(source.size).toBe(1024 * 1024);
    const { bytes } = await collect(source, 64 * 1024);
    expect(bytes.length).toBe(1024 * 1024);
    expect(findings.map((finding) => [finding.rule, finding.location])).toEqual([
      ['container.inflate.limit', { entry: 'bomb.pkl', offset: 1024 * 1024 }],
    ]);
  });

  it('stops a 1 GiB bomb early: little input read, little time spent', async () => {
    const bomb = deflateZerosBomb(4_000_000);
    const { source: compressedSource, stats } = countingSource(bomb.compressed);
    const findings: Finding[] = [];
    const source = createInflateSource(compressedSource, {
      name: 'bomb',
      declaredSize: bomb.decodedSize,
      maxOutputBytes: 1024 * 1024,
      onFinding: (finding) => findings.push(finding),
    });
    const started = performance.now();
    const { bytes } = await collect(source);
    const elapsed = performance.now() - started;
    expect(bytes.length).toBe(1024 * 1024);
    expect(bytes.every((byte) => byte === 0)).toBe(true);
    expect(findings.map((finding) => finding.rule)).toEqual(['container.inflate.limit']);
    // 1 MiB of output needs ~6.5 KB of this input; the decoder reads one 1 MiB window of the 6.5 MB stream.
    expect(stats.furthest).toBeLessThanOrEqual(1024 * 1024);
    expect(stats.furthest).toBeLessThan(bomb.compressed.length / 4);
    expect(elapsed).toBeLessThan(2000);
  });

  it('caps a declared size larger than the limit even when the stream is honest', async () => {
    const { source, findings } = open(original.length, { maxOutputBytes: 4096 });
    expect(source.size).toBe(4096);
    expect((await source.read(0, 10_000)).length).toBe(4096);
    expect(findings.map((finding) => finding.rule)).toEqual(['container.inflate.limit']);
  });
});
