import { createReport } from '../../src/report/report.ts';
import type { FileReport, Report } from '../../src/report/types.ts';
import { createFinding, verdictOf } from '../../src/rules/index.ts';
import type { FileScan } from './scans.ts';

/**
 * The file report for a scan that has ended, whatever the ending: the full
 * report when done; the header report plus a finding saying why the hash is
 * missing when cancelled or failed. Null while the scan is still running, and
 * for a scan cancelled before its header (nothing was inspected).
 */
export function fileReportOf(scan: FileScan): FileReport | null {
  if (scan.status === 'done') return scan.report;
  if (scan.status === 'cancelled') {
    if (!scan.report) return null;
    return withFinding(
      scan.report,
      createFinding('scan.cancelled', {
        detail: `Cancelled after ${scan.progress.bytesDone} of ${scan.progress.bytesTotal} bytes; no hash is reported.`,
        location: { offset: scan.progress.bytesDone },
      }),
    );
  }
  if (scan.status === 'failed') {
    const base: FileReport = scan.report ?? {
      path: scan.path,
      size: scan.size,
      format: 'unknown',
      sha256: null,
      verdict: 'clean',
      findings: [],
      tensors: [],
      metadata: {},
    };
    return withFinding(
      base,
      createFinding('scan.internal-error', {
        detail: scan.error ?? 'The scan stopped on an unexpected error.',
        location: { offset: scan.progress.bytesDone },
      }),
    );
  }
  return null;
}

function withFinding(report: FileReport, finding: FileReport['findings'][number]): FileReport {
  const findings = [...report.findings, finding];
  return { ...report, sha256: null, findings, verdict: verdictOf(findings) };
}

/** The downloadable Report: every file whose scan has ended, in the order they were added. */
export function reportOfScans(scans: readonly FileScan[], createdAt = new Date()): Report {
  const files = scans.map(fileReportOf).filter((report): report is FileReport => report !== null);
  return createReport(files, createdAt);
}
