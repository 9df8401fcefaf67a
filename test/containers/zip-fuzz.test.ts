import { describe, expect, it } from 'vitest';
import { createZipCrcScanner, openZipEntry, readZipDirectory } from '../../src/containers/zip.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import { ParseError } from '../../src/io/parse-error.ts';
import { buildZip, utf8 } from '../builders/zip.ts';

/**
 * Mutation fuzzing: thousands of damaged archives, derived from valid ones of
 * every shape the reader knows. The reader must never throw; opening and
 * streaming entries may only fail with a ParseError; nothing may hang (the
 * test has a time limit and every loop in the reader is bounded).
 */

const ITERATIONS = 3000;

function random(seed: number) {
  let state = seed >>> 0;
  return (limit: number) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value ^= value + Math.imul(value ^ (value >>> 7), 61 | value);
    return ((value ^ (value >>> 14)) >>> 0) % Math.max(1, limit);
  };
}

const text = 'def f(): return 1\n'.repeat(40);
const BASES: Uint8Array[] = [
  buildZip([
    { name: 'archive/data.pkl', data: text, method: 8 },
    { name: 'archive/data/0', data: utf8(text) },
  ]).bytes(),
  buildZip([{ name: 'a', data: text, method: 8, zip64: true }, { name: 'b', data: 'xy', zip64: true }], { zip64EndRecord: true, comment: 'c' }).bytes(),
  buildZip([{ name: 'a', data: text, method: 8, dataDescriptor: true }, { name: 'b', data: text, dataDescriptor: true }]).bytes(),
  buildZip([{ name: 'a', data: text, method: 8, dataDescriptor: true }, { name: 'b', data: text }], { omitCentralDirectory: true }).bytes(),
  buildZip([{ name: 'x', data: text, method: 8 }], { prefix: utf8('prefix bytes'), trailing: utf8('trailing') }).bytes(),
  buildZip([{ name: '../x', data: text, localName: 'y' }, { name: 'z', data: text, method: 12 }]).bytes(),
];

const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x04034b50, 0x02014b50, 0x06054b50, 0x07064b50, 0x06064b50, 0x08074b50];
const INTERESTING_16 = [0, 1, 0x7fff, 0x8000, 0xfffe, 0xffff, 8, 0x800];

function mutate(base: Uint8Array, next: (limit: number) => number): Uint8Array {
  let bytes: Uint8Array = base.slice();
  const rounds = 1 + next(4);
  for (let round = 0; round < rounds; round++) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const at = next(bytes.length);
    switch (next(8)) {
      case 0:
        bytes[at] ^= 1 << next(8);
        break;
      case 1:
        if (at + 4 <= bytes.length) view.setUint32(at, INTERESTING_32[next(INTERESTING_32.length)], true);
        break;
      case 2:
        if (at + 2 <= bytes.length) view.setUint16(at, INTERESTING_16[next(INTERESTING_16.length)], true);
        break;
      case 3:
        bytes = bytes.slice(0, at);
        break;
      case 4: {
        // Duplicate a short run in place, shifting everything after it.
        const piece = bytes.slice(at, at + next(64));
        const grown = new Uint8Array(bytes.length + piece.length);
        grown.set(bytes.subarray(0, at));
        grown.set(piece, at);
        grown.set(bytes.subarray(at), at + piece.length);
        bytes = grown;
        break;
      }
      case 5:
        // Delete a short run.
        bytes = Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(Math.min(bytes.length, at + 1 + next(32)))]);
        break;
      case 6:
        for (let index = 0; index < 8 && at + index < bytes.length; index++) bytes[at + index] = next(256);
        break;
      default:
        if (at + 8 <= bytes.length) view.setBigUint64(at, BigInt(next(2)) << BigInt(32 + next(30)), true);
    }
  }
  return bytes;
}

async function expectOnlyParseErrors(run: () => Promise<unknown>, context: string): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (!(error instanceof ParseError)) throw new Error(`${context}: ${String(error)}`, { cause: error });
  }
}

describe('zip reader fuzzing', () => {
  it(`survives ${ITERATIONS} mutated archives`, { timeout: 120_000 }, async () => {
    const next = random(20250101);
    let entriesOpened = 0;
    let findingsSeen = 0;
    for (let iteration = 0; iteration < ITERATIONS; iteration++) {
      const bytes = mutate(BASES[iteration % BASES.length], next);
      const source = createMemorySource(bytes, 'fuzz.zip');
      const context = `iteration ${iteration}`;
      const directory = await readZipDirectory(source).catch((error: unknown) => {
        throw new Error(`${context}: readZipDirectory threw ${String(error)}`, { cause: error });
      });
      findingsSeen += directory.findings.length;
      for (const entry of directory.entries.slice(0, 4)) {
        if (!entry.readable) {
          expect(() => openZipEntry(source, entry)).toThrow(ParseError);
          continue;
        }
        entriesOpened++;
        await expectOnlyParseErrors(async () => {
          const child = openZipEntry(source, entry, { maxInflatedBytes: 256 * 1024, maxSeekDecodeBytes: 64 * 1024, checkCrc: true, onFinding: () => undefined });
          let total = 0;
          for await (const chunk of child.chunks({ chunkSize: 1 + next(5000) })) total += chunk.length;
          expect(total).toBeLessThanOrEqual(child.size);
          await child.read(next(child.size + 10), next(1000));
        }, `${context}, entry ${entry.index}`);
        const scanner = createZipCrcScanner(entry);
        if (scanner) {
          scanner.push(bytes.subarray(scanner.offset, scanner.offset + scanner.length));
          await scanner.finish();
        }
      }
    }
    // The corpus must have exercised both sides: real entries read, real findings raised.
    expect(entriesOpened).toBeGreaterThan(ITERATIONS / 2);
    expect(findingsSeen).toBeGreaterThan(ITERATIONS);
  });
});
