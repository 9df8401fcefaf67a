/**
 * The Keras model config walker, shared by every place a Keras config turns
 * up: `config.json` in a `.keras` archive, the `model_config` and
 * `training_config` attributes of a legacy `.h5`, `keras_metadata.pb` in a
 * TensorFlow SavedModel, a Hugging Face folder.
 *
 * A Keras config is a tree of serialized objects
 * (`{"module", "class_name", "config", "registered_name"}` in Keras 3,
 * `{"class_name", "config"}` in Keras 2); loading rebuilds every one of them,
 * importing the module it names and calling the class's `from_config` or the
 * function itself. So the config is a program, and this walker reads all of
 * it: nested layers (Sequential/Functional `layers`, wrapper `layer`,
 * `inner_layers`), initializers, optimizer, loss and metric configs,
 * `compile_config`, `build_config` — every value, whatever its key, within
 * MAX_CONFIG_DEPTH and MAX_CONFIG_NODES.
 *
 * What it flags, each with the JSON path as evidence:
 * - Lambda bytecode: Keras 2 `function: [base64 marshal, defaults, closure]`
 *   with `function_type: "lambda"`, Keras 3 `{"class_name": "__lambda__"}`
 *   anywhere (CVE-2024-3660); the decoded size and the names the code object
 *   holds are shown.
 * - Named-function Lambdas and function references (`class_name: "function"`)
 *   and objects from modules outside Keras (CVE-2025-1550), judged with the
 *   pickle policy (a module that runs commands is dangerous, anything else
 *   unknown); Keras functions that download, load or unlock
 *   (`get_file`, `load_model`, `enable_unsafe_deserialization` …:
 *   CVE-2025-8747, CVE-2025-9906).
 * - `TorchModuleWrapper` (torch.save bytes in the config, CVE-2025-49655):
 *   the bytes are decoded and handed back in `payloads` for the caller to
 *   scan (they are a PyTorch zip or a pickle).
 * - `safe_mode: false` and `enable_unsafe_deserialization` anywhere.
 * - URLs in any string, and file paths given to layers that read them on
 *   load (lookup vocabularies, TFSMLayer, tokenizer files).
 */
import type { Finding, FindingLocation, MetadataValue } from '../report/types.ts';
import { createFindingList } from '../containers/zip-finding-list.ts';
import { classifyGlobal, quoteUntrusted } from './pickle-policy.ts';
import { type RuleId, createFinding } from './index.ts';

/** Nesting walked at most: real configs nest a few dozen levels (CWE-674). */
export const MAX_CONFIG_DEPTH = 256;
/** Values (objects, arrays, scalars) visited at most: a large Functional model has ~10^5 (CWE-400). */
export const MAX_CONFIG_NODES = 2_000_000;
/** Base64 characters of one Lambda code object decoded: real lambdas are a few KB (CWE-400). */
export const MAX_LAMBDA_CODE_CHARS = 4 * 1024 * 1024;
/** Base64 characters of one TorchModuleWrapper payload decoded (CWE-400, CWE-770). */
export const MAX_EMBEDDED_PAYLOAD_CHARS = 128 * 1024 * 1024;
/** Names listed per code object (CWE-770). */
export const MAX_CODE_NAMES = 48;
/** Findings of one rule listed; the rest are counted in one summary finding (CWE-770). */
export const MAX_FINDINGS_PER_RULE = 100;
/** Distinct class names and custom objects kept in the summary (CWE-770). */
export const MAX_SUMMARY_NAMES = 200;
/** Characters of a string value quoted in evidence. */
const SHOWN_CHARS = 160;

/** First segments of modules that are Keras itself or its first-party libraries. */
const KERAS_ROOTS: ReadonlySet<string> = new Set(['keras', 'tf_keras', 'keras_hub', 'keras_nlp', 'keras_cv', 'keras_rs']);
/** Dotted prefixes of the Keras copies inside TensorFlow. */
const KERAS_PREFIXES = ['tensorflow.keras', 'tensorflow.python.keras', 'tensorflow.compat.v1.keras', 'tensorflow.compat.v2.keras'];

/** Package names of `registered_name: "Package>Name"` that Keras and its libraries register. */
const KERAS_PACKAGES: ReadonlySet<string> = new Set(['keras', 'keras_hub', 'keras_nlp', 'keras_cv', 'keras_rs', 'tf_keras']);

/**
 * Callables Keras can reach from a config (as a Lambda function, a function
 * reference or an object) whose work on load is itself the harm. Keyed by
 * the last name segment: the module it lives in changes between versions.
 */
const DANGEROUS_KERAS_CALLABLES: ReadonlyMap<string, string> = new Map([
  ['get_file', 'downloads a URL to the host (and can extract archives): CVE-2025-8747'],
  ['extract_archive', 'unpacks an archive onto the host file system'],
  ['load_model', 'loads another model, which can run its own code and with its own safe_mode'],
  ['load_weights', 'loads weights from a path the config chooses'],
  ['model_from_json', 'rebuilds another model from a config string'],
  ['model_from_config', 'rebuilds another model from a config'],
  ['model_from_yaml', 'rebuilds another model from YAML'],
  ['deserialize_keras_object', 'rebuilds any object from a config, with the arguments given'],
  ['func_load', 'unmarshals Python bytecode into a function'],
  ['set_global_attribute', 'changes Keras global state, such as safe_mode_saving: CVE-2025-9906'],
  ['load_img', 'reads an image file from the host'],
]);

/** Functions that turn safe deserialization off: reported under their own rule. */
const UNSAFE_SWITCHES: ReadonlySet<string> = new Set(['enable_unsafe_deserialization']);

/** Layers that read a vocabulary or similar file named by a string config value on load. */
const FILE_READING_KEYS: ReadonlyMap<string, readonly string[]> = new Map([
  ['StringLookup', ['vocabulary']],
  ['IntegerLookup', ['vocabulary']],
  ['IndexLookup', ['vocabulary']],
  ['TextVectorization', ['vocabulary']],
  ['TFSMLayer', ['filepath']],
]);
/** Keys that name files for any tokenizer class (`…Tokenizer`, keras_hub). */
const TOKENIZER_FILE_KEYS = ['vocabulary', 'merges', 'proto', 'spm_proto'];

/** Strings naming a remote or local URL. */
const URL_PATTERN = /\b(?:https?|ftps?|file|gs|s3a?|hdfs|viewfs|ram):\/\/[^\s"'<>]*/i;

/** Names in marshalled code that say what it does, shown first in evidence. */
const TELLING_CODE_NAMES: ReadonlySet<string> = new Set([
  'os', 'posix', 'nt', 'system', 'popen', 'Popen', 'subprocess', 'run', 'call', 'check_output', 'check_call', 'spawn',
  'exec', 'eval', 'compile', '__import__', 'import_module', 'importlib', 'builtins', '__builtins__', 'getattr', 'open',
  'socket', 'urllib', 'request', 'requests', 'urlopen', 'http', 'pty', 'shutil', 'marshal', 'pickle', 'loads', 'ctypes',
  'base64', 'b64decode', 'remove', 'unlink', 'rmtree', 'environ', 'write',
]);

/** Where the config came from; the Lambda finding says whether safe_mode would have stopped it. */
export type KerasConfigContainer = 'keras' | 'h5' | 'saved-model' | 'other';

export interface KerasConfigWalkOptions {
  /** Copied into every finding: the config's member and offset (of its text, or of the attribute holding it). */
  location?: FindingLocation;
  /** First segment of every JSON path shown, e.g. `model_config`; none by default. */
  rootPath?: string;
  container?: KerasConfigContainer;
  /** Limits for tests. */
  maxDepth?: number;
  maxNodes?: number;
}

/** Bytes decoded from the config that the caller must scan as an artifact of their own. */
export interface KerasEmbeddedPayload {
  /** JSON path of the string the bytes were decoded from. */
  path: string;
  /** What the bytes are meant to be. */
  kind: 'torch.save';
  bytes: Uint8Array;
}

export interface KerasConfigSummary {
  /** class_name of the root object (`Sequential`, `Functional`, a custom model). */
  modelClass: string | null;
  /** Objects found in `layers` lists and wrapper `layer` fields. */
  layers: number;
  /** Every class_name, with its count. */
  classes: Record<string, number>;
  /** `module.class` of every object outside the Keras namespaces. */
  customObjects: string[];
  lambdaLayers: number;
  /** Values visited. */
  nodes: number;
}

export interface KerasConfigWalk {
  findings: Finding[];
  payloads: KerasEmbeddedPayload[];
  summary: KerasConfigSummary;
}

/** The summary as report metadata. */
export function summaryMetadata(summary: KerasConfigSummary): Record<string, MetadataValue> {
  const metadata: Record<string, MetadataValue> = {
    modelClass: summary.modelClass,
    layers: summary.layers,
  };
  const classes: Record<string, MetadataValue> = {};
  for (const [name, count] of Object.entries(summary.classes)) {
    Object.defineProperty(classes, name, { value: count, enumerable: true, writable: true, configurable: true });
  }
  metadata.classes = classes;
  if (summary.customObjects.length > 0) metadata.customObjects = summary.customObjects;
  if (summary.lambdaLayers > 0) metadata.lambdaLayers = summary.lambdaLayers;
  return metadata;
}

type JsonObject = Record<string, unknown>;

interface PendingNode {
  value: unknown;
  path: string;
  depth: number;
  /** The key this value sits under in its parent object (`layers`, `layer`, …), or null in an array/root. */
  key: string | null;
  /** The key of the array this value is an element of, or null. */
  arrayKey: string | null;
}

/** Walks a parsed Keras config; see the file header. Never throws for any JSON value. */
export function walkKerasConfig(config: unknown, options: KerasConfigWalkOptions = {}): KerasConfigWalk {
  const maxDepth = options.maxDepth ?? MAX_CONFIG_DEPTH;
  const maxNodes = options.maxNodes ?? MAX_CONFIG_NODES;
  const findings = createFindingList(MAX_FINDINGS_PER_RULE);
  const location = options.location ?? {};
  const container = options.container ?? 'other';
  const payloads: KerasEmbeddedPayload[] = [];
  const summary: KerasConfigSummary = {
    modelClass: isObject(config) && typeof config.class_name === 'string' ? config.class_name : null,
    layers: 0,
    classes: Object.create(null) as Record<string, number>,
    customObjects: [],
    lambdaLayers: 0,
    nodes: 0,
  };
  let distinctClasses = 0;
  // Objects already reported as unlocking safe mode: the string naming the function inside them is the same fact.
  const unlockingObjects: string[] = [];
  const report = (rule: RuleId, path: string, detail: string, evidence: string) => {
    if (rule === 'keras.safe-mode.disabled') {
      if (unlockingObjects.some((object) => path.startsWith(`${object}.`))) return;
      if (unlockingObjects.length < MAX_FINDINGS_PER_RULE) unlockingObjects.push(path);
    }
    findings.add(rule, { detail, location: { ...location }, evidence: `${path || '(root)'}: ${evidence}` });
  };

  const stack: PendingNode[] = [{ value: config, path: options.rootPath ?? '', depth: 0, key: null, arrayKey: null }];
  let depthReported = false;
  while (stack.length > 0) {
    const node = stack.pop() as PendingNode;
    if (summary.nodes >= maxNodes) {
      report('keras.config.limit', node.path, `The config has more than ${maxNodes} values (MAX_CONFIG_NODES); the rest was not checked.`, 'walk stopped here');
      break;
    }
    summary.nodes += 1;
    const { value, path } = node;
    if (typeof value === 'string') {
      checkString(value, path, node.key, report);
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (node.depth >= maxDepth) {
      if (!depthReported) {
        report('keras.config.limit', path, `The config nests deeper than ${maxDepth} levels (MAX_CONFIG_DEPTH); what lies below was not checked.`, 'walk stopped here');
        depthReported = true;
      }
      continue;
    }
    const children: PendingNode[] = [];
    if (Array.isArray(value)) {
      for (let index = 0; index < value.length; index += 1) {
        children.push({ value: value[index], path: `${path}[${index}]`, depth: node.depth + 1, key: null, arrayKey: node.key });
      }
    } else {
      const object = value as JsonObject;
      if (typeof object.class_name === 'string') {
        const className = object.class_name;
        if (className in summary.classes) summary.classes[className] += 1;
        else if (distinctClasses < MAX_SUMMARY_NAMES) {
          summary.classes[className] = 1;
          distinctClasses += 1;
        }
        if (node.arrayKey === 'layers' || node.key === 'layer' || node.key === 'backward_layer') summary.layers += 1;
        checkSerializedObject(object, path, container, summary, payloads, report);
      }
      for (const key of Object.keys(object)) {
        const child = object[key];
        if (key === 'safe_mode' && child === false) {
          report('keras.safe-mode.disabled', joinPath(path, key), 'The config passes safe_mode=False to what it calls.', 'safe_mode: false');
        }
        children.push({ value: child, path: joinPath(path, key), depth: node.depth + 1, key, arrayKey: null });
      }
    }
    // Reverse so the walk (and the findings) follow document order.
    for (let index = children.length - 1; index >= 0; index -= 1) stack.push(children[index]);
  }
  return { findings: findings.toArray(), payloads, summary };
}

type Reporter = (rule: RuleId, path: string, detail: string, evidence: string) => void;

function checkString(value: string, path: string, key: string | null, report: Reporter): void {
  const url = URL_PATTERN.exec(value);
  if (url) {
    report('keras.url-reference', path, `The string ${key === null ? '' : `under "${key}" `}is a URL that a layer or function may fetch on load.`, quoteUntrusted(url[0], SHOWN_CHARS));
  }
  if (value.includes('enable_unsafe_deserialization')) {
    report('keras.safe-mode.disabled', path, 'The config names enable_unsafe_deserialization.', quoteUntrusted(value, SHOWN_CHARS));
  }
}

function checkSerializedObject(
  object: JsonObject,
  path: string,
  container: KerasConfigContainer,
  summary: KerasConfigSummary,
  payloads: KerasEmbeddedPayload[],
  report: Reporter,
): void {
  const className = object.class_name as string;
  const module = typeof object.module === 'string' ? object.module : null;
  const inner = isObject(object.config) ? object.config : null;

  if (className === '__lambda__') {
    const code = inner && typeof inner.code === 'string' ? inner.code : null;
    reportBytecode(code, joinPath(joinPath(path, 'config'), 'code'), container, 'A Keras 3 __lambda__ function', report);
    return;
  }

  // A function reference names its callable in `config`: {"module": "keras.utils", "class_name": "function", "config": "get_file"}.
  const callableName = className === 'function' && typeof object.config === 'string' ? object.config : className;
  checkCallable(module, callableName, path, report);
  if (module !== null && !isKerasModule(module) && !isInternalMarker(className)) {
    judgeForeignObject(module, callableName, path, summary, report);
  } else if (module === null && typeof object.registered_name === 'string') {
    const registered = object.registered_name;
    const separator = registered.indexOf('>');
    if (separator > 0 && !KERAS_PACKAGES.has(registered.slice(0, separator))) {
      addCustomObject(summary, registered);
      report('keras.object.unknown-module', path, `The object is registered as ${quoteUntrusted(registered, SHOWN_CHARS)}, a custom object: loading needs the code that registers it.`, `registered_name ${quoteUntrusted(registered, SHOWN_CHARS)}`);
    }
  }

  if (className === 'Lambda' && inner) {
    summary.lambdaLayers += 1;
    checkLambda(inner, joinPath(path, 'config'), container, report);
  }
  if (className === 'TorchModuleWrapper' && inner) {
    checkTorchModuleWrapper(inner, joinPath(path, 'config'), payloads, report);
  }
  if (inner) checkFileKeys(className, inner, joinPath(path, 'config'), report);
}

/** Flags callables whose work on load is the harm, wherever they are named. */
function checkCallable(module: string | null, name: string, path: string, report: Reporter): void {
  const last = name.slice(name.lastIndexOf('.') + 1);
  const shown = module === null ? name : `${module}.${name}`;
  if (UNSAFE_SWITCHES.has(last)) {
    report('keras.safe-mode.disabled', path, `The config calls ${quoteUntrusted(shown, SHOWN_CHARS)}, which turns safe deserialization off for the rest of the load.`, quoteUntrusted(shown, SHOWN_CHARS));
    return;
  }
  const reason = DANGEROUS_KERAS_CALLABLES.get(last);
  if (reason) {
    report('keras.function.dangerous', path, `The config reaches ${quoteUntrusted(shown, SHOWN_CHARS)}, which ${reason}.`, quoteUntrusted(shown, SHOWN_CHARS));
  }
}

function judgeForeignObject(module: string, name: string, path: string, summary: KerasConfigSummary, report: Reporter): void {
  const shown = `${module}.${name}`;
  addCustomObject(summary, shown);
  const judged = classifyGlobal(module, name);
  if (judged.verdict === 'dangerous') {
    report('keras.object.dangerous-module', path, `The object comes from ${quoteUntrusted(shown, SHOWN_CHARS)}: ${judged.reason}. Keras imports it and calls it while rebuilding the model.`, `module ${quoteUntrusted(module, SHOWN_CHARS)}, name ${quoteUntrusted(name, SHOWN_CHARS)}`);
    return;
  }
  report('keras.object.unknown-module', path, `The object comes from ${quoteUntrusted(shown, SHOWN_CHARS)}, outside the Keras namespaces: loading imports that module and calls what it names.`, `module ${quoteUntrusted(module, SHOWN_CHARS)}, name ${quoteUntrusted(name, SHOWN_CHARS)}`);
}

function addCustomObject(summary: KerasConfigSummary, name: string): void {
  if (summary.customObjects.length < MAX_SUMMARY_NAMES && !summary.customObjects.includes(name)) summary.customObjects.push(name);
}

/** Keras 2 Lambda: `function` (and `output_shape`) as marshalled code or as a named function. */
function checkLambda(config: JsonObject, path: string, container: KerasConfigContainer, report: Reporter): void {
  for (const [key, typeKey, moduleKey] of [
    ['function', 'function_type', 'module'],
    ['output_shape', 'output_shape_type', 'output_shape_module'],
  ] as const) {
    const value = config[key];
    const type = config[typeKey];
    const fieldPath = joinPath(path, key);
    if (type === 'lambda' && Array.isArray(value) && typeof value[0] === 'string') {
      reportBytecode(value[0], `${fieldPath}[0]`, container, `The Lambda layer's ${key === 'function' ? 'function' : 'output_shape function'}`, report);
    } else if (type === 'lambda' && typeof value === 'string') {
      reportBytecode(value, fieldPath, container, `The Lambda layer's ${key}`, report);
    } else if (type === 'function' && typeof value === 'string') {
      const module = typeof config[moduleKey] === 'string' ? (config[moduleKey] as string) : null;
      const shown = module === null ? value : `${module}.${value}`;
      report('keras.lambda.function-reference', fieldPath, `The Lambda layer calls the function ${quoteUntrusted(shown, SHOWN_CHARS)} with arguments from the config.`, quoteUntrusted(shown, SHOWN_CHARS));
      checkCallable(module, value, fieldPath, report);
    } else if (key === 'function' && isObject(value) && value.class_name === 'function') {
      const module = typeof value.module === 'string' ? value.module : null;
      const name = typeof value.config === 'string' ? value.config : '?';
      const shown = module === null ? name : `${module}.${name}`;
      const args = isObject(config.arguments) ? Object.keys(config.arguments) : [];
      report(
        'keras.lambda.function-reference',
        fieldPath,
        `The Lambda layer calls ${quoteUntrusted(shown, SHOWN_CHARS)}${args.length > 0 ? ` with the arguments ${args.slice(0, 8).map((arg) => quoteUntrusted(arg, 40)).join(', ')} from the config` : ''}.`,
        quoteUntrusted(shown, SHOWN_CHARS),
      );
    }
  }
}

function reportBytecode(code: string | null, path: string, container: KerasConfigContainer, what: string, report: Reporter): void {
  const whereSafeModeStands =
    container === 'h5'
      ? ' This is a legacy .h5 file, for which Keras ignores safe_mode (CVE-2025-9905).'
      : container === 'keras'
        ? ' Keras 3 refuses it under safe_mode=True, and runs it with safe_mode=False or once safe mode has been turned off.'
        : '';
  if (code === null) {
    report('keras.lambda.bytecode', path, `${what} is a lambda whose code is not a string; Keras would try to unmarshal it.${whereSafeModeStands}`, 'code missing');
    return;
  }
  const decoded = decodeBase64(code, MAX_LAMBDA_CODE_CHARS);
  if (decoded === null) {
    report('keras.lambda.bytecode', path, `${what} is marshalled Python bytecode of ${code.length} base64 characters, not decoded (not base64, or over MAX_LAMBDA_CODE_CHARS ${MAX_LAMBDA_CODE_CHARS}).${whereSafeModeStands}`, quoteUntrusted(code, 80));
    return;
  }
  const names = marshalNames(decoded);
  const telling = names.filter((name) => TELLING_CODE_NAMES.has(name));
  report(
    'keras.lambda.bytecode',
    path,
    `${what} is ${decoded.length} bytes of marshalled Python bytecode${telling.length > 0 ? `; it names ${telling.map((name) => quoteUntrusted(name, 40)).join(', ')}` : ''}.${whereSafeModeStands}`,
    `${decoded.length} bytes of code; names ${names.length > 0 ? names.map((name) => quoteUntrusted(name, 60)).join(', ') : '(none readable)'}`,
  );
}

/** TorchModuleWrapper: `module` holds base64 torch.save bytes (a string, or `{"class_name": "__bytes__", "config": {"value": …}}`). */
function checkTorchModuleWrapper(config: JsonObject, path: string, payloads: KerasEmbeddedPayload[], report: Reporter): void {
  let encoded: string | null = null;
  let fieldPath = joinPath(path, 'module');
  const field = config.module;
  if (typeof field === 'string') encoded = field;
  else if (isObject(field) && isObject(field.config) && typeof field.config.value === 'string') {
    encoded = field.config.value;
    fieldPath = joinPath(joinPath(fieldPath, 'config'), 'value');
  }
  if (encoded === null) {
    report('keras.torch-module-wrapper', fieldPath, 'TorchModuleWrapper has no module bytes Preflight can read; Keras would hand whatever is there to torch.load(weights_only=False).', 'module not a base64 string');
    return;
  }
  const bytes = decodeBase64(encoded, MAX_EMBEDDED_PAYLOAD_CHARS);
  if (bytes === null) {
    report('keras.torch-module-wrapper', fieldPath, `TorchModuleWrapper holds ${encoded.length} characters that were not decoded (not base64, or over MAX_EMBEDDED_PAYLOAD_CHARS ${MAX_EMBEDDED_PAYLOAD_CHARS}); Keras hands them to torch.load(weights_only=False).`, quoteUntrusted(encoded, 80));
    return;
  }
  const kind = bytes[0] === 0x50 && bytes[1] === 0x4b ? 'a PyTorch zip checkpoint' : bytes[0] === 0x80 ? 'a pickle' : 'bytes of no known format';
  report(
    'keras.torch-module-wrapper',
    fieldPath,
    `TorchModuleWrapper holds ${bytes.length} bytes of torch.save output (${kind}); Keras loads them with torch.load(weights_only=False). They were scanned; see the findings of the embedded payload.`,
    `${bytes.length} bytes, ${kind}`,
  );
  payloads.push({ path: fieldPath, kind: 'torch.save', bytes });
}

function checkFileKeys(className: string, config: JsonObject, path: string, report: Reporter): void {
  const keys = FILE_READING_KEYS.get(className) ?? (className.endsWith('Tokenizer') ? TOKENIZER_FILE_KEYS : null);
  if (!keys) return;
  for (const key of keys) {
    const value = config[key];
    if (typeof value !== 'string' || value.length === 0) continue;
    const where = describePath(value);
    report('keras.file-reference', joinPath(path, key), `${className} is configured to read ${quoteUntrusted(value, SHOWN_CHARS)} (${where}) when the model loads.`, quoteUntrusted(value, SHOWN_CHARS));
  }
}

function describePath(value: string): string {
  if (URL_PATTERN.test(value)) return 'a URL';
  if (value.startsWith('/') || value.startsWith('\\') || /^[A-Za-z]:[\\/]/.test(value) || value.startsWith('~')) return 'an absolute path on the host';
  if (value.split(/[\\/]/).includes('..')) return 'a path that climbs out with ".."';
  return 'a path relative to the working directory of the loader';
}

function isKerasModule(module: string): boolean {
  const root = module.split('.', 1)[0];
  if (KERAS_ROOTS.has(root)) return true;
  return KERAS_PREFIXES.some((prefix) => module === prefix || module.startsWith(`${prefix}.`));
}

/** Keras 3's own value markers (`__tuple__`, `__numpy__`, `__bytes__` …), handled by Keras without an import. */
function isInternalMarker(className: string): boolean {
  return className.startsWith('__') && className.endsWith('__') && className !== '__lambda__';
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `config.layers[3].config.function`; odd keys in brackets, JSON-quoted. */
export function joinPath(path: string, key: string): string {
  if (IDENTIFIER.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

/**
 * Base64 (standard or URL alphabet, whitespace ignored, as Python's decoders
 * accept it) to bytes; null when the text is longer than `maxChars` or is
 * not base64.
 */
export function decodeBase64(text: string, maxChars: number): Uint8Array | null {
  if (text.length > maxChars) return null;
  const out = new Uint8Array(Math.floor((text.length * 3) / 4) + 3);
  let length = 0;
  let buffer = 0;
  let bits = 0;
  let padding = false;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === 32 || code === 9 || code === 10 || code === 13) continue;
    if (code === 61) {
      padding = true;
      continue;
    }
    const value = base64Value(code);
    if (value < 0 || padding) return null;
    buffer = (buffer << 6) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[length++] = (buffer >> bits) & 0xff;
    }
  }
  return out.slice(0, length);
}

function base64Value(code: number): number {
  if (code >= 65 && code <= 90) return code - 65;
  if (code >= 97 && code <= 122) return code - 71;
  if (code >= 48 && code <= 57) return code + 4;
  if (code === 43 || code === 45) return 62;
  if (code === 47 || code === 95) return 63;
  return -1;
}

/** marshal type codes of text objects (FLAG_REF, 0x80, masked off). */
const MARSHAL_SHORT_ASCII = new Set([0x7a, 0x5a]); // 'z', 'Z' (interned): 1-byte length
const MARSHAL_LONG_TEXT = new Set([0x61, 0x41, 0x75, 0x74]); // 'a', 'A', 'u', 't': 4-byte length

/**
 * Names and strings held by a marshalled code object, in order, without
 * duplicates: marshal's text objects (short ASCII with a 1-byte length,
 * ASCII/unicode with a 4-byte length) whose bytes are printable. When none
 * is found (another Python's marshal, or not marshal at all), runs of 3 or
 * more printable characters instead. Bounded by MAX_CODE_NAMES.
 */
export function marshalNames(bytes: Uint8Array): string[] {
  const names: string[] = [];
  const add = (name: string) => {
    if (names.length < MAX_CODE_NAMES && !names.includes(name)) names.push(name);
  };
  for (let index = 0; index < bytes.length && names.length < MAX_CODE_NAMES; index += 1) {
    const type = bytes[index] & 0x7f;
    let start = -1;
    let length = 0;
    if (MARSHAL_SHORT_ASCII.has(type) && index + 1 < bytes.length) {
      length = bytes[index + 1];
      start = index + 2;
    } else if (MARSHAL_LONG_TEXT.has(type) && index + 4 < bytes.length) {
      length = bytes[index + 1] | (bytes[index + 2] << 8) | (bytes[index + 3] << 16) | (bytes[index + 4] << 24);
      start = index + 5;
      if (length < 0 || length > 256) start = -1;
    }
    if (start < 0 || length === 0 || start + length > bytes.length) continue;
    if (!isPrintableRun(bytes, start, start + length)) continue;
    add(String.fromCharCode(...bytes.subarray(start, start + length)));
    index = start + length - 1;
  }
  if (names.length > 0) return names;
  let runStart = -1;
  for (let index = 0; index <= bytes.length && names.length < MAX_CODE_NAMES; index += 1) {
    const printable = index < bytes.length && bytes[index] >= 0x21 && bytes[index] <= 0x7e;
    if (printable && runStart < 0) runStart = index;
    if (!printable && runStart >= 0) {
      if (index - runStart >= 3) add(String.fromCharCode(...bytes.subarray(runStart, Math.min(index, runStart + 64))));
      runStart = -1;
    }
  }
  return names;
}

function isPrintableRun(bytes: Uint8Array, start: number, end: number): boolean {
  for (let index = start; index < end; index += 1) if (bytes[index] < 0x20 || bytes[index] > 0x7e) return false;
  return true;
}

/** Parse a config's JSON text; a finding instead of a value when it is not a JSON object. */
export function parseKerasConfigText(text: string, location: FindingLocation, what: string): { config: JsonObject } | { finding: Finding } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { finding: invalidConfig(`${what} is not valid JSON: ${error instanceof Error ? error.message : String(error)}.`, location) };
  }
  if (!isObject(parsed)) {
    return { finding: invalidConfig(`${what} is JSON but not an object (${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : typeof parsed}).`, location) };
  }
  return { config: parsed };
}

function invalidConfig(detail: string, location: FindingLocation): Finding {
  return createFinding('keras.config.invalid', { detail, location });
}
