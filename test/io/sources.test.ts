import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBlobSource } from '../../src/io/blob-source.ts';
import type { ByteSource } from '../../src/io/byte-source.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import { createNodeFileSource } from '../../src/io/node-source.ts';

const SIZE = 1_000_003;
const data = Uint8Array.from({ length: SIZE }, (_, index) => (index * 31 + (index >> 9)) & 0xff);

async function sources(): Promise<[string, ByteSource][]> {
  const folder = await mkdtemp(join(tmpdir(), 'preflight-sources-'));
  const path = join(folder, 'data.bin');
  await writeFile(path, data);
  return [
    ['memory', createMemorySource(data, 'data.bin')],
    ['blob', createBlobSource(new Blob([data]), 'data.bin')],
    ['node file', await createNodeFileSource(path, 'data.bin')],
  ];
}

/** Concatenate the chunks, copying each before the next is requested (buffers are reused). */
async function collect(source: ByteSource, chunkSize: number): Promise<{ bytes: Uint8Array; chunks: number }> {
  const out = new Uint8Array(source.size);
  let position = 0;
  let chunks = 0;
  for await (const chunk of source.chunks({ chunkSize })) {
    out.set(chunk, position);
    position += chunk.length;
    chunks++;
  }
  expect(position).toBe(source.size);
  return { bytes: out, chunks };
}

/** Byte equality without vitest's element-by-element diffing, which is slow on megabytes. */
const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);

describe('ByteSource implementations', async () => {
  const all = await sources();

  it.each(all)('%s: size and name', (_kind, source) => {
    expect(source.size).toBe(SIZE);
    expect(source.name).toBe('data.bin');
  });

  it.each(all)('%s: random reads return exactly the range, clamped at the end', async (_kind, source) => {
    expect(await source.read(0, 4)).toEqual(data.subarray(0, 4));
    expect(await source.read(123_457, 9_999)).toEqual(data.subarray(123_457, 133_456));
    expect(await source.read(SIZE - 3, 100)).toEqual(data.subarray(SIZE - 3));
  });

  it.each(all)('%s: hostile offsets give empty reads, never errors', async (_kind, source) => {
    for (const [offset, length] of [[SIZE, 10], [SIZE + 5, 10], [-1, 10], [0, 0], [0, -5], [Number.NaN, 4], [2 ** 60, 8]]) {
      expect((await source.read(offset, length)).length).toBe(0);
    }
  });

  it.each(all)('%s: chunks reproduce the bytes in order for several chunk sizes', async (_kind, source) => {
    for (const chunkSize of [4096, 65_536, 333_333]) {
      const { bytes } = await collect(source, chunkSize);
      expect(sameBytes(bytes, data)).toBe(true);
    }
  });

  it.each(all)('%s: stops when the signal aborts', async (_kind, source) => {
    const controller = new AbortController();
    let seen = 0;
    await expect(async () => {
      for await (const chunk of source.chunks({ chunkSize: 65_536, signal: controller.signal })) {
        seen += chunk.length;
        controller.abort();
      }
    }).rejects.toThrow();
    expect(seen).toBeLessThan(SIZE);
  });
});

describe('memory source chunking', () => {
  it('yields ceil(size / chunkSize) chunks', async () => {
    const { chunks } = await collect(createMemorySource(data, 'x'), 100_000);
    expect(chunks).toBe(Math.ceil(SIZE / 100_000));
  });
});
