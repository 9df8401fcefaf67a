import { MALFORMED_REFS, REF } from '../references.ts';
import type { RuleCatalog } from '../rule.ts';

/**
 * Rules for NumPy `.npy` arrays and `.npz` archives; ids start with `numpy.`.
 * Object arrays carry a pickle, judged by the pickle rules; these rules cover
 * the header, the data region and the archive members.
 */
export const NUMPY_RULES = {
  'numpy.version.unsupported': {
    severity: 'high',
    effect: 'malformed',
    title: 'Unknown .npy format version',
    explanation: 'NumPy reads format versions 1.0, 2.0 and 3.0 and refuses any other, so np.load fails on this array.',
    references: MALFORMED_REFS,
  },
  'numpy.header.truncated': {
    severity: 'high',
    effect: 'malformed',
    title: '.npy header is cut short',
    explanation: 'The file ends inside the magic string, the header length or the header itself. np.load fails on it.',
    references: MALFORMED_REFS,
  },
  'numpy.header.too-large': {
    severity: 'medium',
    effect: 'malformed',
    title: '.npy header is larger than Preflight parses',
    explanation:
      'The declared header is far larger than any array needs. Parsing it costs memory and time (NumPy itself refuses headers over 10 000 bytes unless the file is fully trusted), so it was not parsed and the array was not inspected.',
    references: [REF.resourceExhaustion, REF.allocationWithoutLimits, ...MALFORMED_REFS],
  },
  'numpy.header.needs-trust': {
    severity: 'low',
    effect: 'suspicious',
    title: '.npy header is larger than NumPy parses by default',
    explanation:
      'NumPy refuses headers over 10 000 bytes unless the caller passes allow_pickle=True or raises max_header_size, both of which mean "I fully trust this file". Ordinary arrays have headers of about 100 bytes; a huge one pushes users into trusting the file.',
    references: [REF.resourceExhaustion, REF.supplyChain, REF.nistMeasure],
  },
  'numpy.header.invalid': {
    severity: 'high',
    effect: 'malformed',
    title: '.npy header is invalid',
    explanation:
      'The header must be a Python dict literal with exactly the keys descr, fortran_order and shape. NumPy refuses this one, so np.load fails; Preflight reports what it could read.',
    references: MALFORMED_REFS,
  },
  'numpy.dtype.unknown': {
    severity: 'medium',
    effect: 'malformed',
    title: 'Array dtype is not understood',
    explanation:
      'The dtype description is not one Preflight knows, so the size of the data could not be checked. NumPy may refuse it or read it as something unexpected.',
    references: MALFORMED_REFS,
  },
  'numpy.shape.invalid': {
    severity: 'high',
    effect: 'malformed',
    title: 'Array shape is invalid',
    explanation:
      'The shape has negative or non-integer dimensions, too many of them, or a size that does not fit in memory. NumPy refuses it; a reader that trusts it mis-sizes its buffers.',
    references: [REF.allocationWithoutLimits, ...MALFORMED_REFS],
  },
  'numpy.data.truncated': {
    severity: 'high',
    effect: 'malformed',
    title: 'Array data is shorter than its header declares',
    explanation:
      'Shape times item size needs more bytes than follow the header. np.load raises "EOF: reading array data"; the tensor is not what the header claims.',
    references: MALFORMED_REFS,
  },
  'numpy.data.trailing': {
    severity: 'low',
    effect: 'suspicious',
    title: 'Bytes after the array data',
    explanation:
      'The file continues after the last element. np.load ignores these bytes, so they can carry something for another reader (an appended pickle or archive) without changing the array.',
    references: [REF.improperInput, REF.supplyChain, REF.nistMeasure],
  },
  'numpy.object-array': {
    severity: 'info',
    effect: 'none',
    title: 'Object array: the data is a pickle',
    explanation:
      'The dtype holds Python objects, so NumPy stored the array as a pickle. np.load refuses it by default and unpickles it with allow_pickle=True, which runs whatever the pickle calls. Preflight scanned that pickle; its findings say what loading it would do.',
    references: [REF.deserialization, REF.unsafeArtifact],
  },
  'numpy.npz.not-npy-member': {
    severity: 'low',
    effect: 'suspicious',
    title: 'Archive member is not a .npy array',
    explanation:
      'np.load returns this member as raw bytes instead of an array. Archives written by np.savez hold only .npy arrays; anything else was added by hand and is for some other reader. Preflight inspected it by its content.',
    references: [REF.supplyChain, REF.nistMeasure],
  },
  'numpy.npz.member-not-read': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Archive member could not be inspected',
    explanation:
      'The member could not be decoded (unsupported compression, corrupt or unreadable data), so what np.load would make of it is unknown.',
    references: [REF.supplyChain, REF.nistMeasure],
  },
} satisfies RuleCatalog;
