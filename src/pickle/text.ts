import {
  ENC_LATIN1,
  ENC_PY2_BYTES,
  ENC_RAW_UNICODE_ESCAPE,
  ENC_STRING_ESCAPE,
  ENC_UTF8,
} from '../../wasm/assembly/shared.ts';

const utf8 = new TextDecoder('utf-8', { fatal: false });
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Turns the bytes the machine kept for a string (`length` bytes of `buffer`
 * from `start`) into the text CPython would make of them, by the opcode that
 * produced them (see ENC_* in shared.ts). `truncated` means the bytes are a
 * prefix: a cut escape or quote at the end is then not an error.
 */
export function decodePickleText(buffer: Uint8Array, start: number, length: number, encoding: number, truncated: boolean): string {
  if (length <= SHORT_TEXT_BYTES && encoding !== ENC_STRING_ESCAPE && encoding !== ENC_RAW_UNICODE_ESCAPE) {
    const ascii = shortAscii(buffer, start, length);
    if (ascii !== null) return ascii;
  }
  const bytes = buffer.subarray(start, start + length);
  switch (encoding) {
    case ENC_UTF8:
      return utf8.decode(bytes);
    case ENC_LATIN1:
      return latin1(bytes);
    case ENC_PY2_BYTES:
      return python2Bytes(bytes);
    case ENC_STRING_ESCAPE:
      return python2Bytes(decodeStringEscapes(unquote(bytes, truncated)));
    case ENC_RAW_UNICODE_ESCAPE:
      return decodeRawUnicodeEscape(bytes);
    default:
      return latin1(bytes);
  }
}

/** Short ASCII text (most names) is decoded without TextDecoder, whose per-call cost dominates for a few bytes. */
const SHORT_TEXT_BYTES = 64;

function shortAscii(buffer: Uint8Array, start: number, length: number): string | null {
  let text = '';
  for (let index = start; index < start + length; index++) {
    const byte = buffer[index];
    if (byte >= 0x80) return null;
    text += String.fromCharCode(byte);
  }
  return text;
}

function latin1(bytes: Uint8Array): string {
  let text = '';
  for (let start = 0; start < bytes.length; start += 8192) {
    text += String.fromCharCode(...bytes.subarray(start, start + 8192));
  }
  return text;
}

/**
 * Python 2 `str` bytes (BINSTRING, SHORT_BINSTRING, STRING): the Unpickler
 * decodes them with its `encoding` ('ASCII' by default, 'utf-8' in torch,
 * 'latin1' in NumPy). UTF-8 when they are valid UTF-8, Latin-1 otherwise.
 */
function python2Bytes(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return latin1(bytes);
  }
}

/** STRING's argument without its quotes (the closing one is absent when the line was cut). */
function unquote(bytes: Uint8Array, truncated: boolean): Uint8Array {
  const quote = bytes[0];
  if (bytes.length === 0 || (quote !== 0x27 && quote !== 0x22)) return bytes;
  if (!truncated && bytes.length >= 2 && bytes[bytes.length - 1] === quote) return bytes.subarray(1, bytes.length - 1);
  return bytes.subarray(1);
}

const SIMPLE_ESCAPES: Record<number, number> = {
  0x5c: 0x5c, // \\
  0x27: 0x27, // \'
  0x22: 0x22, // \"
  0x61: 0x07, // \a
  0x62: 0x08, // \b
  0x66: 0x0c, // \f
  0x6e: 0x0a, // \n
  0x72: 0x0d, // \r
  0x74: 0x09, // \t
  0x76: 0x0b, // \v
};

/** Backslash escapes of a Python bytes literal, as PyBytes_DecodeEscape reads them. */
export function decodeStringEscapes(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let index = 0; index < bytes.length; index++) {
    const byte = bytes[index];
    if (byte !== 0x5c || index + 1 >= bytes.length) {
      out.push(byte);
      continue;
    }
    const next = bytes[index + 1];
    if (next === 0x0a) {
      index++;
    } else if (SIMPLE_ESCAPES[next] !== undefined) {
      out.push(SIMPLE_ESCAPES[next]);
      index++;
    } else if (next >= 0x30 && next <= 0x37) {
      let value = 0;
      let digits = 0;
      while (digits < 3 && index + 1 < bytes.length && bytes[index + 1] >= 0x30 && bytes[index + 1] <= 0x37) {
        value = value * 8 + (bytes[index + 1] - 0x30);
        index++;
        digits++;
      }
      out.push(value & 0xff);
    } else if (next === 0x78 && isHex(bytes[index + 2]) && isHex(bytes[index + 3])) {
      out.push(parseInt(String.fromCharCode(bytes[index + 2], bytes[index + 3]), 16));
      index += 3;
    } else {
      out.push(byte);
    }
  }
  return Uint8Array.from(out);
}

function isHex(byte: number | undefined): boolean {
  return byte !== undefined && ((byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66));
}

/**
 * raw-unicode-escape (UNICODE opcode): Latin-1, except that \uXXXX and
 * \UXXXXXXXX preceded by an odd number of backslashes are code points.
 */
export function decodeRawUnicodeEscape(bytes: Uint8Array): string {
  let text = '';
  let index = 0;
  while (index < bytes.length) {
    const byte = bytes[index];
    if (byte !== 0x5c) {
      text += String.fromCharCode(byte);
      index++;
      continue;
    }
    let backslashes = 0;
    while (index < bytes.length && bytes[index] === 0x5c) {
      backslashes++;
      index++;
    }
    const marker = bytes[index];
    const digits = marker === 0x75 ? 4 : marker === 0x55 ? 8 : 0;
    const hex = digits > 0 ? String.fromCharCode(...bytes.subarray(index + 1, index + 1 + digits)) : '';
    if (backslashes % 2 === 1 && digits > 0 && hex.length === digits && /^[0-9a-fA-F]+$/.test(hex)) {
      const codePoint = parseInt(hex, 16);
      text += '\\'.repeat(backslashes - 1);
      text += codePoint <= 0x10ffff ? String.fromCodePoint(codePoint) : '\ufffd';
      index += 1 + digits;
    } else {
      text += '\\'.repeat(backslashes);
    }
  }
  return text;
}
