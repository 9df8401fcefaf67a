/**
 * The pickle globals policy as data: which `module.name` a pickle may import.
 *
 * A pickle runs code by importing a global (GLOBAL, STACK_GLOBAL, INST) and
 * calling it (REDUCE, NEWOBJ, OBJ, INST). Denylists lose — every advisory
 * against a denylist scanner is "a gadget you did not list" — so Preflight
 * classifies every global in one of three classes:
 *
 * - **safe**: a reviewed allowlist of ML building blocks ({@link SAFE_GLOBAL_ROWS},
 *   exact paths, and {@link SAFE_CLASS_MODULE_ROWS}, estimator packages whose
 *   *classes* are admitted);
 * - **dangerous**: {@link DANGEROUS_GLOBAL_ROWS}, each with a category that picks
 *   the rule id and the explanation. A row matches its path and everything
 *   under it (`asyncio` covers `asyncio.unix_events.…`);
 * - **unknown**: everything else; never reported as clean.
 *
 * The rows are reviewed like code and tested row by row
 * (test/rules/pickle-globals.test.ts). Every row carries its reason.
 *
 * Spec: https://docs.python.org/3/library/pickle.html (find_class, protocols),
 * https://github.com/python/cpython/blob/main/Lib/pickle.py and
 * https://github.com/pytorch/pytorch/blob/main/torch/_weights_only_unpickler.py.
 *
 * Sources: CPython `pickle.py`/`_compat_pickle.py`; PyTorch
 * `torch/_weights_only_unpickler.py` (`_get_allowed_globals`, 2.6+ defaults),
 * `torch/_utils.py`, `torch/storage.py`; picklescan / ModelScan / fickling /
 * ModelAudit advisories for the gadget rows; import lists of real
 * `torch.save`, `pickle.dump` and `joblib.dump` files (torch 1.13, NumPy 1.24,
 * scikit-learn 1.2, joblib 1.2), read with `pickletools.genops`.
 */

/** Why a dangerous global is dangerous; picks the rule id and its explanation. */
export type DangerCategory =
  | 'code-execution'
  | 'process'
  | 'filesystem'
  | 'network'
  | 'import-machinery'
  | 'nested-loader'
  | 'trampoline'
  | 'debugger'
  | 'evasion';

/** What a nested loader parses its argument as. */
export type NestedPayloadFormat = 'pickle' | 'torch' | 'numpy' | 'joblib' | 'marshal';

/**
 * How a trampoline names its real target from literal call arguments, so a
 * finding can say `getattr(pathlib.os, "system")` resolves to `os.system`.
 */
export type TargetResolution =
  /** `getattr(obj, "name")`: the object is a global argument, the attribute a string argument. */
  | { kind: 'attribute-of-arg'; objectArg: number; nameArg: number }
  /** `import_module("os")`, `pydoc.locate("os.system")`, `resolve_name("os:system")`. */
  | { kind: 'dotted-string'; arg: number }
  /** `_ufunc_reconstruct("os", "system")`. */
  | { kind: 'module-and-name'; moduleArg: number; nameArg: number }
  /** `attrgetter("system")`, `methodcaller("system", …)`: only the attribute name is known. */
  | { kind: 'attribute-name'; arg: number }
  /** `partial(os.system, …)`, `reduce(f, …)`: the callable is a global argument. */
  | { kind: 'callable-arg'; arg: number };

export interface DangerousGlobalRow {
  /** Dotted path; matches itself and everything under it. */
  path: string;
  category: DangerCategory;
  reason: string;
  /** Set on nested loaders: what their argument is parsed as. */
  loads?: NestedPayloadFormat;
  /** Set on trampolines whose target can be read from literal arguments. */
  resolves?: TargetResolution;
}

export interface SafeGlobalRow {
  /** Exact `module.name`. */
  path: string;
  reason: string;
  /** Accepted by `torch.load(weights_only=True)` with PyTorch's default allowlist (2.6+). */
  weightsOnly: boolean;
  /**
   * Indices of arguments this callable calls or constructs (at load or on later
   * use). It is only as safe as those arguments: a dangerous global there is a
   * dangerous call.
   */
  invokesArgs?: readonly number[];
  /** A safe import that still deserves a word: see `pickle.joblib.sibling-file`. */
  followUp?: 'joblib-sibling-file';
}

export interface SafeClassModuleRow {
  /** A module (package) prefix: matches itself and its submodules. */
  module: string;
  reason: string;
  /** Lower-case helper functions of these modules that real pickles import. */
  helperFunctions?: readonly string[];
}

function dangerous(
  category: DangerCategory,
  reason: string,
  paths: readonly string[],
  extra: Pick<DangerousGlobalRow, 'loads' | 'resolves'> = {},
): DangerousGlobalRow[] {
  return paths.map((path) => ({ path, category, reason, ...extra }));
}

function safe(reason: string, weightsOnly: boolean, paths: readonly string[]): SafeGlobalRow[] {
  return paths.map((path) => ({ path, reason, weightsOnly }));
}

// ---------------------------------------------------------------------------
// Dangerous globals
// ---------------------------------------------------------------------------

/**
 * Every dangerous path with its category. The longest matching row wins, so a
 * specific row (`numpy.lib.npyio.load`, nested loader) refines a module row
 * (`numpy.lib.npyio`, filesystem).
 */
export const DANGEROUS_GLOBAL_ROWS: readonly DangerousGlobalRow[] = [
  // --- code execution -----------------------------------------------------
  ...dangerous('code-execution', 'evaluates or compiles a string of Python code', [
    'builtins.eval',
    'builtins.exec',
    'builtins.compile',
    'builtins.execfile',
  ]),
  ...dangerous('code-execution', 'interactive interpreter: compiles and runs Python source', ['code', 'codeop']),
  ...dangerous('code-execution', 'builds code objects or functions from raw bytecode', [
    'types.CodeType',
    'types.FunctionType',
    'types.LambdaType',
    'types.MethodType',
  ]),
  ...dangerous('code-execution', 'runs a module or a script file as __main__', ['runpy']),
  ...dangerous('code-execution', 'calls native code: any C function at any address', [
    'ctypes',
    '_ctypes',
    'cffi',
    'numpy.ctypeslib',
  ]),
  ...dangerous('code-execution', 'compiles Fortran/C sources and imports the result', ['numpy.f2py']),
  ...dangerous('code-execution', 'IDLE internals: run code in a shell, remote debugger, subprocess', ['idlelib']),
  ...dangerous('code-execution', 'interactive shell that runs code', ['IPython']),
  ...dangerous('code-execution', 'logging configuration instantiates arbitrary callables and can listen on a socket', [
    'logging.config',
  ]),
  ...dangerous('code-execution', 'TorchScript: compiles and runs model code', ['torch.jit']),
  ...dangerous('code-execution', 'torch.compile stack: generates, compiles and runs code', [
    'torch._inductor',
    'torch._dynamo',
    'torch.compile',
  ]),
  ...dangerous('code-execution', 'downloads a repository and runs its hubconf.py', ['torch.hub']),
  ...dangerous('code-execution', 'torch.package importer: runs Python code stored in the package', ['torch.package']),
  ...dangerous('code-execution', 'builds and loads native extensions', ['torch.utils.cpp_extension']),
  ...dangerous('code-execution', 'torch.fx GraphModule unpickling execs Python source carried in the pickle', [
    'torch.fx',
  ]),
  ...dangerous('code-execution', 'test helpers that run Python source in a subprocess', ['sklearn.utils._testing']),

  // --- processes ----------------------------------------------------------
  ...dangerous('process', 'operating-system interface: os.system, exec*, spawn*, popen, kill (os.path too: a checkpoint has no reason to touch os)', [
    'os',
    'posix',
    'nt',
  ]),
  ...dangerous('process', 'starts programs in new processes', ['subprocess', '_posixsubprocess', '_winapi', 'popen2']),
  ...dangerous('process', 'spawns a shell on a pseudo-terminal', ['pty']),
  ...dangerous('process', 'sends signals to processes', ['signal']),
  ...dangerous('process', 'starts worker processes that run given callables', ['multiprocessing']),
  ...dangerous('process', 'event loop: create_subprocess_shell, subprocess transports, raw sockets', ['asyncio']),
  ...dangerous('process', 'queries run external commands (uname, file, ver)', ['platform']),
  ...dangerous('process', 'runs a shell command and returns its output (known pickle gadget)', [
    'uuid._get_command_stdout',
    'uuid._popen',
    'uuid._find_mac',
    'uuid._find_mac_near_keyword',
    'uuid._find_mac_under_heading',
    'uuid._ifconfig_getnode',
    'uuid._ip_getnode',
    'uuid._arp_getnode',
    'uuid._lanscan_getnode',
    'uuid._netstat_getnode',
  ]),
  ...dangerous('process', 'build-support helpers that run compilers and shell commands', [
    '_osx_support',
    '_aix_support',
    'distutils',
    'setuptools',
    'numpy.distutils',
  ]),
  ...dangerous('process', 'installs packages: downloads them and runs their build scripts', ['pip', 'ensurepip', 'venv']),
  ...dangerous('process', 'launches a web browser program', ['webbrowser']),
  ...dangerous('process', 'runs a shell command and returns its output (known pickle gadget)', ['torch.utils.collect_env']),
  ...dangerous('process', 'pipes text through a shell command', [
    'pydoc.pipepager',
    'pydoc.tempfilepager',
    'pydoc.pager',
    'pydoc.getpager',
  ]),
  ...dangerous('process', 'terminates the interpreter', ['builtins.exit', 'builtins.quit']),

  // --- file system --------------------------------------------------------
  ...dangerous('filesystem', 'opens a file for reading or writing', [
    'builtins.open',
    'builtins.file',
    'io.open',
    'io.open_code',
    'io.FileIO',
    '_io.open',
    '_io.open_code',
    '_io.FileIO',
    'codecs.open',
    'fileinput',
    'gzip.open',
    'bz2.open',
    'lzma.open',
    'logging.FileHandler',
  ]),
  ...dangerous('filesystem', 'copies, moves and deletes files and trees', ['shutil']),
  ...dangerous('filesystem', 'creates (and on cleanup deletes) files and directories', ['tempfile']),
  ...dangerous('filesystem', 'reads arbitrary source lines from files', ['linecache']),
  ...dangerous('filesystem', 'opening an archive for writing truncates the file on construction', ['zipfile', 'tarfile']),
  ...dangerous('filesystem', 'opens database files, creating them', ['dbm', 'sqlite3']),
  ...dangerous('filesystem', 'maps files into memory', ['mmap']),
  ...dangerous('filesystem', 'writes tracebacks to a log directory', ['cgitb']),
  ...dangerous('filesystem', 'reads or writes arrays to files by path', [
    'numpy.save',
    'numpy.savez',
    'numpy.savez_compressed',
    'numpy.savetxt',
    'numpy.fromfile',
    'numpy.memmap',
    'numpy.loadtxt',
    'numpy.genfromtxt',
    'numpy.fromregex',
    'numpy.lib.npyio',
    'numpy.lib._npyio_impl',
  ]),
  ...dangerous('filesystem', 'reads or writes tensors and files by path', [
    'torch.save',
    'torch.serialization.save',
    'torch.from_file',
  ]),
  ...dangerous('filesystem', 'writes a pickle to a path', ['joblib.dump', 'joblib.numpy_pickle.dump']),

  // --- network ------------------------------------------------------------
  ...dangerous('network', 'opens network connections', ['socket', '_socket', 'ssl', '_ssl', 'socketserver']),
  // Python 2 module names (urllib2, httplib, cPickle, thread …) are judged under
  // their Python 3 names through PY2_MODULE_RENAMES, so they have no rows here.
  ...dangerous('network', 'HTTP clients and servers: fetch URLs, serve files', [
    'http.client',
    'http.server',
    'urllib.request',
    'urllib.urlopen',
    'urllib.urlretrieve',
    'requests',
    'httpx',
    'aiohttp',
    'urllib3',
    'wsgiref',
    'cgi',
  ]),
  ...dangerous('network', 'mail, file-transfer and remote-shell protocols', [
    'smtplib',
    'ftplib',
    'telnetlib',
    'poplib',
    'imaplib',
    'nntplib',
  ]),
  ...dangerous('network', 'remote procedure calls', ['xmlrpc', 'torch.distributed.rpc']),
  ...dangerous('network', 'network logging handlers (socket, HTTP, SMTP)', ['logging.handlers']),
  ...dangerous('network', 'downloads files from the Hugging Face Hub', ['huggingface_hub']),

  // --- import machinery ---------------------------------------------------
  ...dangerous('import-machinery', 'imports modules by name and manipulates the import system', [
    'importlib',
    'imp',
    'zipimport',
    'pkg_resources',
  ]),
  ...dangerous('import-machinery', 'walks and imports packages', ['pkgutil']),
  ...dangerous('import-machinery', 'interpreter internals: sys.modules, sys.path, trace hooks, exit', ['sys']),
  ...dangerous('import-machinery', 'runs .pth files and site customisation', ['site']),
  ...dangerous('import-machinery', 'imports a module by name', ['builtins.__import__'], {
    resolves: { kind: 'dotted-string', arg: 0 },
  }),
  ...dangerous('import-machinery', 'pydoc imports modules by name to document them', ['builtins.help', 'pydoc']),
  ...dangerous('import-machinery', 'imports a module by name and executes it', ['torch._utils.try_import']),
  ...dangerous('import-machinery', 'changes how the unpickler resolves extension codes and constructors', [
    'copyreg.add_extension',
    'copyreg.remove_extension',
    'copyreg.clear_extension_cache',
    'copyreg.pickle',
    'copyreg.constructor',
  ]),

  // --- nested loaders -----------------------------------------------------
  ...dangerous('nested-loader', 'unpickles its bytes argument: a second pickle the outer scan cannot see as such', [
    'pickle.loads',
    'pickle._loads',
    '_pickle.loads',
    'dill.loads',
    'dill._dill.loads',
    'cloudpickle.loads',
    'numpy.loads',
    'pandas.compat.pickle_compat.loads',
  ], { loads: 'pickle' }),
  ...dangerous('nested-loader', 'unpickles from a file or stream argument', [
    'pickle',
    '_pickle',
    'dill',
    'cloudpickle',
    'shelve',
    'pandas.read_pickle',
    'pandas.io.pickle',
    'pandas.compat.pickle_compat',
    'torch._utils._augment_memory_snapshot_stack_traces',
  ]),
  ...dangerous('nested-loader', 'lib2to3 grammar loading unpickles a file named by the caller', ['lib2to3']),
  ...dangerous('nested-loader', 'unmarshals code objects from bytes (then runnable through types.FunctionType)', ['marshal'], {
    loads: 'marshal',
  }),
  ...dangerous('nested-loader', 'torch.load with the full unpickler, on its argument', [
    'torch.load',
    'torch.serialization.load',
    'torch.serialization._load',
    'torch.serialization._legacy_load',
  ], { loads: 'torch' }),
  ...dangerous('nested-loader', 'torch.load(io.BytesIO(b), weights_only=False) on its bytes argument', [
    'torch.storage._load_from_bytes',
  ], { loads: 'torch' }),
  ...dangerous('nested-loader', 'numpy.load on its argument (allow_pickle reaches pickle)', [
    'numpy.load',
    'numpy.lib.npyio.load',
    'numpy.lib._npyio_impl.load',
    'numpy.lib.format',
  ], { loads: 'numpy' }),
  ...dangerous('nested-loader', 'joblib.load on its argument: a full pickle load', [
    'joblib.load',
    'joblib.numpy_pickle.load',
    'joblib.numpy_pickle_compat.load_compatibility',
  ], { loads: 'joblib' }),

  // --- trampolines --------------------------------------------------------
  ...dangerous('trampoline', 'fetches any attribute of any object (reaches os.system from a harmless module)', [
    'builtins.getattr',
  ], { resolves: { kind: 'attribute-of-arg', objectArg: 0, nameArg: 1 } }),
  ...dangerous('trampoline', 'sets or deletes attributes on live objects and modules', ['builtins.setattr', 'builtins.delattr'], {
    resolves: { kind: 'attribute-of-arg', objectArg: 0, nameArg: 1 },
  }),
  ...dangerous('trampoline', 'hands out live namespaces (module globals, builtins)', [
    'builtins.globals',
    'builtins.locals',
    'builtins.vars',
  ]),
  ...dangerous('trampoline', 'calls the function given as its first argument', [
    'builtins.map',
    'builtins.filter',
    'builtins.apply',
    'itertools.starmap',
    'functools.partial',
    'functools.partialmethod',
    'functools.reduce',
    '_functools',
    'operator.call',
    '_operator.call',
    '_thread',
    'atexit',
  ], { resolves: { kind: 'callable-arg', arg: 0 } }),
  ...dangerous('trampoline', 'calls the function given as its second argument when the object is collected', ['weakref.finalize'], {
    resolves: { kind: 'callable-arg', arg: 1 },
  }),
  ...dangerous('trampoline', 'builds a function that fetches or calls a named attribute', [
    'operator.attrgetter',
    'operator.itemgetter',
    'operator.methodcaller',
    '_operator.attrgetter',
    '_operator.itemgetter',
    '_operator.methodcaller',
  ], { resolves: { kind: 'attribute-name', arg: 0 } }),
  ...dangerous('trampoline', 'imports a module by name', ['importlib.import_module'], {
    resolves: { kind: 'dotted-string', arg: 0 },
  }),
  ...dangerous('trampoline', 'resolves any dotted name to an object (imports it)', [
    'pkgutil.resolve_name',
    'pydoc.locate',
    'torch._utils._import_dotted_name',
  ], { resolves: { kind: 'dotted-string', arg: 0 } }),
  ...dangerous('trampoline', 'imports any module and returns any attribute of it', [
    'numpy.core._ufunc_reconstruct',
    'numpy._core._ufunc_reconstruct',
  ], { resolves: { kind: 'module-and-name', moduleArg: 0, nameArg: 1 } }),

  // --- debuggers and profilers --------------------------------------------
  ...dangerous('debugger', 'debugger and profiler entry points run a string of Python code (pdb.run, cProfile.run, timeit.timeit) or stop the process', [
    'pdb',
    'bdb',
    'cProfile',
    'profile',
    '_lsprof',
    'timeit',
    'trace',
    'doctest',
  ]),
  ...dangerous('debugger', 'stops the process and waits on the terminal', ['builtins.breakpoint', 'builtins.input', 'builtins.raw_input']),

  // --- scanner evasion ----------------------------------------------------
  ...dangerous('evasion', 'model-scanner library imported from inside a model file', [
    'fickling',
    'picklescan',
    'modelscan',
    'modelaudit',
  ]),
];

// ---------------------------------------------------------------------------
// Safe globals
// ---------------------------------------------------------------------------

/** `torch.<name>Storage` and `torch.cuda.<name>Storage`: the legacy typed storages in `torch._storage_classes`. */
const TORCH_CPU_STORAGES = [
  'Double', 'Float', 'Half', 'Long', 'Int', 'Short', 'Char', 'Byte', 'Bool', 'BFloat16',
  'ComplexDouble', 'ComplexFloat', 'QUInt8', 'QInt8', 'QInt32', 'QUInt4x2', 'QUInt2x4',
];
const TORCH_CUDA_STORAGES = [
  'Double', 'Float', 'Half', 'Long', 'Int', 'Short', 'Char', 'Byte', 'Bool', 'BFloat16', 'ComplexDouble', 'ComplexFloat',
];
/** Legacy tensor types in `torch._tensor_classes` (dense and sparse, CPU and CUDA). */
const TORCH_DENSE_TENSOR_TYPES = ['Double', 'Float', 'Half', 'BFloat16', 'Byte', 'Char', 'Short', 'Int', 'Long', 'Bool'];
const TORCH_SPARSE_TENSOR_TYPES = ['Double', 'Float', 'Half', 'BFloat16', 'Byte', 'Char', 'Short', 'Int', 'Long'];
/** `str(dtype)` of every dtype the weights-only unpickler registers (storage map, `_new_dtypes`, `uint1..7`, `int1..7`). */
const TORCH_DTYPES = [
  'float64', 'float32', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool',
  'complex128', 'complex64', 'complex32', 'quint8', 'qint8', 'qint32', 'quint4x2', 'quint2x4',
  'float8_e5m2', 'float8_e4m3fn', 'float8_e5m2fnuz', 'float8_e4m3fnuz', 'float8_e8m0fnu', 'float4_e2m1fn_x2',
  'bits8', 'bits16', 'bits1x8', 'bits2x4', 'bits4x2', 'uint16', 'uint32', 'uint64',
  'uint1', 'uint2', 'uint3', 'uint4', 'uint5', 'uint6', 'uint7',
  'int1', 'int2', 'int3', 'int4', 'int5', 'int6', 'int7',
];
const TORCH_QSCHEMES = [
  'per_tensor_affine', 'per_tensor_symmetric', 'per_channel_affine', 'per_channel_symmetric', 'per_channel_affine_float_qparams',
];
/** `torch._utils` rebuild functions in `_tensor_rebuild_functions()` (weights-only default). */
const TORCH_REBUILD_WEIGHTS_ONLY = [
  '_rebuild_parameter', '_rebuild_parameter_with_state', '_rebuild_qtensor', '_rebuild_tensor', '_rebuild_tensor_v2',
  '_rebuild_tensor_v3', '_rebuild_sparse_tensor', '_rebuild_meta_tensor_no_storage',
  '_rebuild_device_tensor_from_numpy', '_rebuild_device_tensor_from_cpu_tensor',
];
/** NumPy scalar types as `numpy.<__name__>`; pickled as class references (e.g. an encoder's `dtype=np.float64`). */
const NUMPY_SCALAR_TYPES = [
  'bool_', 'bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'intc', 'uintc',
  'longlong', 'ulonglong', 'float16', 'float32', 'float64', 'float128', 'longdouble', 'complex64', 'complex128',
  'complex256', 'clongdouble', 'str_', 'bytes_', 'object_', 'void', 'datetime64', 'timedelta64',
];
const SCIPY_SPARSE_FORMATS = ['csr', 'csc', 'coo', 'lil', 'dok', 'bsr', 'dia'];

/** Every safe exact global. */
export const SAFE_GLOBAL_ROWS: readonly SafeGlobalRow[] = [
  // --- what torch.load(weights_only=True) accepts by default --------------
  // From `_get_allowed_globals()` (PyTorch 2.6+). Not in it, so refused unless
  // the caller adds them: every NumPy global (pytorch/pytorch#146885),
  // builtins.frozenset and builtins.bytes (emitted for frozensets and b'' at protocol 2).
  ...safe('ordered dict: the state_dict container', true, ['collections.OrderedDict']),
  ...safe('counter: a dict of counts', true, ['collections.Counter']),
  ...safe('tensor parameter class; rebuilt from a tensor and a flag', true, ['torch.nn.parameter.Parameter']),
  ...safe('shape tuple', true, ['torch.Size']),
  ...safe('tensor base class, used by legacy BUILD of tensors', true, ['torch.Tensor']),
  ...safe('device descriptor parsed from a string such as "cuda:0"', true, ['torch.device']),
  ...safe('maps a layout name to a torch.layout', true, ['torch.serialization._get_layout']),
  ...safe(
    'protocol-2 encoding of bytes: turns a latin-1 string into bytes with a codec from the fixed encodings package; data only, never code',
    true,
    ['_codecs.encode'],
  ),
  ...safe('mutable bytes container', true, ['builtins.bytearray']),
  ...safe('set container', true, ['builtins.set']),
  ...safe('complex number', true, ['builtins.complex']),
  ...safe('tensor dtype singleton', true, TORCH_DTYPES.map((dtype) => `torch.${dtype}`)),
  ...safe('quantization scheme singleton', true, TORCH_QSCHEMES.map((scheme) => `torch.${scheme}`)),
  ...safe('legacy typed storage class, named in persistent ids of tensor data', true, [
    ...TORCH_CPU_STORAGES.map((kind) => `torch.${kind}Storage`),
    ...TORCH_CUDA_STORAGES.map((kind) => `torch.cuda.${kind}Storage`),
    'torch.storage.TypedStorage',
    'torch.storage.UntypedStorage',
  ]),
  ...safe('legacy tensor type', true, [
    ...TORCH_DENSE_TENSOR_TYPES.map((kind) => `torch.${kind}Tensor`),
    ...TORCH_DENSE_TENSOR_TYPES.map((kind) => `torch.cuda.${kind}Tensor`),
    ...TORCH_SPARSE_TENSOR_TYPES.map((kind) => `torch.sparse.${kind}Tensor`),
    ...TORCH_SPARSE_TENSOR_TYPES.map((kind) => `torch.cuda.sparse.${kind}Tensor`),
  ]),
  ...safe(
    'rebuilds a tensor from storage, offset, size, stride (and flags)',
    true,
    TORCH_REBUILD_WEIGHTS_ONLY.map((name) => `torch._utils.${name}`),
  ),
  {
    path: 'torch._utils._rebuild_wrapper_subclass',
    reason: 'makes a tensor of the subclass given as first argument (an import, checked on its own)',
    weightsOnly: true,
    invokesArgs: [0],
  },
  {
    path: 'torch._tensor._rebuild_from_type_v2',
    reason: 'calls its first argument (a rebuild function) and casts to the class given second; both are imports checked on their own',
    weightsOnly: true,
    invokesArgs: [0, 1],
  },

  // --- torch, safe to construct but outside weights_only ------------------
  ...safe('older or rarer tensor rebuild functions; they only build tensors', false, [
    'torch._utils._rebuild_sparse_csr_tensor',
    'torch._utils._rebuild_nested_tensor',
    'torch._utils._rebuild_xla_tensor',
    'torch._utils._rebuild_mlc_tensor',
  ]),
  ...safe('parameter and buffer classes outside the default allowlist', false, [
    'torch.nn.Parameter',
    'torch.nn.parameter.Buffer',
    'torch.nn.parameter.UninitializedParameter',
    'torch.nn.parameter.UninitializedBuffer',
  ]),
  ...safe('untyped storage under its public name; the weights-only allowlist keys it as torch.storage.UntypedStorage', false, [
    'torch.UntypedStorage',
  ]),

  // --- Python containers and plain values ---------------------------------
  ...safe('built-in container or value type; constructing it runs no user code', false, [
    'builtins.frozenset',
    'builtins.bytes',
    'builtins.slice',
    'builtins.range',
    'builtins.list',
    'builtins.dict',
    'builtins.tuple',
    'builtins.int',
    'builtins.float',
    'builtins.str',
    'builtins.bool',
    'builtins.Ellipsis',
    'builtins.NotImplemented',
  ]),
  ...safe('plain object base; copyreg._reconstructor passes it as the base class', false, ['builtins.object']),
  ...safe('double-ended queue container', false, ['collections.deque']),
  {
    path: 'collections.defaultdict',
    reason: 'dict whose default_factory (first argument) is called on missing keys: only as safe as that factory',
    weightsOnly: false,
    invokesArgs: [0],
  },
  {
    path: 'copyreg._reconstructor',
    reason: 'protocol 0/1 object rebuild: base.__new__(cls) and, for non-object bases, base.__init__(obj, state); safe when cls and base are safe imports',
    weightsOnly: false,
    invokesArgs: [0, 1],
  },
  {
    path: 'copyreg.__newobj__',
    reason: 'protocol 0/1 spelling of NEWOBJ: cls.__new__(cls, *args); safe when cls is a safe import',
    weightsOnly: false,
    invokesArgs: [0],
  },
  {
    path: 'copyreg.__newobj_ex__',
    reason: 'protocol 0/1 spelling of NEWOBJ_EX: cls.__new__(cls, *args, **kwargs); safe when cls is a safe import',
    weightsOnly: false,
    invokesArgs: [0],
  },
  ...safe('date and time values (checkpoint timestamps)', false, [
    'datetime.datetime',
    'datetime.date',
    'datetime.time',
    'datetime.timedelta',
    'datetime.timezone',
  ]),
  ...safe('parsed command-line options saved with training checkpoints; only sets attributes', false, ['argparse.Namespace']),
  ...safe('file-system path value; constructing it touches no file', false, [
    'pathlib.Path',
    'pathlib.PosixPath',
    'pathlib.WindowsPath',
    'pathlib.PurePath',
    'pathlib.PurePosixPath',
    'pathlib.PureWindowsPath',
    'pathlib._local.Path',
    'pathlib._local.PosixPath',
    'pathlib._local.WindowsPath',
    'pathlib._local.PurePath',
    'pathlib._local.PurePosixPath',
    'pathlib._local.PureWindowsPath',
  ]),

  // --- NumPy reconstruction (not in the weights-only defaults) ------------
  ...safe('rebuilds an empty ndarray of a given subclass, shape and dtype; data arrives through BUILD', false, [
    'numpy.core.multiarray._reconstruct',
    'numpy._core.multiarray._reconstruct',
  ]),
  ...safe('rebuilds a NumPy scalar from a dtype and its raw bytes', false, [
    'numpy.core.multiarray.scalar',
    'numpy._core.multiarray.scalar',
  ]),
  ...safe('protocol-5 array view over an out-of-band buffer', false, [
    'numpy.core.numeric._frombuffer',
    'numpy._core.numeric._frombuffer',
  ]),
  ...safe('array and dtype classes', false, ['numpy.ndarray', 'numpy.dtype']),
  ...safe('NumPy scalar type', false, NUMPY_SCALAR_TYPES.map((type) => `numpy.${type}`)),
  {
    path: 'numpy.ma.core._mareconstruct',
    reason: 'rebuilds a masked array: __new__ of the two classes given (imports checked on their own)',
    weightsOnly: false,
    invokesArgs: [0, 1],
  },
  ...safe('masked array class', false, ['numpy.ma.core.MaskedArray']),
  ...safe('rebuilds a bit generator by name from NumPy\'s fixed registry', false, ['numpy.random._pickle.__bit_generator_ctor']),
  {
    path: 'numpy.random._pickle.__randomstate_ctor',
    reason: 'rebuilds a RandomState (random_state of estimators); calls its second argument, a bit-generator constructor',
    weightsOnly: false,
    invokesArgs: [1],
  },
  {
    path: 'numpy.random._pickle.__generator_ctor',
    reason: 'rebuilds a Generator; calls its second argument, a bit-generator constructor',
    weightsOnly: false,
    invokesArgs: [1],
  },
  ...safe('random generator and bit generator classes', false, [
    'numpy.random.mtrand.RandomState',
    'numpy.random._generator.Generator',
    'numpy.random._mt19937.MT19937',
    'numpy.random._pcg64.PCG64',
    'numpy.random._pcg64.PCG64DXSM',
    'numpy.random._philox.Philox',
    'numpy.random._sfc64.SFC64',
    'numpy.random.bit_generator.SeedSequence',
  ]),

  // --- joblib -------------------------------------------------------------
  ...safe('describes the raw array bytes that follow it in the same stream (scanned in place)', false, [
    'joblib.numpy_pickle.NumpyArrayWrapper',
    'sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper',
  ]),
  ...[
    'joblib.numpy_pickle_compat.NDArrayWrapper',
    'joblib.numpy_pickle_compat.ZNDArrayWrapper',
    'sklearn.externals.joblib.numpy_pickle_compat.NDArrayWrapper',
    'sklearn.externals.joblib.numpy_pickle_compat.ZNDArrayWrapper',
  ].map(
    (path): SafeGlobalRow => ({
      path,
      reason: 'old joblib (< 0.10) array placeholder; joblib.load then reads a sibling file named in the pickle, with allow_pickle',
      weightsOnly: false,
      followUp: 'joblib-sibling-file',
    }),
  ),

  // --- SciPy sparse matrices (TF-IDF and one-hot outputs) -----------------
  ...safe(
    'sparse matrix or array container',
    false,
    SCIPY_SPARSE_FORMATS.flatMap((format) => [
      `scipy.sparse._${format}.${format}_matrix`,
      `scipy.sparse._${format}.${format}_array`,
      `scipy.sparse._arrays.${format}_array`,
      `scipy.sparse.${format}.${format}_matrix`,
    ]),
  ),

  // --- scikit-learn helpers outside the estimator packages -----------------
  ...safe('dict with attribute access (datasets, estimator attributes)', false, [
    'sklearn.utils._bunch.Bunch',
    'sklearn.utils.Bunch',
  ]),
];

/**
 * Packages whose *classes* are admitted: the module must be the prefix or under
 * it, the name a single class-style segment (ASCII upper-case first letter), a
 * Cython `__pyx_unpickle_*` helper, or a listed helper function. Not admitted:
 * lower-case names (these packages re-export `functools.partial`,
 * `operator.attrgetter`, `scipy.optimize.minimize`, `as_strided` …), dotted
 * names, dunders, and test modules (`tests`, `test_*`, `_testing`).
 * An estimator can hold any object (a Pipeline holds its steps, a
 * FunctionTransformer its function): those objects are imports of their own and
 * are judged on their own.
 */
export const SAFE_CLASS_MODULE_ROWS: readonly SafeClassModuleRow[] = [
  {
    module: 'torch.nn.modules',
    reason: 'nn.Module layers of a full-model pickle: constructing one allocates parameters and registers nothing global (outside weights_only)',
  },
  { module: 'numpy.dtypes', reason: 'NumPy DType classes' },
  ...[
    'linear_model',
    'tree',
    'ensemble',
    'preprocessing',
    'pipeline',
    'feature_extraction',
    'feature_selection',
    'decomposition',
    'svm',
    'cluster',
    'naive_bayes',
    'discriminant_analysis',
    'gaussian_process',
    'impute',
    'neural_network',
    'dummy',
    'calibration',
    'multiclass',
    'multioutput',
    'kernel_approximation',
    'kernel_ridge',
    'isotonic',
    'manifold',
    'mixture',
    'cross_decomposition',
    'covariance',
    'semi_supervised',
    'random_projection',
    'model_selection',
    'frozen',
    '_loss',
  ].map((subpackage) => ({
    module: `sklearn.${subpackage}`,
    reason: 'scikit-learn estimators, losses and fitted structures: constructors and __setstate__ store arrays and parameters',
  })),
  {
    module: 'sklearn.compose',
    reason: 'scikit-learn column and target transformers',
    helperFunctions: ['make_column_selector'],
  },
  {
    module: 'sklearn.neighbors',
    reason: 'scikit-learn neighbours estimators and KD/Ball trees',
    helperFunctions: ['newObj'],
  },
  {
    module: 'sklearn.metrics._dist_metrics',
    reason: 'distance metric objects held by neighbours trees',
    helperFunctions: ['newObj'],
  },
];

/** Cython's generated unpickle helper: `__new__` of its own type, then the saved state. */
export const CYTHON_UNPICKLE_PREFIX = '__pyx_unpickle_';

/** Module segments that mark test code: never admitted by a class-module row. */
export const TEST_MODULE_SEGMENTS: ReadonlySet<string> = new Set(['tests', 'test', 'testing', '_testing', 'conftest']);

// ---------------------------------------------------------------------------
// Python 2 names
// ---------------------------------------------------------------------------

/**
 * Python 2 module names that CPython's unpickler renames for protocol < 3
 * (`_compat_pickle.IMPORT_MAPPING`), for the entries that matter to the policy.
 * Both spellings are judged; the worse wins.
 */
export const PY2_MODULE_RENAMES: ReadonlyMap<string, string> = new Map([
  ['__builtin__', 'builtins'],
  ['copy_reg', 'copyreg'],
  ['cPickle', 'pickle'],
  ['commands', 'subprocess'],
  ['urllib2', 'urllib.request'],
  ['httplib', 'http.client'],
  ['BaseHTTPServer', 'http.server'],
  ['SimpleHTTPServer', 'http.server'],
  ['CGIHTTPServer', 'http.server'],
  ['SocketServer', 'socketserver'],
  ['xmlrpclib', 'xmlrpc.client'],
  ['SimpleXMLRPCServer', 'xmlrpc.server'],
  ['DocXMLRPCServer', 'xmlrpc.server'],
  ['thread', '_thread'],
  ['dummy_thread', '_dummy_thread'],
  ['Queue', 'queue'],
  ['repr', 'reprlib'],
  ['_abcoll', 'collections.abc'],
  ['UserDict', 'collections'],
  ['UserList', 'collections'],
  ['UserString', 'collections'],
  ['StringIO', 'io'],
  ['cStringIO', 'io'],
  ['exceptions', 'builtins'],
]);

/** Python 2 `(module, name)` pairs renamed as a pair (`_compat_pickle.NAME_MAPPING`), key `module.name`. */
export const PY2_NAME_RENAMES: ReadonlyMap<string, readonly [string, string]> = new Map([
  ['__builtin__.xrange', ['builtins', 'range']],
  ['__builtin__.reduce', ['functools', 'reduce']],
  ['__builtin__.intern', ['sys', 'intern']],
  ['__builtin__.unichr', ['builtins', 'chr']],
  ['__builtin__.unicode', ['builtins', 'str']],
  ['__builtin__.long', ['builtins', 'int']],
  ['__builtin__.basestring', ['builtins', 'str']],
  ['itertools.izip', ['builtins', 'zip']],
  ['itertools.imap', ['builtins', 'map']],
  ['itertools.ifilter', ['builtins', 'filter']],
  ['itertools.ifilterfalse', ['itertools', 'filterfalse']],
  ['itertools.izip_longest', ['itertools', 'zip_longest']],
  ['exceptions.StandardError', ['builtins', 'Exception']],
]);

// ---------------------------------------------------------------------------
// torch.load(weights_only=True)
// ---------------------------------------------------------------------------

/** The module renames PyTorch's weights-only unpickler applies (`torch._utils.IMPORT_MAPPING`). */
export const WEIGHTS_ONLY_MODULE_RENAMES: ReadonlyMap<string, string> = new Map([
  ['__builtin__', 'builtins'],
  ['copy_reg', 'copyreg'],
  ['Queue', 'queue'],
  ['repr', 'reprlib'],
  ['_abcoll', 'collections.abc'],
  ['UserDict', 'collections'],
  ['UserList', 'collections'],
  ['UserString', 'collections'],
  ['whichdb', 'dbm'],
  ['StringIO', 'io'],
  ['cStringIO', 'io'],
]);

/** The pair renames PyTorch applies first (`torch._utils.NAME_MAPPING`), key `module.name`. */
export const WEIGHTS_ONLY_NAME_RENAMES: ReadonlyMap<string, readonly [string, string]> = new Map([
  ['__builtin__.xrange', ['builtins', 'range']],
  ['__builtin__.reduce', ['functools', 'reduce']],
  ['__builtin__.intern', ['sys', 'intern']],
  ['__builtin__.unichr', ['builtins', 'chr']],
  ['__builtin__.unicode', ['builtins', 'str']],
  ['__builtin__.long', ['builtins', 'int']],
  ['itertools.izip', ['builtins', 'zip']],
  ['itertools.imap', ['builtins', 'map']],
  ['itertools.ifilter', ['builtins', 'filter']],
  ['itertools.ifilterfalse', ['itertools', 'filterfalse']],
  ['itertools.izip_longest', ['itertools', 'zip_longest']],
  ['UserDict.IterableUserDict', ['collections', 'UserDict']],
  ['UserList.UserList', ['collections', 'UserList']],
  ['UserString.UserString', ['collections', 'UserString']],
  ['__builtin__.basestring', ['builtins', 'str']],
  ['exceptions.StandardError', ['builtins', 'Exception']],
  ['UserDict.UserDict', ['collections', 'UserDict']],
]);

/**
 * Opcodes the weights-only unpickler implements; any other one stops the load
 * ("Unsupported operand"). Notably absent: STACK_GLOBAL, INST, OBJ, NEWOBJ_EX,
 * EXT1/2/4, FRAME, MEMOIZE, SHORT_BINUNICODE, BINBYTES, the text opcodes.
 */
export const WEIGHTS_ONLY_OPCODES: ReadonlySet<string> = new Set([
  'GLOBAL', 'NEWOBJ', 'REDUCE', 'BUILD', 'APPEND', 'APPENDS', 'SETITEM', 'SETITEMS', 'MARK',
  'TUPLE', 'TUPLE1', 'TUPLE2', 'TUPLE3', 'NONE', 'NEWFALSE', 'NEWTRUE', 'EMPTY_TUPLE', 'EMPTY_LIST',
  'EMPTY_DICT', 'EMPTY_SET', 'BININT', 'BININT1', 'BININT2', 'BINFLOAT', 'BINUNICODE', 'SHORT_BINSTRING',
  'BINPERSID', 'BINGET', 'LONG_BINGET', 'BINPUT', 'LONG_BINPUT', 'LONG1', 'PROTO', 'STOP',
]);

// ---------------------------------------------------------------------------
// Lookup structures (built once; one Map/Set lookup per hop)
// ---------------------------------------------------------------------------

function indexUnique<Row>(rows: readonly Row[], keyOf: (row: Row) => string, table: string): Map<string, Row> {
  const index = new Map<string, Row>();
  for (const row of rows) {
    const key = keyOf(row);
    if (index.has(key)) throw new Error(`duplicate row ${key} in ${table}`);
    index.set(key, row);
  }
  return index;
}

export const DANGEROUS_GLOBALS: ReadonlyMap<string, DangerousGlobalRow> = indexUnique(
  DANGEROUS_GLOBAL_ROWS,
  (row) => row.path,
  'DANGEROUS_GLOBAL_ROWS',
);

export const SAFE_GLOBALS: ReadonlyMap<string, SafeGlobalRow> = indexUnique(
  SAFE_GLOBAL_ROWS,
  (row) => row.path,
  'SAFE_GLOBAL_ROWS',
);

export const SAFE_CLASS_MODULES: ReadonlyMap<string, SafeClassModuleRow> = indexUnique(
  SAFE_CLASS_MODULE_ROWS,
  (row) => row.module,
  'SAFE_CLASS_MODULE_ROWS',
);

/** `module.name` keys the weights-only unpickler accepts with its default allowlist. */
export const WEIGHTS_ONLY_GLOBALS: ReadonlySet<string> = new Set(
  SAFE_GLOBAL_ROWS.filter((row) => row.weightsOnly).map((row) => row.path),
);
