import { describe, expect, it } from 'vitest';
import { RULES } from '../../src/rules/index.ts';
import {
  DANGEROUS_GLOBALS,
  DANGEROUS_GLOBAL_ROWS,
  PY2_MODULE_RENAMES,
  SAFE_CLASS_MODULE_ROWS,
  SAFE_GLOBALS,
  SAFE_GLOBAL_ROWS,
  WEIGHTS_ONLY_GLOBALS,
  type DangerCategory,
} from '../../src/rules/pickle-globals.ts';
import {
  classifyGlobal,
  importRuleFor,
  judgePickle,
  weightsOnlyAcceptsGlobal,
  type PolicyInput,
} from '../../src/rules/pickle-policy.ts';

/** `a.b.c` → module `a.b`, name `c`. */
function splitPath(path: string): [string, string] {
  const dot = path.lastIndexOf('.');
  return [path.slice(0, dot), path.slice(dot + 1)];
}

function singleImport(module: string, name: string, opcode = 'GLOBAL'): PolicyInput {
  return { imports: [{ module, name, offset: 10, opcode }], unresolvedImports: [], extensionCodes: [], calls: [] };
}

function rulesOf(input: PolicyInput): string[] {
  return judgePickle(input, { weightsOnlyFinding: false }).findings.map((finding) => finding.rule);
}

describe('pickle globals tables', () => {
  it('have one row per path', () => {
    expect(DANGEROUS_GLOBALS.size).toBe(DANGEROUS_GLOBAL_ROWS.length);
    expect(SAFE_GLOBALS.size).toBe(SAFE_GLOBAL_ROWS.length);
  });

  it('give every row a reason', () => {
    for (const row of [...DANGEROUS_GLOBAL_ROWS, ...SAFE_GLOBAL_ROWS, ...SAFE_CLASS_MODULE_ROWS]) {
      expect(row.reason.length, JSON.stringify(row)).toBeGreaterThan(10);
    }
  });

  it('map every category to a rule of the catalog', () => {
    const categories = new Set<DangerCategory | 'dunder'>([...DANGEROUS_GLOBAL_ROWS.map((row) => row.category), 'dunder']);
    for (const category of categories) {
      const rule = importRuleFor(category);
      expect(RULES[rule], category).toBeDefined();
      expect(RULES[rule].effect).toBe('dangerous');
    }
  });
});

describe('every dangerous row', () => {
  it.each(DANGEROUS_GLOBAL_ROWS.map((row) => [row.path, row] as const))('%s is dangerous, with its rule', (path, row) => {
    const below = classifyGlobal(path, 'probe_child');
    expect(below).toMatchObject({ verdict: 'dangerous', category: row.category, matched: path });
    expect(rulesOf(singleImport(path, 'probe_child'))).toEqual([importRuleFor(row.category)]);

    if (path.includes('.')) {
      const [module, name] = splitPath(path);
      expect(classifyGlobal(module, name)).toMatchObject({ verdict: 'dangerous', category: row.category, matched: path });
    }
  });
});

describe('every safe row', () => {
  it.each(SAFE_GLOBAL_ROWS.map((row) => [row.path, row] as const))('%s is safe', (path, row) => {
    const [module, name] = splitPath(path);
    expect(classifyGlobal(module, name)).toMatchObject({ verdict: 'safe', path });
    const expectedRules = row.followUp === 'joblib-sibling-file' ? ['pickle.joblib.sibling-file'] : [];
    expect(rulesOf(singleImport(module, name))).toEqual(expectedRules);
    expect(weightsOnlyAcceptsGlobal(module, name)).toBe(row.weightsOnly);
    expect(judgePickle(singleImport(module, name)).weightsOnly.accepted).toBe(row.weightsOnly);
  });

  it('weights-only set is exactly the rows marked weightsOnly', () => {
    expect([...WEIGHTS_ONLY_GLOBALS].sort()).toEqual(
      SAFE_GLOBAL_ROWS.filter((row) => row.weightsOnly)
        .map((row) => row.path)
        .sort(),
    );
  });
});

describe('safe class modules admit classes only', () => {
  it.each(SAFE_CLASS_MODULE_ROWS.map((row) => [row.module, row] as const))('%s', (module, row) => {
    const sub = `${module}._impl`;
    expect(classifyGlobal(module, 'SomeEstimator')).toMatchObject({ verdict: 'safe' });
    expect(classifyGlobal(sub, 'SomeEstimator')).toMatchObject({ verdict: 'safe' });
    expect(classifyGlobal(sub, '_PrivateEstimator')).toMatchObject({ verdict: 'safe' });
    expect(classifyGlobal(sub, '__pyx_unpickle_CyLoss')).toMatchObject({ verdict: 'safe' });
    for (const helper of row.helperFunctions ?? []) {
      expect(classifyGlobal(sub, helper)).toMatchObject({ verdict: 'safe' });
    }
    // Lower-case names are re-exports as often as not (functools.partial, scipy.optimize.minimize).
    expect(classifyGlobal(sub, 'partial')).toMatchObject({ verdict: 'unknown' });
    expect(classifyGlobal(sub, 'as_strided')).toMatchObject({ verdict: 'unknown' });
    // A dotted name walks attributes out of the package.
    expect(classifyGlobal(sub, 'np.load')).not.toMatchObject({ verdict: 'safe' });
    expect(classifyGlobal(sub, 'Estimator.fit')).toMatchObject({ verdict: 'unknown' });
    // Test code ships with these packages and has helpers that run subprocesses.
    expect(classifyGlobal(`${module}.tests.test_things`, 'Helper')).toMatchObject({ verdict: 'unknown' });
    expect(classifyGlobal(`${module}.test_things`, 'Helper')).toMatchObject({ verdict: 'unknown' });
    // A sibling package that only shares a name prefix is not under the row.
    expect(classifyGlobal(`${module}x`, 'SomeEstimator')).toMatchObject({ verdict: 'unknown' });
  });
});

/** THREATS.md "Policy: allowlist first", the dangerous list, plus advisory gadgets: one row each. */
const THREAT_ROWS: [module: string, name: string, category: DangerCategory][] = [
  ['os', 'system', 'process'],
  ['posix', 'system', 'process'],
  ['nt', 'system', 'process'],
  ['subprocess', 'Popen', 'process'],
  ['subprocess', 'check_output', 'process'],
  ['sys', 'exit', 'import-machinery'],
  ['runpy', '_run_code', 'code-execution'],
  ['pty', 'spawn', 'process'],
  ['socket', 'create_connection', 'network'],
  ['ssl', 'wrap_socket', 'network'],
  ['shutil', 'rmtree', 'filesystem'],
  ['webbrowser', 'open', 'process'],
  ['ctypes', 'CDLL', 'code-execution'],
  ['importlib', 'import_module', 'trampoline'],
  ['importlib.util', 'spec_from_file_location', 'import-machinery'],
  ['pkgutil', 'resolve_name', 'trampoline'],
  ['pkgutil', 'get_importer', 'import-machinery'],
  ['pickle', 'loads', 'nested-loader'],
  ['pickle', 'Unpickler', 'nested-loader'],
  ['_pickle', 'loads', 'nested-loader'],
  ['dill', 'loads', 'nested-loader'],
  ['dill._dill', 'loads', 'nested-loader'],
  ['cloudpickle', 'loads', 'nested-loader'],
  ['marshal', 'loads', 'nested-loader'],
  ['code', 'InteractiveInterpreter', 'code-execution'],
  ['codeop', 'compile_command', 'code-execution'],
  ['types', 'CodeType', 'code-execution'],
  ['types', 'FunctionType', 'code-execution'],
  ['builtins', 'eval', 'code-execution'],
  ['builtins', 'exec', 'code-execution'],
  ['builtins', 'compile', 'code-execution'],
  ['builtins', 'open', 'filesystem'],
  ['builtins', 'getattr', 'trampoline'],
  ['builtins', 'setattr', 'trampoline'],
  ['builtins', '__import__', 'import-machinery'],
  ['builtins', 'breakpoint', 'debugger'],
  ['builtins', 'globals', 'trampoline'],
  ['builtins', 'vars', 'trampoline'],
  ['__builtin__', 'eval', 'code-execution'],
  ['__builtin__', 'getattr', 'trampoline'],
  ['__builtin__', 'open', 'filesystem'],
  ['__builtin__', 'apply', 'trampoline'],
  ['operator', 'attrgetter', 'trampoline'],
  ['operator', 'itemgetter', 'trampoline'],
  ['operator', 'methodcaller', 'trampoline'],
  ['_operator', 'methodcaller', 'trampoline'],
  ['functools', 'partial', 'trampoline'],
  ['_functools', 'partial', 'trampoline'],
  ['pip', 'main', 'process'],
  ['pip._internal.cli.main', 'main', 'process'],
  ['venv', 'create', 'process'],
  ['ensurepip', 'bootstrap', 'process'],
  ['asyncio', 'create_subprocess_shell', 'process'],
  ['asyncio.subprocess', 'create_subprocess_exec', 'process'],
  ['asyncio.unix_events', '_UnixSelectorEventLoop', 'process'],
  ['multiprocessing', 'Process', 'process'],
  ['multiprocessing.util', 'spawnv_passfds', 'process'],
  ['pdb', 'run', 'debugger'],
  ['bdb', 'Bdb', 'debugger'],
  ['cProfile', 'run', 'debugger'],
  ['profile', 'run', 'debugger'],
  ['timeit', 'timeit', 'debugger'],
  ['trace', 'Trace', 'debugger'],
  ['doctest', 'debug_script', 'debugger'],
  ['torch', 'load', 'nested-loader'],
  ['torch.serialization', 'load', 'nested-loader'],
  ['torch.hub', 'load', 'code-execution'],
  ['torch.jit', 'load', 'code-execution'],
  ['torch.jit._serialization', 'load', 'code-execution'],
  ['torch._inductor.codecache', 'PyCodeCache', 'code-execution'],
  ['torch._dynamo.eval_frame', 'innermost_fn', 'code-execution'],
  ['torch.storage', '_load_from_bytes', 'nested-loader'],
  ['torch.distributed.rpc', 'rpc_sync', 'network'],
  ['numpy.f2py', 'compile', 'code-execution'],
  ['numpy', 'load', 'nested-loader'],
  ['numpy.lib.npyio', 'load', 'nested-loader'],
  ['numpy.lib.npyio', 'loadtxt', 'filesystem'],
  ['joblib', 'load', 'nested-loader'],
  ['joblib.numpy_pickle', 'load', 'nested-loader'],
  // Advisory gadgets (picklescan / ModelScan / ModelAudit reports).
  ['torch.utils.collect_env', 'run', 'process'],
  ['uuid', '_get_command_stdout', 'process'],
  ['idlelib.pyshell', 'ModifiedInterpreter', 'code-execution'],
  ['idlelib.autocomplete', 'AutoComplete', 'code-execution'],
  ['lib2to3.pgen2.driver', 'load_grammar', 'nested-loader'],
  ['_osx_support', '_read_output', 'process'],
  ['_aix_support', '_aix_bos_rte', 'process'],
  ['distutils.spawn', 'spawn', 'process'],
  ['setuptools.sandbox', 'run_setup', 'process'],
  ['platform', '_syscmd_ver', 'process'],
  ['numpy.distutils.exec_command', 'exec_command', 'process'],
  ['torch._utils', '_import_dotted_name', 'trampoline'],
  ['numpy.core', '_ufunc_reconstruct', 'trampoline'],
  ['pydoc', 'locate', 'trampoline'],
  ['pydoc', 'pipepager', 'process'],
  ['cgi', 'FieldStorage', 'network'],
  ['http.server', 'HTTPServer', 'network'],
  ['urllib.request', 'urlopen', 'network'],
  ['urllib2', 'urlopen', 'network'],
  ['requests', 'get', 'network'],
  ['requests.api', 'post', 'network'],
  ['httplib', 'HTTPConnection', 'network'],
  ['smtplib', 'SMTP', 'network'],
  ['ftplib', 'FTP', 'network'],
  ['telnetlib', 'Telnet', 'network'],
  ['xmlrpc.client', 'ServerProxy', 'network'],
  ['imp', 'load_source', 'import-machinery'],
  ['zipimport', 'zipimporter', 'import-machinery'],
  ['site', 'main', 'import-machinery'],
  ['tempfile', 'mkstemp', 'filesystem'],
  ['torch.fx.graph_module', 'reduce_graph_module', 'code-execution'],
  ['logging.config', 'dictConfig', 'code-execution'],
  ['copyreg', 'add_extension', 'import-machinery'],
  ['weakref', 'finalize', 'trampoline'],
  ['atexit', 'register', 'trampoline'],
  ['itertools', 'starmap', 'trampoline'],
  ['builtins', 'map', 'trampoline'],
  ['commands', 'getoutput', 'process'],
  ['cPickle', 'loads', 'nested-loader'],
  ['fickling.fickle', 'Pickled', 'evasion'],
  ['picklescan.scanner', 'scan_pickle_bytes', 'evasion'],
  ['modelscan.modelscan', 'ModelScan', 'evasion'],
  ['modelaudit', 'scan', 'evasion'],
];

describe('threat list', () => {
  it.each(THREAT_ROWS)('%s.%s is %s', (module, name, category) => {
    expect(classifyGlobal(module, name)).toMatchObject({ verdict: 'dangerous', category });
    expect(rulesOf(singleImport(module, name))).toEqual([importRuleFor(category)]);
  });
});

describe('matching on every hop', () => {
  it.each([
    // os.path inherits os: a checkpoint has no reason to import it (pickled as posixpath anyway).
    ['os.path', 'join', 'os'],
    ['asyncio.unix_events', '_UnixSubprocessTransport', 'asyncio'],
    ['subprocess', 'Popen.__init__', 'subprocess'],
    // STACK_GLOBAL with a dotted name resolves through what the module imported.
    ['pathlib', 'os.system', 'os'],
    ['torch.serialization', 'os.system', 'os'],
    ['collections', 'x.os.system', 'os'],
    ['json', 'subprocess.Popen', 'subprocess'],
    ['torch', 'serialization.load', 'torch.serialization.load'],
    ['torch', 'storage._load_from_bytes', 'torch.storage._load_from_bytes'],
    // The longest row wins: a loader inside a file-system module is a nested loader.
    ['numpy.lib.npyio', 'load', 'numpy.lib.npyio.load'],
    ['pydoc', 'locate', 'pydoc.locate'],
  ])('%s + %s matches %s', (module, name, matched) => {
    expect(classifyGlobal(module, name)).toMatchObject({ verdict: 'dangerous', matched });
  });

  it('does not read a single-segment name alone', () => {
    // numpy.trace is a function, not the trace module.
    expect(classifyGlobal('numpy', 'trace')).toMatchObject({ verdict: 'unknown' });
    // A re-exported module object is inert on its own, but still not vetted.
    expect(classifyGlobal('pathlib', 'os')).toMatchObject({ verdict: 'unknown' });
  });

  it('does not match a module that only shares a name prefix', () => {
    expect(classifyGlobal('ossify', 'Thing')).toMatchObject({ verdict: 'unknown' });
    expect(classifyGlobal('codecs', 'lookup')).toMatchObject({ verdict: 'unknown' });
    expect(classifyGlobal('torch.jitter', 'X')).toMatchObject({ verdict: 'unknown' });
  });

  it('judges an allowlisted object reached through a dotted name as the object', () => {
    // torch joins module and name the same way, so weights_only agrees.
    expect(classifyGlobal('torch', 'nn.parameter.Parameter')).toMatchObject({ verdict: 'safe' });
    expect(weightsOnlyAcceptsGlobal('torch', 'nn.parameter.Parameter')).toBe(true);
  });
});

describe('dunders', () => {
  it.each([
    ['torch', '__builtins__'],
    ['__builtins__', 'eval'],
    ['collections', 'OrderedDict.__class__'],
    ['collections', 'OrderedDict.__init__.__globals__'],
    ['builtins', 'object.__subclasses__'],
    ['numpy', 'ndarray.__reduce__'],
    ['torch.__class__', 'Tensor'],
    ['__main__', '__builtins__'],
    ['builtins', '__build_class__'],
    ['torch', 'Tensor.__getattribute__'],
  ])('%s + %s is dangerous', (module, name) => {
    expect(classifyGlobal(module, name)).toMatchObject({ verdict: 'dangerous', category: 'dunder' });
    expect(rulesOf(singleImport(module, name))).toEqual(['pickle.import.dunder']);
  });

  it.each([
    ['copyreg', '__newobj__', 'safe'],
    ['copy_reg', '__newobj__', 'safe'],
    ['copyreg', '__newobj_ex__', 'safe'],
    ['__builtin__', 'set', 'safe'],
    ['numpy.random._pickle', '__randomstate_ctor', 'safe'],
    ['__main__', 'Net', 'unknown'],
    ['__main__.models', 'Net', 'unknown'],
  ])('%s + %s is %s (exempt: reviewed, Python 2 builtins, private, or the saving script)', (module, name, verdict) => {
    expect(classifyGlobal(module, name)).toMatchObject({ verdict });
  });
});

describe('Python 2 names', () => {
  it.each([
    ['__builtin__', 'set', 'safe'],
    ['__builtin__', 'frozenset', 'safe'],
    ['__builtin__', 'long', 'safe'],
    ['__builtin__', 'xrange', 'safe'],
    ['copy_reg', '_reconstructor', 'safe'],
    ['__builtin__', 'reduce', 'dangerous'],
    ['__builtin__', 'intern', 'dangerous'],
    ['__builtin__', 'execfile', 'dangerous'],
    ['__builtin__', 'file', 'dangerous'],
    ['itertools', 'imap', 'dangerous'],
    ['SimpleHTTPServer', 'SimpleHTTPRequestHandler', 'dangerous'],
    ['thread', 'start_new_thread', 'dangerous'],
  ])('%s.%s is %s', (module, name, verdict) => {
    expect(classifyGlobal(module, name)).toMatchObject({ verdict });
  });

  it('judges every renamed module at least as harshly as its new name', () => {
    for (const [oldName, newName] of PY2_MODULE_RENAMES) {
      const renamed = classifyGlobal(newName, 'Probe');
      if (renamed.verdict === 'dangerous') {
        expect(classifyGlobal(oldName, 'Probe'), oldName).toMatchObject({ verdict: 'dangerous', category: renamed.category });
      }
    }
  });

  it('follows PyTorch renames for weights_only', () => {
    expect(weightsOnlyAcceptsGlobal('__builtin__', 'set')).toBe(true);
    expect(weightsOnlyAcceptsGlobal('__builtin__', 'bytearray')).toBe(true);
    expect(weightsOnlyAcceptsGlobal('__builtin__', 'frozenset')).toBe(false);
    expect(weightsOnlyAcceptsGlobal('__builtin__', 'long')).toBe(false);
    expect(weightsOnlyAcceptsGlobal('copy_reg', '_reconstructor')).toBe(false);
  });
});

describe('names that are not plain dotted names', () => {
  it.each([
    ['os ', 'system', '"os "'],
    ['mypkg', 'Thing\n', '"Thing\\n"'],
    ['', 'Thing', 'module ""'],
    ['mypkg', '', 'name ""'],
    ['a..b', 'C', '"a..b"'],
    ['mypkg', '1abc', '"1abc"'],
    ['\uff4f\uff53', 'system', '"\\uff4f\\uff53"'],
    ['numpy', 'ndarray\u202e', '"ndarray\\u202e"'],
    ['mypkg', 'Thing"quoted', '"Thing\\"quoted"'],
  ])('%j + %j is unknown, shown escaped', (module, name, shown) => {
    expect(classifyGlobal(module, name)).toMatchObject({ verdict: 'unknown', oddName: true });
    const [finding] = judgePickle(singleImport(module, name), { weightsOnlyFinding: false }).findings;
    expect(finding.rule).toBe('pickle.import.odd-name');
    expect(finding.severity).toBe('high');
    expect(finding.detail).toContain(shown);
    expect(finding.detail).not.toMatch(/[\u0000-\u001f\u007f-\uffff]/);
  });

  it('still reports a dangerous module under an odd name', () => {
    expect(classifyGlobal('os', 'system\n')).toMatchObject({ verdict: 'dangerous', category: 'process' });
    expect(classifyGlobal('os', ' system')).toMatchObject({ verdict: 'dangerous', category: 'process' });
  });
});

describe('unknown globals', () => {
  it.each([
    ['mypkg.models', 'Evil'],
    ['numpy', 'trace'],
    ['sklearn.utils', 'deprecated'],
    ['builtins', 'print'],
    ['builtins', 'type'],
    ['torch._utils', '_rebuild_anything'],
    ['uuid', 'UUID'],
  ])('%s.%s is high and suspicious, with module and name in the detail', (module, name) => {
    const judgement = judgePickle(singleImport(module, name), { weightsOnlyFinding: false });
    expect(judgement.findings).toHaveLength(1);
    const [finding] = judgement.findings;
    expect(finding).toMatchObject({ rule: 'pickle.import.unknown', severity: 'high', location: { offset: 10 } });
    expect(RULES['pickle.import.unknown'].effect).toBe('suspicious');
    expect(finding.detail).toContain(`module "${module}"`);
    expect(finding.detail).toContain(`name "${name}"`);
    expect(finding.detail).toContain('not vetted, executes arbitrary constructors on load');
    expect(finding.evidence).toBe(`${module}.${name}`);
  });

  it('explains __main__ classes', () => {
    const [finding] = judgePickle(singleImport('__main__', 'Net'), { weightsOnlyFinding: false }).findings;
    expect(finding.rule).toBe('pickle.import.unknown');
    expect(finding.detail).toContain('script that saved the file');
  });
});

describe('Python 2 rename table', () => {
  it('has no dangerous row of its own (the Python 3 name is judged)', () => {
    for (const oldName of PY2_MODULE_RENAMES.keys()) {
      expect(DANGEROUS_GLOBALS.has(oldName), oldName).toBe(false);
    }
  });
});
