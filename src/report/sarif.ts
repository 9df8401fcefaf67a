/**
 * SARIF 2.1.0 export: one run, one result per finding, for CI and code
 * scanning (GitHub reads `security-severity` and `partialFingerprints`).
 * Spec: https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html
 *
 * Findings point at bytes, not lines, so locations carry a byte region
 * (`byteOffset`/`byteLength`). A finding inside a container entry (a zip
 * member) names the entry in its message and as a logical location, and gets
 * no byte region: the core does not say whether such an offset counts from the
 * file or from the entry, and a region on the wrong bytes is worse than none.
 */
import { RULES, type RuleDefinition } from '../rules/index.ts';
import { markdownText, pathToUri } from './escape.ts';
import { fileTotals } from './report.ts';
import { printable } from './text.ts';
import { SEVERITIES, type FileReport, type Finding, type Report, type Severity } from './types.ts';

export const SARIF_SCHEMA_URI = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';

export type SarifLevel = 'error' | 'warning' | 'note';

/** SARIF result level for each severity: what fails a build (error) and what only informs (note). */
export const SARIF_LEVELS: Readonly<Record<Severity, SarifLevel>> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
  info: 'note',
};

/**
 * The 0–10 score GitHub code scanning reads from `security-severity`
 * (≥ 9 critical, ≥ 7 high, ≥ 4 medium, > 0 low); CycloneDX ratings reuse it.
 */
export const SECURITY_SEVERITY: Readonly<Record<Severity, number>> = {
  critical: 9.5,
  high: 8.0,
  medium: 5.5,
  low: 3.0,
  info: 0.5,
};

const utf8 = new TextEncoder();

/** Key of Preflight's own fingerprint in `partialFingerprints`; bump the version if its input changes. */
export const FINGERPRINT_KEY = 'preflightFinding/v1';

export interface SarifMessage {
  text: string;
  markdown?: string;
}

export interface SarifReportingDescriptor {
  id: string;
  name: string;
  shortDescription: SarifMessage;
  fullDescription: SarifMessage;
  help: SarifMessage;
  defaultConfiguration: { level: SarifLevel };
  properties: { tags: string[]; 'security-severity': string; severity: Severity; precision: 'high' };
}

export interface SarifLocation {
  physicalLocation: {
    artifactLocation: { uri: string; index: number };
    region?: { byteOffset: number; byteLength?: number };
  };
  logicalLocations?: Array<{ name: string; fullyQualifiedName: string; kind: string }>;
}

export interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: SarifLevel;
  message: SarifMessage;
  locations: SarifLocation[];
  partialFingerprints: Record<string, string>;
  properties: Record<string, unknown>;
}

export interface SarifArtifact {
  location: { uri: string };
  length: number;
  roles: ['analysisTarget'];
  hashes?: { 'sha-256': string };
  properties: Record<string, unknown>;
}

export interface SarifLog {
  $schema: string;
  version: '2.1.0';
  runs: [
    {
      tool: { driver: { name: string; version: string; semanticVersion?: string; rules: SarifReportingDescriptor[] } };
      invocations: Array<{ executionSuccessful: boolean; endTimeUtc?: string }>;
      artifacts: SarifArtifact[];
      results: SarifResult[];
      columnKind: 'unicodeCodePoints';
      properties: { reportSchemaVersion: unknown; createdAt: string };
    },
  ];
}

/**
 * The Report as a SARIF 2.1.0 log (a plain object: `JSON.stringify` it).
 * Every rule a finding uses is described in `tool.driver.rules`, from the
 * catalog when the rule is known, from the finding itself otherwise.
 */
export function toSarif(report: Report): SarifLog {
  const rules = describeRules(report);
  const ruleIndex = new Map(rules.map((rule, index) => [rule.id, index]));
  const artifacts = report.files.map(toArtifact);
  const results: SarifResult[] = [];
  report.files.forEach((file, fileIndex) => {
    const seen = new Map<string, number>();
    for (const finding of file.findings) {
      results.push(toResult(file, fileIndex, finding, ruleIndex.get(finding.rule) ?? -1, seen));
    }
  });
  const invocation: { executionSuccessful: boolean; endTimeUtc?: string } = {
    executionSuccessful: report.files.every((file) => file.sha256 !== null),
  };
  if (isIsoTimestamp(report.createdAt)) invocation.endTimeUtc = report.createdAt;
  const driver: SarifLog['runs'][0]['tool']['driver'] = { name: String(report.tool.name), version: String(report.tool.version), rules };
  if (/^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$/.test(driver.version)) driver.semanticVersion = driver.version;
  return {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: { driver },
        invocations: [invocation],
        artifacts,
        results,
        columnKind: 'unicodeCodePoints',
        properties: { reportSchemaVersion: report.schemaVersion, createdAt: String(report.createdAt) },
      },
    ],
  };
}

function describeRules(report: Report): SarifReportingDescriptor[] {
  const firstFindings = new Map<string, Finding>();
  for (const file of report.files) {
    for (const finding of file.findings) if (!firstFindings.has(finding.rule)) firstFindings.set(finding.rule, finding);
  }
  return [...firstFindings.keys()].sort().map((id) => describeRule(id, firstFindings.get(id)!));
}

function describeRule(id: string, example: Finding): SarifReportingDescriptor {
  const catalog = (RULES as Record<string, RuleDefinition>)[id];
  const known = catalog && Object.hasOwn(RULES, id);
  const severity = severityOf(known ? catalog.severity : example.severity);
  const title = known ? catalog.title : example.title;
  const explanation = known ? catalog.explanation : example.explanation;
  const references = [...new Set(known ? catalog.references : example.references)];
  const referenceLine = references.length ? `References: ${references.join(', ')}.` : '';
  return {
    id,
    name: pascalCase(id),
    shortDescription: { text: title },
    fullDescription: { text: explanation },
    help: {
      text: [explanation, referenceLine].filter(Boolean).join('\n\n'),
      markdown: [markdownText(explanation), references.length ? `References: ${references.map(markdownText).join(', ')}` : '']
        .filter(Boolean)
        .join('\n\n'),
    },
    defaultConfiguration: { level: SARIF_LEVELS[severity] },
    properties: {
      tags: [...new Set(['security', ...references])],
      'security-severity': SECURITY_SEVERITY[severity].toFixed(1),
      severity,
      precision: 'high',
    },
  };
}

function toArtifact(file: FileReport): SarifArtifact {
  const totals = fileTotals(file);
  const artifact: SarifArtifact = {
    location: { uri: pathToUri(String(file.path)) },
    length: Number.isSafeInteger(file.size) && file.size >= 0 ? file.size : -1,
    roles: ['analysisTarget'],
    properties: { format: file.format, verdict: file.verdict, tensorCount: totals.tensors, parameterCount: totals.parameters },
  };
  if (isSha256(file.sha256)) artifact.hashes = { 'sha-256': file.sha256 };
  if (file.weightsOnly) artifact.properties.weightsOnlyAccepted = file.weightsOnly.accepted;
  return artifact;
}

function toResult(file: FileReport, fileIndex: number, finding: Finding, ruleIndex: number, seen: Map<string, number>): SarifResult {
  const severity = severityOf(finding.severity);
  const { entry, offset, length } = finding.location ?? {};
  const location: SarifLocation = { physicalLocation: { artifactLocation: { uri: pathToUri(String(file.path)), index: fileIndex } } };
  const properties: Record<string, unknown> = { severity, references: finding.references };
  if (entry !== undefined) {
    location.logicalLocations = [{ name: entry, fullyQualifiedName: `${file.path}!/${entry}`, kind: 'member' }];
    properties.entry = entry;
    if (isByteCount(offset)) properties.entryOffset = offset;
    if (isByteCount(length)) properties.entryLength = length;
  } else if (isByteCount(offset)) {
    location.physicalLocation.region = { byteOffset: offset };
    if (isByteCount(length)) location.physicalLocation.region.byteLength = length;
  }
  if (finding.evidence !== undefined) properties.evidence = finding.evidence;

  const identity = [finding.rule, file.path, entry ?? '', finding.evidence ?? finding.detail].join('\u0000');
  const occurrence = (seen.get(identity) ?? 0) + 1;
  seen.set(identity, occurrence);

  return {
    ruleId: finding.rule,
    ruleIndex,
    level: SARIF_LEVELS[severity],
    message: { text: messageText(finding) },
    locations: [location],
    partialFingerprints: { [FINGERPRINT_KEY]: `${stableHash(identity)}:${occurrence}` },
    properties,
  };
}

/**
 * Title, detail, evidence and place in one plain-text message. Square brackets
 * are escaped: SARIF viewers read `[text](n)` in plain text as a link.
 */
function messageText(finding: Finding): string {
  const parts = [`${finding.title}: ${finding.detail}`];
  if (finding.evidence !== undefined) parts.push(`Evidence: ${finding.evidence}`);
  const { entry, offset } = finding.location ?? {};
  if (entry !== undefined) parts.push(`In entry ${entry}${isByteCount(offset) ? ` at offset ${offset}` : ''}.`);
  else if (isByteCount(offset)) parts.push(`At byte offset ${offset}.`);
  return printable(parts.join(' ')).replace(/[[\]]/g, '\\$&');
}

function severityOf(value: unknown): Severity {
  return SEVERITIES.includes(value as Severity) ? (value as Severity) : 'info';
}

function isByteCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

export function isSha256(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
}

export function isIsoTimestamp(value: unknown): value is string {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) && !Number.isNaN(Date.parse(value));
}

function pascalCase(id: string): string {
  return id
    .split(/[^0-9A-Za-z]+/)
    .filter(Boolean)
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join('');
}

/**
 * A 64-bit FNV-1a hash of the UTF-8 bytes of `text`, as 16 hex digits.
 * Not for security: it only names a finding stably across runs, and it must
 * be synchronous and DOM-free (WebCrypto is neither).
 */
export function stableHash(text: string, seed = 0xcbf29ce484222325n): string {
  const prime = 0x100000001b3n;
  const mask = 0xffffffffffffffffn;
  let hash = seed;
  for (const byte of utf8.encode(text)) {
    hash ^= BigInt(byte);
    hash = (hash * prime) & mask;
  }
  return hash.toString(16).padStart(16, '0');
}
