import { compareProvenance, type ExpectationSet, type ProvenanceReport, type ScannedFile } from '../../src/provenance/index.ts';
import { createReport } from '../../src/report/report.ts';
import { analyzeModelFolders } from '../../src/folder/analyze.ts';
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

/**
 * The downloadable Report: every file whose scan has ended, in the order they
 * were added, and, when expected hashes were given, their comparison with
 * those files (files that are themselves a source of expected hashes, Git LFS
 * pointers, are not compared: their claim is about another file).
 */
export function reportOfScans(scans: readonly FileScan[], createdAt = new Date(), expectations: readonly ExpectationSet[] = []): Report {
  const ended = scans.flatMap((scan) => {
    const report = fileReportOf(scan);
    return report ? [{ scan, report }] : [];
  });
  const report = createReport(
    ended.map(({ report: file }) => file),
    createdAt,
  );
  report.models = analyzeModelFolders(report.files);
  if (expectations.length > 0) {
    const compared = ended.filter(({ scan }) => scan.expectationSource === undefined).map(({ report: file }) => file);
    report.provenance = compareProvenance(compared, [...expectations]);
  }
  return report;
}

/**
 * The comparison the page shows while files are scanned: every file that is
 * not itself an expectation source, with its hash once computed (a file still
 * scanning is `not-hashed` until then). Results are keyed by scan id.
 */
export function liveProvenance(
  scans: readonly FileScan[],
  expectations: readonly ExpectationSet[],
): { report: ProvenanceReport; byScan: Map<number, ProvenanceReport['files'][number]> } {
  const compared = scans.filter((scan) => scan.expectationSource === undefined);
  const files: ScannedFile[] = compared.map((scan) => ({
    path: scan.path,
    size: scan.size,
    sha256: scan.status === 'done' ? (scan.report?.sha256 ?? null) : null,
  }));
  const report = compareProvenance(files, [...expectations]);
  return { report, byScan: new Map(compared.map((scan, index) => [scan.id, report.files[index]])) };
}
