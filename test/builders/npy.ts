/**
 * Writes .npy files byte by byte: magic, version, header length, header text
 * and data, each open to a lie (wrong length field, unpadded header, header
 * text that is not a dict, data shorter or longer than the shape says).
 */

export interface NpyBuildOptions {
  /** Header text as written (default: a valid dict from descr/shape/fortranOrder). */
  header?: string;
  descr?: string;
  shape?: number[];
  fortranOrder?: boolean;
  /** [major, minor]; default [1, 0]. */
  version?: [number, number];
  /** Header length field, instead of the real length. */
  declaredHeaderLength?: number;
  /** Bytes after the header (array data, or a pickle for object arrays). */
  data?: Uint8Array;
  /** Pad the header with spaces and a newline to a multiple of 64 (as NumPy does); default true. */
  pad?: boolean;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

/** The header dict NumPy writes for these values. */
export function npyHeaderText(descr: string, shape: number[], fortranOrder = false): string {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  return `{'descr': '${descr}', 'fortran_order': ${fortranOrder ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
}

export function buildNpy(options: NpyBuildOptions = {}): Uint8Array {
  const [major, minor] = options.version ?? [1, 0];
  const lengthBytes = major === 1 ? 2 : 4;
  let header = options.header ?? npyHeaderText(options.descr ?? '<f4', options.shape ?? [2], options.fortranOrder ?? false);
  if (options.pad ?? true) {
    const unpadded = MAGIC.length + 2 + lengthBytes + header.length + 1;
    header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  }
  const headerBytes = major === 3 ? new TextEncoder().encode(header) : Uint8Array.from(header, (char) => char.charCodeAt(0) & 0xff);
  const data = options.data ?? new Uint8Array(0);
  const out = new Uint8Array(MAGIC.length + 2 + lengthBytes + headerBytes.length + data.length);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = minor;
  const view = new DataView(out.buffer);
  const declared = options.declaredHeaderLength ?? headerBytes.length;
  if (lengthBytes === 2) view.setUint16(8, declared, true);
  else view.setUint32(8, declared, true);
  out.set(headerBytes, 8 + lengthBytes);
  out.set(data, 8 + lengthBytes + headerBytes.length);
  return out;
}
