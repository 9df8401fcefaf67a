/**
 * A Report rebuilt from untrusted JSON (a shared link), field by field: every
 * value is checked against the Report contract (src/report/types.ts), fields
 * the contract does not name are dropped, and the first value of a wrong type
 * stops the read with its path ("files[2].verdict: expected one of …").
 *
 * Checked beyond types: hashes are 64 lower-case hex digits, sizes and offsets
 * are whole numbers, a signature claim is never `verified`, and metadata nests
 * at most MAX_METADATA_DEPTH levels (CWE-674: the readers recurse).
 */
import type { ModelSummary } from '../folder/types.ts';
import {
  EXPECTATION_KINDS,
  type ProvenanceClaim,
  type ProvenanceConflict,
  type ProvenanceFileResult,
  type ProvenanceProblem,
  type ProvenanceReport,
  type ProvenanceSourceSummary,
  type ProvenanceUnmatched,
  type SignatureClaim,
} from '../provenance/types.ts';
import {
  REPORT_SCHEMA_VERSION,
  SEVERITIES,
  VERDICTS,
  type FileReport,
  type Finding,
  type MetadataValue,
  type Report,
  type TensorInfo,
  type WeightsOnlyVerdict,
} from '../report/types.ts';
import {
  ShapeError,
  isJsonObject,
  optional,
  quoteKey,
  readArray,
  readBoolean,
  readCount,
  readLiteral,
  readMatching,
  readNullable,
  readNumber,
  readObject,
  readOneOf,
  readRecord,
  readString,
  type Reader,
} from './json-shape.ts';

/** Metadata nests this deep at most: real headers nest two or three levels, and the reader recurses (CWE-674). */
export const MAX_METADATA_DEPTH = 32;

const readSha256 = readMatching(/^[0-9a-f]{64}$/, '64 lower-case hex digits');
const readStrings = readArray(readString);

const readMetadataValue: Reader<MetadataValue> = (value, path) => readMetadataAt(value, path, 0);

function readMetadataAt(value: unknown, path: string, depth: number): MetadataValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return readNumber(value, path);
  if (depth >= MAX_METADATA_DEPTH) throw new ShapeError(path, `a value nested at most ${MAX_METADATA_DEPTH} levels deep`, value);
  if (Array.isArray(value)) return value.map((item, index) => readMetadataAt(item, `${path}[${index}]`, depth + 1));
  if (isJsonObject(value)) {
    return Object.fromEntries(Object.keys(value).map((key) => [key, readMetadataAt(value[key], `${path}[${quoteKey(key)}]`, depth + 1)]));
  }
  throw new ShapeError(path, 'a JSON value', value);
}

const readFinding = readObject<Finding>({
  rule: readString,
  severity: readOneOf(SEVERITIES),
  title: readString,
  detail: readString,
  explanation: readString,
  evidence: optional(readString),
  location: readObject({ entry: optional(readString), offset: optional(readCount), length: optional(readCount) }),
  references: readStrings,
});

const readTensor = readObject<TensorInfo>({
  name: readString,
  dtype: readString,
  shape: readArray(readCount),
  offset: readCount,
  length: readCount,
});

const readWeightsOnly = readObject<WeightsOnlyVerdict>({
  accepted: readBoolean,
  firstRefused: optional(
    readObject<NonNullable<WeightsOnlyVerdict['firstRefused']>>({
      module: readString,
      name: readString,
      offset: readCount,
      entry: optional(readString),
      reason: readString,
    }),
  ),
});

const readFileReport = readObject<FileReport>({
  path: readString,
  size: readCount,
  format: readString,
  sha256: readNullable(readSha256),
  verdict: readOneOf(VERDICTS),
  findings: readArray(readFinding),
  tensors: readArray(readTensor),
  metadata: readRecord(readMetadataValue),
  weightsOnly: optional(readWeightsOnly),
});

const readExpectationKind = readOneOf(EXPECTATION_KINDS);
const readProblem = readObject<ProvenanceProblem>({ line: optional(readCount), message: readString });

const readSignature = readObject<SignatureClaim>({
  // A link can only carry what someone claims: a "verified" flag from it would be a forgery.
  verified: readLiteral(false),
  unverifiedReason: readString,
  signer: readObject<SignatureClaim['signer']>({
    source: readOneOf(['certificate', 'public-key', 'none']),
    names: readArray(readObject({ kind: readOneOf(['email', 'uri', 'dns', 'other']), value: readString })),
    oidcIssuer: readNullable(readString),
    certificateIssuer: readNullable(readString),
    publicKeyHint: readNullable(readString),
  }),
  signature: readNullable(readString),
  bundleMediaType: readNullable(readString),
  predicateType: readNullable(readString),
  modelName: readNullable(readString),
  serialization: readNullable(readString),
  transparencyLog: readArray(readObject({ logIndex: readString, integratedTime: readNullable(readString) })),
  verifyCommand: readString,
});

const readSource = readObject<ProvenanceSourceSummary>({
  name: readString,
  kind: readExpectationKind,
  entries: readCount,
  problems: readArray(readProblem),
  notes: readStrings,
  signature: optional(readSignature),
});

const readClaim = readObject<ProvenanceClaim>({
  source: readString,
  kind: readExpectationKind,
  listedPath: readNullable(readString),
  line: optional(readCount),
  sha256: readSha256,
  size: optional(readCount),
  agrees: readNullable(readBoolean),
  mismatch: optional(readOneOf(['sha256', 'size'])),
});

const readProvenanceFile = readObject<ProvenanceFileResult>({
  path: readString,
  size: readCount,
  sha256: readNullable(readSha256),
  status: readOneOf(['matches', 'differs', 'not-listed', 'not-hashed']),
  claims: readArray(readClaim),
});

const readUnmatched = readObject<ProvenanceUnmatched>({
  source: readString,
  kind: readExpectationKind,
  listedPath: readNullable(readString),
  line: optional(readCount),
  sha256: readSha256,
  size: optional(readCount),
  missing: readOneOf(['path', 'sha256']),
});

const readConflict = readObject<ProvenanceConflict>({
  path: readString,
  claims: readArray(readObject({ source: readString, listedPath: readNullable(readString), line: optional(readCount), sha256: readSha256 })),
});

const readProvenance = readObject<ProvenanceReport>({
  sources: readArray(readSource),
  files: readArray(readProvenanceFile),
  listedNotScanned: readArray(readUnmatched),
  conflicts: readArray(readConflict),
  notes: readStrings,
  counts: readObject({
    matches: readCount,
    differs: readCount,
    notListed: readCount,
    notHashed: readCount,
    listedNotScanned: readCount,
    conflicts: readCount,
  }),
});

const readModel = readObject<ModelSummary>({
  root: readString,
  files: readStrings,
  verdict: readOneOf(VERDICTS),
  formats: readStrings,
  parameters: readCount,
  size: readCount,
  loaderReads: readStrings,
  findings: readArray(readFinding),
});

const readSchemaVersion: Reader<typeof REPORT_SCHEMA_VERSION> = (value, path) => {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > REPORT_SCHEMA_VERSION) {
    throw new ShapeError(path, `schema version ${REPORT_SCHEMA_VERSION} (this report is newer than the page: open it with a newer Preflight)`, value);
  }
  return readLiteral(REPORT_SCHEMA_VERSION)(value, path);
};

/** Reads a Report (throws ShapeError). `path` prefixes every error path. */
export const readReport: Reader<Report> = readObject<Report>({
  schemaVersion: readSchemaVersion,
  tool: readObject({ name: readString, version: readString }),
  createdAt: readString,
  files: readArray(readFileReport),
  provenance: optional(readProvenance),
  models: optional(readArray(readModel)),
});
