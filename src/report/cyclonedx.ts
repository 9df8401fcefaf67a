/**
 * CycloneDX 1.6 ML-BOM export: one component per scanned file (type
 * `machine-learning-model` for model formats), its SHA-256, and each finding
 * as a `vulnerabilities` entry that `affects` the component, rated by
 * Preflight. Spec: https://cyclonedx.org/docs/1.6/json/
 *
 * The serial number is derived from the report's content (same report, same
 * BOM), formatted as an RFC 9562 version 8 ("custom") UUID, so exporting twice
 * gives byte-identical files that diff cleanly.
 */
import { classifyReference } from './auditor-summary.ts';
import { fileTotals } from './report.ts';
import { SECURITY_SEVERITY, isIsoTimestamp, isSha256, stableHash } from './sarif.ts';
import { SEVERITIES, type FileReport, type Finding, type Report, type Severity } from './types.ts';

export const CYCLONEDX_SCHEMA_URI = 'http://cyclonedx.org/schema/bom-1.6.schema.json';

/** Name under which Preflight rates findings (`vulnerabilities[].source`, `ratings[].source`). */
export const FINDING_SOURCE_NAME = 'Preflight';

/** Formats that hold a model (weights, graph or both); their components are `machine-learning-model`. */
const MODEL_FORMATS = new Set([
  'safetensors',
  'gguf',
  'pytorch-zip',
  'pytorch-legacy',
  'pickle',
  'hdf5',
  'tflite',
  'onnx',
  'keras',
  'savedmodel',
  'joblib',
  'torchscript',
]);

/** Archives and compressed streams: files that hold other files, whatever those are. */
const ARCHIVE_FORMATS = new Set(['zip', 'gzip', 'bzip2', 'xz', 'tar', '7z', 'unknown']);

export type CycloneDxComponentType = 'machine-learning-model' | 'data' | 'file';

export interface CycloneDxProperty {
  name: string;
  value: string;
}

export interface CycloneDxComponent {
  type: CycloneDxComponentType;
  'bom-ref': string;
  name: string;
  hashes?: Array<{ alg: 'SHA-256'; content: string }>;
  properties: CycloneDxProperty[];
}

export interface CycloneDxVulnerability {
  'bom-ref': string;
  id: string;
  source: { name: string };
  references?: Array<{ id: string; source: { name: string; url: string } }>;
  ratings: Array<{ source: { name: string }; score: number; severity: Severity; method: 'other' }>;
  cwes?: number[];
  description: string;
  detail: string;
  affects: Array<{ ref: string }>;
  properties: CycloneDxProperty[];
}

export interface CycloneDxBom {
  $schema: string;
  bomFormat: 'CycloneDX';
  specVersion: '1.6';
  serialNumber: string;
  version: 1;
  metadata: {
    timestamp?: string;
    tools: { components: Array<{ type: 'application'; name: string; version: string }> };
    properties: CycloneDxProperty[];
  };
  components: CycloneDxComponent[];
  vulnerabilities: CycloneDxVulnerability[];
}

/** The CycloneDX component type for a format id from the registry. */
export function componentTypeOf(format: string): CycloneDxComponentType {
  if (MODEL_FORMATS.has(format)) return 'machine-learning-model';
  if (ARCHIVE_FORMATS.has(format)) return 'file';
  return 'data';
}

/** The Report as a CycloneDX 1.6 JSON BOM (a plain object: `JSON.stringify` it). */
export function toCycloneDx(report: Report): CycloneDxBom {
  const components = report.files.map(toComponent);
  const vulnerabilities = report.files.flatMap((file, index) =>
    file.findings.map((finding, findingIndex) => toVulnerability(finding, components[index]['bom-ref'], `${components[index]['bom-ref']}-finding-${findingIndex + 1}`)),
  );
  const bom: CycloneDxBom = {
    $schema: CYCLONEDX_SCHEMA_URI,
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: serialNumberOf(report),
    version: 1,
    metadata: {
      tools: { components: [{ type: 'application', name: String(report.tool.name), version: String(report.tool.version) }] },
      properties: [{ name: 'preflight:reportSchemaVersion', value: String(report.schemaVersion) }],
    },
    components,
    vulnerabilities,
  };
  if (isIsoTimestamp(report.createdAt)) bom.metadata.timestamp = report.createdAt;
  return bom;
}

function toComponent(file: FileReport, index: number): CycloneDxComponent {
  const totals = fileTotals(file);
  const properties: CycloneDxProperty[] = [
    { name: 'preflight:format', value: String(file.format) },
    { name: 'preflight:verdict', value: String(file.verdict) },
    { name: 'preflight:size', value: String(file.size) },
    { name: 'preflight:tensorCount', value: String(totals.tensors) },
    { name: 'preflight:parameterCount', value: String(totals.parameters) },
    { name: 'preflight:findingCount', value: String(file.findings.length) },
  ];
  if (file.weightsOnly) {
    properties.push({ name: 'preflight:weightsOnly', value: file.weightsOnly.accepted ? 'accepted' : 'refused' });
    const refused = file.weightsOnly.firstRefused;
    if (refused) properties.push({ name: 'preflight:weightsOnly:firstRefused', value: `${refused.module}.${refused.name}` });
  }
  const component: CycloneDxComponent = {
    type: componentTypeOf(String(file.format)),
    'bom-ref': `file-${index + 1}`,
    name: String(file.path),
    properties,
  };
  if (isSha256(file.sha256)) component.hashes = [{ alg: 'SHA-256', content: file.sha256 }];
  return component;
}

function toVulnerability(finding: Finding, componentRef: string, bomRef: string): CycloneDxVulnerability {
  const severity: Severity = SEVERITIES.includes(finding.severity) ? finding.severity : 'info';
  const references = [...new Set(Array.isArray(finding.references) ? finding.references : [])];
  const cwes = references.flatMap((reference) => {
    const match = /^CWE-(\d+)$/.exec(reference);
    return match ? [Number(match[1])] : [];
  });
  const advisories = references.flatMap((reference) => {
    const { framework } = classifyReference(reference);
    if (framework !== 'advisory') return [];
    return reference.startsWith('CVE-')
      ? [{ id: reference, source: { name: 'NVD', url: `https://nvd.nist.gov/vuln/detail/${reference}` } }]
      : [{ id: reference, source: { name: 'GitHub Advisory Database', url: `https://github.com/advisories/${reference}` } }];
  });
  const { entry, offset, length } = finding.location ?? {};
  const properties: CycloneDxProperty[] = [{ name: 'preflight:rule', value: finding.rule }];
  if (entry !== undefined) properties.push({ name: 'preflight:entry', value: String(entry) });
  if (offset !== undefined) properties.push({ name: 'preflight:offset', value: String(offset) });
  if (length !== undefined) properties.push({ name: 'preflight:length', value: String(length) });
  if (finding.evidence !== undefined) properties.push({ name: 'preflight:evidence', value: String(finding.evidence) });
  for (const reference of references) {
    const { framework } = classifyReference(reference);
    if (framework !== 'cwe' && framework !== 'advisory') properties.push({ name: 'preflight:reference', value: reference });
  }
  const vulnerability: CycloneDxVulnerability = {
    'bom-ref': bomRef,
    id: finding.rule,
    source: { name: FINDING_SOURCE_NAME },
    ratings: [{ source: { name: FINDING_SOURCE_NAME }, score: SECURITY_SEVERITY[severity], severity, method: 'other' }],
    description: `${finding.title}: ${finding.detail}`,
    detail: String(finding.explanation),
    affects: [{ ref: componentRef }],
    properties,
  };
  if (advisories.length > 0) vulnerability.references = advisories;
  if (cwes.length > 0) vulnerability.cwes = cwes;
  return vulnerability;
}

/**
 * `urn:uuid:` + a version 8 UUID from two 64-bit hashes of the report's
 * identity: tool, time, and each file's path, hash, verdict and findings.
 */
function serialNumberOf(report: Report): string {
  const identity = JSON.stringify([
    report.tool,
    report.createdAt,
    report.files.map((file) => [file.path, file.sha256, file.verdict, file.findings.map((finding) => [finding.rule, finding.location])]),
  ]);
  const hex = stableHash(identity) + stableHash(identity, 0x84222325cbf29ce4n);
  const versioned = `${hex.slice(0, 12)}8${hex.slice(13, 16)}${((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 32)}`;
  return `urn:uuid:${versioned.slice(0, 8)}-${versioned.slice(8, 12)}-${versioned.slice(12, 16)}-${versioned.slice(16, 20)}-${versioned.slice(20, 32)}`;
}
