/**
 * Strict base64 for Sigstore bundles. Protobuf's JSON mapping writes standard
 * base64 with padding and accepts the URL-safe alphabet and missing padding on
 * input, so both are read; anything else is an error message, not an exception.
 */

/** Decodes `text`, refusing it when it would decode to more than `maxBytes` (checked before decoding). */
export function decodeBase64(text: string, maxBytes: number): { ok: true; bytes: Uint8Array } | { ok: false; message: string } {
  const decodedUpperBound = Math.floor((text.length * 3) / 4);
  if (decodedUpperBound > maxBytes) {
    return { ok: false, message: `${text.length} characters of base64 decode to more than the ${maxBytes}-byte limit` };
  }
  const standard = text.replace(/-/g, '+').replace(/_/g, '/');
  const body = standard.replace(/={1,2}$/, '');
  const badIndex = body.search(/[^A-Za-z0-9+/]/);
  if (badIndex >= 0) {
    return { ok: false, message: `character ${JSON.stringify(standard.charAt(badIndex))} at position ${badIndex} is not base64` };
  }
  if (body.length % 4 === 1 || (body.length !== standard.length && standard.length % 4 !== 0)) {
    return { ok: false, message: `length ${text.length} is not a whole number of base64 groups` };
  }
  const padded = body.padEnd(body.length + ((4 - (body.length % 4)) % 4), '=');
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return { ok: true, bytes };
}
