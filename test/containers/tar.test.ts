import { describe, expect, it } from 'vitest';
import { MAX_TAR_MEMBERS, isEscapingPath, parseTarNumber, readTarMembers } from '../../src/containers/tar.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import { endOfArchive, gnuLongName, join, member, paxHeader, tar, tarHeader } from '../builders/tar.ts';

const encoder = new TextEncoder();
const list = (bytes: Uint8Array) => readTarMembers(createMemorySource(bytes, 'test.tar'));
const rules = (findings: { rule: string }[]) => findings.map((finding) => finding.rule);

describe('readTarMembers', () => {
  it('lists members with their data offsets and sizes', async () => {
    const bytes = tar(member('sys_info', 'abc'), member('pickle', new Uint8Array(600)), member('dir/', '', { typeflag: '5' }));
    const listing = await list(bytes);
    expect(listing.findings).toEqual([]);
    expect(listing.members.map(({ name, type, size, headerOffset, dataOffset }) => ({ name, type, size, headerOffset, dataOffset }))).toEqual([
      { name: 'sys_info', type: 'file', size: 3, headerOffset: 0, dataOffset: 512 },
      { name: 'pickle', type: 'file', size: 600, headerOffset: 1024, dataOffset: 1536 },
      { name: 'dir/', type: 'directory', size: 0, headerOffset: 2560, dataOffset: 3072 },
    ]);
    expect(new TextDecoder().decode(bytes.subarray(512, 515))).toBe('abc');
  });

  it('reads names from pax headers, GNU long names and the ustar prefix', async () => {
    const long = `${'d/'.repeat(80)}storages`;
    const listing = await list(
      tar(paxHeader({ path: 'ünïcode/pickle' }), member('ignored', 'x'), gnuLongName(long), member('short', 'y'), member('name', 'z', { prefix: 'some/prefix' })),
    );
    expect(listing.members.map((entry) => entry.name)).toEqual(['ünïcode/pickle', long, 'some/prefix/name']);
    expect(listing.findings).toEqual([]);
  });

  it('takes the size from a pax record and from a base-256 field', async () => {
    const data = new Uint8Array(700).fill(7);
    const pax = await list(tar(paxHeader({ size: '700' }), member('big', data, { declaredSize: 0 })));
    expect(pax.members[0].size).toBe(700);
    const base256 = await list(tar(member('big', data, { base256Size: true })));
    expect(base256.members[0]).toMatchObject({ size: 700, dataOffset: 512 });
  });

  const anomalies: { name: string; bytes: () => Uint8Array; rule: string; offset: number }[] = [
    { name: 'parent traversal', bytes: () => tar(member('../../etc/cron.d/job', 'x')), rule: 'tar.member.traversal', offset: 0 },
    { name: 'absolute path', bytes: () => tar(member('/etc/passwd', 'x')), rule: 'tar.member.traversal', offset: 0 },
    { name: 'Windows drive', bytes: () => tar(member('C:\\Windows\\x.dll', 'x')), rule: 'tar.member.traversal', offset: 0 },
    { name: 'pax path traversal', bytes: () => tar(paxHeader({ path: 'a/../../b' }), member('fine', 'x')), rule: 'tar.member.traversal', offset: 1024 },
    { name: 'symlink', bytes: () => tar(member('storages', '', { typeflag: '2', linkName: '/etc/passwd' })), rule: 'tar.member.link', offset: 0 },
    { name: 'hard link', bytes: () => tar(member('a', 'x'), member('storages', '', { typeflag: '1', linkName: 'a' })), rule: 'tar.member.link', offset: 1024 },
    { name: 'duplicate name', bytes: () => tar(member('pickle', 'a'), member('./pickle', 'b')), rule: 'tar.member.duplicate', offset: 1024 },
    { name: 'bad checksum', bytes: () => tar(member('pickle', 'a'), member('tensors', 'b', { badChecksum: true })), rule: 'tar.header.invalid', offset: 1024 },
    { name: 'size not octal', bytes: () => {
      const header = tarHeader({ name: 'x', size: 1 });
      header.set(encoder.encode('zz'), 124);
      // Keep the checksum right so only the size is wrong.
      header.fill(0x20, 148, 156);
      const sum = header.reduce((total, byte) => total + byte, 0);
      header.set(encoder.encode(`${sum.toString(8).padStart(6, '0')}\0 `), 148);
      return join(header, new Uint8Array(512), endOfArchive());
    }, rule: 'tar.header.invalid', offset: 0 },
    { name: 'data past the end', bytes: () => member('pickle', 'abc', { declaredSize: 4096 }), rule: 'tar.truncated', offset: 0 },
    { name: 'header cut short', bytes: () => join(member('pickle', 'abc'), new Uint8Array(100).fill(1)), rule: 'tar.truncated', offset: 1024 },
    { name: 'oversized pax header', bytes: () => tar(member('././@PaxHeader', new Uint8Array(2 * 1024 * 1024), { typeflag: 'x' }), member('a', 'b')), rule: 'tar.limit', offset: 0 },
  ];

  it.each(anomalies)('reports $name as $rule at its header', async ({ bytes, rule, offset }) => {
    const listing = await list(bytes());
    const finding = listing.findings.find((candidate) => candidate.rule === rule);
    expect(finding, JSON.stringify(rules(listing.findings))).toBeDefined();
    expect(finding?.location.offset).toBe(offset);
  });

  it('keeps the link target of links and reports it in the finding', async () => {
    const listing = await list(tar(member('storages', '', { typeflag: '2', linkName: '../../home/user/.ssh/id_rsa' })));
    expect(listing.members[0]).toMatchObject({ type: 'symlink', linkName: '../../home/user/.ssh/id_rsa' });
    expect(listing.findings[0].detail).toContain('outside the extraction folder');
  });

  it('escapes control and bidi characters of names in details', async () => {
    const listing = await list(tar(member('../evil\u202egnp.pkl\n', 'x')));
    expect(listing.findings[0].detail).toContain('"../evil\\u202egnp.pkl\\n"');
    expect(listing.members[0].name).toBe('../evil\u202egnp.pkl\n');
  });

  it('stops at MAX_TAR_MEMBERS with a limit finding', async () => {
    const one = member('m', '');
    const many = new Uint8Array(one.length * (MAX_TAR_MEMBERS + 2));
    for (let index = 0; index < MAX_TAR_MEMBERS + 2; index += 1) many.set(one, index * one.length);
    const listing = await list(join(many, endOfArchive()));
    expect(listing.members).toHaveLength(MAX_TAR_MEMBERS);
    expect(rules(listing.findings)).toContain('tar.limit');
  });

  it('never throws on random bytes behind a valid first header', async () => {
    let seed = 1;
    const next = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 24;
    };
    for (let round = 0; round < 50; round += 1) {
      const noise = Uint8Array.from({ length: 1 + (round * 97) % 3000 }, next);
      const listing = await list(join(member('pickle', 'abc'), noise));
      expect(listing.members[0].name).toBe('pickle');
    }
  });
});

describe('tar helpers', () => {
  it.each([
    ['0000644\0', 0o644n],
    ['   17 \0', 0o17n],
    ['\0\0\0', 0n],
    ['12x', null],
    ['9', null],
  ])('parseTarNumber(%j) is %s', (text, expected) => {
    expect(parseTarNumber(encoder.encode(text))).toBe(expected);
  });

  it('reads base-256 and refuses negative base-256', () => {
    expect(parseTarNumber(Uint8Array.from([0x80, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]))).toBe(1n << 24n);
    expect(parseTarNumber(Uint8Array.from([0xff, 0xff, 0xff]))).toBeNull();
  });

  it.each([
    ['pickle', false],
    ['a/b/c', false],
    ['a/..b', false],
    ['../x', true],
    ['a/../../x', true],
    ['/abs', true],
    ['\\\\server\\share', true],
    ['D:evil', true],
    ['a\\..\\..\\x', true],
  ])('isEscapingPath(%j) is %s', (name, expected) => {
    expect(isEscapingPath(name)).toBe(expected);
  });
});
