/**
 * Streaming gzip (RFC 1952) and zlib (RFC 1950) decoders: the framing is read
 * here, the DEFLATE body (RFC 1951) by fflate's streaming `Inflate`. Both
 * follow what joblib's `BinaryGzipFile`/`BinaryZlibFile` do (zlib's
 * `decompressobj(31)` / `decompressobj(15)`): members follow each other until
 * the input ends, each with its checksum verified.
 * Specs: https://www.rfc-editor.org/rfc/rfc1952, https://www.rfc-editor.org/rfc/rfc1950.
 *
 * Threat surface: a few kilobytes of DEFLATE expand to megabytes (about
 * 1032:1), so input goes to fflate in slices of at most MAX_INPUT_SLICE bytes
 * and the output of one slice is handed out before the next is decoded;
 * output stops at `maxOutputBytes` (status `limit`). Header fields are
 * skipped, never stored (a file name can be any length). A corrupt body, a
 * stream that ends early, a checksum or length that does not match each end
 * decoding with a ParseError carrying the compressed offset. Bytes after the
 * last member that do not open another are `trailingBytes`, not decoded.
 *
 * Implements the StreamDecoder contract of lzma.ts: `push`/`finish` return
 * generators of output pieces, valid until the next piece is requested.
 */
import { Inflate } from 'fflate';
import { updateCrc32 } from '../containers/zip-crc32.ts';
import { ParseError } from '../io/parse-error.ts';
import { MAX_DECODED_BYTES, type StreamDecoder, type StreamStatus } from './lzma.ts';

/** Compressed bytes given to fflate at once: one slice yields at most 16 KiB × 1032 ≈ 16.5 MiB (CWE-770). */
export const MAX_INPUT_SLICE = 16 * 1024;
/** Compressed bytes gathered before fflate is called (except at the end): it copies its 32 KiB window per call (CWE-400). */
const MIN_INPUT_SLICE = 4 * 1024;

const GZIP_MAGIC = [0x1f, 0x8b] as const;
const DEFLATE_METHOD = 8;
const GZIP_FLAG = { headerCrc: 2, extra: 4, name: 8, comment: 16 } as const;
const GZIP_FIXED_HEADER_BYTES = 10;
const GZIP_TRAILER_BYTES = 8;
const ZLIB_HEADER_BYTES = 2;
const ZLIB_TRAILER_BYTES = 4;
const ADLER_MODULUS = 65521;
/** Bytes Adler-32 can sum before its 32-bit accumulators must be reduced (zlib's NMAX). */
const ADLER_BLOCK = 5552;

const EMPTY = new Uint8Array(0);

export interface DeflateWrapperOptions {
  /** Hard cap on decoded bytes (default MAX_DECODED_BYTES): status `limit` past it. */
  maxOutputBytes?: number;
  /** Absolute offset of the first compressed byte, for error messages and finding offsets. */
  inputOffset?: number;
}

export interface DeflateWrapperDecoder extends StreamDecoder {
  /** Members (gzip) or streams (zlib) that started so far. */
  readonly members: number;
}

/** True when `head` opens a gzip member with the DEFLATE method. */
export function isGzipHeader(head: Uint8Array, at = 0): boolean {
  return head.length >= at + 3 && head[at] === GZIP_MAGIC[0] && head[at + 1] === GZIP_MAGIC[1] && head[at + 2] === DEFLATE_METHOD;
}

/** True when the two bytes at `at` are a zlib header zlib accepts without a preset dictionary: DEFLATE, window ≤ 32 KiB, FCHECK right. */
export function isZlibHeader(head: Uint8Array, at = 0): boolean {
  if (head.length < at + ZLIB_HEADER_BYTES) return false;
  const cmf = head[at];
  const flags = head[at + 1];
  return (cmf & 0x0f) === DEFLATE_METHOD && cmf >> 4 <= 7 && ((cmf << 8) | flags) % 31 === 0 && (flags & 0x20) === 0;
}

/** A gzip decoder (members back to back, CRC-32 and ISIZE checked per member). */
export function createGzipDecoder(options: DeflateWrapperOptions = {}): DeflateWrapperDecoder {
  return new DeflateWrapperStream('gzip', options);
}

/** A zlib decoder (streams back to back, Adler-32 checked per stream). */
export function createZlibDecoder(options: DeflateWrapperOptions = {}): DeflateWrapperDecoder {
  return new DeflateWrapperStream('zlib', options);
}

type Phase = 'header' | 'body' | 'trailer' | 'between' | 'done';

/** The gzip header after its 10 fixed bytes: each optional part in order. */
type HeaderPart = 'extra-length' | 'extra' | 'name' | 'comment' | 'header-crc';

class DeflateWrapperStream implements DeflateWrapperDecoder {
  status: StreamStatus = 'running';
  inputBytes = 0;
  outputBytes = 0;
  trailingBytes = 0;
  unusedInput: Uint8Array = EMPTY;
  members = 0;

  private readonly maxOutputBytes: number;
  private readonly inputOffset: number;
  private phase: Phase = 'header';
  /** Bytes collected for a fixed-size part (gzip fixed header, trailer, zlib header). */
  private collected = new Uint8Array(GZIP_FIXED_HEADER_BYTES);
  private collectedLength = 0;
  private headerParts: HeaderPart[] = [];
  private extraLeft = 0;
  private inflater: Inflate | null = null;
  private pieces: Uint8Array[] = [];
  /** Body bytes gathered for the next push to fflate. */
  private held: Uint8Array = EMPTY;
  private memberStart = 0;
  private memberCrc = 0;
  private memberLength = 0;
  private adlerA = 1;
  private adlerB = 0;
  private busy = false;
  private finished = false;

  constructor(
    private readonly kind: 'gzip' | 'zlib',
    options: DeflateWrapperOptions,
  ) {
    const limit = options.maxOutputBytes ?? MAX_DECODED_BYTES;
    this.maxOutputBytes = Number.isFinite(limit) && limit > 0 ? Math.floor(limit) : 0;
    this.inputOffset = options.inputOffset ?? 0;
  }

  *push(input: Uint8Array): Generator<Uint8Array, void, undefined> {
    this.enter('push');
    try {
      this.unusedInput = EMPTY;
      this.inputBytes += input.length;
      yield* this.process(input, false);
    } finally {
      this.busy = false;
    }
  }

  *finish(): Generator<Uint8Array, void, undefined> {
    this.enter('finish');
    this.finished = true;
    try {
      this.unusedInput = EMPTY;
      yield* this.process(EMPTY, true);
    } finally {
      this.busy = false;
    }
  }

  private enter(what: string): void {
    if (this.busy) throw new Error(`${this.kind} decoder: ${what} called before the previous output was consumed`);
    if (this.finished) throw new Error(`${this.kind} decoder: ${what} called after finish`);
    this.busy = true;
  }

  /** Absolute offset of `input[index]` when `input` is the current push (its first byte at inputBytes - length). */
  private offsetOf(input: Uint8Array, index: number): number {
    return this.inputOffset + this.inputBytes - input.length + index;
  }

  private *process(input: Uint8Array, final: boolean): Generator<Uint8Array, void, undefined> {
    let index = 0;
    while (this.status === 'running') {
      if (this.phase === 'done') break;
      if (this.phase === 'body') {
        // fflate copies its 32 KiB window on every push, so small pushes are gathered first.
        if (!final && this.held.length + input.length - index < MIN_INPUT_SLICE) {
          // A copy: the caller's chunk is only valid during this push.
          this.held = concat(this.held, input.subarray(index)).slice();
          index = input.length;
          break;
        }
        let remainder: Uint8Array | null = null;
        if (this.held.length > 0 || index < input.length) {
          const take = Math.min(MAX_INPUT_SLICE - this.held.length, input.length - index);
          const slice = concat(this.held, input.subarray(index, index + take));
          this.held = EMPTY;
          index += take;
          remainder = this.inflate(slice, false, this.offsetOf(input, index));
          yield* this.handOut();
          if (this.status !== 'running') break;
        }
        if (!remainder && final && index >= input.length) {
          // Only a final push makes fflate check that the stream ended; everything it could decode was handed out first,
          // as zlib gives a loader the bytes before a cut.
          remainder = this.inflate(EMPTY, true, this.offsetOf(input, index));
          yield* this.handOut();
          if (this.status !== 'running') break;
          if (!remainder) {
            const at = this.offsetOf(input, index);
            throw new ParseError('compression.truncated', at, `${this.kind} stream from offset ${this.memberStart} ends inside its deflate data at offset ${at}`);
          }
        }
        if (remainder) {
          // The member's body ended inside this slice: what fflate did not use is the trailer and beyond.
          this.beginFixed(this.kind === 'gzip' ? GZIP_TRAILER_BYTES : ZLIB_TRAILER_BYTES);
          this.phase = 'trailer';
          const rest = input.subarray(index);
          input = concat(remainder, rest);
          index = 0;
          // offsetOf assumes `input` ends at the last byte pushed, which still holds.
          continue;
        }
        if (index >= input.length) break;
        continue;
      }
      if (index >= input.length) {
        if (final) this.endOfInput(input, index);
        break;
      }
      index = this.readFraming(input, index);
    }
    if (this.status !== 'running') {
      const unused = input.subarray(index);
      this.unusedInput = unused;
      if (this.status === 'ended') this.trailingBytes += unused.length;
    }
  }

  /** Reads header, trailer or between-member bytes from `input[index]`; returns the next index. */
  private readFraming(input: Uint8Array, index: number): number {
    switch (this.phase) {
      case 'between':
        return this.readBetween(input, index);
      case 'header':
        return this.kind === 'gzip' ? this.readGzipHeader(input, index) : this.readZlibHeader(input, index);
      case 'trailer':
        return this.readTrailer(input, index);
      default:
        return input.length;
    }
  }

  /** After a member: another header starts a new member; anything else is trailing data. */
  private readBetween(input: Uint8Array, index: number): number {
    const needed = this.kind === 'gzip' ? 3 : ZLIB_HEADER_BYTES;
    const taken = this.collect(input, index, needed);
    if (this.collectedLength < needed) return taken;
    const head = this.collected.subarray(0, needed);
    const opens = this.kind === 'gzip' ? isGzipHeader(head) : isZlibHeader(head);
    if (!opens) {
      // Not another member: these bytes and the rest of the input are trailing data.
      this.status = 'ended';
      this.phase = 'done';
      this.trailingBytes += this.collectedLength - (taken - index);
      return index;
    }
    this.phase = 'header';
    // Replay the collected bytes as the start of the next header.
    this.collectedLength = 0;
    this.collected = new Uint8Array(GZIP_FIXED_HEADER_BYTES);
    this.collected.set(head);
    this.collectedLength = head.length;
    return taken;
  }

  private readGzipHeader(input: Uint8Array, index: number): number {
    if (this.headerParts.length > 0) return this.readGzipHeaderPart(input, index);
    const next = this.collect(input, index, GZIP_FIXED_HEADER_BYTES);
    if (this.collectedLength < GZIP_FIXED_HEADER_BYTES) return next;
    const header = this.collected;
    const at = this.offsetOf(input, next) - GZIP_FIXED_HEADER_BYTES;
    if (header[0] !== GZIP_MAGIC[0] || header[1] !== GZIP_MAGIC[1]) {
      throw new ParseError('compression.corrupt', at, `gzip member at offset ${at} does not start with 1f 8b (found ${hex(header[0])} ${hex(header[1])})`);
    }
    if (header[2] !== DEFLATE_METHOD) {
      throw new ParseError('compression.corrupt', at, `gzip member at offset ${at} uses compression method ${header[2]}; only 8 (deflate) exists`);
    }
    // Reserved flag bits are ignored, as Python's gzip module and fflate do.
    const flags = header[3];
    if (flags & GZIP_FLAG.extra) this.headerParts.push('extra-length', 'extra');
    if (flags & GZIP_FLAG.name) this.headerParts.push('name');
    if (flags & GZIP_FLAG.comment) this.headerParts.push('comment');
    if (flags & GZIP_FLAG.headerCrc) this.headerParts.push('header-crc');
    this.memberStart = at;
    this.members += 1;
    this.beginFixed(0);
    if (this.headerParts.length === 0) this.startBody();
    else this.prepareHeaderPart();
    return next;
  }

  private prepareHeaderPart(): void {
    const part = this.headerParts[0];
    if (part === 'extra-length' || part === 'header-crc') this.beginFixed(2);
  }

  private readGzipHeaderPart(input: Uint8Array, index: number): number {
    const part = this.headerParts[0];
    let next = index;
    if (part === 'extra-length' || part === 'header-crc') {
      next = this.collect(input, index, 2);
      if (this.collectedLength < 2) return next;
      if (part === 'extra-length') this.extraLeft = this.collected[0] | (this.collected[1] << 8);
    } else if (part === 'extra') {
      const count = Math.min(this.extraLeft, input.length - index);
      this.extraLeft -= count;
      next = index + count;
      if (this.extraLeft > 0) return next;
    } else {
      // A zero-terminated name or comment: skipped, whatever its length.
      const end = input.indexOf(0, index);
      if (end < 0) return input.length;
      next = end + 1;
    }
    this.headerParts.shift();
    if (this.headerParts.length === 0) this.startBody();
    else this.prepareHeaderPart();
    return next;
  }

  private readZlibHeader(input: Uint8Array, index: number): number {
    const next = this.collect(input, index, ZLIB_HEADER_BYTES);
    if (this.collectedLength < ZLIB_HEADER_BYTES) return next;
    const at = this.offsetOf(input, next) - ZLIB_HEADER_BYTES;
    const [cmf, flags] = this.collected;
    if ((cmf & 0x0f) !== DEFLATE_METHOD || cmf >> 4 > 7 || ((cmf << 8) | flags) % 31 !== 0) {
      throw new ParseError('compression.corrupt', at, `zlib header ${hex(cmf)} ${hex(flags)} at offset ${at} is invalid (method, window size or check bits)`);
    }
    if (flags & 0x20) {
      throw new ParseError('compression.corrupt', at, `zlib stream at offset ${at} needs a preset dictionary, which the file cannot supply`);
    }
    this.memberStart = at;
    this.members += 1;
    this.startBody();
    return next;
  }

  private startBody(): void {
    this.phase = 'body';
    this.memberCrc = 0;
    this.memberLength = 0;
    this.adlerA = 1;
    this.adlerB = 0;
    this.pieces = [];
    this.inflater = new Inflate((data) => {
      if (data.length > 0) this.pieces.push(data);
    });
  }

  /**
   * Feeds one slice to fflate. Returns null while the DEFLATE stream goes on,
   * or the bytes fflate did not use once it has ended.
   */
  private inflate(slice: Uint8Array, final: boolean, endOffset: number): Uint8Array | null {
    const inflater = this.inflater as Inflate;
    try {
      inflater.push(slice, final);
    } catch (error) {
      const code = (error as { code?: number }).code;
      const reason = error instanceof Error ? error.message : String(error);
      if (code === 0) {
        throw new ParseError('compression.truncated', endOffset, `${this.kind} stream from offset ${this.memberStart} ends inside its deflate data (${reason}) at offset ${endOffset}`);
      }
      throw new ParseError('compression.corrupt', endOffset, `${this.kind} deflate data from offset ${this.memberStart} is corrupt (${reason}) near offset ${endOffset}`);
    }
    return deflateRemainder(inflater);
  }

  /** Hands out decoded pieces up to the output cap, updating the member's checksum. */
  private *handOut(): Generator<Uint8Array, void, undefined> {
    while (this.pieces.length > 0) {
      let piece = this.pieces.shift() as Uint8Array;
      const room = this.maxOutputBytes - this.outputBytes;
      if (piece.length > room) {
        piece = piece.subarray(0, room);
        this.status = 'limit';
        this.pieces = [];
      }
      if (piece.length === 0) continue;
      if (this.kind === 'gzip') this.memberCrc = updateCrc32(this.memberCrc, piece);
      else this.updateAdler(piece);
      this.memberLength += piece.length;
      this.outputBytes += piece.length;
      yield piece;
    }
  }

  private readTrailer(input: Uint8Array, index: number): number {
    const size = this.kind === 'gzip' ? GZIP_TRAILER_BYTES : ZLIB_TRAILER_BYTES;
    const next = this.collect(input, index, size);
    if (this.collectedLength < size) return next;
    const at = this.offsetOf(input, next) - size;
    const trailer = this.collected;
    if (this.kind === 'gzip') {
      const crc = readU32le(trailer, 0);
      const length = readU32le(trailer, 4);
      if (crc !== this.memberCrc >>> 0) {
        throw new ParseError('wrapper.checksum-mismatch', at, `gzip member from offset ${this.memberStart}: CRC-32 ${hex32(crc)} recorded at offset ${at}, ${hex32(this.memberCrc)} computed`);
      }
      if (length !== this.memberLength % 2 ** 32) {
        throw new ParseError('wrapper.size-mismatch', at + 4, `gzip member from offset ${this.memberStart}: length ${length} (mod 2^32) recorded at offset ${at + 4}, ${this.memberLength} decoded`);
      }
    } else {
      const recorded = ((trailer[0] << 24) | (trailer[1] << 16) | (trailer[2] << 8) | trailer[3]) >>> 0;
      const computed = ((this.adlerB << 16) | this.adlerA) >>> 0;
      if (recorded !== computed) {
        throw new ParseError('wrapper.checksum-mismatch', at, `zlib stream from offset ${this.memberStart}: Adler-32 ${hex32(recorded)} recorded at offset ${at}, ${hex32(computed)} computed`);
      }
    }
    this.inflater = null;
    this.phase = 'between';
    this.beginFixed(0);
    return next;
  }

  /** The input ended: fine between members, an error inside one. */
  private endOfInput(input: Uint8Array, index: number): void {
    const at = this.offsetOf(input, index);
    if (this.phase === 'between') {
      if (this.collectedLength > 0) this.trailingBytes += this.collectedLength;
      this.status = 'ended';
      this.phase = 'done';
      return;
    }
    if (this.phase === 'header' && this.members === 0 && this.collectedLength === 0 && this.headerParts.length === 0) {
      throw new ParseError('compression.truncated', at, `${this.kind} stream is empty`);
    }
    const where = this.phase === 'trailer' ? 'its trailer' : 'its header';
    throw new ParseError('compression.truncated', at, `${this.kind} stream from offset ${this.memberStart} ends inside ${where} at offset ${at}`);
  }

  private beginFixed(size: number): void {
    if (this.collected.length < size) this.collected = new Uint8Array(size);
    this.collectedLength = 0;
  }

  /** Copies bytes from `input[index]` until `size` are collected; returns the next index. */
  private collect(input: Uint8Array, index: number, size: number): number {
    if (this.collected.length < size) {
      const grown = new Uint8Array(size);
      grown.set(this.collected.subarray(0, this.collectedLength));
      this.collected = grown;
    }
    const count = Math.min(size - this.collectedLength, input.length - index);
    this.collected.set(input.subarray(index, index + count), this.collectedLength);
    this.collectedLength += count;
    return index + count;
  }

  private updateAdler(bytes: Uint8Array): void {
    let a = this.adlerA;
    let b = this.adlerB;
    for (let start = 0; start < bytes.length; start += ADLER_BLOCK) {
      const end = Math.min(bytes.length, start + ADLER_BLOCK);
      for (let index = start; index < end; index++) {
        a += bytes[index];
        b += a;
      }
      a %= ADLER_MODULUS;
      b %= ADLER_MODULUS;
    }
    this.adlerA = a;
    this.adlerB = b;
  }
}

/** fflate's Inflate state, as its own Gunzip reads it to find where a member ends (fflate 0.8). */
interface InflateInternals {
  /** Unused input, starting at the byte that holds the next bit. */
  p: Uint8Array;
  /** `f`: the final block has begun; `l`: a block's code table is active; `p`: bit position in `p`. */
  s: { f?: number; l?: unknown; p?: number };
}

/**
 * The input fflate has not used once its DEFLATE stream has ended, or null
 * while it goes on. fflate has no public "ended" signal; its Gunzip tells the
 * end by this same state (final block begun, no block active), and the bytes
 * after it start at the next whole byte. A test pins this to the installed
 * fflate, so an upgrade that changes it fails loudly.
 */
export function deflateRemainder(inflater: Inflate): Uint8Array | null {
  const state = inflater as unknown as InflateInternals;
  if (!state.s || !state.s.f || state.s.l) return null;
  const bitPosition = state.s.p ?? 0;
  return state.p.subarray(Math.ceil(bitPosition / 8));
}

function concat(first: Uint8Array, second: Uint8Array): Uint8Array {
  if (first.length === 0) return second;
  if (second.length === 0) return first.slice();
  const joined = new Uint8Array(first.length + second.length);
  joined.set(first, 0);
  joined.set(second, first.length);
  return joined;
}

function readU32le(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

function hex(value: number): string {
  return value.toString(16).padStart(2, '0');
}

function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
}
