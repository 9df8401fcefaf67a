import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walkPaths } from '../../src/cli/walk.ts';
import { analyzeModelFolders } from '../../src/folder/analyze.ts';
import { createNodeSha256 } from '../../src/hash/node-sha256.ts';
import { createNodeFileSource } from '../../src/io/node-source.ts';
import { createReport } from '../../src/report/report.ts';
import type { FileReport, Report } from '../../src/report/types.ts';
import { scanSource } from '../../src/scan.ts';
import { rulesOf, scanFolder } from './scan-helpers.ts';

/** Built by test/fixtures/hf/make_fixtures.py. */
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'hf');
const LFS_OID = '5fb133602674962e0a5f2653733e249f0c094056982bb529f41bee80ce26518f';

let clean: FileReport[];
let risky: FileReport[];
beforeAll(async () => {
  clean = await scanFolder(join(FIXTURES, 'clean-model'), 'clean-model');
  risky = await scanFolder(join(FIXTURES, 'risky-model'), 'risky-model');
});

const byPath = (files: FileReport[]) => Object.fromEntries(files.map((file) => [file.path, [file.format, file.verdict, rulesOf(file)]]));

describe('the clean model folder', () => {
  it('scans each file as what it is, with no findings', () => {
    expect(byPath(clean)).toEqual({
      'clean-model/config.json': ['hf-config', 'clean', []],
      'clean-model/generation_config.json': ['hf-config', 'clean', []],
      'clean-model/model.safetensors': ['safetensors', 'clean', []],
      'clean-model/tokenizer_config.json': ['hf-config', 'clean', []],
    });
  });

  it('is one clean model that loads config.json and model.safetensors', () => {
    expect(analyzeModelFolders(clean)).toEqual([
      {
        root: 'clean-model',
        files: ['clean-model/config.json', 'clean-model/generation_config.json', 'clean-model/model.safetensors', 'clean-model/tokenizer_config.json'],
        verdict: 'clean',
        formats: ['hf-config', 'safetensors'],
        parameters: 392,
        size: clean.reduce((total, file) => total + file.size, 0),
        loaderReads: ['clean-model/config.json', 'clean-model/model.safetensors'],
        findings: [],
      },
    ]);
  });
});

describe('the risky model folder', () => {
  it('flags each file for what it is', () => {
    const files = byPath(risky);
    expect(files).toMatchObject({
      'risky-model/config.json': ['hf-config', 'suspicious', ['hf.remote-code']],
      'risky-model/configuration_evil.py': ['python-source', 'clean', []],
      'risky-model/convert_checkpoint.py': ['python-source', 'suspicious', ['python.unsafe-deserialization']],
      'risky-model/model-00001-of-00003.safetensors': ['safetensors', 'clean', []],
      'risky-model/model-00002-of-00003.safetensors': ['git-lfs-pointer', 'suspicious', ['format.extension-mismatch', 'hf.lfs-pointer']],
      'risky-model/model.safetensors': ['safetensors', 'clean', []],
      'risky-model/model.safetensors.index.json': ['hf-weight-index', 'clean', []],
      'risky-model/modeling_evil.py': ['python-source', 'dangerous', ['python.process', 'python.obfuscated-exec']],
      'risky-model/tokenizer_config.json': ['hf-config', 'dangerous', ['hf.remote-code', 'template.jinja.sandbox-escape']],
    });
    // torch.save's zip is a real pickle checkpoint; its own scan judges it (here a plain state dict).
    expect(files['risky-model/pytorch_model.bin'].slice(0, 2)).toEqual(['pytorch-zip', 'clean']);
  });

  it('shows the os.system hidden in the base64 payload, and the exec that runs it, with lines and evidence', () => {
    const modeling = risky.find((file) => file.path === 'risky-model/modeling_evil.py')!;
    const payload = 'import os; os.system("echo pwned > /tmp/preflight-fixture")';
    const blob = Buffer.from(payload).toString('base64');
    expect(modeling.findings.map((finding) => [finding.rule, finding.severity, finding.detail, finding.evidence])).toEqual([
      ['python.process', 'high', `line 13: the base64 string decodes to code where os.system() runs a program (${JSON.stringify(payload)})`, `_BLOB = "${blob}"`],
      ['python.obfuscated-exec', 'critical', 'line 14: exec() runs the result of b64decode', 'exec(base64.b64decode(_BLOB))  # the payload runs on import'],
    ]);
    expect(modeling.metadata).toEqual({ lines: 27, imports: ['base64', 'torch'], relativeImports: ['configuration_evil'] });
  });

  it('keeps the LFS oid for comparison with the real shard', () => {
    const pointer = risky.find((file) => file.format === 'git-lfs-pointer')!;
    expect(pointer.metadata).toMatchObject({ lfsOid: LFS_OID, lfsSize: 648 });
  });

  it('is one dangerous model: its loader reads, and the findings only the folder shows', () => {
    const [model, ...others] = analyzeModelFolders(risky);
    expect(others).toEqual([]);
    expect(model.root).toBe('risky-model');
    expect(model.verdict).toBe('dangerous');
    expect(model.loaderReads).toEqual(['risky-model/config.json', 'risky-model/model.safetensors']);
    expect(model.parameters).toBe(392);
    expect(model.formats).toEqual(['hf-config', 'python-source', 'safetensors', 'git-lfs-pointer', 'hf-weight-index', 'pytorch-zip']);
    expect(model.findings.map((finding) => [finding.rule, finding.location.entry, finding.detail])).toEqual([
      [
        'hf.weights.pickle-fallback',
        'pytorch_model.bin',
        'model.safetensors is read by default, but pytorch_model.bin (verdict of its own: clean) is read instead with use_safetensors=False, by older library versions and by tools that look for the PyTorch name',
      ],
      [
        'hf.index.missing-shard',
        'model-00003-of-00003.safetensors',
        'model.safetensors.index.json maps 1 tensor to "model-00003-of-00003.safetensors", which is not in the folder (first: "model.norm.weight")',
      ],
      ['hf.remote-code.missing', 'tokenization_evil.py', '"tokenization_evil.py" is not in the folder; it is named by tokenizer_config.json auto_map AutoTokenizer[0]'],
      [
        'hf.remote-code.files',
        'configuration_evil.py',
        'with trust_remote_code=True these files run: configuration_evil.py (clean), modeling_evil.py (dangerous, 2 findings)',
      ],
      ['python.unreferenced', 'convert_checkpoint.py', '"convert_checkpoint.py" (suspicious) is not named by auto_map nor imported by a module it names'],
    ]);
  });

  it('is a separate model when both folders are scanned together, and the report carries both', () => {
    const files = [...clean, ...risky];
    const report: Report = { ...createReport(files, new Date(0)), models: analyzeModelFolders(files) };
    const roundTrip = JSON.parse(JSON.stringify(report)) as Report;
    expect(roundTrip.models?.map((model) => [model.root, model.verdict, model.files.length])).toEqual([
      ['clean-model', 'clean', 4],
      ['risky-model', 'dangerous', 10],
    ]);
    // A pure function of the report: a saved report gives the same models.
    expect(analyzeModelFolders(roundTrip.files)).toEqual(roundTrip.models);
  });
});

describe('a folder walked the CLI way', () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'preflight-hf-'));
    await cp(join(FIXTURES, 'risky-model'), join(folder, 'risky-model'), { recursive: true });
    await symlink('/etc/hostname', join(folder, 'risky-model', 'special_tokens_map.json'));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  /** What the CLI does: walk, scan each file, then analyse the folder with the links the walk skipped. */
  async function scanLikeTheCli(path: string) {
    const walked = await walkPaths([path]);
    const files: FileReport[] = [];
    for (const entry of walked.files) {
      files.push(await scanSource(await createNodeFileSource(entry.path, entry.displayPath), { createSha256: createNodeSha256 }));
    }
    const symlinks = walked.notes.flatMap((note) => /^(.*): symbolic link, not followed$/.exec(note)?.slice(1) ?? []);
    return { files, models: analyzeModelFolders(files, { symlinks }) };
  }

  it('adds the skipped link to the model findings and keeps everything else', async () => {
    const root = join(folder, 'risky-model');
    const { files, models } = await scanLikeTheCli(root);
    expect(files).toHaveLength(10);
    expect(models).toHaveLength(1);
    expect(models[0].root).toBe(root);
    expect(models[0].loaderReads).toEqual([`${root}/config.json`, `${root}/model.safetensors`]);
    expect(models[0].findings.map((finding) => finding.rule)).toEqual([
      'folder.symlink-not-followed',
      'hf.weights.pickle-fallback',
      'hf.index.missing-shard',
      'hf.remote-code.missing',
      'hf.remote-code.files',
      'python.unreferenced',
    ]);
    expect(models[0].findings[0].detail).toBe('1 symbolic links were not followed or scanned: "special_tokens_map.json"');
  });
});
