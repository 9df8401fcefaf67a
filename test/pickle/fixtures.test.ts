/**
 * Real pickles written by CPython (and numpy, torch when installed) through
 * test/fixtures/pickle/make_fixtures.py. The manifest lists what CPython's
 * own Unpickler imports while loading each one (recorded by a find_class
 * override); the machine must name the same globals in the same order, with
 * no error.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFixture, scan } from './scan-helpers.ts';

interface FixtureEntry {
  file: string;
  description: string;
  pickles: number;
  maxPickles: number;
  imports: [string, string][];
  persistentIds: number;
}

const directory = join(import.meta.dirname, '..', 'fixtures', 'pickle');
const manifest = JSON.parse(readFileSync(join(directory, 'manifest.json'), 'utf8')) as { fixtures: FixtureEntry[] };

describe('real pickles', () => {
  it('the manifest covers every protocol', () => {
    const files = manifest.fixtures.map((fixture) => fixture.file);
    for (const protocol of [0, 1, 2, 3, 4, 5]) expect(files).toContain(`data_protocol_${protocol}.pkl`);
  });

  it.each(manifest.fixtures)('$file ($description): same imports as CPython, no error', (fixture) => {
    const bytes = readFixture(fixture.file);
    const result = scan(bytes, { maxPickles: fixture.maxPickles });
    expect(result.errors).toEqual([]);
    expect(result.limits).toEqual([]);
    expect(result.imports.map((entry) => [entry.module, entry.name])).toEqual(fixture.imports);
    expect(result.imports.every((entry) => entry.resolved && !entry.afterError)).toBe(true);
    expect(result.pickleCount).toBe(fixture.pickles);
    expect(result.persistentIds).toHaveLength(fixture.persistentIds);
    expect(result.frames.flatMap((frame) => frame.problems)).toEqual([]);
    expect(result.bytesScanned).toBe(bytes.length);
    if (fixture.maxPickles === 0) expect(result.unscanned).toBeNull();
  });

  it('protocol 4 payloads above the frame size are skipped and the pickle is read to its end', () => {
    const result = scan(readFixture('large_payload_protocol_4.pkl'));
    expect(result.frameCount).toBeGreaterThan(1);
    const point = result.calls.find((call) => call.callable?.name === 'Point');
    expect(point).toBeDefined();
  });

  const torch = manifest.fixtures.find((fixture) => fixture.file === 'torch_state_dict.data.pkl');
  it.runIf(torch)('torch data.pkl: persistent ids, rebuild calls and tensor names rebuild the tensor table', () => {
    const result = scan(readFixture('torch_state_dict.data.pkl'));
    const storages = result.persistentIds.map((entry) => {
      if (entry.id.kind !== 'tuple') throw new Error('expected a tuple id');
      const [tag, type, key, location, numel] = entry.id.items;
      return [tag, type, key, location, numel].map((item) => {
        if (item.kind === 'string') return item.value;
        if (item.kind === 'global') return `${item.module}.${item.name}`;
        if (item.kind === 'int') return item.value;
        return item.kind;
      });
    });
    expect(storages).toEqual([
      ['storage', 'torch.FloatStorage', '0', 'cpu', 6],
      ['storage', 'torch.FloatStorage', '1', 'cpu', 3],
      ['storage', 'torch.LongStorage', '2', 'cpu', 6],
      ['storage', 'torch.FloatStorage', '0', 'cpu', 6],
    ]);
    const rebuilds = result.calls.filter((call) => call.callable?.name === '_rebuild_tensor_v2');
    const shapes = rebuilds.map((call) => {
      const size = call.args?.[2];
      return size?.kind === 'tuple' ? size.items.map((item) => (item.kind === 'int' ? item.value : null)) : null;
    });
    expect(shapes).toEqual([[3, 2], [3], [2, 3], [2, 2]]);
    const names = result.dictEntries.map((entry) => [entry.key, rebuilds.findIndex((call) => call.index === entry.value.index)]);
    expect(names).toEqual([
      ['layer.weight', 0],
      ['layer.bias', 1],
      ['embedding', 2],
      ['view', 3],
    ]);
  });

  const legacy = manifest.fixtures.find((fixture) => fixture.file === 'torch_legacy.pt');
  it.runIf(legacy)('legacy torch: the first pickle is the bare magic number, with no globals', () => {
    const result = scan(readFixture('torch_legacy.pt'), { maxPickles: 5 });
    expect(result.pickles[0].result).toMatchObject({ kind: 'int', exact: false });
    expect(result.imports.filter((entry) => entry.pickleIndex === 0)).toEqual([]);
    expect(result.unscanned?.reason).toBe('max-pickles');
  });
});
