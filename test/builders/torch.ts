/**
 * PyTorch checkpoints built byte by byte for tests: `torch.save`-style zips
 * with a `data.pkl` state dict, storages, version and byteorder records.
 */
import {
  binint1,
  binpersid,
  binunicode,
  emptyTuple,
  global,
  mark,
  newFalse,
  pickle,
  proto,
  reduce,
  setitem,
  stop,
  tuple,
  type Part,
} from './pickle.ts';
import { type ZipEntrySpec, buildZip } from './zip.ts';

export interface TensorSpec {
  name: string;
  key: string;
  storage?: string;
  numel: number;
  size: number[];
  stride: number[];
  offset?: number;
}

/** `storage` persistent id and `_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())`, as torch.save writes it. */
export function tensor(spec: TensorSpec): Uint8Array {
  const ints = (values: number[]) => pickle(mark(), ...values.map((value) => binint1(value)), tuple());
  return pickle(
    global('torch._utils', '_rebuild_tensor_v2'),
    mark(),
    mark(),
    binunicode('storage'),
    global('torch', spec.storage ?? 'FloatStorage'),
    binunicode(spec.key),
    binunicode('cpu'),
    binint1(spec.numel),
    tuple(),
    binpersid(),
    binint1(spec.offset ?? 0),
    ints(spec.size),
    ints(spec.stride),
    newFalse(),
    global('collections', 'OrderedDict'),
    emptyTuple(),
    reduce(),
    tuple(),
    reduce(),
  );
}

/** An OrderedDict state dict of `tensors`, with `before` run first (a payload whose result is popped). */
export function stateDict(tensors: TensorSpec[], before: Part[] = []): Uint8Array {
  return pickle(
    proto(2),
    ...before,
    global('collections', 'OrderedDict'),
    emptyTuple(),
    reduce(),
    ...tensors.flatMap((spec) => [binunicode(spec.name), tensor(spec), setitem()]),
    stop(),
  );
}

export const WEIGHT: TensorSpec = { name: 'fc.weight', key: '0', numel: 6, size: [2, 3], stride: [3, 1] };
export const BIAS: TensorSpec = { name: 'fc.bias', key: '1', numel: 2, size: [2], stride: [1] };

/** A torch.save-like archive under `root/`: data.pkl, storages, version, byteorder, plus `extra` entries. */
export function torchZip(options: { root?: string; dataPkl?: Uint8Array; storages?: Record<string, number>; extra?: ZipEntrySpec[]; first?: ZipEntrySpec[]; version?: string | null; byteorder?: string | null } = {}) {
  const root = options.root ?? 'archive';
  const storages = options.storages ?? { '0': 24, '1': 8 };
  const specs: ZipEntrySpec[] = [
    ...(options.first ?? []),
    { name: `${root}/data.pkl`, data: options.dataPkl ?? stateDict([WEIGHT, BIAS]) },
    ...(options.byteorder === null ? [] : [{ name: `${root}/byteorder`, data: options.byteorder ?? 'little' }]),
    ...Object.entries(storages).map(([key, size]) => ({ name: `${root}/data/${key}`, data: new Uint8Array(size).fill(1) })),
    ...(options.version === null ? [] : [{ name: `${root}/version`, data: options.version ?? '3\n' }]),
    { name: `${root}/.data/serialization_id`, data: '1234567890' },
    ...(options.extra ?? []),
  ];
  return buildZip(specs);
}

