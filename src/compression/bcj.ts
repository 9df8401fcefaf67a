/**
 * The x86 BCJ filter (7z method 03 03 01 03, xz filter 0x04), decoding side.
 * Spec: liblzma's simple/x86.c and the LZMA SDK's Bra86.c (no prose spec).
 *
 * Executables compress better when the 32-bit relative targets of CALL
 * (E8) and JMP (E9) are made absolute, since calls to one function then
 * repeat the same bytes. The encoder converted relative → absolute; this
 * undoes it. A conversion happens only when the operand's top byte is 00 or
 * FF (a plausible near target), and a small bit mask of recent E8/E9 bytes
 * keeps it from converting bytes that are operands of a previous
 * instruction; both sides follow the same rules, so decoding is exact.
 *
 * Threat surface: none beyond CPU time, which is linear: the filter changes
 * bytes in place and never grows them. It holds back at most 4 bytes (an
 * opcode whose operand has not arrived yet), given back unchanged by
 * `finish()`, as the reference does with a stream's last bytes.
 */

/** A streaming byte filter: `push` returns the decoded bytes ready so far (a view valid until the next call). */
export interface ByteFilter {
  push(input: Uint8Array): Uint8Array;
  /** The end of the stream: the bytes held back, decoded as far as they can be. */
  finish(): Uint8Array;
}

/** Which states of the recent-opcode mask allow a conversion (indexed by (mask >> 1) & 7). */
const MASK_ALLOWS_CONVERSION = [true, true, true, false, true, false, false, false];

/** Which operand byte decides whether to convert again (indexed by mask >> 1). */
const MASK_TO_BYTE_INDEX = [0, 1, 2, 2, 3, 3, 3, 3];

/** Bytes an E8/E9 instruction spans: the opcode and a 32-bit operand. */
const INSTRUCTION_BYTES = 5;

const isNearTargetByte = (byte: number) => byte === 0x00 || byte === 0xff;

/** Decoder for x86 BCJ; `startOffset` is the stream position of the first byte (7z and xz start at 0). */
export function createBcjX86Decoder(startOffset = 0): ByteFilter {
  /** Bytes not yet decoded because their instruction may continue in the next push. */
  let held = new Uint8Array(0);
  let buffer = new Uint8Array(0);
  /** Stream position of `held[0]` (or of the next input byte). */
  let streamPosition = startOffset;
  /** Bit i set: the byte i + 1 positions back was an E8/E9 that was not converted (bit 4 also tracks its operand top byte). */
  let recentMask = 0;
  /** Stream position of the last E8/E9 seen; far enough back that the first one starts with a clear mask. */
  let lastOpcodePosition = startOffset - INSTRUCTION_BYTES;
  let finished = false;

  /** Decode `bytes[0, length)` in place; returns how many bytes are final (the rest wait for more input). */
  function decodeInPlace(bytes: Uint8Array, length: number): number {
    if (length < INSTRUCTION_BYTES) return 0;
    const limit = length - INSTRUCTION_BYTES;
    let index = 0;
    while (index <= limit) {
      const opcode = bytes[index];
      if (opcode !== 0xe8 && opcode !== 0xe9) {
        index++;
        continue;
      }
      const position = streamPosition + index;
      const sinceLast = position - lastOpcodePosition;
      lastOpcodePosition = position;
      if (sinceLast > INSTRUCTION_BYTES) {
        recentMask = 0;
      } else {
        for (let step = 0; step < sinceLast; step++) recentMask = (recentMask & 0x77) << 1;
      }
      let top = bytes[index + 4];
      if (isNearTargetByte(top) && MASK_ALLOWS_CONVERSION[(recentMask >>> 1) & 7] && recentMask >>> 1 < 0x10) {
        let operand = (top << 24) | (bytes[index + 3] << 16) | (bytes[index + 2] << 8) | bytes[index + 1];
        let target: number;
        for (;;) {
          target = (operand - (position + INSTRUCTION_BYTES)) | 0;
          if (recentMask === 0) break;
          const byteIndex = MASK_TO_BYTE_INDEX[recentMask >>> 1];
          top = (target >>> (24 - byteIndex * 8)) & 0xff;
          if (!isNearTargetByte(top)) break;
          operand = target ^ (0xffffffff >>> (byteIndex * 8));
        }
        // The top byte becomes 00 or FF again, following bit 24 of the target (sign extension of a 25-bit offset).
        bytes[index + 4] = (target >>> 24) & 1 ? 0xff : 0x00;
        bytes[index + 3] = (target >>> 16) & 0xff;
        bytes[index + 2] = (target >>> 8) & 0xff;
        bytes[index + 1] = target & 0xff;
        index += INSTRUCTION_BYTES;
        recentMask = 0;
      } else {
        index++;
        recentMask |= 1;
        if (isNearTargetByte(top)) recentMask |= 0x10;
      }
    }
    return index;
  }

  return {
    push(input) {
      if (finished) throw new Error('BCJ decoder: push called after finish');
      const length = held.length + input.length;
      if (buffer.length < length) buffer = new Uint8Array(Math.max(length, buffer.length * 2));
      buffer.set(held, 0);
      buffer.set(input, held.length);
      const ready = decodeInPlace(buffer, length);
      held = buffer.slice(ready, length);
      streamPosition += ready;
      return buffer.subarray(0, ready);
    },
    finish() {
      if (finished) throw new Error('BCJ decoder: finish called twice');
      finished = true;
      // Fewer than five bytes cannot hold an instruction: they pass as they are.
      return held;
    },
  };
}
