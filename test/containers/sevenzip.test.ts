import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  type SevenZipArchive,
  type SevenZipMemberEvent,
  openSevenZipMember,
  readSevenZipArchive,
  walkSevenZipMembers,
} from '../../src/containers/sevenzip.ts';
import { crc32 } from '../../src/containers/zip-crc32.ts';
import type { ByteSource } from '../../src/io/byte-source.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import { createNodeFileSource } from '../../src/io/node-source.ts';
import { ParseError } from '../../src/io/parse-error.ts';
import type { Finding } from '../../src/report/types.ts';
import {
  METHOD,
  ascii,
  concat,
  encodedHeaderArchive,
  plainHeader,
  sevenZipFile,
  sevenZipNumber,
  storedArchive,
} from '../builders/sevenzip.ts';

const fixturePath = (name: string) => fileURLToPath(new URL(`../fixtures/archive/${name}`, import.meta.url));
const plain = (name: string) => new Uint8Array(readFileSync(fixturePath(`plain/${name}`)));
const openFixture = (name: string) => createNodeFileSource(fixturePath(name), name);

function random(seed: number) {
  let state = seed >>> 0;
  return (limit: number) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value ^= value + Math.imul(value ^ (value >>> 7), 61 | value);
    return ((value ^ (value >>> 14)) >>> 0) % limit;
  };
}

function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  expect(actual.findIndex((byte, index) => byte !== expected[index])).toBe(-1);
}

/** Walk every member; returns their bytes by name and the decoding findings. */
async function decodeMembers(source: ByteSource, archive: SevenZipArchive, options: Parameters<typeof walkSevenZipMembers>[2] = {}) {
  const findings: Finding[] = [];
  const members = new Map<string, Uint8Array>();
  const complete = new Map<string, boolean>();
  let parts: Uint8Array[] = [];
  for await (const event of walkSevenZipMembers(source, archive, { ...options, onFinding: (finding) => findings.push(finding) })) {
    if (event.type === 'start') parts = [];
    if (event.type === 'data') parts.push(event.bytes.slice());
    if (event.type === 'end') {
      members.set(event.member.name, concat(parts));
      complete.set(event.member.name, event.complete);
    }
  }
  return { members, complete, findings };
}

async function readAll(source: ByteSource, chunkSize?: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of source.chunks({ chunkSize })) parts.push(chunk.slice());
  return concat(parts);
}

const memory = (bytes: Uint8Array, name = 'test.7z') => createMemorySource(bytes, name);
const rules = (findings: Finding[]) => findings.map((finding) => finding.rule);
const PICKLE = ascii("cos\nsystem\n(S'echo pwned'\ntR.");

describe('7z fixtures made by 7-Zip', () => {
  it.each([
    { file: 'lzma.7z', encoded: false, methods: [['LZMA']], members: { 'small.txt': 'small.txt', 'text.txt': 'text.txt' } },
    { file: 'lzma-lc8.7z', encoded: false, methods: [['LZMA']], members: { 'text.txt': 'text.txt' } },
    { file: 'lzma2.7z', encoded: true, methods: [['LZMA2'], ['LZMA2']], members: { 'text.txt': 'text.txt', 'mixed.bin': 'mixed.bin' } },
    { file: 'bcj.7z', encoded: true, methods: [['LZMA2', 'BCJ']], members: { 'code.bin': 'code.bin', 'text.txt': 'text.txt' } },
    { file: 'delta.7z', encoded: false, methods: [['LZMA', 'Delta']], members: { 'mixed.bin': 'mixed.bin' } },
    { file: 'copy.7z', encoded: false, methods: [['Copy'], ['Copy']], members: { 'small.txt': 'small.txt', 'text.txt': 'text.txt' } },
    {
      file: 'solid.7z',
      encoded: true,
      methods: [['LZMA2']],
      members: { 'text.txt': 'text.txt', 'mixed.bin': 'mixed.bin', 'code.bin': 'code.bin', 'small.txt': 'small.txt', 'nested/deeper/small.txt': 'small.txt' },
    },
  ])('reads $file and decodes every member exactly', async ({ file, encoded, methods, members }) => {
    const source = await openFixture(file);
    const archive = await readSevenZipArchive(source);
    expect(archive.findings).toEqual([]);
    expect(archive.headerEncoded).toBe(encoded);
    expect(archive.folders.map((folder) => folder.methods)).toEqual(methods);
    expect(archive.folders.every((folder) => folder.decodable)).toBe(true);
    const decoded = await decodeMembers(source, archive);
    expect(decoded.findings).toEqual([]);
    expect(new Set(decoded.members.keys())).toEqual(new Set(Object.keys(members)));
    for (const [name, original] of Object.entries(members)) {
      expectSameBytes(decoded.members.get(name)!, plain(original));
      const member = archive.members.find((candidate) => candidate.name === name)!;
      expect(member.crc).toBe(crc32(plain(original)));
    }
  });

  it('lists directories and empty files of a solid archive without decoding them', async () => {
    const archive = await readSevenZipArchive(await openFixture('solid.7z'));
    const byName = new Map(archive.members.map((member) => [member.name, member]));
    expect(byName.get('emptydir')).toMatchObject({ isDirectory: true, hasStream: false, size: 0 });
    expect(byName.get('empty.txt')).toMatchObject({ isDirectory: false, hasStream: false, size: 0 });
    expect(archive.folders[0].memberIndices).toHaveLength(5);
    expect(archive.members.filter((member) => member.folderIndex === 0).map((member) => member.offsetInFolder)).toEqual([0, 24_000, 60_000, 60_013, 60_026]);
  });

  it('reads an empty archive', async () => {
    const archive = await readSevenZipArchive(await openFixture('empty.7z'));
    expect(archive.members).toEqual([]);
    expect(archive.folders).toEqual([]);
    expect(archive.findings).toEqual([]);
  });

  it('marks symbolic links from their Unix mode', async () => {
    const archive = await readSevenZipArchive(await openFixture('symlink.7z'));
    const link = archive.members.find((member) => member.name === 'link')!;
    expect(link.isSymlink).toBe(true);
    expect(rules(archive.findings)).toContain('sevenzip.member.symlink');
    const decoded = await decodeMembers(await openFixture('symlink.7z'), archive);
    expect(new TextDecoder().decode(decoded.members.get('link'))).toBe('../../etc/passwd');
  });

  it.each([
    { file: 'ppmd.7z', method: 'PPMd', count: 2 },
    { file: 'bzip2.7z', method: 'BZip2', count: 1 },
    { file: 'encrypted.7z', method: '7zAES', count: 1 },
  ])('reports the $method folder of $file as not decodable, naming the method and members', async ({ file, method, count }) => {
    const source = await openFixture(file);
    const archive = await readSevenZipArchive(source);
    expect(archive.folders[0].decodable).toBe(false);
    const finding = archive.findings.find((candidate) => candidate.rule === 'sevenzip.coder.unsupported')!;
    expect(finding.severity).toBe('high');
    expect(finding.detail).toContain(method);
    expect(finding.detail).toContain('data.pkl');
    expect(finding.detail).toContain(`${count} member(s)`);
    const decoded = await decodeMembers(source, archive);
    expect(decoded.members.size).toBe(0);
    expect(() => openSevenZipMember(source, archive, archive.members[0])).toThrow(ParseError);
  });

  it('refuses an archive whose directory is encrypted', async () => {
    await expect(readSevenZipArchive(await openFixture('encrypted-header.7z'))).rejects.toMatchObject({ rule: 'sevenzip.coder.unsupported' });
  });
});

describe('member sources', () => {
  it('streams a member of a solid folder in any chunk size, and reads ranges', async () => {
    const source = await openFixture('solid.7z');
    const archive = await readSevenZipArchive(source);
    const member = archive.members.find((candidate) => candidate.name === 'text.txt')!;
    const findings: Finding[] = [];
    const bytes = openSevenZipMember(source, archive, member, { onFinding: (finding) => findings.push(finding) });
    expect(bytes.name).toBe('solid.7z/text.txt');
    expect(bytes.size).toBe(20_000);
    for (const chunkSize of [1 << 20, 4096, 999]) expectSameBytes(await readAll(bytes, chunkSize), plain('text.txt'));
    expectSameBytes(await bytes.read(100, 50), plain('text.txt').subarray(100, 150));
    expectSameBytes(await bytes.read(19_990, 100), plain('text.txt').subarray(19_990));
    expect(await bytes.read(20_000, 10)).toHaveLength(0);
    expect(findings).toEqual([]);
  });

  it('refuses reads that need too much decoding first', async () => {
    const source = await openFixture('solid.7z');
    const archive = await readSevenZipArchive(source);
    const member = archive.members.find((candidate) => candidate.name === 'text.txt')!;
    const bytes = openSevenZipMember(source, archive, member, { maxSeekDecodeBytes: 1000 });
    await expect(bytes.read(0, 10)).rejects.toMatchObject({ rule: 'container.inflate.seek-limit' });
  });
});

describe('7z archives built byte by byte', () => {
  const members = [
    { name: 'a.txt', data: ascii('first member') },
    { name: 'b.pkl', data: PICKLE },
  ];

  it('reads a stored (Copy) solid archive from the builder', async () => {
    const source = memory(storedArchive(members));
    const archive = await readSevenZipArchive(source);
    expect(archive.findings).toEqual([]);
    const decoded = await decodeMembers(source, archive);
    expectSameBytes(decoded.members.get('b.pkl')!, PICKLE);
    expect(decoded.findings).toEqual([]);
  });

  it('reports a start header CRC mismatch and reads on', async () => {
    const archive = await readSevenZipArchive(memory(storedArchive(members, [], { startCrc: 0x12345678 })));
    expect(rules(archive.findings)).toEqual(['sevenzip.header.crc-mismatch']);
    expect(archive.findings[0].location.offset).toBe(8);
    expect(archive.members).toHaveLength(2);
  });

  it('reports a directory CRC mismatch and reads on', async () => {
    const archive = await readSevenZipArchive(memory(storedArchive(members, [], { nextCrc: 0 })));
    expect(rules(archive.findings)).toEqual(['sevenzip.header.crc-mismatch']);
    expect(archive.members).toHaveLength(2);
  });

  it('reports a member CRC mismatch with the member path', async () => {
    const bytes = storedArchive(members);
    bytes[32] ^= 0xff;
    const source = memory(bytes);
    const archive = await readSevenZipArchive(source);
    const decoded = await decodeMembers(source, archive);
    const finding = decoded.findings.find((candidate) => candidate.rule === 'sevenzip.member.crc-mismatch')!;
    expect(finding.location.entry).toBe('a.txt');
    expect(finding.severity).toBe('high');
    expect(decoded.members.get('b.pkl')).toEqual(PICKLE);
  });

  it.each([
    { what: 'a directory past the end of the file', overrides: { nextOffset: 1_000_000 }, rule: 'sevenzip.header.out-of-bounds' },
    { what: 'a directory offset beyond 2^53', overrides: { nextOffset: 1n << 60n }, rule: 'sevenzip.header.out-of-bounds' },
    { what: 'a directory size beyond the file', overrides: { nextSize: 1n << 40n }, rule: 'sevenzip.header.out-of-bounds' },
    { what: 'an unknown major version', overrides: { major: 1 }, rule: 'sevenzip.version.unsupported' },
  ])('refuses $what', async ({ overrides, rule }) => {
    await expect(readSevenZipArchive(memory(storedArchive(members, [], overrides)))).rejects.toMatchObject({ rule });
  });

  it('reports a zeroed start header followed by data (7-Zip would search it for a directory)', async () => {
    const bytes = storedArchive(members, [], { nextOffset: 0, nextSize: 0, nextCrc: 0, startCrc: 0 });
    bytes.fill(0, 8, 32);
    const archive = await readSevenZipArchive(memory(bytes));
    expect(archive.members).toEqual([]);
    expect(rules(archive.findings)).toEqual(['sevenzip.header.empty-start']);
    expect(archive.findings[0].severity).toBe('high');
  });

  it('reports bytes after the directory', async () => {
    const archive = await readSevenZipArchive(memory(concat([storedArchive(members), ascii('PK\x03\x04 appended')])));
    expect(rules(archive.findings)).toEqual(['sevenzip.trailing-data']);
    expect(archive.members).toHaveLength(2);
  });

  it.each([40, 100, 1000, 2000, 3000])('refuses lzma.7z cut to %i bytes: its directory is gone', async (length) => {
    const bytes = new Uint8Array(readFileSync(fixturePath('lzma.7z'))).subarray(0, length);
    await expect(readSevenZipArchive(memory(bytes))).rejects.toMatchObject({ rule: 'sevenzip.header.out-of-bounds' });
  });

  it('refuses a directory larger than the limit before reading it', async () => {
    const source = memory(storedArchive(members));
    await expect(readSevenZipArchive(source, { limits: { maxHeaderBytes: 16 } })).rejects.toMatchObject({ rule: 'sevenzip.header.too-large' });
  });

  it('refuses files shorter than the signature header, and a wrong signature', async () => {
    await expect(readSevenZipArchive(memory(storedArchive(members).subarray(0, 20)))).rejects.toMatchObject({ rule: 'sevenzip.header.truncated' });
    const wrong = storedArchive(members);
    wrong[2] = 0;
    await expect(readSevenZipArchive(memory(wrong))).rejects.toMatchObject({ rule: 'sevenzip.header.invalid' });
  });

  it('refuses more members than the limit, checked before allocating', async () => {
    // A directory that declares 2^40 files in a handful of bytes.
    const header = Uint8Array.from([0x01, 0x05, ...sevenZipNumber(2 ** 40), 0x00, 0x00]);
    await expect(readSevenZipArchive(memory(sevenZipFile(new Uint8Array(0), header)))).rejects.toMatchObject({ rule: 'sevenzip.header.limit' });
    const source = memory(storedArchive([...members, { name: 'c', data: ascii('c') }]));
    await expect(readSevenZipArchive(source, { limits: { maxMembers: 2 } })).rejects.toMatchObject({ rule: 'sevenzip.header.limit' });
  });

  it('refuses too many folders and too many coders', async () => {
    const manyFolders = Uint8Array.from([0x01, 0x04, 0x07, 0x0b, ...sevenZipNumber(1_000_000), 0x00, 0x00]);
    await expect(readSevenZipArchive(memory(sevenZipFile(new Uint8Array(0), manyFolders)))).rejects.toMatchObject({ rule: 'sevenzip.header.limit' });
    const manyCoders = Uint8Array.from([0x01, 0x04, 0x07, 0x0b, 0x01, 0x00, ...sevenZipNumber(100), ...new Array(200).fill(0x01), 0x00]);
    await expect(readSevenZipArchive(memory(sevenZipFile(new Uint8Array(0), manyCoders)))).rejects.toMatchObject({ rule: 'sevenzip.header.limit' });
  });

  it('refuses substream sizes that add up to more than their folder', async () => {
    const packed = ascii('abcdef');
    const header = plainHeader(
      { packSizes: [6], folders: [{ coders: [{ id: METHOD.copy }], unpackSize: 6, substreams: [10, 0] }] },
      [{ name: 'x' }, { name: 'y' }],
    );
    await expect(readSevenZipArchive(memory(sevenZipFile(packed, header)))).rejects.toMatchObject({ rule: 'sevenzip.header.invalid' });
  });

  it('refuses a directory whose members and streams disagree in number', async () => {
    const packed = ascii('abc');
    const header = plainHeader({ packSizes: [3], folders: [{ coders: [{ id: METHOD.copy }], unpackSize: 3 }] }, [{ name: 'x' }, { name: 'y' }]);
    await expect(readSevenZipArchive(memory(sevenZipFile(packed, header)))).rejects.toMatchObject({ rule: 'sevenzip.header.invalid' });
  });

  it('decodes an encoded directory', async () => {
    const inner = plainHeader({ packSizes: [PICKLE.length], folders: [{ coders: [{ id: METHOD.copy }], unpackSize: PICKLE.length }] }, [{ name: 'x.pkl' }]);
    const source = memory(encodedHeaderArchive(PICKLE, inner));
    const archive = await readSevenZipArchive(source);
    expect(archive.headerEncoded).toBe(true);
    expect(archive.members.map((member) => member.name)).toEqual(['x.pkl']);
    expectSameBytes((await decodeMembers(source, archive)).members.get('x.pkl')!, PICKLE);
  });

  it('refuses an encoded directory that decodes to another encoded directory', async () => {
    const innermost = plainHeader(null, []);
    // The decoded directory is itself a kEncodedHeader record.
    const middle = Uint8Array.from([0x17, 0x06, 0x00, 0x01, 0x09, ...sevenZipNumber(innermost.length), 0x00, 0x00]);
    await expect(readSevenZipArchive(memory(encodedHeaderArchive(new Uint8Array(0), middle)))).rejects.toMatchObject({ rule: 'sevenzip.header.nested-encoding' });
  });

  it('reports traversal, unusual and duplicate names, and anti-items', async () => {
    const archive = await readSevenZipArchive(
      memory(
        storedArchive(
          [
            { name: '../../home/user/.bashrc', data: ascii('x') },
            { name: 'C:\\evil.py', data: ascii('y') },
            { name: 'dup.pkl', data: ascii('1') },
            { name: 'dup.pkl', data: ascii('2') },
            { name: 'nul\u0000.pkl', data: ascii('3') },
          ],
          [{ name: 'old.pkl', hasStream: false, anti: true, emptyFile: true }],
        ),
      ),
    );
    const found = rules(archive.findings);
    expect(found.filter((rule) => rule === 'sevenzip.member.path-traversal')).toHaveLength(2);
    expect(found).toContain('sevenzip.member.name-unusual');
    expect(found).toContain('sevenzip.member.duplicate-name');
    expect(found).toContain('sevenzip.member.anti');
    expect(archive.findings.find((finding) => finding.rule === 'sevenzip.member.path-traversal')!.location.entry).toBe('../../home/user/.bashrc');
  });

  it('marks Windows reparse points and Unix symlink modes as links', async () => {
    const archive = await readSevenZipArchive(
      memory(
        sevenZipFile(
          ascii('targettarget'),
          plainHeader({ packSizes: [12], folders: [{ coders: [{ id: METHOD.copy }], unpackSize: 12, substreams: [6, 6] }] }, [
            { name: 'unix', attributes: (0o120777 << 16) | 0x8000 },
            { name: 'windows', attributes: 0x400 },
          ]),
        ),
      ),
    );
    expect(archive.members.map((member) => member.isSymlink)).toEqual([true, true]);
  });

  it('reports a 4 GiB LZMA dictionary as a finding, without allocating, and the member as not inspected', async () => {
    const packed = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0]);
    // Unpack size 2^33 so the window cannot shrink below the declared dictionary.
    const header = plainHeader(
      { packSizes: [8], folders: [{ coders: [{ id: METHOD.lzma, properties: [0x5d, 0xff, 0xff, 0xff, 0xff] }], unpackSize: 2 ** 33 }] },
      [{ name: 'big.bin' }],
    );
    const source = memory(sevenZipFile(packed, header));
    const archive = await readSevenZipArchive(source);
    const decoded = await decodeMembers(source, archive, { maxDecodedBytes: 2 ** 34 });
    expect(rules(decoded.findings)).toEqual(['compression.dictionary-too-large', 'sevenzip.member.not-inspected']);
  });

  it('charges each folder its dictionary, so many small folders with large dictionaries stop at the budget', async () => {
    const folders = 50;
    // Each folder: LZMA with a 16 MiB dictionary declaring 16 MiB of output, from 5 packed bytes that end at once.
    const header = plainHeader(
      {
        packSizes: new Array(folders).fill(5),
        folders: Array.from({ length: folders }, () => ({ coders: [{ id: METHOD.lzma, properties: [0x5d, 0, 0, 0, 1] }], unpackSize: 1 << 24 })),
      },
      Array.from({ length: folders }, (_, index) => ({ name: `f${index}` })),
    );
    const source = memory(sevenZipFile(new Uint8Array(5 * folders), header));
    const archive = await readSevenZipArchive(source);
    const started = Date.now();
    const decoded = await decodeMembers(source, archive, { maxDecodedBytes: 64 << 20 });
    const notInspected = decoded.findings.filter((finding) => finding.rule === 'sevenzip.member.not-inspected');
    const truncated = decoded.findings.filter((finding) => finding.rule === 'compression.truncated');
    // Four folders fit in 64 MiB of 16 MiB dictionaries; the other 46 are refused before allocating.
    expect(truncated).toHaveLength(4);
    const [limit] = notInspected.filter((finding) => finding.detail.includes('archive-wide limit'));
    expect(limit.detail).toContain('46 member(s) in 46 folder(s)');
    expect(notInspected.filter((finding) => finding.detail.includes('archive-wide limit'))).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('reports packed data past the end of the file and decodes what is there', async () => {
    const header = plainHeader({ packSizes: [1000], folders: [{ coders: [{ id: METHOD.copy }], unpackSize: 1000 }] }, [{ name: 'cut.bin' }]);
    const source = memory(sevenZipFile(ascii('only a few bytes'), header));
    const archive = await readSevenZipArchive(source);
    expect(rules(archive.findings)).toContain('sevenzip.pack.out-of-bounds');
    const decoded = await decodeMembers(source, archive);
    expect(rules(decoded.findings)).toContain('sevenzip.member.not-inspected');
    expect(decoded.complete.get('cut.bin')).toBe(false);
  });

  it('stops at the archive-wide decoded-bytes limit with findings', async () => {
    const source = await openFixture('lzma2.7z');
    const archive = await readSevenZipArchive(source);
    const decoded = await decodeMembers(source, archive, { maxDecodedBytes: 10_000 });
    expect(rules(decoded.findings)).toContain('compression.limit');
    expect(rules(decoded.findings)).toContain('sevenzip.member.not-inspected');
    expect([...decoded.complete.values()]).toContain(false);
  });

  it('reports a corrupt LZMA2 stream with its offset and the members it stopped', async () => {
    const bytes = new Uint8Array(readFileSync(fixturePath('lzma2.7z')));
    bytes[40] ^= 0x55;
    const source = memory(bytes);
    const archive = await readSevenZipArchive(source);
    const decoded = await decodeMembers(source, archive);
    expect(decoded.findings.some((finding) => ['compression.corrupt', 'compression.truncated', 'sevenzip.member.crc-mismatch'].includes(finding.rule))).toBe(true);
    for (const finding of decoded.findings) {
      expect(['compression.corrupt', 'compression.truncated', 'sevenzip.member.not-inspected', 'sevenzip.member.crc-mismatch', 'compression.size-mismatch']).toContain(finding.rule);
    }
  });
});

describe('7z fuzz', () => {
  function mutate(input: Uint8Array, next: (limit: number) => number): Uint8Array {
    const bytes = Array.from(input);
    for (let edit = 1 + next(3); edit > 0; edit--) {
      const at = next(bytes.length);
      const kind = next(4);
      if (kind === 0) bytes[at] ^= 1 << next(8);
      else if (kind === 1) bytes[at] = next(256);
      else if (kind === 2) bytes.splice(at, 1 + next(4));
      else bytes.length = Math.max(32, at);
      if (bytes.length === 0) bytes.push(0x37);
    }
    return Uint8Array.from(bytes);
  }

  it.each(['lzma.7z', 'solid.7z', 'pickle.7z', 'bcj.7z', 'copy.7z'])('survives mutations of %s: findings or ParseErrors, never a crash or a hang', async (file) => {
    const original = new Uint8Array(readFileSync(fixturePath(file)));
    const next = random(crc32(ascii(file)));
    const started = Date.now();
    let refused = 0;
    let walked = 0;
    for (let round = 0; round < 500; round++) {
      const input = mutate(original, next);
      const source = memory(input, file);
      try {
        const archive = await readSevenZipArchive(source);
        const events: SevenZipMemberEvent['type'][] = [];
        for await (const event of walkSevenZipMembers(source, archive, { maxDecodedBytes: 1 << 22, onFinding: () => undefined })) events.push(event.type);
        expect(events.filter((type) => type === 'start')).toHaveLength(events.filter((type) => type === 'end').length);
        if (events.length > 0) walked++;
      } catch (error) {
        if (!(error instanceof ParseError)) throw new Error(`round ${round}: ${String(error)} for ${Buffer.from(input).toString('base64')}`);
        refused++;
      }
    }
    // Both paths are exercised: directories refused, and members decoded from damaged data.
    expect(refused).toBeGreaterThan(0);
    expect(walked).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
