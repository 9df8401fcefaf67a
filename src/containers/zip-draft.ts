import { decodeZipText } from './zip-names.ts';
import type { ZipEntry } from './zip.ts';

/** An entry while the directory is being read, with what the checks need and the report does not. */
export interface EntryDraft {
  entry: ZipEntry;
  /** Raw central name, compared byte for byte with the local one. */
  centralNameBytes: Uint8Array | null;
  /** The whole decoded name, uncut, for duplicate detection. */
  fullName: string;
  /** Bytes the name had, to report names over the limit. */
  nameByteLength: number;
}

/** Decode a name field, cut at `maxNameBytes` (marked with an ellipsis) for display. */
export function decodeEntryName(bytes: Uint8Array, flags: number, maxNameBytes: number): { name: string; fullName: string } {
  const fullName = decodeZipText(bytes, flags);
  if (bytes.length <= maxNameBytes) return { name: fullName, fullName };
  return { name: `${decodeZipText(bytes.subarray(0, maxNameBytes), flags)}…`, fullName };
}

/** Unix host in "version made by", and the symlink type in the high half of the external attributes. */
const HOST_UNIX = 3;
const UNIX_FILE_TYPE_MASK = 0xf000;
const UNIX_SYMLINK = 0xa000;

export function isUnixSymlink(versionMadeBy: number, externalAttributes: number): boolean {
  return versionMadeBy >>> 8 === HOST_UNIX && ((externalAttributes >>> 16) & UNIX_FILE_TYPE_MASK) === UNIX_SYMLINK;
}
