/**
 * A small pickle assembler for tests: one function per opcode of protocols
 * 0–5, each returning that opcode's bytes, and `pickle(...parts)` to join
 * them. Nothing is validated, on purpose: malformed and malicious streams
 * are what the tests need.
 *
 *   pickle(proto(2), global('os', 'system'), shortBinUnicode('id'), tuple1(), reduce(), stop())
 *
 * Layout of each opcode: CPython Lib/pickletools.py.
 */
import * as op from '../../wasm/assembly/shared.ts';

export { op };

export type Part = Uint8Array | number[];

const encoder = new TextEncoder();

/** Joins parts (opcode bytes, plain byte arrays) into one stream. */
export function pickle(...parts: Part[]): Uint8Array {
  const arrays = parts.map((part) => (part instanceof Uint8Array ? part : Uint8Array.from(part)));
  const out = new Uint8Array(arrays.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of arrays) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Arbitrary bytes, e.g. `raw(0xff)` for an unknown opcode. */
export function raw(...bytes: number[]): Uint8Array {
  return Uint8Array.from(bytes);
}

function opcode(code: number, ...parts: Part[]): Uint8Array {
  return pickle([code], ...parts);
}

function textBytes(value: string | Uint8Array): Uint8Array {
  return typeof value === 'string' ? encoder.encode(value) : value;
}

function latin1Bytes(value: string): Uint8Array {
  return Uint8Array.from(value, (character) => character.charCodeAt(0) & 0xff);
}

function u16(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff];
}

function u32(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}

function u64(value: number | bigint): number[] {
  let big = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  for (let index = 0; index < 8; index++) {
    bytes.push(Number(big & 0xffn));
    big >>= 8n;
  }
  return bytes;
}

function line(text: string | Uint8Array): Uint8Array {
  return pickle(typeof text === 'string' ? latin1Bytes(text) : text, [0x0a]);
}

/** Little-endian two's complement, as LONG1/LONG4 carry it (0 is zero bytes). */
export function longBytes(value: bigint): Uint8Array {
  if (value === 0n) return new Uint8Array(0);
  const bytes: number[] = [];
  let rest = value;
  for (;;) {
    const byte = Number(BigInt.asUintN(8, rest));
    bytes.push(byte);
    rest >>= 8n;
    if ((rest === 0n && (byte & 0x80) === 0) || (rest === -1n && (byte & 0x80) !== 0)) break;
  }
  return Uint8Array.from(bytes);
}

// Stream structure.
export const proto = (version: number) => opcode(op.OP_PROTO, [version]);
export const frame = (length: number | bigint) => opcode(op.OP_FRAME, u64(length));
/** FRAME whose declared length is exactly the length of `parts`, followed by them. */
export const framed = (...parts: Part[]) => {
  const body = pickle(...parts);
  return pickle(frame(body.length), body);
};
export const stop = () => raw(op.OP_STOP);

// Stack manipulation.
export const mark = () => raw(op.OP_MARK);
export const pop = () => raw(op.OP_POP);
export const popMark = () => raw(op.OP_POP_MARK);
export const dup = () => raw(op.OP_DUP);

// Scalars.
export const none = () => raw(op.OP_NONE);
export const newTrue = () => raw(op.OP_NEWTRUE);
export const newFalse = () => raw(op.OP_NEWFALSE);
/** INT with its text argument (`int('42')`, `int('01')` is True). */
export const int = (text: string | number) => opcode(op.OP_INT, line(String(text)));
export const binint = (value: number) => opcode(op.OP_BININT, u32(value));
export const binint1 = (value: number) => opcode(op.OP_BININT1, [value & 0xff]);
export const binint2 = (value: number) => opcode(op.OP_BININT2, u16(value));
/** LONG with its text argument (`long('12345L')`). */
export const long = (text: string) => opcode(op.OP_LONG, line(text));
export const long1 = (value: bigint) => {
  const bytes = longBytes(value);
  return opcode(op.OP_LONG1, [bytes.length], bytes);
};
export const long4 = (value: bigint) => {
  const bytes = longBytes(value);
  return opcode(op.OP_LONG4, u32(bytes.length), bytes);
};
export const float = (text: string) => opcode(op.OP_FLOAT, line(text));
export const binfloat = (value: number) => {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value, false);
  return opcode(op.OP_BINFLOAT, new Uint8Array(view.buffer));
};

// Strings.
/** STRING with a Python 2 literal, quoted with `quote` (the argument is written as is: escapes are yours). */
export const string = (literalBody: string, quote = "'") => opcode(op.OP_STRING, line(`${quote}${literalBody}${quote}`));
/** STRING with an exact argument line (e.g. an unquoted one). */
export const stringLine = (argument: string) => opcode(op.OP_STRING, line(argument));
export const binstring = (value: string | Uint8Array) => {
  const bytes = textBytes(value);
  return opcode(op.OP_BINSTRING, u32(bytes.length), bytes);
};
export const shortBinstring = (value: string | Uint8Array) => {
  const bytes = textBytes(value);
  return opcode(op.OP_SHORT_BINSTRING, [bytes.length], bytes);
};
/** UNICODE: the argument in raw-unicode-escape (characters above U+00FF become \uXXXX). */
export const unicode = (value: string) => {
  let escaped = '';
  for (const character of value) {
    const code = character.codePointAt(0) ?? 0;
    if (code < 0x100 && character !== '\n') escaped += character;
    else if (code <= 0xffff) escaped += `\\u${code.toString(16).padStart(4, '0')}`;
    else escaped += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return opcode(op.OP_UNICODE, line(escaped));
};
export const binunicode = (value: string | Uint8Array) => {
  const bytes = textBytes(value);
  return opcode(op.OP_BINUNICODE, u32(bytes.length), bytes);
};
export const shortBinUnicode = (value: string | Uint8Array) => {
  const bytes = textBytes(value);
  return opcode(op.OP_SHORT_BINUNICODE, [bytes.length], bytes);
};
export const binunicode8 = (value: string | Uint8Array) => {
  const bytes = textBytes(value);
  return opcode(op.OP_BINUNICODE8, u64(bytes.length), bytes);
};

// Bytes.
export const shortBinbytes = (bytes: Part) => {
  const data = pickle(bytes);
  return opcode(op.OP_SHORT_BINBYTES, [data.length], data);
};
export const binbytes = (bytes: Part) => {
  const data = pickle(bytes);
  return opcode(op.OP_BINBYTES, u32(data.length), data);
};
export const binbytes8 = (bytes: Part) => {
  const data = pickle(bytes);
  return opcode(op.OP_BINBYTES8, u64(data.length), data);
};
export const bytearray8 = (bytes: Part) => {
  const data = pickle(bytes);
  return opcode(op.OP_BYTEARRAY8, u64(data.length), data);
};
/** Only the opcode and declared length of BINBYTES8 (the payload is pushed separately, or never). */
export const binbytes8Header = (length: number | bigint) => opcode(op.OP_BINBYTES8, u64(length));
export const bytearray8Header = (length: number | bigint) => opcode(op.OP_BYTEARRAY8, u64(length));
export const binunicode8Header = (length: number | bigint) => opcode(op.OP_BINUNICODE8, u64(length));
/** BINSTRING/LONG4 with an exact (possibly negative) 32-bit length field and no payload. */
export const binstringHeader = (length: number) => opcode(op.OP_BINSTRING, u32(length));
export const long4Header = (length: number) => opcode(op.OP_LONG4, u32(length));

// Containers.
export const emptyTuple = () => raw(op.OP_EMPTY_TUPLE);
export const tuple = () => raw(op.OP_TUPLE);
export const tuple1 = () => raw(op.OP_TUPLE1);
export const tuple2 = () => raw(op.OP_TUPLE2);
export const tuple3 = () => raw(op.OP_TUPLE3);
export const emptyList = () => raw(op.OP_EMPTY_LIST);
export const list = () => raw(op.OP_LIST);
export const append = () => raw(op.OP_APPEND);
export const appends = () => raw(op.OP_APPENDS);
export const emptyDict = () => raw(op.OP_EMPTY_DICT);
export const dict = () => raw(op.OP_DICT);
export const setitem = () => raw(op.OP_SETITEM);
export const setitems = () => raw(op.OP_SETITEMS);
export const emptySet = () => raw(op.OP_EMPTY_SET);
export const additems = () => raw(op.OP_ADDITEMS);
export const frozenset = () => raw(op.OP_FROZENSET);

// Memo.
export const put = (key: number | string) => opcode(op.OP_PUT, line(String(key)));
export const binput = (key: number) => opcode(op.OP_BINPUT, [key & 0xff]);
export const longBinput = (key: number) => opcode(op.OP_LONG_BINPUT, u32(key));
export const get = (key: number | string) => opcode(op.OP_GET, line(String(key)));
export const binget = (key: number) => opcode(op.OP_BINGET, [key & 0xff]);
export const longBinget = (key: number) => opcode(op.OP_LONG_BINGET, u32(key));
export const memoize = () => raw(op.OP_MEMOIZE);

// Imports and calls.
/** GLOBAL with module and name lines (UTF-8). */
export const global = (module: string | Uint8Array, name: string | Uint8Array) =>
  opcode(op.OP_GLOBAL, line(textBytes(module)), line(textBytes(name)));
/** INST: module and class lines; pops everything above the last MARK as arguments. */
export const inst = (module: string, name: string) => opcode(op.OP_INST, line(module), line(name));
export const stackGlobal = () => raw(op.OP_STACK_GLOBAL);
export const reduce = () => raw(op.OP_REDUCE);
export const build = () => raw(op.OP_BUILD);
export const obj = () => raw(op.OP_OBJ);
export const newobj = () => raw(op.OP_NEWOBJ);
export const newobjEx = () => raw(op.OP_NEWOBJ_EX);
export const ext1 = (code: number) => opcode(op.OP_EXT1, [code & 0xff]);
export const ext2 = (code: number) => opcode(op.OP_EXT2, u16(code));
export const ext4 = (code: number) => opcode(op.OP_EXT4, u32(code));
export const persid = (id: string) => opcode(op.OP_PERSID, line(id));
export const binpersid = () => raw(op.OP_BINPERSID);
export const nextBuffer = () => raw(op.OP_NEXT_BUFFER);
export const readonlyBuffer = () => raw(op.OP_READONLY_BUFFER);

/** STACK_GLOBAL with both operands as SHORT_BINUNICODE (protocol 4+ style). */
export const stackGlobalOf = (module: string, name: string) => pickle(shortBinUnicode(module), shortBinUnicode(name), stackGlobal());

/** `callable(*args)` with REDUCE: the callable's bytes, MARK, each argument, TUPLE, REDUCE. */
export const call = (callable: Part, ...args: Part[]) => pickle(callable, mark(), ...args, tuple(), reduce());

/** A protocol 2 pickle that calls `module.name(*stringArgs)`: the classic payload. */
export const payload = (module: string, name: string, ...stringArgs: string[]) =>
  pickle(proto(2), call(global(module, name), ...stringArgs.map((argument) => binunicode(argument))), stop());
