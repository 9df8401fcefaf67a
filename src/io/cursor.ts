import type { RuleId } from '../rules/index.ts';
import { ParseError } from './parse-error.ts';

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * One bounds-checked reader over a byte window, shared by every binary format.
 * `base` is the window's absolute offset in the file, so errors and positions
 * are reported as file offsets. Every read checks the window first and throws
 * a ParseError with `truncatedRule` when the bytes are not there.
 */
export class ByteCursor {
  private readonly view: DataView;
  private offset = 0;

  constructor(
    readonly bytes: Uint8Array,
    readonly base: number,
    private readonly truncatedRule: RuleId,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Absolute file offset of the next byte. */
  get position(): number {
    return this.base + this.offset;
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  /** Throws unless `count` more bytes are in the window. */
  require(count: number, what: string): void {
    if (count > this.remaining) {
      throw new ParseError(
        this.truncatedRule,
        this.position,
        `${what} needs ${count} bytes at offset ${this.position} but only ${this.remaining} remain`,
      );
    }
  }

  u8(): number {
    this.require(1, 'u8');
    return this.view.getUint8(this.offset++);
  }

  i8(): number {
    this.require(1, 'i8');
    return this.view.getInt8(this.offset++);
  }

  u16le(): number {
    this.require(2, 'u16');
    const value = this.view.getUint16(this.offset, true);
    this.offset += 2;
    return value;
  }

  i16le(): number {
    this.require(2, 'i16');
    const value = this.view.getInt16(this.offset, true);
    this.offset += 2;
    return value;
  }

  u32le(): number {
    this.require(4, 'u32');
    const value = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return value;
  }

  i32le(): number {
    this.require(4, 'i32');
    const value = this.view.getInt32(this.offset, true);
    this.offset += 4;
    return value;
  }

  u64le(): bigint {
    this.require(8, 'u64');
    const value = this.view.getBigUint64(this.offset, true);
    this.offset += 8;
    return value;
  }

  i64le(): bigint {
    this.require(8, 'i64');
    const value = this.view.getBigInt64(this.offset, true);
    this.offset += 8;
    return value;
  }

  f32le(): number {
    this.require(4, 'f32');
    const value = this.view.getFloat32(this.offset, true);
    this.offset += 4;
    return value;
  }

  f64le(): number {
    this.require(8, 'f64');
    const value = this.view.getFloat64(this.offset, true);
    this.offset += 8;
    return value;
  }

  /** A view (not a copy) of the next `count` bytes. */
  bytesView(count: number): Uint8Array {
    this.require(count, `${count}-byte field`);
    const slice = this.bytes.subarray(this.offset, this.offset + count);
    this.offset += count;
    return slice;
  }

  utf8(count: number): string {
    return utf8.decode(this.bytesView(count));
  }

  skip(count: number): void {
    this.require(count, `skip of ${count} bytes`);
    this.offset += count;
  }
}

/** A u64 as a JS number, or null when it is above Number.MAX_SAFE_INTEGER. */
export function safeNumber(value: bigint): number | null {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : null;
}
