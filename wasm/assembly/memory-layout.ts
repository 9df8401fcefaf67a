/**
 * Where everything lives in linear memory. Fixed regions sit right after the
 * static data; the arena (kept strings, tuples and memo segments) grows at
 * the top, one pickle at a time, and is reset at every new pickle. Memory is
 * grown only as far as it is touched, and a failed grow is a status, never a
 * trap.
 */
import {
  INPUT_WINDOW_BYTES,
  PAUSE_NAMES_BYTES,
  MAX_KEPT_STRING_BYTES,
  MAX_MARKS,
  MAX_MEMO_KEY,
  MAX_STACK_ITEMS,
  RECORD_BYTES,
  RECORD_CAPACITY,
  RECORD_STRINGS_BYTES,
} from "./shared";

/** Bytes of one symbolic value (see values.ts). */
export const ITEM_BYTES: usize = 24;
/** Memo keys per lazily allocated memo segment (small, so a short pickle clears little memory). */
export const MEMO_SEGMENT_SHIFT: u32 = 9;
export const MEMO_SEGMENT_KEYS: u32 = 1 << MEMO_SEGMENT_SHIFT;
export const MEMO_SEGMENTS: u32 = <u32>MAX_MEMO_KEY >> MEMO_SEGMENT_SHIFT;

const PAGE_BYTES: usize = 65536;
/** Scratch for the fixed argument of an opcode split across chunks. */
const ARG_SCRATCH_BYTES: usize = 16;
/** Scratch for the leading bytes of a LONG1/LONG4 payload. */
export const LONG_SCRATCH_BYTES: i32 = 32;
/** Scratch for a numeric text line (INT, LONG, FLOAT, GET, PUT). */
export const NUMBER_LINE_BYTES: i32 = 64;

export let inputBase: usize = 0;
export let recordsBase: usize = 0;
export let recordStringsBase: usize = 0;
export let opcodeShapes: usize = 0;
/** First offset (f64, -1 = never) of each opcode byte in the stream. */
export let opcodeFirstSeen: usize = 0;
export let argScratch: usize = 0;
export let longScratch: usize = 0;
export let lineScratchA: usize = 0;
export let lineScratchB: usize = 0;
export let numberScratch: usize = 0;
export let constantItems: usize = 0;
export let pauseNames: usize = 0;
export let marksBase: usize = 0;
export let stackBase: usize = 0;
export let memoDirectory: usize = 0;
/** Indexes of the directory slots in use, so a reset clears only those. */
export let memoSegmentsUsed: usize = 0;
export let arenaBase: usize = 0;

let memoryBytes: usize = 0;

function align(value: usize, to: usize): usize {
  return (value + to - 1) & ~(to - 1);
}

/** Lays out the fixed regions once; false when the engine refuses the memory. */
export function layOut(): bool {
  if (arenaBase != 0) return true;
  let cursor = align(__heap_base, 16);
  inputBase = cursor;
  cursor = align(cursor + <usize>INPUT_WINDOW_BYTES, 16);
  recordsBase = cursor;
  cursor += <usize>RECORD_CAPACITY * <usize>RECORD_BYTES;
  recordStringsBase = cursor;
  cursor = align(cursor + <usize>RECORD_STRINGS_BYTES, 16);
  opcodeShapes = cursor;
  cursor += 256;
  opcodeFirstSeen = cursor;
  cursor += 256 * 8;
  argScratch = cursor;
  cursor += ARG_SCRATCH_BYTES;
  longScratch = cursor;
  cursor += <usize>LONG_SCRATCH_BYTES;
  numberScratch = cursor;
  cursor += <usize>NUMBER_LINE_BYTES;
  lineScratchA = cursor;
  cursor = align(cursor + <usize>MAX_KEPT_STRING_BYTES, 16);
  lineScratchB = cursor;
  cursor = align(cursor + <usize>MAX_KEPT_STRING_BYTES, 16);
  constantItems = cursor;
  cursor += ITEM_BYTES * 8;
  pauseNames = cursor;
  cursor += <usize>PAUSE_NAMES_BYTES;
  marksBase = cursor;
  cursor += <usize>MAX_MARKS * 4;
  stackBase = align(cursor, 8);
  cursor = stackBase + <usize>MAX_STACK_ITEMS * ITEM_BYTES;
  memoDirectory = cursor;
  cursor += <usize>MEMO_SEGMENTS * 4;
  memoSegmentsUsed = cursor;
  cursor += <usize>MEMO_SEGMENTS * 4;
  arenaBase = align(cursor, 16);
  memoryBytes = <usize>memory.size() * PAGE_BYTES;
  return ensureMemory(arenaBase);
}

/**
 * Memory grows at least this much at a time: every grow makes the engine
 * replace the JavaScript view of the memory and count it as new external
 * memory, and a page at a time (one grow per 4,096 short strings) kept V8's
 * garbage collector busy for a fifth of an opcode-dense scan.
 */
const GROW_STEP_PAGES: i32 = 64;

/** Grows memory so that [0, end) is addressable; false when the engine refuses. */
export function ensureMemory(end: usize): bool {
  if (end <= memoryBytes) return true;
  const missing = end - memoryBytes;
  const pages = <i32>((missing + PAGE_BYTES - 1) / PAGE_BYTES);
  // A larger step is only a convenience: when the engine refuses it, ask for exactly what is missing.
  if (pages >= GROW_STEP_PAGES || memory.grow(GROW_STEP_PAGES) < 0) {
    if (memory.grow(pages) < 0) return false;
  }
  memoryBytes = <usize>memory.size() * PAGE_BYTES;
  return end <= memoryBytes;
}
