/**
 * The pickle machine as a streaming scanner: `push(bytes)` any number of
 * times, then `finish()` once (STYLE.md §5). It runs the AssemblyScript
 * machine (wasm/assembly/index.ts) on a fixed input window and decodes its
 * records after every call, so memory stays flat whatever the stream
 * length. Payload bytes the machine does not look at (large BINBYTES8,
 * BYTEARRAY8, long strings) are skipped here without being copied into Wasm.
 *
 * The Wasm module is compiled once per process (synchronously on first use,
 * or ahead of time with `loadPickleMachine()`, which the main thread of a
 * browser needs for modules over 4 KB); each machine gets its own instance,
 * and finished instances are reused.
 */
import * as shared from '../../wasm/assembly/shared.ts';
import { PICKLE_WASM_BASE64 } from '../generated/pickle-wasm.ts';
import { createRecordDecoder } from './record-decoder.ts';
import { opcodeName } from './opcodes.ts';
import type { PickleCall, PickleName, PickleOpcodeSeen, PickleScanResult, PickleSummary, PickleUnscanned } from './types.ts';

// Plain local copies: module namespace reads are getters once transpiled, and these are read per record.
const {
  HALT_MAX_PICKLES,
  HALT_TRAILING,
  MAX_DICT_ENTRIES_PER_OPCODE,
  MAX_DICT_KEY_BYTES,
  MAX_HEAP_BYTES,
  MAX_KEPT_STRING_BYTES,
  MAX_KEPT_TUPLE_ITEMS,
  MAX_MARKS,
  MAX_MEMO_KEY,
  MAX_STACK_ITEMS,
  MAX_VALUES_PER_RECORD,
  MAX_VALUE_DEPTH,
  RECORD_FIELDS,
  RECORD_STRINGS_BYTES,
  RUN_DONE,
  RUN_PAUSED_AFTER_BUILD,
} = shared;

export type * from './types.ts';

export interface PickleMachineOptions {
  /** Added to every reported offset: the stream's position in its file or container entry. */
  baseOffset?: number;
  /**
   * Stop after this many pickles (a legacy torch file is exactly 5: magic,
   * protocol, sys info, data, storage keys; raw storage bytes follow). The
   * rest is reported as `unscanned` with reason `max-pickles`. 0 or absent:
   * read pickle after pickle to the end of the stream.
   */
  maxPickles?: number;
  /**
   * Pause after a BUILD on an object made by one of these globals (e.g.
   * `joblib.numpy_pickle.NumpyArrayWrapper`) and ask `onBuildPause` how many
   * raw bytes follow before the next opcode. At most PAUSE_NAMES_BYTES of names.
   */
  pauseAfterBuildOf?: readonly PickleName[];
  /**
   * Called synchronously during `push` at each such BUILD, with that call
   * (its state dict in `args[0]`) and every call listed so far (to look up
   * e.g. the `numpy.dtype` call its state refers to). Returns the raw bytes
   * to skip, or null for none. A value that is not a non-negative safe
   * integer counts as none.
   */
  onBuildPause?: (build: PickleCall, calls: readonly PickleCall[]) => PickleRawSkip | null;
}

/**
 * Raw bytes that follow a BUILD in the stream and are not opcodes: joblib
 * writes each NumpyArrayWrapper's array data right after its BUILD (joblib
 * 1.2 and later first write one byte giving a padding length, then the padding).
 */
export interface PickleRawSkip {
  /** Bytes of raw data (after the padding, when there is one). */
  bytes: number;
  /** One byte of padding length, then that many padding bytes, come first. */
  paddingPrefix?: boolean;
}

export interface PickleMachine {
  /** Feeds the next bytes of the stream (any size; only read during the call). */
  push(bytes: Uint8Array): void;
  /** Ends the stream and returns everything seen. Call once, after the last push. */
  finish(): PickleScanResult;
}

/** The machine's fixed limits, for documentation and reports (see shared.ts for the reasons). */
export const PICKLE_MACHINE_LIMITS = {
  maxStackItems: MAX_STACK_ITEMS,
  maxMarks: MAX_MARKS,
  maxMemoKey: MAX_MEMO_KEY,
  maxHeapBytes: MAX_HEAP_BYTES,
  maxKeptStringBytes: MAX_KEPT_STRING_BYTES,
  maxKeptTupleItems: MAX_KEPT_TUPLE_ITEMS,
  maxValuesPerRecord: MAX_VALUES_PER_RECORD,
  maxValueDepth: MAX_VALUE_DEPTH,
  maxDictEntriesPerOpcode: MAX_DICT_ENTRIES_PER_OPCODE,
  maxDictKeyBytes: MAX_DICT_KEY_BYTES,
} as const;

interface MachineExports {
  memory: WebAssembly.Memory;
  reset(maxPickles: number): number;
  inputPointer(): number;
  inputCapacity(): number;
  recordsPointer(): number;
  recordStringsPointer(): number;
  recordCount(): number;
  drained(): void;
  feed(length: number): number;
  resume(): number;
  skipWanted(): number;
  skip(count: number): void;
  finish(): void;
  consumedBytes(): number;
  opcodesSeen(): number;
  picklesCompleted(): number;
  haltedAt(): number;
  opcodeFirstSeenPointer(): number;
  pauseNamesPointer(): number;
  setBuildPauses(count: number): void;
  skipRaw(count: number, prefixed: number): void;
}

/** Idle instances kept for reuse, and the memory above which an instance is not kept. */
const MAX_IDLE_INSTANCES = 4;
const MAX_IDLE_MEMORY_BYTES = 32 * 1024 * 1024;

let compiledModule: WebAssembly.Module | null = null;
const idleInstances: MachineExports[] = [];

function wasmBytes(): Uint8Array<ArrayBuffer> {
  const binary = atob(PICKLE_WASM_BASE64);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

/** Compiles the Wasm module ahead of time (asynchronously); later machines start without compiling. */
export async function loadPickleMachine(): Promise<void> {
  if (!compiledModule) compiledModule = await WebAssembly.compile(wasmBytes());
}

function acquireInstance(): MachineExports {
  const idle = idleInstances.pop();
  if (idle) return idle;
  if (!compiledModule) compiledModule = new WebAssembly.Module(wasmBytes());
  return new WebAssembly.Instance(compiledModule, {}).exports as unknown as MachineExports;
}

function releaseInstance(machine: MachineExports): void {
  if (idleInstances.length < MAX_IDLE_INSTANCES && machine.memory.buffer.byteLength <= MAX_IDLE_MEMORY_BYTES) {
    idleInstances.push(machine);
  }
}

/** Creates a streaming pickle scanner. Throws only if the Wasm engine refuses to start it. */
export function createPickleMachine(options: PickleMachineOptions = {}): PickleMachine {
  const baseOffset = options.baseOffset ?? 0;
  const maxPickles = options.maxPickles ?? 0;
  if (!Number.isSafeInteger(baseOffset) || baseOffset < 0) throw new RangeError(`baseOffset must be a non-negative integer, got ${baseOffset}`);
  if (!Number.isSafeInteger(maxPickles) || maxPickles < 0) throw new RangeError(`maxPickles must be a non-negative integer, got ${maxPickles}`);
  const machine = acquireInstance();
  if (machine.reset(maxPickles) !== 1) throw new Error('the pickle machine could not reserve its memory');
  const decoder = createRecordDecoder(baseOffset);
  const inputPointer = machine.inputPointer();
  const capacity = machine.inputCapacity();
  const recordsPointer = machine.recordsPointer();
  const stringsPointer = machine.recordStringsPointer();
  let input = new Uint8Array(machine.memory.buffer, inputPointer, capacity);
  let state: 'open' | 'finished' = 'open';
  const pauses = options.pauseAfterBuildOf ?? [];
  if (pauses.length > 0) writePauseNames(machine, pauses);

  function drain(): void {
    const count = machine.recordCount();
    if (count === 0) return;
    const buffer = machine.memory.buffer;
    decoder.consume(
      new Float64Array(buffer, recordsPointer, count * RECORD_FIELDS),
      new Uint8Array(buffer, stringsPointer, RECORD_STRINGS_BYTES),
      count,
    );
    machine.drained();
  }

  function inputWindow(): Uint8Array {
    if (input.buffer !== machine.memory.buffer) input = new Uint8Array(machine.memory.buffer, inputPointer, capacity);
    return input;
  }

  return {
    push(bytes: Uint8Array): void {
      if (state !== 'open') throw new Error('PickleMachine.push called after finish()');
      let position = 0;
      while (position < bytes.length) {
        const wanted = machine.skipWanted();
        if (wanted > 0) {
          const step = Math.min(wanted, bytes.length - position);
          machine.skip(step);
          position += step;
          drain();
          continue;
        }
        const size = Math.min(capacity, bytes.length - position);
        inputWindow().set(bytes.subarray(position, position + size));
        let status = machine.feed(size);
        while (status !== RUN_DONE) {
          drain();
          if (status === RUN_PAUSED_AFTER_BUILD) {
            const build = decoder.decoded.lastCall;
            const plan = build && options.onBuildPause ? options.onBuildPause(build, decoder.decoded.calls) : null;
            const bytes = plan && Number.isSafeInteger(plan.bytes) && plan.bytes >= 0 ? plan.bytes : 0;
            machine.skipRaw(bytes, plan?.paddingPrefix && bytes === plan.bytes ? 1 : 0);
          }
          status = machine.resume();
        }
        drain();
        position += size;
      }
    },

    finish(): PickleScanResult {
      if (state !== 'open') throw new Error('PickleMachine.finish called twice');
      state = 'finished';
      machine.finish();
      drain();
      const bytesScanned = machine.consumedBytes();
      const firstSeen = new Float64Array(machine.memory.buffer, machine.opcodeFirstSeenPointer(), 256);
      const opcodeFirstSeen: PickleOpcodeSeen[] = [];
      firstSeen.forEach((offset, opcode) => {
        if (offset >= 0) opcodeFirstSeen.push({ opcode, opcodeName: opcodeName(opcode), offset: baseOffset + offset });
      });
      opcodeFirstSeen.sort((a, b) => a.offset - b.offset);
      const result = assemble(decoder, {
        baseOffset,
        bytesScanned,
        opcodeFirstSeen,
        opcodeCount: machine.opcodesSeen(),
        pickleCount: machine.picklesCompleted(),
      });
      releaseInstance(machine);
      return result;
    },
  };
}

const textEncoder = new TextEncoder();

/** Writes the pause list as u16 length + UTF-8 bytes for module, then name, per entry. */
function writePauseNames(machine: MachineExports, names: readonly PickleName[]): void {
  const parts: Uint8Array[] = [];
  for (const { module, name } of names) {
    for (const text of [module, name]) {
      const bytes = textEncoder.encode(text);
      if (bytes.length > 0xffff) throw new RangeError(`pause name too long: ${bytes.length} bytes`);
      parts.push(Uint8Array.of(bytes.length & 0xff, bytes.length >>> 8), bytes);
    }
  }
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  if (total > shared.PAUSE_NAMES_BYTES) {
    throw new RangeError(`pauseAfterBuildOf needs ${total} bytes, above the limit of ${shared.PAUSE_NAMES_BYTES}`);
  }
  const target = new Uint8Array(machine.memory.buffer, machine.pauseNamesPointer(), shared.PAUSE_NAMES_BYTES);
  let offset = 0;
  for (const part of parts) {
    target.set(part, offset);
    offset += part.length;
  }
  machine.setBuildPauses(names.length);
}

interface MachineTotals {
  baseOffset: number;
  bytesScanned: number;
  opcodeFirstSeen: PickleOpcodeSeen[];
  opcodeCount: number;
  pickleCount: number;
}

/**
 * The final result. One judgement is made here: a pickle after the first
 * that never reached STOP and named nothing (no PROTO, import, call or
 * persistent id) is bytes trailing the last pickle, not a broken pickle, so
 * its errors are not reported as malformations.
 */
function assemble(decoder: ReturnType<typeof createRecordDecoder>, totals: MachineTotals): PickleScanResult {
  const decoded = decoder.decoded;
  const end = totals.baseOffset + totals.bytesScanned;
  let pickles: PickleSummary[] = decoded.pickles;
  let errors = decoded.errors;
  let limits = decoded.limits;
  let unscanned: PickleUnscanned | null = null;

  const last = pickles.at(-1);
  if (last && last.index > 0 && last.stopOffset === null && !decoded.picklesWithContent.has(last.index)) {
    const reason = errors.find((error) => error.pickleIndex === last.index);
    unscanned = {
      offset: last.offset,
      length: end - last.offset,
      reason: 'trailing-data',
      detail: reason ? `they do not form a pickle: ${reason.message}` : 'they do not form a pickle',
    };
    pickles = pickles.filter((pickle) => pickle !== last);
    errors = errors.filter((error) => error.pickleIndex !== last.index);
    limits = limits.filter((limit) => limit.pickleIndex !== last.index);
  } else if (decoded.halt) {
    const { reason, offset, trailingByte } = decoded.halt;
    if (reason === HALT_TRAILING) {
      unscanned = {
        offset,
        length: end - offset,
        reason: 'trailing-data',
        detail: `they do not start with a pickle opcode (first byte 0x${(trailingByte ?? 0).toString(16).padStart(2, '0')})`,
      };
    } else if (reason === HALT_MAX_PICKLES) {
      if (end > offset) unscanned = { offset, length: end - offset, reason: 'max-pickles' };
    } else {
      const haltingError = errors.find((error) => error.halted);
      const from = haltingError ? haltingError.offset : offset;
      unscanned = { offset: from, length: end - from, reason: 'error' };
    }
  }

  return {
    bytesScanned: totals.bytesScanned,
    opcodeCount: totals.opcodeCount,
    opcodeFirstSeen: totals.opcodeFirstSeen,
    pickleCount: totals.pickleCount,
    pickles,
    protocols: decoded.protocols,
    imports: decoded.imports,
    calls: decoded.calls,
    persistentIds: decoded.persistentIds,
    dictEntries: decoded.dictEntries,
    frames: decoded.frames,
    frameCount: decoded.frameCount,
    errors,
    limits: [...limits, ...decoder.omittedLimits()],
    unscanned,
  };
}
