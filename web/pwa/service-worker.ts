/**
 * The offline service worker, built to sw.js beside index.html by
 * scripts/vite-plugins/service-worker.ts, which fills in the list of files to
 * precache and a version made from their contents.
 *
 * At install it fetches every file of the build (page, styles, scripts, the
 * scan worker with the Wasm it embeds, the manifest) into a cache named after
 * that version, and from then on answers those URLs from the cache first, so
 * the app starts and scans with no network at all. A new deploy changes the
 * version, so the new worker fills a new cache and drops the old one.
 *
 * Threat surface: a service worker outlives the page and sits between it and
 * the network, so this one does as little as it can. It answers only the URLs
 * of its own build (everything else goes to the network as if it were not
 * there), stores only what this origin served at install time, never caches a
 * response it did not ask for, and never sees a model file: the page reads
 * those through the File API, which no service worker can observe.
 */
import type { PrecacheManifest } from './precache-manifest.ts';

/** Replaced at build time with the build's file list and version. */
declare const __PREFLIGHT_PRECACHE__: PrecacheManifest;

const worker = self as unknown as ServiceWorkerGlobalScope;
const precache = __PREFLIGHT_PRECACHE__;

/** The folder sw.js is in: the app's scope, whatever sub-path the host put it under. */
const scopeUrl = new URL('./', worker.location.href).href;

/** Caches of this deployment only: another copy of the app elsewhere on the same origin keeps its own. */
const cachePrefix = `preflight-offline ${scopeUrl} `;
const cacheName = `${cachePrefix}${precache.version}`;

const precachedUrls = new Set(precache.files.map((file) => new URL(file, scopeUrl).href));
const pageUrl = new URL('index.html', scopeUrl).href;

worker.addEventListener('install', (event) => {
  // A new version takes over at once, so the next reload shows the new deploy. A page already open
  // keeps running; the one file it may load later, a scan worker, the deploy replaced on the host anyway.
  event.waitUntil(fillCache().then(() => worker.skipWaiting()));
});

worker.addEventListener('activate', (event) => {
  event.waitUntil(dropOtherVersions().then(() => worker.clients.claim()));
});

worker.addEventListener('fetch', (event) => {
  const key = cacheKeyOf(event.request);
  if (key !== null) event.respondWith(cachedOrNetwork(key, event.request));
});

async function fillCache(): Promise<void> {
  const cache = await caches.open(cacheName);
  try {
    await Promise.all(
      [...precachedUrls].map(async (url) => {
        // 'reload' skips the HTTP cache: a stale copy of one file would mix two builds.
        const response = await fetch(url, { cache: 'reload', credentials: 'same-origin' });
        if (!response.ok) throw new Error(`Precaching ${url} failed: the server answered ${response.status}`);
        await cache.put(url, response.redirected ? await withoutRedirect(response) : response);
      }),
    );
  } catch (error) {
    // The version names this worker's code and files, so no other worker answers from this cache.
    await caches.delete(cacheName);
    throw error;
  }
}

/**
 * A response that came through a redirect (some hosts send index.html to the
 * folder URL) cannot answer a navigation; a copy with the same body and
 * headers (the Content-Security-Policy among them) can.
 */
async function withoutRedirect(response: Response): Promise<Response> {
  return new Response(await response.blob(), { status: response.status, statusText: response.statusText, headers: response.headers });
}

async function dropOtherVersions(): Promise<void> {
  const names = await caches.keys();
  await Promise.all(names.filter((name) => name.startsWith(cachePrefix) && name !== cacheName).map((name) => caches.delete(name)));
}

/** The precached URL that answers `request`, or null to leave it to the network. */
function cacheKeyOf(request: Request): string | null {
  if (request.method !== 'GET') return null;
  const url = new URL(request.url);
  url.search = '';
  url.hash = '';
  if (request.mode === 'navigate' && url.href === scopeUrl) return pageUrl;
  return precachedUrls.has(url.href) ? url.href : null;
}

/** Cache first; the network only if the browser evicted the cache. */
async function cachedOrNetwork(key: string, request: Request): Promise<Response> {
  const cached = await caches.match(key, { cacheName });
  return cached ?? fetch(request);
}
