import { fileTotals } from './report.ts';
import type { ModelSummary } from '../folder/types.ts';
import { SEVERITIES, type FileReport, type Finding, type Report } from './types.ts';

/** A terminal-friendly rendering of a Report: one block per file, worst findings first. */
export function formatReportText(report: Report): string {
  const blocks = report.files.map(formatFile);
  for (const model of report.models ?? []) {
    if (model.files.length > 1 || model.findings.length > 0) blocks.push(formatModel(model));
  }
  const counts = countVerdicts(report);
  blocks.push(`${report.files.length} file(s): ${counts}`);
  return blocks.join('\n\n') + '\n';
}

function formatFile(file: FileReport): string {
  const totals = fileTotals(file);
  const lines = [
    `${file.path}`,
    `  verdict  ${file.verdict.toUpperCase()}`,
    `  format   ${file.format}, ${file.size} bytes`,
    `  sha256   ${file.sha256 ?? '(not computed)'}`,
  ];
  if (totals.tensors > 0) {
    lines.push(`  tensors  ${totals.tensors}, ${totals.parameters} parameters`);
  }
  for (const finding of sortBySeverity(file.findings)) lines.push(...formatFinding(finding));
  return lines.join('\n');
}

function formatModel(model: ModelSummary): string {
  const lines = [
    `model ${printable(model.root || '(top folder)')}`,
    `  verdict  ${model.verdict.toUpperCase()} (worst of ${model.files.length} file(s) and the folder checks)`,
    `  formats  ${model.formats.join(', ')}`,
    `  params   ${model.parameters} in the weights a loader reads`,
  ];
  if (model.loaderReads.length > 0) lines.push(`  loads    ${model.loaderReads.map(printable).join(', ')}`);
  for (const finding of sortBySeverity(model.findings)) lines.push(...formatFinding(finding));
  return lines.join('\n');
}

function formatFinding(finding: Finding): string[] {
  const where = [
    finding.location.entry ? `entry ${printable(finding.location.entry)}` : null,
    finding.location.offset !== undefined ? `offset ${finding.location.offset}` : null,
  ].filter(Boolean);
  const lines = [`  [${finding.severity}] ${finding.rule}: ${finding.title}${where.length ? ` (${where.join(', ')})` : ''}`];
  lines.push(`      ${printable(finding.detail)}`);
  if (finding.evidence) lines.push(`      evidence: ${printable(finding.evidence)}`);
  return lines;
}

export function sortBySeverity(findings: readonly Finding[]): Finding[] {
  return [...findings].sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity));
}

function countVerdicts(report: Report): string {
  const counts = new Map<string, number>();
  for (const file of report.files) counts.set(file.verdict, (counts.get(file.verdict) ?? 0) + 1);
  return [...counts].map(([verdict, count]) => `${count} ${verdict}`).join(', ') || 'nothing scanned';
}

/** Untrusted text must not drive the terminal: escape control characters (ANSI escapes, CR tricks). */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (char) =>
    `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
