import { CODE_EXECUTION_REFS, REF } from '../references.ts';
import type { RuleCatalog } from '../rule.ts';

/** Rules for chat templates (Jinja) carried by models; ids start with `template.`. */
export const TEMPLATE_RULES = {
  'template.jinja.sandbox-escape': {
    severity: 'critical',
    effect: 'dangerous',
    title: 'Chat template escapes the Jinja sandbox',
    explanation:
      'The chat template walks from template objects to Python internals (__class__, __globals__, __builtins__, the os module …). ' +
      'A loader that renders templates with a plain Jinja environment, as llama-cpp-python did before 0.2.72 (CVE-2024-34359), ' +
      'runs arbitrary commands on the machine the first time it formats a chat prompt. Do not load this model.',
    references: [...CODE_EXECUTION_REFS, 'CVE-2024-34359'],
  },
  'template.jinja.unusual-construct': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Chat template uses constructs no ordinary template needs',
    explanation:
      'The chat template builds attribute names at run time, escapes plain characters, reaches private attributes or pulls in other templates. ' +
      'Ordinary chat templates only loop over messages and print text; these are the building blocks of obfuscated sandbox escapes. ' +
      'Read the template before loading the model.',
    references: [REF.codeInjection, REF.supplyChain, REF.owaspSupplyChain, REF.nistMeasure],
  },
} satisfies RuleCatalog;
