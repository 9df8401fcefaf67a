import type { EndInfo } from './zip-central.ts';
import type { EntryDraft } from './zip-draft.ts';
import type { FindingList } from './zip-finding-list.ts';
import { quoteName, traversalReason, unusualNameReason } from './zip-names.ts';
import { ZIP_FLAG, ZIP_METHOD } from './zip-records.ts';
import type { ZipEntry, ZipLimits } from './zip.ts';

/** Methods named in findings (APPNOTE §4.4.5); only 0 and 8 are read. */
const METHOD_NAMES: Record<number, string> = {
  1: 'shrink',
  6: 'implode',
  9: 'Deflate64',
  12: 'bzip2',
  14: 'LZMA',
  93: 'Zstandard',
  95: 'xz',
  98: 'PPMd',
  99: 'WinZip AES encryption',
};

/** Offset of the flags field inside a central record and inside a local header. */
const CENTRAL_FLAGS_OFFSET = 8;
const LOCAL_FLAGS_OFFSET = 6;

/** A data descriptor after an entry's data takes at most 24 bytes (ZIP64 form with signature). */
const MAX_DESCRIPTOR_BYTES = 24;

/** Per-entry checks: flags, method, sizes, bombs, data range, names, symlinks, duplicates; sets `readable`. */
export function checkEntries(drafts: EntryDraft[], fileSize: number, findings: FindingList, limits: ZipLimits): void {
  const firstByName = new Map<string, ZipEntry>();
  const withDescriptor: DescriptorUse[] = [];
  for (const draft of drafts) {
    const { entry } = draft;
    const headerOffset = entry.centralHeaderOffset ?? entry.localHeaderOffset;
    const name = quoteName(entry.name);
    const descriptor = checkFlags(entry, findings);
    if (descriptor) withDescriptor.push(descriptor);

    const supported = entry.method === ZIP_METHOD.stored || entry.method === ZIP_METHOD.deflated;
    entry.readable = supported && entry.dataOffset !== null;
    if (!supported) {
      findings.add('zip.entry.unsupported-method', {
        detail: `Entry ${name} uses compression method ${entry.method}${METHOD_NAMES[entry.method] ? ` (${METHOD_NAMES[entry.method]})` : ''}; its ${entry.uncompressedSize} bytes were not decoded or inspected.`,
        location: { offset: headerOffset },
      });
    }

    if (entry.method === ZIP_METHOD.stored && entry.compressedSize !== entry.uncompressedSize) {
      findings.add('zip.entry.sizes-invalid', {
        detail: `Stored entry ${name} declares ${entry.compressedSize} bytes stored but ${entry.uncompressedSize} bytes of content; the stored bytes were inspected.`,
        location: { offset: headerOffset },
      });
    } else if (entry.uncompressedSize > 0 && entry.compressedSize === 0) {
      findings.add('zip.entry.sizes-invalid', {
        detail: `Entry ${name} declares ${entry.uncompressedSize} bytes of content from 0 compressed bytes.`,
        location: { offset: headerOffset },
      });
    }

    if (entry.method !== ZIP_METHOD.stored) checkBomb(entry, headerOffset, findings, limits);

    if (entry.dataOffset !== null && entry.dataOffset + entry.compressedSize > fileSize) {
      const available = Math.max(0, fileSize - entry.dataOffset);
      findings.add('zip.entry.out-of-bounds', {
        detail: `The data of ${name} runs from offset ${entry.dataOffset} for ${entry.compressedSize} bytes, past the end of the ${fileSize}-byte file; only ${available} bytes exist.`,
        location: { offset: entry.dataOffset, length: available },
      });
    }

    checkName(draft.fullName, 'central directory', headerOffset, findings);
    if (entry.localName !== null && entry.centralName !== null && entry.localName !== entry.centralName) {
      checkName(entry.localName, 'local header', entry.localHeaderOffset, findings);
    }
    if (draft.nameByteLength > limits.maxNameBytes) {
      findings.add('zip.entry.name-too-long', {
        detail: `Entry ${entry.index} has a ${draft.nameByteLength}-byte name, over the limit of ${limits.maxNameBytes}; it is shown cut.`,
        location: { offset: headerOffset },
      });
    }
    if (entry.isSymlink) {
      findings.add('zip.entry.symlink', {
        detail: `Entry ${name} is marked as a Unix symbolic link (external attributes 0x${entry.externalAttributes.toString(16).padStart(8, '0')}).`,
        location: { offset: headerOffset },
      });
    }

    const first = firstByName.get(draft.fullName);
    if (first) {
      findings.add('zip.entry.duplicate-name', {
        detail: `Entries ${first.index} and ${entry.index} are both named ${name}; Python's zipfile uses the last, miniz's sorted lookup may return either.`,
        location: { offset: headerOffset },
      });
    } else {
      firstByName.set(draft.fullName, entry);
    }
  }
  reportDescriptors(withDescriptor, findings);
}

interface DescriptorUse {
  entry: ZipEntry;
  where: string;
  offset: number;
}

/**
 * Data descriptors are normal (every torch.save zip uses them) but worth one
 * note: the sizes then come from the central directory, not the local header.
 * One finding per archive, not one per entry.
 */
function reportDescriptors(uses: DescriptorUse[], findings: FindingList): void {
  if (uses.length === 0) return;
  const [first] = uses;
  const others = uses.length > 1 ? ` and ${uses.length - 1} more entr${uses.length === 2 ? 'y' : 'ies'}` : '';
  findings.add('zip.entry.data-descriptor', {
    detail: `Entry ${quoteName(first.entry.name)}${others} keep their CRC and sizes in a data descriptor after their data (flag bit 3, first seen in the ${first.where}).`,
    location: { offset: first.offset, length: 2 },
  });
}

/** Reports encryption and patch flags; returns where a data descriptor is announced, for one summary finding. */
function checkFlags(entry: ZipEntry, findings: FindingList): DescriptorUse | null {
  const headers: { where: string; flags: number; offset: number }[] = [];
  if (entry.centralHeaderOffset !== null) {
    headers.push({ where: 'central directory', flags: entry.flags, offset: entry.centralHeaderOffset + CENTRAL_FLAGS_OFFSET });
  }
  if (entry.localFlags !== null) {
    headers.push({ where: 'local header', flags: entry.localFlags, offset: entry.localHeaderOffset + LOCAL_FLAGS_OFFSET });
  }
  const report = (rule: 'zip.entry.encrypted' | 'zip.entry.patch-data', mask: number, meaning: string) => {
    const setIn = headers.filter((header) => header.flags & mask);
    if (setIn.length === 0) return;
    const where = setIn.map((header) => `${header.where} (0x${header.flags.toString(16).padStart(4, '0')})`).join(' and ');
    findings.add(rule, {
      detail: `Entry ${quoteName(entry.name)} sets ${meaning} in its ${where}; Preflight read its bytes as they are.`,
      location: { offset: setIn[0].offset, length: 2 },
    });
  };
  report('zip.entry.encrypted', ZIP_FLAG.encrypted | ZIP_FLAG.strongEncryption, 'an encryption flag (bit 0 or 6)');
  report('zip.entry.patch-data', ZIP_FLAG.patchData, 'the patch data flag (bit 5)');
  const descriptorIn = headers.find((header) => header.flags & ZIP_FLAG.dataDescriptor);
  return descriptorIn ? { entry, where: descriptorIn.where, offset: descriptorIn.offset } : null;
}

function checkBomb(entry: ZipEntry, headerOffset: number, findings: FindingList, limits: ZipLimits): void {
  const name = quoteName(entry.name);
  if (entry.uncompressedSize > limits.maxInflatedBytes) {
    findings.add('zip.entry.decompression-bomb', {
      detail: `Entry ${name} declares ${entry.uncompressedSize} decompressed bytes from ${entry.compressedSize}, over the limit of ${limits.maxInflatedBytes}; at most that many are decoded.`,
      location: { offset: headerOffset },
    });
    return;
  }
  const ratio = entry.uncompressedSize / Math.max(1, entry.compressedSize);
  if (entry.uncompressedSize >= limits.bombMinDeclaredBytes && ratio > limits.maxInflateRatio) {
    findings.add('zip.entry.decompression-bomb', {
      detail: `Entry ${name} declares ${entry.uncompressedSize} decompressed bytes from ${entry.compressedSize}, a ratio of ${Math.round(ratio)}:1 (limit ${limits.maxInflateRatio}:1).`,
      location: { offset: headerOffset },
    });
  }
}

function checkName(name: string, where: string, offset: number, findings: FindingList): void {
  const traversal = traversalReason(name);
  if (traversal) {
    findings.add('zip.entry.path-traversal', {
      detail: `The ${where} names an entry ${quoteName(name)}: ${traversal}.`,
      location: { offset },
      evidence: name,
    });
  }
  const unusual = unusualNameReason(name);
  if (unusual) {
    findings.add('zip.entry.name-unusual', {
      detail: `The ${where} names an entry ${quoteName(name)}, with ${unusual}.`,
      location: { offset },
    });
  }
}

interface Span {
  entry: ZipEntry;
  start: number;
  end: number;
}

/**
 * Checks across entries, from their byte ranges (local header to end of data):
 * overlaps with each other or with the central directory, bytes before the
 * first entry, and (when `reportGaps`: the whole directory was read) bytes
 * between entries that no entry claims.
 */
export function checkLayout(entries: ZipEntry[], fileSize: number, end: EndInfo | null, findings: FindingList, reportGaps: boolean): void {
  const spans: Span[] = [];
  for (const entry of entries) {
    if (entry.dataOffset === null) continue;
    spans.push({ entry, start: entry.localHeaderOffset, end: Math.min(fileSize, entry.dataOffset + entry.compressedSize) });
  }
  spans.sort((left, right) => left.start - right.start || left.end - right.end);
  const directory = end ? { start: Math.min(end.centralDirectoryOffset, fileSize), end: end.endRecordEnd } : null;

  const firstStart = Math.min(spans[0]?.start ?? fileSize, directory?.start ?? fileSize);
  if (firstStart > 0 && (spans.length > 0 || directory)) {
    findings.add('zip.prefix-data', {
      detail: `The first ${firstStart} bytes of the file belong to no zip entry; the archive's first structure starts at offset ${firstStart}.`,
      location: { offset: 0, length: firstStart },
    });
  }

  let furthest: Span | null = null;
  for (const span of spans) {
    if (furthest && span.start < furthest.end) {
      findings.add('zip.entry.overlap', {
        detail: `Entry ${quoteName(span.entry.name)} (bytes ${span.start}–${span.end}) overlaps entry ${quoteName(furthest.entry.name)} (bytes ${furthest.start}–${furthest.end}).`,
        location: { offset: span.start, length: Math.min(span.end, furthest.end) - span.start },
      });
    } else if (furthest && reportGaps) {
      reportGap(furthest, span.start, 'the next local header', findings);
    }
    if (directory && span.start < directory.end && span.end > directory.start) {
      findings.add('zip.entry.overlap', {
        detail: `Entry ${quoteName(span.entry.name)} (bytes ${span.start}–${span.end}) overlaps the central directory and end records (bytes ${directory.start}–${directory.end}).`,
        location: { offset: Math.max(span.start, directory.start), length: Math.min(span.end, directory.end) - Math.max(span.start, directory.start) },
      });
    }
    if (!furthest || span.end > furthest.end) furthest = span;
  }
  if (reportGaps && furthest && directory && directory.start >= furthest.end) reportGap(furthest, directory.start, 'the central directory', findings);
}

function reportGap(before: Span, nextStart: number, what: string, findings: FindingList): void {
  const flags = before.entry.flags | (before.entry.localFlags ?? 0);
  const allowance = flags & ZIP_FLAG.dataDescriptor ? MAX_DESCRIPTOR_BYTES : 0;
  const gap = nextStart - before.end;
  if (gap <= allowance) return;
  findings.add('zip.unreferenced-bytes', {
    detail: `${gap} bytes between the end of ${quoteName(before.entry.name)} at offset ${before.end} and ${what} at ${nextStart} belong to no entry.`,
    location: { offset: before.end, length: gap },
  });
}
