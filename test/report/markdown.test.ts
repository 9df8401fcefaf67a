import { beforeAll, describe, expect, it } from 'vitest';
import { MARKDOWN_FINDING_LIMIT, renderMarkdownReport } from '../../src/report/markdown.ts';
import type { Finding, Report } from '../../src/report/types.ts';
import { compareProvenance, parseExpectations } from '../../src/provenance/index.ts';
import { createFinding } from '../../src/rules/index.ts';
import { HOSTILE, SHELL_COMMAND, sampleReport, syntheticReport } from './sample-reports.ts';

/**
 * The Markdown with fenced blocks and code spans taken out (CommonMark rules:
 * a fence closes on a line of at least as many backticks; a span on the next
 * run of exactly as many), so what is left is what a renderer interprets.
 */
function outsideCode(markdown: string): string {
  const lines = markdown.split('\n');
  const kept: string[] = [];
  let fence: string | null = null;
  for (const line of lines) {
    if (fence) {
      if (line.startsWith(fence) && /^`+$/.test(line.trim())) fence = null;
      continue;
    }
    const opening = /^(`{3,})/.exec(line);
    if (opening) {
      fence = opening[1];
      continue;
    }
    kept.push(withoutCodeSpans(line));
  }
  expect(fence, 'an unclosed code fence').toBeNull();
  return kept.join('\n');
}

function withoutCodeSpans(line: string): string {
  let out = '';
  let index = 0;
  while (index < line.length) {
    if (line[index] === '\\') {
      out += line.slice(index, index + 2);
      index += 2;
      continue;
    }
    if (line[index] !== '`') {
      out += line[index++];
      continue;
    }
    const run = /^`+/.exec(line.slice(index))![0];
    let close = index + run.length;
    for (;;) {
      const next = line.indexOf('`', close);
      expect(next, `an unclosed code span in: ${line}`).toBeGreaterThanOrEqual(0);
      const closing = /^`+/.exec(line.slice(next))![0];
      if (closing.length === run.length) {
        index = next + closing.length;
        break;
      }
      close = next + closing.length;
    }
    out += '\u0000';
  }
  return out;
}

/** Cells of a GitHub table row: split on pipes that no backslash escapes. */
function cellsOf(row: string): string[] {
  const cells: string[] = [];
  let current = '';
  for (let index = 1; index < row.length - 1; index++) {
    if (row[index] === '\\' && row[index + 1] === '|') {
      current += '\\|';
      index++;
    } else if (row[index] === '|') {
      cells.push(current.trim());
      current = '';
    } else current += row[index];
  }
  cells.push(current.trim());
  return cells;
}

function unescapedAnywhere(text: string, char: string): boolean {
  return [...text.matchAll(new RegExp(`(\\\\*)\\${char}`, 'g'))].some((match) => match[1].length % 2 === 0);
}

describe('renderMarkdownReport', () => {
  let report: Report;
  let markdown: string;
  beforeAll(async () => {
    report = await sampleReport();
    markdown = renderMarkdownReport(report);
  });

  it('opens with a heading, the tool and a verdict count', () => {
    const [heading, summary] = markdown.split('\n\n');
    expect(heading).toBe('## Preflight report');
    expect(summary).toBe('preflight 0.1.0 scanned 3 files on 2025-03-04 05\\:06\\:07 UTC without loading them: 2 **dangerous**, 1 clean.');
  });

  it('has a summary table: file, format, verdict, findings by severity, SHA-256, one row per file', () => {
    const table = markdown.split('\n').filter((line) => line.startsWith('|'));
    expect(table).toHaveLength(2 + report.files.length);
    expect(cellsOf(table[0])).toEqual(['#', 'File', 'Format', 'Verdict', 'Critical', 'High', 'Medium', 'Low', 'Info', 'SHA-256']);
    for (const row of table) expect(cellsOf(row)).toHaveLength(10);
    expect(cellsOf(table[2])).toEqual(['1', '`evil.pkl`', '`pickle`', '**DANGEROUS**', '2', '0', '0', '0', '1', `\`${report.files[0].sha256}\``]);
    expect(cellsOf(table[3]).slice(3, 9)).toEqual(['**DANGEROUS**', '2', '0', '0', '2', '1']);
    expect(cellsOf(table[4])[1]).toBe('``models/<svg onload=alert(3)> "q" & `tick` \\| pipe [l](http://x).safetensors``');
    expect(cellsOf(table[4])[3]).toBe('clean');
  });

  it('renders no untrusted text as HTML, link, image or autolink outside code', () => {
    const interpreted = outsideCode(markdown);
    for (const char of ['<', '>', '[', ']', '&']) expect(unescapedAnywhere(interpreted, char), char).toBe(false);
    expect(interpreted).not.toMatch(/https?:\/\//);
    expect(interpreted).not.toContain('<svg');
    expect(interpreted).not.toContain('javascript:');
  });

  it('keeps hostile paths and evidence whole inside code', () => {
    expect(markdown).toContain(`### 3. \`\`${HOSTILE.path}\`\`: clean`);
    expect(markdown).toContain(`\`\`\`text\nos.system("${SHELL_COMMAND}")\n\`\`\``);
  });

  it('gives each file its facts and its findings, worst first, with location, detail, evidence and references', () => {
    report.files.forEach((file, index) => {
      const start = markdown.indexOf(`### ${index + 1}. `);
      const end = index + 1 < report.files.length ? markdown.indexOf(`### ${index + 2}. `) : markdown.length;
      const section = markdown.slice(start, end);
      expect(section).toContain(`- SHA-256: \`${file.sha256}\``);
      const headings = [...section.matchAll(/^#### \d+\.\d+ (\w+): .* \(`([^`]+)`\)$/gm)];
      expect(headings.map((match) => match[2])).toEqual(
        [...file.findings].sort((a, b) => ['critical', 'high', 'medium', 'low', 'info'].indexOf(a.severity) - ['critical', 'high', 'medium', 'low', 'info'].indexOf(b.severity)).map((finding) => finding.rule),
      );
      for (const finding of file.findings) {
        if (finding.location.offset !== undefined) expect(section).toContain(`offset ${finding.location.offset} (0x${finding.location.offset.toString(16)})`);
      }
      if (file.findings.length === 0) expect(section).toContain('No findings.');
    });
    expect(markdown).toContain('Location: entry `archive/data.pkl`, offset 135 (0x87)');
    expect(markdown).toContain('References: CWE-502 · CWE-94 · MITRE ATLAS AML.T0011.000 · MITRE ATLAS AML.T0010 · OWASP LLM03\\:2025 · NIST AI RMF MEASURE 2.7 · NIST AI RMF MANAGE 3.1');
    expect(markdown).toContain('- `torch.load(weights_only=True)`: would refuse it at `os.system` (entry `archive/data.pkl`, offset 48)');
  });

  it('fences evidence with more backticks than it holds', () => {
    const finding: Finding = { ...createFinding('pickle.call.dangerous', { detail: 'd', location: { offset: 1 } }), evidence: 'x\n````\n```` y `' };
    const output = renderMarkdownReport(syntheticReport({ findings: [finding], verdict: 'dangerous' }));
    expect(output).toContain('`````text\nx\n````\n```` y `\n`````');
    outsideCode(output);
  });

  it(`shows the ${MARKDOWN_FINDING_LIMIT} worst findings of a file and counts the rest`, () => {
    const findings = Array.from({ length: MARKDOWN_FINDING_LIMIT + 10 }, (_, index) =>
      createFinding(index === MARKDOWN_FINDING_LIMIT + 9 ? 'pickle.import.process' : 'format.unsupported', { detail: `finding ${index}` }),
    );
    const output = renderMarkdownReport(syntheticReport({ findings, verdict: 'dangerous' }));
    expect(output.match(/^#### /gm)).toHaveLength(MARKDOWN_FINDING_LIMIT);
    expect(output).toContain(`#### 1.1 Critical: Pickle imports a process or shell primitive`);
    expect(output).toContain('10 more findings not shown');
  });

  it('neutralises a hostile report as a whole', () => {
    const hostile = '<img src=x onerror=alert(1)> [x](javascript:alert(1)) @everyone | `';
    const finding = { ...createFinding('format.unsupported', { detail: hostile }), title: hostile, severity: 'high', references: [hostile] } as Finding;
    const output = renderMarkdownReport({
      ...syntheticReport({ findings: [finding], verdict: hostile as never, format: hostile, path: hostile }),
      tool: { name: hostile, version: '1' },
    });
    const interpreted = outsideCode(output);
    for (const char of ['<', '>', '[', ']']) expect(unescapedAnywhere(interpreted, char), char).toBe(false);
    expect(interpreted).not.toMatch(/(^|[^`])@everyone/);
    for (const row of output.split('\n').filter((line) => line.startsWith('|'))) expect(cellsOf(row)).toHaveLength(10);
  });

  it('is a pure function of the report', () => {
    expect(renderMarkdownReport(report)).toBe(markdown);
  });
});

describe('renderMarkdownReport: models and expected hashes', () => {
  it('adds each model folder with its verdict, what a loader reads and its cross-file findings, escaped', () => {
    const report = syntheticReport({ path: 'm/model.safetensors' });
    report.models = [
      {
        root: 'm<img src=x>',
        files: ['m/config.json', 'm/model.safetensors', 'm/pytorch_model.bin'],
        verdict: 'suspicious',
        formats: ['hf-config', 'safetensors', 'pytorch-zip'],
        parameters: 8,
        size: 3000,
        loaderReads: ['m/config.json', 'm/model.safetensors'],
        findings: [createFinding('format.not-inspected', { detail: 'a pickle sits next to the safetensors weights' })],
      },
      { root: 'lone.gguf', files: ['lone.gguf'], verdict: 'clean', formats: ['gguf'], parameters: 1, size: 10, loaderReads: [], findings: [] },
    ];
    const markdown = renderMarkdownReport(report);
    expect(markdown).toContain('### 2. Model `m<img src=x>`: **SUSPICIOUS**');
    expect(markdown).toContain('A loader reads: `m/config.json`, `m/model.safetensors`');
    expect(markdown).toContain('(`format.not-inspected`)');
    expect(markdown).not.toContain('lone.gguf');
  });

  it('adds the expected-hash comparison when there is one', () => {
    const report = syntheticReport({});
    report.provenance = compareProvenance(report.files, [parseExpectations('SHA256SUMS', `${'a'.repeat(64)}  synthetic.safetensors\n`)]);
    const markdown = renderMarkdownReport(report);
    expect(markdown).toContain('### Expected hashes');
    expect(markdown.slice(markdown.indexOf('### Expected hashes'))).toContain('synthetic.safetensors');
    expect(renderMarkdownReport(syntheticReport({}))).not.toContain('### Expected hashes');
  });
});
