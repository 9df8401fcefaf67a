/**
 * Expected hashes in Chromium: a SHA256SUMS, a pasted SHA-256, a Git LFS
 * pointer or a model-signing bundle given with the files; each card then says
 * matches, differs (expected vs actual, and where it was listed) or not
 * listed; the panel lists what was listed but not given, parse problems by
 * line, and a bundle's signer as an unverified claim with the command that
 * verifies it. Dropped files are routed by name and content: a listing is
 * read, not scanned; a pointer is both; a pickle named SHA256SUMS is scanned.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { payload } from '../builders/pickle.ts';
import { buildSafetensors } from '../builders/safetensors.ts';
import { fixtureCertificate, modelSigningStatement, sigstoreBundle } from '../provenance/bundle-builder.ts';
import { assertDistBuilt, launchChromium, serveDist, watchPage, type LaunchedChromium, type PageWatch, type StaticServer } from './harness.ts';

const MODEL = buildSafetensors([{ name: 'lm_head.weight', dtype: 'F16', shape: [4, 4] }], { format: 'pt' });
const OTHER = buildSafetensors([{ name: 'other.weight', dtype: 'F32', shape: [3] }]);
const sha256Hex = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');
const MODEL_SHA = sha256Hex(MODEL);
const WRONG_SHA = sha256Hex('not the model');

interface InputFile {
  name: string;
  mimeType: string;
  buffer: Buffer;
}

const inputFile = (name: string, bytes: Uint8Array | string): InputFile => ({
  name,
  mimeType: 'application/octet-stream',
  buffer: Buffer.from(typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes),
});

const lfsPointer = (sha256: string, size: number) => `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`;

let server: StaticServer;
let chromium: LaunchedChromium;
let scratch: string;
let page: Page;
let watch: PageWatch;

beforeAll(async () => {
  assertDistBuilt();
  scratch = await mkdtemp(join(tmpdir(), 'preflight-provenance-test-'));
  server = await serveDist();
  chromium = await launchChromium();
});

afterAll(async () => {
  await chromium?.close();
  await server?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

afterEach(async () => {
  await watch?.stop();
  await page?.close();
});

async function openApp(url = server.url): Promise<void> {
  page = await chromium.context.newPage();
  watch = await watchPage(page);
  await page.goto(url);
}

function card(path: string) {
  return page.locator(`[data-testid="file-card"][data-path="${path}"]`);
}

async function waitUntilDone(path: string) {
  const located = card(path);
  await located.and(page.locator('[data-status="done"]')).waitFor({ timeout: 60_000 });
  return located;
}

function expectQuiet(): void {
  expect(watch.requestsOutside(server.origin)).toEqual([]);
  expect(watch.cspViolations).toEqual([]);
  expect(watch.errors).toEqual([]);
}

describe('expected hashes from dropped files', () => {
  it('a SHA256SUMS with the right hash: matches; the listing is read, not scanned', async () => {
    await openApp();
    await page.getByTestId('file-input').setInputFiles([inputFile('model.safetensors', MODEL), inputFile('SHA256SUMS', `${MODEL_SHA}  model.safetensors\n`)]);
    const model = await waitUntilDone('model.safetensors');
    const status = model.getByTestId('provenance-status');
    await expect(status.getAttribute('data-status')).resolves.toBe('matches');
    await expect(status.textContent()).resolves.toContain('SHA256SUMS line 1');
    await expect(page.getByTestId('file-card').count()).resolves.toBe(1);
    await expect(page.getByTestId('provenance-source').getAttribute('data-kind')).resolves.toBe('sha256sums');
    await expect(page.getByTestId('provenance-counts').textContent()).resolves.toBe('matches 1');
    expectQuiet();
  });

  it('a wrong hash: differs, with the expected and actual hashes and the line that listed it', async () => {
    await openApp();
    await page.getByTestId('file-input').setInputFiles([
      inputFile('model.safetensors', MODEL),
      inputFile('checksums.sha256', `# release 1.0\n${WRONG_SHA}  ./model.safetensors\n`),
    ]);
    const model = await waitUntilDone('model.safetensors');
    const status = model.getByTestId('provenance-status');
    await expect(status.getAttribute('data-status')).resolves.toBe('differs');
    await expect(status.getByTestId('expected-sha256').textContent()).resolves.toBe(WRONG_SHA);
    await expect(status.getByTestId('actual-sha256').textContent()).resolves.toBe(MODEL_SHA);
    await expect(status.getByTestId('provenance-mismatch').textContent()).resolves.toContain('checksums.sha256 line 2');
    expectQuiet();
  });

  it('a listed file that was not given is listed; a bad line is a problem with its number; a file the listing omits is not listed', async () => {
    await openApp();
    const tokenizerSha = sha256Hex('tokenizer');
    await page.getByTestId('file-input').setInputFiles([
      inputFile('model.safetensors', MODEL),
      inputFile('other.safetensors', OTHER),
      inputFile('SHA256SUMS', `${MODEL_SHA}  model.safetensors\n${tokenizerSha}  tokenizer.json\nthis is not a checksum line\n`),
    ]);
    await expect((await waitUntilDone('model.safetensors')).getByTestId('provenance-status').getAttribute('data-status')).resolves.toBe('matches');
    await expect((await waitUntilDone('other.safetensors')).getByTestId('provenance-status').getAttribute('data-status')).resolves.toBe('not-listed');
    const rows = page.getByTestId('listed-not-scanned-row');
    await expect(rows.count()).resolves.toBe(1);
    await expect(rows.first().textContent()).resolves.toBe(`tokenizer.jsonSHA256SUMS line 2${tokenizerSha}`);
    const problem = page.getByTestId('provenance-problem');
    await expect(problem.getAttribute('data-line')).resolves.toBe('3');
    await expect(problem.textContent()).resolves.toMatch(/^line 3: /);
    await expect(page.getByTestId('provenance-counts').textContent()).resolves.toBe('matches 1 · not listed 1 · listed but not scanned 1');
    expectQuiet();
  });

  it('a bare hash in model.safetensors.sha256 is compared with model.safetensors, not matched against any file', async () => {
    await openApp();
    await page.getByTestId('file-input').setInputFiles([
      inputFile('model.safetensors', MODEL),
      inputFile('other.safetensors', OTHER),
      inputFile('model.safetensors.sha256', `${WRONG_SHA}\n`),
    ]);
    await expect((await waitUntilDone('model.safetensors')).getByTestId('provenance-status').getAttribute('data-status')).resolves.toBe('differs');
    await expect((await waitUntilDone('other.safetensors')).getByTestId('provenance-status').getAttribute('data-status')).resolves.toBe('not-listed');
    await expect(page.getByTestId('provenance-source').textContent()).resolves.toContain('it was taken as the hash of model.safetensors');
    expectQuiet();
  });

  it('files dropped on the page are routed the same way', async () => {
    await openApp();
    const transfer = await page.evaluateHandle(
      ([model, sums]) => {
        const dataTransfer = new DataTransfer();
        dataTransfer.items.add(new File([new Uint8Array(model)], 'model.safetensors'));
        dataTransfer.items.add(new File([sums], 'SHA256SUMS'));
        return dataTransfer;
      },
      [Array.from(MODEL), `${MODEL_SHA} *model.safetensors\n`] as const,
    );
    await page.getByTestId('drop-zone').dispatchEvent('drop', { dataTransfer: transfer });
    const model = await waitUntilDone('model.safetensors');
    await expect(model.getByTestId('provenance-status').getAttribute('data-status')).resolves.toBe('matches');
    await expect(page.getByTestId('file-card').count()).resolves.toBe(1);
    expectQuiet();
  });

  it('a Git LFS pointer is scanned as a pointer and read as the expected hash of the file it stands for', async () => {
    const folder = join(scratch, 'repo');
    await mkdir(join(folder, 'lfs'), { recursive: true });
    await mkdir(join(folder, 'weights'), { recursive: true });
    await writeFile(join(folder, 'lfs', 'model.safetensors'), lfsPointer(MODEL_SHA, MODEL.length));
    await writeFile(join(folder, 'weights', 'model.safetensors'), MODEL);
    await openApp();
    await page.getByTestId('folder-input').setInputFiles(folder);

    const pointer = await waitUntilDone('repo/lfs/model.safetensors');
    await expect(pointer.getByTestId('file-format').textContent()).resolves.toBe('git-lfs-pointer');
    await expect(pointer.getByTestId('provenance-source-role').count()).resolves.toBe(1);
    await expect(pointer.getByTestId('provenance-status').count()).resolves.toBe(0);

    const weights = await waitUntilDone('repo/weights/model.safetensors');
    const status = weights.getByTestId('provenance-status');
    await expect(status.getAttribute('data-status')).resolves.toBe('matches');
    await expect(status.textContent()).resolves.toContain('repo/lfs/model.safetensors line 2');
    await expect(page.getByTestId('provenance-source').getAttribute('data-kind')).resolves.toBe('git-lfs-pointer');
    expectQuiet();
  });

  it('a model-signing bundle: the signer and issuer as an unverified claim, and the verify command to copy', async () => {
    await openApp();
    const bundle = sigstoreBundle({
      statement: modelSigningStatement([{ name: 'model.safetensors', digest: MODEL_SHA }]),
      certificateDer: fixtureCertificate('fulcio-like.der'),
    });
    await page.getByTestId('file-input').setInputFiles([inputFile('model.safetensors', MODEL), inputFile('model.sig', JSON.stringify(bundle))]);
    const model = await waitUntilDone('model.safetensors');
    await expect(model.getByTestId('provenance-status').getAttribute('data-status')).resolves.toBe('matches');

    const claim = page.getByTestId('signature-claim');
    await expect(claim.textContent()).resolves.toContain('Unverified claim');
    await expect(claim.getByTestId('signer-identity').textContent()).resolves.toContain('signer@example.com');
    await expect(claim.getByTestId('signer-issuer').textContent()).resolves.toBe('https://token.actions.githubusercontent.com');
    await expect(claim.getByTestId('verify-command').textContent()).resolves.toBe(
      'model_signing verify sigstore MODEL_PATH --signature model.sig --identity signer@example.com --identity_provider https://token.actions.githubusercontent.com',
    );
    await claim.getByTestId('copy-verify-command').click();
    await claim.getByRole('status').filter({ hasText: /Copied|Selected/ }).waitFor();
    expectQuiet();
  });

  it('a pickle named SHA256SUMS is not taken for a listing: it is scanned, and the panel says it was not recognised', async () => {
    await openApp();
    await page.getByTestId('file-input').setInputFiles([inputFile('SHA256SUMS', payload('os', 'system', 'id'))]);
    const disguised = await waitUntilDone('SHA256SUMS');
    await expect(disguised.getByTestId('verdict').getAttribute('data-verdict')).resolves.toBe('dangerous');
    await expect(page.getByTestId('provenance-source').getAttribute('data-kind')).resolves.toBe('unrecognised');
    await expect(page.getByTestId('provenance-problem').first().textContent()).resolves.toMatch(/not recognised|not UTF-8/);
    expectQuiet();
  });
});

describe('expected hashes typed or chosen by hand', () => {
  it('a pasted SHA-256 matches the one file; removing it removes the comparison', async () => {
    await openApp();
    await page.getByTestId('file-input').setInputFiles([inputFile('model.safetensors', MODEL)]);
    const model = await waitUntilDone('model.safetensors');
    await expect(model.getByTestId('provenance-status').count()).resolves.toBe(0);

    await page.getByTestId('expectations-summary').click();
    await page.getByTestId('expected-hash-input').fill(`  ${MODEL_SHA.toUpperCase()}\n`);
    await page.getByTestId('add-expected-hash').click();
    await expect(model.getByTestId('provenance-status').getAttribute('data-status')).resolves.toBe('matches');
    await expect(page.getByTestId('provenance-source').getAttribute('data-kind')).resolves.toBe('sha256');

    await page.getByTestId('remove-expectation').click();
    await expect.poll(() => model.getByTestId('provenance-status').count()).toBe(0);
    await expect(page.getByTestId('provenance-panel').count()).resolves.toBe(0);
    expectQuiet();
  });

  it('files chosen as hash files are read, never scanned, whatever their name', async () => {
    await openApp();
    await page.getByTestId('file-input').setInputFiles([inputFile('model.safetensors', MODEL)]);
    const model = await waitUntilDone('model.safetensors');
    await page.getByTestId('expectations-summary').click();
    await page.getByTestId('expectation-file-input').setInputFiles([inputFile('release-hashes.txt', `${WRONG_SHA}  model.safetensors\n`)]);
    await expect(model.getByTestId('provenance-status').getAttribute('data-status')).resolves.toBe('differs');
    await expect(page.getByTestId('file-card').count()).resolves.toBe(1);
    expectQuiet();
  });
});

describe('the report carries the comparison', () => {
  it('in the JSON download and through a share link', async () => {
    await openApp();
    await page.getByTestId('file-input').setInputFiles([
      inputFile('model.safetensors', MODEL),
      inputFile('SHA256SUMS', `${WRONG_SHA}  model.safetensors\n${MODEL_SHA}  missing.bin\n`),
    ]);
    await waitUntilDone('model.safetensors');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-report').click()]);
    const report = JSON.parse(await readFile(await download.path(), 'utf8'));
    expect(report.provenance.files).toEqual([
      expect.objectContaining({ path: 'model.safetensors', sha256: MODEL_SHA, status: 'differs' }),
    ]);
    expect(report.provenance.listedNotScanned).toEqual([expect.objectContaining({ listedPath: 'missing.bin', line: 2 })]);

    await page.getByTestId('copy-share-link').click();
    const link = await page.getByTestId('share-link').inputValue();
    expectQuiet();
    await watch.stop();
    await page.close();

    await openApp(link);
    await page.getByTestId('shared-banner').waitFor();
    const shared = page.getByTestId('file-card');
    await expect(shared.getByTestId('provenance-status').getAttribute('data-status')).resolves.toBe('differs');
    await expect(shared.getByTestId('expected-sha256').textContent()).resolves.toBe(WRONG_SHA);
    await expect(page.getByTestId('listed-not-scanned-row').textContent()).resolves.toContain('missing.bin');
    await expect(page.getByTestId('remove-expectation').count()).resolves.toBe(0);
    expectQuiet();
  });
});
