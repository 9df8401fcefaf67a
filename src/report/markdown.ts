/**
 * The Report as GitHub-flavoured Markdown for a pull request or issue: a
 * summary table, then each file's findings, worst first.
 *
 * Threat surface: Markdown turns text into HTML, links, images and mentions.
 * Untrusted strings therefore only enter through escape.ts: as code spans
 * (paths, rule ids, hashes), fenced blocks (evidence) or fully escaped text
 * (details), so a hostile name can neither render HTML, nor make a link or
 * image, nor break a table row.
 */
import type { ModelSummary } from '../folder/types.ts';
import { formatProvenanceText } from '../provenance/text.ts';
import { markdownCode, markdownFence, markdownText } from './escape.ts';
import { formatBytes, formatInteger, formatTimestamp } from './html.ts';
import { fileTotals } from './report.ts';
import { sortBySeverity } from './text.ts';
import { SEVERITIES, VERDICTS, type FileReport, type Finding, type Report, type Verdict } from './types.ts';

/** Findings shown per file: a PR comment is capped at 65,536 characters; the worst come first. */
export const MARKDOWN_FINDING_LIMIT = 30;
/** Characters shown of one finding's evidence. */
export const MARKDOWN_EVIDENCE_CHARS = 1500;

const VERDICT_LABELS: Record<Verdict, string> = {
  dangerous: '**DANGEROUS**',
  malformed: '**MALFORMED**',
  suspicious: '**SUSPICIOUS**',
  clean: 'clean',
};

/** The whole report as Markdown. A pure function of `report`. */
export function renderMarkdownReport(report: Report): string {
  const files = report.files;
  const blocks = [
    '## Preflight report',
    `${markdownText(`${report.tool.name} ${report.tool.version}`)} scanned ${formatInteger(files.length)} ${files.length === 1 ? 'file' : 'files'} on ${markdownText(formatTimestamp(report.createdAt))} without loading ${files.length === 1 ? 'it' : 'them'}: ${verdictSummary(files)}.`,
  ];
  if (files.length > 0) blocks.push(summaryTable(files));
  files.forEach((file, index) => blocks.push(...fileBlocks(file, index)));
  const models = (report.models ?? []).filter((model) => model.files.length > 1 || model.findings.length > 0);
  models.forEach((model, index) => blocks.push(...modelBlocks(model, files.length + index)));
  if (report.provenance) blocks.push('### Expected hashes', markdownFence(formatProvenanceText(report.provenance)));
  return blocks.join('\n\n') + '\n';
}

function summaryTable(files: readonly FileReport[]): string {
  const header = ['#', 'File', 'Format', 'Verdict', ...SEVERITIES.map(capitalize), 'SHA-256'];
  const align = ['---:', '---', '---', '---', ...SEVERITIES.map(() => '---:'), '---'];
  const rows = files.map((file, index) => [
    String(index + 1),
    markdownCode(String(file.path), { inTable: true }),
    markdownCode(String(file.format), { inTable: true }),
    verdictLabel(file.verdict),
    ...SEVERITIES.map((severity) => String(file.findings.filter((finding) => finding.severity === severity).length)),
    file.sha256 ? markdownCode(String(file.sha256), { inTable: true }) : 'not computed',
  ]);
  return [header, align, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

function fileBlocks(file: FileReport, index: number): string[] {
  const facts = [
    `- Format: ${markdownCode(String(file.format))}, ${markdownText(formatBytes(file.size))}`,
    `- SHA-256: ${file.sha256 ? markdownCode(String(file.sha256)) : 'not computed (the scan was cancelled or a read failed)'}`,
  ];
  const totals = fileTotals(file);
  if (totals.tensors > 0) facts.push(`- Tensors: ${formatInteger(totals.tensors)}, ${formatInteger(totals.parameters)} parameters, ${markdownText(formatBytes(totals.bytes))}`);
  if (file.weightsOnly) facts.push(`- ${markdownCode('torch.load(weights_only=True)')}: ${weightsOnlyLine(file)}`);
  const blocks = [`### ${index + 1}. ${markdownCode(String(file.path))}: ${verdictLabel(file.verdict)}`, facts.join('\n')];
  if (file.findings.length === 0) {
    blocks.push('No findings.');
    return blocks;
  }
  const sorted = sortBySeverity(file.findings);
  const shown = sorted.slice(0, MARKDOWN_FINDING_LIMIT);
  shown.forEach((finding, findingIndex) => blocks.push(...findingBlocks(finding, index, findingIndex)));
  if (sorted.length > shown.length) {
    blocks.push(`${formatInteger(sorted.length - shown.length)} more findings not shown (the least severe); the HTML and JSON reports have all of them.`);
  }
  return blocks;
}

/** A model folder read as a loader reads it: its verdict, what it opens, and the findings across its files. */
function modelBlocks(model: ModelSummary, index: number): string[] {
  const facts = [
    `- Files: ${formatInteger(model.files.length)}, ${markdownText(formatBytes(model.size))}; formats: ${model.formats.map((format) => markdownCode(String(format))).join(', ')}`,
    `- A loader reads: ${model.loaderReads.length > 0 ? model.loaderReads.map((path) => markdownCode(String(path))).join(', ') : 'no weights it recognises'}`,
  ];
  const blocks = [`### ${index + 1}. Model ${markdownCode(String(model.root || '(top folder)'))}: ${verdictLabel(model.verdict)}`, facts.join('\n')];
  const sorted = sortBySeverity(model.findings).slice(0, MARKDOWN_FINDING_LIMIT);
  sorted.forEach((finding, findingIndex) => blocks.push(...findingBlocks(finding, index, findingIndex)));
  return blocks;
}

function findingBlocks(finding: Finding, fileIndex: number, findingIndex: number): string[] {
  const blocks = [`#### ${fileIndex + 1}.${findingIndex + 1} ${capitalize(String(finding.severity))}: ${markdownText(finding.title)} (${markdownCode(finding.rule)})`];
  const where = locationLine(finding);
  if (where) blocks.push(where);
  blocks.push(markdownText(finding.detail));
  if (finding.evidence !== undefined) {
    const evidence = String(finding.evidence);
    const shown = evidence.length > MARKDOWN_EVIDENCE_CHARS ? `${evidence.slice(0, MARKDOWN_EVIDENCE_CHARS)}…` : evidence;
    blocks.push(`Evidence:\n\n${markdownFence(shown)}`);
  }
  blocks.push(`If loaded: ${markdownText(finding.explanation)}`);
  if (finding.references.length > 0) blocks.push(`References: ${finding.references.map((reference) => markdownText(reference)).join(' · ')}`);
  return blocks;
}

function locationLine(finding: Finding): string | null {
  const { entry, offset, length } = finding.location ?? {};
  const parts: string[] = [];
  if (entry !== undefined) parts.push(`entry ${markdownCode(String(entry))}`);
  if (typeof offset === 'number') parts.push(`offset ${formatInteger(offset)} (0x${offset.toString(16)})`);
  else if (offset !== undefined) parts.push(`offset ${markdownText(String(offset))}`);
  if (length !== undefined) parts.push(`${markdownText(formatInteger(length))} bytes`);
  return parts.length > 0 ? `Location: ${parts.join(', ')}` : null;
}

function weightsOnlyLine(file: FileReport): string {
  const verdict = file.weightsOnly!;
  if (verdict.accepted) return 'would load it (every global is on the allowlist)';
  const refused = verdict.firstRefused;
  if (!refused) return 'would refuse it';
  const place = [refused.entry !== undefined ? `entry ${markdownCode(String(refused.entry))}` : null, `offset ${markdownText(formatInteger(refused.offset))}`].filter(Boolean).join(', ');
  return `would refuse it at ${markdownCode(`${refused.module}.${refused.name}`)} (${place}): ${markdownText(refused.reason)}`;
}

function verdictLabel(verdict: unknown): string {
  return VERDICTS.includes(verdict as Verdict) ? VERDICT_LABELS[verdict as Verdict] : markdownText(String(verdict));
}

function verdictSummary(files: readonly FileReport[]): string {
  if (files.length === 0) return 'nothing scanned';
  return VERDICTS.map((verdict) => [verdict, files.filter((file) => file.verdict === verdict).length] as const)
    .filter(([, count]) => count > 0)
    .map(([verdict, count]) => `${count} ${verdict === 'clean' ? verdict : `**${verdict}**`}`)
    .join(', ');
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
