import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeFileSource } from '../src/io/node-source.ts';
import { createPickleMachine } from '../src/pickle/machine.ts';
import { type Measurement, ROUNDS, fastestOf } from './node.ts';

const PYTHON = '/usr/bin/python3';

export interface PickleBenchResult {
  name: string;
  bytes: number;
  ours: Measurement;
  /** pickletools.genops walking the same bytes, when Python is there. */
  genops: Measurement | null;
  opcodes: number;
}

/** Write `parts()` to a temp file once (reused when its size matches). */
async function ensureFile(name: string, size: number, parts: () => Iterable<Uint8Array>): Promise<string> {
  const path = join(tmpdir(), name);
  if ((await stat(path).catch(() => null))?.size === size) return path;
  const handle = await open(path, 'w');
  try {
    for (const part of parts()) await handle.write(part);
  } finally {
    await handle.close();
  }
  if ((await stat(path)).size !== size) throw new Error(`${path}: wrote the wrong size`);
  return path;
}

const u32 = (value: number) => Uint8Array.of(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24);
const u64 = (value: number) => {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(value), true);
  return bytes;
};

/**
 * (a) Payload-heavy: a protocol-4 list of 1 MiB BINBYTES8 payloads, ~1 GiB,
 * the shape of a legacy torch storage region or joblib's raw arrays as far as
 * an opcode walker is concerned.
 */
async function payloadHeavyPickle(): Promise<string> {
  const payloads = 1024;
  const payload = new Uint8Array(1 << 20).map((_, index) => (index * 131 + 7) & 0xff);
  const head = Uint8Array.of(0x80, 0x04, 0x5d, 0x28); // PROTO 4, EMPTY_LIST, MARK
  const tail = Uint8Array.of(0x65, 0x2e); // APPENDS, STOP
  const opcode = Uint8Array.of(0x8e, ...u64(payload.length)); // BINBYTES8 + length
  const size = head.length + payloads * (opcode.length + payload.length) + tail.length;
  return ensureFile('preflight-bench-payloads.pkl', size, function* () {
    yield head;
    for (let index = 0; index < payloads; index++) {
      yield opcode;
      yield payload;
    }
    yield tail;
  });
}

/** (b) Opcode-dense: a long list of small ints and short strings (~50 MB, ~25M opcodes), framed like protocol 4 writes it. */
async function opcodeDensePickle(): Promise<string> {
  const groups = 25_000;
  const group: number[] = [0x28]; // MARK
  for (let index = 0; index < 500; index++) {
    group.push(0x4b, index & 0xff); // BININT1
    group.push(0x8c, 3, 0x61, 0x62, 0x63 + (index % 20)); // SHORT_BINUNICODE 'ab?'
  }
  group.push(0x65); // APPENDS
  const body = Uint8Array.from(group);
  const head = Uint8Array.of(0x80, 0x04, 0x5d);
  const tail = Uint8Array.of(0x2e);
  const size = head.length + groups * body.length + tail.length;
  return ensureFile('preflight-bench-dense.pkl', size, function* () {
    yield head;
    for (let index = 0; index < groups; index++) yield body;
    yield tail;
  });
}

async function scanWithMachine(path: string, name: string): Promise<Measurement & { opcodes: number }> {
  const source = await createNodeFileSource(path);
  const start = performance.now();
  const machine = createPickleMachine();
  for await (const chunk of source.chunks()) machine.push(chunk);
  const result = machine.finish();
  const milliseconds = performance.now() - start;
  if (result.errors.length > 0) throw new Error(`${name}: the machine reported ${result.errors[0].message}`);
  return { name: `${name}: Preflight pickle machine (read + Wasm scan)`, bytes: source.size, milliseconds, opcodes: result.opcodeCount };
}

function scanWithGenops(path: string, name: string, size: number): Measurement | null {
  if (!existsSync(PYTHON)) return null;
  const script =
    'import pickletools, sys, time\n' +
    'f = open(sys.argv[1], "rb")\n' +
    't = time.perf_counter()\n' +
    'n = sum(1 for _ in pickletools.genops(f))\n' +
    'print(time.perf_counter() - t, n)\n';
  const [seconds] = execFileSync(PYTHON, ['-c', script, path], { encoding: 'utf8' }).trim().split(' ').map(Number);
  return { name: `${name}: Python pickletools.genops`, bytes: size, milliseconds: seconds * 1000 };
}

export async function benchPickle(): Promise<PickleBenchResult[]> {
  const results: PickleBenchResult[] = [];
  for (const [name, make] of [
    ['(a) payload-heavy, 1 GiB of BINBYTES8', payloadHeavyPickle],
    ['(b) opcode-dense, 25M small ints and strings', opcodeDensePickle],
  ] as const) {
    const path = await make();
    const ours = await fastestOf(ROUNDS, () => scanWithMachine(path, name));
    const size = (await stat(path)).size;
    const genops = await fastestOf(1, async () => scanWithGenops(path, name, size) as Measurement).catch(() => null);
    results.push({ name, bytes: size, ours, genops, opcodes: (ours as Measurement & { opcodes: number }).opcodes });
  }
  return results;
}
