/**
 * Turns the machine's numeric records into the plain data of types.ts. The
 * records are read once, right after each machine call, while their strings
 * are still in the record string area; everything kept afterwards is a copy.
 * The lists are capped (a hostile stream can name millions of things); a cap
 * reached becomes a `listed-*` limit and the counting goes on.
 */
import * as shared from '../../wasm/assembly/shared.ts';
import { opcodeName } from './opcodes.ts';
import { decodePickleText } from './text.ts';
import type {
  PickleCall,
  PickleDictEntry,
  PickleError,
  PickleErrorCode,
  PickleEventBase,
  PickleFrame,
  PickleFrameProblem,
  PickleImport,
  PickleLimit,
  PickleLimitCode,
  PickleName,
  PicklePersistentId,
  PickleProtocol,
  PickleSummary,
  PickleUnknownReason,
  PickleValue,
} from './types.ts';

// Plain local copies: module namespace reads are getters once transpiled, and these are read per record.
const {
  ERR_BAD_TEXT,
  ERR_EMPTY_LINE,
  ERR_EMPTY_STREAM,
  ERR_EXTENSION_CODE,
  ERR_FRAME_TRUNCATED,
  ERR_LENGTH_OVERFLOW,
  ERR_MARK_MISSING,
  ERR_MEMO_MISSING,
  ERR_NEGATIVE_LENGTH,
  ERR_STACK_GLOBAL_TYPE,
  ERR_STACK_UNDERFLOW,
  ERR_STRING_NOT_QUOTED,
  ERR_TRUNCATED,
  ERR_UNKNOWN_OPCODE,
  ERR_UNSUPPORTED_PROTOCOL,
  FRAME_NESTED,
  FRAME_STOP_INSIDE,
  FRAME_STRADDLED,
  FRAME_TRUNCATED,
  F_A,
  F_B,
  F_C,
  F_D,
  F_E,
  F_F,
  F_FLAGS,
  F_G,
  F_H,
  F_I,
  F_J,
  F_KIND,
  F_OFFSET,
  F_OPCODE,
  F_PICKLE,
  HALT_TRAILING,
  IMPORT_MODULE_NOT_KEPT,
  IMPORT_MODULE_TRUNCATED,
  IMPORT_NAME_NOT_KEPT,
  IMPORT_NAME_TRUNCATED,
  LIMIT_DICT_ENTRIES,
  LIMIT_DICT_HEAP,
  LIMIT_HEAP,
  LIMIT_MARKS,
  LIMIT_MEMO,
  LIMIT_MEMORY,
  LIMIT_RECORD_STRINGS,
  LIMIT_STACK,
  OP_BUILD,
  OP_EXT1,
  OP_EXT2,
  OP_EXT4,
  OP_NEWOBJ_EX,
  RECORD_FIELDS,
  RF_AFTER_ERROR,
  RF_DEGRADED,
  RK_CALL,
  RK_DICT_ENTRY,
  RK_ERROR,
  RK_FRAME,
  RK_HALT,
  RK_IMPORT,
  RK_LIMIT,
  RK_PERSID,
  RK_PICKLE_START,
  RK_PROTO,
  RK_STOP,
  RK_TRAILING,
  RK_VALUE,
  SF_TRUNCATED,
  UNKNOWN_MEMO_KEY_TEXT,
  UNKNOWN_MEMO_LIMIT,
  UNKNOWN_MEMO_MISSING,
  UNKNOWN_STACK_LIMIT,
  UNKNOWN_UNDERFLOW,
  VF_CHILDREN_CUT,
  VF_INEXACT,
  VF_NOT_KEPT,
  VF_TRUNCATED,
  VF_UNRESOLVED,
  VK_BOOL,
  VK_BUFFER,
  VK_BYTEARRAY,
  VK_BYTES,
  VK_CALL,
  VK_DICT,
  VK_EMPTY,
  VK_EXTENSION,
  VK_FLOAT,
  VK_FROZENSET,
  VK_GLOBAL,
  VK_INT,
  VK_LIST,
  VK_NONE,
  VK_PERSISTENT,
  VK_SET,
  VK_STRING,
  VK_TUPLE,
  VK_UNKNOWN,
} = shared;

/** Most entries kept per list of the result (CWE-770); beyond, counted and reported as a limit. */
export const MAX_LISTED_IMPORTS = 100_000;
export const MAX_LISTED_CALLS = 100_000;
export const MAX_LISTED_PERSISTENT_IDS = 200_000;
export const MAX_LISTED_DICT_ENTRIES = 200_000;
export const MAX_LISTED_FRAMES = 10_000;
export const MAX_LISTED_ERRORS = 1_000;
export const MAX_LISTED_PICKLES = 10_000;
/** Values (call arguments, persistent ids, STOP results) materialised in one result; beyond, calls and ids are counted only (CWE-770). */
export const MAX_LISTED_VALUES = 1_000_000;
/** Distinct (module, name) pairs still listed after MAX_LISTED_IMPORTS, so no new global is ever dropped silently. */
export const MAX_DISTINCT_EXTRA_IMPORTS = 10_000;

const FIELDS = RECORD_FIELDS;

const ERROR_CODES: Record<number, PickleErrorCode> = {
  [ERR_UNKNOWN_OPCODE]: 'unknown-opcode',
  [ERR_TRUNCATED]: 'truncated',
  [ERR_UNSUPPORTED_PROTOCOL]: 'unsupported-protocol',
  [ERR_STACK_UNDERFLOW]: 'stack-underflow',
  [ERR_MARK_MISSING]: 'mark-missing',
  [ERR_MEMO_MISSING]: 'memo-missing',
  [ERR_NEGATIVE_LENGTH]: 'negative-length',
  [ERR_LENGTH_OVERFLOW]: 'length-overflow',
  [ERR_EMPTY_LINE]: 'empty-line',
  [ERR_BAD_TEXT]: 'bad-text',
  [ERR_STRING_NOT_QUOTED]: 'string-not-quoted',
  [ERR_STACK_GLOBAL_TYPE]: 'stack-global-type',
  [ERR_EXTENSION_CODE]: 'extension-code',
  [ERR_EMPTY_STREAM]: 'empty-stream',
  [ERR_FRAME_TRUNCATED]: 'frame-truncated',
};

const LIMIT_CODES: Record<number, PickleLimitCode> = {
  [LIMIT_STACK]: 'stack',
  [LIMIT_MARKS]: 'marks',
  [LIMIT_MEMO]: 'memo',
  [LIMIT_HEAP]: 'heap',
  [LIMIT_DICT_ENTRIES]: 'dict-entries',
  [LIMIT_RECORD_STRINGS]: 'record-strings',
  [LIMIT_MEMORY]: 'memory',
  [LIMIT_DICT_HEAP]: 'dict-heap',
};

const LIMIT_MESSAGES: Record<PickleLimitCode, string> = {
  stack: 'more stack items than the machine keeps; deeper items are counted but their values are unknown',
  marks: 'MARKs nested deeper than the machine tracks; the symbolic stack is approximate from here',
  memo: 'a memo key beyond the keys the machine tracks; values stored there are unknown',
  heap: 'more string and tuple bytes than the machine keeps for one pickle; later strings are not kept, so imports built from them are unresolved',
  'dict-entries': 'more dict entries in one SETITEMS than the machine records',
  'record-strings': 'records or strings were dropped because the result buffer was full',
  memory: 'the engine refused more memory; the symbolic state is approximate from here',
  'dict-heap': 'more dict contents than the machine keeps for one pickle; later dicts are reported without their items',
  'listed-imports': 'more imports than the report lists; repeated ones are counted, new names still listed',
  'listed-calls': 'more calls (or call argument values) than the report lists',
  'listed-persistent-ids': 'more persistent ids (or id values) than the report lists',
  'listed-dict-entries': 'more dict entries than the report lists',
  'listed-frames': 'more frames than the report lists (frames with problems are listed first)',
  'listed-errors': 'more errors than the report lists',
  'listed-pickles': 'more pickles than the report lists',
};

const VALUE_KIND_NAMES: Record<number, string> = {
  [VK_EMPTY]: 'nothing (stack underflow)',
  [VK_UNKNOWN]: 'an unknown value',
  [VK_NONE]: 'None',
  [VK_BOOL]: 'a bool',
  [VK_INT]: 'an int',
  [VK_FLOAT]: 'a float',
  [VK_STRING]: 'a string',
  [VK_BYTES]: 'bytes',
  [VK_BYTEARRAY]: 'a bytearray',
  [VK_TUPLE]: 'a tuple',
  [VK_LIST]: 'a list',
  [VK_DICT]: 'a dict',
  [VK_SET]: 'a set',
  [VK_FROZENSET]: 'a frozenset',
  [VK_GLOBAL]: 'a global',
  [VK_CALL]: 'a call result',
  [VK_PERSISTENT]: 'a persistent-load result',
  [VK_EXTENSION]: 'a copyreg extension',
  [VK_BUFFER]: 'an out-of-band buffer',
};

const UNKNOWN_REASONS: Record<number, PickleUnknownReason> = {
  [UNKNOWN_STACK_LIMIT]: 'stack-limit',
  [UNKNOWN_MEMO_LIMIT]: 'memo-limit',
  [UNKNOWN_MEMO_KEY_TEXT]: 'memo-key-text',
  [UNKNOWN_MEMO_MISSING]: 'memo-missing',
  [UNKNOWN_UNDERFLOW]: 'stack-underflow',
};

const UNKNOWN_PHRASES: Record<PickleUnknownReason, string> = {
  'stack-limit': 'deeper in the stack than the machine keeps',
  'memo-limit': 'stored under a memo key beyond the keys the machine tracks',
  'memo-key-text': 'fetched with a memo key this machine could not read',
  'memo-missing': 'fetched with a memo key that was never stored',
  'stack-underflow': 'missing (stack underflow)',
  other: 'an unknown value',
};

/** Name of a value kind in plain words (for messages), e.g. `a call result`. */
export function describeValueKind(kind: number): string {
  return VALUE_KIND_NAMES[kind] ?? 'an unknown value';
}

interface RecordView {
  records: Float64Array;
  strings: Uint8Array;
  count: number;
}

/** Everything decoded so far, plus counters for what the caps left out. */
export interface DecodedRecords {
  pickles: PickleSummary[];
  protocols: PickleProtocol[];
  imports: PickleImport[];
  calls: PickleCall[];
  persistentIds: PicklePersistentId[];
  dictEntries: PickleDictEntry[];
  frames: PickleFrame[];
  frameCount: number;
  errors: PickleError[];
  limits: PickleLimit[];
  /** The call decoded last (null when none, or when it was beyond the list caps). */
  lastCall: PickleCall | null;
  /** RK_TRAILING / RK_HALT seen (the machine stopped reading). */
  halt: { reason: number; offset: number; trailingByte: number | null } | null;
  /** Per pickle index: whether it named anything (imports, calls, persistent ids, PROTO). */
  picklesWithContent: Set<number>;
}

export function createRecordDecoder(baseOffset: number) {
  const decoded: DecodedRecords = {
    pickles: [],
    protocols: [],
    imports: [],
    calls: [],
    persistentIds: [],
    dictEntries: [],
    frames: [],
    frameCount: 0,
    errors: [],
    limits: [],
    lastCall: null,
    halt: null,
    picklesWithContent: new Set(),
  };
  const importsByIndex = new Map<number, PickleImport>();
  const listedImportKeys = new Set<string>();
  let extraImports = 0;
  let problemFrames = 0;
  const omitted = new Map<PickleLimitCode, { count: number; offset: number; pickleIndex: number; limit: number }>();

  function omit(code: PickleLimitCode, offset: number, pickleIndex: number, limit: number): void {
    const entry = omitted.get(code);
    if (entry) entry.count++;
    else omitted.set(code, { count: 1, offset, pickleIndex, limit });
  }

  function field(view: RecordView, index: number, name: number): number {
    return view.records[index * FIELDS + name];
  }

  /** Whether the string read last by `text` was cut by the machine. */
  let lastTruncated = false;

  function text(view: RecordView, reference: number): string | null {
    const strings = view.strings;
    lastTruncated = false;
    if (!(reference >= 0) || reference + 8 > strings.length) return null;
    const length = (strings[reference] | (strings[reference + 1] << 8) | (strings[reference + 2] << 16) | (strings[reference + 3] << 24)) >>> 0;
    const start = reference + 8;
    if (start + length > strings.length) return null;
    lastTruncated = (strings[reference + 5] & SF_TRUNCATED) !== 0;
    return decodePickleText(strings, start, length, strings[reference + 4], lastTruncated);
  }

  function eventBase(view: RecordView, index: number): PickleEventBase {
    const opcode = field(view, index, F_OPCODE);
    const flags = field(view, index, F_FLAGS);
    return {
      opcode,
      opcodeName: opcodeName(opcode),
      offset: baseOffset + field(view, index, F_OFFSET),
      pickleIndex: field(view, index, F_PICKLE),
      afterError: (flags & RF_AFTER_ERROR) !== 0,
      degraded: (flags & RF_DEGRADED) !== 0,
    };
  }

  /** Record index after the value read last by `readValue`. */
  let cursor = 0;
  let valuesListed = 0;

  /** Reads one value (and, for a tuple, its children) starting at record `index`; leaves `cursor` after it. */
  function readValue(view: RecordView, index: number): PickleValue {
    cursor = index;
    if (index >= view.count || field(view, index, F_KIND) !== RK_VALUE) return { kind: 'unknown', reason: 'other' };
    valuesListed++;
    const kind = field(view, index, F_B);
    const x = field(view, index, F_C);
    const y = field(view, index, F_D);
    const flags = field(view, index, F_G);
    cursor = index + 1;
    switch (kind) {
      case VK_STRING: {
        const kept = text(view, field(view, index, F_E));
        return {
          kind: 'string',
          value: kept ?? '',
          offset: baseOffset + x,
          length: y,
          truncated: (flags & VF_TRUNCATED) !== 0 || lastTruncated,
          kept: kept !== null,
        };
      }
      case VK_BYTES:
      case VK_BYTEARRAY:
        return { kind: kind === VK_BYTES ? 'bytes' : 'bytearray', offset: baseOffset + x, length: y };
      case VK_INT:
        return { kind: 'int', value: Number.isNaN(x) ? null : x, exact: (flags & VF_INEXACT) === 0 && !Number.isNaN(x) };
      case VK_FLOAT:
        return { kind: 'float', value: Number.isNaN(x) ? null : x };
      case VK_BOOL:
        return { kind: 'bool', value: x !== 0 };
      case VK_NONE:
        return { kind: 'none' };
      case VK_TUPLE: {
        const children = field(view, index, F_H);
        const items: PickleValue[] = [];
        for (let child = 0; child < children && cursor < view.count; child++) items.push(readValue(view, cursor));
        const complete = (flags & (VF_CHILDREN_CUT | VF_NOT_KEPT | VF_TRUNCATED)) === 0 && items.length === y;
        return { kind: 'tuple', length: y, items, complete };
      }
      case VK_LIST:
        return { kind: 'list', index: x };
      case VK_DICT: {
        const children = field(view, index, F_H);
        const items: PickleValue[] = [];
        for (let child = 0; child < children && cursor < view.count; child++) items.push(readValue(view, cursor));
        const entries: [PickleValue, PickleValue][] = [];
        for (let pair = 0; pair + 1 < items.length; pair += 2) entries.push([items[pair], items[pair + 1]]);
        const complete = (flags & (VF_CHILDREN_CUT | VF_NOT_KEPT | VF_TRUNCATED)) === 0 && entries.length === y;
        return { kind: 'dict', index: x, length: y, entries, complete };
      }
      case VK_SET:
        return { kind: 'set', index: x };
      case VK_FROZENSET:
        return { kind: 'frozenset', index: x };
      case VK_GLOBAL: {
        const module = text(view, field(view, index, F_E));
        const name = text(view, field(view, index, F_F));
        const known = importsByIndex.get(x);
        const resolved = (flags & VF_UNRESOLVED) === 0 && (known?.resolved ?? true);
        return { kind: 'global', importIndex: x, module: module ?? known?.module ?? '', name: name ?? known?.name ?? '', resolved };
      }
      case VK_CALL: {
        const module = text(view, field(view, index, F_E));
        const name = text(view, field(view, index, F_F));
        const callable = module !== null && name !== null ? { module, name } : null;
        return { kind: 'call', callIndex: x, callable };
      }
      case VK_PERSISTENT:
        return { kind: 'persistent', persistentIndex: x };
      case VK_EXTENSION:
        return { kind: 'extension', code: x, importIndex: y };
      case VK_BUFFER:
        return { kind: 'buffer', index: x };
      default:
        return { kind: 'unknown', reason: UNKNOWN_REASONS[x] ?? 'other' };
    }
  }

  function importRecord(view: RecordView, index: number): void {
    const opcode = field(view, index, F_OPCODE);
    const flags = field(view, index, F_FLAGS);
    const pickleIndex = field(view, index, F_PICKLE);
    decoded.picklesWithContent.add(pickleIndex);
    const module = text(view, field(view, index, F_A));
    const name = text(view, field(view, index, F_B));
    const importFlags = field(view, index, F_H);
    let unresolvedReason: string | null = null;
    let extensionCode: number | null = null;
    if (opcode === OP_EXT1 || opcode === OP_EXT2 || opcode === OP_EXT4) {
      extensionCode = field(view, index, F_G);
      unresolvedReason = `copyreg extension code ${extensionCode}: the global is whatever the loading process registered under that code`;
    } else {
      const moduleReason = operandProblem('module', field(view, index, F_E), importFlags & IMPORT_MODULE_NOT_KEPT, module !== null, field(view, index, F_I));
      const nameReason = operandProblem('name', field(view, index, F_F), importFlags & IMPORT_NAME_NOT_KEPT, name !== null, field(view, index, F_J));
      if (moduleReason !== null || nameReason !== null) unresolvedReason = moduleReason !== null && nameReason !== null ? `${moduleReason}; ${nameReason}` : (moduleReason ?? nameReason);
    }
    const entry: PickleImport = {
      opcode,
      opcodeName: opcodeName(opcode),
      offset: baseOffset + field(view, index, F_OFFSET),
      pickleIndex,
      afterError: (flags & RF_AFTER_ERROR) !== 0,
      degraded: (flags & RF_DEGRADED) !== 0,
      index: field(view, index, F_C),
      module: module ?? '',
      name: name ?? '',
      resolved: unresolvedReason === null,
      truncated: (importFlags & (IMPORT_MODULE_TRUNCATED | IMPORT_NAME_TRUNCATED)) !== 0,
      protocol: field(view, index, F_D),
    };
    if (unresolvedReason !== null) entry.unresolvedReason = unresolvedReason;
    if (extensionCode !== null) entry.extensionCode = extensionCode;
    listImport(entry);
  }

  function operandProblem(role: string, kind: number, notKept: number, hasText: boolean, ordinal: number): string | null {
    if (kind === VK_STRING && notKept === 0 && hasText) return null;
    if (kind === VK_STRING) return `the ${role} string was not kept (machine heap limit)`;
    if (kind === VK_UNKNOWN) return `the ${role} operand is ${UNKNOWN_PHRASES[UNKNOWN_REASONS[ordinal] ?? 'other']}`;
    const reference = ordinal >= 0 && (kind === VK_CALL || kind === VK_PERSISTENT || kind === VK_GLOBAL) ? ` #${ordinal}` : '';
    return `the ${role} operand is ${describeValueKind(kind)}${reference}, not a literal string`;
  }

  function listImport(entry: PickleImport): void {
    const key = `${entry.resolved}\u0000${entry.module}\u0000${entry.name}`;
    if (decoded.imports.length < MAX_LISTED_IMPORTS) {
      decoded.imports.push(entry);
      importsByIndex.set(entry.index, entry);
      listedImportKeys.add(key);
      return;
    }
    if (!listedImportKeys.has(key) && extraImports < MAX_DISTINCT_EXTRA_IMPORTS) {
      extraImports++;
      listedImportKeys.add(key);
      decoded.imports.push(entry);
      return;
    }
    omit('listed-imports', entry.offset, entry.pickleIndex, MAX_LISTED_IMPORTS);
  }

  /** Record index after the value starting at `index` and its children, without building anything. */
  function skipValue(view: RecordView, index: number): number {
    if (index >= view.count || field(view, index, F_KIND) !== RK_VALUE) return index;
    let next = index + 1;
    const kind = field(view, index, F_B);
    const children = kind === VK_TUPLE || kind === VK_DICT ? field(view, index, F_H) : 0;
    for (let child = 0; child < children; child++) next = skipValue(view, next);
    return next;
  }

  function callRecord(view: RecordView, index: number): number {
    const pickleIndex = field(view, index, F_PICKLE);
    decoded.picklesWithContent.add(pickleIndex);
    const topValues = field(view, index, F_B);
    if (decoded.calls.length >= MAX_LISTED_CALLS || valuesListed >= MAX_LISTED_VALUES) {
      decoded.lastCall = null;
      omit('listed-calls', baseOffset + field(view, index, F_OFFSET), pickleIndex, MAX_LISTED_CALLS);
      let next = index + 1;
      for (let value = 0; value < topValues; value++) next = skipValue(view, next);
      return next;
    }
    const base = eventBase(view, index);
    const module = text(view, field(view, index, F_C));
    const name = text(view, field(view, index, F_D));
    const values: PickleValue[] = [];
    let next = index + 1;
    for (let value = 0; value < topValues && next < view.count; value++) {
      values.push(readValue(view, next));
      next = cursor;
    }
    const callee = values[0] ?? { kind: 'unknown', reason: 'other' };
    const argsValue = values[1] ?? { kind: 'unknown', reason: 'other' };
    let callable: PickleName | null = module !== null && name !== null ? { module, name } : null;
    if (!callable && callee.kind === 'global' && callee.resolved && (callee.module || callee.name)) {
      callable = { module: callee.module, name: callee.name };
    }
    let args: PickleValue[] | null;
    if (base.opcode === OP_BUILD) args = [argsValue];
    else args = argsValue.kind === 'tuple' ? argsValue.items : null;
    const call: PickleCall = {
      opcode: base.opcode,
      opcodeName: base.opcodeName,
      offset: base.offset,
      pickleIndex: base.pickleIndex,
      afterError: base.afterError,
      degraded: base.degraded,
      index: field(view, index, F_A),
      callable,
      callee,
      args,
      argsValue,
      kwargs: base.opcode === OP_NEWOBJ_EX ? (values[2] ?? null) : null,
    };
    decoded.calls.push(call);
    decoded.lastCall = call;
    return next;
  }

  function persistentRecord(view: RecordView, index: number): number {
    const pickleIndex = field(view, index, F_PICKLE);
    decoded.picklesWithContent.add(pickleIndex);
    const hasId = field(view, index, F_B) > 0;
    if (decoded.persistentIds.length >= MAX_LISTED_PERSISTENT_IDS || valuesListed >= MAX_LISTED_VALUES) {
      omit('listed-persistent-ids', baseOffset + field(view, index, F_OFFSET), pickleIndex, MAX_LISTED_PERSISTENT_IDS);
      return hasId ? skipValue(view, index + 1) : index + 1;
    }
    const base = eventBase(view, index);
    const id: PickleValue = hasId ? readValue(view, index + 1) : { kind: 'unknown', reason: 'other' };
    const next = hasId ? cursor : index + 1;
    decoded.persistentIds.push({ ...base, index: field(view, index, F_A), id });
    return next;
  }

  function stopRecord(view: RecordView, index: number): number {
    const offset = baseOffset + field(view, index, F_OFFSET);
    const pickleIndex = field(view, index, F_PICKLE);
    const hasResult = field(view, index, F_A) > 0;
    // A STOP always ends the pickle started last (pickles never interleave); beyond the list cap there is none.
    const summary = decoded.pickles.at(-1);
    if (!summary || summary.index !== pickleIndex) return hasResult ? skipValue(view, index + 1) : index + 1;
    summary.stopOffset = offset;
    summary.result = hasResult ? readValue(view, index + 1) : null;
    return hasResult ? cursor : index + 1;
  }

  function errorRecord(view: RecordView, index: number): void {
    const code = ERROR_CODES[field(view, index, F_A)] ?? 'truncated';
    const opcode = field(view, index, F_OPCODE);
    const offset = baseOffset + field(view, index, F_OFFSET);
    const pickleIndex = field(view, index, F_PICKLE);
    const observed = field(view, index, F_B);
    const other = field(view, index, F_C);
    const halted = code === 'unknown-opcode' || code === 'negative-length' || code === 'length-overflow' || code === 'truncated';
    const error: PickleError = {
      code,
      offset,
      pickleIndex,
      opcode: opcode >= 0 ? opcode : null,
      message: errorMessage(code, opcode, offset, observed, other),
      halted,
    };
    if (decoded.errors.length < MAX_LISTED_ERRORS) decoded.errors.push(error);
    else omit('listed-errors', offset, pickleIndex, MAX_LISTED_ERRORS);
  }

  function limitRecord(view: RecordView, index: number): void {
    const code = LIMIT_CODES[field(view, index, F_A)] ?? 'memory';
    const offset = baseOffset + field(view, index, F_OFFSET);
    const observed = field(view, index, F_B);
    const limit = field(view, index, F_C);
    decoded.limits.push({
      code,
      offset,
      pickleIndex: field(view, index, F_PICKLE),
      observed,
      limit,
      message: `${LIMIT_MESSAGES[code]} (limit ${limit}) at offset ${offset}`,
    });
  }

  function frameRecord(view: RecordView, index: number): void {
    decoded.frameCount++;
    const flags = field(view, index, F_B);
    const problems: PickleFrameProblem[] = [];
    if (flags & FRAME_STRADDLED) problems.push('straddled');
    if (flags & FRAME_NESTED) problems.push('nested');
    if (flags & FRAME_TRUNCATED) problems.push('truncated');
    if (flags & FRAME_STOP_INSIDE) problems.push('stop-inside');
    const frame: PickleFrame = {
      offset: baseOffset + field(view, index, F_OFFSET),
      length: field(view, index, F_A),
      contentOffset: baseOffset + field(view, index, F_C),
      pickleIndex: field(view, index, F_PICKLE),
      problems,
    };
    // Clean frames are listed while there is room; frames with problems have a second allowance of their own.
    if (decoded.frames.length < MAX_LISTED_FRAMES) decoded.frames.push(frame);
    else if (problems.length > 0 && problemFrames < MAX_LISTED_FRAMES) {
      problemFrames++;
      decoded.frames.push(frame);
    } else omit('listed-frames', frame.offset, frame.pickleIndex, MAX_LISTED_FRAMES);
  }

  function dictEntryRecord(view: RecordView, index: number): void {
    if (decoded.dictEntries.length >= MAX_LISTED_DICT_ENTRIES) {
      omit('listed-dict-entries', baseOffset + field(view, index, F_OFFSET), field(view, index, F_PICKLE), MAX_LISTED_DICT_ENTRIES);
      return;
    }
    const key = text(view, field(view, index, F_C));
    if (key === null) return;
    const containerKind = field(view, index, F_A);
    const valueKind = field(view, index, F_E);
    const valueKindName = valueKind === VK_CALL ? 'call' : valueKind === VK_PERSISTENT ? 'persistent' : valueKind === VK_DICT ? 'dict' : 'list';
    const entry: PickleDictEntry = {
      offset: baseOffset + field(view, index, F_OFFSET),
      pickleIndex: field(view, index, F_PICKLE),
      container: { kind: containerKind === VK_CALL ? 'call' : 'dict', index: field(view, index, F_B) },
      key,
      keyOffset: baseOffset + field(view, index, F_D),
      keyTruncated: lastTruncated,
      value: { kind: valueKindName, index: field(view, index, F_F) },
    };
    decoded.dictEntries.push(entry);
  }

  return {
    decoded,

    /** Decodes `count` records (and their strings) from the machine's buffers. */
    consume(records: Float64Array, strings: Uint8Array, count: number): void {
      const view: RecordView = { records, strings, count };
      let index = 0;
      while (index < count) {
        const kind = field(view, index, F_KIND);
        switch (kind) {
          case RK_PICKLE_START: {
            const pickleIndex = field(view, index, F_PICKLE);
            const offset = baseOffset + field(view, index, F_OFFSET);
            if (decoded.pickles.length < MAX_LISTED_PICKLES) decoded.pickles.push({ index: pickleIndex, offset, stopOffset: null, result: null });
            else omit('listed-pickles', offset, pickleIndex, MAX_LISTED_PICKLES);
            index++;
            break;
          }
          case RK_PROTO: {
            const pickleIndex = field(view, index, F_PICKLE);
            decoded.picklesWithContent.add(pickleIndex);
            if (decoded.protocols.length < MAX_LISTED_PICKLES) {
              decoded.protocols.push({ version: field(view, index, F_A), offset: baseOffset + field(view, index, F_OFFSET), pickleIndex });
            }
            index++;
            break;
          }
          case RK_IMPORT:
            importRecord(view, index);
            index++;
            break;
          case RK_CALL:
            index = callRecord(view, index);
            break;
          case RK_PERSID:
            index = persistentRecord(view, index);
            break;
          case RK_STOP:
            index = stopRecord(view, index);
            break;
          case RK_ERROR:
            errorRecord(view, index);
            index++;
            break;
          case RK_LIMIT:
            limitRecord(view, index);
            index++;
            break;
          case RK_FRAME:
            frameRecord(view, index);
            index++;
            break;
          case RK_DICT_ENTRY:
            dictEntryRecord(view, index);
            index++;
            break;
          case RK_TRAILING:
            decoded.halt = { reason: HALT_TRAILING, offset: baseOffset + field(view, index, F_OFFSET), trailingByte: field(view, index, F_A) };
            index++;
            break;
          case RK_HALT:
            if (!decoded.halt) decoded.halt = { reason: field(view, index, F_A), offset: baseOffset + field(view, index, F_OFFSET), trailingByte: null };
            index++;
            break;
          default:
            // A value record without its owner cannot happen; skip it rather than misread the rest.
            index++;
        }
      }
    },

    /** The `listed-*` limits for everything the caps left out. */
    omittedLimits(): PickleLimit[] {
      return [...omitted].map(([code, entry]) => ({
        code,
        offset: entry.offset,
        pickleIndex: entry.pickleIndex,
        observed: entry.limit + entry.count,
        limit: entry.limit,
        message: `${LIMIT_MESSAGES[code]}: ${entry.count} not listed (limit ${entry.limit}), the first at offset ${entry.offset}`,
      }));
    },
  };
}

function errorMessage(code: PickleErrorCode, opcode: number, offset: number, observed: number, other: number): string {
  const name = opcode >= 0 ? opcodeName(opcode) : 'the stream';
  switch (code) {
    case 'unknown-opcode':
      return `unknown opcode 0x${observed.toString(16).padStart(2, '0')} at offset ${offset}`;
    case 'truncated':
      if (other === 1) {
        const missing = observed >= 0 ? ` (${observed} more bytes needed)` : ' (its line never ends)';
        return `the stream ends inside ${name} that starts at offset ${offset}${missing}`;
      }
      return `the stream ends at offset ${offset} before STOP`;
    case 'unsupported-protocol':
      return `protocol ${observed} exceeds the highest protocol CPython reads (${other}) at offset ${offset}`;
    case 'stack-underflow':
      return `${name} needs ${observed} stack item(s) but ${other} are above the mark at offset ${offset}`;
    case 'mark-missing':
      return `${name} needs a MARK but none is open at offset ${offset}`;
    case 'memo-missing':
      return `${name} reads memo key ${observed}, which was never stored, at offset ${offset}`;
    case 'negative-length':
      return `${name} declares a negative length ${observed} at offset ${offset}`;
    case 'length-overflow':
      return `${name} declares length ${observed}, above the maximum ${other}, at offset ${offset}`;
    case 'empty-line':
      return `${name} has an empty ${observed === 0 ? 'module' : 'name'} line at offset ${offset}`;
    case 'bad-text':
      return `${name} module or name is not valid ${observed === 1 ? 'UTF-8' : 'ASCII'} at offset ${offset}`;
    case 'string-not-quoted':
      return `STRING argument of ${observed} bytes is not quoted at offset ${offset}`;
    case 'stack-global-type':
      return `STACK_GLOBAL needs two strings but got ${describeValueKind(observed)} and ${describeValueKind(other)} at offset ${offset}`;
    case 'extension-code':
      return `${name} code ${observed} is not positive at offset ${offset}`;
    case 'empty-stream':
      return `the stream is empty (offset ${offset})`;
    case 'frame-truncated':
      return `FRAME declares ${observed} bytes but only ${other} follow, at offset ${offset}`;
  }
}
