/**
 * Whole-file compressed wrappers: what `joblib.dump(…, compress=…)` writes
 * (zlib, gzip, bz2, xz, LZMA-alone, LZ4, and the `ZF` header of joblib < 0.10),
 * and any `.gz`/`.xz` around a model. joblib picks the decompressor from
 * these magic bytes alone (joblib/numpy_pickle_utils.py `_detect_compressor`),
 * so detection here follows the same prefixes.
 * Specs: RFC 1950 (zlib), RFC 1952 (gzip), https://tukaani.org/xz/xz-file-format.txt,
 * the LZMA SDK's lzma-specification.txt (LZMA-alone), bzip2 (src/compression/bzip2.ts).
 *
 * Threat surface: the wrapper hides its content from anything that does not
 * decompress it, and decompression is where bombs live (CWE-409). So: the
 * compressed bytes are decoded once on the one streaming pass with nothing
 * kept (a meter learns the decoded size and how the stream ends), output is
 * capped absolutely (MAX_DECOMPRESSED_BYTES) and relative to the file on disk
 * (MAX_EXPANSION_RATIO, after RATIO_GRACE_BYTES), wrappers inside wrappers
 * stop at MAX_WRAPPER_DEPTH, and each cap is a finding. Then, after the pass,
 * the content is decoded again as a ByteSource, its format detected by its
 * own bytes and inspected like a file of its own; its findings carry
 * `location.entry` `<decompressed>` and offsets in the decompressed bytes.
 * A corrupt or truncated stream is reported, and what decoded before the
 * error is still inspected: a pickle runs as it is read. LZ4 is identified
 * and reported as not inspected.
 */
import {
  type CompressionCodec,
  type DecompressionOutcome,
  createDecompressedSource,
  createDecompressionMeter,
  decompressionLineage,
} from '../compression/decompress-source.ts';
import { isBzip2Header } from '../compression/bzip2.ts';
import { isZlibHeader } from '../compression/gzip.ts';
import { looksLikeLzmaAlone } from '../compression/lzma.ts';
import type { ByteSource } from '../io/byte-source.ts';
import { ParseError } from '../io/parse-error.ts';
import type { Finding, FindingLocation, MetadataValue, WeightsOnlyVerdict } from '../report/types.ts';
import { type RuleId, createFinding } from '../rules/index.ts';
import { HEAD_BYTES, type FormatModule, type InspectContext, type Inspection, type StreamScanner } from './types.ts';

/** Decoded bytes inspected per stream at most: bounds time and what a bomb costs (CWE-409, CWE-400); joblib models rarely pass 1 GiB. */
export const MAX_DECOMPRESSED_BYTES = 4 * 1024 ** 3;
/**
 * Decoded bytes per byte of the file on disk allowed before the stream is
 * treated as a bomb (CWE-409). Single-layer DEFLATE tops out near 1032:1 and
 * LZMA near 7000:1 even on zeros, so only nesting or bzip2 (whose runs reach
 * 400 000:1 on zeros: a large all-zero array compressed with bz2 is flagged
 * past RATIO_GRACE_BYTES) pass it.
 */
export const MAX_EXPANSION_RATIO = 10_000;
/** Decoded bytes always allowed whatever the ratio: a small file may expand a lot and still be cheap (CWE-400). */
export const RATIO_GRACE_BYTES = 64 * 1024 ** 2;
/** Wrapper layers decoded (gzip of xz of …); real files have one (CWE-674, CWE-409). */
export const MAX_WRAPPER_DEPTH = 3;
/** `location.entry` of findings about the decompressed content. */
export const DECOMPRESSED_ENTRY = '<decompressed>';

/** joblib < 0.10: `ZF`, the decoded length in hex padded to 19 characters (`'{:#x}'.format(2**64)`), then a zlib stream. */
const ZFILE_PREFIX = [0x5a, 0x46];
const ZFILE_LENGTH_CHARS = 19;
const ZFILE_HEADER_BYTES = ZFILE_PREFIX.length + ZFILE_LENGTH_CHARS;

/** Names joblib writes compressed files under, besides each codec's own extension. */
const JOBLIB_NAMES = ['.joblib', '.jbl', '.pkl'];

export interface WrapperLimits {
  maxDecompressedBytes: number;
  maxExpansionRatio: number;
  ratioGraceBytes: number;
  maxDepth: number;
}

export const DEFAULT_WRAPPER_LIMITS: WrapperLimits = {
  maxDecompressedBytes: MAX_DECOMPRESSED_BYTES,
  maxExpansionRatio: MAX_EXPANSION_RATIO,
  ratioGraceBytes: RATIO_GRACE_BYTES,
  maxDepth: MAX_WRAPPER_DEPTH,
};

/** Where the stream starts in the file and what its header declares. */
interface StreamLayout {
  start: number;
  declaredSize?: number;
  /** A header that cannot be read: the stream is not decoded. */
  error?: ParseError;
}

interface WrapperKind {
  id: string;
  label: string;
  extensions: string[];
  /** The decoder, or null for a wrapper that is identified only. */
  codec: CompressionCodec | null;
  matches(head: Uint8Array): boolean;
  layout?(head: Uint8Array): StreamLayout;
}

const startsWith = (head: Uint8Array, magic: readonly number[]) => head.length >= magic.length && magic.every((byte, index) => head[index] === byte);

const WRAPPERS: readonly WrapperKind[] = [
  { id: 'gzip', label: 'gzip stream', extensions: ['.gz', '.gzip', ...JOBLIB_NAMES], codec: 'gzip', matches: (head) => startsWith(head, [0x1f, 0x8b]) },
  {
    id: 'zlib',
    label: 'zlib stream',
    extensions: ['.z', '.zlib', ...JOBLIB_NAMES],
    codec: 'zlib',
    matches: (head) => isZlibHeader(head) || startsWith(head, ZFILE_PREFIX),
    layout: zlibLayout,
  },
  { id: 'xz', label: 'xz stream', extensions: ['.xz', ...JOBLIB_NAMES], codec: 'xz', matches: (head) => startsWith(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a]) },
  {
    id: 'lzma',
    label: 'LZMA stream (.lzma)',
    extensions: ['.lzma', ...JOBLIB_NAMES],
    codec: 'lzma-alone',
    // joblib's prefix is 5d 00 (the default properties); other property bytes are still LZMA-alone to Python's lzma module.
    matches: (head) => startsWith(head, [0x5d, 0x00]) || looksLikeLzmaAlone(head),
  },
  {
    id: 'bzip2',
    label: 'bzip2 stream',
    extensions: ['.bz2', ...JOBLIB_NAMES],
    codec: 'bzip2',
    matches: (head) => isBzip2Header(head),
  },
  {
    id: 'lz4',
    label: 'LZ4 frame',
    extensions: ['.lz4', ...JOBLIB_NAMES],
    codec: null,
    matches: (head) => startsWith(head, [0x04, 0x22, 0x4d, 0x18]) || startsWith(head, [0x02, 0x21, 0x4c, 0x18]),
  },
];

function zlibLayout(head: Uint8Array): StreamLayout {
  if (!startsWith(head, ZFILE_PREFIX)) return { start: 0 };
  if (head.length < ZFILE_HEADER_BYTES) {
    return { start: head.length, error: new ParseError('compression.truncated', 0, `joblib ZF header needs ${ZFILE_HEADER_BYTES} bytes; the file has ${head.length}`) };
  }
  const text = String.fromCharCode(...head.subarray(ZFILE_PREFIX.length, ZFILE_HEADER_BYTES));
  // Python's int(text, 16) takes surrounding spaces and a 0x prefix.
  const match = /^\s*(?:0[xX])?([0-9a-fA-F]+)\s*$/.exec(text);
  if (!match) {
    return { start: ZFILE_HEADER_BYTES, error: new ParseError('compression.corrupt', 2, `joblib ZF header length ${JSON.stringify(text)} is not hexadecimal; joblib.load fails on it`) };
  }
  // joblib ≤ 0.8.4 wrote one more space; a zlib stream never starts with one.
  const start = head[ZFILE_HEADER_BYTES] === 0x20 ? ZFILE_HEADER_BYTES + 1 : ZFILE_HEADER_BYTES;
  const declared = Number.parseInt(match[1], 16);
  return Number.isSafeInteger(declared) ? { start, declaredSize: declared } : { start };
}

/**
 * The wrapper format modules. `registry` gives the formats to detect the
 * decompressed content with (the full registry, read lazily because it
 * contains these modules too); `limits` are for tests.
 */
export function createCompressedFormats(
  registry: () => readonly FormatModule[],
  limits: WrapperLimits = DEFAULT_WRAPPER_LIMITS,
): FormatModule[] {
  return WRAPPERS.map((kind) => ({
    id: kind.id,
    label: kind.label,
    extensions: kind.extensions,
    detect: (head: Uint8Array) => kind.matches(head),
    inspect: (source: ByteSource, context: InspectContext) => inspectWrapper(kind, source, context, registry, limits),
  }));
}

async function inspectWrapper(
  kind: WrapperKind,
  source: ByteSource,
  context: InspectContext,
  registry: () => readonly FormatModule[],
  limits: WrapperLimits,
): Promise<Inspection> {
  const lineage = decompressionLineage(source);
  const summary: Record<string, MetadataValue> = { codec: kind.id, compressedBytes: source.size };
  const inspection: Inspection = { tensors: [], metadata: { compression: summary }, findings: [] };
  if (!kind.codec) {
    inspection.findings.push(
      createFinding('wrapper.not-inspected', {
        detail: `${kind.label} identified by its magic bytes; Preflight does not decode ${kind.label}s, so the content (joblib decodes it and unpickles what is inside) was not inspected.`,
        location: { offset: 0 },
      }),
    );
    return inspection;
  }
  if (lineage.depth >= limits.maxDepth) {
    inspection.findings.push(
      createFinding('wrapper.nesting-limit', {
        detail: `This ${kind.label} is wrapper number ${lineage.depth + 1} counting from the file; Preflight unwraps ${limits.maxDepth}. Its content was not inspected.`,
        location: { offset: 0 },
      }),
    );
    return inspection;
  }
  const layout = kind.layout ? kind.layout(context.head) : { start: 0 };
  if (layout.error) {
    inspection.findings.push(createFinding(layout.error.rule, { detail: layout.error.message, location: { offset: layout.error.offset } }));
    return inspection;
  }
  if (layout.start > 0) summary.streamOffset = layout.start;
  if (layout.declaredSize !== undefined) summary.declaredSize = layout.declaredSize;
  const ratioBudget = Math.max(limits.ratioGraceBytes, limits.maxExpansionRatio * lineage.rootSize);
  const outputLimit = Math.min(limits.maxDecompressedBytes, ratioBudget);
  const meter = createDecompressionMeter(kind.codec, { outputLimit, inputOffset: layout.start });
  const codec = kind.codec;
  const scanner: StreamScanner = {
    offset: layout.start,
    length: Math.max(0, source.size - layout.start),
    push: (bytes) => meter.push(bytes),
    async finish(): Promise<Inspection> {
      const outcome = meter.finish();
      const limitRule: RuleId = ratioBudget < limits.maxDecompressedBytes ? 'wrapper.ratio-limit' : 'wrapper.output-limit';
      const findings = outcomeFindings(kind, outcome, layout, outputLimit, limitRule, lineage.rootSize);
      const inner = await inspectDecompressed(source, codec, layout.start, outcome.decodedBytes, registry, context.signal);
      // A new object: the header report already handed out holds the first one.
      const compression = { ...summary, decodedBytes: outcome.decodedBytes, complete: outcome.end === 'complete', content: inner.formatId };
      const metadata: Record<string, MetadataValue> = { compression };
      if (Object.keys(inner.metadata).length > 0) metadata.decompressed = inner.metadata;
      return { tensors: inner.tensors, metadata, findings: [...findings, ...inner.findings], ...(inner.weightsOnly ? { weightsOnly: inner.weightsOnly } : {}) };
    },
  };
  inspection.streamScanners = [scanner];
  return inspection;
}

/** Findings about how the stream ended, the caps, trailing bytes and a declared size (all at file offsets). */
function outcomeFindings(
  kind: WrapperKind,
  outcome: DecompressionOutcome,
  layout: StreamLayout,
  outputLimit: number,
  limitRule: RuleId,
  rootSize: number,
): Finding[] {
  const findings: Finding[] = [];
  const end = layout.start + outcome.compressedBytes;
  if (outcome.error) {
    findings.push(
      createFinding(outcome.error.rule, {
        detail: `${outcome.error.message}. The ${outcome.decodedBytes} bytes decoded before it were inspected.`,
        location: { offset: outcome.error.offset },
      }),
    );
  }
  if (outcome.end === 'limit') {
    const detail =
      limitRule === 'wrapper.ratio-limit'
        ? `The ${kind.label} decodes to more than ${outputLimit} bytes, ${Math.floor(outputLimit / Math.max(1, rootSize))} times the ${rootSize}-byte file; decoding stopped there and the rest was not inspected.`
        : `The ${kind.label} decodes to more than ${outputLimit} bytes, the limit; decoding stopped there and the rest was not inspected.`;
    findings.push(createFinding(limitRule, { detail, location: { offset: layout.start } }));
  }
  if (outcome.trailingBytes > 0) {
    findings.push(
      createFinding('wrapper.trailing-data', {
        detail: `${outcome.trailingBytes} bytes after the end of the ${kind.label} are not another stream; they were not decoded.`,
        location: { offset: end - outcome.trailingBytes, length: outcome.trailingBytes },
      }),
    );
  }
  if (layout.declaredSize !== undefined && outcome.end === 'complete' && outcome.decodedBytes !== layout.declaredSize) {
    findings.push(
      createFinding('wrapper.size-mismatch', {
        detail: `The joblib ZF header declares ${layout.declaredSize} decoded bytes; the stream decodes to ${outcome.decodedBytes}. joblib.load refuses it after decoding.`,
        location: { offset: ZFILE_PREFIX.length },
      }),
    );
  }
  return findings;
}

interface InnerInspection extends Inspection {
  formatId: string;
}

/**
 * Decodes the stream again as a ByteSource and inspects it like a file: its
 * format detected by content, headers inspected, its stream scanners fed by
 * one pass over the decoded bytes. Findings come back relocated under
 * DECOMPRESSED_ENTRY.
 */
async function inspectDecompressed(
  source: ByteSource,
  codec: CompressionCodec,
  start: number,
  size: number,
  registry: () => readonly FormatModule[],
  signal: AbortSignal | undefined,
): Promise<InnerInspection> {
  const result: InnerInspection = { formatId: 'empty', tensors: [], metadata: {}, findings: [] };
  if (size === 0) return result;
  const decoded = createDecompressedSource(source, { codec, name: decompressedName(source.name), size, start });
  let head: Uint8Array;
  try {
    head = await decoded.read(0, HEAD_BYTES);
  } catch (error) {
    result.formatId = 'unknown';
    result.findings.push(failureFinding(error, 0));
    return relocate(result);
  }
  const format = detectIn(registry(), head, decoded.name);
  if (!format) {
    result.formatId = 'unknown';
    result.findings.push(
      createFinding('format.unsupported', {
        detail: `The ${size} decompressed bytes start with ${hexPreview(head)}, no format Preflight knows; only the file's hash is reported.`,
        location: { offset: 0 },
      }),
    );
    return relocate(result);
  }
  result.formatId = format.id;
  let inspection: Inspection;
  try {
    inspection = await format.inspect(decoded, { head, signal });
  } catch (error) {
    if (isAbort(error)) throw error;
    result.findings.push(failureFinding(error, 0));
    return relocate(result);
  }
  mergeInto(result, inspection);
  const scanners = inspection.streamScanners ?? [];
  if (scanners.length > 0) {
    const feeds = scanners.map(createFeed);
    let position = 0;
    try {
      for await (const chunk of decoded.chunks({ signal })) {
        for (const feed of feeds) feed.push(chunk, position);
        position += chunk.length;
      }
    } catch (error) {
      if (isAbort(error)) throw error;
      result.findings.push(failureFinding(error, position));
    }
    for (const feed of feeds) mergeInto(result, await feed.finish());
  }
  return relocate(result);
}

/** The first format whose `detect` accepts the decoded head (a module that throws is no match). */
function detectIn(formats: readonly FormatModule[], head: Uint8Array, name: string): FormatModule | null {
  for (const format of formats) {
    try {
      if (format.detect(head, name)) return format;
    } catch {
      // detect must not throw; one that does is simply not a match.
    }
  }
  return null;
}

/** Feeds one scanner the part of each decoded chunk inside its range; a scanner that throws is reported, not fatal. */
function createFeed(scanner: StreamScanner) {
  const end = scanner.offset + scanner.length;
  let failure: unknown = null;
  return {
    push(chunk: Uint8Array, chunkOffset: number) {
      if (failure !== null) return;
      const from = Math.max(scanner.offset, chunkOffset);
      const to = Math.min(end, chunkOffset + chunk.length);
      if (to <= from) return;
      try {
        scanner.push(chunk.subarray(from - chunkOffset, to - chunkOffset));
      } catch (error) {
        failure = error;
      }
    },
    async finish(): Promise<Inspection> {
      if (failure === null) {
        try {
          return await scanner.finish();
        } catch (error) {
          if (isAbort(error)) throw error;
          failure = error;
        }
      }
      return { tensors: [], metadata: {}, findings: [failureFinding(failure, scanner.offset)] };
    },
  };
}

function mergeInto(target: Inspection, addition: Inspection): void {
  target.findings.push(...addition.findings);
  target.tensors.push(...addition.tensors);
  for (const [key, value] of Object.entries(addition.metadata)) {
    Object.defineProperty(target.metadata, key, { value, enumerable: true, writable: true, configurable: true });
  }
  target.weightsOnly = firstRefusal(target.weightsOnly, addition.weightsOnly);
}

function firstRefusal(first: WeightsOnlyVerdict | undefined, second: WeightsOnlyVerdict | undefined): WeightsOnlyVerdict | undefined {
  if (!first || !second) return first ?? second;
  return first.accepted ? second : first;
}

/** Findings and the weights-only answer of the content, under DECOMPRESSED_ENTRY. */
function relocate(inspection: InnerInspection): InnerInspection {
  inspection.findings = inspection.findings.map((finding) => ({ ...finding, location: relocatedLocation(finding.location) }));
  const refused = inspection.weightsOnly?.firstRefused;
  if (refused) inspection.weightsOnly = { ...inspection.weightsOnly, accepted: false, firstRefused: { ...refused, entry: decompressedEntry(refused.entry) } };
  return inspection;
}

function relocatedLocation(location: FindingLocation): FindingLocation {
  return { ...location, entry: decompressedEntry(location.entry) };
}

/** `<decompressed>`, `<decompressed>/member` for a member inside, `<decompressed>#nested@0x…` for a nested payload. */
export function decompressedEntry(inner: string | undefined): string {
  if (inner === undefined) return DECOMPRESSED_ENTRY;
  return inner.startsWith('#') ? `${DECOMPRESSED_ENTRY}${inner}` : `${DECOMPRESSED_ENTRY}/${inner}`;
}

/**
 * `model.pkl.gz` → `model.pkl`: the name the content had, a hint for joblib
 * detection; a name without a compression extension (joblib's own
 * `model.joblib`) stays as it is.
 */
function decompressedName(name: string): string {
  const stripped = name.replace(/\.(gz|gzip|z|zlib|xz|lzma|bz2)$/i, '');
  return stripped === '' ? name : stripped;
}

function failureFinding(error: unknown, offset: number): Finding {
  if (error instanceof ParseError) return createFinding(error.rule, { detail: error.message, location: { offset: error.offset } });
  const message = error instanceof Error ? error.message : String(error);
  return createFinding('scan.internal-error', { detail: message, location: { offset } });
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

function hexPreview(head: Uint8Array): string {
  return [...head.subarray(0, 8)].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
}
