/**
 * Git LFS pointer files: what a clone without `git lfs pull` leaves in place of
 * a large file, and what a model repository stores in Git.
 *
 * Spec: https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md: `key value`
 * lines, `version https://git-lfs.github.com/spec/v1` first, then `oid
 * sha256:<64 hex>` and `size <bytes>` (other keys, such as extensions, may
 * follow). The pointer stands for the file of its own name, so the expected
 * path is the pointer's file name.
 *
 * Threat surface: tiny by definition; anything longer than git-lfs itself would
 * read is refused before it is split, and the size must be a safe integer.
 */
import { createSetCollector } from './collector.ts';
import { baseName } from './paths.ts';
import type { ExpectationSet } from './types.ts';

/** git-lfs reads at most this many bytes when it looks for a pointer; a longer file is not one (CWE-400). */
export const MAX_LFS_POINTER_CHARS = 1024;

/** The version URL of the v1 spec, and the pre-release name git-lfs still accepts. */
const LFS_VERSIONS = ['https://git-lfs.github.com/spec/v1', 'https://hawser.github.com/spec/v1'];

const OID_LINE = /^oid sha256:([0-9a-f]{64})$/;
const SIZE_LINE = /^size (\d{1,16})$/;

/** True when the text starts like a Git LFS pointer. */
export function looksLikeLfsPointer(text: string): boolean {
  return LFS_VERSIONS.some((version) => text.startsWith(`version ${version}`));
}

/** Reads a pointer; its one entry is named after the pointer file itself. */
export function parseLfsPointer(name: string, text: string): ExpectationSet {
  const collector = createSetCollector(name, 'git-lfs-pointer');
  if (text.length > MAX_LFS_POINTER_CHARS) {
    collector.problem(`a Git LFS pointer is under ${MAX_LFS_POINTER_CHARS} bytes; this one has ${text.length} characters`);
    return collector.finish();
  }
  const lines = text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  let sha256: string | null = null;
  let size: number | undefined;
  let oidLine = 0;
  lines.forEach((line, index) => {
    const lineNumber = index + 1;
    if (index === 0 || line === '') return;
    if (line.startsWith('oid ')) {
      const match = OID_LINE.exec(line);
      if (match) {
        sha256 = match[1];
        oidLine = lineNumber;
      } else collector.problem('expected "oid sha256:" then 64 lower-case hex digits', lineNumber);
    } else if (line.startsWith('size ')) {
      const match = SIZE_LINE.exec(line);
      const value = match ? Number(match[1]) : NaN;
      if (Number.isSafeInteger(value)) size = value;
      else collector.problem('expected "size" then a whole number of bytes', lineNumber);
    } else if (!/^[a-z0-9.-]+ /.test(line)) {
      collector.problem('expected a "key value" line', lineNumber);
    }
  });
  if (sha256 === null) {
    if (collector.problemCount === 0) collector.problem('the pointer has no "oid sha256:" line');
    return collector.finish();
  }
  const path = baseName(name);
  if (path === '') {
    collector.problem('the pointer has no file name, so it names no file');
    return collector.finish();
  }
  collector.addEntry(size === undefined ? { path, sha256, line: oidLine } : { path, sha256, size, line: oidLine });
  if (size === undefined) collector.note(`${name} gives no size; only the SHA-256 is compared`);
  return collector.finish();
}
