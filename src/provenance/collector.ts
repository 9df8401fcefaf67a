import { MAX_ENTRIES, MAX_PROBLEMS } from './limits.ts';
import type { ExpectationKind, ExpectationSet, ExpectedFile, ProvenanceProblem, SignatureClaim } from './types.ts';

/**
 * Gathers what a parser finds in one source, with the limits applied in one
 * place: entries stop at MAX_ENTRIES, problems at MAX_PROBLEMS (the count of
 * the rest is kept, so the user knows there were more).
 */
export interface SetCollector {
  readonly name: string;
  kind: ExpectationKind;
  signature?: SignatureClaim;
  /** Adds an entry; false once MAX_ENTRIES is reached (the parser should stop). */
  addEntry(entry: ExpectedFile): boolean;
  problem(message: string, line?: number): void;
  note(message: string): void;
  readonly entryCount: number;
  readonly problemCount: number;
  finish(): ExpectationSet;
}

export function createSetCollector(name: string, kind: ExpectationKind): SetCollector {
  const entries: ExpectedFile[] = [];
  const problems: ProvenanceProblem[] = [];
  const notes: string[] = [];
  let droppedProblems = 0;
  let entryLimitReported = false;
  return {
    name,
    kind,
    addEntry(entry) {
      if (entries.length >= MAX_ENTRIES) {
        if (!entryLimitReported) {
          entryLimitReported = true;
          this.problem(`more than ${MAX_ENTRIES} entries: the rest was not read`, entry.line);
        }
        return false;
      }
      entries.push(entry);
      return true;
    },
    problem(message, line) {
      if (problems.length >= MAX_PROBLEMS) {
        droppedProblems++;
        return;
      }
      problems.push(line === undefined ? { message } : { line, message });
    },
    note(message) {
      if (notes.length < MAX_PROBLEMS) notes.push(message);
    },
    get entryCount() {
      return entries.length;
    },
    get problemCount() {
      return problems.length + droppedProblems;
    },
    finish() {
      const allProblems = droppedProblems > 0
        ? [...problems, { message: `${droppedProblems} more problem(s) not shown (limit ${MAX_PROBLEMS})` }]
        : problems;
      const set: ExpectationSet = { name, kind: this.kind, entries, problems: allProblems, notes };
      if (this.signature) set.signature = this.signature;
      return set;
    },
  };
}

/** `"text"` shortened to `limit` characters for a message, with JSON escaping so control characters stay visible. */
export function quoteExcerpt(text: string, limit = 40): string {
  return JSON.stringify(text.length > limit ? `${text.slice(0, limit)}…` : text);
}
