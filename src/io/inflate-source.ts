import { Inflate } from 'fflate';
import type { Finding } from '../report/types.ts';
import { type RuleId, createFinding } from '../rules/index.ts';
import { type ByteSource, DEFAULT_CHUNK_SIZE, clampRange, throwIfAborted } from './byte-source.ts';
import { ParseError } from './parse-error.ts';
import { rechunk } from './rechunk.ts';

/**
 * A ByteSource whose bytes are a raw DEFLATE stream (RFC 1951) stored in
 * another source: a deflated zip entry today, the body of gzip/zlib wrappers
 * later. Decoding goes through fflate's streaming `Inflate` with memory bounded
 * by constants below, never by the size of the stream.
 *
 * Threat surface: the compressed bytes are hostile. A few kilobytes can expand
 * to gigabytes (deflate reaches about 1032:1, and nesting multiplies it), the
 * declared size can lie in either direction, and the stream can be corrupt.
 * So: output is cut at `min(declaredSize, maxOutputBytes)`; input goes into the
 * decoder in slices sized so that one push can produce at most a few MiB; a
 * corrupt stream ends with a ParseError; a stream longer or shorter than
 * declared, or cut by the cap, is reported through `onFinding` once.
 *
 * Costs:
 * - `chunks()` decodes once, front to back, in O(size) time and O(chunkSize +
 *   MAX_OUTPUT_PER_PUSH) memory (plus fflate's 32 KiB window). Each call
 *   starts a fresh decoder.
 * - `read(offset, length)` has no index into the stream (deflate has none), so
 *   it keeps one paused decoder: a read at or after the previous read's end
 *   continues from there and costs O(gap + length); a read before it restarts
 *   from byte 0 and costs O(offset + length). The bytes decoded only to be
 *   skipped are capped by `maxSeekDecodeBytes`; past that, `read` throws a
 *   ParseError (`container.inflate.seek-limit`) instead of spending the time.
 *   Stream the entry with `chunks()` to see bytes further in.
 */

/** Default cap on decoded bytes per stream: bounds time and what a decompression bomb can make us process (CWE-409, CWE-400). */
export const MAX_INFLATED_BYTES = 4 * 1024 ** 3;

/** Default cap on bytes `read` decodes only to skip them: random access into deflate is O(offset) (CWE-400). */
export const MAX_SEEK_DECODE_BYTES = 256 * 1024 ** 2;

/** Deflate's best case is about 1032 output bytes per input byte (258-byte matches coded in under 2 bits). */
const DEFLATE_MAX_EXPANSION = 1032;

/** Output one push should produce at most; input slices are sized from the observed ratio to stay near it (CWE-770). */
const TARGET_OUTPUT_PER_PUSH = 1024 * 1024;

/** First slices are this small because nothing is known of the ratio yet: 1 KiB can inflate to ~1 MiB. */
const MIN_INPUT_SLICE = 1024;

/** Largest slice, so that a push stays bounded even when the ratio jumps mid-stream (CWE-770). */
const MAX_INPUT_SLICE = 16 * 1024;

/** The most one push can produce: 16 KiB × 1032 ≈ 16.5 MiB. Usually it is near TARGET_OUTPUT_PER_PUSH. */
export const MAX_OUTPUT_PER_PUSH = MAX_INPUT_SLICE * DEFLATE_MAX_EXPANSION;

/** Compressed bytes fetched per `read` on the compressed source. */
const INPUT_READ_SIZE = 1024 * 1024;

export interface InflateSourceOptions {
  /** Display name of the decoded source (see `zipEntrySourceName` for zip members). */
  name: string;
  /** Decoded size the container declares; the source's `size` is this, capped at `maxOutputBytes`. */
  declaredSize: number;
  /** Member path for findings' `location.entry`; their offsets are then offsets in the decoded bytes. */
  entry?: string;
  /** Hard cap on decoded bytes; defaults to MAX_INFLATED_BYTES. */
  maxOutputBytes?: number;
  /** Cap on bytes `read` may decode only to skip them; defaults to MAX_SEEK_DECODE_BYTES. */
  maxSeekDecodeBytes?: number;
  /**
   * Receives `container.inflate.limit` (output cut at the cap) and
   * `container.inflate.size-mismatch` (stream longer or shorter than
   * declared), each at most once per source. Corrupt data is not reported
   * here: it ends `chunks()`/`read` with a ParseError (`container.inflate.corrupt`).
   */
  onFinding?(finding: Finding): void;
}

/** Wrap a raw-deflate `compressed` source as the ByteSource of its decoded bytes. */
export function createInflateSource(compressed: ByteSource, options: InflateSourceOptions): ByteSource {
  const declaredSize = sanitizeSize(options.declaredSize);
  const maxOutputBytes = sanitizeSize(options.maxOutputBytes ?? MAX_INFLATED_BYTES);
  const maxSeekDecodeBytes = sanitizeSize(options.maxSeekDecodeBytes ?? MAX_SEEK_DECODE_BYTES);
  const size = Math.min(declaredSize, maxOutputBytes);
  const reported = new Set<RuleId>();

  const report = (rule: RuleId, offset: number, detail: string) => {
    if (reported.has(rule) || !options.onFinding) return;
    reported.add(rule);
    const location = options.entry === undefined ? { offset } : { entry: options.entry, offset };
    options.onFinding(createFinding(rule, { detail, location }));
  };

  /** Decoded pieces, cut at `size`, with the size checks reported on the way. */
  async function* decodeBounded(signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    let position = 0;
    for await (const piece of inflatePieces(compressed, signal)) {
      // Reported before the piece is handed out, so a reader that stops at the cap still hears of it.
      const reachesCap = size < declaredSize && position + piece.length >= size;
      if (reachesCap || position + piece.length > size) {
        reportPastEnd(size);
        if (size > position) yield piece.subarray(0, size - position);
        return;
      }
      position += piece.length;
      if (piece.length > 0) yield piece;
    }
    if (position < size) {
      report(
        'container.inflate.size-mismatch',
        position,
        `The compressed stream ends after ${position} decoded bytes but ${declaredSize} were declared.`,
      );
    }
  }

  function reportPastEnd(position: number) {
    if (size < declaredSize) {
      report(
        'container.inflate.limit',
        position,
        `Decoding stopped at ${position} bytes, the limit of ${maxOutputBytes}; ${declaredSize} were declared. Bytes past the limit were not inspected.`,
      );
    } else {
      report(
        'container.inflate.size-mismatch',
        position,
        `The compressed stream decodes to more than the ${declaredSize} bytes declared; the extra bytes were not inspected.`,
      );
    }
  }

  const reader = createSequentialReader(decodeBounded, size, maxSeekDecodeBytes, options.name);

  return {
    name: options.name,
    size,
    read: reader.read,
    async *chunks(chunkOptions = {}) {
      const chunkSize = Math.max(1, chunkOptions.chunkSize ?? DEFAULT_CHUNK_SIZE);
      yield* rechunk(decodeBounded(chunkOptions.signal), chunkSize, size);
    },
  };
}

function sanitizeSize(value: number): number {
  return Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

/**
 * The raw decoder: compressed bytes in through `read`s of INPUT_READ_SIZE,
 * pushed in slices sized to keep each push's output near
 * TARGET_OUTPUT_PER_PUSH, decoded pieces out. The last slice is pushed as final so that a truncated stream
 * raises fflate's "unexpected EOF" instead of ending quietly.
 */
async function* inflatePieces(compressed: ByteSource, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const ready: Uint8Array[] = [];
  const inflater = new Inflate((data) => {
    if (data.length > 0) ready.push(data);
  });
  let consumed = 0;
  let produced = 0;
  let pushedFinal = false;
  while (consumed < compressed.size) {
    throwIfAborted(signal);
    const input = await compressed.read(consumed, INPUT_READ_SIZE);
    if (input.length === 0) break;
    for (let index = 0; index < input.length; ) {
      const sliceLength = nextSliceLength(consumed, produced);
      const slice = input.subarray(index, index + sliceLength);
      const final = consumed + slice.length >= compressed.size;
      pushSlice(inflater, slice, final, consumed, produced);
      pushedFinal = final;
      index += slice.length;
      consumed += slice.length;
      while (ready.length > 0) {
        const piece = ready.shift() as Uint8Array;
        produced += piece.length;
        yield piece;
      }
    }
  }
  if (!pushedFinal) pushSlice(inflater, new Uint8Array(0), true, consumed, produced);
  for (const piece of ready) yield piece;
}

function nextSliceLength(consumed: number, produced: number): number {
  if (consumed === 0) return MIN_INPUT_SLICE;
  const ratio = Math.max(1, produced / consumed);
  const ideal = Math.floor(TARGET_OUTPUT_PER_PUSH / ratio);
  return Math.min(MAX_INPUT_SLICE, Math.max(MIN_INPUT_SLICE, ideal));
}

function pushSlice(inflater: Inflate, slice: Uint8Array, final: boolean, inputOffset: number, outputOffset: number): void {
  try {
    inflater.push(slice, final);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ParseError(
      'container.inflate.corrupt',
      outputOffset,
      `Deflate data is corrupt (${reason}) near compressed byte ${inputOffset + slice.length} after ${outputOffset} decoded bytes`,
    );
  }
}

interface PausedDecoder {
  pieces: AsyncGenerator<Uint8Array>;
  /** Decoded offset of the first byte of `pending` (or of the next piece). */
  position: number;
  /** The unread tail of the last piece taken. */
  pending: Uint8Array;
}

/**
 * `read` over a stream that can only be decoded front to back: one paused
 * decoder continues forward reads, the last result answers repeated reads, and
 * anything else restarts from 0. Calls are serialised, since they share the
 * decoder.
 */
function createSequentialReader(
  openPieces: () => AsyncGenerator<Uint8Array>,
  size: number,
  maxSeekDecodeBytes: number,
  name: string,
) {
  let decoder: PausedDecoder | null = null;
  let last: { start: number; bytes: Uint8Array } | null = null;
  let queue: Promise<unknown> = Promise.resolve();

  async function readNow(offset: number, length: number): Promise<Uint8Array> {
    const [from, to] = clampRange(size, offset, length);
    if (to <= from) return new Uint8Array(0);
    if (last && from >= last.start && to <= last.start + last.bytes.length) {
      return last.bytes.slice(from - last.start, to - last.start);
    }
    const result = new Uint8Array(to - from);
    let filled = 0;
    // A read that starts inside the previous result and runs past it continues the decoder.
    if (last && decoder && from >= last.start && from < last.start + last.bytes.length && decoder.position === last.start + last.bytes.length) {
      const cached = last.bytes.subarray(from - last.start);
      result.set(cached);
      filled = cached.length;
    }
    const resumeAt = from + filled;
    if (!decoder || resumeAt < decoder.position) {
      await decoder?.pieces.return(undefined);
      decoder = { pieces: openPieces(), position: 0, pending: new Uint8Array(0) };
    }
    const skip = resumeAt - decoder.position;
    if (skip > maxSeekDecodeBytes) {
      throw new ParseError(
        'container.inflate.seek-limit',
        resumeAt,
        `Reading ${name} at offset ${resumeAt} needs ${skip} bytes decoded first, over the limit of ${maxSeekDecodeBytes}; stream it instead`,
      );
    }
    const active: PausedDecoder = decoder;
    while (active.position + active.pending.length <= resumeAt) {
      active.position += active.pending.length;
      active.pending = new Uint8Array(0);
      const next = await active.pieces.next();
      if (next.done) return finishRead(result, filled, from);
      active.pending = next.value;
    }
    active.pending = active.pending.subarray(resumeAt - active.position);
    active.position = resumeAt;
    while (filled < result.length) {
      if (active.pending.length === 0) {
        const next = await active.pieces.next();
        if (next.done) break;
        active.pending = next.value;
        continue;
      }
      const count = Math.min(result.length - filled, active.pending.length);
      result.set(active.pending.subarray(0, count), filled);
      filled += count;
      active.position += count;
      active.pending = active.pending.subarray(count);
    }
    return finishRead(result, filled, from);
  }

  function finishRead(result: Uint8Array, filled: number, from: number): Uint8Array {
    const bytes = filled === result.length ? result : result.slice(0, filled);
    last = { start: from, bytes };
    return bytes.slice();
  }

  async function readOrReset(offset: number, length: number): Promise<Uint8Array> {
    try {
      return await readNow(offset, length);
    } catch (error) {
      // A decoder that failed part way cannot be resumed; the next read starts over.
      await decoder?.pieces.return(undefined).catch(() => undefined);
      decoder = null;
      throw error;
    }
  }

  return {
    read(offset: number, length: number): Promise<Uint8Array> {
      const run = queue.then(() => readOrReset(offset, length));
      queue = run.catch(() => undefined);
      return run;
    },
  };
}
