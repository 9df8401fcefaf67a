import { beforeAll, describe, expect, it } from 'vitest';
import { REFERENCE_TITLES, classifyReference, summarizeForAuditors } from '../../src/report/auditor-summary.ts';
import type { Report } from '../../src/report/types.ts';
import { RULES } from '../../src/rules/index.ts';
import { REF } from '../../src/rules/references.ts';
import { sampleReport, syntheticReport } from './sample-reports.ts';

describe('classifyReference', () => {
  it.each([
    ['MITRE ATLAS AML.T0010', 'mitre-atlas', 'AML.T0010'],
    ['MITRE ATLAS AML.T0011.000', 'mitre-atlas', 'AML.T0011.000'],
    ['OWASP LLM03:2025', 'owasp-llm', 'LLM03:2025'],
    ['NIST AI RMF MEASURE 2.7', 'nist-ai-rmf', 'MEASURE 2.7'],
    ['NIST AI RMF MANAGE 3.1', 'nist-ai-rmf', 'MANAGE 3.1'],
    ['CWE-502', 'cwe', 'CWE-502'],
    ['CVE-2024-34359', 'advisory', 'CVE-2024-34359'],
    ['GHSA-97f8-7cmv-76j2', 'advisory', 'GHSA-97f8-7cmv-76j2'],
    ['ISO 42001', 'other', 'ISO 42001'],
    ['MITRE ATLAS ', 'other', 'MITRE ATLAS '],
  ])('%s → %s %s', (reference, framework, id) => {
    expect(classifyReference(reference)).toEqual({ framework, id });
  });

  it('every reference a rule can cite belongs to a known framework', () => {
    const cited = new Set(Object.values(RULES).flatMap((rule) => rule.references));
    for (const reference of cited) expect(classifyReference(reference).framework, reference).not.toBe('other');
  });

  it('knows the name of every framework item in src/rules/references.ts', () => {
    for (const reference of Object.values(REF)) expect(REFERENCE_TITLES[reference], reference).toBeTruthy();
  });
});

describe('summarizeForAuditors', () => {
  let report: Report;
  beforeAll(async () => {
    report = await sampleReport();
  });

  it('lists the frameworks in a fixed order, "other" only when used', () => {
    expect(summarizeForAuditors(report).map((framework) => framework.id)).toEqual(['mitre-atlas', 'owasp-llm', 'nist-ai-rmf', 'cwe', 'advisory']);
  });

  it('counts each finding once per item it cites, with its worst severity, files and rules', () => {
    const frameworks = summarizeForAuditors(report);
    const entryOf = (reference: string) => frameworks.flatMap((framework) => framework.entries).find((entry) => entry.reference === reference);
    const findings = report.files.flatMap((file) => file.findings.map((finding) => ({ file: file.path, finding })));
    for (const reference of ['MITRE ATLAS AML.T0010', 'OWASP LLM03:2025', 'NIST AI RMF MEASURE 2.7', 'NIST AI RMF MANAGE 3.1', 'CWE-502']) {
      const citing = findings.filter(({ finding }) => finding.references.includes(reference));
      const entry = entryOf(reference);
      expect(entry, reference).toBeDefined();
      expect(entry!.findingCount).toBe(citing.length);
      expect(entry!.files).toEqual([...new Set(citing.map(({ file }) => file))]);
      expect(entry!.rules).toEqual([...new Set(citing.map(({ finding }) => finding.rule))].sort());
      expect(entry!.title).toBe(REFERENCE_TITLES[reference]);
    }
    // The malicious pickles are the only files with findings; both run os.system.
    expect(entryOf('MITRE ATLAS AML.T0011.000')).toMatchObject({ worstSeverity: 'critical', files: ['evil.pkl', 'checkpoints/model.pt'] });
    expect(entryOf('MITRE ATLAS AML.T0011.000')!.rules).toEqual(['pickle.call.dangerous', 'pickle.import.process']);
  });

  it('orders items by identifier, numbers compared as numbers', () => {
    const cwe = summarizeForAuditors(report).find((framework) => framework.id === 'cwe')!;
    const ids = cwe.entries.map((entry) => Number(entry.id.slice(4)));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('counts a reference cited twice by one finding once, and keeps unknown references under "other"', () => {
    const finding = {
      rule: 'custom.rule',
      severity: 'medium' as const,
      title: 't',
      detail: 'd',
      explanation: 'e',
      location: {},
      references: ['CWE-20', 'CWE-20', 'Internal policy 7'],
    };
    const frameworks = summarizeForAuditors(syntheticReport({ findings: [finding, { ...finding, severity: 'high' }] }));
    const cwe = frameworks.find((framework) => framework.id === 'cwe')!;
    expect(cwe.entries).toEqual([
      expect.objectContaining({ id: 'CWE-20', findingCount: 2, worstSeverity: 'high', severityCounts: { critical: 0, high: 1, medium: 1, low: 0, info: 0 } }),
    ]);
    expect(frameworks.at(-1)).toMatchObject({ id: 'other', entries: [expect.objectContaining({ reference: 'Internal policy 7', findingCount: 2 })] });
  });

  it('has empty frameworks, not missing ones, for a clean report', () => {
    const frameworks = summarizeForAuditors(syntheticReport({}));
    expect(frameworks.map((framework) => framework.entries.length)).toEqual([0, 0, 0, 0, 0]);
  });
});
