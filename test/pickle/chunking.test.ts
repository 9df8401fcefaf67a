/**
 * STYLE.md §5: the same answer for any chunking. Every fixture and a set of
 * hand-built streams (errors, frames, skipped payloads, several pickles) are
 * scanned whole, byte by byte, and in random chunk sizes.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as b from '../builders/pickle.ts';
import { createRandom, readFixture, scan } from './scan-helpers.ts';

const fixtureFiles = readdirSync(join(import.meta.dirname, '..', 'fixtures', 'pickle')).filter((name) => /\.(pkl|pt)$/.test(name));

const built: [string, Uint8Array][] = [
  ['payload then unknown opcode', b.pickle(b.payload('os', 'system', 'id').subarray(0, -1), b.raw(0xff), b.stop())],
  ['frame with a straddling opcode', b.pickle(b.proto(4), b.frame(3), b.shortBinUnicode('os'), b.shortBinUnicode('system'), b.stackGlobal(), b.stop())],
  ['STOP inside a frame, then a pickle', b.pickle(b.proto(4), b.frame(6), b.none(), b.stop(), b.raw(1, 2, 3, 4), b.global('os', 'system'), b.stop())],
  ['payload split around the input window', b.pickle(b.proto(4), b.binbytes8(new Uint8Array(1_200_000).fill(7)), b.binunicode('x'.repeat(3000)), b.stackGlobal(), b.stop())],
  ['truncated inside a long line', b.pickle(b.global('os', 'system'), b.raw(b.op.OP_INT, 0x31, 0x32))],
  ['trailing garbage', b.pickle(b.none(), b.stop(), b.none(), b.raw(0x00, 0x01))],
];

describe('chunk invariance', () => {
  const inputs: [string, Uint8Array][] = [...fixtureFiles.map((file): [string, Uint8Array] => [file, readFixture(file)]), ...built];

  it.each(inputs)('%s: one push, 1-byte pushes and random pushes agree', (_, bytes) => {
    const whole = scan(bytes);
    const random = createRandom(bytes.length);
    const randomSizes = Array.from({ length: 16 }, () => 1 + Math.floor(random() * (random() < 0.5 ? 16 : 70_000)));
    expect(scan(bytes, {}, randomSizes)).toEqual(whole);
    if (bytes.length <= 200_000) expect(scan(bytes, {}, [1])).toEqual(whole);
  });
});

describe('every split into two pushes', () => {
  // The second push overwrites the input window the first one left: whatever the first push kept
  // (short strings on the stack, in the memo, in tuples and dicts) must already be the machine's own copy.
  const strings: [string, Uint8Array][] = [
    [
      'strings through the stack, memo, tuples and dicts',
      b.pickle(
        b.proto(4),
        b.framed(b.shortBinUnicode('os'), b.memoize(), b.shortBinUnicode('system'), b.memoize(), b.stackGlobal(), b.binget(0), b.tuple1(), b.reduce()),
        b.emptyDict(),
        b.mark(),
        b.shortBinUnicode('key'),
        b.binget(1),
        b.shortBinstring('weight'),
        b.global('torch._utils', '_rebuild_tensor_v2'),
        b.emptyTuple(),
        b.reduce(),
        b.setitems(),
        b.binunicode('x'.repeat(1030)),
        b.shortBinUnicode(''),
        b.tuple2(),
        b.build(),
        b.stop(),
      ),
    ],
    ['protocol 0 lines and strings', b.pickle(b.mark(), b.string('id'), b.unicode('arg'), b.inst('os', 'system'), b.shortBinUnicode('tail'), b.pop(), b.stop())],
  ];

  it.each(strings)('%s', (_, bytes) => {
    const whole = scan(bytes);
    for (let split = 1; split < bytes.length; split++) {
      expect(scan(bytes, {}, [split, bytes.length])).toEqual(whole);
    }
  });
});
