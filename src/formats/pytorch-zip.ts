/**
 * PyTorch zip checkpoints (`torch.save`, PyTorch ≥ 1.6) and TorchScript
 * archives (`torch.jit.save`).
 * Spec (the writer and reader are the spec): torch/serialization.py (`_save`,
 * `_load`), caffe2/serialize/inline_container.cc (PyTorchStreamReader) and
 * torch/csrc/jit/serialization/import.cpp (TorchScript).
 *
 * A checkpoint is a zip whose members sit under one root folder, the folder
 * of the first central-directory entry (any name: PyTorch derives it, so
 * `archive/`, `model/` and `x/` are all valid): `data.pkl` (the pickled
 * object, whose persistent ids `('storage', StorageType, key, location,
 * numel)` name tensor storages), `data/<key>` (raw storage bytes), `version`
 * or `.data/version`, `byteorder`, `.data/serialization_id`. A TorchScript
 * archive adds `constants.pkl` (tensors referenced from the code, stored
 * under `constants/<key>`), `code/**.py` (the program torch.jit.load
 * compiles), debug pickles and `extra/` files; torch.load hands any archive
 * with a `constants.pkl` to torch.jit.load.
 *
 * Threat surface: `data.pkl` is a pickle, run by torch.load with
 * weights_only=False; every member is dispatched on its content, because a
 * pickle under another name (`readme.txt`, `data/7`) is missed by scanners
 * that choose members by name (CVE-2025-1889, CVE-2025-10155) and can still
 * be loaded by a custom loader or a nested loader call. The zip itself can
 * lie (CVE-2025-1944/1945/10156, see src/containers/zip.ts, which reads it as
 * leniently as PyTorch and reports every disagreement). Storages can be
 * missing, short or unreferenced; tensors can point outside their storage.
 * PyTorch looks records up case-insensitively (miniz without
 * MZ_ZIP_FLAG_CASE_SENSITIVE), so roles here are matched the same way.
 * TorchScript code is a program: it is listed in the report and checked for
 * calls that reach files, native libraries or the Python runtime
 * (torchscript-code.ts).
 */
import { type ZipEntry, ZIP_METHOD, createZipCrcScanner, readZipDirectory } from '../containers/zip.ts';
import { createFindingList, type FindingList } from '../containers/zip-finding-list.ts';
import { quoteName } from '../containers/zip-names.ts';
import { type ByteSource, throwIfAborted } from '../io/byte-source.ts';
import type { PickleInspection } from '../pickle/pickle-scanner.ts';
import { type TorchTensorTable, rebuildTorchTensors, toTensorInfos } from '../pickle/torch-tensors.ts';
import type { MetadataValue, WeightsOnlyVerdict } from '../report/types.ts';
import { createFinding } from '../rules/index.ts';
import { quoteUntrusted } from '../rules/pickle-policy.ts';
import { pickleFormat, startsWithProto } from './pickle.ts';
import { scanTorchScriptSource } from './torchscript-code.ts';
import { type FormatModule, type InspectContext, type Inspection, emptyInspection } from './types.ts';
import {
  type PickleFollowUp,
  decodeUtf8,
  headLocalNames,
  namesSomething,
  openMember,
  readMemberHead,
  scanMemberPickle,
} from './zip-members.ts';
import { combineWeightsOnly, mergeInspection, setMetadata } from './inspection.ts';

/** Bytes of a text record (`version`, `byteorder`, serialization id) read: they hold a few characters (CWE-400). */
export const MAX_TEXT_RECORD_BYTES = 256;
/** Bytes of one TorchScript source scanned: generated files are KBs; larger is not scanned past this (CWE-400). */
export const MAX_CODE_SCAN_BYTES = 16 * 1024 * 1024;
/** Characters of one source kept in the report for display (CWE-770). */
export const MAX_SOURCE_SHOWN_CHARS = 64 * 1024;
/** Characters of all sources kept in the report (CWE-770). */
export const MAX_SOURCES_SHOWN_CHARS = 1024 * 1024;
/** Rows of each member list in the metadata (code files, extra files, other members) (CWE-770). */
export const MAX_LISTED_MEMBERS = 1_000;
/** Findings of one rule listed; the rest are counted in one summary finding (CWE-770). */
export const MAX_FINDINGS_PER_RULE = 100;
/** Serialization format versions PyTorch 2.x reads (caffe2 kMinSupportedFileFormatVersion … kMaxSupportedFileFormatVersion). */
export const SUPPORTED_VERSIONS = { min: 1, max: 10 } as const;

const ZIP_LOCAL_MAGIC = [0x50, 0x4b, 0x03, 0x04];

/** Record names (after the root folder) that only a torch archive has; enough to recognise one in the head. */
const TORCH_LAYOUT_NAME =
  /^[^/]+\/(?:data\.pkl|constants\.pkl|version|byteorder|\.format_version|\.storage_alignment|\.data\/version|\.data\/serialization_id|data\/\d+)$/i;

/** Text records and the metadata key each is reported under. */
const TEXT_RECORDS: ReadonlyMap<string, string> = new Map([
  ['version', 'version'],
  ['.data/version', 'dataVersion'],
  ['byteorder', 'byteorder'],
  ['.format_version', 'formatVersion'],
  ['.storage_alignment', 'storageAlignment'],
  ['.data/serialization_id', 'serializationId'],
]);

/**
 * True when `head` is a zip that looks like a torch archive: its first local
 * entry is a `.pkl`, or one of the first local names is a torch record.
 * Lenient on purpose; inspect decides the rest.
 */
export function looksLikeTorchZip(head: Uint8Array): boolean {
  if (!ZIP_LOCAL_MAGIC.every((byte, index) => head[index] === byte)) return false;
  const names = headLocalNames(head);
  if (names.length === 0) return false;
  if (names[0].toLowerCase().endsWith('.pkl')) return true;
  return names.some((name) => TORCH_LAYOUT_NAME.test(name));
}

type MemberRole =
  /** `data.pkl` or `constants.pkl`: unpickled by torch, their persistent ids make the tensor table. */
  | { kind: 'table-pickle'; storagePrefix: 'data/' | 'constants/' }
  /** Unpickled by torch.jit.load (debug info, mobile bytecode) or a second copy of a table pickle. */
  | { kind: 'loaded-pickle' }
  | { kind: 'storage' }
  | { kind: 'text-record'; key: string }
  | { kind: 'code' }
  | { kind: 'extra' }
  | { kind: 'other' }
  /** Outside the root folder: torch never reads it. */
  | { kind: 'foreign' };

/** The role of a member from its name relative to the root, lower-cased as PyTorch compares names. */
function roleOf(relative: string | null, tablesSeen: Set<string>): MemberRole {
  if (relative === null) return { kind: 'foreign' };
  if (relative === 'data.pkl' || relative === 'constants.pkl') {
    if (tablesSeen.has(relative)) return { kind: 'loaded-pickle' };
    tablesSeen.add(relative);
    return { kind: 'table-pickle', storagePrefix: relative === 'data.pkl' ? 'data/' : 'constants/' };
  }
  if (relative === 'bytecode.pkl' || relative.endsWith('.debug_pkl')) return { kind: 'loaded-pickle' };
  if (/^(?:data|constants)\/[^/]+$/.test(relative)) return { kind: 'storage' };
  const textKey = TEXT_RECORDS.get(relative);
  if (textKey) return { kind: 'text-record', key: textKey };
  if (relative.startsWith('code/') && relative.endsWith('.py')) return { kind: 'code' };
  if (relative.startsWith('extra/')) return { kind: 'extra' };
  return { kind: 'other' };
}

/** Everything one inspection collects before the pass. */
interface ArchiveState {
  source: ByteSource;
  signal?: AbortSignal;
  inspection: Inspection;
  findings: FindingList;
  /** Root folder with its slash, lower-cased; null when the first entry is in no folder. */
  rootPrefix: string | null;
  torchScript: boolean;
  /** Storage records by lower-cased name relative to the root (`data/0`, `constants/1`). */
  storages: Map<string, ZipEntry>;
  tables: { storagePrefix: string; table: TorchTensorTable }[];
  pendingTables: number;
  /** A table pickle could not be read: storage references are incomplete. */
  tableUnreadable: boolean;
  weightsOnly?: WeightsOnlyVerdict;
  code: { files: MetadataValue[]; sources: MetadataValue[]; shownChars: number; count: number };
  extraFiles: MetadataValue[];
  otherMembers: MetadataValue[];
}

/** Inspects a torch zip: directory, roles, text records, pickles (on the pass when stored), code. */
export async function inspectTorchZip(source: ByteSource, signal?: AbortSignal): Promise<Inspection> {
  const directory = await readZipDirectory(source, { signal });
  const state: ArchiveState = {
    source,
    signal,
    inspection: { tensors: [], metadata: {}, findings: [...directory.findings], streamScanners: [] },
    findings: createFindingList(MAX_FINDINGS_PER_RULE),
    rootPrefix: null,
    torchScript: false,
    storages: new Map(),
    tables: [],
    pendingTables: 0,
    tableUnreadable: false,
    code: { files: [], sources: [], shownChars: 0, count: 0 },
    extraFiles: [],
    otherMembers: [],
  };
  const metadata = state.inspection.metadata;
  const first = directory.entries[0];
  if (first) {
    const slash = first.name.indexOf('/');
    if (slash > 0) {
      state.rootPrefix = first.name.slice(0, slash + 1).toLowerCase();
      metadata.archiveRoot = first.name.slice(0, slash);
    } else {
      state.findings.add('torch.archive.no-root-folder', {
        detail: `The first entry ${quoteName(first.name)} is not inside a folder; PyTorch refuses the archive ("file in archive is not in a subdirectory").`,
        location: { offset: first.localHeaderOffset },
      });
    }
  }

  const relativeName = (entry: ZipEntry): string | null => {
    const lower = entry.name.toLowerCase();
    return state.rootPrefix !== null && lower.startsWith(state.rootPrefix) ? lower.slice(state.rootPrefix.length) : null;
  };
  const tablesSeen = new Set<string>();
  const members = directory.entries
    .filter((entry) => !entry.isDirectory)
    .map((entry) => ({ entry, relative: relativeName(entry), role: roleOf(relativeName(entry), tablesSeen) }));
  state.torchScript = tablesSeen.has('constants.pkl');
  for (const member of members) {
    if (member.role.kind === 'storage' && member.relative !== null && !state.storages.has(member.relative)) state.storages.set(member.relative, member.entry);
  }
  state.pendingTables = members.filter((member) => member.role.kind === 'table-pickle').length;

  if (state.torchScript) markTorchScript(state, members.find((member) => member.relative === 'constants.pkl')?.entry);
  if (!tablesSeen.has('data.pkl')) {
    state.findings.add('torch.archive.no-data-pkl', {
      detail: state.rootPrefix === null
        ? 'The archive has no root folder, so PyTorch finds no data.pkl.'
        : `No ${quoteName(`${metadata.archiveRoot as string}/data.pkl`)} among the ${members.length} members.`,
      location: { offset: 0 },
    });
  }

  for (const member of members) {
    throwIfAborted(signal);
    const crc = createZipCrcScanner(member.entry);
    if (crc) state.inspection.streamScanners?.push(crc);
    await inspectMember(state, member.entry, member.role);
  }

  const hasVersion = members.some((member) => member.role.kind === 'text-record' && /version$/i.test(member.role.key));
  if (state.rootPrefix !== null && !hasVersion) {
    state.findings.add('torch.archive.version-invalid', {
      detail: 'The archive has neither a version nor a .data/version record; PyTorch refuses it.',
      location: { offset: 0 },
    });
  }
  finishMetadata(state, members.length);
  state.inspection.findings.push(...state.findings.toArray());
  // The TorchScript refusal comes first: torch.load stops there, before any pickle.
  const weightsOnly = combineWeightsOnly(state.weightsOnly, state.inspection.weightsOnly);
  if (weightsOnly) state.inspection.weightsOnly = weightsOnly;
  return state.inspection;
}

/**
 * Where a member's bytes start, as findings about them give it: the file
 * offset of a stored member's data (the same bytes), offset 0 of a deflated
 * member's decoded bytes; `entry` names the member either way.
 */
function memberStart(entry: ZipEntry): { entry: string; offset: number } {
  const stored = entry.method === ZIP_METHOD.stored && entry.dataOffset !== null;
  return { entry: entry.name, offset: stored ? (entry.dataOffset as number) : 0 };
}

function markTorchScript(state: ArchiveState, constants: ZipEntry | undefined): void {
  state.inspection.metadata.kind = 'TorchScript';
  const offset = constants?.localHeaderOffset ?? 0;
  state.findings.add('torch.torchscript.archive', {
    detail: 'The archive has constants.pkl: torch.load hands it to torch.jit.load, which compiles the code/ sources listed in the metadata and runs them.',
    location: { offset },
  });
  state.weightsOnly = {
    accepted: false,
    firstRefused: {
      module: 'torch.jit',
      name: 'load',
      offset,
      ...(constants ? { entry: constants.name } : {}),
      reason: 'TorchScript archive: torch.load(weights_only=True) refuses it since PyTorch 2.6 (2.5.1 and earlier ran it through torch.jit.load, CVE-2025-32434)',
    },
  };
}

async function inspectMember(state: ArchiveState, entry: ZipEntry, role: MemberRole): Promise<void> {
  const { source, inspection } = state;
  // Without a root folder PyTorch refuses the archive (reported once); every member would be foreign.
  if (role.kind === 'foreign' && state.rootPrefix !== null) {
    state.findings.add('torch.archive.foreign-member', {
      detail: `Member ${quoteName(entry.name)} is outside the archive root ${quoteName(String(inspection.metadata.archiveRoot ?? ''))}; PyTorch never reads it.`,
      location: { offset: entry.localHeaderOffset },
    });
  }
  const member = openMember(source, entry, inspection.findings);
  const head = member ? await readMemberHead(member, entry, inspection.findings) : null;
  if (!member || !head) {
    // An unreadable data.pkl is its own finding (from the zip reader); without its references, no storage can be called unused.
    if (role.kind === 'table-pickle') {
      state.tableUnreadable = true;
      settleTable(state, state.findings);
    }
    return;
  }
  const isPickle = pickleFormat.detect(head, entry.name);
  // A stream that opens with PROTO is a pickle by intent; one that only reads as protocol 0 may be text.
  const strict = !startsWithProto(head);
  const whole = { offset: 0, length: member.size };

  switch (role.kind) {
    case 'table-pickle':
      return addPickle(state, entry, member, whole, tableFollowUp(state, entry, role.storagePrefix));
    case 'loaded-pickle':
      return addPickle(state, entry, member, whole, (scan) => withoutWeightsOnly(state, scan));
    case 'storage':
      // Raw tensor bytes start like a pickle by chance about once in 10 000 storages: only a stream that imports a real name is reported.
      if (isPickle) await addPickle(state, entry, member, whole, hiddenPickleFollowUp(state, entry, 'storage', true));
      return;
    case 'code':
      await readCode(state, entry, member);
      // Python source that opens with `class …` reads as a protocol 0 GLOBAL: only a stream that imports a real name is a pickle.
      if (isPickle) await addPickle(state, entry, member, whole, hiddenPickleFollowUp(state, entry, 'code', true));
      return;
    case 'text-record':
      if (!isPickle) return readTextRecord(state, entry, role.key, head.subarray(0, MAX_TEXT_RECORD_BYTES));
      break;
    case 'extra':
      listMember(state.extraFiles, entry, isPickle);
      break;
    default:
      listMember(state.otherMembers, entry, isPickle);
  }
  if (isPickle) await addPickle(state, entry, member, whole, hiddenPickleFollowUp(state, entry, 'member', strict));
}

async function addPickle(
  state: ArchiveState,
  entry: ZipEntry,
  member: ByteSource,
  region: { offset: number; length: number },
  followUp: PickleFollowUp,
): Promise<void> {
  const scan = await scanMemberPickle(state.source, entry, member, region, followUp, state.signal);
  if (scan.scanner) state.inspection.streamScanners?.push(scan.scanner);
  if (scan.inspection) mergeInspection(state.inspection, scan.inspection);
}

/**
 * In a TorchScript archive the pickles are read by TorchScript's own
 * unpickler, which resolves `__torch__.*` to the classes compiled from code/
 * and handles `torch.jit._pickle.*` itself, importing no Python module: the
 * "unvetted import" findings for those globals are dropped (the code they
 * name is checked instead). Every other global keeps its findings.
 */
function dropTorchScriptInternals(state: ArchiveState, scan: PickleInspection): PickleInspection {
  if (!state.torchScript) return scan;
  const offsets = new Set<number>();
  for (const imported of scan.pickle.imports) if (imported.resolved && isTorchScriptInternal(imported.module)) offsets.add(imported.offset);
  for (const call of scan.pickle.calls) if (call.callable && isTorchScriptInternal(call.callable.module)) offsets.add(call.offset);
  scan.findings = scan.findings.filter(
    (finding) =>
      !(finding.rule.startsWith('pickle.import.') || finding.rule.startsWith('pickle.call.')) ||
      finding.location.offset === undefined ||
      !offsets.has(finding.location.offset),
  );
  for (const summary of Object.values(scan.metadata)) relabelInternalImports(summary);
  return scan;
}

function isTorchScriptInternal(module: string): boolean {
  return module === '__torch__' || module.startsWith('__torch__.') || module === 'torch.jit._pickle';
}

/** In the scanner's import table, TorchScript's own globals are shown as such rather than as Python imports. */
function relabelInternalImports(summary: MetadataValue): void {
  if (typeof summary !== 'object' || summary === null || Array.isArray(summary) || !('imports' in summary)) return;
  const imports = (summary as Record<string, MetadataValue>).imports;
  if (!Array.isArray(imports)) return;
  for (const row of imports) {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) continue;
    const record = row as Record<string, MetadataValue>;
    const global = typeof record.global === 'string' ? record.global : '';
    if (isTorchScriptInternal(global.slice(0, global.lastIndexOf('.')))) record.class = 'torchscript';
  }
}

/**
 * Pickles whose weights_only answer is not the file's (debug info, hidden
 * pickles, the pickles of a TorchScript archive, which torch.load refuses
 * as a whole): their answer and its info finding are dropped.
 */
function withoutWeightsOnly(state: ArchiveState, scan: PickleInspection): Inspection {
  const inspection: Inspection = dropTorchScriptInternals(state, scan);
  delete inspection.weightsOnly;
  inspection.findings = inspection.findings.filter((finding) => finding.rule !== 'pickle.weights-only.refused');
  return inspection;
}

/**
 * A pickle under a name PyTorch does not unpickle. Reported (with its scan)
 * when it imports something: a pickle that imports nothing cannot run
 * anything, and storages, sources and text that merely start like a pickle
 * must import a plain dotted name to count (`strict`, see namesSomething).
 */
function hiddenPickleFollowUp(state: ArchiveState, entry: ZipEntry, kind: 'storage' | 'code' | 'member', strict: boolean): PickleFollowUp {
  return (scan) => {
    const imports = scan.pickle.imports;
    if (!namesSomething(scan, strict)) return emptyInspection();
    const inspection = withoutWeightsOnly(state, scan);
    const where = kind === 'storage' ? 'Storage record' : kind === 'code' ? 'Source file' : 'Member';
    inspection.findings.unshift(
      createFinding('torch.archive.hidden-pickle', {
        detail: `${where} ${quoteName(entry.name)} is a pickle that imports ${imports.length} global${imports.length === 1 ? '' : 's'}; PyTorch does not unpickle it under this name, so it is there for another loader.`,
        location: memberStart(entry),
      }),
    );
    return inspection;
  };
}

/** The follow-up of data.pkl / constants.pkl: tensor table, storage checks, and the cross-checks once the last table is in. */
function tableFollowUp(state: ArchiveState, entry: ZipEntry, storagePrefix: 'data/' | 'constants/'): PickleFollowUp {
  return (scan) => {
    // torch.load answers weights_only from data.pkl alone; a TorchScript archive already has its answer (refused).
    const answersWeightsOnly = storagePrefix === 'data/' && !state.torchScript;
    const inspection: Inspection = answersWeightsOnly ? dropTorchScriptInternals(state, scan) : withoutWeightsOnly(state, scan);

    const table = rebuildTorchTensors(scan.pickle);
    state.tables.push({ storagePrefix, table });
    const storageOffset = (key: string) => {
      const record = state.storages.get(`${storagePrefix}${key}`.toLowerCase());
      return record && record.method === ZIP_METHOD.stored && record.dataOffset !== null ? record.dataOffset : undefined;
    };
    inspection.tensors = toTensorInfos(table, storageOffset);
    const findings = createFindingList(MAX_FINDINGS_PER_RULE);
    checkTable(state, entry, storagePrefix, table, findings);
    settleTable(state, findings);
    inspection.findings.push(...findings.toArray());
    if (table.truncated) setMetadata(inspection.metadata, { [`tensors ${entry.name}`]: { truncated: true, listed: table.tensors.length } });
    return inspection;
  };
}

function checkTable(state: ArchiveState, entry: ZipEntry, storagePrefix: string, table: TorchTensorTable, findings: FindingList): void {
  const at = (offset: number) => ({ entry: entry.name, offset });
  for (const storage of table.storages) {
    const recordName = `${storagePrefix}${storage.key}`;
    const record = state.storages.get(recordName.toLowerCase());
    const root = state.inspection.metadata.archiveRoot;
    if (!record) {
      findings.add('torch.storage.missing', {
        detail: `Storage ${quoteUntrusted(storage.key)} (${storage.storageType}, ${storage.numel ?? '?'} elements) has no ${quoteName(typeof root === 'string' ? `${root}/${recordName}` : recordName)} record.`,
        location: at(storage.persistentIdOffset),
      });
    } else if (storage.byteLength !== null && record.uncompressedSize < storage.byteLength) {
      findings.add('torch.storage.too-small', {
        detail: `Storage ${quoteUntrusted(storage.key)} declares ${storage.numel} × ${storage.elementSize} = ${storage.byteLength} bytes but ${quoteName(record.name)} holds ${record.uncompressedSize}.`,
        location: memberStart(record),
      });
    }
  }
  for (const problem of table.problems) {
    // The same rule as the legacy format's tensor table (torch-legacy.ts), so reports agree across torch formats.
    findings.add('pickle.stream.torch-tensor-invalid', { detail: `${problem.message}.`, location: at(problem.offset) });
  }
}

/** One table pickle is done (scanned or unreadable); after the last one, storages nobody references are reported. */
function settleTable(state: ArchiveState, findings: FindingList): void {
  state.pendingTables -= 1;
  if (state.pendingTables === 0 && !state.tableUnreadable) checkUnreferenced(state, findings);
}

function checkUnreferenced(state: ArchiveState, findings: FindingList): void {
  const referenced = new Set<string>();
  for (const { storagePrefix, table } of state.tables) {
    for (const storage of table.storages) referenced.add(`${storagePrefix}${storage.key}`.toLowerCase());
  }
  for (const [name, record] of state.storages) {
    if (referenced.has(name)) continue;
    findings.add('torch.storage.unreferenced', {
      detail: `Storage record ${quoteName(record.name)} (${record.uncompressedSize} bytes) is not used by any tensor.`,
      location: { offset: record.localHeaderOffset },
    });
  }
}

function readTextRecord(state: ArchiveState, entry: ZipEntry, key: string, bytes: Uint8Array): void {
  const metadata = state.inspection.metadata;
  const text = decodeUtf8(bytes);
  const location = memberStart(entry);
  const shown = text === null ? null : quoteUntrusted(text, 64);
  if (key === 'version' || key === 'dataVersion') {
    // PyTorch parses it with std::stoull: leading spaces, an optional sign, then digits; the rest is ignored.
    const match = text === null ? null : /^\s*\+?(\d{1,15})/.exec(text);
    const version = match ? Number(match[1]) : null;
    setMetadata(metadata, { [key]: version ?? shown ?? `${bytes.length} bytes` });
    if (version === null || version < SUPPORTED_VERSIONS.min || version > SUPPORTED_VERSIONS.max) {
      state.findings.add('torch.archive.version-invalid', {
        detail: version === null
          ? `Record ${quoteName(entry.name)} holds ${shown ?? 'bytes that are not text'}, not a version number.`
          : `Format version ${version} is outside ${SUPPORTED_VERSIONS.min} to ${SUPPORTED_VERSIONS.max}, the versions PyTorch 2.x reads.`,
        location,
      });
    }
    return;
  }
  if (key === 'byteorder') {
    metadata.byteorder = text ?? `${bytes.length} bytes`;
    if (text === 'big') {
      state.findings.add('torch.archive.big-endian', { detail: 'The byteorder record says "big": storages are big-endian.', location });
    } else if (text !== 'little') {
      state.findings.add('torch.archive.byteorder-invalid', {
        detail: `The byteorder record holds ${shown ?? 'bytes that are not text'}; torch.load accepts only "little" or "big".`,
        location,
      });
    }
    return;
  }
  setMetadata(metadata, { [key]: text === null ? `${bytes.length} bytes (not text)` : text.length > 64 ? `${text.slice(0, 64)}…` : text });
}

async function readCode(state: ArchiveState, entry: ZipEntry, member: ByteSource): Promise<void> {
  const code = state.code;
  code.count += 1;
  const path = entry.name;
  if (code.files.length < MAX_LISTED_MEMBERS) code.files.push({ path, size: entry.uncompressedSize });
  const notScanned = (detail: string) => state.findings.add('torch.torchscript.code-not-scanned', { detail, location: { entry: path, offset: 0 } });
  let bytes: Uint8Array;
  try {
    bytes = await member.read(0, MAX_CODE_SCAN_BYTES);
  } catch (error) {
    notScanned(`Source ${quoteName(path)} could not be decoded: ${error instanceof Error ? error.message : String(error)}.`);
    return;
  }
  if (member.size > MAX_CODE_SCAN_BYTES) notScanned(`Source ${quoteName(path)} has ${member.size} bytes; only the first ${MAX_CODE_SCAN_BYTES} were scanned.`);
  const text = decodeUtf8(bytes);
  if (text === null) {
    notScanned(`Source ${quoteName(path)} is not valid UTF-8, so torch.jit.load would fail on it and it was not scanned as text.`);
    return;
  }
  const base = entry.method === ZIP_METHOD.stored && entry.dataOffset !== null ? entry.dataOffset : 0;
  const scan = scanTorchScriptSource(text);
  for (const hit of scan.hits) {
    state.findings.add(hit.rule, {
      detail: `${quoteName(path)} line ${hit.line} uses ${hit.what}.`,
      location: { entry: path, offset: base + hit.byteOffset },
      evidence: quoteUntrusted(hit.text),
    });
  }
  if (scan.omitted > 0) notScanned(`Source ${quoteName(path)} has ${scan.omitted} more flagged lines than are listed.`);
  if (code.shownChars < MAX_SOURCES_SHOWN_CHARS) {
    const room = Math.min(MAX_SOURCE_SHOWN_CHARS, MAX_SOURCES_SHOWN_CHARS - code.shownChars);
    const shown = text.length > room ? text.slice(0, room) : text;
    code.shownChars += shown.length;
    code.sources.push({ path, text: shown, ...(shown.length < text.length ? { truncated: true } : {}) });
  }
}

function listMember(list: MetadataValue[], entry: ZipEntry, isPickle: boolean): void {
  if (list.length >= MAX_LISTED_MEMBERS) return;
  list.push({ path: entry.name, size: entry.uncompressedSize, ...(isPickle ? { content: 'pickle' } : {}) });
}

function finishMetadata(state: ArchiveState, memberCount: number): void {
  const metadata = state.inspection.metadata;
  metadata.kind ??= 'torch.save';
  metadata.members = memberCount;
  metadata.storages = state.storages.size;
  if (state.code.count > 0 || state.torchScript) {
    metadata.torchscript = {
      codeFiles: state.code.files,
      sources: state.code.sources,
      ...(state.code.count > state.code.files.length ? { codeFileCount: state.code.count } : {}),
      extraFiles: state.extraFiles,
    };
  } else if (state.extraFiles.length > 0) {
    metadata.extraFiles = state.extraFiles;
  }
  if (state.otherMembers.length > 0) metadata.otherMembers = state.otherMembers;
}

export const pytorchZipFormat: FormatModule = {
  id: 'pytorch-zip',
  label: 'PyTorch checkpoint (zip)',
  extensions: ['.pt', '.pth', '.bin', '.ckpt', '.pt2', '.ptl'],
  detect: (head) => looksLikeTorchZip(head),
  inspect: (source: ByteSource, context: InspectContext) => inspectTorchZip(source, context.signal),
};
