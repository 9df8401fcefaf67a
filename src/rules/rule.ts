import type { Severity, Verdict } from '../report/types.ts';

/** What a finding of this rule does to the file's verdict. */
export type RuleEffect = Exclude<Verdict, 'clean'> | 'none';

export interface RuleDefinition {
  severity: Severity;
  effect: RuleEffect;
  title: string;
  /** What would happen on load, in plain words. */
  explanation: string;
  references: readonly string[];
}

export type RuleCatalog = Record<string, RuleDefinition>;
