import { useState } from 'preact/hooks';
import type { ExpectationSet } from '../../../src/provenance/index.ts';
import { REPORT_FILE_TYPES, renderReport, type ReportFormat } from '../../../src/report/render.ts';
import { VERDICTS } from '../../../src/report/types.ts';
import { encodeShareFragment } from '../../../src/share/share-link.ts';
import { copyText } from '../../lib/clipboard.ts';
import { downloadText, reportFileName } from '../../lib/download.ts';
import { fileReportOf, reportOfScans } from '../../state/report-files.ts';
import { isActive, type FileScan } from '../../state/scans.ts';
import { shareUrlOf } from '../../state/use-share-route.ts';
import { ShareLinkBox, type ShareLinkResult } from '../share-link-box/share-link-box.tsx';

interface ScanToolbarProps {
  scans: readonly FileScan[];
  expectations: readonly ExpectationSet[];
  onClear(): void;
}

/** The other written forms, after the JSON report, in the order people ask for them. */
const OTHER_FORMATS: { format: ReportFormat; label: string; title: string }[] = [
  { format: 'html', label: 'HTML', title: 'One self-contained page: opens offline, prints, runs no script.' },
  { format: 'markdown', label: 'Markdown', title: 'For a pull request or an issue.' },
  { format: 'sarif', label: 'SARIF', title: 'SARIF 2.1.0, for code scanning dashboards.' },
  { format: 'cyclonedx', label: 'CycloneDX', title: 'CycloneDX 1.6 bill of materials, with the findings as vulnerabilities.' },
];

/** Counts per verdict, the report of every finished file (download or share link), and a way to start over. */
export function ScanToolbar({ scans, expectations, onClear }: ScanToolbarProps) {
  const [shared, setShared] = useState<ShareLinkResult | null>(null);
  const [shareError, setShareError] = useState<string | null>(null);
  const running = scans.filter(isActive).length;
  const reports = scans.map(fileReportOf).filter((report) => report !== null);
  const counts = VERDICTS.map((verdict) => [verdict, reports.filter((report) => report.verdict === verdict).length] as const).filter(
    ([, count]) => count > 0,
  );
  const partial = running > 0 ? 'Files still scanning are left out of the report.' : undefined;

  const download = (format: ReportFormat) => {
    const createdAt = new Date();
    const { extension, mediaType } = REPORT_FILE_TYPES[format];
    downloadText(renderReport(reportOfScans(scans, createdAt, expectations), format), reportFileName(createdAt, extension), mediaType);
  };

  const share = async () => {
    let encoded: ReturnType<typeof encodeShareFragment>;
    try {
      encoded = encodeShareFragment(reportOfScans(scans, new Date(), expectations));
    } catch (error) {
      setShared(null);
      setShareError(`No link could be made: ${error instanceof Error ? error.message : String(error)}. The downloads have the whole report.`);
      return;
    }
    setShareError(null);
    const url = shareUrlOf(encoded.fragment);
    setShared({ url, omitted: encoded.omitted, outcome: await copyText(url, null) });
  };

  return (
    <div class="toolbar" data-testid="scan-toolbar">
      <div class="toolbar__row">
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
            onClick={() => download('json')}
            disabled={reports.length === 0}
            data-testid="download-report"
            title={partial}
          >
            Download report (JSON)
          </button>
          <button type="button" class="button" onClick={share} disabled={reports.length === 0} data-testid="copy-share-link" title={partial}>
            Copy share link
          </button>
          <button type="button" class="button" onClick={onClear} data-testid="clear-all">
            {running > 0 ? 'Cancel all and clear' : 'Clear'}
          </button>
        </div>
      </div>
      <p class="toolbar__exports">
        <span class="muted">Also as</span>
        {OTHER_FORMATS.map(({ format, label, title }) => (
          <button
            key={format}
            type="button"
            class="button button--small button--link"
            onClick={() => download(format)}
            disabled={reports.length === 0}
            data-testid={`download-${format}`}
            title={title}
          >
            {label}
          </button>
        ))}
      </p>
      {shared ? <ShareLinkBox result={shared} onClose={() => setShared(null)} /> : null}
      {shareError ? (
        <p class="card__status--error" role="alert" data-testid="share-link-error">
          {shareError}
        </p>
      ) : null}
    </div>
  );
}
