import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FORMATS, detectFormat } from '../../src/formats/index.ts';
import { inspectSevenZip, sevenZipFormat } from '../../src/formats/sevenzip.ts';
import { HEAD_BYTES } from '../../src/formats/types.ts';
import { createNodeSha256 } from '../../src/hash/node-sha256.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import { createNodeFileSource } from '../../src/io/node-source.ts';
import type { FileReport, Finding } from '../../src/report/types.ts';
import { scanSource } from '../../src/scan.ts';
import { ascii, storedArchive } from '../builders/sevenzip.ts';

const fixturePath = (name: string) => fileURLToPath(new URL(`../fixtures/archive/${name}`, import.meta.url));

async function scanFixture(name: string): Promise<FileReport> {
  return scanSource(await createNodeFileSource(fixturePath(name), name), { createSha256: createNodeSha256 });
}

async function scanBytes(bytes: Uint8Array, name = 'archive.7z'): Promise<FileReport> {
  return scanSource(createMemorySource(bytes, name), { createSha256: createNodeSha256 });
}

const PICKLE_PROTOCOL_0 = ascii("cos\nsystem\n(S'echo pwned'\ntR.");
const PICKLE_PROTOCOL_2 = ascii('\x80\x02cos\nsystem\nq\x00X\n\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03.');
const byRule = (findings: Finding[], rule: string) => findings.filter((finding) => finding.rule === rule);
const entriesOf = (findings: Finding[], prefix: string) => findings.filter((finding) => finding.rule.startsWith(prefix)).map((finding) => finding.location.entry);

describe('7z detection', () => {
  it('detects the signature and nothing else', () => {
    expect(sevenZipFormat.detect(Uint8Array.from([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0, 4]), 'x.bin')).toBe(true);
    expect(sevenZipFormat.detect(Uint8Array.from([0x37, 0x7a, 0xbc, 0xaf, 0x27]), 'x.7z')).toBe(false);
    expect(sevenZipFormat.detect(ascii('PK\x03\x04'), 'x.7z')).toBe(false);
    expect(sevenZipFormat.detect(new Uint8Array(0), 'x.7z')).toBe(false);
  });

  it('is registered: the registry routes 7z bytes to it, whatever the name', () => {
    // Compared by identity: chai's formatter would call a module's `inspect` method as a custom inspector.
    expect(FORMATS.includes(sevenZipFormat)).toBe(true);
    expect(detectFormat(storedArchive([]).subarray(0, HEAD_BYTES), 'model.pt')?.id).toBe('7z');
  });
});

describe('7z archives end to end (scanSource)', () => {
  it.each([
    { fixture: 'lzma.7z', verdict: 'clean' },
    { fixture: 'lzma-lc8.7z', verdict: 'clean' },
    { fixture: 'lzma2.7z', verdict: 'clean' },
    { fixture: 'solid.7z', verdict: 'clean' },
    { fixture: 'bcj.7z', verdict: 'clean' },
    { fixture: 'delta.7z', verdict: 'clean' },
    { fixture: 'copy.7z', verdict: 'clean' },
    { fixture: 'empty.7z', verdict: 'clean' },
    { fixture: 'symlink.7z', verdict: 'suspicious' },
    { fixture: 'ppmd.7z', verdict: 'suspicious' },
    { fixture: 'bzip2.7z', verdict: 'suspicious' },
    { fixture: 'encrypted.7z', verdict: 'suspicious' },
    { fixture: 'encrypted-header.7z', verdict: 'suspicious' },
    { fixture: 'pickle.7z', verdict: 'dangerous' },
    { fixture: 'torch.7z', verdict: 'dangerous' },
  ])('$fixture is $verdict', async ({ fixture, verdict }) => {
    const report = await scanFixture(fixture);
    expect(report.format).toBe('7z');
    expect(report.verdict).toBe(verdict);
    expect(report.sha256).toMatch(/^[0-9a-f]{64}$/);
    // Nothing in these archives is malformed.
    expect(report.findings.filter((finding) => finding.severity !== 'info' && ['compression.corrupt', 'scan.internal-error'].includes(finding.rule))).toEqual([]);
  });

  it('finds the os.system pickles inside a solid 7z, by member, with offsets inside the member', async () => {
    const report = await scanFixture('pickle.7z');
    expect(report.metadata['data.pkl:format']).toBe('pickle');
    expect(report.metadata['payload0.pkl:format']).toBe('pickle');
    const dangerous = report.findings.filter((finding) => finding.severity === 'critical');
    expect(new Set(dangerous.map((finding) => finding.location.entry))).toEqual(new Set(['data.pkl', 'payload0.pkl']));
    expect(dangerous.some((finding) => finding.detail.includes('os.system'))).toBe(true);
    const global = dangerous.find((finding) => finding.location.entry === 'payload0.pkl' && finding.rule.includes('import'))!;
    expect(global.location.offset).toBe(0);
    expect(report.weightsOnly).toMatchObject({ accepted: false, firstRefused: { module: 'os', name: 'system', entry: 'data.pkl' } });
    expect(report.metadata['sevenzip.entries']).toEqual(['data.pkl', 'payload0.pkl', 'text.txt']);
  });

  it('finds the pickle of a torch zip inside a 7z (nullifAI) through the registry', async () => {
    const report = await scanFixture('torch.7z');
    expect(report.metadata['model.pt:format']).toBe('pytorch-zip');
    const critical = report.findings.filter((finding) => finding.severity === 'critical');
    expect(critical.length).toBeGreaterThan(0);
    expect(critical.every((finding) => finding.location.entry === 'model.pt/archive/data.pkl')).toBe(true);
  });

  it.each([
    { fixture: 'ppmd.7z', method: 'PPMd' },
    { fixture: 'bzip2.7z', method: 'BZip2' },
    { fixture: 'encrypted.7z', method: '7zAES' },
    { fixture: 'encrypted-header.7z', method: '7zAES' },
  ])('reports the $method members of $fixture as high, not inspected', async ({ fixture, method }) => {
    const report = await scanFixture(fixture);
    const [finding] = byRule(report.findings, 'sevenzip.coder.unsupported');
    expect(finding.severity).toBe('high');
    expect(finding.detail).toContain(method);
    expect(report.findings.filter((candidate) => candidate.severity === 'critical')).toEqual([]);
  });

  it('describes the archive in the metadata', async () => {
    const report = await scanFixture('bcj.7z');
    expect(report.metadata).toMatchObject({
      'sevenzip.version': '0.4',
      'sevenzip.members': 2,
      'sevenzip.folders': 1,
      'sevenzip.solid': true,
      'sevenzip.methods': ['LZMA2', 'BCJ'],
      'sevenzip.headerEncoded': true,
    });
  });

  it('reports members of unknown formats as info, one per member', async () => {
    const report = await scanFixture('lzma2.7z');
    expect(byRule(report.findings, 'format.unsupported').map((finding) => finding.location.entry).sort()).toEqual(['mixed.bin', 'text.txt']);
  });
});

describe('7z archives built byte by byte', () => {
  it('finds a protocol 0 pickle stored under an innocent name', async () => {
    const report = await scanBytes(storedArchive([{ name: 'weights/readme.txt', data: PICKLE_PROTOCOL_0 }]));
    expect(report.verdict).toBe('dangerous');
    expect(entriesOf(report.findings, 'pickle.')).toContain('weights/readme.txt');
  });

  it('finds a pickle in a 7z inside a 7z, with the nested path', async () => {
    const inner = storedArchive([{ name: 'data.pkl', data: PICKLE_PROTOCOL_2 }]);
    const report = await scanBytes(storedArchive([{ name: 'inner.7z', data: inner }]));
    expect(report.verdict).toBe('dangerous');
    expect(report.metadata['inner.7z:format']).toBe('7z');
    expect(report.metadata['inner.7z:data.pkl:format']).toBe('pickle');
    expect(entriesOf(report.findings, 'pickle.')).toContain('inner.7z/data.pkl');
  });

  it('stops at the nesting limit with a not-inspected finding', async () => {
    let archive = storedArchive([{ name: 'data.pkl', data: PICKLE_PROTOCOL_2 }]);
    for (let level = 0; level < 3; level++) archive = storedArchive([{ name: `level${level}.7z`, data: archive }]);
    const report = await scanBytes(archive);
    const notInspected = byRule(report.findings, 'sevenzip.member.not-inspected');
    expect(notInspected).toHaveLength(1);
    expect(notInspected[0].location.entry).toBe('level2.7z/level1.7z');
    expect(report.verdict).toBe('suspicious');
  });

  it('inspects the start of a member over the size cap and says the rest was not', async () => {
    const padded = new Uint8Array(4096);
    padded.set(PICKLE_PROTOCOL_2);
    const bytes = storedArchive([{ name: 'big.pkl', data: padded }]);
    const inspection = await inspectSevenZip(createMemorySource(bytes, 'a.7z'), { head: bytes.subarray(0, HEAD_BYTES) }, { maxInspectedMemberBytes: 1024 });
    const [tooLarge] = byRule(inspection.findings, 'sevenzip.member.too-large');
    expect(tooLarge.location).toMatchObject({ entry: 'big.pkl', offset: 1024 });
    expect(inspection.findings.some((finding) => finding.severity === 'critical' && finding.location.entry === 'big.pkl')).toBe(true);
  });

  it('reports members past the archive-wide decoded-bytes limit as not inspected', async () => {
    const bytes = storedArchive([
      { name: 'a.bin', data: new Uint8Array(3000) },
      { name: 'evil.pkl', data: PICKLE_PROTOCOL_2 },
    ]);
    const inspection = await inspectSevenZip(createMemorySource(bytes, 'a.7z'), { head: bytes.subarray(0, HEAD_BYTES) }, { maxDecodedBytes: 2000 });
    expect(inspection.findings.map((finding) => finding.rule)).toEqual(expect.arrayContaining(['compression.limit', 'sevenzip.member.not-inspected']));
    expect(inspection.findings.find((finding) => finding.rule === 'sevenzip.member.not-inspected')!.detail).toContain('evil.pkl');
  });

  it('turns an unreadable archive into a malformed finding, not an exception', async () => {
    const bytes = storedArchive([{ name: 'a', data: ascii('a') }], [], { nextOffset: 10_000 });
    const report = await scanBytes(bytes);
    expect(report.verdict).toBe('malformed');
    expect(byRule(report.findings, 'sevenzip.header.out-of-bounds')).toHaveLength(1);
  });

  it('keeps a member metadata key named __proto__ as a key', async () => {
    const report = await scanBytes(storedArchive([{ name: '__proto__', data: PICKLE_PROTOCOL_2 }]));
    expect(Object.hasOwn(report.metadata, '__proto__:format')).toBe(true);
    expect(Object.getPrototypeOf(report.metadata)).toBe(Object.prototype);
  });

  it('caps findings per rule over all members, keeping the verdict', async () => {
    const members = Array.from({ length: 250 }, (_, index) => ({ name: `p${index}.pkl`, data: PICKLE_PROTOCOL_2 }));
    const report = await scanBytes(storedArchive(members));
    expect(report.verdict).toBe('dangerous');
    const imports = byRule(report.findings, 'pickle.import.process');
    expect(imports).toHaveLength(201);
    expect(imports.at(-1)!.detail).toContain('50 more findings of this rule');
  });

  it('survives a few hundred mutated archives holding a pickle, through the whole scan', async () => {
    const original = storedArchive([
      { name: 'a.txt', data: ascii('some text') },
      { name: 'data.pkl', data: PICKLE_PROTOCOL_2 },
    ]);
    let state = 7;
    const next = (limit: number) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return (state >>> 8) % limit;
    };
    const verdicts = new Set<string>();
    for (let round = 0; round < 300; round++) {
      const bytes = original.slice();
      for (let edit = 0; edit < 1 + next(3); edit++) bytes[next(bytes.length)] = next(256);
      const report = await scanBytes(bytes);
      verdicts.add(report.verdict);
      expect(report.findings.filter((finding) => finding.rule === 'scan.internal-error')).toEqual([]);
    }
    expect(verdicts.has('dangerous')).toBe(true);
    expect(verdicts.has('malformed') || verdicts.has('suspicious')).toBe(true);
  });
});
