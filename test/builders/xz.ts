/**
 * .xz files built field by field (https://tukaani.org/xz/xz-file-format.txt),
 * with blocks of uncompressed LZMA2 chunks so no encoder is needed. Every
 * field can be overridden, to build broken files:
 *
 *   xzFile([block(bytes)], { check: 'crc32' })
 */
import { crc32 } from '../../src/containers/zip-crc32.ts';
import { createCrc64 } from '../../src/compression/xz.ts';

export type XzCheck = 'none' | 'crc32' | 'crc64' | 'sha256';
const CHECK_IDS: Record<XzCheck, number> = { none: 0, crc32: 1, crc64: 4, sha256: 10 };
const CHECK_SIZES: Record<XzCheck, number> = { none: 0, crc32: 4, crc64: 8, sha256: 32 };

export function join(...parts: (Uint8Array | number[])[]): Uint8Array {
  const arrays = parts.map((part) => (part instanceof Uint8Array ? part : Uint8Array.from(part)));
  const out = new Uint8Array(arrays.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of arrays) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function u32le(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}

/** The xz multibyte integer. */
export function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return bytes;
}

/** An LZMA2 stream of uncompressed chunks (control 0x01 resets the dictionary, 0x02 does not), then its end byte. */
export function storedLzma2(data: Uint8Array, chunkSize = 0x10000): Uint8Array {
  const parts: number[][] = [];
  const pieces: Uint8Array[] = [];
  for (let offset = 0; offset < data.length; offset += chunkSize) {
    const piece = data.subarray(offset, offset + chunkSize);
    parts.push([offset === 0 ? 0x01 : 0x02, ((piece.length - 1) >> 8) & 0xff, (piece.length - 1) & 0xff]);
    pieces.push(piece);
  }
  const out: (Uint8Array | number[])[] = [];
  parts.forEach((header, index) => out.push(header, pieces[index]));
  out.push([0x00]);
  return join(...out);
}

export interface BlockOptions {
  /** Filters before LZMA2, as [id, properties]. */
  filters?: [number, number[]][];
  /** LZMA2 dictionary-size byte (default 0: 4 KiB). */
  dictionaryByte?: number;
  /** Declare the compressed / uncompressed sizes in the header (values override the real ones). */
  declareCompressed?: boolean | number;
  declareUncompressed?: boolean | number;
  /** Overrides: raw LZMA2 data, header CRC, check bytes, padding byte, flags byte. */
  compressed?: Uint8Array;
  headerCrc?: number;
  check?: Uint8Array;
  paddingByte?: number;
  flags?: number;
  /** Filter id of the last filter (default 0x21 LZMA2). */
  lastFilter?: number;
}

export interface XzBlock {
  /** The decoded bytes the block stands for (what its check covers). */
  data: Uint8Array;
  options: BlockOptions;
}

export const block = (data: Uint8Array, options: BlockOptions = {}): XzBlock => ({ data, options });

function checkBytes(check: XzCheck, data: Uint8Array): Uint8Array {
  if (check === 'crc32') return Uint8Array.from(u32le(crc32(data)));
  if (check === 'crc64') {
    const crc = createCrc64();
    crc.update(data);
    return Uint8Array.from([...u32le(crc.low()), ...u32le(crc.high())]);
  }
  return new Uint8Array(CHECK_SIZES[check]);
}

/** A block: header, data, padding, check; and its index record (unpadded size, uncompressed size). */
export function encodeBlock(input: XzBlock, check: XzCheck): { bytes: Uint8Array; record: [number, number] } {
  const options = input.options;
  const compressed = options.compressed ?? storedLzma2(input.data);
  const filters = [...(options.filters ?? []), [options.lastFilter ?? 0x21, [options.dictionaryByte ?? 0]] as [number, number[]]];
  const sizeFields: number[] = [];
  let flags = filters.length - 1;
  if (options.declareCompressed !== undefined && options.declareCompressed !== false) {
    flags |= 0x40;
    sizeFields.push(...varint(options.declareCompressed === true ? compressed.length : options.declareCompressed));
  }
  if (options.declareUncompressed !== undefined && options.declareUncompressed !== false) {
    flags |= 0x80;
    sizeFields.push(...varint(options.declareUncompressed === true ? input.data.length : options.declareUncompressed));
  }
  const filterFields = filters.flatMap(([id, properties]) => [...varint(id), ...varint(properties.length), ...properties]);
  const unpaddedHeader = 2 + sizeFields.length + filterFields.length;
  const headerSize = Math.ceil((unpaddedHeader + 4) / 4) * 4;
  const header = join([headerSize / 4 - 1, options.flags ?? flags], sizeFields, filterFields, new Array<number>(headerSize - 4 - unpaddedHeader).fill(0));
  const headerCrc = options.headerCrc ?? crc32(header);
  const padding = (4 - ((headerSize + compressed.length) % 4)) % 4;
  const checked = options.check ?? checkBytes(check, input.data);
  const bytes = join(header, u32le(headerCrc), compressed, new Array<number>(padding).fill(options.paddingByte ?? 0), checked);
  return { bytes, record: [headerSize + compressed.length + checked.length, input.data.length] };
}

export interface StreamOptions {
  check?: XzCheck;
  /** Index records to write instead of the real ones. */
  records?: [number, number][];
  flagsCrc?: number;
  footerFlags?: number;
  backwardSize?: number;
}

/** One xz stream: header, blocks, index, footer. */
export function xzStream(blocks: XzBlock[], options: StreamOptions = {}): Uint8Array {
  const check = options.check ?? 'crc64';
  const flags = [0x00, CHECK_IDS[check]];
  const header = join([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], flags, u32le(options.flagsCrc ?? crc32(Uint8Array.from(flags))));
  const encoded = blocks.map((item) => encodeBlock(item, check));
  const records = options.records ?? encoded.map((item) => item.record);
  const indexBody = join([0x00], varint(records.length), ...records.map(([unpadded, uncompressed]) => [...varint(unpadded), ...varint(uncompressed)]));
  const indexPadded = join(indexBody, new Array<number>((4 - (indexBody.length % 4)) % 4).fill(0));
  const index = join(indexPadded, u32le(crc32(indexPadded)));
  const footerFlags = [0x00, options.footerFlags ?? CHECK_IDS[check]];
  const backward = join(u32le(options.backwardSize ?? index.length / 4 - 1), footerFlags);
  const footer = join(u32le(crc32(backward)), backward, [0x59, 0x5a]);
  return join(header, ...encoded.map((item) => item.bytes), index, footer);
}
