import { describe, expect, it } from 'vitest';
import { createMemorySource } from '../../src/io/memory-source.ts';
import { createSliceSource } from '../../src/io/slice-source.ts';

const parentBytes = Uint8Array.from({ length: 1000 }, (_, index) => index % 251);
const parent = createMemorySource(parentBytes, 'parent.bin');

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<{ bytes: Uint8Array; sizes: number[] }> {
  const parts: number[] = [];
  const sizes: number[] = [];
  for await (const chunk of chunks) {
    sizes.push(chunk.length);
    parts.push(...chunk);
  }
  return { bytes: Uint8Array.from(parts), sizes };
}

describe('createSliceSource', () => {
  it.each([
    { case: 'inside the parent', offset: 100, length: 300, size: 300 },
    { case: 'running past the end (clamped)', offset: 900, length: 500, size: 100 },
    { case: 'starting past the end (empty)', offset: 5000, length: 10, size: 0 },
    { case: 'negative offset (empty)', offset: -5, length: 10, size: 0 },
    { case: 'NaN length (empty)', offset: 0, length: Number.NaN, size: 0 },
    { case: 'whole parent', offset: 0, length: 1000, size: 1000 },
  ])('clamps its range: $case', async ({ offset, length, size }) => {
    const slice = createSliceSource(parent, offset, length, 'slice');
    expect(slice.size).toBe(size);
    const { bytes } = await collect(slice.chunks({ chunkSize: 64 }));
    expect(bytes).toEqual(size === 0 ? new Uint8Array(0) : parentBytes.subarray(offset, offset + size));
  });

  it('reads relative to its start and never outside its range', async () => {
    const slice = createSliceSource(parent, 200, 100, 'slice');
    expect(await slice.read(0, 10)).toEqual(parentBytes.subarray(200, 210));
    expect(await slice.read(95, 50)).toEqual(parentBytes.subarray(295, 300));
    expect(await slice.read(100, 1)).toEqual(new Uint8Array(0));
    expect(await slice.read(-1, 1)).toEqual(new Uint8Array(0));
  });

  it('streams chunks of the requested size, the last one shorter', async () => {
    const slice = createSliceSource(parent, 10, 250, 'slice');
    const { sizes } = await collect(slice.chunks({ chunkSize: 100 }));
    expect(sizes).toEqual([100, 100, 50]);
  });

  it('stops at cancellation', async () => {
    const slice = createSliceSource(parent, 0, 1000, 'slice');
    const controller = new AbortController();
    const read = async () => {
      for await (const _chunk of slice.chunks({ chunkSize: 10, signal: controller.signal })) controller.abort();
    };
    await expect(read()).rejects.toThrow();
  });

  it('keeps its name', () => {
    expect(createSliceSource(parent, 0, 1, 'model.pt/archive/data.pkl').name).toBe('model.pt/archive/data.pkl');
  });
});
