/**
 * Where bytes come from: a browser File, a Node file, a zip entry, a
 * decompressed stream. Nothing reads a source whole: headers come from
 * bounded `read`s, and the one full pass goes through `chunks`.
 */
export interface ByteSource {
  /** Display path: the file name, or its relative path inside a dropped folder. */
  readonly name: string;
  readonly size: number;
  /**
   * Up to `length` bytes from `offset`; shorter only at the end of the source.
   * Offsets outside the source give an empty array, never an error.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * The whole source in order, one chunk at a time. A chunk is only valid
   * until the next one is requested (buffers are reused), so consumers must
   * finish with it synchronously or copy what they keep.
   */
  chunks(options?: ChunkOptions): AsyncIterable<Uint8Array>;
}

export interface ChunkOptions {
  /** Bytes per chunk; the last one may be shorter. */
  chunkSize?: number;
  signal?: AbortSignal;
}

/** Large enough that per-chunk overhead vanishes, small enough to keep memory flat. */
export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;

/** Clamp a requested range to the source, so a hostile offset never reads outside it. */
export function clampRange(size: number, offset: number, length: number): [start: number, end: number] {
  if (!Number.isFinite(offset) || !Number.isFinite(length) || offset >= size || length <= 0 || offset < 0) {
    return [0, 0];
  }
  return [offset, Math.min(size, offset + length)];
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new DOMException('Aborted', 'AbortError');
}
