/**
 * The hosted build (dist/) as a static host would serve it: under a sub-path,
 * offline after the first visit through its service worker, replaced by the
 * next deploy, and never talking to anything but its own origin.
 */
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, relative, sep } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { precacheManifestOf } from '../../scripts/vite-plugins/service-worker.ts';
import { MANIFEST_FILE, SERVICE_WORKER_FILE, SERVICE_WORKER_POLICY } from '../../web/pwa/hosting.ts';
import { buildSafetensors } from '../builders/safetensors.ts';
import {
  DIST_DIR,
  assertDistBuilt,
  contentSecurityPolicyOf,
  launchChromium,
  resolveInside,
  watchPage,
  type LaunchedChromium,
  type PageWatch,
} from './harness.ts';

/** Where the app is put on the host: deep, so every URL must be relative to work. */
const PREFIX = '/some/sub/path/';

const MODEL = buildSafetensors(
  [
    { name: 'encoder.weight', dtype: 'F32', shape: [4, 4] },
    { name: 'encoder.bias', dtype: 'F16', shape: [4] },
  ],
  { note: 'made by the hosting test' },
);

const MIME_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

interface PrefixedServer {
  origin: string;
  /** `<origin><PREFIX>` */
  appUrl: string;
  close(): Promise<void>;
}

/**
 * Serve `root` under PREFIX on 127.0.0.1, the way the README asks hosts to:
 * the page's policy as a header on every file, except sw.js, which gets its
 * own. Anything outside PREFIX is a 404, so a URL that forgot the sub-path fails.
 */
async function serveUnderPrefix(root: string, options: { serviceWorkerPolicy?: string } = {}): Promise<PrefixedServer> {
  const pagePolicy = contentSecurityPolicyOf(await readFile(join(root, 'index.html'), 'utf8'));
  if (!pagePolicy) throw new Error('dist/index.html has no policy');
  const serviceWorkerPolicy = options.serviceWorkerPolicy ?? SERVICE_WORKER_POLICY;
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', 'http://host.invalid').pathname;
    if (request.method !== 'GET' || !path.startsWith(PREFIX)) {
      response.writeHead(404).end();
      return;
    }
    const file = await resolveInside(root, `/${path.slice(PREFIX.length)}`);
    const body = file === null ? null : await readFile(file).catch(() => null);
    if (file === null || body === null) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, {
      'Content-Type': MIME_TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Security-Policy': file.endsWith(`${sep}${SERVICE_WORKER_FILE}`) ? serviceWorkerPolicy : pagePolicy,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
    });
    response.end(body);
  };
  const server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let closed = false;
  return {
    origin,
    appUrl: `${origin}${PREFIX}`,
    close: () =>
      new Promise<void>((done) => {
        if (closed) return done();
        closed = true;
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** Every file of the build, relative to its root, in `/` form. */
async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

let scratch: string;
let chromium: LaunchedChromium | undefined;
let server: PrefixedServer | undefined;
let page: Page;
let watch: PageWatch;

beforeAll(async () => {
  assertDistBuilt();
  scratch = await mkdtemp(join(tmpdir(), 'preflight-hosting-test-'));
});

afterEach(async () => {
  await watch?.stop();
  await chromium?.close();
  await server?.close();
  chromium = undefined;
  server = undefined;
});

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** A fresh browser profile (no service worker yet) on `root` served under PREFIX; `beforeOpen` runs just before the page opens. */
async function openApp(root: string = DIST_DIR, serviceWorkerPolicy?: string, beforeOpen?: () => Promise<void>): Promise<void> {
  server = await serveUnderPrefix(root, { serviceWorkerPolicy });
  chromium = await launchChromium();
  page = chromium.page;
  watch = await watchPage(page);
  await beforeOpen?.();
  await page.goto(server.appUrl);
  await page.getByTestId('drop-zone').waitFor();
}

async function scanModel(): Promise<void> {
  await page.getByTestId('file-input').setInputFiles([{ name: 'model.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(MODEL) }]);
  const card = page.locator('[data-testid="file-card"][data-path="model.safetensors"]');
  await card.and(page.locator('[data-status="done"]')).waitFor({ timeout: 60_000 });
  await expect(card.getByTestId('verdict').getAttribute('data-verdict')).resolves.toBe('clean');
  await expect(card.getByTestId('sha256').textContent()).resolves.toBe(sha256Hex(MODEL));
  await expect(card.getByTestId('tensor-row').getByTestId('tensor-name').allTextContents()).resolves.toEqual(['encoder.weight', 'encoder.bias']);
}

/** Every request stayed on the origin, under the sub-path; no policy was violated; nothing failed. */
function expectOnlyOwnRequests(): void {
  const own = (url: string) => url.startsWith(`${server?.origin}${PREFIX}`) || url.startsWith('data:') || url.startsWith(`blob:${server?.origin}/`);
  expect(watch.requests.filter((url) => !own(url))).toEqual([]);
  expect(watch.cspViolations).toEqual([]);
  expect(watch.errors).toEqual([]);
}

/** Wait until the service worker is active and controls the page; returns its cache names. */
async function waitForOfflineReady(): Promise<string[]> {
  return page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }));
    }
    if (registration.active?.state !== 'activated') {
      const active = registration.active;
      await new Promise((resolve) => active?.addEventListener('statechange', resolve, { once: true }));
    }
    return caches.keys();
  });
}

describe('the precache manifest', () => {
  const files = new Map<string, string | Uint8Array>([
    ['index.html', '<!doctype html>'],
    ['assets/index-1.js', 'console.log(1)'],
    ['assets/worker-2.js', new Uint8Array([1, 2, 3])],
  ]);

  it("lists every file in name order, under a version that changes with any byte or name, or the service worker's code", () => {
    const manifest = precacheManifestOf(files);
    expect(manifest.files).toEqual(['assets/index-1.js', 'assets/worker-2.js', 'index.html']);
    expect(manifest.version).toMatch(/^[0-9a-f]{16}$/);
    expect(precacheManifestOf(new Map([...files].reverse())).version).toBe(manifest.version);

    const changedByte = new Map(files).set('assets/worker-2.js', new Uint8Array([1, 2, 4]));
    const renamed = new Map([...files].map(([name, content]) => [name === 'index.html' ? 'index.htm' : name, content]));
    const moved = new Map(files).set('index.html', '').set('assets/index-1.js', '<!doctype html>console.log(1)');
    for (const variant of [changedByte, renamed, moved]) expect(precacheManifestOf(variant).version).not.toBe(manifest.version);
    expect(precacheManifestOf(files, 'self.addEventListener("fetch", answer)').version).not.toBe(manifest.version);
  });

  it('in the built sw.js, is exactly the build: every file but sw.js itself', async () => {
    const serviceWorker = await readFile(join(DIST_DIR, SERVICE_WORKER_FILE), 'utf8');
    const expected = (await filesUnder(DIST_DIR)).filter((file) => file !== SERVICE_WORKER_FILE);
    expect(expected).toContain('index.html');
    expect(expected).toContain(MANIFEST_FILE);
    expect(expected.some((file) => /^assets\/worker-.+\.js$/.test(file))).toBe(true);
    const listed = /files:\[([^\]]*)\]/.exec(serviceWorker)?.[1].match(/[\w./-]+\.\w+/g) ?? [];
    expect([...listed].sort()).toEqual(expected);
    // A classic script: no import or export, so browsers without module service workers run it too.
    expect(serviceWorker).not.toMatch(/^\s*(import|export)\b/m);
  });
});

describe('dist/ on a static host', () => {
  it('links a web app manifest that opens the folder it came from, standalone', async () => {
    const html = await readFile(join(DIST_DIR, 'index.html'), 'utf8');
    expect(html).toContain(`<link rel="manifest" href="./${MANIFEST_FILE}">`);
    const policy = contentSecurityPolicyOf(html) ?? '';
    expect(policy).toContain("manifest-src 'self'");
    expect(policy).toContain("connect-src 'none'");
    const manifest = JSON.parse(await readFile(join(DIST_DIR, MANIFEST_FILE), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ name: expect.stringContaining('Preflight'), start_url: './', scope: './', display: 'standalone' });
  });

  it(`scans a file when served under ${PREFIX}`, async () => {
    await openApp();
    await scanModel();
    expect(watch.requests.some((url) => url.endsWith(`${PREFIX}${SERVICE_WORKER_FILE}`))).toBe(true);
    expectOnlyOwnRequests();
  });

  it('works offline after the first visit: the service worker precached everything the page and the scan worker need', async () => {
    await openApp();
    const cacheNames = await waitForOfflineReady();
    expect(cacheNames).toHaveLength(1);
    expect(cacheNames[0]).toContain(`${server?.appUrl}`);

    const expected = (await filesUnder(DIST_DIR)).filter((file) => file !== SERVICE_WORKER_FILE).map((file) => `${server?.appUrl}${file}`);
    const cached = await page.evaluate(async (name) => (await (await caches.open(name)).keys()).map((request) => request.url).sort(), cacheNames[0]);
    expect(cached).toEqual(expected.sort());

    await chromium?.context.setOffline(true);
    await server?.close();
    const response = await page.reload();
    expect(response?.fromServiceWorker()).toBe(true);
    await page.getByTestId('drop-zone').waitFor();
    // The page's policy came back with it from the cache, header and all.
    expect(response?.headers()['content-security-policy']).toContain("connect-src 'none'");
    await scanModel();
    expectOnlyOwnRequests();
  });

  it('a new deploy replaces the old cache', async () => {
    const copy = join(scratch, 'deploy');
    await cp(DIST_DIR, copy, { recursive: true });
    await openApp(copy);
    const [firstCache] = await waitForOfflineReady();

    // A new build changes the version written into sw.js; the browser sees a new service worker.
    const serviceWorkerPath = join(copy, SERVICE_WORKER_FILE);
    const oldVersion = firstCache.split(' ').at(-1) ?? '';
    const newVersion = 'f'.repeat(oldVersion.length);
    const source = await readFile(serviceWorkerPath, 'utf8');
    expect(source).toContain(oldVersion);
    await writeFile(serviceWorkerPath, source.replaceAll(oldVersion, newVersion));

    const cacheNames = await page.evaluate(async () => {
      const registration = await navigator.serviceWorker.ready;
      await registration.update();
      const installing = registration.installing ?? registration.waiting;
      if (installing && installing.state !== 'activated') {
        await new Promise<void>((resolve) => {
          installing.addEventListener('statechange', () => {
            if (installing.state === 'activated') resolve();
          });
        });
      }
      return caches.keys();
    });
    expect(cacheNames).toEqual([firstCache.replace(oldVersion, newVersion)]);
    expectOnlyOwnRequests();
  });

  it("on a host that sends the page's policy with sw.js too, stays an online app and leaves no half-filled cache", async () => {
    const pagePolicy = contentSecurityPolicyOf(await readFile(join(DIST_DIR, 'index.html'), 'utf8')) ?? '';
    let installFailed: Promise<void> = Promise.resolve();
    await openApp(DIST_DIR, pagePolicy, async () => {
      // The service worker's own fetches fall under its policy's connect-src 'none': its install fails.
      const devtools = await page.context().newCDPSession(page);
      installFailed = new Promise((resolve) => {
        devtools.on('ServiceWorker.workerVersionUpdated', ({ versions }) => {
          if (versions.some((version) => version.status === 'redundant')) resolve();
        });
      });
      await devtools.send('ServiceWorker.enable');
    });
    await installFailed;
    await expect(page.evaluate(() => caches.keys())).resolves.toEqual([]);
    await expect(page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.active ?? null)).resolves.toBeNull();
    await scanModel();
    expect(watch.requests.filter((url) => !url.startsWith(`${server?.origin}${PREFIX}`) && !url.startsWith('data:') && !url.startsWith('blob:'))).toEqual([]);
    expect(watch.errors).toEqual([]);
  });
});
