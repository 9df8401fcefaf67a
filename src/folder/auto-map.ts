/**
 * `auto_map` and `custom_pipelines` references, read the way the loading
 * library reads them (transformers' dynamic_module_utils,
 * get_class_from_dynamic_module): `[repo--]module.Class`, where the module is
 * the file `module.py` of the repository (or of `repo` when given), imported
 * with trust_remote_code=True.
 */
import type { MetadataValue } from '../report/types.ts';
import { isJsonObject } from './text-file.ts';

/** auto_map and pipeline entries read from one config; real configs have a handful (CWE-770). */
export const MAX_AUTO_MAP_ENTRIES = 256;
/** Characters of one reference kept; a longer one is not a module.Class name (CWE-770). */
export const MAX_REFERENCE_CHARS = 512;

/** One class the config maps to repository code. */
export interface RemoteCodeReference {
  /** The Auto class or pipeline it serves: `AutoModel`, `AutoTokenizer[1]`, `custom_pipelines.text-generation`. */
  auto: string;
  /** The reference as written (cut to MAX_REFERENCE_CHARS). */
  reference: string;
  /** The module file the library imports (`modeling_x.py`), relative to the model folder; null when the reference cannot name one. */
  file: string | null;
  /** The other repository the module comes from (`owner/repo--module.Class`). */
  repo: string | null;
  /** True when the reference has the exact shape the library accepts. */
  valid: boolean;
}

const MODULE_PATH = /^[A-Za-z_]\w*(?:\/[A-Za-z_]\w*)*$/;
const CLASS_NAME = /^[A-Za-z_]\w*$/;
const REPO_ID = /^[\w.-]+(?:\/[\w.-]+)?$/;

/** Parses one `[repo--]module.Class` reference. */
export function parseReference(auto: string, raw: string): RemoteCodeReference {
  const reference = raw.length > MAX_REFERENCE_CHARS ? `${raw.slice(0, MAX_REFERENCE_CHARS)}…` : raw;
  let rest = raw;
  let repo: string | null = null;
  const separator = raw.indexOf('--');
  if (separator >= 0) {
    repo = raw.slice(0, separator);
    rest = raw.slice(separator + 2);
  }
  const dot = rest.lastIndexOf('.');
  const modulePath = dot > 0 ? rest.slice(0, dot) : '';
  const className = dot > 0 ? rest.slice(dot + 1) : '';
  const valid =
    raw.length <= MAX_REFERENCE_CHARS &&
    MODULE_PATH.test(modulePath) &&
    CLASS_NAME.test(className) &&
    (repo === null || (REPO_ID.test(repo) && !repo.split('/').some((part) => part === '..' || part === '.')));
  const file = MODULE_PATH.test(modulePath) ? `${modulePath}.py` : null;
  return { auto, reference, file, repo, valid };
}

/**
 * Every reference in `auto_map` (strings, or lists such as the tokenizer's
 * `[slow, fast]` with nulls) and `custom_pipelines` (`impl` of each task).
 * Values of other types are returned as invalid references so they are seen.
 */
export function collectRemoteCode(config: Record<string, unknown>): RemoteCodeReference[] {
  const references: RemoteCodeReference[] = [];
  const add = (auto: string, value: unknown) => {
    if (references.length >= MAX_AUTO_MAP_ENTRIES || value === null) return;
    if (typeof value === 'string') references.push(parseReference(auto, value));
    else references.push({ auto, reference: describe(value), file: null, repo: null, valid: false });
  };
  const autoMap = Object.hasOwn(config, 'auto_map') ? config.auto_map : undefined;
  if (isJsonObject(autoMap)) {
    for (const [auto, value] of Object.entries(autoMap)) {
      if (Array.isArray(value)) value.slice(0, MAX_AUTO_MAP_ENTRIES).forEach((item, index) => add(`${auto}[${index}]`, item));
      else add(auto, value);
    }
  } else if (autoMap !== undefined && autoMap !== null) {
    add('auto_map', autoMap);
  }
  const pipelines = Object.hasOwn(config, 'custom_pipelines') ? config.custom_pipelines : undefined;
  if (isJsonObject(pipelines)) {
    for (const [task, entry] of Object.entries(pipelines)) {
      if (isJsonObject(entry) && Object.hasOwn(entry, 'impl')) add(`custom_pipelines.${task}`, entry.impl);
    }
  }
  return references;
}

/** The references as report metadata. */
export function referencesToMetadata(references: readonly RemoteCodeReference[]): MetadataValue[] {
  return references.map((entry) => ({ auto: entry.auto, reference: entry.reference, file: entry.file, repo: entry.repo, valid: entry.valid }));
}

/** Module files (in this folder) that the references import, in first-seen order. */
export function localModuleFiles(references: readonly RemoteCodeReference[]): string[] {
  const files: string[] = [];
  for (const entry of references) {
    if (entry.file !== null && entry.repo === null && !files.includes(entry.file)) files.push(entry.file);
  }
  return files;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  if (isJsonObject(value)) return 'an object';
  return `${typeof value} ${String(value).slice(0, 60)}`;
}
