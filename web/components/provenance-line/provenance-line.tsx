import type { ProvenanceClaim, ProvenanceFileResult } from '../../../src/provenance/index.ts';
import { formatInteger } from '../../lib/format.ts';
import { claimSource } from '../../lib/provenance.ts';
import { VisibleText } from '../visible-text/visible-text.tsx';

interface ProvenanceLineProps {
  result: ProvenanceFileResult;
  /** The file is still being read: no hash to compare yet. */
  pending: boolean;
}

/** How a scanned file compares with the expected hashes: matches, differs (expected vs actual, and where it was listed) or not listed. */
export function ProvenanceLine({ result, pending }: ProvenanceLineProps) {
  const { status } = result;
  return (
    <div class={`provenance-line provenance-line--${status}`} data-testid="provenance-status" data-status={status}>
      {status === 'matches' ? (
        <p>
          <strong>Matches</strong> the expected SHA-256 from <Sources claims={result.claims} />.
        </p>
      ) : status === 'differs' ? (
        <>
          <p>
            <strong>Differs</strong> from the expected hashes: this is not the file that was listed.
          </p>
          <ul class="provenance-line__mismatches">
            {result.claims
              .filter((claim) => claim.agrees === false)
              .map((claim, index) => (
                <Mismatch key={index} claim={claim} result={result} />
              ))}
          </ul>
        </>
      ) : status === 'not-listed' ? (
        <p>
          <strong>Not listed</strong> in the expected hashes: nothing vouches for this file.
        </p>
      ) : (
        <p class="muted">{pending ? 'Compared with the expected hashes once its SHA-256 is computed.' : 'No SHA-256 to compare with the expected hashes: the scan did not read the whole file.'}</p>
      )}
    </div>
  );
}

function Sources({ claims }: { claims: readonly ProvenanceClaim[] }) {
  return (
    <>
      {claims.map((claim, index) => (
        <span key={index}>
          {index > 0 ? '; ' : ''}
          <VisibleText text={claimSource(claim)} />
        </span>
      ))}
    </>
  );
}

function Mismatch({ claim, result }: { claim: ProvenanceClaim; result: ProvenanceFileResult }) {
  if (claim.mismatch === 'size') {
    return (
      <li data-testid="provenance-mismatch">
        <VisibleText text={claimSource(claim)} /> expects {formatInteger(claim.size ?? 0)} bytes; this file has {formatInteger(result.size)} bytes.
      </li>
    );
  }
  return (
    <li data-testid="provenance-mismatch">
      <span class="provenance-line__label">Expected</span> <code data-testid="expected-sha256">{claim.sha256}</code> (
      <VisibleText text={claimSource(claim)} />)
      <br />
      <span class="provenance-line__label">Actual</span> <code data-testid="actual-sha256">{result.sha256}</code>
    </li>
  );
}

/** The card of a file that is itself a source of expected hashes (a Git LFS pointer). */
export function ExpectationSourceLine({ source }: { source: string }) {
  return (
    <div class="provenance-line provenance-line--source" data-testid="provenance-source-role">
      <p>
        A Git LFS pointer: its <code>oid</code> is read as the expected SHA-256 of the file it stands for (see Expected hashes), so
        this pointer itself is not compared. Source: <VisibleText text={source} />
      </p>
    </div>
  );
}
