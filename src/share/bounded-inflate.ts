/**
 * Raw DEFLATE (RFC 1951) decoding with a hard cap on the output, for data
 * that came from a link. A few hundred bytes of deflate can expand to
 * megabytes (about 1032:1 at best), so the input goes into fflate's streaming
 * decoder in small slices and decoding stops as soon as the output passes the
 * cap: a bomb costs at most one slice's expansion past the limit.
 */
import { Inflate } from 'fflate';

/** One slice can expand to at most ~1 MiB (1024 × 1032 bytes), so the overshoot past the cap stays small (CWE-409). */
const INPUT_SLICE_BYTES = 1024;

export type InflatedBytes = { ok: true; bytes: Uint8Array } | { ok: false; message: string };

/** Thrown from the data callback to stop fflate mid-stream; never leaves this module. */
class OutputLimitReached extends Error {}

/**
 * Inflates `compressed`, refusing a stream whose output would exceed
 * `maxOutputBytes`, a corrupt stream, and a stream that ends before its last
 * block. Never throws.
 */
export function inflateBounded(compressed: Uint8Array, maxOutputBytes: number): InflatedBytes {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let finished = false;
  const inflater = new Inflate((chunk, final) => {
    total += chunk.length;
    if (total > maxOutputBytes) throw new OutputLimitReached();
    chunks.push(chunk);
    if (final) finished = true;
  });
  try {
    if (compressed.length === 0) return { ok: false, message: 'no compressed data' };
    for (let start = 0; start < compressed.length; start += INPUT_SLICE_BYTES) {
      const end = Math.min(compressed.length, start + INPUT_SLICE_BYTES);
      inflater.push(compressed.subarray(start, end), end === compressed.length);
    }
  } catch (error) {
    if (error instanceof OutputLimitReached) {
      return { ok: false, message: `the data inflates to more than ${maxOutputBytes} bytes (the limit); it was not read further` };
    }
    return { ok: false, message: `the data is not a valid DEFLATE stream (${error instanceof Error ? error.message : String(error)})` };
  }
  if (!finished) return { ok: false, message: 'the DEFLATE stream ends before its last block' };
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return { ok: true, bytes };
}
