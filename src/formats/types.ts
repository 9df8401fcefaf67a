import type { ByteSource } from '../io/byte-source.ts';
import type { Finding, MetadataValue, TensorInfo, WeightsOnlyVerdict } from '../report/types.ts';

/**
 * One format, one module: a cheap synchronous `detect` that never throws and
 * an `inspect` that reads headers with bounded range reads and returns plain,
 * serialisable data. See STYLE.md §1.
 */
export interface FormatModule {
  /** Stable id used in the Report (`safetensors`, `gguf`, …). */
  readonly id: string;
  /** Human name shown in the UI. */
  readonly label: string;
  /** Extensions (lower case, with the dot) conventionally used for this format. */
  readonly extensions: readonly string[];
  /** True when `head` (the first bytes of the file, up to HEAD_BYTES) is this format. */
  detect(head: Uint8Array, name: string): boolean;
  inspect(source: ByteSource, context: InspectContext): Promise<Inspection>;
}

export interface InspectContext {
  /** The first bytes of the source (up to HEAD_BYTES), already read for detection. */
  readonly head: Uint8Array;
  readonly signal?: AbortSignal;
}

export interface Inspection {
  tensors: TensorInfo[];
  metadata: Record<string, MetadataValue>;
  findings: Finding[];
  /**
   * The weights_only answer for the pickles seen so far. When several parts
   * answer (zip members, stacked pickles), the scan keeps the first refusal.
   */
  weightsOnly?: WeightsOnlyVerdict;
  /** Scanners fed by the one streaming pass, each with the bytes of its range. */
  streamScanners?: StreamScanner[];
}

/**
 * A region scanner on the one streaming pass (STYLE.md §5): it receives the
 * bytes of [offset, offset + length) in order, in chunks of any size, then
 * `finish` once. A chunk is only valid during the `push` call.
 */
export interface StreamScanner {
  readonly offset: number;
  readonly length: number;
  push(bytes: Uint8Array): void;
  finish(): Promise<Inspection> | Inspection;
}

/** Bytes read up front for detection and small headers. */
export const HEAD_BYTES = 64 * 1024;

export function emptyInspection(): Inspection {
  return { tensors: [], metadata: {}, findings: [] };
}
