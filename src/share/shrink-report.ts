/**
 * Making a Report small enough for a link, and saying exactly what was left
 * out. A {@link ShareShape} says how much of each part to keep; shrinkReport
 * applies it to the full report in one pass, so every omission is measured
 * against the original ("49,900 of 50,000 tensors"), whatever the steps
 * before it. share-link.ts tries the shapes of {@link SHARE_LEVELS} in order.
 */
import type { MetadataArraySummary, MetadataValue, FileReport, Finding, Report } from '../report/types.ts';
import { SEVERITIES } from '../report/types.ts';
import type { ProvenanceReport } from '../provenance/types.ts';

/** The parts of a report an omission can be about. */
export const SHARE_OMITTED_PARTS = ['files', 'tensors', 'metadata', 'findings', 'provenance', 'models'] as const;
export type ShareOmittedPart = (typeof SHARE_OMITTED_PARTS)[number];

/** One thing a link leaves out, in words; `file` is the index in the shared report's `files` when it is about one file. */
export interface ShareOmission {
  part: ShareOmittedPart;
  file?: number;
  what: string;
}

/** How much of each part a link keeps. `Infinity` keeps all. */
export interface ShareShape {
  /** Rows kept of each tensor table (the first ones). */
  tensorRows: number;
  /** `cut`: long strings, long arrays and big objects are shortened, see the METADATA_* limits. */
  metadata: 'all' | 'cut' | 'none';
  /** Findings kept per file, the most severe first (scan order within a severity). */
  findingsPerFile: number;
  /** Characters kept of a finding's detail and evidence. */
  findingTextChars: number;
  /** Items kept of each list in the provenance comparison (listed-not-scanned, problems, notes, claims, conflicts). */
  provenanceItems: number;
  provenance: boolean;
  models: boolean;
  /** Files kept, from the first. */
  files: number;
}

/** Characters kept of a metadata string under `metadata: 'cut'` (a chat template runs to tens of kilobytes). */
export const METADATA_STRING_CHARS = 500;
/** Items kept of a metadata array under `metadata: 'cut'` (a vocabulary has 150,000). */
export const METADATA_ARRAY_ITEMS = 16;
/** Keys kept per metadata object under `metadata: 'cut'`. */
export const METADATA_OBJECT_KEYS = 200;

const ALL: ShareShape = {
  tensorRows: Infinity,
  metadata: 'all',
  findingsPerFile: Infinity,
  findingTextChars: Infinity,
  provenanceItems: Infinity,
  provenance: true,
  models: true,
  files: Infinity,
};

/**
 * The shapes a link tries, in order, until one fits the budget; each keeps
 * less than the one before. The order puts what a reader of a shared verdict
 * needs last: tensor rows and long metadata first, then long provenance
 * lists, then the tensor tables and metadata as a whole, then the least
 * severe findings and long finding texts, then model summaries. If even the
 * last shape is too big, share-link.ts drops files from the end, and finally
 * the provenance comparison.
 */
export const SHARE_LEVELS: readonly ShareShape[] = [
  ALL,
  { ...ALL, tensorRows: 100 },
  { ...ALL, tensorRows: 100, metadata: 'cut' },
  { ...ALL, tensorRows: 100, metadata: 'cut', provenanceItems: 50 },
  { ...ALL, tensorRows: 0, metadata: 'none', provenanceItems: 50 },
  { ...ALL, tensorRows: 0, metadata: 'none', provenanceItems: 50, findingsPerFile: 100, findingTextChars: 1000 },
  { ...ALL, tensorRows: 0, metadata: 'none', provenanceItems: 10, findingsPerFile: 20, findingTextChars: 300, models: false },
];

/** Applies `shape` to `report`; the input is not changed. */
export function shrinkReport(report: Report, shape: ShareShape): { report: Report; omissions: ShareOmission[] } {
  const omissions: ShareOmission[] = [];
  const keptFiles = report.files.slice(0, shape.files);
  const files = keptFiles.map((file, index) => shrinkFile(file, index, shape, omissions));
  if (keptFiles.length < report.files.length) {
    const dropped = report.files.length - keptFiles.length;
    omissions.push({
      part: 'files',
      what: `${count(dropped, 'file')} of ${formatInteger(report.files.length)} left out, from ${quote(report.files[keptFiles.length].path)} to the end`,
    });
  }
  const shrunk: Report = { schemaVersion: report.schemaVersion, tool: { ...report.tool }, createdAt: report.createdAt, files };
  if (report.provenance) {
    if (shape.provenance) shrunk.provenance = shrinkProvenance(report.provenance, keptFiles, shape.provenanceItems, omissions);
    else omissions.push({ part: 'provenance', what: `the expected-hash comparison (${describeCounts(report.provenance)})` });
  }
  if (report.models && report.models.length > 0) {
    if (shape.models && keptFiles.length === report.files.length) shrunk.models = report.models;
    else omissions.push({ part: 'models', what: `the model summaries (${count(report.models.length, 'model')}: per-model verdicts and cross-file findings)` });
  }
  return { report: shrunk, omissions };
}

function shrinkFile(file: FileReport, index: number, shape: ShareShape, omissions: ShareOmission[]): FileReport {
  const shrunk: FileReport = { ...file };
  if (file.tensors.length > shape.tensorRows) {
    shrunk.tensors = file.tensors.slice(0, shape.tensorRows);
    const what =
      shape.tensorRows === 0
        ? `the tensor table (${count(file.tensors.length, 'tensor')})`
        : `${formatInteger(file.tensors.length - shape.tensorRows)} of ${count(file.tensors.length, 'tensor')} (the first ${formatInteger(shape.tensorRows)} are kept)`;
    omissions.push({ part: 'tensors', file: index, what });
  }
  const keys = Object.keys(file.metadata);
  if (shape.metadata === 'none' && keys.length > 0) {
    shrunk.metadata = {};
    omissions.push({ part: 'metadata', file: index, what: `the metadata (${count(keys.length, 'key')})` });
  } else if (shape.metadata === 'cut') {
    const cut = cutMetadata(file.metadata);
    shrunk.metadata = cut.metadata;
    if (cut.description) omissions.push({ part: 'metadata', file: index, what: cut.description });
  }
  const findings = shrinkFindings(file.findings, shape);
  shrunk.findings = findings.findings;
  if (findings.description) omissions.push({ part: 'findings', file: index, what: findings.description });
  return shrunk;
}

function shrinkFindings(findings: Finding[], shape: ShareShape): { findings: Finding[]; description: string | null } {
  const parts: string[] = [];
  let kept = findings;
  if (findings.length > shape.findingsPerFile) {
    const rank = (finding: Finding) => SEVERITIES.indexOf(finding.severity);
    const order = findings.map((_, index) => index).sort((left, right) => rank(findings[left]) - rank(findings[right]) || left - right);
    const keep = new Set(order.slice(0, shape.findingsPerFile));
    kept = findings.filter((_, index) => keep.has(index));
    const dropped = findings.filter((_, index) => !keep.has(index));
    const bySeverity = SEVERITIES.map((severity) => [severity, dropped.filter((finding) => finding.severity === severity).length] as const)
      .filter(([, number]) => number > 0)
      .map(([severity, number]) => `${formatInteger(number)} ${severity}`);
    parts.push(`${formatInteger(dropped.length)} of ${count(findings.length, 'finding')}, the least severe (${bySeverity.join(', ')})`);
  }
  let shortened = 0;
  kept = kept.map((finding) => {
    const long = finding.detail.length > shape.findingTextChars || (finding.evidence?.length ?? 0) > shape.findingTextChars;
    if (!long) return finding;
    shortened += 1;
    const cut: Finding = { ...finding, detail: cutText(finding.detail, shape.findingTextChars) };
    if (finding.evidence !== undefined) cut.evidence = cutText(finding.evidence, shape.findingTextChars);
    return cut;
  });
  if (shortened > 0) {
    parts.push(`the end of the detail or evidence of ${count(shortened, 'finding')} (each cut to ${formatInteger(shape.findingTextChars)} characters)`);
  }
  return { findings: kept, description: parts.length > 0 ? parts.join('; ') : null };
}

interface MetadataCuts {
  strings: number;
  arrays: number;
  keys: number;
  /** Top-level keys under which something was cut, with the longest array's length. */
  touched: Map<string, number | null>;
}

function cutMetadata(metadata: Record<string, MetadataValue>): { metadata: Record<string, MetadataValue>; description: string | null } {
  const cuts: MetadataCuts = { strings: 0, arrays: 0, keys: 0, touched: new Map() };
  const keys = Object.keys(metadata);
  const keptKeys = keys.slice(0, METADATA_OBJECT_KEYS);
  cuts.keys += keys.length - keptKeys.length;
  const entries = keptKeys.map((key): [string, MetadataValue] => {
    const before = { strings: cuts.strings, arrays: cuts.arrays, keys: cuts.keys };
    const tracker = { longestArray: null as number | null };
    const value = cutValue(metadata[key], cuts, tracker);
    if (cuts.strings !== before.strings || cuts.arrays !== before.arrays || cuts.keys !== before.keys) cuts.touched.set(key, tracker.longestArray);
    return [key, value];
  });
  const parts: string[] = [];
  if (cuts.strings > 0) parts.push(`the end of ${count(cuts.strings, 'long string')} (each cut to ${formatInteger(METADATA_STRING_CHARS)} characters)`);
  if (cuts.arrays > 0) parts.push(`all but the first ${METADATA_ARRAY_ITEMS} items of ${count(cuts.arrays, 'array')}`);
  if (cuts.keys > 0) parts.push(`${count(cuts.keys, 'key')} past the first ${METADATA_OBJECT_KEYS} of an object`);
  if (parts.length === 0) return { metadata: Object.fromEntries(entries), description: null };
  const named = [...cuts.touched].slice(0, 3).map(([key, length]) => (length === null ? quote(key) : `${quote(key)} (${count(length, 'item')})`));
  const more = cuts.touched.size > named.length ? `, and ${formatInteger(cuts.touched.size - named.length)} more` : '';
  const under = named.length > 0 ? `, under ${named.join(', ')}${more}` : '';
  return { metadata: Object.fromEntries(entries), description: `${parts.join('; ')}${under}` };
}

function cutValue(value: MetadataValue, cuts: MetadataCuts, tracker: { longestArray: number | null }): MetadataValue {
  if (typeof value === 'string') {
    if (value.length <= METADATA_STRING_CHARS) return value;
    cuts.strings += 1;
    return cutText(value, METADATA_STRING_CHARS);
  }
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    if (value.length <= METADATA_ARRAY_ITEMS) return value.map((item) => cutValue(item, cuts, tracker));
    cuts.arrays += 1;
    tracker.longestArray = Math.max(tracker.longestArray ?? 0, value.length);
    const summary: MetadataArraySummary = {
      summary: 'array',
      itemType: itemTypeOf(value),
      length: value.length,
      head: value.slice(0, METADATA_ARRAY_ITEMS).map((item) => cutValue(item, cuts, tracker)),
    };
    return summary;
  }
  if (isArraySummary(value) && value.head.length > METADATA_ARRAY_ITEMS) {
    cuts.arrays += 1;
    tracker.longestArray = Math.max(tracker.longestArray ?? 0, value.length);
    return { ...value, head: value.head.slice(0, METADATA_ARRAY_ITEMS).map((item) => cutValue(item, cuts, tracker)) };
  }
  const keys = Object.keys(value);
  cuts.keys += Math.max(0, keys.length - METADATA_OBJECT_KEYS);
  return Object.fromEntries(keys.slice(0, METADATA_OBJECT_KEYS).map((key) => [key, cutValue((value as Record<string, MetadataValue>)[key], cuts, tracker)]));
}

function shrinkProvenance(provenance: ProvenanceReport, keptFiles: FileReport[], limit: number, omissions: ShareOmission[]): ProvenanceReport {
  const parts: string[] = [];
  const cap = <T>(items: T[], what: string): T[] => {
    if (items.length <= limit) return items;
    parts.push(`${formatInteger(items.length - limit)} of ${formatInteger(items.length)} ${what}`);
    return items.slice(0, limit);
  };
  const keptPaths = new Set(keptFiles.map((file) => file.path));
  const files = provenance.files
    .filter((file) => keptPaths.has(file.path))
    .map((file) => ({ ...file, claims: cap(file.claims, `claims about ${quote(file.path)}`) }));
  const shrunk: ProvenanceReport = {
    sources: provenance.sources.map((source) => ({
      ...source,
      problems: cap(source.problems, `problems of ${quote(source.name)}`),
      notes: cap(source.notes, `notes on ${quote(source.name)}`),
    })),
    files,
    listedNotScanned: cap(provenance.listedNotScanned, 'listed files that were not scanned'),
    conflicts: cap(provenance.conflicts, 'conflicting claims').map((conflict) => ({ ...conflict, claims: cap(conflict.claims, `claims in the conflict over ${quote(conflict.path)}`) })),
    notes: cap(provenance.notes, 'notes on the comparison'),
    // The counts stay those of the whole comparison, so the shortened lists can be read against them.
    counts: { ...provenance.counts },
  };
  if (parts.length > 0) omissions.push({ part: 'provenance', what: `from the expected-hash comparison: ${parts.join('; ')}` });
  return shrunk;
}

function describeCounts(provenance: ProvenanceReport): string {
  const { matches, differs, notListed, listedNotScanned } = provenance.counts;
  return `${formatInteger(matches)} matching, ${formatInteger(differs)} differing, ${formatInteger(notListed)} not listed, ${formatInteger(listedNotScanned)} listed but not scanned`;
}

function isArraySummary(value: object): value is MetadataArraySummary {
  const candidate = value as Partial<MetadataArraySummary>;
  return candidate.summary === 'array' && typeof candidate.length === 'number' && Array.isArray(candidate.head);
}

function itemTypeOf(items: MetadataValue[]): string {
  const types = new Set(items.map((item) => (item === null ? 'null' : Array.isArray(item) ? 'array' : typeof item)));
  return types.size === 1 ? [...types][0] : 'mixed';
}

function cutText(text: string, limit: number): string {
  if (text.length <= limit) return text;
  // Never split a surrogate pair: the cut text must stay well-formed UTF-16.
  const end = /[\uD800-\uDBFF]/.test(text.charAt(limit - 1)) ? limit - 1 : limit;
  return text.slice(0, end);
}

/** A name from the report inside a sentence: quoted, and cut short (names are untrusted and can be long). */
function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}

function formatInteger(value: number): string {
  return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function count(value: number, noun: string): string {
  return `${formatInteger(value)} ${noun}${value === 1 ? '' : 's'}`;
}
