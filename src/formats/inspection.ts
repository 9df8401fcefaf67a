import { ParseError } from '../io/parse-error.ts';
import type { Finding, MetadataValue, WeightsOnlyVerdict } from '../report/types.ts';
import { createFinding } from '../rules/index.ts';
import type { Inspection } from './types.ts';

/**
 * How inspections combine: the scan merges header and pass results, and
 * containers merge what their members gave. One rule for all of them.
 */

/** Appends `addition` to `target`: findings, tensors, metadata (as own properties), stream scanners and the weights-only answer. */
export function mergeInspection(target: Inspection, addition: Inspection): void {
  target.findings.push(...addition.findings);
  target.tensors.push(...addition.tensors);
  setMetadata(target.metadata, addition.metadata);
  target.weightsOnly = combineWeightsOnly(target.weightsOnly, addition.weightsOnly);
  if (addition.streamScanners?.length) target.streamScanners = [...(target.streamScanners ?? []), ...addition.streamScanners];
}

/** Copies keys as own data properties: a key such as `__proto__` taken from a file stays a key. */
export function setMetadata(target: Record<string, MetadataValue>, addition: Record<string, MetadataValue>): void {
  for (const [key, value] of Object.entries(addition)) {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  }
}

/** Accepted only when every part is; the first refusal (earliest part) wins. */
export function combineWeightsOnly(
  first: WeightsOnlyVerdict | undefined,
  second: WeightsOnlyVerdict | undefined,
): WeightsOnlyVerdict | undefined {
  if (!first || !second) return first ?? second;
  return first.accepted ? second : first;
}

/** A ParseError becomes its malformed finding; anything else is an internal error, never a crash. */
export function errorToFinding(error: unknown, fallbackOffset = 0): Finding {
  if (error instanceof ParseError) {
    return createFinding(error.rule, { detail: error.message, location: { offset: error.offset } });
  }
  return createFinding('scan.internal-error', {
    detail: error instanceof Error ? error.message : String(error),
    location: { offset: fallbackOffset },
  });
}
