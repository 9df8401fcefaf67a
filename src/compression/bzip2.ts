/**
 * A streaming bzip2 decoder: what joblib writes for `compress='bz2'`
 * (Python's `bz2.BZ2File`). Format: Julian Seward's bzip2 1.0.x, described in
 * https://sourceware.org/bzip2/ and https://github.com/dsnet/compress/blob/master/doc/bzip2-format.pdf.
 *
 * A stream is `BZh` and a level (block size in 100 000 bytes), then blocks,
 * each starting with the 48-bit magic 0x314159265359 at any bit position:
 * its CRC, the BWT origin pointer, the byte values in use, 2–6 Huffman
 * tables with the list of which table codes each group of 50 symbols, then
 * the symbols (move-to-front indexes, with runs of the front byte coded as
 * RUNA/RUNB digits). Decoding undoes the Huffman coding, the move-to-front,
 * the Burrows–Wheeler transform and the initial run-length coding (four equal
 * bytes then a count), and checks each block's CRC and the stream's
 * combined CRC at the end marker 0x177245385090. Streams may follow each
 * other, as Python reads them.
 *
 * Threat surface: every count is checked against the format's bounds before
 * use (tables 2–6, code lengths 1–20, selectors, symbols per block at most
 * the declared block size, the origin pointer inside the block), so memory is
 * one block (4 bytes per byte of the block size, at most 3.6 MB) and time is
 * linear. A block is parsed only once all of its input has arrived: a block
 * that waits for input is retried each time the buffered input doubles, so
 * small pushes cost no more than big ones. Output is generated lazily in
 * pieces of at most OUTPUT_PIECE_BYTES and stops at `maxOutputBytes` (a
 * block of runs expands about 50 times). Randomised blocks (bzip2 0.9.0,
 * long obsolete) are refused with `wrapper.not-inspected`.
 *
 * Implements the StreamDecoder contract of lzma.ts.
 */
import { ParseError } from '../io/parse-error.ts';
import { MAX_DECODED_BYTES, OUTPUT_PIECE_BYTES, type StreamDecoder, type StreamStatus } from './lzma.ts';

const BLOCK_MAGIC_HIGH = 0x314159;
const BLOCK_MAGIC_LOW = 0x265359;
const END_MAGIC_HIGH = 0x177245;
const END_MAGIC_LOW = 0x385090;
const STREAM_MAGIC = [0x42, 0x5a, 0x68] as const;
const GROUP_SIZE = 50;
const MAX_GROUPS = 6;
const MIN_GROUPS = 2;
const MAX_CODE_LENGTH = 20;
/** bzip2 1.0.8 keeps at most this many selectors and ignores the rest (the fix for CVE-2019-12900). */
const MAX_SELECTORS = 18002;
const RUNA = 0;
const RUNB = 1;

const EMPTY = new Uint8Array(0);

/** Thrown inside the parser when the buffered input ends: the unit is retried once more arrives. */
const NEED_INPUT = Symbol('need input');

export interface Bzip2DecoderOptions {
  /** Hard cap on decoded bytes (default MAX_DECODED_BYTES): status `limit` past it. */
  maxOutputBytes?: number;
  /** Absolute offset of the first byte, for error messages. */
  inputOffset?: number;
}

export interface Bzip2Decoder extends StreamDecoder {
  readonly streams: number;
  readonly blocks: number;
}

/** True when `head` starts a bzip2 stream (`BZh` and a level 1–9). */
export function isBzip2Header(head: Uint8Array, at = 0): boolean {
  return head.length >= at + 4 && STREAM_MAGIC.every((byte, index) => head[at + index] === byte) && head[at + 3] >= 0x31 && head[at + 3] <= 0x39;
}

/** Creates a streaming bzip2 decoder. */
export function createBzip2Decoder(options: Bzip2DecoderOptions = {}): Bzip2Decoder {
  return new Bzip2Stream(options);
}

/** One parsed block, ready for the inverse BWT. */
interface ParsedBlock {
  crc: number;
  /** Low 8 bits: the byte; high 24 bits: the BWT link (set by prepareInverse). */
  tt: Uint32Array;
  length: number;
  origin: number;
}

class Bzip2Stream implements Bzip2Decoder {
  status: StreamStatus = 'running';
  inputBytes = 0;
  outputBytes = 0;
  trailingBytes = 0;
  unusedInput: Uint8Array = EMPTY;
  streams = 0;
  blocks = 0;

  private readonly maxOutputBytes: number;
  private readonly inputOffset: number;
  /** Compressed bytes not yet consumed; `bitPosition` counts bits into it. */
  private buffer = new Uint8Array(0);
  private bufferLength = 0;
  private bitPosition = 0;
  /** Absolute offset of buffer[0]. */
  private bufferOffset = 0;
  private phase: 'stream-header' | 'block' | 'done' = 'stream-header';
  private blockSizeLimit = 0;
  private combinedCrc = 0;
  /** Buffered bytes when the current unit last needed more input; retried at twice that. */
  private waitingFor = 0;
  private tt: Uint32Array | null = null;
  private output = new Uint8Array(0);
  private busy = false;
  private finished = false;

  constructor(options: Bzip2DecoderOptions) {
    const limit = options.maxOutputBytes ?? MAX_DECODED_BYTES;
    this.maxOutputBytes = Number.isFinite(limit) && limit > 0 ? Math.floor(limit) : 0;
    this.inputOffset = options.inputOffset ?? 0;
    this.bufferOffset = this.inputOffset;
  }

  *push(input: Uint8Array): Generator<Uint8Array, void, undefined> {
    this.enter('push');
    try {
      this.unusedInput = EMPTY;
      this.inputBytes += input.length;
      if (this.status !== 'running') {
        if (this.status === 'ended') this.trailingBytes += input.length;
        this.unusedInput = input;
        return;
      }
      this.append(input);
      yield* this.run(false);
    } finally {
      this.busy = false;
    }
  }

  *finish(): Generator<Uint8Array, void, undefined> {
    this.enter('finish');
    this.finished = true;
    try {
      this.unusedInput = EMPTY;
      if (this.status === 'running') yield* this.run(true);
    } finally {
      this.busy = false;
    }
  }

  private enter(what: string): void {
    if (this.busy) throw new Error(`bzip2 decoder: ${what} called before the previous output was consumed`);
    if (this.finished) throw new Error(`bzip2 decoder: ${what} called after finish`);
    this.busy = true;
  }

  private append(input: Uint8Array): void {
    const keepFrom = this.bitPosition >>> 3;
    const kept = this.bufferLength - keepFrom;
    if (kept + input.length > this.buffer.length) {
      const grown = new Uint8Array(Math.max(kept + input.length, this.buffer.length * 2, 64 * 1024));
      grown.set(this.buffer.subarray(keepFrom, this.bufferLength));
      this.buffer = grown;
    } else if (keepFrom > 0) {
      this.buffer.copyWithin(0, keepFrom, this.bufferLength);
    }
    this.bufferOffset += keepFrom;
    this.bitPosition -= keepFrom * 8;
    this.bufferLength = kept;
    this.buffer.set(input, this.bufferLength);
    this.bufferLength += input.length;
  }

  private get offset(): number {
    return this.bufferOffset + (this.bitPosition >>> 3);
  }

  /** Parses units (stream header, block, end marker) while their input is all there. */
  private *run(final: boolean): Generator<Uint8Array, void, undefined> {
    while (this.status === 'running' && this.phase !== 'done') {
      const available = this.bufferLength - (this.bitPosition >>> 3);
      if (!final && this.waitingFor > 0 && available < this.waitingFor * 2) return;
      const start = this.bitPosition;
      let block: ParsedBlock | null;
      try {
        block = this.phase === 'stream-header' ? this.readStreamHeader(final) : this.readBlockOrEnd();
      } catch (error) {
        if (error !== NEED_INPUT) throw error;
        this.bitPosition = start;
        if (final) this.endOfInput();
        else this.waitingFor = Math.max(available, 1);
        return;
      }
      this.waitingFor = 0;
      if (block) yield* this.emit(block);
    }
  }

  /** `BZh` + level, or (after a stream) the end of the input, trailing bytes, or another stream. */
  private readStreamHeader(final: boolean): null {
    const byteStart = this.bitPosition >>> 3;
    const available = this.bufferLength - byteStart;
    if (this.streams > 0 && available === 0) {
      if (final) this.endWith(0);
      else throw NEED_INPUT;
      return null;
    }
    if (available < 4) {
      if (final && this.streams > 0) {
        this.endWith(available);
        return null;
      }
      throw NEED_INPUT;
    }
    if (!isBzip2Header(this.buffer, byteStart)) {
      if (this.streams > 0) {
        this.endWith(available);
        return null;
      }
      throw new ParseError('compression.corrupt', this.offset, `bzip2 stream at offset ${this.offset} does not start with BZh and a level 1-9`);
    }
    this.blockSizeLimit = (this.buffer[byteStart + 3] - 0x30) * 100_000;
    this.bitPosition += 32;
    this.streams += 1;
    this.combinedCrc = 0;
    this.phase = 'block';
    return null;
  }

  /** Bytes from here on are not another stream: they are trailing data. */
  private endWith(trailing: number): void {
    this.trailingBytes += trailing;
    this.bitPosition = this.bufferLength * 8;
    this.status = 'ended';
    this.phase = 'done';
  }

  private endOfInput(): void {
    if (this.phase === 'stream-header' && this.streams > 0) {
      this.endWith(this.bufferLength - (this.bitPosition >>> 3));
      return;
    }
    if (this.streams === 0 && this.bufferLength === 0) throw new ParseError('compression.truncated', this.offset, 'bzip2 stream is empty');
    throw new ParseError('compression.truncated', this.offset, `bzip2 stream ends at offset ${this.offset + (this.bufferLength - (this.bitPosition >>> 3))}, inside a block or its end marker`);
  }

  // -------------------------------------------------------------------------
  // Bits
  // -------------------------------------------------------------------------

  private bit(): number {
    const position = this.bitPosition;
    if (position >>> 3 >= this.bufferLength) throw NEED_INPUT;
    this.bitPosition = position + 1;
    return (this.buffer[position >>> 3] >>> (7 - (position & 7))) & 1;
  }

  private bits(count: number): number {
    let value = 0;
    for (let index = 0; index < count; index++) value = value * 2 + this.bit();
    return value;
  }

  private corrupt(what: string): never {
    throw new ParseError('compression.corrupt', this.offset, `bzip2 block near offset ${this.offset}: ${what}`);
  }

  // -------------------------------------------------------------------------
  // A block
  // -------------------------------------------------------------------------

  private readBlockOrEnd(): ParsedBlock | null {
    const high = this.bits(24);
    const low = this.bits(24);
    const crc = this.bits(32) >>> 0;
    if (high === END_MAGIC_HIGH && low === END_MAGIC_LOW) {
      if (crc !== this.combinedCrc >>> 0) {
        throw new ParseError('wrapper.checksum-mismatch', this.offset, `bzip2 stream ending at offset ${this.offset}: combined CRC ${hex32(crc)} recorded, ${hex32(this.combinedCrc)} computed`);
      }
      // The stream ends at the next byte boundary.
      this.bitPosition = Math.ceil(this.bitPosition / 8) * 8;
      this.phase = 'stream-header';
      return null;
    }
    if (high !== BLOCK_MAGIC_HIGH || low !== BLOCK_MAGIC_LOW) this.corrupt('no block or end-of-stream magic');
    if (this.bit() === 1) {
      throw new ParseError('wrapper.not-inspected', this.offset, `bzip2 block near offset ${this.offset} is randomised (bzip2 0.9.0), which Preflight does not decode`);
    }
    const origin = this.bits(24);
    const symbols = this.readSymbolMap();
    const alphabetSize = symbols.length + 2;
    const groups = this.bits(3);
    if (groups < MIN_GROUPS || groups > MAX_GROUPS) this.corrupt(`${groups} Huffman tables (2 to 6 allowed)`);
    const selectors = this.readSelectors(groups);
    const tables: HuffmanTable[] = [];
    for (let group = 0; group < groups; group++) tables.push(this.readTable(alphabetSize));
    const { tt, length } = this.readSymbols(symbols, tables, selectors);
    if (origin >= length) this.corrupt(`origin pointer ${origin} outside the block of ${length} bytes`);
    return { crc, tt, length, origin };
  }

  /** The byte values used in the block, in order: 16 flags for ranges of 16, then 16 flags per range present. */
  private readSymbolMap(): number[] {
    const ranges = this.bits(16);
    const symbols: number[] = [];
    for (let range = 0; range < 16; range++) {
      if (!(ranges & (0x8000 >>> range))) continue;
      const used = this.bits(16);
      for (let index = 0; index < 16; index++) if (used & (0x8000 >>> index)) symbols.push(range * 16 + index);
    }
    if (symbols.length === 0) this.corrupt('no byte values in use');
    return symbols;
  }

  /** Which table codes each group of 50 symbols: unary move-to-front indexes. */
  private readSelectors(groups: number): Uint8Array {
    const count = this.bits(15);
    if (count < 1) this.corrupt('no selectors');
    const kept = Math.min(count, MAX_SELECTORS);
    const selectors = new Uint8Array(kept);
    const order = [0, 1, 2, 3, 4, 5].slice(0, groups);
    for (let index = 0; index < count; index++) {
      let position = 0;
      while (this.bit() === 1) {
        position += 1;
        if (position >= groups) this.corrupt(`selector ${index} names table ${position} of ${groups}`);
      }
      const table = order[position];
      order.splice(position, 1);
      order.unshift(table);
      if (index < kept) selectors[index] = table;
    }
    return selectors;
  }

  /** Code lengths, each the previous one adjusted by 1-bit steps, then the canonical decoding table. */
  private readTable(alphabetSize: number): HuffmanTable {
    const lengths = new Uint8Array(alphabetSize);
    let length = this.bits(5);
    for (let symbol = 0; symbol < alphabetSize; symbol++) {
      for (;;) {
        if (length < 1 || length > MAX_CODE_LENGTH) this.corrupt(`code length ${length} (1 to ${MAX_CODE_LENGTH} allowed)`);
        if (this.bit() === 0) break;
        length += this.bit() === 0 ? 1 : -1;
      }
      lengths[symbol] = length;
    }
    return buildTable(lengths);
  }

  /** The block's bytes before the inverse BWT, undoing Huffman, RUNA/RUNB runs and move-to-front. */
  private readSymbols(symbols: number[], tables: HuffmanTable[], selectors: Uint8Array): { tt: Uint32Array; length: number } {
    const limit = this.blockSizeLimit;
    if (!this.tt || this.tt.length < limit) this.tt = new Uint32Array(limit);
    const tt = this.tt;
    const endOfBlock = symbols.length + 1;
    const front = symbols.map((_, index) => index);
    let length = 0;
    let run = 0;
    let weight = 1;
    let selector = 0;
    let left = 0;
    let table = tables[0];
    for (;;) {
      if (left === 0) {
        if (selector >= selectors.length) this.corrupt('more symbols than its selectors cover');
        table = tables[selectors[selector++]];
        left = GROUP_SIZE;
      }
      left -= 1;
      const symbol = this.decodeSymbol(table);
      if (symbol === RUNA || symbol === RUNB) {
        run += (symbol + 1) * weight;
        weight *= 2;
        if (run > limit) this.corrupt(`a run longer than the ${limit}-byte block`);
        continue;
      }
      if (run > 0) {
        if (length + run > limit) this.corrupt(`more than ${limit} bytes in a block`);
        tt.fill(symbols[front[0]], length, length + run);
        length += run;
        run = 0;
        weight = 1;
      }
      if (symbol === endOfBlock) break;
      if (symbol > endOfBlock) this.corrupt(`symbol ${symbol} outside the alphabet`);
      if (length >= limit) this.corrupt(`more than ${limit} bytes in a block`);
      const position = symbol - 1;
      const value = front[position];
      for (let index = position; index > 0; index--) front[index] = front[index - 1];
      front[0] = value;
      tt[length++] = symbols[value];
    }
    return { tt, length };
  }

  private decodeSymbol(table: HuffmanTable): number {
    let code = 0;
    for (let length = 1; length <= MAX_CODE_LENGTH; length++) {
      code = code * 2 + this.bit();
      const index = code - table.firstCode[length];
      if (index >= 0 && index < table.count[length]) return table.symbols[table.firstIndex[length] + index];
    }
    return this.corrupt('a bit sequence that is no Huffman code');
  }

  // -------------------------------------------------------------------------
  // Output: inverse BWT, then the initial run-length coding, in pieces
  // -------------------------------------------------------------------------

  private *emit(block: ParsedBlock): Generator<Uint8Array, void, undefined> {
    const { tt, length, origin } = block;
    prepareInverse(tt, length);
    if (this.output.length === 0) this.output = new Uint8Array(OUTPUT_PIECE_BYTES);
    const output = this.output;
    let filled = 0;
    let crc = 0xffffffff;
    let link = tt[origin] >>> 8;
    let last = -1;
    let repeats = 0;
    const blockOffset = this.offset;
    for (let produced = 0; produced < length; produced++) {
      link = tt[link];
      const byte = link & 0xff;
      link >>>= 8;
      let copies = 1;
      let value = byte;
      if (repeats === 4) {
        // After four equal bytes comes a count of further copies of that byte.
        copies = byte;
        value = last;
        repeats = 0;
        last = -1;
      } else if (byte === last) {
        repeats += 1;
      } else {
        last = byte;
        repeats = 1;
      }
      for (let copy = 0; copy < copies; copy++) {
        if (this.outputBytes + filled >= this.maxOutputBytes) {
          this.status = 'limit';
          if (filled > 0) yield this.take(output, filled);
          return;
        }
        output[filled++] = value;
        crc = (crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ value) & 0xff];
        if (filled === output.length) {
          yield this.take(output, filled);
          filled = 0;
        }
      }
    }
    if (filled > 0) yield this.take(output, filled);
    const computed = ~crc >>> 0;
    if (computed !== block.crc) {
      throw new ParseError('wrapper.checksum-mismatch', blockOffset, `bzip2 block ending near offset ${blockOffset}: CRC ${hex32(block.crc)} recorded, ${hex32(computed)} computed`);
    }
    this.combinedCrc = (((this.combinedCrc << 1) | (this.combinedCrc >>> 31)) ^ computed) >>> 0;
    this.blocks += 1;
  }

  private take(output: Uint8Array, filled: number): Uint8Array {
    this.outputBytes += filled;
    return output.subarray(0, filled);
  }
}

/** Links each position to the next in the original text (the inverse BWT), kept in the high 24 bits. */
function prepareInverse(tt: Uint32Array, length: number): void {
  const starts = new Uint32Array(256);
  for (let index = 0; index < length; index++) starts[tt[index] & 0xff] += 1;
  let sum = 0;
  for (let byte = 0; byte < 256; byte++) {
    const count = starts[byte];
    starts[byte] = sum;
    sum += count;
  }
  for (let index = 0; index < length; index++) {
    const byte = tt[index] & 0xff;
    tt[starts[byte]] |= index << 8;
    starts[byte] += 1;
  }
}

/** A canonical Huffman code: per length, the first code, how many codes, and where their symbols start. */
interface HuffmanTable {
  firstCode: Int32Array;
  count: Int32Array;
  firstIndex: Int32Array;
  /** Symbols ordered by code length, then value. */
  symbols: Uint16Array;
}

function buildTable(lengths: Uint8Array): HuffmanTable {
  const count = new Int32Array(MAX_CODE_LENGTH + 1);
  for (const length of lengths) count[length] += 1;
  const firstCode = new Int32Array(MAX_CODE_LENGTH + 1);
  const firstIndex = new Int32Array(MAX_CODE_LENGTH + 1);
  let code = 0;
  let index = 0;
  for (let length = 1; length <= MAX_CODE_LENGTH; length++) {
    firstCode[length] = code;
    firstIndex[length] = index;
    code = (code + count[length]) * 2;
    index += count[length];
  }
  const symbols = new Uint16Array(lengths.length);
  const next = firstIndex.slice();
  for (let symbol = 0; symbol < lengths.length; symbol++) symbols[next[lengths[symbol]]++] = symbol;
  return { firstCode, count, firstIndex, symbols };
}

/** CRC-32 as bzip2 computes it: polynomial 0x04C11DB7, most significant bit first. */
const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 24;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
    table[byte] = crc;
  }
  return table;
})();

function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
}
