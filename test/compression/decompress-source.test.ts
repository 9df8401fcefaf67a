import { readFileSync } from 'node:fs';
import { Inflate, deflateSync, gzipSync, zlibSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import {
  type CompressionCodec,
  createDecompressedSource,
  createDecompressionMeter,
  createStreamDecoder,
  decompressionLineage,
} from '../../src/compression/decompress-source.ts';
import { createBzip2Decoder } from '../../src/compression/bzip2.ts';
import { type DeflateWrapperDecoder, createGzipDecoder, createZlibDecoder, deflateRemainder } from '../../src/compression/gzip.ts';
import type { StreamDecoder } from '../../src/compression/lzma.ts';
import { createXzDecoder } from '../../src/compression/xz.ts';
import { crc32 } from '../../src/containers/zip-crc32.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import { ParseError } from '../../src/io/parse-error.ts';
import { bzip2 } from '../builders/bzip2.ts';
import { block, join, storedLzma2, u32le, xzStream } from '../builders/xz.ts';

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/joblib/${name}`, import.meta.url)));
const encoder = new TextEncoder();

/** Deterministic bytes that compress a little (so deflate uses several block kinds). */
function sampleBytes(length: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = seed;
  for (let index = 0; index < length; index++) {
    state = (state * 1103515245 + 12345) >>> 0;
    bytes[index] = index % 7 === 0 ? state >>> 24 : (index * 31) & 0x3f;
  }
  return bytes;
}

/** Runs a decoder over `input` in chunks of `chunkSize`; returns the output (copied) or the error. */
function decodeWith(decoder: StreamDecoder, input: Uint8Array, chunkSize = input.length || 1): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let offset = 0; offset < input.length; offset += chunkSize) {
    for (const piece of decoder.push(input.subarray(offset, offset + chunkSize))) parts.push(piece.slice());
  }
  for (const piece of decoder.finish()) parts.push(piece.slice());
  return join(...parts);
}

function parseErrorOf(run: () => unknown): ParseError {
  try {
    run();
  } catch (error) {
    if (error instanceof ParseError) return error;
    throw error;
  }
  throw new Error('expected a ParseError');
}

/** A gzip member written field by field around a raw deflate body. */
function gzipMember(data: Uint8Array, options: { flags?: number; extra?: number[]; name?: string; comment?: string; crc?: number; size?: number } = {}): Uint8Array {
  const flags = options.flags ?? 0;
  const header = [0x1f, 0x8b, 0x08, flags, 0, 0, 0, 0, 0, 0xff];
  const optional: number[] = [];
  if (flags & 4) optional.push((options.extra ?? []).length & 0xff, (options.extra ?? []).length >> 8, ...(options.extra ?? []));
  if (flags & 8) optional.push(...encoder.encode(options.name ?? 'name'), 0);
  if (flags & 16) optional.push(...encoder.encode(options.comment ?? 'comment'), 0);
  if (flags & 2) optional.push(0x12, 0x34);
  return join(header, optional, deflateSync(data), u32le(options.crc ?? crc32(data)), u32le(options.size ?? data.length));
}

const DATA = sampleBytes(40_000);
const CHUNKINGS = [1, 7, 4096, 1 << 20];

describe('gzip and zlib decoders', () => {
  const cases: [string, () => DeflateWrapperDecoder, Uint8Array, Uint8Array, number][] = [
    ['one gzip member (fflate)', createGzipDecoder, gzipSync(DATA), DATA, 1],
    ['two gzip members back to back', createGzipDecoder, join(gzipSync(DATA.subarray(0, 1000)), gzipSync(DATA.subarray(1000))), DATA, 2],
    ['a gzip member with extra field, name, comment and header CRC', createGzipDecoder, gzipMember(DATA, { flags: 4 | 8 | 16 | 2, extra: [1, 2, 3], name: 'x'.repeat(5000) }), DATA, 1],
    ['one zlib stream', createZlibDecoder, zlibSync(DATA), DATA, 1],
    ['two zlib streams back to back', createZlibDecoder, join(zlibSync(DATA.subarray(0, 5)), zlibSync(DATA.subarray(5))), DATA, 2],
    ['an empty gzip member', createGzipDecoder, gzipSync(new Uint8Array(0)), new Uint8Array(0), 1],
  ];
  for (const [name, create, input, expected, members] of cases) {
    it.each(CHUNKINGS)(`decodes ${name} in chunks of %i`, (chunkSize) => {
      const decoder = create();
      expect(decodeWith(decoder, input, chunkSize)).toEqual(expected);
      expect(decoder.status).toBe('ended');
      expect(decoder.trailingBytes).toBe(0);
      expect(decoder.inputBytes).toBe(input.length);
      expect(decoder.outputBytes).toBe(expected.length);
      expect(decoder.members).toBe(members);
    });
  }

  it.each([
    ['junk', encoder.encode('not gzip at all')],
    ['zeros', new Uint8Array(10)],
    ['a lone 1f', Uint8Array.of(0x1f)],
  ])('counts %s after the last gzip member as trailing data', (_name, trailer) => {
    const decoder = createGzipDecoder();
    expect(decodeWith(decoder, join(gzipSync(DATA), trailer), 999)).toEqual(DATA);
    expect(decoder.trailingBytes).toBe(trailer.length);
    expect(decoder.status).toBe('ended');
  });

  it('counts bytes after a zlib stream that do not open another as trailing data', () => {
    const decoder = createZlibDecoder();
    expect(decodeWith(decoder, join(zlibSync(DATA), [0x78, 0x00, 0x41]), 5)).toEqual(DATA);
    expect(decoder.trailingBytes).toBe(3);
  });

  it.each([
    ['a wrong CRC-32', { crc: 0x12345678 }, 'wrapper.checksum-mismatch'],
    ['a wrong length', { size: 7 }, 'wrapper.size-mismatch'],
  ])('refuses a gzip member with %s, at the trailer offset', (_name, options, rule) => {
    const input = gzipMember(DATA, options);
    const error = parseErrorOf(() => decodeWith(createGzipDecoder({ inputOffset: 100 }), input, 4096));
    expect(error.rule).toBe(rule);
    const trailer = 100 + input.length - 8;
    expect(error.offset).toBe(rule === 'wrapper.checksum-mismatch' ? trailer : trailer + 4);
  });

  it('refuses a zlib stream whose Adler-32 is wrong', () => {
    const input = zlibSync(DATA);
    input[input.length - 1] ^= 0xff;
    expect(parseErrorOf(() => decodeWith(createZlibDecoder(), input)).rule).toBe('wrapper.checksum-mismatch');
  });

  it('refuses a zlib stream that needs a preset dictionary', () => {
    // CMF 0x78, FLG with FDICT set and a valid check: (0x78 << 8 | 0xbb) % 31 === 0.
    expect(parseErrorOf(() => decodeWith(createZlibDecoder(), Uint8Array.of(0x78, 0xbb, 0, 0, 0, 0, 1, 2, 3))).message).toMatch(/preset dictionary/);
  });

  it.each([
    ['inside the deflate data', (bytes: Uint8Array) => bytes.subarray(0, 500), 'compression.truncated'],
    ['inside the trailer', (bytes: Uint8Array) => bytes.subarray(0, bytes.length - 3), 'compression.truncated'],
    ['inside the header', (bytes: Uint8Array) => bytes.subarray(0, 5), 'compression.truncated'],
    ['with an invalid block type', (bytes: Uint8Array) => join(bytes.subarray(0, 10), [0x07, 0, 0, 0, 0, 0, 0, 0, 0]), 'compression.corrupt'],
    ['with a method other than deflate', (bytes: Uint8Array) => join([0x1f, 0x8b, 0x07], bytes.subarray(3)), 'compression.corrupt'],
  ])('ends a gzip stream cut %s with a ParseError', (_name, damage, rule) => {
    expect(parseErrorOf(() => decodeWith(createGzipDecoder(), damage(gzipSync(DATA)), 64)).rule).toBe(rule);
  });

  it('stops at maxOutputBytes with status limit', () => {
    const decoder = createGzipDecoder({ maxOutputBytes: 12_345 });
    const output = decodeWith(decoder, gzipSync(DATA), 5000);
    expect(output).toEqual(DATA.subarray(0, 12_345));
    expect(decoder.status).toBe('limit');
  });

  it('never hands out more than one slice of output per step (a bomb does not materialise at once)', () => {
    const zeros = gzipSync(new Uint8Array(20 * 1024 * 1024));
    const decoder = createGzipDecoder();
    let largest = 0;
    let total = 0;
    for (const piece of decoder.push(zeros)) {
      largest = Math.max(largest, piece.length);
      total += piece.length;
    }
    expect(total).toBe(20 * 1024 * 1024);
    expect(largest).toBeLessThanOrEqual(16 * 1024 * 1032);
  });

  it('reads where fflate 0.8 ends a deflate stream (the internal state this module relies on)', () => {
    const body = deflateSync(DATA.subarray(0, 3000));
    const chunks: Uint8Array[] = [];
    const inflater = new Inflate((data) => chunks.push(data));
    inflater.push(body.subarray(0, 100));
    expect(deflateRemainder(inflater)).toBeNull();
    inflater.push(join(body.subarray(100), [9, 8, 7]));
    expect(deflateRemainder(inflater)).toEqual(Uint8Array.of(9, 8, 7));
    expect(join(...chunks)).toEqual(DATA.subarray(0, 3000));
  });
});

describe('xz decoder', () => {
  it.each(CHUNKINGS)('decodes the joblib fixture made by Python (CRC-64) in chunks of %i', (chunkSize) => {
    const decoder = createXzDecoder();
    expect(decodeWith(decoder, fixture('arrays.joblib.xz'), chunkSize)).toEqual(fixture('arrays.joblib'));
    expect(decoder.status).toBe('ended');
    expect(decoder.streams).toBe(1);
  });

  const text = sampleBytes(30_000, 7);
  it.each(['none', 'crc32', 'crc64'] as const)('decodes several blocks with check %s', (check) => {
    const input = xzStream([block(text.subarray(0, 20_000)), block(text.subarray(20_000), { declareCompressed: true, declareUncompressed: true })], { check });
    for (const chunkSize of [1, 13, 65_536]) {
      const decoder = createXzDecoder();
      expect(decodeWith(decoder, input, chunkSize)).toEqual(text);
      expect(decoder.blocks).toBe(2);
      expect(decoder.uncheckedTypes).toEqual([]);
    }
  });

  it('decodes SHA-256 checked blocks without verifying them, and says so', () => {
    const decoder = createXzDecoder();
    expect(decodeWith(decoder, xzStream([block(text)], { check: 'sha256' }))).toEqual(text);
    expect(decoder.uncheckedTypes).toEqual([10]);
  });

  it('undoes a delta filter before LZMA2', () => {
    const distance = 4;
    const encoded = text.map((byte, index) => (byte - (index >= distance ? text[index - distance] : 0)) & 0xff);
    const input = xzStream([block(text, { filters: [[0x03, [distance - 1]]], compressed: storedLzma2(encoded) })]);
    expect(decodeWith(createXzDecoder(), input, 333)).toEqual(text);
  });

  it('decodes streams back to back with padding, and counts what follows as trailing data', () => {
    const input = join(xzStream([block(text.subarray(0, 10))]), new Uint8Array(8), xzStream([block(text.subarray(10, 20))]), encoder.encode('tail'));
    const decoder = createXzDecoder();
    expect(decodeWith(decoder, input, 5)).toEqual(text.subarray(0, 20));
    expect(decoder.streams).toBe(2);
    expect(decoder.trailingBytes).toBe(4);
  });

  it('treats stream padding that is not a multiple of four as trailing data', () => {
    const decoder = createXzDecoder();
    expect(decodeWith(decoder, join(xzStream([block(text.subarray(0, 10))]), new Uint8Array(3)))).toEqual(text.subarray(0, 10));
    expect(decoder.trailingBytes).toBe(3);
  });

  const broken: [string, () => Uint8Array, string][] = [
    ['a wrong stream header CRC', () => xzStream([block(text)], { flagsCrc: 1 }), 'wrapper.checksum-mismatch'],
    ['a wrong block header CRC', () => xzStream([block(text, { headerCrc: 1 })]), 'wrapper.checksum-mismatch'],
    ['a wrong CRC-32 check', () => xzStream([block(text, { check: Uint8Array.of(1, 2, 3, 4) })], { check: 'crc32' }), 'wrapper.checksum-mismatch'],
    ['a wrong CRC-64 check', () => xzStream([block(text, { check: new Uint8Array(8) })], { check: 'crc64' }), 'wrapper.checksum-mismatch'],
    ['an index that lists other sizes', () => xzStream([block(text)], { records: [[12, 5]] }), 'wrapper.size-mismatch'],
    ['a declared uncompressed size that is wrong', () => xzStream([block(text, { declareUncompressed: 5 })]), 'wrapper.size-mismatch'],
    ['a footer whose index size is wrong', () => xzStream([block(text)], { backwardSize: 9 }), 'compression.corrupt'],
    ['footer flags unlike the header', () => xzStream([block(text)], { footerFlags: 1 }), 'compression.corrupt'],
    ['reserved block flags', () => xzStream([block(text, { flags: 0x04 })]), 'compression.corrupt'],
    ['non-zero block padding', () => xzStream([block(text.subarray(0, 9), { paddingByte: 1 })]), 'compression.corrupt'],
    ['an ARM BCJ filter', () => xzStream([block(text, { filters: [[0x07, []]] })]), 'wrapper.not-inspected'],
    ['a last filter that is not LZMA2', () => xzStream([block(text, { lastFilter: 0x03 })]), 'wrapper.not-inspected'],
    ['an LZMA2 dictionary byte above 40', () => xzStream([block(text, { dictionaryByte: 41 })]), 'compression.properties-invalid'],
    ['no footer', () => xzStream([block(text)]).subarray(0, -12), 'compression.truncated'],
    ['nothing at all', () => new Uint8Array(0), 'compression.truncated'],
  ];
  it.each(broken)('refuses a stream with %s', (_name, build, rule) => {
    expect(parseErrorOf(() => decodeWith(createXzDecoder(), build(), 97)).rule).toBe(rule);
  });

  it('stops at maxOutputBytes with status limit', () => {
    const decoder = createXzDecoder({ maxOutputBytes: 1000 });
    expect(decodeWith(decoder, xzStream([block(text)]))).toEqual(text.subarray(0, 1000));
    expect(decoder.status).toBe('limit');
  });
});

describe('bzip2 decoder', () => {
  it.each(CHUNKINGS)('decodes the joblib fixture made by Python in chunks of %i', (chunkSize) => {
    const decoder = createBzip2Decoder();
    expect(decodeWith(decoder, fixture('arrays.joblib.bz2'), chunkSize)).toEqual(fixture('arrays.joblib'));
    expect(decoder.status).toBe('ended');
    expect([decoder.streams, decoder.blocks]).toEqual([1, 1]);
  });

  // Runs of every length around the run-length coding's 4 + count, runs of the front byte (RUNA/RUNB), all byte values.
  const varied = join(sampleBytes(2000, 5), new Uint8Array(300).fill(7), encoder.encode('abcabcabcaaaabbbbbccccccc'), Uint8Array.from({ length: 256 }, (_, index) => index));

  it.each([1, 5, 64, 100_000])('decodes streams built by the test encoder in chunks of %i', (chunkSize) => {
    expect(decodeWith(createBzip2Decoder(), bzip2(varied), chunkSize)).toEqual(varied);
  });

  it('decodes streams back to back and counts what follows as trailing data', () => {
    const decoder = createBzip2Decoder();
    const input = join(bzip2(varied.subarray(0, 100), { level: 1 }), bzip2(varied.subarray(100, 300)), encoder.encode('xyz'));
    expect(decodeWith(decoder, input, 11)).toEqual(varied.subarray(0, 300));
    expect([decoder.streams, decoder.trailingBytes]).toEqual([2, 3]);
  });

  it.each([
    ['a wrong block CRC', () => bzip2(varied, { blockCrc: 1, combinedCrc: 1 }), 'wrapper.checksum-mismatch'],
    ['a wrong combined CRC', () => bzip2(varied, { combinedCrc: 1 }), 'wrapper.checksum-mismatch'],
    ['a randomised block', () => bzip2(varied, { randomised: true }), 'wrapper.not-inspected'],
    ['an origin pointer past the block', () => bzip2(varied, { origin: 0xffffff }), 'compression.corrupt'],
    ['a cut in the middle', () => bzip2(varied).subarray(0, 500), 'compression.truncated'],
    ['no BZh header', () => encoder.encode('BZx9 not bzip2'), 'compression.corrupt'],
    ['nothing at all', () => new Uint8Array(0), 'compression.truncated'],
  ])('refuses a stream with %s', (_name, build, rule) => {
    expect(parseErrorOf(() => decodeWith(createBzip2Decoder(), build(), 64)).rule).toBe(rule);
  });

  it('stops at maxOutputBytes with status limit', () => {
    const decoder = createBzip2Decoder({ maxOutputBytes: 1000 });
    expect(decodeWith(decoder, bzip2(varied))).toEqual(varied.subarray(0, 1000));
    expect(decoder.status).toBe('limit');
  });
});

describe('createStreamDecoder', () => {
  it.each([
    ['gzip', 'arrays.joblib.gzip'],
    ['zlib', 'arrays.joblib.zlib'],
    ['xz', 'arrays.joblib.xz'],
    ['lzma-alone', 'arrays.joblib.lzma'],
    ['bzip2', 'arrays.joblib.bz2'],
  ] as const)('decodes what joblib wrote with %s to the uncompressed joblib file', (codec, name) => {
    expect(decodeWith(createStreamDecoder(codec, { maxOutputBytes: 1 << 20 }), fixture(name), 100)).toEqual(fixture('arrays.joblib'));
  });
});

describe('createDecompressionMeter', () => {
  const meter = (codec: CompressionCodec, input: Uint8Array, outputLimit: number, chunkSize: number) => {
    const instance = createDecompressionMeter(codec, { outputLimit, inputOffset: 0 });
    for (let offset = 0; offset < input.length; offset += chunkSize) instance.push(input.subarray(offset, offset + chunkSize));
    return instance.finish();
  };

  it('measures a complete stream the same for any chunking', () => {
    const input = join(gzipSync(DATA), [1, 2, 3]);
    const outcomes = [1, 17, 4096, input.length].map((chunkSize) => meter('gzip', input, 1 << 30, chunkSize));
    for (const outcome of outcomes) {
      expect(outcome).toEqual({ codec: 'gzip', compressedBytes: input.length, decodedBytes: DATA.length, end: 'complete', error: null, trailingBytes: 3 });
    }
  });

  it('stops at the output limit', () => {
    const outcome = meter('zlib', zlibSync(DATA), 30_000, 1000);
    expect(outcome.end).toBe('limit');
    expect(outcome.decodedBytes).toBe(30_000);
  });

  it('keeps the error and the bytes decoded before it', () => {
    const input = gzipSync(DATA).subarray(0, 9000);
    const outcome = meter('gzip', input, 1 << 30, 7000);
    expect(outcome.end).toBe('error');
    expect(outcome.error?.rule).toBe('compression.truncated');
    expect(outcome.decodedBytes).toBeGreaterThan(0);
    expect(outcome.decodedBytes).toBeLessThan(DATA.length);
  });

  it('fails fast when used in the wrong order', () => {
    const instance = createDecompressionMeter('gzip', { outputLimit: 10 });
    instance.finish();
    expect(() => instance.push(new Uint8Array(1))).toThrow(/after finish/);
    expect(() => instance.finish()).toThrow(/twice/);
  });
});

describe('createDecompressedSource', () => {
  const compressed = createMemorySource(gzipSync(DATA), 'data.bin.gz');
  const open = (options: { maxSeekDecodeBytes?: number; maxReadDecodeBytes?: number } = {}) =>
    createDecompressedSource(compressed, { codec: 'gzip', name: 'data.bin', size: DATA.length, ...options });

  it.each([1000, 65_536, 1 << 22])('streams the decoded bytes in chunks of %i', async (chunkSize) => {
    const source = open();
    const chunks: Uint8Array[] = [];
    for await (const chunk of source.chunks({ chunkSize })) {
      expect(chunk.length).toBeLessThanOrEqual(chunkSize);
      chunks.push(chunk.slice());
    }
    expect(join(...chunks)).toEqual(DATA);
    expect(source.size).toBe(DATA.length);
  });

  it('answers reads forward, backward, overlapping and past the end', async () => {
    const source = open();
    for (const [offset, length] of [
      [0, 10],
      [5, 20],
      [30_000, 1000],
      [30_500, 100],
      [10, 5],
      [39_990, 100],
      [DATA.length, 10],
      [-5, 10],
    ]) {
      const [from, to] = offset < 0 || offset >= DATA.length ? [0, 0] : [offset, Math.min(DATA.length, offset + length)];
      expect(await source.read(offset, length)).toEqual(DATA.subarray(from, to));
    }
  });

  it('cuts the stream at the measured size', async () => {
    const source = createDecompressedSource(compressed, { codec: 'gzip', name: 'cut', size: 1234 });
    const chunks: Uint8Array[] = [];
    for await (const chunk of source.chunks({ chunkSize: 100 })) chunks.push(chunk.slice());
    expect(join(...chunks)).toEqual(DATA.subarray(0, 1234));
    expect(await source.read(1200, 100)).toEqual(DATA.subarray(1200, 1234));
  });

  it('refuses a read that needs too much decoded only to be skipped, then still answers others', async () => {
    const source = open({ maxSeekDecodeBytes: 20_000 });
    await expect(source.read(30_000, 10)).rejects.toMatchObject({ rule: 'wrapper.read-limit', offset: 30_000 });
    expect(await source.read(15_000, 10)).toEqual(DATA.subarray(15_000, 15_010));
  });

  it('refuses reads once all of them together decoded too much', async () => {
    // Large enough that the decoder hands out several pieces, so a read before the last one restarts decoding.
    const large = sampleBytes(200_000, 3);
    const source = createDecompressedSource(createMemorySource(gzipSync(large), 'large.gz'), {
      codec: 'gzip',
      name: 'large',
      size: large.length,
      maxReadDecodeBytes: 300_000,
    });
    expect(await source.read(190_000, 10)).toEqual(large.subarray(190_000, 190_010));
    expect(await source.read(0, 10)).toEqual(large.subarray(0, 10));
    await expect(source.read(199_000, 10)).rejects.toMatchObject({ rule: 'wrapper.read-limit' });
  });

  it('decodes from `start` (a header before the stream)', async () => {
    const prefixed = createMemorySource(join(encoder.encode('ZF0x10            '), zlibSync(DATA.subarray(0, 16))), 'old.pkl');
    const source = createDecompressedSource(prefixed, { codec: 'zlib', name: 'old', size: 16, start: 18 });
    expect(await source.read(0, 100)).toEqual(DATA.subarray(0, 16));
  });

  it('records how deep in wrappers a source sits, and the size of the file on disk', () => {
    const inner = createMemorySource(gzipSync(gzipSync(DATA)), 'twice.gz');
    expect(decompressionLineage(inner)).toEqual({ depth: 0, rootSize: inner.size });
    const once = createDecompressedSource(inner, { codec: 'gzip', name: 'once', size: 10 });
    const twice = createDecompressedSource(once, { codec: 'gzip', name: 'twice', size: 10 });
    expect(decompressionLineage(once)).toEqual({ depth: 1, rootSize: inner.size });
    expect(decompressionLineage(twice)).toEqual({ depth: 2, rootSize: inner.size });
  });
});
