/**
 * NumPy `.npz` archives (`np.savez`, `np.savez_compressed`):
 * https://numpy.org/doc/stable/reference/generated/numpy.savez.html
 *
 * A zip whose members are `.npy` files, stored (savez) or deflated
 * (savez_compressed). `np.load` gives a lazy mapping: the key of `x.npy` is
 * `x`; a member that starts with the .npy magic is read as an array (an
 * object array by unpickling it when allow_pickle=True), any other member is
 * returned as raw bytes.
 *
 * Threat surface: everything a zip can lie about (src/containers/zip.ts
 * reports it), everything an .npy header can lie about (numpy.ts), and above
 * all object arrays: each is a pickle that `np.load(allow_pickle=True)` runs
 * when the key is read. Members are dispatched on their content, never their
 * name: an .npy named `readme.txt` is still read as an array by np.load, and
 * a pickle inside an npz is still a pickle, scanned as one.
 */
import { type ZipEntry, ZIP_METHOD, createZipCrcScanner, readZipDirectory } from '../containers/zip.ts';
import { createFindingList } from '../containers/zip-finding-list.ts';
import { quoteName } from '../containers/zip-names.ts';
import { type ByteSource, throwIfAborted } from '../io/byte-source.ts';
import { ParseError } from '../io/parse-error.ts';
import type { MetadataValue } from '../report/types.ts';
import { createFinding, type RuleId } from '../rules/index.ts';
import { type NpyReading, isNpy, objectArrayFinding, readNpy } from './numpy.ts';
import { pickleFormat, startsWithProto } from './pickle.ts';
import { type FormatModule, type InspectContext, type Inspection, emptyInspection } from './types.ts';
import { mergeInspection } from './inspection.ts';
import {
  type PickleFollowUp,
  headLocalNames,
  namesSomething,
  openMember,
  readMemberHead,
  scanMemberPickle,
} from './zip-members.ts';

/** Members described one by one in the metadata; the rest are counted (CWE-770: a report stays small). */
export const MAX_LISTED_MEMBERS = 1_000;
/** Findings of one rule listed across members; the rest are counted in one summary finding (CWE-770). */
export const MAX_FINDINGS_PER_RULE = 100;

const ZIP_LOCAL_MAGIC = [0x50, 0x4b, 0x03, 0x04];

/** True when `head` is a zip whose first local header names an `.npy` member. */
export function looksLikeNpz(head: Uint8Array): boolean {
  if (!ZIP_LOCAL_MAGIC.every((byte, index) => head[index] === byte)) return false;
  const [first] = headLocalNames(head, 1);
  return first !== undefined && first.toLowerCase().endsWith('.npy');
}

/** The np.load key of a member: its name without a final `.npy`. */
export function npzKey(name: string): string {
  return name.endsWith('.npy') ? name.slice(0, -4) : name;
}

/** Inspects every member of an npz by content; shared with nothing else, but exported for tests. */
export async function inspectNpz(source: ByteSource, signal?: AbortSignal): Promise<Inspection> {
  const directory = await readZipDirectory(source, { signal });
  const inspection: Inspection = { tensors: [], metadata: {}, findings: [], streamScanners: [] };
  // Member findings go through a capped list: an archive of 100 000 odd members must stay a short report (CWE-770).
  const memberFindings = createFindingList(MAX_FINDINGS_PER_RULE);
  const arrays: MetadataValue[] = [];
  let unlisted = 0;
  let memberCount = 0;
  let compressed = 0;
  for (const entry of directory.entries) {
    throwIfAborted(signal);
    if (entry.isDirectory) continue;
    memberCount += 1;
    if (entry.method === ZIP_METHOD.deflated) compressed += 1;
    const crc = createZipCrcScanner(entry);
    if (crc) inspection.streamScanners?.push(crc);
    const member: Inspection = { tensors: [], metadata: {}, findings: [], streamScanners: [] };
    const summary = await inspectMember(source, entry, member, signal);
    for (const finding of member.findings) {
      memberFindings.add(finding.rule as RuleId, { detail: finding.detail, location: finding.location, evidence: finding.evidence });
    }
    mergeInspection(inspection, { ...member, findings: [] });
    if (summary && arrays.length < MAX_LISTED_MEMBERS) arrays.push(summary);
    else if (summary) unlisted += 1;
  }
  inspection.findings = [...directory.findings, ...memberFindings.toArray()];
  inspection.metadata.members = memberCount;
  inspection.metadata.compressedMembers = compressed;
  inspection.metadata.arrays = arrays;
  if (unlisted > 0) inspection.metadata.membersNotListed = unlisted;
  return inspection;
}

/** One member: an array, a pickle, or something np.load hands back as bytes. Returns its metadata row. */
async function inspectMember(source: ByteSource, entry: ZipEntry, inspection: Inspection, signal?: AbortSignal): Promise<MetadataValue | null> {
  const member = openMember(source, entry, inspection.findings);
  if (!member) return null;
  const head = await readMemberHead(member, entry, inspection.findings);
  if (!head) {
    inspection.findings.push(
      createFinding('numpy.npz.member-not-read', {
        detail: `Member ${quoteName(entry.name)} could not be decoded, so it was not inspected.`,
        location: { entry: entry.name, offset: 0 },
      }),
    );
    return null;
  }
  const stored = entry.method === ZIP_METHOD.stored && entry.dataOffset !== null;
  const base = stored ? (entry.dataOffset ?? 0) : 0;
  if (isNpy(head)) {
    let reading: NpyReading;
    try {
      reading = await readNpy(member, { tensorName: npzKey(entry.name), entry: entry.name, baseOffset: base });
    } catch (error) {
      // Decoding a deflated member can fail past its first bytes (corrupt data, seek limit).
      if (!(error instanceof ParseError)) throw error;
      inspection.findings.push(createFinding(error.rule, { detail: error.message, location: { entry: entry.name, offset: error.offset } }));
      return { member: entry.name, key: npzKey(entry.name), content: 'npy (unreadable)' };
    }
    inspection.findings.push(...reading.findings);
    inspection.tensors.push(...reading.tensors);
    if (reading.pickleRegion) {
      const region = reading.pickleRegion;
      inspection.findings.push(objectArrayFinding(reading, { entry: entry.name, offset: base + region.offset, length: region.length }));
      await addPickleScan(source, entry, member, region, inspection, undefined, signal);
    }
    return { member: entry.name, key: npzKey(entry.name), ...reading.summary };
  }
  const isPickle = pickleFormat.detect(head, entry.name);
  inspection.findings.push(
    createFinding('numpy.npz.not-npy-member', {
      detail: `Member ${quoteName(entry.name)} (${entry.uncompressedSize} bytes) is not an .npy array; np.load returns it as raw bytes.${isPickle ? ' It reads as a pickle, so it was scanned as one.' : ''}`,
      location: { entry: entry.name, offset: 0 },
    }),
  );
  if (isPickle) {
    // A member opening with PROTO is a pickle by intent; text that merely reads as protocol 0 must import a real name.
    const strict = !startsWithProto(head);
    await addPickleScan(source, entry, member, { offset: 0, length: member.size }, inspection, (scan) => (namesSomething(scan, strict) ? scan : emptyInspection()), signal);
  }
  return { member: entry.name, key: npzKey(entry.name), content: isPickle ? 'pickle' : 'bytes', size: entry.uncompressedSize };
}

async function addPickleScan(
  source: ByteSource,
  entry: ZipEntry,
  member: ByteSource,
  region: { offset: number; length: number },
  inspection: Inspection,
  followUp: PickleFollowUp | undefined,
  signal?: AbortSignal,
): Promise<void> {
  const scan = await scanMemberPickle(source, entry, member, region, followUp, signal);
  if (scan.scanner) inspection.streamScanners?.push(scan.scanner);
  if (scan.inspection) mergeInspection(inspection, scan.inspection);
}

export const npzFormat: FormatModule = {
  id: 'npz',
  label: 'NumPy archive (.npz)',
  extensions: ['.npz'],
  detect: (head) => looksLikeNpz(head),
  inspect: (source: ByteSource, context: InspectContext) => inspectNpz(source, context.signal),
};
