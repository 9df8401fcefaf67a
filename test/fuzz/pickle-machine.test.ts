import { describe, expect, it } from 'vitest';
import { runPickleFuzz } from './pickle-fuzz.ts';

describe('pickle machine fuzz (fixed budget; `npm run fuzz` runs a long campaign)', () => {
  it('scans 100,000 mutated and random small pickles without a trap, with offsets in range and chunk invariance', () => {
    const summary = runPickleFuzz({ seed: 20250101, maxInputs: 100_000, maxMilliseconds: 90_000, chunkCheckEvery: 50, maxFailures: 5, maxSeedBytes: 1_024 });
    expect(summary.failures).toEqual([]);
    expect(summary.inputs).toBe(100_000);
    // Bounded time: no single input of a few KB may take long.
    expect(summary.slowestMilliseconds).toBeLessThan(1_000);
    // The campaign reaches the machine's error paths, not only clean pickles.
    expect(Object.keys(summary.errorCodes).length).toBeGreaterThan(8);
  }, 120_000);

  it('scans 4,000 mutations of the real fixtures (every protocol, numpy, torch) without a trap', () => {
    const summary = runPickleFuzz({ seed: 7, maxInputs: 4_000, maxMilliseconds: 60_000, chunkCheckEvery: 20, maxFailures: 5, maxSeedBytes: 16_384 });
    expect(summary.failures).toEqual([]);
    expect(summary.inputs).toBe(4_000);
    expect(summary.imports).toBeGreaterThan(4_000);
  }, 120_000);
});
