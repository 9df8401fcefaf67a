/**
 * A streaming .xz decoder: the container (stream header, blocks, index,
 * footer, padding, streams back to back) read here; each block's data
 * decoded by the LZMA2 decoder of lzma2.ts and the delta / x86 BCJ filters
 * of delta.ts and bcj.ts. This is what joblib writes for `compress='xz'`
 * (Python's `lzma.LZMAFile`, format FORMAT_XZ, check CRC-64).
 * Spec: https://tukaani.org/xz/xz-file-format.txt (version 1.1.0).
 *
 * Threat surface: every size in the container is attacker-chosen. Block
 * headers are at most 1024 bytes by their own size byte; the index is read
 * byte by byte, never held; blocks are compared with the index through
 * running sums and a CRC-32 of their records, so memory stays flat whatever
 * the number of blocks. The LZMA2 dictionary is capped by lzma2.ts. Output
 * stops at `maxOutputBytes` (status `limit`). Every CRC is verified (header,
 * index, footer, and the CRC-32 or CRC-64 check of each block); a mismatch or
 * a malformed field ends decoding with a ParseError carrying the compressed
 * offset. SHA-256 and reserved check types are skipped unverified, as
 * liblzma does when it cannot check them. Filters other than LZMA2, delta and
 * x86 BCJ end decoding with `wrapper.not-inspected`.
 *
 * Implements the StreamDecoder contract of lzma.ts.
 */
import type { ByteFilter } from './bcj.ts';
import { createBcjX86Decoder } from './bcj.ts';
import { createDeltaDecoder, decodeDeltaDistance } from './delta.ts';
import { MAX_DECODED_BYTES, type StreamDecoder, type StreamStatus } from './lzma.ts';
import { createLzma2Decoder, decodeLzma2DictionarySize } from './lzma2.ts';
import { updateCrc32 } from '../containers/zip-crc32.ts';
import { ParseError } from '../io/parse-error.ts';

export const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] as const;
const FOOTER_MAGIC = [0x59, 0x5a] as const;
const STREAM_HEADER_BYTES = 12;
const STREAM_FOOTER_BYTES = 12;
/** A varint holds at most 63 bits in 9 bytes; larger values are beyond 2^53 here and refused. */
const MAX_VARINT_BYTES = 9;

const FILTER_LZMA2 = 0x21;
const FILTER_DELTA = 0x03;
const FILTER_X86 = 0x04;
const FILTER_NAMES: Readonly<Record<number, string>> = {
  0x05: 'PowerPC BCJ', 0x06: 'IA-64 BCJ', 0x07: 'ARM BCJ', 0x08: 'ARM-Thumb BCJ', 0x09: 'SPARC BCJ', 0x0a: 'ARM64 BCJ', 0x0b: 'RISC-V BCJ',
};

/** Check sizes by check id (0: none, 1: CRC-32, 4: CRC-64, 10: SHA-256; the others are reserved with these sizes). */
const CHECK_SIZES = [0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64];
const CHECK_CRC32 = 1;
const CHECK_CRC64 = 4;

const EMPTY = new Uint8Array(0);

export interface XzDecoderOptions {
  /** Hard cap on decoded bytes over all streams (default MAX_DECODED_BYTES). */
  maxOutputBytes?: number;
  /** Largest LZMA2 dictionary allocated (lzma2.ts's default otherwise); tests pass small ones. */
  maxDictionaryBytes?: number;
  /** Absolute offset of the first byte, for error messages. */
  inputOffset?: number;
}

export interface XzDecoder extends StreamDecoder {
  /** Streams that started so far. */
  readonly streams: number;
  /** Blocks decoded so far. */
  readonly blocks: number;
  /** Check types met whose values were not verified (SHA-256, reserved ids). */
  readonly uncheckedTypes: readonly number[];
}

/** True when `head` starts with the xz stream magic. */
export function isXzHeader(head: Uint8Array, at = 0): boolean {
  return head.length >= at + XZ_MAGIC.length && XZ_MAGIC.every((byte, index) => head[at + index] === byte);
}

/** Creates a streaming .xz decoder. */
export function createXzDecoder(options: XzDecoderOptions = {}): XzDecoder {
  return new XzStream(options);
}

type Phase =
  | 'stream-header'
  | 'block-header-size'
  | 'block-header'
  | 'block-data'
  | 'block-padding'
  | 'check'
  | 'index'
  | 'footer'
  | 'stream-padding'
  | 'done';

interface BlockState {
  headerSize: number;
  declaredCompressed: number | null;
  declaredUncompressed: number | null;
  lzma2: StreamDecoder;
  filters: ByteFilter[];
  compressed: number;
  uncompressed: number;
  crc32: number;
  crc64: Crc64;
}

/** Index reading, one byte at a time: the record count, then pairs of varints, padding, CRC-32. */
interface IndexState {
  start: number;
  size: number;
  crc: number;
  part: 'count' | 'unpadded' | 'uncompressed' | 'padding' | 'crc';
  records: number;
  recordsRead: number;
  unpadded: number;
  varint: { value: number; bytes: number };
  tally: RecordTally;
}

/** What the blocks or the index add up to; equal tallies mean the index describes the blocks. */
interface RecordTally {
  count: number;
  unpadded: number;
  uncompressed: number;
  crc: number;
}

class XzStream implements XzDecoder {
  status: StreamStatus = 'running';
  inputBytes = 0;
  outputBytes = 0;
  trailingBytes = 0;
  unusedInput: Uint8Array = EMPTY;
  streams = 0;
  blocks = 0;
  uncheckedTypes: number[] = [];

  private readonly maxOutputBytes: number;
  private readonly maxDictionaryBytes: number | undefined;
  private readonly inputOffset: number;
  private phase: Phase = 'stream-header';
  private collected = new Uint8Array(1024);
  private collectedLength = 0;
  private needed = STREAM_HEADER_BYTES;
  private checkType = 0;
  private streamFlags = 0;
  private block: BlockState | null = null;
  private blockTally: RecordTally = emptyTally();
  private index: IndexState | null = null;
  private paddingLeft = 0;
  private streamPaddingBytes = 0;
  private busy = false;
  private finished = false;

  constructor(options: XzDecoderOptions) {
    const limit = options.maxOutputBytes ?? MAX_DECODED_BYTES;
    this.maxOutputBytes = Number.isFinite(limit) && limit > 0 ? Math.floor(limit) : 0;
    this.maxDictionaryBytes = options.maxDictionaryBytes;
    this.inputOffset = options.inputOffset ?? 0;
  }

  *push(input: Uint8Array): Generator<Uint8Array, void, undefined> {
    this.enter('push');
    try {
      this.unusedInput = EMPTY;
      this.inputBytes += input.length;
      yield* this.process(input, false);
    } finally {
      this.busy = false;
    }
  }

  *finish(): Generator<Uint8Array, void, undefined> {
    this.enter('finish');
    this.finished = true;
    try {
      this.unusedInput = EMPTY;
      yield* this.process(EMPTY, true);
    } finally {
      this.busy = false;
    }
  }

  private enter(what: string): void {
    if (this.busy) throw new Error(`xz decoder: ${what} called before the previous output was consumed`);
    if (this.finished) throw new Error(`xz decoder: ${what} called after finish`);
    this.busy = true;
  }

  private offsetOf(input: Uint8Array, index: number): number {
    return this.inputOffset + this.inputBytes - input.length + index;
  }

  private *process(input: Uint8Array, final: boolean): Generator<Uint8Array, void, undefined> {
    let index = 0;
    while (this.status === 'running' && this.phase !== 'done') {
      if (this.phase === 'block-data') {
        const result = yield* this.decodeBlockData(input.subarray(index), final);
        if (result === null) {
          index = input.length;
          break;
        }
        index = input.length - result.length;
        continue;
      }
      if (index >= input.length) {
        if (final) this.endOfInput(input, index);
        break;
      }
      index = this.step(input, index);
    }
    if (this.status !== 'running') {
      const unused = input.subarray(index);
      this.unusedInput = unused;
      if (this.status === 'ended') this.trailingBytes += unused.length;
    }
  }

  /** One container step from `input[index]`; returns the next index. */
  private step(input: Uint8Array, index: number): number {
    switch (this.phase) {
      case 'stream-header':
        return this.readFixed(input, index, () => this.parseStreamHeader(input, index));
      case 'block-header-size':
        return this.readBlockHeaderSize(input, index);
      case 'block-header':
        return this.readFixed(input, index, () => this.parseBlockHeader(input, index));
      case 'block-padding':
        return this.readBlockPadding(input, index);
      case 'check':
        return this.readFixed(input, index, () => this.verifyCheck(input, index));
      case 'index':
        return this.readIndexByte(input, index);
      case 'footer':
        return this.readFixed(input, index, () => this.parseFooter(input, index));
      case 'stream-padding':
        return this.readStreamPadding(input, index);
      default:
        return input.length;
    }
  }

  /** Collects `this.needed` bytes, then runs `done` (with the offset of the first collected byte computable by the callee). */
  private readFixed(input: Uint8Array, index: number, done: () => void): number {
    const count = Math.min(this.needed - this.collectedLength, input.length - index);
    this.collected.set(input.subarray(index, index + count), this.collectedLength);
    this.collectedLength += count;
    const next = index + count;
    if (this.collectedLength === this.needed) {
      this.collectedEnd = this.offsetOf(input, next);
      done();
    }
    return next;
  }

  /** Absolute offset just past the last collected byte (set when a fixed part completes). */
  private collectedEnd = 0;

  private get collectedStart(): number {
    return this.collectedEnd - this.needed;
  }

  private expect(phase: Phase, bytes: number): void {
    this.phase = phase;
    this.needed = bytes;
    this.collectedLength = 0;
  }

  private parseStreamHeader(_input: Uint8Array, _index: number): void {
    const header = this.collected;
    const at = this.collectedStart;
    if (!isXzHeader(header)) throw new ParseError('compression.corrupt', at, `xz stream at offset ${at} does not start with the xz magic bytes`);
    if (updateCrc32(0, header.subarray(6, 8)) !== readU32le(header, 8)) {
      throw new ParseError('wrapper.checksum-mismatch', at + 8, `xz stream header at offset ${at}: CRC-32 of the stream flags does not match`);
    }
    this.checkReservedFlags(header.subarray(6, 8), at + 6, 'stream header');
    this.streamFlags = header[7];
    this.checkType = header[7] & 0x0f;
    this.streams += 1;
    this.blockTally = emptyTally();
    this.expect('block-header-size', 1);
  }

  /** Stream flags: one zero byte, then the check type in the low four bits (the high four are reserved). */
  private checkReservedFlags(flags: Uint8Array, at: number, where: string): void {
    if (flags[0] !== 0 || (flags[1] & 0xf0) !== 0) {
      throw new ParseError('compression.corrupt', at, `xz ${where} at offset ${at} sets reserved stream flag bits (${hex(flags[0])} ${hex(flags[1])})`);
    }
  }

  private readBlockHeaderSize(input: Uint8Array, index: number): number {
    const value = input[index];
    if (value === 0) {
      // The index indicator: the blocks of this stream are done.
      const at = this.offsetOf(input, index);
      this.index = {
        start: at,
        size: 1,
        crc: updateCrc32(0, Uint8Array.of(0)),
        part: 'count',
        records: 0,
        recordsRead: 0,
        unpadded: 0,
        varint: { value: 0, bytes: 0 },
        tally: emptyTally(),
      };
      this.phase = 'index';
      return index + 1;
    }
    this.collected[0] = value;
    this.collectedLength = 1;
    this.needed = (value + 1) * 4;
    this.phase = 'block-header';
    return index + 1;
  }

  private parseBlockHeader(_input: Uint8Array, _index: number): void {
    const header = this.collected.subarray(0, this.needed);
    const at = this.collectedStart;
    const crc = readU32le(header, header.length - 4);
    if (updateCrc32(0, header.subarray(0, header.length - 4)) !== crc) {
      throw new ParseError('wrapper.checksum-mismatch', at, `xz block header at offset ${at}: CRC-32 does not match`);
    }
    const flags = header[1];
    if (flags & 0x3c) throw new ParseError('compression.corrupt', at + 1, `xz block header at offset ${at} sets reserved flag bits (${hex(flags)})`);
    const reader = { bytes: header.subarray(0, header.length - 4), position: 2, at };
    const declaredCompressed = flags & 0x40 ? readVarint(reader) : null;
    const declaredUncompressed = flags & 0x80 ? readVarint(reader) : null;
    if (declaredCompressed === 0) throw new ParseError('compression.corrupt', at, `xz block header at offset ${at} declares 0 compressed bytes`);
    // Two bits: one to four filters, the format's own limit.
    const filterCount = (flags & 0x03) + 1;
    const filters: { id: number; properties: Uint8Array; offset: number }[] = [];
    for (let count = 0; count < filterCount; count++) {
      const offset = at + reader.position;
      const id = readVarint(reader);
      const size = readVarint(reader);
      if (reader.position + size > reader.bytes.length) {
        throw new ParseError('compression.corrupt', offset, `xz filter at offset ${offset} has ${size} bytes of properties, past the end of its block header`);
      }
      filters.push({ id, properties: reader.bytes.slice(reader.position, reader.position + size), offset });
      reader.position += size;
    }
    for (let position = reader.position; position < reader.bytes.length; position++) {
      if (reader.bytes[position] !== 0) throw new ParseError('compression.corrupt', at + position, `xz block header at offset ${at} has non-zero padding`);
    }
    const last = filters[filters.length - 1];
    if (last.id !== FILTER_LZMA2) {
      throw new ParseError('wrapper.not-inspected', last.offset, `xz block at offset ${at} ends with filter ${describeFilter(last.id)}; Preflight decodes LZMA2 blocks only`);
    }
    if (last.properties.length !== 1 || last.properties[0] & 0xc0) {
      throw new ParseError('compression.properties-invalid', last.offset, `xz LZMA2 filter at offset ${last.offset} has invalid properties`);
    }
    const dictionarySize = decodeLzma2DictionarySize(last.properties[0] & 0x3f, last.offset);
    const chain: ByteFilter[] = [];
    for (const filter of filters.slice(0, -1).reverse()) chain.push(createFilter(filter.id, filter.properties, filter.offset, at));
    this.block = {
      headerSize: header.length,
      declaredCompressed,
      declaredUncompressed,
      lzma2: createLzma2Decoder({
        dictionarySize,
        maxOutputBytes: Math.max(0, this.maxOutputBytes - this.outputBytes) + 8,
        ...(this.maxDictionaryBytes !== undefined ? { maxDictionaryBytes: this.maxDictionaryBytes } : {}),
        inputOffset: this.collectedEnd,
      }),
      filters: chain,
      compressed: 0,
      uncompressed: 0,
      crc32: 0,
      crc64: createCrc64(),
    };
    this.phase = 'block-data';
  }

  /**
   * Feeds `input` to the block's LZMA2 decoder; hands out the filtered
   * output. Returns null when all of `input` was taken, or the bytes after
   * the end of the block's data.
   */
  private *decodeBlockData(input: Uint8Array, final: boolean): Generator<Uint8Array, Uint8Array | null, undefined> {
    const block = this.block as BlockState;
    const inputStart = this.inputOffset + this.inputBytes - input.length;
    for (const piece of block.lzma2.push(input)) {
      yield* this.handOut(block, piece);
      if (this.status !== 'running') return EMPTY;
    }
    if (final && block.lzma2.status === 'running') {
      for (const piece of block.lzma2.finish()) {
        yield* this.handOut(block, piece);
        if (this.status !== 'running') return EMPTY;
      }
    }
    if (block.lzma2.status === 'limit') {
      this.status = 'limit';
      return EMPTY;
    }
    if (block.lzma2.status === 'running') {
      block.compressed += input.length;
      this.checkDeclaredCompressed(block, inputStart + input.length);
      return null;
    }
    const rest = block.lzma2.unusedInput;
    block.compressed += input.length - rest.length;
    const end = inputStart + input.length - rest.length;
    this.checkDeclaredCompressed(block, end);
    for (const filter of block.filters) {
      // Bytes a filter held back at the block's end pass through the filters after it.
      const tail = filter.finish();
      if (tail.length > 0) yield* this.handOutFiltered(block, tail, block.filters.indexOf(filter) + 1);
      if (this.status !== 'running') return EMPTY;
    }
    if (block.declaredCompressed !== null && block.compressed !== block.declaredCompressed) {
      throw new ParseError('wrapper.size-mismatch', end, `xz block ending at offset ${end}: ${block.compressed} compressed bytes, ${block.declaredCompressed} declared`);
    }
    if (block.declaredUncompressed !== null && block.uncompressed !== block.declaredUncompressed) {
      throw new ParseError('wrapper.size-mismatch', end, `xz block ending at offset ${end}: ${block.uncompressed} decoded bytes, ${block.declaredUncompressed} declared`);
    }
    const unpaddedSoFar = block.headerSize + block.compressed;
    this.paddingLeft = (4 - (unpaddedSoFar % 4)) % 4;
    this.phase = 'block-padding';
    return rest.slice();
  }

  private checkDeclaredCompressed(block: BlockState, at: number): void {
    if (block.declaredCompressed !== null && block.compressed > block.declaredCompressed) {
      throw new ParseError('wrapper.size-mismatch', at, `xz block data runs past its declared ${block.declaredCompressed} compressed bytes at offset ${at}`);
    }
  }

  private *handOut(block: BlockState, piece: Uint8Array): Generator<Uint8Array, void, undefined> {
    yield* this.handOutFiltered(block, piece, 0);
  }

  /** Runs `bytes` through filters `from`… of the chain, then counts, checks and yields them. */
  private *handOutFiltered(block: BlockState, bytes: Uint8Array, from: number): Generator<Uint8Array, void, undefined> {
    let output = bytes;
    for (let position = from; position < block.filters.length; position++) output = block.filters[position].push(output);
    if (output.length === 0) return;
    const room = this.maxOutputBytes - this.outputBytes;
    if (output.length > room) {
      output = output.subarray(0, room);
      this.status = 'limit';
    }
    if (output.length === 0) return;
    if (this.checkType === CHECK_CRC32) block.crc32 = updateCrc32(block.crc32, output);
    else if (this.checkType === CHECK_CRC64) block.crc64.update(output);
    block.uncompressed += output.length;
    this.outputBytes += output.length;
    yield output;
  }

  private readBlockPadding(input: Uint8Array, index: number): number {
    let position = index;
    while (this.paddingLeft > 0 && position < input.length) {
      if (input[position] !== 0) {
        const at = this.offsetOf(input, position);
        throw new ParseError('compression.corrupt', at, `xz block padding at offset ${at} is not zero`);
      }
      this.paddingLeft -= 1;
      position += 1;
    }
    if (this.paddingLeft === 0) this.expect('check', CHECK_SIZES[this.checkType]);
    if (this.needed === 0 && this.paddingLeft === 0) this.finishBlock();
    return position;
  }

  private verifyCheck(_input: Uint8Array, _index: number): void {
    const block = this.block as BlockState;
    const at = this.collectedStart;
    if (this.checkType === CHECK_CRC32) {
      if (readU32le(this.collected, 0) !== block.crc32 >>> 0) {
        throw new ParseError('wrapper.checksum-mismatch', at, `xz block check at offset ${at}: CRC-32 of the decoded block does not match`);
      }
    } else if (this.checkType === CHECK_CRC64) {
      if (readU32le(this.collected, 0) !== block.crc64.low() || readU32le(this.collected, 4) !== block.crc64.high()) {
        throw new ParseError('wrapper.checksum-mismatch', at, `xz block check at offset ${at}: CRC-64 of the decoded block does not match`);
      }
    } else if (this.checkType !== 0 && !this.uncheckedTypes.includes(this.checkType)) {
      this.uncheckedTypes.push(this.checkType);
    }
    this.finishBlock();
  }

  private finishBlock(): void {
    const block = this.block as BlockState;
    const unpadded = block.headerSize + block.compressed + CHECK_SIZES[this.checkType];
    addRecord(this.blockTally, unpadded, block.uncompressed);
    this.blocks += 1;
    this.block = null;
    this.expect('block-header-size', 1);
  }

  private readIndexByte(input: Uint8Array, index: number): number {
    const state = this.index as IndexState;
    const byte = input[index];
    const at = this.offsetOf(input, index);
    state.size += 1;
    if (state.part !== 'crc') state.crc = updateCrc32(state.crc, Uint8Array.of(byte));
    switch (state.part) {
      case 'count':
      case 'unpadded':
      case 'uncompressed': {
        const value = pushVarintByte(state.varint, byte, at);
        if (value === null) break;
        if (state.part === 'count') {
          state.records = value;
          state.part = value > 0 ? 'unpadded' : 'padding';
        } else if (state.part === 'unpadded') {
          state.unpadded = value;
          state.part = 'uncompressed';
        } else {
          addRecord(state.tally, state.unpadded, value);
          state.recordsRead += 1;
          state.part = state.recordsRead < state.records ? 'unpadded' : 'padding';
        }
        if (state.part === 'padding' && state.size % 4 === 0) this.startIndexCrc(state);
        break;
      }
      case 'padding':
        if (byte !== 0) throw new ParseError('compression.corrupt', at, `xz index padding at offset ${at} is not zero`);
        if (state.size % 4 === 0) this.startIndexCrc(state);
        break;
      case 'crc':
        this.collected[this.collectedLength++] = byte;
        if (this.collectedLength === 4) this.finishIndex(state, at - 3);
        break;
    }
    return index + 1;
  }

  private startIndexCrc(state: IndexState): void {
    state.part = 'crc';
    this.collectedLength = 0;
  }

  private finishIndex(state: IndexState, crcOffset: number): void {
    if (readU32le(this.collected, 0) !== state.crc >>> 0) {
      throw new ParseError('wrapper.checksum-mismatch', crcOffset, `xz index at offset ${state.start}: CRC-32 does not match`);
    }
    const blocks = this.blockTally;
    const listed = state.tally;
    if (blocks.count !== listed.count || blocks.unpadded !== listed.unpadded || blocks.uncompressed !== listed.uncompressed || blocks.crc !== listed.crc) {
      throw new ParseError(
        'wrapper.size-mismatch',
        state.start,
        `xz index at offset ${state.start} lists ${listed.count} blocks of ${listed.uncompressed} decoded bytes; the stream has ${blocks.count} blocks of ${blocks.uncompressed}`,
      );
    }
    this.expect('footer', STREAM_FOOTER_BYTES);
  }

  private parseFooter(_input: Uint8Array, _index: number): void {
    const footer = this.collected;
    const at = this.collectedStart;
    const index = this.index as IndexState;
    if (footer[10] !== FOOTER_MAGIC[0] || footer[11] !== FOOTER_MAGIC[1]) {
      throw new ParseError('compression.corrupt', at + 10, `xz stream footer at offset ${at} does not end with YZ`);
    }
    if (updateCrc32(0, footer.subarray(4, 10)) !== readU32le(footer, 0)) {
      throw new ParseError('wrapper.checksum-mismatch', at, `xz stream footer at offset ${at}: CRC-32 does not match`);
    }
    this.checkReservedFlags(footer.subarray(8, 10), at + 8, 'stream footer');
    if (footer[9] !== this.streamFlags) {
      throw new ParseError('compression.corrupt', at + 8, `xz stream footer at offset ${at} has flags ${hex(footer[9])}, the header ${hex(this.streamFlags)}`);
    }
    const backwardSize = (readU32le(footer, 4) + 1) * 4;
    if (backwardSize !== index.size) {
      throw new ParseError('compression.corrupt', at + 4, `xz stream footer at offset ${at} gives an index of ${backwardSize} bytes; it has ${index.size}`);
    }
    this.index = null;
    this.streamPaddingBytes = 0;
    this.phase = 'stream-padding';
    this.collectedLength = 0;
  }

  /** After a stream: zero padding in groups of four, then another stream or the end. */
  private readStreamPadding(input: Uint8Array, index: number): number {
    let position = index;
    if (this.collectedLength === 0) {
      while (position < input.length && input[position] === 0) position += 1;
      this.streamPaddingBytes += position - index;
      if (position >= input.length) return position;
      if (this.streamPaddingBytes % 4 !== 0) {
        // liblzma refuses padding that is not a multiple of four: from here on it is trailing data.
        this.trailingBytes += this.streamPaddingBytes;
        this.endWithTrailing();
        return position;
      }
    }
    const count = Math.min(XZ_MAGIC.length - this.collectedLength, input.length - position);
    this.collected.set(input.subarray(position, position + count), this.collectedLength);
    this.collectedLength += count;
    if (this.collectedLength < XZ_MAGIC.length) return position + count;
    if (!isXzHeader(this.collected)) {
      // Bytes of this push are counted by the caller as unused input; earlier ones here.
      this.trailingBytes += this.collectedLength - count;
      this.endWithTrailing();
      return position;
    }
    // Another stream: its magic is already collected.
    this.phase = 'stream-header';
    this.needed = STREAM_HEADER_BYTES;
    return position + count;
  }

  private endWithTrailing(): void {
    this.status = 'ended';
    this.phase = 'done';
  }

  private endOfInput(input: Uint8Array, index: number): void {
    const at = this.offsetOf(input, index);
    if (this.phase === 'stream-padding') {
      this.trailingBytes += this.collectedLength + (this.streamPaddingBytes % 4);
      this.status = 'ended';
      this.phase = 'done';
      return;
    }
    if (this.streams === 0 && this.collectedLength === 0) throw new ParseError('compression.truncated', at, 'xz stream is empty');
    throw new ParseError('compression.truncated', at, `xz stream ends at offset ${at}, inside its ${this.phase.replace('-', ' ')}`);
  }
}

function createFilter(id: number, properties: Uint8Array, offset: number, blockOffset: number): ByteFilter {
  if (id === FILTER_DELTA) return createDeltaDecoder(decodeDeltaDistance(properties, offset));
  if (id === FILTER_X86) {
    if (properties.length !== 0 && properties.length !== 4) {
      throw new ParseError('compression.properties-invalid', offset, `xz x86 filter at offset ${offset} has ${properties.length} bytes of properties; 0 or 4 are allowed`);
    }
    return createBcjX86Decoder(properties.length === 4 ? readU32le(properties, 0) : 0);
  }
  if (id === FILTER_LZMA2) throw new ParseError('compression.corrupt', offset, `xz block at offset ${blockOffset} has LZMA2 before its last filter`);
  throw new ParseError('wrapper.not-inspected', offset, `xz block at offset ${blockOffset} uses filter ${describeFilter(id)}, which Preflight does not decode`);
}

function describeFilter(id: number): string {
  return `0x${id.toString(16)}${FILTER_NAMES[id] ? ` (${FILTER_NAMES[id]})` : ''}`;
}

function emptyTally(): RecordTally {
  return { count: 0, unpadded: 0, uncompressed: 0, crc: 0 };
}

const recordBytes = new Uint8Array(16);
const recordView = new DataView(recordBytes.buffer);

function addRecord(tally: RecordTally, unpadded: number, uncompressed: number): void {
  tally.count += 1;
  tally.unpadded += unpadded;
  tally.uncompressed += uncompressed;
  recordView.setFloat64(0, unpadded, true);
  recordView.setFloat64(8, uncompressed, true);
  tally.crc = updateCrc32(tally.crc, recordBytes);
}

/** Reads a multibyte integer of the xz format (7 bits per byte, low first). */
function readVarint(reader: { bytes: Uint8Array; position: number; at: number }): number {
  const state = { value: 0, bytes: 0 };
  for (;;) {
    if (reader.position >= reader.bytes.length) {
      throw new ParseError('compression.corrupt', reader.at, `xz block header at offset ${reader.at} ends inside a number`);
    }
    const value = pushVarintByte(state, reader.bytes[reader.position], reader.at + reader.position);
    reader.position += 1;
    if (value !== null) return value;
  }
}

/** Adds one byte to a varint; returns its value when complete, else null. */
function pushVarintByte(state: { value: number; bytes: number }, byte: number, at: number): number | null {
  if (state.bytes >= MAX_VARINT_BYTES || (state.bytes > 0 && byte === 0)) {
    throw new ParseError('compression.corrupt', at, `xz number at offset ${at} is not minimally encoded or longer than ${MAX_VARINT_BYTES} bytes`);
  }
  state.value += (byte & 0x7f) * 2 ** (7 * state.bytes);
  state.bytes += 1;
  if (!Number.isSafeInteger(state.value)) throw new ParseError('compression.corrupt', at, `xz number at offset ${at} exceeds 2^53`);
  if (byte & 0x80) return null;
  const value = state.value;
  state.value = 0;
  state.bytes = 0;
  return value;
}

function readU32le(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

function hex(value: number): string {
  return value.toString(16).padStart(2, '0');
}

// ---------------------------------------------------------------------------
// CRC-64 (ECMA-182, reflected, as xz uses it), in two 32-bit halves.
// ---------------------------------------------------------------------------

interface Crc64 {
  update(bytes: Uint8Array): void;
  low(): number;
  high(): number;
}

const CRC64_TABLES = buildCrc64Tables();

function buildCrc64Tables(): { low: Uint32Array; high: Uint32Array } {
  // Polynomial 0xC96C5795D7870F42 (reflected).
  const polyLow = 0xd7870f42;
  const polyHigh = 0xc96c5795;
  const low = new Uint32Array(256);
  const high = new Uint32Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crcLow = byte;
    let crcHigh = 0;
    for (let bit = 0; bit < 8; bit++) {
      const carry = crcLow & 1;
      crcLow = ((crcLow >>> 1) | (crcHigh << 31)) >>> 0;
      crcHigh >>>= 1;
      if (carry) {
        crcLow = (crcLow ^ polyLow) >>> 0;
        crcHigh = (crcHigh ^ polyHigh) >>> 0;
      }
    }
    low[byte] = crcLow;
    high[byte] = crcHigh;
  }
  return { low, high };
}

/** A running CRC-64 (initial value and final XOR all ones). */
export function createCrc64(): Crc64 {
  let low = 0xffffffff;
  let high = 0xffffffff;
  const { low: tableLow, high: tableHigh } = CRC64_TABLES;
  return {
    update(bytes) {
      for (let index = 0; index < bytes.length; index++) {
        const entry = (low ^ bytes[index]) & 0xff;
        low = (((low >>> 8) | (high << 24)) ^ tableLow[entry]) >>> 0;
        high = ((high >>> 8) ^ tableHigh[entry]) >>> 0;
      }
    },
    low: () => (~low) >>> 0,
    high: () => (~high) >>> 0,
  };
}
