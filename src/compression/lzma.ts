/**
 * A resumable LZMA decoder: range decoder, literal/match state machine and
 * a circular dictionary, fed compressed bytes chunk by chunk.
 * Spec: the LZMA SDK's LzmaSpec.cpp (reference decoder) and lzma-specification.txt,
 * https://www.7-zip.org/sdk.html; xz-embedded and liblzma for the streaming layout.
 *
 * The same core serves three wrappers: raw LZMA with properties from a
 * container (7z coders, {@link createLzmaDecoder}), the LZMA2 chunk layer
 * (lzma2.ts) and the LZMA-alone `.lzma` file that joblib and Python's
 * `lzma.FORMAT_ALONE` write ({@link createLzmaAloneDecoder}).
 *
 * Threat surface: every header field is attacker-chosen. The dictionary
 * size is a 32-bit number a decoder must allocate, so it is capped before
 * anything is allocated (and shrunk to the declared or allowed output size,
 * which is all the history a stream can use). LZMA reaches ratios of several
 * thousand to one, so output is capped (`maxOutputBytes`) and handed out in
 * pieces of at most OUTPUT_PIECE_BYTES: a caller pulls them one at a time
 * and memory stays at the dictionary whatever the stream expands to. Match
 * distances beyond the history, literal/position bits out of range, a stream
 * that ends early and an end marker before the declared size each end
 * decoding with a ParseError carrying the compressed offset.
 *
 * Streaming contract (STYLE.md §5): `push(input)` and `finish()` return
 * generators of output pieces. A piece is a view of the dictionary, valid
 * until the next piece is requested; the generator must be run to its end
 * before the next push. Output is the same for any chunking of the input.
 */
import { ParseError } from '../io/parse-error.ts';

/**
 * Largest history window allocated: 256 MiB. 7-Zip's and xz's strongest
 * presets use 64 MiB, Python's default (joblib) 8 MiB; this leaves 4× headroom
 * while a browser worker can still hold it. A stream declaring more (the
 * field allows 4 GiB) is a finding, not an allocation (CWE-770, CWE-400).
 */
export const MAX_DICTIONARY_BYTES = 256 * 1024 * 1024;

/** Default cap on decoded bytes per stream: bounds the time a decompression bomb costs (CWE-409, CWE-400). */
export const MAX_DECODED_BYTES = 4 * 1024 ** 3;

/** Largest output piece handed out at once, so one small push never materialises a bomb (CWE-770). */
export const OUTPUT_PIECE_BYTES = 1024 * 1024;

/** Smallest dictionary, from the spec: smaller declared sizes are raised to it. */
export const MIN_DICTIONARY_BYTES = 4096;

/**
 * Compressed bytes one symbol can consume at most: one normalisation byte per
 * decoded bit, and a symbol decodes at most 48 bits (match flags 2, length 10,
 * slot 6, direct and align bits 30). Symbols start only when this many bytes
 * are buffered, until `finish()` says no more will come.
 */
const MAX_INPUT_PER_SYMBOL = 48;

/** `lc + lp` the literal model allows in LZMA (8 + 4); LZMA2 allows 4. */
const MAX_LITERAL_BITS = 12;

/** LZMA-alone header: properties byte, u32 dictionary size, u64 uncompressed size (all ones: unknown). */
export const LZMA_ALONE_HEADER_BYTES = 13;

/** Largest uncompressed size an LZMA-alone header may declare (liblzma's limit, 2^38): larger values are not real files. */
const MAX_ALONE_DECLARED_SIZE = 2 ** 38;

// Probability model layout in one Uint16Array (offsets in entries).
const STATES = 12;
const POS_STATES_MAX = 16;
const IS_MATCH = 0;
const IS_REP = IS_MATCH + STATES * POS_STATES_MAX;
const IS_REP_G0 = IS_REP + STATES;
const IS_REP_G1 = IS_REP_G0 + STATES;
const IS_REP_G2 = IS_REP_G1 + STATES;
const IS_REP0_LONG = IS_REP_G2 + STATES;
const POS_SLOT = IS_REP0_LONG + STATES * POS_STATES_MAX;
const SPEC_POS = POS_SLOT + 4 * 64;
const ALIGN = SPEC_POS + 115;
// A length model: choice, choice2, low[16][8], mid[16][8], high[256].
const LEN_CHOICE2 = 1;
const LEN_LOW = 2;
const LEN_MID = LEN_LOW + POS_STATES_MAX * 8;
const LEN_HIGH = LEN_MID + POS_STATES_MAX * 8;
const LEN_MODEL_SIZE = LEN_HIGH + 256;
const MATCH_LEN = ALIGN + 16;
const REP_LEN = MATCH_LEN + LEN_MODEL_SIZE;
const LITERAL = REP_LEN + LEN_MODEL_SIZE;

const PROBABILITY_INIT = 1024;
const END_MARKER_DISTANCE = 0xffffffff;

const EMPTY: Uint8Array = new Uint8Array(0);

/** What stopped one run of the symbol loop ({@link LzmaCore.decode}). */
export const DECODE_STOP = { output: 0, needInput: 1, endMarker: 2 } as const;
const STOP_OUTPUT = DECODE_STOP.output;
const STOP_NEED_INPUT = DECODE_STOP.needInput;
const STOP_END_MARKER = DECODE_STOP.endMarker;

export interface LzmaProperties {
  /** Literal context bits (0–8). */
  lc: number;
  /** Literal position bits (0–4). */
  lp: number;
  /** Position bits (0–4). */
  pb: number;
}

/** Decode the LZMA properties byte (`(pb * 5 + lp) * 9 + lc`); throws for values ≥ 225. */
export function parseLzmaPropertiesByte(value: number, offset = 0): LzmaProperties {
  if (!Number.isInteger(value) || value < 0 || value >= 9 * 5 * 5) {
    throw new ParseError(
      'compression.properties-invalid',
      offset,
      `LZMA properties byte ${value} at offset ${offset} is out of range (it must be below 225)`,
    );
  }
  return { lc: value % 9, lp: Math.floor(value / 9) % 5, pb: Math.floor(value / 45) };
}

/**
 * Bytes to allocate for the history window: the declared dictionary (at
 * least 4 KiB), shrunk to the most output the stream may produce (a stream
 * never refers further back than what it produced), rounded up to 16 so
 * that positions modulo 16 stay aligned across wraps. Throws
 * `compression.dictionary-too-large` above `limit`.
 */
export function dictionaryAllocation(declared: number, outputBound: number, limit = MAX_DICTIONARY_BYTES, offset = 0): number {
  const window = Math.min(Math.max(declared, MIN_DICTIONARY_BYTES), Math.max(outputBound, 1));
  if (window > limit) {
    throw new ParseError(
      'compression.dictionary-too-large',
      offset,
      `LZMA dictionary of ${declared} bytes (${window} needed for this stream) exceeds the limit of ${limit} bytes`,
    );
  }
  return Math.ceil(window / 16) * 16;
}

/**
 * The decoder state shared by LZMA and LZMA2: dictionary, probability model,
 * range decoder and the current input window. Methods are the building
 * blocks; the wrappers decide when input is final and where output stops.
 * The symbol loop keeps everything in locals and reads every probability
 * from one typed array: it is the hot loop of every 7z and .lzma scan.
 */
export class LzmaCore {
  readonly dictionary: Uint8Array;
  /** Next write index in the dictionary; 0 after a dictionary reset, so `position & 15` is the stream position's. */
  position = 0;
  /** Bytes of valid history (≤ historyLimit): matches may reach this far back. */
  filled = 0;
  /** Longest distance + 1 a match may use: the declared dictionary, or the buffer when smaller. */
  readonly historyLimit: number;

  lc = 0;
  lp = 0;
  pb = 0;
  private readonly probabilities: Uint16Array;

  state = 0;
  rep0 = 0;
  rep1 = 0;
  rep2 = 0;
  rep3 = 0;
  /** Bytes of the current match still to copy (a match pauses when output must be handed out). */
  pendingLength = 0;

  /** Range decoder state: unsigned 32-bit values kept in int32 variables (compared with `>>> 0`), so they stay on V8's integer path. */
  range = 0;
  code = 0;

  input: Uint8Array = new Uint8Array(0);
  inputPosition = 0;
  inputEnd = 0;

  constructor(dictionaryBytes: number, declaredDictionary: number, maxLiteralBits: number) {
    this.dictionary = new Uint8Array(dictionaryBytes);
    this.historyLimit = Math.min(dictionaryBytes, Math.max(declaredDictionary, MIN_DICTIONARY_BYTES));
    this.probabilities = new Uint16Array(LITERAL + (0x300 << maxLiteralBits));
  }

  /** Bytes allocated for the dictionary and the probability model. */
  get memoryBytes(): number {
    return this.dictionary.byteLength + this.probabilities.byteLength;
  }

  setProperties(properties: LzmaProperties): void {
    this.lc = properties.lc;
    this.lp = properties.lp;
    this.pb = properties.pb;
  }

  /** Forget the model: every probability back to one half, state and distances to 0. */
  resetState(): void {
    const used = LITERAL + (0x300 << (this.lc + this.lp));
    this.probabilities.fill(PROBABILITY_INIT, 0, used);
    this.state = 0;
    this.rep0 = this.rep1 = this.rep2 = this.rep3 = 0;
    this.pendingLength = 0;
  }

  /** Forget the history; the caller must have handed out everything before (the position restarts at 0). */
  resetDictionary(): void {
    this.position = 0;
    this.filled = 0;
  }

  setInput(input: Uint8Array, position: number, end: number): void {
    // A plain Uint8Array view, whatever subclass came in (Node's Buffer): one element kind keeps the hot loop monomorphic.
    this.input = input.constructor === Uint8Array ? input : new Uint8Array(input.buffer, input.byteOffset, input.length);
    this.inputPosition = position;
    this.inputEnd = end;
  }

  /**
   * Start the range decoder on the next 5 input bytes (the caller checked
   * they are there). `offset` is the absolute compressed offset, for errors.
   */
  startRangeDecoder(offset: number): void {
    const input = this.input;
    const at = this.inputPosition;
    if (input[at] !== 0) {
      throw new ParseError('compression.corrupt', offset, `LZMA range coder must start with a zero byte, found ${input[at]} at offset ${offset}`);
    }
    this.code = (input[at + 1] << 24) | (input[at + 2] << 16) | (input[at + 3] << 8) | input[at + 4];
    this.range = -1;
    this.inputPosition = at + 5;
    if (this.code === -1) {
      throw new ParseError('compression.corrupt', offset, `LZMA range coder starts with an impossible code at offset ${offset}`);
    }
  }

  /**
   * Decode symbols until the dictionary position reaches `outputStop` (≤ its
   * length), the input window runs low (`inputPosition > safeInputEnd`), or an
   * end marker. `safeInputEnd` is `inputEnd - MAX_INPUT_PER_SYMBOL` while more
   * input may come and `inputEnd` once it is final; with final input a symbol
   * that would read past the end throws `compression.truncated`.
   * `inputBase` is the absolute offset of `input[0]`, for errors.
   */
  decode(outputStop: number, safeInputEnd: number, inputBase: number): number {
    const dictionary = this.dictionary;
    const dictionaryLength = dictionary.length;
    const probabilities = this.probabilities;
    const input = this.input;
    const inputEnd = this.inputEnd;
    const historyLimit = this.historyLimit;
    const pbMask = (1 << this.pb) - 1;
    const lpMask = (1 << this.lp) - 1;
    const lc = this.lc;
    const literalShift = 8 - lc;

    let range = this.range;
    let code = this.code;
    let inPos = this.inputPosition;
    let position = this.position;
    let filled = this.filled;
    let state = this.state;
    let rep0 = this.rep0;
    let rep1 = this.rep1;
    let rep2 = this.rep2;
    let rep3 = this.rep3;
    let pending = this.pendingLength;
    let stop: number = STOP_OUTPUT;

    let index = 0;
    let probability = 0;
    let bound = 0;

    for (;;) {
      if (pending > 0) {
        let count = outputStop - position;
        if (count <= 0) break;
        if (count > pending) count = pending;
        pending -= count;
        let source = position - rep0 - 1;
        if (source < 0) source += dictionaryLength;
        if (source + count <= dictionaryLength) {
          const end = position + count;
          while (position < end) dictionary[position++] = dictionary[source++];
        } else {
          for (let copied = 0; copied < count; copied++) {
            dictionary[position++] = dictionary[source++];
            if (source === dictionaryLength) source = 0;
          }
        }
        filled += count;
        if (filled > historyLimit) filled = historyLimit;
        continue;
      }
      if (position >= outputStop) break;
      if (inPos > safeInputEnd) {
        stop = STOP_NEED_INPUT;
        break;
      }
      const symbolStart = inPos;
      const posState = position & pbMask;

      // Literal or match?
      index = IS_MATCH + (state << 4) + posState;
      probability = probabilities[index];
      bound = Math.imul(range >>> 11, probability);
      if (code >>> 0 < bound >>> 0) {
        range = bound;
        probabilities[index] = probability + ((2048 - probability) >>> 5);
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        const previous = filled > 0 ? dictionary[(position === 0 ? dictionaryLength : position) - 1] : 0;
        const base = LITERAL + 0x300 * (((position & lpMask) << lc) + (previous >>> literalShift));
        let symbol = 1;
        if (state >= 7) {
          // After a match the literal is coded against the byte at rep0: bits agree until they do not.
          let matchSource = position - rep0 - 1;
          if (matchSource < 0) matchSource += dictionaryLength;
          let matchByte = dictionary[matchSource];
          do {
            const matchBit = (matchByte >>> 7) & 1;
            matchByte <<= 1;
            index = base + ((1 + matchBit) << 8) + symbol;
            probability = probabilities[index];
            bound = Math.imul(range >>> 11, probability);
            let bit: number;
            if (code >>> 0 < bound >>> 0) {
              range = bound;
              probabilities[index] = probability + ((2048 - probability) >>> 5);
              bit = 0;
            } else {
              range = (range - bound) | 0;
              code = (code - bound) | 0;
              probabilities[index] = probability - (probability >>> 5);
              bit = 1;
            }
            if (range >>> 24 === 0) {
              range <<= 8;
              code = (code << 8) | input[inPos++];
            }
            symbol = (symbol << 1) | bit;
            if (matchBit !== bit) break;
          } while (symbol < 0x100);
        }
        while (symbol < 0x100) {
          index = base + symbol;
          probability = probabilities[index];
          bound = Math.imul(range >>> 11, probability);
          if (code >>> 0 < bound >>> 0) {
            range = bound;
            probabilities[index] = probability + ((2048 - probability) >>> 5);
            symbol <<= 1;
          } else {
            range = (range - bound) | 0;
            code = (code - bound) | 0;
            probabilities[index] = probability - (probability >>> 5);
            symbol = (symbol << 1) | 1;
          }
          if (range >>> 24 === 0) {
            range <<= 8;
            code = (code << 8) | input[inPos++];
          }
        }
        if (inPos > inputEnd) throw truncatedSymbol(inputBase + symbolStart);
        dictionary[position++] = symbol & 0xff;
        if (filled < historyLimit) filled++;
        state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
        continue;
      }
      range = (range - bound) | 0;
      code = (code - bound) | 0;
      probabilities[index] = probability - (probability >>> 5);
      if (range >>> 24 === 0) {
        range <<= 8;
        code = (code << 8) | input[inPos++];
      }

      // A new match or a repeated distance?
      let lengthModel: number;
      index = IS_REP + state;
      probability = probabilities[index];
      bound = Math.imul(range >>> 11, probability);
      if (code >>> 0 < bound >>> 0) {
        range = bound;
        probabilities[index] = probability + ((2048 - probability) >>> 5);
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        rep3 = rep2;
        rep2 = rep1;
        rep1 = rep0;
        lengthModel = MATCH_LEN;
        state = state < 7 ? 7 : 10;
      } else {
        range = (range - bound) | 0;
        code = (code - bound) | 0;
        probabilities[index] = probability - (probability >>> 5);
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        if (filled === 0) throw corrupt(inputBase + symbolStart, 'a repeated match before any output');
        lengthModel = REP_LEN;

        index = IS_REP_G0 + state;
        probability = probabilities[index];
        bound = Math.imul(range >>> 11, probability);
        if (code >>> 0 < bound >>> 0) {
          range = bound;
          probabilities[index] = probability + ((2048 - probability) >>> 5);
          if (range >>> 24 === 0) {
            range <<= 8;
            code = (code << 8) | input[inPos++];
          }
          index = IS_REP0_LONG + (state << 4) + posState;
          probability = probabilities[index];
          bound = Math.imul(range >>> 11, probability);
          if (code >>> 0 < bound >>> 0) {
            range = bound;
            probabilities[index] = probability + ((2048 - probability) >>> 5);
            if (range >>> 24 === 0) {
              range <<= 8;
              code = (code << 8) | input[inPos++];
            }
            // Short rep: one byte from distance rep0.
            if (inPos > inputEnd) throw truncatedSymbol(inputBase + symbolStart);
            if (rep0 >= filled) throw badDistance(inputBase + symbolStart, rep0, filled);
            let source = position - rep0 - 1;
            if (source < 0) source += dictionaryLength;
            dictionary[position++] = dictionary[source];
            if (filled < historyLimit) filled++;
            state = state < 7 ? 9 : 11;
            continue;
          }
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probabilities[index] = probability - (probability >>> 5);
          if (range >>> 24 === 0) {
            range <<= 8;
            code = (code << 8) | input[inPos++];
          }
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probabilities[index] = probability - (probability >>> 5);
          if (range >>> 24 === 0) {
            range <<= 8;
            code = (code << 8) | input[inPos++];
          }
          let distance: number;
          index = IS_REP_G1 + state;
          probability = probabilities[index];
          bound = Math.imul(range >>> 11, probability);
          if (code >>> 0 < bound >>> 0) {
            range = bound;
            probabilities[index] = probability + ((2048 - probability) >>> 5);
            if (range >>> 24 === 0) {
              range <<= 8;
              code = (code << 8) | input[inPos++];
            }
            distance = rep1;
          } else {
            range = (range - bound) | 0;
            code = (code - bound) | 0;
            probabilities[index] = probability - (probability >>> 5);
            if (range >>> 24 === 0) {
              range <<= 8;
              code = (code << 8) | input[inPos++];
            }
            index = IS_REP_G2 + state;
            probability = probabilities[index];
            bound = Math.imul(range >>> 11, probability);
            if (code >>> 0 < bound >>> 0) {
              range = bound;
              probabilities[index] = probability + ((2048 - probability) >>> 5);
              distance = rep2;
            } else {
              range = (range - bound) | 0;
              code = (code - bound) | 0;
              probabilities[index] = probability - (probability >>> 5);
              distance = rep3;
              rep3 = rep2;
            }
            if (range >>> 24 === 0) {
              range <<= 8;
              code = (code << 8) | input[inPos++];
            }
            rep2 = rep1;
          }
          rep1 = rep0;
          rep0 = distance;
        }
        state = state < 7 ? 8 : 11;
      }

      // Length: 2 + (3 low bits | 8 + 3 mid bits | 16 + 8 high bits).
      let treeBase: number;
      let treeBits: number;
      let length: number;
      index = lengthModel;
      probability = probabilities[index];
      bound = Math.imul(range >>> 11, probability);
      if (code >>> 0 < bound >>> 0) {
        range = bound;
        probabilities[index] = probability + ((2048 - probability) >>> 5);
        treeBase = lengthModel + LEN_LOW + (posState << 3);
        treeBits = 3;
        length = 0;
      } else {
        range = (range - bound) | 0;
        code = (code - bound) | 0;
        probabilities[index] = probability - (probability >>> 5);
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        index = lengthModel + LEN_CHOICE2;
        probability = probabilities[index];
        bound = Math.imul(range >>> 11, probability);
        if (code >>> 0 < bound >>> 0) {
          range = bound;
          probabilities[index] = probability + ((2048 - probability) >>> 5);
          treeBase = lengthModel + LEN_MID + (posState << 3);
          treeBits = 3;
          length = 8;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probabilities[index] = probability - (probability >>> 5);
          treeBase = lengthModel + LEN_HIGH;
          treeBits = 8;
          length = 16;
        }
      }
      if (range >>> 24 === 0) {
        range <<= 8;
        code = (code << 8) | input[inPos++];
      }
      let node = 1;
      for (let bitIndex = 0; bitIndex < treeBits; bitIndex++) {
        index = treeBase + node;
        probability = probabilities[index];
        bound = Math.imul(range >>> 11, probability);
        if (code >>> 0 < bound >>> 0) {
          range = bound;
          probabilities[index] = probability + ((2048 - probability) >>> 5);
          node <<= 1;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probabilities[index] = probability - (probability >>> 5);
          node = (node << 1) | 1;
        }
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
      }
      length += node - (1 << treeBits);

      if (lengthModel === MATCH_LEN) {
        // Distance: a 6-bit slot, then reverse-coded or direct bits.
        treeBase = POS_SLOT + ((length < 3 ? length : 3) << 6);
        node = 1;
        for (let bitIndex = 0; bitIndex < 6; bitIndex++) {
          index = treeBase + node;
          probability = probabilities[index];
          bound = Math.imul(range >>> 11, probability);
          if (code >>> 0 < bound >>> 0) {
            range = bound;
            probabilities[index] = probability + ((2048 - probability) >>> 5);
            node <<= 1;
          } else {
            range = (range - bound) | 0;
            code = (code - bound) | 0;
            probabilities[index] = probability - (probability >>> 5);
            node = (node << 1) | 1;
          }
          if (range >>> 24 === 0) {
            range <<= 8;
            code = (code << 8) | input[inPos++];
          }
        }
        const slot = node - 64;
        let distance: number;
        if (slot < 4) {
          distance = slot;
        } else {
          const directBits = (slot >>> 1) - 1;
          distance = ((2 | (slot & 1)) << directBits) >>> 0;
          let reverseBase: number;
          let reverseBits: number;
          if (slot < 14) {
            reverseBase = SPEC_POS + distance - slot;
            reverseBits = directBits;
          } else {
            let direct = 0;
            for (let bitIndex = directBits - 4; bitIndex > 0; bitIndex--) {
              // Half the range; the bit is 1 when the code is in the upper half (branch-free, as in the spec).
              range >>>= 1;
              code = (code - range) | 0;
              const borrow = code >> 31;
              code = (code + (range & borrow)) | 0;
              direct = (direct << 1) + borrow + 1;
              if (range >>> 24 === 0) {
                range <<= 8;
                code = (code << 8) | input[inPos++];
              }
            }
            distance += (direct << 4) >>> 0;
            reverseBase = ALIGN;
            reverseBits = 4;
          }
          node = 1;
          let reversed = 0;
          for (let bitIndex = 0; bitIndex < reverseBits; bitIndex++) {
            index = reverseBase + node;
            probability = probabilities[index];
            bound = Math.imul(range >>> 11, probability);
            if (code >>> 0 < bound >>> 0) {
              range = bound;
              probabilities[index] = probability + ((2048 - probability) >>> 5);
              node <<= 1;
            } else {
              range = (range - bound) | 0;
              code = (code - bound) | 0;
              probabilities[index] = probability - (probability >>> 5);
              node = (node << 1) | 1;
              reversed |= 1 << bitIndex;
            }
            if (range >>> 24 === 0) {
              range <<= 8;
              code = (code << 8) | input[inPos++];
            }
          }
          distance += reversed;
        }
        if (inPos > inputEnd) throw truncatedSymbol(inputBase + symbolStart);
        if (distance === END_MARKER_DISTANCE) {
          stop = STOP_END_MARKER;
          break;
        }
        if (distance >= filled) throw badDistance(inputBase + symbolStart, distance, filled);
        rep0 = distance;
      } else {
        if (inPos > inputEnd) throw truncatedSymbol(inputBase + symbolStart);
        if (rep0 >= filled) throw badDistance(inputBase + symbolStart, rep0, filled);
      }
      pending = length + 2;
    }

    this.range = range;
    this.code = code;
    this.inputPosition = inPos;
    this.position = position;
    this.filled = filled;
    this.state = state;
    this.rep0 = rep0;
    this.rep1 = rep1;
    this.rep2 = rep2;
    this.rep3 = rep3;
    this.pendingLength = pending;
    return stop;
  }

  /**
   * Copy stored bytes into the history (LZMA2 uncompressed chunks), up to
   * `outputStop`; returns how many were copied.
   */
  copyStored(bytes: Uint8Array, offset: number, count: number, outputStop: number): number {
    const copied = Math.min(count, outputStop - this.position);
    if (copied <= 0) return 0;
    this.dictionary.set(bytes.subarray(offset, offset + copied), this.position);
    this.position += copied;
    this.filled = Math.min(this.historyLimit, this.filled + copied);
    return copied;
  }
}

function truncatedSymbol(offset: number): ParseError {
  return new ParseError('compression.truncated', offset, `LZMA stream ends inside the symbol that starts at compressed offset ${offset}`);
}

function corrupt(offset: number, what: string): ParseError {
  return new ParseError('compression.corrupt', offset, `LZMA stream has ${what} at compressed offset ${offset}`);
}

function badDistance(offset: number, distance: number, history: number): ParseError {
  return new ParseError(
    'compression.corrupt',
    offset,
    `LZMA match distance ${distance + 1} reaches before the ${history} bytes of history at compressed offset ${offset}`,
  );
}

/**
 * A streaming decoder: compressed bytes in through `push`, decoded pieces out
 * of the generators it returns. Run each generator to its end before the
 * next call; pieces are views valid until the next piece is requested.
 */
export interface StreamDecoder {
  push(input: Uint8Array): Generator<Uint8Array, void, undefined>;
  /** No more input: decode what is buffered, then check the stream ended properly. */
  finish(): Generator<Uint8Array, void, undefined>;
  /** Compressed bytes taken so far (including any ignored after the end). */
  readonly inputBytes: number;
  /** Decoded bytes handed out so far. */
  readonly outputBytes: number;
  /**
   * `running` until the stream ends; `ended` at its end (end marker or
   * declared size); `limit` when output stopped at `maxOutputBytes` (or at
   * the declared size, for streams that go on past it) with more to come.
   */
  readonly status: StreamStatus;
  /** Compressed bytes that came after the end of the stream and were not decoded. */
  readonly trailingBytes: number;
  /** Bytes this decoder allocated (dictionary, probability model, buffers), when it knows: callers charge it to their work budgets. */
  readonly memoryBytes?: number;
  /**
   * The compressed bytes of the last push (or finish) that came after the
   * end of the stream: a view valid until the next call, for wrappers that
   * read another header there.
   */
  readonly unusedInput: Uint8Array;
}

export type StreamStatus = 'running' | 'ended' | 'limit';

export interface LzmaDecoderOptions {
  /** The LZMA properties byte (lc, lp, pb). */
  properties: number;
  /** Declared dictionary size in bytes. */
  dictionarySize: number;
  /** Decoded size, when the container declares it: decoding stops there. Unknown: the stream must end with an end marker. */
  uncompressedSize?: number;
  /** Hard cap on decoded bytes (default MAX_DECODED_BYTES). */
  maxOutputBytes?: number;
  /** Largest dictionary allocated (default MAX_DICTIONARY_BYTES); tests pass small ones. */
  maxDictionaryBytes?: number;
  /** Absolute offset of the first compressed byte, for error messages. */
  inputOffset?: number;
}

/** Raw LZMA (a 7z coder, or the body of an LZMA-alone file): properties come from the container. */
export function createLzmaDecoder(options: LzmaDecoderOptions): StreamDecoder {
  const inputOffset = options.inputOffset ?? 0;
  const properties = parseLzmaPropertiesByte(options.properties, inputOffset);
  const declaredSize = options.uncompressedSize;
  if (declaredSize !== undefined && !(Number.isSafeInteger(declaredSize) && declaredSize >= 0)) {
    throw new RangeError(`uncompressedSize must be a non-negative integer, got ${declaredSize}`);
  }
  const maxOutputBytes = sanitizeLimit(options.maxOutputBytes ?? MAX_DECODED_BYTES);
  const outputLimit = Math.min(declaredSize ?? Infinity, maxOutputBytes);
  const allocation = dictionaryAllocation(
    options.dictionarySize >>> 0,
    outputLimit,
    options.maxDictionaryBytes ?? MAX_DICTIONARY_BYTES,
    inputOffset,
  );
  const core = new LzmaCore(allocation, options.dictionarySize >>> 0, properties.lc + properties.lp);
  core.setProperties(properties);
  core.resetState();
  return new LzmaStream(core, declaredSize, outputLimit, inputOffset);
}

function sanitizeLimit(value: number): number {
  return Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

/**
 * The push/finish machinery of raw LZMA: buffers at most MAX_INPUT_PER_SYMBOL
 * bytes between pushes (a symbol never straddles two calls), hands out the
 * dictionary in pieces, and checks the end.
 */
class LzmaStream implements StreamDecoder {
  status: StreamStatus = 'running';
  inputBytes = 0;
  outputBytes = 0;
  trailingBytes = 0;
  unusedInput: Uint8Array = EMPTY;
  /** Absolute compressed offset of the first byte after the end of the stream. */
  endOffset = 0;
  private started = false;
  private finished = false;
  private busy = false;
  /** Compressed bytes left from the previous push (fewer than MAX_INPUT_PER_SYMBOL). */
  private carry: Uint8Array = EMPTY;
  /** Absolute offset of `carry[0]` (or of the next input byte when there is no carry). */
  private carryOffset: number;
  /** Dictionary index of the first byte not yet handed out. */
  private flushed = 0;

  constructor(
    private readonly core: LzmaCore,
    private readonly declaredSize: number | undefined,
    private readonly outputLimit: number,
    inputOffset: number,
  ) {
    this.carryOffset = inputOffset;
  }

  get memoryBytes(): number {
    return this.core.memoryBytes;
  }

  *push(input: Uint8Array): Generator<Uint8Array, void, undefined> {
    this.enter('push');
    try {
      this.inputBytes += input.length;
      if (this.status !== 'running') {
        this.trailingBytes += input.length;
        this.unusedInput = input;
        return;
      }
      this.unusedInput = EMPTY;
      const window = this.carry.length === 0 ? input : concat(this.carry, input);
      yield* this.run(window, false);
    } finally {
      this.busy = false;
    }
  }

  *finish(): Generator<Uint8Array, void, undefined> {
    this.enter('finish');
    this.finished = true;
    try {
      this.unusedInput = EMPTY;
      if (this.status !== 'running') return;
      yield* this.run(this.carry, true);
      if (this.status === 'running') {
        const end = this.carryOffset + this.carry.length;
        const what = this.declaredSize === undefined ? 'before its end marker' : `after ${this.outputBytes} of ${this.declaredSize} declared bytes`;
        throw new ParseError('compression.truncated', end, `LZMA stream ends at compressed offset ${end} ${what}`);
      }
    } finally {
      this.busy = false;
    }
  }

  private enter(what: string): void {
    if (this.busy) throw new Error(`LZMA decoder: ${what} called before the previous output was consumed`);
    if (this.finished) throw new Error(`LZMA decoder: ${what} called after finish`);
    this.busy = true;
  }

  private *run(window: Uint8Array, final: boolean): Generator<Uint8Array, void, undefined> {
    const core = this.core;
    const base = this.carryOffset;
    core.setInput(window, 0, window.length);
    if (!this.started) {
      if (this.outputLimit === 0) {
        this.end(this.declaredSize === 0 ? 'ended' : 'limit', window, 0, base);
        return;
      }
      if (window.length < 5) {
        if (final && window.length > 0) {
          throw new ParseError('compression.truncated', base, `LZMA stream of ${window.length} bytes is shorter than its 5-byte range coder start`);
        }
        if (final) throw new ParseError('compression.truncated', base, 'LZMA stream is empty');
        this.keepCarry(window, 0, base);
        return;
      }
      core.startRangeDecoder(base);
      this.started = true;
    }
    const safeEnd = final ? window.length : window.length - MAX_INPUT_PER_SYMBOL;
    const dictionaryLength = core.dictionary.length;
    for (;;) {
      const produced = this.outputBytes + (core.position - this.flushed);
      const outputStop = Math.min(dictionaryLength, this.flushed + OUTPUT_PIECE_BYTES, core.position + (this.outputLimit - produced));
      const stop = core.decode(outputStop, safeEnd, base);
      if (core.position > this.flushed) yield* this.flush();
      if (stop === STOP_END_MARKER) {
        if (this.declaredSize !== undefined && this.outputBytes < this.declaredSize) {
          throw new ParseError(
            'compression.corrupt',
            base + core.inputPosition,
            `LZMA end marker after ${this.outputBytes} bytes, before the ${this.declaredSize} declared`,
          );
        }
        this.end('ended', window, core.inputPosition, base);
        return;
      }
      if (this.outputBytes >= this.outputLimit) {
        // The declared size is the end of a sized stream; the cap is a limit.
        const atDeclaredEnd = this.declaredSize !== undefined && this.outputBytes >= this.declaredSize;
        this.end(atDeclaredEnd ? 'ended' : 'limit', window, core.inputPosition, base);
        return;
      }
      if (stop === STOP_NEED_INPUT) {
        this.keepCarry(window, core.inputPosition, base);
        return;
      }
    }
  }

  /** Hand out the bytes decoded since the last piece, and wrap the dictionary when full. */
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

  private keepCarry(window: Uint8Array, from: number, base: number): void {
    this.carry = window.slice(from);
    this.carryOffset = base + from;
  }

  private end(status: StreamStatus, window: Uint8Array, from: number, base: number): void {
    this.status = status;
    this.unusedInput = window.subarray(from);
    this.trailingBytes += window.length - from;
    this.endOffset = base + from;
    this.carry = EMPTY;
  }
}

function concat(first: Uint8Array, second: Uint8Array): Uint8Array {
  const joined = new Uint8Array(first.length + second.length);
  joined.set(first, 0);
  joined.set(second, first.length);
  return joined;
}

export interface LzmaAloneHeader {
  properties: number;
  dictionarySize: number;
  /** Declared decoded size; null when the header says unknown (all ones) and the stream ends with a marker. */
  uncompressedSize: number | null;
}

/**
 * Parse the 13-byte LZMA-alone header at `offset` of `bytes`; null when it is
 * not a plausible header (bad properties byte, size beyond 2^38), which is
 * how trailing garbage is told from a concatenated stream.
 */
export function parseLzmaAloneHeader(bytes: Uint8Array, offset = 0): LzmaAloneHeader | null {
  if (bytes.length - offset < LZMA_ALONE_HEADER_BYTES) return null;
  const properties = bytes[offset];
  if (properties >= 225) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, LZMA_ALONE_HEADER_BYTES);
  const dictionarySize = view.getUint32(1, true);
  const low = view.getUint32(5, true);
  const high = view.getUint32(9, true);
  if (low === 0xffffffff && high === 0xffffffff) return { properties, dictionarySize, uncompressedSize: null };
  const size = high * 2 ** 32 + low;
  if (size > MAX_ALONE_DECLARED_SIZE) return null;
  return { properties, dictionarySize, uncompressedSize: size };
}

/** True when `head` starts like an LZMA-alone file: for format detection, where there is no magic number. */
export function looksLikeLzmaAlone(head: Uint8Array): boolean {
  const header = parseLzmaAloneHeader(head);
  if (!header) return false;
  // Real encoders write power-of-two (or 3 × 2^n) dictionaries of 4 KiB or more; the range coder's first byte is 0.
  const dictionary = header.dictionarySize;
  const plausibleDictionary = dictionary >= MIN_DICTIONARY_BYTES && ((dictionary & (dictionary - 1)) === 0 || (dictionary % 3 === 0 && ((dictionary / 3) & (dictionary / 3 - 1)) === 0));
  return plausibleDictionary && head.length > LZMA_ALONE_HEADER_BYTES && head[LZMA_ALONE_HEADER_BYTES] === 0;
}

export interface LzmaAloneDecoderOptions {
  /** Hard cap on decoded bytes over all streams (default MAX_DECODED_BYTES). */
  maxOutputBytes?: number;
  /** Largest dictionary allocated (default MAX_DICTIONARY_BYTES). */
  maxDictionaryBytes?: number;
}

export interface LzmaAloneDecoder extends StreamDecoder {
  /** The header of each stream decoded so far, in order. */
  readonly headers: readonly LzmaAloneHeader[];
}

/**
 * The `.lzma` (LZMA-alone) file: a 13-byte header, then raw LZMA. Like
 * Python's `lzma` module (which joblib uses), a stream followed by another
 * valid header is decoded on as one output: a payload split over two
 * concatenated streams is still one pickle to the loader. Bytes after the
 * last stream that are not a header are `trailingBytes`.
 */
export function createLzmaAloneDecoder(options: LzmaAloneDecoderOptions = {}): LzmaAloneDecoder {
  const maxOutputBytes = sanitizeLimit(options.maxOutputBytes ?? MAX_DECODED_BYTES);
  const headers: LzmaAloneHeader[] = [];
  /** Header bytes collected so far for the next stream. */
  let header: Uint8Array = EMPTY;
  /** Absolute offset of the first byte not yet given to a stream or a header. */
  let nextOffset = 0;
  let current: LzmaStream | null = null;
  let previousOutput = 0;
  let inputBytes = 0;
  let status: StreamStatus = 'running';
  let trailingBytes = 0;
  let busy = false;
  let finished = false;

  function enter(what: string): void {
    if (busy) throw new Error(`LZMA-alone decoder: ${what} called before the previous output was consumed`);
    if (finished) throw new Error(`LZMA-alone decoder: ${what} called after finish`);
    busy = true;
  }

  function stopWithTrailing(count: number): void {
    trailingBytes += count;
    status = 'ended';
  }

  /** Feed `input` through headers and streams; with `final`, end every stream and check the end. */
  function* process(input: Uint8Array, final: boolean): Generator<Uint8Array, void, undefined> {
    let rest = input;
    for (;;) {
      if (status !== 'running') {
        trailingBytes += rest.length;
        return;
      }
      if (!current) {
        const take = Math.min(LZMA_ALONE_HEADER_BYTES - header.length, rest.length);
        if (take > 0) {
          header = concat(header, rest.subarray(0, take));
          rest = rest.subarray(take);
          nextOffset += take;
        }
        if (header.length < LZMA_ALONE_HEADER_BYTES) {
          if (!final) return;
          if (headers.length === 0) {
            throw new ParseError('compression.truncated', 0, `LZMA-alone file of ${header.length} bytes is shorter than its ${LZMA_ALONE_HEADER_BYTES}-byte header`);
          }
          // A partial header after a complete stream is trailing data.
          stopWithTrailing(header.length);
          return;
        }
        const parsed = parseLzmaAloneHeader(header);
        const headerOffset = nextOffset - LZMA_ALONE_HEADER_BYTES;
        if (!parsed) {
          if (headers.length === 0) {
            throw new ParseError(
              'compression.properties-invalid',
              0,
              `LZMA-alone header is invalid: properties byte ${header[0]} (must be below 225) or declared size over 2^38`,
            );
          }
          stopWithTrailing(header.length);
          continue;
        }
        headers.push(parsed);
        header = EMPTY;
        current = createLzmaDecoder({
          properties: parsed.properties,
          dictionarySize: parsed.dictionarySize,
          uncompressedSize: parsed.uncompressedSize ?? undefined,
          maxOutputBytes: maxOutputBytes - previousOutput,
          maxDictionaryBytes: options.maxDictionaryBytes,
          inputOffset: headerOffset + LZMA_ALONE_HEADER_BYTES,
        }) as LzmaStream;
      }
      const stream: LzmaStream = current;
      yield* stream.push(rest);
      if (final && stream.status === 'running') yield* stream.finish();
      if (stream.status === 'running') {
        nextOffset += rest.length;
        return;
      }
      previousOutput += stream.outputBytes;
      current = null;
      rest = stream.unusedInput;
      nextOffset = stream.endOffset;
      if (stream.status === 'limit') {
        status = 'limit';
        trailingBytes += rest.length;
        return;
      }
    }
  }

  return {
    headers,
    get inputBytes() {
      return inputBytes;
    },
    get outputBytes() {
      return previousOutput + (current ? current.outputBytes : 0);
    },
    get status() {
      return status;
    },
    get trailingBytes() {
      return trailingBytes;
    },
    get unusedInput() {
      return EMPTY;
    },
    get memoryBytes() {
      return current ? current.memoryBytes : 0;
    },
    *push(input) {
      enter('push');
      try {
        inputBytes += input.length;
        yield* process(input, false);
      } finally {
        busy = false;
      }
    },
    *finish() {
      enter('finish');
      finished = true;
      try {
        yield* process(EMPTY, true);
      } finally {
        busy = false;
      }
    },
  };
}

/** Decode a whole stream held in memory (small headers, tests): the output pieces joined. */
export function decodeAll(decoder: StreamDecoder, input: Uint8Array): Uint8Array {
  const pieces: Uint8Array[] = [];
  let total = 0;
  for (const piece of decoder.push(input)) {
    pieces.push(piece.slice());
    total += piece.length;
  }
  for (const piece of decoder.finish()) {
    pieces.push(piece.slice());
    total += piece.length;
  }
  const output = new Uint8Array(total);
  let offset = 0;
  for (const piece of pieces) {
    output.set(piece, offset);
    offset += piece.length;
  }
  return output;
}
