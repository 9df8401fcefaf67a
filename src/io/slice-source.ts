import { type ByteSource, DEFAULT_CHUNK_SIZE, clampRange, throwIfAborted } from './byte-source.ts';

/**
 * A ByteSource that is the range [offset, offset + length) of another source:
 * a stored zip entry, a tar member, a region of a file. The range is clamped to
 * the parent once, here, so a hostile offset or length taken from a header can
 * never make a read leave the parent: `size` is what is really there, which may
 * be less than the length asked for (callers that care compare the two).
 *
 * `chunks()` walks the range with bounded `read`s on the parent rather than
 * the parent's own `chunks()`, which would start at the parent's first byte.
 */
export function createSliceSource(parent: ByteSource, offset: number, length: number, name: string): ByteSource {
  const [start, end] = clampRange(parent.size, offset, length);
  const size = end - start;
  return {
    name,
    size,
    async read(readOffset, readLength) {
      const [from, to] = clampRange(size, readOffset, readLength);
      if (to <= from) return new Uint8Array(0);
      return parent.read(start + from, to - from);
    },
    async *chunks(options = {}) {
      const chunkSize = Math.max(1, options.chunkSize ?? DEFAULT_CHUNK_SIZE);
      for (let position = 0; position < size; ) {
        throwIfAborted(options.signal);
        const chunk = await parent.read(start + position, Math.min(chunkSize, size - position));
        // The parent shrank under us (a file changed on disk): stop rather than spin.
        if (chunk.length === 0) return;
        position += chunk.length;
        yield chunk;
      }
    },
  };
}
