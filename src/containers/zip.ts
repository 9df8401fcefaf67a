import type { StreamScanner } from '../formats/types.ts';
import { type ByteSource, throwIfAborted } from '../io/byte-source.ts';
import { MAX_INFLATED_BYTES, MAX_SEEK_DECODE_BYTES, createInflateSource } from '../io/inflate-source.ts';
import { ParseError } from '../io/parse-error.ts';
import { createSliceSource } from '../io/slice-source.ts';
import type { Finding } from '../report/types.ts';
import { createFinding } from '../rules/index.ts';
import { checkEntries, checkLayout } from './zip-checks.ts';
import { locateEndRecord, readCentralDirectory } from './zip-central.ts';
import { createCrc32, formatCrc32 } from './zip-crc32.ts';
import { createFindingList } from './zip-finding-list.ts';
import { readLocalHeaders, walkLocalHeaders } from './zip-local.ts';
import { quoteName } from './zip-names.ts';
import { END_RECORD_SEARCH_BYTES, ZIP_FLAG, ZIP_METHOD } from './zip-records.ts';

/**
 * Zip reader for model containers (PyTorch checkpoints, NumPy .npz, Keras
 * .keras), lenient the way PyTorch's loader is and suspicious the way a
 * scanner must be.
 * Spec: https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT
 *
 * PyTorch reads zips with miniz (caffe2 `PyTorchStreamReader`): it finds the
 * end of central directory record by searching backwards from the end, takes
 * names, sizes and offsets from the central directory, uses the local header
 * only to skip to the data, and is built without CRC checks. Python's zipfile,
 * on which many scanners are built, refuses entries whose local name differs,
 * whose flags say encrypted or patched, or whose CRC is wrong. Each such gap
 * is a way to ship a pickle that torch.load runs and a scanner skips
 * (CVE-2025-1944, CVE-2025-1945, CVE-2025-10156), so this reader reads every
 * entry as PyTorch would and reports every disagreement as a finding.
 * The threat surface beyond those: offsets and sizes pointing outside the file
 * or into each other (overlap bombs), declared sizes that lie (ZIP64 values up
 * to 2^64), decompression bombs, huge entry counts and names, traversal and
 * symlink names, duplicate names that readers resolve differently, and files
 * with no end record at all (walked from their local headers instead).
 *
 * An archive appended to other bytes without fixing its offsets (a
 * self-extractor, a polyglot) is read at shifted offsets as Python reads it,
 * since PyTorch would fail on it anyway; `offsetShift` says so.
 *
 * Nothing here throws for bad input: problems become findings and the reader
 * returns what it could read. Entry order is the central directory's.
 * Findings about headers carry file offsets and no `location.entry`; findings
 * about an entry's decoded bytes (from openZipEntry) carry the entry name and
 * offsets inside the entry.
 */

/** Entries inspected at most: each costs a local-header read and report rows; a checkpoint has one entry per storage, thousands at most (CWE-770). */
export const MAX_ENTRIES = 100_000;

/** Central directory bytes walked at most: real ones take ~100 bytes per entry, so this covers MAX_ENTRIES and bounds the memory names take (CWE-770). */
export const MAX_CENTRAL_DIRECTORY_BYTES = 64 * 1024 * 1024;

/** Name bytes kept per entry: Linux's PATH_MAX; longer names cannot be extracted anywhere and only bloat reports (CWE-770). */
export const MAX_NAME_BYTES = 4096;

/** Archive comment bytes kept: the field allows 65535 and no loader reads it (CWE-770). */
export const MAX_COMMENT_BYTES = 4096;

/** Declared decompressed/compressed ratio above which a large entry is called a bomb: weights compress less than 10:1; deflate's maximum is ~1032:1. */
export const MAX_INFLATE_RATIO = 100;

/** Entries declaring less than this are not called bombs whatever their ratio: zero-filled buffers of a few MiB are common and harmless. */
export const BOMB_MIN_DECLARED_BYTES = 64 * 1024 * 1024;

/** Bytes searched for a data descriptor when walking local headers without a central directory (CWE-400). */
export const MAX_DESCRIPTOR_SEARCH_BYTES = 64 * 1024 * 1024;

/** Findings listed per rule; the rest are counted in one summary finding, so 100 000 bad names still make a readable report (CWE-770). */
export const MAX_FINDINGS_PER_RULE = 100;

export { END_RECORD_SEARCH_BYTES, MAX_INFLATED_BYTES, MAX_SEEK_DECODE_BYTES, ZIP_FLAG, ZIP_METHOD };

/** The limits above, overridable per call (tests use small ones). */
export interface ZipLimits {
  maxEntries: number;
  maxCentralDirectoryBytes: number;
  maxNameBytes: number;
  maxCommentBytes: number;
  maxInflateRatio: number;
  bombMinDeclaredBytes: number;
  /** Entries declaring more than this are reported as bombs; openZipEntry's default cap is the same constant. */
  maxInflatedBytes: number;
  maxDescriptorSearchBytes: number;
  maxFindingsPerRule: number;
}

export const DEFAULT_ZIP_LIMITS: Readonly<ZipLimits> = {
  maxEntries: MAX_ENTRIES,
  maxCentralDirectoryBytes: MAX_CENTRAL_DIRECTORY_BYTES,
  maxNameBytes: MAX_NAME_BYTES,
  maxCommentBytes: MAX_COMMENT_BYTES,
  maxInflateRatio: MAX_INFLATE_RATIO,
  bombMinDeclaredBytes: BOMB_MIN_DECLARED_BYTES,
  maxInflatedBytes: MAX_INFLATED_BYTES,
  maxDescriptorSearchBytes: MAX_DESCRIPTOR_SEARCH_BYTES,
  maxFindingsPerRule: MAX_FINDINGS_PER_RULE,
};

/** One zip member, as plain data (it crosses worker boundaries). Sizes and offsets are bytes. */
export interface ZipEntry {
  /** Position in the central directory (or in the local-header walk), from 0. */
  index: number;
  /**
   * The name loaders look the member up by: the central directory's, or the
   * local header's when there is no central directory. Cut at MAX_NAME_BYTES.
   */
  name: string;
  /** Name in the central directory; null when the entry was found by walking local headers. */
  centralName: string | null;
  /** Name in the local header; null when the local header could not be read. */
  localName: string | null;
  /** Compression method from the central directory (0 stored, 8 deflate, others unreadable). */
  method: number;
  /** General purpose flags from the central directory (the local header's when there is none). */
  flags: number;
  /** General purpose flags from the local header; null when it could not be read. */
  localFlags: number | null;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  /** Offset of the central directory record; null for entries found by walking local headers. */
  centralHeaderOffset: number | null;
  localHeaderOffset: number;
  /** Offset of the first data byte (after the local name and extra field); null when the local header is unreadable. */
  dataOffset: number | null;
  externalAttributes: number;
  versionMadeBy: number;
  /** Sizes or offset came from a ZIP64 extra field. */
  zip64: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
  /** openZipEntry can give this entry's bytes: a supported method and a located local header. */
  readable: boolean;
}

export interface ZipDirectory {
  /** Where the entries came from: the central directory, or a walk of local headers when it is missing or unusable. */
  entriesFrom: 'central-directory' | 'local-headers';
  entries: ZipEntry[];
  findings: Finding[];
  /** Offset of the end of central directory record; null when none was found. */
  endRecordOffset: number | null;
  /** Where the central directory was read (after any offset shift). */
  centralDirectoryOffset: number | null;
  centralDirectorySize: number | null;
  /**
   * Bytes added to every declared offset because the archive was appended to
   * other data without fixing its offsets (read as Python does; PyTorch fails
   * on such files). 0 for ordinary archives.
   */
  offsetShift: number;
  /** Entry count the end record declares; null without one. */
  declaredEntryCount: number | null;
  /** A ZIP64 end record was found and used. */
  zip64: boolean;
  /** Archive comment (UTF-8, cut at MAX_COMMENT_BYTES). */
  comment: string;
}

export interface ReadZipOptions {
  signal?: AbortSignal;
  limits?: Partial<ZipLimits>;
}

/**
 * Read a zip's directory: end record (ZIP64 too), central directory, and each
 * entry's local header, with every anomaly as a finding. Reads are bounded
 * ranges; the data of entries is not read (see createZipCrcScanner for CRCs).
 * Throws only on cancellation or when the source itself fails to read.
 */
export async function readZipDirectory(source: ByteSource, options: ReadZipOptions = {}): Promise<ZipDirectory> {
  const limits: ZipLimits = { ...DEFAULT_ZIP_LIMITS, ...options.limits };
  const findings = createFindingList(limits.maxFindingsPerRule);
  const directory: ZipDirectory = {
    entriesFrom: 'central-directory',
    entries: [],
    findings: [],
    endRecordOffset: null,
    centralDirectoryOffset: null,
    centralDirectorySize: null,
    offsetShift: 0,
    declaredEntryCount: null,
    zip64: false,
    comment: '',
  };

  const end = await locateEndRecord(source, findings, limits);
  const central = end ? await readCentralDirectory(source, end, findings, limits, options.signal) : null;
  let drafts = central?.drafts ?? null;
  if (end) {
    Object.assign(directory, {
      endRecordOffset: end.endRecordOffset,
      centralDirectoryOffset: end.centralDirectoryOffset,
      centralDirectorySize: end.centralDirectorySize,
      offsetShift: end.offsetShift,
      declaredEntryCount: end.totalEntries,
      zip64: end.zip64,
      comment: end.comment,
    });
  }
  const centralUnusable = !drafts || (drafts.length === 0 && (end?.totalEntries ?? 0) > 0);
  if (centralUnusable) {
    directory.entriesFrom = 'local-headers';
    drafts = await walkLocalHeaders(source, findings, limits, options.signal);
    if (!end) {
      findings.add('zip.eocd.missing', {
        detail: `No end of central directory record in the last ${Math.min(source.size, END_RECORD_SEARCH_BYTES)} bytes; walking local headers from offset 0 found ${drafts.length} entries.`,
        location: { offset: Math.max(0, source.size - END_RECORD_SEARCH_BYTES) },
      });
    }
  } else if (drafts) {
    await readLocalHeaders(source, drafts, findings, limits, options.signal);
  }
  const entries = (drafts ?? []).map((draft) => draft.entry);
  throwIfAborted(options.signal);
  checkEntries(drafts ?? [], source.size, findings, limits);
  // Bytes between entries mean something only when the whole directory was read.
  const complete = centralUnusable || (central?.complete ?? false);
  checkLayout(entries, source.size, end && !centralUnusable ? end : null, findings, complete);
  directory.entries = entries;
  directory.findings = findings.toArray();
  return directory;
}

/**
 * Name of the child source of an entry: `<zip name>/<entry name>`, the entry
 * name verbatim (the central name, as loaders use it). A hostile name such as
 * `../x` gives `model.pt/../x`: it is evidence, never a path to resolve.
 * Findings about the entry's decoded bytes carry the bare entry name in
 * `location.entry` and offsets inside the entry.
 */
export function zipEntrySourceName(zipName: string, entryName: string): string {
  return `${zipName}/${entryName}`;
}

export interface OpenZipEntryOptions {
  /** Cap on decoded bytes of a deflated entry (default MAX_INFLATED_BYTES): bombs stop there with a finding. */
  maxInflatedBytes?: number;
  /** Cap on bytes `read` decodes only to skip them (default MAX_SEEK_DECODE_BYTES). */
  maxSeekDecodeBytes?: number;
  /**
   * Check the CRC-32 when `chunks()` streams the entry to its end, and report
   * `zip.entry.crc-mismatch` through `onFinding`. Use it for deflated entries;
   * stored ones are cheaper to check on the one pass with createZipCrcScanner.
   */
  checkCrc?: boolean;
  /** Receives findings about the decoded bytes (limits, size and CRC mismatches), each at most once. */
  onFinding?(finding: Finding): void;
}

/**
 * The bytes of an entry as a ByteSource named `zipEntrySourceName(...)`:
 * stored entries are a slice of the zip (clamped to the file), deflated ones
 * are decoded on the fly with a hard cap. Throws a ParseError for an entry
 * that is not `readable` (unsupported method, unreadable local header).
 */
export function openZipEntry(source: ByteSource, entry: ZipEntry, options: OpenZipEntryOptions = {}): ByteSource {
  const name = zipEntrySourceName(source.name, entry.name);
  if (entry.dataOffset === null) {
    throw new ParseError(
      'zip.entry.local-header-invalid',
      entry.localHeaderOffset,
      `Entry ${quoteName(entry.name)} has no readable local header at offset ${entry.localHeaderOffset}`,
    );
  }
  if (entry.method !== ZIP_METHOD.stored && entry.method !== ZIP_METHOD.deflated) {
    throw new ParseError(
      'zip.entry.unsupported-method',
      entry.centralHeaderOffset ?? entry.localHeaderOffset,
      `Entry ${quoteName(entry.name)} uses compression method ${entry.method}; only 0 (stored) and 8 (deflate) are read`,
    );
  }
  const raw = createSliceSource(source, entry.dataOffset, entry.compressedSize, name);
  const bytes =
    entry.method === ZIP_METHOD.stored
      ? raw
      : createInflateSource(raw, {
          name,
          declaredSize: entry.uncompressedSize,
          entry: entry.name,
          maxOutputBytes: options.maxInflatedBytes ?? MAX_INFLATED_BYTES,
          maxSeekDecodeBytes: options.maxSeekDecodeBytes,
          onFinding: options.onFinding,
        });
  return options.checkCrc && options.onFinding ? withCrcCheck(bytes, entry, options.onFinding) : bytes;
}

/** Encrypted data is checksummed before encryption, so its CRC says nothing about the stored bytes. */
function crcCheckable(entry: ZipEntry): boolean {
  return ((entry.flags | (entry.localFlags ?? 0)) & ZIP_FLAG.encrypted) === 0;
}

function withCrcCheck(bytes: ByteSource, entry: ZipEntry, onFinding: (finding: Finding) => void): ByteSource {
  if (!crcCheckable(entry)) return bytes;
  return {
    name: bytes.name,
    size: bytes.size,
    read: (offset, length) => bytes.read(offset, length),
    async *chunks(options) {
      const crc = createCrc32();
      for await (const chunk of bytes.chunks(options)) {
        crc.push(chunk);
        yield chunk;
      }
      // A short or capped stream is reported by its own rule; its CRC would only repeat it.
      if (crc.length === entry.uncompressedSize && crc.value !== entry.crc32) {
        onFinding(crcFinding(entry, crc.value, { entry: entry.name, offset: 0, length: crc.length }));
      }
    },
  };
}

function crcFinding(entry: ZipEntry, actual: number, location: Finding['location']): Finding {
  return createFinding('zip.entry.crc-mismatch', {
    detail: `Entry ${quoteName(entry.name)} declares CRC-32 ${formatCrc32(entry.crc32)} but its ${entry.uncompressedSize} bytes have ${formatCrc32(actual)}.`,
    location,
    evidence: `declared ${formatCrc32(entry.crc32)}, computed ${formatCrc32(actual)}`,
  });
}

/**
 * A StreamScanner for the one streaming pass over the zip file that checks a
 * stored entry's CRC-32 over its data range, so the check costs no extra read.
 * Null for entries it cannot check that way: deflated ones (use openZipEntry
 * with `checkCrc` while streaming them), encrypted ones, unreadable ones.
 * Its finding's location is the data range in the zip file.
 */
export function createZipCrcScanner(entry: ZipEntry): StreamScanner | null {
  if (entry.method !== ZIP_METHOD.stored || entry.dataOffset === null || !crcCheckable(entry)) return null;
  const crc = createCrc32();
  const offset = entry.dataOffset;
  const length = entry.compressedSize;
  return {
    offset,
    length,
    push(bytes) {
      crc.push(bytes);
    },
    finish() {
      const findings: Finding[] = [];
      // Data cut by the end of the file is reported as out of bounds; its CRC would only repeat it.
      if (crc.length === length && length === entry.uncompressedSize && crc.value !== entry.crc32) {
        findings.push(crcFinding(entry, crc.value, { offset, length }));
      }
      return { tensors: [], metadata: {}, findings };
    },
  };
}
