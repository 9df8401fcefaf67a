/**
 * The files of one model folder, looked up by path the way a loader joins
 * names to its folder, and the metadata the per-file modules left for the
 * folder checks, read back with type guards (the report is plain JSON and
 * may come from anywhere, e.g. a saved report).
 */
import type { FileReport, MetadataValue } from '../report/types.ts';

export interface ModelFiles {
  /** The model folder ('' for the top level). */
  root: string;
  /** Files by report path. */
  byPath: ReadonlyMap<string, FileReport>;
  /** Files in report order. */
  list: readonly FileReport[];
}

/** `dir/name` with `.` and empty segments dropped; a `..` segment is kept (callers reject those first). */
export function joinPath(dir: string, name: string): string {
  const segments = [...(dir === '' ? [] : dir.split('/')), ...name.split(/[\\/]/)].filter((segment) => segment !== '' && segment !== '.');
  // An absolute folder (a CLI argument such as /data/model) stays absolute.
  return (dir.startsWith('/') ? '/' : '') + segments.join('/');
}

/** `path` relative to `root` ('' root: the path itself). */
export function relativeTo(root: string, path: string): string {
  return root === '' ? path : path.slice(root.length + 1);
}

export function stringList(value: MetadataValue | undefined): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

export function metadataList(file: FileReport, key: string): string[] {
  return stringList(Object.hasOwn(file.metadata, key) ? file.metadata[key] : undefined);
}

/** A weight index's map, as weight-index.ts stores it: `[{shard, tensors}]`. */
export function weightMapOf(file: FileReport): { shard: string; tensors: string[] }[] {
  const value = Object.hasOwn(file.metadata, 'weightMap') ? file.metadata.weightMap : undefined;
  if (!Array.isArray(value)) return [];
  const entries: { shard: string; tensors: string[] }[] = [];
  for (const item of value) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) continue;
    const record = item as Record<string, MetadataValue>;
    if (typeof record.shard === 'string') entries.push({ shard: record.shard, tensors: stringList(record.tensors) });
  }
  return entries;
}

/** auto_map references of a config, as hf-config.ts stores them. */
export function remoteCodeOf(file: FileReport): { auto: string; file: string | null; repo: string | null }[] {
  const value = Object.hasOwn(file.metadata, 'remoteCode') ? file.metadata.remoteCode : undefined;
  if (!Array.isArray(value)) return [];
  const entries: { auto: string; file: string | null; repo: string | null }[] = [];
  for (const item of value) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) continue;
    const record = item as Record<string, MetadataValue>;
    if (typeof record.auto !== 'string') continue;
    entries.push({
      auto: record.auto,
      file: typeof record.file === 'string' ? record.file : null,
      repo: typeof record.repo === 'string' ? record.repo : null,
    });
  }
  return entries;
}

/** A short list of names for a detail: the first `max`, quoted, and how many more. */
export function listNames(names: readonly string[], max = 5): string {
  const shown = names.slice(0, max).map((name) => JSON.stringify(name.length > 120 ? `${name.slice(0, 120)}…` : name));
  return names.length > max ? `${shown.join(', ')} and ${names.length - max} more` : shown.join(', ');
}

/** `1 tensor`, `3 tensors`. */
export function counted(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
