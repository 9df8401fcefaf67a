/**
 * The offline half of hosting: emits the web app manifest and sw.js (built
 * from web/pwa/service-worker.ts) with the list of every file of the build to
 * precache, and links the manifest from the page.
 *
 * Why not vite-plugin-pwa: it brings Workbox, a large runtime and build chain,
 * to do three things this app needs (precache a fixed list, answer from it,
 * drop old versions). A hundred lines of our own service worker are easier to
 * audit, which matters for code that sits between the page and the network.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Plugin, Rolldown } from 'vite';
import { MANIFEST_FILE, SERVICE_WORKER_FILE } from '../../web/pwa/hosting.ts';
import { WEB_APP_MANIFEST } from '../../web/pwa/manifest.ts';
import type { PrecacheManifest } from '../../web/pwa/precache-manifest.ts';
import { bundleClassicScript } from './classic-script.ts';

const SERVICE_WORKER_ENTRY = fileURLToPath(new URL('../../web/pwa/service-worker.ts', import.meta.url));

/** Files of the build, by name, with their bytes. */
type BuildFiles = Map<string, string | Uint8Array>;

/**
 * The precache list and its version: a digest over every file's name and
 * bytes, in name order, and over the service worker's own code, so a change
 * to either makes a new cache (and a worker whose install fails can drop its
 * cache without touching the one the running worker answers from).
 */
export function precacheManifestOf(files: BuildFiles, serviceWorkerSource = ''): PrecacheManifest {
  const names = [...files.keys()].sort();
  const digest = createHash('sha256');
  digest.update(`${serviceWorkerSource.length}\0${serviceWorkerSource}`);
  for (const name of names) {
    const content = files.get(name) ?? '';
    digest.update(`${name}\0${content.length}\0`);
    digest.update(content);
  }
  return { version: digest.digest('hex').slice(0, 16), files: names };
}

function filesOf(bundle: Rolldown.OutputBundle): BuildFiles {
  const files: BuildFiles = new Map();
  for (const [name, item] of Object.entries(bundle)) {
    if (name === SERVICE_WORKER_FILE || name.endsWith('.map')) continue;
    files.set(name, item.type === 'chunk' ? item.code : item.source);
  }
  return files;
}

/** Emit manifest.webmanifest and sw.js, and link the manifest from index.html. */
export function serviceWorker(): Plugin {
  let root = process.cwd();
  return {
    name: 'preflight:service-worker',
    apply: 'build',
    configResolved(config) {
      root = config.root;
    },
    transformIndexHtml: () => [{ tag: 'link', attrs: { rel: 'manifest', href: `./${MANIFEST_FILE}` }, injectTo: 'head' }],
    generateBundle: {
      order: 'post',
      async handler(_options, bundle) {
        const manifestSource = `${JSON.stringify(WEB_APP_MANIFEST, null, 2)}\n`;
        this.emitFile({ type: 'asset', fileName: MANIFEST_FILE, source: manifestSource });
        const files = filesOf(bundle);
        files.set(MANIFEST_FILE, manifestSource);
        const precache = precacheManifestOf(files, await readFile(SERVICE_WORKER_ENTRY, 'utf8'));
        const code = await bundleClassicScript(SERVICE_WORKER_ENTRY, {
          root,
          define: { __PREFLIGHT_PRECACHE__: JSON.stringify(precache) },
        });
        this.emitFile({ type: 'asset', fileName: SERVICE_WORKER_FILE, source: code });
      },
    },
  };
}
