/**
 * One fuzz campaign over the pickle machine, shared by the test run (a fixed
 * budget) and `npm run fuzz` (a long one). Each input is scanned in one push
 * and checked: nothing throws (a Wasm trap would), every reported offset lies
 * in the stream, every byte is accounted for, and a sample is re-scanned in
 * random chunks to check chunk invariance.
 */
import { createPickleMachine, type PickleScanResult } from '../../src/pickle/machine.ts';
import { createRandom, scan } from '../pickle/scan-helpers.ts';
import type { PickleMachineOptions } from '../../src/pickle/machine.ts';
import { JOBLIB_WRAPPER, loadSeeds, mutate, randomPickle } from './pickle-mutator.ts';

/** Pauses after joblib wrapper BUILDs and skips a few raw bytes, a deterministic function of the offset. */
const MACHINE_OPTIONS: PickleMachineOptions = {
  pauseAfterBuildOf: [JOBLIB_WRAPPER],
  onBuildPause: (build) => ({ bytes: build.offset % 7, paddingPrefix: build.offset % 2 === 0 }),
};

export interface FuzzSummary {
  inputs: number;
  bytes: number;
  failures: { seed: number; input: number; problem: string; bytes: string }[];
  slowestMilliseconds: number;
  errorCodes: Record<string, number>;
  imports: number;
}

export interface FuzzOptions {
  seed: number;
  /** Stop after this many inputs … */
  maxInputs: number;
  /** … or after this many milliseconds, whichever comes first. */
  maxMilliseconds: number;
  /** Re-scan one input in this many in random chunks. */
  chunkCheckEvery: number;
  /** Stop at this many failures. */
  maxFailures: number;
  /** Fixtures larger than this are not used as seeds (smaller inputs, more of them per second). */
  maxSeedBytes?: number;
}

function problemsOf(result: PickleScanResult, length: number): string[] {
  const problems: string[] = [];
  if (result.bytesScanned !== length) problems.push(`bytesScanned ${result.bytesScanned} != ${length}`);
  const offsets = [
    ...result.imports.map((entry) => entry.offset),
    ...result.calls.map((entry) => entry.offset),
    ...result.errors.map((entry) => entry.offset),
    ...result.frames.map((entry) => entry.offset),
    ...result.pickles.map((entry) => entry.offset),
  ];
  for (const offset of offsets) {
    if (!(offset >= 0 && offset <= length)) problems.push(`offset ${offset} outside [0, ${length}]`);
  }
  return problems;
}

export function runPickleFuzz(options: FuzzOptions): FuzzSummary {
  const random = createRandom(options.seed);
  const seeds = loadSeeds(options.maxSeedBytes);
  const summary: FuzzSummary = { inputs: 0, bytes: 0, failures: [], slowestMilliseconds: 0, errorCodes: {}, imports: 0 };
  const started = performance.now();
  while (summary.inputs < options.maxInputs && performance.now() - started < options.maxMilliseconds && summary.failures.length < options.maxFailures) {
    const input =
      random() < 0.2 ? randomPickle(random) : mutate(seeds[Math.floor(random() * seeds.length)], seeds, random);
    const index = summary.inputs++;
    summary.bytes += input.length;
    const fail = (problem: string) =>
      summary.failures.push({ seed: options.seed, input: index, problem, bytes: Buffer.from(input).toString('base64') });
    const before = performance.now();
    let result: PickleScanResult;
    try {
      const machine = createPickleMachine(MACHINE_OPTIONS);
      machine.push(input);
      result = machine.finish();
    } catch (error) {
      fail(`threw: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    summary.slowestMilliseconds = Math.max(summary.slowestMilliseconds, performance.now() - before);
    summary.imports += result.imports.length;
    for (const error of result.errors) summary.errorCodes[error.code] = (summary.errorCodes[error.code] ?? 0) + 1;
    for (const problem of problemsOf(result, input.length)) fail(problem);
    if (index % options.chunkCheckEvery === 0) {
      const sizes = Array.from({ length: 7 }, () => 1 + Math.floor(random() * 12));
      try {
        const chunked = scan(input, MACHINE_OPTIONS, sizes);
        if (JSON.stringify(chunked) !== JSON.stringify(result)) fail(`chunking ${sizes.join(',')} changed the result`);
      } catch (error) {
        fail(`chunked scan threw: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  return summary;
}
