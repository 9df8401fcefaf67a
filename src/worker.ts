/**
 * The scan worker: one file at a time, off the main thread. DOM-free; the page
 * talks to it only through web/worker-bridge.ts (Comlink). Cancelling a scan
 * terminates the whole worker, so nothing here needs to watch for aborts.
 */
import { expose, releaseProxy, type Remote } from 'comlink';
import { createWasmSha256 } from './hash/sha256.ts';
import { createBlobSource } from './io/blob-source.ts';
import type { FileReport } from './report/types.ts';
import { scanSource, type ScanProgress } from './scan.ts';

export type HeaderCallback = (report: FileReport) => void;
export type ProgressCallback = (progress: ScanProgress) => void;

export interface ScanWorkerApi {
  /**
   * Scan `file`: `onHeader` gets the header report (no hash yet) as soon as it
   * is inspected, `onProgress` follows the streaming pass, and the promise
   * resolves with the full report. `path` overrides the displayed name (files
   * found by walking a dropped folder carry their path outside the File).
   */
  scanFile(file: File, path: string | undefined, onHeader: HeaderCallback, onProgress: ProgressCallback): Promise<FileReport>;
}

/** The name a report shows: an explicit path, else the path inside a picked folder, else the file name. */
export function displayPathOf(file: File, path?: string): string {
  if (path) return path;
  return file.webkitRelativePath || file.name;
}

/** Callbacks arrive as Comlink proxies: each holds a message port until released. */
type MaybeRemote<T> = T | Remote<T>;

function release(callback: MaybeRemote<(...args: never[]) => void>): void {
  const releasable = callback as Partial<Remote<() => void>>;
  releasable[releaseProxy]?.();
}

/**
 * Fire and forget: the pass never waits for the page, and a page callback that
 * fails (over Comlink, a rejected promise) never fails the scan. Each callback
 * has its own port, so the page may see a call after the result; it ignores those.
 */
function notify<T>(callback: (value: T) => void, value: T): void {
  try {
    Promise.resolve(callback(value) as unknown).catch(() => undefined);
  } catch {
    // A local (non-Comlink) callback that throws is the caller's problem, not the scan's.
  }
}

const api: ScanWorkerApi = {
  async scanFile(file, path, onHeader, onProgress) {
    try {
      return await scanSource(createBlobSource(file, displayPathOf(file, path)), {
        createSha256: createWasmSha256,
        onHeader: (report) => notify(onHeader, report),
        onProgress: (progress) => notify(onProgress, progress),
      });
    } finally {
      release(onHeader);
      release(onProgress);
    }
  },
};

// Only when running as a worker: importing this module for its types must have no effect.
if (typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope) {
  expose(api);
  // Compile the hasher's Wasm while the worker waits for its first file, not after.
  createWasmSha256().catch(() => undefined);
}
