/**
 * Byte builders for 7z archives, so tests can write exactly the directory
 * they need (lying sizes, bad CRCs, odd coders, hostile names) without
 * 7-Zip. Layout and record ids follow 7zFormat.txt; see
 * src/containers/sevenzip-header.ts for the reader.
 */
import { crc32 } from '../../src/containers/zip-crc32.ts';

export const SIGNATURE = [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c];
export const METHOD = {
  copy: [0x00],
  lzma: [0x03, 0x01, 0x01],
  lzma2: [0x21],
  bcj: [0x03, 0x03, 0x01, 0x03],
  delta: [0x03],
  ppmd: [0x03, 0x04, 0x01],
  aes: [0x06, 0xf1, 0x07, 0x01],
} as const;

/** A 7z variable-length number: n leading one bits in the first byte, then n little-endian bytes. */
export function sevenZipNumber(value: number | bigint): number[] {
  let big = BigInt(value);
  for (let extra = 0; extra < 8; extra++) {
    if (big < 1n << BigInt(7 * (extra + 1))) {
      const high = Number(big >> BigInt(8 * extra));
      const first = ((0xff00 >> extra) & 0xff) | high;
      const bytes = [first];
      for (let index = 0; index < extra; index++) {
        bytes.push(Number(big & 0xffn));
        big >>= 8n;
      }
      return bytes;
    }
  }
  const bytes = [0xff];
  for (let index = 0; index < 8; index++) {
    bytes.push(Number(big & 0xffn));
    big >>= 8n;
  }
  return bytes;
}

const u32 = (value: number) => [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
const u64 = (value: number | bigint) => {
  let big = BigInt(value);
  const bytes: number[] = [];
  for (let index = 0; index < 8; index++) {
    bytes.push(Number(big & 0xffn));
    big >>= 8n;
  }
  return bytes;
};

function bits(flags: boolean[]): number[] {
  const bytes = new Array(Math.ceil(flags.length / 8)).fill(0);
  flags.forEach((flag, index) => {
    if (flag) bytes[index >> 3] |= 0x80 >> (index & 7);
  });
  return bytes;
}

function utf16(text: string): number[] {
  const bytes: number[] = [];
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    bytes.push(unit & 0xff, unit >> 8);
  }
  return bytes;
}

export interface BuilderCoder {
  id: readonly number[];
  properties?: readonly number[];
}

export interface BuilderFolder {
  /** Output side first: coder i reads the output of coder i + 1; the last coder reads the packed stream. */
  coders: BuilderCoder[];
  /** Decoded size of every coder output (they are the same for Copy and filters). */
  unpackSize: number;
  /** Sizes of the members' streams; default one stream of `unpackSize`. */
  substreams?: number[];
  /** CRCs of those streams; default computed from `data` when given, else none. */
  substreamCrcs?: number[];
}

export interface BuilderFile {
  name: string;
  /** Default true. */
  hasStream?: boolean;
  /** For empty streams: a file (true) or a directory (false, default). */
  emptyFile?: boolean;
  anti?: boolean;
  attributes?: number;
}

export interface BuilderStreams {
  packPosition?: number;
  packSizes: number[];
  folders: BuilderFolder[];
}

function folderRecord(folder: BuilderFolder): number[] {
  const bytes = [...sevenZipNumber(folder.coders.length)];
  for (const coder of folder.coders) {
    const hasProperties = coder.properties !== undefined;
    bytes.push(coder.id.length | (hasProperties ? 0x20 : 0), ...coder.id);
    if (hasProperties) bytes.push(...sevenZipNumber(coder.properties!.length), ...coder.properties!);
  }
  for (let index = 0; index < folder.coders.length - 1; index++) bytes.push(...sevenZipNumber(index), ...sevenZipNumber(index + 1));
  return bytes;
}

/** StreamsInfo: pack info, unpack info, substreams, end. */
export function streamsInfo(streams: BuilderStreams): number[] {
  const bytes = [0x06, ...sevenZipNumber(streams.packPosition ?? 0), ...sevenZipNumber(streams.packSizes.length), 0x09];
  for (const size of streams.packSizes) bytes.push(...sevenZipNumber(size));
  bytes.push(0x00);
  bytes.push(0x07, 0x0b, ...sevenZipNumber(streams.folders.length), 0x00);
  for (const folder of streams.folders) bytes.push(...folderRecord(folder));
  bytes.push(0x0c);
  for (const folder of streams.folders) for (const _ of folder.coders) bytes.push(...sevenZipNumber(folder.unpackSize));
  bytes.push(0x00);
  const counts = streams.folders.map((folder) => (folder.substreams ?? [folder.unpackSize]).length);
  bytes.push(0x08, 0x0d, ...counts.flatMap((count) => sevenZipNumber(count)));
  bytes.push(0x09);
  for (const folder of streams.folders) {
    const sizes = folder.substreams ?? [folder.unpackSize];
    for (const size of sizes.slice(0, -1)) bytes.push(...sevenZipNumber(size));
  }
  const crcs = streams.folders.flatMap((folder) => folder.substreamCrcs ?? []);
  const total = counts.reduce((sum, count) => sum + count, 0);
  if (crcs.length === total && total > 0) {
    bytes.push(0x0a, 0x01);
    for (const crc of crcs) bytes.push(...u32(crc));
  }
  bytes.push(0x00, 0x00);
  return bytes;
}

export function filesInfo(files: BuilderFile[]): number[] {
  const bytes = [0x05, ...sevenZipNumber(files.length)];
  const property = (id: number, body: number[]) => bytes.push(id, ...sevenZipNumber(body.length), ...body);
  const empty = files.map((file) => file.hasStream === false);
  if (empty.some(Boolean)) {
    property(0x0e, bits(empty));
    const emptyFiles = files.filter((file) => file.hasStream === false);
    property(0x0f, bits(emptyFiles.map((file) => file.emptyFile === true)));
    if (emptyFiles.some((file) => file.anti)) property(0x10, bits(emptyFiles.map((file) => file.anti === true)));
  }
  property(0x11, [0x00, ...files.flatMap((file) => [...utf16(file.name), 0, 0])]);
  if (files.some((file) => file.attributes !== undefined)) {
    const defined = files.map((file) => file.attributes !== undefined);
    const body = defined.every(Boolean) ? [0x01] : [0x00, ...bits(defined)];
    body.push(0x00);
    for (const file of files) if (file.attributes !== undefined) body.push(...u32(file.attributes));
    property(0x15, body);
  }
  bytes.push(0x00);
  return bytes;
}

/** A plain directory: kHeader, main streams, files, end. */
export function plainHeader(streams: BuilderStreams | null, files: BuilderFile[]): Uint8Array {
  const bytes = [0x01];
  if (streams) bytes.push(0x04, ...streamsInfo(streams));
  bytes.push(...filesInfo(files), 0x00);
  return Uint8Array.from(bytes);
}

export interface ArchiveOverrides {
  major?: number;
  minor?: number;
  /** Start header CRC to write instead of the right one. */
  startCrc?: number;
  nextOffset?: number | bigint;
  nextSize?: number | bigint;
  nextCrc?: number;
}

/** Signature header + packed bytes + directory, with right CRCs unless overridden. */
export function sevenZipFile(packed: Uint8Array, header: Uint8Array, overrides: ArchiveOverrides = {}): Uint8Array {
  const start = [
    ...u64(overrides.nextOffset ?? packed.length),
    ...u64(overrides.nextSize ?? header.length),
    ...u32(overrides.nextCrc ?? crc32(header)),
  ];
  const startCrc = overrides.startCrc ?? crc32(Uint8Array.from(start));
  return Uint8Array.from([...SIGNATURE, overrides.major ?? 0, overrides.minor ?? 4, ...u32(startCrc), ...start, ...packed, ...header]);
}

export interface StoredMember {
  name: string;
  data: Uint8Array;
}

/** A solid archive of members stored with the Copy method, with right CRCs: the base for most hostile variants. */
export function storedArchive(members: StoredMember[], extraFiles: BuilderFile[] = [], overrides: ArchiveOverrides = {}): Uint8Array {
  const packed = concat(members.map((member) => member.data));
  const streams: BuilderStreams | null =
    members.length === 0
      ? null
      : {
          packSizes: [packed.length],
          folders: [
            {
              coders: [{ id: METHOD.copy }],
              unpackSize: packed.length,
              substreams: members.map((member) => member.data.length),
              substreamCrcs: members.map((member) => crc32(member.data)),
            },
          ],
        };
  const files: BuilderFile[] = [...members.map((member) => ({ name: member.name })), ...extraFiles];
  return sevenZipFile(packed, plainHeader(streams, files), overrides);
}

/**
 * An archive whose directory is "encoded": stored with the Copy method as a
 * packed stream, and described by a kEncodedHeader record. `inner` is the
 * directory the reader decodes (it may itself be another encoded header).
 */
export function encodedHeaderArchive(packed: Uint8Array, inner: Uint8Array): Uint8Array {
  const encoded = Uint8Array.from([
    0x17,
    ...streamsInfo({
      packPosition: packed.length,
      packSizes: [inner.length],
      folders: [{ coders: [{ id: METHOD.copy }], unpackSize: inner.length, substreamCrcs: [crc32(inner)] }],
    }),
  ]);
  return sevenZipFile(concat([packed, inner]), encoded, { nextOffset: packed.length + inner.length });
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}

export const ascii = (text: string) => Uint8Array.from(text, (char) => char.charCodeAt(0));
