import type { RuleCatalog } from '../rule.ts';

/** Rules for numpy; ids start with `numpy.`. */
export const NUMPY_RULES = {} satisfies RuleCatalog;
