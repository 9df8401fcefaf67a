/**
 * Just enough DER (ITU-T X.690) to walk an X.509 certificate: tag, definite
 * length, children, object identifiers and strings.
 *
 * Threat surface: every length comes from the input. Lengths are read in at
 * most four bytes, checked against the enclosing element before use, the
 * indefinite form (not DER) and multi-byte tags are refused, and children are
 * counted. Errors are DerError with the offset; the certificate reader catches
 * them, so nothing here reaches a caller as an exception.
 */

/** Longest length field accepted: four bytes already allow 4 GiB, far past any certificate (CWE-400). */
const MAX_LENGTH_BYTES = 4;
/** Children read from one constructed element: extensions and names are a handful in practice (CWE-400). */
export const MAX_DER_CHILDREN = 256;
/** Longest object identifier, in bytes: real ones are under 20 (CWE-400). */
const MAX_OID_BYTES = 64;

export const DER_TAG = {
  boolean: 0x01,
  integer: 0x02,
  octetString: 0x04,
  objectIdentifier: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  sequence: 0x30,
  set: 0x31,
} as const;

export class DerError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
    this.name = 'DerError';
  }
}

/** One TLV: `bytes.subarray(contentStart, contentEnd)` is its content. */
export interface DerElement {
  tag: number;
  offset: number;
  contentStart: number;
  contentEnd: number;
}

/** Reads the element at `offset`, which must end by `end`. */
export function readDerElement(bytes: Uint8Array, offset: number, end: number): DerElement {
  if (offset + 2 > end) throw new DerError(offset, `element at offset ${offset} needs 2 bytes but only ${end - offset} remain`);
  const tag = bytes[offset];
  if ((tag & 0x1f) === 0x1f) throw new DerError(offset, `multi-byte tag at offset ${offset} is not used in certificates`);
  const first = bytes[offset + 1];
  let length: number;
  let contentStart: number;
  if (first < 0x80) {
    length = first;
    contentStart = offset + 2;
  } else {
    const lengthBytes = first & 0x7f;
    if (lengthBytes === 0) throw new DerError(offset, `indefinite length at offset ${offset} is not DER`);
    if (lengthBytes > MAX_LENGTH_BYTES) {
      throw new DerError(offset, `length field of ${lengthBytes} bytes at offset ${offset} exceeds ${MAX_LENGTH_BYTES}`);
    }
    if (offset + 2 + lengthBytes > end) throw new DerError(offset, `length field at offset ${offset} runs past the end`);
    length = 0;
    for (let index = 0; index < lengthBytes; index++) length = length * 256 + bytes[offset + 2 + index];
    contentStart = offset + 2 + lengthBytes;
  }
  const contentEnd = contentStart + length;
  if (contentEnd > end) {
    throw new DerError(offset, `element at offset ${offset} declares ${length} bytes but only ${end - contentStart} remain`);
  }
  return { tag, offset, contentStart, contentEnd };
}

/** Reads the element at `offset` and checks its tag. */
export function expectDerElement(bytes: Uint8Array, offset: number, end: number, tag: number, what: string): DerElement {
  const element = readDerElement(bytes, offset, end);
  if (element.tag !== tag) {
    throw new DerError(offset, `${what} at offset ${offset} has tag 0x${hex2(element.tag)}, expected 0x${hex2(tag)}`);
  }
  return element;
}

/** The elements inside a constructed element, at most MAX_DER_CHILDREN. */
export function derChildren(bytes: Uint8Array, parent: DerElement): DerElement[] {
  const children: DerElement[] = [];
  let offset = parent.contentStart;
  while (offset < parent.contentEnd) {
    if (children.length >= MAX_DER_CHILDREN) {
      throw new DerError(offset, `more than ${MAX_DER_CHILDREN} elements inside the element at offset ${parent.offset}`);
    }
    const child = readDerElement(bytes, offset, parent.contentEnd);
    children.push(child);
    offset = child.contentEnd;
  }
  return children;
}

/** Dotted form of an OBJECT IDENTIFIER's content, e.g. `2.5.29.17`. */
export function decodeDerOid(bytes: Uint8Array, element: DerElement): string {
  const length = element.contentEnd - element.contentStart;
  if (length === 0 || length > MAX_OID_BYTES) {
    throw new DerError(element.offset, `object identifier of ${length} bytes at offset ${element.offset} is outside 1..${MAX_OID_BYTES}`);
  }
  const arcs: number[] = [];
  let value = 0;
  for (let index = element.contentStart; index < element.contentEnd; index++) {
    const byte = bytes[index];
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER) throw new DerError(element.offset, `object identifier arc at offset ${index} is too large`);
    if (byte & 0x80) continue;
    if (arcs.length === 0) arcs.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
    else arcs.push(value);
    value = 0;
  }
  if (bytes[element.contentEnd - 1] & 0x80) throw new DerError(element.offset, `object identifier at offset ${element.offset} ends mid-arc`);
  return arcs.join('.');
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Text of a string element (UTF8String, IA5String, PrintableString, or raw bytes read as UTF-8). */
export function decodeDerText(bytes: Uint8Array, element: DerElement): string {
  return utf8.decode(bytes.subarray(element.contentStart, element.contentEnd));
}

function hex2(value: number): string {
  return value.toString(16).padStart(2, '0');
}
