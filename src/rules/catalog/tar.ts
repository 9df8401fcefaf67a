import { MALFORMED_REFS, REF } from '../references.ts';
import type { RuleCatalog } from '../rule.ts';

/** Readers that disagree on what a tar holds: one sees what another does not. */
const PARSER_DIFFERENTIAL_REFS = [REF.improperInput, REF.supplyChain, REF.owaspSupplyChain, REF.nistMeasure];

/**
 * Rules for tar archives (src/containers/tar.ts); ids start with `tar.`.
 * Offsets are those of the member's header in the file.
 */
export const TAR_RULES = {
  'tar.header.invalid': {
    severity: 'high',
    effect: 'malformed',
    title: 'Tar header is invalid',
    explanation:
      'A tar header has a wrong checksum or a size that is not a number. Python\'s tarfile stops reading at such a header (or refuses the file), so members after it are not loaded; other readers may go on and see more.',
    references: MALFORMED_REFS,
  },
  'tar.truncated': {
    severity: 'high',
    effect: 'malformed',
    title: 'Tar archive is truncated',
    explanation: 'A member header or its data runs past the end of the file. Extraction fails part way; what was extracted before stays on disk.',
    references: MALFORMED_REFS,
  },
  'tar.member.traversal': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Tar member path leaves the extraction folder',
    explanation:
      'The member name is absolute or climbs out with "..". Extracting the archive with tools that do not filter names (Python\'s tarfile before the 3.12 filters, CVE-2007-4559) writes this file outside the target folder: over a shell profile, a .pth file or another model.',
    references: [REF.pathTraversal, REF.supplyChain, REF.owaspSupplyChain, REF.nistMeasure],
  },
  'tar.member.link': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Tar member is a link',
    explanation:
      'The member is a symbolic or hard link. Extracting it creates a link to a path the archive chooses; a loader that then opens the member by name (legacy torch.load extracts "storages" and reads it) reads whatever the link points to, such as a private file, or writes through it.',
    references: [REF.pathTraversal, REF.supplyChain, REF.owaspSupplyChain, REF.nistMeasure],
  },
  'tar.member.duplicate': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Two tar members have the same name',
    explanation:
      'Python\'s tarfile returns the last member of a name, other tools the first: a scanner and a loader can read different bytes under the same name.',
    references: PARSER_DIFFERENTIAL_REFS,
  },
  'tar.limit': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Tar archive not fully listed',
    explanation:
      'The archive has more members, or longer extended headers, than Preflight reads; the rest was not inspected. A loader reads all of it.',
    references: [REF.resourceExhaustion, REF.allocationWithoutLimits, REF.nistMeasure],
  },
} satisfies RuleCatalog;
