/**
 * TensorFlow SavedModel (`saved_model.pb`) and its Keras sidecar
 * (`keras_metadata.pb`): protobuf files next to `variables/` and `assets/`.
 * Spec: https://github.com/tensorflow/tensorflow/blob/master/tensorflow/core/protobuf/saved_model.proto,
 * meta_graph.proto, graph.proto, node_def.proto, function.proto,
 * saved_object_graph.proto; Keras: keras/protobuf/saved_metadata.proto.
 *
 * Threat surface: a SavedModel is a program. Its graphs (and the function
 * library every tf.function lives in) can hold ops that read and write files
 * (ReadFile, WriteFile, dataset readers and writers), list the disk
 * (MatchingFiles), call Python functions of the loading process (PyFunc,
 * EagerPyFunc), or talk to other hosts (RPC and debug ops); they run when the
 * model runs, with the user's rights. Asset file names are joined to the
 * assets/ folder, so a name with `..` or an absolute path makes the loader
 * read elsewhere. The Keras metadata (in keras_metadata.pb, and in older
 * models inside the object graph) is a Keras config per layer: a Lambda layer
 * there carries marshalled Python bytecode that tf.keras.models.load_model
 * turns into a function (CVE-2024-3660). The protobuf itself is a tree of
 * attacker-chosen lengths and nesting, read with the bounded shared walker
 * (protobuf.ts): large constants (`tensor_content`) are referenced, not read.
 *
 * Detection: protobufs have no magic number, so both content and name must
 * agree. A SavedModel is a `.pb` whose first fields are
 * `saved_model_schema_version` (field 1, varint, optional) and `meta_graphs`
 * (field 2, a MetaGraphDef whose first field is one of its own). Keras
 * metadata is a list of `nodes` (field 1) whose head names `_tf_keras_`
 * identifiers; its name is not required.
 */
import { createFindingList, type FindingList } from '../containers/zip-finding-list.ts';
import type { ByteSource } from '../io/byte-source.ts';
import type { FindingLocation, MetadataValue } from '../report/types.ts';
import { TENSORFLOW_OP_CATEGORIES, type TensorflowOpCategory } from '../rules/catalog/tensorflow.ts';
import type { RuleId } from '../rules/index.ts';
import { parseKerasConfigText, summaryMetadata, walkKerasConfig } from '../rules/keras-config.ts';
import {
  type ProtoBytes,
  type ProtoMessage,
  type ProtoMessageSpec,
  WIRE_TYPE,
  decodeMessageFromSource,
  defineMessage,
  peekField,
} from './protobuf.ts';
import type { FormatModule, InspectContext, Inspection } from './types.ts';

/** Findings kept per rule; the rest are counted in one summary (CWE-770). */
export const MAX_FINDINGS_PER_RULE = 50;
/** Distinct op names listed in metadata: TensorFlow has ~1500 ops (CWE-770). */
export const MAX_OPS_LISTED = 4000;
/** Node names quoted per finding. */
const NODES_NAMED_PER_FINDING = 10;
/** Bytes of one Keras metadata JSON parsed: real layer metadata is KBs, whole-model configs a few MB (CWE-400). */
export const MAX_KERAS_METADATA_BYTES = 32 * 1024 * 1024;
/** Bytes of a string attribute or string constant kept as evidence (file names, tokens, URLs). */
const EVIDENCE_BYTES = 256;
/** Characters of evidence shown per value. */
const EVIDENCE_CHARS = 160;
/** Highest `saved_model_schema_version` that looks like a SavedModel (TensorFlow writes 1). */
const MAX_PLAUSIBLE_SCHEMA_VERSION = 16;
/** Attributes whose string values say what a flagged op touches. */
const EVIDENCE_ATTRIBUTES: ReadonlySet<string> = new Set(['token', 'memory_region_name', 'debug_urls', 'address', 'protocol', 'path', 'filename', 'file_pattern']);

// ---------------------------------------------------------------------------
// Schema (only the fields read)

interface TfTensor extends ProtoMessage {
  dtype?: number;
  tensorContent?: ProtoBytes;
  stringVal: ProtoBytes[];
}

interface TfListValue extends ProtoMessage {
  s: ProtoBytes[];
}

interface TfAttrValue extends ProtoMessage {
  list?: TfListValue;
  s?: ProtoBytes;
  tensor?: TfTensor;
}

interface TfAttrEntry extends ProtoMessage {
  key?: string;
  value?: TfAttrValue;
}

interface TfNode extends ProtoMessage {
  name?: string;
  op?: string;
  input: string[];
  device?: string;
  attr: TfAttrEntry[];
}

interface TfOpDef extends ProtoMessage {
  name?: string;
}

interface TfFunction extends ProtoMessage {
  signature?: TfOpDef;
  nodeDef: TfNode[];
}

interface TfLibrary extends ProtoMessage {
  function: TfFunction[];
}

interface TfVersions extends ProtoMessage {
  producer?: number;
  minConsumer?: number;
}

interface TfGraph extends ProtoMessage {
  node: TfNode[];
  library?: TfLibrary;
  versions?: TfVersions;
}

interface TfMetaInfo extends ProtoMessage {
  metaGraphVersion?: string;
  tags: string[];
  tensorflowVersion?: string;
  tensorflowGitVersion?: string;
}

interface TfSignatureDef extends ProtoMessage {
  methodName?: string;
}

interface TfSignatureEntry extends ProtoMessage {
  key?: string;
  value?: TfSignatureDef;
}

interface TfAssetFile extends ProtoMessage {
  filename?: string;
}

interface TfUserObject extends ProtoMessage {
  identifier?: string;
  metadata?: string;
}

interface TfSavedObject extends ProtoMessage {
  userObject?: TfUserObject;
}

interface TfObjectGraph extends ProtoMessage {
  nodes: TfSavedObject[];
}

interface TfMetaGraph extends ProtoMessage {
  metaInfoDef?: TfMetaInfo;
  graphDef?: TfGraph;
  signatureDef: TfSignatureEntry[];
  assetFileDef: TfAssetFile[];
  objectGraphDef?: TfObjectGraph;
}

interface TfSavedModel extends ProtoMessage {
  savedModelSchemaVersion?: bigint;
  metaGraphs: TfMetaGraph[];
}

interface KerasSavedObject extends ProtoMessage {
  nodeId?: number;
  nodePath?: string;
  identifier?: string;
  metadata?: string;
}

interface KerasSavedMetadata extends ProtoMessage {
  nodes: KerasSavedObject[];
}

const TENSOR_SPEC: ProtoMessageSpec<TfTensor> = defineMessage<TfTensor>('TensorProto', {
  1: { name: 'dtype', kind: 'enum' },
  4: { name: 'tensorContent', kind: 'bytes' },
  8: { name: 'stringVal', kind: 'bytes', repeated: true, headBytes: EVIDENCE_BYTES },
});

const LIST_VALUE_SPEC: ProtoMessageSpec<TfListValue> = defineMessage<TfListValue>('AttrValue.ListValue', {
  2: { name: 's', kind: 'bytes', repeated: true, headBytes: EVIDENCE_BYTES },
});

const ATTR_VALUE_SPEC: ProtoMessageSpec<TfAttrValue> = defineMessage<TfAttrValue>('AttrValue', {
  1: { name: 'list', kind: 'message', message: () => LIST_VALUE_SPEC },
  2: { name: 's', kind: 'bytes', headBytes: EVIDENCE_BYTES },
  8: { name: 'tensor', kind: 'message', message: () => TENSOR_SPEC },
});

const ATTR_ENTRY_SPEC: ProtoMessageSpec<TfAttrEntry> = defineMessage<TfAttrEntry>('NodeDef.AttrEntry', {
  1: { name: 'key', kind: 'string' },
  2: { name: 'value', kind: 'message', message: () => ATTR_VALUE_SPEC },
});

const NODE_SPEC: ProtoMessageSpec<TfNode> = defineMessage<TfNode>('NodeDef', {
  1: { name: 'name', kind: 'string' },
  2: { name: 'op', kind: 'string' },
  3: { name: 'input', kind: 'string', repeated: true },
  4: { name: 'device', kind: 'string' },
  5: { name: 'attr', kind: 'message', repeated: true, message: () => ATTR_ENTRY_SPEC },
});

const OP_DEF_SPEC: ProtoMessageSpec<TfOpDef> = defineMessage<TfOpDef>('OpDef', {
  1: { name: 'name', kind: 'string' },
});

const FUNCTION_SPEC: ProtoMessageSpec<TfFunction> = defineMessage<TfFunction>('FunctionDef', {
  1: { name: 'signature', kind: 'message', message: () => OP_DEF_SPEC },
  3: { name: 'nodeDef', kind: 'message', repeated: true, message: () => NODE_SPEC },
});

const LIBRARY_SPEC: ProtoMessageSpec<TfLibrary> = defineMessage<TfLibrary>('FunctionDefLibrary', {
  1: { name: 'function', kind: 'message', repeated: true, message: () => FUNCTION_SPEC },
});

const VERSIONS_SPEC: ProtoMessageSpec<TfVersions> = defineMessage<TfVersions>('VersionDef', {
  1: { name: 'producer', kind: 'int32' },
  2: { name: 'minConsumer', kind: 'int32' },
});

const GRAPH_SPEC: ProtoMessageSpec<TfGraph> = defineMessage<TfGraph>('GraphDef', {
  1: { name: 'node', kind: 'message', repeated: true, message: () => NODE_SPEC },
  2: { name: 'library', kind: 'message', message: () => LIBRARY_SPEC },
  4: { name: 'versions', kind: 'message', message: () => VERSIONS_SPEC },
});

const META_INFO_SPEC: ProtoMessageSpec<TfMetaInfo> = defineMessage<TfMetaInfo>('MetaInfoDef', {
  1: { name: 'metaGraphVersion', kind: 'string' },
  4: { name: 'tags', kind: 'string', repeated: true },
  5: { name: 'tensorflowVersion', kind: 'string' },
  6: { name: 'tensorflowGitVersion', kind: 'string' },
});

const SIGNATURE_DEF_SPEC: ProtoMessageSpec<TfSignatureDef> = defineMessage<TfSignatureDef>('SignatureDef', {
  3: { name: 'methodName', kind: 'string' },
});

const SIGNATURE_ENTRY_SPEC: ProtoMessageSpec<TfSignatureEntry> = defineMessage<TfSignatureEntry>('MetaGraphDef.SignatureDefEntry', {
  1: { name: 'key', kind: 'string' },
  2: { name: 'value', kind: 'message', message: () => SIGNATURE_DEF_SPEC },
});

const ASSET_FILE_SPEC: ProtoMessageSpec<TfAssetFile> = defineMessage<TfAssetFile>('AssetFileDef', {
  2: { name: 'filename', kind: 'string' },
});

const USER_OBJECT_SPEC: ProtoMessageSpec<TfUserObject> = defineMessage<TfUserObject>('SavedUserObject', {
  1: { name: 'identifier', kind: 'string' },
  3: { name: 'metadata', kind: 'string', maxStringBytes: MAX_KERAS_METADATA_BYTES + 1 },
});

const SAVED_OBJECT_SPEC: ProtoMessageSpec<TfSavedObject> = defineMessage<TfSavedObject>('SavedObject', {
  4: { name: 'userObject', kind: 'message', message: () => USER_OBJECT_SPEC },
});

const OBJECT_GRAPH_SPEC: ProtoMessageSpec<TfObjectGraph> = defineMessage<TfObjectGraph>('SavedObjectGraph', {
  1: { name: 'nodes', kind: 'message', repeated: true, message: () => SAVED_OBJECT_SPEC },
});

const META_GRAPH_SPEC: ProtoMessageSpec<TfMetaGraph> = defineMessage<TfMetaGraph>('MetaGraphDef', {
  1: { name: 'metaInfoDef', kind: 'message', message: () => META_INFO_SPEC },
  2: { name: 'graphDef', kind: 'message', message: () => GRAPH_SPEC },
  5: { name: 'signatureDef', kind: 'message', repeated: true, message: () => SIGNATURE_ENTRY_SPEC },
  6: { name: 'assetFileDef', kind: 'message', repeated: true, message: () => ASSET_FILE_SPEC },
  7: { name: 'objectGraphDef', kind: 'message', message: () => OBJECT_GRAPH_SPEC },
});

const SAVED_MODEL_SPEC: ProtoMessageSpec<TfSavedModel> = defineMessage<TfSavedModel>('SavedModel', {
  1: { name: 'savedModelSchemaVersion', kind: 'int64' },
  2: { name: 'metaGraphs', kind: 'message', repeated: true, message: () => META_GRAPH_SPEC },
});

const KERAS_SAVED_OBJECT_SPEC: ProtoMessageSpec<KerasSavedObject> = defineMessage<KerasSavedObject>('SavedObject', {
  2: { name: 'nodeId', kind: 'int32' },
  3: { name: 'nodePath', kind: 'string' },
  4: { name: 'identifier', kind: 'string' },
  5: { name: 'metadata', kind: 'string', maxStringBytes: MAX_KERAS_METADATA_BYTES + 1 },
});

const KERAS_SAVED_METADATA_SPEC: ProtoMessageSpec<KerasSavedMetadata> = defineMessage<KerasSavedMetadata>('SavedMetadata', {
  1: { name: 'nodes', kind: 'message', repeated: true, message: () => KERAS_SAVED_OBJECT_SPEC },
});

/** MetaGraphDef's field numbers (all length-delimited): the first field inside `meta_graphs` must be one. */
const META_GRAPH_FIELDS: ReadonlySet<number> = new Set([1, 2, 3, 4, 5, 6, 7]);

const DECODE_RULES = { truncatedRule: 'tensorflow.truncated', malformedRule: 'tensorflow.malformed', limitRule: 'tensorflow.limit' } as const;

// ---------------------------------------------------------------------------
// Modules

/**
 * The SavedModel module. No tensors: variables live in the `variables/`
 * checkpoint next to the file. Metadata lists the meta graphs (tags,
 * TensorFlow version, signatures), every op used with its count, the asset
 * file names and the Keras summary when the object graph carries one.
 */
export const savedModelFormat: FormatModule = {
  id: 'savedmodel',
  label: 'TensorFlow SavedModel',
  extensions: ['saved_model.pb'],
  detect: (head, name) => looksLikeSavedModel(head, name),
  inspect: inspectSavedModel,
};

/** Keras's per-object metadata of a SavedModel (`keras_metadata.pb`): one Keras config (JSON) per layer. */
export const kerasMetadataFormat: FormatModule = {
  id: 'keras-metadata',
  label: 'Keras SavedModel metadata',
  extensions: ['keras_metadata.pb'],
  detect: (head) => looksLikeKerasMetadata(head),
  inspect: inspectKerasMetadata,
};

/** A `.pb` whose head is a SavedModel: optional schema version, then a MetaGraphDef. Never throws. */
export function looksLikeSavedModel(head: Uint8Array, name: string): boolean {
  if (!name.toLowerCase().endsWith('.pb')) return false;
  try {
    let field = peekField(head, 0);
    if (!field) return false;
    if (field.fieldNumber === 1) {
      if (field.wireType !== WIRE_TYPE.varint || field.value > MAX_PLAUSIBLE_SCHEMA_VERSION) return false;
      field = peekField(head, field.end);
      if (!field) return false;
    }
    if (field.fieldNumber !== 2 || field.wireType !== WIRE_TYPE.lengthDelimited || field.value === 0) return false;
    const inner = peekField(head, field.valueOffset);
    return inner !== null && META_GRAPH_FIELDS.has(inner.fieldNumber) && inner.wireType === WIRE_TYPE.lengthDelimited;
  } catch {
    return false;
  }
}

const KERAS_IDENTIFIER = new TextEncoder().encode('_tf_keras_');

/** A list of Keras SavedObjects: field 1 messages whose own first field is a SavedObject field, and `_tf_keras_` in the head. Never throws. */
export function looksLikeKerasMetadata(head: Uint8Array): boolean {
  try {
    const field = peekField(head, 0);
    if (!field || field.fieldNumber !== 1 || field.wireType !== WIRE_TYPE.lengthDelimited) return false;
    const inner = peekField(head, field.valueOffset);
    if (!inner) return false;
    const innerOk =
      (inner.fieldNumber === 2 && inner.wireType === WIRE_TYPE.varint) ||
      ([1, 3, 4, 5, 6].includes(inner.fieldNumber) && inner.wireType === WIRE_TYPE.lengthDelimited);
    return innerOk && indexOf(head, KERAS_IDENTIFIER) >= 0;
  } catch {
    return false;
  }
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let start = 0; start + needle.length <= haystack.length; start++) {
    for (let index = 0; index < needle.length; index++) if (haystack[start + index] !== needle[index]) continue outer;
    return start;
  }
  return -1;
}

// ---------------------------------------------------------------------------
// SavedModel

/** Read a SavedModel: meta graphs, ops, assets, Keras metadata; partial results when the protobuf breaks. */
export async function inspectSavedModel(source: ByteSource, context: InspectContext): Promise<Inspection> {
  const findings = createFindingList(MAX_FINDINGS_PER_RULE);
  const decoded = await decodeMessageFromSource(SAVED_MODEL_SPEC, source, { ...DECODE_RULES, prefetched: context.head, signal: context.signal });
  if (decoded.error) {
    findings.add(decoded.error.rule, { detail: `${decoded.error.message}; what was read before is reported`, location: { offset: decoded.error.offset } });
  }
  const model = decoded.message;
  if (!decoded.error && model.metaGraphs.length === 0) {
    findings.add('tensorflow.savedmodel.no-meta-graph', { detail: 'meta_graphs (field 2) is empty', location: { offset: 0 } });
  }
  const metadata: Record<string, MetadataValue> = {};
  if (model.savedModelSchemaVersion !== undefined) metadata.savedModelSchemaVersion = Number(model.savedModelSchemaVersion);
  const ops = new OpCensus();
  metadata.metaGraphs = model.metaGraphs.map((metaGraph, index) => describeMetaGraph(metaGraph, index, ops, findings));
  metadata.ops = ops.list();
  const keras = kerasFromObjectGraphs(model.metaGraphs, findings);
  if (keras) metadata.keras = keras;
  ops.judge(findings);
  return { tensors: [], metadata, findings: findings.toArray() };
}

function describeMetaGraph(metaGraph: TfMetaGraph, index: number, ops: OpCensus, findings: FindingList): MetadataValue {
  const info = metaGraph.metaInfoDef;
  const graph = metaGraph.graphDef;
  const where = `meta_graphs[${index}]`;
  if (graph) {
    ops.addScope(graph.node, `${where} graph`);
    for (const fn of graph.library?.function ?? []) {
      ops.functionNames.add(fn.signature?.name ?? '');
      ops.addScope(fn.nodeDef, `${where} function ${quote(fn.signature?.name ?? '')}`);
    }
  }
  for (const asset of metaGraph.assetFileDef) checkAsset(asset, where, findings);
  const described: Record<string, MetadataValue> = {
    tags: info?.tags ?? [],
    nodes: graph?.node.length ?? 0,
    functions: graph?.library?.function.length ?? 0,
    signatures: metaGraph.signatureDef.map((entry) => ({ name: entry.key ?? '', method: entry.value?.methodName ?? '' })),
    assets: metaGraph.assetFileDef.map((asset) => asset.filename ?? ''),
  };
  if (info?.tensorflowVersion !== undefined) described.tensorflowVersion = info.tensorflowVersion;
  if (info?.tensorflowGitVersion !== undefined) described.tensorflowGitVersion = info.tensorflowGitVersion;
  if (info?.metaGraphVersion !== undefined) described.metaGraphVersion = info.metaGraphVersion;
  if (graph?.versions?.producer !== undefined) described.graphProducerVersion = graph.versions.producer;
  return described;
}

function checkAsset(asset: TfAssetFile, where: string, findings: FindingList): void {
  const name = asset.filename ?? '';
  const reason = escapeReason(name);
  if (!reason) return;
  findings.add('tensorflow.asset.path-escape', {
    detail: `asset ${quote(name)} in ${where} is ${reason}`,
    location: { offset: asset.$offset, length: asset.$length },
    evidence: `filename=${quote(name, EVIDENCE_CHARS)}`,
  });
}

/** Why a file name joined to a folder would leave it, or null. */
function escapeReason(name: string): string | null {
  if (/^([\\/]|[a-z]:[\\/])/i.test(name)) return 'an absolute path';
  let depth = 0;
  for (const segment of name.split(/[\\/]/)) {
    if (segment === '..') {
      if (depth === 0) return 'a path that climbs out of the assets folder with ..';
      depth--;
    } else if (segment !== '' && segment !== '.') {
      depth++;
    }
  }
  return null;
}

/** One flagged op (or any op, for the census) and where it is used. */
interface OpUse {
  count: number;
  nodes: string[];
  firstOffset: number;
  evidence: string[];
}

/** Counts every op of every scope (graph and library functions) and keeps details of the flagged ones. */
class OpCensus {
  readonly functionNames = new Set<string>();
  private readonly uses = new Map<string, OpUse>();

  addScope(nodes: TfNode[], where: string): void {
    const byName = new Map<string, TfNode>();
    for (const node of nodes) byName.set(node.name ?? '', node);
    for (const node of nodes) this.add(node, where, byName);
  }

  private add(node: TfNode, where: string, scope: Map<string, TfNode>): void {
    const op = node.op ?? '';
    let use = this.uses.get(op);
    if (!use) {
      if (this.uses.size >= MAX_OPS_LISTED) return;
      use = { count: 0, nodes: [], firstOffset: node.$offset, evidence: [] };
      this.uses.set(op, use);
    }
    use.count++;
    if (!TENSORFLOW_OP_CATEGORIES.has(op) || use.nodes.length >= NODES_NAMED_PER_FINDING) return;
    use.nodes.push(`${quote(node.name ?? '')} in ${where}`);
    use.evidence.push(...nodeEvidence(node, scope));
  }

  /** Ops by count, with the ones that are library functions marked as such. */
  list(): MetadataValue {
    return [...this.uses]
      .sort(([a, useA], [b, useB]) => useB.count - useA.count || a.localeCompare(b))
      .map(([op, use]) => ({ op, count: use.count, ...(this.functionNames.has(op) ? { function: true } : {}) }));
  }

  /** One finding per category, naming each op with its nodes, at the first node of the category. */
  judge(findings: FindingList): void {
    const byCategory = new Map<TensorflowOpCategory, [string, OpUse][]>();
    for (const [op, use] of this.uses) {
      const category = TENSORFLOW_OP_CATEGORIES.get(op);
      if (!category || this.functionNames.has(op)) continue;
      byCategory.set(category, [...(byCategory.get(category) ?? []), [op, use]]);
    }
    for (const [category, uses] of byCategory) {
      const evidence = uses.flatMap(([, use]) => use.evidence).slice(0, NODES_NAMED_PER_FINDING);
      findings.add(CATEGORY_RULES[category], {
        detail: uses.map(([op, use]) => `${use.count} ${op} node(s): ${use.nodes.join(', ')}${use.count > use.nodes.length ? ', …' : ''}`).join('; '),
        location: { offset: Math.min(...uses.map(([, use]) => use.firstOffset)) },
        evidence: evidence.length > 0 ? evidence.join('; ') : undefined,
      });
    }
  }
}

const CATEGORY_RULES: Record<TensorflowOpCategory, RuleId> = {
  python: 'tensorflow.op.python',
  'file-read': 'tensorflow.op.file-read',
  'file-write': 'tensorflow.op.file-write',
  'file-system': 'tensorflow.op.file-system',
  network: 'tensorflow.op.network',
  'checkpoint-io': 'tensorflow.op.checkpoint-io',
};

/**
 * What a flagged node touches: its string attributes (PyFunc token,
 * ImmutableConst region, debug URLs) and the string constants feeding its
 * inputs (the file name of ReadFile/WriteFile), found in the same scope.
 */
function nodeEvidence(node: TfNode, scope: Map<string, TfNode>): string[] {
  const evidence: string[] = [];
  for (const entry of node.attr) {
    if (!entry.key || !EVIDENCE_ATTRIBUTES.has(entry.key) || !entry.value) continue;
    const values = entry.value.s ? [entry.value.s] : entry.value.list?.s ?? [];
    for (const value of values) evidence.push(`${entry.key}=${quote(textOf(value.head), EVIDENCE_CHARS)}`);
  }
  for (const input of node.input) {
    if (input.startsWith('^')) continue;
    const source = scope.get(input.split(':')[0]);
    if (!source || source.op !== 'Const') continue;
    const value = source.attr.find((entry) => entry.key === 'value')?.value?.tensor;
    for (const text of value?.stringVal.slice(0, 2) ?? []) evidence.push(`${quote(input)}=${quote(textOf(text.head), EVIDENCE_CHARS)}`);
  }
  return evidence;
}

/** Keras metadata kept in the object graph (TensorFlow 2.0-2.4 wrote it there before keras_metadata.pb). */
function kerasFromObjectGraphs(metaGraphs: TfMetaGraph[], findings: FindingList): MetadataValue | null {
  const objects: KerasSavedObject[] = [];
  metaGraphs.forEach((metaGraph) => {
    metaGraph.objectGraphDef?.nodes.forEach((node, index) => {
      const user = node.userObject;
      if (!user?.identifier?.startsWith('_tf_keras_') || !user.metadata) return;
      objects.push({ $offset: user.$offset, $length: user.$length, nodeId: index, nodePath: `object_graph.nodes[${index}]`, identifier: user.identifier, metadata: user.metadata });
    });
  });
  if (objects.length === 0) return null;
  return walkKerasObjects(objects, findings);
}

// ---------------------------------------------------------------------------
// Keras metadata

/** Read keras_metadata.pb: every object's Keras config walked for Lambda bytecode, foreign modules and the rest. */
export async function inspectKerasMetadata(source: ByteSource, context: InspectContext): Promise<Inspection> {
  const findings = createFindingList(MAX_FINDINGS_PER_RULE);
  const decoded = await decodeMessageFromSource(KERAS_SAVED_METADATA_SPEC, source, { ...DECODE_RULES, prefetched: context.head, signal: context.signal });
  if (decoded.error) {
    findings.add(decoded.error.rule, { detail: `${decoded.error.message}; what was read before is reported`, location: { offset: decoded.error.offset } });
  }
  const metadata: Record<string, MetadataValue> = {
    objects: decoded.message.nodes.length,
    identifiers: countIdentifiers(decoded.message.nodes),
  };
  const keras = walkKerasObjects(decoded.message.nodes, findings);
  if (keras) metadata.keras = keras;
  return { tensors: [], metadata, findings: findings.toArray() };
}

function countIdentifiers(nodes: KerasSavedObject[]): MetadataValue {
  const counts = new Map<string, number>();
  for (const node of nodes) counts.set(node.identifier ?? '', (counts.get(node.identifier ?? '') ?? 0) + 1);
  return [...counts].map(([identifier, count]) => ({ identifier, count }));
}

/**
 * Walk each object's metadata JSON with the shared Keras config walker. A
 * model object repeats the configs of its layers, so a finding already made
 * for the same value (same rule, detail and evidence apart from the path) is
 * not repeated.
 */
function walkKerasObjects(nodes: KerasSavedObject[], findings: FindingList): MetadataValue | null {
  const seen = new Set<string>();
  let summary: Record<string, MetadataValue> | null = null;
  for (const node of nodes) {
    if (node.metadata === undefined || node.metadata === '') continue;
    const location: FindingLocation = { offset: node.$offset, length: node.$length };
    const what = `the metadata of ${quote(node.nodePath ?? `node ${node.nodeId ?? '?'}`)}`;
    if (node.metadata.length > MAX_KERAS_METADATA_BYTES) {
      findings.add('keras.config.too-large', { detail: `${what} is over MAX_KERAS_METADATA_BYTES (${MAX_KERAS_METADATA_BYTES}); it was not parsed`, location });
      continue;
    }
    const parsed = parseKerasConfigText(node.metadata, location, what);
    if ('finding' in parsed) {
      findings.add(parsed.finding.rule as RuleId, { detail: parsed.finding.detail, location });
      continue;
    }
    const walk = walkKerasConfig(parsed.config, { location, rootPath: node.nodePath ?? '', container: 'saved-model' });
    for (const finding of walk.findings) {
      const key = `${finding.rule}\u0000${finding.detail}\u0000${(finding.evidence ?? '').replace(/^[^:]*: /, '')}`;
      if (seen.has(key)) continue;
      seen.add(key);
      findings.add(finding.rule as RuleId, { detail: finding.detail, location: finding.location, evidence: finding.evidence });
    }
    // The root object (the model) summarises every layer; without one, the first object stands in.
    if (node.nodePath === 'root' || summary === null) summary = summaryMetadata(walk.summary);
  }
  return summary;
}

// ---------------------------------------------------------------------------
// Text helpers

const utf8 = new TextDecoder('utf-8', { fatal: false });

function textOf(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** An untrusted name for a message: JSON-quoted (control characters visible) and cut to a readable length. */
function quote(text: string, max = 120): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}
