/**
 * The two type tables a GGUF reader needs: ggml tensor types (how many bytes a
 * block of elements takes) and GGUF metadata value types.
 *
 * Tensor block sizes come from ggml's type traits and the `block_*` structs
 * with their static size assertions in ggml-common.h
 * (https://github.com/ggml-org/llama.cpp/blob/master/ggml/src/ggml-common.h);
 * ids from `enum ggml_type` in ggml.h. Ids are never reused: a writer appends
 * new types, and removed ones keep their number.
 */

/** One ggml tensor type: `blockSize` elements are stored in `typeSize` bytes. */
export interface GgmlTypeInfo {
  id: number;
  /** ggml's own name without the `GGML_TYPE_` prefix, e.g. `Q4_K`. */
  name: string;
  blockSize: number;
  typeSize: number;
  /**
   * Types that once appeared in GGUF files but that current ggml refuses to
   * load (the repacked ARM layouts, now done at load time instead).
   */
  removed?: true;
}

/** Elements per super-block of the k-quants and i-quants (ggml's QK_K). */
const QK_K = 256;

/** Every ggml type a GGUF file may name, by id. */
export const GGML_TYPES: readonly GgmlTypeInfo[] = [
  { id: 0, name: 'F32', blockSize: 1, typeSize: 4 },
  { id: 1, name: 'F16', blockSize: 1, typeSize: 2 },
  { id: 2, name: 'Q4_0', blockSize: 32, typeSize: 18 },
  { id: 3, name: 'Q4_1', blockSize: 32, typeSize: 20 },
  // 4 (Q4_2) and 5 (Q4_3) were dropped before GGUF existed: unknown here.
  { id: 6, name: 'Q5_0', blockSize: 32, typeSize: 22 },
  { id: 7, name: 'Q5_1', blockSize: 32, typeSize: 24 },
  { id: 8, name: 'Q8_0', blockSize: 32, typeSize: 34 },
  { id: 9, name: 'Q8_1', blockSize: 32, typeSize: 36 },
  { id: 10, name: 'Q2_K', blockSize: QK_K, typeSize: 84 },
  { id: 11, name: 'Q3_K', blockSize: QK_K, typeSize: 110 },
  { id: 12, name: 'Q4_K', blockSize: QK_K, typeSize: 144 },
  { id: 13, name: 'Q5_K', blockSize: QK_K, typeSize: 176 },
  { id: 14, name: 'Q6_K', blockSize: QK_K, typeSize: 210 },
  { id: 15, name: 'Q8_K', blockSize: QK_K, typeSize: 292 },
  { id: 16, name: 'IQ2_XXS', blockSize: QK_K, typeSize: 66 },
  { id: 17, name: 'IQ2_XS', blockSize: QK_K, typeSize: 74 },
  { id: 18, name: 'IQ3_XXS', blockSize: QK_K, typeSize: 98 },
  { id: 19, name: 'IQ1_S', blockSize: QK_K, typeSize: 50 },
  { id: 20, name: 'IQ4_NL', blockSize: 32, typeSize: 18 },
  { id: 21, name: 'IQ3_S', blockSize: QK_K, typeSize: 110 },
  { id: 22, name: 'IQ2_S', blockSize: QK_K, typeSize: 82 },
  { id: 23, name: 'IQ4_XS', blockSize: QK_K, typeSize: 136 },
  { id: 24, name: 'I8', blockSize: 1, typeSize: 1 },
  { id: 25, name: 'I16', blockSize: 1, typeSize: 2 },
  { id: 26, name: 'I32', blockSize: 1, typeSize: 4 },
  { id: 27, name: 'I64', blockSize: 1, typeSize: 8 },
  { id: 28, name: 'F64', blockSize: 1, typeSize: 8 },
  { id: 29, name: 'IQ1_M', blockSize: QK_K, typeSize: 56 },
  { id: 30, name: 'BF16', blockSize: 1, typeSize: 2 },
  { id: 31, name: 'Q4_0_4_4', blockSize: 32, typeSize: 18, removed: true },
  { id: 32, name: 'Q4_0_4_8', blockSize: 32, typeSize: 18, removed: true },
  { id: 33, name: 'Q4_0_8_8', blockSize: 32, typeSize: 18, removed: true },
  { id: 34, name: 'TQ1_0', blockSize: QK_K, typeSize: 54 },
  { id: 35, name: 'TQ2_0', blockSize: QK_K, typeSize: 66 },
  { id: 36, name: 'IQ4_NL_4_4', blockSize: 32, typeSize: 18, removed: true },
  { id: 37, name: 'IQ4_NL_4_8', blockSize: 32, typeSize: 18, removed: true },
  { id: 38, name: 'IQ4_NL_8_8', blockSize: 32, typeSize: 18, removed: true },
  { id: 39, name: 'MXFP4', blockSize: 32, typeSize: 17 },
  { id: 40, name: 'NVFP4', blockSize: 64, typeSize: 36 },
  { id: 41, name: 'Q1_0', blockSize: 128, typeSize: 18 },
  { id: 42, name: 'Q2_0', blockSize: 64, typeSize: 18 },
];

const GGML_TYPES_BY_ID = new Map(GGML_TYPES.map((type) => [type.id, type]));

/** The ggml type with this id, or undefined when the id is not one ggml has defined. */
export function ggmlTypeById(id: number): GgmlTypeInfo | undefined {
  return GGML_TYPES_BY_ID.get(id);
}

/** GGUF metadata value types (gguf.md, `gguf_metadata_value_type`). */
export const GGUF_VALUE_TYPE = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;

export type GgufValueTypeName = keyof typeof GGUF_VALUE_TYPE;

const VALUE_TYPE_NAMES = new Map<number, GgufValueTypeName>(
  (Object.entries(GGUF_VALUE_TYPE) as [GgufValueTypeName, number][]).map(([name, id]) => [id, name]),
);

/** Name of a GGUF value type id (`string`, `u32`, …), or undefined for an id the spec does not define. */
export function ggufValueTypeName(id: number): GgufValueTypeName | undefined {
  return VALUE_TYPE_NAMES.get(id);
}

/** Bytes of one value of a fixed-size type; strings and arrays have no fixed size. */
export const GGUF_FIXED_VALUE_BYTES: Readonly<Partial<Record<GgufValueTypeName, number>>> = {
  u8: 1,
  i8: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  f32: 4,
  bool: 1,
  u64: 8,
  i64: 8,
  f64: 8,
};

/**
 * Fewest bytes a value of this type can take: its fixed size, a string's
 * u64 length, an array's u32 item type and u64 count. Used to refuse counts
 * that the rest of the file cannot possibly hold, before reading them.
 */
export function minimumValueBytes(type: GgufValueTypeName): number {
  if (type === 'string') return 8;
  if (type === 'array') return 12;
  return GGUF_FIXED_VALUE_BYTES[type] ?? 1;
}
