import { useEffect, useMemo } from 'preact/hooks';
import type { ProvenanceFileResult } from '../../../src/provenance/index.ts';
import { VERDICTS, type Report } from '../../../src/report/types.ts';
import type { DecodedShare, ShareOmission } from '../../../src/share/share-link.ts';
import { formatUtcTimestamp } from '../../lib/format.ts';
import type { FileScan } from '../../state/scans.ts';
import { FileCard } from '../file-card/file-card.tsx';
import { ProvenancePanel } from '../provenance-panel/provenance-panel.tsx';
import { VisibleText } from '../visible-text/visible-text.tsx';

interface SharedReportProps {
  share: DecodedShare;
  /** Back to the scanner. */
  onLeave(): void;
}

/**
 * A report opened from a share link, read-only: a banner says whose it is
 * (whoever sent the link, not this page), when and with which version it was
 * made, and what the link left out; then the same cards the scanner shows.
 */
export function SharedReport({ share, onLeave }: SharedReportProps) {
  const { report, omitted, omissions } = share;
  useIgnoreDrops();
  const scans = useMemo(() => report.files.map((file, index): FileScan => shownAsScan(file, index)), [report]);
  const leftOutByFile = useMemo(() => groupByFile(omissions, report.files.length), [omissions, report]);
  const provenanceByFile = useMemo(() => matchProvenance(report), [report]);
  const counts = VERDICTS.map((verdict) => [verdict, report.files.filter((file) => file.verdict === verdict).length] as const).filter(([, count]) => count > 0);

  return (
    <>
      <section class="shared-banner" data-testid="shared-banner" aria-labelledby="shared-title">
        <h2 id="shared-title" class="shared-banner__title">
          Shared report, read-only
        </h2>
        <p data-testid="shared-made">
          Made <VisibleText text={formatUtcTimestamp(report.createdAt)} /> with{' '}
          <VisibleText text={`${report.tool.name} ${report.tool.version}`} />.
        </p>
        <p>
          <strong>Its contents come from whoever shared this link.</strong> This page did not scan these files and cannot vouch for
          the verdicts, hashes or findings below: anyone can write such a link. To know what a file holds, scan it yourself.
        </p>
        {omitted.length > 0 ? (
          <div data-testid="shared-omitted">
            <p>To keep the link short, it leaves out:</p>
            <ul class="omitted-list">
              {omitted.map((sentence, index) => (
                <li key={index}>
                  <VisibleText text={sentence} />
                </li>
              ))}
            </ul>
          </div>
        ) : (
          <p class="muted" data-testid="shared-complete">
            The link holds the whole report.
          </p>
        )}
        <button type="button" class="button button--primary" onClick={onLeave} data-testid="leave-shared">
          Scan your own files
        </button>
      </section>
      <p class="toolbar__summary" data-testid="shared-summary">
        <span>
          {report.files.length} {report.files.length === 1 ? 'file' : 'files'}
        </span>
        {counts.map(([verdict, count]) => (
          <span key={verdict} class={`toolbar__count toolbar__count--${verdict}`} data-testid={`count-${verdict}`}>
            {count} {verdict}
          </span>
        ))}
      </p>
      {report.provenance ? (
        <section class="expectations" aria-labelledby="shared-provenance-title">
          <h2 id="shared-provenance-title" class="expectations__title">
            Expected hashes
          </h2>
          <ProvenancePanel provenance={report.provenance} />
        </section>
      ) : null}
      <section class="cards" aria-label="Files in the shared report">
        {scans.map((scan, index) => (
          <FileCard key={scan.id} scan={scan} provenance={provenanceByFile[index]} leftOut={leftOutByFile[index]} />
        ))}
      </section>
    </>
  );
}

/** The error page of a link that cannot be read: what is wrong, and the way back. */
export function SharedReportError({ message, onLeave }: { message: string; onLeave(): void }) {
  useIgnoreDrops();
  return (
    <section class="shared-banner shared-banner--error" data-testid="shared-error" role="alert">
      <h2 class="shared-banner__title">This share link cannot be opened</h2>
      <p data-testid="shared-error-message">
        <VisibleText text={`${message.charAt(0).toUpperCase()}${message.slice(1)}.`} />
      </p>
      <p>Nothing from it is shown.</p>
      <button type="button" class="button button--primary" onClick={onLeave} data-testid="leave-shared">
        Scan your own files
      </button>
    </section>
  );
}

/** A file of the shared report in the shape the cards take: finished, nothing running. */
function shownAsScan(file: Report['files'][number], index: number): FileScan {
  return {
    id: index + 1,
    path: file.path,
    size: file.size,
    status: 'done',
    report: file,
    progress: { bytesDone: file.size, bytesTotal: file.size },
    passStartedAt: null,
    updatedAt: null,
  };
}

function groupByFile(omissions: readonly ShareOmission[], fileCount: number): ShareOmission[][] {
  const groups: ShareOmission[][] = Array.from({ length: fileCount }, () => []);
  for (const omission of omissions) if (omission.file !== undefined) groups[omission.file]?.push(omission);
  return groups;
}

/** Each file's provenance row: the one at its index when the paths agree (the usual case), else the first with its path. */
function matchProvenance(report: Report): (ProvenanceFileResult | undefined)[] {
  const rows = report.provenance?.files ?? [];
  return report.files.map((file, index) => (rows[index]?.path === file.path ? rows[index] : rows.find((row) => row.path === file.path)));
}

/**
 * Nothing here scans, so a file dropped on the page is ignored instead of
 * being opened by the browser in place of the report.
 */
function useIgnoreDrops(): void {
  useEffect(() => {
    const ignore = (event: DragEvent) => {
      if (!event.dataTransfer?.types.includes('Files')) return;
      event.preventDefault();
      event.stopImmediatePropagation();
    };
    window.addEventListener('dragover', ignore, { capture: true });
    window.addEventListener('drop', ignore, { capture: true });
    return () => {
      window.removeEventListener('dragover', ignore, { capture: true });
      window.removeEventListener('drop', ignore, { capture: true });
    };
  }, []);
}
