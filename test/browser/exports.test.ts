/**
 * Reports that leave the page: the HTML, SARIF, CycloneDX and Markdown
 * downloads are made in the page (Blob and object URL, no request), and the
 * HTML one, saved and opened from file://, says what the app said. Hostile
 * strings from a model (a tensor named like an <img> tag, metadata that
 * closes a script) stay text in the app, in the HTML export and in the
 * Markdown export: no element is made from them and no script runs.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildSafetensors, buildSafetensorsRaw, padSafetensorsHeader, safetensorsHeaderText } from '../builders/safetensors.ts';
import { assertDistBuilt, launchChromium, serveDist, watchPage, type LaunchedChromium, type PageWatch, type StaticServer } from './harness.ts';

const HOSTILE_TENSOR = '<img src=x onerror=alert(1)>';
const HOSTILE_METADATA = '</script><script>window.pwned=1</script>';

const CLEAN_MODEL = buildSafetensors(
  [
    { name: 'model.embed_tokens.weight', dtype: 'BF16', shape: [16, 8] },
    { name: 'lm_head.bias', dtype: 'F16', shape: [16] },
  ],
  { format: 'pt' },
);

/** Two tensors whose data ranges overlap: a malformed file with a finding at an offset. */
const OVERLAPPING_MODEL = buildSafetensorsRaw(
  padSafetensorsHeader(
    safetensorsHeaderText([
      ['first', { dtype: 'F32', shape: [2], data_offsets: [0, 8] }],
      ['second', { dtype: 'F32', shape: [2], data_offsets: [4, 12] }],
    ]),
  ),
  new Uint8Array(12).fill(0x41),
);

const HOSTILE_MODEL = buildSafetensors(
  [
    { name: HOSTILE_TENSOR, dtype: 'F16', shape: [2, 3] },
    { name: 'lm_head.weight', dtype: 'F32', shape: [3] },
  ],
  { note: HOSTILE_METADATA, format: 'pt' },
);

/** A file name that is markup too: it reaches the summary table and headings of every export. */
const HOSTILE_FILE_NAME = `${HOSTILE_TENSOR}.safetensors`;

interface InputFile {
  name: string;
  mimeType: string;
  buffer: Buffer;
}

const inputFile = (name: string, bytes: Uint8Array): InputFile => ({ name, mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) });
const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let server: StaticServer;
let chromium: LaunchedChromium;
let scratch: string;
const opened: { page: Page; watch: PageWatch; dialogs: string[] }[] = [];

beforeAll(async () => {
  assertDistBuilt();
  scratch = await mkdtemp(join(tmpdir(), 'preflight-exports-test-'));
  server = await serveDist();
  chromium = await launchChromium();
});

afterAll(async () => {
  await chromium?.close();
  await server?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

afterEach(async () => {
  for (const { page, watch } of opened.splice(0)) {
    await watch.stop();
    await page.close();
  }
});

/** A watched page: requests, policy violations, errors and dialogs (dismissed) are recorded. */
async function newWatchedPage() {
  const page = await chromium.context.newPage();
  const watch = await watchPage(page);
  const dialogs: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  const entry = { page, watch, dialogs };
  opened.push(entry);
  return entry;
}

async function openApp() {
  const entry = await newWatchedPage();
  await entry.page.goto(server.url);
  await entry.page.getByTestId('drop-zone').waitFor();
  return entry;
}

async function scanAndWait(page: Page, files: InputFile[]): Promise<void> {
  await page.getByTestId('file-input').setInputFiles(files);
  for (const { name } of files) {
    await page.locator(`[data-testid="file-card"][data-status="done"]`).filter({ has: page.getByTestId('file-path').getByText(name, { exact: true }) }).waitFor({ timeout: 60_000 });
  }
}

/** Clicks a download button; returns the suggested name and the saved text. */
async function download(page: Page, testId: string): Promise<{ name: string; path: string; text: string }> {
  const [saved] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  const path = await saved.path();
  return { name: saved.suggestedFilename(), path, text: await readFile(path, 'utf8') };
}

/** What the app shows per file: verdict, rule ids (sorted), SHA-256. */
async function appSummary(page: Page) {
  const cards = page.getByTestId('file-card');
  const summary: { path: string; verdict: string; rules: string[]; sha256: string }[] = [];
  for (let index = 0; index < (await cards.count()); index++) {
    const card = cards.nth(index);
    summary.push({
      path: (await card.getAttribute('data-path')) ?? '',
      verdict: (await card.getByTestId('verdict').getAttribute('data-verdict')) ?? '',
      rules: (await card.locator('[data-testid="finding"]').evaluateAll((items) => items.map((item) => item.getAttribute('data-rule') ?? ''))).sort(),
      sha256: (await card.getByTestId('sha256').textContent()) ?? '',
    });
  }
  return summary;
}

/** The same facts read from an exported HTML page. */
async function htmlSummary(page: Page) {
  return page.locator('section.file').evaluateAll((sections) =>
    sections.map((section) => ({
      path: section.querySelector('h2 .path')?.textContent ?? '',
      verdict: section.querySelector('h2 .verdict')?.textContent ?? '',
      rules: Array.from(section.querySelectorAll('code.rule'), (code) => code.textContent ?? '').sort(),
      sha256: section.querySelector('code.hash')?.textContent ?? '',
    })),
  );
}

/** Opens a saved HTML export from file://, as someone who received it would. */
async function openSavedHtml(path: string, name: string) {
  const target = join(scratch, name);
  await copyFile(path, target);
  const entry = await newWatchedPage();
  const url = pathToFileURL(target).href;
  await entry.page.goto(url);
  return { ...entry, url };
}

/** No element was made from hostile text: no image, no script without a src, nothing set on window. */
async function expectInert(page: Page, dialogs: string[]): Promise<void> {
  await expect(page.locator('img').count()).resolves.toBe(0);
  await expect(page.evaluate(() => Array.from(document.scripts).filter((script) => !script.src).length)).resolves.toBe(0);
  await expect(page.evaluate(() => (window as { pwned?: unknown }).pwned)).resolves.toBeUndefined();
  expect(dialogs).toEqual([]);
}

function expectQuiet(watch: PageWatch, origin: string): void {
  expect(watch.requestsOutside(origin)).toEqual([]);
  expect(watch.cspViolations).toEqual([]);
  expect(watch.errors).toEqual([]);
}

describe('downloads', () => {
  it('saves HTML that, opened from file://, shows the same verdicts, rule ids and SHA-256 as the app', async () => {
    const { page, watch } = await openApp();
    await scanAndWait(page, [inputFile('clean.safetensors', CLEAN_MODEL), inputFile('overlap.safetensors', OVERLAPPING_MODEL)]);
    const inApp = await appSummary(page);
    expect(inApp.map((file) => [file.path, file.verdict, file.sha256])).toEqual([
      ['clean.safetensors', 'clean', sha256Hex(CLEAN_MODEL)],
      ['overlap.safetensors', 'malformed', sha256Hex(OVERLAPPING_MODEL)],
    ]);
    expect(inApp[1].rules).toContain('safetensors.offsets.overlap');

    const saved = await download(page, 'download-html');
    expect(saved.name).toMatch(/^preflight-report-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z\.html$/);
    expectQuiet(watch, server.origin);

    const exported = await openSavedHtml(saved.path, saved.name);
    await expect(htmlSummary(exported.page)).resolves.toEqual(inApp);
    expect(exported.watch.requests.filter((url) => url !== exported.url)).toEqual([]);
    expect(exported.watch.cspViolations).toEqual([]);
    expect(exported.watch.errors).toEqual([]);
  });

  it('saves SARIF, CycloneDX and Markdown made from the same report', async () => {
    const { page, watch } = await openApp();
    await scanAndWait(page, [inputFile('overlap.safetensors', OVERLAPPING_MODEL)]);
    const hash = sha256Hex(OVERLAPPING_MODEL);

    const sarif = await download(page, 'download-sarif');
    expect(sarif.name).toMatch(/\.sarif$/);
    const sarifLog = JSON.parse(sarif.text);
    expect(sarifLog.version).toBe('2.1.0');
    expect(sarifLog.runs[0].results.map((result: { ruleId: string }) => result.ruleId)).toContain('safetensors.offsets.overlap');

    const cyclonedx = await download(page, 'download-cyclonedx');
    expect(cyclonedx.name).toMatch(/\.cdx\.json$/);
    const bom = JSON.parse(cyclonedx.text);
    expect(bom.bomFormat).toBe('CycloneDX');
    expect(JSON.stringify(bom)).toContain(hash);

    const markdown = await download(page, 'download-markdown');
    expect(markdown.name).toMatch(/\.md$/);
    expect(markdown.text).toMatch(/^## Preflight report/);
    expect(markdown.text).toContain('`safetensors.offsets.overlap`');
    expect(markdown.text).toContain(`\`${hash}\``);

    const json = await download(page, 'download-report');
    expect(JSON.parse(json.text).files[0].sha256).toBe(hash);
    expectQuiet(watch, server.origin);
  });
});

describe('hostile strings stay text', () => {
  it('in the app: the tensor name and the metadata value are shown literally', async () => {
    const { page, watch, dialogs } = await openApp();
    await scanAndWait(page, [inputFile(HOSTILE_FILE_NAME, HOSTILE_MODEL)]);
    const card = page.getByTestId('file-card');
    await expect(card.getByTestId('file-path').textContent()).resolves.toBe(HOSTILE_FILE_NAME);
    await expect(card.getByTestId('tensor-name').allTextContents()).resolves.toContain(HOSTILE_TENSOR);
    const metadata = await card.getByTestId('metadata-row').allTextContents();
    expect(metadata.some((row) => row.includes(HOSTILE_METADATA))).toBe(true);
    await expect(card.getByTestId('sha256').textContent()).resolves.toBe(sha256Hex(HOSTILE_MODEL));
    await expectInert(page, dialogs);
    expectQuiet(watch, server.origin);
  });

  it('in the HTML export opened from file://', async () => {
    const { page, watch } = await openApp();
    await scanAndWait(page, [inputFile(HOSTILE_FILE_NAME, HOSTILE_MODEL)]);
    const saved = await download(page, 'download-html');
    expect(saved.text).not.toContain(HOSTILE_TENSOR);
    expect(saved.text).not.toContain(HOSTILE_METADATA);
    expectQuiet(watch, server.origin);

    const exported = await openSavedHtml(saved.path, saved.name);
    const body = (await exported.page.locator('body').textContent()) ?? '';
    expect(body).toContain(HOSTILE_TENSOR);
    expect(body).toContain(HOSTILE_METADATA);
    expect(body).toContain(HOSTILE_FILE_NAME);
    await expect(exported.page.locator('td.mono', { hasText: HOSTILE_TENSOR }).count()).resolves.toBe(1);
    await expectInert(exported.page, exported.dialogs);
    expect(exported.watch.requests.filter((url) => url !== exported.url)).toEqual([]);
    expect(exported.watch.cspViolations).toEqual([]);
    expect(exported.watch.errors).toEqual([]);
  });

  it('in the Markdown export: only inside code spans and fences, escaped everywhere else', async () => {
    const { page, watch } = await openApp();
    await scanAndWait(page, [inputFile(HOSTILE_FILE_NAME, HOSTILE_MODEL)]);
    const { text } = await download(page, 'download-markdown');
    const outsideCode = withoutCode(text);
    // A CommonMark renderer makes HTML only from an unescaped `<`; outside code there is none.
    expect(outsideCode).not.toMatch(/(^|[^\\])</);
    expect(outsideCode).not.toContain('onerror=');
    expect(codeSpans(text)).toContain(HOSTILE_FILE_NAME);
    expectQuiet(watch, server.origin);
  });
});

/** Markdown with fenced blocks and code spans removed (CommonMark: a span closes at the next run of as many backticks). */
function withoutCode(markdown: string): string {
  const unfenced = markdown.replace(/^(`{3,})[^\n]*\n[\s\S]*?\n\1[ \t]*$/gm, '');
  return unfenced.replace(/(`+)([\s\S]*?[^`])\1(?!`)/g, '');
}

/** The contents of every code span, trimmed of the one padding space CommonMark strips. */
function codeSpans(markdown: string): string[] {
  return Array.from(markdown.matchAll(/(`+)([\s\S]*?[^`])\1(?!`)/g), (match) => match[2].replace(/^ (.*) $/s, '$1'));
}
