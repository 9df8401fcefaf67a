import { describe, expect, it } from 'vitest';
import { parseExpectations } from '../../src/provenance/parse-expectations.ts';
import { MAX_ENTRIES, MAX_EXPECTATION_CHARS, MAX_LINE_CHARS, MAX_LINES, MAX_PROBLEMS } from '../../src/provenance/limits.ts';
import type { ExpectationKind, ExpectedFile } from '../../src/provenance/types.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = '0123456789abcdef'.repeat(4);

describe('recognising the kind from the content', () => {
  it.each<[string, string, string, ExpectationKind]>([
    ['a pasted hash', 'pasted', `${A}\n`, 'sha256'],
    ['a pasted hash in upper case with spaces', 'pasted', `  ${A.toUpperCase()}  `, 'sha256'],
    ['a sha256:-prefixed hash', 'pasted', `sha256:${A}`, 'sha256'],
    ['a GNU listing', 'SHA256SUMS', `${A}  model.safetensors\n`, 'sha256sums'],
    ['a BSD listing', 'CHECKSUMS', `SHA256 (model.safetensors) = ${A}\n`, 'sha256sums'],
    ['a Git LFS pointer', 'model.safetensors', `version https://git-lfs.github.com/spec/v1\noid sha256:${A}\nsize 12\n`, 'git-lfs-pointer'],
    ['a Hugging Face tree listing', 'tree.json', JSON.stringify([{ type: 'file', path: 'x.bin', size: 1, oid: 'f'.repeat(40), lfs: { oid: A, size: 1, pointerSize: 130 } }]), 'huggingface-listing'],
    ['a Hugging Face model info', 'info.json', JSON.stringify({ id: 'o/m', siblings: [{ rfilename: 'x.bin', lfs: { sha256: A, size: 1 } }] }), 'huggingface-listing'],
    ['an in-toto statement', 'statement.json', JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'x.bin', digest: { sha256: A } }], predicateType: 'https://slsa.dev/provenance/v1' }), 'in-toto-statement'],
    ['a README', 'README.md', '# A model\n\nIt is very good.\n', 'unrecognised'],
    ['a JSON object of another kind', 'config.json', '{"hidden_size": 4096}', 'unrecognised'],
    ['binary content', 'model.bin', 'PK\u0003\u0004\u0000\u0000', 'unrecognised'],
  ])('%s', (_, name, text, kind) => {
    expect(parseExpectations(name, text).kind).toBe(kind);
  });

  it('a byte-order mark does not hide the kind', () => {
    expect(parseExpectations('SHA256SUMS', `\uFEFF${A}  x.bin\n`).entries).toEqual([{ path: 'x.bin', sha256: A, line: 1 }]);
  });

  it('refuses text over the size limit before reading it', () => {
    const set = parseExpectations('huge', 'x'.repeat(MAX_EXPECTATION_CHARS + 1));
    expect(set.kind).toBe('unrecognised');
    expect(set.problems[0].message).toContain(`exceeds the ${MAX_EXPECTATION_CHARS}-character limit`);
  });

  it('says what an unrecognised text looked like, with line numbers', () => {
    const set = parseExpectations('README.md', '# A model\nIt is very good.\nTruly.\nReally.\n');
    expect(set.problems[0].message).toMatch(/^not recognised as a SHA-256, a SHA256SUMS listing/);
    expect(set.problems.slice(1).map((problem) => problem.line)).toEqual([2, 3, 4]);
  });
});

describe('SHA256SUMS listings', () => {
  it.each<[string, string, ExpectedFile[]]>([
    ['text mode (two spaces)', `${A}  model.safetensors`, [{ path: 'model.safetensors', sha256: A, line: 1 }]],
    ['binary mode (space, star)', `${A} *model.safetensors`, [{ path: 'model.safetensors', sha256: A, line: 1 }]],
    ['upper-case hex is lowered', `${A.toUpperCase()}  x`, [{ path: 'x', sha256: A, line: 1 }]],
    ['comments and blank lines are skipped', `# made by sha256sum\n\n${A}  x\n   \n# end`, [{ path: 'x', sha256: A, line: 3 }]],
    ['CRLF line ends', `${A}  x.bin\r\n${B}  y.bin\r\n`, [{ path: 'x.bin', sha256: A, line: 1 }, { path: 'y.bin', sha256: B, line: 2 }]],
    ['./ prefixes and backslashes are normalised', `${A}  ./sub\\x.bin`, [{ path: 'sub/x.bin', sha256: A, line: 1 }]],
    ['a path with spaces is kept whole', `${A}  my model/weights 1.bin`, [{ path: 'my model/weights 1.bin', sha256: A, line: 1 }]],
    ['GNU escaped names (leading backslash)', `\\${A}  new\\nline`, [{ path: 'new\nline', sha256: A, line: 1 }]],
    ['BSD form', `SHA256 (sub/x.bin) = ${A}`, [{ path: 'sub/x.bin', sha256: A, line: 1 }]],
    ['BSD form with parentheses in the name', `SHA256 (x (1).bin) = ${A}`, [{ path: 'x (1).bin', sha256: A, line: 1 }]],
    ['OpenSSL 3 form', `SHA2-256(x.bin)= ${A}`, [{ path: 'x.bin', sha256: A, line: 1 }]],
  ])('%s', (_, text, entries) => {
    const set = parseExpectations('SHA256SUMS', text);
    expect(set.problems).toEqual([]);
    expect(set.entries).toEqual(entries);
  });

  it.each<[string, string, number, RegExp]>([
    ['a short hash', `${A}  x\n${B}  y\n${'c'.repeat(63)}  z`, 3, /^expected 64 hex digits then two spaces and a path; found 63 hex digits$/],
    ['a SHA-512 line', `${A}  x\n${'d'.repeat(128)}  y`, 2, /found 128 hex digits \(a SHA-512 listing\?\)/],
    ['one space', `${A}  x\n${A} y`, 2, /two spaces and a path; found one space after the hash/],
    ['a tab', `${A}  x\n${A}\ty`, 2, /found a tab after the hash/],
    ['no path', `${A}  x\n${A}  `, 2, /the path "" is empty/],
    ['a path that is only ./', `${A}  x\n${A}  ./`, 2, /the path ".\/" is empty/],
    ['an MD5 BSD line', `${A}  x\nMD5 (y) = ${'e'.repeat(32)}`, 2, /"MD5" digest, not SHA-256; skipped/],
    ['a BSD line with a short digest', `${A}  x\nSHA256 (y) = ${'e'.repeat(60)}`, 2, /SHA256 line has 60 hex digits/],
    ['garbage', `${A}  x\nhello world`, 2, /found "hello world"/],
    ['a line starting with a hex-looking word', `${A}  x\nbad line here`, 2, /found "bad line here"$/],
    ['a line over the length limit', `${A}  x\n${A}  ${'p'.repeat(MAX_LINE_CHARS)}`, 2, new RegExp(`over the ${MAX_LINE_CHARS} limit`)],
  ])('reports %s with its line number and keeps the good lines', (_, text, line, message) => {
    const set = parseExpectations('SHA256SUMS', text);
    expect(set.kind).toBe('sha256sums');
    expect(set.entries.length).toBeGreaterThan(0);
    expect(set.problems).toHaveLength(1);
    expect(set.problems[0].line).toBe(line);
    expect(set.problems[0].message).toMatch(message);
  });

  it('an empty listing is a problem, not silence', () => {
    const set = parseExpectations('SHA256SUMS', '# nothing here\n');
    expect(set.entries).toEqual([]);
    expect(set.problems[0].message).toContain('no SHA-256 found');
  });

  it('reads a PGP clearsigned listing and notes that the signature was not checked', () => {
    const text = [
      '-----BEGIN PGP SIGNED MESSAGE-----',
      'Hash: SHA256',
      '',
      `${A}  x.bin`,
      `- ${B}  y.bin`,
      '-----BEGIN PGP SIGNATURE-----',
      '',
      'iQIzBAEBCAAdFiEE',
      '-----END PGP SIGNATURE-----',
    ].join('\n');
    const set = parseExpectations('SHA256SUMS', text);
    expect(set.problems).toEqual([]);
    expect(set.entries.map((entry) => [entry.path, entry.line])).toEqual([['x.bin', 4], ['y.bin', 5]]);
    expect(set.notes[0]).toContain('PGP signature was not checked');
  });

  it('stops at the line limit and says so', () => {
    const text = `${A}  x\n`.repeat(MAX_LINES + 5);
    const set = parseExpectations('SHA256SUMS', text);
    expect(set.entries.length).toBeLessThanOrEqual(MAX_ENTRIES);
    expect(set.problems.map((problem) => problem.message)).toEqual(
      expect.arrayContaining([`more than ${MAX_LINES} lines: the rest was not read`, `more than ${MAX_ENTRIES} entries: the rest was not read`]),
    );
  });

  it('exactly MAX_LINES lines with a final newline are all read; one more is reported', () => {
    const full = `${A}  x\n` + '#\n'.repeat(MAX_LINES - 1);
    expect(parseExpectations('SHA256SUMS', full).problems).toEqual([]);
    expect(parseExpectations('SHA256SUMS', `${full}${B}  y\n`).problems).toEqual([
      { line: MAX_LINES + 1, message: `more than ${MAX_LINES} lines: the rest was not read` },
    ]);
  });

  it('keeps at most MAX_PROBLEMS problems and counts the rest', () => {
    const text = `${A}  x\n` + 'nonsense\n'.repeat(MAX_PROBLEMS + 7);
    const set = parseExpectations('SHA256SUMS', text);
    expect(set.problems).toHaveLength(MAX_PROBLEMS + 1);
    expect(set.problems[MAX_PROBLEMS].message).toBe(`7 more problem(s) not shown (limit ${MAX_PROBLEMS})`);
  });
});

describe('a pasted SHA-256', () => {
  it('names no file', () => {
    expect(parseExpectations('pasted', `sha256:${C.toUpperCase()}`).entries).toEqual([{ path: null, sha256: C }]);
  });

  it('a 63-digit paste is not taken for a hash', () => {
    const set = parseExpectations('pasted', C.slice(1));
    expect(set.entries).toEqual([]);
    expect(set.kind).toBe('unrecognised');
    expect(set.problems[1]).toEqual({ line: 1, message: expect.stringContaining('found 63 hex digits') });
  });
});

describe('Git LFS pointers', () => {
  const pointer = (lines: string[]) => lines.join('\n') + '\n';
  const version = 'version https://git-lfs.github.com/spec/v1';

  it.each<[string, string, string, ExpectedFile[]]>([
    ['the pointer names the file of its own name', 'model.safetensors', pointer([version, `oid sha256:${A}`, 'size 1048576']), [{ path: 'model.safetensors', sha256: A, size: 1048576, line: 2 }]],
    ['a pointer kept in another folder still names its base name', 'pointers/sub/model.gguf', pointer([version, `oid sha256:${A}`, 'size 7']), [{ path: 'model.gguf', sha256: A, size: 7, line: 2 }]],
    ['the pre-release version URL', 'x.bin', pointer(['version https://hawser.github.com/spec/v1', `oid sha256:${A}`, 'size 7']), [{ path: 'x.bin', sha256: A, size: 7, line: 2 }]],
    ['extension lines are allowed', 'x.bin', pointer([version, `ext-0-foo sha256:${B}`, `oid sha256:${A}`, 'size 7']), [{ path: 'x.bin', sha256: A, size: 7, line: 3 }]],
    ['CRLF', 'x.bin', `${version}\r\noid sha256:${A}\r\nsize 7\r\n`, [{ path: 'x.bin', sha256: A, size: 7, line: 2 }]],
  ])('%s', (_, name, text, entries) => {
    const set = parseExpectations(name, text);
    expect(set.kind).toBe('git-lfs-pointer');
    expect(set.problems).toEqual([]);
    expect(set.entries).toEqual(entries);
  });

  it.each<[string, string, number | undefined, RegExp]>([
    ['an upper-case oid', pointer([version, `oid sha256:${A.toUpperCase()}`, 'size 7']), 2, /expected "oid sha256:" then 64 lower-case hex digits/],
    ['a short oid', pointer([version, `oid sha256:${A.slice(1)}`, 'size 7']), 2, /64 lower-case hex digits/],
    ['another hash algorithm', pointer([version, `oid sha512:${A}${A}`, 'size 7']), 2, /oid sha256:/],
    ['no oid', pointer([version, 'size 7']), undefined, /has no "oid sha256:" line/],
    ['a size that is not a number', pointer([version, `oid sha256:${A}`, 'size -1']), 3, /expected "size" then a whole number of bytes/],
    ['a size past 2^53', pointer([version, `oid sha256:${A}`, 'size 9999999999999999']), 3, /whole number of bytes/],
    ['a line that is not key value', pointer([version, `oid sha256:${A}`, 'size 7', 'garbage']), 4, /expected a "key value" line/],
    ['a pointer over 1024 characters', pointer([version, `oid sha256:${A}`, 'size 7', `x-pad ${'p'.repeat(1024)}`]), undefined, /under 1024 bytes/],
  ])('reports %s', (_, text, line, message) => {
    const set = parseExpectations('model.safetensors', text);
    expect(set.kind).toBe('git-lfs-pointer');
    expect(set.problems[0].line).toBe(line);
    expect(set.problems[0].message).toMatch(message);
  });

  it('without a size, only the hash is expected (and a note says so)', () => {
    const set = parseExpectations('x.bin', pointer([version, `oid sha256:${A}`]));
    expect(set.entries).toEqual([{ path: 'x.bin', sha256: A, line: 2 }]);
    expect(set.notes[0]).toContain('gives no size');
  });
});

describe('Hugging Face listings', () => {
  it('reads LFS files from a tree listing and counts the files with only a Git SHA-1', () => {
    const listing = [
      { type: 'directory', path: 'onnx', oid: 'f'.repeat(40), size: 0 },
      { type: 'file', path: 'config.json', oid: 'e'.repeat(40), size: 600 },
      { type: 'file', path: 'model.safetensors', oid: 'd'.repeat(40), size: 3, lfs: { oid: A, size: 3, pointerSize: 135 } },
      { type: 'file', path: 'onnx/model.onnx', oid: 'c'.repeat(40), size: 9, lfs: { oid: B, size: 9, pointerSize: 133 } },
    ];
    const set = parseExpectations('tree.json', JSON.stringify(listing));
    expect(set.problems).toEqual([]);
    expect(set.entries).toEqual([
      { path: 'model.safetensors', sha256: A, size: 3 },
      { path: 'onnx/model.onnx', sha256: B, size: 9 },
    ]);
    expect(set.notes[0]).toMatch(/^1 file\(s\) in tree.json are not stored with LFS/);
  });

  it('reads siblings of a model info answer', () => {
    const info = { id: 'org/model', siblings: [{ rfilename: 'model.safetensors', lfs: { sha256: A, size: 3, pointerSize: 135 } }, { rfilename: 'README.md' }] };
    expect(parseExpectations('info.json', JSON.stringify(info)).entries).toEqual([{ path: 'model.safetensors', sha256: A, size: 3 }]);
  });

  it.each<[string, unknown[], RegExp]>([
    ['an item that is not an object', [{ path: 'ok', lfs: { oid: A, size: 1 } }, 7], /^\[1\] is not an object$/],
    ['an LFS oid that is not a SHA-256', [{ path: 'ok', lfs: { oid: A, size: 1 } }, { path: 'x', lfs: { oid: 'zz', size: 1 } }], /^\[1\]: lfs.oid is not 64 lower-case hex digits$/],
    ['a path that is not a string', [{ path: 'ok', lfs: { oid: A, size: 1 } }, { path: 5, lfs: { oid: A } }], /^\[1\]: path is not a string/],
    ['a negative size', [{ path: 'ok', lfs: { oid: A, size: -1 } }], /^\[0\]: lfs.size is not a whole number of bytes/],
  ])('reports %s by its JSON path', (_, listing, message) => {
    const set = parseExpectations('tree.json', JSON.stringify(listing));
    expect(set.problems[0].message).toMatch(message);
    expect(set.entries.length).toBeGreaterThan(0);
  });
});

describe('JSON that does not parse', () => {
  it.each([
    ['model.sig', '{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",}', 'model-signing-bundle', /^bundle is not JSON: .*position/],
    ['model.sig', 'not json at all', 'model-signing-bundle', /^bundle is not JSON: /],
    ['tree.json', '[{"path": "x"', 'unrecognised', /^file is not JSON: /],
  ])('%s %j', (name, text, kind, message) => {
    const set = parseExpectations(name, text);
    expect(set.kind).toBe(kind);
    expect(set.entries).toEqual([]);
    expect(set.problems[0].message).toMatch(message);
  });
});
