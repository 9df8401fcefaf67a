/**
 * The page's pure logic, without a browser: formatting, hidden-character
 * detection, tensor filtering, finding order, the scan reducer and the
 * downloadable report of ended scans.
 */
import { describe, expect, it } from 'vitest';
import type { FileReport, Finding, TensorInfo } from '../../src/report/types.ts';
import { createFinding } from '../../src/rules/index.ts';
import { filterTensors } from '../../web/components/tensor-table/filter-tensors.ts';
import { describeLocation, severityCounts, sortBySeverity } from '../../web/lib/findings.ts';
import {
  formatBytes,
  formatCount,
  formatDuration,
  formatOffset,
  formatParameters,
  formatShape,
  formatThroughput,
} from '../../web/lib/format.ts';
import { reportFileName } from '../../web/lib/download.ts';
import { hasHiddenCharacters, splitHiddenCharacters } from '../../web/lib/visible-text.ts';
import { fileReportOf, reportOfScans } from '../../web/state/report-files.ts';
import { scansReducer, type FileScan } from '../../web/state/scans.ts';

describe('formatting', () => {
  it.each([
    [formatOffset(419), 'offset 0x1A3 (419)'],
    [formatOffset(0), 'offset 0x0 (0)'],
    [formatOffset(3_000_000_000), 'offset 0xB2D05E00 (3,000,000,000)'],
    [formatBytes(0), '0 B'],
    [formatBytes(999), '999 B'],
    [formatBytes(1_234_567), '1.23 MB'],
    [formatBytes(3_000_000_000), '3 GB'],
    [formatParameters(176), '176'],
    [formatParameters(7_241_732_096), '7.24 B'],
    [formatParameters(135_000_000), '135 M'],
    [formatShape([]), '[]'],
    [formatShape([4096, 11008]), '[4096, 11008]'],
    [formatDuration(4.2), '5 s'],
    [formatDuration(125), '2 min 05 s'],
    [formatDuration(3720), '1 h 02 min'],
    [formatDuration(Number.POSITIVE_INFINITY), '–'],
    [formatThroughput(850_000_000), '850 MB/s'],
    [formatCount(1, 'tensor'), '1 tensor'],
    [formatCount(20_000, 'tensor'), '20,000 tensors'],
    [reportFileName(new Date('2025-11-25T21:53:00.123Z')), 'preflight-report-2025-11-25T21-53-00Z.json'],
  ])('%s', (actual, expected) => {
    expect(actual).toBe(expected);
  });
});

describe('hidden characters', () => {
  it.each([
    ['plain.weight', false, ['plain.weight']],
    ['line one\nline two\twith tab', false, ['line one\nline two\twith tab']],
    ['sec\u202Eond', true, ['sec', 'U+202E', 'ond']],
    ['\u200Bzero-width', true, ['U+200B', 'zero-width']],
    ['nul\u0000', true, ['nul', 'U+0000']],
    ['bom\uFEFF', true, ['bom', 'U+FEFF']],
  ])('%j', (text, hidden, shown) => {
    expect(hasHiddenCharacters(text)).toBe(hidden);
    expect(splitHiddenCharacters(text).map((segment) => (segment.hidden ? segment.codePoint : segment.text))).toEqual(shown);
  });
});

describe('filterTensors', () => {
  const tensors: TensorInfo[] = [
    { name: 'model.layers.3.mlp.weight', dtype: 'BF16', shape: [4096, 11008], offset: 0, length: 1 },
    { name: 'model.layers.30.mlp.weight', dtype: 'F16', shape: [4096, 11008], offset: 1, length: 1 },
    { name: 'lm_head.weight', dtype: 'F32', shape: [32000, 4096], offset: 2, length: 1 },
  ];
  it.each([
    ['', 3],
    ['   ', 3],
    ['layers.3.', 1],
    ['LAYERS.3', 2],
    ['f16', 1],
    ['bf16', 1],
    ['4096, 11008', 2],
    ['[32000', 1],
    ['nothing', 0],
  ])('%j matches %i', (query, count) => {
    expect(filterTensors(tensors, query)).toHaveLength(count);
  });
});

describe('findings', () => {
  const findings: Finding[] = [
    createFinding('format.unsupported', { detail: 'a' }),
    createFinding('scan.read-error', { detail: 'b', location: { offset: 419, length: 12, entry: 'archive/data.pkl' } }),
    createFinding('format.extension-mismatch', { detail: 'c' }),
  ];
  it('sorts worst first and counts per severity', () => {
    expect(sortBySeverity(findings).map((finding) => finding.severity)).toEqual(['high', 'medium', 'info']);
    expect(severityCounts(findings)).toBe('1 high, 1 medium, 1 info');
  });
  it.each([
    [{}, null],
    [{ offset: 419 }, 'offset 0x1A3 (419)'],
    [{ offset: 419, length: 12, entry: 'archive/data.pkl' }, 'offset 0x1A3 (419), 12 bytes, in archive/data.pkl'],
  ])('describes location %j', (location, text) => {
    expect(describeLocation(location)).toBe(text);
  });
});

describe('scan state and the downloadable report', () => {
  const header: FileReport = {
    path: 'm.safetensors',
    size: 100,
    format: 'safetensors',
    sha256: null,
    verdict: 'clean',
    findings: [],
    tensors: [],
    metadata: {},
  };
  const full: FileReport = { ...header, sha256: 'ab'.repeat(32) };

  function scanThrough(...actions: Parameters<typeof scansReducer>[1][]): FileScan {
    const start = scansReducer([], { type: 'added', scans: [{ id: 1, path: 'm.safetensors', size: 100 }] });
    return actions.reduce(scansReducer, start)[0];
  }

  it('ignores events that arrive after the scan ended', () => {
    const scan = scanThrough(
      { type: 'started', id: 1 },
      { type: 'header', id: 1, report: header, at: 10 },
      { type: 'finished', id: 1, report: full, at: 20 },
      { type: 'progress', id: 1, progress: { bytesDone: 50, bytesTotal: 100 }, at: 30 },
      { type: 'header', id: 1, report: header, at: 40 },
    );
    expect(scan.status).toBe('done');
    expect(scan.report).toBe(full);
    expect(scan.progress.bytesDone).toBe(100);
  });

  it.each([
    ['done', [{ type: 'finished', id: 1, report: full, at: 1 }], 'clean', 'ab'.repeat(32), []],
    ['cancelled after the header', [{ type: 'header', id: 1, report: header, at: 1 }, { type: 'cancelled', id: 1, at: 2 }], 'clean', null, ['scan.cancelled']],
    ['failed before the header', [{ type: 'failed', id: 1, message: 'worker died', at: 1 }], 'malformed', null, ['scan.internal-error']],
  ] as const)('a scan %s is reported with verdict %s', (_, actions, verdict, sha256, rules) => {
    const report = fileReportOf(scanThrough(...actions));
    expect(report).not.toBeNull();
    expect(report!.verdict).toBe(verdict);
    expect(report!.sha256).toBe(sha256);
    expect(report!.findings.map((finding) => finding.rule)).toEqual(rules);
  });

  it('leaves out scans still running and scans cancelled before any header', () => {
    const running = scanThrough({ type: 'started', id: 1 });
    const cancelledEarly = scanThrough({ type: 'cancelled', id: 1, at: 1 });
    const done = scanThrough({ type: 'finished', id: 1, report: full, at: 1 });
    const report = reportOfScans([running, cancelledEarly, done], new Date('2025-01-01T00:00:00Z'));
    expect(report.files).toEqual([full]);
    expect(report.createdAt).toBe('2025-01-01T00:00:00.000Z');
  });
});
