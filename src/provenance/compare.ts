import { isPathSuffix, pathComponents } from './paths.ts';
import type {
  ExpectationSet,
  ExpectedFile,
  ProvenanceClaim,
  ProvenanceConflict,
  ProvenanceFileResult,
  ProvenanceReport,
  ProvenanceStatus,
  ProvenanceUnmatched,
  ScannedFile,
} from './types.ts';

interface IndexedFile {
  file: ScannedFile;
  components: string[];
  sha256: string | null;
}

/**
 * Compares every scanned file with every expectation source.
 *
 * Matching: a listed path fits a scanned path when its components are the
 * scanned path's last components (`model.safetensors` and `./model.safetensors`
 * fit `my-model/model.safetensors`). Within one source, a scanned file answers
 * to its longest fitting entries only (`sub/x.bin` wins over `x.bin` for
 * `m/sub/x.bin`). When one entry fits several scanned files, the ones with its
 * hash take it; if none has it, it is compared with each (all differ). A hash
 * with no path (pasted) applies to the only scanned file, or else to the
 * scanned files that have it.
 *
 * Each file is `matches` when every claim agrees, `differs` when any claim
 * disagrees (hash, or size when the source gives one), `not-hashed` when its
 * hash was not computed, `not-listed` without claims. Entries no scanned file
 * answers to are listed, and claims that disagree with each other are conflicts.
 */
export function compareProvenance(files: ScannedFile[], sets: ExpectationSet[]): ProvenanceReport {
  const indexed: IndexedFile[] = files.map((file) => ({ file, components: pathComponents(file.path), sha256: file.sha256?.toLowerCase() ?? null }));
  const byBaseName = indexByBaseName(indexed);
  const claims: ProvenanceClaim[][] = files.map(() => []);
  const listedNotScanned: ProvenanceUnmatched[] = [];
  const notes: string[] = [];

  for (const set of sets) {
    const bind = (entry: ExpectedFile, fileIndex: number) => claims[fileIndex].push(claimFor(set, entry, indexed[fileIndex]));
    const unmatched = (entry: ExpectedFile, missing: ProvenanceUnmatched['missing']) =>
      listedNotScanned.push({ source: set.name, kind: set.kind, listedPath: entry.path, ...lineAndSize(entry), sha256: entry.sha256, missing });

    for (const [entry, candidates] of candidatesByEntry(set.entries, indexed, byBaseName)) {
      if (candidates.length === 0) unmatched(entry, 'path');
      else if (candidates.length === 1) bind(entry, candidates[0]);
      else {
        const sameHash = candidates.filter((index) => indexed[index].sha256 === entry.sha256);
        const chosen = sameHash.length > 0 ? sameHash : candidates;
        for (const index of chosen) bind(entry, index);
        notes.push(describeSeveral(set.name, entry, candidates.length, sameHash.map((index) => indexed[index].file.path)));
      }
    }
    for (const entry of set.entries) {
      if (entry.path !== null) continue;
      if (indexed.length === 1) bind(entry, 0);
      else {
        const sameHash = indexed.flatMap((file, index) => (file.sha256 === entry.sha256 ? [index] : []));
        if (sameHash.length === 0) unmatched(entry, 'sha256');
        for (const index of sameHash) bind(entry, index);
      }
    }
  }

  const results: ProvenanceFileResult[] = indexed.map(({ file, sha256 }, index) => ({
    path: file.path,
    size: file.size,
    sha256,
    status: statusOf(claims[index]),
    claims: claims[index],
  }));
  const conflicts = [...conflictsOfScanned(results), ...conflictsOfUnscanned(listedNotScanned)];
  return {
    sources: sets.map((set) => ({
      name: set.name,
      kind: set.kind,
      entries: set.entries.length,
      problems: set.problems,
      notes: set.notes,
      ...(set.signature ? { signature: set.signature } : {}),
    })),
    files: results,
    listedNotScanned,
    conflicts,
    notes,
    counts: {
      matches: results.filter((result) => result.status === 'matches').length,
      differs: results.filter((result) => result.status === 'differs').length,
      notListed: results.filter((result) => result.status === 'not-listed').length,
      notHashed: results.filter((result) => result.status === 'not-hashed').length,
      listedNotScanned: listedNotScanned.length,
      conflicts: conflicts.length,
    },
  };
}

/**
 * True when the comparison should fail a pipeline: a scanned file differs from
 * what a source lists, or a pasted hash (no path) matches no scanned file.
 */
export function provenanceFails(report: ProvenanceReport): boolean {
  return report.counts.differs > 0 || report.listedNotScanned.some((entry) => entry.missing === 'sha256');
}

function indexByBaseName(indexed: IndexedFile[]): Map<string, number[]> {
  const map = new Map<string, number[]>();
  indexed.forEach(({ components }, index) => {
    const base = components[components.length - 1];
    if (base === undefined) return;
    const list = map.get(base);
    if (list) list.push(index);
    else map.set(base, [index]);
  });
  return map;
}

/** Each entry with a path, and the scanned files it fits after the longest-entry-wins rule, within one source. */
function candidatesByEntry(entries: ExpectedFile[], indexed: IndexedFile[], byBaseName: Map<string, number[]>): [ExpectedFile, number[]][] {
  const fits: { entry: ExpectedFile; length: number; files: number[] }[] = [];
  const longestForFile = new Map<number, number>();
  for (const entry of entries) {
    if (entry.path === null) continue;
    const components = pathComponents(entry.path);
    const files = (byBaseName.get(components[components.length - 1] ?? '') ?? []).filter((index) =>
      isPathSuffix(components, indexed[index].components),
    );
    for (const index of files) longestForFile.set(index, Math.max(longestForFile.get(index) ?? 0, components.length));
    fits.push({ entry, length: components.length, files });
  }
  return fits.map(({ entry, length, files }) => [entry, files.filter((index) => longestForFile.get(index) === length)]);
}

function claimFor(set: ExpectationSet, entry: ExpectedFile, scanned: IndexedFile): ProvenanceClaim {
  const sizeDiffers = entry.size !== undefined && entry.size !== scanned.file.size;
  const hashDiffers = scanned.sha256 !== null && scanned.sha256 !== entry.sha256;
  const claim: ProvenanceClaim = {
    source: set.name,
    kind: set.kind,
    listedPath: entry.path,
    ...lineAndSize(entry),
    sha256: entry.sha256,
    agrees: hashDiffers || sizeDiffers ? false : scanned.sha256 === null ? null : true,
  };
  if (hashDiffers) claim.mismatch = 'sha256';
  else if (sizeDiffers) claim.mismatch = 'size';
  return claim;
}

function lineAndSize(entry: ExpectedFile): { line?: number; size?: number } {
  return { ...(entry.line !== undefined ? { line: entry.line } : {}), ...(entry.size !== undefined ? { size: entry.size } : {}) };
}

function statusOf(claims: ProvenanceClaim[]): ProvenanceStatus {
  if (claims.length === 0) return 'not-listed';
  if (claims.some((claim) => claim.agrees === false)) return 'differs';
  if (claims.some((claim) => claim.agrees === null)) return 'not-hashed';
  return 'matches';
}

function conflictsOfScanned(results: ProvenanceFileResult[]): ProvenanceConflict[] {
  return results.flatMap((result) =>
    new Set(result.claims.map((claim) => claim.sha256)).size > 1 ? [{ path: result.path, claims: result.claims.map(conflictClaim) }] : [],
  );
}

function conflictsOfUnscanned(unmatched: ProvenanceUnmatched[]): ProvenanceConflict[] {
  const byPath = new Map<string, ProvenanceUnmatched[]>();
  for (const entry of unmatched) {
    if (entry.listedPath === null) continue;
    const list = byPath.get(entry.listedPath);
    if (list) list.push(entry);
    else byPath.set(entry.listedPath, [entry]);
  }
  return [...byPath]
    .filter(([, entries]) => new Set(entries.map((entry) => entry.sha256)).size > 1)
    .map(([path, entries]) => ({ path, claims: entries.map(conflictClaim) }));
}

function conflictClaim(claim: { source: string; listedPath: string | null; line?: number; sha256: string }): ProvenanceConflict['claims'][number] {
  return { source: claim.source, listedPath: claim.listedPath, ...(claim.line !== undefined ? { line: claim.line } : {}), sha256: claim.sha256 };
}

function describeSeveral(source: string, entry: ExpectedFile, count: number, matching: string[]): string {
  const where = `${source}${entry.line !== undefined ? ` line ${entry.line}` : ''}`;
  if (matching.length === 0) return `${where} lists ${entry.path}, which fits ${count} scanned files; none has its hash, so it was compared with each`;
  return `${where} lists ${entry.path}, which fits ${count} scanned files; it was compared with the one(s) that have its hash (${matching.join(', ')}) only`;
}
