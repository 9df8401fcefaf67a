import { MALFORMED_REFS, REF } from '../references.ts';
import type { RuleCatalog } from '../rule.ts';

/** A header that makes a loader allocate or parse without bound. */
const EXHAUSTION_REFS = [REF.resourceExhaustion, REF.allocationWithoutLimits, ...MALFORMED_REFS];

/**
 * Two readers of the same header can see different tensors: the classic way to
 * show a scanner one model and a loader another.
 */
const DIFFERENTIAL_REFS = [...MALFORMED_REFS, REF.manipulateModel, REF.owaspSupplyChain];

/** Rules for safetensors; ids start with `safetensors.`. */
export const SAFETENSORS_RULES = {
  'safetensors.header.truncated': {
    severity: 'high',
    effect: 'malformed',
    title: 'safetensors header is truncated',
    explanation:
      'The file ends before its header does. The safetensors library refuses to load it; a loader that reads without checking would run past the end of the file.',
    references: MALFORMED_REFS,
  },
  'safetensors.header.too-large': {
    severity: 'high',
    effect: 'malformed',
    title: 'safetensors header length is above the limit',
    explanation:
      'The header claims to be larger than the 100 MB the safetensors library accepts. The library refuses the file; a lenient loader would allocate and parse that much JSON before reading a single tensor.',
    references: EXHAUSTION_REFS,
  },
  'safetensors.header.beyond-file': {
    severity: 'high',
    effect: 'malformed',
    title: 'safetensors header is longer than the file',
    explanation:
      'The header length at offset 0 points past the end of the file. The safetensors library refuses the file; a loader that trusts the length reads out of bounds or waits for bytes that never come.',
    references: MALFORMED_REFS,
  },
  'safetensors.header.invalid-utf8': {
    severity: 'high',
    effect: 'malformed',
    title: 'safetensors header is not valid UTF-8',
    explanation:
      'The header must be UTF-8 JSON. The safetensors library refuses the file; other tools may decode it differently and see different tensor names.',
    references: DIFFERENTIAL_REFS,
  },
  'safetensors.header.invalid-json': {
    severity: 'high',
    effect: 'malformed',
    title: 'safetensors header is not valid JSON',
    explanation:
      'The header does not parse as strict JSON (or nests deeper than the library’s JSON parser allows), so the safetensors library refuses the file and no tensor can be read.',
    references: MALFORMED_REFS,
  },
  'safetensors.header.not-object': {
    severity: 'high',
    effect: 'malformed',
    title: 'safetensors header is not a JSON object',
    explanation:
      'The header must be a JSON object mapping tensor names to their descriptions. Anything else is refused by the safetensors library.',
    references: MALFORMED_REFS,
  },
  'safetensors.header.duplicate-key': {
    severity: 'high',
    effect: 'malformed',
    title: 'Tensor name appears twice in the safetensors header',
    explanation:
      'JSON parsers keep the last of two equal keys, some keep the first, some refuse. A tool that shows one tensor and a loader that uses the other disagree on what the model is; this is a known way to hide a tampered tensor from review.',
    references: DIFFERENTIAL_REFS,
  },
  'safetensors.entry.duplicate-field': {
    severity: 'high',
    effect: 'malformed',
    title: 'Field appears twice in a safetensors header entry',
    explanation:
      'A tensor entry (or `__metadata__`) repeats a field such as `dtype` or `data_offsets`. Parsers disagree on which copy wins, so two tools can read two different tensors from the same entry.',
    references: DIFFERENTIAL_REFS,
  },
  'safetensors.entry.not-object': {
    severity: 'medium',
    effect: 'malformed',
    title: 'safetensors header entry is not an object',
    explanation:
      'Each tensor entry must be an object with `dtype`, `shape` and `data_offsets`. The safetensors library refuses the file.',
    references: MALFORMED_REFS,
  },
  'safetensors.entry.invalid-dtype': {
    severity: 'medium',
    effect: 'malformed',
    title: 'safetensors tensor has no valid dtype',
    explanation: 'The entry has no `dtype` string, so nobody can tell how to read its bytes. The safetensors library refuses the file.',
    references: MALFORMED_REFS,
  },
  'safetensors.entry.unknown-dtype': {
    severity: 'medium',
    effect: 'malformed',
    title: 'safetensors tensor has an unknown dtype',
    explanation:
      'The dtype is not one the safetensors format defines. The library refuses the file; a custom loader may guess an element size and read the wrong bytes.',
    references: MALFORMED_REFS,
  },
  'safetensors.entry.invalid-shape': {
    severity: 'medium',
    effect: 'malformed',
    title: 'safetensors tensor has an invalid shape',
    explanation:
      'The shape must be an array of non-negative integers of reasonable rank. The safetensors library refuses the file; a loader computing sizes from a hostile shape can overflow and mis-size its buffers.',
    references: [REF.allocationWithoutLimits, ...MALFORMED_REFS],
  },
  'safetensors.entry.invalid-offsets': {
    severity: 'medium',
    effect: 'malformed',
    title: 'safetensors tensor has invalid data_offsets',
    explanation:
      '`data_offsets` must be two non-negative integers, begin ≤ end. The safetensors library refuses the file; a loader that trusts them reads the wrong range.',
    references: MALFORMED_REFS,
  },
  'safetensors.tensors.too-many': {
    severity: 'medium',
    effect: 'malformed',
    title: 'safetensors header lists too many tensors',
    explanation:
      'The header lists more tensors than any real checkpoint holds in one file; only the first ones are shown. Loaders build a table of every entry before reading data.',
    references: EXHAUSTION_REFS,
  },
  'safetensors.offsets.out-of-bounds': {
    severity: 'high',
    effect: 'malformed',
    title: 'safetensors tensor data lies outside the file',
    explanation:
      'A tensor’s `data_offsets` point past the end of the data region. The safetensors library refuses the file; a loader that maps the file and trusts the offsets reads memory that is not the tensor.',
    references: MALFORMED_REFS,
  },
  'safetensors.offsets.overlap': {
    severity: 'high',
    effect: 'malformed',
    title: 'safetensors tensors share bytes',
    explanation:
      'Two tensors claim the same bytes. The safetensors library refuses the file; a lenient loader gives two weights the same storage, which no real checkpoint does and which hides what the bytes really are.',
    references: DIFFERENTIAL_REFS,
  },
  'safetensors.offsets.gap': {
    severity: 'medium',
    effect: 'malformed',
    title: 'safetensors data region has bytes no tensor uses',
    explanation:
      'Some bytes between tensors belong to no tensor. The safetensors library refuses the file; unreferenced bytes are a place to hide a payload that reviewers of the tensors never see.',
    references: [...MALFORMED_REFS, REF.supplyChain],
  },
  'safetensors.offsets.trailing-bytes': {
    severity: 'medium',
    effect: 'malformed',
    title: 'Bytes after the last safetensors tensor',
    explanation:
      'The file goes on after the last tensor ends. The safetensors library refuses the file; appended bytes are a common way to smuggle a second file (a pickle, an archive) inside a “safe” one.',
    references: [...MALFORMED_REFS, REF.supplyChain],
  },
  'safetensors.tensor.size-mismatch': {
    severity: 'medium',
    effect: 'malformed',
    title: 'safetensors tensor size does not match its shape and dtype',
    explanation:
      'The byte range of the tensor is not shape × element size. The safetensors library refuses the file; a loader that trusts the shape reads past the range or leaves bytes unread.',
    references: MALFORMED_REFS,
  },
  'safetensors.tensor.misaligned-bits': {
    severity: 'medium',
    effect: 'malformed',
    title: 'Sub-byte safetensors tensor does not end on a byte boundary',
    explanation:
      'A tensor of a 4- or 6-bit dtype has an element count whose bits do not fill whole bytes. The safetensors library refuses such a tensor.',
    references: MALFORMED_REFS,
  },
  'safetensors.metadata.not-object': {
    severity: 'medium',
    effect: 'malformed',
    title: 'safetensors __metadata__ is not an object',
    explanation: '`__metadata__` must map strings to strings. The safetensors library refuses the file.',
    references: MALFORMED_REFS,
  },
  'safetensors.metadata.not-string': {
    severity: 'medium',
    effect: 'malformed',
    title: 'safetensors __metadata__ value is not a string',
    explanation:
      '`__metadata__` values must be strings. The safetensors library refuses the file; the value is not shown as metadata.',
    references: MALFORMED_REFS,
  },
  'safetensors.findings.truncated': {
    severity: 'info',
    effect: 'none',
    title: 'More safetensors findings of the same kind',
    explanation:
      'The header breaks the same rule many times; only the first occurrences are listed so the report stays readable.',
    references: [],
  },
} satisfies RuleCatalog;
