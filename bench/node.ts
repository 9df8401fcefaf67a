import { createHash } from 'node:crypto';
import { createSHA256 } from 'hash-wasm';
import { createNodeSha256 } from '../src/hash/node-sha256.ts';
import { DEFAULT_CHUNK_SIZE } from '../src/io/byte-source.ts';
import { createNodeFileSource } from '../src/io/node-source.ts';
import { scanSource } from '../src/scan.ts';
import type { BenchFile } from './fixture.ts';

export interface Measurement {
  name: string;
  bytes: number;
  milliseconds: number;
  /** Extra facts: peak RSS, header time … */
  note?: string;
}

export const throughput = (measurement: Measurement) => measurement.bytes / 1e6 / (measurement.milliseconds / 1000);

/** Runs on a shared machine are noisy (page cache, neighbours): keep the fastest of a few rounds. */
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

export async function fastestOf(rounds: number, measure: () => Promise<Measurement>): Promise<Measurement> {
  let best: Measurement | null = null;
  for (let round = 0; round < rounds; round++) {
    const measurement = await measure();
    if (!best || measurement.milliseconds < best.milliseconds) best = measurement;
  }
  return best!;
}

function peakRssSampler() {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  return () => {
    clearInterval(timer);
    return Math.max(peak, process.memoryUsage().rss);
  };
}

/** The CLI's path under Node: raw read, bare hashing of in-memory chunks, and the whole pipeline, on the same file. */
export async function benchNode(file: BenchFile): Promise<Measurement[]> {
  const results: Measurement[] = [];
  const source = await createNodeFileSource(file.path);

  results.push(
    await fastestOf(ROUNDS, async () => {
      const start = performance.now();
      let bytes = 0;
      for await (const chunk of source.chunks()) bytes += chunk.length;
      return { name: 'raw read (fs, 4 MiB chunks)', bytes, milliseconds: performance.now() - start };
    }),
  );

  const chunk = new Uint8Array(DEFAULT_CHUNK_SIZE).map((_, index) => (index * 131 + 17) & 0xff);
  const chunks = Math.ceil(file.size / chunk.length);
  results.push(
    await fastestOf(ROUNDS, async () => {
      const start = performance.now();
      const native = createHash('sha256');
      for (let index = 0; index < chunks; index++) native.update(chunk);
      native.digest('hex');
      return { name: 'bare hashing, node:crypto (in-memory chunks)', bytes: chunks * chunk.length, milliseconds: performance.now() - start };
    }),
  );
  results.push(
    await fastestOf(ROUNDS, async () => {
      const start = performance.now();
      const wasm = await createSHA256();
      for (let index = 0; index < chunks; index++) wasm.update(chunk);
      wasm.digest('hex');
      return { name: 'bare hashing, hash-wasm (in-memory chunks)', bytes: chunks * chunk.length, milliseconds: performance.now() - start };
    }),
  );
  results.push(await fastestOf(ROUNDS, () => measurePipeline(file)));
  return results;
}

async function measurePipeline(file: BenchFile): Promise<Measurement> {
  const source = await createNodeFileSource(file.path);
  const stopSampling = peakRssSampler();
  const start = performance.now();
  let headerMs = 0;
  const report = await scanSource(source, {
    createSha256: createNodeSha256,
    onHeader: () => {
      headerMs = performance.now() - start;
    },
  });
  const milliseconds = performance.now() - start;
  const peak = stopSampling();
  if (report.tensors.length !== file.tensors || !report.sha256) {
    throw new Error(`pipeline gave ${report.tensors.length} tensors and sha256 ${report.sha256}; expected ${file.tensors} and a hash`);
  }
  return {
    name: 'full pipeline (scanSource: header + hash + scanners)',
    bytes: file.size,
    milliseconds,
    note: `header in ${headerMs.toFixed(1)} ms; peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB`,
  };
}
