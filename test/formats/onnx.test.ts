import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MODEL_SPEC } from '../../src/formats/onnx-schema.ts';
import { MAX_LOCATION_CHARS, classifyExternalLocation, looksLikeOnnxModel, onnxFormat } from '../../src/formats/onnx.ts';
import { decodeMessageBytes, decodeMessageFromSource } from '../../src/formats/protobuf.ts';
import { HEAD_BYTES, type Inspection } from '../../src/formats/types.ts';
import { createNodeSha256 } from '../../src/hash/node-sha256.ts';
import type { ByteSource } from '../../src/io/byte-source.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import { createNodeFileSource } from '../../src/io/node-source.ts';
import type { FileReport } from '../../src/report/types.ts';
import { RULES } from '../../src/rules/index.ts';
import { scanSource } from '../../src/scan.ts';
import { attribute, functionProto, graph, minimalModel, model, node, tensor } from '../builders/onnx.ts';
import { concat, lField, lHeader, mField, tag, vField, varint } from '../builders/protobuf.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'onnx');
const fixture = (name: string) => new Uint8Array(readFileSync(join(FIXTURES, name)));

async function scanFixture(name: string): Promise<FileReport> {
  return scanSource(await createNodeFileSource(join(FIXTURES, name), name), { createSha256: createNodeSha256 });
}

async function inspectBytes(bytes: Uint8Array, name = 'model.onnx'): Promise<Inspection> {
  return onnxFormat.inspect(createMemorySource(bytes, name), { head: bytes.subarray(0, HEAD_BYTES) });
}

const rules = (result: { findings: { rule: string }[] }) => result.findings.map((finding) => finding.rule).sort();
const findingOf = (result: Inspection | FileReport, rule: string) => result.findings.find((finding) => finding.rule === rule);

describe('ONNX fixtures written by onnx 1.12 (make_fixtures.py), end to end through scanSource', () => {
  const table = [
    { file: 'mlp.onnx', verdict: 'clean', findings: [] },
    { file: 'external/model.onnx', verdict: 'clean', findings: ['onnx.external-data.reference'] },
    { file: 'custom_domains.onnx', verdict: 'suspicious', findings: ['onnx.domain.contrib', 'onnx.domain.custom'] },
    { file: 'python_op.onnx', verdict: 'suspicious', findings: ['onnx.domain.custom', 'onnx.op.python'] },
    { file: 'subgraph.onnx', verdict: 'suspicious', findings: ['onnx.domain.custom'] },
    { file: 'external_absolute.onnx', verdict: 'dangerous', findings: ['onnx.external-data.path-escape', 'onnx.external-data.reference'] },
    { file: 'external_traversal.onnx', verdict: 'dangerous', findings: ['onnx.external-data.path-escape', 'onnx.external-data.reference'] },
    { file: 'external_url.onnx', verdict: 'suspicious', findings: ['onnx.external-data.reference', 'onnx.external-data.url'] },
  ];

  it.each(table)('$file: format onnx, $verdict, findings $findings', async (row) => {
    const report = await scanFixture(row.file);
    expect(report.format).toBe('onnx');
    expect(rules(report)).toEqual(row.findings);
    expect(report.verdict).toBe(row.verdict);
    expect(report.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('mlp.onnx: the initializer table has the offsets of raw_data in the file (checked with onnx + bytes.find)', async () => {
    const report = await scanFixture('mlp.onnx');
    expect(report.tensors).toEqual([
      { name: 'fc1.weight', dtype: 'FLOAT', shape: [8, 4], offset: 196, length: 128 },
      { name: 'fc1.bias', dtype: 'FLOAT', shape: [8], offset: 342, length: 32 },
      { name: 'fc2.weight', dtype: 'FLOAT', shape: [2, 8], offset: 396, length: 64 },
      { name: 'fc2.bias', dtype: 'FLOAT', shape: [2], offset: 478, length: 8 },
    ]);
    const bytes = fixture('mlp.onnx');
    const weight = new Float32Array(bytes.slice(196, 196 + 128).buffer);
    expect(weight.every(Number.isFinite)).toBe(true);
  });

  it('mlp.onnx: model metadata (IR version, opsets, producer, graph inputs/outputs with dim params, operators, props)', async () => {
    const { metadata } = await scanFixture('mlp.onnx');
    expect(metadata).toMatchObject({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      producerName: 'preflight-fixtures',
      producerVersion: '1.0',
      graphName: 'tiny_mlp',
      inputs: [{ name: 'x', type: 'tensor(float)', shape: ['batch', 4] }],
      outputs: [{ name: 'y', type: 'tensor(float)', shape: ['batch', 2] }],
      nodeCount: 3,
      operators: [
        { domain: '', opType: 'Gemm', count: 2 },
        { domain: '', opType: 'Relu', count: 1 },
      ],
      nonStandardDomains: [],
      metadataProps: { author: 'preflight', license: 'MIT' },
    });
  });

  it('external/model.onnx: references listed for the folder check, in the documented shape', async () => {
    const report = await scanFixture('external/model.onnx');
    expect(report.metadata.externalFiles).toEqual([{ location: 'weights.bin', tensors: 4, minimumSize: 232, problems: [] }]);
    expect(report.metadata.externalData).toEqual([
      { tensor: 'fc1.weight', location: 'weights.bin', offset: 0, length: 128, expectedLength: 128, modelOffset: expect.any(Number) },
      { tensor: 'fc1.bias', location: 'weights.bin', offset: 128, length: 32, expectedLength: 32, modelOffset: expect.any(Number) },
      { tensor: 'fc2.weight', location: 'weights.bin', offset: 160, length: 64, expectedLength: 64, modelOffset: expect.any(Number) },
      { tensor: 'fc2.bias', location: 'weights.bin', offset: 224, length: 8, expectedLength: 8, modelOffset: expect.any(Number) },
    ]);
    // The weights file beside it really is that long.
    expect(readFileSync(join(FIXTURES, 'external', 'weights.bin')).length).toBe(232);
    expect(report.tensors.map((entry) => [entry.name, entry.offset, entry.length])).toEqual([
      ['fc1.weight', -1, 128],
      ['fc1.bias', -1, 32],
      ['fc2.weight', -1, 64],
      ['fc2.bias', -1, 8],
    ]);
  });

  it('external_absolute.onnx: the escape finding quotes the location and points at the external_data entry', async () => {
    const report = await scanFixture('external_absolute.onnx');
    const finding = findingOf(report, 'onnx.external-data.path-escape')!;
    expect(finding.severity).toBe('high');
    expect(finding.detail).toContain('"/etc/passwd"');
    expect(finding.detail).toContain('absolute POSIX path');
    expect(finding.evidence).toBe('location="/etc/passwd"');
    expect(finding.references).toEqual(expect.arrayContaining(['CWE-22', 'CVE-2024-27318', 'CVE-2025-51480']));
    const bytes = fixture('external_absolute.onnx');
    const entry = new TextDecoder().decode(bytes.subarray(finding.location.offset!, finding.location.offset! + finding.location.length!));
    expect(entry).toContain('location');
    expect(entry).toContain('/etc/passwd');
    expect(report.metadata.externalFiles).toEqual([{ location: '/etc/passwd', tensors: 1, minimumSize: 128, problems: ['an absolute POSIX path'] }]);
  });

  it('external_traversal.onnx: ../../.ssh/id_rsa climbs out of the folder', async () => {
    const finding = findingOf(await scanFixture('external_traversal.onnx'), 'onnx.external-data.path-escape')!;
    expect(finding.detail).toContain('climbs out of the model folder');
    expect(finding.evidence).toBe('location="../../.ssh/id_rsa"');
  });

  it('python_op.onnx: PyOp is flagged with the module and class it imports as evidence', async () => {
    const report = await scanFixture('python_op.onnx');
    const python = findingOf(report, 'onnx.op.python')!;
    expect(python.severity).toBe('high');
    // onnx.helper writes attributes in name order.
    expect(python.evidence).toBe('class_name="system"; compute="compute"; module="os"');
    expect(python.detail).toContain('"py"');
    const custom = findingOf(report, 'onnx.domain.custom')!;
    expect(custom.detail).toContain('ai.onnx.contrib');
    expect(custom.detail).toContain('onnxruntime-extensions');
    expect(custom.detail).toContain('ReverseMatrix ×1');
    expect(custom.detail).not.toContain('PyOp');
  });

  it('custom_domains.onnx: com.microsoft is information, an unknown domain is medium, both listed in metadata', async () => {
    const report = await scanFixture('custom_domains.onnx');
    expect(findingOf(report, 'onnx.domain.contrib')).toMatchObject({ severity: 'info', detail: 'domain "com.microsoft": FusedMatMul ×1' });
    expect(findingOf(report, 'onnx.domain.custom')).toMatchObject({ severity: 'medium' });
    expect(findingOf(report, 'onnx.domain.custom')!.detail).toContain('"scramble"');
    expect(report.metadata.nonStandardDomains).toEqual(['com.example.custom', 'com.microsoft']);
  });

  it('subgraph.onnx: ops and initializers inside If branches are seen', async () => {
    const report = await scanFixture('subgraph.onnx');
    const custom = findingOf(report, 'onnx.domain.custom')!;
    expect(custom.detail).toContain('org.hidden');
    expect(custom.detail).toContain('else_branch');
    expect(report.tensors.map((entry) => entry.name)).toEqual(['else.bias']);
    expect(report.metadata.nodeCount).toBe(3);
    expect(report.metadata.subgraphCount).toBe(2);
  });
});

describe('detection by content', () => {
  const fixtures = ['mlp.onnx', 'external/model.onnx', 'custom_domains.onnx', 'python_op.onnx', 'subgraph.onnx', 'external_url.onnx'];

  it.each(fixtures)('%s is detected under a neutral name', (file) => {
    expect(looksLikeOnnxModel(fixture(file), 'weights.bin')).toBe(true);
  });

  it('a model cut to its first 40 bytes is still detected (the head may end inside the graph)', () => {
    expect(looksLikeOnnxModel(fixture('mlp.onnx').subarray(0, 40), 'x')).toBe(true);
  });

  const savedModelHead = concat(vField(1, 1), mField(2, mField(1, lField(1, ''), lField(4, 'serve'))));
  const coreMlHead = concat(vField(1, 4), mField(2, mField(1, lField(1, 'image'), mField(3, mField(4)))));
  const negatives: [string, Uint8Array, string][] = [
    ['empty', new Uint8Array(0), 'model.bin'],
    ['text', new TextEncoder().encode('{"architectures": ["Llama"]}'), 'config.json'],
    ['GGUF', new TextEncoder().encode('GGUF\u0003\u0000\u0000\u0000'), 'model.gguf'],
    ['a SavedModel head (its field 2 is a message, not a producer name)', savedModelHead, 'saved_model.pb'],
    ['a Core ML head', coreMlHead, 'model.mlmodel'],
    ['IR version 2 without the .onnx name', minimalModel({ irVersion: 2 }), 'model.bin'],
    ['IR version 1000', minimalModel({ irVersion: 1000 }), 'model.onnx'],
    ['a non-printable producer name', model({ producer: 'bad\u0001name', graph: graph({}) }), 'model.onnx'],
    ['an unknown top-level field', concat(vField(1, 8), vField(9, 1), lField(7, graph({}))), 'model.onnx'],
    ['a wrong wire type for ir_version', concat(lField(1, 'x'), lField(7, graph({}))), 'model.onnx'],
    ['a graph that does not start with a graph field', concat(vField(1, 8), lField(7, vField(3, 1))), 'model.bin'],
    ['a lone ir_version', vField(1, 8), 'model.bin'],
  ];

  it.each(negatives)('not claimed: %s', (_label, bytes, name) => {
    expect(looksLikeOnnxModel(bytes, name)).toBe(false);
  });

  it('fields out of order are accepted only with the .onnx name (ir_version last)', () => {
    const reordered = concat(lField(2, 'tool'), lField(7, graph({ nodes: [node({ op: 'Relu' })] })), mField(8, lField(1, ''), vField(2, 17)), vField(1, 8));
    expect(looksLikeOnnxModel(reordered, 'model.onnx')).toBe(true);
    expect(looksLikeOnnxModel(reordered, 'model.bin')).toBe(false);
  });

  it('no random 64 KiB buffer is claimed, named .onnx or not (2,000 seeds)', () => {
    const random = mulberry32(42);
    for (let index = 0; index < 2000; index++) {
      const bytes = new Uint8Array(256).map(() => Math.floor(random() * 256));
      if (index % 2 === 0) bytes[0] = 0x08;
      expect(looksLikeOnnxModel(bytes, 'model.bin')).toBe(false);
    }
  });

  it('the registry sends a pickle renamed .onnx to the pickle module, and calls the mismatch', async () => {
    const pickle = new Uint8Array([0x80, 0x02, 0x4b, 0x01, 0x2e]);
    const report = await scanSource(createMemorySource(pickle, 'model.onnx'), { createSha256: createNodeSha256 });
    expect(report.format).not.toBe('onnx');
    expect(rules(report)).toContain('format.extension-mismatch');
  });
});

describe('external data locations', () => {
  const table: [string, string[]][] = [
    ['weights.bin', []],
    ['model.onnx.data', []],
    ['data/part-0001.bin', []],
    ['./weights.bin', []],
    ['/etc/passwd', ['onnx.external-data.path-escape']],
    ['../../.ssh/id_rsa', ['onnx.external-data.path-escape']],
    ['data/../../secret', ['onnx.external-data.path-escape']],
    ['data/../weights.bin', ['onnx.external-data.unusual-location']],
    ['C:\\Windows\\win.ini', ['onnx.external-data.path-escape', 'onnx.external-data.unusual-location']],
    ['C:/Windows/win.ini', ['onnx.external-data.path-escape']],
    ['\\\\server\\share\\w.bin', ['onnx.external-data.path-escape', 'onnx.external-data.unusual-location']],
    ['\\\\?\\C:\\w.bin', ['onnx.external-data.path-escape', 'onnx.external-data.unusual-location']],
    ['..\\..\\w.bin', ['onnx.external-data.path-escape', 'onnx.external-data.unusual-location']],
    ['file:///etc/passwd', ['onnx.external-data.url']],
    ['https://example.com/w.bin', ['onnx.external-data.url']],
    ['~/.ssh/id_rsa', ['onnx.external-data.unusual-location']],
    ['weights.bin\u0000.txt', ['onnx.external-data.unusual-location']],
    ['%2e%2e/%2e%2e/etc/passwd', ['onnx.external-data.unusual-location']],
    ['NUL', ['onnx.external-data.unusual-location']],
    ['data/com1.bin', ['onnx.external-data.unusual-location']],
    ['C:weights.bin', ['onnx.external-data.unusual-location']],
    ['', ['onnx.external-data.unusual-location']],
    ['x'.repeat(MAX_LOCATION_CHARS + 1), ['onnx.external-data.unusual-location']],
  ];

  it.each(table)('%j → %j', (location, expected) => {
    expect([...new Set(classifyExternalLocation(location).map((problem) => problem.rule))].sort()).toEqual(expected);
  });

  it('offset and length that are not integers are invalid; a missing location too', async () => {
    const bytes = minimalModel({
      graph: graph({
        initializers: [
          tensor({ name: 'a', dims: [2], external: [['location', 'w.bin'], ['offset', '-4'], ['length', '8']] }),
          tensor({ name: 'b', dims: [2], external: [['location', 'w.bin'], ['offset', '0'], ['length', '1e3']] }),
          tensor({ name: 'c', dims: [2], external: [['offset', '0']] }),
        ],
      }),
    });
    const result = await inspectBytes(bytes);
    const invalid = result.findings.filter((finding) => finding.rule === 'onnx.external-data.invalid').map((finding) => finding.detail);
    expect(invalid).toEqual([
      'tensor "a" (graph "g") has external offset "-4", not a non-negative integer',
      'tensor "b" (graph "g") has external length "1e3", not a non-negative integer',
      'tensor "c" (graph "g") is stored externally but has no location',
    ]);
    expect(result.metadata.externalFiles).toEqual([{ location: 'w.bin', tensors: 2, minimumSize: null, problems: [] }]);
  });

  it('an external length that disagrees with dims × element size is a size mismatch', async () => {
    const bytes = minimalModel({ graph: graph({ initializers: [tensor({ name: 'w', dims: [4, 4], external: [['location', 'w.bin'], ['length', '60']] })] }) });
    const result = await inspectBytes(bytes);
    expect(findingOf(result, 'onnx.tensor.size-mismatch')!.detail).toContain('reads 60 bytes from "w.bin" but its dims [4, 4] need 64');
  });

  it('the last of two location entries wins (as in onnx and ONNX Runtime), and is the one judged', async () => {
    const bytes = minimalModel({ graph: graph({ initializers: [tensor({ name: 'w', dims: [1], external: [['location', 'w.bin'], ['location', '/root/.aws/credentials']] })] }) });
    const result = await inspectBytes(bytes);
    expect(findingOf(result, 'onnx.external-data.path-escape')!.evidence).toBe('location="/root/.aws/credentials"');
  });

  it('external_data without data_location EXTERNAL is still judged (other tools may follow it)', async () => {
    const bytes = minimalModel({ graph: graph({ initializers: [tensor({ name: 'w', dims: [1], dataLocation: 0, external: [['location', '/etc/shadow']] })] }) });
    expect(rules(await inspectBytes(bytes))).toContain('onnx.external-data.path-escape');
  });

  it('a Constant node tensor with external data is judged too', async () => {
    const constant = tensor({ name: 'k', dims: [1], external: [['location', '../../k.bin']] });
    const bytes = minimalModel({ graph: graph({ nodes: [node({ op: 'Constant', name: 'const', outputs: ['k'], attributes: [{ name: 'value', t: constant }] })] }) });
    const finding = findingOf(await inspectBytes(bytes), 'onnx.external-data.path-escape')!;
    expect(finding.detail).toContain('attribute "value" of node "const"');
  });
});

describe('tensor checks', () => {
  it.each([
    { label: 'raw_data shorter than dims × size', spec: { name: 't', dims: [2, 3], raw: new Uint8Array(20) }, rule: 'onnx.tensor.size-mismatch' },
    { label: 'a negative dim', spec: { name: 't', dims: [-1, 3], raw: new Uint8Array(0) }, rule: 'onnx.tensor.invalid-shape' },
    { label: 'dims whose product passes 2^53', spec: { name: 't', dims: [1n << 40n, 1n << 20n], raw: new Uint8Array(4) }, rule: 'onnx.tensor.invalid-shape' },
    { label: 'an unknown data_type', spec: { name: 't', dims: [1], dataType: 99, raw: new Uint8Array(4) }, rule: 'onnx.tensor.unknown-dtype' },
    { label: 'UNDEFINED data_type', spec: { name: 't', dims: [1], dataType: 0, raw: new Uint8Array(4) }, rule: 'onnx.tensor.unknown-dtype' },
  ])('$label → $rule', async ({ spec, rule }) => {
    const result = await inspectBytes(minimalModel({ graph: graph({ initializers: [tensor(spec)] }) }));
    expect(rules(result)).toEqual([rule]);
  });

  it('sub-byte types round up: 5 INT4 elements take 3 bytes', async () => {
    const result = await inspectBytes(minimalModel({ graph: graph({ initializers: [tensor({ name: 'q', dims: [5], dataType: 22, raw: new Uint8Array(3) })] }) }));
    expect(result.findings).toEqual([]);
    expect(result.tensors[0]).toMatchObject({ dtype: 'INT4', shape: [5], length: 3 });
  });

  it('typed data (float_data) is located when there is no raw_data', async () => {
    const floats = concat(vField(1, 2), vField(2, 1), lField(8, 'f'), lField(4, new Uint8Array(8)));
    const bytes = minimalModel({ graph: graph({ initializers: [floats] }) });
    const result = await inspectBytes(bytes);
    const info = result.tensors[0];
    expect(info).toMatchObject({ name: 'f', dtype: 'FLOAT', shape: [2], length: 8 });
    expect(bytes.subarray(info.offset - 2, info.offset)).toEqual(new Uint8Array([0x22, 0x08]));
  });
});

describe('operators and domains', () => {
  it('nodes calling model-local functions are not custom operators; the function bodies are walked', async () => {
    const local = functionProto('pkg.local', 'MyGelu', [node({ op: 'Tanh' }), node({ op: 'PyOp', domain: 'ai.onnx.contrib', name: 'hidden_py' })]);
    const bytes = model({
      graph: graph({ nodes: [node({ op: 'MyGelu', domain: 'pkg.local', name: 'call' })] }),
      opsets: [['', 17], ['pkg.local', 1]],
      functions: [local],
    });
    const result = await inspectBytes(bytes);
    expect(rules(result)).toEqual(['onnx.op.python']);
    expect(findingOf(result, 'onnx.op.python')!.detail).toContain('function "pkg.local:MyGelu"');
    expect(result.metadata.functions).toEqual([{ domain: 'pkg.local', name: 'MyGelu', nodes: 2 }]);
  });

  it('ai.onnx.ml and ai.onnx.preview.training are standard', async () => {
    const bytes = model({ graph: graph({ nodes: [node({ op: 'TreeEnsembleClassifier', domain: 'ai.onnx.ml' }), node({ op: 'Adagrad', domain: 'ai.onnx.preview.training' })] }) });
    expect((await inspectBytes(bytes)).findings).toEqual([]);
  });

  it('a subgraph nested in a subgraph is walked, without recursion limits being hit at 30 levels', async () => {
    let inner = graph({ name: 'deepest', nodes: [node({ op: 'Evil', domain: 'x.y', name: 'bottom' })] });
    for (let level = 0; level < 30; level++) inner = graph({ name: `level${level}`, nodes: [node({ op: 'Loop', name: `loop${level}`, attributes: [{ name: 'body', g: inner }] })] });
    const result = await inspectBytes(model({ graph: inner }));
    expect(rules(result)).toEqual(['onnx.domain.custom']);
    expect(result.metadata.subgraphCount).toBe(30);
  });
});

describe('malformed models keep what was read', () => {
  it('a truncated model: onnx.truncated at the cut, the fields before it reported', async () => {
    const bytes = fixture('mlp.onnx');
    const result = await inspectBytes(bytes.subarray(0, 400));
    expect(rules(result)).toEqual(['onnx.truncated']);
    expect(result.metadata.producerName).toBe('preflight-fixtures');
    expect(result.metadata.irVersion).toBe(8);
    // The graph was being read when the file ended: the nodes and the first initializers survive;
    // the cut lands in fc2.weight's raw_data (offset 396, 64 bytes), so its data is unknown.
    expect(result.metadata.nodeCount).toBe(3);
    expect(result.tensors.map((entry) => [entry.name, entry.offset, entry.length])).toEqual([
      ['fc1.weight', 196, 128],
      ['fc1.bias', 342, 32],
      ['fc2.weight', -1, 0],
    ]);
  });

  it('field number 0 is malformed, with its offset', async () => {
    const bytes = concat(vField(1, 8), lField(2, 'x'), new Uint8Array([0x00, 0x01]));
    const result = await inspectBytes(bytes);
    expect(result.findings).toMatchObject([{ rule: 'onnx.malformed', location: { offset: 5 } }]);
  });

  it('a nested length past its parent is malformed; past the file, truncated', async () => {
    const overParent = concat(vField(1, 8), lField(7, concat(tag(2, 2), varint(50), new TextEncoder().encode('g'))), lField(2, 'x'.repeat(60)));
    expect(rules(await inspectBytes(overParent))).toEqual(['onnx.malformed']);
    const overFile = concat(vField(1, 8), lHeader(7, 1000), lField(2, 'g'));
    expect(rules(await inspectBytes(overFile))).toEqual(['onnx.truncated']);
  });

  it('nesting deeper than the protobuf recursion limit is a limit finding, not a stack overflow', async () => {
    let inner = graph({ name: 'deepest' });
    for (let level = 0; level < 60; level++) inner = graph({ nodes: [node({ op: 'If', attributes: [{ name: 'g', g: inner }] })] });
    const result = await inspectBytes(model({ graph: inner }));
    expect(rules(result)).toEqual(['onnx.limit']);
    expect(findingOf(result, 'onnx.limit')!.detail).toMatch(/nested \d+ messages deep, over the limit of 100/);
  });

  it('missing ir_version and graph are reported when the protobuf is otherwise complete', async () => {
    const result = await inspectBytes(model({ irVersion: 0 }));
    expect(rules(result)).toEqual(['onnx.model.missing-graph', 'onnx.model.missing-ir-version']);
  });

  it('metadata_props keys from the file stay plain keys (a key __proto__ does not change the prototype)', async () => {
    const result = await inspectBytes(minimalModel({ metadata: [['__proto__', 'polluted'], ['constructor', 'x']] }));
    const props = result.metadata.metadataProps as Record<string, unknown>;
    expect(Object.getPrototypeOf(props)).toBe(Object.prototype);
    expect(Object.keys(props)).toEqual(['__proto__', 'constructor']);
    expect(JSON.parse(JSON.stringify(props))).toEqual(JSON.parse('{"__proto__":"polluted","constructor":"x"}'));
  });
});

describe('large models are never read whole', () => {
  /**
   * A virtual 1.9 GB model: a ModelProto whose graph embeds a 1.9 GB raw_data
   * initializer, then a node and the graph name. Only the header and trailer
   * bytes exist; the payload reads as zeros and every read is counted.
   */
  function virtualModel(payloadBytes: number) {
    const initializerHead = concat(vField(1, payloadBytes), vField(2, 2), lField(8, 'huge'), lHeader(9, payloadBytes));
    const initializerLength = initializerHead.length + payloadBytes;
    const trailer = concat(lField(1, node({ op: 'Identity', name: 'after', inputs: ['huge'], outputs: ['y'] })), lField(2, 'big_graph'));
    const graphLength = lHeader(5, initializerLength).length + initializerLength + trailer.length;
    const prefix = concat(vField(1, 9), lField(2, 'virtual'), mField(8, lField(1, ''), vField(2, 21)), lHeader(7, graphLength), lHeader(5, initializerLength), initializerHead);
    const size = prefix.length + payloadBytes + trailer.length;
    let bytesRead = 0;
    const source: ByteSource = {
      name: 'huge.onnx',
      size,
      async read(offset, length) {
        const end = Math.min(size, offset + length);
        if (offset >= end) return new Uint8Array(0);
        bytesRead += end - offset;
        const out = new Uint8Array(end - offset);
        for (let index = 0; index < out.length; index++) {
          const at = offset + index;
          if (at < prefix.length) out[index] = prefix[at];
          else if (at >= prefix.length + payloadBytes) out[index] = trailer[at - prefix.length - payloadBytes];
        }
        return out;
      },
      chunks() {
        throw new Error('the inspection must not stream the file');
      },
    };
    return { source, prefix, size, bytesRead: () => bytesRead };
  }

  it('a 1.9 GB embedded initializer is located without reading it (a few KB read in all)', async () => {
    const payload = 1_900_000_000;
    const virtual = virtualModel(payload);
    const head = await virtual.source.read(0, HEAD_BYTES);
    const result = await onnxFormat.inspect(virtual.source, { head });
    expect(result.findings).toEqual([]);
    expect(result.tensors).toEqual([{ name: 'huge', dtype: 'UINT8', shape: [payload], offset: virtual.prefix.length, length: payload }]);
    expect(result.metadata).toMatchObject({ irVersion: 9, graphName: 'big_graph', nodeCount: 1 });
    expect(virtual.bytesRead()).toBeLessThan(512 * 1024);
  });
});

describe('the protobuf walker', () => {
  const options = { truncatedRule: 'onnx.truncated', malformedRule: 'onnx.malformed', limitRule: 'onnx.limit' } as const;
  const plain = (value: unknown) => JSON.parse(JSON.stringify(value, (_key, inner) => (typeof inner === 'bigint' ? `${inner}n` : inner instanceof Uint8Array ? [...inner] : inner)));

  it.each(['mlp.onnx', 'subgraph.onnx', 'python_op.onnx', 'external/model.onnx'])('%s decodes the same whole, in memory, and over windows with every field walked', async (file) => {
    const bytes = fixture(file);
    const source = createMemorySource(bytes, file);
    const whole = await decodeMessageFromSource(MODEL_SPEC, source, options);
    const walked = await decodeMessageFromSource(MODEL_SPEC, source, { ...options, inlineFieldBytes: 0 });
    const inMemory = decodeMessageBytes(MODEL_SPEC, bytes, options);
    expect(whole.error).toBeNull();
    expect(walked.error).toBeNull();
    expect(plain(walked.message)).toEqual(plain(whole.message));
    expect(plain(inMemory)).toEqual(plain(whole.message));
  });

  it('stops at the value limit with a limit error and keeps the values before it', async () => {
    const result = await decodeMessageFromSource(MODEL_SPEC, createMemorySource(fixture('mlp.onnx'), 'm'), { ...options, maxValues: 10 });
    expect(result.error?.rule).toBe('onnx.limit');
    expect(result.error?.message).toContain('more than 10 decoded values');
    expect(result.message.producerName).toBe('preflight-fixtures');
  });

  it('stops at the text limit: names and strings cannot exhaust memory whatever the file size', async () => {
    const names = Array.from({ length: 50 }, (_, index) => node({ op: 'Relu', name: `${index}`.padStart(1000, 'n') }));
    const bytes = model({ graph: graph({ nodes: names }) });
    const result = await decodeMessageFromSource(MODEL_SPEC, createMemorySource(bytes, 'm'), { ...options, maxTextBytes: 20_000 });
    expect(result.error?.rule).toBe('onnx.limit');
    expect(result.error?.message).toContain('more than 20000 bytes of decoded text');
    expect(result.message.graph!.node.length).toBeGreaterThan(10);
    expect(result.message.graph!.node.length).toBeLessThan(25);
  });

  it('unknown fields and fields with an unexpected wire type are skipped, as protobuf does', () => {
    // ir_version, then field 9 (unknown) as fixed64, then producer_name sent as a varint (wrong wire type), then a group.
    const bytes = concat(vField(1, 7), tag(9, 1), new Uint8Array(8), vField(2, 5), tag(30, 3), vField(1, 1), tag(30, 4), lField(3, 'v1'));
    const decoded = decodeMessageBytes(MODEL_SPEC, bytes, options);
    expect(decoded.irVersion).toBe(7n);
    expect(decoded.producerName).toBeUndefined();
    expect(decoded.producerVersion).toBe('v1');
  });

  it('a varint longer than 10 bytes is malformed', async () => {
    const bytes = concat(tag(1, 0), new Uint8Array(11).fill(0x80), new Uint8Array([0x01]));
    const result = await decodeMessageFromSource(MODEL_SPEC, createMemorySource(bytes, 'm'), options);
    expect(result.error?.rule).toBe('onnx.malformed');
  });
});

describe('no code generation: the decoder runs under a CSP without unsafe-eval', () => {
  async function withoutEval<T>(run: () => Promise<T>): Promise<T> {
    const globals = globalThis as { Function: FunctionConstructor; eval: typeof eval };
    const saved = { Function: globals.Function, eval: globals.eval };
    const refuse = () => {
      throw new EvalError('Refused to evaluate a string as JavaScript (CSP without unsafe-eval)');
    };
    globals.Function = refuse as unknown as FunctionConstructor;
    globals.eval = refuse as unknown as typeof eval;
    try {
      return await run();
    } finally {
      globals.Function = saved.Function;
      globals.eval = saved.eval;
    }
  }

  it('inspects every fixture with Function and eval replaced by throwing stubs', async () => {
    for (const file of ['mlp.onnx', 'python_op.onnx', 'subgraph.onnx', 'external_absolute.onnx']) {
      const expected = await inspectBytes(fixture(file));
      const underCsp = await withoutEval(() => inspectBytes(fixture(file)));
      expect(underCsp).toEqual(expected);
    }
  });

  it('the stubs do catch code generation: protobufjs reflection (Type.decode) fails under them', async () => {
    const protobuf = await import('protobufjs/light.js');
    const root = protobuf.Root.fromJSON({ nested: { M: { fields: { irVersion: { type: 'int64', id: 1 } } } } });
    const type = root.lookupType('M');
    await expect(withoutEval(async () => type.decode(vField(1, 8)))).rejects.toThrow(/CSP without unsafe-eval/);
  });
});

describe('fuzz: mutated models never throw, never hang, never point outside the file', () => {
  it('3,000 mutations of the fixtures and hand-built models', async () => {
    const seeds = [
      fixture('mlp.onnx'),
      fixture('subgraph.onnx'),
      fixture('python_op.onnx'),
      fixture('external/model.onnx'),
      fixture('external_traversal.onnx'),
      minimalModel({ functions: [functionProto('d', 'f', [node({ op: 'Relu', attributes: [{ name: 'a', s: 'x' }] })])] }),
    ];
    const random = mulberry32(7);
    const pick = (limit: number) => Math.floor(random() * limit);
    const known = new Set(Object.keys(RULES));
    let slowest = 0;
    for (let round = 0; round < 3000; round++) {
      const bytes = mutate(seeds[round % seeds.length], random, pick);
      const started = performance.now();
      const result = await inspectBytes(bytes, round % 2 ? 'model.onnx' : 'model.bin');
      looksLikeOnnxModel(bytes, 'model.onnx');
      slowest = Math.max(slowest, performance.now() - started);
      for (const finding of result.findings) {
        expect(known.has(finding.rule), finding.rule).toBe(true);
        expect(finding.rule).not.toBe('scan.internal-error');
        const offset = finding.location.offset ?? 0;
        expect(offset >= 0 && offset <= bytes.length, `finding offset ${offset} in ${bytes.length} bytes`).toBe(true);
      }
      for (const entry of result.tensors) {
        if (entry.offset >= 0) expect(entry.offset + entry.length).toBeLessThanOrEqual(bytes.length);
      }
      expect(() => JSON.stringify(result.metadata)).not.toThrow();
    }
    expect(slowest).toBeLessThan(500);
  });
});

function mutate(seed: Uint8Array, random: () => number, pick: (limit: number) => number): Uint8Array {
  const bytes = Uint8Array.from(seed);
  switch (pick(6)) {
    case 0:
      for (let count = 1 + pick(4); count > 0; count--) bytes[pick(bytes.length)] = pick(256);
      return bytes;
    case 1:
      return bytes.subarray(0, pick(bytes.length));
    case 2:
      bytes[pick(bytes.length)] = [0x00, 0x7f, 0x80, 0xff][pick(4)];
      return bytes;
    case 3: {
      const at = pick(bytes.length);
      return concat(bytes.subarray(0, at), varint(BigInt(Math.floor(random() * 2 ** 32)) * BigInt(1 + pick(1000))), bytes.subarray(at));
    }
    case 4: {
      const from = pick(bytes.length);
      const to = Math.min(bytes.length, from + pick(64));
      const at = pick(bytes.length);
      return concat(bytes.subarray(0, at), bytes.subarray(from, to), bytes.subarray(at));
    }
    default: {
      const at = pick(bytes.length);
      return concat(bytes.subarray(0, at), attribute({ name: 'x', g: graph({ nodes: [bytes.subarray(0, pick(32))] }) }), bytes.subarray(at));
    }
  }
}

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}
