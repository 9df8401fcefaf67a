/**
 * A long fuzz campaign over the pickle machine: `npm run fuzz -- --seconds 600 --seed 7`.
 * Prints a summary; exits 1 with the failing inputs (base64) when any input
 * traps, reports an offset outside the stream, or scans differently in chunks.
 */
import { runPickleFuzz } from './pickle-fuzz.ts';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} needs a non-negative number`);
  return value;
}

const seconds = option('seconds', 120);
const seed = option('seed', Date.now() % 0x7fffffff);
const summary = runPickleFuzz({
  seed,
  maxInputs: option('inputs', Number.MAX_SAFE_INTEGER),
  maxMilliseconds: seconds * 1000,
  chunkCheckEvery: option('chunk-every', 20),
  maxFailures: 20,
});
console.log(`pickle fuzz: seed ${seed}, ${summary.inputs} inputs, ${(summary.bytes / 1e6).toFixed(1)} MB, ${summary.imports} imports`);
console.log(`slowest input: ${summary.slowestMilliseconds.toFixed(2)} ms`);
console.log(`errors by code: ${JSON.stringify(summary.errorCodes)}`);
if (summary.failures.length > 0) {
  console.error(`${summary.failures.length} failure(s):`);
  for (const failure of summary.failures) console.error(`  #${failure.input}: ${failure.problem}\n    ${failure.bytes}`);
  process.exit(1);
}
console.log('no failures');
