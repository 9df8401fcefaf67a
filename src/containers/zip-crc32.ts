/**
 * CRC-32 as zip uses it (ISO-HDLC: reflected polynomial 0xEDB88320, initial
 * and final XOR 0xFFFFFFFF), incremental so the one streaming pass can check
 * entries chunk by chunk. Slicing-by-8 tables: eight bytes per step, because
 * this runs over every stored tensor of a checkpoint.
 */

const TABLES = buildTables();

function buildTables(): Uint32Array[] {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
    tables[0][byte] = crc >>> 0;
  }
  for (let byte = 0; byte < 256; byte++) {
    for (let table = 1; table < 8; table++) {
      const previous = tables[table - 1][byte];
      tables[table][byte] = (previous >>> 8) ^ tables[0][previous & 0xff];
    }
  }
  return tables;
}

/** Continue a CRC-32 over `bytes`; pass the previous result as `crc` (0 to start). */
export function updateCrc32(crc: number, bytes: Uint8Array): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES;
  let value = ~crc >>> 0;
  let index = 0;
  const fastEnd = bytes.length - (bytes.length % 8);
  while (index < fastEnd) {
    const low = (value ^ (bytes[index] | (bytes[index + 1] << 8) | (bytes[index + 2] << 16) | (bytes[index + 3] << 24))) >>> 0;
    value =
      t7[low & 0xff] ^
      t6[(low >>> 8) & 0xff] ^
      t5[(low >>> 16) & 0xff] ^
      t4[low >>> 24] ^
      t3[bytes[index + 4]] ^
      t2[bytes[index + 5]] ^
      t1[bytes[index + 6]] ^
      t0[bytes[index + 7]];
    index += 8;
  }
  while (index < bytes.length) value = t0[(value ^ bytes[index++]) & 0xff] ^ (value >>> 8);
  return ~value >>> 0;
}

/** CRC-32 of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  return updateCrc32(0, bytes);
}

/** A streaming CRC-32 (`push` chunks, then `value`), the same for any chunking. */
export interface Crc32Accumulator {
  push(bytes: Uint8Array): void;
  /** Bytes pushed so far. */
  readonly length: number;
  readonly value: number;
}

export function createCrc32(): Crc32Accumulator {
  let value = 0;
  let length = 0;
  return {
    push(bytes) {
      value = updateCrc32(value, bytes);
      length += bytes.length;
    },
    get length() {
      return length;
    },
    get value() {
      return value;
    },
  };
}

export function formatCrc32(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}
