/**
 * Model folders: the files of a Report grouped by model, and what only shows
 * across files. A pure function of the per-file reports (their formats,
 * tensor tables and the metadata the text formats leave for it), so the CLI,
 * the web UI and a saved report all give the same answer.
 *
 * Grouping: a folder is a model root when it holds a file with a Hugging
 * Face layout name (config.json, tokenizer_config.json, model.safetensors,
 * pytorch_model-00001-of-00002.bin, an index …); every file belongs to the
 * deepest root above it (subfolders such as `onnx/` or
 * `additional_chat_templates/` belong to the model), and a file under no
 * root is a model of its own (a lone GGUF, a pickle).
 */
import { parameterCount } from '../report/report.ts';
import { type FileReport, type Finding, VERDICTS, type Verdict } from '../report/types.ts';
import { createFinding, verdictOf } from '../rules/index.ts';
import { type ModelFiles, joinPath, listNames, relativeTo } from './model-files.ts';
import { type FolderLookup, checkOnnxExternalData } from './onnx-external-data.ts';
import { checkRemoteCode } from './remote-code.ts';
import { basenameOf, dirnameOf } from './text-file.ts';
import type { ModelSummary } from './types.ts';
import { WEIGHT_NAME, checkWeightIndexes, chooseWeights } from './weights.ts';

export type { ModelSummary } from './types.ts';

/** Files that take part in the cross-file checks of one model; a real repository has tens (CWE-400). */
export const MAX_FILES_PER_MODEL = 10_000;
/** Folder levels below a model root that take part; model repositories use two or three (CWE-400). */
export const MAX_DEPTH_BELOW_ROOT = 16;
/** Bytes beyond any published checkpoint (the largest are a few TB); more hints at sparse files or size tricks. */
export const MAX_MODEL_BYTES = 16 * 1024 ** 4;
/** Symbolic links listed per model (CWE-770). */
export const MAX_LISTED_SYMLINKS = 20;

export interface FolderAnalysisOptions {
  /** Report-style paths of symbolic links the walker saw and did not follow. */
  symlinks?: readonly string[];
}

/** Names that make a folder a Hugging Face model root. */
const ROOT_MARKERS = new Set(['config.json', 'tokenizer_config.json', 'generation_config.json', 'adapter_config.json', 'model_index.json']);

function isRootMarker(path: string): boolean {
  const base = basenameOf(path);
  return ROOT_MARKERS.has(base) || WEIGHT_NAME.test(base);
}

/** Groups the files of a report by model and checks each model across its files. */
export function analyzeModelFolders(files: readonly FileReport[], options: FolderAnalysisOptions = {}): ModelSummary[] {
  const symlinks = options.symlinks ?? [];
  const roots = new Set<string>();
  for (const path of [...files.map((file) => file.path), ...symlinks]) {
    if (isRootMarker(path)) roots.add(dirnameOf(path));
  }
  const groups = new Map<string, FileReport[]>();
  const lone: FileReport[] = [];
  for (const file of files) {
    const root = deepestRoot(dirnameOf(file.path), roots);
    if (root === null) {
      lone.push(file);
      continue;
    }
    const group = groups.get(root) ?? [];
    if (group.length === 0) groups.set(root, group);
    group.push(file);
  }
  const lookup: FolderLookup = { files: new Map(files.map((file) => [file.path, file])), symlinks: new Set(symlinks) };
  const summaries: ModelSummary[] = [];
  for (const root of roots) {
    const linksHere = symlinks.filter((link) => deepestRoot(dirnameOf(link), roots) === root);
    summaries.push(summarizeFolder(root, groups.get(root) ?? [], linksHere, lookup));
  }
  for (const file of lone) summaries.push(summarizeLoneFile(file, lookup));
  // Report order: a model sits where its first file (or its root) comes in the report.
  const order = new Map(files.map((file, index) => [file.path, index]));
  const position = (summary: ModelSummary) => (summary.files.length > 0 ? (order.get(summary.files[0]) ?? 0) : files.length);
  return summaries.sort((left, right) => position(left) - position(right));
}

/** The deepest root that is `dir` or above it; null when there is none. */
function deepestRoot(dir: string, roots: ReadonlySet<string>): string | null {
  let current = dir;
  for (;;) {
    if (roots.has(current)) return current;
    if (current === '') return null;
    current = dirnameOf(current);
  }
}

function summarizeLoneFile(file: FileReport, lookup: FolderLookup): ModelSummary {
  // A lone ONNX model still reads its external data from its folder.
  const findings = checkOnnxExternalData(dirnameOf(file.path), [file], lookup);
  return {
    root: file.path,
    files: [file.path],
    verdict: worstVerdict([file.verdict, verdictOf(findings)]),
    formats: file.format === 'unknown' ? [] : [file.format],
    parameters: parametersOf([file]),
    size: file.size,
    loaderReads: [file.path],
    findings,
  };
}

function summarizeFolder(root: string, all: FileReport[], symlinks: readonly string[], lookup: FolderLookup): ModelSummary {
  const findings: Finding[] = [];
  const depthOf = (path: string) => relativeTo(root, path).split('/').length - 1;
  const tooDeep = all.filter((file) => depthOf(file.path) > MAX_DEPTH_BELOW_ROOT);
  if (tooDeep.length > 0) {
    findings.push(
      createFinding('folder.limits.depth', {
        detail: `${tooDeep.length} files are more than ${MAX_DEPTH_BELOW_ROOT} folders below the model root: ${listNames(tooDeep.map((file) => relativeTo(root, file.path)), 3)}`,
        location: { entry: relativeTo(root, tooDeep[0].path) },
      }),
    );
  }
  const shallow = all.filter((file) => depthOf(file.path) <= MAX_DEPTH_BELOW_ROOT);
  const checked = shallow.slice(0, MAX_FILES_PER_MODEL);
  if (shallow.length > MAX_FILES_PER_MODEL) {
    findings.push(
      createFinding('folder.limits.files', {
        detail: `${shallow.length} files; only the first ${MAX_FILES_PER_MODEL} took part in the folder checks`,
      }),
    );
  }
  const model: ModelFiles = { root, byPath: new Map(checked.map((file) => [file.path, file])), list: checked };
  const size = all.reduce((total, file) => total + file.size, 0);
  if (size > MAX_MODEL_BYTES) {
    findings.push(createFinding('folder.limits.size', { detail: `the files add up to ${size} bytes, more than ${MAX_MODEL_BYTES}` }));
  }
  if (symlinks.length > 0) {
    const names = symlinks.map((link) => relativeTo(root, link));
    findings.push(
      createFinding('folder.symlink-not-followed', {
        detail: `${symlinks.length} symbolic links were not followed or scanned: ${listNames(names, MAX_LISTED_SYMLINKS)}`,
        location: { entry: names[0] },
      }),
    );
  }

  const weights = chooseWeights(model);
  findings.push(...weights.findings, ...checkWeightIndexes(model), ...checkRemoteCode(model), ...checkOnnxExternalData(root, checked, lookup));
  const config = model.byPath.get(joinPath(root, 'config.json'));
  const loaderReads = [...(config ? [config.path] : []), ...weights.reads];
  const weightFiles = weights.reads.map((path) => model.byPath.get(path)).filter((file): file is FileReport => file !== undefined);
  return {
    root,
    files: all.map((file) => file.path),
    verdict: worstVerdict([...all.map((file) => file.verdict), verdictOf(findings)]),
    formats: [...new Set(all.map((file) => file.format).filter((format) => format !== 'unknown'))],
    parameters: parametersOf(weightFiles.length > 0 ? weightFiles : all),
    size,
    loaderReads,
    findings,
  };
}

function parametersOf(files: readonly FileReport[]): number {
  let total = 0;
  for (const file of files) for (const tensor of file.tensors) total += parameterCount(tensor.shape);
  return total;
}

function worstVerdict(verdicts: readonly Verdict[]): Verdict {
  let worst = VERDICTS.length - 1;
  for (const verdict of verdicts) worst = Math.min(worst, VERDICTS.indexOf(verdict));
  return VERDICTS[worst];
}
