import type { Finding } from '../report/types.ts';
import { type FindingInput, type RuleId, createFinding } from '../rules/index.ts';

/**
 * Findings with a cap per rule: a hostile archive with 100 000 traversal names
 * gives the first `maxPerRule` findings of that rule and one summary finding
 * that counts the rest, so the report stays readable and bounded (CWE-770).
 */
export function createFindingList(maxPerRule: number) {
  const findings: Finding[] = [];
  const counts = new Map<RuleId, number>();
  return {
    add(rule: RuleId, input: FindingInput): void {
      const count = (counts.get(rule) ?? 0) + 1;
      counts.set(rule, count);
      if (count <= maxPerRule) findings.push(createFinding(rule, input));
    },
    /** The findings, then one summary per rule that went over the cap. */
    toArray(): Finding[] {
      const summaries: Finding[] = [];
      for (const [rule, count] of counts) {
        if (count > maxPerRule) {
          summaries.push(
            createFinding(rule, { detail: `${count - maxPerRule} more findings of this rule were not listed (${count} in all).` }),
          );
        }
      }
      return [...findings, ...summaries];
    },
  };
}

export type FindingList = ReturnType<typeof createFindingList>;
