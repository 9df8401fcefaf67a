import { VERDICTS } from '../../../src/report/types.ts';
import { downloadJson, reportFileName } from '../../lib/download.ts';
import { fileReportOf, reportOfScans } from '../../state/report-files.ts';
import { isActive, type FileScan } from '../../state/scans.ts';

interface ScanToolbarProps {
  scans: readonly FileScan[];
  onClear(): void;
}

/** Counts per verdict, the JSON report of every finished file, and a way to start over. */
export function ScanToolbar({ scans, onClear }: ScanToolbarProps) {
  const running = scans.filter(isActive).length;
  const reports = scans.map(fileReportOf).filter((report) => report !== null);
  const counts = VERDICTS.map((verdict) => [verdict, reports.filter((report) => report.verdict === verdict).length] as const).filter(
    ([, count]) => count > 0,
  );

  const download = () => {
    const createdAt = new Date();
    downloadJson(reportOfScans(scans, createdAt), reportFileName(createdAt));
  };

  return (
    <div class="toolbar" data-testid="scan-toolbar">
      <p class="toolbar__summary" aria-live="polite">
        <span>
          {scans.length} {scans.length === 1 ? 'file' : 'files'}
        </span>
        {counts.map(([verdict, count]) => (
          <span key={verdict} class={`toolbar__count toolbar__count--${verdict}`} data-testid={`count-${verdict}`}>
            {count} {verdict}
          </span>
        ))}
        {running > 0 ? <span class="muted">{running} scanning</span> : null}
      </p>
      <div class="toolbar__actions">
        <button
          type="button"
          class="button button--primary"
          onClick={download}
          disabled={reports.length === 0}
          data-testid="download-report"
          title={running > 0 ? 'Files still scanning are left out of the report.' : undefined}
        >
          Download report (JSON)
        </button>
        <button type="button" class="button" onClick={onClear} data-testid="clear-all">
          {running > 0 ? 'Cancel all and clear' : 'Clear'}
        </button>
      </div>
    </div>
  );
}
