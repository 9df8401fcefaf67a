/**
 * `npm run bench`: throughput of the one-pass pipeline against the bare limits
 * (raw read, bare hashing) on the same bytes, in headless Chromium and under
 * Node, plus time to header and peak memory. Writes bench/RESULTS.md.
 * Numbers on a shared machine are noisy: read the ratios, not the absolutes.
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { benchBrowser } from './browser.ts';
import { ensureBenchSafetensors } from './fixture.ts';
import { benchHeaderTimes } from './headers.ts';
import { type Measurement, benchNode, throughput } from './node.ts';
import { type PickleBenchResult, benchPickle } from './pickle.ts';

const RESULTS = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
const gigabytes = Number(process.env.BENCH_GB ?? 2);

function table(measurements: Measurement[]): string {
  const rows = measurements.map(
    (m) => `| ${m.name} | ${(m.bytes / 2 ** 30).toFixed(2)} GiB | ${(m.milliseconds / 1000).toFixed(2)} s | ${throughput(m).toFixed(0)} MB/s | ${m.note ?? ''} |`,
  );
  return ['| measurement | bytes | time | throughput | notes |', '|---|---|---|---|---|', ...rows].join('\n');
}

function pickleTable(results: PickleBenchResult[]): string {
  const rows = results.map((r) => {
    const ours = throughput(r.ours);
    const genops = r.genops ? throughput(r.genops) : null;
    return `| ${r.name} | ${(r.bytes / 1e6).toFixed(0)} MB, ${r.opcodes} opcodes | ${ours.toFixed(0)} MB/s | ${genops ? `${genops.toFixed(0)} MB/s` : 'n/a (no /usr/bin/python3)'} | ${genops ? `**${(ours / genops).toFixed(1)}×**` : ''} |`;
  });
  return ['| input | size | Preflight (read + scan) | genops | ratio |', '|---|---|---|---|---|', ...rows].join('\n');
}

function ratio(measurements: Measurement[], numerator: string, denominator: string): string {
  const find = (prefix: string) => measurements.find((m) => m.name.startsWith(prefix));
  const top = find(numerator);
  const bottom = find(denominator);
  return top && bottom ? (throughput(top) / throughput(bottom)).toFixed(2) : 'n/a';
}

async function main() {
  console.log(`Generating (or reusing) a ${gigabytes} GiB safetensors file…`);
  const file = await ensureBenchSafetensors(gigabytes);
  console.log(`${file.path}: ${file.size} bytes, ${file.tensors} tensors`);

  console.log('Execute the Node (CLI) measurements…');
  const node = await benchNode(file);
  console.table(node.map((m) => ({ name: m.name, 'MB/s': throughput(m).toFixed(0), note: m.note ?? '' })));

  console.log('Pickle machine against pickletools.genops…');
  const pickle = await benchPickle();
  console.table(pickle.map((r) => ({ name: r.name, 'ours MB/s': throughput(r.ours).toFixed(0), 'genops MB/s': r.genops ? throughput(r.genops).toFixed(0) : 'n/a' })));

  console.log('Header time on ≥ 2 GB ONNX and HDF5 models…');
  const headers = await benchHeaderTimes();
  console.table(headers.map((h) => ({ name: h.name, 'header ms': h.headerMs.toFixed(1), 'whole scan s': (h.passMs / 1000).toFixed(2) })));

  console.log('Building the baseline page and running headless Chromium…');
  execFileSync('npx', ['vite', 'build', '--config', 'bench/vite.config.ts', '--logLevel', 'warn'], { stdio: 'inherit' });
  const browser = await benchBrowser(file);
  console.table(browser.measurements.map((m) => ({ name: m.name, 'MB/s': throughput(m).toFixed(0), note: m.note ?? '' })));

  const cpu = cpus();
  const text = `# Benchmark results

Made by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}.
Machine: ${cpu.length} × ${cpu[0]?.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${browser.chromiumVersion}.
Input: a generated ${(file.size / 2 ** 30).toFixed(2)} GiB safetensors file with ${file.tensors} tensors (made at bench time, not committed).
The machine is shared and noisy: compare the ratios measured in the same run, not absolute numbers across runs.
Each measurement is the fastest of three rounds. Chromium RSS sums every Chromium process on the machine, so other browsers running at the same time inflate it: read it as an upper bound, and the idle-to-peak difference as what the scan added.

## Browser (headless Chromium, the app as users get it)

${table(browser.measurements)}

Pipeline / bare hashing: **${ratio(browser.measurements, 'full pipeline', 'bare hashing')}** (goal ≥ 0.9).
Pipeline / raw read: ${ratio(browser.measurements, 'full pipeline', 'raw read')}.

## Node (the CLI)

${table(node)}

Pipeline / bare hashing with node:crypto: **${ratio(node, 'full pipeline', 'bare hashing, node:crypto')}** (goal ≥ 0.9).
Pipeline / raw read: ${ratio(node, 'full pipeline', 'raw read')}.

## Pickle machine (Node, Wasm) against Python's \`pickletools.genops\`

The loop at the heart of today's Python scanners, walking the same bytes (generated at bench time).
Goals: ≥ 1 GB/s on (a), ≥ 50× genops on (b).

${pickleTable(pickle)}

## Headers first on other big models (Node)

Time until the header report (tensor table, metadata, findings) is ready, then the whole one-pass scan, on generated ≥ 2 GB models.

| input | size | header | whole scan |
|---|---|---|---|
${headers.map((h) => `| ${h.name} | ${(h.bytes / 1e9).toFixed(2)} GB | ${h.headerMs.toFixed(1)} ms | ${(h.passMs / 1000).toFixed(2)} s |`).join('\n')}
`;
  await writeFile(RESULTS, text);
  console.log(`Wrote ${RESULTS}`);
}

await main();
