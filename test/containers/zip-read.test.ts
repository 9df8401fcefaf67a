import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  type ZipEntry,
  createZipCrcScanner,
  openZipEntry,
  readZipDirectory,
  zipEntrySourceName,
} from '../../src/containers/zip.ts';
import { crc32, formatCrc32 } from '../../src/containers/zip-crc32.ts';
import type { StreamScanner } from '../../src/formats/types.ts';
import type { ByteSource } from '../../src/io/byte-source.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import { createNodeFileSource } from '../../src/io/node-source.ts';
import { ParseError } from '../../src/io/parse-error.ts';
import type { Finding } from '../../src/report/types.ts';
import { buildZip, utf8 } from '../builders/zip.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

function random(seed: number) {
  let state = seed >>> 0;
  return (limit: number) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value ^= value + Math.imul(value ^ (value >>> 7), 61 | value);
    return ((value ^ (value >>> 14)) >>> 0) % limit;
  };
}

function sampleBytes(length: number, seed: number): Uint8Array {
  const next = random(seed);
  return Uint8Array.from({ length }, () => 0x61 + next(20));
}

async function readAll(source: ByteSource, chunkSize?: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of source.chunks({ chunkSize })) parts.push(chunk.slice());
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}

function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  expect(actual.findIndex((byte, index) => byte !== expected[index])).toBe(-1);
}

/** Feed a scanner the way the one streaming pass does: only its range, in arbitrary chunks. */
async function runScanner(source: ByteSource, scanner: StreamScanner, chunkSize: number) {
  let position = 0;
  for await (const chunk of source.chunks({ chunkSize })) {
    const from = Math.max(scanner.offset, position);
    const to = Math.min(scanner.offset + scanner.length, position + chunk.length);
    if (to > from) scanner.push(chunk.subarray(from - position, to - position));
    position += chunk.length;
  }
  return scanner.finish();
}

const rules = (findings: Finding[]) => findings.map((finding) => finding.rule);

describe('readZipDirectory: well-formed archives', () => {
  const weights = sampleBytes(200_000, 1);
  const pickle = utf8('\x80\x02}q\x00.'.repeat(500));
  const built = buildZip([
    { name: 'archive/data.pkl', data: pickle, method: 8 },
    { name: 'archive/data/0', data: weights },
    { name: 'archive/version', data: '3\n' },
  ]);

  it('lists entries in central directory order with their fields and no findings', async () => {
    const directory = await readZipDirectory(built.source('model.pt'));
    expect(directory.findings).toEqual([]);
    expect(directory.entriesFrom).toBe('central-directory');
    expect(directory.entries.map((entry) => entry.name)).toEqual(['archive/data.pkl', 'archive/data/0', 'archive/version']);
    const [data, storage] = directory.entries;
    expect(data).toMatchObject({
      index: 0,
      centralName: 'archive/data.pkl',
      localName: 'archive/data.pkl',
      method: 8,
      flags: 0,
      localFlags: 0,
      uncompressedSize: pickle.length,
      compressedSize: built.entries[0].dataLength,
      crc32: built.entries[0].crc32,
      localHeaderOffset: 0,
      dataOffset: built.entries[0].dataOffset,
      centralHeaderOffset: built.entries[0].centralHeaderOffset,
      readable: true,
      zip64: false,
      isDirectory: false,
      isSymlink: false,
    });
    expect(storage).toMatchObject({ method: 0, compressedSize: weights.length, dataOffset: built.entries[1].dataOffset });
    expect(directory).toMatchObject({
      endRecordOffset: built.endRecordOffset,
      centralDirectoryOffset: built.centralDirectoryOffset,
      centralDirectorySize: built.centralDirectorySize,
      declaredEntryCount: 3,
      zip64: false,
    });
  });

  it('returns plain data that survives structured cloning (worker boundaries)', async () => {
    const directory = await readZipDirectory(built.source('model.pt'));
    expect(structuredClone(directory)).toEqual(directory);
    expect(JSON.parse(JSON.stringify(directory))).toEqual(directory);
  });

  it('reads the archive comment', async () => {
    const directory = await readZipDirectory(buildZip([{ name: 'a', data: 'x' }], { comment: 'hello ✓' }).source());
    expect(directory.comment).toBe('hello ✓');
    expect(directory.findings).toEqual([]);
  });

  it('reads an empty archive', async () => {
    const directory = await readZipDirectory(buildZip([]).source());
    expect(directory.entries).toEqual([]);
    expect(directory.findings).toEqual([]);
  });

  it('marks directories and decodes CP437 names when the UTF-8 flag is off', async () => {
    const directory = await readZipDirectory(
      buildZip([{ name: 'folder/' }, { name: 'x', nameBytes: Uint8Array.of(0x63, 0x61, 0x66, 0x82) }, { name: 'ü', flags: 0x800 }]).source(),
    );
    expect(directory.entries.map((entry) => [entry.name, entry.isDirectory])).toEqual([
      ['folder/', true],
      ['café', false],
      ['ü', false],
    ]);
  });
});

describe('readZipDirectory: archives made by real writers', () => {
  it.each([
    {
      file: 'python-zipfile.zip',
      entries: [
        ['archive/data.pkl', 8, 1200],
        ['archive/data/0', 0, 1024],
        ['archive/version', 0, 2],
      ],
      rules: [],
      comment: 'made by make-zip-fixtures.py',
    },
    {
      file: 'python-streamed.zip',
      entries: [
        ['streamed.txt', 8, 900],
        ['stored.bin', 0, 32],
      ],
      rules: ['zip.entry.data-descriptor'],
      comment: '',
    },
    {
      file: 'numpy-savez-compressed.npz',
      entries: [
        ['weights.npy', 8, 384],
        ['bias.npy', 8, 192],
      ],
      rules: [],
      comment: '',
    },
  ])('reads $file, and every entry decodes to bytes with the right CRC', async ({ file, entries, rules: expectedRules, comment }) => {
    const source = await createNodeFileSource(fixture(file), file);
    const directory = await readZipDirectory(source);
    expect(rules(directory.findings)).toEqual(expectedRules);
    expect(directory.comment).toBe(comment);
    expect(directory.entries.map((entry) => [entry.name, entry.method, entry.uncompressedSize])).toEqual(entries);
    for (const entry of directory.entries) {
      const findings: Finding[] = [];
      const bytes = await readAll(openZipEntry(source, entry, { checkCrc: true, onFinding: (finding) => findings.push(finding) }), 100);
      expect(bytes.length).toBe(entry.uncompressedSize);
      expect(findings).toEqual([]);
    }
  });

  it('reads an .npz member as NumPy wrote it', async () => {
    const source = await createNodeFileSource(fixture('numpy-savez-compressed.npz'));
    const directory = await readZipDirectory(source);
    const header = await openZipEntry(source, directory.entries[0]).read(0, 10);
    expect([...header.subarray(0, 6)]).toEqual([0x93, ...utf8('NUMPY')]);
  });
});

describe('openZipEntry: round trips', () => {
  const stored = sampleBytes(300_000, 2);
  const deflated = sampleBytes(300_000, 3);
  const built = buildZip([
    { name: 'stored.bin', data: stored },
    { name: 'deflated.bin', data: deflated, method: 8 },
    { name: 'empty', data: '' },
    { name: 'empty-deflated', data: '', method: 8 },
  ]);
  const source = built.source('outer.zip');
  const contents = [stored, deflated, new Uint8Array(0), new Uint8Array(0)];

  it.each([1000, 4096, 65_536, 1 << 22])('streams every entry with chunk size %i', async (chunkSize) => {
    const directory = await readZipDirectory(source);
    for (const [index, entry] of directory.entries.entries()) {
      const child = openZipEntry(source, entry);
      expect(child.size).toBe(contents[index].length);
      expectSameBytes(await readAll(child, chunkSize), contents[index]);
    }
  });

  it('answers random reads on stored and deflated entries', async () => {
    const directory = await readZipDirectory(source);
    const next = random(9);
    for (const index of [0, 1]) {
      const child = openZipEntry(source, directory.entries[index]);
      for (let round = 0; round < 25; round++) {
        const offset = next(contents[index].length + 10);
        const length = next(5000);
        expectSameBytes(await child.read(offset, length), contents[index].subarray(offset, offset + length));
      }
    }
  });

  it('names child sources <zip name>/<entry name>, verbatim', async () => {
    const directory = await readZipDirectory(source);
    expect(openZipEntry(source, directory.entries[1]).name).toBe('outer.zip/deflated.bin');
    expect(zipEntrySourceName('model.pt', '../evil.py')).toBe('model.pt/../evil.py');
  });

  it('reads a stored entry with a data descriptor and a deflated one with ZIP64 fields', async () => {
    const zip = buildZip([
      { name: 'a', data: stored, dataDescriptor: true },
      { name: 'b', data: deflated, method: 8, zip64: true, dataDescriptor: true },
    ]);
    const zipSource = zip.source();
    const directory = await readZipDirectory(zipSource);
    expect(rules(directory.findings)).toEqual(['zip.entry.data-descriptor']);
    expect(directory.findings[0].detail).toContain('and 1 more entry');
    expectSameBytes(await readAll(openZipEntry(zipSource, directory.entries[0])), stored);
    expectSameBytes(await readAll(openZipEntry(zipSource, directory.entries[1])), deflated);
  });

  it('refuses entries it cannot read with a ParseError', async () => {
    const zip = buildZip([{ name: 'lzma.bin', data: 'xyz', method: 14 }]);
    const directory = await readZipDirectory(zip.source());
    expect(directory.entries[0].readable).toBe(false);
    expect(() => openZipEntry(zip.source(), directory.entries[0])).toThrow(ParseError);
    const noHeader: ZipEntry = { ...directory.entries[0], method: 0, dataOffset: null };
    expect(() => openZipEntry(zip.source(), noHeader)).toThrow(ParseError);
  });

  it('caps a deflated bomb entry while streaming and reports it against the entry', async () => {
    const zeros = new Uint8Array(10 * 1024 * 1024);
    const zip = buildZip([{ name: 'archive/data.pkl', data: zeros, method: 8 }]);
    const directory = await readZipDirectory(zip.source());
    const findings: Finding[] = [];
    const child = openZipEntry(zip.source(), directory.entries[0], {
      maxInflatedBytes: 1024 * 1024,
      onFinding: (finding) => findings.push(finding),
    });
    expect((await readAll(child)).length).toBe(1024 * 1024);
    expect(findings.map((finding) => [finding.rule, finding.location])).toEqual([
      ['container.inflate.limit', { entry: 'archive/data.pkl', offset: 1024 * 1024 }],
    ]);
  });
});

describe('CRC checks', () => {
  const good = sampleBytes(50_000, 4);
  const built = buildZip([
    { name: 'good-stored', data: good },
    { name: 'bad-stored', data: good, crc32: 0x12345678 },
    { name: 'good-deflated', data: good, method: 8 },
    { name: 'bad-deflated', data: good, method: 8, crc32: 0xdeadbeef },
    { name: 'encrypted-stored', data: good, crc32: 0x1, flags: 0x1 },
  ]);
  const source = built.source('m.pt');

  it('checks stored entries on the one pass, with the data range as location', async () => {
    const directory = await readZipDirectory(source);
    const outcomes = [];
    for (const entry of directory.entries) {
      const scanner = createZipCrcScanner(entry);
      outcomes.push(scanner ? (await runScanner(source, scanner, 7777)).findings.map((finding) => [finding.rule, finding.location]) : null);
    }
    expect(outcomes).toEqual([
      [],
      [['zip.entry.crc-mismatch', { offset: built.entries[1].dataOffset, length: good.length }]],
      null,
      null,
      null,
    ]);
  });

  it('checks deflated entries while they are streamed, with the entry as location', async () => {
    const directory = await readZipDirectory(source);
    const findings: Finding[] = [];
    for (const entry of directory.entries.filter((candidate) => candidate.method === 8)) {
      await readAll(openZipEntry(source, entry, { checkCrc: true, onFinding: (finding) => findings.push(finding) }));
    }
    expect(findings.map((finding) => [finding.rule, finding.location])).toEqual([
      ['zip.entry.crc-mismatch', { entry: 'bad-deflated', offset: 0, length: good.length }],
    ]);
    expect(findings[0].evidence).toBe(`declared 0xdeadbeef, computed ${formatCrc32(crc32(good))}`);
  });
});

describe('ZIP64', () => {
  it('reads ZIP64 extra fields and the ZIP64 end record of a small archive', async () => {
    const data = sampleBytes(1000, 5);
    const built = buildZip(
      [
        { name: 'a', data, zip64: true },
        { name: 'b', data, zip64: true, method: 8 },
      ],
      { zip64EndRecord: true },
    );
    const directory = await readZipDirectory(built.source());
    expect(directory.findings).toEqual([]);
    expect(directory.zip64).toBe(true);
    expect(directory.entries.map((entry) => [entry.zip64, entry.uncompressedSize, entry.localHeaderOffset])).toEqual([
      [true, 1000, built.entries[0].localHeaderOffset],
      [true, 1000, built.entries[1].localHeaderOffset],
    ]);
    expectSameBytes(await readAll(openZipEntry(built.source(), directory.entries[1])), data);
  });

  it('reads sizes and offsets past 4 GiB without 4 GiB of data', async () => {
    const fiveGiB = 5 * 1024 ** 3;
    const tail = utf8('\x80\x02}q\x00.');
    // Entry 0 is a 5 GiB stored run of zeros (the builder's gap); entry 1 starts past 4 GiB.
    const firstDataOffset = 30 + 'archive/data/0'.length + 20;
    const built = buildZip([
      { name: 'archive/data/0', rawData: new Uint8Array(0), compressedSize: fiveGiB, uncompressedSize: fiveGiB, crc32: 0, zip64: true },
      { name: 'archive/data.pkl', data: tail, zip64: true, offset: firstDataOffset + fiveGiB },
    ]);
    const source = built.source('big.pt');
    expect(source.size).toBeGreaterThan(fiveGiB);
    const directory = await readZipDirectory(source);
    expect(rules(directory.findings)).toEqual([]);
    expect(directory.zip64).toBe(true);
    const [big, pickle] = directory.entries;
    expect(big).toMatchObject({ compressedSize: fiveGiB, uncompressedSize: fiveGiB, dataOffset: firstDataOffset, zip64: true });
    expect(pickle.localHeaderOffset).toBe(firstDataOffset + fiveGiB);
    expect(pickle.dataOffset).toBeGreaterThan(2 ** 32);
    expect(await openZipEntry(source, pickle).read(0, 100)).toEqual(tail);
    const bigEntry = openZipEntry(source, big);
    expect(bigEntry.size).toBe(fiveGiB);
    expect(await bigEntry.read(fiveGiB - 4, 10)).toEqual(new Uint8Array(4));
  });

  it('reports ZIP64 declared sizes of 2^40 as a bomb, without trying to decode them', async () => {
    const built = buildZip([{ name: 'bomb', data: 'tiny', method: 8, zip64: true, uncompressedSize: 2 ** 40 }]);
    const directory = await readZipDirectory(built.source());
    expect(rules(directory.findings)).toEqual(['zip.entry.decompression-bomb']);
    expect(directory.entries[0].uncompressedSize).toBe(2 ** 40);
    const findings: Finding[] = [];
    const child = openZipEntry(built.source(), directory.entries[0], { onFinding: (finding) => findings.push(finding) });
    expect(await readAll(child)).toEqual(utf8('tiny'));
    expect(rules(findings)).toEqual(['container.inflate.size-mismatch']);
  });
});

describe('readZipDirectory on sources that are not zips', () => {
  it.each([
    { case: 'an empty file', bytes: new Uint8Array(0) },
    { case: 'a pickle', bytes: utf8('\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01.') },
    { case: 'ten zero bytes', bytes: new Uint8Array(10) },
  ])('returns no entries and one eocd.missing finding for $case', async ({ bytes }) => {
    const directory = await readZipDirectory(createMemorySource(bytes, 'x'));
    expect(directory.entries).toEqual([]);
    expect(rules(directory.findings)).toEqual(['zip.eocd.missing']);
    expect(directory.entriesFrom).toBe('local-headers');
  });

  it('reads a source whose inflated members are fed back in (a zip inside a zip)', async () => {
    const inner = buildZip([{ name: 'data.pkl', data: 'inner', method: 8 }]).bytes();
    const outer = buildZip([{ name: 'inner.zip', data: inner, method: 8 }]);
    const outerDirectory = await readZipDirectory(outer.source('outer.zip'));
    const child = openZipEntry(outer.source('outer.zip'), outerDirectory.entries[0]);
    const innerDirectory = await readZipDirectory(child);
    expect(innerDirectory.entries.map((entry) => entry.name)).toEqual(['data.pkl']);
    const grandchild = openZipEntry(child, innerDirectory.entries[0]);
    expect(grandchild.name).toBe('outer.zip/inner.zip/data.pkl');
    expect(new TextDecoder().decode(await readAll(grandchild))).toBe('inner');
  });
});
