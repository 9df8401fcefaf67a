import { type ByteSource, throwIfAborted } from '../io/byte-source.ts';
import { describeBytes } from './zip-central.ts';
import { type EntryDraft, decodeEntryName } from './zip-draft.ts';
import type { FindingList } from './zip-finding-list.ts';
import { quoteName, sameBytes } from './zip-names.ts';
import {
  LOCAL_HEADER_SIZE,
  type LocalHeader,
  SIGNATURE,
  ZIP64_EXTRA_ID,
  ZIP_FLAG,
  ZIP64_MARKER_32,
  findExtraField,
  parseLocalHeader,
  readZip64Extra,
  u64ToNumber,
} from './zip-records.ts';
import { createWindowReader } from './zip-window-reader.ts';
import type { ZipLimits } from './zip.ts';

/** Window for local headers read in offset order; neighbours of small entries share one read. */
const LOCAL_WINDOW_BYTES = 64 * 1024;

/** Bytes scanned per read when searching for a data descriptor. */
const DESCRIPTOR_SEARCH_WINDOW = 1024 * 1024;

/**
 * Read the local header of every entry found in the central directory, in
 * offset order: this gives each entry its data offset (as miniz computes it:
 * header + local name + local extra) and its local name and flags, which are
 * compared with the central ones.
 */
export async function readLocalHeaders(
  source: ByteSource,
  drafts: EntryDraft[],
  findings: FindingList,
  limits: ZipLimits,
  signal?: AbortSignal,
): Promise<void> {
  const bytesAt = createWindowReader(source, LOCAL_WINDOW_BYTES);
  const ordered = [...drafts].sort((left, right) => left.entry.localHeaderOffset - right.entry.localHeaderOffset);
  for (const draft of ordered) {
    throwIfAborted(signal);
    const { entry } = draft;
    const offset = entry.localHeaderOffset;
    const pointer = entry.centralHeaderOffset ?? offset;
    if (offset + LOCAL_HEADER_SIZE > source.size) {
      findings.add('zip.entry.out-of-bounds', {
        detail: `Entry ${quoteName(entry.name)} puts its local header at offset ${offset}, past the end of the ${source.size}-byte file.`,
        location: { offset: pointer },
      });
      continue;
    }
    const fixed = await bytesAt(offset, LOCAL_HEADER_SIZE);
    const local = parseLocalHeader(fixed, offset);
    if (!local) {
      findings.add('zip.entry.local-header-invalid', {
        detail: `Entry ${quoteName(entry.name)} points to offset ${offset} for its local header, but the bytes there are ${describeBytes(fixed)}.`,
        location: { offset },
      });
      continue;
    }
    const dataOffset = offset + LOCAL_HEADER_SIZE + local.nameLength + local.extraLength;
    if (dataOffset > source.size) {
      findings.add('zip.entry.out-of-bounds', {
        detail: `The local header of ${quoteName(entry.name)} at offset ${offset} runs to ${dataOffset}, past the end of the ${source.size}-byte file.`,
        location: { offset, length: dataOffset - offset },
      });
      continue;
    }
    const localNameBytes = (await bytesAt(offset + LOCAL_HEADER_SIZE, local.nameLength)).slice();
    const localExtra = await bytesAt(offset + LOCAL_HEADER_SIZE + local.nameLength, local.extraLength);
    entry.localName = decodeEntryName(localNameBytes, local.flags, limits.maxNameBytes).name;
    entry.localFlags = local.flags;
    entry.dataOffset = dataOffset;
    compareWithCentral(draft, local, localNameBytes, localExtra, findings);
  }
}

/** Local sizes, with ZIP64 values from the local extra field when the header defers them. */
function localSizes(local: LocalHeader, extra: Uint8Array): { compressedSize: number; uncompressedSize: number } {
  const wanted = {
    uncompressedSize: local.uncompressedSize === ZIP64_MARKER_32,
    compressedSize: local.compressedSize === ZIP64_MARKER_32,
    localHeaderOffset: false,
    diskStart: false,
  };
  if (!wanted.uncompressedSize && !wanted.compressedSize) return local;
  // The local ZIP64 field stores both sizes when either is deferred (APPNOTE §4.5.3).
  const values = readZip64Extra(extra, { ...wanted, uncompressedSize: true, compressedSize: true });
  return {
    compressedSize: values.compressedSize ?? local.compressedSize,
    uncompressedSize: values.uncompressedSize ?? local.uncompressedSize,
  };
}

function compareWithCentral(draft: EntryDraft, local: LocalHeader, localNameBytes: Uint8Array, localExtra: Uint8Array, findings: FindingList) {
  const { entry } = draft;
  if (draft.centralNameBytes && !sameBytes(draft.centralNameBytes, localNameBytes)) {
    findings.add('zip.entry.name-mismatch', {
      detail: `The central directory names entry ${entry.index} ${quoteName(entry.name)} but its local header at offset ${local.offset} names it ${quoteName(entry.localName ?? '')}; PyTorch loads it by the central name, Python's zipfile refuses it.`,
      location: { offset: local.offset + LOCAL_HEADER_SIZE, length: local.nameLength },
      evidence: `central: ${quoteName(entry.name)}; local: ${quoteName(entry.localName ?? '')}`,
    });
  }
  const differences: string[] = [];
  if (local.method !== entry.method) differences.push(`method ${entry.method} centrally, ${local.method} locally`);
  if (local.flags !== entry.flags) differences.push(`flags ${hex16(entry.flags)} centrally, ${hex16(local.flags)} locally`);
  // With a data descriptor, writers leave the local CRC and sizes at zero.
  const deferred = (local.flags & ZIP_FLAG.dataDescriptor) !== 0;
  const sizes = localSizes(local, localExtra);
  const compare = (what: string, central: number, localValue: number) => {
    if (deferred && localValue === 0) return;
    if (central !== localValue) differences.push(`${what} ${central} centrally, ${localValue} locally`);
  };
  compare('CRC-32', entry.crc32, local.crc32);
  compare('compressed size', entry.compressedSize, sizes.compressedSize);
  compare('uncompressed size', entry.uncompressedSize, sizes.uncompressedSize);
  if (differences.length > 0) {
    findings.add('zip.entry.header-mismatch', {
      detail: `The local header of ${quoteName(entry.name)} at offset ${local.offset} disagrees with the central directory: ${differences.join('; ')}.`,
      location: { offset: local.offset, length: LOCAL_HEADER_SIZE },
    });
  }
}

function hex16(value: number): string {
  return `0x${value.toString(16).padStart(4, '0')}`;
}

/**
 * Without a usable central directory, find entries the way streaming readers
 * do: local header after local header from offset 0. An entry whose sizes sit
 * in a data descriptor is measured by searching for the descriptor signature
 * (bounded); when none fits, the walk stops there with a finding.
 */
export async function walkLocalHeaders(
  source: ByteSource,
  findings: FindingList,
  limits: ZipLimits,
  signal?: AbortSignal,
): Promise<EntryDraft[]> {
  const bytesAt = createWindowReader(source, LOCAL_WINDOW_BYTES);
  const drafts: EntryDraft[] = [];
  let position = 0;
  while (position + LOCAL_HEADER_SIZE <= source.size) {
    throwIfAborted(signal);
    if (drafts.length >= limits.maxEntries) {
      findings.add('zip.entries.too-many', {
        detail: `Walking local headers found more than ${limits.maxEntries} entries; only the first ${limits.maxEntries} were inspected.`,
        location: { offset: position },
      });
      break;
    }
    const local = parseLocalHeader(await bytesAt(position, LOCAL_HEADER_SIZE), position);
    if (!local) break;
    const dataOffset = position + LOCAL_HEADER_SIZE + local.nameLength + local.extraLength;
    if (dataOffset > source.size) {
      findings.add('zip.entry.out-of-bounds', {
        detail: `The local header at offset ${position} runs to ${dataOffset}, past the end of the ${source.size}-byte file.`,
        location: { offset: position, length: dataOffset - position },
      });
      break;
    }
    const nameBytes = (await bytesAt(position + LOCAL_HEADER_SIZE, local.nameLength)).slice();
    const extra = await bytesAt(position + LOCAL_HEADER_SIZE + local.nameLength, local.extraLength);
    const { name, fullName } = decodeEntryName(nameBytes, local.flags, limits.maxNameBytes);
    let { compressedSize, uncompressedSize } = localSizes(local, extra);
    let crc32 = local.crc32;
    let next = dataOffset + compressedSize;
    if (local.flags & ZIP_FLAG.dataDescriptor) {
      if (compressedSize === 0) {
        const descriptor = await findDataDescriptor(source, dataOffset, limits.maxDescriptorSearchBytes, hasZip64Extra(extra));
        if (!descriptor) {
          findings.add('zip.local-walk.stopped', {
            detail: `Entry ${quoteName(name)} at offset ${position} keeps its sizes in a data descriptor, and none matching its data was found in the next ${limits.maxDescriptorSearchBytes} bytes; the walk stops here.`,
            location: { offset: position },
          });
          break;
        }
        ({ compressedSize, uncompressedSize, crc32 } = descriptor);
        next = dataOffset + compressedSize + descriptor.length;
      } else {
        next += await descriptorLengthAt(source, next, hasZip64Extra(extra));
      }
    }
    drafts.push({
      entry: {
        index: drafts.length,
        name,
        centralName: null,
        localName: name,
        method: local.method,
        flags: local.flags,
        localFlags: local.flags,
        crc32,
        compressedSize,
        uncompressedSize,
        centralHeaderOffset: null,
        localHeaderOffset: position,
        dataOffset,
        externalAttributes: 0,
        versionMadeBy: 0,
        zip64: local.compressedSize === ZIP64_MARKER_32 || local.uncompressedSize === ZIP64_MARKER_32,
        isDirectory: fullName.endsWith('/'),
        isSymlink: false,
        readable: false,
      },
      centralNameBytes: null,
      fullName,
      nameByteLength: nameBytes.length,
    });
    if (dataOffset + compressedSize > source.size) break;
    position = next;
  }
  return drafts;
}

interface DataDescriptor {
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  /** Bytes the descriptor takes, signature included. */
  length: number;
}

/** APPNOTE §4.3.9.2: a descriptor holds 8-byte sizes exactly when the local header has a ZIP64 extra field. */
function hasZip64Extra(extra: Uint8Array): boolean {
  return findExtraField(extra, ZIP64_EXTRA_ID) !== null;
}

/**
 * The first descriptor signature after `dataStart` whose compressed size is
 * its own distance from `dataStart`, within `maxSearch` bytes. The size check
 * keeps the same four bytes inside compressed data from being taken for a
 * descriptor.
 */
async function findDataDescriptor(source: ByteSource, dataStart: number, maxSearch: number, zip64: boolean): Promise<DataDescriptor | null> {
  const length = zip64 ? 24 : 16;
  const searchEnd = Math.min(source.size, dataStart + maxSearch);
  for (let windowStart = dataStart; windowStart < searchEnd; windowStart += DESCRIPTOR_SEARCH_WINDOW) {
    // Extra bytes so a descriptor that starts near the window's end is read whole.
    const bytes = await source.read(windowStart, DESCRIPTOR_SEARCH_WINDOW + length);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const last = Math.min(DESCRIPTOR_SEARCH_WINDOW - 1, bytes.length - length, searchEnd - windowStart - 1);
    for (let index = 0; index <= last; index++) {
      if (view.getUint32(index, true) !== SIGNATURE.dataDescriptor) continue;
      const distance = windowStart + index - dataStart;
      const compressedSize = zip64 ? u64ToNumber(view.getBigUint64(index + 8, true)) : view.getUint32(index + 8, true);
      if (compressedSize !== distance) continue;
      const uncompressedSize = zip64 ? u64ToNumber(view.getBigUint64(index + 16, true)) : view.getUint32(index + 12, true);
      return { crc32: view.getUint32(index + 4, true), compressedSize, uncompressedSize, length };
    }
  }
  return null;
}

/** Length of the descriptor that follows data of known size: with a signature 16 (24 for ZIP64), without 12 (20). */
async function descriptorLengthAt(source: ByteSource, offset: number, zip64: boolean): Promise<number> {
  const bytes = await source.read(offset, 4);
  if (bytes.length < 4) return 0;
  const signature = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  if (signature === SIGNATURE.dataDescriptor) return zip64 ? 24 : 16;
  return signature === SIGNATURE.localHeader ? 0 : zip64 ? 20 : 12;
}
