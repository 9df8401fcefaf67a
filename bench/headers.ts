/**
 * Time to header on big models whose format has no separate header: an ONNX
 * model with its weights embedded as `raw_data` (the tensor table sits around
 * gigabytes of payload inside one protobuf message) and a Keras 2 HDF5 file
 * with one big contiguous dataset. Headers must reach the UI in milliseconds
 * whatever the size, so the readers may only hop over the payloads.
 *
 * The inputs are generated at bench time in the temp folder (never
 * committed) and reused when already there with the right size. Run alone
 * with `npx tsx bench/headers.ts`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNodeSha256 } from '../src/hash/node-sha256.ts';
import { createNodeFileSource } from '../src/io/node-source.ts';
import type { FileReport } from '../src/report/types.ts';
import { scanSource } from '../src/scan.ts';
import { concat, lField, lHeader, mField, vField } from '../test/builders/protobuf.ts';
import { node, valueInfo } from '../test/builders/onnx.ts';

export interface HeaderTiming {
  name: string;
  bytes: number;
  /** From the start of the scan (opening the file included) to the onHeader callback. */
  headerMs: number;
  /** The whole scan: headers, then the one streaming pass with SHA-256. */
  passMs: number;
}

/** Embedded initializers of the ONNX model; each stays under protobuf's 2 GiB message limit, and so does the graph holding both. */
const ONNX_INITIALIZERS = 2;
/** Bytes of one initializer's raw_data (float32 elements). */
const ONNX_INITIALIZER_BYTES = 1_050_000_000;
/** float32 elements of the HDF5 dataset: 2.1 GB. */
const HDF5_ELEMENTS = 525_000_000;
/** Bytes written per call while generating: memory stays bounded by this, not the file. */
const WRITE_CHUNK_BYTES = 64 * 1024 * 1024;
/** HDF5 bookkeeping (superblock, object headers, attributes) on top of the dataset, at most. */
const HDF5_OVERHEAD_BYTES = 1024 * 1024;
const PYTHON = '/usr/bin/python3';

/** A repeating non-zero pattern, so no layer can shortcut zeros. */
function patternChunk(): Uint8Array {
  const chunk = new Uint8Array(WRITE_CHUNK_BYTES);
  for (let index = 0; index < chunk.length; index++) chunk[index] = (index * 131 + 17) & 0xff;
  return chunk;
}

const onnxTensorName = (index: number) => `model.layers.${index}.weight`;

/**
 * The ONNX model, written field by field: ModelProto { ir_version, producer,
 * graph { node, name, initializer × N, input, output }, opset_import }.
 * Message headers carry their length up front, so the big raw_data fields
 * are announced by a header and then streamed to disk in chunks.
 */
async function ensureOnnxModel(): Promise<{ path: string; size: number }> {
  const elements = ONNX_INITIALIZER_BYTES / 4;
  const tensorHeads = Array.from({ length: ONNX_INITIALIZERS }, (_, index) => {
    const fields = [vField(1, elements), vField(2, 1), lField(8, onnxTensorName(index))];
    const head = concat(...fields, lHeader(9, ONNX_INITIALIZER_BYTES));
    return concat(lHeader(5, head.length + ONNX_INITIALIZER_BYTES), head);
  });
  const graphStart = concat(lField(1, node({ op: 'Add', name: 'add', inputs: [onnxTensorName(0), onnxTensorName(1)], outputs: ['y'] })), lField(2, 'bench'));
  const graphEnd = lField(12, valueInfo('y', [elements]));
  const graphLength = graphStart.length + tensorHeads.reduce((sum, head) => sum + head.length + ONNX_INITIALIZER_BYTES, 0) + graphEnd.length;
  if (graphLength >= 2 ** 31) throw new Error(`graph of ${graphLength} bytes exceeds protobuf's 2 GiB message limit`);
  const modelStart = concat(vField(1, 8), lField(2, 'preflight-bench'), lHeader(7, graphLength), graphStart);
  const modelEnd = concat(graphEnd, mField(8, lField(1, ''), vField(2, 17)));
  const size = modelStart.length + graphLength - graphStart.length + modelEnd.length - graphEnd.length;
  const path = join(tmpdir(), `preflight-bench-embedded-${ONNX_INITIALIZERS}x${ONNX_INITIALIZER_BYTES}.onnx`);
  if ((await stat(path).catch(() => null))?.size === size) return { path, size };

  const partial = `${path}.partial`;
  const handle = await open(partial, 'w');
  try {
    const chunk = patternChunk();
    await handle.write(modelStart);
    for (const head of tensorHeads) {
      await handle.write(head);
      for (let written = 0; written < ONNX_INITIALIZER_BYTES; written += chunk.length) {
        await handle.write(chunk.subarray(0, Math.min(chunk.length, ONNX_INITIALIZER_BYTES - written)));
      }
    }
    await handle.write(modelEnd);
  } finally {
    await handle.close();
  }
  const written = (await stat(partial)).size;
  if (written !== size) throw new Error(`wrote ${written} bytes of ONNX, expected ${size}`);
  await rename(partial, path);
  return { path, size };
}

/** Why the HDF5 file cannot be made here, or null when python3 with h5py is available. */
function hdf5Unavailable(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing`;
  try {
    execFileSync(PYTHON, ['-c', 'import h5py, numpy'], { stdio: 'ignore' });
    return null;
  } catch {
    return `${PYTHON} has no h5py (or numpy)`;
  }
}

/** Writes the Keras 2 file: model_config, model_weights/dense/dense/kernel:0 as one contiguous float32 dataset, filled in chunks. */
const HDF5_WRITER = `
import json, sys
import h5py, numpy as np
path, elements, chunk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 1], "dtype": "float32", "sparse": False, "ragged": False, "name": "dense_input"}},
    {"class_name": "Dense", "config": {"name": "dense", "trainable": True, "dtype": "float32", "units": elements, "activation": "linear", "use_bias": False}}]}}
block = ((np.arange(chunk, dtype=np.uint32) * 131 + 17) % 251).astype("<f4")
with h5py.File(path, "w") as f:
    f.attrs["backend"] = "tensorflow"
    f.attrs["keras_version"] = "2.12.0"
    f.attrs["model_config"] = json.dumps(config).encode("utf8")
    weights = f.create_group("model_weights")
    weights.attrs["layer_names"] = np.array([b"dense"])
    layer = weights.create_group("dense")
    layer.attrs["weight_names"] = np.array([b"dense/kernel:0"])
    dataset = layer.create_group("dense").create_dataset("kernel:0", shape=(elements,), dtype="<f4")
    for start in range(0, elements, chunk):
        count = min(chunk, elements - start)
        dataset[start:start + count] = block[:count]
`;

async function ensureHdf5Model(): Promise<{ path: string; size: number }> {
  const path = join(tmpdir(), `preflight-bench-keras2-${HDF5_ELEMENTS}.h5`);
  const dataBytes = HDF5_ELEMENTS * 4;
  const existing = await stat(path).catch(() => null);
  if (existing && existing.size >= dataBytes && existing.size <= dataBytes + HDF5_OVERHEAD_BYTES) return { path, size: existing.size };
  const partial = `${path}.partial`;
  try {
    execFileSync(PYTHON, ['-c', HDF5_WRITER, partial, String(HDF5_ELEMENTS), String(WRITE_CHUNK_BYTES / 4)], { stdio: 'inherit' });
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  await rename(partial, path);
  return { path, size: (await stat(path)).size };
}

async function timeScan(name: string, path: string): Promise<{ timing: HeaderTiming; report: FileReport }> {
  const start = performance.now();
  let headerMs = Number.NaN;
  const source = await createNodeFileSource(path);
  const report = await scanSource(source, {
    createSha256: createNodeSha256,
    onHeader: () => {
      headerMs = performance.now() - start;
    },
  });
  const passMs = performance.now() - start;
  return { timing: { name, bytes: source.size, headerMs, passMs }, report };
}

/** The report lists the tensors the generator wrote, or the bench is measuring a failure. */
function assertTensors(report: FileReport, format: string, expected: { name: string; elements: number }[]): void {
  if (report.format !== format) throw new Error(`${report.path}: detected as ${report.format}, not ${format}`);
  for (const want of expected) {
    const found = report.tensors.find((tensor) => tensor.name.endsWith(want.name));
    const elements = found?.shape.reduce((product, dim) => product * dim, 1);
    if (!found || elements !== want.elements) {
      const listed = report.tensors.map((tensor) => `${tensor.name} [${tensor.shape.join(', ')}]`).join('; ') || 'none';
      throw new Error(`${report.path}: tensor ${want.name} of ${want.elements} elements not in the report (listed: ${listed}; findings: ${report.findings.map((finding) => finding.rule).join(', ')})`);
    }
  }
}

/**
 * Generates (or reuses) a ≥ 2 GB ONNX model with embedded weights and a
 * ≥ 2 GB Keras 2 HDF5 file, scans each once, and returns the time to the
 * header and of the whole scan. The HDF5 row is left out, with a message on
 * stderr, when /usr/bin/python3 with h5py is not available.
 */
export async function benchHeaderTimes(): Promise<HeaderTiming[]> {
  const timings: HeaderTiming[] = [];
  const onnx = await ensureOnnxModel();
  const onnxScan = await timeScan('ONNX, 2 embedded initializers', onnx.path);
  assertTensors(onnxScan.report, 'onnx', Array.from({ length: ONNX_INITIALIZERS }, (_, index) => ({ name: onnxTensorName(index), elements: ONNX_INITIALIZER_BYTES / 4 })));
  timings.push(onnxScan.timing);

  const missing = hdf5Unavailable();
  if (missing) {
    console.error(`HDF5 header bench skipped: ${missing}`);
    return timings;
  }
  const hdf5 = await ensureHdf5Model();
  const hdf5Scan = await timeScan('Keras 2 HDF5, 1 contiguous dataset', hdf5.path);
  assertTensors(hdf5Scan.report, 'hdf5', [{ name: 'kernel:0', elements: HDF5_ELEMENTS }]);
  timings.push(hdf5Scan.timing);
  return timings;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const timings = await benchHeaderTimes();
  console.table(
    timings.map((timing) => ({
      input: timing.name,
      size: `${(timing.bytes / 1e9).toFixed(2)} GB`,
      'to header': `${timing.headerMs.toFixed(1)} ms`,
      'whole scan': `${(timing.passMs / 1000).toFixed(2)} s`,
      throughput: `${(timing.bytes / 1e6 / (timing.passMs / 1000)).toFixed(0)} MB/s`,
    })),
  );
}
