import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createBcjX86Decoder } from '../../src/compression/bcj.ts';
import { createDeltaDecoder, decodeDeltaDistance } from '../../src/compression/delta.ts';
import {
  MAX_DICTIONARY_BYTES,
  OUTPUT_PIECE_BYTES,
  type StreamDecoder,
  createLzmaAloneDecoder,
  createLzmaDecoder,
  decodeAll,
  dictionaryAllocation,
  looksLikeLzmaAlone,
  parseLzmaAloneHeader,
  parseLzmaPropertiesByte,
} from '../../src/compression/lzma.ts';
import { createLzma2Decoder, decodeLzma2DictionarySize } from '../../src/compression/lzma2.ts';
import { crc32 } from '../../src/containers/zip-crc32.ts';
import { ParseError } from '../../src/io/parse-error.ts';

const fixture = (name: string) => new Uint8Array(readFileSync(fileURLToPath(new URL(`../fixtures/archive/${name}`, import.meta.url))));
const plain = (name: string) => fixture(`plain/${name}`);

/** The pickle make_fixtures.py compresses into pickle.lzma (os.system('echo pwned')). */
const MALICIOUS_PICKLE = Uint8Array.from(
  '\x80\x02cos\nsystem\nq\x00X\n\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03.',
  (char) => char.charCodeAt(0),
);

function random(seed: number) {
  let state = seed >>> 0;
  return (limit: number) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value ^= value + Math.imul(value ^ (value >>> 7), 61 | value);
    return ((value ^ (value >>> 14)) >>> 0) % limit;
  };
}

/** Decode `input` pushed in chunks of the sizes `nextSize` gives; pieces are copied as they come. */
function decodeChunked(decoder: StreamDecoder, input: Uint8Array, nextSize: () => number): Uint8Array {
  const pieces: Uint8Array[] = [];
  for (let offset = 0; offset < input.length; ) {
    const size = Math.max(1, nextSize());
    for (const piece of decoder.push(input.subarray(offset, offset + size))) pieces.push(piece.slice());
    offset += size;
  }
  for (const piece of decoder.finish()) pieces.push(piece.slice());
  return join(pieces);
}

function join(pieces: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(pieces.reduce((sum, piece) => sum + piece.length, 0));
  let offset = 0;
  for (const piece of pieces) {
    bytes.set(piece, offset);
    offset += piece.length;
  }
  return bytes;
}

function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  expect(actual.findIndex((byte, index) => byte !== expected[index])).toBe(-1);
  expect(crc32(actual)).toBe(crc32(expected));
}

function expectParseError(run: () => unknown, rules: string[]): ParseError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ParseError);
    expect(rules).toContain((error as ParseError).rule);
    return error as ParseError;
  }
  throw new Error('expected a ParseError');
}

/** An LZMA-alone header: properties, dictionary size, u64 size (or -1). */
function aloneHeader(properties: number, dictionary: number, size: bigint): Uint8Array {
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  header[0] = properties;
  view.setUint32(1, dictionary, true);
  view.setBigUint64(5, size, true);
  return header;
}

const LZMA_ALONE_FIXTURES = [
  { file: 'text.lzma', plain: 'text.txt' },
  { file: 'small.lzma', plain: 'small.txt' },
  { file: 'mixed.lzma', plain: 'mixed.bin' },
  { file: 'text-lc0-lp2-pb0.lzma', plain: 'text.txt' },
  { file: 'text-lc4-lp0-pb4.lzma', plain: 'text.txt' },
  { file: 'text-lc0-lp4-pb2.lzma', plain: 'text.txt' },
];

describe('LZMA-alone (.lzma) decoding', () => {
  it.each(LZMA_ALONE_FIXTURES)('decodes $file to the exact bytes of $plain', ({ file, plain: original }) => {
    const decoder = createLzmaAloneDecoder();
    const output = decodeAll(decoder, fixture(file));
    expectSameBytes(output, plain(original));
    expect(decoder.status).toBe('ended');
    expect(decoder.trailingBytes).toBe(0);
    expect(decoder.headers).toHaveLength(1);
    expect(decoder.headers[0].uncompressedSize).toBeNull();
  });

  it.each(LZMA_ALONE_FIXTURES)('gives the same bytes for any chunking of $file', ({ file, plain: original }) => {
    const input = fixture(file);
    for (const seed of [1, 2, 3]) {
      const next = random(seed);
      expectSameBytes(decodeChunked(createLzmaAloneDecoder(), input, () => 1 + next(97)), plain(original));
    }
    expectSameBytes(decodeChunked(createLzmaAloneDecoder(), input, () => 1), plain(original));
  });

  it('decodes an empty stream to nothing', () => {
    const decoder = createLzmaAloneDecoder();
    expect(decodeAll(decoder, fixture('empty.lzma'))).toHaveLength(0);
    expect(decoder.status).toBe('ended');
  });

  it('decodes the pickle joblib would load from a .lzma file', () => {
    expectSameBytes(decodeAll(createLzmaAloneDecoder(), fixture('pickle.lzma')), MALICIOUS_PICKLE);
  });

  it('decodes concatenated streams as one output, as Python does', () => {
    const decoder = createLzmaAloneDecoder();
    const output = decodeAll(decoder, fixture('concatenated.lzma'));
    expectSameBytes(output, join([plain('small.txt'), plain('text.txt')]));
    expect(decoder.headers).toHaveLength(2);
    expect(decoder.trailingBytes).toBe(0);
  });

  it('decodes concatenated streams the same in 1-byte chunks', () => {
    expectSameBytes(decodeChunked(createLzmaAloneDecoder(), fixture('concatenated.lzma'), () => 1), join([plain('small.txt'), plain('text.txt')]));
  });

  it('counts bytes after the last stream that are not a stream as trailing data', () => {
    const decoder = createLzmaAloneDecoder();
    expectSameBytes(decodeAll(decoder, fixture('trailing-garbage.lzma')), plain('small.txt'));
    expect(decoder.trailingBytes).toBe('\xffnot a stream'.length);
    expect(decoder.status).toBe('ended');
  });

  it('stops a declared size at that size', () => {
    const input = fixture('small.lzma').slice();
    new DataView(input.buffer).setBigUint64(5, 5n, true);
    const decoder = createLzmaAloneDecoder();
    expectSameBytes(decodeAll(decoder, input), plain('small.txt').subarray(0, 5));
    expect(decoder.status).toBe('ended');
  });

  it('caps a bomb at maxOutputBytes and hands out bounded pieces', () => {
    const decoder = createLzmaAloneDecoder({ maxOutputBytes: 3 * 1024 * 1024 + 7 });
    let total = 0;
    let largest = 0;
    for (const piece of decoder.push(fixture('zeros.lzma'))) {
      total += piece.length;
      largest = Math.max(largest, piece.length);
      expect(piece.every((byte) => byte === 0)).toBe(true);
    }
    for (const piece of decoder.finish()) total += piece.length;
    expect(total).toBe(3 * 1024 * 1024 + 7);
    expect(decoder.status).toBe('limit');
    expect(largest).toBeLessThanOrEqual(OUTPUT_PIECE_BYTES);
  });

  it('decodes the whole 16 MiB bomb when allowed, with pieces no larger than OUTPUT_PIECE_BYTES', () => {
    const decoder = createLzmaAloneDecoder();
    let total = 0;
    for (const piece of decoder.push(fixture('zeros.lzma'))) {
      expect(piece.length).toBeLessThanOrEqual(OUTPUT_PIECE_BYTES);
      total += piece.length;
    }
    for (const piece of decoder.finish()) total += piece.length;
    expect(total).toBe(16 << 20);
    expect(decoder.status).toBe('ended');
  });
});

describe('LZMA-alone header', () => {
  it('parses the properties, dictionary and size, and -1 as unknown', () => {
    expect(parseLzmaAloneHeader(aloneHeader(0x5d, 1 << 23, 0xffffffffffffffffn))).toEqual({ properties: 0x5d, dictionarySize: 1 << 23, uncompressedSize: null });
    expect(parseLzmaAloneHeader(aloneHeader(0x5d, 4096, 1234n))).toEqual({ properties: 0x5d, dictionarySize: 4096, uncompressedSize: 1234 });
  });

  it.each([
    { what: 'properties byte 225', header: aloneHeader(225, 1 << 23, 0n) },
    { what: 'size over 2^38', header: aloneHeader(0x5d, 1 << 23, 1n << 40n) },
    { what: 'fewer than 13 bytes', header: aloneHeader(0x5d, 1 << 23, 0n).subarray(0, 12) },
  ])('refuses $what', ({ header }) => {
    expect(parseLzmaAloneHeader(header)).toBeNull();
  });

  it('recognises real .lzma heads and not random bytes', () => {
    expect(looksLikeLzmaAlone(fixture('text.lzma'))).toBe(true);
    expect(looksLikeLzmaAlone(fixture('pickle.lzma'))).toBe(true);
    expect(looksLikeLzmaAlone(plain('text.txt'))).toBe(false);
    expect(looksLikeLzmaAlone(new Uint8Array(5))).toBe(false);
  });
});

describe('LZMA properties and dictionary limits', () => {
  it.each([
    { value: 0x5d, expected: { lc: 3, lp: 0, pb: 2 } },
    { value: 0, expected: { lc: 0, lp: 0, pb: 0 } },
    { value: 224, expected: { lc: 8, lp: 4, pb: 4 } },
  ])('decodes properties byte $value', ({ value, expected }) => {
    expect(parseLzmaPropertiesByte(value)).toEqual(expected);
  });

  it('refuses properties bytes of 225 and above', () => {
    expectParseError(() => parseLzmaPropertiesByte(225), ['compression.properties-invalid']);
    expectParseError(() => createLzmaDecoder({ properties: 255, dictionarySize: 4096 }), ['compression.properties-invalid']);
  });

  it('shrinks the window to the output a stream can produce, raises it to 4 KiB, and aligns it', () => {
    expect(dictionaryAllocation(0xffffffff, 100)).toBe(112);
    expect(dictionaryAllocation(10, 1 << 20)).toBe(4096);
    expect(dictionaryAllocation(1 << 23, Infinity)).toBe(1 << 23);
  });

  it('refuses a 4 GiB dictionary for an unknown size before allocating it', () => {
    const error = expectParseError(
      () => decodeAll(createLzmaAloneDecoder(), join([aloneHeader(0x5d, 0xffffffff, 0xffffffffffffffffn), new Uint8Array(16)])),
      ['compression.dictionary-too-large'],
    );
    expect(error.message).toContain(String(MAX_DICTIONARY_BYTES));
  });

  it('decodes a stream declaring a 4 GiB dictionary when its declared size is small', () => {
    const input = fixture('small.lzma').slice();
    const view = new DataView(input.buffer);
    view.setUint32(1, 0xffffffff, true);
    view.setBigUint64(5, 13n, true);
    expectSameBytes(decodeAll(createLzmaAloneDecoder(), input), plain('small.txt'));
  });

  it('honours a lower maxDictionaryBytes', () => {
    expectParseError(() => decodeAll(createLzmaAloneDecoder({ maxDictionaryBytes: 1 << 20 }), fixture('text.lzma')), ['compression.dictionary-too-large']);
  });
});

describe('LZMA stream errors', () => {
  it('reports a stream cut anywhere as truncated (or corrupt), never anything else', () => {
    const input = fixture('text.lzma');
    for (const cut of [13, 14, 17, 18, 100, 1000, input.length - 6, input.length - 1]) {
      expectParseError(() => decodeAll(createLzmaAloneDecoder(), input.subarray(0, cut)), ['compression.truncated', 'compression.corrupt']);
    }
  });

  it('reports a header cut short as truncated', () => {
    expectParseError(() => decodeAll(createLzmaAloneDecoder(), fixture('text.lzma').subarray(0, 9)), ['compression.truncated']);
  });

  it('refuses a range coder that does not start with 0', () => {
    const input = fixture('text.lzma').slice();
    input[13] = 1;
    expectParseError(() => decodeAll(createLzmaAloneDecoder(), input), ['compression.corrupt']);
  });

  it('refuses an end marker before the declared size', () => {
    const input = fixture('small.lzma').slice();
    new DataView(input.buffer).setBigUint64(5, 20n, true);
    expectParseError(() => decodeAll(createLzmaAloneDecoder(), input), ['compression.corrupt', 'compression.truncated']);
  });

  it('fails fast on calls in the wrong order', () => {
    const decoder = createLzmaAloneDecoder();
    const pending = decoder.push(fixture('text.lzma'));
    expect(pending.next().done).toBe(false);
    expect(() => decoder.push(new Uint8Array(1)).next()).toThrow(/before the previous output was consumed/);
    const finished = createLzmaAloneDecoder();
    decodeAll(finished, fixture('small.lzma'));
    expect(() => finished.push(new Uint8Array(1)).next()).toThrow(/after finish/);
  });
});

describe('LZMA2', () => {
  it.each([
    { file: 'text.lzma2', original: 'text.txt' },
    { file: 'mixed.lzma2', original: 'mixed.bin' },
  ])('decodes $file exactly, for any chunking', ({ file, original }) => {
    const input = fixture(file);
    expectSameBytes(decodeAll(createLzma2Decoder({ dictionarySize: 1 << 23 }), input), plain(original));
    const next = random(11);
    expectSameBytes(decodeChunked(createLzma2Decoder({ dictionarySize: 1 << 23 }), input, () => 1 + next(300)), plain(original));
    expectSameBytes(decodeChunked(createLzma2Decoder({ dictionarySize: 1 << 23 }), input, () => 1), plain(original));
  });

  it('reaches its end byte with status ended', () => {
    const decoder = createLzma2Decoder({ dictionarySize: 1 << 16, uncompressedSize: 20_000 });
    decodeAll(decoder, fixture('text.lzma2'));
    expect(decoder.status).toBe('ended');
    expect(decoder.outputBytes).toBe(20_000);
  });

  it('stops at a declared size shorter than the stream with status limit', () => {
    const decoder = createLzma2Decoder({ dictionarySize: 1 << 16, uncompressedSize: 1000 });
    const output = decodeAll(decoder, fixture('text.lzma2'));
    expectSameBytes(output, plain('text.txt').subarray(0, 1000));
    expect(decoder.status).toBe('limit');
  });

  it.each([
    { code: 0, size: 4096 },
    { code: 1, size: 6144 },
    { code: 18, size: 2 << 20 },
    { code: 19, size: 3 << 20 },
    { code: 40, size: 0xffffffff },
  ])('decodes dictionary code $code as $size bytes', ({ code, size }) => {
    expect(decodeLzma2DictionarySize(code)).toBe(size);
  });

  it('refuses dictionary codes above 40', () => {
    expectParseError(() => decodeLzma2DictionarySize(41), ['compression.properties-invalid']);
  });

  it.each([
    { what: 'a first chunk without dictionary reset', bytes: [0x02, 0x00, 0x00, 0x41], rule: 'compression.corrupt' },
    { what: 'a first LZMA chunk without dictionary reset', bytes: [0x80, 0x00, 0x00, 0x00, 0x05], rule: 'compression.corrupt' },
    { what: 'an unknown control byte', bytes: [0x05], rule: 'compression.corrupt' },
    { what: 'lc + lp above 4', bytes: [0xe0, 0x00, 0x00, 0x00, 0x05, 0x15], rule: 'compression.properties-invalid' },
    { what: 'a chunk of fewer than 5 compressed bytes', bytes: [0xe0, 0x00, 0x00, 0x00, 0x02, 0x5d, 0x00, 0x00, 0x00], rule: 'compression.corrupt' },
    { what: 'an LZMA chunk needing properties after a stored chunk', bytes: [0x01, 0x00, 0x00, 0x41, 0x80, 0x00, 0x00, 0x00, 0x05], rule: 'compression.corrupt' },
    { what: 'a stream with no end byte', bytes: [0x01, 0x00, 0x00, 0x41], rule: 'compression.truncated' },
  ])('refuses $what', ({ bytes, rule }) => {
    expectParseError(() => decodeAll(createLzma2Decoder({ dictionarySize: 4096 }), Uint8Array.from(bytes)), [rule]);
  });

  it('decodes stored chunks (0x01 then 0x02) and the end byte', () => {
    const output = decodeAll(createLzma2Decoder({ dictionarySize: 4096 }), Uint8Array.from([0x01, 0x00, 0x01, 0x41, 0x42, 0x02, 0x00, 0x00, 0x43, 0x00]));
    expect([...output]).toEqual([0x41, 0x42, 0x43]);
  });

  it('refuses a chunk whose compressed size is not what its range coder used', () => {
    const input = fixture('text.lzma2').slice();
    // First chunk header: control, unpacked (2), packed (2), properties. Shorten the packed size by one.
    const packed = ((input[3] << 8) | input[4]) - 1;
    input[3] = packed >> 8;
    input[4] = packed & 0xff;
    expectParseError(() => decodeAll(createLzma2Decoder({ dictionarySize: 1 << 16 }), input), ['compression.corrupt', 'compression.truncated']);
  });
});

describe('BCJ x86 and delta filters', () => {
  it('undoes liblzma\'s x86 BCJ exactly, for any chunking', () => {
    const filtered = decodeAll(createLzma2Decoder({ dictionarySize: 1 << 23 }), fixture('code-bcj.lzma2'));
    const original = plain('code.bin');
    // The filter changed the bytes, so the test can fail.
    expect(filtered.findIndex((byte, index) => byte !== original[index])).toBeGreaterThanOrEqual(0);
    for (const seed of [0, 1, 2]) {
      const next = random(seed);
      const bcj = createBcjX86Decoder();
      const pieces: Uint8Array[] = [];
      for (let offset = 0; offset < filtered.length; ) {
        const size = seed === 0 ? filtered.length : 1 + next(40);
        pieces.push(bcj.push(filtered.subarray(offset, offset + size)).slice());
        offset += size;
      }
      pieces.push(bcj.finish().slice());
      expectSameBytes(join(pieces), original);
    }
  });

  it('undoes liblzma\'s delta filter (distance 4) exactly, for any chunking', () => {
    const filtered = decodeAll(createLzma2Decoder({ dictionarySize: 1 << 23 }), fixture('mixed-delta4.lzma2'));
    const next = random(5);
    const delta = createDeltaDecoder(4);
    const pieces: Uint8Array[] = [];
    for (let offset = 0; offset < filtered.length; ) {
      const size = 1 + next(50);
      pieces.push(delta.push(filtered.subarray(offset, offset + size)).slice());
      offset += size;
    }
    expectSameBytes(join(pieces), plain('mixed.bin'));
  });

  it('round-trips a delta encoding written here, for every distance', () => {
    const data = plain('text.txt').subarray(0, 2000);
    for (const distance of [1, 2, 7, 255, 256]) {
      const encoded = data.map((byte, index) => (byte - (index >= distance ? data[index - distance] : 0)) & 0xff);
      expectSameBytes(createDeltaDecoder(distance).push(encoded), data);
    }
  });

  it('reads the delta distance from its properties byte', () => {
    expect(decodeDeltaDistance(Uint8Array.of(3))).toBe(4);
    expectParseError(() => decodeDeltaDistance(Uint8Array.of(1, 2)), ['compression.properties-invalid']);
  });

  it('passes fewer than 5 bytes through unchanged', () => {
    const bcj = createBcjX86Decoder();
    expect(bcj.push(Uint8Array.of(0xe8, 1, 2, 3))).toHaveLength(0);
    expect([...bcj.finish()]).toEqual([0xe8, 1, 2, 3]);
  });
});

describe('LZMA fuzz', () => {
  /** Flip, insert, delete and cut bytes; every result must decode or end in a ParseError, within bounded output. */
  function mutate(input: Uint8Array, next: (limit: number) => number): Uint8Array {
    const bytes = Array.from(input);
    const edits = 1 + next(4);
    for (let edit = 0; edit < edits; edit++) {
      const at = next(bytes.length);
      switch (next(5)) {
        case 0:
          bytes[at] ^= 1 << next(8);
          break;
        case 1:
          bytes[at] = next(256);
          break;
        case 2:
          bytes.splice(at, 0, next(256));
          break;
        case 3:
          bytes.splice(at, 1 + next(8));
          break;
        default:
          bytes.length = Math.max(1, at);
      }
      if (bytes.length === 0) bytes.push(next(256));
    }
    return Uint8Array.from(bytes);
  }

  it.each([
    { file: 'text.lzma', make: () => createLzmaAloneDecoder({ maxOutputBytes: 1 << 20, maxDictionaryBytes: 1 << 24 }) },
    { file: 'small.lzma', make: () => createLzmaAloneDecoder({ maxOutputBytes: 1 << 20, maxDictionaryBytes: 1 << 24 }) },
    { file: 'text.lzma2', make: () => createLzma2Decoder({ dictionarySize: 1 << 16, maxOutputBytes: 1 << 20 }) },
    { file: 'mixed.lzma2', make: () => createLzma2Decoder({ dictionarySize: 1 << 23, maxOutputBytes: 1 << 20 }) },
  ])('survives 1000 mutations of $file', ({ file, make }) => {
    const original = fixture(file);
    const next = random(crc32(Uint8Array.from(file, (char) => char.charCodeAt(0))));
    const started = Date.now();
    const outcomes = { decoded: 0, refused: 0 };
    for (let round = 0; round < 1000; round++) {
      const input = mutate(original, next);
      try {
        const decoder = make();
        let total = 0;
        for (const piece of decoder.push(input)) total += piece.length;
        for (const piece of decoder.finish()) total += piece.length;
        expect(total).toBeLessThanOrEqual(1 << 20);
        outcomes.decoded++;
      } catch (error) {
        if (!(error instanceof ParseError)) throw new Error(`round ${round}: ${String(error)} for ${Buffer.from(input).toString('base64')}`);
        outcomes.refused++;
      }
    }
    expect(outcomes.refused).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
