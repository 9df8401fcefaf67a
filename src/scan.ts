import { FORMATS, detectFormat, formatsClaimedByName } from './formats/index.ts';
import { type FormatModule, HEAD_BYTES, type Inspection, type StreamScanner } from './formats/types.ts';
import type { Sha256Factory } from './hash/sha256.ts';
import type { ByteSource } from './io/byte-source.ts';
import type { FileReport, Finding } from './report/types.ts';
import { createFinding, verdictOf } from './rules/index.ts';
import { combineWeightsOnly, errorToFinding, mergeInspection, setMetadata } from './formats/inspection.ts';

export interface ScanProgress {
  bytesDone: number;
  bytesTotal: number;
}

export interface ScanOptions {
  createSha256: Sha256Factory;
  signal?: AbortSignal;
  chunkSize?: number;
  /** The formats to detect, in order; the full registry unless a test narrows it. */
  formats?: readonly FormatModule[];
  /** Called once headers are inspected, before the streaming pass (sha256 is still null). */
  onHeader?(report: FileReport): void;
  /** Called during the pass, at most every PROGRESS_INTERVAL_MS and once at the end. */
  onProgress?(progress: ScanProgress): void;
}

const PROGRESS_INTERVAL_MS = 50;

/**
 * Scan one source: detect, inspect headers with small reads, report them,
 * then one streaming pass that feeds the hasher and every region scanner.
 * Hostile input never makes this throw; only cancellation (AbortError) does.
 */
export async function scanSource(source: ByteSource, options: ScanOptions): Promise<FileReport> {
  const head = await source.read(0, HEAD_BYTES);
  const inspection = await inspectHeaders(source, head, options.formats ?? FORMATS, options.signal);
  const report: FileReport = {
    path: source.name,
    size: source.size,
    format: inspection.formatId,
    sha256: null,
    verdict: verdictOf(inspection.findings),
    findings: inspection.findings,
    tensors: inspection.tensors,
    metadata: inspection.metadata,
  };
  options.onHeader?.(structuredCloneSafe(report));

  const pass = await streamOnce(source, inspection.streamScanners ?? [], options);
  report.sha256 = pass.sha256;
  report.findings = [...report.findings, ...pass.findings];
  report.tensors = [...report.tensors, ...pass.tensors];
  setMetadata(report.metadata, pass.metadata);
  const weightsOnly = combineWeightsOnly(inspection.weightsOnly, pass.weightsOnly);
  if (weightsOnly) report.weightsOnly = weightsOnly;
  report.verdict = verdictOf(report.findings);
  return report;
}

interface HeaderInspection extends Inspection {
  formatId: string;
}

async function inspectHeaders(
  source: ByteSource,
  head: Uint8Array,
  formats: readonly FormatModule[],
  signal?: AbortSignal,
): Promise<HeaderInspection> {
  const format = detectFormat(head, source.name, formats);
  const findings: Finding[] = [];
  const claimed = formatsClaimedByName(source.name, formats);
  if (claimed.length > 0 && !claimed.some((candidate) => candidate.id === format?.id)) {
    findings.push(
      createFinding('format.extension-mismatch', {
        detail: `The name says ${claimed.map((candidate) => candidate.label).join(' or ')} but the content is ${format ? format.label : 'not a recognised format'}.`,
        location: { offset: 0 },
      }),
    );
  }
  if (!format) {
    findings.push(
      createFinding('format.unsupported', {
        detail: `No known format starts with ${hexPreview(head)}; only the hash is reported.`,
        location: { offset: 0 },
      }),
    );
    return { formatId: 'unknown', tensors: [], metadata: {}, findings };
  }
  try {
    const inspection = await format.inspect(source, { head, signal });
    return { ...inspection, formatId: format.id, findings: [...findings, ...inspection.findings] };
  } catch (error) {
    if (isAbort(error)) throw error;
    return { formatId: format.id, tensors: [], metadata: {}, findings: [...findings, errorToFinding(error)] };
  }
}

interface PassResult extends Inspection {
  sha256: string | null;
}

async function streamOnce(source: ByteSource, scanners: StreamScanner[], options: ScanOptions): Promise<PassResult> {
  const hasher = await options.createSha256();
  const feeds = scanners.map(createScannerFeed);
  const result: PassResult = { sha256: null, tensors: [], metadata: {}, findings: [] };
  let position = 0;
  let lastProgress = 0;
  try {
    for await (const chunk of source.chunks({ chunkSize: options.chunkSize, signal: options.signal })) {
      hasher.update(chunk);
      for (const feed of feeds) feed.push(chunk, position);
      position += chunk.length;
      const now = Date.now();
      if (options.onProgress && now - lastProgress >= PROGRESS_INTERVAL_MS) {
        lastProgress = now;
        options.onProgress({ bytesDone: position, bytesTotal: source.size });
      }
    }
  } catch (error) {
    if (isAbort(error)) throw error;
    result.findings.push(
      createFinding('scan.read-error', { detail: `Reading failed at offset ${position}: ${messageOf(error)}`, location: { offset: position } }),
    );
  }
  options.onProgress?.({ bytesDone: position, bytesTotal: source.size });
  if (position === source.size) {
    result.sha256 = hasher.digestHex();
  } else if (result.findings.length === 0) {
    result.findings.push(
      createFinding('scan.read-error', {
        detail: `The file had ${source.size} bytes when opened but ${position} were read; it changed during the scan, so no hash is reported.`,
        location: { offset: position },
      }),
    );
  }
  for (const feed of feeds) mergeInspection(result, await feed.finish());
  return result;
}

/** Hands each scanner exactly the bytes of its range; a scanner that fails is reported, not fatal. */
function createScannerFeed(scanner: StreamScanner) {
  const end = scanner.offset + scanner.length;
  let failure: unknown = null;
  return {
    push(chunk: Uint8Array, chunkOffset: number) {
      if (failure) return;
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
      if (!failure) {
        try {
          return await scanner.finish();
        } catch (error) {
          // Cancelling while a scanner finishes (a decompressing one can take a while) is a cancellation, not a scanner fault.
          if (isAbort(error)) throw error;
          failure = error;
        }
      }
      return { tensors: [], metadata: {}, findings: [errorToFinding(failure, scanner.offset)] };
    },
  };
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function hexPreview(head: Uint8Array): string {
  if (head.length === 0) return 'nothing (the file is empty)';
  return [...head.subarray(0, 8)].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
}

/** The header report goes to another thread or to the UI; hand out a snapshot, not the live object. */
function structuredCloneSafe(report: FileReport): FileReport {
  return { ...report, findings: [...report.findings], tensors: [...report.tensors], metadata: { ...report.metadata } };
}
