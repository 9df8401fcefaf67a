/**
 * The Report as one self-contained HTML file: inline CSS, no script, no
 * request of any kind, readable offline from `file://` and on paper.
 *
 * Threat surface: every string in the Report may be hostile (a tensor named
 * `<img src=x onerror=…>`, metadata holding `</style>`, a path with quotes),
 * and a report loaded from someone else's JSON may be hostile as a whole.
 * Markup is only built with the `html` template of escape.ts, which escapes
 * every interpolated value; class names come from fixed lists, never from the
 * report. A Content-Security-Policy in the page allows nothing but the one
 * style sheet (by hash), so even a bug here cannot run script or load anything.
 */
import { type AuditorEntry, type AuditorFramework, summarizeForAuditors } from './auditor-summary.ts';
import { SafeHtml, html } from './escape.ts';
import { fileTotals } from './report.ts';
import { sortBySeverity } from './text.ts';
import {
  type FileReport,
  type Finding,
  type MetadataArraySummary,
  type MetadataValue,
  type Report,
  SEVERITIES,
  type Severity,
  type TensorInfo,
  VERDICTS,
  type Verdict,
} from './types.ts';

/** Rows of the tensor table per file: a checkpoint can list 100,000 tensors; the JSON has them all. */
export const HTML_TENSOR_ROW_LIMIT = 2000;
/** Findings shown per file: a pickle can import thousands of globals; the worst come first. */
export const HTML_FINDING_LIMIT = 500;
/** Metadata keys shown per object. */
export const HTML_METADATA_KEY_LIMIT = 500;
/** Items shown of a metadata array (a tokenizer vocabulary has 150,000). */
export const HTML_METADATA_ARRAY_ITEMS = 16;
/** Characters shown of one metadata string (chat templates run to tens of kilobytes). */
export const HTML_METADATA_STRING_CHARS = 4000;
/** Nesting shown of metadata objects and arrays (CWE-674: a hostile report can nest deeply). */
export const HTML_METADATA_DEPTH = 6;
/** Characters shown of one finding's evidence. */
export const HTML_EVIDENCE_CHARS = 8000;

/**
 * The page's only style sheet. Its SHA-256 is in the CSP: change one byte and
 * update {@link REPORT_CSS_HASH} (the test prints the new value).
 */
export const REPORT_CSS = `
:root{color-scheme:light dark;--fg:#1d2329;--muted:#5b6570;--line:#d9dee3;--soft:#f4f6f8;--link:#1f5f99;
--critical:#8e1b1b;--high:#b3401a;--medium:#8a5d00;--low:#2f5f8a;--info:#5b6570;
--dangerous-bg:#fbe8e6;--malformed-bg:#fdf0dc;--suspicious-bg:#fbf5d8;--clean-bg:#e5f3ea;--clean:#1d6a3a}
@media (prefers-color-scheme:dark){:root{--fg:#e3e7eb;--muted:#9aa5b1;--line:#38414a;--soft:#1d2328;--link:#8cbcf0;
--critical:#f19a9a;--high:#f0a582;--medium:#e3c06b;--low:#93bde6;--info:#a3adb8;
--dangerous-bg:#4a1d1d;--malformed-bg:#4a3517;--suspicious-bg:#433b14;--clean-bg:#173a25;--clean:#8fd6a8}
body{background:#14181c}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:80rem;padding:1.5rem 2rem 3rem;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg)}
h1{font-size:1.5rem;margin:0 0 .25rem}
h2{font-size:1.2rem;margin:2.2rem 0 .6rem;padding-top:.8rem;border-top:2px solid var(--line);display:flex;flex-wrap:wrap;gap:.5rem;align-items:baseline}
h3{font-size:1rem;margin:1.4rem 0 .5rem}
h4{font-size:.95rem;margin:0 0 .3rem;font-weight:600}
p{margin:.3rem 0}
a{color:var(--link)}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
pre{margin:.4rem 0;padding:.5rem .7rem;background:var(--soft);border:1px solid var(--line);border-radius:4px;white-space:pre-wrap;overflow-wrap:anywhere}
.meta,.about,.more,.none{color:var(--muted)}
.path{overflow-wrap:anywhere;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.hash{overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;margin:.4rem 0}
th,td{border-bottom:1px solid var(--line);padding:.25rem .5rem;text-align:left;vertical-align:top;overflow-wrap:break-word}
td.mono,td .path{overflow-wrap:anywhere}
.nowrap,.verdict,.sev{white-space:nowrap}
thead th{font-weight:600;border-bottom:2px solid var(--line);white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.nested{margin:0;width:auto}
table.dtypes{width:auto;min-width:50%}
table.nested th,table.nested td{border:0;padding:0 .5rem 0 0}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.4rem 0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;overflow-wrap:anywhere}
.verdict{display:inline-block;padding:.05rem .5rem;border-radius:3px;font-size:.8rem;font-weight:700;letter-spacing:.04em;text-transform:uppercase}
.v-dangerous{background:var(--dangerous-bg);color:var(--critical)}
.v-malformed{background:var(--malformed-bg);color:var(--high)}
.v-suspicious{background:var(--suspicious-bg);color:var(--medium)}
.v-clean{background:var(--clean-bg);color:var(--clean)}
.sev{font-weight:700;text-transform:uppercase;font-size:.75rem;letter-spacing:.04em}
.s-critical .sev,.sev.s-critical{color:var(--critical)}
.s-high .sev,.sev.s-high{color:var(--high)}
.s-medium .sev,.sev.s-medium{color:var(--medium)}
.s-low .sev,.sev.s-low{color:var(--low)}
.s-info .sev,.sev.s-info{color:var(--info)}
.finding{border-left:4px solid var(--line);padding:.4rem .8rem;margin:.6rem 0;background:var(--soft);break-inside:avoid}
.finding.s-critical{border-left-color:var(--critical)}
.finding.s-high{border-left-color:var(--high)}
.finding.s-medium{border-left-color:var(--medium)}
.finding.s-low{border-left-color:var(--low)}
.finding pre{background:transparent}
.rule{color:var(--muted);font-weight:400}
.where,.why{font-size:.92em}
.refs{list-style:none;padding:0;margin:.3rem 0 0;display:flex;flex-wrap:wrap;gap:.3rem}
.refs li{border:1px solid var(--line);border-radius:3px;padding:0 .35rem;font-size:.8rem;color:var(--muted)}
.counts span+span::before{content:" · "}
footer{margin-top:3rem;color:var(--muted);font-size:.85em;border-top:1px solid var(--line);padding-top:.6rem}
@media print{body{max-width:none;padding:0;font-size:10pt;color:#000;background:#fff}
a{color:inherit;text-decoration:none}
.finding,tr{break-inside:avoid}
h2,h3{break-after:avoid}}
`;

/** `sha256-` + base64 SHA-256 of {@link REPORT_CSS}, as CSP `style-src` expects. */
export const REPORT_CSS_HASH = 'sha256-ce02hy5dJfHZCAjkgVJ4/f1o7vR5RvE4yAaHkrRNoYg=';

/** Nothing may load or run; only the style sheet above, matched by its hash. */
export const REPORT_CSP = `default-src 'none'; style-src '${REPORT_CSS_HASH}'; base-uri 'none'; form-action 'none'`;

/** The whole report as one HTML document (UTF-8). A pure function of `report`. */
export function renderHtmlReport(report: Report): string {
  const files = Array.isArray(report.files) ? report.files : [];
  const anchors = new Map<string, string>();
  files.forEach((file, index) => {
    if (!anchors.has(String(file.path))) anchors.set(String(file.path), fileAnchor(index));
  });
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="${report.tool?.name} ${report.tool?.version}">
<title>Preflight report: ${plural(files.length, 'file')}, ${verdictLine(files)}</title>
<style>${new SafeHtml(REPORT_CSS)}</style>
</head>
<body>
<header>
<h1>Preflight report</h1>
<p class="meta">${report.tool?.name} ${report.tool?.version} · scanned ${formatTimestamp(report.createdAt)} · ${plural(files.length, 'file')}: ${verdictLine(files)}</p>
<p class="meta">Preflight reads model files without loading them: nothing in them was run to make this report.</p>
</header>
<main>
${renderFileTable(files)}
${renderAuditorSummary(report, files, anchors)}
${files.map((file, index) => renderFile(file, index))}
</main>
<footer>
<p>Made by ${report.tool?.name} ${report.tool?.version} on ${formatTimestamp(report.createdAt)} from a report of schema version ${report.schemaVersion}. This page runs no script and loads nothing; untrusted names and values are shown as text.</p>
</footer>
</body>
</html>
`;
  return page.markup;
}

function renderFileTable(files: readonly FileReport[]): SafeHtml {
  if (files.length === 0) return html`<section><h2>Files</h2><p class="none">No file was scanned.</p></section>`;
  return html`<section>
<h2>Files</h2>
<table class="files">
<thead><tr><th class="num">#</th><th>File</th><th>Format</th><th class="num">Size</th><th>Verdict</th><th>Findings</th><th>SHA-256</th></tr></thead>
<tbody>
${files.map(
  (file, index) => html`<tr><td class="num">${index + 1}</td><td><a class="path" href="#${fileAnchor(index)}">${file.path}</a></td><td class="nowrap">${file.format}</td><td class="num">${formatBytes(file.size)}</td><td>${verdictBadge(file.verdict)}</td><td>${severityCounts(file.findings)}</td><td class="mono nowrap">${file.sha256 ? `${String(file.sha256).slice(0, 16)}…` : 'not computed'}</td></tr>
`,
)}</tbody>
</table>
</section>`;
}

function renderAuditorSummary(report: Report, files: readonly FileReport[], anchors: Map<string, string>): SafeHtml {
  const frameworks = summarizeForAuditors({ ...report, files: [...files] });
  return html`<section id="auditor-summary">
<h2>Auditor summary</h2>
<p>Preflight inspected ${plural(files.length, 'file')} before any of them was loaded. The scan itself is evidence for NIST AI RMF MEASURE 2.7 (security and resilience are evaluated and documented) and MANAGE 3.1 (risks from third-party AI resources are monitored) whatever its outcome; the tables below map each finding to the framework items it cites.</p>
${frameworks.map((framework) => renderFramework(framework, anchors))}
</section>`;
}

function renderFramework(framework: AuditorFramework, anchors: Map<string, string>): SafeHtml {
  const body =
    framework.entries.length === 0
      ? html`<p class="none">No finding maps to this framework.</p>`
      : html`<table class="framework">
<thead><tr><th>Item</th><th>Name</th><th class="num">Findings</th><th>Worst</th><th>Files</th><th>Rules</th></tr></thead>
<tbody>
${framework.entries.map((entry) => renderAuditorEntry(entry, anchors))}</tbody>
</table>`;
  return html`<h3>${framework.name}</h3>
<p class="about">${framework.about}</p>
${body}
`;
}

function renderAuditorEntry(entry: AuditorEntry, anchors: Map<string, string>): SafeHtml {
  const files = entry.files.map((path) => html`<div><a class="path" href="#${anchors.get(path) ?? ''}">${path}</a></div>`);
  const rules = entry.rules.map((rule) => html`<div><code>${rule}</code></div>`);
  return html`<tr><td class="mono nowrap">${entry.id}</td><td>${entry.title ?? ''}</td><td class="num">${entry.findingCount}</td><td>${severityLabel(entry.worstSeverity)}</td><td>${files}</td><td>${rules}</td></tr>
`;
}

function renderFile(file: FileReport, index: number): SafeHtml {
  const findings = Array.isArray(file.findings) ? file.findings : [];
  const tensors = Array.isArray(file.tensors) ? file.tensors : [];
  const totals = fileTotals({ tensors });
  return html`
<section class="file" id="${fileAnchor(index)}">
<h2><span>${index + 1}.</span> <span class="path">${file.path}</span> ${verdictBadge(file.verdict)}</h2>
<dl class="facts">
<dt>Format</dt><dd><code>${file.format}</code></dd>
<dt>Size</dt><dd>${formatBytes(file.size)}</dd>
<dt>SHA-256</dt><dd>${file.sha256 ? html`<code class="hash">${file.sha256}</code>` : html`<span class="none">not computed: the scan was cancelled or a read failed</span>`}</dd>
${file.weightsOnly ? html`<dt>torch.load(weights_only=True)</dt><dd>${renderWeightsOnly(file)}</dd>` : null}
<dt>Tensors</dt><dd>${totals.tensors === 0 ? 'none listed' : `${formatInteger(totals.tensors)} tensors, ${formatInteger(totals.parameters)} parameters, ${formatBytes(totals.bytes)}`}</dd>
<dt>Findings</dt><dd>${severityCounts(findings)}</dd>
</dl>
<h3>Findings</h3>
${renderFindings(findings, index)}
<h3>Tensors</h3>
${renderTensors(tensors)}
<h3>Metadata</h3>
${renderMetadata(file.metadata)}
</section>`;
}

function renderWeightsOnly(file: FileReport): SafeHtml {
  const verdict = file.weightsOnly!;
  if (verdict.accepted) return html`would load it: every global is on PyTorch's allowlist.`;
  const refused = verdict.firstRefused;
  if (!refused) return html`would refuse it.`;
  return html`would refuse it at <code>${refused.module}.${refused.name}</code> (${refused.entry !== undefined ? html`entry <code>${refused.entry}</code>, ` : null}offset ${formatOffset(refused.offset)}): ${refused.reason}`;
}

function renderFindings(findings: readonly Finding[], fileIndex: number): SafeHtml {
  if (findings.length === 0) return html`<p class="none">No findings.</p>`;
  const sorted = sortBySeverity(findings);
  const shown = sorted.slice(0, HTML_FINDING_LIMIT);
  const hidden = sorted.length - shown.length;
  return html`${shown.map((finding, index) => renderFinding(finding, fileIndex, index))}${
    hidden > 0 ? html`<p class="more">${formatInteger(hidden)} more findings not shown (the least severe); the JSON report has all of them.</p>` : null
  }`;
}

function renderFinding(finding: Finding, fileIndex: number, index: number): SafeHtml {
  const severity = knownSeverity(finding.severity);
  const location = finding.location ?? {};
  const where = [
    location.entry !== undefined ? html`entry <code>${location.entry}</code>` : null,
    location.offset !== undefined ? html`offset ${formatOffset(location.offset)}` : null,
    location.length !== undefined ? html`${formatInteger(location.length)} bytes` : null,
  ].filter((part): part is SafeHtml => part !== null);
  const references = Array.isArray(finding.references) ? finding.references : [];
  return html`<article class="finding s-${severity ?? 'unknown'}" id="${fileAnchor(fileIndex)}-finding-${index + 1}">
<h4><span class="sev">${finding.severity}</span> ${finding.title} <code class="rule">${finding.rule}</code></h4>
${where.length > 0 ? html`<p class="where">At ${joinHtml(where, ' · ')}</p>` : null}
<p class="detail">${finding.detail}</p>
${finding.evidence !== undefined ? html`<pre class="evidence">${truncate(String(finding.evidence), HTML_EVIDENCE_CHARS)}</pre>` : null}
<p class="why"><strong>If loaded:</strong> ${finding.explanation}</p>
${references.length > 0 ? html`<ul class="refs">${references.map((reference) => html`<li>${reference}</li>`)}</ul>` : null}
</article>
`;
}

function renderTensors(tensors: TensorInfo[]): SafeHtml {
  if (tensors.length === 0) return html`<p class="none">This format lists no tensors, or none were found.</p>`;
  const totals = fileTotals({ tensors });
  const countByDtype = new Map<string, number>();
  for (const tensor of tensors) countByDtype.set(tensor.dtype, (countByDtype.get(tensor.dtype) ?? 0) + 1);
  const dtypes = [...countByDtype.keys()].sort((a, b) => (totals.bytesByDtype[b] ?? 0) - (totals.bytesByDtype[a] ?? 0) || a.localeCompare(b));
  const shown = tensors.slice(0, HTML_TENSOR_ROW_LIMIT);
  const hidden = tensors.length - shown.length;
  return html`<table class="dtypes">
<thead><tr><th>Dtype</th><th class="num">Tensors</th><th class="num">Parameters</th><th class="num">Bytes</th></tr></thead>
<tbody>
${dtypes.map(
  (dtype) => html`<tr><td><code>${dtype}</code></td><td class="num">${formatInteger(countByDtype.get(dtype) ?? 0)}</td><td class="num">${formatInteger(totals.parametersByDtype[dtype] ?? 0)}</td><td class="num">${formatBytes(totals.bytesByDtype[dtype] ?? 0)}</td></tr>
`,
)}<tr><th>Total</th><th class="num">${formatInteger(totals.tensors)}</th><th class="num">${formatInteger(totals.parameters)}</th><th class="num">${formatBytes(totals.bytes)}</th></tr>
</tbody>
</table>
<table class="tensors">
<thead><tr><th class="num">#</th><th>Name</th><th>Dtype</th><th>Shape</th><th class="num">Offset</th><th class="num">Bytes</th></tr></thead>
<tbody>
${shown.map(
  (tensor, index) => html`<tr><td class="num">${index + 1}</td><td class="mono">${tensor.name}</td><td>${tensor.dtype}</td><td class="mono">${formatShape(tensor.shape)}</td><td class="num">${formatInteger(tensor.offset)}</td><td class="num">${formatInteger(tensor.length)}</td></tr>
`,
)}</tbody>
</table>
${hidden > 0 ? html`<p class="more">${formatInteger(hidden)} more tensors not shown: the table stops at ${formatInteger(HTML_TENSOR_ROW_LIMIT)} rows; the JSON report lists all ${formatInteger(tensors.length)}.</p>` : null}`;
}

function renderMetadata(metadata: FileReport['metadata']): SafeHtml {
  if (!isPlainObject(metadata) || Object.keys(metadata).length === 0) return html`<p class="none">No metadata.</p>`;
  return html`<table class="metadata"><tbody>${renderObjectRows(metadata, 0)}</tbody></table>`;
}

function renderObjectRows(object: Record<string, unknown>, depth: number): SafeHtml {
  const keys = Object.keys(object);
  const shown = keys.slice(0, HTML_METADATA_KEY_LIMIT);
  const hidden = keys.length - shown.length;
  return html`${shown.map((key) => html`<tr><th scope="row"><code>${key}</code></th><td>${renderValue(object[key] as MetadataValue, depth)}</td></tr>
`)}${hidden > 0 ? html`<tr><td colspan="2" class="more">${formatInteger(hidden)} more keys not shown.</td></tr>` : null}`;
}

function renderValue(value: MetadataValue | undefined, depth: number): SafeHtml {
  if (typeof value === 'string') {
    if (value.length <= 160 && !/[\r\n]/.test(value)) return html`<span class="value">${value}</span>`;
    const note = value.length > HTML_METADATA_STRING_CHARS ? html`<p class="more">${formatInteger(value.length)} characters; the first ${formatInteger(HTML_METADATA_STRING_CHARS)} are shown.</p>` : null;
    return html`<pre class="value">${truncate(value, HTML_METADATA_STRING_CHARS)}</pre>${note}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return html`<code>${String(value)}</code>`;
  if (depth >= HTML_METADATA_DEPTH) return html`<span class="more">… (nested deeper than ${HTML_METADATA_DEPTH} levels)</span>`;
  if (isArraySummary(value)) {
    return html`<code>${value.itemType}[${formatInteger(value.length)}]</code> <span class="more">first ${value.head.length}:</span> ${renderInlineItems(value.head, value.length, depth)}`;
  }
  if (Array.isArray(value)) {
    const label = value.length > HTML_METADATA_ARRAY_ITEMS ? html`<code>array[${formatInteger(value.length)}]</code> <span class="more">first ${HTML_METADATA_ARRAY_ITEMS}:</span> ` : null;
    return html`${label}${renderInlineItems(value.slice(0, HTML_METADATA_ARRAY_ITEMS), value.length, depth)}`;
  }
  if (isPlainObject(value)) return html`<table class="nested"><tbody>${renderObjectRows(value, depth + 1)}</tbody></table>`;
  return html`<code>${String(value)}</code>`;
}

function renderInlineItems(items: readonly MetadataValue[], total: number, depth: number): SafeHtml {
  const shown = items.slice(0, HTML_METADATA_ARRAY_ITEMS);
  const parts = shown.map((item) => (typeof item === 'string' ? html`<code>${JSON.stringify(truncate(item, 200))}</code>` : renderValue(item, depth + 1)));
  return html`[${joinHtml(parts, ', ')}${total > shown.length ? html`, <span class="more">…</span>` : null}]`;
}

function verdictBadge(verdict: unknown): SafeHtml {
  const known = VERDICTS.includes(verdict as Verdict) ? (verdict as Verdict) : null;
  return html`<span class="verdict v-${known ?? 'unknown'}">${String(verdict)}</span>`;
}

function severityLabel(severity: Severity): SafeHtml {
  return html`<span class="sev s-${severity}">${severity}</span>`;
}

function severityCounts(findings: readonly Finding[] | undefined): SafeHtml {
  const list = Array.isArray(findings) ? findings : [];
  if (list.length === 0) return html`<span class="none">none</span>`;
  const counts = SEVERITIES.map((severity) => [severity, list.filter((finding) => finding.severity === severity).length] as const).filter(([, count]) => count > 0);
  return html`<span class="counts">${counts.map(([severity, count]) => html`<span>${count} <span class="sev s-${severity}">${severity}</span></span>`)}</span>`;
}

function verdictLine(files: readonly FileReport[]): string {
  if (files.length === 0) return 'nothing scanned';
  const counts = new Map<string, number>();
  for (const file of files) counts.set(String(file.verdict), (counts.get(String(file.verdict)) ?? 0) + 1);
  const order = (verdict: string) => (VERDICTS.includes(verdict as Verdict) ? VERDICTS.indexOf(verdict as Verdict) : VERDICTS.length);
  return [...counts]
    .sort(([a], [b]) => order(a) - order(b))
    .map(([verdict, count]) => `${count} ${verdict}`)
    .join(', ');
}

function knownSeverity(severity: unknown): Severity | null {
  return SEVERITIES.includes(severity as Severity) ? (severity as Severity) : null;
}

function fileAnchor(index: number): string {
  return `file-${index + 1}`;
}

function joinHtml(parts: readonly SafeHtml[], separator: string): SafeHtml {
  return new SafeHtml(parts.map((part) => part.markup).join(html`${separator}`.markup));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isArraySummary(value: unknown): value is MetadataArraySummary {
  return isPlainObject(value) && value.summary === 'array' && typeof value.length === 'number' && Array.isArray(value.head);
}

function truncate(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}…`;
}

function plural(count: number, noun: string): string {
  return `${formatInteger(count)} ${noun}${count === 1 ? '' : 's'}`;
}

/** 1234567 → "1,234,567"; anything that is not a safe integer is shown as it is. */
export function formatInteger(value: unknown): string {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) return String(value);
  const sign = value < 0 ? '-' : '';
  return sign + String(Math.abs(value)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** "512 bytes", or "1.5 MiB (1,572,864 bytes)". */
export function formatBytes(value: unknown): string {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) return String(value);
  if (value < 1024) return `${value} ${value === 1 ? 'byte' : 'bytes'}`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let scaled = value / 1024;
  let unit = 0;
  while (scaled >= 1024 && unit < units.length - 1) {
    scaled /= 1024;
    unit++;
  }
  return `${scaled.toFixed(1)} ${units[unit]} (${formatInteger(value)} bytes)`;
}

function formatOffset(value: unknown): string {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) return String(value);
  return `${formatInteger(value)} (0x${value.toString(16)})`;
}

function formatShape(shape: unknown): string {
  return Array.isArray(shape) ? `[${shape.map(formatInteger).join(', ')}]` : String(shape);
}

/** An ISO 8601 UTC time as "2025-01-02 03:04:05 UTC"; anything else as it is. */
export function formatTimestamp(value: unknown): string {
  const match = typeof value === 'string' ? /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$/.exec(value) : null;
  return match ? `${match[1]} ${match[2]} UTC` : String(value);
}
