import type { RuleCatalog } from '../rule.ts';

/** Rules for safetensors; ids start with `safetensors.`. */
export const SAFETENSORS_RULES = {} satisfies RuleCatalog;
