import { CODE_EXECUTION_REFS, MALFORMED_REFS, REF } from '../references.ts';
import type { RuleCatalog } from '../rule.ts';

/** A file the loader reads or fetches from outside the artifact: what loads is not what was scanned. */
const OUTSIDE_READ_REFS = [REF.pathTraversal, REF.supplyChain, REF.owaspSupplyChain, REF.nistMeasure, REF.nistManage];

/** A part of the file that was not inspected: the verdict cannot vouch for it. */
const NOT_INSPECTED_REFS = [REF.resourceExhaustion, REF.supplyChain, REF.nistMeasure];

/**
 * Rules for Keras models: the `.keras` zip (Keras 3), the legacy `.h5`
 * (Keras 2 / tf.keras, HDF5) and the model config both carry; ids start with
 * `keras.` (the model and its config) or `hdf5.` (the HDF5 container).
 * Loading a Keras model rebuilds every object its config names, so the
 * config is the program: these rules say which parts of it run code, fetch
 * files or switch the loader's safety off.
 */
export const KERAS_RULES = {
  'keras.lambda.bytecode': {
    severity: 'critical',
    effect: 'dangerous',
    title: 'Lambda layer carries Python bytecode',
    explanation:
      'The Lambda layer stores its function as marshalled Python bytecode. Loading the model unmarshals it and makes it a function that runs on the first call, or at load when the model is built; it can do anything Python can (CVE-2024-3660). Keras 3 refuses it only under safe_mode=True with a .keras file; .h5 files ignore safe_mode (CVE-2025-9905), and safe_mode=False or tf.keras before 2.13 load it silently.',
    references: CODE_EXECUTION_REFS,
  },
  'keras.lambda.function-reference': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Lambda layer calls a named function',
    explanation:
      'The Lambda layer names an existing function by module and name and calls it with arguments taken from the config. Chaining such calls to library functions (downloading a file, loading another model, switching safe mode off) has been used to run code even under safe_mode=True (CVE-2025-8747, CVE-2025-9906).',
    references: CODE_EXECUTION_REFS,
  },
  'keras.function.dangerous': {
    severity: 'critical',
    effect: 'dangerous',
    title: 'Config reaches a function that fetches, loads or unlocks',
    explanation:
      'The config names a function that downloads files, loads another model or weights, or turns safe deserialization off. Keras calls it while rebuilding the model, so loading this file does that work: this is the gadget chain behind CVE-2025-8747 (keras.utils.get_file) and CVE-2025-9906 (enable_unsafe_deserialization reached from config.json).',
    references: CODE_EXECUTION_REFS,
  },
  'keras.object.dangerous-module': {
    severity: 'critical',
    effect: 'dangerous',
    title: 'Config imports a module that runs commands or code',
    explanation:
      'A serialized object names a module and class or function that execute commands, code or file operations (os, subprocess, builtins …). Keras imports the module named in the config and calls what it finds while rebuilding the model, before any weight is read (CVE-2025-1550).',
    references: CODE_EXECUTION_REFS,
  },
  'keras.object.unknown-module': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Config names a custom object outside Keras',
    explanation:
      'A serialized object comes from a module outside the Keras namespaces. Loading imports that module (running its top-level code) and calls the named class or function with arguments from the config (CVE-2025-1550). It was not vetted: check the package it comes from before loading.',
    references: CODE_EXECUTION_REFS,
  },
  'keras.torch-module-wrapper': {
    severity: 'critical',
    effect: 'dangerous',
    title: 'TorchModuleWrapper carries a pickled PyTorch module',
    explanation:
      'TorchModuleWrapper stores its PyTorch module as torch.save bytes in the config and rebuilds it with torch.load(weights_only=False), which unpickles and runs whatever the bytes call (CVE-2025-49655; refused under safe mode from Keras 3.11.3). Preflight decoded the bytes and scanned them; their own findings follow.',
    references: CODE_EXECUTION_REFS,
  },
  'keras.safe-mode.disabled': {
    severity: 'critical',
    effect: 'dangerous',
    title: 'Config switches safe deserialization off',
    explanation:
      'The config names enable_unsafe_deserialization or passes safe_mode=False to a loader it calls. Keras before 3.11 rebuilt such calls from config.json, turning safe mode off for the rest of the load so that a Lambda layer could run its bytecode (CVE-2025-9906). No legitimate model needs this.',
    references: CODE_EXECUTION_REFS,
  },
  'keras.url-reference': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Config refers to a URL',
    explanation:
      'A string in the config is a URL (http, https, ftp, file, gs, s3, hdfs). Objects that accept paths (vocabulary files, get_file origins, SavedModel layers) fetch or read them while the model loads, so what runs depends on a server, not on this file (CVE-2025-8747).',
    references: OUTSIDE_READ_REFS,
  },
  'keras.file-reference': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Config makes the loader read a file from the host',
    explanation:
      'A layer is configured with a file path (a lookup or TextVectorization vocabulary, a TFSMLayer SavedModel). Loading reads that path on the machine that loads the model: its contents can leak into the model (get_vocabulary returns them) or change what runs. Keras 3.12 and later refuse such paths under safe mode; earlier versions and tf.keras read them.',
    references: OUTSIDE_READ_REFS,
  },
  'keras.config.invalid': {
    severity: 'high',
    effect: 'malformed',
    title: 'Model config is not valid JSON',
    explanation:
      'The model config must be a JSON object. This one does not parse, so Keras fails to load the model; Preflight could not check what it would rebuild.',
    references: MALFORMED_REFS,
  },
  'keras.config.too-large': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Model config is larger than Preflight parses',
    explanation:
      'The model config is far larger than real models need. It was not parsed, so the objects it would rebuild were not checked (CWE-400).',
    references: NOT_INSPECTED_REFS,
  },
  'keras.config.limit': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Model config walk stopped at a limit',
    explanation:
      'The config nests deeper or holds more objects than Preflight walks. The part beyond the limit was not checked, and Keras would rebuild it all.',
    references: NOT_INSPECTED_REFS,
  },
  'keras.archive.no-config': {
    severity: 'high',
    effect: 'malformed',
    title: '.keras archive has no config.json',
    explanation: 'Keras rebuilds the model from config.json; without it keras.saving.load_model fails. The archive holds something else.',
    references: MALFORMED_REFS,
  },
  'keras.archive.unexpected-member': {
    severity: 'low',
    effect: 'suspicious',
    title: 'Member that Keras does not write',
    explanation:
      'A .keras archive holds config.json, metadata.json, model.weights.h5 (or .npz) and assets/. This member is something else: Keras ignores it, but it is there for some other reader. It was inspected by its content.',
    references: [REF.supplyChain, REF.nistMeasure],
  },
  'keras.archive.pickle-member': {
    severity: 'high',
    effect: 'suspicious',
    title: 'Pickle inside a .keras archive',
    explanation:
      'Keras never writes pickles into a .keras archive; this member is one by its content, so it is there for another loader (a custom layer, a script that unpickles it). Its contents were scanned as a pickle.',
    references: [REF.deserialization, REF.supplyChain, REF.owaspSupplyChain, REF.nistMeasure],
  },
  'keras.archive.member-not-read': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'Archive member could not be inspected',
    explanation: 'The member could not be decoded or is larger than Preflight reads, so what Keras would make of it is unknown.',
    references: NOT_INSPECTED_REFS,
  },
  'keras.metadata.invalid': {
    severity: 'info',
    effect: 'none',
    title: 'metadata.json is missing or unreadable',
    explanation: 'Keras writes the version and save date to metadata.json; loading does not need it, so only the provenance it would give is missing.',
    references: [REF.supplyChain],
  },
  'keras.h5.no-model-config': {
    severity: 'info',
    effect: 'none',
    title: 'HDF5 file without a model config',
    explanation:
      'The file has no model_config attribute: it holds weights (model.load_weights) or other data, and keras.models.load_model cannot rebuild a model from it. Nothing in it is rebuilt as code.',
    references: [],
  },
  'hdf5.superblock.invalid': {
    severity: 'high',
    effect: 'malformed',
    title: 'HDF5 superblock is invalid',
    explanation: 'The superblock (versions, field sizes, root group address) is not one the HDF5 library accepts, so h5py cannot open the file.',
    references: MALFORMED_REFS,
  },
  'hdf5.userblock': {
    severity: 'low',
    effect: 'suspicious',
    title: 'Bytes before the HDF5 superblock',
    explanation:
      'The HDF5 signature is not at offset 0: the file starts with a user block that HDF5 skips. Such a block can hold another file (a zip, a pickle), so the same bytes are one format for one reader and another for the next.',
    references: [REF.improperInput, REF.supplyChain, REF.nistMeasure],
  },
  'hdf5.truncated': {
    severity: 'high',
    effect: 'malformed',
    title: 'HDF5 structure points past the end of the file',
    explanation: 'An address or length in the file reaches beyond its end. The HDF5 library fails on this object; what it held is unknown.',
    references: MALFORMED_REFS,
  },
  'hdf5.structure.invalid': {
    severity: 'high',
    effect: 'malformed',
    title: 'HDF5 structure is invalid',
    explanation:
      'An object header, message, heap or B-tree node does not follow the HDF5 format (wrong signature, unknown version, impossible size). The HDF5 library refuses this object; Preflight reports what it could read around it.',
    references: MALFORMED_REFS,
  },
  'hdf5.limit': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'HDF5 walk stopped at a limit',
    explanation:
      'The file holds more objects, messages, links or nesting than Preflight walks (CWE-400, CWE-770). The part beyond the limit was not inspected.',
    references: [REF.allocationWithoutLimits, ...NOT_INSPECTED_REFS],
  },
  'hdf5.unsupported': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'HDF5 feature not read by Preflight',
    explanation:
      'This part of the file uses an HDF5 feature Preflight does not decode (dense link or attribute storage, shared messages, unusual encodings). It was not inspected, so the verdict cannot vouch for it.',
    references: NOT_INSPECTED_REFS,
  },
  'hdf5.cycle': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'HDF5 groups link back to an ancestor',
    explanation:
      'A group holds a hard link to itself or to a group above it. HDF5 allows it, but a loader that walks the tree by name recurses without end (CWE-674); Keras weight files never do this.',
    references: [REF.uncontrolledRecursion, REF.improperInput, REF.nistMeasure],
  },
  'hdf5.link.external': {
    severity: 'high',
    effect: 'suspicious',
    title: 'HDF5 external link to another file',
    explanation:
      'The link points into another HDF5 file named by path. h5py follows it when the link is opened, so loading weights reads a file from the host that loads the model, and the model becomes whatever that file holds (the CVE-2026-1669 family; Keras now refuses such links).',
    references: OUTSIDE_READ_REFS,
  },
  'hdf5.link.soft': {
    severity: 'low',
    effect: 'suspicious',
    title: 'HDF5 soft link',
    explanation:
      'The link names another path in the same file instead of an object. Keras never writes soft links and recent versions refuse them when loading weights: a layer\'s weights can silently be another layer\'s.',
    references: [REF.improperInput, REF.supplyChain, REF.nistMeasure],
  },
  'hdf5.dataset.external-storage': {
    severity: 'high',
    effect: 'suspicious',
    title: 'HDF5 dataset stored in external files',
    explanation:
      'The dataset keeps its bytes in files named by path (external storage) or maps them from other files (a virtual dataset). Reading it reads those paths on the machine that loads the model: a host file becomes a weight that the model can expose (CVE-2026-1669).',
    references: OUTSIDE_READ_REFS,
  },
  'hdf5.dataset.shape-bomb': {
    severity: 'medium',
    effect: 'suspicious',
    title: 'HDF5 dataset declares far more data than the file holds',
    explanation:
      'The dataset\'s shape asks for gigabytes while the file stores a small fraction of that (unwritten chunks read as fill values). Reading it allocates the full size, which exhausts memory (CWE-400, CWE-770); Keras now refuses such datasets.',
    references: [REF.resourceExhaustion, REF.allocationWithoutLimits, REF.nistMeasure],
  },
  'hdf5.dataset.out-of-bounds': {
    severity: 'high',
    effect: 'malformed',
    title: 'HDF5 dataset data lies outside the file',
    explanation: 'The dataset\'s stored bytes are declared past the end of the file or do not match its shape and type. Reading it fails.',
    references: MALFORMED_REFS,
  },
} satisfies RuleCatalog;
