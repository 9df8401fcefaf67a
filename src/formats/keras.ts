/**
 * Keras 3 `.keras` archives (`model.save("x.keras")`, `keras.saving.save_model`).
 * Spec (the writer is the spec): keras/src/saving/saving_lib.py
 * (`_save_model_to_fileobj`, `_load_model_from_fileobj`), and
 * https://keras.io/guides/serialization_and_saving/.
 *
 * A zip, stored, written in this order: `metadata.json` (Keras version and
 * save date), `config.json` (the model config: every layer, initializer,
 * optimizer, loss and custom object as `{"module", "class_name", "config",
 * "registered_name"}`), `model.weights.h5` (an HDF5 file of
 * `layers/<name>/vars/<i>` datasets; `model.weights.npz` in some versions)
 * and `assets/` (vocabularies and other files layers saved).
 *
 * Threat surface: loading rebuilds everything config.json names, importing
 * the modules it names and calling what it finds with arguments from the
 * config; safe_mode only stops lambda bytecode, and has been bypassed again
 * and again (CVE-2024-3660, CVE-2025-1550, CVE-2025-8747, CVE-2025-9906,
 * CVE-2025-49655): the config is judged by the shared walker
 * (src/rules/keras-config.ts), and the torch.save bytes a TorchModuleWrapper
 * carries are decoded and scanned like any PyTorch file. The weights file is
 * HDF5, which can point outside itself (src/containers/hdf5.ts reports it).
 * Members are dispatched on content: a pickle or an HDF5 file under another
 * name is inspected as what it is. The zip itself can lie like any zip
 * (src/containers/zip.ts).
 */
import { type ZipEntry, ZIP_METHOD, createZipCrcScanner, readZipDirectory } from '../containers/zip.ts';
import { createFindingList } from '../containers/zip-finding-list.ts';
import { quoteName } from '../containers/zip-names.ts';
import { type Hdf5File, readHdf5 } from '../containers/hdf5.ts';
import { hasSignatureAt } from '../containers/hdf5-superblock.ts';
import { type ByteSource, throwIfAborted } from '../io/byte-source.ts';
import { createMemorySource } from '../io/memory-source.ts';
import { ParseError } from '../io/parse-error.ts';
import { createSliceSource } from '../io/slice-source.ts';
import { type PickleInspection, scanPickleBytes } from '../pickle/pickle-scanner.ts';
import type { Finding, FindingLocation, MetadataValue, TensorInfo } from '../report/types.ts';
import { type RuleId, createFinding } from '../rules/index.ts';
import { type KerasConfigContainer, type KerasEmbeddedPayload, parseKerasConfigText, summaryMetadata, walkKerasConfig } from '../rules/keras-config.ts';
import { mergeInspection, setMetadata } from './inspection.ts';
import { pickleFormat, startsWithProto } from './pickle.ts';
import { type FormatModule, HEAD_BYTES, type InspectContext, type Inspection, type StreamScanner, emptyInspection } from './types.ts';
import { headLocalNames, namesSomething, openMember, readMemberHead, scanMemberPickle } from './zip-members.ts';

/** Bytes of config.json parsed: real configs are KBs to a few MB (CWE-400). */
export const MAX_CONFIG_BYTES = 64 * 1024 * 1024;
/** Bytes of metadata.json read: it holds two short fields (CWE-400). */
export const MAX_METADATA_BYTES = 64 * 1024;
/** Deflated HDF5 members read at most: random access into deflate costs O(offset) per read (CWE-400). */
export const MAX_DEFLATED_HDF5_BYTES = 64 * 1024 * 1024;
/** Findings of one rule listed across members; the rest are counted (CWE-770). */
export const MAX_FINDINGS_PER_RULE = 100;
/** Members listed in the metadata (CWE-770). */
export const MAX_LISTED_MEMBERS = 1_000;

const ZIP_LOCAL_MAGIC = [0x50, 0x4b, 0x03, 0x04];

/** Member names Keras writes at the top of the archive. */
const KERAS_MEMBERS: ReadonlySet<string> = new Set(['config.json', 'metadata.json', 'model.weights.h5', 'model.weights.npz']);

/** True when `head` is a zip that opens with a Keras member, or holds config.json beside Keras's other members. */
export function looksLikeKerasArchive(head: Uint8Array): boolean {
  if (!ZIP_LOCAL_MAGIC.every((byte, index) => head[index] === byte)) return false;
  const names = headLocalNames(head);
  if (names[0] === 'metadata.json' || names[0] === 'config.json') return true;
  // Keras loads a zip whatever its order: config.json with Keras's other members anywhere in the head.
  return names.includes('config.json') && names.some((name) => name === 'metadata.json' || name.startsWith('model.weights.'));
}

export const kerasFormat: FormatModule = {
  id: 'keras',
  label: 'Keras model (.keras)',
  extensions: ['.keras'],
  detect: (head) => looksLikeKerasArchive(head),
  inspect: (source: ByteSource, context: InspectContext) => inspectKerasArchive(source, context.signal),
};

/** Inspects a `.keras` archive: config, metadata, weights, every other member by content. */
export async function inspectKerasArchive(source: ByteSource, signal?: AbortSignal): Promise<Inspection> {
  const directory = await readZipDirectory(source, { signal });
  const inspection: Inspection = { tensors: [], metadata: {}, findings: [...directory.findings], streamScanners: [] };
  const memberFindings = createFindingList(MAX_FINDINGS_PER_RULE);
  const addFinding = (finding: Finding) => memberFindings.add(finding.rule as RuleId, { detail: finding.detail, location: finding.location, evidence: finding.evidence });
  const members: MetadataValue[] = [];
  let sawConfig = false;
  let sawMetadata = false;

  for (const entry of directory.entries) {
    throwIfAborted(signal);
    if (entry.isDirectory) continue;
    if (members.length < MAX_LISTED_MEMBERS) members.push({ path: entry.name, size: entry.uncompressedSize });
    const crc = createZipCrcScanner(entry);
    if (crc) inspection.streamScanners?.push(crc);
    const part: Inspection = { tensors: [], metadata: {}, findings: [], streamScanners: [] };
    if (entry.name === 'config.json' && !sawConfig) {
      sawConfig = true;
      await inspectConfigMember(source, entry, part, signal);
    } else if (entry.name === 'metadata.json' && !sawMetadata) {
      sawMetadata = true;
      await inspectMetadataMember(source, entry, part);
    } else {
      await inspectOtherMember(source, entry, part, signal);
    }
    for (const finding of part.findings) addFinding(finding);
    mergeInspection(inspection, { ...part, findings: [] });
  }
  if (!sawConfig) {
    addFinding(createFinding('keras.archive.no-config', { detail: `None of the ${members.length} members is config.json; keras.saving.load_model refuses the archive.`, location: { offset: 0 } }));
  }
  if (!sawMetadata) {
    addFinding(createFinding('keras.metadata.invalid', { detail: 'The archive has no metadata.json.', location: { offset: 0 } }));
  }
  inspection.findings.push(...memberFindings.toArray());
  inspection.metadata.members = members;
  return inspection;
}

/** Where findings about a member's bytes point: file offsets for a stored member, member offsets otherwise. */
function memberLocation(entry: ZipEntry): FindingLocation {
  const stored = entry.method === ZIP_METHOD.stored && entry.dataOffset !== null;
  return { entry: entry.name, offset: stored ? (entry.dataOffset as number) : 0 };
}

async function readMemberText(source: ByteSource, entry: ZipEntry, inspection: Inspection, maxBytes: number, tooLarge: () => void): Promise<string | null> {
  const member = openMember(source, entry, inspection.findings);
  if (!member) return notRead(entry, inspection, 'it could not be opened');
  if (member.size > maxBytes) {
    tooLarge();
    return null;
  }
  try {
    const bytes = await member.read(0, member.size);
    return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    inspection.findings.push(createFinding(error.rule, { detail: error.message, location: { entry: entry.name, offset: error.offset } }));
    return null;
  }
}

function notRead(entry: ZipEntry, inspection: Inspection, why: string): null {
  inspection.findings.push(createFinding('keras.archive.member-not-read', { detail: `Member ${quoteName(entry.name)} was not inspected: ${why}.`, location: { entry: entry.name, offset: 0 } }));
  return null;
}

async function inspectConfigMember(source: ByteSource, entry: ZipEntry, inspection: Inspection, signal?: AbortSignal): Promise<void> {
  const location = memberLocation(entry);
  const text = await readMemberText(source, entry, inspection, MAX_CONFIG_BYTES, () =>
    inspection.findings.push(createFinding('keras.config.too-large', { detail: `config.json has ${entry.uncompressedSize} bytes, over MAX_CONFIG_BYTES (${MAX_CONFIG_BYTES}); it was not parsed.`, location })),
  );
  if (text === null) return;
  mergeInspection(inspection, await inspectKerasConfigText(text, { location, container: 'keras', what: 'config.json', signal }));
}

async function inspectMetadataMember(source: ByteSource, entry: ZipEntry, inspection: Inspection): Promise<void> {
  const location = memberLocation(entry);
  const text = await readMemberText(source, entry, inspection, MAX_METADATA_BYTES, () =>
    inspection.findings.push(createFinding('keras.metadata.invalid', { detail: `metadata.json has ${entry.uncompressedSize} bytes, over MAX_METADATA_BYTES (${MAX_METADATA_BYTES}); it was not read.`, location })),
  );
  if (text === null) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    inspection.findings.push(createFinding('keras.metadata.invalid', { detail: 'metadata.json is not a JSON object.', location }));
    return;
  }
  const record = parsed as Record<string, unknown>;
  if (typeof record.keras_version === 'string') inspection.metadata.kerasVersion = record.keras_version.slice(0, 64);
  if (typeof record.date_saved === 'string') inspection.metadata.dateSaved = record.date_saved.slice(0, 64);
}

async function inspectOtherMember(source: ByteSource, entry: ZipEntry, inspection: Inspection, signal?: AbortSignal): Promise<void> {
  const expected = KERAS_MEMBERS.has(entry.name) || entry.name.startsWith('assets/');
  if (!expected) {
    inspection.findings.push(
      createFinding('keras.archive.unexpected-member', {
        detail: `Member ${quoteName(entry.name)} (${entry.uncompressedSize} bytes) is not one Keras writes; Keras ignores it.`,
        location: { offset: entry.localHeaderOffset },
      }),
    );
  }
  const member = openMember(source, entry, inspection.findings);
  const head = member ? await readMemberHead(member, entry, inspection.findings) : null;
  if (!member || !head) return;
  if (hasSignatureAt(head, 0)) {
    await inspectHdf5Member(source, entry, member, inspection, signal);
    return;
  }
  if (pickleFormat.detect(head, entry.name)) {
    // A member opening with PROTO is a pickle by intent; text that merely reads as protocol 0 must import a real name.
    const strict = !startsWithProto(head);
    const scan = await scanMemberPickle(source, entry, member, { offset: 0, length: member.size }, (result) => {
      if (!namesSomething(result, strict) || (strict && !runsSomething(result))) return emptyInspection();
      delete (result as Inspection).weightsOnly;
      result.findings = result.findings.filter((finding) => finding.rule !== 'pickle.weights-only.refused');
      result.findings.unshift(
        createFinding('keras.archive.pickle-member', {
          detail: `Member ${quoteName(entry.name)} is a pickle (${entry.uncompressedSize} bytes) that imports ${result.pickle.imports.length} global(s); Keras never writes one.`,
          location: memberLocation(entry),
        }),
      );
      return result;
    }, signal);
    if (scan.scanner) inspection.streamScanners?.push(scan.scanner);
    if (scan.inspection) mergeInspection(inspection, scan.inspection);
  }
}

/**
 * For bytes that only read as a protocol 0 pickle (text assets such as a
 * vocabulary starting with "c" read as GLOBAL): a pickle only if a call
 * happens before the first error, or the stream reaches STOP cleanly.
 */
function runsSomething(scan: PickleInspection): boolean {
  const firstError = scan.pickle.errors.reduce((first, error) => Math.min(first, error.offset), Number.POSITIVE_INFINITY);
  return scan.pickle.calls.some((call) => call.offset < firstError) || (scan.pickle.pickleCount > 0 && scan.pickle.errors.length === 0);
}

/** model.weights.h5 (or an HDF5 file under any name): its structure, findings and datasets as tensors. */
async function inspectHdf5Member(source: ByteSource, entry: ZipEntry, member: ByteSource, inspection: Inspection, signal?: AbortSignal): Promise<void> {
  const stored = entry.method === ZIP_METHOD.stored && entry.dataOffset !== null;
  if (!stored && entry.uncompressedSize > MAX_DEFLATED_HDF5_BYTES) {
    notRead(entry, inspection, `it is a compressed HDF5 file of ${entry.uncompressedSize} bytes, over MAX_DEFLATED_HDF5_BYTES (${MAX_DEFLATED_HDF5_BYTES})`);
    return;
  }
  // A stored member is the file's own bytes: read it in place so offsets are file offsets.
  const bytes = stored ? createSliceSource(source, entry.dataOffset as number, entry.compressedSize, member.name) : member;
  let file: Hdf5File;
  try {
    file = await readHdf5(bytes, { signal, entry: entry.name, baseOffset: stored ? (entry.dataOffset as number) : 0 });
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    inspection.findings.push(createFinding(error.rule, { detail: `${entry.name}: ${error.message}.`, location: { entry: entry.name, offset: error.offset } }));
    return;
  }
  inspection.findings.push(...file.findings);
  inspection.tensors.push(...hdf5Tensors(file, stored));
  setMetadata(inspection.metadata, { [`weights ${entry.name}`]: hdf5Summary(file) });
}

/** Datasets as tensors: path, dtype, shape, and the byte range when it is one range of the file (else offset -1). */
export function hdf5Tensors(file: Hdf5File, offsetsAreFileOffsets = true): TensorInfo[] {
  return file.datasets.map((dataset) => ({
    name: dataset.path,
    dtype: dataset.dtype,
    shape: dataset.shape ?? [],
    offset: offsetsAreFileOffsets && dataset.dataOffset !== null ? dataset.dataOffset : -1,
    length: dataset.dataLength ?? dataset.logicalBytes ?? 0,
  }));
}

/** A short description of an HDF5 file for the metadata. */
export function hdf5Summary(file: Hdf5File): Record<string, MetadataValue> {
  return {
    superblockVersion: file.superblock.version,
    groups: file.objects.filter((object) => object.kind === 'group').length,
    datasets: file.datasets.length,
    ...(file.links.length > 0 ? { links: file.links.map((link) => ({ path: link.path, kind: link.kind, target: link.target, ...(link.file !== undefined ? { file: link.file } : {}) })) } : {}),
  };
}

export interface KerasConfigTextOptions {
  location: FindingLocation;
  container: KerasConfigContainer;
  /** How the config is named in findings (`config.json`, `the model_config attribute`). */
  what: string;
  /** First segment of JSON paths in evidence. */
  rootPath?: string;
  signal?: AbortSignal;
}

/**
 * A Keras config as text (config.json, an .h5 model_config attribute): parsed,
 * walked, its embedded torch.save payloads scanned. Shared by the .keras and
 * .h5 formats.
 */
export async function inspectKerasConfigText(text: string, options: KerasConfigTextOptions): Promise<Inspection> {
  const parsed = parseKerasConfigText(text, options.location, options.what);
  if ('finding' in parsed) return { tensors: [], metadata: {}, findings: [parsed.finding] };
  const walk = walkKerasConfig(parsed.config, { location: options.location, container: options.container, rootPath: options.rootPath });
  const inspection: Inspection = { tensors: [], metadata: { model: summaryMetadata(walk.summary) }, findings: walk.findings };
  for (const payload of walk.payloads) mergeInspection(inspection, await scanEmbeddedPayload(payload, options.location, options.signal));
  return inspection;
}

/**
 * torch.save bytes from a TorchModuleWrapper: a PyTorch zip goes through the
 * format registry (the torch inspector, its pass scanners run here over the
 * bytes), a raw pickle through the pickle scanner. Findings name the payload
 * as `<member>#<json path>` (then `:<inner member>`); the weights_only answer
 * is dropped, since torch.load runs these bytes with weights_only=False.
 */
export async function scanEmbeddedPayload(payload: KerasEmbeddedPayload, location: FindingLocation, signal?: AbortSignal): Promise<Inspection> {
  const prefix = `${location.entry ?? ''}#${payload.path}`;
  const head = payload.bytes.subarray(0, HEAD_BYTES);
  let result: Inspection;
  if (pickleFormat.detect(head, payload.path)) {
    result = await scanPickleBytes(payload.bytes, { entry: prefix, signal });
  } else {
    // The registry imports this module, so it is reached lazily here rather than imported at load time.
    const { detectFormat } = await import('./index.ts');
    const format = detectFormat(head, `${prefix}.pt`);
    if (!format || format.id === 'keras') return emptyInspection();
    const source = createMemorySource(payload.bytes, prefix);
    result = await format.inspect(source, { head, signal });
    for (const scanner of result.streamScanners ?? []) mergeInspection(result, await runScanner(scanner, payload.bytes));
    delete result.streamScanners;
    for (const finding of result.findings) {
      const inner = finding.location.entry;
      finding.location = { ...finding.location, entry: inner === undefined ? prefix : `${prefix}:${inner}` };
    }
  }
  delete result.weightsOnly;
  result.findings = result.findings.filter((finding) => finding.rule !== 'pickle.weights-only.refused');
  const metadata: Record<string, MetadataValue> = {};
  for (const [key, value] of Object.entries(result.metadata)) Object.defineProperty(metadata, `${payload.path}: ${key}`, { value, enumerable: true, writable: true, configurable: true });
  return { tensors: [], metadata, findings: result.findings };
}

/** Feeds a scanner the bytes of its range, as the one pass would. */
async function runScanner(scanner: StreamScanner, bytes: Uint8Array): Promise<Inspection> {
  const end = Math.min(bytes.length, scanner.offset + scanner.length);
  if (scanner.offset < end) scanner.push(bytes.subarray(scanner.offset, end));
  return scanner.finish();
}
