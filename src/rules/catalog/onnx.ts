import { CODE_EXECUTION_REFS, MALFORMED_REFS, REF } from '../references.ts';
import type { RuleCatalog } from '../rule.ts';

/** ONNX's own domains: operators every runtime implements from the ONNX specification. */
export const ONNX_STANDARD_DOMAINS: ReadonlySet<string> = new Set(['', 'ai.onnx', 'ai.onnx.ml', 'ai.onnx.training', 'ai.onnx.preview.training']);

/**
 * Domains of operators shipped inside ONNX Runtime (contrib, layout and
 * execution-provider operators) or by PyTorch's exporter: native kernels of
 * the runtime, not code supplied with the model. Listed as information.
 */
export const ONNX_KNOWN_CONTRIB_DOMAINS: ReadonlySet<string> = new Set([
  'com.microsoft',
  'com.microsoft.nchwc',
  'com.microsoft.experimental',
  'com.microsoft.dml',
  'com.ms.internal.nhwc',
  'org.pytorch.aten',
]);

/**
 * Operator types that call Python: ONNX Runtime's language-interop `PyOp`
 * (imports the module and class named in its attributes) and the Python
 * custom operators of onnxruntime-extensions (`ai.onnx.contrib`, defined with
 * `@onnx_op` in the loading process). Matched in any domain.
 */
export const ONNX_PYTHON_OP_TYPES: ReadonlySet<string> = new Set(['PyOp', 'PyFunc', 'PythonOp', 'PyOpFunc']);

/** Attributes of a Python operator that name the code it runs, shown as evidence. */
export const ONNX_PYTHON_OP_ATTRIBUTES: ReadonlySet<string> = new Set(['module', 'class_name', 'compute', 'function', 'code', 'script']);

/** onnxruntime-extensions' domain: its operators are native or Python functions registered by the loader. */
export const ONNX_EXTENSIONS_DOMAIN = 'ai.onnx.contrib';

const EXTERNAL_DATA_REFS = [
  REF.pathTraversal,
  'CVE-2022-25882',
  'CVE-2024-27318',
  'CVE-2025-51480',
  REF.unsafeArtifact,
  REF.supplyChain,
  REF.owaspSupplyChain,
  REF.nistMeasure,
  REF.nistManage,
];

/** Rules for ONNX models; ids start with `onnx.`. */
export const ONNX_RULES = {
  'onnx.truncated': {
    severity: 'high',
    effect: 'malformed',
    title: 'ONNX model is cut short',
    explanation:
      'The file ends inside a protobuf field, so the model is incomplete. ONNX Runtime and the onnx library refuse it; what was read before the cut is reported.',
    references: MALFORMED_REFS,
  },
  'onnx.malformed': {
    severity: 'high',
    effect: 'malformed',
    title: 'ONNX model is not valid protobuf',
    explanation:
      'A field of the ModelProto has an impossible tag, length or encoding. Protobuf parsers refuse the model; a lenient parser could read something other than what a reviewer sees.',
    references: MALFORMED_REFS,
  },
  'onnx.limit': {
    severity: 'medium',
    effect: 'malformed',
    title: 'ONNX model goes past an inspection limit',
    explanation:
      'The model nests messages deeper, or holds more values, than any real model and Preflight inspects; the rest was not read. Loaders that follow such structures without limits exhaust their stack or memory.',
    references: [REF.resourceExhaustion, REF.allocationWithoutLimits, REF.uncontrolledRecursion, ...MALFORMED_REFS],
  },
  'onnx.model.missing-graph': {
    severity: 'medium',
    effect: 'malformed',
    title: 'ONNX model has no graph',
    explanation: 'A ModelProto without a graph computes nothing; ONNX Runtime refuses it.',
    references: MALFORMED_REFS,
  },
  'onnx.model.missing-ir-version': {
    severity: 'medium',
    effect: 'malformed',
    title: 'ONNX model has no IR version',
    explanation: 'The onnx checker and ONNX Runtime require `ir_version` to know how to read the model; without it they refuse the file.',
    references: MALFORMED_REFS,
  },
  'onnx.domain.contrib': {
    severity: 'info',
    effect: 'none',
    title: 'ONNX model uses runtime-specific operators',
    explanation:
      'Some operators come from a runtime’s own operator set (ONNX Runtime’s com.microsoft contrib operators, PyTorch’s ATen fallback) rather than the ONNX standard. They run native kernels shipped with that runtime; other runtimes cannot load the model.',
    references: [REF.supplyChain],
  },
  'onnx.domain.custom': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'ONNX model uses operators from a custom domain',
    explanation:
      'The model calls operators that no standard runtime implements. Loading it requires registering a custom-operator library (a native shared library or Python functions) supplied alongside the model: that code, not the model, decides what these nodes do. Review where it comes from before loading.',
    references: [REF.codeInjection, REF.unsafeArtifact, REF.supplyChain, REF.owaspSupplyChain, REF.nistManage],
  },
  'onnx.op.python': {
    severity: 'high',
    effect: 'suspicious',
    title: 'ONNX model calls Python operators',
    explanation:
      'These nodes run Python: ONNX Runtime’s PyOp imports the module and class named in its attributes and calls them; onnxruntime-extensions runs Python functions registered under the operator’s name. A runtime set up to support them executes that code on every inference.',
    references: CODE_EXECUTION_REFS,
  },
  'onnx.external-data.reference': {
    severity: 'info',
    effect: 'none',
    title: 'ONNX tensors are stored in other files',
    explanation:
      'The model reads tensor data from files next to it (external data). Those files are part of the model: scan the whole folder, so that each referenced file is checked to exist, to be a plain file inside the folder, and to be large enough.',
    references: [REF.supplyChain],
  },
  'onnx.external-data.path-escape': {
    severity: 'high',
    effect: 'dangerous',
    title: 'ONNX external data points outside the model folder',
    explanation:
      'A tensor names its data file by an absolute path or a path that climbs out of the model’s folder (`..`). Loaders that follow it read any file the user can read (keys, credentials) into the model’s weights, where the outputs can leak it; tools that re-save the model write to that path (CVE-2022-25882, CVE-2024-27318, CVE-2025-51480). No legitimate model does this.',
    references: EXTERNAL_DATA_REFS,
  },
  'onnx.external-data.url': {
    severity: 'high',
    effect: 'suspicious',
    title: 'ONNX external data location is a URL',
    explanation:
      'A tensor names its data file by a URL (`file://`, `http://`, …). The ONNX libraries treat locations as relative paths, so the standard loaders fail; a loader that resolves URLs would read a local file or fetch data from a server chosen by the model’s author.',
    references: EXTERNAL_DATA_REFS,
  },
  'onnx.external-data.unusual-location': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'ONNX external data location is unusual',
    explanation:
      'The location of a tensor’s data file is not a plain relative file name: it has NUL or control characters, backslashes, a home-directory `~`, a Windows device or drive prefix, or is extremely long. Different platforms and loaders resolve such names differently, which is how path checks get bypassed.',
    references: EXTERNAL_DATA_REFS,
  },
  'onnx.external-data.invalid': {
    severity: 'medium',
    effect: 'malformed',
    title: 'ONNX external data reference is invalid',
    explanation:
      'A tensor marked as external has no `location`, or an `offset`/`length` that is not a non-negative integer. The onnx library and ONNX Runtime refuse to load it.',
    references: MALFORMED_REFS,
  },
  'onnx.tensor.size-mismatch': {
    severity: 'medium',
    effect: 'malformed',
    title: 'ONNX tensor data does not match its shape and type',
    explanation:
      'The bytes stored for a tensor are not its element count times its element size. ONNX Runtime refuses the tensor; a loader that trusts the shape reads past the data or leaves bytes unread.',
    references: MALFORMED_REFS,
  },
  'onnx.tensor.invalid-shape': {
    severity: 'medium',
    effect: 'malformed',
    title: 'ONNX tensor has an invalid shape',
    explanation:
      'A dimension is negative or the element count overflows. ONNX Runtime refuses the tensor; loaders computing sizes from such a shape can mis-size their buffers.',
    references: [REF.allocationWithoutLimits, ...MALFORMED_REFS],
  },
  'onnx.tensor.unknown-dtype': {
    severity: 'medium',
    effect: 'malformed',
    title: 'ONNX tensor has an unknown element type',
    explanation: 'The tensor’s `data_type` is not an ONNX element type, so nobody can tell how to read its bytes; runtimes refuse it.',
    references: MALFORMED_REFS,
  },
} satisfies RuleCatalog;
