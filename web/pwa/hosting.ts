/**
 * Facts about how the built app is laid out and served, shared by the Vite
 * config, the build plugins, the page and the tests, so each is written once.
 */

/** The service worker's file, beside index.html: its scope is the folder the app lives in. */
export const SERVICE_WORKER_FILE = 'sw.js';

/** The web app manifest, beside index.html. */
export const MANIFEST_FILE = 'manifest.webmanifest';

/**
 * The policy a host should send with sw.js. A worker script is bound by the
 * policy of its own response, not the page's: the page's `connect-src 'none'`
 * would stop the service worker from fetching the files it precaches, so it
 * gets its own, which allows exactly that (same origin) and nothing else.
 */
export const SERVICE_WORKER_POLICY = "default-src 'none'; connect-src 'self'; require-trusted-types-for 'script'; trusted-types 'none'";

/**
 * `vite build --mode single-file`: one self-contained HTML file, no service
 * worker. Code tells the builds apart with `import.meta.env.MODE === SINGLE_FILE_MODE`,
 * which the build folds to a constant, so the other build's branch is dropped.
 */
export const SINGLE_FILE_MODE = 'single-file';

/** The single-file build's output folder and file. */
export const SINGLE_FILE_OUT_DIR = 'dist-single';
export const SINGLE_FILE_NAME = 'preflight.html';

