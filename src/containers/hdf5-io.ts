import { type ByteSource, throwIfAborted } from '../io/byte-source.ts';
import { ByteCursor } from '../io/cursor.ts';
import { ParseError } from '../io/parse-error.ts';

/**
 * Bounded random access to an HDF5 file for the reader in hdf5.ts: every
 * address taken from the file goes through here, is made absolute with the
 * superblock's base address, checked against the file size and against the
 * read budget, and only then read (a small range, never the file whole).
 * Reads return ByteCursors whose positions are absolute file offsets.
 */

/** Limits of one HDF5 walk; the defaults and their reasons are in hdf5.ts. */
export interface Hdf5Limits {
  /** Objects (groups, datasets, other object headers) visited. */
  maxObjects: number;
  /** Group nesting followed. */
  maxDepth: number;
  /** Messages read from one object header, over all its continuation blocks. */
  maxMessagesPerObject: number;
  /** Continuation blocks followed per object header. */
  maxContinuations: number;
  /** Links (children) listed per group. */
  maxLinksPerGroup: number;
  /** Attributes read per object. */
  maxAttributesPerObject: number;
  /** Bytes of one string value decoded (an attribute such as model_config). */
  maxStringBytes: number;
  /** Bytes of one read: object header chunks, heaps, B-tree nodes are far smaller. */
  maxReadBytes: number;
  /** Bytes read over the whole walk. */
  maxTotalReadBytes: number;
  /** B-tree nodes (v1 and v2) and fractal heap blocks visited over the whole walk. */
  maxIndexNodes: number;
}

/** Sizes the superblock declares, needed to decode every address and length. */
export interface Hdf5Sizes {
  /** Bytes of an address ("size of offsets"): 2, 4 or 8. */
  offsetSize: number;
  /** Bytes of a length ("size of lengths"): 2, 4 or 8. */
  lengthSize: number;
}

/** The all-ones address HDF5 uses for "not allocated". */
export const UNDEFINED_ADDRESS = -1;

export class Hdf5Io {
  private totalRead = 0;
  private indexNodes = 0;

  constructor(
    readonly source: ByteSource,
    /** Absolute offset that addresses in the file are relative to. */
    readonly baseAddress: number,
    readonly sizes: Hdf5Sizes,
    readonly limits: Hdf5Limits,
    private readonly signal?: AbortSignal,
  ) {}

  get size(): number {
    return this.source.size;
  }

  /** Bytes read so far: proof that the file is never read whole. */
  get bytesRead(): number {
    return this.totalRead;
  }

  /** The absolute file offset of a file address; throws when it lies outside the file. */
  absolute(address: number, what: string): number {
    const offset = this.baseAddress + address;
    if (!Number.isSafeInteger(address) || address < 0 || offset >= this.source.size) {
      throw new ParseError('hdf5.truncated', Math.max(0, Math.min(offset, this.source.size)), `${what} at address ${address} is outside the ${this.source.size}-byte file`);
    }
    return offset;
  }

  /** A cursor over `length` bytes at file address `address` (relative to the base address). */
  async read(address: number, length: number, what: string): Promise<ByteCursor> {
    const offset = this.absolute(address, what);
    return this.readAbsolute(offset, length, what);
  }

  /** A cursor over `length` bytes at absolute offset `offset`. */
  async readAbsolute(offset: number, length: number, what: string): Promise<ByteCursor> {
    throwIfAborted(this.signal);
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new ParseError('hdf5.structure.invalid', offset, `${what} declares an impossible length ${length} at offset ${offset}`);
    }
    if (length > this.limits.maxReadBytes) {
      throw new ParseError('hdf5.limit', offset, `${what} of ${length} bytes at offset ${offset} exceeds the read limit of ${this.limits.maxReadBytes} bytes`);
    }
    if (offset + length > this.source.size) {
      throw new ParseError('hdf5.truncated', offset, `${what} needs ${length} bytes at offset ${offset} but the file ends at ${this.source.size}`);
    }
    if (this.totalRead + length > this.limits.maxTotalReadBytes) {
      throw new ParseError('hdf5.limit', offset, `Reading ${what} would take the walk past ${this.limits.maxTotalReadBytes} bytes read in all`);
    }
    const bytes = await this.source.read(offset, length);
    this.totalRead += bytes.length;
    if (bytes.length < length) {
      throw new ParseError('hdf5.truncated', offset, `${what} needs ${length} bytes at offset ${offset} but only ${bytes.length} could be read`);
    }
    return new ByteCursor(bytes, offset, 'hdf5.truncated');
  }

  /** Up to `length` bytes at `address`, fewer when the file ends first (for blocks whose size is only bounded). */
  async readUpTo(address: number, length: number, what: string): Promise<ByteCursor> {
    const offset = this.absolute(address, what);
    return this.readAbsolute(offset, Math.min(length, this.source.size - offset), what);
  }

  /** Counts one B-tree node or heap block; throws once the walk has visited too many. */
  countIndexNode(offset: number, what: string): void {
    this.indexNodes += 1;
    if (this.indexNodes > this.limits.maxIndexNodes) {
      throw new ParseError('hdf5.limit', offset, `${what}: more than ${this.limits.maxIndexNodes} index nodes and heap blocks visited (maxIndexNodes)`);
    }
  }

  /** An address field; UNDEFINED_ADDRESS for all ones, a ParseError when it does not fit a safe integer. */
  address(cursor: ByteCursor, what = 'address'): number {
    return readSized(cursor, this.sizes.offsetSize, what, true);
  }

  /** A length field. */
  length(cursor: ByteCursor, what = 'length'): number {
    return readSized(cursor, this.sizes.lengthSize, what, false);
  }
}

/** A little-endian unsigned integer of `size` bytes (1 to 8). */
export function readSized(cursor: ByteCursor, size: number, what: string, allOnesIsUndefined = false): number {
  const at = cursor.position;
  const bytes = cursor.bytesView(size);
  let allOnes = true;
  let value = 0n;
  for (let index = size - 1; index >= 0; index -= 1) {
    value = (value << 8n) | BigInt(bytes[index]);
    if (bytes[index] !== 0xff) allOnes = false;
  }
  if (allOnes && allOnesIsUndefined) return UNDEFINED_ADDRESS;
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ParseError('hdf5.structure.invalid', at, `${what} ${value} at offset ${at} is larger than any file`);
  }
  return Number(value);
}

/** True when the cursor's next bytes are `signature` (ASCII); consumes them either way. */
export function expectSignature(cursor: ByteCursor, signature: string, what: string): void {
  const at = cursor.position;
  const bytes = cursor.bytesView(signature.length);
  for (let index = 0; index < signature.length; index += 1) {
    if (bytes[index] !== signature.charCodeAt(index)) {
      const seen = [...bytes].map((byte) => (byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.')).join('');
      throw new ParseError('hdf5.structure.invalid', at, `${what} at offset ${at} should start with "${signature}" but starts with "${seen}"`);
    }
  }
}
