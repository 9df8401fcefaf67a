import { describe, expect, it } from 'vitest';
import { createReport } from '../../src/report/report.ts';
import type { FileReport, Finding, Report } from '../../src/report/types.ts';
import { SHARE_LEVELS, shrinkReport, type ShareShape } from '../../src/share/shrink-report.ts';

const EVERYTHING: ShareShape = SHARE_LEVELS[0];
const CREATED_AT = new Date('2025-03-04T05:06:07.000Z');

function file(overrides: Partial<FileReport> = {}): FileReport {
  return { path: 'm.gguf', size: 10, format: 'gguf', sha256: 'a'.repeat(64), verdict: 'clean', findings: [], tensors: [], metadata: {}, ...overrides };
}

function finding(severity: Finding['severity'], detail: string, evidence?: string): Finding {
  return {
    rule: `rule.${severity}`,
    severity,
    title: 't',
    detail,
    explanation: 'e',
    location: {},
    references: [],
    ...(evidence !== undefined ? { evidence } : {}),
  };
}

const one = (overrides: Partial<FileReport>) => createReport([file(overrides)], CREATED_AT);

describe('shrinkReport', () => {
  it('keeps everything, and says nothing, under the first level', () => {
    const report = one({ tensors: [{ name: 'w', dtype: 'F16', shape: [1], offset: 0, length: 2 }], metadata: { a: 'x'.repeat(10_000) } });
    expect(shrinkReport(report, EVERYTHING)).toEqual({ report, omissions: [] });
  });

  it.each<{ name: string; report: Report; shape: Partial<ShareShape>; omissions: { part: string; file?: number; what: string }[]; check?: (report: Report) => void }>([
    {
      name: 'long strings and arrays in metadata are cut, nested ones too, and named by their top-level key',
      report: one({
        metadata: {
          'tokenizer.chat_template': 'x'.repeat(2000),
          nested: { deeper: ['a', 'b'], list: Array.from({ length: 40 }, (_, index) => index) },
          short: 'fine',
        },
      }),
      shape: { metadata: 'cut' },
      omissions: [
        {
          part: 'metadata',
          file: 0,
          what: 'the end of 1 long string (each cut to 500 characters); all but the first 16 items of 1 array, under "tokenizer.chat_template", "nested" (40 items)',
        },
      ],
      check: (report) => {
        const metadata = report.files[0].metadata;
        expect(metadata['tokenizer.chat_template']).toHaveLength(500);
        expect(metadata.nested).toEqual({ deeper: ['a', 'b'], list: { summary: 'array', itemType: 'number', length: 40, head: Array.from({ length: 16 }, (_, index) => index) } });
        expect(metadata.short).toBe('fine');
      },
    },
    {
      name: 'an array summary from the scanner keeps its length and loses the end of its head',
      report: one({ metadata: { tokens: { summary: 'array', itemType: 'string', length: 151_936, head: Array.from({ length: 64 }, (_, index) => `t${index}`) } } }),
      shape: { metadata: 'cut' },
      omissions: [{ part: 'metadata', file: 0, what: 'all but the first 16 items of 1 array, under "tokens" (151,936 items)' }],
      check: (report) => expect(report.files[0].metadata.tokens).toMatchObject({ length: 151_936, head: expect.arrayContaining(['t0', 't15']) }),
    },
    {
      name: 'metadata left out as a whole',
      report: one({ metadata: { a: 1, b: 2 } }),
      shape: { metadata: 'none' },
      omissions: [{ part: 'metadata', file: 0, what: 'the metadata (2 keys)' }],
      check: (report) => expect(report.files[0].metadata).toEqual({}),
    },
    {
      name: 'findings: the least severe go first, the rest keep scan order, long texts are cut',
      report: one({
        verdict: 'dangerous',
        findings: [finding('info', 'i1'), finding('critical', 'c1', 'e'.repeat(50)), finding('low', 'l1'), finding('high', 'h'.repeat(50))],
      }),
      shape: { findingsPerFile: 2, findingTextChars: 20 },
      omissions: [
        {
          part: 'findings',
          file: 0,
          what: '2 of 4 findings, the least severe (1 low, 1 info); the end of the detail or evidence of 2 findings (each cut to 20 characters)',
        },
      ],
      check: (report) => {
        expect(report.files[0].findings.map((entry) => entry.severity)).toEqual(['critical', 'high']);
        expect(report.files[0].findings[0].evidence).toBe('e'.repeat(20));
        expect(report.files[0].findings[1].detail).toBe('h'.repeat(20));
        expect(report.files[0].verdict).toBe('dangerous');
      },
    },
    {
      name: 'the whole tensor table',
      report: one({ tensors: Array.from({ length: 3 }, (_, index) => ({ name: `w${index}`, dtype: 'F16', shape: [1], offset: index * 2, length: 2 })) }),
      shape: { tensorRows: 0 },
      omissions: [{ part: 'tensors', file: 0, what: 'the tensor table (3 tensors)' }],
    },
    {
      name: 'files from the end, then the provenance comparison and the model summaries with them',
      report: {
        ...createReport([file({ path: 'a' }), file({ path: 'b' }), file({ path: 'c' })], CREATED_AT),
        provenance: {
          sources: [],
          files: [],
          listedNotScanned: [],
          conflicts: [],
          notes: [],
          counts: { matches: 2, differs: 1, notListed: 0, notHashed: 0, listedNotScanned: 4, conflicts: 0 },
        },
        models: [{ root: '', files: ['a', 'b', 'c'], verdict: 'clean', formats: ['gguf'], parameters: 0, size: 30, loaderReads: [], findings: [] }],
      },
      shape: { files: 1, provenance: false },
      omissions: [
        { part: 'files', what: '2 files of 3 left out, from "b" to the end' },
        { part: 'provenance', what: 'the expected-hash comparison (2 matching, 1 differing, 0 not listed, 4 listed but not scanned)' },
        { part: 'models', what: 'the model summaries (1 model: per-model verdicts and cross-file findings)' },
      ],
      check: (report) => {
        expect(report.files.map((entry) => entry.path)).toEqual(['a']);
        expect(report.provenance).toBeUndefined();
        expect(report.models).toBeUndefined();
      },
    },
  ])('$name', ({ report, shape, omissions, check }) => {
    const before = JSON.stringify(report);
    const shrunk = shrinkReport(report, { ...EVERYTHING, ...shape });
    expect(shrunk.omissions).toEqual(omissions);
    check?.(shrunk.report);
    expect(JSON.stringify(report)).toBe(before);
  });

  it('never splits a surrogate pair when it cuts text', () => {
    const text = `${'a'.repeat(499)}😀${'b'.repeat(600)}`;
    const shrunk = shrinkReport(one({ metadata: { emoji: text } }), { ...EVERYTHING, metadata: 'cut' });
    const cut = shrunk.report.files[0].metadata.emoji as string;
    expect(cut).toBe('a'.repeat(499));
    expect(cut).not.toMatch(/[\uD800-\uDBFF]$/);
  });

  it('levels only ever keep less', () => {
    for (let index = 1; index < SHARE_LEVELS.length; index++) {
      const [before, after] = [SHARE_LEVELS[index - 1], SHARE_LEVELS[index]];
      expect(after.tensorRows).toBeLessThanOrEqual(before.tensorRows);
      expect(after.findingsPerFile).toBeLessThanOrEqual(before.findingsPerFile);
      expect(after.findingTextChars).toBeLessThanOrEqual(before.findingTextChars);
      expect(after.provenanceItems).toBeLessThanOrEqual(before.provenanceItems);
      expect(['all', 'cut', 'none'].indexOf(after.metadata)).toBeGreaterThanOrEqual(['all', 'cut', 'none'].indexOf(before.metadata));
      expect(Number(after.models)).toBeLessThanOrEqual(Number(before.models));
    }
  });
});
