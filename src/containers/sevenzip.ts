/**
 * 7z archive reader: signature header, archive directory (plain or
 * "encoded", i.e. itself LZMA-compressed), folders and members, and the
 * members' bytes decoded on the fly.
 * Spec: 7-Zip's DOC/7zFormat.txt and DOC/Methods.txt (https://www.7-zip.org/sdk.html).
 *
 * Layout: a 32-byte signature header (`37 7A BC AF 27 1C`, version, CRC of
 * the start header, then the offset, size and CRC of the directory), packed
 * streams, and the directory at the end. The directory lists folders (coder
 * chains over packed streams, e.g. BCJ ← LZMA2), how each folder's output
 * splits into members (a solid archive packs many files in one folder), and
 * the members' names and attributes.
 *
 * Threat surface: 7z is how "nullifAI" (2025) shipped PyTorch pickles past
 * scanners that only read zips, so every member is decoded and handed to the
 * format registry; what cannot be decoded (PPMd, BZip2, Deflate, AES, BCJ2,
 * ARM filters) is a high finding naming the method, never a silent pass.
 * Beyond that: offsets and sizes pointing outside the file, directories that
 * claim millions of items, directories compressed inside directories,
 * dictionaries of gigabytes, decompression bombs, CRCs that do not match
 * (7-Zip extracts such members anyway, with a warning), traversal and
 * symlink names. Header records are parsed with the limits of
 * sevenzip-header.ts; decoded output is capped per archive; findings are
 * capped per rule. Structural errors that make 7-Zip refuse the archive are
 * ParseErrors; the rest are findings and the reader goes on.
 */
import { MAX_DICTIONARY_BYTES } from '../compression/lzma.ts';
import { type ByteSource, DEFAULT_CHUNK_SIZE, clampRange, throwIfAborted } from '../io/byte-source.ts';
import { safeNumber } from '../io/cursor.ts';
import { ParseError } from '../io/parse-error.ts';
import type { Finding } from '../report/types.ts';
import { createFinding } from '../rules/index.ts';
import { createCrc32, crc32, formatCrc32 } from './zip-crc32.ts';
import { type FindingList, createFindingList } from './zip-finding-list.ts';
import { quoteName, traversalReason, unusualNameReason } from './zip-names.ts';
import { createFolderDecoder, planFolder } from './sevenzip-folder.ts';
import {
  DEFAULT_HEADER_LIMITS,
  HeaderCursor,
  PROPERTY,
  type SevenZipCoder,
  type SevenZipFolderInfo,
  type SevenZipHeaderInfo,
  type SevenZipHeaderLimits,
  folderUnpackSize,
  readHeader,
  readStreamsInfo,
} from './sevenzip-header.ts';

export { MAX_CODERS_PER_FOLDER, MAX_FOLDERS, MAX_MEMBERS, MAX_PACK_STREAMS } from './sevenzip-header.ts';

/** The first six bytes of every 7z archive. */
export const SEVEN_ZIP_SIGNATURE = [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c] as const;

/** Signature, version, start header CRC, next-header offset, size and CRC. */
export const SIGNATURE_HEADER_BYTES = 32;

/** Directory bytes read at most, plain or decoded: real ones take ~100 bytes per member (CWE-770). */
export const MAX_HEADER_BYTES = 64 * 1024 * 1024;

/**
 * Decoded bytes per archive at most: bounds the time a decompression bomb
 * costs (CWE-409, CWE-400). A folder is charged its decoder's memory when
 * that is more than its output, so thousands of tiny folders declaring
 * large dictionaries cannot make the walk allocate without end (CWE-770).
 */
export const MAX_ARCHIVE_DECODED_BYTES = 4 * 1024 ** 3;

/** Findings listed per rule; the rest are counted in one summary finding (CWE-770). */
export const MAX_FINDINGS_PER_RULE = 100;

/** Member names listed in one finding about many members. */
const MAX_NAMES_IN_DETAIL = 10;

/** Packed bytes fetched per read while decoding. */
const PACK_READ_BYTES = 1024 * 1024;

/** Bytes a member's `read` may decode only to skip them: random access into a compressed folder is O(offset) (CWE-400). */
export const MAX_SEEK_DECODE_BYTES = 256 * 1024 * 1024;

/** Windows attribute bits and the Unix mode 7-Zip stores in the high 16 bits (with 0x8000 set). */
const ATTRIBUTE_DIRECTORY = 0x10;
const ATTRIBUTE_REPARSE_POINT = 0x400;
const ATTRIBUTE_UNIX_EXTENSION = 0x8000;
const UNIX_FILE_TYPE_MASK = 0o170000;
const UNIX_SYMLINK = 0o120000;

export interface SevenZipLimits extends SevenZipHeaderLimits {
  maxHeaderBytes: number;
  maxFindingsPerRule: number;
  maxDictionaryBytes: number;
}

export const DEFAULT_SEVEN_ZIP_LIMITS: Readonly<SevenZipLimits> = {
  ...DEFAULT_HEADER_LIMITS,
  maxHeaderBytes: MAX_HEADER_BYTES,
  maxFindingsPerRule: MAX_FINDINGS_PER_RULE,
  maxDictionaryBytes: MAX_DICTIONARY_BYTES,
};

/** One member (file, directory, link) as plain data. */
export interface SevenZipMember {
  /** Position in the directory's file list, from 0. */
  index: number;
  /** Path as stored (UTF-16 decoded), verbatim: evidence, never a path to resolve. */
  name: string;
  /** Has bytes in a folder (false for empty files, directories and anti-items). */
  hasStream: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
  /** An anti-item: extraction deletes this path. */
  isAnti: boolean;
  /** Declared decoded size. */
  size: number;
  crc: number | null;
  /** Folder holding the bytes; null without a stream. */
  folderIndex: number | null;
  /** Offset of the member's first byte in its folder's decoded output. */
  offsetInFolder: number;
  /** Windows attributes (with the Unix mode in the high 16 bits when bit 0x8000 is set); null when absent. */
  attributes: number | null;
}

export interface SevenZipFolder {
  index: number;
  coders: SevenZipCoder[];
  /** Method names from packed side to output side, e.g. `LZMA2`, `BCJ`. */
  methods: string[];
  /** Absolute offset of its packed stream(s) in the file, and their total size. */
  packOffset: number;
  packSize: number;
  unpackSize: number;
  crc: number | null;
  /** Preflight can decode it (see sevenzip-folder.ts). */
  decodable: boolean;
  /** Why not, when it cannot. */
  unsupportedReason: string | null;
  /** Members stored in it, in order. */
  memberIndices: number[];
  /** The raw folder record, for decoding. */
  info: SevenZipFolderInfo;
}

export interface SevenZipArchive {
  version: { major: number; minor: number };
  /** Absolute offset and size of the directory as stored. */
  headerOffset: number;
  headerSize: number;
  /** The directory was stored compressed ("encoded header"). */
  headerEncoded: boolean;
  folders: SevenZipFolder[];
  members: SevenZipMember[];
  findings: Finding[];
}

export interface ReadSevenZipOptions {
  signal?: AbortSignal;
  limits?: Partial<SevenZipLimits>;
}

/**
 * Read a 7z archive's directory with every anomaly as a finding. Throws a
 * ParseError when the archive cannot be read at all (bad signature, unknown
 * version, directory outside the file or invalid, directory encrypted);
 * otherwise returns what it read. Reads are bounded: the 32-byte signature
 * header, the directory, and (for an encoded directory) its packed stream.
 */
export async function readSevenZipArchive(source: ByteSource, options: ReadSevenZipOptions = {}): Promise<SevenZipArchive> {
  const limits: SevenZipLimits = { ...DEFAULT_SEVEN_ZIP_LIMITS, ...options.limits };
  const findings = createFindingList(limits.maxFindingsPerRule);
  const start = await source.read(0, SIGNATURE_HEADER_BYTES);
  if (start.length < SIGNATURE_HEADER_BYTES) {
    throw new ParseError('sevenzip.header.truncated', 0, `7z signature header needs ${SIGNATURE_HEADER_BYTES} bytes but the file has ${start.length}`);
  }
  if (!SEVEN_ZIP_SIGNATURE.every((byte, index) => start[index] === byte)) {
    throw new ParseError('sevenzip.header.invalid', 0, '7z signature 37 7A BC AF 27 1C not found at offset 0');
  }
  const view = new DataView(start.buffer, start.byteOffset, start.length);
  const version = { major: start[6], minor: start[7] };
  if (version.major !== 0) {
    throw new ParseError('sevenzip.version.unsupported', 6, `7z format version ${version.major}.${version.minor} at offset 6; only major version 0 exists`);
  }
  const declaredStartCrc = view.getUint32(8, true);
  const actualStartCrc = crc32(start.subarray(12, 32));
  // All zeros, CRC included, is what an interrupted write leaves: reported below as an empty start header, not as a CRC error.
  const zeroedStart = start.subarray(8, 32).every((byte) => byte === 0);
  if (declaredStartCrc !== actualStartCrc && !zeroedStart) {
    findings.add('sevenzip.header.crc-mismatch', {
      detail: `The start header declares CRC-32 ${formatCrc32(declaredStartCrc)} but its 20 bytes have ${formatCrc32(actualStartCrc)}.`,
      location: { offset: 8, length: 24 },
      evidence: `declared ${formatCrc32(declaredStartCrc)}, computed ${formatCrc32(actualStartCrc)}`,
    });
  }
  const nextOffset = safeNumber(view.getBigUint64(12, true));
  const nextSize = safeNumber(view.getBigUint64(20, true));
  const nextCrc = view.getUint32(28, true);
  const archive: SevenZipArchive = {
    version,
    headerOffset: SIGNATURE_HEADER_BYTES,
    headerSize: 0,
    headerEncoded: false,
    folders: [],
    members: [],
    findings: [],
  };
  if (nextSize === 0 && nextOffset === 0) {
    // An empty archive: 7-Zip writes exactly this, and nothing after it.
    if (source.size > SIGNATURE_HEADER_BYTES) {
      findings.add('sevenzip.header.empty-start', {
        detail: `The start header points at no directory, but ${source.size - SIGNATURE_HEADER_BYTES} bytes follow it; 7-Zip would search them for a directory.`,
        location: { offset: SIGNATURE_HEADER_BYTES, length: source.size - SIGNATURE_HEADER_BYTES },
      });
    }
    archive.findings = findings.toArray();
    return archive;
  }
  const headerOffset = nextOffset === null ? null : SIGNATURE_HEADER_BYTES + nextOffset;
  if (headerOffset === null || nextSize === null || headerOffset + nextSize > source.size) {
    throw new ParseError(
      'sevenzip.header.out-of-bounds',
      12,
      `7z directory at offset ${headerOffset ?? view.getBigUint64(12, true) + 32n} of ${nextSize ?? view.getBigUint64(20, true)} bytes ends past the end of the ${source.size}-byte file`,
    );
  }
  if (nextSize > limits.maxHeaderBytes) {
    throw new ParseError('sevenzip.header.too-large', 20, `7z directory of ${nextSize} bytes exceeds the limit of ${limits.maxHeaderBytes}`);
  }
  archive.headerOffset = headerOffset;
  archive.headerSize = nextSize;
  const archiveEnd = headerOffset + nextSize;
  if (archiveEnd < source.size) {
    findings.add('sevenzip.trailing-data', {
      detail: `${source.size - archiveEnd} bytes follow the archive directory, which ends at offset ${archiveEnd}.`,
      location: { offset: archiveEnd, length: source.size - archiveEnd },
    });
  }
  throwIfAborted(options.signal);
  const headerBytes = await source.read(headerOffset, nextSize);
  if (headerBytes.length < nextSize) {
    throw new ParseError('sevenzip.header.out-of-bounds', headerOffset, `7z directory at offset ${headerOffset} needs ${nextSize} bytes but ${headerBytes.length} could be read`);
  }
  const actualHeaderCrc = crc32(headerBytes);
  if (actualHeaderCrc !== nextCrc) {
    findings.add('sevenzip.header.crc-mismatch', {
      detail: `The directory declares CRC-32 ${formatCrc32(nextCrc)} but its ${nextSize} bytes have ${formatCrc32(actualHeaderCrc)}.`,
      location: { offset: headerOffset, length: nextSize },
      evidence: `declared ${formatCrc32(nextCrc)}, computed ${formatCrc32(actualHeaderCrc)}`,
    });
  }
  let header = new HeaderCursor(headerBytes, headerOffset, 'header');
  const kind = header.byte();
  if (kind === PROPERTY.encodedHeader) {
    archive.headerEncoded = true;
    const decoded = await decodeEncodedHeader(source, header, limits, findings, options.signal);
    header = new HeaderCursor(decoded, 0, 'decoded header');
    const innerKind = header.byte();
    if (innerKind === PROPERTY.encodedHeader) {
      throw new ParseError('sevenzip.header.nested-encoding', headerOffset, '7z decoded directory is itself an encoded directory; 7-Zip allows one level');
    }
    if (innerKind !== PROPERTY.header) {
      throw new ParseError('sevenzip.header.invalid', headerOffset, `7z decoded directory starts with 0x${innerKind.toString(16)}, not a header record`);
    }
  } else if (kind !== PROPERTY.header) {
    throw new ParseError('sevenzip.header.invalid', headerOffset, `7z directory at offset ${headerOffset} starts with 0x${kind.toString(16)}, not a header record`);
  }
  const info = readHeader(header, limits);
  buildArchive(archive, info, source.size, findings);
  archive.findings = findings.toArray();
  return archive;
}

/** Decode an encoded directory: one folder, bounded by the header limit, its CRC checked. */
async function decodeEncodedHeader(
  source: ByteSource,
  header: HeaderCursor,
  limits: SevenZipLimits,
  findings: FindingList,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  const at = header.position;
  const streams = readStreamsInfo(header, limits);
  if (streams.folders.length !== 1) {
    throw new ParseError('sevenzip.header.invalid', at, `7z encoded directory has ${streams.folders.length} folders; 7-Zip expects exactly 1`);
  }
  const folder = streams.folders[0];
  const size = folderUnpackSize(folder);
  if (size > limits.maxHeaderBytes) {
    throw new ParseError('sevenzip.header.too-large', at, `7z encoded directory decodes to ${size} bytes, over the limit of ${limits.maxHeaderBytes}`);
  }
  const plan = planFolder(folder);
  if (!plan.decodable) {
    throw new ParseError(
      'sevenzip.coder.unsupported',
      at,
      `7z directory is stored with ${folder.coders.map((coder) => coder.method).join(' + ')}, which Preflight cannot decode (the folder ${plan.reason}): no member was listed or inspected`,
    );
  }
  const packOffset = SIGNATURE_HEADER_BYTES + streams.packPosition;
  const packSize = streams.packSizes[0] ?? 0;
  if (packOffset + packSize > source.size) {
    throw new ParseError('sevenzip.header.out-of-bounds', at, `7z encoded directory's packed stream at offset ${packOffset} of ${packSize} bytes ends past the end of the ${source.size}-byte file`);
  }
  if (packSize > limits.maxHeaderBytes) {
    throw new ParseError('sevenzip.header.too-large', at, `7z encoded directory's packed stream of ${packSize} bytes exceeds the limit of ${limits.maxHeaderBytes}`);
  }
  throwIfAborted(signal);
  const packed = await source.read(packOffset, packSize);
  const decoder = createFolderDecoder(folder, plan.steps, { maxOutputBytes: size, maxDictionaryBytes: limits.maxDictionaryBytes, packOffset });
  const decoded = new Uint8Array(size);
  let filled = 0;
  const take = (piece: Uint8Array) => {
    decoded.set(piece.subarray(0, size - filled), filled);
    filled += Math.min(piece.length, size - filled);
  };
  for (const piece of decoder.push(packed)) take(piece);
  for (const piece of decoder.finish()) take(piece);
  if (filled < size) {
    throw new ParseError('compression.size-mismatch', packOffset, `7z encoded directory decodes to ${filled} bytes but declares ${size}`);
  }
  if (folder.crc !== null && crc32(decoded) !== folder.crc) {
    findings.add('sevenzip.header.crc-mismatch', {
      detail: `The decoded directory declares CRC-32 ${formatCrc32(folder.crc)} but its ${size} bytes have ${formatCrc32(crc32(decoded))}.`,
      location: { offset: packOffset, length: packSize },
    });
  }
  return decoded;
}

function isSymlinkAttributes(attributes: number | null): boolean {
  if (attributes === null) return false;
  if (attributes & ATTRIBUTE_REPARSE_POINT) return true;
  return (attributes & ATTRIBUTE_UNIX_EXTENSION) !== 0 && ((attributes >>> 16) & UNIX_FILE_TYPE_MASK) === UNIX_SYMLINK;
}

/** Folders and members from the parsed directory, with the per-member checks. */
function buildArchive(archive: SevenZipArchive, info: SevenZipHeaderInfo, fileSize: number, findings: FindingList): void {
  const streams = info.streams;
  let packIndex = 0;
  let packOffset = SIGNATURE_HEADER_BYTES + (streams?.packPosition ?? 0);
  archive.folders = (streams?.folders ?? []).map((folderInfo, index) => {
    const packCount = folderInfo.packedInStreams.length;
    const sizes = streams!.packSizes.slice(packIndex, packIndex + packCount);
    const packSize = sizes.reduce((sum, size) => sum + size, 0);
    const plan = planFolder(folderInfo);
    const folder: SevenZipFolder = {
      index,
      coders: folderInfo.coders,
      methods: plan.decodable ? plan.steps.map((step) => step.coder.method) : folderInfo.coders.map((coder) => coder.method),
      packOffset,
      packSize,
      unpackSize: folderUnpackSize(folderInfo),
      crc: folderInfo.crc,
      decodable: plan.decodable,
      unsupportedReason: plan.decodable ? null : plan.reason,
      memberIndices: [],
      info: folderInfo,
    };
    if (packOffset + packSize > fileSize) {
      findings.add('sevenzip.pack.out-of-bounds', {
        detail: `Folder ${index}'s packed data at offset ${packOffset} of ${packSize} bytes ends past the end of the ${fileSize}-byte file.`,
        location: { offset: Math.min(packOffset, fileSize) },
      });
    }
    packIndex += packCount;
    packOffset += packSize;
    return folder;
  });

  let folderIndex = 0;
  let substream = 0;
  let offsetInFolder = 0;
  const nextStream = (): { folder: number; size: number; crc: number | null; offset: number } => {
    // Skip folders that hold no streams.
    while (streams && folderIndex < streams.folders.length && substream >= streams.substreams[folderIndex].sizes.length) {
      folderIndex++;
      substream = 0;
      offsetInFolder = 0;
    }
    const entry = streams!.substreams[folderIndex];
    const result = { folder: folderIndex, size: entry.sizes[substream], crc: entry.crcs[substream] ?? null, offset: offsetInFolder };
    offsetInFolder += entry.sizes[substream];
    substream++;
    return result;
  };

  const seen = new Map<string, number>();
  archive.members = info.files.map((file, index) => {
    const stream = file.hasStream ? nextStream() : null;
    const attributes = file.attributes;
    const member: SevenZipMember = {
      index,
      name: file.name,
      hasStream: file.hasStream,
      isDirectory: attributes !== null ? (attributes & ATTRIBUTE_DIRECTORY) !== 0 : !file.hasStream && !file.isEmptyFile,
      isSymlink: isSymlinkAttributes(attributes),
      isAnti: file.isAnti,
      size: stream?.size ?? 0,
      crc: stream?.crc ?? null,
      folderIndex: stream?.folder ?? null,
      offsetInFolder: stream?.offset ?? 0,
      attributes,
    };
    if (stream) archive.folders[stream.folder].memberIndices.push(index);
    checkMemberName(member, findings, seen);
    return member;
  });

  for (const folder of archive.folders) {
    if (folder.decodable || folder.memberIndices.length === 0) continue;
    const names = folder.memberIndices.map((index) => archive.members[index].name);
    findings.add('sevenzip.coder.unsupported', {
      detail: `Folder ${folder.index} (${folder.methods.join(' + ')}) ${folder.unsupportedReason}; its ${names.length} member(s) were not inspected: ${listNames(names)}.`,
      location: names.length === 1 ? { entry: names[0], offset: folder.packOffset } : { offset: folder.packOffset },
      evidence: folder.coders.map((coder) => `${coder.method} (id ${coder.methodId})`).join(', '),
    });
  }
}

function checkMemberName(member: SevenZipMember, findings: FindingList, seen: Map<string, number>): void {
  const location = { entry: member.name };
  const traversal = traversalReason(member.name);
  if (traversal) {
    findings.add('sevenzip.member.path-traversal', { detail: `Member ${quoteName(member.name)}: ${traversal}.`, location });
  }
  const unusual = unusualNameReason(member.name);
  if (unusual) {
    findings.add('sevenzip.member.name-unusual', { detail: `Member ${quoteName(member.name)} contains ${unusual}.`, location });
  }
  if (member.isSymlink) {
    findings.add('sevenzip.member.symlink', {
      detail: `Member ${quoteName(member.name)} is stored as a symbolic link (attributes 0x${(member.attributes ?? 0).toString(16)}); its target is its content.`,
      location,
    });
  }
  if (member.isAnti) {
    findings.add('sevenzip.member.anti', { detail: `Member ${quoteName(member.name)} is an anti-item: 7-Zip deletes this path on extraction.`, location });
  }
  if (!member.isDirectory && !member.isAnti) {
    const previous = seen.get(member.name);
    if (previous !== undefined) {
      findings.add('sevenzip.member.duplicate-name', {
        detail: `Members ${previous} and ${member.index} are both named ${quoteName(member.name)}.`,
        location,
      });
    } else {
      seen.set(member.name, member.index);
    }
  }
}

/** Up to MAX_NAMES_IN_DETAIL quoted names, then a count. */
export function listNames(names: readonly string[]): string {
  const shown = names.slice(0, MAX_NAMES_IN_DETAIL).map(quoteName).join(', ');
  return names.length > MAX_NAMES_IN_DETAIL ? `${shown} and ${names.length - MAX_NAMES_IN_DETAIL} more` : shown;
}

/** Events of a walk through the members' decoded bytes, in archive order. */
export type SevenZipMemberEvent =
  | { type: 'start'; member: SevenZipMember }
  /** Bytes of the member, in order; a view valid until the next event. */
  | { type: 'data'; member: SevenZipMember; bytes: Uint8Array }
  /** `complete` is false when decoding stopped inside the member (error or limit, reported as a finding). */
  | { type: 'end'; member: SevenZipMember; complete: boolean; decodedBytes: number };

export interface WalkSevenZipOptions {
  signal?: AbortSignal;
  /** Decoded bytes over the whole walk at most (default MAX_ARCHIVE_DECODED_BYTES). */
  maxDecodedBytes?: number;
  /** Largest LZMA dictionary allocated (default MAX_DICTIONARY_BYTES). */
  maxDictionaryBytes?: number;
  /** Only these folders (default: all). */
  folders?: readonly number[];
  /**
   * Receives findings about decoding: corrupt or truncated streams,
   * dictionaries over the limit, the decoded-bytes limit, CRC and size
   * mismatches, and the members that were not inspected because of them.
   */
  onFinding?(finding: Finding): void;
}

/**
 * Decode the members' bytes: each decodable folder once, front to back,
 * split into its members by their sizes (so a solid archive costs one pass),
 * with each member's CRC-32 checked at its end. Members of folders that
 * cannot be decoded, and members without data, give no events (the archive
 * findings cover the former). Never throws for bad data: errors become
 * findings through `onFinding`; only cancellation and source read failures throw.
 */
export async function* walkSevenZipMembers(
  source: ByteSource,
  archive: SevenZipArchive,
  options: WalkSevenZipOptions = {},
): AsyncGenerator<SevenZipMemberEvent, void, undefined> {
  const report = options.onFinding ?? (() => undefined);
  let budget = Math.max(0, options.maxDecodedBytes ?? MAX_ARCHIVE_DECODED_BYTES);
  const selected = options.folders ? new Set(options.folders) : null;
  const folders = archive.folders.filter((folder) => (!selected || selected.has(folder.index)) && folder.decodable && folder.memberIndices.length > 0);
  for (const [position, folder] of folders.entries()) {
    if (budget <= 0) {
      // One finding for everything left, however many folders that is.
      const rest = folders.slice(position).flatMap((skipped) => skipped.memberIndices.map((index) => archive.members[index].name));
      report(
        createFinding('sevenzip.member.not-inspected', {
          detail: `The archive-wide limit of ${options.maxDecodedBytes ?? MAX_ARCHIVE_DECODED_BYTES} decoded bytes was reached before folder ${folder.index}; ${rest.length} member(s) in ${folders.length - position} folder(s) were not inspected: ${listNames(rest)}.`,
          location: { offset: folder.packOffset },
        }),
      );
      return;
    }
    const members = folder.memberIndices.map((index) => archive.members[index]);
    budget -= yield* walkFolder(source, folder, members, budget, options, report);
  }
}

/** One folder's walk; returns the budget it used: its decoded bytes, or its decoder's memory when larger. */
async function* walkFolder(
  source: ByteSource,
  folder: SevenZipFolder,
  members: SevenZipMember[],
  budget: number,
  options: WalkSevenZipOptions,
  report: (finding: Finding) => void,
): AsyncGenerator<SevenZipMemberEvent, number, undefined> {
  const plan = planFolder(folder.info);
  if (!plan.decodable) return 0;
  let memberIndex = 0;
  let started = false;
  let taken = 0;
  let crc = createCrc32();
  let folderCrc = createCrc32();
  let decoded = 0;
  let memoryBytes = 0;
  const maxOutputBytes = Math.min(budget, folder.unpackSize);

  function* split(piece: Uint8Array): Generator<SevenZipMemberEvent, void, undefined> {
    let offset = 0;
    decoded += piece.length;
    if (folder.crc !== null && members.length > 1) folderCrc.push(piece);
    for (;;) {
      if (memberIndex >= members.length) return;
      const member = members[memberIndex];
      if (!started) {
        started = true;
        taken = 0;
        crc = createCrc32();
        yield { type: 'start', member };
      }
      const count = Math.min(member.size - taken, piece.length - offset);
      if (count > 0) {
        const bytes = piece.subarray(offset, offset + count);
        crc.push(bytes);
        taken += count;
        offset += count;
        yield { type: 'data', member, bytes };
      }
      if (taken < member.size) return;
      checkMemberCrc(member, crc.value, report);
      yield { type: 'end', member, complete: true, decodedBytes: taken };
      started = false;
      memberIndex++;
      if (offset >= piece.length && memberIndex < members.length && members[memberIndex].size > 0) return;
    }
  }

  try {
    const decoder = createFolderDecoder(folder.info, plan.steps, {
      maxOutputBytes,
      maxDictionaryBytes: options.maxDictionaryBytes,
      packOffset: folder.packOffset,
    });
    memoryBytes = decoder.memoryBytes ?? 0;
    // Members of size 0 at the start of the folder need no bytes.
    yield* split(new Uint8Array(0));
    const [start, end] = clampRange(source.size, folder.packOffset, folder.packSize);
    for (let position = start; position < end; ) {
      throwIfAborted(options.signal);
      const chunk = await source.read(position, Math.min(PACK_READ_BYTES, end - position));
      if (chunk.length === 0) break;
      position += chunk.length;
      for (const piece of decoder.push(chunk)) yield* split(piece);
      if (decoder.status !== 'running') break;
    }
    // Always finish: filters after the decompressor (BCJ) hold back their last bytes until then.
    for (const piece of decoder.finish()) yield* split(piece);
    memoryBytes = decoder.memoryBytes ?? 0;
    if (decoded < folder.unpackSize) {
      const limited = decoded >= maxOutputBytes && maxOutputBytes < folder.unpackSize;
      report(
        limited
          ? createFinding('compression.limit', {
              detail: `Decoding stopped at the archive-wide limit after ${decoded} of folder ${folder.index}'s ${folder.unpackSize} bytes.`,
              location: { offset: folder.packOffset },
            })
          : createFinding('compression.size-mismatch', {
              detail: `Folder ${folder.index} decodes to ${decoded} bytes but declares ${folder.unpackSize}.`,
              location: { offset: folder.packOffset },
            }),
      );
    } else if (folder.crc !== null && members.length > 1 && folderCrc.value !== folder.crc) {
      report(
        createFinding('sevenzip.member.crc-mismatch', {
          detail: `Folder ${folder.index} declares CRC-32 ${formatCrc32(folder.crc)} but its ${decoded} decoded bytes have ${formatCrc32(folderCrc.value)}.`,
          location: { offset: folder.packOffset },
        }),
      );
    }
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    const member = members[memberIndex];
    report(
      createFinding(error.rule, {
        detail: `Folder ${folder.index}${member ? `, member ${quoteName(member.name)}` : ''}: ${error.message}`,
        location: { offset: error.offset },
      }),
    );
  }
  if (memberIndex < members.length) {
    const stopped = members.slice(memberIndex);
    if (started) {
      yield { type: 'end', member: stopped[0], complete: false, decodedBytes: taken };
    }
    report(
      createFinding('sevenzip.member.not-inspected', {
        detail: `Decoding of folder ${folder.index} stopped after ${decoded} of ${folder.unpackSize} bytes; these member(s) were not inspected in full: ${listNames(stopped.map((member) => member.name))}.`,
        location: stopped.length === 1 ? { entry: stopped[0].name } : { offset: folder.packOffset },
      }),
    );
  }
  return Math.max(decoded, memoryBytes);
}

function checkMemberCrc(member: SevenZipMember, actual: number, report: (finding: Finding) => void): void {
  if (member.crc === null || member.crc === actual) return;
  report(
    createFinding('sevenzip.member.crc-mismatch', {
      detail: `Member ${quoteName(member.name)} declares CRC-32 ${formatCrc32(member.crc)} but its ${member.size} bytes have ${formatCrc32(actual)}.`,
      location: { entry: member.name, offset: 0, length: member.size },
      evidence: `declared ${formatCrc32(member.crc)}, computed ${formatCrc32(actual)}`,
    }),
  );
}

/** Name of a member's source: `<archive name>/<member name>`, verbatim (evidence, never a path to resolve). */
export function sevenZipMemberSourceName(archiveName: string, memberName: string): string {
  return `${archiveName}/${memberName}`;
}

export interface OpenSevenZipMemberOptions extends Omit<WalkSevenZipOptions, 'folders' | 'signal'> {
  /** Cap on bytes `read` decodes only to skip them (default MAX_SEEK_DECODE_BYTES). */
  maxSeekDecodeBytes?: number;
}

/**
 * A member's bytes as a ByteSource. `chunks()` decodes its folder from the
 * start (members before it in a solid folder are decoded and skipped) and
 * checks its CRC at the end; `read(offset, length)` does the same up to the
 * range asked for, so it costs O(offset in the folder) and is refused with
 * `container.inflate.seek-limit` past `maxSeekDecodeBytes`. To inspect every
 * member, walk the archive once with walkSevenZipMembers instead.
 * Throws a ParseError for a member of a folder that cannot be decoded.
 */
export function openSevenZipMember(source: ByteSource, archive: SevenZipArchive, member: SevenZipMember, options: OpenSevenZipMemberOptions = {}): ByteSource {
  const name = sevenZipMemberSourceName(source.name, member.name);
  const folder = member.folderIndex === null ? null : archive.folders[member.folderIndex];
  if (folder && !folder.decodable) {
    throw new ParseError('sevenzip.coder.unsupported', folder.packOffset, `Member ${quoteName(member.name)} is stored with ${folder.methods.join(' + ')}, which Preflight cannot decode`);
  }
  const size = Math.min(member.size, options.maxDecodedBytes ?? MAX_ARCHIVE_DECODED_BYTES);
  const maxSeek = options.maxSeekDecodeBytes ?? MAX_SEEK_DECODE_BYTES;

  /** The member's decoded bytes, cut at `size`; the walk stops (and reports nothing more) once they are out. */
  async function* memberPieces(signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    if (!folder || size === 0) return;
    let given = 0;
    for await (const event of walkSevenZipMembers(source, archive, { ...options, folders: [folder.index], signal })) {
      if (event.member.index !== member.index) continue;
      if (event.type === 'end') return;
      if (event.type !== 'data') continue;
      const piece = event.bytes.subarray(0, size - given);
      given += piece.length;
      if (piece.length > 0) yield piece;
      if (given >= size) return;
    }
  }

  return {
    name,
    size,
    async read(offset, length) {
      const [from, to] = clampRange(size, offset, length);
      if (to <= from) return new Uint8Array(0);
      if (member.offsetInFolder + from > maxSeek) {
        throw new ParseError(
          'container.inflate.seek-limit',
          from,
          `Reading ${name} at offset ${from} needs ${member.offsetInFolder + from} bytes decoded first, over the limit of ${maxSeek}; walk the archive instead`,
        );
      }
      const result = new Uint8Array(to - from);
      let position = 0;
      let filled = 0;
      for await (const piece of memberPieces()) {
        const start = Math.max(from, position);
        const stop = Math.min(to, position + piece.length);
        if (stop > start) {
          result.set(piece.subarray(start - position, stop - position), start - from);
          filled = stop - from;
        }
        position += piece.length;
        if (position >= to) break;
      }
      return filled === result.length ? result : result.slice(0, filled);
    },
    async *chunks(chunkOptions = {}) {
      const chunkSize = Math.max(1, chunkOptions.chunkSize ?? DEFAULT_CHUNK_SIZE);
      let buffer: Uint8Array | null = null;
      let filled = 0;
      for await (const piece of memberPieces(chunkOptions.signal)) {
        let offset = 0;
        while (offset < piece.length) {
          buffer ??= new Uint8Array(Math.min(chunkSize, size));
          const count = Math.min(chunkSize - filled, piece.length - offset);
          buffer.set(piece.subarray(offset, offset + count), filled);
          filled += count;
          offset += count;
          if (filled === buffer.length) {
            yield buffer;
            filled = 0;
          }
        }
      }
      if (buffer && filled > 0) yield buffer.subarray(0, filled);
    },
  };
}
