/**
 * Raw Python pickles (`pickle.dump`, `joblib`-free `.pkl`, a `data.pkl` taken
 * out of its zip …), protocols 0 to 5, under any name.
 * Spec: https://docs.python.org/3/library/pickle.html, opcodes and their
 * layout in https://github.com/python/cpython/blob/main/Lib/pickletools.py.
 *
 * Threat surface: loading a pickle is running a program. It imports any
 * global by name and calls it with arguments from the file, so the scan is
 * the point: every import and call is judged by the policy
 * (src/rules/pickle-policy.ts), everything before a broken opcode counts as
 * run, stacked pickles and trailing bytes are reported, and nested loader
 * payloads are scanned too (src/pickle/pickle-scanner.ts). The whole file goes
 * through the Wasm pickle machine on the one streaming pass.
 *
 * Detection is by content, never by name (CVE-2025-1889, CVE-2025-10155: a
 * pickle under a name scanners skip). Protocols 2 to 5 open with PROTO
 * (0x80 and the version); protocols 0 and 1 have no magic, so the first bytes
 * are run on a fresh machine: they must start with an opcode that opens real
 * pickles and reach a structure only pickles have (a memo PUT, an import, or
 * STOP) before any error.
 */
import { createPickleScanner } from '../pickle/pickle-scanner.ts';
import { createPickleMachine } from '../pickle/machine.ts';
import { classifyGlobal, isPlainDottedName } from '../rules/pickle-policy.ts';
import * as op from '../../wasm/assembly/shared.ts';
import type { FormatModule, InspectContext, Inspection } from './types.ts';
import type { ByteSource } from '../io/byte-source.ts';

/** Bytes of the head run on the machine to recognise protocol 0/1 pickles: enough for the first structures, cheap (CWE-400). */
export const DETECT_TRIAL_BYTES = 1024;
/** PROTO versions above 5 still detected (as malformed pickles) so a bumped version does not hide a pickle. */
export const MAX_DETECTED_PROTOCOL = 15;

/** Opcodes that protocol 0 and 1 pickles start with (the top-level value's first opcode). */
const OPENING_OPCODES: ReadonlySet<number> = new Set([
  op.OP_MARK,
  op.OP_EMPTY_DICT,
  op.OP_EMPTY_LIST,
  op.OP_EMPTY_TUPLE,
  op.OP_NONE,
  op.OP_INT,
  op.OP_BININT,
  op.OP_BININT1,
  op.OP_BININT2,
  op.OP_LONG,
  op.OP_FLOAT,
  op.OP_BINFLOAT,
  op.OP_STRING,
  op.OP_BINSTRING,
  op.OP_SHORT_BINSTRING,
  op.OP_UNICODE,
  op.OP_BINUNICODE,
  op.OP_GLOBAL,
]);

/** Opcodes that appear in pickles and almost never at the start of other files' bytes by chance. */
const PICKLE_STRUCTURE_OPCODES: ReadonlySet<number> = new Set([op.OP_STOP, op.OP_PUT, op.OP_BINPUT, op.OP_LONG_BINPUT, op.OP_MEMOIZE]);

/** Magic numbers of formats detected elsewhere whose first byte happens to be an opening opcode. */
const OTHER_MAGICS: readonly (readonly number[])[] = [
  [0x47, 0x47, 0x55, 0x46], // GGUF
];

/** True when `head` opens like a pickle of protocol 2 to 5 (or a bumped version). */
export function startsWithProto(head: Uint8Array): boolean {
  if (head.length < 2 || head[0] !== op.OP_PROTO) return false;
  // Python writes PROTO from protocol 2 on, but accepts PROTO 0 and 1 too.
  if (head[1] <= 5) return true;
  return head[1] <= MAX_DETECTED_PROTOCOL && head.length >= 3 && (head[2] === op.OP_FRAME || OPENING_OPCODES.has(head[2]) || head[2] === op.OP_SHORT_BINUNICODE);
}

/**
 * True when `head` is a pickle of protocol 0 or 1: a trial run of its first
 * bytes meets a pickle structure before any error. Never throws.
 */
export function looksLikeTextPickle(head: Uint8Array): boolean {
  if (head.length < 2 || !OPENING_OPCODES.has(head[0])) return false;
  if (OTHER_MAGICS.some((magic) => magic.every((byte, index) => head[index] === byte))) return false;
  try {
    const machine = createPickleMachine({ maxPickles: 1 });
    machine.push(head.subarray(0, DETECT_TRIAL_BYTES));
    const trial = machine.finish();
    const firstError = trial.errors.reduce((first, error) => Math.min(first, error.offset), Number.POSITIVE_INFINITY);
    if (firstError === 0 || trial.opcodeCount < 2) return false;
    // Text that starts with `c` or `i` reads as GLOBAL/INST too (`class Foo:` in a .py file, `cat\ndog\n` in a
    // vocabulary). An import alone is not proof: a pickle calls what it imports (REDUCE, OBJ, INST …) or
    // memoises it, so require that — unless the import is dangerous on its own, which is never text by chance.
    const callsSomething = trial.calls.some((entry) => entry.offset < firstError);
    const importsDanger = trial.imports.some(
      (entry) =>
        entry.offset < firstError &&
        entry.resolved &&
        isPlainDottedName(entry.module) &&
        isPlainDottedName(entry.name) &&
        classifyGlobal(entry.module, entry.name).verdict === 'dangerous',
    );
    return callsSomething || importsDanger || trial.opcodeFirstSeen.some((seen) => seen.offset < firstError && PICKLE_STRUCTURE_OPCODES.has(seen.opcode));
  } catch {
    return false;
  }
}

export const pickleFormat: FormatModule = {
  id: 'pickle',
  label: 'Python pickle',
  extensions: ['.pkl', '.pickle', '.pk'],
  detect(head: Uint8Array): boolean {
    return startsWithProto(head) || looksLikeTextPickle(head);
  },
  async inspect(source: ByteSource, _context: InspectContext): Promise<Inspection> {
    return {
      tensors: [],
      metadata: {},
      findings: [],
      streamScanners: [createPickleScanner(source, { offset: 0, length: source.size })],
    };
  },
};
