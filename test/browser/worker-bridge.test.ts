/**
 * The worker pool, with fake workers: each is one end of a MessageChannel
 * whose other end is exposed with Comlink, so the bridge talks real Comlink
 * while the test decides when each scan reports, finishes or fails.
 */
import { expose } from 'comlink';
import { describe, expect, it, vi } from 'vitest';
import type { FileReport } from '../../src/report/types.ts';
import { createScanPool, isAbortError, type ScanRequest } from '../../web/worker-bridge.ts';

interface RunningScan {
  path: string | undefined;
  worker: FakeWorkerState;
  onHeader(report: FileReport): Promise<void>;
  onProgress(progress: { bytesDone: number; bytesTotal: number }): Promise<void>;
  finish(report: FileReport): void;
  fail(error: Error): void;
}

interface FakeWorkerState {
  id: number;
  terminated: boolean;
  port: MessagePort;
}

function reportFor(path: string): FileReport {
  return { path, size: 1, format: 'unknown', sha256: 'ab'.repeat(32), verdict: 'clean', findings: [], tensors: [], metadata: {} };
}

function createFakeWorkers() {
  const workers: FakeWorkerState[] = [];
  const running: RunningScan[] = [];
  const createWorker = (): Worker => {
    const { port1, port2 } = new MessageChannel();
    const state: FakeWorkerState = { id: workers.length + 1, terminated: false, port: port1 };
    workers.push(state);
    expose(
      {
        scanFile: (_file: File, path: string | undefined, onHeader: RunningScan['onHeader'], onProgress: RunningScan['onProgress']) =>
          new Promise<FileReport>((finish, fail) => running.push({ path, worker: state, onHeader, onProgress, finish, fail })),
      },
      port2,
    );
    return Object.assign(port1, {
      terminate() {
        state.terminated = true;
        port1.close();
        port2.close();
      },
    }) as unknown as Worker;
  };
  const scanOf = async (path: string) => {
    await vi.waitFor(() => expect(running.some((scan) => scan.path === path)).toBe(true));
    return running.find((scan) => scan.path === path)!;
  };
  return { workers, running, createWorker, scanOf };
}

function request(path: string, extra: Partial<ScanRequest> = {}): ScanRequest {
  return { file: new File([new Uint8Array(1)], path), path, ...extra };
}

/** Let queued messages cross the channels. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('createScanPool', () => {
  it('runs at most maxWorkers scans at once and starts the queue in order', async () => {
    const fakes = createFakeWorkers();
    const pool = createScanPool({ maxWorkers: 2, createWorker: fakes.createWorker });
    const started: string[] = [];
    const results = ['a', 'b', 'c'].map((path) => pool.scan(request(path, { onStart: () => started.push(path) })));

    await fakes.scanOf('a');
    await fakes.scanOf('b');
    await settle();
    expect(fakes.running.map((scan) => scan.path)).toEqual(['a', 'b']);
    expect(started).toEqual(['a', 'b']);
    expect(fakes.workers).toHaveLength(2);

    (await fakes.scanOf('a')).finish(reportFor('a'));
    await expect(results[0]).resolves.toMatchObject({ path: 'a' });
    const third = await fakes.scanOf('c');
    expect(third.worker.id).toBe(1);
    expect(fakes.workers).toHaveLength(2);

    (await fakes.scanOf('b')).finish(reportFor('b'));
    third.finish(reportFor('c'));
    await expect(Promise.all(results)).resolves.toHaveLength(3);
    pool.dispose();
  });

  it('warms up one idle worker that the first scan then uses', async () => {
    const fakes = createFakeWorkers();
    const pool = createScanPool({ maxWorkers: 2, createWorker: fakes.createWorker });
    pool.warmUp();
    pool.warmUp();
    expect(fakes.workers).toHaveLength(1);
    const result = pool.scan(request('a'));
    const scan = await fakes.scanOf('a');
    expect(scan.worker.id).toBe(1);
    expect(fakes.workers).toHaveLength(1);
    scan.finish(reportFor('a'));
    await expect(result).resolves.toMatchObject({ path: 'a' });
    pool.dispose();
  });

  it('forwards header and progress, and drops callbacks that arrive after the result', async () => {
    const fakes = createFakeWorkers();
    const pool = createScanPool({ maxWorkers: 1, createWorker: fakes.createWorker });
    const onHeader = vi.fn();
    const onProgress = vi.fn();
    const result = pool.scan(request('model.safetensors', { onHeader, onProgress }));
    const scan = await fakes.scanOf('model.safetensors');

    await scan.onHeader(reportFor('model.safetensors'));
    await scan.onProgress({ bytesDone: 5, bytesTotal: 10 });
    expect(onHeader).toHaveBeenCalledWith(reportFor('model.safetensors'));
    expect(onProgress).toHaveBeenCalledWith({ bytesDone: 5, bytesTotal: 10 });

    scan.finish(reportFor('model.safetensors'));
    await result;
    await scan.onProgress({ bytesDone: 10, bytesTotal: 10 });
    expect(onProgress).toHaveBeenCalledTimes(1);
    pool.dispose();
  });

  it('rejects a queued scan on abort without ever starting it', async () => {
    const fakes = createFakeWorkers();
    const pool = createScanPool({ maxWorkers: 1, createWorker: fakes.createWorker });
    const first = pool.scan(request('first'));
    const controller = new AbortController();
    const onStart = vi.fn();
    const queued = pool.scan(request('queued', { signal: controller.signal, onStart }));
    await fakes.scanOf('first');

    controller.abort();
    (await fakes.scanOf('first')).finish(reportFor('first'));
    await first;
    const error = await queued.catch((reason: unknown) => reason);
    expect(isAbortError(error)).toBe(true);
    await settle();
    expect(onStart).not.toHaveBeenCalled();
    expect(fakes.running.map((scan) => scan.path)).toEqual(['first']);
    pool.dispose();
  });

  it('terminates the worker of an aborted scan and runs the next file on a fresh one', async () => {
    const fakes = createFakeWorkers();
    const pool = createScanPool({ maxWorkers: 1, createWorker: fakes.createWorker });
    const controller = new AbortController();
    const cancelled = pool.scan(request('big', { signal: controller.signal }));
    const next = pool.scan(request('next'));
    const big = await fakes.scanOf('big');

    controller.abort();
    const error = await cancelled.catch((reason: unknown) => reason);
    expect(isAbortError(error)).toBe(true);
    expect(big.worker.terminated).toBe(true);

    const following = await fakes.scanOf('next');
    expect(following.worker.id).toBe(2);
    following.finish(reportFor('next'));
    await expect(next).resolves.toMatchObject({ path: 'next' });
    pool.dispose();
  });

  it('rejects an already aborted request at once', async () => {
    const fakes = createFakeWorkers();
    const pool = createScanPool({ maxWorkers: 1, createWorker: fakes.createWorker });
    const error = await pool.scan(request('never', { signal: AbortSignal.abort() })).catch((reason: unknown) => reason);
    expect(isAbortError(error)).toBe(true);
    expect(fakes.workers).toHaveLength(0);
    pool.dispose();
  });

  it('turns a worker crash into a rejection and replaces the worker', async () => {
    const fakes = createFakeWorkers();
    const pool = createScanPool({ maxWorkers: 1, createWorker: fakes.createWorker });
    const crashed = pool.scan(request('crash'));
    const next = pool.scan(request('after'));
    const scan = await fakes.scanOf('crash');

    scan.worker.port.dispatchEvent(Object.assign(new Event('error', { cancelable: true }), { message: 'out of memory' }));
    await expect(crashed).rejects.toThrow('Scan worker failed: out of memory');
    expect(scan.worker.terminated).toBe(true);
    const following = await fakes.scanOf('after');
    expect(following.worker.id).toBe(2);
    following.finish(reportFor('after'));
    await expect(next).resolves.toMatchObject({ path: 'after' });
    pool.dispose();
  });

  it('passes a scan error from the worker through, and keeps the worker', async () => {
    const fakes = createFakeWorkers();
    const pool = createScanPool({ maxWorkers: 1, createWorker: fakes.createWorker });
    const failing = pool.scan(request('bad'));
    (await fakes.scanOf('bad')).fail(new Error('internal bug'));
    await expect(failing).rejects.toThrow('internal bug');

    const next = pool.scan(request('good'));
    const scan = await fakes.scanOf('good');
    expect(scan.worker.id).toBe(1);
    scan.finish(reportFor('good'));
    await expect(next).resolves.toMatchObject({ path: 'good' });
    pool.dispose();
  });

  it('rejects everything running or queued on dispose and terminates the workers', async () => {
    const fakes = createFakeWorkers();
    const pool = createScanPool({ maxWorkers: 1, createWorker: fakes.createWorker });
    const running = pool.scan(request('running'));
    const queued = pool.scan(request('queued'));
    await fakes.scanOf('running');

    pool.dispose();
    const errors = await Promise.all([running, queued].map((scan) => scan.catch((reason: unknown) => reason)));
    expect(errors.every(isAbortError)).toBe(true);
    expect(fakes.workers.every((worker) => worker.terminated)).toBe(true);
  });
});
