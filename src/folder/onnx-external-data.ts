/**
 * ONNX external data checked against the files of the folder: a model whose
 * tensors live in other files (https://github.com/onnx/onnx/blob/main/docs/ExternalData.md)
 * is only whole with those files. The onnx library and ONNX Runtime join each
 * `location` to the model's folder and read `length` bytes at `offset`; a
 * missing file makes loading fail or, worse, read whatever sits at that path
 * on the loading machine; a symbolic link reads a file nobody inspected; a
 * short file fails to load (or, in tools that do not check, reads past the
 * end). The ONNX module leaves `externalFiles` and `externalData`
 * (src/formats/onnx.ts) in its metadata; they are read back here with type
 * guards, since a saved report may come from anywhere. Locations the ONNX
 * scan already flagged (absolute, `..`, URLs …) are never resolved.
 */
import type { FileReport, Finding, MetadataValue } from '../report/types.ts';
import { type RuleId, createFinding } from '../rules/index.ts';
import { counted, joinPath, listNames, relativeTo } from './model-files.ts';
import { dirnameOf } from './text-file.ts';

/** Findings of one rule per model (CWE-770). */
export const MAX_FINDINGS_PER_RULE = 50;
/** External files resolved per model; the ONNX scan lists at most 1000 per model file (CWE-400). */
export const MAX_EXTERNAL_FILES_CHECKED = 10_000;
/** Tensor references compared with their file's size per model (CWE-400). */
export const MAX_REFERENCES_CHECKED = 1_000_000;
/** Tensors named in one finding's detail. */
const TENSORS_NAMED = 5;

const ONNX_FORMAT = 'onnx';

/** What the folder analysis can look up: every file of the report by path, and the links the walker saw. */
export interface FolderLookup {
  files: ReadonlyMap<string, FileReport>;
  symlinks: ReadonlySet<string>;
}

interface ExternalFile {
  location: string;
  tensors: number;
  minimumSize: number | null;
  problems: number;
}

interface ExternalReference {
  tensor: string;
  location: string;
  offset: number | null;
  length: number | null;
  expectedLength: number | null;
}

/**
 * Checks every external data file of the ONNX files in `files` (the files of
 * one model, whose folder is `root`) against the report: present, not a
 * symbolic link, large enough for every tensor read from it.
 */
export function checkOnnxExternalData(root: string, files: readonly FileReport[], lookup: FolderLookup): Finding[] {
  const findings: Finding[] = [];
  const counts = new Map<RuleId, number>();
  const add = (rule: RuleId, detail: string, entry: string) => {
    const count = (counts.get(rule) ?? 0) + 1;
    counts.set(rule, count);
    if (count <= MAX_FINDINGS_PER_RULE) findings.push(createFinding(rule, { detail, location: { entry } }));
  };
  let fileBudget = MAX_EXTERNAL_FILES_CHECKED;
  let referenceBudget = MAX_REFERENCES_CHECKED;
  for (const model of files) {
    if (model.format !== ONNX_FORMAT) continue;
    const modelName = relativeTo(root, model.path);
    const dir = dirnameOf(model.path);
    const byLocation = groupByLocation(externalReferencesOf(model));
    for (const external of externalFilesOf(model)) {
      if (external.problems > 0) continue;
      if (--fileBudget < 0) break;
      const dataPath = joinPath(dir, external.location);
      const dataName = relativeTo(root, dataPath);
      const uses = `${modelName} reads ${counted(external.tensors, 'tensor')} from ${JSON.stringify(external.location)}`;
      const link = linkOnPath(dataPath, lookup.symlinks);
      if (link !== null) {
        const through = link === dataPath ? 'is a symbolic link' : `goes through the symbolic link ${JSON.stringify(relativeTo(root, link))}`;
        add('onnx.external-data.symlink', `${uses}, which ${through}; its target was not scanned`, dataName);
        continue;
      }
      const data = lookup.files.get(dataPath);
      if (!data) {
        add('onnx.external-data.missing', `${uses}, which is not among the scanned files (looked for ${JSON.stringify(dataName)})`, dataName);
        continue;
      }
      const mine = byLocation.get(external.location) ?? [];
      referenceBudget -= mine.length;
      const overflowing = referenceBudget < 0 ? [] : mine.filter((reference) => !fits(reference, data.size));
      const needs = external.minimumSize;
      if ((needs !== null && data.size < needs) || overflowing.length > 0) {
        const need = needs !== null ? `at least ${needs}` : 'more';
        const which =
          overflowing.length > 0
            ? `; tensors past its end (${overflowing.length}): ${overflowing.slice(0, TENSORS_NAMED).map(describeReference).join(', ')}${overflowing.length > TENSORS_NAMED ? ` and ${overflowing.length - TENSORS_NAMED} more` : ''}`
            : '';
        add('onnx.external-data.too-small', `${uses}, which needs ${need} bytes but holds ${data.size}${which}`, dataName);
      }
    }
  }
  if (referenceBudget < 0) {
    findings.push(createFinding('folder.limits.tensors', { detail: `more than ${MAX_REFERENCES_CHECKED} ONNX external tensor references; the rest were not compared with their files' sizes` }));
  }
  for (const [rule, count] of counts) {
    if (count > MAX_FINDINGS_PER_RULE) {
      findings.push(createFinding('folder.findings-truncated', { detail: `${count - MAX_FINDINGS_PER_RULE} more findings of ${rule} were not listed (limit ${MAX_FINDINGS_PER_RULE})` }));
    }
  }
  return findings;
}

/** The link listed by the walker that is `path` or one of its folders; null when none. */
function linkOnPath(path: string, symlinks: ReadonlySet<string>): string | null {
  for (let current = path; current !== '' && current !== '/'; current = dirnameOf(current)) {
    if (symlinks.has(current)) return current;
  }
  return null;
}

/**
 * The tensor's bytes lie inside a file of `size` bytes. Without a length the
 * loader reads to the end of the file, so the tensor needs its expected size
 * there; with neither, only the offset can be checked. An invalid offset was
 * reported by the ONNX scan already.
 */
function fits(reference: ExternalReference, size: number): boolean {
  if (reference.offset === null) return true;
  const length = reference.length ?? reference.expectedLength ?? 0;
  return reference.offset + length <= size;
}

function describeReference(reference: ExternalReference): string {
  const length = reference.length ?? reference.expectedLength;
  const span = length === null ? `from ${reference.offset}` : `bytes ${reference.offset}..${(reference.offset ?? 0) + length}`;
  return `${listNames([reference.tensor], 1)} (${span})`;
}

function groupByLocation(references: readonly ExternalReference[]): Map<string, ExternalReference[]> {
  const groups = new Map<string, ExternalReference[]>();
  for (const reference of references) {
    const group = groups.get(reference.location);
    if (group) group.push(reference);
    else groups.set(reference.location, [reference]);
  }
  return groups;
}

function recordsOf(file: FileReport, key: string): Record<string, MetadataValue>[] {
  const value = Object.hasOwn(file.metadata, key) ? file.metadata[key] : undefined;
  if (!Array.isArray(value)) return [];
  return value.filter((item): item is Record<string, MetadataValue> => typeof item === 'object' && item !== null && !Array.isArray(item));
}

const sizeOrNull = (value: MetadataValue | undefined): number | null =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null;

/** `externalFiles` as the ONNX module writes it; an entry without a string location is skipped. */
function externalFilesOf(file: FileReport): ExternalFile[] {
  const files: ExternalFile[] = [];
  for (const record of recordsOf(file, 'externalFiles')) {
    if (typeof record.location !== 'string') continue;
    // A missing or odd `problems` counts as a problem: a location is only resolved when the ONNX scan said it is plain.
    const problems = Array.isArray(record.problems) ? record.problems.length : 1;
    files.push({ location: record.location, tensors: sizeOrNull(record.tensors) ?? 0, minimumSize: sizeOrNull(record.minimumSize), problems });
  }
  return files;
}

/** `externalData` as the ONNX module writes it. */
function externalReferencesOf(file: FileReport): ExternalReference[] {
  const references: ExternalReference[] = [];
  for (const record of recordsOf(file, 'externalData')) {
    if (typeof record.location !== 'string') continue;
    references.push({
      tensor: typeof record.tensor === 'string' ? record.tensor : '',
      location: record.location,
      offset: sizeOrNull(record.offset),
      length: sizeOrNull(record.length),
      expectedLength: sizeOrNull(record.expectedLength),
    });
  }
  return references;
}
