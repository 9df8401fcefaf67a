import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig, type Plugin } from 'vite';

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

export default defineConfig({
  // Relative asset URLs: the built page works from any sub-path or a file share.
  base: './',
  plugins: [preact(), relaxPolicyForDevServer()],
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    sourcemap: false,
  },
  preview: {
    // A meta tag binds the document only; a worker script takes the policy of its
    // own response, so the preview server sends the same policy as a header.
    headers: { 'Content-Security-Policy': contentSecurityPolicy() },
  },
});
