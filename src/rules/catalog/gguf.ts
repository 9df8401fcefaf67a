import type { RuleCatalog } from '../rule.ts';

/** Rules for gguf; ids start with `gguf.`. */
export const GGUF_RULES = {} satisfies RuleCatalog;
