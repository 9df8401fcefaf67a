import { CODE_EXECUTION_REFS, MALFORMED_REFS, REF } from '../references.ts';
import type { RuleCatalog } from '../rule.ts';

/**
 * Rules for model folders laid out the Hugging Face way: the JSON configs
 * (`hf.`), the Python files a repository ships (`python.`), and what only
 * shows across files (`hf.index.`, `hf.weights.`, `hf.remote-code.`,
 * `folder.`).
 */
export const FOLDER_RULES = {
  'hf.json.invalid': {
    severity: 'medium',
    effect: 'malformed',
    title: 'Configuration file is not valid JSON',
    explanation:
      'The loading library reads this file with a JSON parser and stops with an error, so the model does not load as published. A broken config next to weights is also a sign the folder was edited by hand.',
    references: MALFORMED_REFS,
  },
  'hf.json.too-large': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Configuration file is far larger than any real one',
    explanation:
      'Real configuration files are kilobytes to a few megabytes. The loading library parses this one whole into memory; it was not inspected past the limit, so what it says is unknown.',
    references: [REF.resourceExhaustion, REF.supplyChain, REF.nistMeasure],
  },
  'hf.chat-template.too-large': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Chat template too large to check whole',
    explanation: 'Only the beginning of the template was checked for sandbox escapes; the tokenizer renders all of it. Real chat templates are a few kilobytes.',
    references: [REF.resourceExhaustion, REF.codeInjection, REF.nistMeasure],
  },
  'hf.remote-code': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Loading runs Python code shipped with the model (auto_map)',
    explanation:
      'The config maps Auto classes to Python modules of the repository. With trust_remote_code=True, from_pretrained imports those files and runs them with your permissions, before any weight is read. Read every listed file (and what it imports) before you pass trust_remote_code=True.',
    references: [REF.codeInjection, REF.supplyChain, REF.owaspSupplyChain, REF.nistManage],
  },
  'hf.remote-code.other-repo': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Remote code is fetched from another repository',
    explanation:
      'An auto_map entry of the form `owner/repo--module.Class` makes the loading library download the module from a different repository at load time. That code is not in this folder, cannot be reviewed here, and can change after you reviewed this model.',
    references: [REF.codeInjection, REF.supplyChain, REF.owaspSupplyChain, REF.nistManage],
  },
  'hf.auto-map.invalid': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'auto_map entry is not a plain module.Class reference',
    explanation:
      'The loading library expects `module.Class` (optionally prefixed by `repo--`). An entry with path separators, several dots or an odd type either fails to load or names a file outside the usual place; either way it is not what a model author writes by accident.',
    references: [REF.improperInput, REF.pathTraversal, REF.supplyChain, REF.nistMeasure],
  },
  'hf.index.invalid': {
    severity: 'medium',
    effect: 'malformed',
    title: 'Weight index is not a valid weight map',
    explanation:
      'A sharded checkpoint is loaded through its index: a JSON object whose `weight_map` maps every tensor name to a shard file. This one is not, so the loading library fails or loads only part of the model.',
    references: MALFORMED_REFS,
  },
  'hf.index.path-escape': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Weight index points at a file outside the model folder',
    explanation:
      'A shard name in the weight map is an absolute path or climbs out with `..`. The loading library joins it to the model folder and opens whatever it names: weights (or a pickle) planted elsewhere on the machine are loaded as if they were part of this model.',
    references: [REF.pathTraversal, REF.supplyChain, REF.owaspSupplyChain, REF.nistMeasure],
  },
  'hf.index.missing-shard': {
    severity: 'medium',
    effect: 'malformed',
    title: 'Weight index names a shard that is not in the folder',
    explanation:
      'The index maps tensors to a shard file that is missing, so loading fails (or, from the Hub, the file is fetched at load time and was never inspected here).',
    references: MALFORMED_REFS,
  },
  'hf.index.tensor-not-in-shard': {
    severity: 'medium',
    effect: 'malformed',
    title: 'Weight index maps tensors to a shard that does not hold them',
    explanation:
      'The shard exists but its tensor table lacks tensors the index promises. The loading library reports missing weights and leaves them randomly initialised, or fails.',
    references: MALFORMED_REFS,
  },
  'hf.index.unmapped-tensor': {
    severity: 'low',
    effect: 'suspicious',
    title: 'Shard holds tensors the weight index does not list',
    explanation:
      'Tensors in a shard that the index does not mention are invisible to anyone reading the index, yet loaders that read whole shards still load them. Extra hidden weights are a way to ship a second model or a backdoor next to the advertised one.',
    references: [REF.manipulateModel, REF.supplyChain, REF.nistMeasure],
  },
  'hf.index.unlisted-shard': {
    severity: 'low',
    effect: 'suspicious',
    title: 'Shard file is not listed in the weight index',
    explanation:
      'A file named like a shard of this checkpoint sits in the folder but the index never refers to it. The loading library ignores it; other tools that glob the folder load it. Find out why it is there.',
    references: [REF.supplyChain, REF.nistMeasure],
  },
  'hf.index.duplicate-tensor': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'The same tensor is stored in several shards',
    explanation:
      'Which copy a loader keeps depends on the order it reads the shards, so two tools can run different weights from the same folder. Shadowing a tensor is a way to swap weights past a reviewer.',
    references: [REF.manipulateModel, REF.supplyChain, REF.nistMeasure],
  },
  'hf.lfs-pointer': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Git LFS pointer in place of the file',
    explanation:
      'This is the small text pointer Git LFS leaves when the real file was not downloaded (cloned without git-lfs, or with GIT_LFS_SKIP_SMUDGE). The content it stands for was not inspected: fetch it (git lfs pull) and scan again. Loaders reading this name fail, or read the wrong thing.',
    references: [REF.supplyChain, REF.nistMeasure],
  },
  'hf.weights.pickle-fallback': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'A pickle checkpoint sits next to the safetensors weights',
    explanation:
      'The loading library prefers the safetensors file by default, but use_safetensors=False, older library versions, other frameworks and conversion scripts read the pickle checkpoint instead, and unpickling can run code. Delete the pickle if the safetensors weights are all you need.',
    references: [REF.deserialization, REF.unsafeArtifact, REF.supplyChain, REF.owaspSupplyChain, REF.nistManage],
  },
  'hf.weights.not-downloaded': {
    severity: 'medium',
    effect: 'malformed',
    title: 'The weights the loader reads are Git LFS pointers',
    explanation:
      'The files the loading library would open are pointers, not weights: loading fails. The real weights were never inspected; fetch them and scan again.',
    references: MALFORMED_REFS,
  },
  'hf.weights.not-found': {
    severity: 'info',
    effect: 'none',
    title: 'No weights the default loader would read',
    explanation:
      'The folder has a model config but none of the weight files from_pretrained looks for by default (safetensors, then PyTorch). It may hold TensorFlow or Flax weights only (loaded with from_tf/from_flax), or the weights live elsewhere.',
    references: [],
  },
  'hf.remote-code.files': {
    severity: 'info',
    effect: 'none',
    title: 'Python files that run with trust_remote_code=True',
    explanation:
      'These are the module files auto_map names and the modules they import relatively: from_pretrained copies and imports all of them when trust_remote_code=True. Each was scanned; its own findings say what it does.',
    references: [REF.codeInjection, REF.supplyChain],
  },
  'hf.remote-code.missing': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Remote code refers to a Python file that is not in the folder',
    explanation:
      'auto_map (or a relative import in one of its modules) names a module file that is missing here. Loaded by repository id, the library downloads it at load time and runs it without it ever being inspected; loaded from this folder, loading fails.',
    references: [REF.codeInjection, REF.supplyChain, REF.owaspSupplyChain, REF.nistManage],
  },
  'python.unreferenced': {
    severity: 'info',
    effect: 'none',
    title: 'Python file not referenced by the model config',
    explanation:
      'No auto_map entry (and no module it imports) names this file, so from_pretrained does not run it. It was scanned anyway: scripts in a model repository tend to get run by hand.',
    references: [],
  },
  'python.process': {
    severity: 'high',
    effect: 'dangerous',
    title: 'Python code starts processes',
    explanation:
      'The code runs shell commands or other programs (os.system, subprocess, pty, popen). Model code has no need to: when it is imported (trust_remote_code=True, or run by hand) the command runs with your permissions.',
    references: CODE_EXECUTION_REFS,
  },
  'python.network': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Python code opens network connections',
    explanation:
      'The code uses sockets or HTTP clients. Model code that talks to the network can send data away (files, tokens, prompts) or fetch a payload when it is imported.',
    references: [REF.codeInjection, REF.supplyChain, REF.owaspSupplyChain, REF.nistManage],
  },
  'python.dynamic-code': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Python code runs code built at run time',
    explanation:
      'eval, exec, compile and __import__ run or import code that is not written in the file, so reading the file does not tell what it does. Model code rarely needs them.',
    references: [REF.codeInjection, REF.supplyChain, REF.owaspSupplyChain, REF.nistMeasure],
  },
  'python.obfuscated-exec': {
    severity: 'critical',
    effect: 'dangerous',
    title: 'Python code decodes hidden code and runs it',
    explanation:
      'The code decodes data (base64, zlib, hex, rot13 …) and hands the result to exec or eval. This is how malicious model repositories hide their payload from reviewers: it runs as soon as the module is imported. Do not load this model.',
    references: CODE_EXECUTION_REFS,
  },
  'python.obfuscation': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Python code carries encoded or spelled-out text',
    explanation:
      'Long base64 blobs, strings of hex escapes and chains of chr() calls hide text (commands, URLs, code) from a reader. Find out what they decode to before running the code.',
    references: [REF.codeInjection, REF.supplyChain, REF.nistMeasure],
  },
  'python.unsafe-deserialization': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Python code unpickles data',
    explanation:
      'pickle, torch.load (without weights_only=True, or before PyTorch 2.6), joblib.load and marshal.loads run code embedded in the data they read. Whatever file this code loads must be trusted as much as the code itself.',
    references: [REF.deserialization, REF.unsafeArtifact, REF.supplyChain, REF.nistMeasure],
  },
  'python.credential-access': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Python code reads credentials',
    explanation:
      'The code reaches for secrets: SSH keys, cloud and Hugging Face tokens, .netrc, or the whole environment. Model code has no use for them; together with network access this is how tokens are stolen.',
    references: [REF.supplyChain, REF.owaspSupplyChain, REF.nistManage],
  },
  'python.environment-read': {
    severity: 'low',
    effect: 'none',
    title: 'Python code reads environment variables',
    explanation: 'Reading a named environment variable is common for settings; it is listed so a reviewer can check which ones.',
    references: [REF.nistMeasure],
  },
  'python.too-large': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Python file too large to scan whole',
    explanation: 'Only the beginning of the file was scanned; the rest runs too when the module is imported. Real model code is far smaller.',
    references: [REF.resourceExhaustion, REF.nistMeasure],
  },
  'python.findings-truncated': {
    severity: 'info',
    effect: 'none',
    title: 'More findings in this Python file than listed',
    explanation: 'Only the first findings are listed to keep the report readable; the count of the others is given.',
    references: [],
  },
  'folder.limits.files': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Model folder has more files than are analysed',
    explanation: 'Only the first files of this folder took part in the cross-file checks; the others were scanned one by one but not compared.',
    references: [REF.resourceExhaustion, REF.nistMeasure],
  },
  'folder.limits.depth': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Files nested deeper than a model folder needs',
    explanation: 'Model repositories are a few levels deep. Deep nesting is a way to hide files from tools that stop early; these were not part of the folder checks.',
    references: [REF.resourceExhaustion, REF.nistMeasure],
  },
  'folder.limits.size': {
    severity: 'low',
    effect: 'suspicious',
    title: 'Folder claims more bytes than any published model',
    explanation: 'The files add up to more than the largest checkpoints published. Sizes this large usually mean sparse files or a size trick aimed at tools that allocate by the declared size.',
    references: [REF.resourceExhaustion, REF.nistMeasure],
  },
  'folder.limits.tensors': {
    severity: 'low',
    effect: 'suspicious',
    title: 'Too many tensor names to compare index and shards',
    explanation: 'The weight indexes and shards of this folder hold more tensor names than are compared; the shards past the limit were not checked against the index.',
    references: [REF.resourceExhaustion, REF.nistMeasure],
  },
  'folder.findings-truncated': {
    severity: 'info',
    effect: 'none',
    title: 'More folder findings than listed',
    explanation: 'Only the first findings of each kind are listed to keep the report readable; the count of the others is given.',
    references: [],
  },
  'folder.symlink-not-followed': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Symbolic links in the model folder were not scanned',
    explanation:
      'The scanner does not follow links (a folder must not make it read the rest of the machine), but the loading library does: whatever the link points to is loaded without having been inspected. Scan the targets too (the Hugging Face cache keeps them under blobs/).',
    references: [REF.pathTraversal, REF.supplyChain, REF.nistMeasure],
  },
  'onnx.external-data.missing': {
    severity: 'high',
    effect: 'suspicious',
    title: 'ONNX external data file is not in the folder',
    explanation:
      'The model reads tensor data from a file next to it, and that file was not scanned with the model. Loading fails, or, worse, reads whatever file sits at that path on the loading machine into the weights. Get the data file from the same source and scan the whole folder.',
    references: [REF.pathTraversal, REF.supplyChain, REF.owaspSupplyChain, REF.nistMeasure],
  },
  'onnx.external-data.too-small': {
    severity: 'high',
    effect: 'malformed',
    title: 'ONNX external data file is shorter than the tensors read from it',
    explanation:
      'Tensors name byte ranges of the data file that run past its end. The onnx library and ONNX Runtime refuse to load the model; a tool that does not check reads past the end. The data file is truncated or belongs to another model.',
    references: MALFORMED_REFS,
  },
  'onnx.external-data.symlink': {
    severity: 'high',
    effect: 'suspicious',
    title: 'ONNX external data file is a symbolic link',
    explanation:
      'The loader follows the link and reads its target as tensor data; the scanner does not follow links, so those bytes were never inspected, and the target can be any file the user can read (keys, credentials), whose contents then flow into the model’s outputs.',
    references: [REF.pathTraversal, REF.supplyChain, REF.owaspSupplyChain, REF.nistMeasure],
  },
} satisfies RuleCatalog;
