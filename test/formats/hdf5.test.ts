import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readHdf5 } from '../../src/containers/hdf5.ts';
import { hdf5Format, inspectHdf5, looksLikeHdf5 } from '../../src/formats/hdf5.ts';
import { createNodeSha256 } from '../../src/hash/node-sha256.ts';
import type { ByteSource } from '../../src/io/byte-source.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import { createNodeFileSource } from '../../src/io/node-source.ts';
import type { FileReport, Finding } from '../../src/report/types.ts';
import { scanSource } from '../../src/scan.ts';
import {
  MESSAGE,
  buildHdf5,
  concat,
  continuation,
  continuationBlock,
  datasetMessages,
  floatType,
  link,
  linkInfo,
  objectHeader,
  stringAttribute,
  u64,
} from '../builders/hdf5.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'keras');

async function scanFixture(file: string): Promise<FileReport> {
  return scanSource(await createNodeFileSource(join(FIXTURES, file), file), { createSha256: createNodeSha256 });
}

const rules = (findings: Finding[]) => findings.map((finding) => finding.rule);

/** The weights every Keras 2 fixture holds (make_fixtures.py), in h5py's read-back: name, shape. */
const KERAS2_WEIGHTS = [
  ['model_weights/dense/dense/kernel:0', [4, 8]],
  ['model_weights/dense/dense/bias:0', [8]],
  ['model_weights/dense_1/dense_1/kernel:0', [8, 2]],
  ['model_weights/dense_1/dense_1/bias:0', [2]],
] as const;

describe('Keras 2 .h5 fixtures written by h5py (make_fixtures.py), every layout', () => {
  // Offsets are h5py's Dataset.id.get_offset() for each file, printed by make_fixtures.py.
  it.each([
    ['sequential_v0.h5', 0, { 'model_weights/dense/dense/kernel:0': 9360, 'model_weights/dense/dense/bias:0': 9488, 'model_weights/dense_1/dense_1/kernel:0': 9520, 'model_weights/dense_1/dense_1/bias:0': 9584 }],
    ['sequential_v2.h5', 2, { 'model_weights/dense/dense/kernel:0': 6144, 'model_weights/dense/dense/bias:0': 6272, 'model_weights/dense_1/dense_1/kernel:0': 6304, 'model_weights/dense_1/dense_1/bias:0': 6368 }],
    ['sequential_v3.h5', 3, { 'model_weights/dense/dense/kernel:0': 6144, 'model_weights/dense/dense/bias:0': 6272, 'model_weights/dense_1/dense_1/kernel:0': 6304, 'model_weights/dense_1/dense_1/bias:0': 6368 }],
  ] as const)('%s (superblock %i): clean, config walked, weights as tensors with their byte ranges', async (file, superblockVersion, offsets) => {
    const report = await scanFixture(file);
    expect(report.format).toBe('hdf5');
    expect(report.verdict).toBe('clean');
    expect(report.findings).toEqual([]);
    expect(report.metadata).toMatchObject({
      hdf5: { superblockVersion, groups: 6, datasets: 4 },
      kerasVersion: '2.12.0',
      backend: 'tensorflow',
      kind: 'Keras model (HDF5)',
      model: { modelClass: 'Sequential', layers: 3, classes: { Sequential: 1, InputLayer: 1, Dense: 2, GlorotUniform: 2, Zeros: 2 } },
      training: { classes: { Adam: 1 } },
    });
    const byName = new Map(report.tensors.map((tensor) => [tensor.name, tensor]));
    expect(report.tensors).toHaveLength(4);
    for (const [name, shape] of KERAS2_WEIGHTS) {
      const elements = shape.reduce((product: number, dimension: number) => product * dimension, 1);
      expect(byName.get(name)).toEqual({ name, dtype: '<f4', shape: [...shape], offset: offsets[name], length: elements * 4 });
    }
  });

  it('the tensor ranges hold the weights h5py wrote (random normals, none zero)', async () => {
    const bytes = await readFile(join(FIXTURES, 'sequential_v0.h5'));
    const report = await scanFixture('sequential_v0.h5');
    const bias = report.tensors.find((tensor) => tensor.name === 'model_weights/dense_1/dense_1/bias:0');
    expect(bias).toBeDefined();
    const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset + (bias?.offset ?? 0), bytes.byteOffset + (bias?.offset ?? 0) + 8));
    expect(values.every((value) => Number.isFinite(value) && value !== 0)).toBe(true);
  });

  it('reads layer_names and weight_names (fixed-length string lists) and vlen string attributes', async () => {
    const file = await readHdf5(await createNodeFileSource(join(FIXTURES, 'sequential_v0.h5'), 'x.h5'));
    const weights = file.objects.find((object) => object.path === 'model_weights');
    expect(weights?.attributes.map((attribute) => [attribute.name, attribute.dtype, attribute.value])).toEqual([
      ['backend', 'vlen-str', { kind: 'string', text: 'tensorflow', truncated: false }],
      ['keras_version', 'vlen-str', { kind: 'string', text: '2.12.0', truncated: false }],
      ['layer_names', '|S7', { kind: 'strings', items: ['dense', 'dense_1'], count: 2 }],
    ]);
    const dense = file.objects.find((object) => object.path === 'model_weights/dense');
    expect(dense?.attributes[0].value).toEqual({ kind: 'strings', items: ['dense/kernel:0', 'dense/bias:0'], count: 2 });
  });

  it('a Lambda layer with marshalled bytecode is dangerous, with the JSON path and the names in the code', async () => {
    const report = await scanFixture('lambda_v0.h5');
    expect(report.verdict).toBe('dangerous');
    const lambda = report.findings.find((finding) => finding.rule === 'keras.lambda.bytecode');
    expect(lambda?.evidence).toMatch(/^model_config\.config\.layers\[2\]\.config\.function\[0\]: 194 bytes of code; names "os", "id", "__import__", "system"/);
    expect(lambda?.detail).toContain('CVE-2025-9905');
    expect(lambda?.location.offset).toBeGreaterThan(0);
    expect(report.metadata.model).toMatchObject({ lambdaLayers: 1 });
  });

  it('dense storage (libver latest, more than 8 links and attributes): 20 datasets and 12 attributes read through the fractal heap', async () => {
    const file = await readHdf5(await createNodeFileSource(join(FIXTURES, 'dense_group.h5'), 'x.h5'));
    expect(file.findings).toEqual([]);
    expect(file.datasets.map((dataset) => dataset.path).sort()).toEqual(Array.from({ length: 20 }, (_, index) => `model_weights/w${String(index).padStart(2, '0')}`));
    expect(file.datasets.find((dataset) => dataset.path === 'model_weights/w07')).toMatchObject({ dtype: '<i4', shape: [2], dataOffset: 2104, dataLength: 8 });
    const group = file.objects.find((object) => object.path === 'model_weights');
    const attributes = Object.fromEntries((group?.attributes ?? []).map((attribute) => [attribute.name, attribute.value]));
    expect(Object.keys(attributes).sort()).toEqual(Array.from({ length: 12 }, (_, index) => `attr${String(index).padStart(2, '0')}`));
    expect(attributes.attr11).toEqual({ kind: 'string', text: 'value 11', truncated: false });
  });

  it('a user block before the superblock: offsets stay absolute and the block is reported', async () => {
    const report = await scanFixture('userblock.h5');
    expect(rules(report.findings)).toContain('hdf5.userblock');
    expect(report.tensors).toEqual([{ name: 'weights', dtype: '<f4', shape: [4], offset: 6656, length: 16 }]);
  });

  it('links and datasets that leave the file, loop or balloon are each reported (hostile_links.h5)', async () => {
    const report = await scanFixture('hostile_links.h5');
    expect(report.verdict).toBe('suspicious');
    const byRule = new Map(report.findings.map((finding) => [finding.rule, finding]));
    expect(byRule.get('hdf5.link.external')?.evidence).toBe('model_weights/external -> /etc/secrets.h5:/model_weights');
    expect(byRule.get('hdf5.link.soft')?.evidence).toBe('model_weights/soft -> /model_weights/dense');
    expect(byRule.get('hdf5.cycle')?.detail).toContain('/model_weights/dense/loop');
    expect(byRule.get('hdf5.dataset.external-storage')?.detail).toContain('"/etc/passwd"');
    expect(byRule.get('hdf5.dataset.shape-bomb')?.detail).toContain('80000000000 bytes');
    expect(report.metadata.hdf5).toMatchObject({ links: [{ kind: 'external', file: '/etc/secrets.h5' }, { kind: 'soft' }] });
  });

  it('reads headers with small ranges: 16 MiB of data after the structures are never fetched', async () => {
    const bytes = await readFile(join(FIXTURES, 'sequential_v3.h5'));
    const padded = concat(bytes, new Uint8Array(16 * 1024 * 1024));
    let fetched = 0;
    const inner = createMemorySource(padded, 'big.h5');
    const counting: ByteSource = { ...inner, read: async (offset, length) => {
      const chunk = await inner.read(offset, length);
      fetched += chunk.length;
      return chunk;
    } };
    const inspection = await inspectHdf5(counting);
    expect(inspection.tensors).toHaveLength(4);
    expect(fetched).toBeLessThan(64 * 1024);
  });
});

describe('detection', () => {
  it.each([
    ['signature at 0', buildHdf5({ blocks: [] }), true],
    ['signature at 512', concat(new Uint8Array(512), buildHdf5({ blocks: [] })), true],
    ['signature at 100', concat(new Uint8Array(100), buildHdf5({ blocks: [] })), false],
    ['a zip', Uint8Array.of(0x50, 0x4b, 3, 4, 0, 0, 0, 0), false],
    ['empty', new Uint8Array(0), false],
  ])('%s', (_, head, expected) => {
    expect(looksLikeHdf5(head)).toBe(expected);
    expect(hdf5Format.detect(head, 'x')).toBe(expected);
  });
});

/** A dataset object header at `address` with `size` stored bytes at `dataAddress`. */
function floatDataset(shape: (number | bigint)[], dataAddress: number | bigint, size: number | bigint) {
  return objectHeader(datasetMessages(floatType(4), shape, dataAddress, size));
}

async function inspectBytes(bytes: Uint8Array) {
  return inspectHdf5(createMemorySource(bytes, 'built.h5'));
}

describe('files built byte by byte', () => {
  it('a valid tree: root group, a dataset, a fixed-length string model_config carrying a Lambda', async () => {
    const config = JSON.stringify({ class_name: 'Sequential', config: { layers: [{ class_name: 'Lambda', config: { function: ['2gJvcw==', null, null], function_type: 'lambda' } }] } });
    const bytes = buildHdf5({
      blocks: [
        { address: 48, bytes: objectHeader([linkInfo(), link('w', { hard: 400 }), stringAttribute('model_config', config), stringAttribute('keras_version', '2.3.1')]) },
        { address: 400, bytes: floatDataset([2, 3], 600, 24) },
        { address: 600, bytes: new Uint8Array(24) },
      ],
    });
    const inspection = await inspectBytes(bytes);
    expect(inspection.tensors).toEqual([{ name: 'w', dtype: '<f4', shape: [2, 3], offset: 600, length: 24 }]);
    expect(inspection.metadata.kerasVersion).toBe('2.3.1');
    const lambda = inspection.findings.find((finding) => finding.rule === 'keras.lambda.bytecode');
    expect(lambda?.evidence).toBe('model_config.config.layers[0].config.function[0]: 4 bytes of code; names "os"');
  });

  it.each([0, 1, 2, 3])('superblock version %i points at the same root and tree', async (superblockVersion) => {
    const bytes = buildHdf5({
      superblockVersion,
      root: 128,
      blocks: [
        { address: 128, bytes: objectHeader([linkInfo(), link('w', { hard: 400 }), stringAttribute('keras_version', '2.3.1')]) },
        { address: 400, bytes: floatDataset([2], 600, 8) },
        { address: 600, bytes: new Uint8Array(8) },
      ],
    });
    const file = await readHdf5(createMemorySource(bytes, 'v.h5'));
    expect(file.superblock.version).toBe(superblockVersion);
    expect(file.findings).toEqual([]);
    expect(file.datasets.map((dataset) => [dataset.path, dataset.dataOffset])).toEqual([['w', 600]]);
  });

  it.each([
    ['root object header past the end of the file', buildHdf5({ root: 10_000, blocks: [] }), 'hdf5.truncated'],
    ['root header is not a header', buildHdf5({ blocks: [{ address: 48, bytes: concat([7], new Uint8Array(31)) }] }), 'hdf5.structure.invalid'],
    ['a message longer than its chunk', buildHdf5({ blocks: [{ address: 48, bytes: concat([0x4f, 0x48, 0x44, 0x52, 2, 0x02], [8, 0, 0, 0], [MESSAGE.link, 0xff, 0xff, 0], new Uint8Array(8)) }] }), 'hdf5.structure.invalid'],
    ['a continuation block that continues into itself', buildHdf5({ blocks: [
      { address: 48, bytes: objectHeader([linkInfo(), continuation(300, continuationBlock([continuation(300, 0)]).length)]) },
      { address: 300, bytes: continuationBlock([continuation(300, 28)]) },
    ] }), 'hdf5.structure.invalid'],
    ['a continuation block past the end', buildHdf5({ blocks: [{ address: 48, bytes: objectHeader([linkInfo(), continuation(90_000, 64)]) }] }), 'hdf5.truncated'],
    ['a group that links to itself', buildHdf5({ blocks: [{ address: 48, bytes: objectHeader([linkInfo(), link('self', { hard: 48 })]) }] }), 'hdf5.cycle'],
    ['a link to an address past the end', buildHdf5({ blocks: [{ address: 48, bytes: objectHeader([linkInfo(), link('gone', { hard: 1 << 30 })]) }] }), 'hdf5.truncated'],
    ['contiguous data past the end', buildHdf5({ blocks: [
      { address: 48, bytes: objectHeader([linkInfo(), link('w', { hard: 300 })]) },
      { address: 300, bytes: floatDataset([4], 5000, 16) },
    ] }), 'hdf5.dataset.out-of-bounds'],
    ['a shape of 2^40 floats stored in 16 bytes', buildHdf5({ blocks: [
      { address: 48, bytes: objectHeader([linkInfo(), link('w', { hard: 300 })]) },
      { address: 300, bytes: floatDataset([2n ** 40n], 500, 16) },
      { address: 500, bytes: new Uint8Array(16) },
    ] }), 'hdf5.dataset.shape-bomb'],
    ['a dimension past 2^53', buildHdf5({ blocks: [
      { address: 48, bytes: objectHeader([linkInfo(), link('w', { hard: 300 })]) },
      { address: 300, bytes: floatDataset([2n ** 60n], 500, 16) },
    ] }), 'hdf5.structure.invalid'],
    ['an attribute declaring more elements than it holds', buildHdf5({ blocks: [{ address: 48, bytes: objectHeader([linkInfo(), stringAttribute('model_config', 'x', [1000])]) }] }), 'hdf5.structure.invalid'],
    ['an external link', buildHdf5({ blocks: [{ address: 48, bytes: objectHeader([linkInfo(), link('ext', { external: ['/etc/passwd', '/x'] })]) }] }), 'hdf5.link.external'],
    ['superblock version 7', buildHdf5({ superblockVersion: 7, blocks: [] }), 'hdf5.superblock.invalid'],
    ['3-byte addresses', buildHdf5({ offsetSize: 3, blocks: [] }), 'hdf5.superblock.invalid'],
  ])('%s: a finding, not a crash', async (_, bytes, rule) => {
    const inspection = await inspectBytes(bytes);
    expect(rules(inspection.findings)).toContain(rule);
    expect(rules(inspection.findings)).not.toContain('scan.internal-error');
  });

  it('one broken child does not hide its siblings', async () => {
    const bytes = buildHdf5({
      blocks: [
        { address: 48, bytes: objectHeader([linkInfo(), link('broken', { hard: 300 }), link('gone', { hard: 1 << 30 }), link('good', { hard: 400 })]) },
        { address: 300, bytes: Uint8Array.of(9, 9, 9, 9) },
        { address: 400, bytes: floatDataset([2], 600, 8) },
        { address: 600, bytes: new Uint8Array(8) },
      ],
    });
    const inspection = await inspectBytes(bytes);
    expect(inspection.tensors.map((tensor) => tensor.name)).toEqual(['good']);
    expect(rules(inspection.findings)).toEqual(expect.arrayContaining(['hdf5.structure.invalid', 'hdf5.truncated']));
  });

  it('a second hard link to the same object is walked once, not reported as a loop', async () => {
    const bytes = buildHdf5({
      blocks: [
        { address: 48, bytes: objectHeader([linkInfo(), link('a', { hard: 400 }), link('b', { hard: 400 })]) },
        { address: 400, bytes: floatDataset([2], 600, 8) },
        { address: 600, bytes: new Uint8Array(8) },
      ],
    });
    const inspection = await inspectBytes(bytes);
    expect(inspection.tensors.map((tensor) => tensor.name)).toEqual(['a']);
    expect(rules(inspection.findings)).not.toContain('hdf5.cycle');
  });

  it('limits: links per group, depth and objects stop the walk with a finding', async () => {
    const wide = buildHdf5({ blocks: [{ address: 48, bytes: objectHeader([linkInfo(), ...Array.from({ length: 12 }, (_, index) => link(`l${index}`, { hard: 48 }))]) }] });
    const wideFile = await readHdf5(createMemorySource(wide, 'w.h5'), { limits: { maxLinksPerGroup: 5 } });
    expect(rules(wideFile.findings)).toContain('hdf5.limit');

    // A chain of groups g0 → g1 → … each at its own address.
    const chain = Array.from({ length: 20 }, (_, index) => ({ address: 48 + index * 100, bytes: objectHeader([linkInfo(), link(`g${index}`, { hard: 48 + (index + 1) * 100 })]) }));
    chain.push({ address: 48 + 20 * 100, bytes: objectHeader([linkInfo()]) });
    const deep = buildHdf5({ blocks: chain });
    const deepFile = await readHdf5(createMemorySource(deep, 'd.h5'), { limits: { maxDepth: 8 } });
    expect(deepFile.findings.find((finding) => finding.rule === 'hdf5.limit')?.detail).toContain('maxDepth 8');
    const manyFile = await readHdf5(createMemorySource(deep, 'd.h5'), { limits: { maxObjects: 5 } });
    expect(manyFile.findings.find((finding) => finding.rule === 'hdf5.limit')?.detail).toContain('maxObjects');
    expect(manyFile.objects).toHaveLength(5);
  });

  it('a continuation chain longer than maxContinuations stops', async () => {
    const blocks = [{ address: 48, bytes: objectHeader([linkInfo(), continuation(200, 32)]) }];
    for (let index = 0; index < 10; index += 1) blocks.push({ address: 200 + index * 100, bytes: continuationBlock([continuation(300 + index * 100, 32)]) });
    const file = await readHdf5(createMemorySource(buildHdf5({ blocks }), 'c.h5'), { limits: { maxContinuations: 4 } });
    expect(file.findings.find((finding) => finding.rule === 'hdf5.limit')?.detail).toContain('maxContinuations');
  });

  it('truncating a real file anywhere gives findings, never an exception', async () => {
    const bytes = new Uint8Array(await readFile(join(FIXTURES, 'sequential_v0.h5')));
    for (let length = 0; length < bytes.length; length += 61) {
      const inspection = await inspectBytes(bytes.subarray(0, length)).catch((error: unknown) => {
        throw new Error(`length ${length}: ${String(error)}`);
      });
      expect(inspection.findings.length).toBeGreaterThan(0);
    }
  });
});

describe('fuzz: mutated HDF5 files', () => {
  /** Small deterministic PRNG (mulberry32) so a failure names its seed. */
  function random(seed: number) {
    let state = seed >>> 0;
    return () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  it('2000 mutants of the v0, v3 and dense-storage fixtures: no exception, bounded time', async () => {
    const originals = await Promise.all(['sequential_v0.h5', 'sequential_v3.h5', 'dense_group.h5'].map(async (name) => new Uint8Array(await readFile(join(FIXTURES, name)))));
    const started = Date.now();
    for (let seed = 0; seed < 2000; seed += 1) {
      const next = random(seed);
      const original = originals[seed % originals.length];
      const bytes = original.slice();
      const mutations = 1 + Math.floor(next() * 8);
      for (let index = 0; index < mutations; index += 1) {
        // Most structures sit in the first few KB; aim there half the time.
        const at = Math.floor(next() * (next() < 0.5 ? Math.min(bytes.length, 4096) : bytes.length));
        const kind = next();
        if (kind < 0.5) bytes[at] = Math.floor(next() * 256);
        else if (kind < 0.8) bytes.set(u64(BigInt(Math.floor(next() * 2 ** 32)) * BigInt(1 + Math.floor(next() * 2 ** 20))).subarray(0, Math.min(8, bytes.length - at)), at);
        else bytes[at] ^= 0xff;
      }
      const cut = next() < 0.1 ? Math.floor(next() * bytes.length) : bytes.length;
      try {
        const inspection = await inspectBytes(bytes.subarray(0, cut));
        expect(rules(inspection.findings)).not.toContain('scan.internal-error');
      } catch (error) {
        throw new Error(`seed ${seed}: ${error instanceof Error ? error.stack : String(error)}`);
      }
    }
    expect(Date.now() - started).toBeLessThan(60_000);
  }, 120_000);
});
