import type { Severity } from '../../../src/report/types.ts';

export function SeverityBadge({ severity }: { severity: Severity }) {
  return (
    <span class={`severity severity--${severity}`} data-testid="severity">
      {severity}
    </span>
  );
}
