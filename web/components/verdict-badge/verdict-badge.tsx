import type { Verdict } from '../../../src/report/types.ts';

const LABELS: Record<Verdict, string> = {
  clean: 'Clean',
  suspicious: 'Suspicious',
  malformed: 'Malformed',
  dangerous: 'Dangerous',
};

const MEANINGS: Record<Verdict, string> = {
  clean: 'No finding changes the verdict.',
  suspicious: 'Something is unvetted or unusual; review the findings before loading.',
  malformed: 'The file does not follow its format; loaders may misread it.',
  dangerous: 'Loading this file would run code or touch the system.',
};

interface VerdictBadgeProps {
  verdict: Verdict;
  /** False while only the headers are inspected: the streaming pass can still change it. */
  final: boolean;
}

/** Colour and words: the verdict is never conveyed by colour alone. */
export function VerdictBadge({ verdict, final }: VerdictBadgeProps) {
  return (
    <span
      class={`verdict verdict--${verdict}${final ? '' : ' verdict--provisional'}`}
      data-testid="verdict"
      data-verdict={verdict}
      data-final={String(final)}
      title={final ? MEANINGS[verdict] : `${MEANINGS[verdict]} Headers only: the full pass may still change this.`}
    >
      {LABELS[verdict]}
      {final ? null : <span class="verdict__pending">so far</span>}
    </span>
  );
}
