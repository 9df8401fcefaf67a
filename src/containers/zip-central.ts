import { type ByteSource, throwIfAborted } from '../io/byte-source.ts';
import { type EntryDraft, decodeEntryName, isUnixSymlink } from './zip-draft.ts';
import type { FindingList } from './zip-finding-list.ts';
import { decodeZipText, quoteName } from './zip-names.ts';
import {
  CENTRAL_HEADER_SIZE,
  END_RECORD_SEARCH_BYTES,
  END_RECORD_SIZE,
  ZIP64_END_RECORD_SIZE,
  ZIP64_LOCATOR_SIZE,
  ZIP64_MARKER_16,
  ZIP64_MARKER_32,
  ZIP_FLAG,
  findEndRecord,
  parseCentralHeader,
  parseEndRecord,
  parseZip64EndRecord,
  parseZip64Locator,
  readZip64Extra,
  type Zip64EndRecord,
} from './zip-records.ts';
import { createWindowReader } from './zip-window-reader.ts';
import type { ZipLimits } from './zip.ts';

/** Window for walking the central directory: one record is at most 46 + 3 × 65535 bytes. */
const CENTRAL_WINDOW_BYTES = 256 * 1024;

/** What the end record (and its ZIP64 twin) says about the archive. */
export interface EndInfo {
  endRecordOffset: number;
  /** First byte after the end record and its comment, clamped to the file. */
  endRecordEnd: number;
  centralDirectoryOffset: number;
  centralDirectorySize: number;
  totalEntries: number;
  zip64: boolean;
  /** Offset of the ZIP64 end record when one was used: the central directory should end there. */
  zip64RecordOffset: number | null;
  /** Bytes added to every offset because the archive was appended to other data (see appendedShift). */
  offsetShift: number;
  comment: string;
}

/**
 * Find the end of central directory record in the last END_RECORD_SEARCH_BYTES
 * of the file, as miniz and Python do (the last signature wins), then follow a
 * ZIP64 locator just before it. Null when there is no end record.
 */
export async function locateEndRecord(source: ByteSource, findings: FindingList, limits: ZipLimits): Promise<EndInfo | null> {
  const tailStart = Math.max(0, source.size - END_RECORD_SEARCH_BYTES);
  const tail = await source.read(tailStart, source.size - tailStart);
  const index = findEndRecord(tail);
  const record = index < 0 ? null : parseEndRecord(tail.subarray(index), tailStart + index);
  if (!record) return null;

  const commentStart = index + END_RECORD_SIZE;
  const commentAvailable = tail.length - commentStart;
  const commentLength = Math.min(record.commentLength, commentAvailable);
  if (record.commentLength > commentAvailable) {
    findings.add('zip.eocd.invalid', {
      detail: `The end record declares a ${record.commentLength}-byte comment but only ${commentAvailable} bytes follow it.`,
      location: { offset: record.offset + 20, length: 2 },
    });
  } else if (commentAvailable > record.commentLength) {
    const trailingOffset = tailStart + commentStart + record.commentLength;
    findings.add('zip.eocd.trailing-data', {
      detail: `${commentAvailable - record.commentLength} bytes follow the end record and its comment, from offset ${trailingOffset}.`,
      location: { offset: trailingOffset, length: commentAvailable - record.commentLength },
    });
  }
  const commentBytes = tail.subarray(commentStart, commentStart + Math.min(commentLength, limits.maxCommentBytes));

  const info: EndInfo = {
    endRecordOffset: record.offset,
    endRecordEnd: tailStart + commentStart + commentLength,
    centralDirectoryOffset: record.centralDirectoryOffset,
    centralDirectorySize: record.centralDirectorySize,
    totalEntries: record.totalEntries,
    zip64: false,
    zip64RecordOffset: null,
    offsetShift: 0,
    comment: decodeZipText(commentBytes, ZIP_FLAG.utf8),
  };
  let diskNumber = record.diskNumber;
  let centralDirectoryDisk = record.centralDirectoryDisk;
  let entriesOnDisk = record.entriesOnDisk;

  const { locatorFound, record: zip64 } = await readZip64End(source, record.offset, findings);
  if (zip64) {
    Object.assign(info, {
      zip64: true,
      zip64RecordOffset: zip64.offset,
      centralDirectoryOffset: zip64.centralDirectoryOffset,
      centralDirectorySize: zip64.centralDirectorySize,
      totalEntries: zip64.totalEntries,
    });
    diskNumber = zip64.diskNumber;
    centralDirectoryDisk = zip64.centralDirectoryDisk;
    entriesOnDisk = zip64.entriesOnDisk;
  } else if (!locatorFound && (record.centralDirectoryOffset === ZIP64_MARKER_32 || record.centralDirectorySize === ZIP64_MARKER_32)) {
    findings.add('zip.zip64.invalid', {
      detail: `The end record defers the central directory ${record.centralDirectoryOffset === ZIP64_MARKER_32 ? 'offset' : 'size'} to ZIP64 (0xFFFFFFFF), but no ZIP64 locator precedes it at offset ${record.offset - ZIP64_LOCATOR_SIZE}.`,
      location: { offset: record.offset },
    });
  }

  // miniz accepts disk 0 of 0 and disk 1 of 1 (some writers count from one); anything else is a split
  // archive. 0xFFFF defers the number to a ZIP64 record, so it says nothing when that record is unusable.
  const singleDisk = (diskNumber === 0 && centralDirectoryDisk === 0) || (diskNumber === 1 && centralDirectoryDisk === 1);
  const deferred = !zip64 && diskNumber === ZIP64_MARKER_16 && centralDirectoryDisk === ZIP64_MARKER_16;
  if (!singleDisk && !deferred) {
    findings.add('zip.eocd.invalid', {
      detail: `The end record names disk ${diskNumber} and central directory disk ${centralDirectoryDisk}: a split archive, which PyTorch and Python refuse.`,
      location: { offset: info.zip64RecordOffset ?? record.offset },
    });
  }
  if (entriesOnDisk !== info.totalEntries) {
    findings.add('zip.eocd.invalid', {
      detail: `The end record declares ${entriesOnDisk} entries on this disk but ${info.totalEntries} in all.`,
      location: { offset: info.zip64RecordOffset ?? record.offset },
    });
  }
  if (info.centralDirectorySize < info.totalEntries * CENTRAL_HEADER_SIZE) {
    findings.add('zip.eocd.invalid', {
      detail: `The end record declares ${info.totalEntries} entries in a ${info.centralDirectorySize}-byte central directory, less than the ${CENTRAL_HEADER_SIZE} bytes each needs.`,
      location: { offset: info.zip64RecordOffset ?? record.offset },
    });
  }
  return info;
}

/** The ZIP64 end record a locator just before the end record points to, and whether there was a locator at all. */
async function readZip64End(
  source: ByteSource,
  endRecordOffset: number,
  findings: FindingList,
): Promise<{ locatorFound: boolean; record: Zip64EndRecord | null }> {
  const locatorOffset = endRecordOffset - ZIP64_LOCATOR_SIZE;
  const locator = locatorOffset < 0 ? null : parseZip64Locator(await source.read(locatorOffset, ZIP64_LOCATOR_SIZE), locatorOffset);
  if (!locator) return { locatorFound: false, record: null };
  if (locator.recordOffset + ZIP64_END_RECORD_SIZE > locatorOffset) {
    findings.add('zip.zip64.invalid', {
      detail: `The ZIP64 locator points to offset ${locator.recordOffset}, which leaves no room for the ${ZIP64_END_RECORD_SIZE}-byte ZIP64 end record before the locator at ${locatorOffset}.`,
      location: { offset: locatorOffset + 8, length: 8 },
    });
    return { locatorFound: true, record: null };
  }
  const record = parseZip64EndRecord(await source.read(locator.recordOffset, ZIP64_END_RECORD_SIZE), locator.recordOffset);
  if (!record) {
    findings.add('zip.zip64.invalid', {
      detail: `The ZIP64 locator points to offset ${locator.recordOffset}, where there is no ZIP64 end record; the 32-bit end record was used.`,
      location: { offset: locator.recordOffset },
    });
  }
  return { locatorFound: true, record };
}

/**
 * Walk the central directory record by record (as Python does, within the
 * declared size; the count is checked against the end record, which miniz
 * trusts). `complete` is false when the walk stopped early (damage or a
 * limit). Null when the directory cannot be reached at all.
 */
export async function readCentralDirectory(
  source: ByteSource,
  end: EndInfo,
  findings: FindingList,
  limits: ZipLimits,
  signal?: AbortSignal,
): Promise<{ drafts: EntryDraft[]; complete: boolean } | null> {
  const start = end.centralDirectoryOffset;
  const declaredEnd = start + end.centralDirectorySize;
  const expectedEnd = end.zip64RecordOffset ?? end.endRecordOffset;
  let shift = 0;
  if (start >= source.size || declaredEnd > source.size) {
    findings.add('zip.central-directory.out-of-bounds', {
      detail: `The central directory is declared at offset ${start} with ${end.centralDirectorySize} bytes, past the end of the ${source.size}-byte file.`,
      location: { offset: end.zip64RecordOffset ?? end.endRecordOffset },
    });
    if (start >= source.size) return null;
  } else if (declaredEnd !== expectedEnd) {
    const concat = expectedEnd - declaredEnd;
    shift = await appendedShift(source, start, concat);
    const consequence = shift
      ? `no directory is there but one is ${shift} bytes later: the archive was appended to other bytes. Its entries were read at offsets shifted by ${shift}, as Python reads them; PyTorch reads them unshifted and fails.`
      : `Python's zipfile would read the directory and every entry ${concat} bytes ${concat > 0 ? 'later' : 'earlier'}, PyTorch where declared.`;
    findings.add('zip.central-directory.misplaced', {
      detail: `The central directory is declared at ${start}–${declaredEnd} but the end records start at ${expectedEnd}; ${consequence}`,
      location: { offset: start, length: end.centralDirectorySize },
    });
  }
  end.offsetShift = shift;
  end.centralDirectoryOffset = start + shift;

  const directoryEnd = Math.min(declaredEnd + shift, source.size);
  const walkEnd = Math.min(directoryEnd, start + shift + limits.maxCentralDirectoryBytes);
  const bytesAt = createWindowReader(source, CENTRAL_WINDOW_BYTES);
  const drafts: EntryDraft[] = [];
  let position = start + shift;
  let complete = true;
  while (position < walkEnd) {
    throwIfAborted(signal);
    if (drafts.length >= limits.maxEntries) {
      findings.add('zip.entries.too-many', {
        detail: `The central directory holds more than ${limits.maxEntries} entries (${end.totalEntries} declared); only the first ${limits.maxEntries} were inspected.`,
        location: { offset: position },
      });
      complete = false;
      break;
    }
    const fixed = await bytesAt(position, CENTRAL_HEADER_SIZE);
    const header = fixed.length === CENTRAL_HEADER_SIZE ? parseCentralHeader(fixed, position) : null;
    if (!header) {
      findings.add('zip.central-directory.truncated', {
        detail: `Expected central directory record ${drafts.length} at offset ${position} but found ${describeBytes(fixed)}; ${drafts.length} of ${end.totalEntries} declared entries were read.`,
        location: { offset: position },
      });
      complete = false;
      break;
    }
    const recordEnd = position + CENTRAL_HEADER_SIZE + header.nameLength + header.extraLength + header.commentLength;
    if (recordEnd > directoryEnd) {
      findings.add('zip.central-directory.truncated', {
        detail: `Central directory record ${drafts.length} at offset ${position} runs to ${recordEnd}, past the directory's end at ${directoryEnd}.`,
        location: { offset: position, length: recordEnd - position },
      });
      complete = false;
      break;
    }
    const nameBytes = (await bytesAt(position + CENTRAL_HEADER_SIZE, header.nameLength)).slice();
    const extra = await bytesAt(position + CENTRAL_HEADER_SIZE + header.nameLength, header.extraLength);
    const draft = draftFromCentral(header, nameBytes, extra, drafts.length, findings, limits);
    draft.entry.localHeaderOffset += shift;
    drafts.push(draft);
    position = recordEnd;
  }
  if (complete && walkEnd < directoryEnd) {
    findings.add('zip.entries.too-many', {
      detail: `The central directory has ${end.centralDirectorySize} bytes, over the limit of ${limits.maxCentralDirectoryBytes}; entries from offset ${position} on were not inspected.`,
      location: { offset: position },
    });
    complete = false;
  }
  if (complete && drafts.length !== end.totalEntries) {
    findings.add('zip.central-directory.count-mismatch', {
      detail: `The end record declares ${end.totalEntries} entries but the central directory holds ${drafts.length}.`,
      location: { offset: start + shift, length: end.centralDirectorySize },
    });
  }
  return { drafts, complete };
}

/**
 * Python's zipfile allows for bytes prepended to an archive whose offsets were
 * not fixed: it reads everything `concat` bytes later (end record position
 * minus declared directory end). This reader follows PyTorch and reads where
 * declared, unless nothing is there and a directory is where Python would look.
 */
async function appendedShift(source: ByteSource, start: number, concat: number): Promise<number> {
  if (concat <= 0) return 0;
  const isCentralRecord = (bytes: Uint8Array) =>
    bytes.length === 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x01 && bytes[3] === 0x02;
  if (isCentralRecord(await source.read(start, 4))) return 0;
  return isCentralRecord(await source.read(start + concat, 4)) ? concat : 0;
}

function draftFromCentral(
  header: NonNullable<ReturnType<typeof parseCentralHeader>>,
  nameBytes: Uint8Array,
  extra: Uint8Array,
  index: number,
  findings: FindingList,
  limits: ZipLimits,
): EntryDraft {
  const { name, fullName } = decodeEntryName(nameBytes, header.flags, limits.maxNameBytes);
  let { uncompressedSize, compressedSize, localHeaderOffset } = header;
  const wanted = {
    uncompressedSize: uncompressedSize === ZIP64_MARKER_32,
    compressedSize: compressedSize === ZIP64_MARKER_32,
    localHeaderOffset: localHeaderOffset === ZIP64_MARKER_32,
    diskStart: header.diskStart === ZIP64_MARKER_16,
  };
  let zip64 = false;
  if (wanted.uncompressedSize || wanted.compressedSize || wanted.localHeaderOffset || wanted.diskStart) {
    const values = readZip64Extra(extra, wanted);
    zip64 = values.present;
    uncompressedSize = values.uncompressedSize ?? uncompressedSize;
    compressedSize = values.compressedSize ?? compressedSize;
    localHeaderOffset = values.localHeaderOffset ?? localHeaderOffset;
    if (values.missing.length > 0) {
      findings.add('zip.zip64.invalid', {
        detail: `Entry ${quoteName(name)} defers ${values.missing.join(', ')} to a ZIP64 extra field that is ${values.present ? 'too short' : 'missing'}; the 32-bit values were used.`,
        location: { offset: header.offset },
      });
    }
  }
  return {
    entry: {
      index,
      name,
      centralName: name,
      localName: null,
      method: header.method,
      flags: header.flags,
      localFlags: null,
      crc32: header.crc32,
      compressedSize,
      uncompressedSize,
      centralHeaderOffset: header.offset,
      localHeaderOffset,
      dataOffset: null,
      externalAttributes: header.externalAttributes,
      versionMadeBy: header.versionMadeBy,
      zip64,
      isDirectory: fullName.endsWith('/'),
      isSymlink: isUnixSymlink(header.versionMadeBy, header.externalAttributes),
      readable: false,
    },
    centralNameBytes: nameBytes,
    fullName,
    nameByteLength: nameBytes.length,
  };
}

/** The first bytes of a window, in hex, for "expected X but found Y" messages. */
export function describeBytes(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'the end of the file';
  return [...bytes.subarray(0, 4)].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
}
