import { MALFORMED_REFS, REF } from '../references.ts';
import type { RuleCatalog } from '../rule.ts';

/** A container whose readers disagree: one tool sees what another does not. */
const PARSER_DIFFERENTIAL_REFS = [REF.improperInput, REF.supplyChain, REF.owaspSupplyChain, REF.nistMeasure];

/** Content that was not inspected and could still carry code. */
const NOT_INSPECTED_REFS = [REF.supplyChain, REF.unsafeArtifact, REF.owaspSupplyChain, REF.nistManage];

const LIMIT_REFS = [REF.resourceExhaustion, REF.allocationWithoutLimits, REF.nistMeasure];

const BOMB_REFS = [REF.dataAmplification, REF.resourceExhaustion, REF.nistMeasure];

/**
 * Rules for compressed streams (`compression.…`: LZMA, LZMA2, LZMA-alone and
 * the BCJ/delta filters) and 7-Zip archives (`sevenzip.…`). Findings about
 * the archive's headers carry file offsets; findings about a member's bytes
 * carry `location.entry` (the member path) and offsets inside the member.
 */
export const ARCHIVE_RULES = {
  'compression.corrupt': {
    severity: 'high',
    effect: 'malformed',
    title: 'Compressed stream is corrupt',
    explanation:
      'The compressed bytes break the rules of their format part way, so decoding stopped there. A loader fails at the same point; the bytes decoded before it were inspected, the rest was not.',
    references: MALFORMED_REFS,
  },
  'compression.truncated': {
    severity: 'high',
    effect: 'malformed',
    title: 'Compressed stream is cut short',
    explanation:
      'The compressed data ends before its stream does (no end marker, or fewer bytes than declared). Loaders fail on it; what was decoded before the end was inspected.',
    references: MALFORMED_REFS,
  },
  'compression.properties-invalid': {
    severity: 'high',
    effect: 'malformed',
    title: 'Compression parameters are invalid',
    explanation:
      'The stream header declares parameters no encoder writes (LZMA literal/position bits out of range, an unknown LZMA2 dictionary code, a bad delta distance). Decoders refuse it; nothing in it was inspected.',
    references: MALFORMED_REFS,
  },
  'compression.dictionary-too-large': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Compressed stream needs more memory than Preflight allows',
    explanation:
      'The stream declares a dictionary (history window) larger than Preflight allocates. Real encoders use 64 MiB at most by default; a huge declared dictionary is a classic way to exhaust a scanner\'s memory. The stream was not decoded, so its content was not inspected: a loader with more memory would still read it.',
    references: [...LIMIT_REFS, ...NOT_INSPECTED_REFS],
  },
  'compression.limit': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Decompression stopped at the size limit',
    explanation:
      'The stream decodes to more bytes than Preflight will decode, so decoding stopped at the limit and the rest was not inspected. A loader would decode all of it: this is either a very large member or a decompression bomb that exhausts memory or disk.',
    references: BOMB_REFS,
  },
  'compression.size-mismatch': {
    severity: 'medium',
    effect: 'malformed',
    title: 'Decompressed size differs from the declared size',
    explanation:
      'The stream decodes to a different length than its container declares. Readers disagree on what to do (cut, fail, or read on), so what one tool inspects may not be what a loader uses.',
    references: PARSER_DIFFERENTIAL_REFS,
  },
  'compression.trailing-data': {
    severity: 'low',
    effect: 'suspicious',
    title: 'Bytes after the end of the compressed stream',
    explanation:
      'The file goes on after its compressed stream ends, with bytes that are not another stream. Python\'s lzma module ignores them; another reader, or a polyglot trick, may not. They were not inspected as content.',
    references: PARSER_DIFFERENTIAL_REFS,
  },
  'sevenzip.version.unsupported': {
    severity: 'high',
    effect: 'malformed',
    title: '7-Zip archive has an unknown format version',
    explanation:
      'The archive declares a major version 7-Zip does not read (only 0 exists). 7-Zip refuses it; Preflight did not inspect its contents.',
    references: MALFORMED_REFS,
  },
  'sevenzip.header.empty-start': {
    severity: 'high',
    effect: 'suspicious',
    title: '7-Zip start header is empty but the file is not',
    explanation:
      'The start header is all zeros, as an interrupted 7-Zip write leaves it, yet the file holds more bytes. 7-Zip then searches the end of the file for a directory and extracts the members it finds, while readers that trust the start header see an empty archive. Preflight did not inspect those bytes.',
    references: [...PARSER_DIFFERENTIAL_REFS, ...NOT_INSPECTED_REFS],
  },
  'sevenzip.trailing-data': {
    severity: 'low',
    effect: 'suspicious',
    title: 'Bytes after the end of the 7-Zip archive',
    explanation:
      'The file goes on after the archive directory. 7-Zip ignores these bytes (with a warning), but they can hold a second archive or another format (a polyglot) that a different tool reads. They were not inspected as archive content.',
    references: PARSER_DIFFERENTIAL_REFS,
  },
  'sevenzip.header.crc-mismatch': {
    severity: 'high',
    effect: 'malformed',
    title: '7-Zip header checksum does not match',
    explanation:
      'The CRC-32 recorded for the start header or the archive directory is not that of its bytes. 7-Zip reports the archive as damaged; the directory was read anyway so its members could be inspected, but tools may disagree on what it holds.',
    references: PARSER_DIFFERENTIAL_REFS,
  },
  'sevenzip.header.out-of-bounds': {
    severity: 'high',
    effect: 'malformed',
    title: '7-Zip directory or data lies outside the file',
    explanation:
      'The start header or the directory points at bytes past the end of the file (a truncated download, or a crafted offset). 7-Zip cannot open it; the members it describes were not inspected.',
    references: MALFORMED_REFS,
  },
  'sevenzip.header.truncated': {
    severity: 'high',
    effect: 'malformed',
    title: '7-Zip directory is cut short',
    explanation:
      'A record of the archive directory runs past the end of the directory. 7-Zip refuses the archive; members it would have listed were not inspected.',
    references: MALFORMED_REFS,
  },
  'sevenzip.header.invalid': {
    severity: 'high',
    effect: 'malformed',
    title: '7-Zip directory is invalid',
    explanation:
      'The archive directory breaks the format (unknown or misplaced records, counts that disagree, impossible coder graphs). 7-Zip refuses it; the members it would have listed were not inspected.',
    references: MALFORMED_REFS,
  },
  'sevenzip.header.too-large': {
    severity: 'medium',
    effect: 'suspicious',
    title: '7-Zip directory is larger than Preflight reads',
    explanation:
      'The archive directory (or its compressed form) is larger than the limit Preflight reads; real directories take about a hundred bytes per member. Its members were not inspected.',
    references: [...LIMIT_REFS, ...NOT_INSPECTED_REFS],
  },
  'sevenzip.header.nested-encoding': {
    severity: 'high',
    effect: 'malformed',
    title: '7-Zip directory is compressed more than once',
    explanation:
      'The decoded archive directory is itself another compressed directory. 7-Zip accepts one level only; repeating it serves only to multiply a scanner\'s work. The members were not inspected.',
    references: [REF.uncontrolledRecursion, ...MALFORMED_REFS],
  },
  'sevenzip.header.limit': {
    severity: 'medium',
    effect: 'suspicious',
    title: '7-Zip directory lists more items than Preflight inspects',
    explanation:
      'The directory declares more members, folders, streams or coders than Preflight reads; real model archives have a few thousand members at most. The archive was not inspected.',
    references: [...LIMIT_REFS, ...NOT_INSPECTED_REFS],
  },
  'sevenzip.coder.unsupported': {
    severity: 'high',
    effect: 'suspicious',
    title: '7-Zip members use a method Preflight cannot decode',
    explanation:
      'These members are compressed or encrypted with a method Preflight does not decode (PPMd, BZip2, Deflate, AES, BCJ2, ARM filters, …), so their content was not inspected. 7-Zip and py7zr decode them, and a model extracted from them loads normally: treat them as unvetted.',
    references: NOT_INSPECTED_REFS,
  },
  'sevenzip.pack.out-of-bounds': {
    severity: 'high',
    effect: 'malformed',
    title: '7-Zip packed data lies outside the file',
    explanation:
      'A packed stream starts or ends past the end of the file. 7-Zip fails on the members stored there; only the bytes that exist were decoded.',
    references: MALFORMED_REFS,
  },
  'sevenzip.member.crc-mismatch': {
    severity: 'high',
    effect: 'suspicious',
    title: '7-Zip member CRC-32 does not match its bytes',
    explanation:
      'The checksum recorded for the member is not that of its decoded bytes. 7-Zip reports a CRC error but still writes the file, so the member reaches the loader; tools that stop on the error never inspect it.',
    references: [...PARSER_DIFFERENTIAL_REFS, REF.deserialization],
  },
  'sevenzip.member.too-large': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Only the start of a large 7-Zip member was inspected',
    explanation:
      'The member is larger than the part Preflight keeps in memory to inspect, so only its first bytes went through the format inspectors; the rest was decoded and checksummed but not inspected. A loader reads all of it.',
    references: [...LIMIT_REFS, ...NOT_INSPECTED_REFS],
  },
  'sevenzip.member.not-inspected': {
    severity: 'high',
    effect: 'suspicious',
    title: '7-Zip member was not inspected',
    explanation:
      'Decoding stopped before this member (a decoding error, the archive-wide size limit, or nesting too deep), so its content was not inspected. Extracted with 7-Zip, it loads normally: treat it as unvetted.',
    references: NOT_INSPECTED_REFS,
  },
  'sevenzip.member.path-traversal': {
    severity: 'medium',
    effect: 'suspicious',
    title: '7-Zip member name escapes the extraction folder',
    explanation:
      'The name is absolute, has a drive letter, or climbs with "..". A tool that extracts this archive naively writes outside its target folder, for example over a Python file that runs later.',
    references: [REF.pathTraversal, REF.supplyChain, REF.owaspSupplyChain],
  },
  'sevenzip.member.name-unusual': {
    severity: 'low',
    effect: 'suspicious',
    title: '7-Zip member name has unusual characters',
    explanation:
      'The name holds backslashes, control characters or a NUL character. Tools cut, translate or reject such names differently, so they disagree on which file this is.',
    references: PARSER_DIFFERENTIAL_REFS,
  },
  'sevenzip.member.duplicate-name': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Two 7-Zip members have the same name',
    explanation:
      'Extracting the archive writes the same path twice, so which copy a loader sees depends on the tool and its overwrite mode. Both copies were inspected.',
    references: [...PARSER_DIFFERENTIAL_REFS, REF.deserialization],
  },
  'sevenzip.member.symlink': {
    severity: 'medium',
    effect: 'suspicious',
    title: '7-Zip member is a symbolic link',
    explanation:
      'The member is stored as a symbolic link (Unix mode or Windows reparse point). Extracted by a tool that honours it, later writes or reads follow the link outside the extraction folder.',
    references: [REF.pathTraversal, REF.supplyChain],
  },
  'sevenzip.member.anti': {
    severity: 'low',
    effect: 'suspicious',
    title: '7-Zip archive deletes a file on extraction',
    explanation:
      'The member is an "anti-item": extracting the archive with 7-Zip deletes this path instead of writing it. It is used for update archives; in a model download it only serves to tamper with files already there.',
    references: [REF.supplyChain, REF.owaspSupplyChain],
  },
} satisfies RuleCatalog;
