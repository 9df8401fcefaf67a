/**
 * Joins decoded pieces of any size into chunks of `chunkSize` for a
 * ByteSource's `chunks()`: pieces at least a chunk long pass through as views,
 * smaller ones are gathered in one reused buffer (valid until the next chunk
 * is asked for, per the ByteSource contract). `size` bounds that buffer for
 * small sources.
 */
export async function* rechunk(pieces: AsyncIterable<Uint8Array>, chunkSize: number, size: number): AsyncGenerator<Uint8Array> {
  let buffer: Uint8Array | null = null;
  let filled = 0;
  for await (const piece of pieces) {
    let offset = 0;
    while (offset < piece.length) {
      if (filled === 0 && piece.length - offset >= chunkSize) {
        yield piece.subarray(offset, offset + chunkSize);
        offset += chunkSize;
        continue;
      }
      buffer ??= new Uint8Array(Math.min(chunkSize, size));
      const count = Math.min(chunkSize - filled, piece.length - offset);
      buffer.set(piece.subarray(offset, offset + count), filled);
      filled += count;
      offset += count;
      if (filled === chunkSize) {
        yield buffer;
        filled = 0;
      }
    }
  }
  if (buffer && filled > 0) yield buffer.subarray(0, filled);
}
