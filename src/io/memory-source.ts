import { type ByteSource, DEFAULT_CHUNK_SIZE, clampRange, throwIfAborted } from './byte-source.ts';

/** A ByteSource over bytes already in memory: small entries, decoded members, tests. */
export function createMemorySource(bytes: Uint8Array, name: string): ByteSource {
  return {
    name,
    size: bytes.length,
    async read(offset, length) {
      const [start, end] = clampRange(bytes.length, offset, length);
      return bytes.subarray(start, end);
    },
    async *chunks(options = {}) {
      const chunkSize = Math.max(1, options.chunkSize ?? DEFAULT_CHUNK_SIZE);
      for (let start = 0; start < bytes.length; start += chunkSize) {
        throwIfAborted(options.signal);
        yield bytes.subarray(start, Math.min(bytes.length, start + chunkSize));
      }
    },
  };
}
