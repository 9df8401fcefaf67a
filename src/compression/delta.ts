/**
 * The delta filter (7z method 03, xz filter 0x03), decoding side.
 * Spec: https://tukaani.org/xz/xz-file-format.txt §5.3.3 and the LZMA SDK's Delta.c.
 *
 * The encoder stored each byte minus the byte `distance` positions before
 * it (1–256; the first `distance` bytes minus zero), which helps LZMA on
 * sampled data such as audio or interleaved tensors. Decoding adds them back.
 * Threat surface: none beyond linear CPU time; the distance comes from a
 * single properties byte, so it cannot be out of range.
 */
import { ParseError } from '../io/parse-error.ts';
import type { ByteFilter } from './bcj.ts';

/** Distance coded by the delta properties byte: value + 1. */
export function decodeDeltaDistance(properties: Uint8Array, offset = 0): number {
  if (properties.length !== 1) {
    throw new ParseError('compression.properties-invalid', offset, `Delta filter properties are ${properties.length} bytes at offset ${offset}; exactly 1 is expected`);
  }
  return properties[0] + 1;
}

/** Decoder for the delta filter with a distance of 1–256 bytes. */
export function createDeltaDecoder(distance: number): ByteFilter {
  if (!Number.isInteger(distance) || distance < 1 || distance > 256) {
    throw new RangeError(`delta distance must be 1–256, got ${distance}`);
  }
  /** The last 256 decoded bytes, indexed by stream position modulo 256. */
  const history = new Uint8Array(256);
  let position = 0;
  let output = new Uint8Array(0);
  return {
    push(input) {
      if (output.length < input.length) output = new Uint8Array(Math.max(input.length, output.length * 2));
      for (let index = 0; index < input.length; index++) {
        const value = (input[index] + history[(position - distance) & 0xff]) & 0xff;
        history[position & 0xff] = value;
        output[index] = value;
        position++;
      }
      return output.subarray(0, input.length);
    },
    finish() {
      return new Uint8Array(0);
    },
  };
}
