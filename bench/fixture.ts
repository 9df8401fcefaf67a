import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

/** Tensors of 1024×1024 F16 (2 MiB each): 1024 of them make a 2 GiB file, like a small LLM shard. */
const TENSOR_SHAPE = [1024, 1024];
const TENSOR_BYTES = 1024 * 1024 * 2;

export interface BenchFile {
  path: string;
  size: number;
  tensors: number;
}

/**
 * A valid safetensors file of about `gigabytes` GiB in the temp folder,
 * generated at bench time (never committed) and reused when already there.
 * Data is a repeating non-zero pattern so no layer can shortcut zeros.
 */
export async function ensureBenchSafetensors(gigabytes = 2): Promise<BenchFile> {
  const tensors = Math.round((gigabytes * 1024 ** 3) / TENSOR_BYTES);
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', source: 'preflight bench' } };
  for (let index = 0; index < tensors; index++) {
    header[`model.layers.${index}.weight`] = {
      dtype: 'F16',
      shape: TENSOR_SHAPE,
      data_offsets: [index * TENSOR_BYTES, (index + 1) * TENSOR_BYTES],
    };
  }
  let headerText = JSON.stringify(header);
  headerText += ' '.repeat((8 - (headerText.length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(headerText);
  const size = 8 + headerBytes.length + tensors * TENSOR_BYTES;
  const path = join(tmpdir(), `preflight-bench-${gigabytes}g.safetensors`);

  const existing = await stat(path).catch(() => null);
  if (existing?.size === size) return { path, size, tensors };

  const handle = await open(path, 'w');
  try {
    const prefix = new Uint8Array(8 + headerBytes.length);
    new DataView(prefix.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
    prefix.set(headerBytes, 8);
    await handle.write(prefix);
    const block = new Uint8Array(TENSOR_BYTES * 16);
    for (let index = 0; index < block.length; index++) block[index] = (index * 131 + 17) & 0xff;
    for (let written = 0; written < tensors; written += 16) {
      const count = Math.min(16, tensors - written);
      await handle.write(block.subarray(0, count * TENSOR_BYTES));
    }
  } finally {
    await handle.close();
  }
  return { path, size, tensors };
}
