import { MALFORMED_REFS, REF } from '../references.ts';
import type { RuleCatalog } from '../rule.ts';

/** CWE-409: Improper Handling of Highly Compressed Data (Data Amplification). */
const DATA_AMPLIFICATION = 'CWE-409';

/** A container whose readers disagree: one tool sees what another does not. */
const PARSER_DIFFERENTIAL_REFS = [REF.improperInput, REF.supplyChain, REF.owaspSupplyChain, REF.nistMeasure];

const BOMB_REFS = [DATA_AMPLIFICATION, REF.resourceExhaustion, REF.nistMeasure];

/**
 * Rules for containers (zip and, later, tar/7z/compressed wrappers).
 * `container.…` ids are generic decompression rules; `zip.…` ids are zip
 * structure. Zip findings about headers carry file offsets; findings about an
 * entry's decoded bytes carry `location.entry` and offsets inside the entry.
 */
export const CONTAINER_RULES = {
  'container.inflate.corrupt': {
    severity: 'high',
    effect: 'malformed',
    title: 'Compressed data is corrupt',
    explanation:
      'The compressed bytes cannot be decoded to the end. A loader fails at the same point, or, if it is more lenient, sees bytes Preflight could not inspect.',
    references: MALFORMED_REFS,
  },
  'container.inflate.limit': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Decompression stopped at the size limit',
    explanation:
      'The member declares more decompressed bytes than Preflight will decode, so decoding stopped at the limit and the rest was not inspected. A loader would decode all of it: this is either a very large member or a decompression bomb that exhausts memory or disk.',
    references: BOMB_REFS,
  },
  'container.inflate.size-mismatch': {
    severity: 'medium',
    effect: 'malformed',
    title: 'Decompressed size differs from the declared size',
    explanation:
      'The compressed stream decodes to a different length than the container declares. Readers disagree on what to do (cut, fail, or read on), so what one tool inspects may not be what a loader uses.',
    references: PARSER_DIFFERENTIAL_REFS,
  },
  'container.inflate.seek-limit': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Part of a compressed member was not inspected',
    explanation:
      'Reading this part of a compressed member would need too many bytes decoded first, so Preflight skipped it. The skipped bytes are loaded normally by a loader.',
    references: [REF.resourceExhaustion, REF.nistMeasure],
  },
  'zip.eocd.missing': {
    severity: 'high',
    effect: 'malformed',
    title: 'Zip has no end of central directory',
    explanation:
      'The record that indexes a zip is missing, so PyTorch and Python refuse the file. Preflight walked the local headers from the start to inspect what the archive holds anyway; a tool that streams zips this way would see these members.',
    references: MALFORMED_REFS,
  },
  'zip.eocd.invalid': {
    severity: 'medium',
    effect: 'malformed',
    title: 'Zip end record is inconsistent',
    explanation:
      'The end of central directory record contradicts itself or the file (multi-disk fields, entry counts, directory size). Zip readers resolve such contradictions differently.',
    references: PARSER_DIFFERENTIAL_REFS,
  },
  'zip.eocd.trailing-data': {
    severity: 'low',
    effect: 'suspicious',
    title: 'Bytes after the end of the zip',
    explanation:
      'The file continues after the zip end record and its comment. Zip readers ignore these bytes, but another reader (or a polyglot trick) may use them; they were not inspected as zip content.',
    references: PARSER_DIFFERENTIAL_REFS,
  },
  'zip.zip64.invalid': {
    severity: 'medium',
    effect: 'malformed',
    title: 'Invalid ZIP64 record',
    explanation:
      'A ZIP64 locator, end record or extra field is missing, truncated or points outside the file. Readers fall back differently, so they may disagree on sizes and offsets.',
    references: PARSER_DIFFERENTIAL_REFS,
  },
  'zip.central-directory.out-of-bounds': {
    severity: 'high',
    effect: 'malformed',
    title: 'Zip central directory lies outside the file',
    explanation:
      'The end record points the central directory outside the file. PyTorch and Python refuse to open it; Preflight inspected whatever it could still find.',
    references: MALFORMED_REFS,
  },
  'zip.central-directory.truncated': {
    severity: 'high',
    effect: 'malformed',
    title: 'Zip central directory is truncated or damaged',
    explanation:
      'An entry record of the central directory is cut or has no signature. Readers stop or fail here; entries after it were not seen.',
    references: MALFORMED_REFS,
  },
  'zip.central-directory.count-mismatch': {
    severity: 'medium',
    effect: 'malformed',
    title: 'Zip entry count disagrees with the directory',
    explanation:
      'The end record declares a different number of entries than the central directory holds. PyTorch (miniz) trusts the count, Python walks the directory: they see different members.',
    references: PARSER_DIFFERENTIAL_REFS,
  },
  'zip.central-directory.misplaced': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Zip central directory is not where the end record says',
    explanation:
      'The central directory does not end where the end record begins. Python shifts every offset by the difference (to allow prepended data) while PyTorch does not, so the two can read different bytes for the same member.',
    references: PARSER_DIFFERENTIAL_REFS,
  },
  'zip.entries.too-many': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Too many zip entries to inspect',
    explanation:
      'The archive has more entries than Preflight inspects; the rest were not looked at. A loader reads them all.',
    references: [REF.resourceExhaustion, REF.allocationWithoutLimits, REF.nistMeasure],
  },
  'zip.prefix-data': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Bytes before the first zip entry',
    explanation:
      'The file starts with bytes that belong to no zip entry. This is how polyglot files are made (a pickle or script that is also a zip): another tool may read the prefix as a file of its own.',
    references: PARSER_DIFFERENTIAL_REFS,
  },
  'zip.unreferenced-bytes': {
    severity: 'low',
    effect: 'suspicious',
    title: 'Bytes between zip entries belong to no entry',
    explanation:
      'Part of the archive is not covered by any entry. Readers that walk local headers (streaming unzippers) may find hidden members there that the central directory does not list.',
    references: PARSER_DIFFERENTIAL_REFS,
  },
  'zip.local-walk.stopped': {
    severity: 'medium',
    effect: 'malformed',
    title: 'Walking the zip local headers stopped early',
    explanation:
      'Without a central directory the entries are found by walking local headers, and an entry here hides its length (data descriptor without a findable end). Entries after it were not inspected.',
    references: MALFORMED_REFS,
  },
  'zip.entry.name-mismatch': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Zip entry has two different names',
    explanation:
      'The local header names this entry differently from the central directory. PyTorch looks members up by the central name and ignores the local one, while Python\'s zipfile refuses the entry, so scanners built on it skip a member that torch.load still runs (CVE-2025-1944).',
    references: [...PARSER_DIFFERENTIAL_REFS, REF.deserialization],
  },
  'zip.entry.header-mismatch': {
    severity: 'low',
    effect: 'suspicious',
    title: 'Zip local header disagrees with the central directory',
    explanation:
      'The local header gives another method, CRC, size or flag than the central directory. PyTorch uses the central values; streaming readers use the local ones, so they can decode different bytes.',
    references: PARSER_DIFFERENTIAL_REFS,
  },
  'zip.entry.local-header-invalid': {
    severity: 'high',
    effect: 'malformed',
    title: 'Zip entry has no valid local header',
    explanation:
      'The central directory points at bytes that are not a local header. PyTorch fails to read this member; Preflight could not locate its data.',
    references: MALFORMED_REFS,
  },
  'zip.entry.encrypted': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Zip entry is flagged as encrypted',
    explanation:
      'The entry sets an encryption flag (bit 0 or 6). Python\'s zipfile then asks for a password or refuses, so scanners built on it skip the member, while a reader that ignores the flag loads it (CVE-2025-1945). Preflight read the bytes as they are.',
    references: [...PARSER_DIFFERENTIAL_REFS, REF.deserialization],
  },
  'zip.entry.patch-data': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Zip entry is flagged as patch data',
    explanation:
      'The entry sets flag bit 5 (compressed patched data). Python\'s zipfile refuses such entries, so scanners built on it skip the member, while a reader that ignores the flag loads it (CVE-2025-1945). Preflight read the bytes as they are.',
    references: [...PARSER_DIFFERENTIAL_REFS, REF.deserialization],
  },
  'zip.entry.crc-mismatch': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Zip entry CRC-32 does not match its bytes',
    explanation:
      'The checksum recorded for the entry is not that of its bytes. PyTorch does not check it (miniz is built without CRC checks) and loads the member, while Python\'s zipfile raises, so scanners built on it miss the member (CVE-2025-10156).',
    references: [...PARSER_DIFFERENTIAL_REFS, REF.deserialization],
  },
  'zip.entry.data-descriptor': {
    severity: 'info',
    effect: 'none',
    title: 'Zip entry uses a data descriptor',
    explanation:
      'The entry\'s sizes and CRC follow its data instead of preceding it (flag bit 3), as streaming writers do. Preflight used the central directory values.',
    references: [],
  },
  'zip.entry.overlap': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Zip entries overlap',
    explanation:
      'Two entries, or an entry and the central directory, share bytes. Overlapping entries are how non-recursive zip bombs multiply their output, and how one archive shows different content to different readers.',
    references: [...BOMB_REFS, ...PARSER_DIFFERENTIAL_REFS],
  },
  'zip.entry.out-of-bounds': {
    severity: 'high',
    effect: 'malformed',
    title: 'Zip entry lies outside the file',
    explanation:
      'The entry\'s header or data extends past the end of the file. PyTorch refuses it; only the bytes that exist were inspected.',
    references: MALFORMED_REFS,
  },
  'zip.entry.sizes-invalid': {
    severity: 'medium',
    effect: 'malformed',
    title: 'Zip entry sizes are impossible',
    explanation:
      'A stored entry whose compressed and uncompressed sizes differ, or a non-empty entry with no compressed bytes. PyTorch (miniz) refuses it; other readers cut or pad, so they disagree on its content.',
    references: PARSER_DIFFERENTIAL_REFS,
  },
  'zip.entry.path-traversal': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Zip entry name escapes the extraction folder',
    explanation:
      'The name is absolute, has a drive letter, or climbs with "..". A tool that extracts this archive naively writes outside its target folder, for example over a Python file that runs later.',
    references: [REF.pathTraversal, REF.supplyChain, REF.owaspSupplyChain],
  },
  'zip.entry.name-unusual': {
    severity: 'low',
    effect: 'suspicious',
    title: 'Zip entry name has unusual characters',
    explanation:
      'The name holds backslashes, control characters or a NUL byte. Python cuts names at NUL and Windows tools treat backslashes as folders, so readers disagree on which member this is.',
    references: PARSER_DIFFERENTIAL_REFS,
  },
  'zip.entry.name-too-long': {
    severity: 'low',
    effect: 'suspicious',
    title: 'Zip entry name is too long',
    explanation: 'The name is longer than any file system accepts; it is shown cut. Such names only serve to confuse tools and reports.',
    references: [REF.improperInput],
  },
  'zip.entry.symlink': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Zip entry is a symbolic link',
    explanation:
      'The entry is marked as a Unix symbolic link. Extracted by a tool that honours it, later writes or reads follow the link outside the extraction folder.',
    references: [REF.pathTraversal, REF.supplyChain],
  },
  'zip.entry.duplicate-name': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Two zip entries have the same name',
    explanation:
      'Readers pick different copies of a duplicated name (Python takes the last, others the first), so a scanner can inspect a harmless copy while the loader runs the other.',
    references: [...PARSER_DIFFERENTIAL_REFS, REF.deserialization],
  },
  'zip.entry.unsupported-method': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Zip entry uses a compression method Preflight cannot read',
    explanation:
      'Only stored and deflated entries are decoded. This member was not inspected; Python\'s zipfile reads bzip2 and LZMA members, so NumPy or Keras could still load it.',
    references: [REF.supplyChain, REF.nistMeasure],
  },
  'zip.entry.decompression-bomb': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Zip entry looks like a decompression bomb',
    explanation:
      'The entry declares far more decompressed bytes than it stores. Loading it can exhaust memory or disk; Preflight decodes at most a bounded number of bytes.',
    references: BOMB_REFS,
  },
} satisfies RuleCatalog;
