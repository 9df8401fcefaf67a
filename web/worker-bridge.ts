/**
 * The one module that talks to scan workers. It keeps a small pool (several
 * files scan in parallel, the rest wait in a queue), wraps Comlink, forwards
 * header and progress callbacks, and honours an AbortSignal per file: aborting
 * a running scan terminates its worker, and a fresh one takes its place for the
 * next file in the queue.
 */
import { proxy, wrap, type Remote } from 'comlink';
import type { ScanProgress } from '../src/scan.ts';
import type { FileReport } from '../src/report/types.ts';
import type { ScanWorkerApi } from '../src/worker.ts';
import scanWorkerUrl from '../src/worker.ts?worker&url';
import { SINGLE_FILE_MODE } from './pwa/hosting.ts';

export type { ScanProgress } from '../src/scan.ts';

/**
 * Past this many workers the disk, not the CPU, is the limit, and each worker
 * costs a Wasm instance and two read buffers of memory.
 */
const MAX_WORKERS = 8;

export interface ScanRequest {
  file: File;
  /** Path to show instead of the file's own (files found by walking a dropped folder). */
  path?: string;
  signal?: AbortSignal;
  /** The job left the queue: a worker is reading the file now. */
  onStart?(): void;
  /** Header report (no hash yet), within milliseconds of `onStart`. */
  onHeader?(report: FileReport): void;
  onProgress?(progress: ScanProgress): void;
}

export interface ScanPool {
  /** Resolves with the full report; rejects with an AbortError when the signal fires. */
  scan(request: ScanRequest): Promise<FileReport>;
  /** Start one idle worker ahead of the first file, so its first header does not wait for a worker to boot. */
  warmUp(): void;
  /** Terminate every worker and reject everything still queued or running. */
  dispose(): void;
}

export interface ScanPoolOptions {
  maxWorkers?: number;
  createWorker?: () => Worker;
}

interface Slot {
  worker: Worker;
  api: Remote<ScanWorkerApi>;
  busy: boolean;
}

interface Job {
  request: ScanRequest;
  resolve(report: FileReport): void;
  reject(error: unknown): void;
}

/**
 * The page enforces Trusted Types (see index.html): a worker script URL must
 * come from a named policy, and this one admits exactly one URL, the bundled
 * scan worker. Browsers without Trusted Types get the plain string.
 */
const WORKER_URL_POLICY = 'preflight-worker';

interface ScriptUrlPolicyFactory {
  createPolicy(name: string, rules: { createScriptURL(input: string): string }): { createScriptURL(input: string): unknown };
}

let trustedScanWorkerUrl: unknown = null;

function scanWorkerScriptUrl(): string {
  if (trustedScanWorkerUrl === null) {
    const factory = (globalThis as { trustedTypes?: ScriptUrlPolicyFactory }).trustedTypes;
    const policy = factory?.createPolicy(WORKER_URL_POLICY, {
      createScriptURL(input) {
        if (input !== scanWorkerUrl) throw new TypeError(`Refusing to start a worker from ${input}`);
        return input;
      },
    });
    trustedScanWorkerUrl = policy ? policy.createScriptURL(scanWorkerUrl) : scanWorkerUrl;
  }
  // A TrustedScriptURL is accepted wherever the DOM types say string.
  return trustedScanWorkerUrl as string;
}

/**
 * A worker running src/worker.ts, bundled by Vite through the `?worker&url`
 * import: a module script beside the page, or, in the single-file build, a
 * Blob URL of one classic script (scripts/vite-plugins/single-file.ts), since
 * a module worker from a Blob URL cannot start on a file:// page.
 */
export function createScanWorker(): Worker {
  const type: WorkerType = import.meta.env.MODE === SINGLE_FILE_MODE ? 'classic' : 'module';
  return new Worker(scanWorkerScriptUrl(), { type, name: 'preflight-scan' });
}

export function defaultPoolSize(): number {
  const cores = typeof navigator !== 'undefined' ? navigator.hardwareConcurrency : 0;
  return Math.min(MAX_WORKERS, Math.max(1, cores || 2));
}

export function createScanPool(options: ScanPoolOptions = {}): ScanPool {
  const maxWorkers = Math.max(1, options.maxWorkers ?? defaultPoolSize());
  const createWorker = options.createWorker ?? createScanWorker;
  const slots: Slot[] = [];
  const queue: Job[] = [];
  const running = new Set<() => void>();

  function takeSlot(): Slot | null {
    const idle = slots.find((slot) => !slot.busy);
    if (idle) return idle;
    if (slots.length >= maxWorkers) return null;
    const worker = createWorker();
    const slot: Slot = { worker, api: wrap<ScanWorkerApi>(worker), busy: false };
    slots.push(slot);
    return slot;
  }

  function retire(slot: Slot): void {
    slot.worker.terminate();
    const index = slots.indexOf(slot);
    if (index >= 0) slots.splice(index, 1);
  }

  function pump(): void {
    while (queue.length > 0) {
      const next = queue[0];
      if (next.request.signal?.aborted) {
        queue.shift();
        next.reject(abortReason(next.request.signal));
        continue;
      }
      const slot = takeSlot();
      if (!slot) return;
      queue.shift();
      run(slot, next);
    }
  }

  function run(slot: Slot, job: Job): void {
    const { request } = job;
    slot.busy = true;
    let settled = false;

    const settle = (outcome: () => void, workerIsHealthy: boolean) => {
      if (settled) return;
      settled = true;
      request.signal?.removeEventListener('abort', onAbort);
      slot.worker.removeEventListener('error', onWorkerError);
      running.delete(onDispose);
      if (workerIsHealthy) slot.busy = false;
      else retire(slot);
      outcome();
      pump();
    };
    const onAbort = () => settle(() => job.reject(abortReason(request.signal)), false);
    const onWorkerError = (event: ErrorEvent) => {
      event.preventDefault();
      const reason = event.message || 'the worker could not start or crashed';
      settle(() => job.reject(new Error(`Scan worker failed: ${reason}`)), false);
    };
    const onDispose = () => settle(() => job.reject(new DOMException('The scan pool was disposed', 'AbortError')), false);

    request.signal?.addEventListener('abort', onAbort, { once: true });
    slot.worker.addEventListener('error', onWorkerError);
    running.add(onDispose);
    request.onStart?.();

    // Callbacks that arrive after the result (they travel on their own ports) are dropped.
    const onHeader = proxy((report: FileReport) => {
      if (!settled) request.onHeader?.(report);
    });
    const onProgress = proxy((progress: ScanProgress) => {
      if (!settled) request.onProgress?.(progress);
    });
    slot.api.scanFile(request.file, request.path, onHeader, onProgress).then(
      (report) => settle(() => job.resolve(report), true),
      (error: unknown) => settle(() => job.reject(error), true),
    );
  }

  return {
    scan(request) {
      return new Promise<FileReport>((resolve, reject) => {
        queue.push({ request, resolve, reject });
        pump();
      });
    },
    warmUp() {
      if (slots.length === 0) takeSlot();
    },
    dispose() {
      for (const job of queue.splice(0)) job.reject(new DOMException('The scan pool was disposed', 'AbortError'));
      for (const cancel of [...running]) cancel();
      for (const slot of [...slots]) retire(slot);
    },
  };
}

/** True for the rejection of a cancelled scan. */
export function isAbortError(error: unknown): boolean {
  return (error instanceof DOMException || error instanceof Error) && error.name === 'AbortError';
}

function abortReason(signal: AbortSignal | undefined): unknown {
  const reason: unknown = signal?.reason;
  return reason instanceof Error || reason instanceof DOMException ? reason : new DOMException('Scan cancelled', 'AbortError');
}
