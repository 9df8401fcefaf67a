import { describe, expect, it } from 'vitest';
import type { ByteSource } from '../../src/io/byte-source.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import { ParseError } from '../../src/io/parse-error.ts';
import { type SourceReaderOptions, createSourceReader } from '../../src/io/source-reader.ts';

/** A memory source that records every read, to prove what the reader fetched. */
function countingSource(bytes: Uint8Array): ByteSource & { reads: [offset: number, length: number][] } {
  const inner = createMemorySource(bytes, 'test.bin');
  const reads: [number, number][] = [];
  return {
    name: inner.name,
    size: inner.size,
    reads,
    read(offset, length) {
      reads.push([offset, length]);
      return inner.read(offset, length);
    },
    chunks: (options) => inner.chunks(options),
  };
}

const OPTIONS: SourceReaderOptions = {
  truncatedRule: 'gguf.truncated',
  limitRule: 'gguf.limit.header-size',
  maxBytes: 1 << 20,
  limitName: 'MAX_TEST_BYTES',
};

/** Bytes 0, 1, 2, … (mod 256), so every value read says where it came from. */
const ramp = (length: number) => Uint8Array.from({ length }, (_, index) => index & 0xff);

async function parseErrorOf(promise: Promise<unknown>): Promise<ParseError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ParseError);
  return error as ParseError;
}

describe('SourceReader', () => {
  it('reads little-endian primitives and reports absolute positions', async () => {
    const bytes = new Uint8Array(40);
    const view = new DataView(bytes.buffer);
    view.setUint8(0, 0xfe);
    view.setInt8(1, -2);
    view.setUint16(2, 0xbeef, true);
    view.setInt16(4, -300, true);
    view.setUint32(6, 0xdeadbeef, true);
    view.setInt32(10, -70000, true);
    view.setBigUint64(14, 0xfedcba9876543210n, true);
    view.setBigInt64(22, -5n, true);
    view.setFloat32(30, 1.5, true);
    const reader = createSourceReader(createMemorySource(bytes, 'x'), OPTIONS);
    expect(await reader.u8()).toBe(0xfe);
    expect(await reader.i8()).toBe(-2);
    expect(await reader.u16le()).toBe(0xbeef);
    expect(await reader.i16le()).toBe(-300);
    expect(await reader.u32le()).toBe(0xdeadbeef);
    expect(await reader.i32le()).toBe(-70000);
    expect(await reader.u64le()).toBe(0xfedcba9876543210n);
    expect(await reader.i64le()).toBe(-5n);
    expect(reader.position).toBe(30);
    expect(await reader.f32le()).toBe(1.5);
    expect(reader.position).toBe(34);
  });

  it.each([
    { window: 3, field: 'u32 crossing two windows' },
    { window: 5, field: 'u64 crossing a window' },
    { window: 1, field: 'one byte per window' },
    { window: 4096, field: 'all in one window' },
  ])('reads the same values whatever the window size ($field)', async ({ window }) => {
    const bytes = ramp(64);
    const reader = createSourceReader(createMemorySource(bytes, 'x'), { ...OPTIONS, windowBytes: window });
    const values: (number | bigint)[] = [];
    values.push(await reader.u8());
    values.push(await reader.u32le());
    values.push(await reader.u64le());
    await reader.skip(7);
    values.push(await reader.u16le());
    const text = await reader.utf8(4);
    expect(values).toEqual([0x00, 0x04030201, 0x0c0b0a0908070605n, 0x1514]);
    expect([...text].map((char) => char.charCodeAt(0))).toEqual([22, 23, 24, 25]);
    expect(reader.position).toBe(26);
  });

  it('fetches windows on demand, never the whole source', async () => {
    const source = countingSource(ramp(10 * 1024 * 1024));
    const reader = createSourceReader(source, { ...OPTIONS, maxBytes: source.size, windowBytes: 1024 * 1024 });
    await reader.u32le();
    await reader.skip(5 * 1024 * 1024);
    expect(await reader.u8()).toBe((5 * 1024 * 1024 + 4) & 0xff);
    expect(source.reads).toEqual([
      [0, 1024 * 1024],
      [5 * 1024 * 1024 + 4, 1024 * 1024],
    ]);
    expect(reader.bytesFetched).toBe(2 * 1024 * 1024);
  });

  it('serves the prefetched head without reading, then fetches past it', async () => {
    const bytes = ramp(200);
    const source = countingSource(bytes);
    const reader = createSourceReader(source, { ...OPTIONS, prefetched: bytes.subarray(0, 16), windowBytes: 64 });
    expect(await reader.u64le()).toBe(0x0706050403020100n);
    expect(source.reads).toEqual([]);
    expect(await reader.u64le()).toBe(0x0f0e0d0c0b0a0908n);
    expect(await reader.u32le()).toBe(0x13121110);
    expect(source.reads).toEqual([[16, 64]]);
  });

  it('grows a window for a field larger than the window size', async () => {
    const reader = createSourceReader(createMemorySource(ramp(100), 'x'), { ...OPTIONS, windowBytes: 8 });
    await reader.skip(10);
    const bytes = await reader.bytes(50);
    expect(bytes[0]).toBe(10);
    expect(bytes[49]).toBe(59);
    expect(reader.position).toBe(60);
  });

  it('hands out a ByteCursor over a block, with file offsets in its errors', async () => {
    const reader = createSourceReader(createMemorySource(ramp(32), 'x'), { ...OPTIONS, windowBytes: 4 });
    await reader.skip(8);
    const cursor = await reader.cursor(6, 'block');
    expect(cursor.position).toBe(8);
    expect(cursor.u32le()).toBe(0x0b0a0908);
    expect(reader.position).toBe(14);
    cursor.u16le();
    expect(() => cursor.u8()).toThrow(ParseError);
    try {
      cursor.u8();
    } catch (error) {
      expect((error as ParseError).offset).toBe(14);
      expect((error as ParseError).rule).toBe('gguf.truncated');
    }
  });

  it('returns copies from bytes(), unaffected by later windows', async () => {
    const reader = createSourceReader(createMemorySource(ramp(64), 'x'), { ...OPTIONS, windowBytes: 4 });
    const first = await reader.bytes(4);
    await reader.skip(20);
    await reader.u32le();
    expect([...first]).toEqual([0, 1, 2, 3]);
  });

  it.each([
    { what: 'a read past the end', act: (reader: ReturnType<typeof createSourceReader>) => reader.u64le('tensor count'), offset: 6 },
    { what: 'a skip past the end', act: (reader: ReturnType<typeof createSourceReader>) => reader.skip(100, 'string'), offset: 6 },
    { what: 'a string past the end', act: (reader: ReturnType<typeof createSourceReader>) => reader.utf8(11, 'key'), offset: 6 },
  ])('throws the truncated rule with offset and sizes for $what', async ({ act, offset }) => {
    const source = countingSource(ramp(12));
    const reader = createSourceReader(source, { ...OPTIONS, windowBytes: 4 });
    await reader.skip(6);
    const error = await parseErrorOf(act(reader));
    expect(error.rule).toBe('gguf.truncated');
    expect(error.offset).toBe(offset);
    expect(error.message).toMatch(/at offset 6 but the file ends at 12/);
    expect(source.reads).toEqual([]);
  });

  it('throws the limit rule, naming the limit, before fetching past it', async () => {
    const source = countingSource(ramp(1000));
    const reader = createSourceReader(source, { ...OPTIONS, maxBytes: 100, windowBytes: 64 });
    await reader.skip(90);
    expect(await reader.u64le()).toBe(0x61605f5e5d5c5b5an);
    const error = await parseErrorOf(reader.u32le('key length'));
    expect(error.rule).toBe('gguf.limit.header-size');
    expect(error.offset).toBe(98);
    expect(error.message).toContain('MAX_TEST_BYTES (100 bytes from offset 0)');
    const skipError = await parseErrorOf(reader.skip(3));
    expect(skipError.rule).toBe('gguf.limit.header-size');
    // The one window fetched stopped at the limit.
    expect(source.reads).toEqual([[90, 10]]);
  });

  it('counts the limit from a start offset', async () => {
    const reader = createSourceReader(createMemorySource(ramp(100), 'x'), { ...OPTIONS, start: 50, maxBytes: 8 });
    expect(reader.position).toBe(50);
    expect(await reader.u64le()).toBe(0x3938373635343332n);
    expect((await parseErrorOf(reader.u8())).rule).toBe('gguf.limit.header-size');
  });

  it('prefers the truncated rule when a field passes both the end and the limit', async () => {
    const reader = createSourceReader(createMemorySource(ramp(10), 'x'), { ...OPTIONS, maxBytes: 4 });
    expect((await parseErrorOf(reader.skip(20))).rule).toBe('gguf.truncated');
  });

  it('never serves prefetched bytes beyond the limit', async () => {
    const bytes = ramp(64);
    const reader = createSourceReader(createMemorySource(bytes, 'x'), { ...OPTIONS, maxBytes: 6, prefetched: bytes });
    await reader.u32le();
    expect((await parseErrorOf(reader.u32le())).rule).toBe('gguf.limit.header-size');
  });

  it('seeks within the allowed range only', async () => {
    const reader = createSourceReader(createMemorySource(ramp(64), 'x'), { ...OPTIONS, start: 8, maxBytes: 32 });
    reader.seek(20);
    expect(await reader.u8()).toBe(20);
    expect(() => reader.seek(4)).toThrow(RangeError);
    expect(() => reader.seek(41)).toThrow(RangeError);
  });

  it('refuses unbounded lengths from callers as a programming error', async () => {
    const reader = createSourceReader(createMemorySource(ramp(8), 'x'), OPTIONS);
    await expect(reader.skip(2 ** 60)).rejects.toThrow(RangeError);
    await expect(reader.ensure(-1)).rejects.toThrow(RangeError);
  });

  it('stops when the signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const reader = createSourceReader(createMemorySource(ramp(8), 'x'), { ...OPTIONS, signal: controller.signal });
    await expect(reader.u8()).rejects.toMatchObject({ name: 'AbortError' });
  });
});
