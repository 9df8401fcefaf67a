import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPickleMachine, type PickleMachineOptions, type PickleScanResult } from '../../src/pickle/machine.ts';

/** Scans `bytes` in one push (or in `chunkSizes`, cycled) and returns the result. */
export function scan(bytes: Uint8Array, options: PickleMachineOptions = {}, chunkSizes: number[] = []): PickleScanResult {
  const machine = createPickleMachine(options);
  if (chunkSizes.length === 0) {
    machine.push(bytes);
  } else {
    let position = 0;
    let turn = 0;
    while (position < bytes.length) {
      const size = Math.max(1, chunkSizes[turn++ % chunkSizes.length]);
      machine.push(bytes.subarray(position, position + size));
      position += size;
    }
  }
  return machine.finish();
}

/** `module.name` of each import, in order. */
export function importNames(result: PickleScanResult): string[] {
  return result.imports.map((entry) => `${entry.module}.${entry.name}`);
}

/** A deterministic pseudo-random generator (xorshift32), so failures reproduce. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x100000000;
  };
}

/** Bytes of a committed fixture in test/fixtures/pickle. */
export function readFixture(file: string): Uint8Array {
  return new Uint8Array(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'pickle', file)));
}
