import type { ProvenanceReport, ProvenanceSourceSummary } from '../../../src/provenance/index.ts';
import { formatInteger } from '../../lib/format.ts';
import { EXPECTATION_KIND_LABELS, claimSource, describeProvenanceCounts } from '../../lib/provenance.ts';
import { SignatureClaim } from '../signature-claim/signature-claim.tsx';
import { VisibleText } from '../visible-text/visible-text.tsx';

/** Rows of the listed-but-not-scanned table rendered at once: a SHA256SUMS can list 100,000 files. */
const MAX_LISTED_ROWS = 200;

interface ProvenancePanelProps {
  provenance: ProvenanceReport;
  /** Offered per source in the scanner; absent for a shared report. */
  onRemove?(index: number): void;
}

/**
 * The comparison as a whole: each source of expected hashes with its
 * problems (by line) and signature claims, the files listed but not given,
 * disagreements between sources, and notes. Each file's own result is on
 * its card.
 */
export function ProvenancePanel({ provenance, onRemove }: ProvenancePanelProps) {
  return (
    <div class="provenance-panel" data-testid="provenance-panel">
      <p class="provenance-panel__counts" data-testid="provenance-counts">
        {describeProvenanceCounts(provenance.counts)}
      </p>
      <ol class="provenance-sources">
        {provenance.sources.map((source, index) => (
          <SourceItem key={index} source={source} onRemove={onRemove ? () => onRemove(index) : undefined} />
        ))}
      </ol>
      {provenance.listedNotScanned.length > 0 ? <ListedNotScanned provenance={provenance} /> : null}
      {provenance.conflicts.length > 0 ? (
        <section data-testid="provenance-conflicts">
          <h3 class="provenance-panel__title">Sources that disagree</h3>
          <ul>
            {provenance.conflicts.map((conflict, index) => (
              <li key={index}>
                <VisibleText text={conflict.path} />:{' '}
                {conflict.claims.map((claim, claimIndex) => (
                  <span key={claimIndex}>
                    {claimIndex > 0 ? ', ' : ''}
                    <code>{claim.sha256}</code> (<VisibleText text={claimSource(claim)} />)
                  </span>
                ))}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {provenance.notes.length > 0 ? (
        <ul class="provenance-panel__notes muted">
          {provenance.notes.map((note, index) => (
            <li key={index}>
              <VisibleText text={note} />
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

function SourceItem({ source, onRemove }: { source: ProvenanceSourceSummary; onRemove?: () => void }) {
  return (
    <li class={`provenance-source provenance-source--${source.kind}`} data-testid="provenance-source" data-kind={source.kind}>
      <div class="provenance-source__head">
        <span class="provenance-source__name">
          <VisibleText text={source.name} />
        </span>
        <span class="muted">
          {EXPECTATION_KIND_LABELS[source.kind]}, {formatInteger(source.entries)} {source.entries === 1 ? 'hash' : 'hashes'}
        </span>
        {onRemove ? (
          <button type="button" class="button button--small" onClick={onRemove} data-testid="remove-expectation">
            Remove
          </button>
        ) : null}
      </div>
      {source.problems.length > 0 ? (
        <ul class="provenance-source__problems" aria-label="Problems">
          {source.problems.map((problem, index) => (
            <li key={index} data-testid="provenance-problem" data-line={problem.line ?? ''}>
              {problem.line !== undefined ? <span class="provenance-source__line">line {problem.line}: </span> : null}
              <VisibleText text={problem.message} />
            </li>
          ))}
        </ul>
      ) : null}
      {source.notes.length > 0 ? (
        <ul class="provenance-source__notes muted">
          {source.notes.map((note, index) => (
            <li key={index}>
              <VisibleText text={note} />
            </li>
          ))}
        </ul>
      ) : null}
      {source.signature ? <SignatureClaim claim={source.signature} bundleName={source.name} /> : null}
    </li>
  );
}

function ListedNotScanned({ provenance }: { provenance: ProvenanceReport }) {
  const rows = provenance.listedNotScanned;
  const shown = rows.slice(0, MAX_LISTED_ROWS);
  const total = Math.max(rows.length, provenance.counts.listedNotScanned);
  return (
    <section data-testid="listed-not-scanned">
      <h3 class="provenance-panel__title">Listed but not scanned ({formatInteger(total)})</h3>
      <p class="muted">The sources vouch for these files, but no file given here answers to them.</p>
      <table class="provenance-table">
        <thead>
          <tr>
            <th scope="col">Listed file</th>
            <th scope="col">Where</th>
            <th scope="col">Expected SHA-256</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((entry, index) => (
            <tr key={index} data-testid="listed-not-scanned-row">
              <td class="provenance-table__path">
                {entry.listedPath !== null ? <VisibleText text={entry.listedPath} /> : <span class="muted">(no file name: a pasted hash that no scanned file has)</span>}
              </td>
              <td>
                <VisibleText text={claimSource(entry)} />
              </td>
              <td>
                <code>{entry.sha256}</code>
                {entry.size !== undefined ? <span class="muted"> ({formatInteger(entry.size)} bytes)</span> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {total > shown.length ? (
        <p class="muted">
          {formatInteger(total - shown.length)} more not shown{rows.length < total ? ' (left out of this link)' : ' (the JSON report lists all of them)'}.
        </p>
      ) : null}
    </section>
  );
}
