import type { RuleId } from '../rules/index.ts';
import { type ByteSource, throwIfAborted } from './byte-source.ts';
import { ByteCursor } from './cursor.ts';
import { ParseError } from './parse-error.ts';

/**
 * Sequential, bounds-checked reading of a header that may be far larger than
 * the first bytes of a file (GGUF metadata, zip central directories, …)
 * without ever reading the file whole.
 *
 * The reader keeps one window of the source in memory (DEFAULT_WINDOW_BYTES,
 * or more when a single field is larger) and fetches the next one with
 * `source.read` only when a field crosses its end. Every read is checked
 * twice before anything is fetched or allocated:
 * - against the source size: a field past the end throws a ParseError with
 *   the caller's `truncatedRule`;
 * - against the caller's named header limit (`maxBytes` from `start`, called
 *   `limitName` in messages): a header that claims to go further throws a
 *   ParseError with `limitRule`. Skipped bytes count too, so the limit bounds
 *   the header's extent, not only what was copied.
 *
 * Offsets in errors and in `position` are absolute file offsets. Primitives
 * mirror {@link ByteCursor}; `cursor(n)` hands out a ByteCursor over the next
 * n bytes for synchronous parsing of a fixed-size block.
 */

/** Bytes fetched per window: large enough that per-read overhead vanishes, small enough to stay flat. */
export const DEFAULT_WINDOW_BYTES = 1024 * 1024;

export interface SourceReaderOptions {
  /** Rule of the ParseError thrown when a field runs past the end of the source. */
  truncatedRule: RuleId;
  /** Rule of the ParseError thrown when a field runs past the header limit. */
  limitRule: RuleId;
  /** Most bytes, counted from `start`, that the header may span. */
  maxBytes: number;
  /** Name of that limit in error messages, e.g. `MAX_HEADER_BYTES`. */
  limitName: string;
  /** Absolute offset where reading starts (default 0). */
  start?: number;
  /** Bytes fetched per window (default DEFAULT_WINDOW_BYTES). */
  windowBytes?: number;
  /**
   * Bytes of the source from offset 0 that were already read (the detection
   * head), used as the first window so small headers need no second read.
   */
  prefetched?: Uint8Array;
  /** Checked before every fetch. */
  signal?: AbortSignal;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

export class SourceReader {
  private window: Uint8Array;
  private view: DataView;
  private windowStart: number;
  private offset: number;
  private fetched = 0;
  private readonly limitEnd: number;
  private readonly windowBytes: number;

  constructor(
    private readonly source: ByteSource,
    private readonly options: SourceReaderOptions,
  ) {
    const start = options.start ?? 0;
    if (!Number.isSafeInteger(start) || start < 0) throw new RangeError(`SourceReader start must be a non-negative integer, got ${start}`);
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 0) {
      throw new RangeError(`SourceReader maxBytes must be a non-negative integer, got ${options.maxBytes}`);
    }
    this.offset = start;
    this.limitEnd = start + options.maxBytes;
    this.windowBytes = Math.max(1, options.windowBytes ?? DEFAULT_WINDOW_BYTES);
    const prefetched = options.prefetched ?? new Uint8Array(0);
    // Bytes past the limit are never served, even when they were already read.
    this.window = prefetched.subarray(0, Math.min(prefetched.length, source.size, this.limitEnd));
    this.view = viewOf(this.window);
    this.windowStart = 0;
  }

  /** Absolute file offset of the next byte. */
  get position(): number {
    return this.offset;
  }

  /** Size of the underlying source. */
  get size(): number {
    return this.source.size;
  }

  /** Bytes between the position and the end of the source. */
  get remainingInSource(): number {
    return Math.max(0, this.source.size - this.offset);
  }

  /** Bytes fetched from the source so far (excluding `prefetched`): proof that nothing reads the file whole. */
  get bytesFetched(): number {
    return this.fetched;
  }

  /**
   * Make sure the next `count` bytes are in the window, fetching them if
   * needed. Throws a ParseError when they are past the end of the source or
   * past the header limit, before fetching anything.
   */
  async ensure(count: number, what = 'field'): Promise<void> {
    this.check(count, what);
    if (this.inWindow(count)) return;
    await this.fill(count, what);
  }

  /** Advance by `count` bytes without reading them (bounds and limit still checked). */
  async skip(count: number, what = 'skipped bytes'): Promise<void> {
    this.check(count, what);
    this.offset += count;
  }

  /** Move to an absolute offset between `start` and the header limit; the next read fetches from there. */
  seek(offset: number): void {
    const start = this.options.start ?? 0;
    if (!Number.isSafeInteger(offset) || offset < start || offset > this.limitEnd) {
      throw new RangeError(`SourceReader cannot seek to ${offset}: outside [${start}, ${this.limitEnd}]`);
    }
    this.offset = offset;
  }

  /** A ByteCursor over exactly the next `count` bytes (a view of the window); the reader moves past them. */
  async cursor(count: number, what = 'block'): Promise<ByteCursor> {
    await this.ensure(count, what);
    const relative = this.offset - this.windowStart;
    const cursor = new ByteCursor(this.window.subarray(relative, relative + count), this.offset, this.options.truncatedRule);
    this.offset += count;
    return cursor;
  }

  /** A copy of the next `count` bytes. */
  async bytes(count: number, what = 'bytes'): Promise<Uint8Array> {
    await this.ensure(count, what);
    const relative = this.offset - this.windowStart;
    this.offset += count;
    return this.window.slice(relative, relative + count);
  }

  /** The next `count` bytes decoded as UTF-8 (invalid sequences become U+FFFD). */
  async utf8(count: number, what = 'string'): Promise<string> {
    await this.ensure(count, what);
    const relative = this.offset - this.windowStart;
    this.offset += count;
    return utf8.decode(this.window.subarray(relative, relative + count));
  }

  async u8(what = 'u8'): Promise<number> {
    const at = await this.advance(1, what);
    return this.view.getUint8(at);
  }

  async i8(what = 'i8'): Promise<number> {
    const at = await this.advance(1, what);
    return this.view.getInt8(at);
  }

  async u16le(what = 'u16'): Promise<number> {
    const at = await this.advance(2, what);
    return this.view.getUint16(at, true);
  }

  async i16le(what = 'i16'): Promise<number> {
    const at = await this.advance(2, what);
    return this.view.getInt16(at, true);
  }

  async u32le(what = 'u32'): Promise<number> {
    const at = await this.advance(4, what);
    return this.view.getUint32(at, true);
  }

  async i32le(what = 'i32'): Promise<number> {
    const at = await this.advance(4, what);
    return this.view.getInt32(at, true);
  }

  async u64le(what = 'u64'): Promise<bigint> {
    const at = await this.advance(8, what);
    return this.view.getBigUint64(at, true);
  }

  async i64le(what = 'i64'): Promise<bigint> {
    const at = await this.advance(8, what);
    return this.view.getBigInt64(at, true);
  }

  async f32le(what = 'f32'): Promise<number> {
    const at = await this.advance(4, what);
    return this.view.getFloat32(at, true);
  }

  async f64le(what = 'f64'): Promise<number> {
    const at = await this.advance(8, what);
    return this.view.getFloat64(at, true);
  }

  /**
   * Ensure `count` bytes, move past them and return their offset inside the
   * window. Callers must read `this.view` after awaiting this: the await may
   * replace the window.
   */
  private async advance(count: number, what: string): Promise<number> {
    if (!this.inWindow(count)) await this.ensure(count, what);
    const relative = this.offset - this.windowStart;
    this.offset += count;
    return relative;
  }

  private inWindow(count: number): boolean {
    return this.offset >= this.windowStart && this.offset + count <= this.windowStart + this.window.length;
  }

  private check(count: number, what: string): void {
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new RangeError(`SourceReader: ${what} asked for ${count} bytes; callers must bound lengths first`);
    }
    if (this.offset + count > this.source.size) {
      throw new ParseError(
        this.options.truncatedRule,
        this.offset,
        `${what} needs ${count} bytes at offset ${this.offset} but the file ends at ${this.source.size}`,
      );
    }
    if (this.offset + count > this.limitEnd) {
      throw new ParseError(
        this.options.limitRule,
        this.offset,
        `${what} of ${count} bytes at offset ${this.offset} reaches past ${this.options.limitName} ` +
          `(${this.options.maxBytes} bytes from offset ${this.options.start ?? 0})`,
      );
    }
  }

  private async fill(count: number, what: string): Promise<void> {
    throwIfAborted(this.options.signal);
    // Never fetch past the header limit: a window that did would read bytes the limit forbids.
    const length = Math.max(count, Math.min(this.windowBytes, this.limitEnd - this.offset));
    const bytes = await this.source.read(this.offset, length);
    this.fetched += bytes.length;
    if (bytes.length < count) {
      throw new ParseError(
        this.options.truncatedRule,
        this.offset,
        `${what} needs ${count} bytes at offset ${this.offset} but only ${bytes.length} could be read`,
      );
    }
    this.window = bytes;
    this.view = viewOf(bytes);
    this.windowStart = this.offset;
  }
}

/** A reader over `source`; see {@link SourceReader}. */
export function createSourceReader(source: ByteSource, options: SourceReaderOptions): SourceReader {
  return new SourceReader(source, options);
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
