/** What the service worker precaches: written into sw.js at build time. */
export interface PrecacheManifest {
  /** A digest of every precached file's name and bytes and of the service worker's code: a new deploy gets a new cache. */
  version: string;
  /** Paths relative to sw.js (and index.html), e.g. `index.html`, `assets/worker-1a2b3c.js`. */
  files: string[];
}
