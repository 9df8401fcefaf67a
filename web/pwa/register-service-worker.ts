/**
 * Registers the offline service worker (web/pwa/service-worker.ts, built to
 * sw.js beside index.html). Relative to the page, so the app works offline
 * under whatever sub-path it is hosted, with the folder as its scope.
 *
 * Registration needs no `connect-src`: the script is fetched under the page's
 * `worker-src 'self'`. The page enforces Trusted Types, and register() is a
 * script-URL sink, so a policy of its own admits exactly the one URL.
 */
import { SERVICE_WORKER_FILE } from './hosting.ts';

/** Listed in the page's `trusted-types` directive (index.html). */
const SERVICE_WORKER_URL_POLICY = 'preflight-service-worker';

interface ScriptUrlPolicyFactory {
  createPolicy(name: string, rules: { createScriptURL(input: string): string }): { createScriptURL(input: string): unknown };
}

function trustedServiceWorkerUrl(scriptUrl: string): string {
  const factory = (globalThis as { trustedTypes?: ScriptUrlPolicyFactory }).trustedTypes;
  const policy = factory?.createPolicy(SERVICE_WORKER_URL_POLICY, {
    createScriptURL(input) {
      if (input !== scriptUrl) throw new TypeError(`Refusing to register a service worker from ${input}`);
      return input;
    },
  });
  // A TrustedScriptURL is accepted wherever the DOM types say string.
  return (policy ? policy.createScriptURL(scriptUrl) : scriptUrl) as string;
}

/**
 * Register once the page has loaded, so precaching does not compete with the
 * first paint. Pages where service workers cannot run (file://, plain http on
 * another host, private modes that disable them) simply stay online-only.
 */
export function registerServiceWorker(): void {
  const container = typeof navigator !== 'undefined' ? navigator.serviceWorker : undefined;
  if (!container || !window.isSecureContext) return;
  const register = () => {
    const scriptUrl = new URL(SERVICE_WORKER_FILE, document.baseURI).href;
    container.register(trustedServiceWorkerUrl(scriptUrl), { scope: './' }).catch((error: unknown) => {
      console.warn('Preflight could not install its offline service worker; it still works online.', error);
    });
  };
  if (document.readyState === 'complete') register();
  else window.addEventListener('load', register, { once: true });
}
