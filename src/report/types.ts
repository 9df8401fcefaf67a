/**
 * The Report: the one contract that every view, export and test shares.
 * Plain JSON (no classes, no bigint) so it crosses the worker boundary,
 * goes into files and links as is. Field names are stable; bump
 * REPORT_SCHEMA_VERSION when a field changes meaning.
 */

import type { ModelSummary } from '../folder/types.ts';
import type { ProvenanceReport } from '../provenance/types.ts';

export const REPORT_SCHEMA_VERSION = 1;

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** From worst to best: the verdict of a file is the worst effect of its findings. */
export const VERDICTS = ['dangerous', 'malformed', 'suspicious', 'clean'] as const;
export type Verdict = (typeof VERDICTS)[number];

export interface FindingLocation {
  /** Path of the member inside a container (zip entry, tar member), when there is one. */
  entry?: string;
  /** Byte offset in the file (or in `entry`, when given). */
  offset?: number;
  length?: number;
}

export interface Finding {
  /** Stable rule id, e.g. `safetensors.offsets.overlap`; CI baselines refer to it. */
  rule: string;
  severity: Severity;
  title: string;
  /** What was observed here, with the value and the limit. */
  detail: string;
  /** What would happen if the file were loaded, in plain words (from the rule). */
  explanation: string;
  /** An excerpt of the file that proves the finding (a call, a template fragment). */
  evidence?: string;
  location: FindingLocation;
  /** CWE, MITRE ATLAS, OWASP LLM Top 10 and NIST AI RMF identifiers. */
  references: string[];
}

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute byte offset of the tensor's data in the file (or entry). */
  offset: number;
  /** Byte length of the tensor's data. */
  length: number;
}

/** JSON-safe metadata value. Long arrays are summarised, see {@link MetadataArraySummary}. */
export type MetadataValue =
  | string
  | number
  | boolean
  | null
  | MetadataValue[]
  | MetadataArraySummary
  | { [key: string]: MetadataValue };

/** A long array shown by type and length with its first items, e.g. `string[151936]`. */
export interface MetadataArraySummary {
  summary: 'array';
  itemType: string;
  length: number;
  head: MetadataValue[];
}

/** Would `torch.load(weights_only=True)` accept this file? Present for files that carry pickles. */
export interface WeightsOnlyVerdict {
  accepted: boolean;
  /** The first global (or opcode) the restricted unpickler would refuse: loading stops there. */
  firstRefused?: { module: string; name: string; offset: number; entry?: string; reason: string };
}

export interface FileReport {
  path: string;
  size: number;
  /** Format id from the registry (`safetensors`, `gguf`, …) or `unknown`. */
  format: string;
  /** Lower-case hex SHA-256 of the whole file; null when the pass was cancelled or failed. */
  sha256: string | null;
  verdict: Verdict;
  findings: Finding[];
  tensors: TensorInfo[];
  metadata: Record<string, MetadataValue>;
  /** Present when the file carries pickles (PyTorch, NumPy object arrays, joblib, raw pickles). */
  weightsOnly?: WeightsOnlyVerdict;
}

export interface Report {
  schemaVersion: typeof REPORT_SCHEMA_VERSION;
  tool: { name: string; version: string };
  /** ISO 8601 time the report was made. */
  createdAt: string;
  files: FileReport[];
  /** Expected hashes (`--expect`, dropped SHA256SUMS, model.sig …) compared with the scanned files; present when any were given. */
  provenance?: ProvenanceReport;
  /** The files grouped by model (Hugging Face folders, lone files) with the findings that only show across files. */
  models?: ModelSummary[];
}
