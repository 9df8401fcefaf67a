import { MALFORMED_REFS, REF } from '../references.ts';
import type { RuleCatalog } from '../rule.ts';

/** A limit that stops unbounded work or allocation on a hostile header. */
const LIMIT_REFS = [REF.resourceExhaustion, REF.allocationWithoutLimits, ...MALFORMED_REFS];

const REFUSED =
  'llama.cpp and other ggml-based loaders refuse such a file, while a lenient reader may read it differently: ' +
  'two tools disagreeing about a file is how a payload slips past one of them.';

/** Rules for GGUF files (llama.cpp, ggml); ids start with `gguf.`. */
export const GGUF_RULES = {
  'gguf.header.magic': {
    severity: 'high',
    effect: 'malformed',
    title: 'GGUF file does not start with the GGUF magic',
    explanation: 'A GGUF file starts with the four bytes "GGUF". This one does not, so no GGUF loader will read it as a model.',
    references: MALFORMED_REFS,
  },
  'gguf.header.version': {
    severity: 'high',
    effect: 'malformed',
    title: 'Unsupported GGUF version',
    explanation:
      'Only GGUF versions 2 and 3 are in use; version 1 used a different layout and is no longer loaded. A version with its low 16 bits zero is usually a big-endian file read as little-endian. The rest of the header was not inspected.',
    references: MALFORMED_REFS,
  },
  'gguf.truncated': {
    severity: 'high',
    effect: 'malformed',
    title: 'GGUF header is truncated',
    explanation: 'The header claims more bytes than the file holds. Loaders stop with an error; what was read before the break is reported.',
    references: MALFORMED_REFS,
  },
  'gguf.limit.header-size': {
    severity: 'high',
    effect: 'malformed',
    title: 'GGUF header exceeds the size limit',
    explanation:
      'The metadata and tensor table reach further than any real model needs. Reading it would take unbounded memory and time, a known way to crash loaders (CWE-400), so Preflight stopped there.',
    references: LIMIT_REFS,
  },
  'gguf.limit.tensor-count': {
    severity: 'high',
    effect: 'malformed',
    title: 'GGUF tensor count exceeds the limit',
    explanation:
      'The header claims more tensors than any real model has. Loaders that allocate a table of that size up front run out of memory (CWE-770); the tensor table was not read.',
    references: LIMIT_REFS,
  },
  'gguf.limit.kv-count': {
    severity: 'high',
    effect: 'malformed',
    title: 'GGUF metadata count exceeds the limit',
    explanation:
      'The header claims more metadata entries than any real model has; loaders that trust the count allocate for it up front (CWE-770). Nothing after the count was read.',
    references: LIMIT_REFS,
  },
  'gguf.limit.string-length': {
    severity: 'high',
    effect: 'malformed',
    title: 'GGUF string longer than the limit',
    explanation:
      'A string in the header claims a length far beyond any real key, value or tensor name. ggml refuses strings over 64 MiB; loaders without a limit allocate whatever the file says (CWE-770).',
    references: LIMIT_REFS,
  },
  'gguf.limit.array-length': {
    severity: 'high',
    effect: 'malformed',
    title: 'GGUF metadata array longer than the limit',
    explanation:
      'A metadata array claims more items than any real vocabulary or list. Loaders that allocate the array up front run out of memory (CWE-770).',
    references: LIMIT_REFS,
  },
  'gguf.limit.array-depth': {
    severity: 'high',
    effect: 'malformed',
    title: 'GGUF metadata arrays nested too deeply',
    explanation:
      'Arrays inside arrays go deeper than any real metadata does. Recursive readers can exhaust their stack on such input (CWE-674).',
    references: LIMIT_REFS,
  },
  'gguf.limit.dimensions': {
    severity: 'high',
    effect: 'malformed',
    title: 'GGUF tensor has too many dimensions',
    explanation: `ggml tensors have at most 4 dimensions. ${REFUSED}`,
    references: MALFORMED_REFS,
  },
  'gguf.kv.unknown-type': {
    severity: 'high',
    effect: 'malformed',
    title: 'GGUF metadata value of unknown type',
    explanation:
      'A metadata value has a type id the format does not define, so its size is unknown and nothing after it can be located. Loaders stop here.',
    references: MALFORMED_REFS,
  },
  'gguf.kv.duplicate-key': {
    severity: 'high',
    effect: 'malformed',
    title: 'GGUF metadata key appears twice',
    explanation: `The same metadata key is written twice. ${REFUSED} Preflight shows the first value and checks both.`,
    references: MALFORMED_REFS,
  },
  'gguf.kv.invalid-key': {
    severity: 'medium',
    effect: 'malformed',
    title: 'GGUF metadata key is not a valid key',
    explanation:
      'Keys must be non-empty ASCII of at most 65535 bytes. A key with invalid or look-alike characters can pose as a well-known key (such as the chat template) to a person while loaders ignore it, or the reverse.',
    references: MALFORMED_REFS,
  },
  'gguf.kv.invalid-bool': {
    severity: 'medium',
    effect: 'malformed',
    title: 'GGUF boolean is neither 0 nor 1',
    explanation: 'The format says a boolean byte other than 0 or 1 makes the model invalid; readers disagree on what it means.',
    references: MALFORMED_REFS,
  },
  'gguf.alignment.invalid': {
    severity: 'high',
    effect: 'malformed',
    title: 'GGUF alignment is invalid',
    explanation: `general.alignment must be a u32 that is a non-zero power of two; it decides where tensor data starts. ${REFUSED} Preflight used the default of 32 for the remaining checks. A valid but huge alignment (over 1 MiB) overflows the padding arithmetic of 32-bit loaders and leaves room to hide data in padding; it is reported and used as written.`,
    references: MALFORMED_REFS,
  },
  'gguf.tensor.duplicate-name': {
    severity: 'high',
    effect: 'malformed',
    title: 'Two GGUF tensors share a name',
    explanation: `Tensor names must be unique; with two, which weights get loaded depends on the reader. ${REFUSED}`,
    references: [...MALFORMED_REFS, REF.manipulateModel],
  },
  'gguf.tensor.name-too-long': {
    severity: 'medium',
    effect: 'malformed',
    title: 'GGUF tensor name too long',
    explanation: `ggml tensor names hold at most 63 bytes. ${REFUSED}`,
    references: MALFORMED_REFS,
  },
  'gguf.tensor.unknown-type': {
    severity: 'high',
    effect: 'malformed',
    title: 'GGUF tensor of unknown type',
    explanation:
      'The tensor names a ggml type id that ggml does not define (or that comes from a private fork), so its size is unknown and its bounds cannot be checked. Mainline loaders refuse the file.',
    references: MALFORMED_REFS,
  },
  'gguf.tensor.removed-type': {
    severity: 'medium',
    effect: 'malformed',
    title: 'GGUF tensor of a type no longer supported',
    explanation:
      'The tensor uses one of the repacked ARM layouts (Q4_0_4_4 and similar) that ggml stopped accepting in GGUF files; current loaders refuse the file. Its size is still known and checked.',
    references: MALFORMED_REFS,
  },
  'gguf.tensor.dims-overflow': {
    severity: 'high',
    effect: 'malformed',
    title: 'GGUF tensor dimensions overflow',
    explanation:
      'A dimension or the product of the dimensions does not fit in a signed 64-bit integer. Loaders that multiply without checking wrap around and compute a tiny size for a huge tensor (CWE-190), then read or write out of bounds.',
    references: ['CWE-190', ...MALFORMED_REFS],
  },
  'gguf.tensor.block-size-mismatch': {
    severity: 'high',
    effect: 'malformed',
    title: 'GGUF tensor rows do not fill whole quantisation blocks',
    explanation: `Quantised types store elements in blocks (32 or 256 at a time); the first dimension must be a multiple of the block size. ${REFUSED}`,
    references: MALFORMED_REFS,
  },
  'gguf.tensor.offset-unaligned': {
    severity: 'high',
    effect: 'malformed',
    title: 'GGUF tensor data is not aligned',
    explanation: `Each tensor offset must be a multiple of general.alignment so the file can be memory-mapped. ${REFUSED}`,
    references: MALFORMED_REFS,
  },
  'gguf.tensor.out-of-bounds': {
    severity: 'high',
    effect: 'malformed',
    title: 'GGUF tensor data lies outside the file',
    explanation:
      'The tensor table points past the end of the file. A memory-mapping loader that trusts it reads out of bounds (CWE-125) and crashes; a checking loader refuses the file.',
    references: ['CWE-125', ...MALFORMED_REFS],
  },
  'gguf.tensor.overlap': {
    severity: 'high',
    effect: 'malformed',
    title: 'GGUF tensors overlap',
    explanation: `Two tensors share bytes of the data section, so changing one changes the other. ${REFUSED}`,
    references: [...MALFORMED_REFS, REF.manipulateModel],
  },
  'gguf.data.unreferenced-bytes': {
    severity: 'low',
    effect: 'suspicious',
    title: 'GGUF file holds bytes no tensor uses',
    explanation:
      'Part of the file lies outside the header, the tensors and their alignment padding. Writers never leave such gaps; they are where a second file (an archive, a pickle) can be hidden inside a model that still loads.',
    references: [REF.supplyChain, REF.owaspSupplyChain, REF.nistMeasure],
  },
} satisfies RuleCatalog;
