/**
 * Hugging Face Hub file listings, as saved from the Hub API.
 *
 * Two shapes (https://huggingface.co/docs/hub/api):
 * - `GET /api/models/{repo}/tree/{revision}`: an array of
 *   `{ type, path, size, oid, lfs?: { oid, size, pointerSize } }`;
 * - `GET /api/models/{repo}?blobs=true`: an object whose `siblings` are
 *   `{ rfilename, size?, blobId?, lfs?: { sha256, size, pointerSize } }`.
 * Only LFS files carry a SHA-256 (`lfs.oid` / `lfs.sha256`); the plain `oid`
 * is Git's SHA-1 of the blob and cannot be compared, so such files are counted
 * in a note.
 *
 * Threat surface: a saved listing is as untrusted as the repository; entry count,
 * path length and number types are checked, nothing else of it is kept.
 */
import { createSetCollector, type SetCollector } from './collector.ts';
import { isObject } from './json.ts';
import { MAX_ENTRIES, MAX_PATH_CHARS, SHA256_HEX } from './limits.ts';
import { normaliseListedPath } from './paths.ts';
import type { ExpectationSet } from './types.ts';

/** True for the two listing shapes: an array of objects with `path`, or an object with a `siblings` array. */
export function looksLikeHuggingFaceListing(json: unknown): boolean {
  if (Array.isArray(json)) return json.length > 0 && isObject(json[0]) && typeof json[0].path === 'string';
  return isObject(json) && Array.isArray(json.siblings);
}

export function parseHuggingFaceListing(name: string, json: unknown): ExpectationSet {
  const collector = createSetCollector(name, 'huggingface-listing');
  const tree = Array.isArray(json);
  const items: unknown[] = tree ? (json as unknown[]) : (json as { siblings: unknown[] }).siblings;
  const where = tree ? '' : 'siblings';
  if (items.length > MAX_ENTRIES) {
    collector.problem(`${items.length} files listed, over the ${MAX_ENTRIES} limit; the first ${MAX_ENTRIES} were read`);
  }
  let withoutSha256 = 0;
  const count = Math.min(items.length, MAX_ENTRIES);
  for (let index = 0; index < count; index++) {
    const item = items[index];
    const at = `${where}[${index}]`;
    if (!isObject(item)) {
      collector.problem(`${at} is not an object`);
      continue;
    }
    if (tree && item.type === 'directory') continue;
    const rawPath = tree ? item.path : item.rfilename;
    if (typeof rawPath !== 'string' || rawPath === '' || rawPath.length > MAX_PATH_CHARS) {
      collector.problem(`${at}: ${tree ? 'path' : 'rfilename'} is not a string of 1 to ${MAX_PATH_CHARS} characters`);
      continue;
    }
    const path = normaliseListedPath(rawPath);
    if (path === '') {
      collector.problem(`${at}: the path ${JSON.stringify(rawPath)} names no file`);
      continue;
    }
    const lfs = item.lfs;
    if (!isObject(lfs)) {
      withoutSha256++;
      continue;
    }
    const digest = tree ? lfs.oid : lfs.sha256;
    if (typeof digest !== 'string' || !SHA256_HEX.test(digest)) {
      collector.problem(`${at}: lfs.${tree ? 'oid' : 'sha256'} is not 64 lower-case hex digits`);
      continue;
    }
    if (!addEntry(collector, path, digest, lfs.size, at)) break;
  }
  if (withoutSha256 > 0) {
    collector.note(`${withoutSha256} file(s) in ${name} are not stored with LFS: the listing has only Git's SHA-1 for them, so they are not compared`);
  }
  return collector.finish();
}

function addEntry(collector: SetCollector, path: string, sha256: string, size: unknown, at: string): boolean {
  if (size === undefined) return collector.addEntry({ path, sha256 });
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    collector.problem(`${at}: lfs.size is not a whole number of bytes; only the SHA-256 is compared`);
    return collector.addEntry({ path, sha256 });
  }
  return collector.addEntry({ path, sha256, size });
}

