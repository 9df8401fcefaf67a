import { beforeAll, describe, expect, it } from 'vitest';
import { type CycloneDxBom, FINDING_SOURCE_NAME, componentTypeOf, toCycloneDx } from '../../src/report/cyclonedx.ts';
import { SECURITY_SEVERITY } from '../../src/report/sarif.ts';
import type { Finding, Report } from '../../src/report/types.ts';
import { createFinding } from '../../src/rules/index.ts';
import { HOSTILE, SHELL_COMMAND, sampleReport, syntheticReport } from './sample-reports.ts';
import { validateCycloneDx } from './schema-validators.ts';

const propertiesOf = (item: { properties: Array<{ name: string; value: string }> }) => item.properties;
const property = (item: { properties: Array<{ name: string; value: string }> }, name: string) =>
  propertiesOf(item).filter((each) => each.name === name).map((each) => each.value);

describe('toCycloneDx', () => {
  let report: Report;
  let bom: CycloneDxBom;
  beforeAll(async () => {
    report = await sampleReport();
    bom = toCycloneDx(report);
  });

  // The first validation compiles the large schema: seconds on a loaded machine.
  it('is valid against the CycloneDX 1.6 JSON schema', { timeout: 60_000 }, () => {
    const { valid, errors } = validateCycloneDx(bom);
    expect(errors).toEqual([]);
    expect(valid).toBe(true);
  });

  it('the schema check is live: broken BOMs are rejected', () => {
    const badType = structuredClone(bom) as unknown as { components: Array<{ type: string }> };
    badType.components[0].type = 'model';
    expect(validateCycloneDx(badType).valid).toBe(false);
    const badHash = structuredClone(bom);
    badHash.components[0].hashes![0].content = 'not-a-hash';
    expect(validateCycloneDx(badHash).valid).toBe(false);
  });

  it('has the BOM header: format, spec version, a urn:uuid serial number, timestamp and tool', () => {
    expect(bom).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.6', version: 1 });
    expect(bom.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(bom.metadata.timestamp).toBe(report.createdAt);
    expect(bom.metadata.tools.components).toEqual([{ type: 'application', name: 'preflight', version: '0.1.0' }]);
  });

  it('has one component per file: type by format, path as name, SHA-256 and the scan facts as properties', () => {
    expect(bom.components.map((component) => [component.type, component.name])).toEqual([
      ['machine-learning-model', 'evil.pkl'],
      ['machine-learning-model', 'checkpoints/model.pt'],
      ['machine-learning-model', HOSTILE.path],
    ]);
    bom.components.forEach((component, index) => {
      const file = report.files[index];
      expect(component.hashes).toEqual([{ alg: 'SHA-256', content: file.sha256 }]);
      expect(property(component, 'preflight:format')).toEqual([file.format]);
      expect(property(component, 'preflight:verdict')).toEqual([file.verdict]);
      expect(property(component, 'preflight:findingCount')).toEqual([String(file.findings.length)]);
      expect(property(component, 'preflight:tensorCount')).toEqual([String(file.tensors.length)]);
    });
    expect(property(bom.components[2], 'preflight:parameterCount')).toEqual(['17']);
    expect(property(bom.components[0], 'preflight:weightsOnly')).toEqual(['refused']);
    expect(property(bom.components[0], 'preflight:weightsOnly:firstRefused')).toEqual(['os.system']);
    expect(property(bom.components[2], 'preflight:weightsOnly')).toEqual([]);
  });

  it.each([
    ['safetensors', 'machine-learning-model'],
    ['gguf', 'machine-learning-model'],
    ['pytorch-zip', 'machine-learning-model'],
    ['pytorch-legacy', 'machine-learning-model'],
    ['pickle', 'machine-learning-model'],
    ['npy', 'data'],
    ['npz', 'data'],
    ['zip', 'file'],
    ['7z', 'file'],
    ['unknown', 'file'],
  ])('a %s file is a %s component', (format, type) => {
    expect(componentTypeOf(format)).toBe(type);
  });

  it('lists every finding as a vulnerability rated by Preflight that affects its file', () => {
    const findings = report.files.flatMap((file, fileIndex) => file.findings.map((finding) => ({ finding, fileIndex })));
    expect(bom.vulnerabilities).toHaveLength(findings.length);
    const refs = new Set(bom.components.map((component) => component['bom-ref']));
    const vulnerabilityRefs = bom.vulnerabilities.map((vulnerability) => vulnerability['bom-ref']);
    expect(new Set([...refs, ...vulnerabilityRefs]).size).toBe(refs.size + vulnerabilityRefs.length);
    bom.vulnerabilities.forEach((vulnerability, index) => {
      const { finding, fileIndex } = findings[index];
      expect(vulnerability.id).toBe(finding.rule);
      expect(vulnerability.source).toEqual({ name: FINDING_SOURCE_NAME });
      expect(vulnerability.ratings).toEqual([{ source: { name: FINDING_SOURCE_NAME }, score: SECURITY_SEVERITY[finding.severity], severity: finding.severity, method: 'other' }]);
      expect(vulnerability.affects).toEqual([{ ref: bom.components[fileIndex]['bom-ref'] }]);
      expect(vulnerability.description).toBe(`${finding.title}: ${finding.detail}`);
      expect(vulnerability.detail).toBe(finding.explanation);
      expect(property(vulnerability, 'preflight:rule')).toEqual([finding.rule]);
      expect(property(vulnerability, 'preflight:offset')).toEqual(finding.location.offset === undefined ? [] : [String(finding.location.offset)]);
      expect(property(vulnerability, 'preflight:entry')).toEqual(finding.location.entry ? [finding.location.entry] : []);
      const cwes = finding.references.filter((reference) => reference.startsWith('CWE-')).map((reference) => Number(reference.slice(4)));
      expect(vulnerability.cwes ?? []).toEqual(cwes);
      expect(property(vulnerability, 'preflight:reference')).toEqual(finding.references.filter((reference) => !reference.startsWith('CWE-')));
    });
    const call = bom.vulnerabilities.find((vulnerability) => vulnerability.id === 'pickle.call.dangerous')!;
    expect(property(call, 'preflight:evidence')).toEqual([`os.system("${SHELL_COMMAND}")`]);
  });

  it('links CVE and GHSA references to their advisories', () => {
    const finding: Finding = { ...createFinding('format.unsupported', { detail: 'x' }), references: ['CWE-94', 'CVE-2024-34359', 'GHSA-97f8-7cmv-76j2'] };
    const advisories = toCycloneDx(syntheticReport({ findings: [finding] }));
    expect(advisories.vulnerabilities[0].references).toEqual([
      { id: 'CVE-2024-34359', source: { name: 'NVD', url: 'https://nvd.nist.gov/vuln/detail/CVE-2024-34359' } },
      { id: 'GHSA-97f8-7cmv-76j2', source: { name: 'GitHub Advisory Database', url: 'https://github.com/advisories/GHSA-97f8-7cmv-76j2' } },
    ]);
    expect(advisories.vulnerabilities[0].cwes).toEqual([94]);
    expect(validateCycloneDx(advisories).errors).toEqual([]);
  });

  it('derives the serial number from the content: same report, same BOM; another report, another serial', async () => {
    expect(toCycloneDx(await sampleReport())).toEqual(bom);
    const other = toCycloneDx({ ...report, createdAt: '2030-01-01T00:00:00.000Z' });
    expect(other.serialNumber).not.toBe(bom.serialNumber);
  });

  it('omits what the report does not have and stays valid: no hash, no findings, an odd timestamp', () => {
    const sparse = toCycloneDx({ ...syntheticReport({ sha256: null, format: 'unknown' }), createdAt: 'not a date' });
    expect(sparse.components[0].hashes).toBeUndefined();
    expect(sparse.components[0].type).toBe('file');
    expect(sparse.metadata.timestamp).toBeUndefined();
    expect(sparse.vulnerabilities).toEqual([]);
    expect(validateCycloneDx(sparse).errors).toEqual([]);
  });
});
