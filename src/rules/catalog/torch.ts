import type { RuleCatalog } from '../rule.ts';

/** Rules for torch; ids start with `torch.`. */
export const TORCH_RULES = {} satisfies RuleCatalog;
