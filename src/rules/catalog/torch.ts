import { CODE_EXECUTION_REFS, MALFORMED_REFS, REF } from '../references.ts';
import type { RuleCatalog } from '../rule.ts';

/** A member that one reader uses and another skips: what a scanner checks is not what torch loads. */
const HIDDEN_MEMBER_REFS = [REF.deserialization, REF.supplyChain, REF.owaspSupplyChain, REF.nistMeasure];

/**
 * Rules for PyTorch zip checkpoints (`torch.save`) and TorchScript archives
 * (`torch.jit.save`); ids start with `torch.`. The pickles inside are judged
 * by the pickle rules and the zip structure by the container rules; these
 * rules cover what is specific to the torch layout: records, storages, and
 * the TorchScript code that `torch.jit.load` compiles.
 */
export const TORCH_RULES = {
  'torch.archive.no-root-folder': {
    severity: 'high',
    effect: 'malformed',
    title: 'Torch archive has no root folder',
    explanation:
      'PyTorch takes the folder of the first zip entry as the archive root and refuses an archive whose first entry is not inside a folder. torch.load fails on this file.',
    references: MALFORMED_REFS,
  },
  'torch.archive.no-data-pkl': {
    severity: 'high',
    effect: 'malformed',
    title: 'Torch archive has no data.pkl',
    explanation:
      'torch.load and torch.jit.load unpickle `<root>/data.pkl`, where the root is the folder of the first zip entry. This archive has none there, so loading it fails; any pickle it holds elsewhere is not what PyTorch loads.',
    references: MALFORMED_REFS,
  },
  'torch.archive.foreign-member': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Zip member outside the archive root',
    explanation:
      'PyTorch only reads members under the root folder named by the first entry. This member lies elsewhere: torch ignores it, but other tools (an unzip, a script that picks files by name) may use it. Checkpoints written by torch.save never contain such members.',
    references: HIDDEN_MEMBER_REFS,
  },
  'torch.archive.hidden-pickle': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Pickle under a name PyTorch does not load as one',
    explanation:
      'This member is a pickle by its content but not one of the records PyTorch unpickles (data.pkl, constants.pkl, debug info). Scanners that pick members by name or extension skip it (CVE-2025-1889, CVE-2025-10155); a custom loader, or a nested loader call in data.pkl, can still run it. Its contents were scanned as a pickle.',
    references: HIDDEN_MEMBER_REFS,
  },
  'torch.archive.version-invalid': {
    severity: 'medium',
    effect: 'malformed',
    title: 'Torch archive version record is invalid',
    explanation:
      'The `version` record should hold a small decimal number (the serialization format version). PyTorch refuses archives whose version it cannot parse or does not support.',
    references: MALFORMED_REFS,
  },
  'torch.archive.byteorder-invalid': {
    severity: 'medium',
    effect: 'malformed',
    title: 'Torch archive byte order record is invalid',
    explanation: 'The `byteorder` record must be `little` or `big`; torch.load raises on anything else.',
    references: MALFORMED_REFS,
  },
  'torch.archive.big-endian': {
    severity: 'info',
    effect: 'none',
    title: 'Tensors are stored big-endian',
    explanation:
      'The checkpoint was written on a big-endian machine (byteorder `big`). torch.load swaps the bytes of every storage on little-endian machines; tools that read the raw storages directly will see wrong values unless they swap too.',
    references: [],
  },
  'torch.storage.missing': {
    severity: 'high',
    effect: 'malformed',
    title: 'Tensor storage record is missing',
    explanation:
      'The pickle refers to a storage whose `data/<key>` record is not in the archive. torch.load fails when it reaches this storage, after running everything in the pickle before it.',
    references: MALFORMED_REFS,
  },
  'torch.storage.too-small': {
    severity: 'high',
    effect: 'malformed',
    title: 'Tensor storage record is smaller than declared',
    explanation:
      'The pickle declares more elements for this storage than its record holds. PyTorch refuses the storage (or, in old versions, reads past the record); the tensor data is not what the header claims.',
    references: MALFORMED_REFS,
  },
  'torch.storage.unreferenced': {
    severity: 'low',
    effect: 'suspicious',
    title: 'Storage record that no pickle refers to',
    explanation:
      'This `data/<key>` record is not used by any tensor of the archive. torch.save never writes unused storages; the bytes may hide a payload for another tool, or the pickle was edited after saving.',
    references: HIDDEN_MEMBER_REFS,
  },
  'torch.torchscript.archive': {
    severity: 'info',
    effect: 'none',
    title: 'TorchScript archive: loading compiles and runs its code',
    explanation:
      'This is a TorchScript program (torch.jit.save). torch.jit.load compiles the source under code/ and runs the `__setstate__` methods it defines while loading; calling the model runs the rest. torch.load hands such archives to torch.jit.load: PyTorch 2.6 and later refuse that with weights_only=True, PyTorch 2.5.1 and earlier ran it anyway (CVE-2025-32434). Treat it as a program from its author: read the code listed with this report before you run it.',
    references: [REF.codeInjection, REF.unsafeArtifact, REF.supplyChain, REF.owaspSupplyChain, REF.nistManage],
  },
  'torch.torchscript.python-escape': {
    severity: 'critical',
    effect: 'dangerous',
    title: 'TorchScript code reaches for Python runtime features',
    explanation:
      'The code imports modules or calls Python features that give access to the machine (os, subprocess, sys, sockets, eval/exec, __import__, builtins, dunder attribute walks). Generated TorchScript never contains them. Compiled as TorchScript they fail or go through custom bindings; executed as Python by another tool (torch.package, a model viewer, an "export" script) they run commands with your permissions.',
    references: CODE_EXECUTION_REFS,
  },
  'torch.torchscript.file-access': {
    severity: 'high',
    effect: 'dangerous',
    title: 'TorchScript code reads or writes files',
    explanation:
      'The code calls an operator that opens files by a path it chooses (torch.from_file, aten::from_file, torch.save/torch.load bindings). These compile as TorchScript and run inside the loading process: the model can read your files (keys, tokens) into tensors or write files when it is called, or at load time from a __setstate__ method.',
    references: CODE_EXECUTION_REFS,
  },
  'torch.torchscript.custom-op': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'TorchScript code calls a custom native operator',
    explanation:
      'The code calls an operator or class outside PyTorch\'s built-in namespaces (torch.ops.<namespace>, torch.classes.<namespace>). It runs native code from a library that must be loaded by the application; what it does is not visible in the archive. Check which library provides it before loading the model with that library present.',
    references: [REF.codeInjection, REF.supplyChain, REF.owaspSupplyChain, REF.nistMeasure],
  },
  'torch.torchscript.load-hook': {
    severity: 'info',
    effect: 'none',
    title: 'TorchScript class runs code while loading',
    explanation:
      'A class in code/ defines __setstate__: torch.jit.load calls it for every saved object of that class, so its body runs when the archive is loaded, before any method of the model is called. Read it with the other code of the archive.',
    references: [REF.codeInjection, REF.unsafeArtifact],
  },
  'torch.torchscript.code-not-scanned': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'TorchScript source was not fully scanned',
    explanation:
      'A code/ member is larger than Preflight reads, is not valid UTF-8, could not be decoded, or has more flagged lines than a report lists, so part of the code torch.jit.load compiles was not checked or not shown. Read it by other means before loading the archive.',
    references: [REF.supplyChain, REF.nistMeasure],
  },
} satisfies RuleCatalog;
