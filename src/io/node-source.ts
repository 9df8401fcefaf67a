import { open, stat } from 'node:fs/promises';
import { type ByteSource, DEFAULT_CHUNK_SIZE, clampRange, throwIfAborted } from './byte-source.ts';

/**
 * A ByteSource over a file on disk (Node only; the CLI and tests use it).
 * Each `read` opens, reads one range and closes, so no descriptor outlives a
 * call; the full pass keeps one descriptor and double-buffers like the
 * browser source.
 */
export async function createNodeFileSource(path: string, name = path): Promise<ByteSource> {
  const { size } = await stat(path);
  return {
    name,
    size,
    async read(offset, length) {
      const [start, end] = clampRange(size, offset, length);
      if (end <= start) return new Uint8Array(0);
      const handle = await open(path, 'r');
      try {
        const buffer = new Uint8Array(end - start);
        let filled = 0;
        while (filled < buffer.length) {
          const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, start + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        return buffer.subarray(0, filled);
      } finally {
        await handle.close();
      }
    },
    async *chunks(options = {}) {
      const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
      const handle = await open(path, 'r');
      try {
        let buffers = [new Uint8Array(chunkSize), new Uint8Array(chunkSize)];
        let position = 0;
        let pending = handle.read(buffers[0], 0, chunkSize, position);
        while (true) {
          throwIfAborted(options.signal);
          const { bytesRead } = await pending;
          if (bytesRead === 0) return;
          const current = buffers[0].subarray(0, bytesRead);
          position += bytesRead;
          pending = handle.read(buffers[1], 0, chunkSize, position);
          yield current;
          buffers = [buffers[1], buffers[0]];
        }
      } finally {
        await handle.close();
      }
    },
  };
}
