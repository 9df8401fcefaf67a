import { readFile, stat } from 'node:fs/promises';
import { MAX_EXPECTATION_CHARS } from './limits.ts';
import { parseExpectations } from './parse-expectations.ts';
import type { ExpectationSet } from './types.ts';

/** Largest expectation file read from disk: UTF-8 takes up to 4 bytes a character, but listings are ASCII (CWE-400). */
export const MAX_EXPECTATION_FILE_BYTES = MAX_EXPECTATION_CHARS;

export interface LoadedExpectations {
  sets: ExpectationSet[];
  /** Files that could not be read or gave nothing usable, one sentence each (the CLI exits 2). */
  errors: string[];
}

/**
 * Reads and parses each `--expect FILE` (Node only). The size is checked
 * before reading, so a wrong path to a model does not pull gigabytes into
 * memory. A file whose content yields no hash and has problems counts as
 * unreadable; one with some good entries and some problems is kept, and its
 * problems are shown with the report.
 */
export async function loadExpectationFiles(paths: string[]): Promise<LoadedExpectations> {
  const result: LoadedExpectations = { sets: [], errors: [] };
  for (const path of paths) {
    try {
      const info = await stat(path);
      if (!info.isFile()) {
        result.errors.push(`${path}: not a regular file`);
        continue;
      }
      if (info.size > MAX_EXPECTATION_FILE_BYTES) {
        result.errors.push(`${path}: ${info.size} bytes exceeds the ${MAX_EXPECTATION_FILE_BYTES}-byte limit for an expectation file`);
        continue;
      }
      const set = parseExpectations(path, await readFile(path, 'utf8'));
      if (set.entries.length === 0 && set.problems.length > 0) {
        const problems = set.problems.map((problem) => (problem.line !== undefined ? `line ${problem.line}: ` : '') + problem.message);
        result.errors.push(`${path}: ${problems.join('; ')}`);
        continue;
      }
      result.sets.push(set);
    } catch (error) {
      result.errors.push(`${path}: ${(error as Error).message}`);
    }
  }
  return result;
}
