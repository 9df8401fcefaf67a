/**
 * Rebuilds a PyTorch tensor table from a scan of the pickle that `torch.save`
 * writes (`data.pkl` in a torch zip, the fourth pickle of a legacy file),
 * without running it.
 *
 * Spec (no formal one exists; the writer is the spec):
 * https://github.com/pytorch/pytorch/blob/main/torch/serialization.py
 * (`_save`/`_legacy_save`: `persistent_id` writes storages as
 * `('storage', StorageType, key, location, numel[, view_metadata])`) and
 * https://github.com/pytorch/pytorch/blob/main/torch/_utils.py
 * (`_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
 * backward_hooks, metadata=None)`, `_rebuild_parameter(data, …)`).
 *
 * Each tensor is a call of `torch._utils._rebuild_tensor_v2` (or
 * `_rebuild_tensor`, `_rebuild_qtensor`) whose first argument is a storage
 * persistent id. Names come from the state-dict entries the machine reports
 * (`dictEntries`): the key of the dict entry holding the tensor (or the
 * `nn.Parameter` wrapping it), then the keys of the dicts holding that dict,
 * joined with '.'. Module attribute dicts (`_parameters`, `_buffers`,
 * `_modules`) are left out of the path, so a pickled `nn.Module` gives the
 * same names as its `state_dict()`.
 *
 * Threat surface: every number here comes from the file. Shapes, strides,
 * offsets and element counts are checked to be exact, non-negative safe
 * integers, sizes are multiplied with overflow checks, and a view that reaches
 * outside its storage is a problem (PyTorch's `set_` raises on it). The walk
 * up the dict entries is bounded and cycle-safe; the table is capped.
 */
import type { TensorInfo } from '../report/types.ts';
import { quoteUntrusted } from '../rules/pickle-policy.ts';
import type { PickleCall, PickleName, PickleScanResult, PickleValue } from './types.ts';

/** Tensors listed per pickle (CWE-770: a hostile pickle can declare millions). */
export const MAX_TORCH_TENSORS = 200_000;
/** Problems listed per table (CWE-400: a report must stay readable). */
export const MAX_TORCH_TENSOR_PROBLEMS = 200;
/** Dict levels walked to name one tensor (CWE-674: nesting is bounded, cycles are cut). */
export const MAX_TENSOR_NAME_DEPTH = 64;
/** Characters of one tensor name (CWE-400). */
export const MAX_TENSOR_NAME_CHARS = 1_024;

/** A report dtype (safetensors spelling) and its element size in bytes. */
export interface TorchDtype {
  dtype: string;
  elementSize: number;
}

const dtype = (name: string, elementSize: number): TorchDtype => ({ dtype: name, elementSize });

/**
 * Storage classes (`torch.FloatStorage`, also under `torch.cuda` in old GPU
 * saves) by their class name. Source: torch/storage.py, `_dtype_to_storage_type_map`.
 */
export const TORCH_STORAGE_DTYPES: ReadonlyMap<string, TorchDtype> = new Map([
  ['DoubleStorage', dtype('F64', 8)],
  ['FloatStorage', dtype('F32', 4)],
  ['HalfStorage', dtype('F16', 2)],
  ['BFloat16Storage', dtype('BF16', 2)],
  ['LongStorage', dtype('I64', 8)],
  ['IntStorage', dtype('I32', 4)],
  ['ShortStorage', dtype('I16', 2)],
  ['CharStorage', dtype('I8', 1)],
  ['ByteStorage', dtype('U8', 1)],
  ['BoolStorage', dtype('BOOL', 1)],
  ['ComplexFloatStorage', dtype('C64', 8)],
  ['ComplexDoubleStorage', dtype('C128', 16)],
  ['QInt8Storage', dtype('QI8', 1)],
  ['QUInt8Storage', dtype('QU8', 1)],
  ['QInt32Storage', dtype('QI32', 4)],
  ['QUInt4x2Storage', dtype('QU4X2', 1)],
  ['QUInt2x4Storage', dtype('QU2X4', 1)],
  // Untyped storages are bytes: torch.save writes them with dtype uint8 and numel = nbytes.
  ['UntypedStorage', dtype('U8', 1)],
  ['_UntypedStorage', dtype('U8', 1)],
]);

/** `torch.float32`-style dtype globals, for persistent ids that carry a dtype instead of a storage class. */
export const TORCH_DTYPE_GLOBALS: ReadonlyMap<string, TorchDtype> = new Map([
  ['float64', dtype('F64', 8)],
  ['double', dtype('F64', 8)],
  ['float32', dtype('F32', 4)],
  ['float', dtype('F32', 4)],
  ['float16', dtype('F16', 2)],
  ['half', dtype('F16', 2)],
  ['bfloat16', dtype('BF16', 2)],
  ['int64', dtype('I64', 8)],
  ['long', dtype('I64', 8)],
  ['int32', dtype('I32', 4)],
  ['int', dtype('I32', 4)],
  ['int16', dtype('I16', 2)],
  ['short', dtype('I16', 2)],
  ['int8', dtype('I8', 1)],
  ['uint8', dtype('U8', 1)],
  ['uint16', dtype('U16', 2)],
  ['uint32', dtype('U32', 4)],
  ['uint64', dtype('U64', 8)],
  ['bool', dtype('BOOL', 1)],
  ['complex64', dtype('C64', 8)],
  ['cfloat', dtype('C64', 8)],
  ['complex128', dtype('C128', 16)],
  ['cdouble', dtype('C128', 16)],
  ['float8_e4m3fn', dtype('F8_E4M3', 1)],
  ['float8_e5m2', dtype('F8_E5M2', 1)],
  ['float8_e4m3fnuz', dtype('F8_E4M3FNUZ', 1)],
  ['float8_e5m2fnuz', dtype('F8_E5M2FNUZ', 1)],
  ['qint8', dtype('QI8', 1)],
  ['quint8', dtype('QU8', 1)],
  ['qint32', dtype('QI32', 4)],
  ['quint4x2', dtype('QU4X2', 1)],
]);

/** Storage classes live in these modules (`torch.storage.UntypedStorage` is the new spelling of the untyped one). */
const STORAGE_MODULES: ReadonlySet<string> = new Set(['torch', 'torch.cuda', 'torch.storage']);

/** The rebuild functions whose first four arguments are (storage, storage_offset, size, stride). */
const TENSOR_REBUILDERS: ReadonlySet<string> = new Set(['_rebuild_tensor_v2', '_rebuild_tensor', '_rebuild_qtensor']);
/** Wrappers whose first argument is a tensor: the name belongs to the wrapper's result. */
const TENSOR_WRAPPERS: ReadonlySet<string> = new Set(['_rebuild_parameter', '_rebuild_parameter_with_state']);
/** Attribute dicts of `nn.Module` left out of tensor names, so a pickled module matches its state_dict. */
const MODULE_ATTRIBUTE_DICTS: ReadonlySet<string> = new Set(['_parameters', '_buffers', '_modules']);

/** The dtype a storage persistent id names by its second item, or null when it names none Preflight knows. */
export function dtypeOfStorageGlobal(global: PickleName): TorchDtype | null {
  if (global.module === 'torch') {
    const fromDtype = TORCH_DTYPE_GLOBALS.get(global.name);
    if (fromDtype) return fromDtype;
  }
  if (!STORAGE_MODULES.has(global.module)) return null;
  return TORCH_STORAGE_DTYPES.get(global.name) ?? null;
}

/** One storage as its persistent id declares it. */
export interface TorchStorage {
  /** The storage key: `data/<key>` in a torch zip, an entry of the storage key list in a legacy file. */
  key: string;
  /** `module.name` of the storage class or dtype global, e.g. `torch.FloatStorage`. */
  storageType: string;
  /** Report dtype (`F32`), or null when the storage type is not one Preflight knows. */
  dtype: string | null;
  elementSize: number | null;
  /** `cpu`, `cuda:0` … as the file says. */
  location: string;
  /** Elements the persistent id declares, or null when it is not an exact non-negative integer. */
  numel: number | null;
  /** numel × element size, when both are known and the product is a safe integer. */
  byteLength: number | null;
  /** Offset of the first BINPERSID/PERSID naming this key. */
  persistentIdOffset: number;
}

/** One tensor of the table. */
export interface TorchTensor {
  name: string;
  dtype: string;
  shape: number[];
  stride: number[];
  storageKey: string;
  /** Offset into the storage, in elements (as `_rebuild_tensor_v2` takes it). */
  storageOffset: number;
  /** storageOffset × element size. */
  byteOffsetInStorage: number;
  /** numel(shape) × element size. */
  byteLength: number;
  /** Offset of the rebuild call (REDUCE) in the pickle. */
  callOffset: number;
  /** `_rebuild_tensor_v2`, `_rebuild_qtensor` … */
  rebuild: string;
}

/** Something in the tensor table that PyTorch would refuse or that Preflight could not follow. */
export interface TorchTensorProblem {
  offset: number;
  message: string;
}

export interface TorchTensorTable {
  tensors: TorchTensor[];
  /** Storages by key, in the order their persistent ids first appear. */
  storages: TorchStorage[];
  problems: TorchTensorProblem[];
  /** More tensors than {@link MAX_TORCH_TENSORS}, or more problems than {@link MAX_TORCH_TENSOR_PROBLEMS}. */
  truncated: boolean;
}

export interface RebuildOptions {
  /** Only this pickle of the stream (a legacy file's data pickle is index 3); all pickles when absent. */
  pickleIndex?: number;
}

/**
 * The tensor table of a `torch.save` pickle: every tensor rebuild call whose
 * storage is a persistent id, with its name, dtype, shape, stride, storage key
 * and byte range inside the storage. Offsets in the file are not known here:
 * see {@link toTensorInfos}.
 */
export function rebuildTorchTensors(scan: PickleScanResult, options: RebuildOptions = {}): TorchTensorTable {
  const inPickle = (pickleIndex: number) => options.pickleIndex === undefined || pickleIndex === options.pickleIndex;
  const problems = createProblemList();
  const storages = new Map<string, TorchStorage>();
  const storageByPersistentIndex = new Map<number, TorchStorage>();

  for (const persistent of scan.persistentIds) {
    if (!inPickle(persistent.pickleIndex)) continue;
    const storage = readStoragePersistentId(persistent.id, persistent.offset, problems);
    if (!storage) continue;
    const known = storages.get(storage.key);
    if (known) {
      if (known.storageType !== storage.storageType || known.numel !== storage.numel) {
        problems.add(persistent.offset, `storage ${quote(storage.key)} is declared again with a different type or size (${storage.storageType}, ${storage.numel ?? '?'} elements; first ${known.storageType}, ${known.numel ?? '?'} elements)`);
      }
      storageByPersistentIndex.set(persistent.index, known);
    } else {
      storages.set(storage.key, storage);
      storageByPersistentIndex.set(persistent.index, storage);
    }
  }

  const callsByIndex = new Map<number, PickleCall>();
  for (const call of scan.calls) callsByIndex.set(call.index, call);
  const namer = createTensorNamer(scan, callsByIndex, inPickle);

  const tensors: TorchTensor[] = [];
  let truncated = false;
  for (const call of scan.calls) {
    if (!inPickle(call.pickleIndex) || !isTensorRebuild(call)) continue;
    if (tensors.length >= MAX_TORCH_TENSORS) {
      truncated = true;
      break;
    }
    const tensor = readTensorCall(call, storageByPersistentIndex, problems);
    if (!tensor) continue;
    tensor.name = namer.nameOf(call.index) ?? `tensor[${tensors.length}]`;
    tensors.push(tensor);
  }
  return { tensors, storages: [...storages.values()], problems: problems.list, truncated: truncated || problems.overflowed };
}

/**
 * The table as report TensorInfos. `storageDataOffset(key)` gives the absolute
 * offset of a storage's first byte (a legacy file's raw storage, a zip entry's
 * data); tensors whose storage has no known offset get offset -1.
 */
export function toTensorInfos(table: TorchTensorTable, storageDataOffset: (key: string) => number | undefined): TensorInfo[] {
  return table.tensors.map((tensor) => {
    const base = storageDataOffset(tensor.storageKey);
    return {
      name: tensor.name,
      dtype: tensor.dtype,
      shape: tensor.shape,
      offset: base === undefined ? -1 : base + tensor.byteOffsetInStorage,
      length: tensor.byteLength,
    };
  });
}

function isTensorRebuild(call: PickleCall): boolean {
  return (
    call.callable !== null &&
    call.callable.module === 'torch._utils' &&
    TENSOR_REBUILDERS.has(call.callable.name) &&
    (call.opcodeName === 'REDUCE' || call.opcodeName === 'NEWOBJ')
  );
}

function createProblemList() {
  const list: TorchTensorProblem[] = [];
  let overflowed = false;
  return {
    list,
    get overflowed() {
      return overflowed;
    },
    add(offset: number, message: string): void {
      if (list.length >= MAX_TORCH_TENSOR_PROBLEMS) overflowed = true;
      else list.push({ offset, message });
    },
  };
}

type ProblemList = ReturnType<typeof createProblemList>;

/** An exact non-negative safe integer, or null. */
function exactCount(value: PickleValue | undefined): number | null {
  if (value?.kind !== 'int' || !value.exact || value.value === null) return null;
  return Number.isSafeInteger(value.value) && value.value >= 0 ? value.value : null;
}

/** Untrusted text (keys, type names) in a message: quoted, escaped and cut. */
function quote(text: string): string {
  return quoteUntrusted(text);
}

function readStoragePersistentId(id: PickleValue, offset: number, problems: ProblemList): TorchStorage | null {
  if (id.kind !== 'tuple') return null;
  const [tag, type, key, location, numelValue] = id.items;
  if (tag?.kind !== 'string' || tag.value !== 'storage') return null;
  if (type?.kind !== 'global' || key?.kind !== 'string') {
    problems.add(offset, 'storage persistent id does not have a storage type global and a string key');
    return null;
  }
  const typeName = { module: type.module, name: type.name };
  const known = dtypeOfStorageGlobal(typeName);
  const numel = exactCount(numelValue);
  if (!known) problems.add(offset, `storage ${quote(key.value)} has an unknown storage type ${quote(`${type.module}.${type.name}`)}`);
  if (numel === null) problems.add(offset, `storage ${quote(key.value)} does not declare an exact element count`);
  const byteLength = known && numel !== null ? safeProduct([numel, known.elementSize]) : null;
  return {
    key: key.value,
    storageType: `${type.module}.${type.name}`,
    dtype: known?.dtype ?? null,
    elementSize: known?.elementSize ?? null,
    location: location?.kind === 'string' ? location.value : '',
    numel,
    byteLength,
    persistentIdOffset: offset,
  };
}

/** The product, or null when it is not a safe integer. */
function safeProduct(factors: readonly number[]): number | null {
  let product = 1;
  for (const factor of factors) {
    product *= factor;
    if (!Number.isSafeInteger(product)) return null;
  }
  return product;
}

function readIntTuple(value: PickleValue | undefined): number[] | null {
  if (value?.kind !== 'tuple' || !value.complete || value.items.length !== value.length) return null;
  const numbers: number[] = [];
  for (const item of value.items) {
    const number = exactCount(item);
    if (number === null) return null;
    numbers.push(number);
  }
  return numbers;
}

function readTensorCall(
  call: PickleCall,
  storages: ReadonlyMap<number, TorchStorage>,
  problems: ProblemList,
): TorchTensor | null {
  const rebuild = call.callable?.name ?? '';
  const args = call.args ?? [];
  const [storageArg, offsetArg, sizeArg, strideArg] = args;
  const where = `${rebuild} at offset ${call.offset}`;
  if (storageArg?.kind !== 'persistent') {
    problems.add(call.offset, `${where} does not take its storage from a persistent id`);
    return null;
  }
  const storage = storages.get(storageArg.persistentIndex);
  if (!storage) return null;
  const storageOffset = exactCount(offsetArg);
  const shape = readIntTuple(sizeArg);
  const stride = readIntTuple(strideArg);
  if (storageOffset === null || shape === null || stride === null) {
    problems.add(call.offset, `${where}: storage offset, size or stride is not a tuple of exact non-negative integers`);
    return null;
  }
  if (shape.length !== stride.length) {
    problems.add(call.offset, `${where}: size has ${shape.length} dimensions but stride has ${stride.length}`);
    return null;
  }
  if (storage.dtype === null || storage.elementSize === null) return null;
  const elementSize = storage.elementSize;
  const numel = safeProduct(shape);
  const byteLength = numel === null ? null : safeProduct([numel, elementSize]);
  const byteOffsetInStorage = safeProduct([storageOffset, elementSize]);
  if (byteLength === null || byteOffsetInStorage === null) {
    problems.add(call.offset, `${where}: size ${shape.join('×')} at element offset ${storageOffset} overflows`);
    return null;
  }
  const span = viewSpan(shape, stride);
  if (storage.numel !== null && (span === null || storageOffset + span > storage.numel)) {
    problems.add(
      call.offset,
      `${where}: a view of size (${shape.join(', ')}), stride (${stride.join(', ')}) at element offset ${storageOffset} needs ${span === null ? 'more than 2^53' : storageOffset + span} elements but storage ${quote(storage.key)} has ${storage.numel}`,
    );
  }
  return {
    name: '',
    dtype: storage.dtype,
    shape,
    stride,
    storageKey: storage.key,
    storageOffset,
    byteOffsetInStorage,
    byteLength,
    callOffset: call.offset,
    rebuild,
  };
}

/** Elements a strided view touches from its offset: 1 + Σ (size−1)·stride, 0 for an empty view. */
function viewSpan(shape: readonly number[], stride: readonly number[]): number | null {
  if (shape.some((size) => size === 0)) return 0;
  let span = 1;
  for (let index = 0; index < shape.length; index += 1) {
    span += (shape[index] - 1) * stride[index];
    if (!Number.isSafeInteger(span)) return null;
  }
  return span;
}

type Holder = { kind: 'call' | 'dict'; index: number };

/**
 * Names tensors from dict entries: the key holding a value, then the key
 * holding its container, up to the root. A dict that is the BUILD state of an
 * object (a pickled nn.Module's `__dict__`) continues from that object.
 */
function createTensorNamer(
  scan: PickleScanResult,
  callsByIndex: ReadonlyMap<number, PickleCall>,
  inPickle: (pickleIndex: number) => boolean,
) {
  const holderKey = (holder: Holder) => `${holder.kind}:${holder.index}`;
  /** The first dict entry whose value is this call or dict. */
  const entryOf = new Map<string, { key: string; container: Holder }>();
  for (const entry of scan.dictEntries) {
    if (!inPickle(entry.pickleIndex) || (entry.value.kind !== 'call' && entry.value.kind !== 'dict')) continue;
    const key = holderKey({ kind: entry.value.kind, index: entry.value.index });
    if (!entryOf.has(key)) entryOf.set(key, { key: entry.key, container: entry.container });
  }
  /** BUILD state dict → the object it is the state of. */
  const objectOfState = new Map<number, number>();
  /** Tensor call → the wrapper call (nn.Parameter) whose result holds it. */
  const wrapperOf = new Map<number, number>();
  for (const call of scan.calls) {
    if (!inPickle(call.pickleIndex)) continue;
    const first = call.args?.[0];
    if (call.opcodeName === 'BUILD' && call.callee.kind === 'call' && first?.kind === 'dict') {
      if (!objectOfState.has(first.index)) objectOfState.set(first.index, call.callee.callIndex);
    } else if (
      call.callable?.module === 'torch._utils' &&
      TENSOR_WRAPPERS.has(call.callable.name) &&
      first?.kind === 'call' &&
      !wrapperOf.has(first.callIndex)
    ) {
      wrapperOf.set(first.callIndex, call.index);
    }
  }

  return {
    nameOf(tensorCallIndex: number): string | null {
      const segments: string[] = [];
      const seen = new Set<string>();
      let holder: Holder = { kind: 'call', index: wrapperOf.get(tensorCallIndex) ?? tensorCallIndex };
      for (let depth = 0; depth < MAX_TENSOR_NAME_DEPTH; depth += 1) {
        const key = holderKey(holder);
        if (seen.has(key)) break;
        seen.add(key);
        const entry = entryOf.get(key);
        if (entry) {
          if (!MODULE_ATTRIBUTE_DICTS.has(entry.key)) segments.push(entry.key);
          holder = entry.container;
          continue;
        }
        const owner = holder.kind === 'dict' ? objectOfState.get(holder.index) : undefined;
        if (owner === undefined || !callsByIndex.has(owner)) break;
        holder = { kind: 'call', index: owner };
      }
      if (segments.length === 0) return null;
      const name = segments.reverse().join('.');
      return name.length > MAX_TENSOR_NAME_CHARS ? `${name.slice(0, MAX_TENSOR_NAME_CHARS)}…` : name;
    },
  };
}
