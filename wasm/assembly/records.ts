/**
 * The result buffer: fixed-size records of float64 fields plus an area of
 * strings they refer to. TypeScript drains both after every call, so their
 * size is constant whatever the stream length. Nothing here can write past
 * its region: a full buffer drops the record and counts it.
 */
import { recordsBase, recordStringsBase } from "./memory-layout";
import {
  F_FLAGS,
  F_KIND,
  F_OFFSET,
  F_OPCODE,
  F_PICKLE,
  RECORD_BYTES,
  RECORD_CAPACITY,
  RECORD_FIELDS,
  RECORD_STRINGS_BYTES,
} from "./shared";

/** The most records and string bytes one opcode can emit (a capped SETITEMS or call), plus margin. */
const RECORD_RESERVE: i32 = 1200;
const RECORD_STRINGS_RESERVE: i32 = 327680;
const STRING_HEADER_BYTES: i32 = 8;

let recordCount: i32 = 0;
let stringsUsed: i32 = 0;
let droppedRecords: i32 = 0;
let droppedStrings: i32 = 0;

/** Common fields stamped on every record (pickle index and RF_* flags). */
export let currentPickle: i32 = 0;
export let currentFlags: i32 = 0;

export function setRecordContext(pickle: i32, flags: i32): void {
  currentPickle = pickle;
  currentFlags = flags;
}

export function recordsUsed(): i32 {
  return recordCount;
}

export function recordsDropped(): i32 {
  return droppedRecords + droppedStrings;
}

/** True when the buffers may not hold what the next opcode emits: time to let TypeScript drain. */
@inline export function recordsNearlyFull(): bool {
  return recordCount > RECORD_CAPACITY - RECORD_RESERVE || stringsUsed > RECORD_STRINGS_BYTES - RECORD_STRINGS_RESERVE;
}

export function clearRecords(): void {
  recordCount = 0;
  stringsUsed = 0;
}

/** Starts a record and returns its address, or 0 when the buffer is full (the record is dropped). */
export function newRecord(kind: i32, opcode: i32, offset: i64): usize {
  if (recordCount >= RECORD_CAPACITY) {
    droppedRecords++;
    return 0;
  }
  const record = recordsBase + <usize>recordCount * <usize>RECORD_BYTES;
  recordCount++;
  memory.fill(record, 0, <usize>RECORD_BYTES);
  store<f64>(record + (<usize>F_KIND << 3), <f64>kind);
  store<f64>(record + (<usize>F_OPCODE << 3), <f64>opcode);
  store<f64>(record + (<usize>F_OFFSET << 3), <f64>offset);
  store<f64>(record + (<usize>F_PICKLE << 3), <f64>currentPickle);
  store<f64>(record + (<usize>F_FLAGS << 3), <f64>currentFlags);
  return record;
}

/** Sets field `field` of a record; a dropped record (address 0) is ignored. */
export function setField(record: usize, field: i32, value: f64): void {
  if (record == 0 || field < 0 || field >= RECORD_FIELDS) return;
  store<f64>(record + (<usize>field << 3), value);
}

export function getField(record: usize, field: i32): f64 {
  if (record == 0 || field < 0 || field >= RECORD_FIELDS) return 0;
  return load<f64>(record + (<usize>field << 3));
}

/**
 * Copies `length` bytes at `source` into the string area with their encoding
 * and flags; returns the reference (byte position of the entry) or -1 when
 * the area is full.
 */
export function addRecordString(source: usize, length: i32, encoding: i32, flags: i32): i32 {
  if (length < 0) return -1;
  const needed = STRING_HEADER_BYTES + length;
  if (stringsUsed + needed > RECORD_STRINGS_BYTES) {
    droppedStrings++;
    return -1;
  }
  const reference = stringsUsed;
  const entry = recordStringsBase + <usize>reference;
  store<u32>(entry, <u32>length);
  store<u8>(entry, <u8>encoding, 4);
  store<u8>(entry, <u8>flags, 5);
  store<u16>(entry, 0, 6);
  memory.copy(entry + <usize>STRING_HEADER_BYTES, source, <usize>length);
  stringsUsed = (needed + 7) & ~7;
  stringsUsed += reference;
  return reference;
}
