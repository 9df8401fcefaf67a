/**
 * What the zip-based model formats (PyTorch checkpoints, TorchScript, NumPy
 * .npz) share: reading a member's first bytes, scanning a member (or a region
 * of one) as a pickle, and merging the results. A stored member's bytes are
 * the file's bytes, so its pickle is scanned on the one streaming pass with
 * file offsets; a deflated member is decoded here, with a cap, and scanned
 * with offsets inside the member (`location.entry` names it either way).
 *
 * Nothing here throws for bad input: a member that cannot be decoded gives
 * its finding and whatever was scanned before the failure.
 */
import { type ZipEntry, ZIP_METHOD, openZipEntry } from '../containers/zip.ts';
import { type ByteSource, throwIfAborted } from '../io/byte-source.ts';
import { ParseError } from '../io/parse-error.ts';
import { createSliceSource } from '../io/slice-source.ts';
import { createPickleScanner, type PickleInspection } from '../pickle/pickle-scanner.ts';
import type { Finding, MetadataValue, WeightsOnlyVerdict } from '../report/types.ts';
import { createFinding } from '../rules/index.ts';
import { isPlainDottedName } from '../rules/pickle-policy.ts';
import type { Inspection, StreamScanner } from './types.ts';

/** Bytes of each member read to recognise its content (pickle opening, .npy magic, text records). */
export const MEMBER_SNIFF_BYTES = 1024;

/** Turns what a pickle scan gave into the Inspection to report (tensor tables, filtering); identity by default. */
export type PickleFollowUp = (inspection: PickleInspection) => Inspection | Promise<Inspection>;

/** A member's bytes (decoded when deflated), or null with a finding when it cannot be opened. */
export function openMember(source: ByteSource, entry: ZipEntry, findings: Finding[]): ByteSource | null {
  if (!entry.readable) return null;
  try {
    return openZipEntry(source, entry, { onFinding: (finding) => findings.push(finding) });
  } catch (error) {
    findings.push(findingOf(error, entry));
    return null;
  }
}

/** The first `length` bytes of a member, or null with a finding when decoding fails. */
export async function readMemberHead(member: ByteSource, entry: ZipEntry, findings: Finding[], length = MEMBER_SNIFF_BYTES): Promise<Uint8Array | null> {
  try {
    return await member.read(0, length);
  } catch (error) {
    findings.push(findingOf(error, entry));
    return null;
  }
}

/** A ParseError from decoding becomes its finding; anything else is a bug and goes on up. */
function findingOf(error: unknown, entry: ZipEntry): Finding {
  if (error instanceof ParseError) {
    return createFinding(error.rule, { detail: error.message, location: { entry: entry.name, offset: error.offset } });
  }
  throw error;
}

/** Where the pickle of a member lies: the whole member, or a region of it (an .npy object array's data). */
export interface MemberPickleRegion {
  /** Offset inside the member's (decoded) bytes. */
  offset: number;
  length: number;
}

export interface MemberPickleScan {
  /** For a stored member: the scanner for the one pass (its `finish` applies the follow-up). */
  scanner?: StreamScanner;
  /** For a deflated member: the follow-up's result, already there. */
  inspection?: Inspection;
}

/**
 * Scans `region` of a member as a pickle: on the pass for a stored member
 * (file offsets), right now for a deflated one (offsets inside the member).
 * `followUp` receives the scan's PickleInspection either way.
 */
export async function scanMemberPickle(
  source: ByteSource,
  entry: ZipEntry,
  member: ByteSource,
  region: MemberPickleRegion,
  followUp: PickleFollowUp = (inspection) => inspection,
  signal?: AbortSignal,
): Promise<MemberPickleScan> {
  if (entry.method === ZIP_METHOD.stored && entry.dataOffset !== null) {
    const scanner = createPickleScanner(source, { offset: entry.dataOffset + region.offset, length: region.length, entry: entry.name });
    return { scanner: { offset: scanner.offset, length: scanner.length, push: (bytes) => scanner.push(bytes), finish: async () => followUp(await scanner.finish()) } };
  }
  const bytes = createSliceSource(member, region.offset, region.length, member.name);
  const scanner = createPickleScanner(bytes, { offset: 0, length: bytes.size, entry: entry.name, baseOffset: region.offset });
  const findings: Finding[] = [];
  try {
    for await (const chunk of bytes.chunks({ signal })) scanner.push(chunk);
  } catch (error) {
    throwIfAborted(signal);
    // What was pushed before the failure would have been unpickled: keep it, and say why the rest is missing.
    findings.push(findingOf(error, entry));
  }
  const inspection = await followUp(await scanner.finish());
  inspection.findings.push(...findings);
  return { inspection };
}

/**
 * Whether a pickle scan of a member that no loader is known to unpickle is
 * worth reporting: it imports something. `strict` (for bytes that only look
 * like a pickle by chance: tensor data, source or text files that open with a
 * `c`, which reads as protocol 0 GLOBAL) asks for an import of a plain dotted
 * name, which text and random bytes almost never make.
 */
export function namesSomething(scan: PickleInspection, strict: boolean): boolean {
  const imports = scan.pickle.imports;
  if (!strict) return imports.length > 0;
  return imports.some((imported) => imported.resolved && isPlainDottedName(imported.module) && isPlainDottedName(imported.name));
}

/** Local headers walked in a head for detection: a torch zip names its layout in the first few (CWE-400). */
export const MAX_HEAD_LOCAL_HEADERS = 64;

const LOCAL_HEADER_SIGNATURE = 0x04034b50;
const LOCAL_HEADER_BYTES = 30;
/** General purpose flag bit 3: sizes follow the data, so the next header cannot be found from this one. */
const FLAG_DATA_DESCRIPTOR = 0x8;

/**
 * Names of the local headers found by walking `head` from offset 0, as far
 * as the head and the declared sizes allow (detection is synchronous and
 * reads nothing more). Empty when `head` does not start with a local header.
 */
export function headLocalNames(head: Uint8Array, maxHeaders = MAX_HEAD_LOCAL_HEADERS): string[] {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const names: string[] = [];
  let position = 0;
  while (names.length < maxHeaders && position + LOCAL_HEADER_BYTES <= head.length) {
    if (view.getUint32(position, true) !== LOCAL_HEADER_SIGNATURE) break;
    const flags = view.getUint16(position + 6, true);
    const compressedSize = view.getUint32(position + 18, true);
    const nameLength = view.getUint16(position + 26, true);
    const extraLength = view.getUint16(position + 28, true);
    const nameStart = position + LOCAL_HEADER_BYTES;
    if (nameStart + nameLength > head.length) break;
    names.push(new TextDecoder('utf-8').decode(head.subarray(nameStart, nameStart + nameLength)));
    if ((flags & FLAG_DATA_DESCRIPTOR) !== 0 || compressedSize === 0xffffffff) break;
    position = nameStart + nameLength + extraLength + compressedSize;
  }
  return names;
}

/** The bytes as text when they are UTF-8, else null. */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}
