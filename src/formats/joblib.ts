/**
 * joblib files (`joblib.dump`, what scikit-learn models are saved as): a
 * pickle stream in which every NumPy array is replaced by a
 * `joblib.numpy_pickle.NumpyArrayWrapper` whose BUILD is followed, outside
 * the pickle, by the array's raw bytes (joblib ≥ 1.2 first writes one byte
 * giving a padding length, then that padding). Arrays of Python objects are
 * written instead as a second, complete pickle (protocol 2) at that point,
 * which `joblib.load` reads with `pickle.load` before it goes on.
 * Spec: joblib/numpy_pickle.py (NumpyArrayWrapper.write_array/read_array,
 * NumpyPickler.save, NumpyUnpickler.load_build), https://github.com/joblib/joblib.
 *
 * Threat surface: everything a pickle can do (the policy judges every import
 * and call), plus the raw bytes. Their length is computed from the wrapper's
 * state (shape × item size of a `numpy.dtype`); a scanner that gets it wrong
 * either reads array bytes as opcodes or, worse, skips opcodes the loader
 * runs. So the size is computed only from plain literals and from dtypes
 * whose size does not depend on the platform (`l`, `g` … are refused), with
 * NumPy's own rules for flexible types (their size comes from the dtype's
 * state); when it cannot be computed the scan stops there with a high
 * finding rather than guess. Inline object-array pickles are scanned as
 * pickles of their own (a second machine over a bounded look-ahead), and
 * the outer stream resumes after their STOP, as joblib does. The raw bytes
 * are also a parser differential: `pickle.load` of the same file reads them
 * as opcodes, so a plain machine reads the stream too, and what it finds to
 * import or call inside those bytes is reported as running for such loaders.
 *
 * Old joblib (< 0.10) `NDArrayWrapper` pickles keep arrays in sibling files:
 * the policy flags the import, and the file names are listed here.
 */
import { HEAD_BYTES, type FormatModule, type InspectContext, type Inspection, type StreamScanner } from './types.ts';
import { looksLikeTextPickle, startsWithProto } from './pickle.ts';
import type { ByteSource } from '../io/byte-source.ts';
import { judgePickleScan } from '../pickle/judge.ts';
import { createPickleMachine, type PickleMachine } from '../pickle/machine.ts';
import type { PickleCall, PickleName, PickleScanResult, PickleValue } from '../pickle/types.ts';
import type { Finding, MetadataValue, TensorInfo, WeightsOnlyVerdict } from '../report/types.ts';
import { createFinding } from '../rules/index.ts';
import { quoteUntrusted } from '../rules/pickle-policy.ts';

/**
 * Bytes held ahead of the pickle machine so that an inline object-array
 * pickle can be measured to its STOP before the outer stream resumes; a
 * longer one is scanned inline with a finding (CWE-400: memory held).
 */
export const JOBLIB_LOOKAHEAD_BYTES = 16 * 1024 * 1024;
/** First look-ahead tried for an inline pickle; each retry is four times longer, so small ones cost little (CWE-400). */
const INLINE_PROBE_BYTES = 4096;
/** Arrays listed as tensors (CWE-770); the rest are counted. */
export const MAX_LISTED_ARRAYS = 100_000;
/** Sibling file names of old NDArrayWrapper pickles listed (CWE-770). */
export const MAX_LISTED_SIBLING_FILES = 1000;
/** Distinct globals listed in the metadata import table (CWE-400). */
const MAX_METADATA_IMPORTS = 100;

/** Module paths joblib's array wrapper has lived under. */
const WRAPPER_MODULES = ['joblib.numpy_pickle', 'sklearn.externals.joblib.numpy_pickle'];
const WRAPPER_CLASS = 'NumpyArrayWrapper';
/** Protocol 0 and 1 create objects with copyreg._reconstructor(cls, object, None), then BUILD them. */
const RECONSTRUCTORS: readonly PickleName[] = [
  { module: 'copyreg', name: '_reconstructor' },
  { module: 'copy_reg', name: '_reconstructor' },
];
const PAUSE_NAMES: readonly PickleName[] = [...WRAPPER_MODULES.map((module) => ({ module, name: WRAPPER_CLASS })), ...RECONSTRUCTORS];
const SIBLING_WRAPPER_CLASSES = new Set(['NDArrayWrapper', 'ZNDArrayWrapper']);

/** Text that only joblib pickles carry near their start. */
const JOBLIB_MARKERS = ['joblib.numpy_pickle', WRAPPER_CLASS, 'NDArrayWrapper'].map((text) => new TextEncoder().encode(text));
/** Names that say joblib when the content is a pickle whose head does not show it (first array far in). */
const JOBLIB_NAME_SUFFIXES = ['.joblib', '.jbl'];

/** True when `head` is a pickle that joblib wrote (or is named as one). */
export function isJoblibPickle(head: Uint8Array, name: string): boolean {
  if (!startsWithProto(head) && !looksLikeTextPickle(head)) return false;
  const window = head.subarray(0, HEAD_BYTES);
  if (JOBLIB_MARKERS.some((marker) => indexOfBytes(window, marker) >= 0)) return true;
  const lower = name.toLowerCase();
  return JOBLIB_NAME_SUFFIXES.some((suffix) => lower.endsWith(suffix));
}

export const joblibFormat: FormatModule = {
  id: 'joblib',
  label: 'joblib pickle',
  // `.pkl` too: joblib files are very often named so, and a pickle under it is not a mismatch.
  extensions: ['.joblib', '.jbl', '.pkl', '.pickle'],
  detect: isJoblibPickle,
  async inspect(source: ByteSource, _context: InspectContext): Promise<Inspection> {
    return { tensors: [], metadata: {}, findings: [], streamScanners: [createJoblibScanner({ offset: 0, length: source.size })] };
  },
};

export interface JoblibRegion {
  offset: number;
  length: number;
  /** Member path for findings' `location.entry`. */
  entry?: string;
  /** Offset reported for the region's first byte (default `offset`). */
  baseOffset?: number;
}

/** How the raw bytes after one wrapper were read. */
interface ArrayRecord {
  /** Index of the call that made the wrapper (dict entries refer to it). */
  creatorIndex: number;
  buildOffset: number;
  dtype: string;
  shape: number[];
  order: string;
  kind: 'raw' | 'object';
  /** Offset and length of the array's bytes (raw data, or the inline pickle). */
  offset: number;
  length: number;
}

type ArrayPlan =
  | { kind: 'raw'; bytes: number; padded: boolean; dtype: string; shape: number[]; order: string }
  | { kind: 'object'; dtype: string; shape: number[]; order: string }
  | { kind: 'unknown'; reason: string };

/**
 * The StreamScanner for a joblib stream: the pickle machine, paused after
 * each wrapper's BUILD to skip the raw bytes, fed through a look-ahead
 * buffer of JOBLIB_LOOKAHEAD_BYTES so inline pickles can be measured.
 */
export function createJoblibScanner(region: JoblibRegion): StreamScanner {
  const baseOffset = region.baseOffset ?? region.offset;
  const streamEnd = baseOffset + region.length;
  const lookahead = createLookahead(baseOffset);
  const arrays: ArrayRecord[] = [];
  const inlineScans: PickleScanResult[] = [];
  const findings: Finding[] = [];
  /** Where joblib reads bytes that are not opcodes to it (padding byte, padding, raw data), as [start, end), in stream order. */
  const rawRegions: [number, number][] = [];
  let arrayCount = 0;
  let rawBytes = 0;
  /** Set when the scan stops at an array of unknown size: the machine skips the rest. */
  let stoppedAfter: number | null = null;
  let finished = false;
  const location = (offset: number) => (region.entry !== undefined ? { entry: region.entry, offset } : { offset });

  const onBuildPause = (build: PickleCall, calls: readonly PickleCall[]) => {
    if (build.opcodeName !== 'BUILD' || stoppedAfter !== null) return null;
    const creator = wrapperCreator(build, calls);
    if (!creator) return null;
    arrayCount += 1;
    const plan = planArray(build, calls);
    const dataStart = build.offset + 1;
    if (plan.kind === 'unknown') {
      stoppedAfter = build.offset;
      addRegion(rawRegions, dataStart, streamEnd);
      findings.push(
        createFinding('joblib.array.size-unknown', {
          detail: `The NumpyArrayWrapper built at offset ${build.offset}: ${plan.reason}. The ${streamEnd - dataStart} bytes after it were not scanned.`,
          location: location(build.offset),
        }),
      );
      return { bytes: streamEnd - dataStart };
    }
    if (plan.kind === 'raw') {
      const padding = plan.padded ? lookahead.byteAt(dataStart) : 0;
      const offset = dataStart + (plan.padded ? 1 + (padding ?? 0) : 0);
      rawBytes += plan.bytes;
      addRegion(rawRegions, dataStart, offset + plan.bytes);
      record(arrays, { creatorIndex: creator.index, buildOffset: build.offset, dtype: plan.dtype, shape: plan.shape, order: plan.order, kind: 'raw', offset, length: plan.bytes });
      return { bytes: plan.bytes, paddingPrefix: plan.padded };
    }
    const inline = measureInlinePickle(lookahead, dataStart, streamEnd);
    if (!inline) {
      findings.push(
        createFinding('joblib.object-array.unseparated', {
          detail: `The object array after the NumpyArrayWrapper built at offset ${build.offset} is a pickle that does not end within ${JOBLIB_LOOKAHEAD_BYTES} bytes; it was scanned as part of the outer stream.`,
          location: location(dataStart),
        }),
      );
      return null;
    }
    inlineScans.push(inline.scan);
    record(arrays, { creatorIndex: creator.index, buildOffset: build.offset, dtype: plan.dtype, shape: plan.shape, order: plan.order, kind: 'object', offset: dataStart, length: inline.length });
    return { bytes: inline.length };
  };

  const machine: PickleMachine = createPickleMachine({ baseOffset, pauseAfterBuildOf: PAUSE_NAMES, onBuildPause });
  lookahead.attach(machine);
  // What pickle.load (not joblib.load) makes of the same bytes: raw array bytes are opcodes to it.
  const plainMachine: PickleMachine = createPickleMachine({ baseOffset });

  return {
    offset: region.offset,
    length: region.length,
    push(bytes: Uint8Array): void {
      plainMachine.push(bytes);
      lookahead.push(bytes);
    },
    finish(): Inspection {
      if (finished) throw new Error('joblib scanner: finish called twice');
      finished = true;
      lookahead.flush();
      const scan = withoutErrorsAfter(machine.finish(), stoppedAfter);
      const outer = judgePickleScan(scan, { entry: region.entry, expectedPickles: 1 });
      const inner = inlineScans.map((inlineScan) => judgePickleScan(inlineScan, { entry: region.entry }));
      let weightsOnly: WeightsOnlyVerdict = outer.weightsOnly;
      for (const judged of inner) weightsOnly = earlierRefusal(weightsOnly, judged.weightsOnly);
      const names = arrayNames(scan);
      const tensors: TensorInfo[] = arrays.map((array, index) => ({
        name: names.get(array.creatorIndex) ?? `array[${index}]`,
        dtype: array.dtype,
        shape: array.shape,
        offset: array.offset,
        length: array.length,
      }));
      const siblings = siblingFiles(scan);
      const joblib: Record<string, MetadataValue> = {
        arrays: arrayCount,
        rawArrayBytes: rawBytes,
        objectArrays: arrays.filter((array) => array.kind === 'object').length,
      };
      if (arrayCount > arrays.length) joblib.arraysListed = arrays.length;
      if (siblings.names.length > 0) joblib.siblingFiles = siblings.names;
      if (siblings.total > siblings.names.length) joblib.siblingFilesTotal = siblings.total;
      if (stoppedAfter !== null) joblib.scanStoppedAt = stoppedAfter;
      const judgements = [outer, ...inner];
      return {
        tensors,
        metadata: { [metadataKey('joblib', region.entry)]: joblib, [metadataKey('pickle', region.entry)]: summarise(scan, inlineScans, judgements) },
        findings: [...findings, ...judgements.flatMap((judged) => judged.findings), ...plainLoadFindings(plainMachine.finish(), rawRegions, region.entry)],
        weightsOnly,
      };
    },
  };
}

/**
 * The parser differential of joblib files: `pickle.load` (or anything that is
 * not joblib) reads the bytes joblib treats as raw array data as opcodes,
 * right after the wrapper's BUILD. Imports and calls that the plain reading
 * finds inside those bytes would run for such a loader only; they are
 * reported with that said. Elsewhere both readings agree, so the rest of the
 * plain reading (mostly errors on array bytes) is dropped.
 */
function plainLoadFindings(plain: PickleScanResult, rawRegions: readonly [number, number][], entry: string | undefined): Finding[] {
  if (rawRegions.length === 0) return [];
  const judged = judgePickleScan(plain, { entry }).judgement;
  return judged.findings
    .filter((finding) => finding.rule.startsWith('pickle.') && !finding.rule.startsWith('pickle.weights-only') && insideRegion(rawRegions, finding.location.offset))
    .map((finding) => ({
      ...finding,
      detail: `Only for pickle.load, not joblib.load: these bytes are raw array data to joblib but opcodes to a plain unpickler. ${finding.detail}`,
    }));
}

/** Regions are kept like arrays, up to MAX_LISTED_ARRAYS: a plain unpickler stops at the first array bytes that are no opcode anyway. */
function addRegion(regions: [number, number][], start: number, end: number): void {
  if (regions.length < MAX_LISTED_ARRAYS) regions.push([start, end]);
}

/** Binary search over regions in stream order. */
function insideRegion(regions: readonly [number, number][], offset: number | undefined): boolean {
  if (offset === undefined) return false;
  let low = 0;
  let high = regions.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const [start, end] = regions[middle];
    if (offset < start) high = middle - 1;
    else if (offset >= end) low = middle + 1;
    else return true;
  }
  return false;
}

function record(arrays: ArrayRecord[], array: ArrayRecord): void {
  if (arrays.length < MAX_LISTED_ARRAYS) arrays.push(array);
}

function metadataKey(key: string, entry: string | undefined): string {
  return entry === undefined ? key : `${key} ${entry}`;
}

// ---------------------------------------------------------------------------
// Look-ahead: the machine runs JOBLIB_LOOKAHEAD_BYTES behind the bytes received.
// ---------------------------------------------------------------------------

interface Lookahead {
  attach(machine: PickleMachine): void;
  push(bytes: Uint8Array): void;
  /** The stream ended: everything held goes to the machine. */
  flush(): void;
  /** The byte at reported offset `offset`, when it is held (it always is, within the look-ahead). */
  byteAt(offset: number): number | null;
  /** Held bytes from reported offset `offset`, at most `length`. */
  window(offset: number, length: number): Uint8Array;
}

function createLookahead(baseOffset: number): Lookahead {
  let machine: PickleMachine | null = null;
  let buffer = new Uint8Array(0);
  let start = 0;
  let end = 0;
  /** Reported offset of buffer[start]. */
  let heldFrom = baseOffset;

  function feed(count: number): void {
    // The machine copies what it is given, and onBuildPause reads the buffer while it runs: advance after.
    (machine as PickleMachine).push(buffer.subarray(start, start + count));
    start += count;
    heldFrom += count;
  }

  return {
    attach(target) {
      machine = target;
    },
    push(bytes) {
      if (bytes.length === 0) return;
      if (end + bytes.length > buffer.length) {
        const held = end - start;
        const needed = held + bytes.length;
        if (needed > buffer.length) {
          const grown = new Uint8Array(Math.max(needed, buffer.length * 2, 64 * 1024));
          grown.set(buffer.subarray(start, end));
          buffer = grown;
        } else {
          buffer.copyWithin(0, start, end);
        }
        start = 0;
        end = held;
      }
      buffer.set(bytes, end);
      end += bytes.length;
      const ready = end - start - JOBLIB_LOOKAHEAD_BYTES;
      if (ready > 0) feed(ready);
    },
    flush() {
      if (end > start) feed(end - start);
    },
    byteAt(offset) {
      const index = start + (offset - heldFrom);
      return index >= start && index < end ? buffer[index] : null;
    },
    window(offset, length) {
      const from = start + (offset - heldFrom);
      if (from < start || from >= end) return new Uint8Array(0);
      return buffer.subarray(from, Math.min(end, from + length));
    },
  };
}

/**
 * Scans the inline pickle at `from` (an object array) on a machine of its own,
 * with look-aheads of growing length. Returns its scan and byte length, or
 * null when it does not end within JOBLIB_LOOKAHEAD_BYTES of a stream that
 * goes on. A pickle cut by the end of the stream is returned as it is.
 */
function measureInlinePickle(lookahead: Lookahead, from: number, streamEnd: number): { scan: PickleScanResult; length: number } | null {
  const limit = Math.min(JOBLIB_LOOKAHEAD_BYTES, streamEnd - from);
  for (let probe = Math.min(INLINE_PROBE_BYTES, limit); ; probe = Math.min(probe * 4, limit)) {
    const window = lookahead.window(from, probe);
    const machine = createPickleMachine({ baseOffset: from, maxPickles: 1 });
    machine.push(window);
    const scan = machine.finish();
    const stop = scan.pickles[0]?.stopOffset ?? null;
    if (stop !== null) return { scan, length: stop + 1 - from };
    const reachesEnd = from + window.length >= streamEnd;
    if (reachesEnd) return { scan, length: window.length };
    if (probe >= limit || window.length < probe) return null;
  }
}

// ---------------------------------------------------------------------------
// From a wrapper's state to the size of its raw bytes
// ---------------------------------------------------------------------------

/** The call that made the BUILD's target, when it is a NumpyArrayWrapper. */
function wrapperCreator(build: PickleCall, calls: readonly PickleCall[]): PickleCall | null {
  if (build.callee.kind !== 'call') return null;
  const creator = callAt(calls, build.callee.callIndex);
  if (!creator?.callable) return null;
  if (isWrapperClass(creator.callable)) return creator;
  const reconstructs = RECONSTRUCTORS.some((name) => name.module === creator.callable?.module && name.name === creator.callable.name);
  const cls = creator.args?.[0];
  return reconstructs && cls?.kind === 'global' && cls.resolved && isWrapperClass(cls) ? creator : null;
}

function isWrapperClass(name: PickleName): boolean {
  return name.name === WRAPPER_CLASS && WRAPPER_MODULES.includes(name.module);
}

/** Calls are listed in order from index 0, so the index is usually the position; searched otherwise. */
function callAt(calls: readonly PickleCall[], index: number): PickleCall | undefined {
  const direct = calls[index];
  return direct?.index === index ? direct : calls.find((call) => call.index === index);
}

/** The last value set for `key` in a dict value (later keys win, as in Python). */
function dictValue(state: PickleValue, key: string): PickleValue | undefined {
  if (state.kind !== 'dict') return undefined;
  let found: PickleValue | undefined;
  for (const [entryKey, value] of state.entries) {
    if (entryKey.kind === 'string' && entryKey.kept && !entryKey.truncated && entryKey.value === key) found = value;
  }
  return found;
}

/** What joblib.load reads after this wrapper, from its state `{shape, dtype, order, numpy_array_alignment_bytes, …}`. */
export function planArray(build: PickleCall, calls: readonly PickleCall[]): ArrayPlan {
  const state = build.args?.[0];
  if (!state || state.kind !== 'dict') return { kind: 'unknown', reason: 'its state is not a dict' };
  if (!state.complete) return { kind: 'unknown', reason: 'its state dict was not kept whole by the scanner' };
  const shapeValue = dictValue(state, 'shape');
  const dtypeValue = dictValue(state, 'dtype');
  if (!shapeValue || !dtypeValue) return { kind: 'unknown', reason: 'its state has no shape or no dtype' };
  const shape = readShape(shapeValue);
  if (typeof shape === 'string') return { kind: 'unknown', reason: shape };
  const dtype = readDtype(dtypeValue, calls);
  if (typeof dtype === 'string') return { kind: 'unknown', reason: dtype };
  const orderValue = dictValue(state, 'order');
  const order = orderValue?.kind === 'string' && orderValue.kept ? orderValue.value : 'C';
  if (dtype.hasObject) return { kind: 'object', dtype: dtype.str, shape, order };
  const count = shape.reduce((product, dimension) => product * dimension, 1);
  const bytes = count * dtype.itemSize;
  if (!Number.isSafeInteger(bytes)) return { kind: 'unknown', reason: `shape ${shape.join('×')} of ${dtype.itemSize}-byte items is more than 2^53 bytes` };
  // joblib ≥ 1.2 writes the padding byte when the state names an alignment that is not None.
  const alignment = dictValue(state, 'numpy_array_alignment_bytes');
  const padded = alignment !== undefined && alignment.kind !== 'none';
  return { kind: 'raw', bytes, padded, dtype: dtype.str, shape, order };
}

function readShape(value: PickleValue): number[] | string {
  if (value.kind !== 'tuple' || !value.complete || value.items.length !== value.length) return 'its shape is not a tuple the scanner kept whole';
  const shape: number[] = [];
  for (const item of value.items) {
    if (item.kind !== 'int' || !item.exact || item.value === null) return 'its shape holds a value that is not an exact integer';
    if (item.value < 0) return `its shape has a negative dimension ${item.value}`;
    shape.push(item.value);
  }
  if (!Number.isSafeInteger(shape.reduce((product, dimension) => product * dimension, 1))) return `its shape ${shape.join('×')} has more than 2^53 elements`;
  return shape;
}

interface JoblibDtype {
  /** NumPy's `dtype.str`, e.g. `<f8`, `|b1`, `<U3`, `|O`. */
  str: string;
  itemSize: number;
  hasObject: boolean;
}

/** Kinds whose size the type string fixes, with the sizes that exist on every platform NumPy supports. */
const FIXED_KINDS: Readonly<Record<string, readonly number[]>> = {
  b: [1],
  i: [1, 2, 4, 8],
  u: [1, 2, 4, 8],
  f: [2, 4, 8],
  c: [8, 16],
  M: [8],
  m: [8],
  O: [8],
};
/** Flexible kinds: NumPy takes their size from the dtype's pickled state, not from the type string. */
const FLEXIBLE_KINDS = new Set(['S', 'U', 'V']);
/** The type strings NumPy's `dtype.__reduce__` writes: a kind and a size, optionally a byte order. */
const TYPE_STRING = /^([<>|=]?)([A-Za-z])(\d{1,10})$/;
/** NPY_ITEM_HASOBJECT in a dtype's flags: for void (structured) dtypes NumPy takes it from the pickled state. */
const ITEM_HAS_OBJECT = 0x01;

/**
 * The dtype a `numpy.dtype(typestr, …)` call builds, followed by the BUILD
 * that sets its state `(version, byteorder, subdtype, names, fields, elsize,
 * alignment, flags[, metadata])`. Returns a reason when it cannot be trusted.
 */
function readDtype(value: PickleValue, calls: readonly PickleCall[]): JoblibDtype | string {
  if (value.kind !== 'call') return 'its dtype is not made by a numpy.dtype call';
  const call = callAt(calls, value.callIndex);
  if (!call?.callable || call.callable.module !== 'numpy' || call.callable.name !== 'dtype' || call.opcodeName === 'BUILD') {
    return 'its dtype is not made by a numpy.dtype call';
  }
  const text = call.args?.[0];
  if (!text || text.kind !== 'string' || !text.kept || text.truncated) return 'its dtype is not given by a type string';
  const match = TYPE_STRING.exec(text.value);
  if (!match) return `its dtype ${quoteUntrusted(text.value, 40)} is not a sized NumPy type string (its size may depend on the platform)`;
  const [, prefixOrder, kind, digits] = match;
  const declared = Number(digits);
  const setState = calls.find((candidate) => candidate.opcodeName === 'BUILD' && candidate.callee.kind === 'call' && candidate.callee.callIndex === call.index);
  const stateItems = setState?.args?.[0]?.kind === 'tuple' && setState.args[0].complete ? setState.args[0].items : null;
  const stateOrder = stateItems?.[1]?.kind === 'string' ? stateItems[1].value : null;
  const order = stateOrder ?? prefixOrder;
  let itemSize: number;
  let hasObject = kind === 'O';
  if (FIXED_KINDS[kind]) {
    if (!FIXED_KINDS[kind].includes(declared)) return `its dtype ${quoteUntrusted(text.value, 40)} has a size that depends on the platform or does not exist`;
    itemSize = declared;
  } else if (FLEXIBLE_KINDS.has(kind)) {
    itemSize = kind === 'U' ? declared * 4 : declared;
    if (setState) {
      const elementSize = stateItems?.[5];
      if (!stateItems || stateItems.length < 8 || elementSize?.kind !== 'int' || !elementSize.exact || elementSize.value === null) {
        return `the state of its dtype ${quoteUntrusted(text.value, 40)} does not give a plain item size`;
      }
      itemSize = elementSize.value;
      if (kind === 'V') {
        const flags = stateItems[7];
        if (flags?.kind !== 'int' || !flags.exact || flags.value === null) return `the state of its dtype ${quoteUntrusted(text.value, 40)} does not give plain flags`;
        hasObject = (flags.value & ITEM_HAS_OBJECT) !== 0;
      }
    }
  } else {
    return `its dtype ${quoteUntrusted(text.value, 40)} has an unknown kind`;
  }
  // joblib divides by the item size before reading: a zero or negative size makes the load fail there.
  if (!hasObject && itemSize <= 0) return `its dtype ${quoteUntrusted(text.value, 40)} has an item size of ${itemSize}`;
  return { str: dtypeString(kind, order, itemSize), itemSize, hasObject };
}

/** NumPy's `dtype.str` for what was read: `|` for byte-order-free kinds and single bytes, `=` shown as little-endian. */
function dtypeString(kind: string, order: string, itemSize: number): string {
  if (kind === 'O') return '|O';
  const orderless = kind === 'b' || kind === 'S' || kind === 'V' || itemSize === 1;
  const shown = orderless ? '|' : order === '>' ? '>' : '<';
  return `${shown}${kind}${kind === 'U' ? itemSize / 4 : itemSize}`;
}

// ---------------------------------------------------------------------------
// Naming and summaries
// ---------------------------------------------------------------------------

/** Dict keys holding a wrapper, by the index of the call that made it: `{'coef_': array}` names that array. */
function arrayNames(scan: PickleScanResult): Map<number, string> {
  const names = new Map<number, string>();
  for (const entry of scan.dictEntries) {
    if (entry.value.kind === 'call' && !names.has(entry.value.index)) names.set(entry.value.index, entry.key);
  }
  return names;
}

/** File names of old NDArrayWrapper / ZNDArrayWrapper arrays (their state's `filename`). */
function siblingFiles(scan: PickleScanResult): { names: string[]; total: number } {
  const names: string[] = [];
  let total = 0;
  for (const call of scan.calls) {
    if (call.opcodeName !== 'BUILD' || !call.callable || !SIBLING_WRAPPER_CLASSES.has(call.callable.name) || !call.callable.module.includes('joblib')) continue;
    const filename = dictValue(call.args?.[0] ?? { kind: 'none' }, 'filename');
    if (filename?.kind !== 'string' || !filename.kept) continue;
    total += 1;
    if (names.length < MAX_LISTED_SIBLING_FILES) names.push(filename.value);
  }
  return { names, total };
}

/** Drops what the machine reported past a stop (the skipped rest of the stream ends without STOP). */
function withoutErrorsAfter(scan: PickleScanResult, stoppedAfter: number | null): PickleScanResult {
  if (stoppedAfter === null) return scan;
  return { ...scan, errors: scan.errors.filter((error) => error.offset <= stoppedAfter), unscanned: null };
}

/** The first refusal in stream order wins; accepted only when both accept. */
function earlierRefusal(first: WeightsOnlyVerdict, second: WeightsOnlyVerdict): WeightsOnlyVerdict {
  if (first.accepted) return second;
  if (second.accepted) return first;
  return (second.firstRefused?.offset ?? Infinity) < (first.firstRefused?.offset ?? Infinity) ? second : first;
}

function summarise(scan: PickleScanResult, inline: readonly PickleScanResult[], judgements: readonly ReturnType<typeof judgePickleScan>[]): MetadataValue {
  const counts = new Map<string, { global: string; class: string; count: number; offset: number }>();
  for (const { judgement } of judgements) {
    for (const global of judgement.globals) {
      const name = global.name === '' ? global.module : `${global.module}.${global.name}`;
      const seen = counts.get(name);
      if (seen) {
        seen.count += global.count;
        seen.offset = Math.min(seen.offset, global.firstOffset);
      } else {
        counts.set(name, { global: name, class: global.verdict, count: global.count, offset: global.firstOffset });
      }
    }
  }
  const imports = [...counts.values()].sort((a, b) => a.offset - b.offset);
  const summary: Record<string, MetadataValue> = {
    pickles: scan.pickles.length,
    inlinePickles: inline.length,
    protocols: [...new Set([scan, ...inline].flatMap((result) => result.protocols.map((protocol) => protocol.version)))],
    opcodes: [scan, ...inline].reduce((total, result) => total + result.opcodeCount, 0),
    imports: imports.slice(0, MAX_METADATA_IMPORTS),
  };
  if (imports.length > MAX_METADATA_IMPORTS) {
    summary.importsListed = MAX_METADATA_IMPORTS;
    summary.importsTotal = imports.length;
  }
  return summary;
}

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  const first = needle[0];
  const last = haystack.length - needle.length;
  for (let index = haystack.indexOf(first); index >= 0 && index <= last; index = haystack.indexOf(first, index + 1)) {
    let match = true;
    for (let offset = 1; offset < needle.length; offset++) {
      if (haystack[index + offset] !== needle[offset]) {
        match = false;
        break;
      }
    }
    if (match) return index;
  }
  return -1;
}
