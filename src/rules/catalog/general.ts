import { MALFORMED_REFS, REF } from '../references.ts';
import type { RuleCatalog } from '../rule.ts';

/** Rules that apply to any file, whatever its format. */
export const GENERAL_RULES = {
  'format.unsupported': {
    severity: 'info',
    effect: 'none',
    title: 'Format not recognised',
    explanation:
      'Preflight does not recognise this content, so it only hashed it. It is not a model format Preflight knows; check it by other means before giving it to a loader.',
    references: [REF.supplyChain],
  },
  'format.identified-only': {
    severity: 'info',
    effect: 'none',
    title: 'Format identified, contents not inspected',
    explanation:
      'Preflight recognised this model format by its bytes and hashed it, but does not read its contents. The format runs no code on load by itself; check it with its own tools before use.',
    references: [REF.supplyChain],
  },
  'format.not-inspected': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Model format identified but not inspected',
    explanation:
      'This is a model format that can carry code, and Preflight identified it without inspecting its contents. Treat it as unvetted: do not load it until it has been inspected.',
    references: [REF.supplyChain, REF.unsafeArtifact, REF.owaspSupplyChain, REF.nistManage],
  },
  'format.extension-mismatch': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'File name does not match its content',
    explanation:
      'The extension promises one format but the bytes are another. Loaders that dispatch on content will read it as what it really is; this is a common way to smuggle a pickle past name-based checks.',
    references: [REF.supplyChain, REF.owaspSupplyChain, REF.nistMeasure],
  },
  'scan.read-error': {
    severity: 'high',
    effect: 'malformed',
    title: 'File could not be read',
    explanation: 'Reading the file failed part way, so the scan is incomplete.',
    references: MALFORMED_REFS,
  },
  'scan.internal-error': {
    severity: 'high',
    effect: 'malformed',
    title: 'Inspection stopped on an unexpected error',
    explanation:
      'The inspector met input it could not handle and stopped; the parts reported before the error are valid, the rest was not inspected.',
    references: MALFORMED_REFS,
  },
  'scan.cancelled': {
    severity: 'info',
    effect: 'none',
    title: 'Scan cancelled',
    explanation: 'The streaming pass was cancelled before the end of the file; the hash and the deep scan are incomplete.',
    references: [],
  },
} satisfies RuleCatalog;
