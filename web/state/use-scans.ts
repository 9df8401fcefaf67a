import { useCallback, useEffect, useReducer, useRef } from 'preact/hooks';
import { createScanPool, isAbortError, type ScanPool } from '../worker-bridge.ts';
import { pickedPath, type FileToScan } from '../lib/expectation-files.ts';
import { scansReducer, type FileScan } from './scans.ts';

export interface ScansController {
  scans: FileScan[];
  addFiles(files: readonly FileToScan[]): void;
  cancel(id: number): void;
  /** Cancel everything still running and forget every file. */
  clear(): void;
}

/** The list of scans and the actions on it; owns the worker pool and one AbortController per file. */
export function useScans(): ScansController {
  const [scans, dispatch] = useReducer(scansReducer, []);
  const pool = useRef<ScanPool | null>(null);
  const controllers = useRef(new Map<number, AbortController>());
  const nextId = useRef(1);

  useEffect(() => {
    pool.current ??= createScanPool();
    pool.current.warmUp();
    return () => pool.current?.dispose();
  }, []);

  const addFiles = useCallback((files: readonly FileToScan[]) => {
    if (files.length === 0) return;
    pool.current ??= createScanPool();
    const added = files.map(({ picked, expectationSource }) => ({
      id: nextId.current++,
      path: pickedPath(picked),
      size: picked.file.size,
      picked,
      ...(expectationSource !== undefined ? { expectationSource } : {}),
    }));
    dispatch({ type: 'added', scans: added.map(({ picked: _picked, ...scan }) => scan) });
    for (const { id, picked } of added) {
      const controller = new AbortController();
      controllers.current.set(id, controller);
      pool.current
        .scan({
          file: picked.file,
          path: picked.path,
          signal: controller.signal,
          onStart: () => dispatch({ type: 'started', id }),
          onHeader: (report) => dispatch({ type: 'header', id, report, at: performance.now() }),
          onProgress: (progress) => dispatch({ type: 'progress', id, progress, at: performance.now() }),
        })
        .then(
          (report) => dispatch({ type: 'finished', id, report, at: performance.now() }),
          (error: unknown) =>
            dispatch(
              isAbortError(error)
                ? { type: 'cancelled', id, at: performance.now() }
                : { type: 'failed', id, message: error instanceof Error ? error.message : String(error), at: performance.now() },
            ),
        )
        .finally(() => controllers.current.delete(id));
    }
  }, []);

  const cancel = useCallback((id: number) => controllers.current.get(id)?.abort(), []);

  const clear = useCallback(() => {
    for (const controller of controllers.current.values()) controller.abort();
    dispatch({ type: 'cleared' });
  }, []);

  return { scans, addFiles, cancel, clear };
}
