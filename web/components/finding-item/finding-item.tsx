import type { Finding } from '../../../src/report/types.ts';
import { describeLocation } from '../../lib/findings.ts';
import { formatInteger } from '../../lib/format.ts';
import { SeverityBadge } from '../severity-badge/severity-badge.tsx';
import { VisibleText } from '../visible-text/visible-text.tsx';

/** Evidence is an excerpt; a hostile file could make it huge, and the JSON report keeps it whole. */
const MAX_EVIDENCE_CHARS = 20_000;

export function FindingItem({ finding }: { finding: Finding }) {
  const location = describeLocation(finding.location);
  const references = [...new Set(finding.references)];
  return (
    <li class={`finding finding--${finding.severity}`} data-testid="finding" data-rule={finding.rule} data-severity={finding.severity}>
      <div class="finding__head">
        <SeverityBadge severity={finding.severity} />
        <span class="finding__title">{finding.title}</span>
        <code class="finding__rule" data-testid="finding-rule">
          {finding.rule}
        </code>
      </div>
      <p class="finding__detail">
        <VisibleText text={finding.detail} />
      </p>
      {location ? (
        <p class="finding__location" data-testid="finding-location">
          {location}
        </p>
      ) : null}
      {finding.evidence !== undefined ? <Evidence text={finding.evidence} /> : null}
      <p class="finding__explanation">{finding.explanation}</p>
      {references.length > 0 ? (
        <ul class="finding__references" aria-label="References">
          {references.map((reference) => (
            <li key={reference}>{reference}</li>
          ))}
        </ul>
      ) : null}
    </li>
  );
}

function Evidence({ text }: { text: string }) {
  const shown = text.length > MAX_EVIDENCE_CHARS ? text.slice(0, MAX_EVIDENCE_CHARS) : text;
  return (
    <figure class="finding__evidence">
      <figcaption>Evidence</figcaption>
      <pre>
        <code data-testid="finding-evidence">
          <VisibleText text={shown} />
        </code>
      </pre>
      {shown.length < text.length ? (
        <p class="muted">
          First {formatInteger(shown.length)} of {formatInteger(text.length)} characters; the JSON report has all of it.
        </p>
      ) : null}
    </figure>
  );
}
