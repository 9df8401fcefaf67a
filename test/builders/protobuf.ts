/**
 * A tiny protobuf encoder for tests: enough to write ONNX and TensorFlow
 * messages by hand (only the fields the readers look at), and to break them
 * on purpose. Every helper returns bytes; messages are concatenations of fields.
 */

/** Base-128 varint of a non-negative number or bigint (negative int64 as two's complement, 10 bytes). */
export function varint(value: number | bigint): Uint8Array {
  let rest = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  do {
    const low = Number(rest & 0x7fn);
    rest >>= 7n;
    bytes.push(rest > 0n ? low | 0x80 : low);
  } while (rest > 0n);
  return new Uint8Array(bytes);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function tag(fieldNumber: number, wireType: number): Uint8Array {
  return varint(fieldNumber * 8 + wireType);
}

/** A varint field (int32, int64, enum, bool). */
export function vField(fieldNumber: number, value: number | bigint | boolean): Uint8Array {
  return concat(tag(fieldNumber, 0), varint(typeof value === 'boolean' ? Number(value) : value));
}

/** A length-delimited field: a string (UTF-8), bytes, or an encoded message. */
export function lField(fieldNumber: number, payload: Uint8Array | string): Uint8Array {
  const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  return concat(tag(fieldNumber, 2), varint(bytes.length), bytes);
}

/** A message field built from its fields. */
export function mField(fieldNumber: number, ...fields: Uint8Array[]): Uint8Array {
  return lField(fieldNumber, concat(...fields));
}

/** A fixed32 field holding a float. */
export function f32Field(fieldNumber: number, value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setFloat32(0, value, true);
  return concat(tag(fieldNumber, 5), bytes);
}

/** A packed repeated varint field. */
export function packedField(fieldNumber: number, values: (number | bigint)[]): Uint8Array {
  return lField(fieldNumber, concat(...values.map((value) => varint(value))));
}

/** A length prefix and tag only: the header of a field whose payload follows elsewhere (for virtual large files). */
export function lHeader(fieldNumber: number, length: number | bigint): Uint8Array {
  return concat(tag(fieldNumber, 2), varint(length));
}
