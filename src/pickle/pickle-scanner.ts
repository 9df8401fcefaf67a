/**
 * Pickle scanning for format modules: the pickle machine (machine.ts) fed by
 * the one streaming pass or by a source of its own, judged (judge.ts) into
 * findings, the weights_only answer and a compact metadata summary, with the
 * payloads of nested loader calls (`pickle.loads(b"…")`,
 * `torch.storage._load_from_bytes(b"…")`) scanned as pickles too.
 *
 * The API, for the format modules that carry pickles:
 * - {@link createPickleScanner}: a StreamScanner for a region of a file that
 *   the one pass feeds (a raw pickle, a stored zip member, a legacy torch file).
 * - {@link scanPickleSource} / {@link scanPickleBytes}: the same scan for a
 *   pickle that is not on the pass (a decompressed member, an npy object array
 *   read separately, bytes already in memory).
 *
 * All three give a {@link PickleInspection}: an Inspection (findings,
 * metadata, weightsOnly; `tensors` empty) plus the machine's raw result in
 * `pickle`, so a torch module can rebuild tensors with
 * `rebuildTorchTensors(inspection.pickle)` (torch-tensors.ts). To add tensors to
 * a scanner on the pass, wrap its `finish`:
 *
 *   const scanner = createPickleScanner(source, { offset, length, entry: 'archive/data.pkl' });
 *   return { ...scanner, push: scanner.push, finish: async () => {
 *     const inspection = await scanner.finish();
 *     inspection.tensors = toTensorInfos(rebuildTorchTensors(inspection.pickle), offsetOfStorage);
 *     return inspection;
 *   } };
 *
 * Offsets: findings carry `baseOffset + position in the region`; baseOffset is
 * the region's offset in the source unless given (a container module may
 * prefer offsets inside its member, with `entry` naming the member).
 *
 * Nested payloads: a nested loader's literal bytes argument is read back from
 * the source (bounded by MAX_NESTED_PAYLOAD_BYTES and MAX_NESTED_PAYLOADS, at
 * most MAX_NESTED_DEPTH levels deep) and scanned as a pickle. Its findings
 * carry `entry: "<parent entry>#nested@0x<hex offset of the payload>"` (just
 * `#nested@0x…` for a file that is not in a container) and offsets inside the
 * payload, counted from its first byte; a payload inside a payload adds
 * another `#nested@0x…`.
 */
import { type ByteSource, throwIfAborted } from '../io/byte-source.ts';
import { createMemorySource } from '../io/memory-source.ts';
import { createSliceSource } from '../io/slice-source.ts';
import type { Finding, MetadataValue, WeightsOnlyVerdict } from '../report/types.ts';
import { createFinding } from '../rules/index.ts';
import type { NestedLoaderCall, PickleJudgement } from '../rules/pickle-policy.ts';
import type { Inspection, StreamScanner } from '../formats/types.ts';
import { judgePickleScan } from './judge.ts';
import { createPickleMachine, type PickleMachine } from './machine.ts';
import type { PickleScanResult } from './types.ts';

/** Levels of payload-inside-payload scanned (CWE-674: a chain of loaders must not recurse without end). */
export const MAX_NESTED_DEPTH = 3;
/** Nested payloads scanned per pickle (CWE-400: one file must not fan out into unbounded work). */
export const MAX_NESTED_PAYLOADS = 16;
/** Bytes of one nested payload scanned (CWE-400); a larger one is reported as not scanned. */
export const MAX_NESTED_PAYLOAD_BYTES = 256 * 1024 * 1024;
/** Distinct globals listed in the metadata import table (CWE-400: the report stays small). */
export const MAX_METADATA_IMPORTS = 100;

/** The bytes of a torch zip file start like this: `torch.load` of such a payload is not a pickle stream. */
const ZIP_LOCAL_HEADER = [0x50, 0x4b, 0x03, 0x04];

/** A region of a source to scan as a pickle stream. */
export interface PickleRegion {
  /** Offset of the region in the source. */
  offset: number;
  length: number;
  /** Member path inside a container, copied into every finding's location. */
  entry?: string;
  /**
   * Stop after this many pickles and leave the rest to the caller (a legacy
   * torch file is 5 pickles then raw storages). The rest is not reported as
   * trailing data: the caller asked for it. 0 or absent: to the end.
   */
  maxPickles?: number;
  /** Pickles the format expects back to back; more is a finding. Default: maxPickles, or 1. */
  expectedPickles?: number;
  /** Offset reported for the region's first byte (default `offset`). */
  baseOffset?: number;
}

/** Options of {@link scanPickleSource} and {@link scanPickleBytes}: a region of the whole source. */
export type PickleScanOptions = Omit<PickleRegion, 'offset' | 'length'> & { signal?: AbortSignal };

/** An Inspection of a pickle stream, with what format modules need to go further. */
export interface PickleInspection extends Inspection {
  weightsOnly: WeightsOnlyVerdict;
  /** The machine's result, offsets as reported (baseOffset applied). */
  pickle: PickleScanResult;
  /** The policy's judgement: the classified globals, nested loader calls. */
  judgement: PickleJudgement;
}

/** A StreamScanner whose `finish` gives the {@link PickleInspection}. */
export interface PickleStreamScanner extends StreamScanner {
  finish(): Promise<PickleInspection>;
}

/**
 * A scanner for `region` of `source`, fed by the one pass. `source` is only
 * read again for nested payloads (bounded reads at `finish`).
 */
export function createPickleScanner(source: ByteSource, region: PickleRegion): PickleStreamScanner {
  return createRegionScanner(source, region, 0, undefined);
}

/** Scans the whole `source` as a pickle stream (one sequential read of it). */
export async function scanPickleSource(source: ByteSource, options: PickleScanOptions = {}): Promise<PickleInspection> {
  return scanWholeSource(source, options, 0);
}

/** Scans `bytes` (already in memory) as a pickle stream. */
export async function scanPickleBytes(bytes: Uint8Array, options: PickleScanOptions = {}): Promise<PickleInspection> {
  return scanWholeSource(createMemorySource(bytes, options.entry ?? 'pickle'), options, 0);
}

async function scanWholeSource(source: ByteSource, options: PickleScanOptions, depth: number): Promise<PickleInspection> {
  const { signal, ...region } = options;
  const scanner = createRegionScanner(source, { ...region, offset: 0, length: source.size }, depth, signal);
  for await (const chunk of source.chunks({ signal })) scanner.push(chunk);
  return scanner.finish();
}

function createRegionScanner(
  source: ByteSource,
  region: PickleRegion,
  depth: number,
  signal: AbortSignal | undefined,
): PickleStreamScanner {
  if (!Number.isSafeInteger(region.offset) || region.offset < 0 || !Number.isSafeInteger(region.length) || region.length < 0) {
    throw new RangeError(`pickle region must have non-negative integer offset and length, got ${region.offset}+${region.length}`);
  }
  const baseOffset = region.baseOffset ?? region.offset;
  const machine: PickleMachine = createPickleMachine({ baseOffset, maxPickles: region.maxPickles ?? 0 });
  let finished = false;

  return {
    offset: region.offset,
    length: region.length,
    push(bytes: Uint8Array): void {
      machine.push(bytes);
    },
    async finish(): Promise<PickleInspection> {
      if (finished) throw new Error('PickleStreamScanner.finish called twice');
      finished = true;
      const scan = machine.finish();
      const expectedPickles = region.expectedPickles ?? Math.max(1, region.maxPickles ?? 1);
      const judged = judgePickleScan(scan, { entry: region.entry, expectedPickles });
      const findings = [...judged.findings];
      const nested = await scanNestedPayloads(source, region, baseOffset, judged.judgement.nestedLoaders, depth, signal);
      findings.push(...nested);
      return {
        tensors: [],
        metadata: { [metadataKey(region.entry)]: summarise(scan, judged.judgement) },
        findings,
        weightsOnly: judged.weightsOnly,
        pickle: scan,
        judgement: judged.judgement,
      };
    },
  };
}

/** `pickle`, or `pickle <entry>` for a member, so several pickles of one file keep their own summary. */
function metadataKey(entry: string | undefined): string {
  return entry === undefined ? 'pickle' : `pickle ${entry}`;
}

/** The entry name of a nested payload at `offset` (reported coordinates) of `parent`. */
export function nestedEntryName(parent: string | undefined, offset: number): string {
  return `${parent ?? ''}#nested@0x${offset.toString(16)}`;
}

async function scanNestedPayloads(
  source: ByteSource,
  region: PickleRegion,
  baseOffset: number,
  loaders: readonly NestedLoaderCall[],
  depth: number,
  signal: AbortSignal | undefined,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const withBytes = loaders.filter((loader) => loader.bytes !== undefined);
  const location = (offset: number) => ({ ...(region.entry !== undefined ? { entry: region.entry } : {}), offset });
  const notScanned = (offset: number, detail: string) =>
    findings.push(createFinding('pickle.stream.nested-unscanned', { detail, location: location(offset) }));

  for (let index = 0; index < withBytes.length; index += 1) {
    const loader = withBytes[index];
    const payload = loader.bytes as { offset: number; length: number };
    const what = `The ${payload.length}-byte argument of ${loader.callable.module}.${loader.callable.name} at offset ${payload.offset}`;
    if (index >= MAX_NESTED_PAYLOADS) {
      notScanned(loader.offset, `${withBytes.length - MAX_NESTED_PAYLOADS} more nested payloads were not scanned (MAX_NESTED_PAYLOADS ${MAX_NESTED_PAYLOADS}).`);
      break;
    }
    if (depth + 1 > MAX_NESTED_DEPTH) {
      notScanned(payload.offset, `${what} is nested ${depth + 1} levels deep, past MAX_NESTED_DEPTH ${MAX_NESTED_DEPTH}; it was not scanned.`);
      continue;
    }
    if (loader.format === 'marshal') {
      notScanned(payload.offset, `${what} is marshalled Python code, not a pickle; it was not scanned (the loader call itself is reported).`);
      continue;
    }
    if (payload.length > MAX_NESTED_PAYLOAD_BYTES) {
      notScanned(payload.offset, `${what} is larger than MAX_NESTED_PAYLOAD_BYTES ${MAX_NESTED_PAYLOAD_BYTES}; it was not scanned.`);
      continue;
    }
    const sourceOffset = region.offset + (payload.offset - baseOffset);
    if (sourceOffset < region.offset || sourceOffset + payload.length > region.offset + region.length) {
      notScanned(payload.offset, `${what} lies outside the scanned region; it was not scanned.`);
      continue;
    }
    throwIfAborted(signal);
    const entry = nestedEntryName(region.entry, payload.offset);
    const slice = createSliceSource(source, sourceOffset, payload.length, entry);
    const head = await slice.read(0, ZIP_LOCAL_HEADER.length);
    if (ZIP_LOCAL_HEADER.every((byte, at) => head[at] === byte)) {
      notScanned(payload.offset, `${what} is a zip archive (a torch.save file), which Preflight does not open inside a pickle; it was not scanned.`);
      continue;
    }
    const inner = await scanWholeSource(slice, { entry, baseOffset: 0, signal }, depth + 1);
    findings.push(...inner.findings);
  }
  return findings;
}

/** A compact, bounded summary of the stream for the report's metadata. */
function summarise(scan: PickleScanResult, judgement: PickleJudgement): MetadataValue {
  const protocols = [...new Set(scan.protocols.map((protocol) => protocol.version))];
  const imports: MetadataValue[] = judgement.globals.slice(0, MAX_METADATA_IMPORTS).map((global) => ({
    global: global.name === '' ? global.module : `${global.module}.${global.name}`,
    class: global.verdict,
    count: global.count,
    offset: global.firstOffset,
  }));
  const summary: Record<string, MetadataValue> = {
    pickles: scan.pickles.length,
    protocols,
    opcodes: scan.opcodeCount,
    imports,
  };
  if (judgement.globals.length > MAX_METADATA_IMPORTS || judgement.globalsTruncated) {
    summary.importsListed = imports.length;
    summary.importsTotal = judgement.globals.length;
  }
  const unresolved = scan.imports.filter((imported) => !imported.resolved).length;
  if (unresolved > 0) summary.unresolvedImports = unresolved;
  return summary;
}
