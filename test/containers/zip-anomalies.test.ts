import { describe, expect, it } from 'vitest';
import { type ZipDirectory, type ZipLimits, readZipDirectory } from '../../src/containers/zip.ts';
import type { ByteSource } from '../../src/io/byte-source.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import { RULES } from '../../src/rules/index.ts';
import { type BuiltZip, buildZip, utf8 } from '../builders/zip.ts';

/**
 * One row per anomaly: an archive built byte by byte, the exact rules it must
 * raise (no more, no fewer) and the offset of the finding that matters.
 */
interface AnomalyCase {
  name: string;
  build(): { source: ByteSource; zip?: BuiltZip };
  /** Every rule raised, sorted. */
  rules: string[];
  /** The rule under test and the offset its (first) finding must carry. */
  at: [rule: string, offset: (zip: BuiltZip | undefined, source: ByteSource) => number];
  limits?: Partial<ZipLimits>;
  check?(directory: ZipDirectory): void;
}

const content = 'pickle bytes '.repeat(20);

function built(zip: BuiltZip) {
  return { source: zip.source('case.zip'), zip };
}

/** Build, then change bytes of the laid-out archive. */
function patched(zip: BuiltZip, patch: (bytes: Uint8Array, view: DataView) => void) {
  const bytes = zip.bytes();
  patch(bytes, new DataView(bytes.buffer));
  return { source: createMemorySource(bytes, 'case.zip'), zip };
}

const entry = (zip: BuiltZip | undefined, index: number) => {
  if (!zip) throw new Error('row needs the built zip');
  return zip.entries[index];
};

const CASES: AnomalyCase[] = [
  {
    name: 'local name differs from central name (CVE-2025-1944)',
    build: () => built(buildZip([{ name: 'archive/data.pkl', localName: 'archive/readme.txt', data: content }])),
    rules: ['zip.entry.name-mismatch'],
    at: ['zip.entry.name-mismatch', (zip) => entry(zip, 0).localHeaderOffset + 30],
    check: (directory) => {
      expect(directory.entries[0]).toMatchObject({ name: 'archive/data.pkl', centralName: 'archive/data.pkl', localName: 'archive/readme.txt' });
      const finding = directory.findings.find((candidate) => candidate.rule === 'zip.entry.name-mismatch');
      expect(finding?.evidence).toBe('central: "archive/data.pkl"; local: "archive/readme.txt"');
    },
  },
  {
    name: 'encryption flag in the central directory (CVE-2025-1945)',
    build: () => built(buildZip([{ name: 'data.pkl', data: content, flags: 0x1 }])),
    rules: ['zip.entry.encrypted'],
    at: ['zip.entry.encrypted', (zip) => (entry(zip, 0).centralHeaderOffset ?? -1) + 8],
    check: (directory) => expect(directory.entries[0].readable).toBe(true),
  },
  {
    name: 'strong encryption flag only in the local header (CVE-2025-1945)',
    build: () => built(buildZip([{ name: 'data.pkl', data: content, localFlags: 0x40 }])),
    rules: ['zip.entry.encrypted', 'zip.entry.header-mismatch'],
    at: ['zip.entry.encrypted', (zip) => entry(zip, 0).localHeaderOffset + 6],
  },
  {
    name: 'patch data flag (CVE-2025-1945)',
    build: () => built(buildZip([{ name: 'data.pkl', data: content, flags: 0x20 }])),
    rules: ['zip.entry.patch-data'],
    at: ['zip.entry.patch-data', (zip) => (entry(zip, 0).centralHeaderOffset ?? -1) + 8],
  },
  {
    name: 'data descriptor (flag 0x8)',
    build: () => built(buildZip([{ name: 'data.pkl', data: content, method: 8, dataDescriptor: true }, { name: 'b', data: 'x' }])),
    rules: ['zip.entry.data-descriptor'],
    at: ['zip.entry.data-descriptor', (zip) => (entry(zip, 0).centralHeaderOffset ?? -1) + 8],
  },
  {
    name: 'two central records pointing at one local header (overlap bomb)',
    build: () =>
      built(
        buildZip([
          { name: 'a.pkl', data: content },
          { name: 'a.pkl', data: content, centralLocalHeaderOffset: 0 },
        ]),
      ),
    rules: ['zip.entry.duplicate-name', 'zip.entry.overlap', 'zip.unreferenced-bytes'],
    at: ['zip.entry.overlap', () => 0],
  },
  {
    name: 'entry data running into the central directory',
    build: () => built(buildZip([{ name: 'a.pkl', data: content, method: 8, compressedSize: 10_000 }])),
    rules: ['zip.entry.out-of-bounds', 'zip.entry.overlap'],
    at: ['zip.entry.overlap', (zip) => zip?.centralDirectoryOffset ?? -1],
  },
  {
    name: 'local header offset outside the file',
    build: () => built(buildZip([{ name: 'a.pkl', data: content, centralLocalHeaderOffset: 1_000_000_000 }])),
    rules: ['zip.entry.out-of-bounds', 'zip.prefix-data'],
    at: ['zip.entry.out-of-bounds', (zip) => entry(zip, 0).centralHeaderOffset ?? -1],
    check: (directory) => expect(directory.entries[0]).toMatchObject({ dataOffset: null, readable: false, localName: null }),
  },
  {
    name: 'local header offset pointing at data instead of a header',
    build: () => built(buildZip([{ name: 'a.pkl', data: content, centralLocalHeaderOffset: 40 }])),
    rules: ['zip.entry.local-header-invalid', 'zip.prefix-data'],
    at: ['zip.entry.local-header-invalid', () => 40],
  },
  {
    name: 'local header disagreeing on method',
    build: () => built(buildZip([{ name: 'a.pkl', data: content, localMethod: 8 }])),
    rules: ['zip.entry.header-mismatch'],
    at: ['zip.entry.header-mismatch', () => 0],
  },
  {
    name: 'stored entry whose two sizes differ',
    build: () => built(buildZip([{ name: 'a.pkl', data: content, uncompressedSize: 5 }])),
    rules: ['zip.entry.sizes-invalid'],
    at: ['zip.entry.sizes-invalid', (zip) => entry(zip, 0).centralHeaderOffset ?? -1],
  },
  {
    name: 'parent-directory traversal',
    build: () => built(buildZip([{ name: '../../.bashrc', data: content }])),
    rules: ['zip.entry.path-traversal'],
    at: ['zip.entry.path-traversal', (zip) => entry(zip, 0).centralHeaderOffset ?? -1],
  },
  {
    name: 'absolute path',
    build: () => built(buildZip([{ name: '/etc/cron.d/x', data: content }])),
    rules: ['zip.entry.path-traversal'],
    at: ['zip.entry.path-traversal', (zip) => entry(zip, 0).centralHeaderOffset ?? -1],
  },
  {
    name: 'Windows drive path with backslashes',
    build: () => built(buildZip([{ name: 'C:\\Users\\x\\startup.py', data: content }])),
    rules: ['zip.entry.name-unusual', 'zip.entry.path-traversal'],
    at: ['zip.entry.path-traversal', (zip) => entry(zip, 0).centralHeaderOffset ?? -1],
  },
  {
    name: 'backslash traversal',
    build: () => built(buildZip([{ name: 'a\\..\\..\\x.py', data: content }])),
    rules: ['zip.entry.name-unusual', 'zip.entry.path-traversal'],
    at: ['zip.entry.name-unusual', (zip) => entry(zip, 0).centralHeaderOffset ?? -1],
  },
  {
    name: 'NUL byte in the name (Python cuts it there)',
    build: () => built(buildZip([{ name: 'data.pkl\0.txt', data: content }])),
    rules: ['zip.entry.name-unusual'],
    at: ['zip.entry.name-unusual', (zip) => entry(zip, 0).centralHeaderOffset ?? -1],
  },
  {
    name: 'traversal only in the local name',
    build: () => built(buildZip([{ name: 'data.pkl', localName: '../data.pkl', data: content }])),
    rules: ['zip.entry.name-mismatch', 'zip.entry.path-traversal'],
    at: ['zip.entry.path-traversal', (zip) => entry(zip, 0).localHeaderOffset],
  },
  {
    name: 'Unix symbolic link',
    build: () => built(buildZip([{ name: 'link', data: '/etc/passwd', externalAttributes: (0o120777 << 16) >>> 0 }])),
    rules: ['zip.entry.symlink'],
    at: ['zip.entry.symlink', (zip) => entry(zip, 0).centralHeaderOffset ?? -1],
    check: (directory) => expect(directory.entries[0].isSymlink).toBe(true),
  },
  {
    name: 'duplicate names',
    build: () =>
      built(
        buildZip([
          { name: 'archive/data.pkl', data: 'harmless' },
          { name: 'archive/data.pkl', data: content },
        ]),
      ),
    rules: ['zip.entry.duplicate-name'],
    at: ['zip.entry.duplicate-name', (zip) => entry(zip, 1).centralHeaderOffset ?? -1],
  },
  {
    name: 'more entries than the limit',
    build: () => built(buildZip(Array.from({ length: 5 }, (_, index) => ({ name: `e${index}`, data: 'x' })))),
    limits: { maxEntries: 3 },
    rules: ['zip.entries.too-many'],
    at: ['zip.entries.too-many', (zip) => entry(zip, 3).centralHeaderOffset ?? -1],
    check: (directory) => expect(directory.entries).toHaveLength(3),
  },
  {
    name: 'central directory larger than the limit',
    build: () => built(buildZip(Array.from({ length: 5 }, (_, index) => ({ name: `e${index}`, data: 'x' })))),
    limits: { maxCentralDirectoryBytes: 100 },
    rules: ['zip.entries.too-many'],
    // Records are 48 bytes: those starting below the 100-byte limit are read whole.
    at: ['zip.entries.too-many', (zip) => entry(zip, 3).centralHeaderOffset ?? -1],
    check: (directory) => expect(directory.entries).toHaveLength(3),
  },
  {
    name: 'unsupported compression method (LZMA)',
    build: () => built(buildZip([{ name: 'data.pkl', data: content, method: 14 }])),
    rules: ['zip.entry.unsupported-method'],
    at: ['zip.entry.unsupported-method', (zip) => entry(zip, 0).centralHeaderOffset ?? -1],
    check: (directory) => expect(directory.entries[0].readable).toBe(false),
  },
  {
    name: 'declared ratio of a bomb',
    build: () => built(buildZip([{ name: 'zeros', data: 'x', method: 8, uncompressedSize: 500 * 1024 * 1024 }])),
    rules: ['zip.entry.decompression-bomb'],
    at: ['zip.entry.decompression-bomb', (zip) => entry(zip, 0).centralHeaderOffset ?? -1],
  },
  {
    name: 'declared size over the inflate limit',
    build: () => built(buildZip([{ name: 'big', data: content, method: 8, uncompressedSize: 2000 }])),
    limits: { maxInflatedBytes: 1000 },
    rules: ['zip.entry.decompression-bomb'],
    at: ['zip.entry.decompression-bomb', (zip) => entry(zip, 0).centralHeaderOffset ?? -1],
  },
  {
    name: 'no end record: local headers walked from the start',
    build: () => built(buildZip([{ name: 'a.pkl', data: content }, { name: 'b', data: 'x', method: 8 }], { omitCentralDirectory: true })),
    rules: ['zip.eocd.missing'],
    at: ['zip.eocd.missing', () => 0],
    check: (directory) => {
      expect(directory.entriesFrom).toBe('local-headers');
      expect(directory.entries.map((found) => [found.name, found.centralName, found.readable])).toEqual([
        ['a.pkl', null, true],
        ['b', null, true],
      ]);
    },
  },
  {
    name: 'no end record, sizes in data descriptors',
    build: () =>
      built(
        buildZip(
          [
            { name: 'a.pkl', data: content, method: 8, dataDescriptor: true },
            { name: 'b', data: content, dataDescriptor: true, zip64: true },
            { name: 'c', data: 'tail' },
          ],
          { omitCentralDirectory: true },
        ),
      ),
    rules: ['zip.entry.data-descriptor', 'zip.eocd.missing'],
    at: ['zip.eocd.missing', () => 0],
    check: (directory) => expect(directory.entries.map((found) => [found.name, found.compressedSize])).toEqual([
      ['a.pkl', directory.entries[0].compressedSize],
      ['b', content.length],
      ['c', 4],
    ]),
  },
  {
    name: 'no end record, data descriptor that cannot be found',
    build: () =>
      patched(buildZip([{ name: 'a.pkl', data: content, dataDescriptor: true }], { omitCentralDirectory: true }), (bytes) => {
        bytes.fill(0, bytes.length - 16);
      }),
    rules: ['zip.eocd.missing', 'zip.local-walk.stopped'],
    at: ['zip.local-walk.stopped', () => 0],
    check: (directory) => expect(directory.entries).toEqual([]),
  },
  {
    name: 'central directory offset outside the file: falls back to local headers',
    build: () => built(buildZip([{ name: 'a.pkl', data: content }], { declaredCentralDirectoryOffset: 1_000_000 })),
    rules: ['zip.central-directory.out-of-bounds'],
    at: ['zip.central-directory.out-of-bounds', (zip) => zip?.endRecordOffset ?? -1],
    check: (directory) => {
      expect(directory.entriesFrom).toBe('local-headers');
      expect(directory.entries.map((found) => found.name)).toEqual(['a.pkl']);
    },
  },
  {
    name: 'central directory cut: a record runs past its declared size',
    build: () => built(buildZip([{ name: 'a', data: 'x' }, { name: 'b', data: 'y' }], { declaredCentralDirectorySize: 60 })),
    rules: ['zip.central-directory.misplaced', 'zip.central-directory.truncated', 'zip.eocd.invalid'],
    at: ['zip.central-directory.truncated', (zip) => entry(zip, 1).centralHeaderOffset ?? -1],
    check: (directory) => expect(directory.entries.map((found) => found.name)).toEqual(['a']),
  },
  {
    name: 'central directory truncated mid-record (file cut before the end record is rebuilt)',
    build: () =>
      patched(buildZip([{ name: 'a', data: 'x' }, { name: 'b', data: 'y' }]), (bytes, view) => {
        const second = bytes.indexOf(0x50, 70);
        view.setUint32(second, 0x0badf00d, true);
      }),
    rules: ['zip.central-directory.truncated'],
    at: ['zip.central-directory.truncated', (zip) => entry(zip, 1).centralHeaderOffset ?? -1],
  },
  {
    name: 'entry count disagreeing with the directory',
    build: () => built(buildZip([{ name: 'a', data: 'x' }], { declaredEntryCount: 3 })),
    rules: ['zip.central-directory.count-mismatch', 'zip.eocd.invalid'],
    at: ['zip.central-directory.count-mismatch', (zip) => zip?.centralDirectoryOffset ?? -1],
  },
  {
    name: 'zip appended to other bytes without fixing offsets (self-extractor layout)',
    build: () => {
      const zip = buildZip([{ name: 'a.pkl', data: content }]);
      const prefix = utf8('#!/bin/sh\nexec python -c "...."\n');
      const bytes = new Uint8Array(prefix.length + zip.size);
      bytes.set(prefix);
      bytes.set(zip.bytes(), prefix.length);
      return { source: createMemorySource(bytes, 'case.zip'), zip };
    },
    rules: ['zip.central-directory.misplaced', 'zip.prefix-data'],
    at: ['zip.central-directory.misplaced', (zip) => zip?.centralDirectoryOffset ?? -1],
    check: (directory) => {
      const prefixLength = 32;
      expect(directory.offsetShift).toBe(prefixLength);
      expect(directory.entries[0]).toMatchObject({ name: 'a.pkl', localHeaderOffset: prefixLength, dataOffset: prefixLength + 35, readable: true });
    },
  },
  {
    name: 'bytes before the first entry (polyglot)',
    build: () => built(buildZip([{ name: 'a.pkl', data: content }], { prefix: utf8('\x80\x02cos\nsystem\n.') })),
    rules: ['zip.prefix-data'],
    at: ['zip.prefix-data', () => 0],
  },
  {
    name: 'bytes after the end record',
    build: () => built(buildZip([{ name: 'a.pkl', data: content }], { trailing: utf8('trailing payload') })),
    rules: ['zip.eocd.trailing-data'],
    at: ['zip.eocd.trailing-data', (zip) => (zip?.size ?? 0) - 16],
  },
  {
    name: 'comment length running past the end of the file',
    build: () => built(buildZip([{ name: 'a.pkl', data: content }], { comment: 'abc', commentLength: 500 })),
    rules: ['zip.eocd.invalid'],
    at: ['zip.eocd.invalid', (zip) => (zip?.endRecordOffset ?? 0) + 20],
  },
  {
    name: 'split archive (disk numbers)',
    build: () => built(buildZip([{ name: 'a.pkl', data: content }], { diskNumber: 2 })),
    rules: ['zip.eocd.invalid'],
    at: ['zip.eocd.invalid', (zip) => zip?.endRecordOffset ?? -1],
  },
  {
    name: 'ZIP64 locator pointing past itself',
    build: () =>
      patched(buildZip([{ name: 'a.pkl', data: content }], { zip64EndRecord: true }), (_bytes, view) => {
        const locator = (view.byteLength - 22) - 20;
        view.setBigUint64(locator + 8, 1n << 40n, true);
      }),
    rules: ['zip.central-directory.out-of-bounds', 'zip.zip64.invalid'],
    at: ['zip.zip64.invalid', (_zip, source) => source.size - 22 - 20 + 8],
  },
  {
    name: 'ZIP64 locator pointing at something else',
    build: () =>
      patched(buildZip([{ name: 'a.pkl', data: content }], { zip64EndRecord: true }), (_bytes, view) => {
        view.setBigUint64(view.byteLength - 22 - 20 + 8, 0n, true);
      }),
    rules: ['zip.central-directory.out-of-bounds', 'zip.zip64.invalid'],
    at: ['zip.zip64.invalid', () => 0],
  },
  {
    name: 'ZIP64 marker in a central record with no ZIP64 extra field',
    build: () =>
      patched(buildZip([{ name: 'a.pkl', data: content }]), (_bytes, view) => {
        const zip = buildZip([{ name: 'a.pkl', data: content }]);
        view.setUint32(zip.centralDirectoryOffset + 20, 0xffffffff, true);
      }),
    rules: ['zip.entry.header-mismatch', 'zip.entry.out-of-bounds', 'zip.entry.overlap', 'zip.entry.sizes-invalid', 'zip.zip64.invalid'],
    at: ['zip.zip64.invalid', (zip) => zip?.centralDirectoryOffset ?? -1],
  },
  {
    name: 'gap between entries',
    build: () => built(buildZip([{ name: 'a', data: content }, { name: 'b', data: 'x', offset: 1000 }])),
    rules: ['zip.unreferenced-bytes'],
    at: ['zip.unreferenced-bytes', (zip) => entry(zip, 0).dataOffset + entry(zip, 0).dataLength],
  },
  {
    name: 'local entry missing from the central directory (hidden member)',
    build: () => built(buildZip([{ name: 'a', data: content }, { name: 'hidden.pkl', data: content, omitFromCentral: true }, { name: 'c', data: 'x' }])),
    rules: ['zip.unreferenced-bytes'],
    at: ['zip.unreferenced-bytes', (zip) => entry(zip, 1).localHeaderOffset],
  },
  {
    name: 'name longer than the limit',
    build: () => built(buildZip([{ name: 'x'.repeat(40), data: 'x' }])),
    limits: { maxNameBytes: 16 },
    rules: ['zip.entry.name-too-long'],
    at: ['zip.entry.name-too-long', (zip) => entry(zip, 0).centralHeaderOffset ?? -1],
    check: (directory) => expect(directory.entries[0].name).toBe(`${'x'.repeat(16)}…`),
  },
];

describe('readZipDirectory: anomalies become findings', () => {
  it.each(CASES)('$name', async (row) => {
    const { source, zip } = row.build();
    const directory = await readZipDirectory(source, { limits: row.limits });
    expect(directory.findings.map((finding) => finding.rule).sort()).toEqual([...row.rules].sort());
    const [rule, offsetOf] = row.at;
    const finding = directory.findings.find((candidate) => candidate.rule === rule);
    expect(finding?.location.offset).toBe(offsetOf(zip, source));
    row.check?.(directory);
  });

  it('uses only rule ids from the catalog', async () => {
    for (const row of CASES) for (const rule of row.rules) expect(Object.keys(RULES)).toContain(rule);
  });

  it('caps findings per rule and counts the rest in a summary', async () => {
    const zip = buildZip(Array.from({ length: 7 }, (_, index) => ({ name: `../x${index}`, data: 'x' })));
    const directory = await readZipDirectory(zip.source(), { limits: { maxFindingsPerRule: 2 } });
    const traversal = directory.findings.filter((finding) => finding.rule === 'zip.entry.path-traversal');
    expect(traversal).toHaveLength(3);
    expect(traversal[2].detail).toBe('5 more findings of this rule were not listed (7 in all).');
  });
});
