/**
 * 7-Zip archives (`.7z`): every member decoded and inspected by content.
 * Spec: 7-Zip's DOC/7zFormat.txt; the reader is src/containers/sevenzip.ts.
 *
 * Threat surface: no ML loader opens a 7z itself, but models are shared as
 * 7z files and extracted before loading, and in 2025 ("nullifAI") malicious
 * PyTorch pickles were published 7z-compressed because scanners skipped the
 * format. So a 7z is never reported clean without its members being looked
 * at: each member goes through format detection again (a pickle, a torch
 * zip or a nested archive inside is found the same way as on its own), and
 * what cannot be decoded or inspected is a high finding. The archive's own
 * anomalies (traversal and symlink names, CRC mismatches, duplicate names,
 * anti-items, bombs) come from the reader.
 *
 * Costs: the members are decoded here, in `inspect`, once, folder by folder
 * (a solid folder is one pass for all its members). Each member with a
 * recognised format is kept in memory up to MAX_INSPECTED_MEMBER_BYTES so
 * that its inspector gets random access; members of unknown format are
 * only checksummed. Findings of a member carry `location.entry` = the member
 * path and offsets inside the member; its tensors and metadata keys are
 * prefixed with `<member path>:`.
 */
import {
  SEVEN_ZIP_SIGNATURE,
  type SevenZipArchive,
  type SevenZipMember,
  readSevenZipArchive,
  sevenZipMemberSourceName,
  walkSevenZipMembers,
} from '../containers/sevenzip.ts';
import { createFindingList } from '../containers/zip-finding-list.ts';
import type { ByteSource } from '../io/byte-source.ts';
import { createMemorySource } from '../io/memory-source.ts';
import { ParseError } from '../io/parse-error.ts';
import type { Finding, MetadataValue, WeightsOnlyVerdict } from '../report/types.ts';
import { type RuleId, createFinding } from '../rules/index.ts';
import { type FormatModule, HEAD_BYTES, type InspectContext, type Inspection } from './types.ts';

/**
 * Bytes of one member kept for its inspector: a torch pickle (data.pkl) is
 * a few MB, a legacy torch file or a zip member index is at the start of
 * the member; larger members are inspected by their first 128 MiB, and the
 * rest is reported as not inspected (CWE-400, CWE-770).
 */
export const MAX_INSPECTED_MEMBER_BYTES = 128 * 1024 * 1024;

/**
 * Archives inside archives inspected at most: each level holds its own
 * dictionary and member buffer, so nesting multiplies memory (CWE-674, CWE-400).
 */
export const MAX_NESTED_ARCHIVE_DEPTH = 2;

/**
 * Findings listed per rule over the archive and all its members; the rest
 * are counted in one summary finding per rule, so 100 000 damaged members
 * still make a bounded, readable report (CWE-770). The verdict is unchanged.
 */
export const MAX_FINDINGS_PER_RULE = 200;

/** Member names listed whole in the metadata; more are summarised. */
const MAX_LISTED_MEMBERS = 32;

/** Members of unknown format reported one by one (info findings); the rest are counted. */
const MAX_UNKNOWN_MEMBER_FINDINGS = 20;

/** Nesting depth of member sources created here, so a 7z in a 7z in a 7z stops. */
const nestingDepth = new WeakMap<ByteSource, number>();

export interface SevenZipInspectOptions {
  maxInspectedMemberBytes?: number;
  maxNestedDepth?: number;
  /** Decoded bytes per archive at most (the reader's default otherwise). */
  maxDecodedBytes?: number;
}

export const sevenZipFormat: FormatModule = {
  id: '7z',
  label: '7-Zip archive',
  extensions: ['.7z'],
  detect: (head) => head.length >= SEVEN_ZIP_SIGNATURE.length && SEVEN_ZIP_SIGNATURE.every((byte, index) => head[index] === byte),
  inspect: (source, context) => inspectSevenZip(source, context),
};

/** The format module's inspect, with limits tests can lower. */
export async function inspectSevenZip(source: ByteSource, context: InspectContext, options: SevenZipInspectOptions = {}): Promise<Inspection> {
  const depth = nestingDepth.get(source) ?? 0;
  const list = createFindingList(MAX_FINDINGS_PER_RULE);
  const add = (finding: Finding) => list.add(finding.rule as RuleId, { detail: finding.detail, location: finding.location, evidence: finding.evidence });
  let archive: SevenZipArchive;
  try {
    archive = await readSevenZipArchive(source, { signal: context.signal });
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    return { tensors: [], metadata: {}, findings: [createFinding(error.rule, { detail: error.message, location: { offset: error.offset } })] };
  }
  archive.findings.forEach(add);
  const inspection: Inspection = { tensors: [], metadata: describeArchive(archive), findings: [] };
  const withData = archive.members.filter((member) => member.hasStream && member.size > 0);
  if (withData.length === 0 || depth >= (options.maxNestedDepth ?? MAX_NESTED_ARCHIVE_DEPTH)) {
    if (withData.length > 0) {
      list.add('sevenzip.member.not-inspected', {
        detail: `This archive is nested ${depth} levels deep inside other archives, the limit; its ${withData.length} member(s) were not inspected.`,
        location: { offset: 0 },
      });
    }
    inspection.findings = list.toArray();
    return inspection;
  }
  // The registry imports this module, so it is reached lazily here rather than imported at load time.
  const { detectFormat } = await import('./index.ts');
  const maxKept = options.maxInspectedMemberBytes ?? MAX_INSPECTED_MEMBER_BYTES;
  const unknown: string[] = [];
  let member: MemberBytes | null = null;

  for await (const event of walkSevenZipMembers(source, archive, {
    signal: context.signal,
    maxDecodedBytes: options.maxDecodedBytes,
    onFinding: add,
  })) {
    if (event.type === 'start') {
      member = new MemberBytes(event.member, maxKept);
      continue;
    }
    if (!member) continue;
    if (event.type === 'data') {
      member.push(event.bytes, (head) => detectFormat(head, event.member.name));
      continue;
    }
    const done: MemberBytes = member;
    member = null;
    const format = done.format !== undefined ? done.format : detectFormat(done.bytes(), event.member.name);
    if (!format) {
      if (done.total > 0) unknown.push(event.member.name);
      continue;
    }
    const bytes = done.bytes();
    if (done.total > bytes.length) {
      list.add('sevenzip.member.too-large', {
        detail: `Member ${JSON.stringify(event.member.name)} (${format.label}) has ${event.member.size} bytes; only the first ${bytes.length} were inspected.`,
        location: { entry: event.member.name, offset: bytes.length },
      });
    }
    const memberSource = createMemorySource(bytes, sevenZipMemberSourceName(source.name, event.member.name));
    nestingDepth.set(memberSource, depth + 1);
    const result = await inspectMember(memberSource, format, bytes, context.signal);
    mergeMember(inspection, event.member.name, format.id, result, add);
  }
  reportUnknownMembers(unknown, add);
  inspection.findings = list.toArray();
  return inspection;
}

/** A member's bytes as they arrive: the head until a format is detected, then (for known formats) up to the cap. */
class MemberBytes {
  /** Detected format: undefined until the head is full, null when none matched. */
  format: FormatModule | null | undefined = undefined;
  total = 0;
  private buffer: Uint8Array;
  private length = 0;
  private readonly limit: number;

  constructor(
    readonly member: SevenZipMember,
    maxKept: number,
  ) {
    this.limit = Math.min(member.size, maxKept);
    this.buffer = new Uint8Array(Math.min(this.limit, HEAD_BYTES));
  }

  push(bytes: Uint8Array, detect: (head: Uint8Array) => FormatModule | null): void {
    this.total += bytes.length;
    if (this.format === null) return;
    const room = this.limit - this.length;
    if (room > 0) {
      const take = Math.min(room, bytes.length);
      this.ensure(this.length + take);
      this.buffer.set(bytes.subarray(0, take), this.length);
      this.length += take;
    }
    if (this.format === undefined && (this.length >= HEAD_BYTES || this.length >= this.limit)) {
      this.format = detect(this.bytes());
      // Bytes of an unknown format are not kept: only their CRC is checked, by the reader.
      if (this.format === null) this.buffer = new Uint8Array(0);
    }
  }

  /** The bytes kept so far (a view). */
  bytes(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  /** Grow by doubling, never past the limit: the declared size is only an upper bound until the bytes arrive. */
  private ensure(needed: number): void {
    if (needed <= this.buffer.length) return;
    const grown = new Uint8Array(Math.min(this.limit, Math.max(needed, this.buffer.length * 2)));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }
}

/** Inspect one member in memory: the module's inspect, then its stream scanners over the same bytes. */
async function inspectMember(source: ByteSource, format: FormatModule, bytes: Uint8Array, signal: AbortSignal | undefined): Promise<Inspection> {
  let inspection: Inspection;
  try {
    inspection = await format.inspect(source, { head: bytes.subarray(0, HEAD_BYTES), signal });
  } catch (error) {
    if (isAbort(error)) throw error;
    return { tensors: [], metadata: {}, findings: [errorFinding(error, 0)] };
  }
  const result: Inspection = { tensors: [...inspection.tensors], metadata: { ...inspection.metadata }, findings: [...inspection.findings], weightsOnly: inspection.weightsOnly };
  for (const scanner of inspection.streamScanners ?? []) {
    try {
      const start = Math.min(bytes.length, Math.max(0, scanner.offset));
      const end = Math.min(bytes.length, start + Math.max(0, scanner.length));
      if (end > start) scanner.push(bytes.subarray(start, end));
      const scanned = await scanner.finish();
      result.tensors.push(...scanned.tensors);
      result.findings.push(...scanned.findings);
      assignMetadata(result.metadata, '', scanned.metadata);
      result.weightsOnly = combineWeightsOnly(result.weightsOnly, scanned.weightsOnly);
    } catch (error) {
      if (isAbort(error)) throw error;
      result.findings.push(errorFinding(error, scanner.offset));
    }
  }
  return result;
}

/** A member's results into the archive's, with the member path on every finding, tensor and key. */
function mergeMember(target: Inspection, memberName: string, formatId: string, result: Inspection, add: (finding: Finding) => void): void {
  const prefix = `${memberName}:`;
  for (const finding of result.findings) {
    const entry = finding.location.entry === undefined ? memberName : `${memberName}/${finding.location.entry}`;
    add({ ...finding, location: { ...finding.location, entry } });
  }
  for (const tensor of result.tensors) target.tensors.push({ ...tensor, name: prefix + tensor.name });
  assignMetadata(target.metadata, prefix, { format: formatId, ...result.metadata });
  if (result.weightsOnly) {
    const verdict: WeightsOnlyVerdict = result.weightsOnly.firstRefused
      ? {
          accepted: result.weightsOnly.accepted,
          firstRefused: {
            ...result.weightsOnly.firstRefused,
            entry: result.weightsOnly.firstRefused.entry === undefined ? memberName : `${memberName}/${result.weightsOnly.firstRefused.entry}`,
          },
        }
      : result.weightsOnly;
    target.weightsOnly = combineWeightsOnly(target.weightsOnly, verdict);
  }
}

/** Accepted only when every part is accepted; the first refusal wins (as scan.ts combines parts). */
function combineWeightsOnly(first: WeightsOnlyVerdict | undefined, second: WeightsOnlyVerdict | undefined): WeightsOnlyVerdict | undefined {
  if (!first || !second) return first ?? second;
  return first.accepted ? second : first;
}

/** Copy keys as own data properties: a key named `__proto__` from a file must stay a key. */
function assignMetadata(target: Record<string, MetadataValue>, prefix: string, addition: Record<string, MetadataValue>): void {
  for (const [key, value] of Object.entries(addition)) {
    Object.defineProperty(target, prefix + key, { value, enumerable: true, writable: true, configurable: true });
  }
}

function reportUnknownMembers(names: string[], add: (finding: Finding) => void): void {
  for (const name of names.slice(0, MAX_UNKNOWN_MEMBER_FINDINGS)) {
    add(
      createFinding('format.unsupported', {
        detail: `Member ${JSON.stringify(name)} is not a format Preflight recognises; it was decoded and checksummed only.`,
        location: { entry: name },
      }),
    );
  }
  if (names.length > MAX_UNKNOWN_MEMBER_FINDINGS) {
    add(
      createFinding('format.unsupported', {
        detail: `${names.length - MAX_UNKNOWN_MEMBER_FINDINGS} more members of unrecognised formats were decoded and checksummed only.`,
      }),
    );
  }
}

function describeArchive(archive: SevenZipArchive): Record<string, MetadataValue> {
  const names = archive.members.map((member) => member.name);
  const methods = [...new Set(archive.folders.flatMap((folder) => folder.methods))];
  return {
    'sevenzip.version': `${archive.version.major}.${archive.version.minor}`,
    'sevenzip.members': archive.members.length,
    'sevenzip.folders': archive.folders.length,
    'sevenzip.solid': archive.folders.some((folder) => folder.memberIndices.length > 1),
    'sevenzip.methods': methods,
    'sevenzip.headerEncoded': archive.headerEncoded,
    'sevenzip.entries':
      names.length <= MAX_LISTED_MEMBERS ? names : { summary: 'array', itemType: 'string', length: names.length, head: names.slice(0, 8) },
  };
}

function errorFinding(error: unknown, offset: number): Finding {
  if (error instanceof ParseError) return createFinding(error.rule, { detail: error.message, location: { offset: error.offset } });
  return createFinding('scan.internal-error', { detail: error instanceof Error ? error.message : String(error), location: { offset } });
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}
