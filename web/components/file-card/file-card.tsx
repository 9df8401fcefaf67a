import { memo } from 'preact/compat';
import type { ProvenanceFileResult } from '../../../src/provenance/index.ts';
import type { FileReport } from '../../../src/report/types.ts';
import type { ShareOmission } from '../../../src/share/share-link.ts';
import { formatBytes, formatCount, formatInteger } from '../../lib/format.ts';
import type { FileScan } from '../../state/scans.ts';
import { FileTotals } from '../file-totals/file-totals.tsx';
import { severityCounts } from '../../lib/findings.ts';
import { FindingList } from '../finding-list/finding-list.tsx';
import { MetadataTable } from '../metadata-table/metadata-table.tsx';
import { ExpectationSourceLine, ProvenanceLine } from '../provenance-line/provenance-line.tsx';
import { ScanProgress } from '../scan-progress/scan-progress.tsx';
import { Section } from '../section/section.tsx';
import { Sha256Line } from '../sha256-line/sha256-line.tsx';
import { TensorTable } from '../tensor-table/tensor-table.tsx';
import { VerdictBadge } from '../verdict-badge/verdict-badge.tsx';
import { VisibleText } from '../visible-text/visible-text.tsx';
import { WeightsOnly } from '../weights-only/weights-only.tsx';

interface FileCardProps {
  scan: FileScan;
  /** Absent for a report that is only shown (a shared link): nothing runs. */
  onCancel?(id: number): void;
  /** How the file compares with the expected hashes, when any were given. */
  provenance?: ProvenanceFileResult;
  /** What a share link left out of this file's report. */
  leftOut?: readonly ShareOmission[];
}

/** One file: what it is, what is inside, what loading it would do, how it compares with expected hashes, and where the scan stands. */
export const FileCard = memo(function FileCard({ scan, onCancel, provenance, leftOut }: FileCardProps) {
  const { report } = scan;
  // A link that cut the tensor table holds only its first rows: counts and totals from them would mislead.
  const tensorsCut = leftOut?.some((omission) => omission.part === 'tensors') ?? false;
  return (
    <article
      class={`card card--${report?.verdict ?? 'pending'}`}
      data-testid="file-card"
      data-path={scan.path}
      data-status={scan.status}
    >
      <header class="card__head">
        {report ? <VerdictBadge verdict={report.verdict} final={scan.status === 'done'} /> : <NoVerdictBadge status={scan.status} />}
        <h2 class="card__path" data-testid="file-path">
          <VisibleText text={scan.path} />
        </h2>
        <p class="card__facts">
          <span title={`${formatInteger(scan.size)} bytes`} data-testid="file-size">
            {formatBytes(scan.size)}
          </span>
          {report ? <span data-testid="file-format">{report.format === 'unknown' ? 'unrecognised format' : report.format}</span> : null}
          {report && report.tensors.length > 0 && !tensorsCut ? <span>{formatCount(report.tensors.length, 'tensor')}</span> : null}
        </p>
      </header>
      {report?.weightsOnly ? <WeightsOnly answer={report.weightsOnly} /> : null}
      <ScanStatus scan={scan} onCancel={onCancel} />
      {scan.expectationSource !== undefined ? <ExpectationSourceLine source={scan.expectationSource} /> : null}
      {provenance ? <ProvenanceLine result={provenance} pending={scan.status === 'queued' || scan.status === 'inspecting' || scan.status === 'hashing'} /> : null}
      {leftOut && leftOut.length > 0 ? <LeftOut omissions={leftOut} /> : null}
      {report ? <ReportSections report={report} tensorsCut={tensorsCut} /> : null}
    </article>
  );
});

/** Before any header there is no verdict, only where the scan stands. */
function NoVerdictBadge({ status }: { status: FileScan['status'] }) {
  const label = status === 'failed' ? 'Failed' : status === 'cancelled' ? 'Cancelled' : status === 'queued' ? 'Queued' : 'Reading';
  return (
    <span class={`verdict verdict--pending${status === 'failed' ? ' verdict--failed' : ''}`} data-testid="verdict-pending">
      {label}
    </span>
  );
}

/** The parts of this file's report that a share link did not carry. */
function LeftOut({ omissions }: { omissions: readonly ShareOmission[] }) {
  return (
    <div class="card__left-out" data-testid="card-left-out">
      <p>Left out of this link (the sender's downloads have it):</p>
      <ul>
        {omissions.map((omission, index) => (
          <li key={index}>
            <VisibleText text={`${omission.part}: ${omission.what}`} />
          </li>
        ))}
      </ul>
    </div>
  );
}

function ScanStatus({ scan, onCancel }: Pick<FileCardProps, 'scan' | 'onCancel'>) {
  switch (scan.status) {
    case 'queued':
      return <p class="card__status muted">Queued: waiting for a free worker.</p>;
    case 'inspecting':
      return <p class="card__status muted">Reading headers…</p>;
    case 'hashing':
      return (
        <ScanProgress
          progress={scan.progress}
          startedAt={scan.passStartedAt}
          updatedAt={scan.updatedAt}
          onCancel={() => onCancel?.(scan.id)}
        />
      );
    case 'done':
      return scan.report?.sha256 ? (
        <Sha256Line sha256={scan.report.sha256} />
      ) : (
        <p class="card__status">No hash: the file could not be read to the end (see the findings).</p>
      );
    case 'cancelled':
      return (
        <p class="card__status" data-testid="scan-cancelled">
          Cancelled after {formatBytes(scan.progress.bytesDone)} of {formatBytes(scan.progress.bytesTotal)}. No hash, and the
          deep scan is incomplete: what is shown comes from the headers only.
        </p>
      );
    case 'failed':
      return (
        <p class="card__status card__status--error" role="alert" data-testid="scan-failed">
          The scan failed: {scan.error}
        </p>
      );
  }
}

/** Everything the report holds; re-renders only when the report itself changes, not on progress ticks. */
const ReportSections = memo(function ReportSections({ report, tensorsCut }: { report: FileReport; tensorsCut: boolean }) {
  const metadataKeys = Object.keys(report.metadata).length;
  return (
    <div class="card__body">
      <Section title="Findings" aside={report.findings.length > 0 ? severityCounts(report.findings) : 'none'} testId="findings-section">
        <FindingList findings={report.findings} />
      </Section>
      {report.tensors.length > 0 && !tensorsCut ? (
        <Section title="Totals" testId="totals-section">
          <FileTotals tensors={report.tensors} fileSize={report.size} />
        </Section>
      ) : null}
      {metadataKeys > 0 ? (
        <Section title="Metadata" aside={formatCount(metadataKeys, 'key')} testId="metadata-section">
          <MetadataTable metadata={report.metadata} />
        </Section>
      ) : null}
      {report.tensors.length > 0 ? (
        <Section title="Tensors" aside={tensorsCut ? `first ${formatInteger(report.tensors.length)}` : formatInteger(report.tensors.length)} testId="tensors-section">
          <TensorTable tensors={report.tensors} />
        </Section>
      ) : null}
    </div>
  );
});
