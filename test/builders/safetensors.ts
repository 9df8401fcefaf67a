/**
 * Byte builders for safetensors files, for tests.
 *
 * `buildSafetensors` writes files the way the reference library does (header
 * with sequential `data_offsets`, `__metadata__` first, padded with spaces to a
 * multiple of 8), so the real `safetensors` loader accepts them. The lower
 * level helpers write anything at all, for malformed cases.
 */
import { SAFETENSORS_DTYPE_BITS } from '../../src/formats/safetensors.ts';

export interface SafetensorsTensorSpec {
  name: string;
  dtype: string;
  shape: number[];
  /** Raw little-endian bytes; defaults to deterministic bytes of the right size. */
  data?: Uint8Array;
}

const encoder = new TextEncoder();

/** Byte size of a tensor of `dtype` and `shape`: ceil(bits × elements / 8). Throws on an unknown dtype. */
export function safetensorsByteLength(dtype: string, shape: readonly number[]): number {
  const bits = Object.hasOwn(SAFETENSORS_DTYPE_BITS, dtype) ? SAFETENSORS_DTYPE_BITS[dtype] : undefined;
  if (bits === undefined) throw new Error(`buildSafetensors: unknown dtype ${JSON.stringify(dtype)}; pass data explicitly`);
  const elements = shape.reduce((product, dimension) => product * dimension, 1);
  return Math.ceil((elements * bits) / 8);
}

/** `length` deterministic bytes, different for each `seed`, so tensors are told apart in tests. */
export function deterministicBytes(length: number, seed = 0): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let index = 0; index < length; index++) bytes[index] = (index * 31 + seed * 97 + 7) & 0xff;
  return bytes;
}

/**
 * Header text from members in the order given: keys may repeat and values may
 * be anything JSON.stringify accepts, so duplicate keys and odd key orders
 * (integer-like names) survive, unlike JSON.stringify of an object.
 */
export function safetensorsHeaderText(members: ReadonlyArray<readonly [string, unknown]>): string {
  return `{${members.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(',')}}`;
}

export interface SafetensorsRawOptions {
  /** Header length written at offset 0 instead of the real one (too large, beyond the file, …). */
  declaredLength?: bigint | number;
}

/** u64 LE header length, then `header` (text is UTF-8 encoded, bytes are used as is), then `data`. */
export function buildSafetensorsRaw(
  header: string | Uint8Array,
  data: Uint8Array = new Uint8Array(0),
  options: SafetensorsRawOptions = {},
): Uint8Array {
  const headerBytes = typeof header === 'string' ? encoder.encode(header) : header;
  const file = new Uint8Array(8 + headerBytes.length + data.length);
  const declared = BigInt(options.declaredLength ?? headerBytes.length);
  new DataView(file.buffer).setBigUint64(0, declared, true);
  file.set(headerBytes, 8);
  file.set(data, 8 + headerBytes.length);
  return file;
}

/** Right-pad header text with spaces to a multiple of 8 bytes, as the reference writer does. */
export function padSafetensorsHeader(text: string): string {
  const length = encoder.encode(text).length;
  return text + ' '.repeat((8 - (length % 8)) % 8);
}

/**
 * A valid safetensors file: tensors laid out back to back in the order given,
 * `__metadata__` first when given. Throws on a duplicate name or an unknown
 * dtype without data (use the raw helpers to build those on purpose).
 */
export function buildSafetensors(tensors: SafetensorsTensorSpec[], metadata?: Record<string, string>): Uint8Array {
  const members: Array<[string, unknown]> = [];
  if (metadata !== undefined) members.push(['__metadata__', metadata]);
  const names = new Set<string>();
  const chunks: Uint8Array[] = [];
  let offset = 0;
  tensors.forEach((tensor, index) => {
    if (names.has(tensor.name) || tensor.name === '__metadata__') {
      throw new Error(`buildSafetensors: tensor name ${JSON.stringify(tensor.name)} is used twice or reserved`);
    }
    names.add(tensor.name);
    const data = tensor.data ?? deterministicBytes(safetensorsByteLength(tensor.dtype, tensor.shape), index);
    members.push([tensor.name, { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + data.length] }]);
    chunks.push(data);
    offset += data.length;
  });
  const data = new Uint8Array(offset);
  let position = 0;
  for (const chunk of chunks) {
    data.set(chunk, position);
    position += chunk.length;
  }
  return buildSafetensorsRaw(padSafetensorsHeader(safetensorsHeaderText(members)), data);
}
