import { readdir, readFile, readlink } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { launchChromium, serveDirectory, serveDist } from '../test/browser/harness.ts';
import type { BenchFile } from './fixture.ts';
import { type Measurement, ROUNDS, fastestOf } from './node.ts';

const BENCH_PAGE_DIR = fileURLToPath(new URL('../dist-bench/', import.meta.url));

/** Resident memory of every Chromium process on the machine (the bench runs the only one). */
async function chromiumRss(): Promise<number> {
  let total = 0;
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (!(await readlink(`/proc/${pid}/exe`)).includes('chromium')) continue;
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const match = /VmRSS:\s+(\d+) kB/.exec(status);
      if (match) total += Number(match[1]) * 1024;
    } catch {
      // The process ended while we looked.
    }
  }
  return total;
}

function sampleRss() {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, await chromiumRss());
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return async () => {
    running = false;
    await loop;
    return peak;
  };
}

/** Times seen by the page itself: the input's change event, the first tensor row, the hash. */
async function watchMilestones(page: Page): Promise<void> {
  await page.evaluate(() => {
    const marks: Record<string, number> = {};
    (globalThis as unknown as { benchMarks: Record<string, number> }).benchMarks = marks;
    document.addEventListener('change', () => (marks.selected ??= performance.now()), { capture: true });
    new MutationObserver(() => {
      if (marks.header === undefined && document.querySelector('[data-testid="tensor-row"]')) marks.header = performance.now();
      const hash = document.querySelector('[data-testid="sha256"]');
      if (marks.hash === undefined && hash && /[0-9a-f]{64}/.test(hash.textContent ?? '')) marks.hash = performance.now();
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  });
}

/** The app as users get it: select the file, wait until the hash is on screen. A fresh page each round. */
async function measureAppPipeline(page: Page, url: string, file: BenchFile): Promise<Measurement> {
  await page.goto(url);
  await page.getByTestId('file-input').waitFor({ state: 'attached' });
  await watchMilestones(page);
  const idleRss = await chromiumRss();
  const stopSampling = sampleRss();
  await page.getByTestId('file-input').setInputFiles(file.path);
  await page.waitForFunction(() => (globalThis as any).benchMarks.hash !== undefined, undefined, { timeout: 30 * 60_000, polling: 100 });
  const peakRss = await stopSampling();
  const marks = await page.evaluate(() => (globalThis as any).benchMarks as Record<string, number>);
  return {
    name: 'full pipeline in the app (worker: header, hash, scanners; until the hash is on screen)',
    bytes: file.size,
    milliseconds: marks.hash - marks.selected,
    note: `header on screen ${(marks.header - marks.selected).toFixed(1)} ms after selection; Chromium RSS ${(idleRss / 2 ** 20).toFixed(0)} MiB idle, ${(peakRss / 2 ** 20).toFixed(0)} MiB peak`,
  };
}

export async function benchBrowser(file: BenchFile): Promise<{ measurements: Measurement[]; chromiumVersion: string }> {
  const app = await serveDist();
  const baselines = await serveDirectory(BENCH_PAGE_DIR);
  const chromium = await launchChromium();
  const measurements: Measurement[] = [];
  try {
    const { page } = chromium;
    const chromiumVersion = chromium.context.browser()?.version() ?? (await page.evaluate(() => navigator.userAgent));

    await page.goto(baselines.url);
    await page.locator('#file').setInputFiles(file.path);
    measurements.push(
      await fastestOf(ROUNDS, async () => ({
        name: 'raw read (File stream, BYOB reader, 4 MiB)',
        ...(await page.evaluate(() => (globalThis as any).preflightBench.rawRead())),
      })),
    );
    measurements.push(
      await fastestOf(ROUNDS, async () => ({
        name: 'bare hashing, hash-wasm (in-memory chunks)',
        ...(await page.evaluate((size) => (globalThis as any).preflightBench.bareHash(size), file.size)),
      })),
    );
    measurements.push(await fastestOf(ROUNDS, () => measureAppPipeline(page, app.url, file)));
    return { measurements, chromiumVersion };
  } finally {
    await chromium.close();
    await app.close();
    await baselines.close();
  }
}
