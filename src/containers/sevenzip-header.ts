/**
 * The 7z archive directory ("header"): property records for pack streams,
 * folders (coder graphs), substreams and files, parsed from bytes already in
 * memory (read from the file, or decoded from an encoded header).
 * Spec: 7-Zip's DOC/7zFormat.txt and DOC/Methods.txt (https://www.7-zip.org/sdk.html).
 *
 * Threat surface: every count and size is a 7z variable-length number of up
 * to 64 bits, chosen by the attacker. Counts are checked against named
 * limits and against the bytes left before anything is allocated per item;
 * sizes must be safe integers; sub-records are parsed inside the size their
 * record declares, so a lying size cannot make the parser read another
 * record's bytes; coder graphs are checked for indices out of range. A
 * violation is a ParseError: 7-Zip refuses such archives, so there is
 * nothing a loader would extract that a lenient reading could find.
 */
import { ByteCursor } from '../io/cursor.ts';
import { ParseError } from '../io/parse-error.ts';
import type { RuleId } from '../rules/index.ts';

/** Members listed at most: real model archives hold thousands; each costs report rows and memory (CWE-770). */
export const MAX_MEMBERS = 100_000;
/** Folders (independently compressed blocks) at most: one per member when not solid (CWE-770). */
export const MAX_FOLDERS = MAX_MEMBERS;
/** Packed streams at most: one per folder, four for BCJ2 folders (CWE-770). */
export const MAX_PACK_STREAMS = 4 * MAX_FOLDERS;
/** Coders in one folder at most: 7-Zip's own limit; real folders have 1 to 4 (CWE-770). */
export const MAX_CODERS_PER_FOLDER = 64;
/** Coder streams in one folder at most, each side: 7-Zip's own limit; a BCJ2 folder has 7 inputs and 4 outputs (CWE-770). */
export const MAX_STREAMS_PER_FOLDER = 64;
/** Coder property bytes kept at most: AES needs 34, LZMA 5, PPMd 7 (CWE-770). */
export const MAX_CODER_PROPERTY_BYTES = 256;
/** Method id bytes at most: ids are 63-bit numbers (Methods.txt). */
export const MAX_METHOD_ID_BYTES = 8;
/** UTF-16 code units of a member name kept: four times Linux's PATH_MAX; longer names are cut (CWE-770). */
export const MAX_NAME_UNITS = 16 * 1024;

/** Property ids of the header records (7zFormat.txt). */
export const PROPERTY = {
  end: 0x00,
  header: 0x01,
  archiveProperties: 0x02,
  additionalStreamsInfo: 0x03,
  mainStreamsInfo: 0x04,
  filesInfo: 0x05,
  packInfo: 0x06,
  unpackInfo: 0x07,
  substreamsInfo: 0x08,
  size: 0x09,
  crc: 0x0a,
  folder: 0x0b,
  codersUnpackSize: 0x0c,
  numUnpackStream: 0x0d,
  emptyStream: 0x0e,
  emptyFile: 0x0f,
  anti: 0x10,
  name: 0x11,
  creationTime: 0x12,
  accessTime: 0x13,
  modificationTime: 0x14,
  winAttributes: 0x15,
  comment: 0x16,
  encodedHeader: 0x17,
  startPosition: 0x18,
  dummy: 0x19,
} as const;

/** Method ids (hex) and their names, from Methods.txt; the decodable ones are named in sevenzip-folder.ts. */
export const METHOD_NAMES: Record<string, string> = {
  '00': 'Copy',
  '03': 'Delta',
  '04': 'BCJ',
  '05': 'PPC',
  '06': 'IA64',
  '07': 'ARM',
  '08': 'ARMT',
  '09': 'SPARC',
  '0a': 'ARM64',
  '0b': 'RISCV',
  '21': 'LZMA2',
  '020302': 'Swap2',
  '020304': 'Swap4',
  '030101': 'LZMA',
  '03030103': 'BCJ',
  '0303011b': 'BCJ2',
  '03030205': 'PPC',
  '03030301': 'Alpha',
  '03030401': 'IA64',
  '03030501': 'ARM',
  '03030605': 'M68',
  '03030701': 'ARMT',
  '03030805': 'SPARC',
  '030401': 'PPMd',
  '040108': 'Deflate',
  '040109': 'Deflate64',
  '04010e': 'LZMA (zip)',
  '04015d': 'Zstandard (zip)',
  '04015f': 'xz (zip)',
  '040162': 'PPMd (zip)',
  '040202': 'BZip2',
  '04f71101': 'Zstandard',
  '04f71102': 'Brotli',
  '04f71104': 'LZ4',
  '04f71105': 'LZ5',
  '04f71106': 'Lizard',
  '06f10701': '7zAES (encrypted)',
};

export interface SevenZipCoder {
  /** Method id as lower-case hex, e.g. `030101` for LZMA. */
  methodId: string;
  /** Method name from Methods.txt, or `unknown method <id>`. */
  method: string;
  /** Packed-side streams (BCJ2 has 4). */
  inStreams: number;
  /** Unpacked-side streams (1 for every real method). */
  outStreams: number;
  /** Coder properties (dictionary size, filter distance, AES salt, …). */
  properties: number[];
}

export interface SevenZipBindPair {
  /** Coder input stream (over all coders of the folder) fed by … */
  inIndex: number;
  /** … this coder output stream. */
  outIndex: number;
}

/** A folder: one coder graph from packed streams to one decoded stream. */
export interface SevenZipFolderInfo {
  coders: SevenZipCoder[];
  bindPairs: SevenZipBindPair[];
  /** The coder input streams fed from packed streams, in pack-stream order. */
  packedInStreams: number[];
  /** Decoded size of each coder output stream. */
  unpackSizes: number[];
  /** The output stream no bind pair consumes: the folder's decoded stream. */
  mainOutStream: number;
  /** CRC-32 of the decoded folder, when given. */
  crc: number | null;
}

export interface SevenZipStreamsInfo {
  /** Offset of the first packed stream, relative to the end of the 32-byte signature header. */
  packPosition: number;
  packSizes: number[];
  folders: SevenZipFolderInfo[];
  /** Per folder: the sizes and CRCs of the members' streams it holds, in order. */
  substreams: { sizes: number[]; crcs: (number | null)[] }[];
}

export interface SevenZipFileRecord {
  name: string;
  hasStream: boolean;
  /** Empty-stream entries: a file (true) or a directory (false). */
  isEmptyFile: boolean;
  isAnti: boolean;
  attributes: number | null;
}

export interface SevenZipHeaderInfo {
  streams: SevenZipStreamsInfo | null;
  files: SevenZipFileRecord[];
}

/** Limits for one parse; tests pass small ones. */
export interface SevenZipHeaderLimits {
  maxMembers: number;
  maxFolders: number;
  maxPackStreams: number;
  maxCodersPerFolder: number;
}

export const DEFAULT_HEADER_LIMITS: Readonly<SevenZipHeaderLimits> = {
  maxMembers: MAX_MEMBERS,
  maxFolders: MAX_FOLDERS,
  maxPackStreams: MAX_PACK_STREAMS,
  maxCodersPerFolder: MAX_CODERS_PER_FOLDER,
};

/** A ByteCursor with 7z's variable-length numbers and the checks every record needs. */
export class HeaderCursor {
  readonly cursor: ByteCursor;

  constructor(
    bytes: Uint8Array,
    /** Absolute file offset of bytes[0], or 0 for a decoded header (offsets are then inside it). */
    base: number,
    /** How to name this header in messages: `header` or `decoded header`. */
    readonly label: string,
  ) {
    this.cursor = new ByteCursor(bytes, base, 'sevenzip.header.truncated');
  }

  get position(): number {
    return this.cursor.position;
  }

  get remaining(): number {
    return this.cursor.remaining;
  }

  byte(): number {
    return this.cursor.u8();
  }

  /**
   * A 7z UINT64: the count of leading one bits of the first byte says how
   * many little-endian bytes follow; the first byte's remaining bits are the
   * top. Values above 2^53 are refused (no real size or count comes close).
   */
  number(what: string): number {
    const at = this.cursor.position;
    const first = this.cursor.u8();
    let mask = 0x80;
    let extra = 0;
    while (extra < 8 && (first & mask) !== 0) {
      extra++;
      mask >>>= 1;
    }
    let value = 0;
    let scale = 1;
    for (let index = 0; index < extra; index++) {
      value += this.cursor.u8() * scale;
      scale *= 256;
    }
    if (extra < 8) value += (first & (mask - 1)) * scale;
    if (!Number.isSafeInteger(value)) {
      throw this.error('sevenzip.header.invalid', at, `${what} at ${this.where(at)} is ${value}, beyond 2^53`);
    }
    return value;
  }

  /** A count checked against `limit` (rule sevenzip.header.limit) and against the bytes left, `minBytesEach` per item. */
  count(what: string, limit: number, minBytesEach: number): number {
    const at = this.cursor.position;
    const value = this.number(what);
    if (value > limit) throw this.error('sevenzip.header.limit', at, `${what} ${value} at ${this.where(at)} exceeds the limit of ${limit}`);
    if (value * minBytesEach > this.remaining) {
      throw this.error('sevenzip.header.truncated', at, `${what} ${value} at ${this.where(at)} needs at least ${value * minBytesEach} bytes but ${this.remaining} remain`);
    }
    return value;
  }

  u32(): number {
    return this.cursor.u32le();
  }

  bytes(count: number): Uint8Array {
    return this.cursor.bytesView(count);
  }

  skip(count: number): void {
    this.cursor.skip(count);
  }

  /** A cursor over the next `size` bytes (a record's declared body); this one moves past them. */
  sub(size: number, what: string): HeaderCursor {
    const at = this.cursor.position;
    if (size > this.remaining) {
      throw this.error('sevenzip.header.truncated', at, `${what} of ${size} bytes at ${this.where(at)} runs past the ${this.label} (${this.remaining} bytes remain)`);
    }
    const body = this.cursor.bytesView(size);
    return new HeaderCursor(body, at, this.label);
  }

  expect(property: number, what: string): void {
    const at = this.cursor.position;
    const value = this.byte();
    if (value !== property) throw this.error('sevenzip.header.invalid', at, `expected ${what} (0x${hex(property)}) at ${this.where(at)}, found 0x${hex(value)}`);
  }

  where(at: number): string {
    return `offset ${at} of the ${this.label}`;
  }

  error(rule: RuleId, at: number, message: string): ParseError {
    return new ParseError(rule, at, `7z ${message}`);
  }
}

function hex(value: number): string {
  return value.toString(16).padStart(2, '0');
}

/** A bit vector of `count` items, most significant bit first. */
function readBits(header: HeaderCursor, count: number): boolean[] {
  const bytes = header.bytes(Math.ceil(count / 8));
  const bits = new Array<boolean>(count);
  for (let index = 0; index < count; index++) bits[index] = (bytes[index >>> 3] & (0x80 >>> (index & 7))) !== 0;
  return bits;
}

/** `AllAreDefined` byte, then a bit vector when it is 0. */
function readDefinedBits(header: HeaderCursor, count: number): boolean[] {
  const allDefined = header.byte();
  return allDefined !== 0 ? new Array<boolean>(count).fill(true) : readBits(header, count);
}

/** Digests: defined bits, then a u32 CRC for each defined item. */
function readDigests(header: HeaderCursor, count: number): (number | null)[] {
  const defined = readDefinedBits(header, count);
  return defined.map((isDefined) => (isDefined ? header.u32() : null));
}

/** Skip a record body we do not use: its size, then its bytes. */
function skipRecord(header: HeaderCursor, what: string): void {
  const size = header.number(`${what} size`);
  header.sub(size, what);
}

function readPackInfo(header: HeaderCursor, limits: SevenZipHeaderLimits) {
  const packPosition = header.number('pack position');
  const count = header.count('pack stream count', limits.maxPackStreams, 1);
  let packSizes: number[] = new Array<number>(count).fill(0);
  for (;;) {
    const property = header.byte();
    if (property === PROPERTY.end) break;
    if (property === PROPERTY.size) {
      packSizes = Array.from({ length: count }, () => header.number('pack size'));
    } else if (property === PROPERTY.crc) {
      readDigests(header, count);
    } else {
      skipRecord(header, `pack info record 0x${hex(property)}`);
    }
  }
  return { packPosition, packSizes };
}

function readFolder(header: HeaderCursor, limits: SevenZipHeaderLimits): Omit<SevenZipFolderInfo, 'unpackSizes' | 'crc'> {
  const at = header.position;
  const coderCount = header.count('coder count', limits.maxCodersPerFolder, 1);
  if (coderCount === 0) throw header.error('sevenzip.header.invalid', at, `folder at ${header.where(at)} has no coders`);
  const coders: SevenZipCoder[] = [];
  let totalIn = 0;
  let totalOut = 0;
  for (let index = 0; index < coderCount; index++) {
    const flagsAt = header.position;
    const flags = header.byte();
    const idSize = flags & 0x0f;
    if (flags & 0x80) {
      throw header.error('sevenzip.header.invalid', flagsAt, `coder at ${header.where(flagsAt)} uses alternative methods (flag 0x80), which 7-Zip no longer reads`);
    }
    if (idSize > MAX_METHOD_ID_BYTES) {
      throw header.error('sevenzip.header.invalid', flagsAt, `method id of ${idSize} bytes at ${header.where(flagsAt)} exceeds ${MAX_METHOD_ID_BYTES}`);
    }
    const methodId = [...header.bytes(idSize)].map(hex).join('');
    const complex = (flags & 0x10) !== 0;
    const inStreams = complex ? header.number('coder input streams') : 1;
    const outStreams = complex ? header.number('coder output streams') : 1;
    totalIn += inStreams;
    totalOut += outStreams;
    if (totalIn > MAX_STREAMS_PER_FOLDER || totalOut > MAX_STREAMS_PER_FOLDER) {
      throw header.error('sevenzip.header.limit', flagsAt, `folder at ${header.where(at)} has more than ${MAX_STREAMS_PER_FOLDER} coder streams`);
    }
    let properties: number[] = [];
    if (flags & 0x20) {
      const size = header.number('coder properties size');
      const body = header.sub(size, 'coder properties');
      if (size > MAX_CODER_PROPERTY_BYTES) {
        throw header.error('sevenzip.header.limit', flagsAt, `coder properties of ${size} bytes at ${header.where(flagsAt)} exceed the limit of ${MAX_CODER_PROPERTY_BYTES}`);
      }
      properties = [...body.bytes(size)];
    }
    coders.push({ methodId, method: METHOD_NAMES[methodId] ?? `unknown method ${methodId || '(empty)'}`, inStreams, outStreams, properties });
  }
  if (totalOut === 0) throw header.error('sevenzip.header.invalid', at, `folder at ${header.where(at)} has no output stream`);
  const inputBound = new Array<boolean>(totalIn).fill(false);
  const outputBound = new Array<boolean>(totalOut).fill(false);
  const bindPairs: SevenZipBindPair[] = [];
  for (let index = 0; index < totalOut - 1; index++) {
    const pairAt = header.position;
    const inIndex = header.number('bind pair input');
    const outIndex = header.number('bind pair output');
    if (inIndex >= totalIn || outIndex >= totalOut) {
      throw header.error('sevenzip.header.invalid', pairAt, `bind pair ${inIndex} ← ${outIndex} at ${header.where(pairAt)} is outside the folder's ${totalIn} inputs and ${totalOut} outputs`);
    }
    if (inputBound[inIndex] || outputBound[outIndex]) {
      throw header.error('sevenzip.header.invalid', pairAt, `bind pair ${inIndex} ← ${outIndex} at ${header.where(pairAt)} reuses a stream`);
    }
    inputBound[inIndex] = true;
    outputBound[outIndex] = true;
    bindPairs.push({ inIndex, outIndex });
  }
  if (totalIn < bindPairs.length + 1) {
    throw header.error('sevenzip.header.invalid', at, `folder at ${header.where(at)} has ${totalIn} inputs for ${bindPairs.length} bind pairs: no packed stream`);
  }
  const packedCount = totalIn - bindPairs.length;
  let packedInStreams: number[];
  if (packedCount === 1) {
    packedInStreams = [inputBound.indexOf(false)];
  } else {
    packedInStreams = [];
    for (let index = 0; index < packedCount; index++) {
      const packedAt = header.position;
      const inIndex = header.number('packed stream index');
      if (inIndex >= totalIn || inputBound[inIndex]) {
        throw header.error('sevenzip.header.invalid', packedAt, `packed stream index ${inIndex} at ${header.where(packedAt)} is out of range or already bound`);
      }
      inputBound[inIndex] = true;
      packedInStreams.push(inIndex);
    }
  }
  const mainOutStream = outputBound.indexOf(false);
  return { coders, bindPairs, packedInStreams, mainOutStream };
}

function readUnpackInfo(header: HeaderCursor, limits: SevenZipHeaderLimits): SevenZipFolderInfo[] {
  header.expect(PROPERTY.folder, 'folder record');
  const count = header.count('folder count', limits.maxFolders, 2);
  const external = header.byte();
  if (external !== 0) throw header.error('sevenzip.header.invalid', header.position - 1, 'folders stored outside the header (External = 1) are not supported by 7-Zip');
  const drafts = Array.from({ length: count }, () => readFolder(header, limits));
  header.expect(PROPERTY.codersUnpackSize, 'coder unpack sizes');
  const folders: SevenZipFolderInfo[] = drafts.map((draft) => {
    const outputs = draft.coders.reduce((sum, coder) => sum + coder.outStreams, 0);
    const unpackSizes = Array.from({ length: outputs }, () => header.number('unpack size'));
    return { ...draft, unpackSizes, crc: null };
  });
  for (;;) {
    const property = header.byte();
    if (property === PROPERTY.end) break;
    if (property === PROPERTY.crc) {
      readDigests(header, count).forEach((crc, index) => (folders[index].crc = crc));
    } else {
      skipRecord(header, `unpack info record 0x${hex(property)}`);
    }
  }
  return folders;
}

/** The decoded size of a folder: the size of its main output stream. */
export function folderUnpackSize(folder: SevenZipFolderInfo): number {
  return folder.unpackSizes[folder.mainOutStream] ?? 0;
}

function readSubstreamsInfo(header: HeaderCursor, folders: SevenZipFolderInfo[], limits: SevenZipHeaderLimits): SevenZipStreamsInfo['substreams'] {
  let counts = folders.map(() => 1);
  let property = header.byte();
  if (property === PROPERTY.numUnpackStream) {
    let total = 0;
    counts = folders.map(() => {
      const at = header.position;
      const value = header.number('substream count');
      total += value;
      if (total > limits.maxMembers) throw header.error('sevenzip.header.limit', at, `substreams (${total} so far) at ${header.where(at)} exceed the limit of ${limits.maxMembers}`);
      return value;
    });
    property = header.byte();
  }
  const sizes: number[][] = folders.map(() => []);
  if (property === PROPERTY.size) {
    folders.forEach((folder, index) => {
      if (counts[index] === 0) return;
      const at = header.position;
      let sum = 0;
      for (let stream = 0; stream < counts[index] - 1; stream++) {
        const size = header.number('substream size');
        sizes[index].push(size);
        sum += size;
      }
      const total = folderUnpackSize(folder);
      if (sum > total) throw header.error('sevenzip.header.invalid', at, `substream sizes at ${header.where(at)} add up to ${sum}, more than the folder's ${total} bytes`);
      sizes[index].push(total - sum);
    });
    property = header.byte();
  } else {
    folders.forEach((folder, index) => {
      if (counts[index] > 1) throw header.error('sevenzip.header.invalid', header.position - 1, `folder ${index} holds ${counts[index]} substreams but no sizes are given`);
      if (counts[index] === 1) sizes[index].push(folderUnpackSize(folder));
    });
  }
  // Streams whose CRC is still unknown: every one, except a folder's only stream when the folder has a CRC.
  const crcs: (number | null)[][] = folders.map((folder, index) => (counts[index] === 1 && folder.crc !== null ? [folder.crc] : new Array(counts[index]).fill(null)));
  for (;;) {
    if (property === PROPERTY.end) break;
    if (property === PROPERTY.crc) {
      const unknown = folders.reduce((sum, folder, index) => sum + (counts[index] === 1 && folder.crc !== null ? 0 : counts[index]), 0);
      const digests = readDigests(header, unknown);
      let next = 0;
      folders.forEach((folder, index) => {
        if (counts[index] === 1 && folder.crc !== null) return;
        for (let stream = 0; stream < counts[index]; stream++) crcs[index][stream] = digests[next++];
      });
    } else {
      skipRecord(header, `substreams record 0x${hex(property)}`);
    }
    property = header.byte();
  }
  return folders.map((_, index) => ({ sizes: sizes[index], crcs: crcs[index] }));
}

/** StreamsInfo: pack info, unpack info (folders), substreams, in that order. */
export function readStreamsInfo(header: HeaderCursor, limits: SevenZipHeaderLimits): SevenZipStreamsInfo {
  let pack = { packPosition: 0, packSizes: [] as number[] };
  let folders: SevenZipFolderInfo[] = [];
  let substreams: SevenZipStreamsInfo['substreams'] | null = null;
  for (;;) {
    const at = header.position;
    const property = header.byte();
    if (property === PROPERTY.end) break;
    if (property === PROPERTY.packInfo) pack = readPackInfo(header, limits);
    else if (property === PROPERTY.unpackInfo) folders = readUnpackInfo(header, limits);
    else if (property === PROPERTY.substreamsInfo) substreams = readSubstreamsInfo(header, folders, limits);
    else throw header.error('sevenzip.header.invalid', at, `unexpected record 0x${hex(property)} in streams info at ${header.where(at)}`);
  }
  substreams ??= folders.map((folder) => ({ sizes: [folderUnpackSize(folder)], crcs: [folder.crc] }));
  const packedNeeded = folders.reduce((sum, folder) => sum + folder.packedInStreams.length, 0);
  if (packedNeeded > pack.packSizes.length) {
    throw header.error('sevenzip.header.invalid', header.position, `folders need ${packedNeeded} packed streams but ${pack.packSizes.length} are listed`);
  }
  return { packPosition: pack.packPosition, packSizes: pack.packSizes, folders, substreams };
}

function readNames(body: HeaderCursor, count: number): string[] {
  const external = body.byte();
  if (external !== 0) throw body.error('sevenzip.header.invalid', body.position - 1, 'names stored outside the header (External = 1) are not supported by 7-Zip');
  const names: string[] = [];
  const units: number[] = [];
  while (names.length < count) {
    const at = body.position;
    if (body.remaining < 2) throw body.error('sevenzip.header.truncated', at, `names end after ${names.length} of ${count} at ${body.where(at)}`);
    const unit = body.cursor.u16le();
    if (unit === 0) {
      names.push(decodeUtf16(units));
      units.length = 0;
    } else if (units.length < MAX_NAME_UNITS) {
      units.push(unit);
    }
  }
  return names;
}

/** UTF-16 code units to a string, a chunk at a time (one call per unit would be slow, one call for all could overflow the stack). */
function decodeUtf16(units: number[]): string {
  let text = '';
  for (let start = 0; start < units.length; start += 4096) text += String.fromCharCode(...units.slice(start, start + 4096));
  return text;
}

function readAttributes(body: HeaderCursor, count: number): (number | null)[] {
  const defined = readDefinedBits(body, count);
  const external = body.byte();
  if (external !== 0) throw body.error('sevenzip.header.invalid', body.position - 1, 'attributes stored outside the header (External = 1) are not supported by 7-Zip');
  return defined.map((isDefined) => (isDefined ? body.u32() : null));
}

function readFilesInfo(header: HeaderCursor, limits: SevenZipHeaderLimits): SevenZipFileRecord[] {
  const count = header.count('member count', limits.maxMembers, 0);
  let names: string[] = [];
  let emptyStream: boolean[] = new Array<boolean>(count).fill(false);
  let emptyCount = 0;
  let emptyFile: boolean[] = [];
  let anti: boolean[] = [];
  let attributes: (number | null)[] = new Array<number | null>(count).fill(null);
  for (;;) {
    const at = header.position;
    const property = header.number('file property');
    if (property === PROPERTY.end) break;
    const size = header.number('file property size');
    const body = header.sub(size, `file property 0x${hex(property)}`);
    switch (property) {
      case PROPERTY.name:
        names = readNames(body, count);
        break;
      case PROPERTY.emptyStream:
        emptyStream = readBits(body, count);
        emptyCount = emptyStream.filter(Boolean).length;
        break;
      case PROPERTY.emptyFile:
        emptyFile = readBits(body, emptyCount);
        break;
      case PROPERTY.anti:
        anti = readBits(body, emptyCount);
        break;
      case PROPERTY.winAttributes:
        attributes = readAttributes(body, count);
        break;
      default:
        // Times, start positions, padding and unknown properties carry nothing a scan needs; their body was bounded by `sub`.
        if (property > 0xff) throw header.error('sevenzip.header.invalid', at, `file property id ${property} at ${header.where(at)} is not a property`);
        break;
    }
  }
  const records: SevenZipFileRecord[] = [];
  let emptyIndex = 0;
  for (let index = 0; index < count; index++) {
    const hasStream = !emptyStream[index];
    const record: SevenZipFileRecord = {
      name: names[index] ?? '',
      hasStream,
      isEmptyFile: hasStream ? true : (emptyFile[emptyIndex] ?? false),
      isAnti: hasStream ? false : (anti[emptyIndex] ?? false),
      attributes: attributes[index] ?? null,
    };
    if (!hasStream) emptyIndex++;
    records.push(record);
  }
  return records;
}

/**
 * Parse a plain header (after its kHeader byte): archive properties,
 * additional streams (refused: 7-Zip writes none), main streams, files.
 */
export function readHeader(header: HeaderCursor, limits: SevenZipHeaderLimits = DEFAULT_HEADER_LIMITS): SevenZipHeaderInfo {
  let streams: SevenZipStreamsInfo | null = null;
  let files: SevenZipFileRecord[] = [];
  for (;;) {
    const at = header.position;
    const property = header.byte();
    if (property === PROPERTY.end) break;
    if (property === PROPERTY.archiveProperties) {
      for (;;) {
        const type = header.byte();
        if (type === 0) break;
        skipRecord(header, 'archive property');
      }
    } else if (property === PROPERTY.additionalStreamsInfo) {
      throw header.error('sevenzip.header.invalid', at, `additional streams at ${header.where(at)} are not supported (7-Zip never writes them)`);
    } else if (property === PROPERTY.mainStreamsInfo) {
      streams = readStreamsInfo(header, limits);
    } else if (property === PROPERTY.filesInfo) {
      files = readFilesInfo(header, limits);
    } else {
      throw header.error('sevenzip.header.invalid', at, `unexpected record 0x${hex(property)} in the header at ${header.where(at)}`);
    }
  }
  const streamCount = streams ? streams.substreams.reduce((sum, folder) => sum + folder.sizes.length, 0) : 0;
  const withStream = files.filter((file) => file.hasStream).length;
  if (withStream !== streamCount) {
    throw header.error('sevenzip.header.invalid', header.position, `${withStream} members have data but the folders hold ${streamCount} streams`);
  }
  return { streams, files };
}
