import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectFormat } from '../../src/formats/index.ts';
import { LEGACY_MAGIC_NUMBER, readLiteralPickle, startsWithLegacyMagic, torchLegacyFormat } from '../../src/formats/torch-legacy.ts';
import { createNodeSha256 } from '../../src/hash/node-sha256.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import { scanPickleBytes } from '../../src/pickle/pickle-scanner.ts';
import { rebuildTorchTensors, toTensorInfos } from '../../src/pickle/torch-tensors.ts';
import type { FileReport } from '../../src/report/types.ts';
import { scanSource } from '../../src/scan.ts';
import * as p from '../builders/pickle.ts';
import { member, tar } from '../builders/tar.ts';

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/torch/${name}`, import.meta.url)));
const scan = (bytes: Uint8Array, name = 'model.pt', chunkSize?: number): Promise<FileReport> =>
  scanSource(createMemorySource(bytes, name), { createSha256: createNodeSha256, chunkSize });
const rulesOf = (report: { findings: { rule: string }[] }) => report.findings.map((finding) => finding.rule);

// ---------------------------------------------------------------------------
// A legacy torch.save file, built opcode by opcode
// ---------------------------------------------------------------------------

const magicPickle = () => p.pickle(p.proto(2), p.long1(LEGACY_MAGIC_NUMBER), p.stop());
const versionPickle = (version = 1001) => p.pickle(p.proto(2), p.binint2(version), p.stop());
const sysInfoPickle = () =>
  p.pickle(p.proto(2), p.emptyDict(), p.mark(), p.binunicode('protocol_version'), p.binint2(1001), p.binunicode('little_endian'), p.newTrue(), p.setitems(), p.stop());
const intTuple = (values: number[]) => p.pickle(p.mark(), ...values.map((value) => p.binint(value)), p.tuple());

interface TensorSpec {
  name: string;
  key: string;
  storageType?: [string, string];
  numel: number;
  offset?: number;
  shape: number[];
  stride: number[];
}

/** `torch._utils._rebuild_tensor_v2(persistent_id, offset, shape, stride, False, OrderedDict())`. */
const tensorCall = (spec: TensorSpec) =>
  p.pickle(
    p.global('torch._utils', '_rebuild_tensor_v2'),
    p.mark(),
    p.mark(),
    p.binunicode('storage'),
    p.global(...(spec.storageType ?? ['torch', 'FloatStorage'])),
    p.binunicode(spec.key),
    p.binunicode('cpu'),
    p.binint(spec.numel),
    p.none(),
    p.tuple(),
    p.binpersid(),
    p.binint(spec.offset ?? 0),
    intTuple(spec.shape),
    intTuple(spec.stride),
    p.newFalse(),
    p.global('collections', 'OrderedDict'),
    p.emptyTuple(),
    p.reduce(),
    p.tuple(),
    p.reduce(),
  );

const stateDictPickle = (tensors: TensorSpec[], extra: Uint8Array = new Uint8Array(0)) =>
  p.pickle(
    p.proto(2),
    extra,
    p.global('collections', 'OrderedDict'),
    p.emptyTuple(),
    p.reduce(),
    p.mark(),
    ...tensors.flatMap((tensor) => [p.binunicode(tensor.name), tensorCall(tensor)]),
    p.setitems(),
    p.stop(),
  );

const keysPickle = (keys: string[]) => p.pickle(p.proto(2), p.emptyList(), p.mark(), ...keys.map((key) => p.binunicode(key)), p.appends(), p.stop());

const u64 = (value: number | bigint) => {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(value), true);
  return bytes;
};

const f32 = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);

interface LegacySpec {
  magic?: Uint8Array;
  version?: Uint8Array;
  data?: Uint8Array;
  keys?: Uint8Array;
  storages?: { count: number | bigint; bytes: Uint8Array }[];
  trailing?: Uint8Array;
}

const TENSORS: TensorSpec[] = [
  { name: 'w', key: '10', numel: 6, shape: [2, 3], stride: [3, 1] },
  { name: 'b', key: '20', numel: 2, shape: [2], stride: [1] },
  { name: 'w_tail', key: '10', numel: 6, offset: 2, shape: [4], stride: [1] },
];

function legacyFile(spec: LegacySpec = {}): Uint8Array {
  const storages = spec.storages ?? [
    { count: 6, bytes: f32([1, 2, 3, 4, 5, 6]) },
    { count: 2, bytes: f32([7, 8]) },
  ];
  return p.pickle(
    spec.magic ?? magicPickle(),
    spec.version ?? versionPickle(),
    sysInfoPickle(),
    spec.data ?? stateDictPickle(TENSORS),
    spec.keys ?? keysPickle(['10', '20']),
    ...storages.flatMap((storage) => [u64(storage.count), storage.bytes]),
    spec.trailing ?? new Uint8Array(0),
  );
}

const readF32 = (bytes: Uint8Array, offset: number, count: number) => [...new Float32Array(bytes.slice(offset, offset + 4 * count).buffer)];

// ---------------------------------------------------------------------------

describe('torchLegacyFormat.detect', () => {
  it.each(['legacy_state_dict_p2.pt', 'legacy_state_dict_p4.pt', 'legacy_full_model.pt'])('detects %s by content', (file) => {
    expect(detectFormat(fixture(file), 'renamed.bin')?.id).toBe('pytorch-legacy');
  });

  it('recognises the magic pickle at every protocol torch writes', () => {
    // Bytes of torch 1.13's `torch.save(..., _use_new_zipfile_serialization=False, pickle_protocol=n)`.
    const heads = [
      'L119547037146038801333356L\n.',
      '\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.',
      '\x80\x04\x95\x0d\x00\x00\x00\x00\x00\x00\x00\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.',
    ];
    for (const head of heads) expect(startsWithLegacyMagic(Uint8Array.from(head, (char) => char.charCodeAt(0)))).toBe(true);
    expect(startsWithLegacyMagic(p.pickle(p.proto(2), p.long1(LEGACY_MAGIC_NUMBER + 1n), p.stop()))).toBe(false);
  });

  it('still detects a file whose magic pickle is a payload, from the protocol version that follows', () => {
    const head = legacyFile({ magic: p.payload('os', 'system', 'id') });
    expect(torchLegacyFormat.detect(head, 'x')).toBe(true);
  });

  it('leaves other pickles and the tar form of other archives alone', () => {
    expect(torchLegacyFormat.detect(fixture('data_protocol_2.pkl'), 'x')).toBe(false);
    expect(torchLegacyFormat.detect(p.payload('os', 'system', 'id'), 'x')).toBe(false);
    expect(torchLegacyFormat.detect(tar(member('README', 'hi')), 'x')).toBe(false);
    expect(torchLegacyFormat.detect(new Uint8Array(0), 'x')).toBe(false);
  });
});

describe('legacy torch files made by torch 1.13 (make_fixtures.py)', () => {
  // Names, dtypes, shapes and weights_only answers are those recorded in manifest.json by
  // make_fixtures.py from torch.load and torch.load(weights_only=True); values are the
  // script's: encoder.bias = arange(2), embedding = arange(6) int64, half = ones(4) float16,
  // encoder.weight_tail = encoder.weight.view(-1)[2:].
  it.each([
    ['legacy_state_dict_p2.pt', true],
    // Protocol 4 uses FRAME, which the restricted unpickler does not implement ("Unsupported operand 149").
    ['legacy_state_dict_p4.pt', false],
  ])('%s: clean, tensors at their bytes, weights_only %s', async (file, accepted) => {
    const bytes = fixture(file);
    const report = await scan(bytes, file);
    expect(report.format).toBe('pytorch-legacy');
    expect(report.verdict).toBe('clean');
    expect(report.findings.every((finding) => finding.severity === 'info')).toBe(true);
    expect(report.weightsOnly?.accepted).toBe(accepted);
    expect(report.tensors.map(({ name, dtype, shape, length }) => ({ name, dtype, shape, length }))).toEqual([
      { name: 'encoder.weight', dtype: 'F32', shape: [2, 3], length: 24 },
      { name: 'encoder.bias', dtype: 'F32', shape: [2], length: 8 },
      { name: 'embedding', dtype: 'I64', shape: [2, 3], length: 48 },
      { name: 'half', dtype: 'F16', shape: [4], length: 8 },
      { name: 'encoder.weight_tail', dtype: 'F32', shape: [4], length: 16 },
    ]);
    const byName = new Map(report.tensors.map((tensor) => [tensor.name, tensor]));
    expect(readF32(bytes, byName.get('encoder.bias')!.offset, 2)).toEqual([0, 1]);
    const embedding = byName.get('embedding')!.offset;
    expect([...new BigInt64Array(bytes.slice(embedding, embedding + 48).buffer)]).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
    const half = byName.get('half')!.offset;
    expect([...bytes.subarray(half, half + 8)]).toEqual([0x00, 0x3c, 0x00, 0x3c, 0x00, 0x3c, 0x00, 0x3c]);
    const weight = byName.get('encoder.weight')!.offset;
    expect(byName.get('encoder.weight_tail')!.offset).toBe(weight + 8);
    expect(report.metadata['pytorch-legacy']).toEqual({ form: 'stream', storages: 4, tensors: 5 });
  });

  it('a whole model: module classes imported, tensors named like its state_dict, weights_only refused', async () => {
    const report = await scan(fixture('legacy_full_model.pt'));
    expect(report.format).toBe('pytorch-legacy');
    // __main__.TinyNet is the script's own class: not vetted.
    expect(report.verdict).toBe('suspicious');
    expect(rulesOf(report).filter((rule) => rule !== 'pickle.weights-only.refused')).toEqual(['pickle.import.unknown']);
    // torch.load(weights_only=True) raised UnpicklingError (manifest.json: torchLoadWeightsOnly false).
    expect(report.weightsOnly).toMatchObject({ accepted: false, firstRefused: { module: '__main__', name: 'TinyNet' } });
    expect(report.tensors.map((tensor) => tensor.name)).toEqual([
      'fc1.weight',
      'fc1.bias',
      'norm.weight',
      'norm.bias',
      'norm.running_mean',
      'norm.running_var',
      'norm.num_batches_tracked',
      'fc2.weight',
    ]);
    for (const tensor of report.tensors) expect(tensor.offset).toBeGreaterThan(0);
  });
});

describe('legacy torch files built byte by byte', () => {
  it('a well-formed file is clean, with every tensor at its storage offset', async () => {
    const bytes = legacyFile();
    const report = await scan(bytes);
    expect(report.verdict).toBe('clean');
    expect(report.findings).toEqual([]);
    expect(report.weightsOnly).toEqual({ accepted: true });
    const [w, b, tail] = report.tensors;
    expect(readF32(bytes, w.offset, 6)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(readF32(bytes, b.offset, 2)).toEqual([7, 8]);
    expect(readF32(bytes, tail.offset, 4)).toEqual([3, 4, 5, 6]);
    expect(tail).toMatchObject({ name: 'w_tail', dtype: 'F32', shape: [4], length: 16 });
  });

  it('gives the same report for any chunk size', async () => {
    const bytes = legacyFile({ magic: p.payload('os', 'system', 'id'), trailing: Uint8Array.from([1, 2, 3]) });
    const whole = await scan(bytes);
    for (const chunkSize of [1, 5, 33]) {
      const chunked = await scan(bytes, 'model.pt', chunkSize);
      expect(chunked.findings).toEqual(whole.findings);
      expect(chunked.tensors).toEqual(whole.tensors);
    }
  });

  const cases: { name: string; bytes: () => Uint8Array; verdict: FileReport['verdict']; rules: string[] }[] = [
    {
      name: 'magic pickle that runs os.system (GHSA-97f8-7cmv-76j2)',
      bytes: () => legacyFile({ magic: p.payload('os', 'system', 'curl x | sh') }),
      verdict: 'dangerous',
      rules: ['pickle.stream.legacy-magic-code', 'pickle.import.process', 'pickle.call.dangerous'],
    },
    {
      name: 'magic pickle that is a string',
      bytes: () => legacyFile({ magic: p.pickle(p.proto(2), p.binunicode('magic'), p.stop()) }),
      verdict: 'malformed',
      rules: ['pickle.stream.legacy-magic-mismatch'],
    },
    {
      name: 'wrong magic number',
      bytes: () => legacyFile({ magic: p.pickle(p.proto(2), p.long1(LEGACY_MAGIC_NUMBER - 1n), p.stop()) }),
      verdict: 'malformed',
      rules: ['pickle.stream.legacy-magic-mismatch'],
    },
    {
      name: 'protocol version 1000',
      bytes: () => legacyFile({ version: versionPickle(1000) }),
      verdict: 'malformed',
      rules: ['pickle.stream.legacy-header'],
    },
    {
      name: 'payload in the data pickle',
      bytes: () => legacyFile({ data: stateDictPickle(TENSORS, p.pickle(p.global('os', 'system'), p.binunicode('id'), p.tuple1(), p.reduce(), p.pop())) }),
      verdict: 'dangerous',
      rules: ['pickle.import.process', 'pickle.call.dangerous'],
    },
    {
      name: 'storage element count differs from its persistent id',
      bytes: () => legacyFile({ storages: [{ count: 5, bytes: f32([1, 2, 3, 4, 5]) }, { count: 2, bytes: f32([7, 8]) }] }),
      verdict: 'malformed',
      rules: ['pickle.stream.legacy-storage-mismatch'],
    },
    {
      name: 'storage cut short by the end of the file',
      bytes: () => legacyFile({ storages: [{ count: 6, bytes: f32([1, 2, 3, 4, 5, 6]) }, { count: 2, bytes: f32([7]) }] }),
      verdict: 'malformed',
      rules: ['pickle.stream.legacy-storage-mismatch'],
    },
    {
      name: 'storage declaring 2^63 elements',
      bytes: () => legacyFile({ storages: [{ count: 1n << 63n, bytes: new Uint8Array(0) }] }),
      verdict: 'malformed',
      rules: ['pickle.stream.legacy-storage-mismatch'],
    },
    {
      name: 'key list naming a storage no persistent id declares',
      bytes: () => legacyFile({ keys: keysPickle(['10', '99']) }),
      verdict: 'malformed',
      rules: ['pickle.stream.legacy-storage-mismatch'],
    },
    {
      name: 'key list that is not a list of strings',
      bytes: () => legacyFile({ keys: p.pickle(p.proto(2), p.binint1(3), p.stop()) }),
      verdict: 'malformed',
      rules: ['pickle.stream.legacy-storage-keys'],
    },
    {
      name: 'bytes after the last storage',
      bytes: () => legacyFile({ trailing: p.payload('os', 'system', 'id') }),
      verdict: 'suspicious',
      rules: ['pickle.stream.legacy-trailing-data'],
    },
    {
      name: 'tensor view reaching past its storage',
      bytes: () => legacyFile({ data: stateDictPickle([{ name: 'w', key: '10', numel: 6, offset: 4, shape: [3], stride: [1] }, TENSORS[1]]) }),
      verdict: 'malformed',
      rules: ['pickle.stream.torch-tensor-invalid'],
    },
  ];

  it.each(cases)('$name → $verdict', async ({ bytes, verdict, rules }) => {
    const report = await scan(bytes());
    expect(report.format).toBe('pytorch-legacy');
    expect(report.verdict).toBe(verdict);
    for (const rule of rules) expect(rulesOf(report), rulesOf(report).join(', ')).toContain(rule);
  });

  it('reports trailing bytes with their offset and length', async () => {
    const clean = legacyFile();
    const report = await scan(legacyFile({ trailing: new Uint8Array(10) }));
    const finding = report.findings.find((candidate) => candidate.rule === 'pickle.stream.legacy-trailing-data');
    expect(finding?.location).toEqual({ offset: clean.length, length: 10 });
  });
});

describe('rebuildTorchTensors', () => {
  it('reads new-style persistent ids whose second item is a dtype global', async () => {
    const data = stateDictPickle([{ name: 'x', key: '0', storageType: ['torch', 'bfloat16'], numel: 4, shape: [2, 2], stride: [2, 1] }]);
    const table = rebuildTorchTensors((await scanPickleBytes(data)).pickle);
    expect(table.storages).toEqual([
      { key: '0', storageType: 'torch.bfloat16', dtype: 'BF16', elementSize: 2, location: 'cpu', numel: 4, byteLength: 8, persistentIdOffset: expect.any(Number) },
    ]);
    expect(toTensorInfos(table, (key) => (key === '0' ? 1000 : undefined))).toEqual([{ name: 'x', dtype: 'BF16', shape: [2, 2], offset: 1000, length: 8 }]);
    expect(toTensorInfos(table, () => undefined)[0].offset).toBe(-1);
  });

  it('names parameters wrapped by _rebuild_parameter and joins nested dict keys', async () => {
    const data = p.pickle(
      p.proto(2),
      p.emptyDict(),
      p.binunicode('model'),
      p.emptyDict(),
      p.binunicode('layer'),
      p.global('torch._utils', '_rebuild_parameter'),
      p.mark(),
      tensorCall({ name: '', key: '7', numel: 3, shape: [3], stride: [1] }),
      p.newTrue(),
      p.global('collections', 'OrderedDict'),
      p.emptyTuple(),
      p.reduce(),
      p.tuple(),
      p.reduce(),
      p.setitem(),
      p.setitem(),
      p.stop(),
    );
    const table = rebuildTorchTensors((await scanPickleBytes(data)).pickle);
    expect(table.tensors.map((tensor) => tensor.name)).toEqual(['model.layer']);
    expect(table.problems).toEqual([]);
  });

  it('reports unknown storage types and non-integer sizes as problems, never throws', async () => {
    const unknown = stateDictPickle([{ name: 'x', key: '0', storageType: ['acme', 'Storage'], numel: 1, shape: [1], stride: [1] }]);
    const table = rebuildTorchTensors((await scanPickleBytes(unknown)).pickle);
    expect(table.tensors).toEqual([]);
    expect(table.problems[0].message).toContain('unknown storage type');
  });
});

describe('readLiteralPickle', () => {
  it.each([
    ['a protocol 2 list of keys', keysPickle(['1', '2']), { list: ['1', '2'] }],
    ['a protocol 0 LONG', Uint8Array.from('L119547037146038801333356L\n.', (char) => char.charCodeAt(0)), LEGACY_MAGIC_NUMBER],
    ['a tuple with a global', p.pickle(p.proto(2), p.binunicode('k'), p.binunicode('cpu'), p.global('torch', 'FloatStorage'), p.tuple3(), p.stop()), { tuple: ['k', 'cpu', { global: 'torch.FloatStorage' }] }],
    ['memoised strings', p.pickle(p.proto(2), p.emptyList(), p.binunicode('a'), p.binput(1), p.append(), p.binget(1), p.append(), p.stop()), { list: ['a', 'a'] }],
  ])('reads %s', (_name, bytes, value) => {
    expect(readLiteralPickle(bytes)?.value).toEqual(value);
  });

  it.each([
    ['a call', p.payload('os', 'system', 'id')],
    ['a truncated list', keysPickle(['1']).subarray(0, 8)],
    ['two values left on the stack', p.pickle(p.none(), p.none(), p.stop())],
    ['a huge declared length', p.pickle(p.proto(2), p.binunicode8Header(1n << 60n), p.stop())],
  ])('refuses %s', (_name, bytes) => {
    expect(readLiteralPickle(bytes)).toBeNull();
  });
});

// ---------------------------------------------------------------------------
// The tar form (torch.save before 0.4)
// ---------------------------------------------------------------------------

const i32 = (value: number) => new Uint8Array(Int32Array.of(value).buffer);
const i64s = (values: number[]) => new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer);

function storagesMember(): Uint8Array {
  return p.pickle(
    p.pickle(p.proto(2), p.binint1(1), p.stop()),
    p.pickle(p.proto(2), p.binunicode('s0'), p.binunicode('cpu'), p.global('torch', 'FloatStorage'), p.tuple3(), p.stop()),
    u64(4),
    f32([1, 2, 3, 4]),
    p.pickle(p.proto(2), p.emptyList(), p.stop()),
  );
}

function tensorsMember(): Uint8Array {
  return p.pickle(
    p.pickle(p.proto(2), p.binint1(1), p.stop()),
    p.pickle(p.proto(2), p.binunicode('t0'), p.binunicode('s0'), p.global('torch', 'FloatTensor'), p.tuple3(), p.stop()),
    i32(2),
    new Uint8Array(4),
    i64s([1, 2]),
    i64s([2, 1]),
    i64s([2]),
  );
}

describe('the tar form', () => {
  const legacyTar = (pickleMember: Uint8Array, storagesOptions: Parameters<typeof member>[2] = {}) =>
    tar(
      member('sys_info', sysInfoPickle()),
      member('pickle', pickleMember),
      member('tensors', tensorsMember()),
      member('storages', storagesMember(), storagesOptions),
    );

  it('is detected, its pickles scanned and its tensors placed', async () => {
    const bytes = legacyTar(p.pickle(p.proto(2), p.emptyDict(), p.stop()));
    expect(detectFormat(bytes, 'old.pt')?.id).toBe('pytorch-legacy');
    const report = await scan(bytes, 'old.pt');
    expect(report.format).toBe('pytorch-legacy');
    expect(report.verdict).toBe('clean');
    expect(report.findings).toEqual([]);
    expect(report.tensors).toHaveLength(1);
    expect(report.tensors[0]).toMatchObject({ name: 't0', dtype: 'F32', shape: [1, 2], length: 8 });
    expect(readF32(bytes, report.tensors[0].offset, 2)).toEqual([3, 4]);
    expect(report.metadata['pytorch-legacy']).toMatchObject({ form: 'tar', storages: 1, tensors: 1 });
  });

  it('reports a payload in the pickle member with the member as entry', async () => {
    const report = await scan(legacyTar(p.payload('os', 'system', 'id')), 'old.pt');
    expect(report.verdict).toBe('dangerous');
    const finding = report.findings.find((candidate) => candidate.rule === 'pickle.import.process');
    expect(finding?.location).toEqual({ entry: 'pickle', offset: 2 });
  });

  it('reports a tensor record reaching past its storage', async () => {
    const tensors = p.pickle(
      p.pickle(p.proto(2), p.binint1(1), p.stop()),
      p.pickle(p.proto(2), p.binunicode('t0'), p.binunicode('s0'), p.global('torch', 'FloatTensor'), p.tuple3(), p.stop()),
      i32(1),
      new Uint8Array(4),
      i64s([4]),
      i64s([1]),
      i64s([1]),
    );
    const bytes = tar(member('sys_info', sysInfoPickle()), member('pickle', p.pickle(p.proto(2), p.emptyDict(), p.stop())), member('tensors', tensors), member('storages', storagesMember()));
    const report = await scan(bytes, 'old.pt');
    expect(rulesOf(report)).toEqual(['pickle.stream.torch-tensor-invalid']);
    expect(report.tensors).toEqual([]);
  });

  it('reports a storages member that is a symlink', async () => {
    const bytes = tar(
      member('sys_info', sysInfoPickle()),
      member('pickle', p.pickle(p.proto(2), p.emptyDict(), p.stop())),
      member('storages', '', { typeflag: '2', linkName: '/home/user/.ssh/id_rsa' }),
    );
    const report = await scan(bytes, 'old.pt');
    expect(rulesOf(report)).toEqual(expect.arrayContaining(['tar.member.link', 'pickle.stream.legacy-header']));
    expect(report.verdict).toBe('malformed');
  });

  it('reports a payload hidden in a storage record pickle', async () => {
    const storages = p.pickle(p.pickle(p.proto(2), p.binint1(1), p.stop()), p.payload('os', 'system', 'id'));
    const bytes = tar(member('sys_info', sysInfoPickle()), member('pickle', p.pickle(p.proto(2), p.emptyDict(), p.stop())), member('storages', storages));
    const report = await scan(bytes, 'old.pt');
    expect(report.verdict).toBe('dangerous');
    expect(report.findings.find((finding) => finding.rule === 'pickle.import.process')?.location.entry).toBe('storages');
  });
});

describe('hostile mutations', () => {
  // Random byte flips and cuts of real and built files: the scan must end with findings, never an internal error.
  const random = (seed: number) => () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 0x100000000;
  };

  it.each([
    ['legacy_state_dict_p2.pt', () => fixture('legacy_state_dict_p2.pt')],
    ['legacy_full_model.pt', () => fixture('legacy_full_model.pt')],
    ['the tar form', () => tar(member('sys_info', sysInfoPickle()), member('pickle', p.pickle(p.proto(2), p.emptyDict(), p.stop())), member('tensors', tensorsMember()), member('storages', storagesMember()))],
  ])('%s', async (_name, original) => {
    const next = random(99);
    for (let round = 0; round < 60; round += 1) {
      const bytes = original().slice();
      const flips = 1 + Math.floor(next() * 4);
      for (let flip = 0; flip < flips; flip += 1) bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256);
      const cut = round % 4 === 0 ? bytes.subarray(0, Math.floor(next() * bytes.length)) : bytes;
      const report = await scan(cut);
      expect(report.findings.filter((finding) => finding.rule === 'scan.internal-error')).toEqual([]);
      for (const tensor of report.tensors) {
        expect(tensor.offset === -1 || (tensor.offset >= 0 && tensor.offset + tensor.length <= cut.length)).toBe(true);
      }
    }
  });
});
