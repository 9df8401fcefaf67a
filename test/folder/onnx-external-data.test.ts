import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeModelFolders } from '../../src/folder/analyze.ts';
import { checkOnnxExternalData } from '../../src/folder/onnx-external-data.ts';
import { createNodeSha256 } from '../../src/hash/node-sha256.ts';
import { createNodeFileSource } from '../../src/io/node-source.ts';
import type { FileReport } from '../../src/report/types.ts';
import { scanSource } from '../../src/scan.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/onnx');
const EXTERNAL = join(FIXTURES, 'external');
const ONNX_EXTERNAL_RULES = new Set(['onnx.external-data.missing', 'onnx.external-data.too-small', 'onnx.external-data.symlink']);

async function scanFile(path: string, name: string): Promise<FileReport> {
  return scanSource(await createNodeFileSource(path, name), { createSha256: createNodeSha256 });
}

/** The folder findings about ONNX external data, over every model of the analysis. */
function externalFindings(files: FileReport[], symlinks: string[] = []) {
  return analyzeModelFolders(files, { symlinks })
    .flatMap((model) => model.findings)
    .filter((finding) => ONNX_EXTERNAL_RULES.has(finding.rule));
}

let model: FileReport;
let weights: FileReport;
let truncated: FileReport;
let temp: string;

beforeAll(async () => {
  model = await scanFile(join(EXTERNAL, 'model.onnx'), 'ext/model.onnx');
  weights = await scanFile(join(EXTERNAL, 'weights.bin'), 'ext/weights.bin');
  temp = await mkdtemp(join(tmpdir(), 'preflight-onnx-external-'));
  const bytes = await readFile(join(EXTERNAL, 'weights.bin'));
  await writeFile(join(temp, 'weights.bin'), bytes.subarray(0, bytes.length - 20));
  truncated = await scanFile(join(temp, 'weights.bin'), 'ext/weights.bin');
});

afterAll(async () => {
  await rm(temp, { recursive: true, force: true });
});

describe('ONNX external data against the folder (real fixtures)', () => {
  it('the fixture model reads all four initializers from weights.bin', () => {
    expect(model.format).toBe('onnx');
    const files = model.metadata.externalFiles as { location: string; tensors: number; minimumSize: number }[];
    expect(files).toEqual([{ location: 'weights.bin', tensors: 4, minimumSize: weights.size, problems: [] }]);
  });

  it('data file present and large enough: no finding, verdicts unchanged', () => {
    const models = analyzeModelFolders([model, weights]);
    expect(externalFindings([model, weights])).toEqual([]);
    expect(models.find((entry) => entry.root === 'ext/model.onnx')?.verdict).toBe(model.verdict);
  });

  it('data file left out: missing, and the lone model turns suspicious', () => {
    const findings = externalFindings([model]);
    expect(findings.map((finding) => [finding.rule, finding.severity, finding.location.entry])).toEqual([['onnx.external-data.missing', 'high', 'weights.bin']]);
    expect(findings[0].detail).toMatch(/model\.onnx reads 4 tensors from "weights\.bin", which is not among the scanned files/);
    expect(analyzeModelFolders([model])[0].verdict).toBe('suspicious');
  });

  it('truncated copy of the data file: too small, naming sizes and the tensors that end past it', () => {
    const findings = externalFindings([model, truncated]);
    expect(findings.map((finding) => finding.rule)).toEqual(['onnx.external-data.too-small']);
    expect(findings[0].detail).toContain(`needs at least ${weights.size} bytes but holds ${weights.size - 20}`);
    expect(findings[0].detail).toContain('tensors past its end (2): "fc2.weight" (bytes 160..224), "fc2.bias" (bytes 224..232)');
    expect(analyzeModelFolders([model, truncated]).find((entry) => entry.root === 'ext/model.onnx')?.verdict).toBe('malformed');
  });

  it.each([
    { name: 'the data file is a link', link: 'ext/weights.bin', files: () => [model], through: /is a symbolic link/ },
    { name: 'the data file is listed and also reported as a link', link: 'ext/weights.bin', files: () => [model, weights], through: /is a symbolic link/ },
  ])('symbolic link: $name', ({ link, files, through }) => {
    const findings = externalFindings(files(), [link]);
    expect(findings.map((finding) => finding.rule)).toEqual(['onnx.external-data.symlink']);
    expect(findings[0].detail).toMatch(through);
  });

  it('inside a Hugging Face model folder, the check runs with the folder checks', () => {
    const inFolder = (report: FileReport, path: string): FileReport => ({ ...report, path });
    const config: FileReport = { ...weights, path: 'repo/config.json', format: 'hf-config', tensors: [], metadata: {} };
    const onnx = inFolder(model, 'repo/onnx/model.onnx');
    expect(externalFindings([config, onnx]).map((finding) => [finding.rule, finding.location.entry])).toEqual([['onnx.external-data.missing', 'onnx/weights.bin']]);
    expect(externalFindings([config, onnx, inFolder(weights, 'repo/onnx/weights.bin')])).toEqual([]);
    expect(externalFindings([config, onnx], ['repo/onnx']).map((finding) => finding.detail)).toEqual([expect.stringMatching(/goes through the symbolic link "onnx"/)]);
  });
});

describe('checkOnnxExternalData on hand-written metadata', () => {
  const onnxReport = (metadata: FileReport['metadata']): FileReport => ({
    path: 'm/model.onnx', size: 10, format: 'onnx', sha256: null, verdict: 'clean', findings: [], tensors: [], metadata,
  });
  const dataReport = (path: string, size: number): FileReport => ({
    path, size, format: 'unknown', sha256: null, verdict: 'clean', findings: [], tensors: [], metadata: {},
  });
  const run = (report: FileReport, others: FileReport[]) =>
    checkOnnxExternalData('m', [report], { files: new Map([report, ...others].map((file) => [file.path, file])), symlinks: new Set() }).map((finding) => finding.rule);

  it.each([
    {
      name: 'a location with problems is never resolved',
      metadata: { externalFiles: [{ location: '/etc/passwd', tensors: 1, minimumSize: 4, problems: ['an absolute path'] }] },
      data: [],
      rules: [],
    },
    {
      name: 'problems absent (saved report edited): treated as a problem, not resolved',
      metadata: { externalFiles: [{ location: 'w.bin', tensors: 1, minimumSize: 4 }] },
      data: [],
      rules: [],
    },
    {
      name: 'unknown minimum size, a tensor reading to the end needs its expected length',
      metadata: {
        externalFiles: [{ location: 'w.bin', tensors: 1, minimumSize: null, problems: [] }],
        externalData: [{ tensor: 't', location: 'w.bin', offset: 8, length: null, expectedLength: 16, modelOffset: 0 }],
      },
      data: [dataReport('m/w.bin', 20)],
      rules: ['onnx.external-data.too-small'],
    },
    {
      name: 'unknown minimum size, the tensor fits',
      metadata: {
        externalFiles: [{ location: 'w.bin', tensors: 1, minimumSize: null, problems: [] }],
        externalData: [{ tensor: 't', location: 'w.bin', offset: 4, length: null, expectedLength: 16, modelOffset: 0 }],
      },
      data: [dataReport('m/w.bin', 20)],
      rules: [],
    },
    {
      name: 'a "./" location resolves in the model folder',
      metadata: { externalFiles: [{ location: './w.bin', tensors: 1, minimumSize: 20, problems: [] }] },
      data: [dataReport('m/w.bin', 20)],
      rules: [],
    },
    {
      name: 'the same name in another folder does not count',
      metadata: { externalFiles: [{ location: 'w.bin', tensors: 1, minimumSize: 20, problems: [] }] },
      data: [dataReport('other/w.bin', 20)],
      rules: ['onnx.external-data.missing'],
    },
    {
      name: 'non-array metadata is ignored',
      metadata: { externalFiles: 'w.bin', externalData: 3 },
      data: [],
      rules: [],
    },
  ])('$name', ({ metadata, data, rules }) => {
    expect(run(onnxReport(metadata as FileReport['metadata']), data)).toEqual(rules);
  });

  it('caps findings per rule and says how many more there were', () => {
    const externalFiles = Array.from({ length: 60 }, (_, index) => ({ location: `w${index}.bin`, tensors: 1, minimumSize: 4, problems: [] }));
    const rules = run(onnxReport({ externalFiles }), []);
    expect(rules.filter((rule) => rule === 'onnx.external-data.missing')).toHaveLength(50);
    expect(rules.at(-1)).toBe('folder.findings-truncated');
  });
});
