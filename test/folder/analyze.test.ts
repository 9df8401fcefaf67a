import { describe, expect, it } from 'vitest';
import { MAX_DEPTH_BELOW_ROOT, MAX_FILES_PER_MODEL, analyzeModelFolders } from '../../src/folder/analyze.ts';
import type { FileReport, MetadataValue, Verdict } from '../../src/report/types.ts';

interface FileSpec {
  format?: string;
  tensors?: string[];
  /** Shape of every tensor (default [2, 3]: 6 parameters each). */
  shape?: number[];
  metadata?: Record<string, MetadataValue>;
  verdict?: Verdict;
  size?: number;
}

const FORMAT_BY_NAME: [RegExp, string][] = [
  [/\.index\.json$/, 'hf-weight-index'],
  [/config\.json$/, 'hf-config'],
  [/\.safetensors$/, 'safetensors'],
  [/\.bin$/, 'pytorch-zip'],
  [/\.py$/, 'python-source'],
  [/\.gguf$/, 'gguf'],
];

/** A FileReport as the per-file scan would make it, with only what the folder analysis reads. */
function file(path: string, spec: FileSpec = {}): FileReport {
  const format = spec.format ?? FORMAT_BY_NAME.find(([pattern]) => pattern.test(path))?.[1] ?? 'unknown';
  return {
    path,
    size: spec.size ?? 100,
    format,
    sha256: null,
    verdict: spec.verdict ?? 'clean',
    findings: [],
    tensors: (spec.tensors ?? []).map((name) => ({ name, dtype: 'F32', shape: spec.shape ?? [2, 3], offset: 0, length: 24 })),
    metadata: spec.metadata ?? {},
  };
}

const indexFile = (path: string, map: Record<string, string[]>) =>
  file(path, { metadata: { weightMap: Object.entries(map).map(([shard, tensors]) => ({ shard, tensors })) } });

const configWithAutoMap = (path: string, refs: Record<string, string | null>, repo: string | null = null) =>
  file(path, {
    metadata: {
      configKind: 'model',
      remoteCode: Object.entries(refs).map(([auto, target]) => ({ auto, reference: `${target}.X`, file: target, repo, valid: true })),
    },
  });

const summarize = (files: FileReport[], options = {}) =>
  analyzeModelFolders(files, options).map((model) => ({
    root: model.root,
    loaderReads: model.loaderReads,
    findings: model.findings.map((finding) => [finding.rule, finding.location.entry ?? null]),
  }));

describe('analyzeModelFolders: grouping', () => {
  it('groups by model root; subfolders belong to the model, files under no root stand alone', () => {
    const models = analyzeModelFolders([
      file('a/config.json'),
      file('a/model.safetensors', { tensors: ['w'] }),
      file('a/onnx/model.onnx'),
      file('a/sub/config.json'),
      file('b.gguf', { tensors: ['t'], format: 'gguf' }),
      file('c/x.pkl', { format: 'pickle' }),
      file('c/y.pkl', { format: 'pickle' }),
    ]);
    expect(models.map((model) => [model.root, model.files])).toEqual([
      ['a', ['a/config.json', 'a/model.safetensors', 'a/onnx/model.onnx']],
      ['a/sub', ['a/sub/config.json']],
      ['b.gguf', ['b.gguf']],
      ['c/x.pkl', ['c/x.pkl']],
      ['c/y.pkl', ['c/y.pkl']],
    ]);
    expect(models[2]).toMatchObject({ loaderReads: ['b.gguf'], formats: ['gguf'], parameters: 6, findings: [] });
  });

  it('treats files dropped without a folder as one model when they look like one', () => {
    const models = analyzeModelFolders([file('config.json'), file('model.safetensors', { tensors: ['w'] })]);
    expect(models.map((model) => [model.root, model.loaderReads])).toEqual([['', ['config.json', 'model.safetensors']]]);
  });

  it('keeps absolute folders absolute (CLI arguments)', () => {
    const [model] = analyzeModelFolders([file('/data/m/config.json'), file('/data/m/model.safetensors')]);
    expect(model.root).toBe('/data/m');
    expect(model.loaderReads).toEqual(['/data/m/config.json', '/data/m/model.safetensors']);
  });
});

describe('analyzeModelFolders: what the loader reads', () => {
  const shards = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
  const binShards = ['pytorch_model-00001-of-00002.bin', 'pytorch_model-00002-of-00002.bin'];
  it.each([
    ['safetensors over a pickle', ['model.safetensors', 'pytorch_model.bin'], ['model.safetensors'], [['hf.weights.pickle-fallback', 'pytorch_model.bin']]],
    [
      'a safetensors index over a pickle index',
      ['model.safetensors.index.json', ...shards, 'pytorch_model.bin.index.json', ...binShards],
      ['model.safetensors.index.json', ...shards],
      [['hf.weights.pickle-fallback', 'pytorch_model.bin.index.json']],
    ],
    ['a single safetensors over an index', ['model.safetensors', 'model.safetensors.index.json', ...shards], ['model.safetensors'], []],
    ['the pickle when it is all there is', ['pytorch_model.bin'], ['pytorch_model.bin'], []],
    ['a pickle index and its shards', ['pytorch_model.bin.index.json', ...binShards], ['pytorch_model.bin.index.json', ...binShards], []],
    ['diffusers weights', ['diffusion_pytorch_model.safetensors', 'diffusion_pytorch_model.bin'], ['diffusion_pytorch_model.safetensors'], [['hf.weights.pickle-fallback', 'diffusion_pytorch_model.bin']]],
    ['PEFT adapters', ['adapter_model.bin'], ['adapter_model.bin'], []],
    ['nothing from TF-only weights', ['tf_model.h5'], [], [['hf.weights.not-found', 'config.json']]],
  ])('%s', (_, names, reads, findings) => {
    const files = [file('m/config.json'), ...names.map((name) => (name.endsWith('.index.json') ? indexFile(`m/${name}`, indexMapFor(name)) : file(`m/${name}`, { tensors: [`t-${name}`] })))];
    const [model] = summarize(files);
    expect(model.loaderReads).toEqual(['m/config.json', ...reads.map((name) => `m/${name}`)]);
    expect(model.findings.filter(([rule]) => (rule as string).startsWith('hf.weights'))).toEqual(findings);
  });

  function indexMapFor(name: string): Record<string, string[]> {
    const list = name.startsWith('model') ? shards : binShards;
    return Object.fromEntries(list.map((shard) => [shard, [`t-${shard}`]]));
  }

  it('names the TF weights when only those are present', () => {
    const [model] = analyzeModelFolders([file('m/config.json'), file('m/tf_model.h5', { format: 'hdf5' })]);
    expect(model.findings[0].detail).toBe('no safetensors or PyTorch weights; only "tf_model.h5", which from_pretrained reads with from_tf/from_flax');
    expect(model.verdict).toBe('clean');
  });

  it('counts the parameters of the weights the loader reads, not every copy', () => {
    const [model] = analyzeModelFolders([
      file('m/config.json'),
      file('m/model.safetensors', { tensors: ['a', 'b'], shape: [4, 5] }),
      file('m/pytorch_model.bin', { tensors: ['a', 'b'], shape: [4, 5] }),
    ]);
    expect(model.parameters).toBe(40);
    expect(model.size).toBe(300);
    expect(model.formats).toEqual(['hf-config', 'safetensors', 'pytorch-zip']);
  });

  it('flags weights the loader reads that are Git LFS pointers', () => {
    const [model] = analyzeModelFolders([file('m/config.json'), file('m/model.safetensors', { format: 'git-lfs-pointer' })]);
    expect(model.findings.map((finding) => [finding.rule, finding.detail])).toEqual([
      ['hf.weights.not-downloaded', '1 of the 1 weight file the loader opens is a Git LFS pointer: "model.safetensors"'],
    ]);
    expect(model.verdict).toBe('malformed');
  });
});

describe('analyzeModelFolders: weight index against the shards', () => {
  const index = 'model.safetensors.index.json';
  it.each([
    [
      'a consistent index',
      { 'model-00001-of-00002.safetensors': ['a', 'b'], 'model-00002-of-00002.safetensors': ['c'] },
      { 'model-00001-of-00002.safetensors': ['a', 'b'], 'model-00002-of-00002.safetensors': ['c'] },
      [],
    ],
    [
      'a missing shard',
      { 'model-00001-of-00002.safetensors': ['a'], 'model-00002-of-00002.safetensors': ['c'] },
      { 'model-00001-of-00002.safetensors': ['a'] },
      [['hf.index.missing-shard', 'model-00002-of-00002.safetensors']],
    ],
    [
      'a tensor its shard does not hold, and one it holds unmapped',
      { 'model-00001-of-00001.safetensors': ['a', 'ghost'] },
      { 'model-00001-of-00001.safetensors': ['a', 'hidden'] },
      [
        ['hf.index.tensor-not-in-shard', 'model-00001-of-00001.safetensors'],
        ['hf.index.unmapped-tensor', 'model-00001-of-00001.safetensors'],
      ],
    ],
    [
      'a tensor stored in two shards',
      { 'model-00001-of-00002.safetensors': ['a'], 'model-00002-of-00002.safetensors': ['b'] },
      { 'model-00001-of-00002.safetensors': ['a', 'b'], 'model-00002-of-00002.safetensors': ['b'] },
      [
        ['hf.index.unmapped-tensor', 'model-00001-of-00002.safetensors'],
        ['hf.index.duplicate-tensor', 'model-00001-of-00002.safetensors'],
      ],
    ],
    [
      'a shard the index does not list',
      { 'model-00001-of-00002.safetensors': ['a'] },
      { 'model-00001-of-00002.safetensors': ['a'], 'model-00002-of-00002.safetensors': ['z'] },
      [['hf.index.unlisted-shard', 'model-00002-of-00002.safetensors']],
    ],
    ['shards outside the folder (flagged by the index itself)', { '../elsewhere.safetensors': ['a'] }, {}, []],
  ])('%s', (_, map, present, findings) => {
    const files = [
      file('m/config.json'),
      indexFile(`m/${index}`, map),
      ...Object.entries(present).map(([shard, tensors]) => file(`m/${shard}`, { tensors })),
    ];
    expect(summarize(files)[0].findings).toEqual(findings);
  });

  it('says which tensors are missing and which shards hold a duplicate', () => {
    const [model] = analyzeModelFolders([
      indexFile(`m/${index}`, { 's-00001-of-00002.safetensors': ['a', 'x'], 's-00002-of-00002.safetensors': ['a'] }),
      file('m/s-00001-of-00002.safetensors', { tensors: ['a'] }),
      file('m/s-00002-of-00002.safetensors', { tensors: ['a'] }),
    ]);
    expect(model.findings.map((finding) => finding.detail)).toEqual([
      'model.safetensors.index.json maps 1 tensor to "s-00001-of-00002.safetensors" that its tensor table does not hold: "x"',
      '1 tensor of model.safetensors.index.json is stored in more than one shard: "a"; "a" is in "s-00001-of-00002.safetensors", "s-00002-of-00002.safetensors"',
    ]);
  });

  it('does not compare the tensors of a shard that is a pointer or not a tensor format', () => {
    const files = [
      indexFile(`m/${index}`, { 'model-00001-of-00002.safetensors': ['a'], 'model-00002-of-00002.safetensors': ['b'] }),
      file('m/model-00001-of-00002.safetensors', { format: 'git-lfs-pointer' }),
      file('m/model-00002-of-00002.safetensors', { format: 'unknown' }),
    ];
    expect(summarize(files)[0]).toEqual({
      root: 'm',
      loaderReads: [`m/${index}`, 'm/model-00001-of-00002.safetensors', 'm/model-00002-of-00002.safetensors'],
      findings: [['hf.weights.not-downloaded', 'model-00001-of-00002.safetensors']],
    });
  });
});

describe('analyzeModelFolders: remote code', () => {
  const python = (path: string, relativeImports: string[] = [], verdict: Verdict = 'clean') =>
    file(path, { metadata: { lines: 1, imports: [], relativeImports }, verdict });

  it('follows auto_map and relative imports, flags what is missing, lists what runs and what is not referenced', () => {
    const [model] = analyzeModelFolders([
      configWithAutoMap('m/config.json', { AutoConfig: 'configuration_x.py', AutoModel: 'modeling_x.py' }),
      file('m/model.safetensors'),
      python('m/configuration_x.py'),
      python('m/modeling_x.py', ['configuration_x', 'layers/attention', 'helpers'], 'dangerous'),
      python('m/layers/attention.py'),
      python('m/scripts/convert.py'),
      configWithAutoMap('m/tokenizer_config.json', { 'AutoTokenizer[0]': 'tokenization_x.py' }),
    ]);
    expect(model.findings.map((finding) => [finding.rule, finding.location.entry])).toEqual([
      ['hf.remote-code.missing', 'tokenization_x.py'],
      ['hf.remote-code.missing', 'helpers.py'],
      ['hf.remote-code.files', 'configuration_x.py'],
      ['python.unreferenced', 'scripts/convert.py'],
    ]);
    expect(model.findings[1].detail).toBe('"helpers.py" is not in the folder; it is named by relative import in modeling_x.py');
    expect(model.findings[2].detail).toBe(
      'with trust_remote_code=True these files run: configuration_x.py (clean), modeling_x.py (dangerous), layers/attention.py (clean)',
    );
    expect(model.verdict).toBe('dangerous');
  });

  it('finds a package imported as a module (`from . import pkg` → pkg/__init__.py)', () => {
    const [model] = analyzeModelFolders([
      configWithAutoMap('m/config.json', { AutoModel: 'modeling_x.py' }),
      file('m/model.safetensors'),
      python('m/modeling_x.py', ['pkg']),
      python('m/pkg/__init__.py'),
    ]);
    expect(model.findings.map((finding) => finding.rule)).toEqual(['hf.remote-code.files']);
    expect(model.findings[0].detail).toContain('pkg/__init__.py (clean)');
  });

  it('leaves references to other repositories to the per-file finding', () => {
    const [model] = analyzeModelFolders([configWithAutoMap('m/config.json', { AutoModel: 'modeling_x.py' }, 'someone/else'), file('m/model.safetensors')]);
    expect(model.findings).toEqual([]);
  });
});

describe('analyzeModelFolders: limits and links', () => {
  it('reports symbolic links the walker did not follow, under their model', () => {
    const [model] = analyzeModelFolders([file('m/config.json'), file('m/model.safetensors')], { symlinks: ['m/pytorch_model.bin', 'other/link'] });
    expect(model.findings.map((finding) => [finding.rule, finding.detail])).toEqual([
      ['folder.symlink-not-followed', '1 symbolic links were not followed or scanned: "pytorch_model.bin"'],
    ]);
    expect(model.verdict).toBe('suspicious');
  });

  it('makes a model of a folder that holds only links (a Hugging Face cache snapshot)', () => {
    const models = analyzeModelFolders([], { symlinks: ['snap/config.json', 'snap/model.safetensors'] });
    expect(models.map((model) => [model.root, model.files, model.findings.map((finding) => finding.rule)])).toEqual([
      ['snap', [], ['folder.symlink-not-followed']],
    ]);
  });

  it(`leaves files more than ${MAX_DEPTH_BELOW_ROOT} folders deep out of the checks`, () => {
    const deep = `m/${'d/'.repeat(MAX_DEPTH_BELOW_ROOT + 1)}modeling_x.py`;
    const [model] = analyzeModelFolders([file('m/config.json'), file(deep)]);
    expect(model.findings.map((finding) => finding.rule)).toEqual(['folder.limits.depth', 'hf.weights.not-found']);
    expect(model.files).toContain(deep);
  });

  it(`checks at most ${MAX_FILES_PER_MODEL} files per model`, () => {
    const files = [file('m/config.json'), ...Array.from({ length: MAX_FILES_PER_MODEL }, (_, index) => file(`m/extra/${index}.txt`)), file('m/model.safetensors')];
    const [model] = analyzeModelFolders(files);
    expect(model.findings.map((finding) => finding.rule)).toEqual(['folder.limits.files', 'hf.weights.not-found']);
    expect(model.files).toHaveLength(MAX_FILES_PER_MODEL + 2);
  });
});
