/**
 * Byte builders for GGUF files, for tests (Node and browser: no Node APIs).
 *
 * `buildGguf` writes files the way ggml's writer does (header, key-value
 * pairs, tensor infos, zero padding to the alignment, tensor data each padded
 * to the alignment) so the result is a valid GGUF; every part can be
 * overridden (counts, lengths, type ids, offsets, raw bytes) for malformed
 * cases. `buildGgufWithLayout` also returns where each part landed, so tests
 * can assert file offsets.
 *
 * @example
 * buildGguf({
 *   version: 3,
 *   alignment: 64,
 *   kv: [kv('general.architecture', gguf.string('llama')), kv('tokenizer.ggml.tokens', gguf.array('string', ['<s>', 'a']))],
 *   tensors: [{ name: 'token_embd.weight', dims: [64, 2], type: 'Q8_0' }],
 * });
 */

/** GGUF value type ids (gguf.md). */
export const GGUF_TYPE_ID = { u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12 } as const;
export type GgufTypeName = keyof typeof GGUF_TYPE_ID;

/** The few ggml types tests use, independent of the inspector's table: [id, elements per block, bytes per block]. */
export const GGML_TEST_TYPES: Record<string, readonly [id: number, blockSize: number, typeSize: number]> = {
  F32: [0, 1, 4],
  F16: [1, 1, 2],
  Q4_0: [2, 32, 18],
  Q8_0: [8, 32, 34],
  Q4_K: [12, 256, 144],
  Q6_K: [14, 256, 210],
  I8: [24, 1, 1],
  I32: [26, 1, 4],
  BF16: [30, 1, 2],
  TQ2_0: [35, 256, 66],
  MXFP4: [39, 32, 17],
};

type ScalarInput = number | bigint | boolean | string | Uint8Array;

export type GgufValue =
  | { type: Exclude<GgufTypeName, 'array' | 'string'>; value: number | bigint | boolean }
  | { type: 'string'; value: string | Uint8Array; declaredLength?: bigint | number }
  | GgufArrayValue
  /** Any type id followed by raw bytes: unknown types, lying payloads. */
  | { type: 'raw'; typeId: number; bytes: Uint8Array };

export interface GgufArrayValue {
  type: 'array';
  /** Item type name, or a raw id for unknown types. */
  itemType: GgufTypeName | number;
  /** Plain values for scalar item types; GgufArrayValue items for arrays of arrays. */
  items: readonly (ScalarInput | GgufArrayValue)[];
  /** Count written instead of items.length. */
  declaredLength?: bigint | number;
}

/** Value constructors: `gguf.string('x')`, `gguf.u32(7)`, `gguf.array('string', ['a'])`. */
export const gguf = {
  u8: (value: number): GgufValue => ({ type: 'u8', value }),
  i8: (value: number): GgufValue => ({ type: 'i8', value }),
  u16: (value: number): GgufValue => ({ type: 'u16', value }),
  i16: (value: number): GgufValue => ({ type: 'i16', value }),
  u32: (value: number): GgufValue => ({ type: 'u32', value }),
  i32: (value: number): GgufValue => ({ type: 'i32', value }),
  u64: (value: bigint | number): GgufValue => ({ type: 'u64', value }),
  i64: (value: bigint | number): GgufValue => ({ type: 'i64', value }),
  f32: (value: number): GgufValue => ({ type: 'f32', value }),
  f64: (value: number): GgufValue => ({ type: 'f64', value }),
  /** A boolean, or any byte for invalid booleans. */
  bool: (value: boolean | number): GgufValue => ({ type: 'bool', value }),
  string: (value: string | Uint8Array, declaredLength?: bigint | number): GgufValue => ({ type: 'string', value, declaredLength }),
  array: (itemType: GgufTypeName | number, items: readonly (ScalarInput | GgufArrayValue)[], declaredLength?: bigint | number): GgufArrayValue => ({
    type: 'array',
    itemType,
    items,
    declaredLength,
  }),
  raw: (typeId: number, bytes: Uint8Array = new Uint8Array(0)): GgufValue => ({ type: 'raw', typeId, bytes }),
};

export interface GgufKv {
  key: string | Uint8Array;
  value: GgufValue;
  /** Key length written instead of the real one. */
  declaredKeyLength?: bigint | number;
}

/** A key-value pair: `kv('general.name', gguf.string('x'))`. */
export function kv(key: string | Uint8Array, value: GgufValue): GgufKv {
  return { key, value };
}

export interface GgufTensorSpec {
  name: string | Uint8Array;
  /** GGUF order: ne0 (the row length) first. */
  dims: readonly (number | bigint)[];
  /** A name from GGML_TEST_TYPES or a raw ggml type id. */
  type: string | number;
  /** Offset relative to the data section written instead of the computed one. */
  offset?: bigint | number;
  /** Dimension count written instead of dims.length. */
  declaredDimensionCount?: number;
  /** Data bytes; default zeros of the size the type implies (or `byteLength`). */
  data?: Uint8Array;
  /** Data size when the type is not in GGML_TEST_TYPES, or to lie about it. */
  byteLength?: number;
}

export interface GgufBuildOptions {
  /** Default "GGUF". */
  magic?: string | Uint8Array;
  /** Default 3. */
  version?: number;
  /**
   * Alignment used to lay out the data section (default 32). When given, a
   * `general.alignment` u32 pair is written first unless `writeAlignmentKey`
   * is false.
   */
  alignment?: number;
  writeAlignmentKey?: boolean;
  kv?: readonly GgufKv[];
  tensors?: readonly GgufTensorSpec[];
  /** Counts written instead of the real ones. */
  tensorCount?: bigint | number;
  kvCount?: bigint | number;
  /** Bytes appended after the data section. */
  trailing?: Uint8Array;
  /** Cut the file to this many bytes. */
  truncateAt?: number;
}

export interface GgufLayout {
  /** Per pair: offset of its key length, and of its value (after the type id). */
  kv: { key: string; offset: number; valueOffset: number }[];
  /** Per tensor: offset of its info and absolute offset of its data. */
  tensors: { infoOffset: number; dataOffset: number; byteLength: number }[];
  tensorInfosEnd: number;
  dataStart: number;
  size: number;
}

const encoder = new TextEncoder();

/** A valid (or deliberately broken) GGUF file. */
export function buildGguf(options: GgufBuildOptions = {}): Uint8Array {
  return buildGgufWithLayout(options).bytes;
}

/** Same as buildGguf, with the offsets of every part. */
export function buildGgufWithLayout(options: GgufBuildOptions = {}): { bytes: Uint8Array; layout: GgufLayout } {
  const alignment = options.alignment ?? 32;
  const pairs = [...(options.kv ?? [])];
  if (options.alignment !== undefined && options.writeAlignmentKey !== false) pairs.unshift(kv('general.alignment', gguf.u32(alignment)));
  const tensors = options.tensors ?? [];
  const writer = new ByteWriter();
  const layout: GgufLayout = { kv: [], tensors: [], tensorInfosEnd: 0, dataStart: 0, size: 0 };

  const magic = options.magic ?? 'GGUF';
  writer.bytes(typeof magic === 'string' ? encoder.encode(magic) : magic);
  writer.u32(options.version ?? 3);
  writer.u64(options.tensorCount ?? tensors.length);
  writer.u64(options.kvCount ?? pairs.length);

  for (const pair of pairs) {
    const offset = writer.length;
    writeString(writer, pair.key, pair.declaredKeyLength);
    const typeId = pair.value.type === 'raw' ? pair.value.typeId : GGUF_TYPE_ID[pair.value.type];
    writer.u32(typeId);
    layout.kv.push({ key: typeof pair.key === 'string' ? pair.key : new TextDecoder().decode(pair.key), offset, valueOffset: writer.length });
    writeValue(writer, pair.value);
  }

  const sizes = tensors.map((tensor) => tensor.data?.length ?? tensor.byteLength ?? impliedByteLength(tensor));
  const relativeOffsets: number[] = [];
  let running = 0;
  for (const size of sizes) {
    relativeOffsets.push(running);
    running = alignUp(running + size, alignment);
  }
  const infoOffsets: number[] = [];
  tensors.forEach((tensor, index) => {
    infoOffsets.push(writer.length);
    writeString(writer, tensor.name);
    writer.u32(tensor.declaredDimensionCount ?? tensor.dims.length);
    for (const dimension of tensor.dims) writer.u64(dimension);
    writer.u32(typeof tensor.type === 'number' ? tensor.type : typeId(tensor.type));
    writer.u64(tensor.offset ?? relativeOffsets[index]);
  });
  layout.tensorInfosEnd = writer.length;
  writer.zeros(alignUp(writer.length, alignment) - writer.length);
  layout.dataStart = writer.length;

  tensors.forEach((tensor, index) => {
    const dataOffset = layout.dataStart + relativeOffsets[index];
    writer.zeros(dataOffset - writer.length);
    writer.bytes(tensor.data ?? new Uint8Array(sizes[index]));
    layout.tensors.push({ infoOffset: infoOffsets[index], dataOffset, byteLength: sizes[index] });
  });
  if (tensors.length > 0) writer.zeros(alignUp(writer.length, alignment) - writer.length);
  if (options.trailing) writer.bytes(options.trailing);

  let bytes = writer.finish();
  if (options.truncateAt !== undefined) bytes = bytes.slice(0, options.truncateAt);
  layout.size = bytes.length;
  return { bytes, layout };
}

/** Bytes a tensor of this type and shape takes, from GGML_TEST_TYPES. */
export function ggufTensorByteLength(type: string, dims: readonly (number | bigint)[]): number {
  const [, blockSize, typeSize] = typeInfo(type);
  const [rowLength = 1, ...rest] = dims.map(Number);
  const rows = rest.reduce((product, dimension) => product * dimension, 1);
  return rows * Math.ceil(rowLength / blockSize) * typeSize;
}

function impliedByteLength(tensor: GgufTensorSpec): number {
  if (typeof tensor.type === 'number') throw new Error(`buildGguf: tensor type ${tensor.type} needs byteLength or data`);
  return ggufTensorByteLength(tensor.type, tensor.dims);
}

function typeInfo(type: string): readonly [number, number, number] {
  const info = Object.hasOwn(GGML_TEST_TYPES, type) ? GGML_TEST_TYPES[type] : undefined;
  if (!info) throw new Error(`buildGguf: unknown test type ${type}; pass a type id and byteLength`);
  return info;
}

function typeId(type: string): number {
  return typeInfo(type)[0];
}

function writeString(writer: ByteWriter, value: string | Uint8Array, declaredLength?: bigint | number): void {
  const bytes = typeof value === 'string' ? encoder.encode(value) : value;
  writer.u64(declaredLength ?? bytes.length);
  writer.bytes(bytes);
}

function writeValue(writer: ByteWriter, value: GgufValue): void {
  switch (value.type) {
    case 'raw':
      writer.bytes(value.bytes);
      return;
    case 'string':
      writeString(writer, value.value, value.declaredLength);
      return;
    case 'array':
      writeArray(writer, value);
      return;
    default:
      writeScalar(writer, value.type, value.value);
  }
}

function writeArray(writer: ByteWriter, array: GgufArrayValue): void {
  const itemTypeId = typeof array.itemType === 'number' ? array.itemType : GGUF_TYPE_ID[array.itemType];
  writer.u32(itemTypeId);
  writer.u64(array.declaredLength ?? array.items.length);
  for (const item of array.items) {
    if (typeof item === 'object' && !(item instanceof Uint8Array)) writeArray(writer, item);
    else if (array.itemType === 'string') writeString(writer, item as string | Uint8Array);
    else if (typeof array.itemType === 'number' || array.itemType === 'array') {
      throw new Error('buildGguf: items of raw or array type must be GgufArrayValue');
    } else writeScalar(writer, array.itemType, item as number | bigint | boolean);
  }
}

function writeScalar(writer: ByteWriter, type: GgufTypeName, value: number | bigint | boolean): void {
  const number = typeof value === 'boolean' ? Number(value) : value;
  switch (type) {
    case 'u8':
    case 'bool':
      writer.u8(Number(number));
      return;
    case 'i8':
      writer.u8(Number(number) & 0xff);
      return;
    case 'u16':
    case 'i16':
      writer.view(2).setUint16(0, Number(number) & 0xffff, true);
      return;
    case 'u32':
      writer.u32(Number(number));
      return;
    case 'i32':
      writer.view(4).setInt32(0, Number(number), true);
      return;
    case 'f32':
      writer.view(4).setFloat32(0, Number(number), true);
      return;
    case 'f64':
      writer.view(8).setFloat64(0, Number(number), true);
      return;
    case 'u64':
      writer.u64(number as number | bigint);
      return;
    case 'i64':
      writer.view(8).setBigInt64(0, BigInt(number), true);
      return;
    default:
      throw new Error(`buildGguf: ${type} is not a scalar type`);
  }
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/** Little-endian writer into a growing buffer. */
class ByteWriter {
  private buffer = new Uint8Array(4096);
  length = 0;

  view(count: number): DataView {
    this.reserve(count);
    const view = new DataView(this.buffer.buffer, this.length, count);
    this.length += count;
    return view;
  }

  u8(value: number): void {
    this.view(1).setUint8(0, value);
  }

  u32(value: number): void {
    this.view(4).setUint32(0, value >>> 0, true);
  }

  u64(value: bigint | number): void {
    this.view(8).setBigUint64(0, BigInt.asUintN(64, BigInt(value)), true);
  }

  bytes(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  zeros(count: number): void {
    if (count <= 0) return;
    this.reserve(count);
    this.buffer.fill(0, this.length, this.length + count);
    this.length += count;
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }

  private reserve(count: number): void {
    if (this.length + count <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < this.length + count) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
  }
}
