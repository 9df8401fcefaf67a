import { CODE_EXECUTION_REFS, MALFORMED_REFS, REF } from '../references.ts';
import type { RuleCatalog } from '../rule.ts';

/** Readers that disagree on where a stream ends or what it holds: one sees what another does not. */
const PARSER_DIFFERENTIAL_REFS = [REF.improperInput, REF.supplyChain, REF.owaspSupplyChain, REF.nistMeasure];

/** A limit of the scanner was reached: part of the file was judged approximately or not at all. */
const LIMIT_REFS = [REF.resourceExhaustion, REF.allocationWithoutLimits, REF.nistMeasure];

/**
 * Rules for what the pickle machine itself observes about a stream, as
 * opposed to what it imports and calls (src/rules/catalog/pickle.ts): broken
 * opcodes, framing, limits, data after the last pickle, stacked pickles, the
 * nested payloads a loader call would parse, and the structure of legacy
 * PyTorch files (a stream of five pickles followed by raw storages). Emitted by
 * src/pickle/judge.ts, src/pickle/pickle-scanner.ts and src/formats/torch-legacy.ts.
 */
export const PICKLE_STREAM_RULES = {
  'pickle.stream.malformed': {
    severity: 'high',
    effect: 'malformed',
    title: 'Pickle stream is malformed',
    explanation:
      'Python raises an error at this opcode. Everything before it has already run when the error is raised: imports were made and calls were executed, so the findings before this offset are live. A tolerant loader may also read past it.',
    references: MALFORMED_REFS,
  },
  'pickle.stream.truncated': {
    severity: 'high',
    effect: 'malformed',
    title: 'Pickle stream ends before its STOP',
    explanation:
      'The stream ends in the middle of an opcode or without a STOP. Python raises at the end, but only after running every import and call before it, so a truncated file still executes its payload.',
    references: MALFORMED_REFS,
  },
  'pickle.stream.unknown-opcode': {
    severity: 'high',
    effect: 'malformed',
    title: 'Pickle stream contains a byte that is no opcode',
    explanation:
      'Python raises "invalid load key" at this byte, after running everything before it. Scanners that give up at the first unknown byte miss what follows; Preflight reports what came before as live.',
    references: MALFORMED_REFS,
  },
  'pickle.stream.protocol-unsupported': {
    severity: 'high',
    effect: 'malformed',
    title: 'Pickle declares an unsupported protocol',
    explanation:
      'The PROTO opcode names a protocol above 5, which no Python version writes. Python refuses it, but a file crafted this way targets readers that disagree on where to stop.',
    references: MALFORMED_REFS,
  },
  'pickle.stream.broken-after-code': {
    severity: 'high',
    effect: 'malformed',
    title: 'Pickle breaks after it has imported or called',
    explanation:
      'The stream is broken (a bad opcode, or cut short) after imports or calls that Python has already run when it reaches the break. This is the "nullifAI" pattern: scanners that reject or skip the broken file report nothing, while pickle.load executes the payload and only then raises.',
    references: CODE_EXECUTION_REFS,
  },
  'pickle.stream.frame-mismatch': {
    severity: 'medium',
    effect: 'malformed',
    title: 'Pickle framing disagrees with its contents',
    explanation:
      'A protocol 4+ FRAME declares a length that its opcodes do not respect (an opcode straddles the frame end, a frame opens inside another, the stream ends inside a frame). CPython\'s C and Python unpicklers treat this differently, so readers can disagree on what the file contains.',
    references: PARSER_DIFFERENTIAL_REFS,
  },
  'pickle.stream.limit': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Pickle scan reached a limit',
    explanation:
      'The pickle is larger or deeper than Preflight tracks exactly (stack, memo, kept strings, listed items). Findings after this point may be approximate: some imports may show as unresolved, some calls without arguments. Python would load it all.',
    references: LIMIT_REFS,
  },
  'pickle.stream.trailing-data': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Data after the last pickle',
    explanation:
      'Bytes follow the last pickle and do not form one. pickle.load stops at STOP and ignores them, but code that reads the file on from there (a second load, a custom reader) gets these bytes; they were not inspected as a pickle.',
    references: PARSER_DIFFERENTIAL_REFS,
  },
  'pickle.stream.multiple-pickles': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Several pickles back to back',
    explanation:
      'The file holds more than one pickle. pickle.load reads only the first, so scanners that stop at the first STOP miss the rest, but any loader that calls load again (legacy torch, custom readers) runs them. Preflight scanned them all; their imports are reported like the first one\'s.',
    references: PARSER_DIFFERENTIAL_REFS,
  },
  'pickle.stream.nested-unscanned': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Nested payload not scanned',
    explanation:
      'A loader call in this pickle parses a bytes argument as a payload of its own, and Preflight did not scan that payload (a limit, or a format it does not read there). Whatever it holds runs when the outer pickle is loaded.',
    references: [REF.deserialization, REF.resourceExhaustion, REF.supplyChain, REF.nistMeasure],
  },
  'pickle.stream.torch-tensor-invalid': {
    severity: 'medium',
    effect: 'malformed',
    title: 'Tensor record PyTorch would refuse',
    explanation:
      'A tensor in the pickle is rebuilt from a storage in a way PyTorch rejects (a view reaching past its storage, sizes that are not integers, an unknown storage type). torch.load raises on it; a lenient reader may read memory or bytes outside the tensor.',
    references: MALFORMED_REFS,
  },
  'pickle.stream.legacy-magic-code': {
    severity: 'critical',
    effect: 'dangerous',
    title: 'Legacy torch magic number pickle runs code',
    explanation:
      'The first pickle of a legacy PyTorch file must be the bare magic number. This one imports or calls something: torch.load unpickles it before it checks the number, so the code runs even though the file is then rejected (GHSA-97f8-7cmv-76j2).',
    references: [...CODE_EXECUTION_REFS, 'GHSA-97f8-7cmv-76j2'],
  },
  'pickle.stream.legacy-magic-mismatch': {
    severity: 'high',
    effect: 'malformed',
    title: 'Legacy torch magic number is wrong',
    explanation:
      'The first pickle is not the integer 0x1950a86a20f9469cfc6c that torch.save writes. torch.load raises "Invalid magic number" after unpickling it; whatever the pickle did has already happened.',
    references: [...MALFORMED_REFS, 'GHSA-97f8-7cmv-76j2'],
  },
  'pickle.stream.legacy-header': {
    severity: 'medium',
    effect: 'malformed',
    title: 'Legacy torch header pickles are not what torch.save writes',
    explanation:
      'The protocol version (1001) or system information dict that follow the magic number are missing or have another shape. torch.load refuses other protocol versions; a file that differs here was not written by torch.save.',
    references: MALFORMED_REFS,
  },
  'pickle.stream.legacy-storage-keys': {
    severity: 'high',
    effect: 'malformed',
    title: 'Legacy torch storage key list is unreadable',
    explanation:
      'The fifth pickle must be the list of storage keys that says in which order the raw storages follow. Preflight could not read it, so tensor offsets are not known and the raw data was not checked.',
    references: MALFORMED_REFS,
  },
  'pickle.stream.legacy-storage-mismatch': {
    severity: 'high',
    effect: 'malformed',
    title: 'Legacy torch raw storage disagrees with the pickle',
    explanation:
      'A raw storage after the pickles is missing, cut short, names a key the pickle never declared, or has a different element count than its persistent id. torch.load raises on it ("storage has wrong byte size"), and readers that trust either side read different bytes as weights.',
    references: MALFORMED_REFS,
  },
  'pickle.stream.legacy-trailing-data': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Data after the legacy torch storages',
    explanation:
      'Bytes follow the last raw storage. torch.load never reads them; they can hide a second payload for another reader, or be the remains of a file that was tampered with.',
    references: PARSER_DIFFERENTIAL_REFS,
  },
  'pickle.stream.legacy-limit': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Legacy torch storages not fully walked',
    explanation:
      'The file declares more raw storages than Preflight walks; the rest were not checked against the pickle. torch.load reads them all.',
    references: LIMIT_REFS,
  },
} satisfies RuleCatalog;
