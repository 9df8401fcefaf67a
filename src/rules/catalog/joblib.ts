import { CODE_EXECUTION_REFS, MALFORMED_REFS, REF } from '../references.ts';
import type { RuleCatalog } from '../rule.ts';

/** Content that was not inspected and could still carry code. */
const NOT_INSPECTED_REFS = [REF.supplyChain, REF.unsafeArtifact, REF.owaspSupplyChain, REF.nistManage];

/** Work bounded by a limit: a bomb, or content too large for the scan. */
const BOMB_REFS = [REF.dataAmplification, REF.resourceExhaustion, REF.nistMeasure];

/** Readers that disagree on the bytes: one tool checks what another does not load. */
const DIFFERENTIAL_REFS = [REF.improperInput, REF.supplyChain, REF.owaspSupplyChain, REF.nistMeasure];

/**
 * Rules for joblib files (`joblib.…`) and for the compressed wrappers joblib
 * and others write around a whole file (`wrapper.…`: gzip, zlib, bzip2, xz,
 * LZMA-alone, LZ4). Findings about the wrapper carry file offsets; findings
 * about what it holds carry `location.entry` `<decompressed>` and offsets in
 * the decompressed bytes.
 */
export const JOBLIB_RULES = {
  'joblib.array.size-unknown': {
    severity: 'high',
    effect: 'suspicious',
    title: 'joblib array data of unknown size',
    explanation:
      'joblib writes each NumPy array as a NumpyArrayWrapper followed by the raw array bytes, and joblib.load reads exactly shape × item size of them before it goes back to reading pickle opcodes. The size of this array could not be worked out (its shape or dtype is not a plain literal, or its dtype depends on the platform), so Preflight cannot tell where the raw bytes end: the rest of the file was not scanned. A crafted file uses this to hide opcodes that only the loader sees.',
    references: [...NOT_INSPECTED_REFS, REF.improperInput],
  },
  'joblib.object-array.unseparated': {
    severity: 'high',
    effect: 'suspicious',
    title: 'joblib object array could not be separated from the stream',
    explanation:
      'An array of Python objects is stored by joblib as a second, complete pickle in the middle of the file, which joblib.load runs with pickle.load before it goes on. This one did not end within the distance Preflight looks ahead, so it was scanned as part of the surrounding pickle: everything was read, but imports and arrays after it may be misattributed or reported as errors.',
    references: [...CODE_EXECUTION_REFS, REF.resourceExhaustion],
  },
  'wrapper.output-limit': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Decompressed content larger than Preflight inspects',
    explanation:
      'The compressed stream decodes to more bytes than Preflight decodes, so decoding stopped at the limit and the rest was not inspected. A loader decodes all of it: this is either a very large model or a decompression bomb that exhausts memory or disk.',
    references: [...BOMB_REFS, ...NOT_INSPECTED_REFS],
  },
  'wrapper.ratio-limit': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Compressed stream expands like a decompression bomb',
    explanation:
      'The stream decodes to many thousand times the size of the file, more than single-layer gzip, zlib or xz reach on real data. Decoding stopped there and the rest was not inspected. Loading it makes the loader decompress the whole of it into memory.',
    references: [...BOMB_REFS, ...NOT_INSPECTED_REFS],
  },
  'wrapper.nesting-limit': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Compressed stream nested too deep',
    explanation:
      'The decompressed content is itself compressed, more times over than Preflight unwraps. Real files are compressed once; layers multiply the expansion of a decompression bomb and the work of a scanner. The innermost content was not inspected.',
    references: [REF.uncontrolledRecursion, ...BOMB_REFS, ...NOT_INSPECTED_REFS],
  },
  'wrapper.not-inspected': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Compressed with a method Preflight does not decode',
    explanation:
      'The file is a compressed stream (or uses a filter inside one) that Preflight recognises but does not decode, so what it holds was not inspected. joblib and Python decode it and load what is inside, which can be a pickle: treat it as unvetted.',
    references: NOT_INSPECTED_REFS,
  },
  'wrapper.checksum-mismatch': {
    severity: 'medium',
    effect: 'malformed',
    title: 'Compressed stream checksum does not match',
    explanation:
      'The checksum recorded in the stream (CRC-32, Adler-32 or CRC-64) is not that of the decoded bytes. Loaders raise an error there, but only after they have consumed the bytes before it, and a pickle runs as it is read: the content was inspected all the same.',
    references: MALFORMED_REFS,
  },
  'wrapper.size-mismatch': {
    severity: 'medium',
    effect: 'malformed',
    title: 'Decompressed size differs from the recorded size',
    explanation:
      'The stream records a decoded length (gzip trailer, xz index, old joblib header) that is not what it decodes to. Readers disagree on what to do with such a file, so what one tool inspects may not be what a loader uses.',
    references: DIFFERENTIAL_REFS,
  },
  'wrapper.trailing-data': {
    severity: 'low',
    effect: 'suspicious',
    title: 'Bytes after the end of the compressed stream',
    explanation:
      'The file goes on after its compressed stream ends, with bytes that are not another stream. Some readers ignore them, others raise an error, a polyglot file makes them mean something else to another tool. They were not inspected as content.',
    references: DIFFERENTIAL_REFS,
  },
  'wrapper.read-limit': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Decompressed content needs too much random access',
    explanation:
      'Reading what is inside the compressed stream needed more bytes decoded than Preflight allows for jumping around in it (a compressed stream can only be decoded from its start). The part that needed it was not inspected.',
    references: [REF.resourceExhaustion, ...NOT_INSPECTED_REFS],
  },
} satisfies RuleCatalog;
