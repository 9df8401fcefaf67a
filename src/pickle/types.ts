/**
 * What the pickle machine reports, as plain serialisable data. Offsets are
 * absolute (the machine's `baseOffset` added), lengths are byte counts in
 * the stream. Every list is in stream order. Nothing here says whether a
 * global is dangerous: that is policy (src/rules), applied to this output.
 */

/** A global as CPython's `find_class(module, name)` receives it. */
export interface PickleName {
  module: string;
  name: string;
}

/** Fields shared by everything tied to one opcode. */
export interface PickleEventBase {
  /** Opcode byte, e.g. 0x93, and its pickletools name, e.g. `STACK_GLOBAL`. */
  opcode: number;
  opcodeName: string;
  /** Absolute offset of the opcode. */
  offset: number;
  /** Which pickle of the stream (0 for the first; several follow each other in legacy torch files). */
  pickleIndex: number;
  /**
   * An earlier error means CPython would have raised before reaching this
   * opcode. Still reported: a loader that tolerates that error, or a scanner
   * that disagrees with CPython by one opcode, would run it.
   */
  afterError: boolean;
  /** A machine limit (MARK depth, memory) made the symbolic state approximate before this. */
  degraded: boolean;
}

/**
 * An import: GLOBAL, INST, STACK_GLOBAL or EXT1/EXT2/EXT4. When `resolved`
 * is false the machine could not name it (operands that are not literal
 * strings, a copyreg extension code, a stack underflow): treat it as an
 * import of anything. `module`/`name` then hold what is known ('' for an
 * unknown part).
 */
export interface PickleImport extends PickleEventBase {
  /** Ordinal of this import in the stream; values of kind `global` refer to it. */
  index: number;
  module: string;
  name: string;
  resolved: boolean;
  /** Why it is not resolved, in plain words (absent when resolved). */
  unresolvedReason?: string;
  /** EXT1/EXT2/EXT4: the copyreg extension code. */
  extensionCode?: number;
  /** Module or name was longer than the machine keeps (MAX_KEPT_STRING_BYTES); the text is a prefix. */
  truncated: boolean;
  /**
   * Protocol in effect (last PROTO of this pickle, 0 without one). CPython
   * maps Python 2 names (`__builtin__` → `builtins`, `copy_reg` → `copyreg`, …,
   * Lib/_compat_pickle.py) when this is below 3 and `fix_imports` is on.
   */
  protocol: number;
}

/** A symbolic value as the machine tracks it (call arguments, persistent ids, STOP results). */
export type PickleValue =
  | { kind: 'string'; value: string; offset: number; length: number; truncated: boolean; kept: boolean }
  | { kind: 'bytes' | 'bytearray'; offset: number; length: number }
  | { kind: 'int'; value: number | null; exact: boolean }
  | { kind: 'float'; value: number | null }
  | { kind: 'bool'; value: boolean }
  | { kind: 'none' }
  | { kind: 'tuple'; length: number; items: PickleValue[]; complete: boolean }
  | { kind: 'list' | 'set' | 'frozenset'; index: number }
  /**
   * A dict built in the pickle (EMPTY_DICT/DICT + SETITEM(S)): `length` pairs
   * set so far, the first MAX_KEPT_DICT_PAIRS of them in `entries` (key, value).
   * `complete` is false when some were not kept, were cut from the record, or
   * the dict came back from the memo (memoised before its items were set).
   */
  | { kind: 'dict'; index: number; length: number; entries: [PickleValue, PickleValue][]; complete: boolean }
  | { kind: 'global'; importIndex: number; module: string; name: string; resolved: boolean }
  | { kind: 'call'; callIndex: number; callable: PickleName | null }
  | { kind: 'persistent'; persistentIndex: number }
  | { kind: 'extension'; code: number; importIndex: number }
  | { kind: 'buffer'; index: number }
  | { kind: 'unknown'; reason: PickleUnknownReason };

export type PickleUnknownReason = 'stack-limit' | 'memo-limit' | 'memo-key-text' | 'memo-missing' | 'stack-underflow' | 'other';

/**
 * A call: REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST (callee(*args)); BUILD (the
 * object's `__setstate__(state)` or `__dict__` update); or a state change by
 * APPEND, APPENDS, SETITEM, SETITEMS, ADDITEMS whose target is not a plain
 * literal container (a global itself such as `sys.modules`, or an object
 * made by a call: its `append`/`extend`/`__setitem__`/`add` runs). Reported
 * when the opcode runs, whether or not the result is used later (OBJ then POP).
 */
export interface PickleCall extends PickleEventBase {
  /** Ordinal of this call in the stream; values of kind `call` refer to it. */
  index: number;
  /**
   * The resolved global being called, when the callee is one. For BUILD and
   * state changes: the global itself when the target is one, else the global
   * whose call produced the target object (its class or factory).
   */
  callable: PickleName | null;
  /** REDUCE/NEWOBJ/NEWOBJ_EX/OBJ/INST: what is called; BUILD and state changes: the target object. */
  callee: PickleValue;
  /**
   * Positional arguments when they are a tuple the machine kept (REDUCE,
   * NEWOBJ, NEWOBJ_EX, OBJ, INST), `[state]` for BUILD, the added items for
   * state changes (SETITEM(S): key, value, key, value …), null otherwise (then
   * see `argsValue`). Long tuples are cut (`argsValue.complete` false).
   */
  args: PickleValue[] | null;
  /** The arguments operand as it was on the stack. */
  argsValue: PickleValue;
  /** NEWOBJ_EX keyword arguments. */
  kwargs: PickleValue | null;
}

/** PERSID (text id) or BINPERSID (any value; torch writes `('storage', StorageType, key, location, numel)`). */
export interface PicklePersistentId extends PickleEventBase {
  index: number;
  id: PickleValue;
}

/** SETITEM(S) with a string key and a call/persistent/dict/list value: lets a report name tensors in state dicts. */
export interface PickleDictEntry {
  offset: number;
  pickleIndex: number;
  /** The dict being filled: an EMPTY_DICT/DICT (`dict`, its container index) or a call result such as OrderedDict(). */
  container: { kind: 'dict' | 'call'; index: number };
  key: string;
  keyOffset: number;
  keyTruncated: boolean;
  value: { kind: 'call' | 'persistent' | 'dict' | 'list'; index: number };
}

export type PickleFrameProblem = 'straddled' | 'nested' | 'truncated' | 'stop-inside';

/** A FRAME (protocol 4+) and where the bytes that followed disagreed with CPython's framing. */
export interface PickleFrame {
  offset: number;
  /** Declared length. */
  length: number;
  /** Offset of the first framed byte. */
  contentOffset: number;
  pickleIndex: number;
  problems: PickleFrameProblem[];
}

export interface PickleProtocol {
  version: number;
  offset: number;
  pickleIndex: number;
}

/** One pickle of the stream. */
export interface PickleSummary {
  index: number;
  offset: number;
  /** Offset of its STOP; null when the stream ended (or the scan halted) before it. */
  stopOffset: number | null;
  /** What `pickle.load` would return, as far as the machine knows; null without STOP. */
  result: PickleValue | null;
}

export type PickleErrorCode =
  | 'unknown-opcode'
  | 'truncated'
  | 'unsupported-protocol'
  | 'stack-underflow'
  | 'mark-missing'
  | 'memo-missing'
  | 'negative-length'
  | 'length-overflow'
  | 'empty-line'
  | 'bad-text'
  | 'string-not-quoted'
  | 'stack-global-type'
  | 'extension-code'
  | 'empty-stream'
  | 'frame-truncated';

/** A malformation where CPython raises. */
export interface PickleError {
  code: PickleErrorCode;
  offset: number;
  pickleIndex: number;
  /** Opcode being read, when there was one. */
  opcode: number | null;
  message: string;
  /** The bytes after this point could not be read as opcodes: the scan stopped here. */
  halted: boolean;
}

export type PickleLimitCode =
  | 'stack'
  | 'marks'
  | 'memo'
  | 'heap'
  | 'dict-entries'
  | 'record-strings'
  | 'memory'
  | 'dict-heap'
  | 'listed-imports'
  | 'listed-calls'
  | 'listed-persistent-ids'
  | 'listed-dict-entries'
  | 'listed-frames'
  | 'listed-errors'
  | 'listed-pickles';

/** A limit of the machine or of this report was reached: what follows may be approximate or omitted. */
export interface PickleLimit {
  code: PickleLimitCode;
  offset: number;
  pickleIndex: number;
  observed: number;
  limit: number;
  message: string;
}

/** Bytes at the end of the stream that were not read as pickle opcodes. */
export interface PickleUnscanned {
  offset: number;
  length: number;
  /**
   * `trailing-data`: after a complete pickle, bytes that do not form one (they
   * start with no opcode, or fail without naming anything); `max-pickles`:
   * the caller's `maxPickles` was reached; `error`: a halting error.
   */
  reason: 'trailing-data' | 'max-pickles' | 'error';
  /** For `trailing-data`: why those bytes are not a pickle. */
  detail?: string;
}

/** Where an opcode first occurs (for questions like "does this use only weights_only opcodes?"). */
export interface PickleOpcodeSeen {
  opcode: number;
  opcodeName: string;
  offset: number;
}

export interface PickleScanResult {
  /** Bytes pushed (read or skipped). */
  bytesScanned: number;
  opcodeCount: number;
  /** Each distinct opcode byte read, with its first offset, in stream order (unknown bytes included). */
  opcodeFirstSeen: PickleOpcodeSeen[];
  /** Pickles that reached STOP. */
  pickleCount: number;
  pickles: PickleSummary[];
  protocols: PickleProtocol[];
  imports: PickleImport[];
  calls: PickleCall[];
  persistentIds: PicklePersistentId[];
  dictEntries: PickleDictEntry[];
  frames: PickleFrame[];
  /** Every FRAME seen, listed or not. */
  frameCount: number;
  errors: PickleError[];
  limits: PickleLimit[];
  unscanned: PickleUnscanned | null;
}
