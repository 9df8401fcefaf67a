/**
 * LZMA2: LZMA in chunks, as 7-Zip (method 0x21) and xz write it.
 * Spec: xz-embedded's xz_dec_lzma2.c and liblzma's lzma2_decoder.c (the format
 * has no prose specification); https://tukaani.org/xz/xz-file-format.txt §5.3.1
 * for the dictionary-size byte.
 *
 * A stream is a sequence of chunks, each opened by a control byte:
 * - 0x00: end of stream;
 * - 0x01 / 0x02: stored chunk (u16 BE size - 1), with / without dictionary reset;
 * - 0x80–0xFF: LZMA chunk: bits 0–4 are bits 16–20 of (decoded size - 1),
 *   then u16 BE decoded size - 1 and u16 BE compressed size - 1; bits 5–6 say
 *   what is reset first: 0 nothing, 1 state, 2 state + new properties byte,
 *   3 everything including the dictionary.
 * Each LZMA chunk starts a new range coder and must end exactly at its sizes.
 *
 * Threat surface: the same as LZMA (see lzma.ts) plus the chunk headers: a
 * first chunk without a dictionary reset, an LZMA chunk without properties,
 * lc + lp above 4, a chunk that decodes to more or fewer bytes than it says.
 * Each is a ParseError. A chunk's compressed bytes (at most 64 KiB) are
 * buffered whole before it is decoded, so a chunk is always decoded with
 * all of its input and the output stays the same for any chunking.
 */
import { ParseError } from '../io/parse-error.ts';
import {
  DECODE_STOP,
  LzmaCore,
  MAX_DECODED_BYTES,
  MAX_DICTIONARY_BYTES,
  OUTPUT_PIECE_BYTES,
  type StreamDecoder,
  type StreamStatus,
  dictionaryAllocation,
  parseLzmaPropertiesByte,
} from './lzma.ts';

/** Compressed bytes of one LZMA chunk at most: its size field is 16 bits (+1). */
const MAX_CHUNK_PACKED_BYTES = 1 << 16;

/** lc + lp at most in LZMA2 (liblzma's LZMA_LCLP_MAX). */
const MAX_LZMA2_LITERAL_BITS = 4;

/** Largest dictionary-size byte: 40 means 4 GiB - 1. */
const MAX_DICTIONARY_SIZE_CODE = 40;

/**
 * The dictionary size coded in one byte (7z coder properties, xz filter
 * properties): `(2 | (code & 1)) << (code / 2 + 11)`, 40 meaning 4 GiB - 1.
 */
export function decodeLzma2DictionarySize(code: number, offset = 0): number {
  if (!Number.isInteger(code) || code < 0 || code > MAX_DICTIONARY_SIZE_CODE) {
    throw new ParseError('compression.properties-invalid', offset, `LZMA2 dictionary size code ${code} at offset ${offset} exceeds ${MAX_DICTIONARY_SIZE_CODE}`);
  }
  if (code === MAX_DICTIONARY_SIZE_CODE) return 0xffffffff;
  return (2 | (code & 1)) * 2 ** (Math.floor(code / 2) + 11);
}

export interface Lzma2DecoderOptions {
  /** Declared dictionary size in bytes (see decodeLzma2DictionarySize). */
  dictionarySize: number;
  /** Decoded size the container declares: output stops there. */
  uncompressedSize?: number;
  /** Hard cap on decoded bytes (default MAX_DECODED_BYTES). */
  maxOutputBytes?: number;
  /** Largest dictionary allocated (default MAX_DICTIONARY_BYTES). */
  maxDictionaryBytes?: number;
  /** Absolute offset of the first compressed byte, for error messages. */
  inputOffset?: number;
}

/** An LZMA2 stream decoder (push/finish, see StreamDecoder in lzma.ts). */
export function createLzma2Decoder(options: Lzma2DecoderOptions): StreamDecoder {
  const declaredSize = options.uncompressedSize;
  if (declaredSize !== undefined && !(Number.isSafeInteger(declaredSize) && declaredSize >= 0)) {
    throw new RangeError(`uncompressedSize must be a non-negative integer, got ${declaredSize}`);
  }
  const maxOutputBytes = Number.isFinite(options.maxOutputBytes) ? Math.max(0, Math.floor(options.maxOutputBytes as number)) : MAX_DECODED_BYTES;
  const outputLimit = Math.min(declaredSize ?? Infinity, maxOutputBytes);
  const inputOffset = options.inputOffset ?? 0;
  const dictionarySize = options.dictionarySize >>> 0;
  const allocation = dictionaryAllocation(dictionarySize, outputLimit, options.maxDictionaryBytes ?? MAX_DICTIONARY_BYTES, inputOffset);
  const core = new LzmaCore(allocation, dictionarySize, MAX_LZMA2_LITERAL_BITS);
  return new Lzma2Stream(core, declaredSize, outputLimit, inputOffset);
}

const PHASE_CONTROL = 0;
const PHASE_HEADER = 1;
const PHASE_LZMA_DATA = 2;
const PHASE_STORED_DATA = 3;
const PHASE_DONE = 4;

const EMPTY: Uint8Array = new Uint8Array(0);

class Lzma2Stream implements StreamDecoder {
  status: StreamStatus = 'running';
  inputBytes = 0;
  outputBytes = 0;
  trailingBytes = 0;
  unusedInput: Uint8Array = EMPTY;

  private phase = PHASE_CONTROL;
  private control = 0;
  private readonly header = new Uint8Array(5);
  private headerNeeded = 0;
  private headerFilled = 0;
  /** Absolute offset of the current chunk's control byte. */
  private chunkOffset = 0;
  private chunkUnpacked = 0;
  private chunkPacked = 0;
  /** Compressed bytes of the current chunk; grown to the largest chunk seen (at most 64 KiB). */
  private chunk = new Uint8Array(0);
  private chunkFilled = 0;
  private needDictionaryReset = true;
  private needProperties = true;
  private flushed = 0;
  private busy = false;
  private finished = false;

  constructor(
    private readonly core: LzmaCore,
    private readonly declaredSize: number | undefined,
    private readonly outputLimit: number,
    private readonly inputOffset: number,
  ) {}

  get memoryBytes(): number {
    return this.core.memoryBytes + this.chunk.byteLength;
  }

  *push(input: Uint8Array): Generator<Uint8Array, void, undefined> {
    this.enter('push');
    try {
      this.unusedInput = EMPTY;
      const start = this.inputOffset + this.inputBytes;
      this.inputBytes += input.length;
      if (this.status !== 'running') {
        this.trailingBytes += input.length;
        this.unusedInput = input;
        return;
      }
      yield* this.feed(input, start);
    } finally {
      this.busy = false;
    }
  }

  *finish(): Generator<Uint8Array, void, undefined> {
    this.enter('finish');
    this.finished = true;
    try {
      if (this.status !== 'running') return;
      const end = this.inputOffset + this.inputBytes;
      // A sized stream that stops right after its last chunk, without the end byte, is read as complete (as 7-Zip does).
      if (this.phase === PHASE_CONTROL && this.declaredSize !== undefined && this.outputBytes === this.declaredSize) {
        this.status = 'ended';
        return;
      }
      throw new ParseError(
        'compression.truncated',
        end,
        `LZMA2 stream ends at compressed offset ${end} ${this.phase === PHASE_CONTROL ? 'before its end byte' : 'inside a chunk'} after ${this.outputBytes} decoded bytes`,
      );
    } finally {
      this.busy = false;
    }
  }

  private enter(what: string): void {
    if (this.busy) throw new Error(`LZMA2 decoder: ${what} called before the previous output was consumed`);
    if (this.finished) throw new Error(`LZMA2 decoder: ${what} called after finish`);
    this.busy = true;
  }

  private *feed(input: Uint8Array, start: number): Generator<Uint8Array, void, undefined> {
    let offset = 0;
    while (offset < input.length) {
      if (this.status !== 'running') {
        this.unusedInput = input.subarray(offset);
        this.trailingBytes += input.length - offset;
        return;
      }
      switch (this.phase) {
        case PHASE_CONTROL:
          this.chunkOffset = start + offset;
          this.readControl(input[offset++]);
          break;
        case PHASE_HEADER: {
          const take = Math.min(this.headerNeeded - this.headerFilled, input.length - offset);
          this.header.set(input.subarray(offset, offset + take), this.headerFilled);
          this.headerFilled += take;
          offset += take;
          if (this.headerFilled === this.headerNeeded) this.readChunkHeader();
          break;
        }
        case PHASE_LZMA_DATA: {
          const take = Math.min(this.chunkPacked - this.chunkFilled, input.length - offset);
          this.chunk.set(input.subarray(offset, offset + take), this.chunkFilled);
          this.chunkFilled += take;
          offset += take;
          if (this.chunkFilled === this.chunkPacked) yield* this.decodeChunk();
          break;
        }
        case PHASE_STORED_DATA: {
          const copied = yield* this.copyStored(input, offset);
          offset += copied;
          break;
        }
        default:
          break;
      }
    }
  }

  private readControl(control: number): void {
    const at = this.chunkOffset;
    this.control = control;
    if (control === 0x00) {
      this.phase = PHASE_DONE;
      this.status = 'ended';
      return;
    }
    if (control >= 0x03 && control < 0x80) {
      throw new ParseError('compression.corrupt', at, `LZMA2 control byte 0x${control.toString(16)} at offset ${at} is not a chunk type`);
    }
    const resetsDictionary = control === 0x01 || control >= 0xe0;
    if (this.needDictionaryReset && !resetsDictionary) {
      throw new ParseError('compression.corrupt', at, `LZMA2 first chunk at offset ${at} does not reset the dictionary (control 0x${control.toString(16)})`);
    }
    if (resetsDictionary) {
      // Everything before was handed out at the end of the previous chunk, so the history can restart at 0.
      this.core.resetDictionary();
      this.flushed = 0;
      this.needDictionaryReset = false;
      this.needProperties = true;
    }
    if (control < 0x80) {
      this.headerNeeded = 2;
    } else if (control >= 0xc0) {
      this.headerNeeded = 5;
    } else if (this.needProperties) {
      throw new ParseError('compression.corrupt', at, `LZMA2 chunk at offset ${at} needs new properties after a dictionary reset (control 0x${control.toString(16)})`);
    } else {
      this.headerNeeded = 4;
    }
    this.headerFilled = 0;
    this.phase = PHASE_HEADER;
  }

  private readChunkHeader(): void {
    const header = this.header;
    const control = this.control;
    const at = this.chunkOffset;
    if (control < 0x80) {
      this.chunkUnpacked = ((header[0] << 8) | header[1]) + 1;
      this.phase = PHASE_STORED_DATA;
      return;
    }
    this.chunkUnpacked = ((control & 0x1f) << 16) + ((header[0] << 8) | header[1]) + 1;
    this.chunkPacked = ((header[2] << 8) | header[3]) + 1;
    if (control >= 0xc0) {
      const properties = parseLzmaPropertiesByte(header[4], at + 5);
      if (properties.lc + properties.lp > MAX_LZMA2_LITERAL_BITS) {
        throw new ParseError(
          'compression.properties-invalid',
          at + 5,
          `LZMA2 properties at offset ${at + 5} have lc + lp = ${properties.lc + properties.lp}, above ${MAX_LZMA2_LITERAL_BITS}`,
        );
      }
      this.core.setProperties(properties);
      this.needProperties = false;
    }
    if (control >= 0xa0) this.core.resetState();
    if (this.chunk.length < this.chunkPacked) this.chunk = new Uint8Array(Math.min(MAX_CHUNK_PACKED_BYTES, Math.max(this.chunkPacked, this.chunk.length * 2)));
    this.chunkFilled = 0;
    this.phase = PHASE_LZMA_DATA;
  }

  /** Room for output right now: up to the piece size, the dictionary end, and the output limit. */
  private outputStop(chunkRemaining: number): number {
    const core = this.core;
    const produced = this.outputBytes + (core.position - this.flushed);
    return Math.min(
      core.dictionary.length,
      this.flushed + OUTPUT_PIECE_BYTES,
      core.position + chunkRemaining,
      core.position + (this.outputLimit - produced),
    );
  }

  private get limitReached(): boolean {
    return this.outputBytes + (this.core.position - this.flushed) >= this.outputLimit;
  }

  private *decodeChunk(): Generator<Uint8Array, void, undefined> {
    const core = this.core;
    const packed = this.chunkPacked;
    const dataOffset = this.chunkOffset + this.headerNeeded + 1;
    if (packed < 5) {
      throw new ParseError('compression.corrupt', dataOffset, `LZMA2 chunk at offset ${this.chunkOffset} has ${packed} compressed bytes, fewer than a range coder needs`);
    }
    core.setInput(this.chunk, 0, packed);
    core.startRangeDecoder(dataOffset);
    let remaining = this.chunkUnpacked;
    while (remaining > 0) {
      if (this.limitReached) {
        this.status = 'limit';
        return;
      }
      const before = core.position;
      const stop = core.decode(this.outputStop(remaining), packed, dataOffset);
      remaining -= core.position - before;
      if (core.position > this.flushed) yield* this.flush();
      if (stop === DECODE_STOP.endMarker) {
        throw new ParseError('compression.corrupt', dataOffset, `LZMA2 chunk at offset ${this.chunkOffset} holds an end marker, which LZMA2 does not allow`);
      }
      if (stop === DECODE_STOP.needInput) {
        throw new ParseError(
          'compression.truncated',
          dataOffset,
          `LZMA2 chunk at offset ${this.chunkOffset} runs out of compressed bytes after ${this.chunkUnpacked - remaining} of ${this.chunkUnpacked} declared bytes`,
        );
      }
    }
    if (core.pendingLength !== 0 || core.inputPosition !== packed || core.code !== 0) {
      throw new ParseError(
        'compression.corrupt',
        dataOffset,
        `LZMA2 chunk at offset ${this.chunkOffset} does not end where its sizes say (${core.inputPosition} of ${packed} compressed bytes used)`,
      );
    }
    this.phase = PHASE_CONTROL;
  }

  /** Copy part of a stored chunk into the history; returns the input bytes used. */
  private *copyStored(input: Uint8Array, offset: number): Generator<Uint8Array, number, undefined> {
    const core = this.core;
    let used = 0;
    while (this.chunkUnpacked > 0 && offset + used < input.length) {
      if (this.limitReached) {
        this.status = 'limit';
        return used;
      }
      const copied = core.copyStored(input, offset + used, Math.min(this.chunkUnpacked, input.length - offset - used), this.outputStop(this.chunkUnpacked));
      used += copied;
      this.chunkUnpacked -= copied;
      if (core.position > this.flushed) yield* this.flush();
    }
    if (this.chunkUnpacked === 0) this.phase = PHASE_CONTROL;
    return used;
  }

  private *flush(): Generator<Uint8Array, void, undefined> {
    const core = this.core;
    const piece = core.dictionary.subarray(this.flushed, core.position);
    this.outputBytes += piece.length;
    this.flushed = core.position;
    if (core.position === core.dictionary.length) {
      core.position = 0;
      this.flushed = 0;
    }
    yield piece;
  }
}
