/**
 * Provenance: what the publisher says the files are (hashes from a pasted
 * SHA-256, a SHA256SUMS file, a Git LFS pointer, a Hugging Face file listing or
 * a model-signing bundle), compared with what was scanned. Every type here is
 * plain JSON: it goes into the Report, crosses the worker boundary and feeds
 * the exporters as is. Strings read from expectation files are untrusted data.
 */

/** What an expectation file was recognised as, from its content. */
export const EXPECTATION_KINDS = [
  'sha256',
  'sha256sums',
  'git-lfs-pointer',
  'huggingface-listing',
  'model-signing-bundle',
  'in-toto-statement',
  'unrecognised',
] as const;
export type ExpectationKind = (typeof EXPECTATION_KINDS)[number];

/** One file the source vouches for. */
export interface ExpectedFile {
  /**
   * The path as the source lists it, with `\` turned into `/` and leading `./`
   * removed; null when the source names no file (a pasted hash).
   */
  path: string | null;
  /** Lower-case hex SHA-256. */
  sha256: string;
  /** Size in bytes, when the source gives one (Git LFS pointer, Hugging Face listing). */
  size?: number;
  /** 1-based line in the source, for line-based sources. */
  line?: number;
}

/** Something in a source that could not be used, with its line when the source has lines. */
export interface ProvenanceProblem {
  line?: number;
  message: string;
}

export type SignerNameKind = 'email' | 'uri' | 'dns' | 'other';

/** The identity a signature claims: read from the bundle, never checked. */
export interface SignerIdentity {
  /** Where the identity was read from. */
  source: 'certificate' | 'public-key' | 'none';
  /** Subject alternative names of the signing certificate, in certificate order. */
  names: { kind: SignerNameKind; value: string }[];
  /** OIDC issuer from the Fulcio extension (1.3.6.1.4.1.57264.1.8, or the older .1.1). */
  oidcIssuer: string | null;
  /** Who issued the certificate (its issuer's O and CN), e.g. `sigstore.dev, sigstore-intermediate`. */
  certificateIssuer: string | null;
  /** The bundle's `publicKey.hint`, for signatures made with a key instead of a certificate. */
  publicKeyHint: string | null;
}

/** An entry of the Sigstore transparency log (Rekor) that the bundle says it has. */
export interface TransparencyLogClaim {
  logIndex: string;
  /** ISO 8601 time from `integratedTime`, when present and sane. */
  integratedTime: string | null;
}

/**
 * A signature as the bundle presents it. Never verified here: `verified` is
 * always false and `unverifiedReason` says why, and `verifyCommand` is what a
 * user runs to verify it for real.
 */
export interface SignatureClaim {
  verified: false;
  unverifiedReason: string;
  signer: SignerIdentity;
  /** Base64 signature over the DSSE envelope (the first one), as written in the bundle. */
  signature: string | null;
  bundleMediaType: string | null;
  predicateType: string | null;
  /** The model's name from the statement's subject (the signed folder's name). */
  modelName: string | null;
  /** model-signing's serialization method (`files`, `shards`), when given. */
  serialization: string | null;
  transparencyLog: TransparencyLogClaim[];
  /** A shell command (arguments single-quoted) for the model_signing CLI; MODEL_PATH is a placeholder. */
  verifyCommand: string;
}

/** What one expectation file says. */
export interface ExpectationSet {
  /** The file's name (or path) as the user gave it. */
  name: string;
  kind: ExpectationKind;
  entries: ExpectedFile[];
  problems: ProvenanceProblem[];
  /** Plain sentences about what was read but not compared (shards, other algorithms, PGP armour). */
  notes: string[];
  signature?: SignatureClaim;
}

/** How a scanned file compares with every source that lists it. */
export type ProvenanceStatus = 'matches' | 'differs' | 'not-listed' | 'not-hashed';

/** One source's claim about one scanned file. */
export interface ProvenanceClaim {
  /** The ExpectationSet's name. */
  source: string;
  kind: ExpectationKind;
  listedPath: string | null;
  line?: number;
  sha256: string;
  size?: number;
  /** true: hash (and size, when given) agree; false: they do not; null: nothing to compare (no hash computed). */
  agrees: boolean | null;
  /** What disagrees, when `agrees` is false. */
  mismatch?: 'sha256' | 'size';
}

export interface ProvenanceFileResult {
  /** The scanned file's path, as in the FileReport. */
  path: string;
  size: number;
  sha256: string | null;
  status: ProvenanceStatus;
  claims: ProvenanceClaim[];
}

/** A listed file that no scanned file answers to. */
export interface ProvenanceUnmatched {
  source: string;
  kind: ExpectationKind;
  listedPath: string | null;
  line?: number;
  sha256: string;
  size?: number;
  /** `path`: no scanned file has this path; `sha256`: a pathless hash that no scanned file has. */
  missing: 'path' | 'sha256';
}

/** Sources (or lines of one source) that give different hashes for the same file. */
export interface ProvenanceConflict {
  /** The scanned path, or the listed path when the file was not scanned. */
  path: string;
  claims: { source: string; listedPath: string | null; line?: number; sha256: string }[];
}

export interface ProvenanceSourceSummary {
  name: string;
  kind: ExpectationKind;
  entries: number;
  problems: ProvenanceProblem[];
  notes: string[];
  signature?: SignatureClaim;
}

export interface ProvenanceCounts {
  matches: number;
  differs: number;
  notListed: number;
  notHashed: number;
  listedNotScanned: number;
  conflicts: number;
}

/** The comparison of every expectation source with every scanned file. */
export interface ProvenanceReport {
  sources: ProvenanceSourceSummary[];
  /** One row per scanned file, in scan order. */
  files: ProvenanceFileResult[];
  listedNotScanned: ProvenanceUnmatched[];
  conflicts: ProvenanceConflict[];
  /** Plain sentences about choices made while matching (a listed name that fits several files). */
  notes: string[];
  counts: ProvenanceCounts;
}

/** What compareProvenance needs of a scanned file (a FileReport has it). */
export interface ScannedFile {
  path: string;
  sha256: string | null;
  size: number;
}
