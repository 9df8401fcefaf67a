/**
 * Which dropped files are expected hashes (SHA256SUMS, `*.sha256`, Git LFS
 * pointers, model-signing bundles) rather than files to scan.
 *
 * The choice needs both the name and the content, because a hostile folder
 * can name a pickle `SHA256SUMS` to keep it from the scanner:
 * - a file named like a checksum listing or a signature bundle, whose text
 *   parseExpectations recognises, is read as expected hashes only: it holds
 *   no model, and no loader opens a file by that name;
 * - such a file whose content is not recognised (binary, a pickle, a PGP
 *   signature) is scanned like any file, and also listed with expected
 *   hashes, with the reason it was not understood;
 * - a Git LFS pointer keeps the name of the file it stands for, so it is
 *   known by content alone; it is both scanned (the scanner says the weights
 *   were never fetched) and read as the expected hash of that file;
 * - everything else is scanned.
 */
import { MAX_EXPECTATION_CHARS, parseExpectations, type ExpectationSet } from '../../src/provenance/index.ts';
import type { PickedFile } from './dropped-files.ts';

/** Largest expectation file read into the page: the same bound as the CLI's, a listing of 100,000 files fits (CWE-400). */
export const MAX_EXPECTATION_FILE_BYTES = MAX_EXPECTATION_CHARS;

/** Git LFS only reads files under 1024 bytes as pointers; larger files are never read here just to check. */
export const MAX_LFS_POINTER_BYTES = 1024;

/** `SHA256SUMS`, `sha256sums.txt`, `CHECKSUMS.asc`, `model.safetensors.sha256`, `model.sig`, `x.sigstore.json` … */
const EXPECTATION_NAME = /^(?:sha256sums?|checksums?)(?:\.(?:txt|asc|sha256))?$|\.(?:sha256|sha256sums?|sig|sigstore|sigstore\.json|intoto\.json)$/i;

/** A file that goes to the scanner; `expectationSource` names the expectation set it also feeds. */
export interface FileToScan {
  picked: PickedFile;
  expectationSource?: string;
}

export interface RoutedFiles {
  scan: FileToScan[];
  expectations: ExpectationSet[];
}

/** True for names that checksum listings and signature bundles go by; the content decides the rest. */
export function looksLikeExpectationName(name: string): boolean {
  return EXPECTATION_NAME.test(name);
}

/** The path a picked file is shown under, as the scanner would report it. */
export function pickedPath(picked: PickedFile): string {
  return picked.path ?? (picked.file.webkitRelativePath || picked.file.name);
}

/** Sorts dropped files into files to scan and expectation sets, in the order they came. */
export async function routeDroppedFiles(files: readonly PickedFile[]): Promise<RoutedFiles> {
  const routed: RoutedFiles = { scan: [], expectations: [] };
  for (const picked of files) {
    const path = pickedPath(picked);
    const named = looksLikeExpectationName(picked.file.name);
    const maxBytes = named ? MAX_EXPECTATION_FILE_BYTES : MAX_LFS_POINTER_BYTES - 1;
    const text = picked.file.size <= maxBytes ? await readText(picked.file) : null;
    const set = text === null ? null : namedAfterItsFile(parseExpectations(path, text), picked.file.name);
    if (set?.kind === 'git-lfs-pointer') {
      routed.scan.push({ picked, expectationSource: set.name });
      routed.expectations.push(set);
    } else if (named && set && set.kind !== 'unrecognised') {
      routed.expectations.push(set);
    } else {
      routed.scan.push({ picked });
      if (named) routed.expectations.push(set ?? unreadable(path, picked.file.size));
    }
  }
  return routed;
}

/** Files the person chose as expected hashes: all of them are read as such, none is scanned. */
export async function readExpectationFiles(files: readonly PickedFile[]): Promise<ExpectationSet[]> {
  const sets: ExpectationSet[] = [];
  for (const picked of files) {
    const path = pickedPath(picked);
    const text = picked.file.size <= MAX_EXPECTATION_FILE_BYTES ? await readText(picked.file) : null;
    sets.push(text === null ? unreadable(path, picked.file.size) : namedAfterItsFile(parseExpectations(path, text), picked.file.name));
  }
  return sets;
}

/**
 * `model.safetensors.sha256` often holds the bare hash, without a file name
 * (`sha256sum model.safetensors | cut -d' ' -f1`). A bare hash applies to
 * the one scanned file, or to whichever has it; named after a file, it is
 * meant for that file, so it is compared with that file, and a note says so.
 */
function namedAfterItsFile(set: ExpectationSet, fileName: string): ExpectationSet {
  const target = /^(.+)\.sha256$/i.exec(fileName)?.[1];
  if (set.kind !== 'sha256' || !target || set.entries.length !== 1 || set.entries[0].path !== null) return set;
  return {
    ...set,
    entries: [{ ...set.entries[0], path: target }],
    notes: [...set.notes, `${set.name} holds a hash without a file name; it was taken as the hash of ${target}, from its own name`],
  };
}

/** UTF-8 text of a small file, or null when it is not UTF-8 (binary) or cannot be read. */
async function readText(file: File): Promise<string | null> {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(await file.arrayBuffer());
  } catch {
    return null;
  }
}

/** The set for a file that was too large or not text: nothing to compare, one problem saying why. */
function unreadable(name: string, size: number): ExpectationSet {
  const message =
    size > MAX_EXPECTATION_FILE_BYTES
      ? `${size} bytes exceeds the ${MAX_EXPECTATION_FILE_BYTES}-byte limit for an expectation file`
      : 'not UTF-8 text (binary content): not recognised as a SHA-256, a SHA256SUMS listing, a Git LFS pointer, a Hugging Face file listing or a model-signing bundle';
  return { name, kind: 'unrecognised', entries: [], problems: [{ message }], notes: [] };
}
