/**
 * The streaming pickle machine: a resumable state machine over the opcodes of
 * pickle protocols 0–5 (CPython Lib/pickletools.py, Modules/_pickle.c) that
 * runs a symbolic stack and memo far enough to name every import and call.
 *
 * Threat surface: the bytes are hostile. Every length, key, count and offset
 * comes from them, so each is checked before use, every limit becomes a
 * status record, and no path from input bytes reaches a trap (no throw, no
 * unreachable, no unchecked address). Large payloads are skipped without
 * copying: `skipWanted` tells TypeScript how many bytes it may jump over.
 *
 * Semantics follow CPython's C unpickler (what `pickle.load` runs):
 * - Opcodes are read back to back; FRAME only announces a length (checked
 *   against the stream) and disagreements with Lib/pickle.py's stricter
 *   framing are flagged on the frame record.
 * - Errors come in two classes. Errors after which the byte stream can no
 *   longer be read (unknown opcode, impossible length, truncation) halt the
 *   machine. Errors where CPython raises but the bytes still parse (stack
 *   underflow, missing MARK or memo key, bad protocol, …) are recorded and
 *   the scan goes on; every later record carries RF_AFTER_ERROR, so the
 *   report can say "CPython would have stopped before this".
 * - After STOP the next byte starts a new pickle with a fresh stack and memo
 *   (legacy torch files are several pickles back to back), up to the end of
 *   the stream or `maxPickles`. A byte after a STOP that is no opcode ends
 *   the scan with a "trailing data" record instead of an error.
 * - Optionally (`setBuildPauses`), the machine pauses after a BUILD on an
 *   object of a listed class so TypeScript can say how many raw bytes follow
 *   (joblib writes array data straight into the pickle stream).
 */
import {
  argScratch,
  inputBase,
  layOut,
  lineScratchA,
  lineScratchB,
  LONG_SCRATCH_BYTES,
  longScratch,
  NUMBER_LINE_BYTES,
  numberScratch,
  opcodeFirstSeen,
  opcodeShapes,
  pauseNames,
  recordsBase,
  recordStringsBase,
} from "./memory-layout";
import {
  addRecordString,
  clearRecords,
  newRecord,
  recordsDropped,
  recordsNearlyFull,
  recordsUsed,
  setField,
  setRecordContext,
} from "./records";
import {
  ENC_LATIN1,
  ENC_PY2_BYTES,
  ENC_RAW_UNICODE_ESCAPE,
  ENC_STRING_ESCAPE,
  ENC_UTF8,
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
  F_A,
  F_B,
  F_C,
  F_D,
  F_E,
  F_F,
  F_G,
  F_H,
  F_I,
  F_J,
  F_PICKLE,
  FRAME_NESTED,
  FRAME_STOP_INSIDE,
  FRAME_STRADDLED,
  FRAME_TRUNCATED,
  HALT_ERROR,
  HALT_MAX_PICKLES,
  HALT_TRAILING,
  HIGHEST_PROTOCOL,
  IMPORT_MODULE_NOT_KEPT,
  IMPORT_MODULE_TRUNCATED,
  IMPORT_NAME_NOT_KEPT,
  IMPORT_NAME_TRUNCATED,
  INPUT_WINDOW_BYTES,
  LIMIT_DICT_ENTRIES,
  LIMIT_DICT_HEAP,
  LIMIT_HEAP,
  LIMIT_MARKS,
  LIMIT_MEMO,
  LIMIT_MEMORY,
  LIMIT_RECORD_STRINGS,
  LIMIT_STACK,
  MAX_DICT_ENTRIES_PER_OPCODE,
  MAX_DICT_HEAP_BYTES,
  MAX_DICT_KEY_BYTES,
  MAX_HEAP_BYTES,
  MAX_KEPT_STRING_BYTES,
  MAX_KEPT_DICT_PAIRS,
  MAX_KEPT_TUPLE_ITEMS,
  MAX_MARKS,
  MAX_MEMO_KEY,
  MAX_STACK_ITEMS,
  MAX_VALUE_DEPTH,
  MAX_VALUES_PER_RECORD,
  OP_ADDITEMS,
  OP_APPEND,
  OP_APPENDS,
  OP_BINBYTES,
  OP_BINBYTES8,
  OP_BINFLOAT,
  OP_BINGET,
  OP_BININT,
  OP_BININT1,
  OP_BININT2,
  OP_BINPERSID,
  OP_BINPUT,
  OP_BINSTRING,
  OP_BINUNICODE,
  OP_BINUNICODE8,
  OP_BUILD,
  OP_BYTEARRAY8,
  OP_DICT,
  OP_DUP,
  OP_EMPTY_DICT,
  OP_EMPTY_LIST,
  OP_EMPTY_SET,
  OP_EMPTY_TUPLE,
  OP_EXT1,
  OP_EXT2,
  OP_EXT4,
  OP_FLOAT,
  OP_FRAME,
  OP_FROZENSET,
  OP_GET,
  OP_GLOBAL,
  OP_INST,
  OP_INT,
  OP_LIST,
  OP_LONG,
  OP_LONG1,
  OP_LONG4,
  OP_LONG_BINGET,
  OP_LONG_BINPUT,
  OP_MARK,
  OP_MEMOIZE,
  OP_NEWFALSE,
  OP_NEWOBJ,
  OP_NEWOBJ_EX,
  OP_NEWTRUE,
  OP_NEXT_BUFFER,
  OP_NONE,
  OP_OBJ,
  OP_PERSID,
  OP_POP,
  OP_POP_MARK,
  OP_PROTO,
  OP_PUT,
  OP_READONLY_BUFFER,
  OP_REDUCE,
  OP_SETITEM,
  OP_SETITEMS,
  OP_SHORT_BINBYTES,
  OP_SHORT_BINSTRING,
  OP_SHORT_BINUNICODE,
  OP_STACK_GLOBAL,
  OP_STOP,
  OP_STRING,
  OP_TUPLE,
  OP_TUPLE1,
  OP_TUPLE2,
  OP_TUPLE3,
  OP_UNICODE,
  PAUSE_NAMES_BYTES,
  RUN_DONE,
  RUN_DRAIN,
  RUN_PAUSED_AFTER_BUILD,
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
  UNKNOWN_MEMO_MISSING,
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
} from "./shared";
import { isAscii, isUtf8, parseDecimal, parsedExact } from "./text";
import {
  available,
  drop,
  EVENT_DICT_HEAP,
  EVENT_HEAP,
  EVENT_MARKS,
  EVENT_MEMO,
  EVENT_MEMORY,
  EVENT_STACK,
  fence,
  heapCharge,
  itemA,
  itemAt,
  itemFlags,
  itemKind,
  itemX,
  itemY,
  keepDictPairs,
  keepString,
  keepTuple,
  keptString,
  limitEvents,
  markOnTop,
  memoCount,
  memoGet,
  memoPut,
  operand,
  popMark,
  push,
  pushCopy,
  pushMark,
  pushWindowString,
  reserveString,
  resetPickleValues,
  settle,
  settleWindowStrings,
  stackLength,
  stringBytes,
  stringEncoding,
  stringFlags,
  stringLength,
  takeLimitEvents,
  truncateStack,
  tupleItem,
  tupleKept,
  unknownItem,
  writeItem,
} from "./values";

// Opcode shapes: bit 4 = known opcode, low 4 bits = fixed argument bytes, bit 5 = text line(s), bit 6 = two lines.
const SHAPE_KNOWN: i32 = 16;
const SHAPE_LINE: i32 = 32;
const SHAPE_TWO_LINES: i32 = 64;

const ST_OPCODE: i32 = 0;
const ST_ARGUMENT: i32 = 1;
const ST_PAYLOAD: i32 = 2;
const ST_LINE: i32 = 3;
const ST_HALTED: i32 = 4;
/** Reading the one-byte length of padding before raw bytes (`skipRaw` with a prefix). */
const ST_RAW_PREFIX: i32 = 5;

let ready = false;
let state: i32 = ST_OPCODE;
let finished = false;

let windowLength: i32 = 0;
let windowPosition: i32 = 0;
let windowOffset: i64 = 0;
/** Stream offset of the next byte not yet consumed. */
let consumed: i64 = 0;

let maxPickles: i32 = 0;
let pickleIndex: i32 = 0;
let pickleStarted = false;
let protocol: i32 = 0;
let afterError = false;
let degraded = false;
let limitsReported: i32 = 0;
let opcodeCount: f64 = 0;
let haltOffset: i64 = -1;

let opcode: i32 = 0;
let opcodeOffset: i64 = 0;

let argumentNeed: i32 = 0;
let argumentHave: i32 = 0;

let payloadOffset: i64 = 0;
let payloadLength: i64 = 0;
let payloadLeft: i64 = 0;
let keepObject: usize = 0;
let keepTarget: usize = 0;
let keepLeft: i32 = 0;
let longKept: i32 = 0;

let lineNumber: i32 = 0;
let lineStart: i64 = 0;
let lineLength: i64 = 0;
let lineTarget: usize = 0;
let lineCapacity: i32 = 0;
let lineKept: i32 = 0;
let lineFirst: i32 = -1;
let lineLast: i32 = -1;
let firstLineStart: i64 = 0;
let firstLineLength: i64 = 0;
let firstLineKept: i32 = 0;

let frameActive = false;
let frameOffset: i64 = 0;
let frameStart: i64 = 0;
let frameEnd: i64 = 0;
let frameLength: i64 = 0;
let frameFlags: i32 = 0;
let framePickle: i32 = 0;

let importOrdinal: f64 = 0;
let callOrdinal: f64 = 0;
let persistentOrdinal: f64 = 0;
let containerOrdinal: f64 = 0;
let bufferOrdinal: f64 = 0;

let valuesLeft: i32 = 0;

let pauseEntries: i32 = 0;
let pausePending = false;
let rawAfterPrefix: i64 = 0;
let dictEntriesThisOpcode: i32 = 0;

// ---------------------------------------------------------------------------
// Exports: the whole interface TypeScript sees.

/** Prepares (or re-prepares) the machine for a new stream; 0 when memory could not be reserved. */
export function reset(maxPicklesOption: i32): i32 {
  if (!ready) {
    if (!layOut()) return 0;
    defineShapes();
    ready = true;
  }
  state = ST_OPCODE;
  finished = false;
  windowLength = 0;
  windowPosition = 0;
  windowOffset = 0;
  consumed = 0;
  maxPickles = maxPicklesOption > 0 ? maxPicklesOption : 0;
  opcode = -1;
  opcodeOffset = 0;
  pickleIndex = 0;
  pickleStarted = false;
  protocol = 0;
  afterError = false;
  degraded = false;
  limitsReported = 0;
  opcodeCount = 0;
  haltOffset = -1;
  frameActive = false;
  pauseEntries = 0;
  pausePending = false;
  importOrdinal = 0;
  callOrdinal = 0;
  persistentOrdinal = 0;
  containerOrdinal = 0;
  bufferOrdinal = 0;
  for (let byte = 0; byte < 256; byte++) store<f64>(opcodeFirstSeen + (<usize>byte << 3), -1);
  resetPickleValues();
  clearRecords();
  updateContext();
  return 1;
}

/** 256 float64: the first offset of each opcode byte in the stream, -1 for never. */
export function opcodeFirstSeenPointer(): usize {
  return opcodeFirstSeen;
}

export function inputPointer(): usize {
  return inputBase;
}
export function inputCapacity(): i32 {
  return INPUT_WINDOW_BYTES;
}
export function recordsPointer(): usize {
  return recordsBase;
}
export function recordStringsPointer(): usize {
  return recordStringsBase;
}
export function recordCount(): i32 {
  return recordsUsed();
}
/** TypeScript has read every record: the buffers start over. */
export function drained(): void {
  clearRecords();
}

/**
 * The caller wrote `length` bytes at inputPointer(). Returns 1 when the
 * machine paused because its record buffers need draining (call `resume`
 * after draining), 0 when the window is consumed.
 */
export function feed(length: i32): i32 {
  if (!ready || finished) return 0;
  windowOffset = consumed;
  windowPosition = 0;
  windowLength = length < 0 ? 0 : length > INPUT_WINDOW_BYTES ? INPUT_WINDOW_BYTES : length;
  return run();
}

export function resume(): i32 {
  if (!ready || finished) return 0;
  return run();
}

/** Bytes the machine would skip right now without looking at them (payload beyond what it keeps); Infinity once halted. */
export function skipWanted(): f64 {
  if (!ready || finished || windowPosition < windowLength) return 0;
  if (state == ST_HALTED) return Infinity;
  if (state == ST_PAYLOAD && keepLeft == 0) return <f64>payloadLeft;
  return 0;
}

/** The caller jumped over `count` bytes of the stream instead of feeding them (at most `skipWanted()`). */
export function skip(count: f64): void {
  const wanted = skipWanted();
  if (!(count > 0) || wanted <= 0) return;
  const amount = count < wanted ? count : wanted;
  if (state == ST_HALTED) {
    consumed += <i64>amount;
    return;
  }
  const step = <i64>amount;
  consumed += step;
  payloadLeft -= step;
  if (payloadLeft <= 0) {
    payloadLeft = 0;
    state = ST_OPCODE;
    completePayload();
    afterOpcode();
  }
}

/** Where TypeScript writes the "pause after BUILD of" list: per entry u16 module length, module, u16 name length, name. */
export function pauseNamesPointer(): usize {
  return pauseNames;
}

/** `count` entries were written at pauseNamesPointer(): pause after a BUILD on an object made by one of those globals. */
export function setBuildPauses(count: i32): void {
  pauseEntries = count > 0 ? count : 0;
}

/**
 * After RUN_PAUSED_AFTER_BUILD: the next `count` bytes are raw data written by
 * the pickler's owner (joblib's array bytes), not opcodes; with `prefixed`,
 * one byte giving a padding length comes first and that padding is skipped too.
 */
export function skipRaw(count: f64, prefixed: i32): void {
  if (!pausePending) return;
  pausePending = false;
  if (state != ST_OPCODE || !(count >= 0)) return;
  const start = windowOffset + <i64>windowPosition;
  opcode = OP_BUILD;
  if (prefixed != 0) {
    rawAfterPrefix = <i64>count;
    opcodeOffset = start;
    state = ST_RAW_PREFIX;
  } else if (count > 0) {
    opcodeOffset = start;
    beginPayload(start, <i64>count, 0, 0, false);
  }
}

/** The stream has ended: report a truncated pickle or frame, an empty stream, and pending limits. */
export function finish(): void {
  if (!ready || finished) return;
  finished = true;
  if (frameActive) {
    if (state != ST_HALTED && consumed < frameEnd) {
      frameFlags |= FRAME_TRUNCATED;
      const record = error(ERR_FRAME_TRUNCATED, frameOffset, <f64>frameLength, <f64>(consumed - frameStart), false);
      setField(record, F_PICKLE, <f64>framePickle);
    }
    closeFrame();
  }
  if (state != ST_HALTED) {
    if (pickleStarted) {
      if (state == ST_OPCODE) {
        opcode = -1;
        error(ERR_TRUNCATED, consumed, 0, 0, false);
      } else {
        let missing: f64 = -1;
        if (state == ST_ARGUMENT) missing = <f64>(argumentNeed - argumentHave);
        else if (state == ST_PAYLOAD) missing = <f64>payloadLeft;
        else if (state == ST_RAW_PREFIX) missing = <f64>(rawAfterPrefix + 1);
        error(ERR_TRUNCATED, opcodeOffset, missing, 1, false);
      }
    } else if (pickleIndex == 0) {
      opcode = -1;
      error(ERR_EMPTY_STREAM, consumed, 0, 0, false);
    }
  }
  afterOpcode();
  if (recordsDropped() > 0) limit(LIMIT_RECORD_STRINGS, consumed, <f64>recordsDropped(), 0);
}

export function consumedBytes(): f64 {
  return <f64>consumed;
}
export function opcodesSeen(): f64 {
  return opcodeCount;
}
export function picklesCompleted(): i32 {
  return pickleIndex;
}
export function haltedAt(): f64 {
  return <f64>haltOffset;
}
export function limitValue(which: i32): f64 {
  switch (which) {
    case LIMIT_STACK:
      return <f64>MAX_STACK_ITEMS;
    case LIMIT_MARKS:
      return <f64>MAX_MARKS;
    case LIMIT_MEMO:
      return <f64>MAX_MEMO_KEY;
    case LIMIT_HEAP:
      return <f64>MAX_HEAP_BYTES;
    case LIMIT_DICT_ENTRIES:
      return <f64>MAX_DICT_ENTRIES_PER_OPCODE;
  }
  return 0;
}

// ---------------------------------------------------------------------------
// The read loop.

function run(): i32 {
  const status = runWindow();
  // TypeScript may overwrite the window once this returns: nothing may point into it any more.
  settleWindowStrings();
  afterOpcode();
  return status;
}

function runWindow(): i32 {
  while (windowPosition < windowLength) {
    if (pausePending) break;
    if (state == ST_HALTED) {
      windowPosition = windowLength;
      break;
    }
    if (recordsNearlyFull()) {
      consumed = windowOffset + <i64>windowPosition;
      return RUN_DRAIN;
    }
    if (state == ST_OPCODE) readOpcodes();
    else if (state == ST_ARGUMENT) readArgument();
    else if (state == ST_PAYLOAD) readPayload();
    else if (state == ST_LINE) readLine();
    else if (state == ST_RAW_PREFIX) readRawPrefix();
  }
  consumed = windowOffset + <i64>windowPosition;
  return pausePending ? RUN_PAUSED_AFTER_BUILD : RUN_DONE;
}

function readRawPrefix(): void {
  const padding = <i64>load<u8>(inputBase + <usize>windowPosition);
  windowPosition++;
  state = ST_OPCODE;
  const length = padding + rawAfterPrefix;
  if (length > 0) beginPayload(windowOffset + <i64>windowPosition, length, 0, 0, false);
}

/** The hot loop: one opcode after another while they are whole in the window. */
function readOpcodes(): void {
  let position = windowPosition;
  const end = windowLength;
  while (position < end) {
    if (recordsNearlyFull()) break;
    const offset = windowOffset + <i64>position;
    const byte = <i32>load<u8>(inputBase + <usize>position);
    const shape = <i32>load<u8>(opcodeShapes + <usize>byte);
    if (frameActive) frameRead(offset, 1);
    if (!pickleStarted) {
      if (shape == 0 && pickleIndex > 0) {
        windowPosition = position;
        trailing(offset, byte);
        return;
      }
      startPickle(offset);
    }
    opcode = byte;
    opcodeOffset = offset;
    opcodeCount += 1;
    position++;
    const seen = opcodeFirstSeen + (<usize>byte << 3);
    if (load<f64>(seen) < 0) store<f64>(seen, <f64>offset);
    if (shape == 0) {
      windowPosition = position;
      error(ERR_UNKNOWN_OPCODE, offset, <f64>byte, 0, true);
      return;
    }
    if ((shape & SHAPE_LINE) != 0) {
      windowPosition = position;
      beginLines(offset + 1);
      return;
    }
    const need = shape & 15;
    if (need == 0) {
      windowPosition = position;
      executeBare(byte, offset);
      afterOpcode();
      if (state != ST_OPCODE || pausePending) return;
      position = windowPosition;
      continue;
    }
    if (frameActive) frameRead(offset + 1, <i64>need);
    if (end - position >= need) {
      const at = inputBase + <usize>position;
      position += need;
      windowPosition = position;
      executeWithArgument(byte, at, offset);
      afterOpcode();
      if (state != ST_OPCODE) return;
      // A payload that was whole in the window has been consumed too.
      position = windowPosition;
      continue;
    }
    argumentNeed = need;
    argumentHave = end - position;
    memory.copy(argScratch, inputBase + <usize>position, <usize>argumentHave);
    windowPosition = end;
    state = ST_ARGUMENT;
    return;
  }
  windowPosition = position;
}

function readArgument(): void {
  let take = argumentNeed - argumentHave;
  const availableBytes = windowLength - windowPosition;
  if (take > availableBytes) take = availableBytes;
  memory.copy(argScratch + <usize>argumentHave, inputBase + <usize>windowPosition, <usize>take);
  argumentHave += take;
  windowPosition += take;
  if (argumentHave == argumentNeed) {
    state = ST_OPCODE;
    executeWithScratchArgument(opcode, opcodeOffset);
    afterOpcode();
  }
}

function readPayload(): void {
  const availableBytes = <i64>(windowLength - windowPosition);
  const take = payloadLeft < availableBytes ? payloadLeft : availableBytes;
  if (keepLeft > 0) {
    const copy = <i64>keepLeft < take ? keepLeft : <i32>take;
    memory.copy(keepTarget, inputBase + <usize>windowPosition, <usize>copy);
    keepTarget += <usize>copy;
    keepLeft -= copy;
  }
  windowPosition += <i32>take;
  payloadLeft -= take;
  if (payloadLeft == 0) {
    state = ST_OPCODE;
    completePayload();
    afterOpcode();
  }
}

function readLine(): void {
  const start = windowPosition;
  const end = windowLength;
  let index = start;
  while (index < end && load<u8>(inputBase + <usize>index) != 0x0a) index++;
  const segment = index - start;
  if (segment > 0) {
    if (lineLength == 0) lineFirst = <i32>load<u8>(inputBase + <usize>start);
    lineLast = <i32>load<u8>(inputBase + <usize>(index - 1));
    if (lineKept < lineCapacity) {
      const room = lineCapacity - lineKept;
      const copy = segment < room ? segment : room;
      memory.copy(lineTarget + <usize>lineKept, inputBase + <usize>start, <usize>copy);
      lineKept += copy;
    }
    lineLength += <i64>segment;
  }
  if (index >= end) {
    windowPosition = end;
    return;
  }
  windowPosition = index + 1;
  if (frameActive) frameRead(lineStart, lineLength + 1);
  const twoLines = (<i32>load<u8>(opcodeShapes + <usize>opcode) & SHAPE_TWO_LINES) != 0;
  if (twoLines && lineNumber == 0) {
    firstLineStart = lineStart;
    firstLineLength = lineLength;
    firstLineKept = lineKept;
    startLine(1, lineStart + lineLength + 1, lineScratchB, MAX_KEPT_STRING_BYTES);
    return;
  }
  state = ST_OPCODE;
  executeLine(opcode);
  afterOpcode();
}

function beginLines(start: i64): void {
  const numeric = opcode == OP_INT || opcode == OP_LONG || opcode == OP_FLOAT || opcode == OP_GET || opcode == OP_PUT;
  if (numeric) startLine(0, start, numberScratch, NUMBER_LINE_BYTES);
  else startLine(0, start, lineScratchA, MAX_KEPT_STRING_BYTES);
  state = ST_LINE;
}

function startLine(number: i32, start: i64, target: usize, capacity: i32): void {
  lineNumber = number;
  lineStart = start;
  lineLength = 0;
  lineTarget = target;
  lineCapacity = capacity;
  lineKept = 0;
  lineFirst = -1;
  lineLast = -1;
}

/** Starts reading a length-prefixed payload of `length` bytes at `start`, keeping its first `keep` bytes. */
function beginPayload(start: i64, length: i64, keep: i32, encoding: i32, keepAsString: bool): void {
  payloadOffset = start;
  payloadLength = length;
  payloadLeft = length;
  keepObject = 0;
  keepLeft = 0;
  longKept = 0;
  if (frameActive && length > 0) frameRead(start, length);
  if (keep > 0) {
    if (keepAsString) {
      keepObject = reserveString(keep, encoding, <i64>keep < length ? SF_TRUNCATED : 0);
      if (keepObject != 0) {
        keepTarget = stringBytes(keepObject);
        keepLeft = keep;
      }
    } else {
      keepTarget = longScratch;
      keepLeft = keep;
      longKept = keep;
    }
  }
  state = ST_PAYLOAD;
  if (length == 0) {
    state = ST_OPCODE;
    completePayload();
  } else if (start == windowOffset + <i64>windowPosition && length <= <i64>(windowLength - windowPosition)) {
    // Fast path: the whole payload is already in the window (short bytes, LONG1, the rest of a frame
    // after STOP), so it is kept and completed here instead of one more trip through ST_PAYLOAD. The
    // pending limit events are turned into records first, in the order the slow path emits them.
    if (keepLeft > 0) {
      memory.copy(keepTarget, inputBase + <usize>windowPosition, <usize>keepLeft);
      keepLeft = 0;
    }
    windowPosition += <i32>length;
    payloadLeft = 0;
    state = ST_OPCODE;
    afterOpcode();
    completePayload();
  }
}

// ---------------------------------------------------------------------------
// Opcodes.

function defineShapes(): void {
  memory.fill(opcodeShapes, 0, 256);
  const bare = SHAPE_KNOWN;
  setShape(OP_MARK, bare);
  setShape(OP_STOP, bare);
  setShape(OP_POP, bare);
  setShape(OP_POP_MARK, bare);
  setShape(OP_DUP, bare);
  setShape(OP_NONE, bare);
  setShape(OP_BINPERSID, bare);
  setShape(OP_REDUCE, bare);
  setShape(OP_APPEND, bare);
  setShape(OP_BUILD, bare);
  setShape(OP_DICT, bare);
  setShape(OP_EMPTY_DICT, bare);
  setShape(OP_APPENDS, bare);
  setShape(OP_LIST, bare);
  setShape(OP_EMPTY_LIST, bare);
  setShape(OP_OBJ, bare);
  setShape(OP_SETITEM, bare);
  setShape(OP_TUPLE, bare);
  setShape(OP_EMPTY_TUPLE, bare);
  setShape(OP_SETITEMS, bare);
  setShape(OP_NEWOBJ, bare);
  setShape(OP_TUPLE1, bare);
  setShape(OP_TUPLE2, bare);
  setShape(OP_TUPLE3, bare);
  setShape(OP_NEWTRUE, bare);
  setShape(OP_NEWFALSE, bare);
  setShape(OP_EMPTY_SET, bare);
  setShape(OP_ADDITEMS, bare);
  setShape(OP_FROZENSET, bare);
  setShape(OP_NEWOBJ_EX, bare);
  setShape(OP_STACK_GLOBAL, bare);
  setShape(OP_MEMOIZE, bare);
  setShape(OP_NEXT_BUFFER, bare);
  setShape(OP_READONLY_BUFFER, bare);
  setShape(OP_BININT1, SHAPE_KNOWN | 1);
  setShape(OP_BINGET, SHAPE_KNOWN | 1);
  setShape(OP_BINPUT, SHAPE_KNOWN | 1);
  setShape(OP_PROTO, SHAPE_KNOWN | 1);
  setShape(OP_EXT1, SHAPE_KNOWN | 1);
  setShape(OP_SHORT_BINSTRING, SHAPE_KNOWN | 1);
  setShape(OP_SHORT_BINBYTES, SHAPE_KNOWN | 1);
  setShape(OP_SHORT_BINUNICODE, SHAPE_KNOWN | 1);
  setShape(OP_LONG1, SHAPE_KNOWN | 1);
  setShape(OP_BININT2, SHAPE_KNOWN | 2);
  setShape(OP_EXT2, SHAPE_KNOWN | 2);
  setShape(OP_BININT, SHAPE_KNOWN | 4);
  setShape(OP_LONG_BINGET, SHAPE_KNOWN | 4);
  setShape(OP_LONG_BINPUT, SHAPE_KNOWN | 4);
  setShape(OP_EXT4, SHAPE_KNOWN | 4);
  setShape(OP_BINSTRING, SHAPE_KNOWN | 4);
  setShape(OP_BINUNICODE, SHAPE_KNOWN | 4);
  setShape(OP_BINBYTES, SHAPE_KNOWN | 4);
  setShape(OP_LONG4, SHAPE_KNOWN | 4);
  setShape(OP_BINFLOAT, SHAPE_KNOWN | 8);
  setShape(OP_BINUNICODE8, SHAPE_KNOWN | 8);
  setShape(OP_BINBYTES8, SHAPE_KNOWN | 8);
  setShape(OP_BYTEARRAY8, SHAPE_KNOWN | 8);
  setShape(OP_FRAME, SHAPE_KNOWN | 8);
  setShape(OP_INT, SHAPE_KNOWN | SHAPE_LINE);
  setShape(OP_LONG, SHAPE_KNOWN | SHAPE_LINE);
  setShape(OP_FLOAT, SHAPE_KNOWN | SHAPE_LINE);
  setShape(OP_STRING, SHAPE_KNOWN | SHAPE_LINE);
  setShape(OP_UNICODE, SHAPE_KNOWN | SHAPE_LINE);
  setShape(OP_PERSID, SHAPE_KNOWN | SHAPE_LINE);
  setShape(OP_GET, SHAPE_KNOWN | SHAPE_LINE);
  setShape(OP_PUT, SHAPE_KNOWN | SHAPE_LINE);
  setShape(OP_GLOBAL, SHAPE_KNOWN | SHAPE_LINE | SHAPE_TWO_LINES);
  setShape(OP_INST, SHAPE_KNOWN | SHAPE_LINE | SHAPE_TWO_LINES);
}

function setShape(op: i32, shape: i32): void {
  store<u8>(opcodeShapes + <usize>op, <u8>shape);
}

/** Opcodes without argument bytes. */
function executeBare(op: i32, offset: i64): void {
  switch (op) {
    // Frequent opcodes first: AssemblyScript compiles a sparse switch to a chain of comparisons.
    case OP_MARK:
      pushMark();
      break;
    case OP_MEMOIZE:
      if (need(offset, 1)) memoPut(<u64>memoCount, operand(0));
      break;
    case OP_APPENDS:
    case OP_ADDITEMS:
    case OP_SETITEMS: {
      const mark = popMark();
      if (mark < 0) {
        markMissing(offset);
        break;
      }
      if (mark <= fence()) {
        underflow(offset, 1);
      } else {
        const container = itemAt(mark - 1);
        stateChange(op, offset, container, mark);
        if (op == OP_SETITEMS) {
          dictEntriesThisOpcode = 0;
          for (let index = mark; index + 1 < stackLength; index += 2) {
            dictEntry(container, itemAt(index), itemAt(index + 1), offset);
          }
          addDictPairs(mark - 1, mark, (stackLength - mark) >> 1);
        }
      }
      truncateStack(mark);
      break;
    }
    case OP_TUPLE1:
    case OP_TUPLE2:
    case OP_TUPLE3: {
      const count = op - OP_TUPLE1 + 1;
      need(offset, count);
      const floor = fence();
      const from = stackLength - count < floor ? floor : stackLength - count;
      pushTuple(from, stackLength);
      break;
    }
    case OP_APPEND:
      if (need(offset, 2)) stateChange(op, offset, operand(1), stackLength - 1);
      drop(1);
      break;
    case OP_SETITEM:
      if (need(offset, 3)) {
        stateChange(op, offset, operand(2), stackLength - 2);
        dictEntriesThisOpcode = 0;
        dictEntry(operand(2), operand(1), operand(0), offset);
        addDictPairs(stackLength - 3, stackLength - 2, 1);
      }
      drop(2);
      break;
    case OP_EMPTY_TUPLE:
      push(VK_TUPLE, 0, 0, 0, 0);
      break;
    case OP_EMPTY_LIST:
      pushContainer(VK_LIST);
      break;
    case OP_EMPTY_DICT:
      pushContainer(VK_DICT);
      break;
    case OP_NONE:
      push(VK_NONE, 0, 0, 0, 0);
      break;
    case OP_NEWTRUE:
      push(VK_BOOL, 0, 0, 1, 0);
      break;
    case OP_NEWFALSE:
      push(VK_BOOL, 0, 0, 0, 0);
      break;
    case OP_REDUCE:
    case OP_NEWOBJ: {
      need(offset, 2);
      const callee = operand(1);
      beginCall(op, offset, callee, 2);
      emitValue(operand(0), 0, op);
      rememberResult(callee);
      drop(2);
      pushResult();
      break;
    }
    case OP_BUILD: {
      // BUILD calls obj.__setstate__(state) or updates obj.__dict__; obj stays on the stack.
      need(offset, 2);
      const target = operand(1);
      beginCall(op, offset, target, 2);
      emitValue(operand(0), 0, op);
      if (pauseEntries > 0 && itemKind(target) == VK_CALL && isPauseName(<usize>itemA(target), <usize>itemY(target))) pausePending = true;
      drop(1);
      break;
    }
    case OP_TUPLE: {
      const mark = popMark();
      if (mark < 0) {
        markMissing(offset);
        pushTuple(stackLength, stackLength);
      } else {
        pushTuple(mark, stackLength);
      }
      break;
    }
    case OP_BINPERSID:
      need(offset, 1);
      persistent(op, offset, operand(0));
      drop(1);
      pushPersistent();
      break;
    case OP_STACK_GLOBAL:
      stackGlobal(offset);
      break;
    case OP_STOP:
      stop(offset);
      break;
    case OP_POP:
      if (markOnTop()) popMark();
      else if (available() > 0) drop(1);
      else underflow(offset, 1);
      break;
    case OP_POP_MARK: {
      const mark = popMark();
      if (mark < 0) markMissing(offset);
      else truncateStack(mark);
      break;
    }
    case OP_DUP:
      if (need(offset, 1)) pushCopy(operand(0));
      else pushUnknownUnderflow();
      break;
    case OP_NEWOBJ_EX: {
      need(offset, 3);
      const callee = operand(2);
      beginCall(op, offset, callee, 3);
      emitValue(operand(1), 0, op);
      emitValue(operand(0), 0, op);
      rememberResult(callee);
      drop(3);
      pushResult();
      break;
    }
    case OP_OBJ:
      objectFromMark(op, offset);
      break;
    case OP_DICT: {
      const mark = popMark();
      if (mark < 0) markMissing(offset);
      const from = mark < 0 ? stackLength : mark;
      const pairs = (stackLength - from) >> 1;
      const object = pairs > 0 ? keepDictPairs(0, from, pairs < MAX_KEPT_DICT_PAIRS ? pairs : MAX_KEPT_DICT_PAIRS) : 0;
      const flags = pairs > 0 && object == 0 ? VF_NOT_KEPT : pairs > MAX_KEPT_DICT_PAIRS ? VF_TRUNCATED : 0;
      truncateStack(from);
      push(VK_DICT, flags, <u32>object, containerOrdinal, <f64>pairs);
      containerOrdinal += 1;
      break;
    }
    case OP_LIST:
    case OP_FROZENSET: {
      const mark = popMark();
      if (mark < 0) markMissing(offset);
      else truncateStack(mark);
      pushContainer(op == OP_LIST ? VK_LIST : VK_FROZENSET);
      break;
    }
    case OP_EMPTY_SET:
      pushContainer(VK_SET);
      break;
    case OP_NEXT_BUFFER:
      push(VK_BUFFER, 0, 0, bufferOrdinal, 0);
      bufferOrdinal += 1;
      break;
    case OP_READONLY_BUFFER:
      need(offset, 1);
      break;
  }
}

/** An opcode whose argument arrived in pieces (the argument scratch); the hot loop inlines its own copy. */
function executeWithScratchArgument(op: i32, offset: i64): void {
  executeWithArgument(op, argScratch, offset);
}

/** Opcodes with a fixed-size argument at `at` (in the window or the argument scratch). */
@inline function executeWithArgument(op: i32, at: usize, offset: i64): void {
  const payloadStart = offset + 1 + <i64>(<i32>load<u8>(opcodeShapes + <usize>op) & 15);
  switch (op) {
    // Frequent opcodes first: AssemblyScript compiles a sparse switch to a chain of comparisons.
    case OP_BININT1:
      push(VK_INT, 0, 0, <f64>load<u8>(at), 0);
      break;
    case OP_SHORT_BINUNICODE:
      stringPayload(payloadStart, <i64>load<u8>(at), ENC_UTF8);
      break;
    case OP_BINPUT:
      if (need(offset, 1)) memoPut(<u64>load<u8>(at), operand(0));
      break;
    case OP_BINGET:
      memoFetch(<u64>load<u8>(at), offset);
      break;
    case OP_BININT:
      push(VK_INT, 0, 0, <f64>load<i32>(at), 0);
      break;
    case OP_LONG_BINPUT:
      if (need(offset, 1)) memoPut(<u64>load<u32>(at), operand(0));
      break;
    case OP_LONG_BINGET:
      memoFetch(<u64>load<u32>(at), offset);
      break;
    case OP_BININT2:
      push(VK_INT, 0, 0, <f64>load<u16>(at), 0);
      break;
    case OP_BINFLOAT:
      push(VK_FLOAT, 0, 0, reinterpret<f64>(bswap<u64>(load<u64>(at))), 0);
      break;
    case OP_BINUNICODE:
      stringPayload(payloadStart, <i64>load<u32>(at), ENC_UTF8);
      break;
    case OP_SHORT_BINBYTES:
      beginPayload(payloadStart, <i64>load<u8>(at), 0, 0, false);
      break;
    case OP_BINBYTES:
      beginPayload(payloadStart, <i64>load<u32>(at), 0, 0, false);
      break;
    case OP_LONG1:
      longPayload(payloadStart, <i64>load<u8>(at));
      break;
    case OP_PROTO: {
      const version = <i32>load<u8>(at);
      const record = newRecord(RK_PROTO, op, offset);
      setField(record, F_A, <f64>version);
      protocol = version;
      if (version > HIGHEST_PROTOCOL) error(ERR_UNSUPPORTED_PROTOCOL, offset, <f64>version, <f64>HIGHEST_PROTOCOL, false);
      break;
    }
    case OP_EXT1:
      extension(op, offset, <i64>load<u8>(at));
      break;
    case OP_EXT2:
      extension(op, offset, <i64>load<u16>(at));
      break;
    case OP_EXT4:
      extension(op, offset, <i64>load<i32>(at));
      break;
    case OP_FRAME:
      frame(offset, load<u64>(at));
      break;
    case OP_SHORT_BINSTRING:
      stringPayload(payloadStart, <i64>load<u8>(at), ENC_PY2_BYTES);
      break;
    case OP_BINSTRING: {
      const length = load<i32>(at);
      if (length < 0) error(ERR_NEGATIVE_LENGTH, offset, <f64>length, 0, true);
      else stringPayload(payloadStart, <i64>length, ENC_PY2_BYTES);
      break;
    }
    case OP_LONG4: {
      const length = load<i32>(at);
      if (length < 0) error(ERR_NEGATIVE_LENGTH, offset, <f64>length, 0, true);
      else longPayload(payloadStart, <i64>length);
      break;
    }
    case OP_BINUNICODE8:
    case OP_BINBYTES8:
    case OP_BYTEARRAY8: {
      const length = load<u64>(at);
      if (length > <u64>i64.MAX_VALUE) {
        error(ERR_LENGTH_OVERFLOW, offset, <f64>length, <f64>i64.MAX_VALUE, true);
      } else if (op == OP_BINUNICODE8) {
        stringPayload(payloadStart, <i64>length, ENC_UTF8);
      } else {
        beginPayload(payloadStart, <i64>length, 0, 0, false);
      }
      break;
    }
  }
}

@inline function stringPayload(start: i64, length: i64, encoding: i32): void {
  const keep = length < <i64>MAX_KEPT_STRING_BYTES ? <i32>length : MAX_KEPT_STRING_BYTES;
  if (keep > 0 && start == windowOffset + <i64>windowPosition && length <= <i64>(windowLength - windowPosition)) {
    // Fast path: the whole string is in the window. It is pushed as a window string (values.ts), which
    // copies nothing unless it is kept or read later; the budget, frame and limit bookkeeping happen in
    // the order beginPayload + completePayload would do them.
    if (frameActive) frameRead(start, length);
    const charged = heapCharge(8 + keep);
    afterOpcode();
    const bytes = inputBase + <usize>windowPosition;
    windowPosition += <i32>length;
    if (charged) pushWindowString(<i64>keep < length ? VF_TRUNCATED : 0, encoding, bytes, <f64>start, <f64>length);
    else push(VK_STRING, VF_NOT_KEPT, 0, <f64>start, <f64>length);
  } else {
    beginPayload(start, length, keep, encoding, true);
  }
}

function longPayload(start: i64, length: i64): void {
  const keep = length < <i64>LONG_SCRATCH_BYTES ? <i32>length : LONG_SCRATCH_BYTES;
  beginPayload(start, length, keep, 0, false);
}

/** A payload has been read (or skipped) entirely. */
function completePayload(): void {
  switch (opcode) {
    case OP_SHORT_BINSTRING:
    case OP_BINSTRING:
    case OP_SHORT_BINUNICODE:
    case OP_BINUNICODE:
    case OP_BINUNICODE8: {
      let flags = 0;
      if (keepObject == 0) flags |= VF_NOT_KEPT;
      else if (<i64>stringLength(keepObject) < payloadLength) flags |= VF_TRUNCATED;
      push(VK_STRING, flags, <u32>keepObject, <f64>payloadOffset, <f64>payloadLength);
      break;
    }
    case OP_SHORT_BINBYTES:
    case OP_BINBYTES:
    case OP_BINBYTES8:
      push(VK_BYTES, 0, 0, <f64>payloadOffset, <f64>payloadLength);
      break;
    case OP_BYTEARRAY8:
      push(VK_BYTEARRAY, 0, 0, <f64>payloadOffset, <f64>payloadLength);
      break;
    case OP_LONG1:
    case OP_LONG4:
      pushLong();
      break;
    case OP_STOP:
      closeFrame();
      break;
  }
}

/** LONG1/LONG4: little-endian two's complement; exact up to 2^53, approximate beyond (flagged). */
function pushLong(): void {
  const length = payloadLength;
  if (length == 0) {
    push(VK_INT, 0, 0, 0, 0);
    return;
  }
  if (length > <i64>longKept) {
    push(VK_INT, VF_INEXACT, 0, NaN, <f64>payloadOffset);
    return;
  }
  const count = <i32>length;
  const negative = (load<u8>(longScratch + <usize>(count - 1)) & 0x80) != 0;
  let value: f64 = 0;
  for (let index = count - 1; index >= 0; index--) {
    value = value * 256 + <f64>load<u8>(longScratch + <usize>index);
  }
  if (negative) value -= Math.pow(256, <f64>count);
  const exact = count <= 6 || Math.abs(value) <= 9007199254740992;
  push(VK_INT, exact ? 0 : VF_INEXACT, 0, value, <f64>payloadOffset);
}

/** Opcodes whose argument is one or two text lines. */
function executeLine(op: i32): void {
  const offset = opcodeOffset;
  switch (op) {
    case OP_INT: {
      if (lineLength == 2 && load<u8>(numberScratch) == 0x30 && (load<u8>(numberScratch, 1) == 0x30 || load<u8>(numberScratch, 1) == 0x31)) {
        push(VK_BOOL, 0, 0, <f64>(load<u8>(numberScratch, 1) - 0x30), 0);
      } else {
        pushParsedInteger(false);
      }
      break;
    }
    case OP_LONG:
      pushParsedInteger(true);
      break;
    case OP_FLOAT:
      push(VK_FLOAT, 0, 0, NaN, 0);
      break;
    case OP_GET: {
      const key = lineKey();
      if (key < 0) push(VK_UNKNOWN, 0, 0, <f64>UNKNOWN_MEMO_KEY_TEXT, 0);
      else memoFetch(<u64>key, offset);
      break;
    }
    case OP_PUT: {
      if (!need(offset, 1)) break;
      const key = lineKey();
      if (key >= 0) memoPut(<u64>key, operand(0));
      break;
    }
    case OP_STRING: {
      const quoted = lineLength >= 2 && lineFirst == lineLast && (lineFirst == 0x27 || lineFirst == 0x22);
      if (!quoted) error(ERR_STRING_NOT_QUOTED, offset, <f64>lineLength, 0, false);
      pushLineString(ENC_STRING_ESCAPE);
      break;
    }
    case OP_UNICODE:
      pushLineString(ENC_RAW_UNICODE_ESCAPE);
      break;
    case OP_PERSID: {
      pushLineString(ENC_LATIN1);
      persistent(op, offset, operand(0));
      drop(1);
      pushPersistent();
      break;
    }
    case OP_GLOBAL:
      globalFromLines(op, offset);
      break;
    case OP_INST:
      instanceFromLines(op, offset);
      break;
  }
}

function pushParsedInteger(longSuffix: bool): void {
  if (lineLength > <i64>NUMBER_LINE_BYTES) {
    push(VK_INT, VF_INEXACT, 0, NaN, 0);
    return;
  }
  const value = parseDecimal(numberScratch, lineKept, longSuffix);
  const exact = !isNaN(value) && parsedExact;
  push(VK_INT, exact ? 0 : VF_INEXACT, 0, value, 0);
}

/** A memo key from a GET/PUT line, or -1 when this machine cannot read it. */
function lineKey(): i64 {
  if (lineLength > <i64>NUMBER_LINE_BYTES) return -1;
  const value = parseDecimal(numberScratch, lineKept, false);
  if (isNaN(value) || !parsedExact || value < 0 || value > 4294967295) return -1;
  return <i64>value;
}

function pushLineString(encoding: i32): void {
  const truncated = <i64>lineKept < lineLength;
  const object = keepString(lineScratchA, lineKept, encoding, truncated ? SF_TRUNCATED : 0);
  let flags = 0;
  if (object == 0) flags |= VF_NOT_KEPT;
  else if (truncated) flags |= VF_TRUNCATED;
  push(VK_STRING, flags, <u32>object, <f64>lineStart, <f64>lineLength);
}

/** GLOBAL: module and name lines, decoded by CPython as strict UTF-8. */
function globalFromLines(op: i32, offset: i64): void {
  if (!checkImportLines(offset, true)) {
    push(VK_UNKNOWN, 0, 0, 0, 0);
    return;
  }
  const ordinal = importFromLines(op, offset, ENC_UTF8);
  pushGlobalFromLines(ordinal, ENC_UTF8);
}

/** INST: module and class lines (strict ASCII), then the class is called with the items above the MARK. */
function instanceFromLines(op: i32, offset: i64): void {
  const valid = checkImportLines(offset, false);
  const mark = popMark();
  if (mark < 0) markMissing(offset);
  const from = mark < 0 ? stackLength : mark;
  if (!valid) {
    truncateStack(from);
    push(VK_UNKNOWN, 0, 0, 0, 0);
    return;
  }
  const ordinal = importFromLines(op, offset, ENC_LATIN1);
  pushGlobalFromLines(ordinal, ENC_LATIN1);
  const callee = itemAt(stackLength - 1);
  beginCall(op, offset, callee, 2);
  emitRange(from, stackLength - 1, op);
  rememberResult(callee);
  truncateStack(from);
  pushResult();
}

function checkImportLines(offset: i64, utf8: bool): bool {
  if (firstLineLength == 0 || lineLength == 0) {
    error(ERR_EMPTY_LINE, offset, firstLineLength == 0 ? 0 : 1, 0, false);
    return false;
  }
  const firstCut = <i64>firstLineKept < firstLineLength;
  const secondCut = <i64>lineKept < lineLength;
  const valid = utf8
    ? isUtf8(lineScratchA, firstLineKept, firstCut) && isUtf8(lineScratchB, lineKept, secondCut)
    : isAscii(lineScratchA, firstLineKept) && isAscii(lineScratchB, lineKept);
  if (!valid) error(ERR_BAD_TEXT, offset, utf8 ? 1 : 0, 0, false);
  return valid;
}

function importFromLines(op: i32, offset: i64, encoding: i32): f64 {
  const firstCut = <i64>firstLineKept < firstLineLength;
  const secondCut = <i64>lineKept < lineLength;
  const record = newRecord(RK_IMPORT, op, offset);
  setField(record, F_A, <f64>addRecordString(lineScratchA, firstLineKept, encoding, firstCut ? SF_TRUNCATED : 0));
  setField(record, F_B, <f64>addRecordString(lineScratchB, lineKept, encoding, secondCut ? SF_TRUNCATED : 0));
  const ordinal = importOrdinal;
  importOrdinal += 1;
  setField(record, F_C, ordinal);
  setField(record, F_D, <f64>protocol);
  setField(record, F_E, <f64>VK_STRING);
  setField(record, F_F, <f64>VK_STRING);
  setField(record, F_G, -1);
  setField(record, F_H, <f64>((firstCut ? IMPORT_MODULE_TRUNCATED : 0) | (secondCut ? IMPORT_NAME_TRUNCATED : 0)));
  setField(record, F_I, -1);
  setField(record, F_J, -1);
  return ordinal;
}

function pushGlobalFromLines(ordinal: f64, encoding: i32): void {
  const firstCut = <i64>firstLineKept < firstLineLength;
  const secondCut = <i64>lineKept < lineLength;
  const module = keepString(lineScratchA, firstLineKept, encoding, firstCut ? SF_TRUNCATED : 0);
  const name: usize = module == 0 ? 0 : keepString(lineScratchB, lineKept, encoding, secondCut ? SF_TRUNCATED : 0);
  push(VK_GLOBAL, 0, <u32>module, ordinal, <f64>name);
}

/** STACK_GLOBAL: module and name come from the stack; anything but a kept string is an unresolved import. */
function stackGlobal(offset: i64): void {
  need(offset, 2);
  const moduleItem = operand(1);
  const nameItem = operand(0);
  const moduleKind = itemKind(moduleItem);
  const nameKind = itemKind(nameItem);
  const moduleObject = moduleKind == VK_STRING ? keptString(moduleItem) : 0;
  const nameObject = nameKind == VK_STRING ? keptString(nameItem) : 0;
  let flags = 0;
  if (moduleKind == VK_STRING && moduleObject == 0) flags |= IMPORT_MODULE_NOT_KEPT;
  if (nameKind == VK_STRING && nameObject == 0) flags |= IMPORT_NAME_NOT_KEPT;
  if (moduleObject != 0 && (stringFlags(moduleObject) & SF_TRUNCATED) != 0) flags |= IMPORT_MODULE_TRUNCATED;
  if (nameObject != 0 && (stringFlags(nameObject) & SF_TRUNCATED) != 0) flags |= IMPORT_NAME_TRUNCATED;
  const record = newRecord(RK_IMPORT, OP_STACK_GLOBAL, offset);
  setField(record, F_A, <f64>recordStringOf(moduleObject, MAX_KEPT_STRING_BYTES));
  setField(record, F_B, <f64>recordStringOf(nameObject, MAX_KEPT_STRING_BYTES));
  const ordinal = importOrdinal;
  importOrdinal += 1;
  setField(record, F_C, ordinal);
  setField(record, F_D, <f64>protocol);
  setField(record, F_E, <f64>moduleKind);
  setField(record, F_F, <f64>nameKind);
  setField(record, F_G, -1);
  setField(record, F_H, <f64>flags);
  setField(record, F_I, operandOrdinal(moduleItem));
  setField(record, F_J, operandOrdinal(nameItem));
  if (isCertainlyNotString(moduleKind) || isCertainlyNotString(nameKind)) {
    error(ERR_STACK_GLOBAL_TYPE, offset, <f64>moduleKind, <f64>nameKind, false);
  }
  const resolved = moduleObject != 0 && nameObject != 0;
  drop(2);
  push(VK_GLOBAL, resolved ? 0 : VF_UNRESOLVED, <u32>(resolved ? moduleObject : 0), ordinal, <f64>(resolved ? nameObject : 0));
}

/** Kinds CPython can never see as `str` (STACK_GLOBAL then fails); calls, globals and unknowns might be. */
function isCertainlyNotString(kind: i32): bool {
  return (
    kind == VK_NONE ||
    kind == VK_BOOL ||
    kind == VK_INT ||
    kind == VK_FLOAT ||
    kind == VK_BYTES ||
    kind == VK_BYTEARRAY ||
    kind == VK_TUPLE ||
    kind == VK_LIST ||
    kind == VK_DICT ||
    kind == VK_SET ||
    kind == VK_FROZENSET ||
    kind == VK_BUFFER
  );
}

function operandOrdinal(item: usize): f64 {
  const kind = itemKind(item);
  if (kind == VK_CALL || kind == VK_PERSISTENT || kind == VK_GLOBAL || kind == VK_EXTENSION || kind == VK_UNKNOWN) return itemX(item);
  return -1;
}

/** EXT1/EXT2/EXT4: an import through copyreg's extension registry, always unresolved here. */
function extension(op: i32, offset: i64, code: i64): void {
  const record = newRecord(RK_IMPORT, op, offset);
  setField(record, F_A, -1);
  setField(record, F_B, -1);
  const ordinal = importOrdinal;
  importOrdinal += 1;
  setField(record, F_C, ordinal);
  setField(record, F_D, <f64>protocol);
  setField(record, F_E, <f64>VK_EXTENSION);
  setField(record, F_F, <f64>VK_EXTENSION);
  setField(record, F_G, <f64>code);
  setField(record, F_H, 0);
  setField(record, F_I, -1);
  setField(record, F_J, -1);
  if (code <= 0) error(ERR_EXTENSION_CODE, offset, <f64>code, 0, false);
  push(VK_EXTENSION, 0, 0, <f64>code, ordinal);
}

/**
 * APPEND(S), SETITEM(S), ADDITEMS on something that is not a plain literal
 * container: a global itself (e.g. `sys.modules`, a module's dict) or an
 * object made by a call. That runs code (`__setitem__`, `append`, `extend`,
 * `add`) or changes global state, so it is reported as a call whose callee is
 * the target and whose arguments are the items [from, top).
 */
function stateChange(op: i32, offset: i64, target: usize, from: i32): void {
  const kind = itemKind(target);
  if (kind != VK_GLOBAL && kind != VK_EXTENSION && kind != VK_CALL && kind != VK_PERSISTENT && kind != VK_UNKNOWN) return;
  beginCall(op, offset, target, 2);
  emitRange(from, stackLength, op);
}

/** OBJ: MARK, class, args… → class(*args). */
function objectFromMark(op: i32, offset: i64): void {
  const mark = popMark();
  if (mark < 0) markMissing(offset);
  const from = mark < 0 ? stackLength : mark;
  if (stackLength - from < 1) underflow(offset, 1);
  const callee = stackLength - from >= 1 ? itemAt(from) : unknownItem(UNKNOWN_UNDERFLOW);
  beginCall(op, offset, callee, 2);
  emitRange(from + 1, stackLength, op);
  rememberResult(callee);
  truncateStack(from);
  pushResult();
}

function memoFetch(key: u64, offset: i64): void {
  const item = memoGet(key);
  if (item == 0) {
    error(ERR_MEMO_MISSING, offset, <f64>key, 0, false);
    push(VK_UNKNOWN, 0, 0, <f64>UNKNOWN_MEMO_MISSING, 0);
  } else {
    pushCopy(item);
  }
}

function frame(offset: i64, length: u64): void {
  if (length > <u64>i64.MAX_VALUE) {
    error(ERR_LENGTH_OVERFLOW, offset, <f64>length, <f64>i64.MAX_VALUE, true);
    return;
  }
  if (frameActive) {
    frameFlags |= FRAME_NESTED;
    closeFrame();
  }
  frameActive = true;
  frameOffset = offset;
  frameStart = offset + 9;
  frameLength = <i64>length;
  frameEnd = frameStart + frameLength;
  frameFlags = 0;
  framePickle = pickleIndex;
}

/** One read of [start, start + length) under CPython's framing rules. */
function frameRead(start: i64, length: i64): void {
  if (start >= frameEnd) {
    closeFrame();
    return;
  }
  if (start + length > frameEnd) frameFlags |= FRAME_STRADDLED;
}

function closeFrame(): void {
  if (!frameActive) return;
  frameActive = false;
  const record = newRecord(RK_FRAME, OP_FRAME, frameOffset);
  setField(record, F_PICKLE, <f64>framePickle);
  setField(record, F_A, <f64>frameLength);
  setField(record, F_B, <f64>frameFlags);
  setField(record, F_C, <f64>frameStart);
}

function stop(offset: i64): void {
  const record = newRecord(RK_STOP, OP_STOP, offset);
  if (need(offset, 1)) {
    setField(record, F_A, 1);
    valuesLeft = MAX_VALUES_PER_RECORD;
    emitValue(operand(0), 0, OP_STOP);
  } else {
    setField(record, F_A, 0);
  }
  const after = offset + 1;
  let rest: i64 = 0;
  if (frameActive) {
    if (after < frameEnd) {
      // The frame stays open while its rest is skipped, so a frame longer than the stream is still caught.
      frameFlags |= FRAME_STOP_INSIDE;
      rest = frameEnd - after;
    } else {
      closeFrame();
    }
  }
  afterOpcode();
  pickleIndex++;
  pickleStarted = false;
  protocol = 0;
  degraded = false;
  limitsReported = 0;
  resetPickleValues();
  updateContext();
  if (maxPickles > 0 && pickleIndex >= maxPickles) {
    closeFrame();
    halt(HALT_MAX_PICKLES, after);
    return;
  }
  if (rest > 0) {
    // CPython has read the whole frame into memory: the next load starts after it.
    opcode = OP_STOP;
    beginPayload(after, rest, 0, 0, false);
  }
}

function startPickle(offset: i64): void {
  pickleStarted = true;
  updateContext();
  newRecord(RK_PICKLE_START, -1, offset);
}

function trailing(offset: i64, byte: i32): void {
  const record = newRecord(RK_TRAILING, -1, offset);
  setField(record, F_A, <f64>byte);
  halt(HALT_TRAILING, offset);
}

function halt(reason: i32, offset: i64): void {
  const record = newRecord(RK_HALT, -1, offset);
  setField(record, F_A, <f64>reason);
  state = ST_HALTED;
  haltOffset = offset;
  windowPosition = windowLength;
}

// ---------------------------------------------------------------------------
// Stack helpers that report CPython's failures.

function need(offset: i64, count: i32): bool {
  const have = available();
  if (have >= count) return true;
  underflowCounts(offset, count, have);
  return false;
}

function underflow(offset: i64, count: i32): void {
  underflowCounts(offset, count, available());
}

function underflowCounts(offset: i64, count: i32, have: i32): void {
  if (!degraded) error(ERR_STACK_UNDERFLOW, offset, <f64>count, <f64>(have < 0 ? 0 : have), false);
}

function markMissing(offset: i64): void {
  if (!degraded) error(ERR_MARK_MISSING, offset, 0, 0, false);
}

function pushUnknownUnderflow(): void {
  push(VK_UNKNOWN, 0, 0, <f64>UNKNOWN_UNDERFLOW, 0);
}

/** True when the kept strings `module` and `name` are an entry of the pause list. */
function isPauseName(module: usize, name: usize): bool {
  if (module == 0 || name == 0) return false;
  let cursor: i32 = 0;
  for (let entry = 0; entry < pauseEntries; entry++) {
    if (cursor + 2 > PAUSE_NAMES_BYTES) return false;
    const moduleLength = <i32>load<u16>(pauseNames + <usize>cursor);
    const moduleAt = cursor + 2;
    cursor = moduleAt + moduleLength;
    if (cursor + 2 > PAUSE_NAMES_BYTES) return false;
    const nameLength = <i32>load<u16>(pauseNames + <usize>cursor);
    const nameAt = cursor + 2;
    cursor = nameAt + nameLength;
    if (cursor > PAUSE_NAMES_BYTES) return false;
    if (sameBytes(module, pauseNames + <usize>moduleAt, moduleLength) && sameBytes(name, pauseNames + <usize>nameAt, nameLength)) return true;
  }
  return false;
}

function sameBytes(object: usize, bytes: usize, length: i32): bool {
  if (stringLength(object) != length) return false;
  const text = stringBytes(object);
  for (let index = 0; index < length; index++) {
    if (load<u8>(text + <usize>index) != load<u8>(bytes + <usize>index)) return false;
  }
  return true;
}

/** SETITEM(S) on a literal dict on the stack: keep its first MAX_KEPT_DICT_PAIRS pairs for evidence. */
function addDictPairs(containerIndex: i32, from: i32, pairs: i32): void {
  if (pairs <= 0 || containerIndex < 0 || containerIndex >= MAX_STACK_ITEMS || containerIndex >= stackLength) return;
  const slot = itemAt(containerIndex);
  if (itemKind(slot) != VK_DICT) return;
  const flags = itemFlags(slot);
  const total = itemY(slot) + <f64>pairs;
  if ((flags & VF_NOT_KEPT) != 0) {
    writeItem(slot, VK_DICT, flags, itemA(slot), itemX(slot), total);
    return;
  }
  const previous = <usize>itemA(slot);
  const previousPairs = previous == 0 ? 0 : tupleKept(previous);
  const wanted = previousPairs + pairs;
  const keep = wanted < MAX_KEPT_DICT_PAIRS ? wanted : MAX_KEPT_DICT_PAIRS;
  if (keep == previousPairs) {
    writeItem(slot, VK_DICT, flags | VF_TRUNCATED, itemA(slot), itemX(slot), total);
    return;
  }
  const object = keepDictPairs(previous, from, keep);
  let newFlags = flags;
  if (object == 0) newFlags |= VF_NOT_KEPT;
  else if (keep < wanted) newFlags |= VF_TRUNCATED;
  writeItem(slot, VK_DICT, newFlags, <u32>object, itemX(slot), total);
}

function pushContainer(kind: i32): void {
  push(kind, 0, 0, containerOrdinal, 0);
  containerOrdinal += 1;
}

/** Builds a tuple of stack items [from, to), keeps up to MAX_KEPT_TUPLE_ITEMS of them, and replaces them with it. */
function pushTuple(from: i32, to: i32): void {
  const length = to - from;
  let object: usize = 0;
  let flags = 0;
  if (length > 0) {
    const keep = length < MAX_KEPT_TUPLE_ITEMS ? length : MAX_KEPT_TUPLE_ITEMS;
    object = keepTuple(from, keep);
    if (object == 0) flags |= VF_NOT_KEPT;
    else if (keep < length) flags |= VF_TRUNCATED;
  }
  truncateStack(from);
  push(VK_TUPLE, flags, <u32>object, 0, <f64>length);
}

function pushPersistent(): void {
  push(VK_PERSISTENT, 0, 0, persistentOrdinal - 1, 0);
}

// A call result is described by three numbers kept between emitting the call and pushing the result.
let resultModule: u32 = 0;
let resultName: f64 = 0;
let resultOrdinal: f64 = 0;

/** Remembers what the result of the call just emitted refers to (before its operands are popped). */
function rememberResult(callee: usize): void {
  const kind = itemKind(callee);
  if (kind == VK_GLOBAL && (itemFlags(callee) & VF_UNRESOLVED) == 0) {
    resultModule = itemA(callee);
    resultName = itemY(callee);
  } else {
    resultModule = 0;
    resultName = 0;
  }
  resultOrdinal = callOrdinal - 1;
}

function pushResult(): void {
  push(VK_CALL, 0, resultModule, resultOrdinal, resultName);
}

// ---------------------------------------------------------------------------
// Records.

function updateContext(): void {
  setRecordContext(pickleIndex, (afterError ? RF_AFTER_ERROR : 0) | (degraded ? RF_DEGRADED : 0));
}

/** A malformation where CPython fails; `halts` when the bytes after it cannot be read as opcodes. */
function error(code: i32, offset: i64, observed: f64, other: f64, halts: bool): usize {
  const record = newRecord(RK_ERROR, opcode, offset);
  setField(record, F_A, <f64>code);
  setField(record, F_B, observed);
  setField(record, F_C, other);
  afterError = true;
  updateContext();
  if (halts) halt(HALT_ERROR, offset);
  return record;
}

function limit(code: i32, offset: i64, observed: f64, bound: f64): void {
  const record = newRecord(RK_LIMIT, opcode, offset);
  setField(record, F_A, <f64>code);
  setField(record, F_B, observed);
  setField(record, F_C, bound);
}

/** Turns limit events of the opcode just executed into one status record per kind and pickle. */
@inline function afterOpcode(): void {
  // Inlined: runs after every opcode, and there is almost never anything to report.
  if (limitEvents != 0) reportLimitEvents();
}

function reportLimitEvents(): void {
  const events = takeLimitEvents();
  const fresh = events & ~limitsReported;
  limitsReported |= events;
  if (fresh == 0) return;
  if ((fresh & EVENT_STACK) != 0) limit(LIMIT_STACK, opcodeOffset, <f64>stackLength, <f64>MAX_STACK_ITEMS);
  if ((fresh & EVENT_MARKS) != 0) limit(LIMIT_MARKS, opcodeOffset, <f64>(MAX_MARKS + 1), <f64>MAX_MARKS);
  if ((fresh & EVENT_MEMO) != 0) limit(LIMIT_MEMO, opcodeOffset, <f64>memoCount, <f64>MAX_MEMO_KEY);
  if ((fresh & EVENT_HEAP) != 0) limit(LIMIT_HEAP, opcodeOffset, <f64>MAX_HEAP_BYTES, <f64>MAX_HEAP_BYTES);
  if ((fresh & EVENT_MEMORY) != 0) limit(LIMIT_MEMORY, opcodeOffset, 0, 0);
  if ((fresh & EVENT_DICT_HEAP) != 0) limit(LIMIT_DICT_HEAP, opcodeOffset, <f64>MAX_DICT_HEAP_BYTES, <f64>MAX_DICT_HEAP_BYTES);
  if ((fresh & (EVENT_MARKS | EVENT_MEMORY)) != 0) {
    degraded = true;
    updateContext();
  }
}

/** Copies a kept string object into the record strings (at most `cap` bytes); -1 when there is none. */
function recordStringOf(object: usize, cap: i32): i32 {
  if (object == 0) return -1;
  const length = stringLength(object);
  const kept = length < cap ? length : cap;
  const flags = stringFlags(object) | (kept < length ? SF_TRUNCATED : 0);
  return addRecordString(stringBytes(object), kept, stringEncoding(object), flags);
}

/** Emits the RK_CALL record and its callee value; the caller emits the argument values. */
function beginCall(op: i32, offset: i64, callee: usize, topValues: i32): usize {
  const record = newRecord(RK_CALL, op, offset);
  const ordinal = callOrdinal;
  callOrdinal += 1;
  setField(record, F_A, ordinal);
  setField(record, F_B, <f64>topValues);
  const kind = itemKind(callee);
  let module: usize = 0;
  let name: usize = 0;
  const resolvedGlobal = kind == VK_GLOBAL && (itemFlags(callee) & VF_UNRESOLVED) == 0;
  const changesState = op == OP_BUILD || op == OP_APPEND || op == OP_APPENDS || op == OP_SETITEM || op == OP_SETITEMS || op == OP_ADDITEMS;
  if (resolvedGlobal || (changesState && kind == VK_CALL)) {
    module = <usize>itemA(callee);
    name = <usize>itemY(callee);
  }
  setField(record, F_C, <f64>recordStringOf(module, MAX_KEPT_STRING_BYTES));
  setField(record, F_D, <f64>recordStringOf(name, MAX_KEPT_STRING_BYTES));
  valuesLeft = MAX_VALUES_PER_RECORD;
  emitValue(callee, 0, op);
  return record;
}

/** RK_PERSID and its id value. */
function persistent(op: i32, offset: i64, id: usize): void {
  const record = newRecord(RK_PERSID, op, offset);
  setField(record, F_A, persistentOrdinal);
  setField(record, F_B, 1);
  persistentOrdinal += 1;
  valuesLeft = MAX_VALUES_PER_RECORD;
  emitValue(id, 0, op);
  valuesLeft = 0;
}

/** One RK_VALUE in pre-order; tuples are followed by their kept children, within the depth and count caps. */
function emitValue(item: usize, depth: i32, op: i32): bool {
  if (valuesLeft <= 0) return false;
  valuesLeft--;
  // A window string is copied first, so its flags and kept bytes below are final.
  settle(item);
  const kind = itemKind(item);
  const x = itemX(item);
  const hasPayload = kind == VK_STRING || kind == VK_BYTES || kind == VK_BYTEARRAY;
  const record = newRecord(RK_VALUE, op, hasPayload ? <i64>x : -1);
  let flags = itemFlags(item);
  setField(record, F_A, <f64>depth);
  setField(record, F_B, <f64>kind);
  setField(record, F_C, x);
  setField(record, F_D, kind == VK_GLOBAL || kind == VK_CALL ? 0 : itemY(item));
  setField(record, F_E, -1);
  setField(record, F_F, -1);
  setField(record, F_I, -1);
  if (kind == VK_STRING) {
    setField(record, F_E, <f64>recordStringOf(<usize>itemA(item), MAX_KEPT_STRING_BYTES));
  } else if (kind == VK_GLOBAL || kind == VK_CALL) {
    setField(record, F_E, <f64>recordStringOf(<usize>itemA(item), MAX_KEPT_STRING_BYTES));
    setField(record, F_F, <f64>recordStringOf(<usize>itemY(item), MAX_KEPT_STRING_BYTES));
  } else if (kind == VK_TUPLE) {
    const object = <usize>itemA(item);
    const length = <i32>itemY(item);
    let children = 0;
    if (object != 0 && depth + 1 < MAX_VALUE_DEPTH) {
      const kept = tupleKept(object);
      for (let index = 0; index < kept && valuesLeft > 0; index++) {
        if (emitValue(tupleItem(object, index), depth + 1, op)) children++;
      }
    }
    if (children < length) flags |= VF_CHILDREN_CUT;
    setField(record, F_H, <f64>children);
  } else if (kind == VK_DICT) {
    const object = <usize>itemA(item);
    let children = 0;
    const kept = object == 0 ? 0 : tupleKept(object);
    if (object != 0 && depth + 1 < MAX_VALUE_DEPTH) {
      for (let index = 0; index < kept * 2 && valuesLeft > 0; index++) {
        if (emitValue(tupleItem(object, index), depth + 1, op)) children++;
      }
    }
    // An odd count means the budget ran out between a key and its value: the reader drops the lone key.
    if (children < <i32>itemY(item) * 2) flags |= VF_CHILDREN_CUT;
    setField(record, F_H, <f64>children);
  }
  setField(record, F_G, <f64>flags);
  return true;
}

/** OBJ/INST arguments straight from the stack, as one tuple value. */
function emitRange(from: i32, to: i32, op: i32): void {
  if (valuesLeft <= 0) return;
  valuesLeft--;
  const length = to > from ? to - from : 0;
  const record = newRecord(RK_VALUE, op, -1);
  setField(record, F_A, 0);
  setField(record, F_B, <f64>VK_TUPLE);
  setField(record, F_C, 0);
  setField(record, F_D, <f64>length);
  setField(record, F_E, -1);
  setField(record, F_F, -1);
  setField(record, F_I, -1);
  let children = 0;
  for (let index = from; index < to && valuesLeft > 0; index++) {
    if (emitValue(itemAt(index), 1, op)) children++;
  }
  setField(record, F_G, <f64>(children < length ? VF_CHILDREN_CUT : 0));
  setField(record, F_H, <f64>children);
}

/** SETITEM(S) with a string key and a value worth tracing (tensor names in state dicts). */
function dictEntry(container: usize, key: usize, value: usize, offset: i64): void {
  const containerKind = itemKind(container);
  if (containerKind != VK_DICT && containerKind != VK_CALL) return;
  if (itemKind(key) != VK_STRING) return;
  const valueKind = itemKind(value);
  if (valueKind != VK_CALL && valueKind != VK_PERSISTENT && valueKind != VK_DICT && valueKind != VK_LIST) return;
  const keyObject = keptString(key);
  if (keyObject == 0) return;
  if (dictEntriesThisOpcode >= MAX_DICT_ENTRIES_PER_OPCODE) {
    if (dictEntriesThisOpcode == MAX_DICT_ENTRIES_PER_OPCODE) {
      limit(LIMIT_DICT_ENTRIES, offset, <f64>(MAX_DICT_ENTRIES_PER_OPCODE + 1), <f64>MAX_DICT_ENTRIES_PER_OPCODE);
      dictEntriesThisOpcode++;
    }
    return;
  }
  dictEntriesThisOpcode++;
  const record = newRecord(RK_DICT_ENTRY, opcode, offset);
  setField(record, F_A, <f64>containerKind);
  setField(record, F_B, itemX(container));
  setField(record, F_C, <f64>recordStringOf(keyObject, MAX_DICT_KEY_BYTES));
  setField(record, F_D, itemX(key));
  setField(record, F_E, <f64>valueKind);
  setField(record, F_F, itemX(value));
  setField(record, F_G, itemY(key));
}
