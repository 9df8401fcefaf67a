/**
 * Share links in Chromium: "Copy share link" puts the report in the URL
 * fragment; opening that link in another page shows it read-only, with a
 * banner saying it is someone else's report, when it was made and by which
 * version, and what the link left out. A hostile link (garbage, a deflate
 * bomb, wrong types) gets an error page, never a crash; hostile strings in a
 * shared report stay text.
 */
import { createHash } from 'node:crypto';
import { deflateSync } from 'fflate';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };
import { createReport } from '../../src/report/report.ts';
import { encodeBase64Url } from '../../src/share/base64url.ts';
import { MAX_SHARE_FRAGMENT_CHARS, encodeShareFragment } from '../../src/share/share-link.ts';
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

const OVERLAPPING_MODEL = buildSafetensorsRaw(
  padSafetensorsHeader(
    safetensorsHeaderText([
      ['first', { dtype: 'F32', shape: [2], data_offsets: [0, 8] }],
      ['second', { dtype: 'F32', shape: [2], data_offsets: [4, 12] }],
    ]),
  ),
  new Uint8Array(12).fill(0x41),
);

const HOSTILE_MODEL = buildSafetensors([{ name: HOSTILE_TENSOR, dtype: 'F16', shape: [2, 3] }], { note: HOSTILE_METADATA });

/**
 * Far over the link budget, yet quick to scan: each name carries 8 bytes of
 * hash, so the table does not compress away. (src/share unit tests cover
 * 50,000 tensors and a 150,000-token vocabulary without a browser.)
 */
const LARGE_TENSOR_COUNT = 20_000;
const LARGE_MODEL = buildSafetensors(
  Array.from({ length: LARGE_TENSOR_COUNT }, (_, index) => ({
    name: `model.layers.${index}.${createHash('sha256').update(String(index)).digest('hex').slice(0, 16)}.weight`,
    dtype: 'F16',
    shape: [1],
  })),
);

interface InputFile {
  name: string;
  mimeType: string;
  buffer: Buffer;
}

const inputFile = (name: string, bytes: Uint8Array): InputFile => ({ name, mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) });
const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let server: StaticServer;
let chromium: LaunchedChromium;
const opened: { page: Page; watch: PageWatch }[] = [];

beforeAll(async () => {
  assertDistBuilt();
  server = await serveDist();
  chromium = await launchChromium();
});

afterAll(async () => {
  await chromium?.close();
  await server?.close();
});

afterEach(async () => {
  for (const { page, watch } of opened.splice(0)) {
    await watch.stop();
    await page.close();
  }
});

async function openPage(url: string) {
  const page = await chromium.context.newPage();
  const watch = await watchPage(page);
  const dialogs: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  opened.push({ page, watch });
  await page.goto(url);
  return { page, watch, dialogs };
}

async function scanAndWait(page: Page, files: InputFile[]): Promise<void> {
  await page.getByTestId('drop-zone').waitFor();
  await page.getByTestId('file-input').setInputFiles(files);
  await expect
    .poll(() => page.locator('[data-testid="file-card"][data-status="done"]').count(), { timeout: 60_000 })
    .toBe(files.length);
}

/** Clicks "Copy share link" and returns the link the page made (from its text field, whatever the clipboard did). */
async function makeShareLink(page: Page): Promise<string> {
  await page.getByTestId('copy-share-link').click();
  const field = page.getByTestId('share-link');
  await field.waitFor();
  return field.inputValue();
}

/** Verdict, rule ids and SHA-256 of every card on the page. */
async function cardFacts(page: Page) {
  return page.getByTestId('file-card').evaluateAll((cards) =>
    cards.map((card) => ({
      path: card.getAttribute('data-path'),
      verdict: card.querySelector('[data-testid="verdict"]')?.getAttribute('data-verdict'),
      rules: Array.from(card.querySelectorAll('[data-testid="finding"]'), (finding) => finding.getAttribute('data-rule')).sort(),
      sha256: card.querySelector('[data-testid="sha256"]')?.textContent ?? null,
    })),
  );
}

function expectQuiet(watch: PageWatch): void {
  expect(watch.requestsOutside(server.origin)).toEqual([]);
  expect(watch.cspViolations).toEqual([]);
  expect(watch.errors).toEqual([]);
}

describe('share links', () => {
  it('round trip: the link opens read-only with a banner and the same verdicts, findings and hashes', async () => {
    const app = await openPage(server.url);
    await scanAndWait(app.page, [inputFile('clean.safetensors', CLEAN_MODEL), inputFile('overlap.safetensors', OVERLAPPING_MODEL)]);
    const inApp = await cardFacts(app.page);
    expect(inApp.map((card) => card.sha256)).toEqual([sha256Hex(CLEAN_MODEL), sha256Hex(OVERLAPPING_MODEL)]);
    expect(inApp[1].rules).toContain('safetensors.offsets.overlap');

    const link = await makeShareLink(app.page);
    expect(link.startsWith(`${server.url}#report=`)).toBe(true);
    expect(link.length - link.indexOf('#') - 1).toBeLessThanOrEqual(MAX_SHARE_FRAGMENT_CHARS);
    await expect(app.page.getByTestId('share-link-box').textContent()).resolves.toContain('The link holds the whole report.');
    expectQuiet(app.watch);

    const shared = await openPage(link);
    const banner = shared.page.getByTestId('shared-banner');
    await banner.waitFor();
    await expect(banner.textContent()).resolves.toContain('Its contents come from whoever shared this link.');
    await expect(shared.page.getByTestId('shared-made').textContent()).resolves.toMatch(
      new RegExp(`^Made \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2} UTC with preflight ${packageJson.version.replace(/\./g, '\\.')}\\.$`),
    );
    await expect(shared.page.getByTestId('shared-complete').count()).resolves.toBe(1);
    await expect(cardFacts(shared.page)).resolves.toEqual(inApp);
    // Read-only: no drop zone, no file input, nothing to cancel.
    await expect(shared.page.getByTestId('drop-zone').isVisible()).resolves.toBe(false);
    await expect(shared.page.getByTestId('file-input').count()).resolves.toBe(0);
    await expect(shared.page.getByTestId('cancel-scan').count()).resolves.toBe(0);

    await shared.page.getByTestId('leave-shared').click();
    await shared.page.getByTestId('drop-zone').waitFor({ state: 'visible' });
    await expect(shared.page.getByTestId('shared-banner').count()).resolves.toBe(0);
    expect(shared.page.url()).toBe(server.url);
    expectQuiet(shared.watch);
  });

  it(`a ${LARGE_TENSOR_COUNT}-tensor report: the link stays short and says, in the app and when opened, what it left out`, async () => {
    const app = await openPage(server.url);
    await scanAndWait(app.page, [inputFile('large.safetensors', LARGE_MODEL)]);
    const link = await makeShareLink(app.page);
    expect(link.length - link.indexOf('#') - 1).toBeLessThanOrEqual(MAX_SHARE_FRAGMENT_CHARS);
    const expected = `large.safetensors: ${(LARGE_TENSOR_COUNT - 100).toLocaleString('en-US')} of ${LARGE_TENSOR_COUNT.toLocaleString('en-US')} tensors (the first 100 are kept)`;
    await expect(app.page.getByTestId('share-link-omitted').locator('li').allTextContents()).resolves.toEqual([expected]);
    expectQuiet(app.watch);

    const shared = await openPage(link);
    await shared.page.getByTestId('shared-banner').waitFor();
    await expect(shared.page.getByTestId('shared-omitted').locator('li').allTextContents()).resolves.toEqual([expected]);
    const card = shared.page.getByTestId('file-card');
    await expect(card.getByTestId('card-left-out').textContent()).resolves.toContain('tensors: 19,900 of 20,000 tensors');
    await expect(card.getByTestId('tensor-match-count').textContent()).resolves.toBe('100 tensors');
    await expect(card.getByTestId('totals-section').count()).resolves.toBe(0);
    await expect(card.getByTestId('sha256').textContent()).resolves.toBe(sha256Hex(LARGE_MODEL));
    expectQuiet(shared.watch);
  });

  it('hostile strings in a shared report stay text', async () => {
    const app = await openPage(server.url);
    await scanAndWait(app.page, [inputFile('hostile.safetensors', HOSTILE_MODEL)]);
    const link = await makeShareLink(app.page);

    const shared = await openPage(link);
    const card = shared.page.getByTestId('file-card');
    await card.waitFor();
    await expect(card.getByTestId('tensor-name').allTextContents()).resolves.toEqual([HOSTILE_TENSOR]);
    await expect(card.getByTestId('metadata-row').allTextContents()).resolves.toEqual([expect.stringContaining(HOSTILE_METADATA)]);
    await expect(shared.page.locator('img').count()).resolves.toBe(0);
    await expect(shared.page.evaluate(() => Array.from(document.scripts).filter((script) => !script.src).length)).resolves.toBe(0);
    await expect(shared.page.evaluate(() => (window as { pwned?: unknown }).pwned)).resolves.toBeUndefined();
    expect(shared.dialogs).toEqual([]);
    expectQuiet(shared.watch);
  });
});

describe('hostile links get an error page', () => {
  const fragmentOf = (json: unknown) => `report=${encodeBase64Url(deflateSync(new TextEncoder().encode(JSON.stringify(json))))}`;
  const valid = () => JSON.parse(JSON.stringify({ share: 1, omitted: [], report: createReport([], new Date('2025-01-01T00:00:00Z')) }));

  it.each([
    ['garbage base64', 'report=%%%not-base64', /not base64url/],
    ['a deflate bomb', `report=${encodeBase64Url(deflateSync(new Uint8Array(16 * 1024 * 1024).fill(0x20), { level: 9 }))}`, /inflates to more than/],
    ['valid JSON with wrong types', fragmentOf({ ...valid(), report: { ...valid().report, files: [{ path: 7 }] } }), /report\.files\[0\]\.path: expected a string, found number 7/],
    ['markup in the wrong place', fragmentOf({ ...valid(), report: { ...valid().report, createdAt: { html: '<img src=x onerror=alert(1)>' } } }), /report\.createdAt: expected a string, found an object/],
  ])('%s', async (_name, fragment, message) => {
    const { page, watch, dialogs } = await openPage(`${server.url}#${fragment}`);
    const error = page.getByTestId('shared-error');
    await error.waitFor();
    await expect(page.getByTestId('shared-error-message').textContent()).resolves.toMatch(message);
    await expect(page.getByTestId('file-card').count()).resolves.toBe(0);
    await expect(page.locator('img').count()).resolves.toBe(0);
    expect(dialogs).toEqual([]);
    await page.getByTestId('leave-shared').click();
    await page.getByTestId('drop-zone').waitFor({ state: 'visible' });
    expectQuiet(watch);
  });

  it('a link pasted into an open page replaces what it shows', async () => {
    const { page, watch } = await openPage(server.url);
    await page.getByTestId('drop-zone').waitFor();
    const report = createReport([], new Date('2025-01-01T00:00:00Z'));
    await page.evaluate((fragment) => (location.hash = fragment), encodeShareFragment(report).fragment);
    await page.getByTestId('shared-banner').waitFor();
    await expect(page.getByTestId('shared-made').textContent()).resolves.toContain('2025-01-01 00:00:00 UTC');
    await expect(page.getByTestId('drop-zone').isVisible()).resolves.toBe(false);
    expectQuiet(watch);
  });
});
