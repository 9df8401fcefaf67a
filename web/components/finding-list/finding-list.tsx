import { memo } from 'preact/compat';
import { useMemo, useState } from 'preact/hooks';
import type { Finding } from '../../../src/report/types.ts';
import { sortBySeverity } from '../../lib/findings.ts';
import { FindingItem } from '../finding-item/finding-item.tsx';

/** Findings rendered per step; a hostile file may produce many, and each one is a block of text. */
const PAGE_SIZE = 100;

export const FindingList = memo(function FindingList({ findings }: { findings: readonly Finding[] }) {
  const sorted = useMemo(() => sortBySeverity(findings), [findings]);
  const [shown, setShown] = useState(PAGE_SIZE);
  if (sorted.length === 0) {
    return (
      <p class="muted" data-testid="no-findings">
        No findings.
      </p>
    );
  }
  return (
    <>
      <ol class="finding-list" data-testid="finding-list">
        {sorted.slice(0, shown).map((finding, index) => (
          <FindingItem key={index} finding={finding} />
        ))}
      </ol>
      {shown < sorted.length ? (
        <button type="button" class="button button--quiet" onClick={() => setShown(shown + PAGE_SIZE)}>
          Show {Math.min(PAGE_SIZE, sorted.length - shown)} more of {sorted.length - shown} remaining findings
        </button>
      ) : null}
    </>
  );
});
