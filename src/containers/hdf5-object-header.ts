import { ParseError } from '../io/parse-error.ts';
import { type Hdf5Io, UNDEFINED_ADDRESS, expectSignature } from './hdf5-io.ts';

/**
 * HDF5 object headers (format spec section IV.A): the list of messages that
 * say what an object is (dataspace, datatype, layout for a dataset; symbol
 * table or links for a group; attributes for both). Version 1 headers (HDF5
 * 1.6 layout) are a 16-byte prefix and 8-byte aligned messages; version 2
 * headers start with "OHDR" and end with a checksum. Both can continue in
 * blocks named by continuation messages, which a hostile file can chain in
 * a loop: each block is visited once, and the number of blocks and messages
 * is bounded by the reader's limits.
 */

export const MESSAGE_TYPE = {
  nil: 0x0000,
  dataspace: 0x0001,
  linkInfo: 0x0002,
  datatype: 0x0003,
  fillValueOld: 0x0004,
  fillValue: 0x0005,
  link: 0x0006,
  externalFiles: 0x0007,
  layout: 0x0008,
  groupInfo: 0x000a,
  filterPipeline: 0x000b,
  attribute: 0x000c,
  continuation: 0x0010,
  symbolTable: 0x0011,
  attributeInfo: 0x0015,
} as const;

/** Message flag bit 1: the message is stored elsewhere (a shared or committed message). */
export const MESSAGE_FLAG_SHARED = 0x02;

export interface Hdf5Message {
  type: number;
  flags: number;
  /** Absolute file offset of the message data. */
  offset: number;
  data: Uint8Array;
}

export interface Hdf5ObjectHeader {
  version: 1 | 2;
  /** Absolute offset of the header. */
  offset: number;
  messages: Hdf5Message[];
}

/** Version 1 prefix: version, reserved, message count, reference count, header size, padding. */
const V1_PREFIX_BYTES = 16;
/** Version 2 header flags. */
const V2_FLAG_CHUNK_SIZE_MASK = 0x03;
const V2_FLAG_CREATION_ORDER = 0x04;
const V2_FLAG_PHASE_CHANGE = 0x10;
const V2_FLAG_TIMES = 0x20;
/** Bytes of the fixed part of a version 2 header read first (signature to the largest chunk-size field). */
const V2_PREFIX_MAX_BYTES = 4 + 1 + 1 + 16 + 4 + 8;

/** Reads the object header at file address `address`, with its continuation blocks. */
export async function readObjectHeader(io: Hdf5Io, address: number): Promise<Hdf5ObjectHeader> {
  const offset = io.absolute(address, 'Object header');
  const first = await io.readAbsolute(offset, 1, 'object header');
  const isV2 = first.bytes[0] === 0x4f; // "O" of OHDR; a version 1 header starts with its version byte, 1
  const header: Hdf5ObjectHeader = { version: isV2 ? 2 : 1, offset, messages: [] };
  const pending: { address: number; length: number }[] = [];
  const seenBlocks = new Set<number>();
  // Version 2 messages carry a creation order when the header's flags say so, in continuation blocks too.
  let creationOrder = false;
  if (isV2) creationOrder = await readV2Header(io, offset, header, pending);
  else await readV1Header(io, offset, header, pending);

  let continuations = 0;
  while (pending.length > 0) {
    const block = pending.shift() as { address: number; length: number };
    continuations += 1;
    if (continuations > io.limits.maxContinuations) {
      throw new ParseError('hdf5.limit', offset, `Object header at offset ${offset} has more than ${io.limits.maxContinuations} continuation blocks (maxContinuations)`);
    }
    const blockOffset = io.absolute(block.address, 'Continuation block');
    if (seenBlocks.has(blockOffset) || blockOffset === offset) {
      throw new ParseError('hdf5.structure.invalid', blockOffset, `Object header at offset ${offset} continues into block ${blockOffset} twice: the continuation chain loops`);
    }
    seenBlocks.add(blockOffset);
    const cursor = await io.readAbsolute(blockOffset, block.length, 'continuation block');
    if (header.version === 2) {
      expectSignature(cursor, 'OCHK', 'Continuation block');
      readV2Messages(cursor.bytes.subarray(4, Math.max(4, block.length - 4)), blockOffset + 4, header, pending, io, creationOrder);
    } else {
      readV1Messages(cursor.bytes, blockOffset, header, pending, io);
    }
  }
  return header;
}

async function readV1Header(io: Hdf5Io, offset: number, header: Hdf5ObjectHeader, pending: { address: number; length: number }[]): Promise<void> {
  const prefix = await io.readAbsolute(offset, V1_PREFIX_BYTES, 'object header prefix');
  const version = prefix.u8();
  if (version !== 1) {
    throw new ParseError('hdf5.structure.invalid', offset, `Object header at offset ${offset} has version ${version}; only 1 and 2 ("OHDR") exist`);
  }
  prefix.skip(1);
  prefix.u16le(); // message count: the blocks themselves bound what is read
  prefix.u32le(); // reference count
  const size = prefix.u32le();
  const cursor = await io.readAbsolute(offset + V1_PREFIX_BYTES, size, 'object header messages');
  readV1Messages(cursor.bytes, offset + V1_PREFIX_BYTES, header, pending, io);
}

function readV1Messages(block: Uint8Array, blockOffset: number, header: Hdf5ObjectHeader, pending: { address: number; length: number }[], io: Hdf5Io): void {
  let position = 0;
  while (position + 8 <= block.length) {
    const view = new DataView(block.buffer, block.byteOffset + position, 8);
    const type = view.getUint16(0, true);
    const size = view.getUint16(2, true);
    const flags = view.getUint8(4);
    const dataStart = position + 8;
    if (dataStart + size > block.length) {
      throw new ParseError('hdf5.structure.invalid', blockOffset + position, `Message of type ${type} at offset ${blockOffset + position} declares ${size} bytes but its block ends after ${block.length - dataStart}`);
    }
    addMessage(header, { type, flags, offset: blockOffset + dataStart, data: block.subarray(dataStart, dataStart + size) }, pending, io);
    // Version 1 messages are padded to a multiple of 8 bytes.
    position = dataStart + Math.ceil(size / 8) * 8;
  }
}

/** Reads a version 2 header's first chunk; returns whether its messages carry a creation order. */
async function readV2Header(io: Hdf5Io, offset: number, header: Hdf5ObjectHeader, pending: { address: number; length: number }[]): Promise<boolean> {
  const prefix = await io.readAbsolute(offset, Math.min(V2_PREFIX_MAX_BYTES, io.size - offset), 'object header prefix');
  expectSignature(prefix, 'OHDR', 'Object header');
  const version = prefix.u8();
  if (version !== 2) {
    throw new ParseError('hdf5.structure.invalid', offset, `Object header at offset ${offset} has "OHDR" version ${version}; only 2 exists`);
  }
  const flags = prefix.u8();
  if (flags & V2_FLAG_TIMES) prefix.skip(16);
  if (flags & V2_FLAG_PHASE_CHANGE) prefix.skip(4);
  const chunkSizeBytes = 1 << (flags & V2_FLAG_CHUNK_SIZE_MASK);
  let chunkSize = 0;
  for (let index = 0; index < chunkSizeBytes; index += 1) chunkSize += prefix.u8() * 2 ** (8 * index);
  const messagesOffset = prefix.position;
  const creationOrder = (flags & V2_FLAG_CREATION_ORDER) !== 0;
  const cursor = await io.readAbsolute(messagesOffset, chunkSize, 'object header messages');
  readV2Messages(cursor.bytes, messagesOffset, header, pending, io, creationOrder);
  return creationOrder;
}

function readV2Messages(
  block: Uint8Array,
  blockOffset: number,
  header: Hdf5ObjectHeader,
  pending: { address: number; length: number }[],
  io: Hdf5Io,
  creationOrder: boolean,
): void {
  const prefixBytes = creationOrder ? 6 : 4;
  let position = 0;
  // Fewer bytes than a message prefix at the end of a chunk are a gap, not a message.
  while (position + prefixBytes <= block.length) {
    const type = block[position];
    const size = block[position + 1] | (block[position + 2] << 8);
    const flags = block[position + 3];
    const dataStart = position + prefixBytes;
    if (dataStart + size > block.length) {
      throw new ParseError('hdf5.structure.invalid', blockOffset + position, `Message of type ${type} at offset ${blockOffset + position} declares ${size} bytes but its chunk ends after ${block.length - dataStart}`);
    }
    addMessage(header, { type, flags, offset: blockOffset + dataStart, data: block.subarray(dataStart, dataStart + size) }, pending, io);
    position = dataStart + size;
  }
}

function addMessage(header: Hdf5ObjectHeader, message: Hdf5Message, pending: { address: number; length: number }[], io: Hdf5Io): void {
  if (message.type === MESSAGE_TYPE.nil) return;
  if (header.messages.length >= io.limits.maxMessagesPerObject) {
    throw new ParseError('hdf5.limit', message.offset, `Object header at offset ${header.offset} has more than ${io.limits.maxMessagesPerObject} messages (maxMessagesPerObject)`);
  }
  header.messages.push(message);
  if (message.type === MESSAGE_TYPE.continuation) {
    const { offsetSize, lengthSize } = io.sizes;
    if (message.data.length < offsetSize + lengthSize) {
      throw new ParseError('hdf5.structure.invalid', message.offset, `Continuation message at offset ${message.offset} has ${message.data.length} bytes, fewer than an address and a length`);
    }
    const address = littleEndian(message.data, 0, offsetSize);
    const length = littleEndian(message.data, offsetSize, lengthSize);
    if (address === UNDEFINED_ADDRESS || length === null || address === null) {
      throw new ParseError('hdf5.structure.invalid', message.offset, `Continuation message at offset ${message.offset} has no valid address or length`);
    }
    pending.push({ address, length });
  }
}

/** A little-endian integer of `size` bytes at `at`; UNDEFINED_ADDRESS for all ones; null when unsafe. */
function littleEndian(bytes: Uint8Array, at: number, size: number): number | null {
  let value = 0;
  let allOnes = true;
  for (let index = size - 1; index >= 0; index -= 1) {
    if (bytes[at + index] !== 0xff) allOnes = false;
    value = value * 256 + bytes[at + index];
  }
  if (allOnes) return UNDEFINED_ADDRESS;
  return Number.isSafeInteger(value) ? value : null;
}
