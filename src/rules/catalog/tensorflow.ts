import { CODE_EXECUTION_REFS, MALFORMED_REFS, REF } from '../references.ts';
import type { RuleCatalog } from '../rule.ts';

/** A graph op that touches the host when the model runs: what it does depends on paths and hosts the model chooses. */
const HOST_ACCESS_REFS = [REF.unsafeArtifact, REF.supplyChain, REF.owaspSupplyChain, REF.nistMeasure, REF.nistManage];

/** What a TensorFlow op does to the host, when it does more than compute. */
export type TensorflowOpCategory = 'python' | 'file-read' | 'file-write' | 'file-system' | 'network' | 'checkpoint-io';

/**
 * Ops that reach outside the graph, by category. Matched on the op name of
 * every node of the graph and of every function in its library.
 * - python: call a Python function registered in the loading process.
 * - file-read / file-write: read or write a file whose path is a graph value.
 * - file-system: list the file system or map a file into memory.
 * - network: send tensors to or call a remote host.
 * - checkpoint-io: the save/restore machinery every SavedModel has (info).
 */
export const TENSORFLOW_OP_CATEGORIES: ReadonlyMap<string, TensorflowOpCategory> = new Map([
  ['PyFunc', 'python'],
  ['PyFuncStateless', 'python'],
  ['EagerPyFunc', 'python'],
  ['ReadFile', 'file-read'],
  ['ImmutableConst', 'file-read'],
  ['FixedLengthRecordReader', 'file-read'],
  ['FixedLengthRecordReaderV2', 'file-read'],
  ['TextLineReader', 'file-read'],
  ['TextLineReaderV2', 'file-read'],
  ['TFRecordReader', 'file-read'],
  ['TFRecordReaderV2', 'file-read'],
  ['WholeFileReader', 'file-read'],
  ['WholeFileReaderV2', 'file-read'],
  ['TextLineDataset', 'file-read'],
  ['TFRecordDataset', 'file-read'],
  ['TFRecordDatasetV2', 'file-read'],
  ['FixedLengthRecordDataset', 'file-read'],
  ['FixedLengthRecordDatasetV2', 'file-read'],
  ['LoadDataset', 'file-read'],
  ['ExperimentalSqlDataset', 'file-read'],
  ['SqlDataset', 'file-read'],
  ['WriteFile', 'file-write'],
  ['DatasetToTFRecord', 'file-write'],
  ['ExperimentalDatasetToTFRecord', 'file-write'],
  ['SaveDataset', 'file-write'],
  ['SaveDatasetV2', 'file-write'],
  ['CreateSummaryFileWriter', 'file-write'],
  ['CreateSummaryDbWriter', 'file-write'],
  ['MatchingFiles', 'file-system'],
  ['MatchingFilesDataset', 'file-system'],
  ['ExperimentalMatchingFilesDataset', 'file-system'],
  ['RpcClient', 'network'],
  ['RpcCall', 'network'],
  ['RpcServer', 'network'],
  ['RpcServerStart', 'network'],
  ['RpcServerRegister', 'network'],
  ['DebugIdentity', 'network'],
  ['DebugIdentityV2', 'network'],
  ['DebugIdentityV3', 'network'],
  ['DebugNanCount', 'network'],
  ['DebugNumericSummary', 'network'],
  ['DebugNumericSummaryV2', 'network'],
  ['Save', 'checkpoint-io'],
  ['SaveV2', 'checkpoint-io'],
  ['SaveSlices', 'checkpoint-io'],
  ['Restore', 'checkpoint-io'],
  ['RestoreV2', 'checkpoint-io'],
  ['RestoreSlice', 'checkpoint-io'],
  ['MergeV2Checkpoints', 'checkpoint-io'],
  ['ShardedFilename', 'checkpoint-io'],
  ['ShardedFilespec', 'checkpoint-io'],
]);

/** Rules for TensorFlow SavedModels and their Keras metadata; ids start with `tensorflow.`. */
export const TENSORFLOW_RULES = {
  'tensorflow.truncated': {
    severity: 'high',
    effect: 'malformed',
    title: 'SavedModel protobuf is cut short',
    explanation:
      'The file ends inside a protobuf field, so the SavedModel is incomplete. TensorFlow refuses it; what was read before the cut is reported.',
    references: MALFORMED_REFS,
  },
  'tensorflow.malformed': {
    severity: 'high',
    effect: 'malformed',
    title: 'SavedModel protobuf is invalid',
    explanation:
      'A field has an impossible tag, length or encoding. TensorFlow’s parser refuses the file; a lenient one could read something other than what a reviewer sees.',
    references: MALFORMED_REFS,
  },
  'tensorflow.limit': {
    severity: 'medium',
    effect: 'malformed',
    title: 'SavedModel goes past an inspection limit',
    explanation:
      'The protobuf nests deeper, or holds more values, than any real model and Preflight inspects; the rest was not read.',
    references: [REF.resourceExhaustion, REF.allocationWithoutLimits, REF.uncontrolledRecursion, ...MALFORMED_REFS],
  },
  'tensorflow.op.python': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Graph calls Python functions',
    explanation:
      'PyFunc, PyFuncStateless and EagerPyFunc nodes call a Python function of the process that runs the graph, found by the token in the node. The function’s code is not in the file: whatever the loading program registered under that token runs on every call, and TensorFlow Serving cannot run the model at all.',
    references: CODE_EXECUTION_REFS,
  },
  'tensorflow.op.file-read': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Graph reads files from the host',
    explanation:
      'These ops read files whose paths are values in the graph (ReadFile, record readers and datasets, ImmutableConst’s memory-mapped region). Running the model reads them with the user’s rights; a model can pull a local secret into its outputs.',
    references: [REF.pathTraversal, ...HOST_ACCESS_REFS],
  },
  'tensorflow.op.file-write': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Graph writes files on the host',
    explanation:
      'These ops write files whose paths and contents are values in the graph (WriteFile, dataset and summary writers). Running the model writes them with the user’s rights: a model can plant or overwrite files.',
    references: [REF.pathTraversal, ...HOST_ACCESS_REFS],
  },
  'tensorflow.op.file-system': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Graph lists files on the host',
    explanation:
      'MatchingFiles and its dataset form list the file system with a glob pattern from the graph. A model has no need to explore the disk it runs on; combined with file reads it finds what to take.',
    references: HOST_ACCESS_REFS,
  },
  'tensorflow.op.network': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Graph talks to other hosts',
    explanation:
      'RPC ops call or serve remote functions, and debug ops send tensors to the `debug_urls` in their attributes (grpc:// or file:// targets). Running the model opens connections or writes dumps the user did not ask for.',
    references: HOST_ACCESS_REFS,
  },
  'tensorflow.op.checkpoint-io': {
    severity: 'info',
    effect: 'none',
    title: 'Graph has the checkpoint save/restore ops',
    explanation:
      'Save, Restore and related ops read and write the variables/ checkpoint next to saved_model.pb. Every SavedModel has them; they are listed so the file access is visible.',
    references: [REF.supplyChain],
  },
  'tensorflow.asset.path-escape': {
    severity: 'high',
    effect: 'suspicious',
    title: 'SavedModel asset path leaves the assets folder',
    explanation:
      'An asset file (vocabulary, lookup table) is named by an absolute path or a path with `..`. TensorFlow joins it to the model’s assets/ folder, so loading reads a file outside the model, chosen by the model’s author.',
    references: [REF.pathTraversal, REF.unsafeArtifact, REF.supplyChain, REF.owaspSupplyChain, REF.nistMeasure],
  },
  'tensorflow.savedmodel.no-meta-graph': {
    severity: 'medium',
    effect: 'malformed',
    title: 'SavedModel has no MetaGraph',
    explanation: 'A SavedModel holds its graphs in meta_graphs; this one has none, so TensorFlow has nothing to load.',
    references: MALFORMED_REFS,
  },
} satisfies RuleCatalog;
