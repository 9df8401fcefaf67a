/**
 * Turn a drop into a list of files, walking dropped folders so that a whole
 * model directory (shards, config.json, tokenizer files) can be scanned at once.
 * The folder tree comes from the user's disk, but it can still be huge or deep,
 * so the walk is bounded.
 */

/** Enough for any real model folder; a drop of a home directory stops here (CWE-400). */
export const MAX_DROPPED_FILES = 5_000;
/** Deeper trees are not model layouts; the bound also stops link cycles (CWE-674). */
export const MAX_FOLDER_DEPTH = 16;

export interface PickedFile {
  file: File;
  /** Path relative to the dropped folder; absent for files dropped on their own. */
  path?: string;
}

export interface DropResult {
  files: PickedFile[];
  /** Set when a limit cut the walk short, in words for the person. */
  truncated?: string;
}

/**
 * Must be called inside the drop event: the browser empties the DataTransfer
 * right after. The returned promise walks folders afterwards.
 */
export function collectDroppedFiles(transfer: DataTransfer): Promise<DropResult> {
  const entries: FileSystemEntry[] = [];
  for (const item of Array.from(transfer.items)) {
    if (item.kind !== 'file') continue;
    const entry = typeof item.webkitGetAsEntry === 'function' ? item.webkitGetAsEntry() : null;
    if (!entry) return Promise.resolve({ files: Array.from(transfer.files, (file) => ({ file })) });
    entries.push(entry);
  }
  return walkEntries(entries);
}

async function walkEntries(roots: FileSystemEntry[]): Promise<DropResult> {
  const result: DropResult = { files: [] };
  const pending: { entry: FileSystemEntry; depth: number }[] = roots.map((entry) => ({ entry, depth: 0 }));
  while (pending.length > 0) {
    const { entry, depth } = pending.shift()!;
    if (result.files.length >= MAX_DROPPED_FILES) {
      result.truncated = `Only the first ${MAX_DROPPED_FILES} files were taken from the dropped folders.`;
      break;
    }
    if (isFileEntry(entry)) {
      const file = await fileOf(entry);
      result.files.push(depth === 0 ? { file } : { file, path: entry.fullPath.replace(/^\//, '') });
    } else if (isDirectoryEntry(entry)) {
      if (depth >= MAX_FOLDER_DEPTH) {
        result.truncated = `Folders nested deeper than ${MAX_FOLDER_DEPTH} levels were skipped.`;
        continue;
      }
      for (const child of await readAllEntries(entry)) pending.push({ entry: child, depth: depth + 1 });
    }
  }
  return result;
}

function isFileEntry(entry: FileSystemEntry): entry is FileSystemFileEntry {
  return entry.isFile;
}

function isDirectoryEntry(entry: FileSystemEntry): entry is FileSystemDirectoryEntry {
  return entry.isDirectory;
}

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

/** `readEntries` returns batches (100 in Chromium) until it returns an empty one. */
async function readAllEntries(directory: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = directory.createReader();
  const all: FileSystemEntry[] = [];
  while (all.length < MAX_DROPPED_FILES) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    all.push(...batch);
  }
  return all;
}
