import { CODE_EXECUTION_REFS, REF } from '../references.ts';
import type { RuleCatalog } from '../rule.ts';

/** "Loading this touches the machine" without being code injection as such (files, network, unvetted imports). */
const DESERIALIZATION_REFS = [
  REF.deserialization,
  REF.unsafeArtifact,
  REF.supplyChain,
  REF.owaspSupplyChain,
  REF.nistMeasure,
  REF.nistManage,
];

/**
 * Rules for pickle; ids start with `pickle.`. The import rules are picked by the
 * category of the matching row in `src/rules/pickle-globals.ts`; the policy that
 * emits them is `src/rules/pickle-policy.ts`.
 */
export const PICKLE_RULES = {
  'pickle.import.code-execution': {
    severity: 'critical',
    effect: 'dangerous',
    title: 'Pickle imports a code-execution primitive',
    explanation:
      'Unpickling imports this global and can call it with arguments stored in the file: it evaluates, compiles or runs code (eval, exec, native calls, TorchScript, torch.fx code). Loading the file runs whatever code the author put in it, with your permissions.',
    references: CODE_EXECUTION_REFS,
  },
  'pickle.import.process': {
    severity: 'critical',
    effect: 'dangerous',
    title: 'Pickle imports a process or shell primitive',
    explanation:
      'Unpickling imports this global and can call it with arguments stored in the file: it starts programs or shell commands (os.system, subprocess, pip install …). Loading the file runs those commands on your machine.',
    references: CODE_EXECUTION_REFS,
  },
  'pickle.import.filesystem': {
    severity: 'high',
    effect: 'dangerous',
    title: 'Pickle imports a file-system primitive',
    explanation:
      'Unpickling imports this global and can call it with paths stored in the file: it opens, writes, copies or deletes files. Loading the file can read your secrets, overwrite your files or plant code that runs later (a shell profile, a .pth file).',
    references: CODE_EXECUTION_REFS,
  },
  'pickle.import.network': {
    severity: 'high',
    effect: 'dangerous',
    title: 'Pickle imports a network primitive',
    explanation:
      'Unpickling imports this global and can call it with addresses stored in the file: it opens connections, fetches URLs or serves files. Loading the file can download a second stage or send data off your machine.',
    references: CODE_EXECUTION_REFS,
  },
  'pickle.import.import-machinery': {
    severity: 'critical',
    effect: 'dangerous',
    title: 'Pickle reaches the import machinery',
    explanation:
      'Unpickling imports this global: it imports modules by name or changes how Python imports and unpickles (sys, importlib, pkgutil, copyreg registries). With it a file can reach any function of any installed module, whatever an allowlist says.',
    references: CODE_EXECUTION_REFS,
  },
  'pickle.import.nested-loader': {
    severity: 'critical',
    effect: 'dangerous',
    title: 'Pickle calls another deserializer',
    explanation:
      'Unpickling imports a loader (pickle.loads, torch.load, numpy.load, joblib.load, marshal) and can run it on data stored in the file: a second payload, loaded with no restriction, which scanners that only read the outer stream miss. Preflight scans a literal bytes argument as a pickle of its own.',
    references: CODE_EXECUTION_REFS,
  },
  'pickle.import.trampoline': {
    severity: 'critical',
    effect: 'dangerous',
    title: 'Pickle imports a call trampoline',
    explanation:
      'Unpickling imports a function that fetches attributes or calls other functions (getattr, functools.partial, operator.methodcaller, import_module …). Chained, these reach any function, for example os.system from a harmless-looking module, so a file needs no obviously dangerous import to run code.',
    references: CODE_EXECUTION_REFS,
  },
  'pickle.import.debugger': {
    severity: 'critical',
    effect: 'dangerous',
    title: 'Pickle imports a debugger or profiler entry point',
    explanation:
      'Unpickling imports a debugger or profiler entry point (pdb.run, cProfile.run, timeit.timeit, doctest …). These run a string of Python code given as argument, or stop the process and wait at a prompt.',
    references: CODE_EXECUTION_REFS,
  },
  'pickle.import.dunder': {
    severity: 'critical',
    effect: 'dangerous',
    title: 'Pickle import walks through a dunder attribute',
    explanation:
      'The imported name goes through a double-underscore attribute (__builtins__, __class__, __globals__, __subclasses__ …). Such walks lead from any object to builtins such as eval and __import__; no ordinary model file needs them.',
    references: CODE_EXECUTION_REFS,
  },
  'pickle.import.unknown': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Pickle imports a global that is not vetted',
    explanation:
      'Unpickling imports this global and calls it with arguments from the file. It is not on Preflight\'s reviewed allowlist of ML building blocks, so what it does on load is unknown: the module is imported (running its top-level code) and its constructor runs. Check what it is before loading the file, or load with torch.load(weights_only=True).',
    references: DESERIALIZATION_REFS,
  },
  'pickle.import.odd-name': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Pickle import with a malformed name',
    explanation:
      'The module or name of this import is not a plain dotted Python name (empty, spaces, control or non-ASCII characters). Real libraries never produce such names; they are used to confuse scanners that compare strings. What Python would import here is not vetted.',
    references: DESERIALIZATION_REFS,
  },
  'pickle.import.unresolved': {
    severity: 'high',
    effect: 'dangerous',
    title: 'Pickle import that cannot be resolved statically',
    explanation:
      'An import (STACK_GLOBAL, INST …) takes its module or name from values built at load time, so the scanner cannot say what it imports. Ordinary writers always emit literal names; a computed import is a way to hide a dangerous one.',
    references: CODE_EXECUTION_REFS,
  },
  'pickle.extension-registry': {
    severity: 'high',
    effect: 'dangerous',
    title: 'Pickle imports through the extension registry',
    explanation:
      'An EXT1/EXT2/EXT4 opcode imports whatever global the loading process has registered under this number in copyreg\'s extension registry. The file does not say what that is; no common ML library registers extension codes, so this hides an import from scanners.',
    references: CODE_EXECUTION_REFS,
  },
  'pickle.evasion.scanner-import': {
    severity: 'high',
    effect: 'dangerous',
    title: 'Pickle imports a model-scanner library',
    explanation:
      'The file imports a pickle-scanning library (fickling, picklescan, modelscan, modelaudit). Model files have no reason to do this; it is a sign of a payload built to probe or tamper with the scanner that checks it.',
    references: CODE_EXECUTION_REFS,
  },
  'pickle.call.dangerous': {
    severity: 'critical',
    effect: 'dangerous',
    title: 'Pickle calls a dangerous global',
    explanation:
      'Unpickling runs this call: the callable is a dangerous global (or a constructor handed a dangerous class), and the arguments shown as evidence are the ones stored in the file. This is what would happen the moment the file is loaded.',
    references: CODE_EXECUTION_REFS,
  },
  'pickle.call.unresolved-callable': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Pickle calls a value computed during loading',
    explanation:
      'A REDUCE/NEWOBJ call applies to an object that is not an imported global but the result of an earlier call. Ordinary writers only call imported globals; calling a computed value is how gadget chains invoke what a trampoline returned.',
    references: CODE_EXECUTION_REFS,
  },
  'pickle.call.global-mutation': {
    severity: 'high',
    effect: 'dangerous',
    title: 'Pickle changes the state of an imported class or module',
    explanation:
      'BUILD, SETITEM or APPEND is applied to an imported global itself rather than to an object made during loading: it sets attributes or entries on a live class, module or registry of the loading process, changing how later code behaves (hooks, defaults, patched methods).',
    references: CODE_EXECUTION_REFS,
  },
  'pickle.joblib.sibling-file': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Old joblib array read from a separate file',
    explanation:
      'This old joblib format (NDArrayWrapper) stores arrays in separate .npy files named inside the pickle; joblib.load reads them with allow_pickle, so they are pickles too. Scan those files as well, and check the names stay inside the model folder.',
    references: DESERIALIZATION_REFS,
  },
  'pickle.weights-only.refused': {
    severity: 'info',
    effect: 'none',
    title: 'torch.load(weights_only=True) would refuse this file',
    explanation:
      'PyTorch\'s restricted unpickler (the default since PyTorch 2.6) only accepts tensors, storages, dtypes, ordered dicts and a few containers. This file uses something outside that default allowlist, so loading it needs weights_only=False (full pickle, runs any code in the file) or an explicit torch.serialization.add_safe_globals.',
    references: [REF.deserialization, REF.nistManage],
  },
} satisfies RuleCatalog;
