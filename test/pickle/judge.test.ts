import { describe, expect, it } from 'vitest';
import { MAX_STREAM_FINDINGS_PER_RULE, judgePickleScan, toPolicyArg, toPolicyInput, weightsOnlyVerdict } from '../../src/pickle/judge.ts';
import type { PickleScanResult } from '../../src/pickle/types.ts';
import { judgePickle } from '../../src/rules/pickle-policy.ts';
import * as p from '../builders/pickle.ts';
import { scan } from './scan-helpers.ts';

const rulesOf = (findings: { rule: string }[]) => findings.map((finding) => finding.rule);

describe('toPolicyInput', () => {
  it('maps resolved imports with their opcode names and offsets', () => {
    const bytes = p.pickle(p.proto(4), p.shortBinUnicode('os'), p.shortBinUnicode('system'), p.stackGlobal(), p.pop(), p.global('collections', 'OrderedDict'), p.stop());
    const input = toPolicyInput(scan(bytes), 'archive/data.pkl');
    // PROTO (2 bytes), SHORT_BINUNICODE "os" (4), SHORT_BINUNICODE "system" (8): STACK_GLOBAL at 14, POP at 15.
    expect(input.imports).toEqual([
      { module: 'os', name: 'system', offset: 14, opcode: 'STACK_GLOBAL' },
      { module: 'collections', name: 'OrderedDict', offset: 16, opcode: 'GLOBAL' },
    ]);
    expect(input.entry).toBe('archive/data.pkl');
    expect(input.opcodeFirstSeen?.[0]).toEqual({ opcode: 'PROTO', offset: 0 });
  });

  it('passes EXT opcodes as extension imports with their code', () => {
    const input = toPolicyInput(scan(p.pickle(p.proto(2), p.ext2(0x1234), p.stop())));
    expect(input.imports).toEqual([{ module: '', name: '', offset: 2, opcode: 'EXT2' }]);
    expect(input.extensionCodes).toEqual([{ code: 0x1234, offset: 2 }]);
  });

  it('passes an import whose operands are not literal strings as unresolved', () => {
    const bytes = p.pickle(p.proto(4), p.binint1(1), p.shortBinUnicode('system'), p.stackGlobal(), p.stop());
    const input = toPolicyInput(scan(bytes));
    expect(input.imports).toEqual([]);
    expect(input.unresolvedImports).toHaveLength(1);
    expect(input.unresolvedImports[0]).toMatchObject({ offset: 12, opcode: 'STACK_GLOBAL' });
  });

  it('passes an import whose name was cut by the machine as unresolved, never as the prefix', () => {
    const longModule = `os${'.x'.repeat(1000)}`;
    const input = toPolicyInput(scan(p.pickle(p.global(longModule, 'system'), p.stop())));
    expect(input.imports).toEqual([]);
    expect(input.unresolvedImports[0].reason).toContain('longer than the scanner keeps');
  });

  it('maps call arguments: strings with offsets, ints, bytes, globals, and the rest as other', () => {
    const bytes = p.pickle(
      p.proto(3),
      p.global('builtins', 'print'),
      p.mark(),
      p.binunicode('curl x | sh'),
      p.binint1(7),
      p.shortBinbytes([1, 2, 3]),
      p.global('os', 'system'),
      p.emptyList(),
      p.tuple(),
      p.reduce(),
      p.stop(),
    );
    const input = toPolicyInput(scan(bytes));
    const call = input.calls.find((candidate) => candidate.opcode === 'REDUCE');
    expect(call?.callable).toEqual({ module: 'builtins', name: 'print' });
    // Offsets of the payloads: PROTO (2) + GLOBAL (16) + MARK (1) + BINUNICODE header (5) = 24;
    // then 11 text bytes, BININT1 (2), SHORT_BINBYTES header (2): 24 + 11 + 2 + 2 = 39.
    expect(call?.args).toEqual([
      { kind: 'string', value: 'curl x | sh', offset: 24 },
      { kind: 'int', value: 7, offset: call?.offset },
      { kind: 'bytes', offset: 39, length: 3 },
      { kind: 'global', ref: { module: 'os', name: 'system' } },
      { kind: 'other' },
    ]);
  });

  it('marks a state change applied to an imported global itself', () => {
    const bytes = p.pickle(p.proto(2), p.global('sys', 'modules'), p.binunicode('x'), p.none(), p.setitem(), p.stop());
    const input = toPolicyInput(scan(bytes));
    expect(input.calls).toEqual([expect.objectContaining({ opcode: 'SETITEM', targetIsGlobal: true, callable: { module: 'sys', name: 'modules' } })]);
  });

  it('resolves a legacy torch module class persistent id to the class NEWOBJ instantiates', () => {
    const bytes = p.pickle(
      p.proto(2),
      p.mark(),
      p.binunicode('module'),
      p.global('__main__', 'Net'),
      p.binunicode('net.py'),
      p.none(),
      p.tuple(),
      p.binpersid(),
      p.emptyTuple(),
      p.newobj(),
      p.stop(),
    );
    const call = toPolicyInput(scan(bytes)).calls.find((candidate) => candidate.opcode === 'NEWOBJ');
    expect(call?.callable).toEqual({ module: '__main__', name: 'Net' });
  });

  it.each([
    [{ kind: 'string', value: 'x', offset: 4, length: 1, truncated: false, kept: false } as const, { kind: 'other' }],
    [{ kind: 'int', value: null, exact: false } as const, { kind: 'other' }],
    [{ kind: 'int', value: 1e30, exact: false } as const, { kind: 'other' }],
    [{ kind: 'global', importIndex: 0, module: '', name: '', resolved: false } as const, { kind: 'other' }],
    [{ kind: 'bytearray', offset: 9, length: 2 } as const, { kind: 'bytes', offset: 9, length: 2 }],
  ])('toPolicyArg(%j)', (value, expected) => {
    expect(toPolicyArg(value, 100)).toEqual(expected);
  });
});

describe('judgePickleScan: stream findings', () => {
  const cases: { name: string; bytes: Uint8Array; expected: string[]; absent?: string[] }[] = [
    {
      name: 'payload then an unknown opcode (nullifAI)',
      bytes: p.pickle(p.payload('os', 'system', 'id').subarray(0, -1), p.raw(0xff), p.stop()),
      expected: ['pickle.import.process', 'pickle.call.dangerous', 'pickle.stream.unknown-opcode', 'pickle.stream.broken-after-code'],
    },
    {
      name: 'payload then the stream ends',
      bytes: p.payload('subprocess', 'getoutput', 'id').subarray(0, -1),
      expected: ['pickle.import.process', 'pickle.call.dangerous', 'pickle.stream.truncated', 'pickle.stream.broken-after-code'],
    },
    {
      name: 'a safe import then an error',
      bytes: p.pickle(p.proto(2), p.global('collections', 'OrderedDict'), p.raw(0xff)),
      expected: ['pickle.stream.unknown-opcode'],
      absent: ['pickle.stream.broken-after-code'],
    },
    { name: 'protocol 6', bytes: p.pickle(p.proto(6), p.none(), p.stop()), expected: ['pickle.stream.protocol-unsupported'] },
    {
      name: 'a FRAME longer than the stream',
      bytes: p.pickle(p.proto(4), p.frame(1000), p.none(), p.stop()),
      expected: ['pickle.stream.frame-mismatch'],
    },
    {
      name: 'bytes after the STOP that are no pickle',
      bytes: p.pickle(p.proto(2), p.none(), p.stop(), p.raw(0xff, 0x00, 0x01)),
      expected: ['pickle.stream.trailing-data'],
      absent: ['pickle.stream.unknown-opcode'],
    },
    {
      name: 'a second pickle after the first STOP',
      bytes: p.pickle(p.proto(2), p.none(), p.stop(), p.payload('os', 'system', 'id')),
      expected: ['pickle.stream.multiple-pickles', 'pickle.import.process', 'pickle.call.dangerous'],
    },
    {
      name: 'a plain safe pickle',
      bytes: p.pickle(p.proto(2), p.emptyDict(), p.binunicode('a'), p.binint1(1), p.setitem(), p.stop()),
      expected: [],
      absent: ['pickle.stream.malformed', 'pickle.stream.trailing-data', 'pickle.stream.multiple-pickles'],
    },
  ];

  it.each(cases)('$name', ({ bytes, expected, absent = [] }) => {
    const { findings } = judgePickleScan(scan(bytes));
    const rules = rulesOf(findings);
    for (const rule of expected) expect(rules, rules.join(', ')).toContain(rule);
    for (const rule of absent) expect(rules).not.toContain(rule);
  });

  it('says in the error that everything before it already ran, with the counts', () => {
    const bytes = p.pickle(p.payload('os', 'system', 'id').subarray(0, -1), p.raw(0xff));
    const { findings } = judgePickleScan(scan(bytes));
    const error = findings.find((finding) => finding.rule === 'pickle.stream.unknown-opcode');
    expect(error?.location.offset).toBe(bytes.length - 1);
    expect(error?.detail).toContain('Everything before this offset already ran in Python: 1 import and 1 call before it.');
    const broken = findings.find((finding) => finding.rule === 'pickle.stream.broken-after-code');
    expect(broken?.evidence).toBe('GLOBAL "os.system"');
  });

  it('accepts as many pickles as the format expects', () => {
    const five = p.pickle(...Array.from({ length: 5 }, () => p.pickle(p.proto(2), p.none(), p.stop())));
    expect(rulesOf(judgePickleScan(scan(five), { expectedPickles: 5 }).findings)).not.toContain('pickle.stream.multiple-pickles');
    expect(rulesOf(judgePickleScan(scan(five)).findings)).toContain('pickle.stream.multiple-pickles');
  });

  it('copies the entry into every finding', () => {
    const { findings } = judgePickleScan(scan(p.pickle(p.payload('os', 'system', 'id'), p.raw(0xff))), { entry: 'm/data.pkl' });
    expect(findings.length).toBeGreaterThan(2);
    for (const finding of findings) expect(finding.location.entry).toBe('m/data.pkl');
  });

  it('caps the findings of one rule and summarises the rest', () => {
    const result = scan(p.pickle(p.proto(4), p.none(), p.stop()));
    const extra = 10;
    result.frames = Array.from({ length: MAX_STREAM_FINDINGS_PER_RULE + extra }, (_, index) => ({
      offset: index * 10,
      length: 5,
      contentOffset: index * 10 + 9,
      pickleIndex: 0,
      problems: ['straddled' as const],
    }));
    const frameFindings = judgePickleScan(result).findings.filter((finding) => finding.rule === 'pickle.stream.frame-mismatch');
    expect(frameFindings).toHaveLength(MAX_STREAM_FINDINGS_PER_RULE + 1);
    expect(frameFindings.at(-1)?.detail).toContain(`${extra} more findings`);
    expect(frameFindings[0].detail).toContain('an opcode runs past the frame end');
  });
});

describe('weightsOnlyVerdict', () => {
  it('is accepted for a state-dict-like pickle', () => {
    const bytes = p.pickle(p.proto(2), p.global('collections', 'OrderedDict'), p.emptyTuple(), p.reduce(), p.stop());
    expect(judgePickleScan(scan(bytes)).weightsOnly).toEqual({ accepted: true });
  });

  it('names the first refused global with the entry', () => {
    const bytes = p.payload('os', 'system', 'id');
    expect(judgePickleScan(scan(bytes), { entry: 'e' }).weightsOnly).toEqual({
      accepted: false,
      firstRefused: { module: 'os', name: 'system', offset: 2, entry: 'e', reason: "GLOBAL os.system is not in PyTorch's default allowlist" },
    });
  });

  it('is refused at a malformation that comes before any refused global', () => {
    const bytes = p.pickle(p.proto(2), p.raw(0xff));
    const result: PickleScanResult = scan(bytes);
    const verdict = weightsOnlyVerdict(result, judgePickle(toPolicyInput(result)));
    expect(verdict.accepted).toBe(false);
    expect(verdict.firstRefused?.offset).toBe(2);
    expect(verdict.firstRefused?.reason).toMatch(/^the stream is malformed/);
  });
});
