import { type ByteSource, type ChunkOptions, DEFAULT_CHUNK_SIZE, clampRange, throwIfAborted } from './byte-source.ts';

/**
 * A ByteSource over a browser File (or any Blob). Random access goes through
 * `slice`, the full pass through a BYOB stream reader with two reused buffers:
 * the next read is already in flight while the consumer handles the current
 * chunk, so reading and hashing overlap. Never calls `arrayBuffer()` on the
 * whole blob.
 */
export function createBlobSource(blob: Blob, name: string): ByteSource {
  return {
    name,
    size: blob.size,
    async read(offset, length) {
      const [start, end] = clampRange(blob.size, offset, length);
      if (end <= start) return new Uint8Array(0);
      return new Uint8Array(await blob.slice(start, end).arrayBuffer());
    },
    chunks(options) {
      return readBlobChunks(blob, options);
    },
  };
}

/**
 * Streams being read, held from a GC root. While a read is pending, the
 * stream, its reader, the pending promise and the scan awaiting it can form
 * a cycle that nothing else references (in a worker, the Comlink call only
 * holds it through closures); Chromium then collected it and the scan hung
 * in about half the runs on a 50,000-tensor file. Holding the stream here
 * until the pass ends keeps the whole chain alive.
 */
const streamsBeingRead = new Set<ReadableStream<Uint8Array>>();

async function* readBlobChunks(blob: Blob, options: ChunkOptions = {}): AsyncGenerator<Uint8Array> {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const stream = blob.stream();
  streamsBeingRead.add(stream);
  try {
    let byobReader: ReadableStreamBYOBReader | null = null;
    try {
      byobReader = stream.getReader({ mode: 'byob' });
    } catch {
      // Runtimes whose blob streams are not byte streams (older Node): plain reads.
    }
    if (byobReader) {
      yield* readWithByob(byobReader, chunkSize, options.signal);
    } else {
      yield* readWithDefaultReader(stream.getReader(), options.signal);
    }
  } finally {
    streamsBeingRead.delete(stream);
  }
}

async function* readWithByob(
  reader: ReadableStreamBYOBReader,
  chunkSize: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array> {
  // Two buffers: one being filled by the stream while the other is with the consumer.
  let spare: ArrayBuffer = new ArrayBuffer(chunkSize);
  let pending = reader.read(new Uint8Array(new ArrayBuffer(chunkSize)));
  try {
    while (true) {
      throwIfAborted(signal);
      const { value, done } = await pending;
      if (done || !value) return;
      const chunk = value;
      pending = reader.read(new Uint8Array(spare));
      yield chunk;
      // The consumer is done with `chunk`: its buffer becomes the next spare.
      spare = chunk.buffer as ArrayBuffer;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

async function* readWithDefaultReader(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array> {
  try {
    while (true) {
      throwIfAborted(signal);
      const { value, done } = await reader.read();
      if (done) return;
      if (value.length > 0) yield value;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
