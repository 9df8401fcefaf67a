/**
 * base64url (RFC 4648 §5) without padding: the alphabet that survives URLs,
 * chat apps and e-mail unchanged (`-` and `_` instead of `+` and `/`, no `=`).
 * Decoding is strict and bounded, because a shared link is hostile input.
 */

const CHUNK_BYTES = 0x8000;

/** Bytes as base64url text, without padding. */
export function encodeBase64Url(bytes: Uint8Array): string {
  let binary = '';
  // String.fromCharCode takes its arguments on the stack: feed it slices, not the whole array.
  for (let start = 0; start < bytes.length; start += CHUNK_BYTES) {
    binary += String.fromCharCode(...bytes.subarray(start, start + CHUNK_BYTES));
  }
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export type DecodedBase64 = { ok: true; bytes: Uint8Array } | { ok: false; message: string };

/**
 * base64url text as bytes. Refuses, with a message naming the position, any
 * character outside the URL-safe alphabet (so `+`, `/` and `=` too), a length
 * that is not a whole number of groups, and text that would decode to more
 * than `maxBytes` (checked before anything is decoded).
 */
export function decodeBase64Url(text: string, maxBytes: number): DecodedBase64 {
  const decodedLength = Math.floor((text.length * 3) / 4);
  if (decodedLength > maxBytes) {
    return { ok: false, message: `${text.length} characters of base64url decode to ${decodedLength} bytes, over the ${maxBytes}-byte limit` };
  }
  const bad = text.search(/[^A-Za-z0-9_-]/);
  if (bad >= 0) {
    const code = text.charCodeAt(bad).toString(16).toUpperCase().padStart(4, '0');
    return { ok: false, message: `character U+${code} at position ${bad} is not base64url` };
  }
  if (text.length % 4 === 1) return { ok: false, message: `length ${text.length} is not a whole number of base64url groups` };
  const standard = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(standard.padEnd(standard.length + ((4 - (standard.length % 4)) % 4), '='));
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return { ok: true, bytes };
}
