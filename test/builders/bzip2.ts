/**
 * A tiny bzip2 encoder for tests: one block, the real transforms (initial
 * run-length coding, a naive Burrows–Wheeler sort, move-to-front with
 * RUNA/RUNB runs) and the simplest Huffman coding bzip2 allows (every
 * symbol the same length, two identical tables). Fine for a few kilobytes;
 * fields can be overridden to build broken streams.
 *
 *   bzip2(payloadBytes)                      // what Python's bz2 would decode
 *   bzip2(bytes, { blockCrc: 0 })            // a wrong block CRC
 */

export interface Bzip2Options {
  level?: number;
  blockCrc?: number;
  combinedCrc?: number;
  randomised?: boolean;
  origin?: number;
}

/** CRC-32 as bzip2 computes it (polynomial 0x04C11DB7, most significant bit first). */
export function bzip2Crc(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte << 24;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
  }
  return ~crc >>> 0;
}

/** Four or more equal bytes become four and a count of the rest (at most 251 more). */
function runLengthEncode(data: Uint8Array): number[] {
  const out: number[] = [];
  for (let index = 0; index < data.length; ) {
    let run = 1;
    while (index + run < data.length && data[index + run] === data[index] && run < 255) run++;
    if (run >= 4) out.push(data[index], data[index], data[index], data[index], run - 4);
    else for (let copy = 0; copy < run; copy++) out.push(data[index]);
    index += run;
  }
  return out;
}

/** The last column of the sorted rotations, and where the original text sits among them. */
function burrowsWheeler(text: number[]): { last: number[]; origin: number } {
  const length = text.length;
  const rotations = Array.from({ length }, (_, index) => index);
  rotations.sort((a, b) => {
    for (let step = 0; step < length; step++) {
      const difference = text[(a + step) % length] - text[(b + step) % length];
      if (difference !== 0) return difference;
    }
    return 0;
  });
  return { last: rotations.map((start) => text[(start + length - 1) % length]), origin: rotations.indexOf(0) };
}

class BitWriter {
  readonly bytes: number[] = [];
  private current = 0;
  private count = 0;
  write(value: number, bits: number): void {
    for (let bit = bits - 1; bit >= 0; bit--) {
      this.current = (this.current << 1) | (Math.floor(value / 2 ** bit) & 1);
      this.count += 1;
      if (this.count === 8) {
        this.bytes.push(this.current);
        this.current = 0;
        this.count = 0;
      }
    }
  }
  finish(): Uint8Array {
    if (this.count > 0) this.bytes.push(this.current << (8 - this.count));
    return Uint8Array.from(this.bytes);
  }
}

/** A one-block bzip2 stream of `data` (which must not be empty). */
export function bzip2(data: Uint8Array, options: Bzip2Options = {}): Uint8Array {
  const encoded = runLengthEncode(data);
  const { last, origin } = burrowsWheeler(encoded);
  const used = [...new Set(encoded)].sort((a, b) => a - b);
  const front = [...used];
  const symbols: number[] = [];
  let zeros = 0;
  const flushZeros = () => {
    // A run of n front bytes is n written in bijective base 2 with digits RUNA (1) and RUNB (2).
    let run = zeros;
    while (run > 0) {
      symbols.push(run % 2 === 1 ? 0 : 1);
      run = Math.floor((run - 1) / 2);
    }
    zeros = 0;
  };
  for (const byte of last) {
    const position = front.indexOf(byte);
    if (position === 0) {
      zeros += 1;
      continue;
    }
    flushZeros();
    symbols.push(position + 1);
    front.splice(position, 1);
    front.unshift(byte);
  }
  flushZeros();
  const alphabetSize = used.length + 2;
  symbols.push(alphabetSize - 1);
  const codeLength = Math.max(1, Math.ceil(Math.log2(alphabetSize)));

  const writer = new BitWriter();
  for (const byte of [0x42, 0x5a, 0x68, 0x30 + (options.level ?? 9)]) writer.write(byte, 8);
  writer.write(0x314159, 24);
  writer.write(0x265359, 24);
  const crc = options.blockCrc ?? bzip2Crc(data);
  writer.write(crc, 32);
  writer.write(options.randomised ? 1 : 0, 1);
  writer.write(options.origin ?? origin, 24);
  const ranges = new Set(used.map((byte) => byte >> 4));
  let rangeBits = 0;
  for (const range of ranges) rangeBits |= 0x8000 >> range;
  writer.write(rangeBits, 16);
  for (let range = 0; range < 16; range++) {
    if (!ranges.has(range)) continue;
    let bits = 0;
    for (const byte of used) if (byte >> 4 === range) bits |= 0x8000 >> (byte & 15);
    writer.write(bits, 16);
  }
  writer.write(2, 3);
  const selectors = Math.ceil(symbols.length / 50);
  writer.write(selectors, 15);
  for (let index = 0; index < selectors; index++) writer.write(0, 1);
  for (let table = 0; table < 2; table++) {
    writer.write(codeLength, 5);
    for (let symbol = 0; symbol < alphabetSize; symbol++) writer.write(0, 1);
  }
  for (const symbol of symbols) writer.write(symbol, codeLength);
  writer.write(0x177245, 24);
  writer.write(0x385090, 24);
  writer.write(options.combinedCrc ?? crc, 32);
  return writer.finish();
}
