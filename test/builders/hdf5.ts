/**
 * Writes small HDF5 files byte by byte for the reader's tests: a version 2
 * superblock (8-byte addresses and lengths, base address 0) and blocks placed
 * at the addresses the test chooses, so any field can point anywhere. Object
 * headers are version 2 ("OHDR") with 4-byte chunk sizes; checksums are left
 * zero (the reader does not verify them). Gaps between blocks are zeros.
 */

export const UNDEFINED = 0xffff_ffff_ffff_ffffn;

export const MESSAGE = {
  dataspace: 0x01,
  linkInfo: 0x02,
  datatype: 0x03,
  link: 0x06,
  layout: 0x08,
  attribute: 0x0c,
  continuation: 0x10,
} as const;

export interface MessageSpec {
  type: number;
  data: Uint8Array;
  flags?: number;
}

export interface Hdf5Spec {
  /** Address of the root object header (default 48, right after the superblock). */
  root?: number;
  blocks: { address: number; bytes: Uint8Array }[];
  superblockVersion?: number;
  offsetSize?: number;
  /** Bytes after the last block. */
  trailing?: number;
}

const encoder = new TextEncoder();

export function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const arrays = parts.map((part) => (part instanceof Uint8Array ? part : Uint8Array.from(part)));
  const out = new Uint8Array(arrays.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of arrays) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function u16(value: number): Uint8Array {
  return Uint8Array.of(value & 0xff, (value >> 8) & 0xff);
}

export function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, true);
  return out;
}

export function u64(value: number | bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value), true);
  return out;
}

export function ascii(text: string): Uint8Array {
  return encoder.encode(text);
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * The whole file: the superblock at 0, then the blocks. Versions 2 and 3 take
 * 48 bytes; versions 0 and 1 (whose root is a symbol table entry) take 96 and
 * 100, so their root must be placed after that.
 */
export function buildHdf5(spec: Hdf5Spec): Uint8Array {
  const version = spec.superblockVersion ?? 2;
  const root = spec.root ?? 48;
  const end = Math.max(version <= 1 ? 100 : 48, ...spec.blocks.map((block) => block.address + block.bytes.length)) + (spec.trailing ?? 0);
  const out = new Uint8Array(end);
  const superblock =
    version <= 1
      ? concat(
          SIGNATURE,
          [version, 0, 0, 0, 0, spec.offsetSize ?? 8, 8, 0],
          u16(4),
          u16(16),
          u32(0),
          version === 1 ? concat(u16(32), u16(0)) : [],
          u64(0),
          u64(UNDEFINED),
          u64(end),
          u64(UNDEFINED),
          u64(0),
          u64(root),
          u32(0),
          u32(0),
          new Uint8Array(16),
        )
      : concat(SIGNATURE, [version, spec.offsetSize ?? 8, 8, 0], u64(0), u64(UNDEFINED), u64(end), u64(root), u32(0));
  out.set(superblock, 0);
  for (const block of spec.blocks) out.set(block.bytes, block.address);
  return out;
}

function messageBytes(messages: MessageSpec[]): Uint8Array {
  return concat(...messages.map((message) => concat([message.type], u16(message.data.length), [message.flags ?? 0], message.data)));
}

/** A version 2 object header holding `messages`. */
export function objectHeader(messages: MessageSpec[]): Uint8Array {
  const body = messageBytes(messages);
  return concat(ascii('OHDR'), [2, 0x02], u32(body.length), body, u32(0));
}

/** A continuation block ("OCHK") holding `messages`; its length for the continuation message is `.length`. */
export function continuationBlock(messages: MessageSpec[]): Uint8Array {
  return concat(ascii('OCHK'), messageBytes(messages), u32(0));
}

export function continuation(address: number, length: number): MessageSpec {
  return { type: MESSAGE.continuation, data: concat(u64(address), u64(length)) };
}

/** A link message: hard (address), soft (path) or external (file and path). */
export function link(name: string, target: { hard: number | bigint } | { soft: string } | { external: [string, string] }): MessageSpec {
  const nameBytes = ascii(name);
  if ('hard' in target) return { type: MESSAGE.link, data: concat([1, 0x00, nameBytes.length], nameBytes, u64(target.hard)) };
  if ('soft' in target) {
    const path = ascii(target.soft);
    return { type: MESSAGE.link, data: concat([1, 0x08, 1, nameBytes.length], nameBytes, u16(path.length), path) };
  }
  const value = concat([0], ascii(target.external[0]), [0], ascii(target.external[1]), [0]);
  return { type: MESSAGE.link, data: concat([1, 0x08, 64, nameBytes.length], nameBytes, u16(value.length), value) };
}

/** An empty link info message: marks a new-style group with compact links. */
export function linkInfo(): MessageSpec {
  return { type: MESSAGE.linkInfo, data: concat([0, 0], u64(UNDEFINED), u64(UNDEFINED)) };
}

export function dataspace(shape: (number | bigint)[]): Uint8Array {
  return concat([2, shape.length, 0, shape.length === 0 ? 0 : 1], ...shape.map((dimension) => u64(dimension)));
}

/** IEEE little-endian float of 4 or 8 bytes. */
export function floatType(size: 4 | 8): Uint8Array {
  return size === 4 ? concat([0x11, 0x20, 0x1f, 0x00], u32(4), u16(0), u16(32), [23, 8, 0, 23], u32(127)) : concat([0x11, 0x20, 0x3f, 0x00], u32(8), u16(0), u16(64), [52, 11, 0, 52], u32(1023));
}

/** Fixed-length string of `size` bytes, null-padded, ASCII. */
export function stringType(size: number): Uint8Array {
  return concat([0x13, 0x01, 0x00, 0x00], u32(size));
}

export function contiguousLayout(address: number | bigint, size: number | bigint): MessageSpec {
  return { type: MESSAGE.layout, data: concat([3, 1], u64(address), u64(size)) };
}

/** The messages of a dataset: datatype, dataspace, contiguous layout. */
export function datasetMessages(type: Uint8Array, shape: (number | bigint)[], address: number | bigint, size: number | bigint): MessageSpec[] {
  return [
    { type: MESSAGE.dataspace, data: dataspace(shape) },
    { type: MESSAGE.datatype, data: type },
    contiguousLayout(address, size),
  ];
}

/** A version 3 attribute message with a scalar fixed-length string value. */
export function stringAttribute(name: string, value: string, declaredShape?: number[]): MessageSpec {
  const nameBytes = concat(ascii(name), [0]);
  const valueBytes = ascii(value);
  const type = stringType(Math.max(1, valueBytes.length));
  const space = dataspace(declaredShape ?? []);
  return {
    type: MESSAGE.attribute,
    data: concat([3, 0], u16(nameBytes.length), u16(type.length), u16(space.length), [0], nameBytes, type, space, valueBytes.length > 0 ? valueBytes : [0]),
  };
}
