/**
 * PyTorch's legacy serialization: `torch.save(obj, f, _use_new_zipfile_serialization=False)`
 * (the default before 1.6), and the older tar form written before 0.4.
 * Spec: the writer, https://github.com/pytorch/pytorch/blob/main/torch/serialization.py
 * (`_legacy_save`, `_legacy_load`, `legacy_load`).
 *
 * Layout of the stream form: five pickles back to back, then raw storages:
 * 1. the magic number 0x1950a86a20f9469cfc6c, a bare int;
 * 2. the protocol version, 1001;
 * 3. a sys info dict (protocol_version, little_endian, type_sizes);
 * 4. the object (a state dict or a whole model), storages as persistent ids
 *    `('storage', torch.FloatStorage, key, location, numel, view_metadata)`;
 * 5. the list of storage keys, in the order their raw data follows;
 * then for each key an 8-byte little-endian element count and count × element
 * size bytes. The tar form holds members `sys_info`, `pickle`, `tensors` and
 * `storages`, the last two pickles interleaved with raw data ({@link inspectLegacyTar}).
 *
 * Threat surface: every one of the five pickles is unpickled, in order, before
 * anything is checked: a magic "number" that imports os.system runs it and
 * only then fails the magic check (GHSA-97f8-7cmv-76j2), so the first pickle
 * must be a bare integer with no globals. All five are scanned on the one pass
 * by the pickle machine; the storage key list and raw storages are walked with
 * bounds checks (count and size limits) so each tensor gets its absolute
 * offset, and any disagreement between the pickle and the raw data, or bytes
 * after the last storage, is reported.
 */
import { type ByteSource, throwIfAborted } from '../io/byte-source.ts';
import { createPickleMachine } from '../pickle/machine.ts';
import { createPickleScanner, type PickleInspection, scanPickleSource } from '../pickle/pickle-scanner.ts';
import {
  dtypeOfStorageGlobal,
  rebuildTorchTensors,
  toTensorInfos,
  type TorchStorage,
  type TorchTensorTable,
} from '../pickle/torch-tensors.ts';
import type { PickleScanResult } from '../pickle/types.ts';
import type { Finding, MetadataValue, WeightsOnlyVerdict } from '../report/types.ts';
import { createFinding } from '../rules/index.ts';
import { quoteUntrusted } from '../rules/pickle-policy.ts';
import { readTarMembers, type TarMember } from '../containers/tar.ts';
import { createSliceSource } from '../io/slice-source.ts';
import * as op from '../../wasm/assembly/shared.ts';
import type { FormatModule, InspectContext, Inspection, StreamScanner } from './types.ts';

/** The magic number `torch.save` writes first. */
export const LEGACY_MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;
/** The protocol version `torch.save` writes second; torch.load refuses others. */
export const LEGACY_PROTOCOL_VERSION = 1001;
/** Pickles before the raw storages. */
export const LEGACY_PICKLE_COUNT = 5;

/** Head bytes run on the machine for detection: the three header pickles fit in a few hundred (CWE-400). */
export const DETECT_TRIAL_BYTES = 4096;
/** Bytes of the magic-number pickle read back to check its value: the real one is 15 (protocol 2) to 28 bytes. */
export const MAX_MAGIC_PICKLE_BYTES = 64;
/** Bytes of the storage key list pickle read: a key is ~15 bytes, so this allows ~1M keys (CWE-400). */
export const MAX_KEY_LIST_BYTES = 16 * 1024 * 1024;
/** Raw storages walked (CWE-770: each is a read and a map entry; real files have thousands at most). */
export const MAX_LEGACY_STORAGES = 65_536;
/** Values one literal pickle may build (CWE-770). */
export const MAX_LITERAL_ITEMS = 1_048_576;
/** Findings of one legacy rule listed (CWE-400). */
export const MAX_LEGACY_FINDINGS_PER_RULE = 50;
/** Bytes of a tar pickle member's one pickle read at a time, and at most (CWE-400). */
export const TAR_PICKLE_WINDOW_BYTES = 64 * 1024;
export const MAX_TAR_RECORD_PICKLE_BYTES = 16 * 1024 * 1024;
/** Records (storages, tensors) walked in a tar `storages` or `tensors` member (CWE-770). */
export const MAX_TAR_RECORDS = 65_536;

/** Member names of the tar form. */
const TAR_MEMBER_NAMES: ReadonlySet<string> = new Set(['sys_info', 'pickle', 'tensors', 'storages']);

// ---------------------------------------------------------------------------
// Literal pickles: the magic number, the key list, the tar record tuples
// ---------------------------------------------------------------------------

/** A value of a pickle that only builds literals (numbers, strings, lists, tuples, named globals). */
export type LiteralValue =
  | bigint
  | string
  | boolean
  | null
  | { list: LiteralValue[] }
  | { tuple: LiteralValue[] }
  | { global: string };

const MARK = Symbol('mark');
type StackItem = LiteralValue | typeof MARK;

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * Reads a pickle that builds only literals, without the machine: enough for
 * the magic number, the storage key list and the tar record tuples. Returns
 * the STOP value and where the STOP is, or null for anything else (an
 * opcode outside this subset, a call, a truncation). Nothing is ever called.
 */
export function readLiteralPickle(bytes: Uint8Array): { value: LiteralValue; stop: number } | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: StackItem[] = [];
  const memo = new Map<number, LiteralValue>();
  let at = 0;
  let items = 0;
  const need = (count: number) => at + count <= bytes.length;
  const lineEnd = () => {
    const end = bytes.indexOf(0x0a, at);
    return end < 0 ? null : end;
  };
  const top = (): LiteralValue | undefined => {
    const item = stack.at(-1);
    return item === MARK ? undefined : item;
  };
  const popMark = (): LiteralValue[] | null => {
    const index = stack.lastIndexOf(MARK);
    if (index < 0) return null;
    const popped = stack.splice(index) as StackItem[];
    return popped.slice(1) as LiteralValue[];
  };
  const pushValue = (value: LiteralValue) => {
    items += 1;
    stack.push(value);
    return items <= MAX_LITERAL_ITEMS;
  };
  const readLine = (): string | null => {
    const end = lineEnd();
    if (end === null) return null;
    const text = latin1.decode(bytes.subarray(at, end));
    at = end + 1;
    return text;
  };
  const readBytes = (count: number): Uint8Array | null => {
    if (!Number.isSafeInteger(count) || count < 0 || !need(count)) return null;
    const slice = bytes.subarray(at, at + count);
    at += count;
    return slice;
  };
  const signedLittleEndian = (slice: Uint8Array): bigint => {
    let value = 0n;
    for (let index = slice.length - 1; index >= 0; index -= 1) value = (value << 8n) | BigInt(slice[index]);
    if (slice.length > 0 && (slice[slice.length - 1] & 0x80) !== 0) value -= 1n << BigInt(8 * slice.length);
    return value;
  };
  const parseInteger = (text: string): bigint | null => {
    const trimmed = text.endsWith('L') ? text.slice(0, -1) : text;
    return /^[-+]?\d+$/.test(trimmed) ? BigInt(trimmed) : null;
  };
  const quoted = (text: string): string | null => {
    if (text.length >= 2 && (text[0] === "'" || text[0] === '"') && text.at(-1) === text[0]) return text.slice(1, -1);
    return null;
  };

  while (at < bytes.length) {
    const code = bytes[at++];
    switch (code) {
      case op.OP_PROTO:
        if (!need(1)) return null;
        at += 1;
        break;
      case op.OP_FRAME:
        if (!need(8)) return null;
        at += 8;
        break;
      case op.OP_STOP: {
        const value = stack.pop();
        if (value === undefined || value === MARK || stack.length > 0) return null;
        return { value, stop: at - 1 };
      }
      case op.OP_MARK:
        stack.push(MARK);
        break;
      case op.OP_NONE:
        if (!pushValue(null)) return null;
        break;
      case op.OP_NEWTRUE:
      case op.OP_NEWFALSE:
        if (!pushValue(code === op.OP_NEWTRUE)) return null;
        break;
      case op.OP_INT: {
        const text = readLine();
        if (text === null) return null;
        const value = text === '01' ? true : text === '00' ? false : parseInteger(text);
        if (value === null || !pushValue(value)) return null;
        break;
      }
      case op.OP_LONG: {
        const text = readLine();
        const value = text === null ? null : parseInteger(text);
        if (value === null || !pushValue(value)) return null;
        break;
      }
      case op.OP_BININT:
        if (!need(4) || !pushValue(BigInt(view.getInt32(at, true)))) return null;
        at += 4;
        break;
      case op.OP_BININT1:
        if (!need(1) || !pushValue(BigInt(bytes[at]))) return null;
        at += 1;
        break;
      case op.OP_BININT2:
        if (!need(2) || !pushValue(BigInt(view.getUint16(at, true)))) return null;
        at += 2;
        break;
      case op.OP_LONG1:
      case op.OP_LONG4: {
        const width = code === op.OP_LONG1 ? 1 : 4;
        if (!need(width)) return null;
        const length = width === 1 ? bytes[at] : view.getInt32(at, true);
        at += width;
        const slice = readBytes(length);
        if (!slice || !pushValue(signedLittleEndian(slice))) return null;
        break;
      }
      case op.OP_SHORT_BINUNICODE:
      case op.OP_BINUNICODE:
      case op.OP_BINUNICODE8:
      case op.OP_SHORT_BINSTRING:
      case op.OP_BINSTRING: {
        const width = code === op.OP_SHORT_BINUNICODE || code === op.OP_SHORT_BINSTRING ? 1 : code === op.OP_BINUNICODE8 ? 8 : 4;
        if (!need(width)) return null;
        const length = width === 1 ? bytes[at] : width === 4 ? view.getUint32(at, true) : Number(view.getBigUint64(at, true));
        at += width;
        const slice = readBytes(length);
        const isUnicode = code === op.OP_SHORT_BINUNICODE || code === op.OP_BINUNICODE || code === op.OP_BINUNICODE8;
        if (!slice || !pushValue(isUnicode ? utf8.decode(slice) : latin1.decode(slice))) return null;
        break;
      }
      case op.OP_UNICODE: {
        const text = readLine();
        if (text === null || !pushValue(text)) return null;
        break;
      }
      case op.OP_STRING: {
        const text = readLine();
        const value = text === null ? null : quoted(text);
        if (value === null || !pushValue(value)) return null;
        break;
      }
      case op.OP_GLOBAL: {
        const module = readLine();
        const name = module === null ? null : readLine();
        if (module === null || name === null || !pushValue({ global: `${module}.${name}` })) return null;
        break;
      }
      case op.OP_STACK_GLOBAL: {
        const name = stack.pop();
        const module = stack.pop();
        if (typeof module !== 'string' || typeof name !== 'string' || !pushValue({ global: `${module}.${name}` })) return null;
        break;
      }
      case op.OP_EMPTY_LIST:
        if (!pushValue({ list: [] })) return null;
        break;
      case op.OP_EMPTY_TUPLE:
        if (!pushValue({ tuple: [] })) return null;
        break;
      case op.OP_LIST:
      case op.OP_TUPLE: {
        const values = popMark();
        if (!values || !pushValue(code === op.OP_LIST ? { list: values } : { tuple: values })) return null;
        break;
      }
      case op.OP_TUPLE1:
      case op.OP_TUPLE2:
      case op.OP_TUPLE3: {
        const count = code - op.OP_TUPLE1 + 1;
        if (stack.length < count) return null;
        const values = stack.splice(stack.length - count);
        if (values.includes(MARK) || !pushValue({ tuple: values as LiteralValue[] })) return null;
        break;
      }
      case op.OP_APPEND: {
        const value = stack.pop();
        const target = top();
        if (value === undefined || value === MARK || !isList(target)) return null;
        target.list.push(value);
        break;
      }
      case op.OP_APPENDS: {
        const values = popMark();
        const target = top();
        if (!values || !isList(target)) return null;
        for (const value of values) target.list.push(value);
        break;
      }
      case op.OP_PUT: {
        const text = readLine();
        const value = top();
        if (text === null || value === undefined || !/^\d+$/.test(text)) return null;
        memo.set(Number(text), value);
        break;
      }
      case op.OP_BINPUT:
      case op.OP_LONG_BINPUT: {
        const width = code === op.OP_BINPUT ? 1 : 4;
        const value = top();
        if (!need(width) || value === undefined) return null;
        memo.set(width === 1 ? bytes[at] : view.getUint32(at, true), value);
        at += width;
        break;
      }
      case op.OP_MEMOIZE: {
        const value = top();
        if (value === undefined) return null;
        memo.set(memo.size, value);
        break;
      }
      case op.OP_GET:
      case op.OP_BINGET:
      case op.OP_LONG_BINGET: {
        let key: number;
        if (code === op.OP_GET) {
          const text = readLine();
          if (text === null || !/^\d+$/.test(text)) return null;
          key = Number(text);
        } else {
          const width = code === op.OP_BINGET ? 1 : 4;
          if (!need(width)) return null;
          key = width === 1 ? bytes[at] : view.getUint32(at, true);
          at += width;
        }
        const value = memo.get(key);
        if (value === undefined || !pushValue(value)) return null;
        break;
      }
      default:
        return null;
    }
  }
  return null;
}

function isList(value: LiteralValue | undefined): value is { list: LiteralValue[] } {
  return typeof value === 'object' && value !== null && 'list' in value;
}

// ---------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------

/** True when `head` opens with the magic-number pickle, exactly as torch.save writes it. */
export function startsWithLegacyMagic(head: Uint8Array): boolean {
  const literal = readLiteralPickle(head.subarray(0, MAX_MAGIC_PICKLE_BYTES));
  return literal !== null && literal.value === LEGACY_MAGIC_NUMBER;
}

/**
 * True for the stream form: the magic pickle, or (when the first pickle is not
 * the magic, as in a tampered file) a first pickle followed by the protocol
 * version 1001. Never throws.
 */
function detectLegacyStream(head: Uint8Array): boolean {
  if (startsWithLegacyMagic(head)) return true;
  try {
    const machine = createPickleMachine({ maxPickles: 2 });
    machine.push(head.subarray(0, DETECT_TRIAL_BYTES));
    const trial = machine.finish();
    const [first, second] = trial.pickles;
    const version = second?.result;
    return (
      first?.stopOffset !== null &&
      first !== undefined &&
      second?.stopOffset !== null &&
      version?.kind === 'int' &&
      version.exact &&
      version.value === LEGACY_PROTOCOL_VERSION
    );
  } catch {
    return false;
  }
}

function tarName(head: Uint8Array, at: number): string {
  const field = head.subarray(at, at + 100);
  const end = field.indexOf(0);
  return latin1.decode(end < 0 ? field : field.subarray(0, end));
}

/** The tar form: a ustar header whose first member is one of torch's four. */
function detectLegacyTar(head: Uint8Array): boolean {
  if (head.length < 512 || latin1.decode(head.subarray(257, 262)) !== 'ustar') return false;
  const name = tarName(head, 0).replace(/^\.\//, '');
  return TAR_MEMBER_NAMES.has(name);
}

// ---------------------------------------------------------------------------
// The stream form
// ---------------------------------------------------------------------------

function createLegacyFindings() {
  const findings: Finding[] = [];
  const counts = new Map<string, number>();
  return {
    findings,
    add(rule: Parameters<typeof createFinding>[0], detail: string, offset: number, length?: number, entry?: string): void {
      const count = (counts.get(rule) ?? 0) + 1;
      counts.set(rule, count);
      if (count > MAX_LEGACY_FINDINGS_PER_RULE) return;
      findings.push(
        createFinding(rule, {
          detail,
          location: { ...(entry !== undefined ? { entry } : {}), offset, ...(length !== undefined ? { length } : {}) },
        }),
      );
    },
  };
}

type LegacyFindings = ReturnType<typeof createLegacyFindings>;

/** Checks the magic, protocol version and sys info pickles. */
async function checkHeaderPickles(source: ByteSource, scan: PickleScanResult, out: LegacyFindings): Promise<void> {
  const [magic, version, sysInfo] = scan.pickles;
  const inFirst = <T extends { pickleIndex: number }>(items: readonly T[]) => items.filter((item) => item.pickleIndex === 0);
  const code = [...inFirst(scan.imports), ...inFirst(scan.calls), ...inFirst(scan.persistentIds)].sort((a, b) => a.offset - b.offset);
  if (code.length > 0) {
    out.add(
      'pickle.stream.legacy-magic-code',
      `The magic-number pickle (the first of the file) is not a bare integer: it holds ${code.length} import, call or persistent-id opcode${code.length === 1 ? '' : 's'}, the first a ${code[0].opcodeName} at offset ${code[0].offset}; torch.load runs ${code.length === 1 ? 'it' : 'them'} before it checks the number.`,
      code[0].offset,
    );
  } else if (!magic || magic.stopOffset === null) {
    out.add('pickle.stream.legacy-magic-mismatch', 'The file does not start with a complete magic-number pickle.', 0);
  } else {
    const length = magic.stopOffset + 1 - magic.offset;
    const bytes = length <= MAX_MAGIC_PICKLE_BYTES ? await source.read(magic.offset, length) : new Uint8Array(0);
    const literal = readLiteralPickle(bytes);
    if (literal === null || literal.value !== LEGACY_MAGIC_NUMBER) {
      const shown = literal && typeof literal.value === 'bigint' ? `0x${literal.value.toString(16)}` : `a ${length}-byte pickle that is not a bare integer`;
      out.add(
        'pickle.stream.legacy-magic-mismatch',
        `The first pickle is ${shown}, not the magic number 0x${LEGACY_MAGIC_NUMBER.toString(16)}; torch.load raises "Invalid magic number" after unpickling it.`,
        magic.offset,
        length,
      );
    }
  }
  const versionValue = version?.result;
  if (!version || versionValue?.kind !== 'int' || !versionValue.exact || versionValue.value !== LEGACY_PROTOCOL_VERSION) {
    const seen = versionValue?.kind === 'int' && versionValue.exact ? `the integer ${versionValue.value}` : versionValue ? `a ${versionValue.kind}` : 'missing';
    out.add('pickle.stream.legacy-header', `The protocol version pickle is ${seen}; torch.save writes ${LEGACY_PROTOCOL_VERSION} and torch.load refuses anything else.`, version?.offset ?? 0);
  }
  if (!sysInfo || sysInfo.result?.kind !== 'dict') {
    out.add('pickle.stream.legacy-header', `The third pickle should be the sys info dict; it is ${sysInfo?.result ? `a ${sysInfo.result.kind}` : 'missing or incomplete'}.`, sysInfo?.offset ?? 0);
  }
}

/** The storage keys, in file order, from the fifth pickle; null (with a finding) when it cannot be read. */
async function readStorageKeys(source: ByteSource, scan: PickleScanResult, out: LegacyFindings): Promise<{ keys: string[]; end: number } | null> {
  const list = scan.pickles[LEGACY_PICKLE_COUNT - 1];
  if (!list || list.stopOffset === null) {
    out.add('pickle.stream.legacy-storage-keys', `The file ends before its fifth pickle (the storage key list) is complete; ${scan.pickles.length} pickles were found.`, list?.offset ?? scan.bytesScanned);
    return null;
  }
  const length = list.stopOffset + 1 - list.offset;
  if (length > MAX_KEY_LIST_BYTES) {
    out.add('pickle.stream.legacy-storage-keys', `The storage key list pickle is ${length} bytes, more than MAX_KEY_LIST_BYTES ${MAX_KEY_LIST_BYTES}; it was not read.`, list.offset, length);
    return null;
  }
  const value = readLiteralPickle(await source.read(list.offset, length))?.value;
  const keys = isList(value) && value.list.every((key) => typeof key === 'string') ? (value.list as string[]) : null;
  if (!keys) {
    out.add('pickle.stream.legacy-storage-keys', `The fifth pickle (offset ${list.offset}, ${length} bytes) is not a plain list of string keys.`, list.offset, length);
    return null;
  }
  return { keys, end: list.stopOffset + 1 };
}

/**
 * Walks the raw storages after the key list: an 8-byte element count, then
 * count × element size bytes, per key. Returns each key's data offset.
 */
async function walkRawStorages(
  source: ByteSource,
  keys: readonly string[],
  start: number,
  table: TorchTensorTable,
  out: LegacyFindings,
  signal: AbortSignal | undefined,
): Promise<Map<string, number>> {
  const offsets = new Map<string, number>();
  const storages = new Map<string, TorchStorage>(table.storages.map((storage) => [storage.key, storage]));
  let position = start;
  const walked = Math.min(keys.length, MAX_LEGACY_STORAGES);
  if (keys.length > MAX_LEGACY_STORAGES) {
    out.add('pickle.stream.legacy-limit', `The key list names ${keys.length} storages; only the first MAX_LEGACY_STORAGES ${MAX_LEGACY_STORAGES} were walked.`, start);
  }
  for (let index = 0; index < walked; index += 1) {
    if (index % 1024 === 0) throwIfAborted(signal);
    const key = keys[index];
    const shownKey = quoteUntrusted(key);
    const header = await source.read(position, 8);
    if (header.length < 8) {
      out.add('pickle.stream.legacy-storage-mismatch', `The file ends at ${source.size} before the raw storage ${shownKey} (${index + 1} of ${keys.length}), whose 8-byte element count should start at offset ${position}.`, position);
      return offsets;
    }
    const count = new DataView(header.buffer, header.byteOffset, 8).getBigUint64(0, true);
    const storage = storages.get(key);
    if (!storage) {
      out.add('pickle.stream.legacy-storage-mismatch', `The key list names storage ${shownKey}, which no persistent id of the data pickle declares; torch.load fails on it.`, position);
      return offsets;
    }
    if (storage.elementSize === null) return offsets;
    if (storage.numel !== null && count !== BigInt(storage.numel)) {
      out.add('pickle.stream.legacy-storage-mismatch', `Raw storage ${shownKey} at offset ${position} holds ${count} elements but its persistent id declares ${storage.numel}; torch.load raises "storage has wrong byte size".`, position, 8);
    }
    const byteLength = count * BigInt(storage.elementSize);
    const dataOffset = position + 8;
    if (BigInt(dataOffset) + byteLength > BigInt(source.size)) {
      out.add('pickle.stream.legacy-storage-mismatch', `Raw storage ${shownKey} declares ${byteLength} bytes from offset ${dataOffset}, past the end of the file at ${source.size}.`, position, 8);
      return offsets;
    }
    if (!offsets.has(key)) offsets.set(key, dataOffset);
    position = dataOffset + Number(byteLength);
  }
  if (walked === keys.length && position < source.size) {
    out.add('pickle.stream.legacy-trailing-data', `${source.size - position} bytes follow the last raw storage, from offset ${position}; torch.load never reads them.`, position, source.size - position);
  }
  return offsets;
}

function tensorProblemFindings(table: TorchTensorTable, out: LegacyFindings, entry?: string): void {
  for (const problem of table.problems) out.add('pickle.stream.torch-tensor-invalid', problem.message, problem.offset, undefined, entry);
}

/** The stream form's scanner on the one pass: the five pickles, then the raw storage walk at finish. */
function createLegacyStreamScanner(source: ByteSource, signal: AbortSignal | undefined): StreamScanner {
  const scanner = createPickleScanner(source, {
    offset: 0,
    length: source.size,
    maxPickles: LEGACY_PICKLE_COUNT,
    expectedPickles: LEGACY_PICKLE_COUNT,
  });
  return {
    offset: scanner.offset,
    length: scanner.length,
    push: (bytes) => scanner.push(bytes),
    async finish(): Promise<Inspection> {
      const inspection = await scanner.finish();
      const scan = inspection.pickle;
      const out = createLegacyFindings();
      await checkHeaderPickles(source, scan, out);
      const table = rebuildTorchTensors(scan, { pickleIndex: 3 });
      tensorProblemFindings(table, out);
      const keyList = await readStorageKeys(source, scan, out);
      const offsets = keyList ? await walkRawStorages(source, keyList.keys, keyList.end, table, out, signal) : new Map<string, number>();
      const metadata: Record<string, MetadataValue> = {
        ...inspection.metadata,
        'pytorch-legacy': {
          form: 'stream',
          storages: table.storages.length,
          tensors: table.tensors.length,
          ...(table.truncated ? { tensorsTruncated: true } : {}),
        },
      };
      return {
        tensors: toTensorInfos(table, (key) => offsets.get(key)),
        metadata,
        findings: [...inspection.findings, ...out.findings],
        weightsOnly: inspection.weightsOnly,
      };
    },
  };
}

// ---------------------------------------------------------------------------
// The tar form
// ---------------------------------------------------------------------------

/**
 * Scans one pickle at `offset` of `source` (a member), reading a growing
 * window until the pickle's STOP is inside it. Returns the inspection and the
 * offset after the STOP, or null when no complete pickle fits in
 * MAX_TAR_RECORD_PICKLE_BYTES.
 */
async function scanOnePickle(
  member: ByteSource,
  offset: number,
  entry: string,
  signal: AbortSignal | undefined,
): Promise<{ inspection: PickleInspection; end: number } | null> {
  for (let window = TAR_PICKLE_WINDOW_BYTES; ; window *= 4) {
    const length = Math.min(window, MAX_TAR_RECORD_PICKLE_BYTES, member.size - offset);
    const slice = createSliceSource(member, offset, length, entry);
    const inspection = await scanPickleSource(slice, { entry, maxPickles: 1, baseOffset: offset, signal });
    const stop = inspection.pickle.pickles[0]?.stopOffset ?? null;
    if (stop !== null) return { inspection, end: stop + 1 };
    if (length < window || length >= MAX_TAR_RECORD_PICKLE_BYTES || offset + length >= member.size) return { inspection, end: -1 };
  }
}

interface TarRecordWalk {
  inspections: PickleInspection[];
  /** Tuples read from the record pickles, in order. */
  records: LiteralValue[][];
  /** Offset (in the member) of the raw data after each record's pickle. */
  rawOffsets: number[];
}

/**
 * Walks a `storages` or `tensors` member: a count pickle, then per record a
 * pickle (a tuple) and raw data whose length `rawLength` computes (null: stop),
 * then, with `trailerPickle`, one more pickle (the `storages` member ends with
 * the list of storage views, which torch.load unpickles too).
 */
async function walkTarRecords(
  member: ByteSource,
  entry: string,
  out: LegacyFindings,
  signal: AbortSignal | undefined,
  trailerPickle: boolean,
  rawLength: (record: LiteralValue[], rawOffset: number) => Promise<number | null>,
): Promise<TarRecordWalk> {
  const walk: TarRecordWalk = { inspections: [], records: [], rawOffsets: [] };
  const first = await scanOnePickle(member, 0, entry, signal);
  if (!first) return walk;
  walk.inspections.push(first.inspection);
  if (first.end < 0) return walk;
  const countLiteral = readLiteralPickle(await member.read(0, Math.min(first.end, MAX_MAGIC_PICKLE_BYTES)));
  const declared = typeof countLiteral?.value === 'bigint' ? countLiteral.value : null;
  if (declared === null || declared < 0n) {
    out.add('pickle.stream.legacy-storage-mismatch', `The first pickle of ${entry} should be a record count; it is not a non-negative integer.`, 0, undefined, entry);
    return walk;
  }
  const count = declared > BigInt(MAX_TAR_RECORDS) ? MAX_TAR_RECORDS : Number(declared);
  if (declared > BigInt(MAX_TAR_RECORDS)) {
    out.add('pickle.stream.legacy-limit', `${entry} declares ${declared} records; only the first MAX_TAR_RECORDS ${MAX_TAR_RECORDS} were walked.`, 0, undefined, entry);
  }
  let position = first.end;
  for (let index = 0; index < count; index += 1) {
    throwIfAborted(signal);
    if (position >= member.size) {
      out.add('pickle.stream.legacy-storage-mismatch', `${entry} ends at ${member.size} after ${index} of its ${count} records.`, position, undefined, entry);
      return walk;
    }
    const record = await scanOnePickle(member, position, entry, signal);
    if (!record) return walk;
    walk.inspections.push(record.inspection);
    if (record.end < 0) return walk;
    const literal = readLiteralPickle(await member.read(position, Math.min(record.end - position, MAX_TAR_RECORD_PICKLE_BYTES)));
    const tuple = literal && typeof literal.value === 'object' && literal.value !== null && 'tuple' in literal.value ? literal.value.tuple : null;
    if (!tuple) {
      out.add('pickle.stream.legacy-storage-mismatch', `Record ${index + 1} of ${entry} at offset ${position} is not a plain tuple.`, position, undefined, entry);
      return walk;
    }
    const length = await rawLength(tuple, record.end);
    if (length === null) return walk;
    walk.records.push(tuple);
    walk.rawOffsets.push(record.end);
    position = record.end + length;
    if (position > member.size) {
      out.add('pickle.stream.legacy-storage-mismatch', `Record ${index + 1} of ${entry} declares raw data up to offset ${position}, past the member's end at ${member.size}.`, record.end, undefined, entry);
      return walk;
    }
  }
  if (trailerPickle && position < member.size) {
    const trailer = await scanOnePickle(member, position, entry, signal);
    if (!trailer) return walk;
    walk.inspections.push(trailer.inspection);
    if (trailer.end < 0) return walk;
    position = trailer.end;
  }
  if (position < member.size) {
    out.add('pickle.stream.legacy-trailing-data', `${member.size - position} bytes follow the last record of ${entry}, from offset ${position}.`, position, member.size - position, entry);
  }
  return walk;
}

async function readU64(member: ByteSource, offset: number): Promise<bigint | null> {
  const bytes = await member.read(offset, 8);
  return bytes.length < 8 ? null : new DataView(bytes.buffer, bytes.byteOffset, 8).getBigInt64(0, true);
}

/**
 * The tar form: the `sys_info` and `pickle` members are scanned on the one
 * pass; the `storages` and `tensors` members, which interleave pickles with
 * raw data, are walked record by record at inspect time (each pickle scanned
 * by the machine). Tensors come from the `tensors` member.
 */
export async function inspectLegacyTar(source: ByteSource, signal: AbortSignal | undefined): Promise<Inspection> {
  const tar = await readTarMembers(source, { signal });
  const out = createLegacyFindings();
  const inspection: Inspection = { tensors: [], metadata: {}, findings: [...tar.findings], streamScanners: [] };
  const byName = new Map<string, TarMember>();
  for (const member of tar.members) {
    // tarfile's getmember returns the last member of a name: so does this map.
    if (member.type === 'file') byName.set(member.name.replace(/^\.\//, ''), member);
  }
  for (const name of ['sys_info', 'pickle']) {
    const member = byName.get(name);
    if (!member) continue;
    inspection.streamScanners?.push(
      createPickleScanner(source, { offset: member.dataOffset, length: member.size, entry: member.name, baseOffset: 0 }),
    );
  }

  const storageData = new Map<string, { offset: number; dtype: string; elementSize: number; numel: number }>();
  const storagesMember = byName.get('storages');
  if (storagesMember) {
    const member = createSliceSource(source, storagesMember.dataOffset, storagesMember.size, storagesMember.name);
    const walk = await walkTarRecords(member, storagesMember.name, out, signal, true, async (record, rawOffset) => {
      const [key, , storageType] = record;
      const type = typeof storageType === 'object' && storageType !== null && 'global' in storageType ? storageType.global : '';
      const dot = type.lastIndexOf('.');
      const known = dtypeOfStorageGlobal({ module: type.slice(0, dot), name: type.slice(dot + 1) });
      const count = await readU64(member, rawOffset);
      if (typeof key !== 'string' || !known || count === null || count < 0n) {
        out.add('pickle.stream.legacy-storage-mismatch', `A storage record of ${storagesMember.name} at offset ${rawOffset} has no string key, no known storage type or no element count.`, rawOffset, undefined, storagesMember.name);
        return null;
      }
      const byteLength = count * BigInt(known.elementSize);
      if (BigInt(rawOffset + 8) + byteLength > BigInt(member.size)) {
        out.add('pickle.stream.legacy-storage-mismatch', `Storage ${quoteUntrusted(key)} declares ${byteLength} bytes from offset ${rawOffset + 8}, past the member's end at ${member.size}.`, rawOffset, 8, storagesMember.name);
        return null;
      }
      storageData.set(key, { offset: storagesMember.dataOffset + rawOffset + 8, dtype: known.dtype, elementSize: known.elementSize, numel: Number(count) });
      return 8 + Number(byteLength);
    });
    for (const part of walk.inspections) mergePickleInspection(inspection, part);
  }

  const tensorsMember = byName.get('tensors');
  if (tensorsMember) {
    const member = createSliceSource(source, tensorsMember.dataOffset, tensorsMember.size, tensorsMember.name);
    const walk = await walkTarRecords(member, tensorsMember.name, out, signal, false, async (record, rawOffset) => {
      const header = await member.read(rawOffset, 8);
      if (header.length < 8) return null;
      const ndim = new DataView(header.buffer, header.byteOffset, 8).getInt32(0, true);
      if (ndim < 0 || ndim > 64) {
        out.add('pickle.stream.legacy-storage-mismatch', `A tensor record of ${tensorsMember.name} at offset ${rawOffset} declares ${ndim} dimensions.`, rawOffset, 4, tensorsMember.name);
        return null;
      }
      const rawLength = 8 + 16 * ndim + 8;
      const raw = await member.read(rawOffset, rawLength);
      if (raw.length < rawLength) return null;
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const shape: number[] = [];
      for (let axis = 0; axis < ndim; axis += 1) shape.push(Number(view.getBigInt64(8 + 8 * axis, true)));
      const storageOffset = Number(view.getBigInt64(8 + 16 * ndim, true));
      const [key, storageId] = record;
      const storage = typeof storageId === 'string' ? storageData.get(storageId) : undefined;
      if (typeof key === 'string' && storage && shape.every((size) => Number.isSafeInteger(size) && size >= 0) && storageOffset >= 0) {
        const numel = shape.reduce((product, size) => product * size, 1);
        if (!Number.isSafeInteger(numel) || storageOffset + numel > storage.numel) {
          out.add('pickle.stream.torch-tensor-invalid', `Tensor ${quoteUntrusted(key)} at offset ${rawOffset} of ${tensorsMember.name} needs ${numel} elements from element ${storageOffset} of a storage of ${storage.numel}.`, rawOffset, undefined, tensorsMember.name);
          return rawLength;
        }
        inspection.tensors.push({
          name: key,
          dtype: storage.dtype,
          shape,
          offset: storage.offset + storageOffset * storage.elementSize,
          length: numel * storage.elementSize,
        });
      }
      return rawLength;
    });
    for (const part of walk.inspections) mergePickleInspection(inspection, part);
  }
  for (const name of TAR_MEMBER_NAMES) {
    if (!byName.has(name)) out.add('pickle.stream.legacy-header', `The tar has no member named ${name}; torch.load of this form needs all of sys_info, pickle, tensors and storages.`, 0);
  }
  inspection.findings.push(...out.findings);
  inspection.metadata['pytorch-legacy'] = { form: 'tar', members: tar.members.length, storages: storageData.size, tensors: inspection.tensors.length };
  return inspection;
}

/** Adds a member pickle's findings; weights_only stays refused from the first refusal on. */
function mergePickleInspection(target: Inspection, part: PickleInspection): void {
  target.findings.push(...part.findings);
  target.weightsOnly = firstRefusal(target.weightsOnly, part.weightsOnly);
}

function firstRefusal(first: WeightsOnlyVerdict | undefined, second: WeightsOnlyVerdict): WeightsOnlyVerdict {
  return first && !first.accepted ? first : second;
}

export const torchLegacyFormat: FormatModule = {
  id: 'pytorch-legacy',
  label: 'PyTorch legacy (torch.save before 1.6)',
  extensions: ['.pt', '.pth', '.bin', '.ckpt'],
  detect(head: Uint8Array): boolean {
    return detectLegacyTar(head) || detectLegacyStream(head);
  },
  async inspect(source: ByteSource, context: InspectContext): Promise<Inspection> {
    if (detectLegacyTar(context.head)) return inspectLegacyTar(source, context.signal);
    return { tensors: [], metadata: {}, findings: [], streamScanners: [createLegacyStreamScanner(source, context.signal)] };
  },
};
