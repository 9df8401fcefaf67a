import { lstat, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/** Why a walk stops: these bound the work a hostile folder can cause (CWE-400). */
export const MAX_FILES = 100_000;
export const MAX_DEPTH = 32;

export interface WalkedFile {
  /** Absolute or as-given path to open. */
  path: string;
  /** Path shown in the report: relative to the folder given on the command line, prefixed by it. */
  displayPath: string;
}

export interface WalkResult {
  files: WalkedFile[];
  /** Things skipped on the way (symlinks, limits), for the user. */
  notes: string[];
  /** Display paths of the symbolic links met (never followed): the folder analysis reports them. */
  symlinks: string[];
}

/**
 * The regular files under each path, depth first in name order so reports are
 * stable. Symlinks are never followed (a model folder must not make the
 * scanner read /etc or loop); they are listed in `notes`.
 */
export async function walkPaths(paths: string[]): Promise<WalkResult> {
  const result: WalkResult = { files: [], notes: [], symlinks: [] };
  for (const path of paths) {
    const info = await lstat(path);
    if (info.isDirectory()) await walkFolder(path, path, 0, result);
    else if (info.isFile()) result.files.push({ path, displayPath: path });
    else result.notes.push(`${path}: not a regular file or folder, skipped`);
  }
  return result;
}

async function walkFolder(root: string, folder: string, depth: number, result: WalkResult): Promise<void> {
  if (depth > MAX_DEPTH) {
    result.notes.push(`${folder}: deeper than ${MAX_DEPTH} levels, not walked`);
    return;
  }
  const entries = await readdir(folder, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (result.files.length >= MAX_FILES) {
      result.notes.push(`more than ${MAX_FILES} files: the rest of ${folder} was not scanned`);
      return;
    }
    const path = join(folder, entry.name);
    if (entry.isSymbolicLink()) {
      result.notes.push(`${path}: symbolic link, not followed`);
      result.symlinks.push(displayPathOf(root, path));
    }
    else if (entry.isDirectory()) await walkFolder(root, path, depth + 1, result);
    else if (entry.isFile()) result.files.push({ path, displayPath: displayPathOf(root, path) });
  }
}

function displayPathOf(root: string, path: string): string {
  const trimmedRoot = root.endsWith(sep) ? root.slice(0, -1) : root;
  return `${trimmedRoot}/${relative(root, path).split(sep).join('/')}`;
}
