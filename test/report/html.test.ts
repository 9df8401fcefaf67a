import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  HTML_FINDING_LIMIT,
  HTML_METADATA_ARRAY_ITEMS,
  HTML_TENSOR_ROW_LIMIT,
  REPORT_CSP,
  REPORT_CSS,
  REPORT_CSS_HASH,
  renderHtmlReport,
} from '../../src/report/html.ts';
import type { Finding, MetadataValue, Report, TensorInfo } from '../../src/report/types.ts';
import { createFinding } from '../../src/rules/index.ts';
import { HOSTILE, SHELL_COMMAND, sampleReport, syntheticReport } from './sample-reports.ts';

const ALLOWED_TAGS = new Set([
  'html', 'head', 'meta', 'title', 'style', 'body', 'header', 'main', 'footer', 'section', 'article',
  'h1', 'h2', 'h3', 'h4', 'p', 'a', 'span', 'strong', 'code', 'pre', 'div',
  'table', 'thead', 'tbody', 'tr', 'th', 'td', 'dl', 'dt', 'dd', 'ul', 'li',
]);
const ALLOWED_ATTRIBUTES = new Set(['lang', 'charset', 'http-equiv', 'name', 'content', 'class', 'id', 'href', 'scope', 'colspan']);

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** Every tag of the page with its attributes; all `<` of untrusted text are escaped, so these are the page's own. */
function tagsOf(page: string): Array<{ name: string; attributes: Array<[string, string]> }> {
  return [...page.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>/g)].map((match) => ({
    name: match[2].toLowerCase(),
    attributes: [...match[3].matchAll(/([^\s=]+)(?:="([^"]*)")?/g)].map((attribute) => [attribute[1].toLowerCase(), attribute[2] ?? ''] as [string, string]),
  }));
}

function sectionOf(page: string, id: string): string {
  const start = page.indexOf(`id="${id}"`);
  expect(start, id).toBeGreaterThan(0);
  const end = page.indexOf('<section', start + 1);
  return page.slice(start, end === -1 ? undefined : end);
}

describe('renderHtmlReport: a page that cannot run anything', () => {
  let report: Report;
  let page: string;
  beforeAll(async () => {
    report = await sampleReport();
    page = renderHtmlReport(report);
  });

  it('is one UTF-8 document whose CSP, before any content, allows nothing but its own style sheet', () => {
    expect(page.startsWith('<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n')).toBe(true);
    expect(REPORT_CSP).toBe(`default-src 'none'; style-src '${REPORT_CSS_HASH}'; base-uri 'none'; form-action 'none'`);
    expect(page.indexOf(`<meta http-equiv="Content-Security-Policy" content="${escape(REPORT_CSP)}">`)).toBeLessThan(page.indexOf('<style>'));
    expect(page.match(/<meta http-equiv="Content-Security-Policy"/g)).toHaveLength(1);
  });

  it('carries the style sheet whose hash the CSP names', () => {
    const styles = [...page.matchAll(/<style>([\s\S]*?)<\/style>/g)];
    expect(styles).toHaveLength(1);
    expect(styles[0][1]).toBe(REPORT_CSS);
    const actual = `sha256-${createHash('sha256').update(REPORT_CSS, 'utf8').digest('base64')}`;
    expect(REPORT_CSS_HASH, `REPORT_CSS changed: set REPORT_CSS_HASH to '${actual}'`).toBe(actual);
  });

  it('uses only inert tags and attributes: no script, no event handler, no external URL', () => {
    const tags = tagsOf(page);
    expect(tags.length).toBeGreaterThan(100);
    for (const tag of tags) {
      expect(ALLOWED_TAGS, tag.name).toContain(tag.name);
      for (const [name, value] of tag.attributes) {
        expect(ALLOWED_ATTRIBUTES, `${tag.name} ${name}`).toContain(name);
        if (name === 'href') expect(value).toMatch(/^#[a-z0-9-]*$/);
        if (name === 'class' || name === 'id') expect(value).toMatch(/^[a-z0-9 -]+$/);
      }
    }
    expect(page).not.toMatch(/<(script|link|img|iframe|svg|object|embed|base|form)\b/i);
    expect(REPORT_CSS).not.toMatch(/url\(|@import|expression\(/i);
  });

  it('shows hostile names, keys and values as text', () => {
    for (const hostile of [HOSTILE.tensorName, HOSTILE.metadataKey, HOSTILE.metadataValue, HOSTILE.styleBreaker, HOSTILE.path]) {
      expect(page).not.toContain(hostile);
      expect(page).toContain(escape(hostile));
    }
    expect(page).not.toMatch(/<\/?script/i);
    expect(page.match(/<\/style>/g)).toHaveLength(1);
    expect(page).toContain(escape(SHELL_COMMAND));
  });

  it('is a pure function of the report', () => {
    expect(renderHtmlReport(report)).toBe(page);
  });
});

describe('renderHtmlReport: everything in the report is there', () => {
  let report: Report;
  let page: string;
  beforeAll(async () => {
    report = await sampleReport();
    page = renderHtmlReport(report);
  });

  it('names the tool, its version and the scan date', () => {
    expect(page).toContain('preflight 0.1.0');
    expect(page).toContain('scanned 2025-03-04 05:06:07 UTC');
    expect(page).toContain('3 files: 2 dangerous, 1 clean');
  });

  it('has one section per file with its path, verdict, format, size and full SHA-256', () => {
    report.files.forEach((file, index) => {
      const section = sectionOf(page, `file-${index + 1}`);
      expect(section).toContain(escape(file.path));
      expect(section).toContain(`<span class="verdict v-${file.verdict}">${file.verdict}</span>`);
      expect(section).toContain(`<code>${file.format}</code>`);
      expect(section).toContain(`${file.size} bytes`);
      expect(file.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(section).toContain(`<code class="hash">${file.sha256}</code>`);
    });
  });

  it('shows every finding worst first, with its rule, location, detail, evidence, explanation and references', () => {
    report.files.forEach((file, index) => {
      const section = sectionOf(page, `file-${index + 1}`);
      for (const finding of file.findings) {
        expect(section).toContain(`<code class="rule">${finding.rule}</code>`);
        expect(section).toContain(escape(finding.detail));
        expect(section).toContain(escape(finding.explanation));
        if (finding.evidence) expect(section).toContain(`<pre class="evidence">${escape(finding.evidence)}</pre>`);
        if (finding.location.offset !== undefined) expect(section).toContain(`offset ${finding.location.offset.toLocaleString('en-US')} (0x${finding.location.offset.toString(16)})`);
        if (finding.location.entry) expect(section).toContain(`entry <code>${escape(finding.location.entry)}</code>`);
        for (const reference of finding.references) expect(section).toContain(`<li>${escape(reference)}</li>`);
      }
      const order = [...section.matchAll(/<article class="finding s-([a-z]+)"/g)].map((match) => match[1]);
      const rank = (severity: string) => ['critical', 'high', 'medium', 'low', 'info'].indexOf(severity);
      expect(order.map(rank)).toEqual([...order.map(rank)].sort((a, b) => a - b));
      expect(order).toHaveLength(file.findings.length);
    });
  });

  it('says what torch.load(weights_only=True) would do, and where it stops', () => {
    const section = sectionOf(page, 'file-2');
    expect(section).toContain('would refuse it at <code>os.system</code> (entry <code>archive/data.pkl</code>, offset 48 (0x30))');
  });

  it('summarises tensors per dtype and lists them', () => {
    const section = sectionOf(page, 'file-3');
    expect(section).toContain('3 tensors, 17 parameters, 40 bytes');
    expect(section).toContain('<tr><td><code>F16</code></td><td class="num">1</td><td class="num">6</td><td class="num">12 bytes</td></tr>');
    expect(section).toContain('<tr><td><code>BF16</code></td><td class="num">1</td><td class="num">8</td><td class="num">16 bytes</td></tr>');
    expect(section).toContain(`<td class="mono">${escape(HOSTILE.tensorName)}</td><td>F16</td><td class="mono">[2, 3]</td><td class="num">440</td><td class="num">12</td>`);
  });

  it('groups findings for auditors by ATLAS technique, OWASP item and NIST AI RMF function', () => {
    const summary = sectionOf(page, 'auditor-summary');
    const headings = [...summary.matchAll(/<h3>([^<]+)<\/h3>/g)].map((match) => match[1]);
    expect(headings).toEqual(['MITRE ATLAS', 'OWASP Top 10 for LLM Applications', 'NIST AI Risk Management Framework', 'CWE', 'Advisories']);
    for (const id of ['AML.T0010', 'AML.T0011.000', 'LLM03:2025', 'MEASURE 2.7', 'MANAGE 3.1', 'CWE-502', 'CWE-94']) {
      expect(summary).toContain(`<td class="mono nowrap">${id}</td>`);
    }
    expect(summary).toContain('ML Supply Chain Compromise');
    expect(summary).toContain('<a class="path" href="#file-1">evil.pkl</a>');
  });
});

describe('renderHtmlReport: limits', () => {
  it(`lists the first ${HTML_TENSOR_ROW_LIMIT} tensors and counts the rest`, () => {
    const tensors: TensorInfo[] = Array.from({ length: HTML_TENSOR_ROW_LIMIT + 345 }, (_, index) => ({
      name: `layers.${index}.weight`,
      dtype: index % 2 ? 'F16' : 'BF16',
      shape: [2, 2],
      offset: index * 8,
      length: 8,
    }));
    const page = renderHtmlReport(syntheticReport({ tensors }));
    const tensorTable = page.slice(page.indexOf('<table class="tensors">'), page.indexOf('</table>', page.indexOf('<table class="tensors">')));
    expect(tensorTable.match(/<tr>/g)).toHaveLength(HTML_TENSOR_ROW_LIMIT + 1);
    expect(page).toContain('layers.1999.weight');
    expect(page).not.toContain('layers.2000.weight');
    expect(page).toContain('345 more tensors not shown');
    expect(page).toContain('2,345 tensors, 9,380 parameters');
    expect(page).toContain('<tr><td><code>BF16</code></td><td class="num">1,173</td><td class="num">4,692</td>');
  });

  it('summarises long metadata arrays and deep nesting', () => {
    let deep: MetadataValue = 'innermost-value';
    for (let level = 0; level < 20; level++) deep = { [`level${level}`]: deep };
    const metadata: Record<string, MetadataValue> = {
      'tokenizer.ggml.tokens': { summary: 'array', itemType: 'string', length: 151936, head: ['<unk>', '<s>', '</s>'] },
      scores: Array.from({ length: 100 }, (_, index) => index / 4),
      deep,
      'tokenizer.chat_template': `{% for m in messages %}${'x'.repeat(10_000)}{% endfor %}`,
    };
    const page = renderHtmlReport(syntheticReport({ metadata }));
    expect(page).toContain('<code>string[151,936]</code>');
    expect(page).toContain(`<code>${escape(JSON.stringify('</s>'))}</code>`);
    expect(page).toContain('<code>array[100]</code>');
    expect(page).toContain(`<code>${(HTML_METADATA_ARRAY_ITEMS - 1) / 4}</code>`);
    expect(page).not.toContain(`<code>${HTML_METADATA_ARRAY_ITEMS / 4 + 1}</code>`);
    expect(page).toContain('nested deeper than 6 levels');
    expect(page).not.toContain('innermost-value');
    expect(page).toContain('10,035 characters; the first 4,000 are shown');
  });

  it(`shows the ${HTML_FINDING_LIMIT} worst findings of a file and counts the rest`, () => {
    const findings: Finding[] = Array.from({ length: HTML_FINDING_LIMIT + 100 }, (_, index) =>
      createFinding(index === HTML_FINDING_LIMIT + 99 ? 'pickle.import.process' : 'format.unsupported', { detail: `finding ${index}`, location: { offset: index } }),
    );
    const page = renderHtmlReport(syntheticReport({ findings, verdict: 'dangerous' }));
    expect(page.match(/<article class="finding/g)).toHaveLength(HTML_FINDING_LIMIT);
    expect(page).toContain(`finding ${HTML_FINDING_LIMIT + 99}`);
    expect(page).toContain('100 more findings not shown');
  });

  it('keeps a hostile report inert: unknown severities and verdicts never become class names or markup', () => {
    const hostile = '"><script>alert(1)</script>';
    const finding = { ...createFinding('format.unsupported', { detail: hostile }), severity: hostile, rule: hostile, references: [hostile] } as unknown as Finding;
    const report = syntheticReport({ verdict: hostile as never, format: hostile, findings: [finding], sha256: hostile, path: hostile });
    const page = renderHtmlReport({ ...report, tool: { name: hostile, version: hostile }, createdAt: hostile });
    expect(page).not.toMatch(/<script/i);
    expect(page).toContain('class="verdict v-unknown"');
    expect(page).toContain('class="finding s-unknown"');
    for (const tag of tagsOf(page)) expect(ALLOWED_TAGS).toContain(tag.name);
  });

  it('renders an empty report', () => {
    const page = renderHtmlReport({ ...syntheticReport({}), files: [] });
    expect(page).toContain('No file was scanned.');
    expect(page).toContain('0 files: nothing scanned');
  });
});
