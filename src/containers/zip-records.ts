import { ByteCursor, safeNumber } from '../io/cursor.ts';

/**
 * Fixed-size zip records (APPNOTE.TXT 6.3.10 §4.3), parsed from byte windows
 * the caller has already read and length-checked. Every parser returns null
 * when the signature is wrong; none trusts a length it reads: callers check
 * each one against the file before they use it.
 * https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT
 */

export const SIGNATURE = {
  localHeader: 0x04034b50,
  centralHeader: 0x02014b50,
  endRecord: 0x06054b50,
  zip64EndRecord: 0x06064b50,
  zip64Locator: 0x07064b50,
  dataDescriptor: 0x08074b50,
} as const;

/** Compression methods that this reader decodes (APPNOTE §4.4.5). */
export const ZIP_METHOD = { stored: 0, deflated: 8 } as const;

/** General purpose flag bits that matter here (APPNOTE §4.4.4). */
export const ZIP_FLAG = {
  encrypted: 0x1,
  dataDescriptor: 0x8,
  patchData: 0x20,
  strongEncryption: 0x40,
  utf8: 0x800,
} as const;

export const LOCAL_HEADER_SIZE = 30;
export const CENTRAL_HEADER_SIZE = 46;
export const END_RECORD_SIZE = 22;
/** The end record is its 22 bytes plus a comment of at most 65535: the search window from the end, never more (CWE-400). */
export const END_RECORD_SEARCH_BYTES = END_RECORD_SIZE + 0xffff;
export const ZIP64_LOCATOR_SIZE = 20;
export const ZIP64_END_RECORD_SIZE = 56;

/** A 32-bit size or offset of 0xFFFFFFFF (or a 16-bit count of 0xFFFF) means "see the ZIP64 record". */
export const ZIP64_MARKER_32 = 0xffffffff;
export const ZIP64_MARKER_16 = 0xffff;

/** Extra field id of the ZIP64 extended information. */
export const ZIP64_EXTRA_ID = 0x0001;

export interface EndRecord {
  offset: number;
  diskNumber: number;
  centralDirectoryDisk: number;
  entriesOnDisk: number;
  totalEntries: number;
  centralDirectorySize: number;
  centralDirectoryOffset: number;
  commentLength: number;
}

export interface Zip64EndRecord {
  offset: number;
  diskNumber: number;
  centralDirectoryDisk: number;
  entriesOnDisk: number;
  totalEntries: number;
  centralDirectorySize: number;
  centralDirectoryOffset: number;
}

export interface CentralHeader {
  offset: number;
  versionMadeBy: number;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  nameLength: number;
  extraLength: number;
  commentLength: number;
  diskStart: number;
  externalAttributes: number;
  localHeaderOffset: number;
}

export interface LocalHeader {
  offset: number;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  nameLength: number;
  extraLength: number;
}

/** A u64 as a number; values past 2^53 become MAX_SAFE_INTEGER, which every bounds check then rejects. */
export function u64ToNumber(value: bigint): number {
  return safeNumber(value) ?? Number.MAX_SAFE_INTEGER;
}

function cursorAt(bytes: Uint8Array, base: number, signature: number): ByteCursor | null {
  const cursor = new ByteCursor(bytes, base, 'zip.central-directory.truncated');
  if (bytes.length < 4 || cursor.u32le() !== signature) return null;
  return cursor;
}

/**
 * Index in `tail` of the last end-record signature with room for the record's
 * 22 bytes after it, or -1. Searching from the end is what miniz and Python
 * both do, so a signature inside a comment or earlier data loses to the last one.
 */
export function findEndRecord(tail: Uint8Array): number {
  for (let index = tail.length - END_RECORD_SIZE; index >= 0; index--) {
    if (tail[index] === 0x50 && tail[index + 1] === 0x4b && tail[index + 2] === 0x05 && tail[index + 3] === 0x06) return index;
  }
  return -1;
}

export function parseEndRecord(bytes: Uint8Array, base: number): EndRecord | null {
  const cursor = cursorAt(bytes, base, SIGNATURE.endRecord);
  if (!cursor || bytes.length < END_RECORD_SIZE) return null;
  return {
    offset: base,
    diskNumber: cursor.u16le(),
    centralDirectoryDisk: cursor.u16le(),
    entriesOnDisk: cursor.u16le(),
    totalEntries: cursor.u16le(),
    centralDirectorySize: cursor.u32le(),
    centralDirectoryOffset: cursor.u32le(),
    commentLength: cursor.u16le(),
  };
}

/** The offset of the ZIP64 end record that a locator points to, or null when these bytes are no locator. */
export function parseZip64Locator(bytes: Uint8Array, base: number): { recordOffset: number; totalDisks: number } | null {
  const cursor = cursorAt(bytes, base, SIGNATURE.zip64Locator);
  if (!cursor || bytes.length < ZIP64_LOCATOR_SIZE) return null;
  cursor.u32le();
  const recordOffset = u64ToNumber(cursor.u64le());
  return { recordOffset, totalDisks: cursor.u32le() };
}

export function parseZip64EndRecord(bytes: Uint8Array, base: number): Zip64EndRecord | null {
  const cursor = cursorAt(bytes, base, SIGNATURE.zip64EndRecord);
  if (!cursor || bytes.length < ZIP64_END_RECORD_SIZE) return null;
  cursor.skip(8 + 2 + 2);
  return {
    offset: base,
    diskNumber: cursor.u32le(),
    centralDirectoryDisk: cursor.u32le(),
    entriesOnDisk: u64ToNumber(cursor.u64le()),
    totalEntries: u64ToNumber(cursor.u64le()),
    centralDirectorySize: u64ToNumber(cursor.u64le()),
    centralDirectoryOffset: u64ToNumber(cursor.u64le()),
  };
}

export function parseCentralHeader(bytes: Uint8Array, base: number): CentralHeader | null {
  const cursor = cursorAt(bytes, base, SIGNATURE.centralHeader);
  if (!cursor || bytes.length < CENTRAL_HEADER_SIZE) return null;
  const versionMadeBy = cursor.u16le();
  cursor.u16le();
  const flags = cursor.u16le();
  const method = cursor.u16le();
  cursor.skip(4);
  const crc32 = cursor.u32le();
  const compressedSize = cursor.u32le();
  const uncompressedSize = cursor.u32le();
  const nameLength = cursor.u16le();
  const extraLength = cursor.u16le();
  const commentLength = cursor.u16le();
  const diskStart = cursor.u16le();
  cursor.u16le();
  const externalAttributes = cursor.u32le();
  const localHeaderOffset = cursor.u32le();
  return {
    offset: base, versionMadeBy, flags, method, crc32, compressedSize, uncompressedSize,
    nameLength, extraLength, commentLength, diskStart, externalAttributes, localHeaderOffset,
  };
}

export function parseLocalHeader(bytes: Uint8Array, base: number): LocalHeader | null {
  const cursor = cursorAt(bytes, base, SIGNATURE.localHeader);
  if (!cursor || bytes.length < LOCAL_HEADER_SIZE) return null;
  cursor.u16le();
  const flags = cursor.u16le();
  const method = cursor.u16le();
  cursor.skip(4);
  const crc32 = cursor.u32le();
  const compressedSize = cursor.u32le();
  const uncompressedSize = cursor.u32le();
  const nameLength = cursor.u16le();
  const extraLength = cursor.u16le();
  return { offset: base, flags, method, crc32, compressedSize, uncompressedSize, nameLength, extraLength };
}

/** Which values a header left to the ZIP64 extra field, in the order the field stores them. */
export interface Zip64Wanted {
  uncompressedSize: boolean;
  compressedSize: boolean;
  localHeaderOffset: boolean;
  diskStart: boolean;
}

export interface Zip64Extra {
  /** The extra field holds a ZIP64 record at all. */
  present: boolean;
  uncompressedSize?: number;
  compressedSize?: number;
  localHeaderOffset?: number;
  /** Wanted values the record was too short to hold. */
  missing: string[];
}

/**
 * The ZIP64 values of an extra field. Only the values whose header field holds
 * the marker are stored, in a fixed order (APPNOTE §4.5.3), so `wanted` says
 * which to expect. A short record yields what it has and names the rest.
 */
export function readZip64Extra(extra: Uint8Array, wanted: Zip64Wanted): Zip64Extra {
  const result: Zip64Extra = { present: false, missing: [] };
  const field = findExtraField(extra, ZIP64_EXTRA_ID);
  if (!field) {
    for (const [key, want] of Object.entries(wanted)) if (want) result.missing.push(key);
    return result;
  }
  result.present = true;
  const view = new DataView(field.buffer, field.byteOffset, field.byteLength);
  let position = 0;
  const take = (key: 'uncompressedSize' | 'compressedSize' | 'localHeaderOffset') => {
    if (position + 8 > field.length) {
      result.missing.push(key);
      return;
    }
    result[key] = u64ToNumber(view.getBigUint64(position, true));
    position += 8;
  };
  if (wanted.uncompressedSize) take('uncompressedSize');
  if (wanted.compressedSize) take('compressedSize');
  if (wanted.localHeaderOffset) take('localHeaderOffset');
  if (wanted.diskStart && position + 4 > field.length) result.missing.push('diskStart');
  return result;
}

/** The data of the first extra field with `id`, or null. Stops at a field that runs past the end. */
export function findExtraField(extra: Uint8Array, id: number): Uint8Array | null {
  let position = 0;
  while (position + 4 <= extra.length) {
    const fieldId = extra[position] | (extra[position + 1] << 8);
    const size = extra[position + 2] | (extra[position + 3] << 8);
    const start = position + 4;
    if (start + size > extra.length) return null;
    if (fieldId === id) return extra.subarray(start, start + size);
    position = start + size;
  }
  return null;
}
