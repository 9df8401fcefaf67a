import type { ByteSource } from '../io/byte-source.ts';

/**
 * Small reads served from one cached window of the source. Zip headers are
 * walked in file order (the central directory record by record, then local
 * headers sorted by offset), so a window of a few dozen KiB turns thousands of
 * tiny range reads (each a `Blob.slice` or a file open in Node) into a few.
 */
export function createWindowReader(source: ByteSource, windowSize: number) {
  let windowStart = 0;
  let window: Uint8Array = new Uint8Array(0);
  /** Up to `length` bytes at `offset`: shorter only at the end of the source. */
  return async function bytesAt(offset: number, length: number): Promise<Uint8Array> {
    if (offset >= windowStart && offset + length <= windowStart + window.length) {
      return window.subarray(offset - windowStart, offset - windowStart + length);
    }
    window = await source.read(offset, Math.max(length, windowSize));
    windowStart = offset;
    return window.subarray(0, length);
  };
}

export type WindowReader = ReturnType<typeof createWindowReader>;
