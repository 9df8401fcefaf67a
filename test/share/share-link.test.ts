import { deflateSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { compareProvenance } from '../../src/provenance/compare.ts';
import { parseExpectations } from '../../src/provenance/parse-expectations.ts';
import { createReport } from '../../src/report/report.ts';
import type { FileReport, Finding, Report, TensorInfo } from '../../src/report/types.ts';
import { decodeBase64Url, encodeBase64Url } from '../../src/share/base64url.ts';
import { inflateBounded } from '../../src/share/bounded-inflate.ts';
import { MAX_METADATA_DEPTH } from '../../src/share/read-report.ts';
import {
  MAX_DECODED_FRAGMENT_CHARS,
  MAX_SHARE_FRAGMENT_CHARS,
  MAX_SHARE_JSON_BYTES,
  decodeShareFragment,
  encodeShareFragment,
  type DecodedShare,
} from '../../src/share/share-link.ts';
import { fixtureCertificate, modelSigningStatement, sigstoreBundle } from '../provenance/bundle-builder.ts';
import { CREATED_AT, HOSTILE, sampleReport } from '../report/sample-reports.ts';

const encoder = new TextEncoder();

/** A fragment holding any JSON at all, made the way the encoder makes them. */
function fragmentOf(json: unknown): string {
  return `report=${encodeBase64Url(deflateSync(encoder.encode(JSON.stringify(json))))}`;
}

function decoded(fragment: string): DecodedShare {
  const result = decodeShareFragment(fragment);
  if ('error' in result) throw new Error(`expected a report, got the error: ${result.error}`);
  return result;
}

function errorOf(fragment: string): string {
  const result = decodeShareFragment(fragment);
  if (!('error' in result)) throw new Error('expected an error, got a report');
  return result.error;
}

/** Deterministic, incompressible hex: real SHA-256s do not compress either. */
function pseudoHash(seed: number): string {
  let state = (seed * 2654435761 + 1) >>> 0;
  let hex = '';
  while (hex.length < 64) {
    state = (Math.imul(state ^ (state >>> 15), 2246822519) + 0x9e3779b9) >>> 0;
    hex += state.toString(16).padStart(8, '0');
  }
  return hex.slice(0, 64);
}

function file(overrides: Partial<FileReport> = {}): FileReport {
  return {
    path: 'model.safetensors',
    size: 1024,
    format: 'safetensors',
    sha256: pseudoHash(0),
    verdict: 'clean',
    findings: [],
    tensors: [],
    metadata: {},
    ...overrides,
  };
}

function finding(index: number, severity: Finding['severity'], detail = `detail ${index}`): Finding {
  return {
    rule: `test.rule-${index % 7}`,
    severity,
    title: 'A test finding',
    detail,
    explanation: 'What would happen on load.',
    location: { offset: index },
    references: ['CWE-502'],
  };
}

function tensors(count: number): TensorInfo[] {
  return Array.from({ length: count }, (_, index) => ({
    name: `model.layers.${index}.mlp.weight`,
    dtype: 'F16',
    shape: [index % 97, 64],
    offset: index * 128,
    length: 128,
  }));
}

/** The envelope a valid one-file report makes, for tampering with one field at a time. */
function validEnvelope(): Record<string, any> {
  return JSON.parse(
    JSON.stringify({ share: 1, omitted: [], report: createReport([file({ findings: [finding(1, 'high')], tensors: tensors(2), metadata: { a: 'b' } })], CREATED_AT) }),
  );
}

describe('share links: round trip', () => {
  it('a report that fits comes back equal, with nothing left out', async () => {
    const report = await sampleReport();
    const encoded = encodeShareFragment(report);
    expect(encoded.omitted).toEqual([]);
    expect(encoded.fragment).toMatch(/^report=[A-Za-z0-9_-]+$/);
    expect(encoded.fragment.length).toBeLessThanOrEqual(MAX_SHARE_FRAGMENT_CHARS);
    const result = decoded(encoded.fragment);
    expect(result.report).toEqual(report);
    expect(result.omitted).toEqual([]);
  });

  it('keeps hostile strings as the same plain strings', async () => {
    const report = await sampleReport();
    const result = decoded(`#${encodeShareFragment(report).fragment}`);
    const hostileFile = result.report.files.find((entry) => entry.path === HOSTILE.path);
    expect(hostileFile?.tensors.map((tensor) => tensor.name)).toContain(HOSTILE.tensorName);
    expect(hostileFile?.metadata[HOSTILE.metadataKey]).toBe(HOSTILE.metadataValue);
  });

  it('carries the provenance comparison, signature claim included, still unverified', () => {
    const files = [file({ path: 'm/model.safetensors', sha256: pseudoHash(1) }), file({ path: 'm/config.json', sha256: pseudoHash(2) })];
    const bundle = sigstoreBundle({
      statement: modelSigningStatement([{ name: 'model.safetensors', digest: pseudoHash(1) }]),
      certificateDer: fixtureCertificate('fulcio-like.der'),
    });
    const sets = [
      parseExpectations('SHA256SUMS', `${pseudoHash(1)}  model.safetensors\n${pseudoHash(3)}  config.json\nnot a line\n`),
      parseExpectations('model.sig', JSON.stringify(bundle)),
    ];
    const report: Report = { ...createReport(files, CREATED_AT), provenance: compareProvenance(files, sets) };
    expect(report.provenance?.sources[1].signature?.verified).toBe(false);
    const result = decoded(encodeShareFragment(report).fragment);
    expect(result.report).toEqual(report);
    expect(result.report.provenance?.files.map((entry) => entry.status)).toEqual(['matches', 'differs']);
  });
});

describe('share links: the budget', () => {
  const big = (overrides: Partial<FileReport>) => createReport([file(overrides)], CREATED_AT);

  it.each([
    {
      name: 'a 50,000-tensor table is cut to its first 100 rows',
      report: big({ tensors: tensors(50_000) }),
      omitted: [/^model\.safetensors: 49,900 of 50,000 tensors \(the first 100 are kept\)$/],
      check: (report: Report) => expect(report.files[0].tensors).toEqual(tensors(100)),
    },
    {
      name: 'a 150,000-token vocabulary is cut to its first items and the array length is kept',
      report: big({
        tensors: tensors(10),
        metadata: {
          'tokenizer.ggml.tokens': Array.from({ length: 150_000 }, (_, index) => `token-${pseudoHash(index).slice(0, 10)}`),
          'general.name': 'tiny',
        },
      }),
      omitted: [/^model\.safetensors: all but the first 16 items of 1 array, under "tokenizer\.ggml\.tokens" \(150,000 items\)$/],
      check: (report: Report) => {
        expect(report.files[0].metadata['tokenizer.ggml.tokens']).toMatchObject({ summary: 'array', itemType: 'string', length: 150_000 });
        expect(report.files[0].metadata['general.name']).toBe('tiny');
        expect(report.files[0].tensors).toHaveLength(10);
      },
    },
    {
      name: 'thousands of findings keep the most severe ones',
      report: big({
        verdict: 'dangerous',
        findings: [
          ...Array.from({ length: 3000 }, (_, index) => finding(index, 'low', `low ${pseudoHash(index)}`)),
          finding(9999, 'critical', 'the one that matters'),
        ],
      }),
      omitted: [/^model\.safetensors: 2,9\d\d of 3,001 findings, the least severe \(2,9\d\d low\)$/],
      check: (report: Report) => {
        expect(report.files[0].findings.filter((entry) => entry.severity === 'critical').map((entry) => entry.detail)).toEqual(['the one that matters']);
        expect(report.files[0].verdict).toBe('dangerous');
      },
    },
    {
      name: 'thousands of files: files are left out from the end, and the link says from which one',
      report: createReport(
        Array.from({ length: 3000 }, (_, index) => file({ path: `shards/part-${index}.bin`, sha256: pseudoHash(index) })),
        CREATED_AT,
      ),
      omitted: [/^[\d,]+ files of 3,000 left out, from "shards\/part-\d+\.bin" to the end$/],
      check: (report: Report) => expect(report.files.length).toBeGreaterThan(100),
    },
  ])('$name', ({ report, omitted, check }) => {
    const encoded = encodeShareFragment(report);
    expect(encoded.fragment.length).toBeLessThanOrEqual(MAX_SHARE_FRAGMENT_CHARS);
    expect(encoded.omitted).toHaveLength(omitted.length);
    encoded.omitted.forEach((sentence, index) => expect(sentence).toMatch(omitted[index]));
    const result = decoded(encoded.fragment);
    expect(result.omitted).toEqual(encoded.omitted);
    check(result.report);
  });

  it('a 100,000-line SHA256SUMS with nothing scanned keeps the counts and says how many entries it left out', () => {
    const listing = Array.from({ length: 100_000 }, (_, index) => `${pseudoHash(index)}  shard-${index}.bin`).join('\n');
    const files = [file()];
    const report: Report = { ...createReport(files, CREATED_AT), provenance: compareProvenance(files, [parseExpectations('SHA256SUMS', listing)]) };
    const encoded = encodeShareFragment(report);
    expect(encoded.fragment.length).toBeLessThanOrEqual(MAX_SHARE_FRAGMENT_CHARS);
    expect(encoded.omitted).toEqual([expect.stringMatching(/^from the expected-hash comparison: 99,9[59]0 of 100,000 listed files that were not scanned$/)]);
    const provenance = decoded(encoded.fragment).report.provenance!;
    expect(provenance.counts.listedNotScanned).toBe(100_000);
    expect(provenance.listedNotScanned.length).toBeLessThanOrEqual(50);
    expect(provenance.files.map((entry) => entry.path)).toEqual(['model.safetensors']);
  });

  it('files left out take their provenance rows and the model summaries with them', () => {
    const files = Array.from({ length: 2000 }, (_, index) => file({ path: `f${index}.bin`, sha256: pseudoHash(index) }));
    const provenance = compareProvenance(files, [parseExpectations('SHA256SUMS', files.map((entry) => `${entry.sha256}  ${entry.path}`).join('\n'))]);
    const models = [{ root: '', files: files.map((entry) => entry.path), verdict: 'clean' as const, formats: ['unknown'], parameters: 0, size: 0, loaderReads: [], findings: [] }];
    const report: Report = { ...createReport(files, CREATED_AT), provenance, models };
    const result = decoded(encodeShareFragment(report).fragment);
    const kept = result.report.files.map((entry) => entry.path);
    expect(kept.length).toBeLessThan(2000);
    expect(result.report.provenance?.files.map((entry) => entry.path)).toEqual(kept);
    expect(result.report.models).toBeUndefined();
    expect(result.omitted.some((sentence) => sentence.startsWith('the model summaries (1 model'))).toBe(true);
  });
});

describe('share links: hostile fragments', () => {
  it.each([
    ['no report key', 'other=abc', /does not start with "report="/],
    ['not base64url', 'report=abc+/==', /U\+002B at position 3 is not base64url/],
    ['garbage that is base64url but not deflate', `report=${encodeBase64Url(encoder.encode('just some text, not deflate'))}`, /not a valid DEFLATE stream/],
    ['a whole number of groups minus one', 'report=abcde', /not a whole number of base64url groups/],
    ['longer than the decoder reads', `report=${'A'.repeat(MAX_DECODED_FRAGMENT_CHARS + 1)}`, /over the 262144-character limit/],
    ['deflate of text that is not JSON', `report=${encodeBase64Url(deflateSync(encoder.encode('{"share": 1, "report": ')))}`, /not JSON/],
    ['deflate of bytes that are not UTF-8', `report=${encodeBase64Url(deflateSync(Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d)))}`, /not UTF-8/],
  ])('%s', (_name, fragment, message) => {
    expect(errorOf(fragment)).toMatch(message);
  });

  it('a link cut short when it was copied', () => {
    const data = encodeShareFragment(createReport([file()], CREATED_AT)).fragment.slice('report='.length);
    expect(errorOf(`report=${data.slice(0, (data.length >> 3) * 4)}`)).toMatch(/ends before its last block|not a valid DEFLATE stream/);
    expect(errorOf(`report=${data.slice(0, (data.length >> 2) * 4 + 1)}`)).toMatch(/not a whole number of base64url groups \(was it cut short/);
  });

  it('a deflate bomb stops at the inflate cap', () => {
    const bomb = deflateSync(new Uint8Array(MAX_SHARE_JSON_BYTES * 2).fill(0x20), { level: 9 });
    const fragment = `report=${encodeBase64Url(bomb)}`;
    expect(fragment.length).toBeLessThan(MAX_DECODED_FRAGMENT_CHARS);
    expect(errorOf(fragment)).toMatch(/inflates to more than 4194304 bytes/);
  });

  const tamper = (change: (envelope: Record<string, any>) => void) => {
    const envelope = validEnvelope();
    change(envelope);
    return fragmentOf(envelope);
  };

  it.each([
    ['the envelope is a list', () => fragmentOf([1, 2]), /the value: expected an object, found an array of 2/],
    ['an unknown envelope version', () => tamper((envelope) => (envelope.share = 2)), /share: expected 1, found number 2/],
    ['a newer report schema', () => tamper((envelope) => (envelope.report.schemaVersion = 2)), /report\.schemaVersion: .*newer than the page/],
    ['files is not a list', () => tamper((envelope) => (envelope.report.files = { 0: {} })), /report\.files: expected an array, found an object/],
    ['an unknown verdict', () => tamper((envelope) => (envelope.report.files[0].verdict = 'fine')), /report\.files\[0\]\.verdict: expected one of dangerous, malformed, suspicious, clean, found the string "fine"/],
    ['a size that is not a whole number', () => tamper((envelope) => (envelope.report.files[0].size = -1)), /report\.files\[0\]\.size: expected a whole number ≥ 0, found number -1/],
    ['a size given as text', () => tamper((envelope) => (envelope.report.files[0].size = '1024')), /report\.files\[0\]\.size: expected a whole number/],
    ['a hash that is not hex', () => tamper((envelope) => (envelope.report.files[0].sha256 = '<script>')), /report\.files\[0\]\.sha256: expected 64 lower-case hex digits, found the string "<script>"/],
    ['a finding without a rule', () => tamper((envelope) => delete envelope.report.files[0].findings[0].rule), /findings\[0\]\.rule: expected a string, found nothing/],
    ['an unknown severity', () => tamper((envelope) => (envelope.report.files[0].findings[0].severity = 'catastrophic')), /findings\[0\]\.severity: expected one of critical/],
    ['a tensor shape of text', () => tamper((envelope) => (envelope.report.files[0].tensors[0].shape = ['a'])), /tensors\[0\]\.shape\[0\]: expected a whole number/],
    ['metadata nested too deep', () => tamper((envelope) => {
      let value: unknown = 'leaf';
      for (let depth = 0; depth < MAX_METADATA_DEPTH + 5; depth++) value = [value];
      envelope.report.files[0].metadata = { deep: value };
    }), /nested at most 32 levels deep/],
    ['a signature that claims to be verified', () => tamper((envelope) => {
      envelope.report.provenance = { sources: [{ name: 'model.sig', kind: 'model-signing-bundle', entries: 0, problems: [], notes: [], signature: { verified: true } }], files: [], listedNotScanned: [], conflicts: [], notes: [], counts: { matches: 0, differs: 0, notListed: 0, notHashed: 0, listedNotScanned: 0, conflicts: 0 } };
    }), /signature\.verified: expected false, found boolean true/],
    ['an omission about a file the report does not have', () => tamper((envelope) => (envelope.omitted = [{ part: 'tensors', file: 5, what: 'x' }])), /omitted\[0\]\.file: expected the index of one of the report's 1 files/],
    ['an omission of an unknown part', () => tamper((envelope) => (envelope.omitted = [{ part: 'everything', what: 'x' }])), /omitted\[0\]\.part/],
  ])('%s is a clear error, not a crash', (_name, make, message) => {
    const error = errorOf(make());
    expect(error).toMatch(/^the link's report is not a Preflight report: /);
    expect(error).toMatch(message);
  });

  it('drops fields the contract does not name, at every level', () => {
    const result = decoded(
      (() => {
        const envelope = validEnvelope();
        envelope.extra = 'envelope';
        envelope.report.script = '<script>alert(1)</script>';
        envelope.report.files[0].onload = 'x';
        envelope.report.files[0].findings[0].html = '<b>bold</b>';
        envelope.report.files[0].findings[0].location.href = 'javascript:alert(1)';
        envelope.report.files[0].tensors[0].style = 'x';
        return fragmentOf(envelope);
      })(),
    );
    expect(Object.keys(result.report)).toEqual(['schemaVersion', 'tool', 'createdAt', 'files']);
    expect(Object.keys(result.report.files[0])).toEqual(['path', 'size', 'format', 'sha256', 'verdict', 'findings', 'tensors', 'metadata']);
    expect(Object.keys(result.report.files[0].findings[0])).toEqual(['rule', 'severity', 'title', 'detail', 'explanation', 'location', 'references']);
    expect(result.report.files[0].findings[0].location).toEqual({ offset: 1 });
    expect(Object.keys(result.report.files[0].tensors[0])).toEqual(['name', 'dtype', 'shape', 'offset', 'length']);
  });

  it('a __proto__ metadata key stays an ordinary key', () => {
    const json = JSON.stringify(validEnvelope()).replace('"metadata":{"a":"b"}', '"metadata":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}');
    const result = decoded(`report=${encodeBase64Url(deflateSync(encoder.encode(json)))}`);
    const metadata = result.report.files[0].metadata;
    expect(Object.keys(metadata)).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('base64url', () => {
  it.each([
    [Uint8Array.of(), ''],
    [Uint8Array.of(0xfb), '-w'],
    [Uint8Array.of(0xfb, 0xff), '-_8'],
    [Uint8Array.of(0xfb, 0xff, 0xbf), '-_-_'],
    [encoder.encode('Preflight'), 'UHJlZmxpZ2h0'],
  ])('%j ↔ %s', (bytes, text) => {
    expect(encodeBase64Url(bytes)).toBe(text);
    expect(decodeBase64Url(text, 100)).toEqual({ ok: true, bytes });
  });

  it('refuses padding, the standard alphabet and too much data', () => {
    expect(decodeBase64Url('UA==', 100)).toMatchObject({ ok: false, message: expect.stringMatching(/U\+003D at position 2/) });
    expect(decodeBase64Url('a/b+', 100)).toMatchObject({ ok: false, message: expect.stringMatching(/U\+002F at position 1/) });
    expect(decodeBase64Url('AAAAAAAA', 5)).toMatchObject({ ok: false, message: expect.stringMatching(/decode to 6 bytes, over the 5-byte limit/) });
  });

  it('round-trips a megabyte in one piece', () => {
    const bytes = Uint8Array.from({ length: 1 << 20 }, (_, index) => (index * 131 + (index >> 9)) & 0xff);
    const result = decodeBase64Url(encodeBase64Url(bytes), 1 << 21);
    expect(result.ok && Buffer.from(result.bytes).equals(Buffer.from(bytes))).toBe(true);
  });
});

describe('bounded inflate', () => {
  const text = encoder.encode('a line of text that repeats\n'.repeat(500));
  it('inflates a stream that fits, whatever its size relative to the slices', () => {
    expect(inflateBounded(deflateSync(text), text.length)).toEqual({ ok: true, bytes: text });
  });
  it.each([
    ['one byte over the cap', deflateSync(text), text.length - 1, /more than 13999 bytes/],
    ['a stream cut short', deflateSync(text).subarray(0, 20), 1 << 20, /not a valid DEFLATE stream|ends before its last block/],
    ['random bytes', Uint8Array.of(0xff, 0xff, 0xff, 0xff), 1 << 20, /not a valid DEFLATE stream/],
    ['nothing', new Uint8Array(0), 1 << 20, /no compressed data/],
  ])('%s', (_name, compressed, cap, message) => {
    const result = inflateBounded(compressed, cap);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(message);
  });
});
