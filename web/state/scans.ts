/**
 * What the page knows about each file, as plain data and a pure reducer: the
 * queue, the header report, the streaming pass, and how it ended.
 */
import type { FileReport } from '../../src/report/types.ts';
import type { ScanProgress } from '../../src/scan.ts';

export type ScanStatus = 'queued' | 'inspecting' | 'hashing' | 'done' | 'cancelled' | 'failed';

export interface FileScan {
  id: number;
  path: string;
  size: number;
  status: ScanStatus;
  /** The header report, replaced by the full report when the pass ends. */
  report: FileReport | null;
  progress: ScanProgress;
  /** `performance.now()` when the streaming pass began (the header arrived). */
  passStartedAt: number | null;
  /** `performance.now()` at the last progress event or at the end. */
  updatedAt: number | null;
  error?: string;
  /**
   * Set for a file that is also a source of expected hashes (a Git LFS
   * pointer): the name of its expectation set. Such a file is not compared
   * with the expectations itself; its claim is about the file it stands for.
   */
  expectationSource?: string;
}

export type ScanAction =
  | { type: 'added'; scans: Pick<FileScan, 'id' | 'path' | 'size' | 'expectationSource'>[] }
  | { type: 'started'; id: number }
  | { type: 'header'; id: number; report: FileReport; at: number }
  | { type: 'progress'; id: number; progress: ScanProgress; at: number }
  | { type: 'finished'; id: number; report: FileReport; at: number }
  | { type: 'cancelled'; id: number; at: number }
  | { type: 'failed'; id: number; message: string; at: number }
  | { type: 'cleared' };

export function isActive(scan: FileScan): boolean {
  return scan.status === 'queued' || scan.status === 'inspecting' || scan.status === 'hashing';
}

export function scansReducer(scans: FileScan[], action: ScanAction): FileScan[] {
  switch (action.type) {
    case 'added':
      return [
        ...scans,
        ...action.scans.map(
          (scan): FileScan => ({
            ...scan,
            status: 'queued',
            report: null,
            progress: { bytesDone: 0, bytesTotal: scan.size },
            passStartedAt: null,
            updatedAt: null,
          }),
        ),
      ];
    case 'cleared':
      return [];
    default:
      return updateOne(scans, action.id, (scan) => applyToScan(scan, action));
  }
}

function applyToScan(scan: FileScan, action: Exclude<ScanAction, { type: 'added' | 'cleared' }>): FileScan {
  // Events that arrive after the scan ended (they travel on other ports) change nothing.
  if (!isActive(scan)) return scan;
  switch (action.type) {
    case 'started':
      return { ...scan, status: 'inspecting' };
    case 'header':
      return { ...scan, status: 'hashing', report: action.report, passStartedAt: action.at, updatedAt: action.at };
    case 'progress':
      return { ...scan, progress: action.progress, updatedAt: action.at };
    case 'finished':
      return {
        ...scan,
        status: 'done',
        report: action.report,
        progress: { bytesDone: action.report.size, bytesTotal: action.report.size },
        passStartedAt: scan.passStartedAt ?? action.at,
        updatedAt: action.at,
      };
    case 'cancelled':
      return { ...scan, status: 'cancelled', updatedAt: action.at };
    case 'failed':
      return { ...scan, status: 'failed', error: action.message, updatedAt: action.at };
  }
}

function updateOne(scans: FileScan[], id: number, update: (scan: FileScan) => FileScan): FileScan[] {
  const index = scans.findIndex((scan) => scan.id === id);
  if (index < 0) return scans;
  const updated = update(scans[index]);
  if (updated === scans[index]) return scans;
  const next = scans.slice();
  next[index] = updated;
  return next;
}
