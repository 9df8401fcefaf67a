/**
 * ONNX models (`.onnx`): a protobuf `ModelProto` holding the graph, its
 * operator sets and its weights.
 * Spec: https://github.com/onnx/onnx/blob/main/docs/IR.md and
 * https://github.com/onnx/onnx/blob/main/docs/ExternalData.md
 *
 * Threat surface: ONNX carries no Python, but loading a model is not inert.
 * (1) External data: a tensor can name a file whose bytes become its weights;
 * a location that is absolute or climbs out of the model folder makes the
 * loader read any file the user can read, and tools that re-save the model
 * write there (CVE-2022-25882, CVE-2024-27318, CVE-2025-51480, CWE-22).
 * (2) Operators outside the ONNX domains run whatever custom-operator library
 * the user registers; Python operators (ONNX Runtime's PyOp,
 * onnxruntime-extensions) run Python. (3) The protobuf itself is a tree of
 * attacker-chosen lengths and nesting (CWE-400, CWE-674, CWE-770).
 *
 * Reading: a model under 2 GB may embed every weight as `raw_data` inside the
 * graph field, so the model is never read whole. The shared protobuf walker
 * (protobuf.ts) decodes the top-level and graph fields over bounded windows,
 * hands every small sub-message (a node, a tensor header, a value info) to
 * protobufjs's minimal Reader, and records large `raw_data` payloads as
 * (offset, length) without reading them; a 2 GB model costs a few MB of reads.
 *
 * Detection: ONNX has no magic number. A head is taken for a model when its
 * fields are ModelProto fields with the right wire types, in field order,
 * starting with `ir_version` (3 to 100), with printable producer strings and
 * a graph or opset import within the first fields. A `.onnx` name relaxes the
 * order and version floor but is never enough alone.
 *
 * External data contract: a single-file scan cannot see the files a model
 * names, so the references go into metadata for the folder-level check:
 * `externalFiles` ({@link OnnxExternalFile}[]) and `externalData`
 * ({@link OnnxExternalReference}[]).
 */
import { createFindingList, type FindingList } from '../containers/zip-finding-list.ts';
import type { ByteSource } from '../io/byte-source.ts';
import type { MetadataValue, TensorInfo } from '../report/types.ts';
import {
  ONNX_EXTENSIONS_DOMAIN,
  ONNX_KNOWN_CONTRIB_DOMAINS,
  ONNX_PYTHON_OP_ATTRIBUTES,
  ONNX_PYTHON_OP_TYPES,
  ONNX_STANDARD_DOMAINS,
} from '../rules/catalog/onnx.ts';
import type { RuleId } from '../rules/index.ts';
import {
  DATA_LOCATION_EXTERNAL,
  GRAPH_FIELD_WIRE_TYPES,
  MODEL_FIELD_WIRE_TYPES,
  MODEL_SPEC,
  ONNX_DATA_TYPES,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxSparseTensor,
  type OnnxStringEntry,
  type OnnxTensor,
  type OnnxType,
  type OnnxValueInfo,
  onnxDataTypeName,
} from './onnx-schema.ts';
import { WIRE_TYPE, decodeMessageFromSource, isPrintableText, peekField } from './protobuf.ts';
import type { FormatModule, InspectContext, Inspection } from './types.ts';

/** Findings kept per rule; the rest are counted in one summary (CWE-770). */
export const MAX_FINDINGS_PER_RULE = 50;
/** Tensors in the table at most: real models have up to a few hundred thousand (CWE-770). */
export const MAX_TENSORS = 1 << 20;
/** Distinct (domain, operator) pairs listed: the standard set has ~200 (CWE-770). */
export const MAX_OPERATORS_LISTED = 2000;
/** External references listed one by one in metadata; files are always listed (CWE-770). */
export const MAX_EXTERNAL_REFERENCES_LISTED = 1000;
/** Distinct external files listed (CWE-770). */
export const MAX_EXTERNAL_FILES_LISTED = 1000;
/** Node names quoted per finding. */
const NODES_NAMED_PER_FINDING = 10;
/** Operator types named per domain finding. */
const OPERATORS_NAMED_PER_FINDING = 40;
/** Dimensions of a tensor at most: NumPy's limit (NPY_MAXDIMS); real models stay under 8 (CWE-770). */
export const MAX_TENSOR_RANK = 64;
/** Longest sensible external location: PATH_MAX on Linux. */
export const MAX_LOCATION_CHARS = 4096;
/** Characters of a "where is this node" description kept (subgraphs nest). */
const MAX_WHERE_CHARS = 400;
/** Characters of the model doc_string kept in metadata. */
const DOC_STRING_CHARS = 1024;
/** Characters of an attribute string shown as evidence. */
const EVIDENCE_CHARS = 160;
/** Lowest IR version accepted when only the content speaks: ONNX 1.0 shipped IR 3; 1 and 2 were pre-releases. */
const MIN_IR_VERSION_BY_CONTENT = 3;
/** Highest IR version that looks like a model (the current one is 11); beyond, the head is something else. */
const MAX_PLAUSIBLE_IR_VERSION = 100;
/** Longest producer name, version or domain in a plausible head. */
const MAX_HEAD_STRING_BYTES = 1024;

/**
 * One external file a model reads tensors from, for the folder-level check:
 * the file `location` (relative to the model's folder, as written in the
 * model: untrusted) must exist, be a regular file inside the folder (not a
 * symlink), and hold at least `minimumSize` bytes. `problems` lists what this
 * scan already found wrong with the location (empty when it is a plain
 * relative name); the folder check should not open a location with problems.
 */
export interface OnnxExternalFile {
  location: string;
  tensors: number;
  /** Largest offset + length over the tensors; null when a tensor reads to the end of the file (length absent and size unknown). */
  minimumSize: number | null;
  problems: string[];
}

/** One tensor whose data is in another file. */
export interface OnnxExternalReference {
  tensor: string;
  location: string;
  /** Byte offset into the file (0 when absent); null when invalid. */
  offset: number | null;
  /** Bytes to read; null when absent (to the end of the file) or invalid. */
  length: number | null;
  /** Bytes the tensor's shape and type need; null when not computable (strings, unknown type). */
  expectedLength: number | null;
  /** Offset of the TensorProto in the model file. */
  modelOffset: number;
}

/**
 * The ONNX format module. Tensors are the initializers of every graph
 * (sparse initializers by their values): `dtype` is the ONNX element type
 * name (`FLOAT`, `INT64`, `unknown(<id>)`), `shape` the dims (-1 for a dim
 * beyond 2^53), `offset`/`length` the `raw_data` payload in the file, or the
 * typed data list (`float_data`, …) when the tensor has no raw data.
 * `offset` is -1 when the data is not in this file (external data, with
 * `length` the external length or the expected size) or absent.
 */
export const onnxFormat: FormatModule = {
  id: 'onnx',
  label: 'ONNX',
  extensions: ['.onnx'],
  detect: (head, name) => looksLikeOnnxModel(head, name),
  inspect: inspectOnnx,
};

// ---------------------------------------------------------------------------
// Detection

/** True when `head` is shaped like a ModelProto; see the file header. Never throws. */
export function looksLikeOnnxModel(head: Uint8Array, name: string): boolean {
  try {
    return checkHead(head, name.toLowerCase().endsWith('.onnx'));
  } catch {
    return false;
  }
}

function checkHead(head: Uint8Array, namedOnnx: boolean): boolean {
  let offset = 0;
  let fields = 0;
  let previous = 0;
  let ordered = true;
  let firstIsIrVersion = false;
  let sawStructure = false;
  while (offset < head.length) {
    const field = peekField(head, offset);
    if (!field) {
      // A field header cut by the end of the head is fine; anything else is not a model.
      if (head.length - offset >= 12) return false;
      break;
    }
    if (MODEL_FIELD_WIRE_TYPES.get(field.fieldNumber) !== field.wireType) return false;
    if (field.fieldNumber < previous) ordered = false;
    previous = field.fieldNumber;
    if (!checkHeadField(head, field.fieldNumber, field.valueOffset, field.value, field.end, namedOnnx)) return false;
    if (fields === 0) firstIsIrVersion = field.fieldNumber === 1;
    if (field.fieldNumber === 7 || field.fieldNumber === 8) sawStructure = true;
    fields++;
    offset = field.end;
  }
  if (fields === 0) return false;
  if (namedOnnx) return firstIsIrVersion || sawStructure;
  return firstIsIrVersion && ordered && fields >= 2 && (sawStructure || offset === head.length);
}

function checkHeadField(head: Uint8Array, fieldNumber: number, valueOffset: number, value: number, end: number, namedOnnx: boolean): boolean {
  switch (fieldNumber) {
    case 1:
      return value >= (namedOnnx ? 1 : MIN_IR_VERSION_BY_CONTENT) && value <= MAX_PLAUSIBLE_IR_VERSION;
    case 2:
    case 3:
    case 4:
      return value <= MAX_HEAD_STRING_BYTES && isPrintableText(head, valueOffset, end);
    case 7:
      return graphStartsWell(head, valueOffset, end);
    case 8:
      return opsetStartsWell(head, valueOffset, end);
    default:
      return true;
  }
}

/** The first field inside `graph`, when the head has it, is a GraphProto field. */
function graphStartsWell(head: Uint8Array, start: number, end: number): boolean {
  if (start >= head.length || start === end) return true;
  const first = peekField(head, start);
  if (!first) return head.length - start < 12;
  return GRAPH_FIELD_WIRE_TYPES.get(first.fieldNumber) === first.wireType;
}

/** An opset import is `domain` (printable string) and `version` (varint), nothing else. */
function opsetStartsWell(head: Uint8Array, start: number, end: number): boolean {
  let offset = start;
  while (offset < Math.min(end, head.length)) {
    const field = peekField(head, offset);
    if (!field) return head.length - offset < 12;
    if (field.fieldNumber === 1 && field.wireType === WIRE_TYPE.lengthDelimited) {
      if (!isPrintableText(head, field.valueOffset, field.end)) return false;
    } else if (!(field.fieldNumber === 2 && field.wireType === WIRE_TYPE.varint)) {
      return false;
    }
    offset = field.end;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Inspection

/** Read an ONNX model: metadata, the initializer table, findings; partial results when the protobuf breaks. */
export async function inspectOnnx(source: ByteSource, context: InspectContext): Promise<Inspection> {
  const findings = createFindingList(MAX_FINDINGS_PER_RULE);
  const decoded = await decodeMessageFromSource(MODEL_SPEC, source, {
    truncatedRule: 'onnx.truncated',
    malformedRule: 'onnx.malformed',
    limitRule: 'onnx.limit',
    prefetched: context.head,
    signal: context.signal,
  });
  if (decoded.error) {
    findings.add(decoded.error.rule, {
      detail: `${decoded.error.message}; what was read before is reported`,
      location: { offset: decoded.error.offset },
    });
  }
  const model = decoded.message;
  if (!decoded.error) checkModelFields(model, findings);
  const state = new OnnxState(findings);
  walkModel(model, state);
  judgeOperators(state);
  reportExternalSummary(state);
  return { tensors: state.tensors, metadata: buildMetadata(model, state), findings: findings.toArray() };
}

function checkModelFields(model: OnnxModel, findings: FindingList): void {
  if (model.irVersion === undefined || model.irVersion === 0n) {
    findings.add('onnx.model.missing-ir-version', { detail: 'the ModelProto has no ir_version (field 1)', location: { offset: 0 } });
  }
  if (!model.graph) {
    findings.add('onnx.model.missing-graph', { detail: 'the ModelProto has no graph (field 7)', location: { offset: 0 } });
  }
}

/** One (domain, operator type) pair and where it is used. */
interface OperatorUse {
  domain: string;
  opType: string;
  count: number;
  nodes: string[];
  firstOffset: number;
  /** Python-operator attributes (module, class_name, …) seen on its nodes, as evidence. */
  evidence: string[];
}

interface ExternalFileUse {
  tensors: number;
  minimumSize: number | null;
  problems: Set<string>;
  firstOffset: number;
}

class OnnxState {
  readonly tensors: TensorInfo[] = [];
  readonly operators = new Map<string, OperatorUse>();
  readonly externalFiles = new Map<string, ExternalFileUse>();
  readonly externalReferences: OnnxExternalReference[] = [];
  externalReferenceCount = 0;
  nodeCount = 0;
  subgraphCount = 0;
  tensorLimitReported = false;
  /** `domain\0name` of the model's local functions: calls to them are not custom operators. */
  readonly localFunctions = new Set<string>();

  constructor(readonly findings: FindingList) {}
}

interface GraphVisit {
  graph: OnnxGraph;
  /** Where the graph is, for messages: `graph "main"`, `subgraph "body" of node "Loop_3"`. */
  where: string;
}

/** Visit every graph (main, training, subgraphs in attributes) and every function, without recursion. */
function walkModel(model: OnnxModel, state: OnnxState): void {
  for (const fn of model.functions) state.localFunctions.add(operatorKey(fn.domain ?? '', fn.name ?? ''));
  const pending: GraphVisit[] = [];
  if (model.graph) pending.push({ graph: model.graph, where: `graph ${quote(model.graph.name ?? '')}` });
  model.trainingInfo.forEach((info, index) => {
    if (info.initialization) pending.push({ graph: info.initialization, where: `training_info[${index}].initialization` });
    if (info.algorithm) pending.push({ graph: info.algorithm, where: `training_info[${index}].algorithm` });
  });
  for (const fn of model.functions) {
    for (const node of fn.node) visitNode(node, `function ${quote(`${fn.domain ?? ''}:${fn.name ?? ''}`)}`, state, pending);
  }
  while (pending.length > 0) {
    const { graph, where } = pending.pop()!;
    for (const tensor of graph.initializer) addTensor(tensor, where, state);
    for (const sparse of graph.sparseInitializer) addSparseTensor(sparse, where, state);
    for (const node of graph.node) visitNode(node, where, state, pending);
  }
}

function visitNode(node: OnnxNode, where: string, state: OnnxState, pending: GraphVisit[]): void {
  state.nodeCount++;
  const domain = node.domain ?? '';
  const opType = node.opType ?? '';
  const nodeName = () => (node.name ? quote(node.name) : `#${state.nodeCount} (${opType || 'no op_type'})`);
  recordOperator(state, domain, opType, () => `${nodeName()} in ${where}`, node);
  for (const attribute of node.attribute) {
    if (!attribute.g && attribute.graphs.length === 0 && !attribute.t && attribute.tensors.length === 0 && !attribute.sparseTensor && attribute.sparseTensors.length === 0) continue;
    const attributeWhere = `attribute ${quote(attribute.name ?? '')} of node ${nodeName()} in ${where}`;
    const subgraphs = attribute.g ? [attribute.g, ...attribute.graphs] : attribute.graphs;
    for (const graph of subgraphs) {
      state.subgraphCount++;
      // Cut, so a deep chain of subgraphs cannot make every name longer than the last (CWE-400).
      pending.push({ graph, where: cut(`subgraph ${quote(graph.name ?? '')} in ${attributeWhere}`, MAX_WHERE_CHARS) });
    }
    const tensors = attribute.t ? [attribute.t, ...attribute.tensors] : attribute.tensors;
    for (const tensor of tensors) checkTensor(tensor, attributeWhere, state);
    const sparse = attribute.sparseTensor ? [attribute.sparseTensor, ...attribute.sparseTensors] : attribute.sparseTensors;
    for (const tensor of sparse) {
      if (tensor.values) checkTensor(tensor.values, attributeWhere, state);
      if (tensor.indices) checkTensor(tensor.indices, attributeWhere, state);
    }
  }
}

function operatorKey(domain: string, opType: string): string {
  return `${domain}\u0000${opType}`;
}

/** Count a node under its (domain, op type); `nodeLabel` is only built for the nodes a finding names. */
function recordOperator(state: OnnxState, domain: string, opType: string, nodeLabel: () => string, node: OnnxNode): void {
  const key = operatorKey(domain, opType);
  let use = state.operators.get(key);
  if (!use) {
    if (state.operators.size >= MAX_OPERATORS_LISTED) return;
    use = { domain, opType, count: 0, nodes: [], firstOffset: node.$offset, evidence: [] };
    state.operators.set(key, use);
  }
  use.count++;
  if (use.nodes.length < NODES_NAMED_PER_FINDING) use.nodes.push(nodeLabel());
  if (ONNX_PYTHON_OP_TYPES.has(opType) && use.evidence.length < NODES_NAMED_PER_FINDING) {
    for (const attribute of node.attribute) {
      if (!attribute.name || !ONNX_PYTHON_OP_ATTRIBUTES.has(attribute.name) || !attribute.s) continue;
      use.evidence.push(`${attribute.name}=${quote(textOf(attribute.s.head), EVIDENCE_CHARS)}`);
    }
  }
}

// ---------------------------------------------------------------------------
// Tensors

function addTensor(tensor: OnnxTensor, where: string, state: OnnxState): void {
  const info = checkTensor(tensor, where, state);
  pushTensor(state, info);
}

function addSparseTensor(sparse: OnnxSparseTensor, where: string, state: OnnxState): void {
  if (sparse.indices) checkTensor(sparse.indices, where, state);
  if (!sparse.values) return;
  const info = checkTensor(sparse.values, where, state);
  // A sparse initializer's shape is the dense shape in SparseTensorProto.dims.
  pushTensor(state, { ...info, shape: sparse.dims.slice(0, MAX_TENSOR_RANK).map(dimNumber) });
}

function pushTensor(state: OnnxState, info: TensorInfo): void {
  if (state.tensors.length < MAX_TENSORS) {
    state.tensors.push(info);
    return;
  }
  if (state.tensorLimitReported) return;
  state.tensorLimitReported = true;
  state.findings.add('onnx.limit', { detail: `more than MAX_TENSORS (${MAX_TENSORS}) initializers; the rest are not listed`, location: { offset: info.offset } });
}

/** Dims for a message: `[2, 3]`, the first eight of a longer list then "…". */
function showDims(dims: bigint[]): string {
  return `[${dims.slice(0, 8).join(', ')}${dims.length > 8 ? ', …' : ''}]`;
}

function dimNumber(dim: bigint): number {
  return dim >= 0n && dim <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(dim) : -1;
}

/** Check one tensor (type, shape, data size, external data) and describe it for the table. */
function checkTensor(tensor: OnnxTensor, where: string, state: OnnxState): TensorInfo {
  const name = tensor.name ?? '';
  const label = `tensor ${quote(name)} (${where})`;
  const dataType = ONNX_DATA_TYPES.get(tensor.dataType ?? 0);
  const location = { offset: tensor.$offset, length: tensor.$length };
  if (!dataType) {
    state.findings.add('onnx.tensor.unknown-dtype', { detail: `${label} has data_type ${tensor.dataType ?? 0} (${onnxDataTypeName(tensor.dataType)})`, location });
  }
  const elements = elementCount(tensor.dims);
  if (tensor.dims.length > MAX_TENSOR_RANK) {
    state.findings.add('onnx.tensor.invalid-shape', { detail: `${label} has ${tensor.dims.length} dims, over MAX_TENSOR_RANK (${MAX_TENSOR_RANK}); the first ${MAX_TENSOR_RANK} are listed`, location });
  } else if (elements === null) {
    state.findings.add('onnx.tensor.invalid-shape', { detail: `${label} has dims ${showDims(tensor.dims)}: a negative dimension or more than 2^53 elements`, location });
  }
  const expectedLength = dataType && dataType.bits > 0 && elements !== null ? Math.ceil((elements * dataType.bits) / 8) : null;
  const shape = tensor.dims.slice(0, MAX_TENSOR_RANK).map(dimNumber);
  const info: TensorInfo = { name, dtype: onnxDataTypeName(tensor.dataType), shape, offset: -1, length: 0 };

  // The standard loaders ignore external_data unless data_location is EXTERNAL; other tools may not, so it is judged either way.
  if (tensor.dataLocation === DATA_LOCATION_EXTERNAL || tensor.externalData.length > 0) {
    const length = checkExternalData(tensor, label, expectedLength, state);
    info.length = length ?? expectedLength ?? 0;
    return info;
  }
  if (tensor.rawData) {
    info.offset = tensor.rawData.offset;
    info.length = tensor.rawData.length;
    if (expectedLength !== null && !tensor.segment && tensor.rawData.length !== expectedLength) {
      state.findings.add('onnx.tensor.size-mismatch', {
        detail: `${label} has ${tensor.rawData.length} bytes of raw_data but dims ${showDims(tensor.dims)} of ${dataType!.name} need ${expectedLength}`,
        location: { offset: tensor.rawData.offset, length: tensor.rawData.length },
      });
    }
    return info;
  }
  const typed = tensor.floatData ?? tensor.doubleData ?? tensor.int32Data ?? tensor.int64Data ?? tensor.uint64Data ?? tensor.stringData;
  if (typed) {
    info.offset = typed.offset;
    info.length = typed.length;
  }
  return info;
}

/** Product of the dims, or null when one is negative or the product passes 2^53. */
function elementCount(dims: bigint[]): number | null {
  let product = 1n;
  for (const dim of dims) {
    if (dim < 0n) return null;
    product *= dim;
    if (product > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  }
  return Number(product);
}

// ---------------------------------------------------------------------------
// External data

/** What is wrong with a location, by the rule it breaks; empty for a plain relative file name. */
export interface LocationProblem {
  rule: Extract<RuleId, 'onnx.external-data.path-escape' | 'onnx.external-data.url' | 'onnx.external-data.unusual-location'>;
  reason: string;
}

const WINDOWS_DEVICE_NAME = /^(con|prn|aux|nul|com[0-9]|lpt[0-9]|conin\$|conout\$)(\..*)?$/i;

/**
 * Judge an external-data location the way the loaders resolve it: joined to
 * the model's folder, on POSIX or Windows. Exported for the tests and for the
 * folder-level check.
 */
export function classifyExternalLocation(location: string): LocationProblem[] {
  const problems: LocationProblem[] = [];
  const escape = (reason: string) => problems.push({ rule: 'onnx.external-data.path-escape', reason });
  const unusual = (reason: string) => problems.push({ rule: 'onnx.external-data.unusual-location', reason });

  if (location.length > MAX_LOCATION_CHARS) unusual(`${location.length} characters, longer than PATH_MAX (${MAX_LOCATION_CHARS})`);
  if (/[\u0000-\u001f\u007f]/.test(location)) unusual('contains NUL or control characters (C loaders cut the name at a NUL)');
  if (/^[a-z][a-z0-9+.-]+:/i.test(location)) {
    problems.push({ rule: 'onnx.external-data.url', reason: `a URL (${location.slice(0, location.indexOf(':') + 1)})` });
  }
  if (location.startsWith('/')) escape('an absolute POSIX path');
  else if (/^[\\/]{2}[?.][\\/]/.test(location)) escape('a Windows device path (\\\\?\\ or \\\\.\\)');
  else if (location.startsWith('\\\\')) escape('a Windows network (UNC) path');
  else if (location.startsWith('\\')) escape('a path from the root of the current Windows drive');
  else if (/^[a-z]:[\\/]/i.test(location)) escape('an absolute Windows path');
  else if (/^[a-z]:/i.test(location)) unusual('a Windows drive-relative path');
  if (location.startsWith('~')) unusual('starts with ~ (a home directory to shells and some path helpers)');
  if (location.includes('\\')) unusual('uses backslashes, which only Windows reads as separators');
  if (/%2e|%2f|%5c/i.test(location)) unusual('contains percent-encoded dots or separators');

  let depth = 0;
  let climbed = false;
  let climbedOut = false;
  for (const segment of location.split(/[\\/]/)) {
    if (segment === '..') {
      climbed = true;
      if (depth === 0) climbedOut = true;
      else depth--;
    } else if (segment !== '' && segment !== '.') {
      depth++;
      if (WINDOWS_DEVICE_NAME.test(segment.replace(/[ .]+$/, ''))) unusual(`names the Windows device ${quote(segment)}`);
    }
  }
  if (climbedOut) escape('climbs out of the model folder with ..');
  else if (climbed) unusual('contains .. (stays inside the folder, but the onnx checker refuses it)');
  if (location.trim() === '' || location.replace(/[\\/.]/g, '') === '') unusual('names no file');
  return problems;
}

/** Keys of a tensor's external_data, last value winning as in the onnx library and ONNX Runtime. */
function externalEntries(entries: OnnxStringEntry[]): Map<string, OnnxStringEntry> {
  const byKey = new Map<string, OnnxStringEntry>();
  for (const entry of entries) byKey.set(entry.key ?? '', entry);
  return byKey;
}

/** Validate a tensor's external reference, record it for the folder check; returns its length when valid. */
function checkExternalData(tensor: OnnxTensor, label: string, expectedLength: number | null, state: OnnxState): number | null {
  const entries = externalEntries(tensor.externalData);
  const locationEntry = entries.get('location');
  const tensorLocation = { offset: tensor.$offset, length: tensor.$length };
  if (!locationEntry || !locationEntry.value) {
    state.findings.add('onnx.external-data.invalid', { detail: `${label} is stored externally but has no location`, location: tensorLocation });
    return null;
  }
  const location = locationEntry.value;
  const entryLocation = { offset: locationEntry.$offset, length: locationEntry.$length };
  const offset = parseExternalNumber(entries.get('offset'), 'offset', label, state);
  const length = parseExternalNumber(entries.get('length'), 'length', label, state);
  if (length !== null && expectedLength !== null && length !== expectedLength) {
    state.findings.add('onnx.tensor.size-mismatch', {
      detail: `${label} reads ${length} bytes from ${quote(location)} but its dims ${showDims(tensor.dims)} need ${expectedLength}`,
      location: tensorLocation,
    });
  }
  const problems = classifyExternalLocation(location);
  for (const problem of problems) {
    state.findings.add(problem.rule, {
      detail: `${label} reads its data from ${quote(location)}: ${problem.reason}`,
      location: entryLocation,
      evidence: `location=${quote(location, EVIDENCE_CHARS)}`,
    });
  }
  recordExternal(state, {
    tensor: tensor.name ?? '',
    location,
    offset: entries.has('offset') ? offset : 0,
    length,
    expectedLength,
    modelOffset: tensor.$offset,
  }, problems, entries.has('offset') && offset === null);
  return length;
}

function parseExternalNumber(entry: OnnxStringEntry | undefined, key: string, label: string, state: OnnxState): number | null {
  if (!entry) return null;
  const text = entry.value ?? '';
  const value = /^[0-9]{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (Number.isSafeInteger(value)) return value;
  state.findings.add('onnx.external-data.invalid', {
    detail: `${label} has external ${key} ${quote(text)}, not a non-negative integer`,
    location: { offset: entry.$offset, length: entry.$length },
  });
  return null;
}

function recordExternal(state: OnnxState, reference: OnnxExternalReference, problems: LocationProblem[], invalidOffset: boolean): void {
  state.externalReferenceCount++;
  if (state.externalReferences.length < MAX_EXTERNAL_REFERENCES_LISTED) state.externalReferences.push(reference);
  let file = state.externalFiles.get(reference.location);
  if (!file) {
    if (state.externalFiles.size >= MAX_EXTERNAL_FILES_LISTED) return;
    file = { tensors: 0, minimumSize: 0, problems: new Set(), firstOffset: reference.modelOffset };
    state.externalFiles.set(reference.location, file);
  }
  file.tensors++;
  for (const problem of problems) file.problems.add(problem.reason);
  const length = reference.length ?? reference.expectedLength;
  if (file.minimumSize !== null) {
    file.minimumSize = invalidOffset || length === null ? null : Math.max(file.minimumSize, (reference.offset ?? 0) + length);
  }
}

// ---------------------------------------------------------------------------
// Operators and domains

function judgeOperators(state: OnnxState): void {
  const byDomain = new Map<string, OperatorUse[]>();
  for (const use of state.operators.values()) {
    if (ONNX_PYTHON_OP_TYPES.has(use.opType)) {
      state.findings.add('onnx.op.python', {
        detail: `${use.count} ${showName(use.opType)} node(s) in domain ${quote(use.domain || 'ai.onnx')}: ${use.nodes.join(', ')}`,
        location: { offset: use.firstOffset },
        evidence: use.evidence.length > 0 ? use.evidence.join('; ') : undefined,
      });
      continue;
    }
    if (state.localFunctions.has(operatorKey(use.domain, use.opType)) || ONNX_STANDARD_DOMAINS.has(use.domain)) continue;
    const list = byDomain.get(use.domain) ?? [];
    list.push(use);
    byDomain.set(use.domain, list);
  }
  for (const [domain, uses] of byDomain) {
    const shown = uses.slice(0, OPERATORS_NAMED_PER_FINDING).map((use) => `${showName(use.opType)} ×${use.count}`);
    if (uses.length > shown.length) shown.push(`${uses.length - shown.length} more operator types`);
    const operators = shown.join(', ');
    const nodes = uses.flatMap((use) => use.nodes).slice(0, NODES_NAMED_PER_FINDING).join(', ');
    const location = { offset: Math.min(...uses.map((use) => use.firstOffset)) };
    if (ONNX_KNOWN_CONTRIB_DOMAINS.has(domain)) {
      state.findings.add('onnx.domain.contrib', { detail: `domain ${quote(domain)}: ${operators}`, location });
      continue;
    }
    const note = domain === ONNX_EXTENSIONS_DOMAIN ? ' (onnxruntime-extensions: native or Python functions registered by the loader)' : '';
    state.findings.add('onnx.domain.custom', { detail: `domain ${quote(domain)}${note}: ${operators}; nodes ${nodes}`, location });
  }
}

// ---------------------------------------------------------------------------
// Metadata

function buildMetadata(model: OnnxModel, state: OnnxState): Record<string, MetadataValue> {
  const metadata: Record<string, MetadataValue> = {};
  if (model.irVersion !== undefined) metadata.irVersion = Number(model.irVersion);
  metadata.opsetImport = model.opsetImport.map((opset) => ({ domain: opset.domain ?? '', version: opset.version === undefined ? null : Number(opset.version) }));
  if (model.producerName !== undefined) metadata.producerName = model.producerName;
  if (model.producerVersion !== undefined) metadata.producerVersion = model.producerVersion;
  if (model.domain !== undefined) metadata.domain = model.domain;
  if (model.modelVersion !== undefined) metadata.modelVersion = Number(model.modelVersion);
  if (model.docString !== undefined) metadata.docString = cut(model.docString, DOC_STRING_CHARS);
  if (model.graph) {
    metadata.graphName = model.graph.name ?? '';
    metadata.inputs = model.graph.input.map(describeValue);
    metadata.outputs = model.graph.output.map(describeValue);
  }
  metadata.nodeCount = state.nodeCount;
  if (state.subgraphCount > 0) metadata.subgraphCount = state.subgraphCount;
  metadata.operators = [...state.operators.values()]
    .sort((a, b) => b.count - a.count || a.domain.localeCompare(b.domain) || a.opType.localeCompare(b.opType))
    .map((use) => ({ domain: use.domain, opType: use.opType, count: use.count }));
  metadata.nonStandardDomains = [...new Set([...state.operators.values()].map((use) => use.domain))].filter((domain) => !ONNX_STANDARD_DOMAINS.has(domain)).sort();
  if (model.functions.length > 0) {
    metadata.functions = model.functions.map((fn) => ({ domain: fn.domain ?? '', name: fn.name ?? '', nodes: fn.node.length }));
  }
  if (model.trainingInfo.length > 0) metadata.trainingInfo = model.trainingInfo.length;
  if (model.metadataProps.length > 0) metadata.metadataProps = propsObject(model.metadataProps);
  if (state.externalFiles.size > 0) {
    metadata.externalFiles = [...state.externalFiles].map(([location, file]) => ({
      location,
      tensors: file.tensors,
      minimumSize: file.minimumSize,
      problems: [...file.problems],
    }) satisfies OnnxExternalFile);
    metadata.externalData = state.externalReferences.map((reference) => ({ ...reference }));
    if (state.externalReferenceCount > state.externalReferences.length) metadata.externalDataCount = state.externalReferenceCount;
  }
  return metadata;
}

function reportExternalSummary(state: OnnxState): void {
  if (state.externalFiles.size === 0) return;
  const files = [...state.externalFiles]
    .slice(0, NODES_NAMED_PER_FINDING)
    .map(([location, file]) => `${quote(location)} (${file.tensors} tensor(s), at least ${file.minimumSize ?? 'an unknown number of'} bytes)`)
    .join(', ');
  const first = Math.min(...[...state.externalFiles.values()].map((file) => file.firstOffset));
  state.findings.add('onnx.external-data.reference', {
    detail: `${state.externalReferenceCount} tensor(s) read their data from ${state.externalFiles.size} other file(s): ${files}`,
    location: { offset: first },
  });
}

/** metadata_props as an object; keys from the file are set as own data properties (a key `__proto__` stays a key). */
function propsObject(entries: OnnxStringEntry[]): Record<string, MetadataValue> {
  const props: Record<string, MetadataValue> = {};
  for (const entry of entries) {
    Object.defineProperty(props, entry.key ?? '', { value: cut(entry.value ?? '', DOC_STRING_CHARS), enumerable: true, writable: true, configurable: true });
  }
  return props;
}

function describeValue(value: OnnxValueInfo): MetadataValue {
  const tensorType = value.type?.tensorType ?? value.type?.sparseTensorType;
  const shape = tensorType?.shape ? tensorType.shape.dim.map((dim) => (dim.dimValue !== undefined ? dimNumber(dim.dimValue) : dim.dimParam ?? null)) : null;
  return { name: value.name ?? '', type: typeName(value.type, 0), shape };
}

/** ONNX's own spelling of a type: `tensor(float)`, `seq(tensor(int64))`, `map(string,tensor(float))`. */
function typeName(type: OnnxType | undefined, depth: number): string {
  if (!type || depth > 8) return 'unknown';
  const element = (id: number | undefined) => onnxDataTypeName(id).toLowerCase();
  if (type.tensorType) return `tensor(${element(type.tensorType.elemType)})`;
  if (type.sparseTensorType) return `sparse_tensor(${element(type.sparseTensorType.elemType)})`;
  if (type.sequenceType) return `seq(${typeName(type.sequenceType.elemType, depth + 1)})`;
  if (type.optionalType) return `optional(${typeName(type.optionalType.elemType, depth + 1)})`;
  if (type.mapType) return `map(${element(type.mapType.keyType)},${typeName(type.mapType.valueType, depth + 1)})`;
  return 'unknown';
}

// ---------------------------------------------------------------------------
// Text helpers

const utf8 = new TextDecoder('utf-8', { fatal: false });

function textOf(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** An operator type as is when it is a plain identifier, else quoted like any untrusted string. */
function showName(text: string): string {
  return /^[A-Za-z0-9_.:-]{1,120}$/.test(text) ? text : quote(text);
}

/** An untrusted name for a message: JSON-quoted (control characters visible) and cut to a readable length. */
function quote(text: string, max = 120): string {
  return JSON.stringify(cut(text, max));
}
