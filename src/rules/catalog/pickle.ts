import type { RuleCatalog } from '../rule.ts';

/** Rules for pickle; ids start with `pickle.`. */
export const PICKLE_RULES = {} satisfies RuleCatalog;
