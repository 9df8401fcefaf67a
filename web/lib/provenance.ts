import type { ExpectationKind, ProvenanceClaim, ProvenanceCounts } from '../../src/provenance/index.ts';
import { formatInteger } from './format.ts';

/** How each kind of source is named on the page. */
export const EXPECTATION_KIND_LABELS: Record<ExpectationKind, string> = {
  sha256: 'pasted SHA-256',
  sha256sums: 'SHA256SUMS listing',
  'git-lfs-pointer': 'Git LFS pointer',
  'huggingface-listing': 'Hugging Face file listing',
  'model-signing-bundle': 'model-signing bundle',
  'in-toto-statement': 'in-toto statement',
  unrecognised: 'not recognised',
};

/** `SHA256SUMS line 3`, `model.sig`: where a claim was read. */
export function claimSource(claim: { source: string; line?: number }): string {
  return claim.line !== undefined ? `${claim.source} line ${claim.line}` : claim.source;
}

/** `matches 1 · differs 1 · listed but not scanned 3`: the non-zero counts. */
export function describeProvenanceCounts(counts: ProvenanceCounts): string {
  const parts: [string, number][] = [
    ['matches', counts.matches],
    ['differs', counts.differs],
    ['not listed', counts.notListed],
    ['not hashed yet', counts.notHashed],
    ['listed but not scanned', counts.listedNotScanned],
    ['conflicts', counts.conflicts],
  ];
  const shown = parts.filter(([, count]) => count > 0).map(([label, count]) => `${label} ${formatInteger(count)}`);
  return shown.length > 0 ? shown.join(' · ') : 'nothing compared yet';
}
