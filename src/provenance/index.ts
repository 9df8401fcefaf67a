/**
 * Provenance: expected SHA-256s from several kinds of source, compared with
 * what was scanned. Browser-safe (no Node imports); the CLI's file loader is
 * in node-expectation-files.ts.
 *
 *   const sets = [parseExpectations('SHA256SUMS', text), parseExpectations('model.sig', bundle)];
 *   const provenance = compareProvenance(report.files, sets);
 */
export { compareProvenance, provenanceFails } from './compare.ts';
export { parseExpectations } from './parse-expectations.ts';
export { formatProvenanceText } from './text.ts';
export { UNVERIFIED_REASON } from './sigstore-bundle.ts';
export * from './limits.ts';
export type * from './types.ts';
export { EXPECTATION_KINDS } from './types.ts';
