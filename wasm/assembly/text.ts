/**
 * Checks and numbers read from the text arguments of protocol 0 opcodes.
 * Parsing here is lenient on purpose: where this machine cannot read a
 * number it answers "unknown" instead of an error, so a quirk of CPython's
 * number syntax can never make the machine stop where CPython goes on.
 */

/** True when [start, start + length) is strict UTF-8 (no overlongs, no surrogates, ≤ U+10FFFF), as CPython's "strict" decoder requires. */
export function isUtf8(start: usize, length: i32, allowCutEnd: bool): bool {
  let i = 0;
  while (i < length) {
    const lead = <u32>load<u8>(start + <usize>i);
    if (lead < 0x80) {
      i++;
      continue;
    }
    let need = 0;
    let minimum: u32 = 0;
    let code: u32 = 0;
    if (lead >= 0xc2 && lead <= 0xdf) {
      need = 1;
      code = lead & 0x1f;
      minimum = 0x80;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      need = 2;
      code = lead & 0x0f;
      minimum = 0x800;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      need = 3;
      code = lead & 0x07;
      minimum = 0x10000;
    } else {
      return false;
    }
    if (i + need >= length) {
      // The sequence runs past the kept bytes: acceptable only when the text was cut there.
      if (!allowCutEnd) return false;
      for (let j = i + 1; j < length; j++) {
        if ((<u32>load<u8>(start + <usize>j) & 0xc0) != 0x80) return false;
      }
      return true;
    }
    for (let j = 1; j <= need; j++) {
      const next = <u32>load<u8>(start + <usize>(i + j));
      if ((next & 0xc0) != 0x80) return false;
      code = (code << 6) | (next & 0x3f);
    }
    if (code < minimum || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return false;
    i += need + 1;
  }
  return true;
}

/** True when every byte is ASCII (INST reads its lines with the strict ASCII codec). */
export function isAscii(start: usize, length: i32): bool {
  for (let i = 0; i < length; i++) {
    if (load<u8>(start + <usize>i) >= 0x80) return false;
  }
  return true;
}

@inline function isSpace(byte: u32): bool {
  return byte == 0x20 || (byte >= 0x09 && byte <= 0x0d);
}

/**
 * A decimal integer as Python's int(text, 10) reads it (surrounding
 * whitespace, one sign, digits with single underscores between them).
 * Answers NaN when the text is not one, and the value as f64 otherwise
 * (exact up to 2^53; `parsedExact` tells).
 */
export let parsedExact: bool = true;

export function parseDecimal(start: usize, length: i32, allowLongSuffix: bool): f64 {
  parsedExact = true;
  let end = length;
  while (end > 0 && isSpace(<u32>load<u8>(start + <usize>(end - 1)))) end--;
  if (allowLongSuffix && end > 0 && load<u8>(start + <usize>(end - 1)) == 0x4c) end--;
  let i = 0;
  while (i < end && isSpace(<u32>load<u8>(start + <usize>i))) i++;
  let negative = false;
  if (i < end) {
    const sign = <u32>load<u8>(start + <usize>i);
    if (sign == 0x2d || sign == 0x2b) {
      negative = sign == 0x2d;
      i++;
    }
  }
  let value: f64 = 0;
  let digits = 0;
  let previousUnderscore = false;
  for (; i < end; i++) {
    const byte = <u32>load<u8>(start + <usize>i);
    if (byte == 0x5f) {
      if (digits == 0 || previousUnderscore) return NaN;
      previousUnderscore = true;
      continue;
    }
    if (byte < 0x30 || byte > 0x39) return NaN;
    value = value * 10 + <f64>(byte - 0x30);
    digits++;
    previousUnderscore = false;
  }
  if (digits == 0 || previousUnderscore) return NaN;
  if (value > 9007199254740992) parsedExact = false;
  return negative ? -value : value;
}
