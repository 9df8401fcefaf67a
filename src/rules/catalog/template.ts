import type { RuleCatalog } from '../rule.ts';

/** Rules for template; ids start with `template.`. */
export const TEMPLATE_RULES = {} satisfies RuleCatalog;
