/**
 * The decoded bytes of a compressed stream as a ByteSource, for gzip, zlib,
 * xz, LZMA-alone and bzip2 (the idea of src/io/inflate-source.ts, for
 * whole-file wrappers whose decoded size nobody declares truthfully).
 *
 * Two steps, because a ByteSource has a size and these streams do not state
 * theirs (gzip's ISIZE is modulo 2^32 and can lie, zlib has none):
 * 1. a {@link DecompressionMeter} is fed the compressed bytes (on the one
 *    streaming pass) and decodes them without keeping anything, to learn how
 *    many bytes the stream decodes to, up to a cap, and how it ends;
 * 2. {@link createDecompressedSource} then serves those bytes: `chunks()`
 *    decodes front to back once per call, `read()` keeps one paused decoder
 *    for forward reads and restarts from the start otherwise.
 *
 * Threat surface: decompression bombs (CWE-409) and unbounded work (CWE-400).
 * Decoders get a hard output cap and hand out bounded pieces; nothing here
 * holds more than a piece and one chunk. Random access into a stream costs
 * decoding everything before it, so `read` refuses to decode more than
 * `maxSeekDecodeBytes` only to skip them, and all reads of one source
 * together more than `maxReadDecodeBytes` (`wrapper.read-limit`). A source
 * remembers how deep in wrappers it sits and the size of the file on disk,
 * so a wrapper inside a wrapper can be refused, and bounded by the real file.
 */
import { type ByteSource, DEFAULT_CHUNK_SIZE, clampRange, throwIfAborted } from '../io/byte-source.ts';
import { ParseError } from '../io/parse-error.ts';
import { rechunk } from '../io/rechunk.ts';
import { createBzip2Decoder } from './bzip2.ts';
import { createGzipDecoder, createZlibDecoder } from './gzip.ts';
import { createLzmaAloneDecoder, type StreamDecoder } from './lzma.ts';
import { createXzDecoder } from './xz.ts';

/** Codecs this module decodes. */
export type CompressionCodec = 'gzip' | 'zlib' | 'xz' | 'lzma-alone' | 'bzip2';

/** Default cap on bytes `read` decodes only to skip them: random access into a stream is O(offset) (CWE-400). */
export const MAX_SEEK_DECODE_BYTES = 256 * 1024 ** 2;

/** Default cap on bytes decoded for all `read`s of one source together: restarts from 0 add up (CWE-400). */
export const MAX_READ_DECODE_BYTES = 1024 ** 3;

/** Compressed bytes fetched per `read` of the compressed source. */
const INPUT_READ_SIZE = 1024 * 1024;

/** Creates a fresh decoder for `codec`, which stops (status `limit`) past `maxOutputBytes`. */
export function createStreamDecoder(codec: CompressionCodec, options: { maxOutputBytes: number; inputOffset?: number }): StreamDecoder {
  switch (codec) {
    case 'gzip':
      return createGzipDecoder(options);
    case 'zlib':
      return createZlibDecoder(options);
    case 'xz':
      return createXzDecoder(options);
    case 'lzma-alone':
      return createLzmaAloneDecoder({ maxOutputBytes: options.maxOutputBytes });
    case 'bzip2':
      return createBzip2Decoder(options);
  }
}

/** How a stream decoded, as the meter saw it. */
export interface DecompressionOutcome {
  codec: CompressionCodec;
  /** Compressed bytes pushed. */
  compressedBytes: number;
  /** Decoded bytes, up to the cap: the size of the decompressed source. */
  decodedBytes: number;
  /**
   * `complete`: the stream ended properly; `limit`: it decodes to more than
   * the cap (decoding stopped there); `error`: it is corrupt or cut short
   * after `decodedBytes` good bytes (see `error`).
   */
  end: 'complete' | 'limit' | 'error';
  error: ParseError | null;
  /** Bytes after the stream that are not another stream (not decoded). */
  trailingBytes: number;
}

/** Decodes compressed bytes pushed in order and counts the output (STYLE.md §5: push, then finish). */
export interface DecompressionMeter {
  push(bytes: Uint8Array): void;
  finish(): DecompressionOutcome;
}

export interface MeterOptions {
  /** Decoded bytes counted at most; more makes the outcome `limit`. */
  outputLimit: number;
  /** Absolute offset of the first compressed byte, for error offsets. */
  inputOffset?: number;
}

/** A meter for `codec`: memory is one output piece, time is bounded by `outputLimit`. */
export function createDecompressionMeter(codec: CompressionCodec, options: MeterOptions): DecompressionMeter {
  const decoder = createStreamDecoder(codec, { maxOutputBytes: sanitize(options.outputLimit), inputOffset: options.inputOffset ?? 0 });
  let decodedBytes = 0;
  let compressedBytes = 0;
  let error: ParseError | null = null;
  let state: 'open' | 'finished' = 'open';

  const drain = (pieces: Iterable<Uint8Array>) => {
    if (error || decoder.status !== 'running') return;
    try {
      for (const piece of pieces) decodedBytes += piece.length;
    } catch (caught) {
      // A decoder bug must not end the scan either: it becomes a finding like any other failure.
      error = caught instanceof ParseError ? caught : new ParseError('scan.internal-error', (options.inputOffset ?? 0) + compressedBytes, `Decoding stopped on an unexpected error: ${caught instanceof Error ? caught.message : String(caught)}`);
    }
  };

  return {
    push(bytes) {
      if (state !== 'open') throw new Error('DecompressionMeter.push called after finish()');
      compressedBytes += bytes.length;
      if (error || decoder.status !== 'running') return;
      drain(decoder.push(bytes));
    },
    finish() {
      if (state !== 'open') throw new Error('DecompressionMeter.finish called twice');
      state = 'finished';
      if (!error && decoder.status === 'running') drain(decoder.finish());
      const end = error ? 'error' : decoder.status === 'limit' ? 'limit' : 'complete';
      return { codec, compressedBytes, decodedBytes, end, error, trailingBytes: error ? 0 : decoder.trailingBytes };
    },
  };
}

/** Where a decompressed source sits: how many wrappers deep, and the size of the file on disk. */
export interface DecompressionLineage {
  /** 0 for a file on disk, 1 for the content of its wrapper, 2 inside that … */
  depth: number;
  /** Size of the outermost file, what expansion ratios are measured against. */
  rootSize: number;
}

const lineages = new WeakMap<ByteSource, DecompressionLineage>();

/** The lineage of `source`: depth 0 and its own size unless it was made by createDecompressedSource. */
export function decompressionLineage(source: ByteSource): DecompressionLineage {
  return lineages.get(source) ?? { depth: 0, rootSize: source.size };
}

export interface DecompressedSourceOptions {
  codec: CompressionCodec;
  /** Display name of the decoded source. */
  name: string;
  /** Decoded bytes served: the meter's `decodedBytes`. Decoding stops there. */
  size: number;
  /** Offset of the stream in `compressed` (joblib's old `ZF` header comes first). Default 0. */
  start?: number;
  /** See MAX_SEEK_DECODE_BYTES. */
  maxSeekDecodeBytes?: number;
  /** See MAX_READ_DECODE_BYTES. */
  maxReadDecodeBytes?: number;
}

/**
 * The decoded bytes of the stream at `start` of `compressed`, cut at
 * `options.size`. Decoding errors past that size are never met; one before
 * it (the file changed since it was measured) ends the read with its ParseError.
 */
export function createDecompressedSource(compressed: ByteSource, options: DecompressedSourceOptions): ByteSource {
  const size = sanitize(options.size);
  const start = sanitize(options.start ?? 0);
  const maxSeekDecodeBytes = sanitize(options.maxSeekDecodeBytes ?? MAX_SEEK_DECODE_BYTES);
  const maxReadDecodeBytes = sanitize(options.maxReadDecodeBytes ?? MAX_READ_DECODE_BYTES);

  /** Decoded pieces from the first byte, cut at `size` (views valid until the next piece is asked for). */
  async function* decodePieces(signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    if (size === 0) return;
    // One byte over the size lets the decoder run to `size` without reporting a limit first.
    const decoder = createStreamDecoder(options.codec, { maxOutputBytes: size + 1, inputOffset: start });
    let produced = 0;
    let consumed = start;
    while (produced < size) {
      throwIfAborted(signal);
      const input = consumed < compressed.size ? await compressed.read(consumed, INPUT_READ_SIZE) : new Uint8Array(0);
      consumed += input.length;
      const pieces = input.length > 0 ? decoder.push(input) : decoder.finish();
      for (const piece of pieces) {
        const wanted = Math.min(piece.length, size - produced);
        if (wanted > 0) yield piece.subarray(0, wanted);
        produced += wanted;
        if (produced >= size) return;
      }
      if (input.length === 0) return;
    }
  }

  const reader = createForwardReader(decodePieces, size, options.name, maxSeekDecodeBytes, maxReadDecodeBytes);
  const source: ByteSource = {
    name: options.name,
    size,
    read: reader.read,
    async *chunks(chunkOptions = {}) {
      const chunkSize = Math.max(1, chunkOptions.chunkSize ?? DEFAULT_CHUNK_SIZE);
      yield* rechunk(decodePieces(chunkOptions.signal), chunkSize, size);
    },
  };
  const parent = decompressionLineage(compressed);
  lineages.set(source, { depth: parent.depth + 1, rootSize: parent.rootSize });
  return source;
}

function sanitize(value: number): number {
  return Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

interface PausedDecode {
  pieces: AsyncGenerator<Uint8Array>;
  /** Decoded offset of `pending[0]`. */
  position: number;
  /** The last piece taken: a view that stays valid until the next piece is asked for. */
  pending: Uint8Array;
}

/**
 * `read` over a stream that decodes only front to back: a read at or after
 * the end of the previous one continues the paused decoder, anything earlier
 * restarts from byte 0. Every decoded byte counts against the read budget;
 * calls are serialised because they share the decoder.
 */
function createForwardReader(
  openPieces: () => AsyncGenerator<Uint8Array>,
  size: number,
  name: string,
  maxSeekDecodeBytes: number,
  maxReadDecodeBytes: number,
) {
  let paused: PausedDecode | null = null;
  let decodedForReads = 0;
  let queue: Promise<unknown> = Promise.resolve();

  async function restart(): Promise<PausedDecode> {
    await paused?.pieces.return(undefined);
    paused = { pieces: openPieces(), position: 0, pending: new Uint8Array(0) };
    return paused;
  }

  /** Takes the next decoded piece, charging it to the budget; false at the end. */
  async function advance(decode: PausedDecode, offset: number): Promise<boolean> {
    const next = await decode.pieces.next();
    if (next.done) return false;
    decodedForReads += next.value.length;
    if (decodedForReads > maxReadDecodeBytes) {
      throw new ParseError(
        'wrapper.read-limit',
        offset,
        `Reading ${name} at offset ${offset} needs more than ${maxReadDecodeBytes} bytes decoded in all for random access; stream it instead`,
      );
    }
    decode.position += decode.pending.length;
    decode.pending = next.value;
    return true;
  }

  async function readNow(offset: number, length: number): Promise<Uint8Array> {
    const [from, to] = clampRange(size, offset, length);
    if (to <= from) return new Uint8Array(0);
    const decode = paused && from >= paused.position ? paused : await restart();
    const skip = from - (decode.position + decode.pending.length);
    if (skip > maxSeekDecodeBytes) {
      throw new ParseError(
        'wrapper.read-limit',
        from,
        `Reading ${name} at offset ${from} needs ${skip} bytes decoded first, over the limit of ${maxSeekDecodeBytes}; stream it instead`,
      );
    }
    while (decode.position + decode.pending.length <= from) {
      if (!(await advance(decode, from))) return new Uint8Array(0);
    }
    const result = new Uint8Array(to - from);
    let filled = 0;
    while (filled < result.length) {
      const at = from + filled;
      if (at >= decode.position + decode.pending.length && !(await advance(decode, at))) break;
      const inPiece = at - decode.position;
      const count = Math.min(result.length - filled, decode.pending.length - inPiece);
      result.set(decode.pending.subarray(inPiece, inPiece + count), filled);
      filled += count;
    }
    return filled === result.length ? result : result.slice(0, filled);
  }

  async function readOrReset(offset: number, length: number): Promise<Uint8Array> {
    try {
      return await readNow(offset, length);
    } catch (error) {
      // A decoder that failed part way cannot be resumed; the next read starts over.
      await paused?.pieces.return(undefined).catch(() => undefined);
      paused = null;
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
