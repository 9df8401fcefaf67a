import { describe, expect, it } from 'vitest';
import * as shared from '../../wasm/assembly/shared.ts';
import { decodePickleText, decodeRawUnicodeEscape, decodeStringEscapes } from '../../src/pickle/text.ts';

const bytes = (text: string) => Uint8Array.from(text, (character) => character.charCodeAt(0));

describe('decoding kept strings as CPython would', () => {
  it.each([
    ['UTF-8', shared.ENC_UTF8, new TextEncoder().encode('日本語 ünï'), '日本語 ünï'],
    ['Latin-1', shared.ENC_LATIN1, bytes('caf\xe9'), 'café'],
    ['Python 2 bytes, valid UTF-8', shared.ENC_PY2_BYTES, new TextEncoder().encode('ünï'), 'ünï'],
    ['Python 2 bytes, not UTF-8', shared.ENC_PY2_BYTES, bytes('\xff\xfe'), '\xff\xfe'],
    ['STRING with quotes and escapes', shared.ENC_STRING_ESCAPE, bytes("'o\\x73\\n\\'\\\\\\101'"), "os\n'\\A"],
    ['STRING double-quoted', shared.ENC_STRING_ESCAPE, bytes('"os"'), 'os'],
    ['UNICODE raw-unicode-escape', shared.ENC_RAW_UNICODE_ESCAPE, bytes('sys\\u0074em \\U0001F600'), 'system 😀'],
  ])('%s', (_, encoding, input, expected) => {
    expect(decodePickleText(input, 0, input.length, encoding, false)).toBe(expected);
  });

  it('a cut STRING keeps its text without a closing quote to strip', () => {
    expect(decodePickleText(bytes("'abc"), 0, 4, shared.ENC_STRING_ESCAPE, true)).toBe('abc');
  });

  it('octal, hex and unknown escapes follow PyBytes_DecodeEscape', () => {
    expect([...decodeStringEscapes(bytes('\\0\\777\\x4g\\q\\\n!'))]).toEqual([0, 0xff, 0x5c, 0x78, 0x34, 0x67, 0x5c, 0x71, 0x21]);
  });

  it('raw-unicode-escape escapes only after an odd number of backslashes', () => {
    expect(decodeRawUnicodeEscape(bytes('\\\\u0041 \\\\\\u0041'))).toBe('\\\\u0041 \\\\A');
  });
});
