import type { RuleCatalog } from '../rule.ts';

/** Rules for container; ids start with `container.`. */
export const CONTAINER_RULES = {} satisfies RuleCatalog;
