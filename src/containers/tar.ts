/**
 * A small, bounded tar header reader: lists members (name, type, size, data
 * offset) without extracting anything.
 * Spec: POSIX ustar and pax (https://pubs.opengroup.org/onlinepubs/9699919799/utilities/pax.html),
 * GNU long names (https://www.gnu.org/software/tar/manual/html_node/Standard.html);
 * behaviour matched to Python's tarfile, which legacy torch.load uses.
 *
 * Threat surface: tar names are paths chosen by the archive (absolute, "..",
 * links to anywhere: CVE-2007-4559), sizes are attacker numbers (octal or
 * base-256) and extended headers can be arbitrarily long. So every header is
 * checksummed, every size is checked against the bytes left before it is
 * used, extended headers and member counts are bounded, and traversal names,
 * links and duplicate names are findings. Nothing is allocated from a size
 * except bounded extended headers.
 */
import { type ByteSource, throwIfAborted } from '../io/byte-source.ts';
import type { Finding } from '../report/types.ts';
import { createFinding, type RuleId } from '../rules/index.ts';
import { quoteUntrusted } from '../rules/pickle-policy.ts';

/** Members listed at most (CWE-770: each costs a read and an entry). */
export const MAX_TAR_MEMBERS = 10_000;
/** Bytes of one pax extended header or GNU long name read at most (CWE-400; real ones are a few hundred). */
export const MAX_TAR_EXTENDED_HEADER_BYTES = 1024 * 1024;
/** Findings of one tar rule listed (CWE-400). */
export const MAX_TAR_FINDINGS_PER_RULE = 50;

const BLOCK = 512;

export type TarMemberType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

export interface TarMember {
  /** Full name (pax `path`, GNU long name, or ustar prefix + name). */
  name: string;
  type: TarMemberType;
  /** The raw typeflag character. */
  typeflag: string;
  /** Bytes of data. */
  size: number;
  /** Offset of the member's (last) header block. */
  headerOffset: number;
  /** Offset of its first data byte. */
  dataOffset: number;
  /** Link target for links ('' otherwise). */
  linkName: string;
}

export interface TarListing {
  members: TarMember[];
  findings: Finding[];
  /** Offset after the last header or data block read. */
  end: number;
}

export interface TarReadOptions {
  signal?: AbortSignal;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

function cString(block: Uint8Array, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return utf8.decode(end < 0 ? field : field.subarray(0, end));
}

/** An octal (or GNU base-256) numeric field, or null when it is neither. */
export function parseTarNumber(field: Uint8Array): bigint | null {
  if (field.length > 0 && (field[0] & 0x80) !== 0) {
    // Base-256: the high bit of the first byte marks it; 0xff starts a negative number.
    if (field[0] === 0xff) return null;
    let value = BigInt(field[0] & 0x7f);
    for (let index = 1; index < field.length; index += 1) value = (value << 8n) | BigInt(field[index]);
    return value;
  }
  let text = '';
  for (const byte of field) {
    if (byte === 0) break;
    text += String.fromCharCode(byte);
  }
  text = text.trim();
  if (text === '') return 0n;
  return /^[0-7]+$/.test(text) ? BigInt(`0o${text}`) : null;
}

/** Python's tarfile accepts the unsigned or the signed byte sum, with the checksum field counted as spaces. */
function checksumMatches(block: Uint8Array): boolean {
  const stored = parseTarNumber(block.subarray(148, 156));
  if (stored === null) return false;
  let unsigned = 0;
  let signed = 0;
  for (let index = 0; index < BLOCK; index += 1) {
    const byte = index >= 148 && index < 156 ? 0x20 : block[index];
    unsigned += byte;
    signed += byte >= 0x80 ? byte - 256 : byte;
  }
  return stored === BigInt(unsigned) || stored === BigInt(signed);
}

function memberType(typeflag: string): TarMemberType {
  switch (typeflag) {
    case '0':
    case '\0':
    case '7':
      return 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '5':
      return 'directory';
    default:
      return 'other';
  }
}

/** Absolute, drive-rooted or climbing out with a ".." segment. */
export function isEscapingPath(name: string): boolean {
  if (name.startsWith('/') || name.startsWith('\\') || /^[A-Za-z]:/.test(name)) return true;
  return name.split(/[\\/]/).includes('..');
}

/** Pax records `"<length> key=value\n"`; returns the keys Preflight uses. */
function parsePaxRecords(bytes: Uint8Array): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < bytes.length) {
    const space = bytes.indexOf(0x20, at);
    if (space < 0) break;
    const length = Number(utf8.decode(bytes.subarray(at, space)));
    if (!Number.isSafeInteger(length) || length <= space - at || at + length > bytes.length) break;
    const record = utf8.decode(bytes.subarray(space + 1, at + length - 1));
    const equals = record.indexOf('=');
    if (equals > 0) records.set(record.slice(0, equals), record.slice(equals + 1));
    at += length;
  }
  return records;
}

/** An untrusted member name in a message: quoted, control and bidi characters escaped, cut. */
function quote(name: string): string {
  return quoteUntrusted(name);
}

/**
 * Lists the members of the tar in `source`. Never throws for bad input: each
 * problem is a finding, and reading stops where Python's tarfile would.
 */
export async function readTarMembers(source: ByteSource, options: TarReadOptions = {}): Promise<TarListing> {
  const members: TarMember[] = [];
  const findings: Finding[] = [];
  const counts = new Map<RuleId, number>();
  const add = (rule: RuleId, detail: string, offset: number) => {
    const count = (counts.get(rule) ?? 0) + 1;
    counts.set(rule, count);
    if (count <= MAX_TAR_FINDINGS_PER_RULE) findings.push(createFinding(rule, { detail, location: { offset } }));
  };
  const seenNames = new Set<string>();
  let position = 0;
  let pendingName: string | null = null;
  let pendingLink: string | null = null;
  let pendingSize: bigint | null = null;

  while (true) {
    throwIfAborted(options.signal);
    if (position + BLOCK > source.size) {
      if (position < source.size || members.length === 0) {
        add('tar.truncated', `The archive ends at ${source.size} without its end-of-archive blocks; the next header at offset ${position} is cut short.`, position);
      }
      break;
    }
    const block = await source.read(position, BLOCK);
    if (block.length < BLOCK) {
      add('tar.truncated', `Only ${block.length} bytes of the header at offset ${position} could be read.`, position);
      break;
    }
    if (block.every((byte) => byte === 0)) break;
    if (!checksumMatches(block)) {
      add('tar.header.invalid', `The header at offset ${position} has a wrong checksum; Python's tarfile stops reading here.`, position);
      break;
    }
    const typeflag = String.fromCharCode(block[156]);
    const headerSize = parseTarNumber(block.subarray(124, 136));
    const size = pendingSize ?? headerSize;
    if (size === null) {
      add('tar.header.invalid', `The header at offset ${position} has a size field that is not a number.`, position);
      break;
    }
    const dataOffset = position + BLOCK;
    const remaining = BigInt(source.size - dataOffset);
    if (size > remaining) {
      add('tar.truncated', `The member at offset ${position} declares ${size} bytes but only ${remaining} follow its header.`, position);
      break;
    }
    const dataSize = Number(size);
    const next = dataOffset + Math.ceil(dataSize / BLOCK) * BLOCK;

    if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
      if (dataSize > MAX_TAR_EXTENDED_HEADER_BYTES) {
        add('tar.limit', `The extended header at offset ${position} is ${dataSize} bytes, more than MAX_TAR_EXTENDED_HEADER_BYTES ${MAX_TAR_EXTENDED_HEADER_BYTES}; the archive was not read further.`, position);
        break;
      }
      const data = await source.read(dataOffset, dataSize);
      if (typeflag === 'x') {
        const records = parsePaxRecords(data);
        pendingName = records.get('path') ?? pendingName;
        pendingLink = records.get('linkpath') ?? pendingLink;
        const paxSize = records.get('size');
        if (paxSize !== undefined && /^\d+$/.test(paxSize)) pendingSize = BigInt(paxSize);
      } else if (typeflag === 'L') {
        pendingName = cString(data, 0, data.length);
      } else if (typeflag === 'K') {
        pendingLink = cString(data, 0, data.length);
      }
      position = next;
      continue;
    }

    if (members.length >= MAX_TAR_MEMBERS) {
      add('tar.limit', `The archive has more than MAX_TAR_MEMBERS ${MAX_TAR_MEMBERS} members; the rest, from offset ${position}, were not listed.`, position);
      break;
    }
    const isUstar = cString(block, 257, 6) === 'ustar';
    const prefix = isUstar ? cString(block, 345, 155) : '';
    const shortName = cString(block, 0, 100);
    const name = pendingName ?? (prefix !== '' ? `${prefix}/${shortName}` : shortName);
    const linkName = pendingLink ?? cString(block, 157, 100);
    const type = memberType(typeflag);
    pendingName = null;
    pendingLink = null;
    pendingSize = null;

    const member: TarMember = { name, type, typeflag, size: type === 'file' ? dataSize : 0, headerOffset: position, dataOffset, linkName };
    members.push(member);
    if (isEscapingPath(name)) {
      add('tar.member.traversal', `Member ${quote(name)} at offset ${position} is absolute or climbs out of the extraction folder.`, position);
    }
    if (type === 'symlink' || type === 'hardlink') {
      const escaping = isEscapingPath(linkName) ? ', a path outside the extraction folder' : '';
      add('tar.member.link', `Member ${quote(name)} at offset ${position} is a ${type === 'symlink' ? 'symbolic' : 'hard'} link to ${quote(linkName)}${escaping}.`, position);
    }
    const normalised = name.replace(/^\.\//, '').replace(/\/+$/, '');
    if (seenNames.has(normalised)) {
      add('tar.member.duplicate', `Member ${quote(name)} at offset ${position} repeats an earlier member's name; Python's tarfile uses this last one.`, position);
    }
    seenNames.add(normalised);
    // Links and directories carry no data in ustar, whatever their size field says; tarfile skips it all the same.
    position = next;
  }
  return { members, findings, end: position };
}
