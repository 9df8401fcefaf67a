/**
 * The bare limits the pipeline is measured against, in the same browser:
 * (a) reading the File with the same BYOB reader the app uses, doing nothing
 * with the bytes; (b) hash-wasm over chunks already in memory (no reading).
 */
import { createSHA256 } from 'hash-wasm';
import { createBlobSource } from '../../src/io/blob-source.ts';
import { DEFAULT_CHUNK_SIZE } from '../../src/io/byte-source.ts';

interface Timing {
  bytes: number;
  milliseconds: number;
}

function selectedFile(): File {
  const file = (document.getElementById('file') as HTMLInputElement).files?.[0];
  if (!file) throw new Error('no file selected');
  return file;
}

async function rawRead(): Promise<Timing> {
  const file = selectedFile();
  const start = performance.now();
  let bytes = 0;
  for await (const chunk of createBlobSource(file, file.name).chunks()) bytes += chunk.length;
  return { bytes, milliseconds: performance.now() - start };
}

async function bareHash(totalBytes: number): Promise<Timing> {
  const chunk = new Uint8Array(DEFAULT_CHUNK_SIZE).map((_, index) => (index * 131 + 17) & 0xff);
  const chunks = Math.ceil(totalBytes / chunk.length);
  const hasher = await createSHA256();
  const start = performance.now();
  for (let index = 0; index < chunks; index++) hasher.update(chunk);
  hasher.digest('hex');
  return { bytes: chunks * chunk.length, milliseconds: performance.now() - start };
}

Object.assign(globalThis, { preflightBench: { rawRead, bareHash } });
