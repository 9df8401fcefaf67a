import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig, type Plugin, type UserConfig } from 'vite';
import { serviceWorker } from './scripts/vite-plugins/service-worker.ts';
import { singleFile } from './scripts/vite-plugins/single-file.ts';
import { SERVICE_WORKER_FILE, SERVICE_WORKER_POLICY, SINGLE_FILE_MODE, SINGLE_FILE_NAME, SINGLE_FILE_OUT_DIR } from './web/pwa/hosting.ts';

const INDEX_HTML = fileURLToPath(new URL('./index.html', import.meta.url));
const CSP_META = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"\s*\/?>\s*/i;

/** The policy written in index.html: the one place it is defined. */
function contentSecurityPolicy(): string {
  const match = CSP_META.exec(readFileSync(INDEX_HTML, 'utf8'));
  if (!match) throw new Error('index.html has no Content-Security-Policy meta tag');
  return match[1];
}

/**
 * The dev server needs what the policy forbids (an HMR websocket, injected
 * <style> tags), so the meta tag is dropped under `vite` only. Builds keep it,
 * and the browser tests run against the build.
 */
function relaxPolicyForDevServer(): Plugin {
  return {
    name: 'preflight:dev-without-csp',
    apply: 'serve',
    transformIndexHtml: (html) => html.replace(CSP_META, ''),
  };
}

/**
 * `vite preview` serves the policy the way a careful host should: a meta tag
 * binds the document only and a worker takes the policy of its own response,
 * so the page's policy goes out as a header too, except on sw.js, which must
 * fetch what it precaches and gets its own (web/pwa/hosting.ts).
 */
function previewPolicyHeaders(): Plugin {
  const pagePolicy = contentSecurityPolicy();
  return {
    name: 'preflight:preview-policy-headers',
    configurePreviewServer(server) {
      server.middlewares.use((request, response: ServerResponse, next) => {
        const path = new URL(request.url ?? '/', 'http://preview.invalid').pathname;
        const isServiceWorker = path.endsWith(`/${SERVICE_WORKER_FILE}`);
        response.setHeader('Content-Security-Policy', isServiceWorker ? SERVICE_WORKER_POLICY : pagePolicy);
        next();
      });
    },
  };
}

/** Options both builds share. */
const shared = {
  // Relative asset URLs: the built page works from any sub-path or a file share.
  base: './',
} satisfies UserConfig;

/** `vite build`: dist/ for any static host, offline after the first visit. */
const hostedApp: UserConfig = {
  ...shared,
  plugins: [preact(), relaxPolicyForDevServer(), serviceWorker(), previewPolicyHeaders()],
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    sourcemap: false,
  },
};

/**
 * `vite build --mode single-file`: dist-single/preflight.html, one file that
 * works saved to disk and opened from file:// (scripts/vite-plugins/single-file.ts).
 */
const singleFileApp: UserConfig = {
  ...shared,
  plugins: [preact(), singleFile({ fileName: SINGLE_FILE_NAME })],
  build: {
    outDir: SINGLE_FILE_OUT_DIR,
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    cssCodeSplit: false,
    modulePreload: false,
    assetsInlineLimit: () => true,
    reportCompressedSize: false,
    rolldownOptions: { output: { codeSplitting: false } },
  },
};

export default defineConfig(({ mode }) => (mode === SINGLE_FILE_MODE ? singleFileApp : hostedApp));
