/**
 * The symbolic stack, MARK positions, memo and the per-pickle arena of kept
 * strings and tuples. A value is ITEM_BYTES: kind u8, flags u8, u16 unused,
 * a u32, x f64, y f64 (meaning per kind in shared.ts). Every limit here
 * degrades to "unknown value" plus a status, never a trap: stack depth and
 * memo keys beyond the limits are counted but not stored, and the arena
 * refuses allocations past MAX_HEAP_BYTES.
 *
 * Window strings: a short string whose bytes are whole in the input window
 * is pushed without copying them. Its item points into the window (`a` is
 * the address of the bytes) and its spare byte holds the encoding, which
 * marks it. Most strings of an opcode-dense pickle die on the stack (APPENDS
 * into a list) and are never copied. The window is overwritten by the next
 * feed, so a window string is copied into the arena ("settled") as soon as
 * anything copies or reads it (memo, tuple, dict, DUP, emitted values,
 * STACK_GLOBAL), and every one still on the stack is settled before the
 * machine returns to TypeScript (`settleWindowStrings`). Only stack slots
 * ever hold window strings. The heap budget is charged when the string is
 * pushed, exactly as for a copied string, so limits fall at the same opcode
 * whatever the chunking.
 */
import {
  arenaBase,
  constantItems,
  ensureMemory,
  ITEM_BYTES,
  marksBase,
  MEMO_SEGMENT_KEYS,
  MEMO_SEGMENT_SHIFT,
  MEMO_SEGMENTS,
  memoDirectory,
  memoSegmentsUsed,
  stackBase,
} from "./memory-layout";
import {
  MAX_DICT_HEAP_BYTES,
  MAX_HEAP_BYTES,
  MAX_KEPT_STRING_BYTES,
  MAX_MARKS,
  MAX_MEMO_KEY,
  MAX_STACK_ITEMS,
  SF_TRUNCATED,
  UNKNOWN_MEMO_LIMIT,
  UNKNOWN_STACK_LIMIT,
  UNKNOWN_UNDERFLOW,
  VF_NOT_KEPT,
  VK_DICT,
  VK_EMPTY,
  VK_STRING,
  VK_UNKNOWN,
} from "./shared";

/** Logical stack length past which pushes are no longer even counted (keeps i32 arithmetic safe). */
const MAX_LOGICAL_STACK: i32 = 1 << 30;

export let stackLength: i32 = 0;
export let markCount: i32 = 0;
/** MARKs beyond MAX_MARKS: their positions are lost, the state is degraded. */
export let lostMarks: i32 = 0;
export let memoCount: i64 = 0;

let arenaTop: usize = 0;
let segmentsInUse: i32 = 0;
let directoryCleared = false;
let heapUsed: i32 = 0;
let dictHeapUsed: i32 = 0;
/** Lowest stack index that may hold a window string (i32.MAX_VALUE: none). */
let windowStringsFloor: i32 = i32.MAX_VALUE;

/** Sticky per-pickle limit events, read and cleared by the machine to emit one status each. */
export let limitEvents: i32 = 0;
export const EVENT_STACK: i32 = 1;
export const EVENT_MARKS: i32 = 2;
export const EVENT_MEMO: i32 = 4;
export const EVENT_HEAP: i32 = 8;
export const EVENT_MEMORY: i32 = 16;
export const EVENT_DICT_HEAP: i32 = 32;

export function takeLimitEvents(): i32 {
  const events = limitEvents;
  limitEvents = 0;
  return events;
}

// Item accessors.
@inline export function itemKind(item: usize): i32 {
  return <i32>load<u8>(item);
}
@inline export function itemFlags(item: usize): i32 {
  return <i32>load<u8>(item, 1);
}
@inline export function itemA(item: usize): u32 {
  return load<u32>(item, 4);
}
@inline export function itemX(item: usize): f64 {
  return load<f64>(item, 8);
}
@inline export function itemY(item: usize): f64 {
  return load<f64>(item, 16);
}
/** The encoding of a window string, 0 for every other item. */
@inline function windowEncoding(item: usize): i32 {
  return <i32>load<u8>(item, 2);
}

export function writeItem(item: usize, kind: i32, flags: i32, a: u32, x: f64, y: f64): void {
  store<u8>(item, <u8>kind);
  store<u8>(item, <u8>flags, 1);
  store<u16>(item, 0, 2);
  store<u32>(item, a, 4);
  store<f64>(item, x, 8);
  store<f64>(item, y, 16);
}

/** Read-only placeholder values for items the machine could not keep. */
export function unknownItem(reason: i32): usize {
  const item = constantItems + <usize>(reason & 7) * ITEM_BYTES;
  writeItem(item, VK_UNKNOWN, 0, 0, <f64>reason, 0);
  return item;
}

/** Resets everything that belongs to one pickle (CPython starts each load with an empty stack and memo). */
export function resetPickleValues(): void {
  stackLength = 0;
  markCount = 0;
  lostMarks = 0;
  memoCount = 0;
  if (!directoryCleared) {
    memory.fill(memoDirectory, 0, <usize>MEMO_SEGMENTS * 4);
    directoryCleared = true;
  } else {
    for (let index = 0; index < segmentsInUse; index++) {
      store<u32>(memoDirectory + (<usize>load<u32>(memoSegmentsUsed + (<usize>index << 2)) << 2), 0);
    }
  }
  segmentsInUse = 0;
  arenaTop = arenaBase;
  heapUsed = 0;
  dictHeapUsed = 0;
  limitEvents = 0;
  windowStringsFloor = i32.MAX_VALUE;
}

// Stack.

/** The current fence: items at or below it belong to an enclosing MARK. */
export function fence(): i32 {
  return markCount > 0 ? load<i32>(marksBase + (<usize>(markCount - 1) << 2)) : 0;
}

export function available(): i32 {
  return stackLength - fence();
}

/** Address of the item at logical index `index`, or an "unknown" placeholder when it was not kept. */
export function itemAt(index: i32): usize {
  if (index < 0) return unknownItem(UNKNOWN_UNDERFLOW);
  if (index >= MAX_STACK_ITEMS || index >= stackLength) return unknownItem(UNKNOWN_STACK_LIMIT);
  return stackBase + <usize>index * ITEM_BYTES;
}

/** The item `depth` places below the top (0 = top) when it is above the fence, else an underflow placeholder. */
export function operand(depth: i32): usize {
  const index = stackLength - 1 - depth;
  if (index < fence()) return unknownItem(UNKNOWN_UNDERFLOW);
  return itemAt(index);
}

export function push(kind: i32, flags: i32, a: u32, x: f64, y: f64): void {
  if (stackLength >= MAX_LOGICAL_STACK) {
    limitEvents |= EVENT_STACK;
    return;
  }
  if (stackLength < MAX_STACK_ITEMS) {
    writeItem(stackBase + <usize>stackLength * ITEM_BYTES, kind, flags, a, x, y);
  } else {
    limitEvents |= EVENT_STACK;
  }
  stackLength++;
}

/**
 * Pushes a window string: `length` bytes at address `bytes` in the input
 * window, found at stream offset `offset` (the caller has charged the heap
 * budget for the bytes that settling it will keep).
 */
export function pushWindowString(flags: i32, encoding: i32, bytes: usize, offset: f64, length: f64): void {
  if (stackLength >= MAX_LOGICAL_STACK) {
    limitEvents |= EVENT_STACK;
    return;
  }
  if (stackLength < MAX_STACK_ITEMS) {
    const item = stackBase + <usize>stackLength * ITEM_BYTES;
    writeItem(item, VK_STRING, flags, <u32>bytes, offset, length);
    store<u8>(item, <u8>encoding, 2);
    if (stackLength < windowStringsFloor) windowStringsFloor = stackLength;
  } else {
    limitEvents |= EVENT_STACK;
  }
  stackLength++;
}

/** Copies a window string into the arena in place (see the top of this file); any other item is left alone. */
export function settle(item: usize): void {
  const encoding = windowEncoding(item);
  if (encoding == 0) return;
  const length = itemY(item);
  const kept = length < <f64>MAX_KEPT_STRING_BYTES ? <i32>length : MAX_KEPT_STRING_BYTES;
  const object = arenaPlace(8 + kept);
  if (object == 0) {
    writeItem(item, VK_STRING, VF_NOT_KEPT, 0, itemX(item), length);
    return;
  }
  store<u32>(object, <u32>kept);
  store<u8>(object, <u8>encoding, 4);
  store<u8>(object, <u8>(<f64>kept < length ? SF_TRUNCATED : 0), 5);
  store<u16>(object, 0, 6);
  memory.copy(object + 8, <usize>itemA(item), <usize>kept);
  writeItem(item, VK_STRING, itemFlags(item), <u32>object, itemX(item), length);
}

/** Settles every window string left on the stack: the input window is about to be overwritten. */
export function settleWindowStrings(): void {
  const end = stackLength < MAX_STACK_ITEMS ? stackLength : MAX_STACK_ITEMS;
  // Every slot at or above the floor was pushed after it was set, so this costs no more than those pushes.
  for (let index = windowStringsFloor; index < end; index++) settle(stackBase + <usize>index * ITEM_BYTES);
  windowStringsFloor = i32.MAX_VALUE;
}

/** The kept string object of a VK_STRING item (0 when not kept), settling a window string first. */
export function keptString(item: usize): usize {
  settle(item);
  return <usize>itemA(item);
}

/** Pushes a copy of `item` (which may be a stack slot, a memo slot or a placeholder). */
export function pushCopy(item: usize): void {
  settle(item);
  push(itemKind(item), itemFlags(item), itemA(item), itemX(item), itemY(item));
}

/** Pops up to `count` items, never below the fence. */
export function drop(count: i32): void {
  const floor = fence();
  const target = stackLength - count;
  stackLength = target < floor ? floor : target;
}

/** Cuts the stack back to `length` (after a MARK-delimited opcode). */
export function truncateStack(length: i32): void {
  if (length >= 0 && length < stackLength) stackLength = length;
}

// Marks.

export function pushMark(): void {
  if (markCount >= MAX_MARKS) {
    lostMarks++;
    limitEvents |= EVENT_MARKS;
    return;
  }
  store<i32>(marksBase + (<usize>markCount << 2), stackLength);
  markCount++;
}

/** True when the top of the stack is a MARK (POP removes it, as CPython's load_pop does). */
export function markOnTop(): bool {
  return markCount > 0 && fence() == stackLength;
}

/**
 * Pops the innermost MARK and returns its stack position; a lost MARK (beyond
 * the limit) answers the current length (nothing above it); -1 when there is no MARK.
 */
export function popMark(): i32 {
  if (lostMarks > 0) {
    lostMarks--;
    return stackLength;
  }
  if (markCount == 0) return -1;
  markCount--;
  const position = load<i32>(marksBase + (<usize>markCount << 2));
  return position <= stackLength ? position : stackLength;
}

// Memo.

/** The stored value for `key`, 0 when absent, or an "unknown" placeholder beyond the tracked keys. */
export function memoGet(key: u64): usize {
  if (key >= <u64>MAX_MEMO_KEY) return unknownItem(UNKNOWN_MEMO_LIMIT);
  const segment = <u32>key >> MEMO_SEGMENT_SHIFT;
  const base = load<u32>(memoDirectory + (<usize>segment << 2));
  if (base == 0) return 0;
  const item = <usize>base + <usize>(<u32>key & (MEMO_SEGMENT_KEYS - 1)) * ITEM_BYTES;
  return itemKind(item) == VK_EMPTY ? 0 : item;
}

/** Stores a copy of `item` under `key` (PUT, BINPUT, LONG_BINPUT, MEMOIZE). */
export function memoPut(key: u64, item: usize): void {
  if (key >= <u64>MAX_MEMO_KEY) {
    limitEvents |= EVENT_MEMO;
    memoCount++;
    return;
  }
  const segment = <u32>key >> MEMO_SEGMENT_SHIFT;
  const slot = memoDirectory + (<usize>segment << 2);
  let base = load<u32>(slot);
  if (base == 0) {
    const bytes = <usize>MEMO_SEGMENT_KEYS * ITEM_BYTES;
    const start = (arenaTop + 15) & ~(<usize>15);
    if (!ensureMemory(start + bytes)) {
      limitEvents |= EVENT_MEMORY;
      return;
    }
    memory.fill(start, 0, bytes);
    arenaTop = start + bytes;
    base = <u32>start;
    store<u32>(slot, base);
    store<u32>(memoSegmentsUsed + (<usize>segmentsInUse << 2), segment);
    segmentsInUse++;
  }
  const target = <usize>base + <usize>(<u32>key & (MEMO_SEGMENT_KEYS - 1)) * ITEM_BYTES;
  if (itemKind(target) == VK_EMPTY) memoCount++;
  settle(item);
  // A dict is memoised before its items are set: the copy cannot know them.
  const kind = itemKind(item);
  const stale = kind == VK_DICT;
  writeItem(target, kind, stale ? itemFlags(item) | VF_NOT_KEPT : itemFlags(item), stale ? 0 : itemA(item), itemX(item), itemY(item));
}

// Arena: kept strings ([u32 length][u8 encoding][u8 flags][u16 0][bytes]) and tuples ([u32 count][u32 0][items]).

/** Allocates `bytes` in the arena under the heap budget; 0 when refused (limit reached). */
export function heapAllocate(bytes: i32): usize {
  if (bytes < 0 || heapUsed > MAX_HEAP_BYTES - bytes) {
    limitEvents |= EVENT_HEAP;
    return 0;
  }
  const start = (arenaTop + 7) & ~(<usize>7);
  if (!ensureMemory(start + <usize>bytes)) {
    limitEvents |= EVENT_MEMORY;
    return 0;
  }
  arenaTop = start + <usize>bytes;
  heapUsed += bytes;
  return start;
}

/** Charges `bytes` to the heap budget without allocating (window strings); false when refused. */
export function heapCharge(bytes: i32): bool {
  if (bytes < 0 || heapUsed > MAX_HEAP_BYTES - bytes) {
    limitEvents |= EVENT_HEAP;
    return false;
  }
  heapUsed += bytes;
  return true;
}

/** Arena bytes already charged to the heap budget (a window string being settled); 0 when memory is refused. */
function arenaPlace(bytes: i32): usize {
  const start = (arenaTop + 7) & ~(<usize>7);
  if (!ensureMemory(start + <usize>bytes)) {
    limitEvents |= EVENT_MEMORY;
    return 0;
  }
  arenaTop = start + <usize>bytes;
  return start;
}

/** Arena bytes for dict contents, under their own budget. */
function dictAllocate(bytes: i32): usize {
  if (bytes < 0 || dictHeapUsed > MAX_DICT_HEAP_BYTES - bytes) {
    limitEvents |= EVENT_DICT_HEAP;
    return 0;
  }
  const start = (arenaTop + 7) & ~(<usize>7);
  if (!ensureMemory(start + <usize>bytes)) {
    limitEvents |= EVENT_MEMORY;
    return 0;
  }
  arenaTop = start + <usize>bytes;
  dictHeapUsed += bytes;
  return start;
}

/**
 * A dict object ([u32 pairs][u32 0][key item, value item]…) holding the pairs
 * of `previous` (0 for none) followed by up to `keep - previousPairs` pairs
 * from stack items [from, from + 2·n); 0 when refused.
 */
export function keepDictPairs(previous: usize, from: i32, keep: i32): usize {
  const previousPairs = previous == 0 ? 0 : <i32>load<u32>(previous);
  const object = dictAllocate(8 + keep * 2 * <i32>ITEM_BYTES);
  if (object == 0) return 0;
  store<u32>(object, <u32>keep);
  store<u32>(object, 0, 4);
  const kept = previousPairs < keep ? previousPairs : keep;
  if (kept > 0) memory.copy(object + 8, previous + 8, <usize>kept * 2 * ITEM_BYTES);
  for (let pair = kept; pair < keep; pair++) {
    for (let half = 0; half < 2; half++) {
      const source = itemAt(from + (pair - kept) * 2 + half);
      settle(source);
      const target = object + 8 + (<usize>(pair * 2 + half)) * ITEM_BYTES;
      writeItem(target, itemKind(source), itemFlags(source), itemA(source), itemX(source), itemY(source));
    }
  }
  return object;
}

/** Keeps a copy of `length` bytes as a string object; 0 when the heap refused it. */
export function keepString(source: usize, length: i32, encoding: i32, flags: i32): usize {
  const object = heapAllocate(8 + length);
  if (object == 0) return 0;
  store<u32>(object, <u32>length);
  store<u8>(object, <u8>encoding, 4);
  store<u8>(object, <u8>flags, 5);
  store<u16>(object, 0, 6);
  memory.copy(object + 8, source, <usize>length);
  return object;
}

/** Allocates a string object of `length` bytes to be filled later (payloads that arrive in pieces). */
export function reserveString(length: i32, encoding: i32, flags: i32): usize {
  const object = heapAllocate(8 + length);
  if (object == 0) return 0;
  store<u32>(object, <u32>length);
  store<u8>(object, <u8>encoding, 4);
  store<u8>(object, <u8>flags, 5);
  store<u16>(object, 0, 6);
  return object;
}

@inline export function stringLength(object: usize): i32 {
  return <i32>load<u32>(object);
}
@inline export function stringEncoding(object: usize): i32 {
  return <i32>load<u8>(object, 4);
}
@inline export function stringFlags(object: usize): i32 {
  return <i32>load<u8>(object, 5);
}
@inline export function stringBytes(object: usize): usize {
  return object + 8;
}

/** Keeps up to `keep` stack items [from, from + keep) as a tuple object; 0 when refused. */
export function keepTuple(from: i32, keep: i32): usize {
  const object = heapAllocate(8 + keep * <i32>ITEM_BYTES);
  if (object == 0) return 0;
  store<u32>(object, <u32>keep);
  store<u32>(object, 0, 4);
  for (let i = 0; i < keep; i++) {
    const source = itemAt(from + i);
    settle(source);
    const target = object + 8 + <usize>i * ITEM_BYTES;
    writeItem(target, itemKind(source), itemFlags(source), itemA(source), itemX(source), itemY(source));
  }
  return object;
}

@inline export function tupleKept(object: usize): i32 {
  return <i32>load<u32>(object);
}
@inline export function tupleItem(object: usize, index: i32): usize {
  return object + 8 + <usize>index * ITEM_BYTES;
}
