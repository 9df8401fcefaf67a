/**
 * The findings of a Report regrouped the way an auditor reads them: by the
 * framework item they map to (MITRE ATLAS technique, OWASP LLM Top 10 item,
 * NIST AI RMF subcategory, CWE weakness, public advisory), not by file.
 * Each finding's `references` carries the identifiers (see
 * src/rules/references.ts); this module only parses and counts them.
 */
import { SEVERITIES, type Report, type Severity } from './types.ts';

export type FrameworkId = 'mitre-atlas' | 'owasp-llm' | 'nist-ai-rmf' | 'cwe' | 'advisory' | 'other';

export interface AuditorFramework {
  id: FrameworkId;
  name: string;
  /** One sentence on what the framework is, for a reader who does not know it. */
  about: string;
  /** Items that at least one finding maps to, in identifier order. */
  entries: AuditorEntry[];
}

export interface AuditorEntry {
  /** The reference exactly as findings carry it, e.g. `MITRE ATLAS AML.T0010`. */
  reference: string;
  /** The identifier within its framework, e.g. `AML.T0010`, `LLM03:2025`, `MEASURE 2.7`. */
  id: string;
  /** The item's name in its framework, when Preflight knows it. */
  title?: string;
  findingCount: number;
  worstSeverity: Severity;
  severityCounts: Record<Severity, number>;
  /** Paths of the files with such findings, in report order. */
  files: string[];
  /** Rule ids of those findings, sorted. */
  rules: string[];
}

const FRAMEWORKS: ReadonlyArray<{ id: FrameworkId; name: string; about: string; prefix?: string; pattern?: RegExp }> = [
  { id: 'mitre-atlas', name: 'MITRE ATLAS', prefix: 'MITRE ATLAS ', about: 'Adversary tactics and techniques against AI systems (atlas.mitre.org).' },
  { id: 'owasp-llm', name: 'OWASP Top 10 for LLM Applications', prefix: 'OWASP ', about: 'The most critical security risks of LLM applications, 2025 edition.' },
  {
    id: 'nist-ai-rmf',
    name: 'NIST AI Risk Management Framework',
    prefix: 'NIST AI RMF ',
    about: 'NIST AI 100-1 subcategories this scan provides evidence for.',
  },
  { id: 'cwe', name: 'CWE', pattern: /^CWE-\d+$/, about: 'Common Weakness Enumeration: the class of flaw a loader would hit.' },
  { id: 'advisory', name: 'Advisories', pattern: /^(CVE-\d{4}-\d+|GHSA(-[0-9a-z]{4}){3})$/, about: 'Public vulnerability advisories for the behaviour found.' },
  { id: 'other', name: 'Other references', about: 'References that belong to no framework above.' },
];

/** Names of the items Preflight's rules cite, as their frameworks word them. */
export const REFERENCE_TITLES: Readonly<Record<string, string>> = {
  'MITRE ATLAS AML.T0010': 'ML Supply Chain Compromise',
  'MITRE ATLAS AML.T0011.000': 'User Execution: Unsafe ML Artifacts',
  'MITRE ATLAS AML.T0018': 'Manipulate AI Model',
  'OWASP LLM03:2025': 'Supply Chain',
  'NIST AI RMF MEASURE 2.7': 'AI system security and resilience are evaluated and documented',
  'NIST AI RMF MANAGE 3.1': 'AI risks and benefits from third-party resources are regularly monitored, and risk controls are applied and documented',
  'CWE-20': 'Improper Input Validation',
  'CWE-22': "Improper Limitation of a Pathname to a Restricted Directory ('Path Traversal')",
  'CWE-94': "Improper Control of Generation of Code ('Code Injection')",
  'CWE-125': 'Out-of-bounds Read',
  'CWE-190': 'Integer Overflow or Wraparound',
  'CWE-400': 'Uncontrolled Resource Consumption',
  'CWE-409': 'Improper Handling of Highly Compressed Data (Data Amplification)',
  'CWE-502': 'Deserialization of Untrusted Data',
  'CWE-674': 'Uncontrolled Recursion',
  'CWE-770': 'Allocation of Resources Without Limits or Throttling',
};

/** The framework a reference belongs to, and its identifier within it. */
export function classifyReference(reference: string): { framework: FrameworkId; id: string } {
  for (const framework of FRAMEWORKS) {
    if (framework.prefix && reference.startsWith(framework.prefix) && reference.length > framework.prefix.length) {
      return { framework: framework.id, id: reference.slice(framework.prefix.length) };
    }
    if (framework.pattern?.test(reference)) return { framework: framework.id, id: reference };
  }
  return { framework: 'other', id: reference };
}

/**
 * Every framework in a fixed order (ATLAS, OWASP, NIST, CWE, advisories), each
 * with the items the report's findings map to; "other" only when it has items.
 * A finding that cites an item twice counts once.
 */
export function summarizeForAuditors(report: Report): AuditorFramework[] {
  const entries = new Map<string, AuditorEntry & { framework: FrameworkId; fileSet: Set<string>; ruleSet: Set<string> }>();
  for (const file of report.files) {
    for (const finding of file.findings) {
      for (const reference of new Set(finding.references)) {
        let entry = entries.get(reference);
        if (!entry) {
          const { framework, id } = classifyReference(reference);
          entry = {
            framework,
            reference,
            id,
            findingCount: 0,
            worstSeverity: 'info',
            severityCounts: { critical: 0, high: 0, medium: 0, low: 0, info: 0 },
            files: [],
            rules: [],
            fileSet: new Set(),
            ruleSet: new Set(),
          };
          const title = Object.hasOwn(REFERENCE_TITLES, reference) ? REFERENCE_TITLES[reference] : undefined;
          if (title) entry.title = title;
          entries.set(reference, entry);
        }
        const severity: Severity = SEVERITIES.includes(finding.severity) ? finding.severity : 'info';
        entry.findingCount++;
        entry.severityCounts[severity]++;
        if (SEVERITIES.indexOf(severity) < SEVERITIES.indexOf(entry.worstSeverity)) entry.worstSeverity = severity;
        entry.fileSet.add(file.path);
        entry.ruleSet.add(finding.rule);
      }
    }
  }
  return FRAMEWORKS.map((framework) => ({
    id: framework.id,
    name: framework.name,
    about: framework.about,
    entries: [...entries.values()]
      .filter((entry) => entry.framework === framework.id)
      .sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }))
      .map(({ framework: _framework, fileSet, ruleSet, ...entry }) => ({ ...entry, files: [...fileSet], rules: [...ruleSet].sort() })),
  })).filter((framework) => framework.id !== 'other' || framework.entries.length > 0);
}
