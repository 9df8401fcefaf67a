import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createCrc32, crc32, formatCrc32, updateCrc32 } from '../../src/containers/zip-crc32.ts';

const text = (value: string) => new TextEncoder().encode(value);

describe('crc32', () => {
  it.each([
    { input: '', expected: 0x00000000 },
    { input: 'a', expected: 0xe8b7be43 },
    { input: '123456789', expected: 0xcbf43926 },
    { input: 'The quick brown fox jumps over the lazy dog', expected: 0x414fa339 },
  ])('gives the known answer for "$input"', ({ input, expected }) => {
    expect(crc32(text(input))).toBe(expected);
  });

  it('is the same for any chunking', () => {
    const bytes = Uint8Array.from({ length: 10_007 }, (_, index) => (index * 31 + (index >> 5)) & 0xff);
    const whole = crc32(bytes);
    for (const chunkSize of [1, 3, 7, 8, 9, 64, 4096]) {
      const accumulator = createCrc32();
      for (let offset = 0; offset < bytes.length; offset += chunkSize) accumulator.push(bytes.subarray(offset, offset + chunkSize));
      expect(accumulator.value).toBe(whole);
      expect(accumulator.length).toBe(bytes.length);
    }
    expect(updateCrc32(updateCrc32(0, bytes.subarray(0, 5000)), bytes.subarray(5000))).toBe(whole);
  });

  it('agrees with zlib on pseudo-random data of many lengths', () => {
    const zlibCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;
    if (!zlibCrc32) return;
    let state = 1;
    for (let length = 0; length < 300; length += 7) {
      const bytes = Uint8Array.from({ length }, () => (state = (state * 48271) % 0x7fffffff) & 0xff);
      expect(crc32(bytes)).toBe(zlibCrc32(bytes));
    }
  });

  it('formats as eight hex digits', () => {
    expect(formatCrc32(0x1f)).toBe('0x0000001f');
  });
});

