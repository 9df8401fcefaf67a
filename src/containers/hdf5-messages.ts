import { ByteCursor } from '../io/cursor.ts';
import { ParseError } from '../io/parse-error.ts';
import { type Hdf5Sizes, UNDEFINED_ADDRESS, readSized } from './hdf5-io.ts';
import type { Hdf5Message } from './hdf5-object-header.ts';

/**
 * Decoders for the HDF5 header messages Preflight reads (format spec section
 * IV.A.2): dataspace, datatype, data layout, link, link info, attribute,
 * attribute info, symbol table, external data files. Each works on the
 * message's own bytes through a ByteCursor, so a field that runs past the
 * message is a ParseError, never a read outside it. Only what a report needs
 * is decoded (class, size, byte order, string encoding); compound, enum and
 * array member lists are summarised, not walked.
 */

/** Dimensions of one dataspace at most: HDF5's own limit is 32 (H5S_MAX_RANK). */
export const MAX_RANK = 32;
/** Nesting of datatypes (vlen of array of vlen …) decoded (CWE-674). */
const MAX_DATATYPE_DEPTH = 8;

export interface Hdf5Dataspace {
  /** null for a null dataspace (no elements); [] for a scalar. */
  shape: number[] | null;
  /** Number of elements (1 for a scalar, 0 for null); null when it does not fit a safe integer. */
  elements: number | null;
}

export const DATATYPE_CLASS = {
  fixedPoint: 0,
  floatingPoint: 1,
  time: 2,
  string: 3,
  bitfield: 4,
  opaque: 5,
  compound: 6,
  reference: 7,
  enumerated: 8,
  variableLength: 9,
  array: 10,
} as const;

export interface Hdf5Datatype {
  class: number;
  /** Bytes of one element in the file. */
  size: number;
  littleEndian: boolean;
  signed: boolean;
  /** Strings: 0 ASCII, 1 UTF-8. */
  charset: number;
  /** Variable-length: true for a string (type 1), false for a sequence. */
  variableString: boolean;
  /** Base type of a variable-length, enum or array type. */
  base: Hdf5Datatype | null;
}

/** A NumPy-style type string for reports (`<f4`, `|S12`, `vlen-str`); h5py shows the same. */
export function describeDatatype(type: Hdf5Datatype): string {
  const order = type.size === 1 ? '|' : type.littleEndian ? '<' : '>';
  switch (type.class) {
    case DATATYPE_CLASS.fixedPoint:
      return `${order}${type.signed ? 'i' : 'u'}${type.size}`;
    case DATATYPE_CLASS.floatingPoint:
      return `${order}f${type.size}`;
    case DATATYPE_CLASS.string:
      return `|S${type.size}`;
    case DATATYPE_CLASS.variableLength:
      return type.variableString ? 'vlen-str' : `vlen-${type.base ? describeDatatype(type.base) : '?'}`;
    case DATATYPE_CLASS.enumerated:
      return type.base ? `enum-${describeDatatype(type.base)}` : 'enum';
    case DATATYPE_CLASS.bitfield:
      return `|V${type.size}`;
    case DATATYPE_CLASS.opaque:
      return `|V${type.size}`;
    case DATATYPE_CLASS.compound:
      return `compound${type.size}`;
    case DATATYPE_CLASS.reference:
      return 'reference';
    case DATATYPE_CLASS.array:
      return type.base ? `array-${describeDatatype(type.base)}` : 'array';
    default:
      return `class${type.class}`;
  }
}

function cursorOf(message: Hdf5Message): ByteCursor {
  return new ByteCursor(message.data, message.offset, 'hdf5.structure.invalid');
}

function invalid(offset: number, message: string): ParseError {
  return new ParseError('hdf5.structure.invalid', offset, message);
}

export function decodeDataspace(cursor: ByteCursor, sizes: Hdf5Sizes): Hdf5Dataspace {
  const at = cursor.position;
  const version = cursor.u8();
  const rank = cursor.u8();
  const flags = cursor.u8();
  let isNull = false;
  if (version === 1) {
    cursor.skip(5);
  } else if (version === 2) {
    const type = cursor.u8();
    if (type > 2) throw invalid(at, `Dataspace at offset ${at} has type ${type}; HDF5 defines 0 to 2`);
    isNull = type === 2;
  } else {
    throw invalid(at, `Dataspace at offset ${at} has version ${version}; HDF5 defines 1 and 2`);
  }
  if (rank > MAX_RANK) throw invalid(at, `Dataspace at offset ${at} has ${rank} dimensions; HDF5 allows at most ${MAX_RANK}`);
  const shape: number[] = [];
  for (let index = 0; index < rank; index += 1) shape.push(readSized(cursor, sizes.lengthSize, 'dimension size'));
  if (flags & 1) for (let index = 0; index < rank; index += 1) cursor.skip(sizes.lengthSize);
  if (isNull) return { shape: null, elements: 0 };
  let elements: number | null = 1;
  for (const dimension of shape) {
    elements = elements === null ? null : elements * dimension;
    if (elements !== null && !Number.isSafeInteger(elements)) elements = null;
  }
  return { shape, elements };
}

export function decodeDatatype(cursor: ByteCursor, depth = 0): Hdf5Datatype {
  const at = cursor.position;
  if (depth > MAX_DATATYPE_DEPTH) throw invalid(at, `Datatype at offset ${at} nests more than ${MAX_DATATYPE_DEPTH} levels`);
  const classAndVersion = cursor.u8();
  const typeClass = classAndVersion & 0x0f;
  const version = classAndVersion >> 4;
  if (version < 1 || version > 5) throw invalid(at, `Datatype at offset ${at} has version ${version}; HDF5 defines 1 to 5`);
  const bits0 = cursor.u8();
  const bits1 = cursor.u8();
  cursor.u8();
  const size = cursor.u32le();
  const type: Hdf5Datatype = { class: typeClass, size, littleEndian: true, signed: false, charset: 0, variableString: false, base: null };
  switch (typeClass) {
    case DATATYPE_CLASS.fixedPoint:
    case DATATYPE_CLASS.bitfield:
      type.littleEndian = (bits0 & 1) === 0;
      type.signed = (bits0 & 0x08) !== 0;
      cursor.skip(4);
      break;
    case DATATYPE_CLASS.floatingPoint:
      type.littleEndian = (bits0 & 1) === 0 && (bits0 & 0x40) === 0;
      type.signed = true;
      cursor.skip(12);
      break;
    case DATATYPE_CLASS.string:
      type.charset = bits0 >> 4;
      break;
    case DATATYPE_CLASS.variableLength:
      type.variableString = (bits0 & 0x0f) === 1;
      type.charset = bits1 & 0x0f;
      type.base = decodeDatatype(cursor, depth + 1);
      break;
    case DATATYPE_CLASS.enumerated:
      type.base = decodeDatatype(cursor, depth + 1);
      break;
    case DATATYPE_CLASS.time:
    case DATATYPE_CLASS.opaque:
    case DATATYPE_CLASS.compound:
    case DATATYPE_CLASS.reference:
    case DATATYPE_CLASS.array:
      // Their member descriptions are not needed for a report; the enclosing message's size bounds them.
      break;
    default:
      throw invalid(at, `Datatype at offset ${at} has class ${typeClass}; HDF5 defines 0 to 10`);
  }
  if (size === 0 && typeClass !== DATATYPE_CLASS.variableLength) throw invalid(at, `Datatype at offset ${at} has size 0`);
  return type;
}

export type Hdf5Layout =
  | { kind: 'compact'; offset: number; size: number }
  | { kind: 'contiguous'; address: number; size: number | null }
  | { kind: 'chunked'; address: number; chunkShape: number[]; version: number }
  | { kind: 'virtual'; address: number };

export function decodeLayout(message: Hdf5Message, sizes: Hdf5Sizes): Hdf5Layout {
  const cursor = cursorOf(message);
  const at = cursor.position;
  const version = cursor.u8();
  if (version === 1 || version === 2) {
    const rank = cursor.u8();
    const layoutClass = cursor.u8();
    cursor.skip(5);
    if (rank > MAX_RANK + 1) throw invalid(at, `Layout at offset ${at} has ${rank} dimensions`);
    const address = layoutClass === 0 ? UNDEFINED_ADDRESS : readSized(cursor, sizes.offsetSize, 'layout address', true);
    const dimensions: number[] = [];
    for (let index = 0; index < rank; index += 1) dimensions.push(cursor.u32le());
    if (layoutClass === 0) {
      const size = cursor.u32le();
      const offset = cursor.position;
      cursor.skip(size);
      return { kind: 'compact', offset, size };
    }
    if (layoutClass === 1) return { kind: 'contiguous', address, size: null };
    if (layoutClass === 2) return { kind: 'chunked', address, chunkShape: dimensions.slice(0, -1), version };
    throw invalid(at, `Layout at offset ${at} has class ${layoutClass}; version ${version} defines 0 to 2`);
  }
  if (version !== 3 && version !== 4) throw invalid(at, `Layout at offset ${at} has version ${version}; HDF5 defines 1 to 4`);
  const layoutClass = cursor.u8();
  switch (layoutClass) {
    case 0: {
      const size = cursor.u16le();
      const offset = cursor.position;
      cursor.skip(size);
      return { kind: 'compact', offset, size };
    }
    case 1: {
      const address = readSized(cursor, sizes.offsetSize, 'contiguous data address', true);
      const size = readSized(cursor, sizes.lengthSize, 'contiguous data size');
      return { kind: 'contiguous', address, size };
    }
    case 2: {
      if (version === 3) {
        const rank = cursor.u8();
        if (rank > MAX_RANK + 1) throw invalid(at, `Layout at offset ${at} has ${rank} dimensions`);
        const address = readSized(cursor, sizes.offsetSize, 'chunk index address', true);
        const dimensions: number[] = [];
        for (let index = 0; index < rank; index += 1) dimensions.push(cursor.u32le());
        return { kind: 'chunked', address, chunkShape: dimensions.slice(0, -1), version };
      }
      cursor.u8(); // flags
      const rank = cursor.u8();
      const encodedLength = cursor.u8();
      if (rank > MAX_RANK + 1 || encodedLength < 1 || encodedLength > 8) throw invalid(at, `Layout at offset ${at} has ${rank} dimensions of ${encodedLength} bytes`);
      const dimensions: number[] = [];
      for (let index = 0; index < rank; index += 1) dimensions.push(readSized(cursor, encodedLength, 'chunk dimension'));
      // The chunk index type and its parameters follow, then the index address; the address is the last field.
      const address = readSized(new ByteCursor(message.data.subarray(message.data.length - sizes.offsetSize), message.offset + message.data.length - sizes.offsetSize, 'hdf5.structure.invalid'), sizes.offsetSize, 'chunk index address', true);
      return { kind: 'chunked', address, chunkShape: dimensions.slice(0, -1), version };
    }
    case 3: {
      const address = readSized(cursor, sizes.offsetSize, 'virtual dataset heap address', true);
      return { kind: 'virtual', address };
    }
    default:
      throw invalid(at, `Layout at offset ${at} has class ${layoutClass}; HDF5 defines 0 to 3`);
  }
}

export type Hdf5LinkTarget =
  | { kind: 'hard'; address: number }
  | { kind: 'soft'; path: string }
  | { kind: 'external'; file: string; path: string }
  | { kind: 'user'; type: number };

export interface Hdf5LinkMessage {
  name: string;
  target: Hdf5LinkTarget;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** A link message (in an object header, or a record of a dense group's fractal heap). */
export function decodeLink(cursor: ByteCursor, sizes: Hdf5Sizes): Hdf5LinkMessage {
  const at = cursor.position;
  const version = cursor.u8();
  if (version !== 1) throw invalid(at, `Link at offset ${at} has version ${version}; HDF5 defines 1`);
  const flags = cursor.u8();
  const linkType = flags & 0x08 ? cursor.u8() : 0;
  if (flags & 0x04) cursor.skip(8);
  if (flags & 0x10) cursor.u8();
  const nameLength = readSized(cursor, 1 << (flags & 0x03), 'link name length');
  if (nameLength === 0) throw invalid(at, `Link at offset ${at} has an empty name`);
  const name = utf8.decode(cursor.bytesView(nameLength));
  if (linkType === 0) return { name, target: { kind: 'hard', address: readSized(cursor, sizes.offsetSize, 'link address', true) } };
  if (linkType === 1) {
    const length = cursor.u16le();
    return { name, target: { kind: 'soft', path: utf8.decode(cursor.bytesView(length)) } };
  }
  if (linkType === 64) {
    const length = cursor.u16le();
    const value = cursor.bytesView(length);
    // One version/flags byte, then two NUL-terminated strings: the file and the object path in it.
    const parts = utf8.decode(value.subarray(1)).split('\0');
    return { name, target: { kind: 'external', file: parts[0] ?? '', path: parts[1] ?? '' } };
  }
  return { name, target: { kind: 'user', type: linkType } };
}

export function decodeLinkMessage(message: Hdf5Message, sizes: Hdf5Sizes): Hdf5LinkMessage {
  return decodeLink(cursorOf(message), sizes);
}

/** Link Info and Attribute Info: where a group's dense links or an object's dense attributes live. */
export interface Hdf5DenseStorage {
  heapAddress: number;
  nameIndexAddress: number;
}

export function decodeLinkInfo(message: Hdf5Message, sizes: Hdf5Sizes): Hdf5DenseStorage {
  const cursor = cursorOf(message);
  const at = cursor.position;
  const version = cursor.u8();
  if (version !== 0) throw invalid(at, `Link info at offset ${at} has version ${version}; HDF5 defines 0`);
  const flags = cursor.u8();
  if (flags & 1) cursor.skip(8);
  return {
    heapAddress: readSized(cursor, sizes.offsetSize, 'fractal heap address', true),
    nameIndexAddress: readSized(cursor, sizes.offsetSize, 'name index address', true),
  };
}

export function decodeAttributeInfo(message: Hdf5Message, sizes: Hdf5Sizes): Hdf5DenseStorage {
  const cursor = cursorOf(message);
  const at = cursor.position;
  const version = cursor.u8();
  if (version !== 0) throw invalid(at, `Attribute info at offset ${at} has version ${version}; HDF5 defines 0`);
  const flags = cursor.u8();
  if (flags & 1) cursor.skip(2);
  return {
    heapAddress: readSized(cursor, sizes.offsetSize, 'fractal heap address', true),
    nameIndexAddress: readSized(cursor, sizes.offsetSize, 'name index address', true),
  };
}

export interface Hdf5SymbolTableMessage {
  btreeAddress: number;
  heapAddress: number;
}

export function decodeSymbolTable(message: Hdf5Message, sizes: Hdf5Sizes): Hdf5SymbolTableMessage {
  const cursor = cursorOf(message);
  return {
    btreeAddress: readSized(cursor, sizes.offsetSize, 'symbol table B-tree address', true),
    heapAddress: readSized(cursor, sizes.offsetSize, 'symbol table heap address', true),
  };
}

/** An attribute message before its value is decoded: the value's bytes stay a view. */
export interface Hdf5RawAttribute {
  name: string;
  datatype: Hdf5Datatype;
  dataspace: Hdf5Dataspace;
  /** The value bytes: element count × datatype size. */
  data: Uint8Array;
  /** Absolute offset of the value bytes (or of the attribute, for one read from a heap). */
  dataOffset: number;
}

export function decodeAttribute(cursor: ByteCursor, sizes: Hdf5Sizes): Hdf5RawAttribute {
  const at = cursor.position;
  const version = cursor.u8();
  if (version < 1 || version > 3) throw invalid(at, `Attribute at offset ${at} has version ${version}; HDF5 defines 1 to 3`);
  const flags = cursor.u8();
  if (version >= 2 && flags & 0x03) {
    throw new ParseError('hdf5.unsupported', at, `Attribute at offset ${at} uses a shared datatype or dataspace, which Preflight does not follow`);
  }
  const nameSize = cursor.u16le();
  const datatypeSize = cursor.u16le();
  const dataspaceSize = cursor.u16le();
  if (version === 3) cursor.u8(); // name encoding
  const pad = (size: number) => (version === 1 ? Math.ceil(size / 8) * 8 : size);
  const nameBytes = cursor.bytesView(pad(nameSize));
  const nul = nameBytes.indexOf(0);
  const name = utf8.decode(nameBytes.subarray(0, nul >= 0 && nul < nameSize ? nul : nameSize));
  const typeBytes = cursor.bytesView(pad(datatypeSize));
  const datatype = decodeDatatype(new ByteCursor(typeBytes.subarray(0, datatypeSize), cursor.position - typeBytes.length, 'hdf5.structure.invalid'));
  const spaceBytes = cursor.bytesView(pad(dataspaceSize));
  const dataspace = decodeDataspace(new ByteCursor(spaceBytes.subarray(0, dataspaceSize), cursor.position - spaceBytes.length, 'hdf5.structure.invalid'), sizes);
  const elementSize = datatype.class === DATATYPE_CLASS.variableLength ? 4 + sizes.offsetSize + 4 : datatype.size;
  const byteLength = dataspace.elements === null ? Number.POSITIVE_INFINITY : dataspace.elements * elementSize;
  if (byteLength > cursor.remaining) {
    throw invalid(at, `Attribute ${JSON.stringify(name)} at offset ${at} declares ${dataspace.elements ?? 'too many'} elements of ${elementSize} bytes but its message holds ${cursor.remaining} value bytes`);
  }
  const dataOffset = cursor.position;
  return { name, datatype, dataspace, data: cursor.bytesView(byteLength), dataOffset };
}

export function decodeAttributeMessage(message: Hdf5Message, sizes: Hdf5Sizes): Hdf5RawAttribute {
  return decodeAttribute(cursorOf(message), sizes);
}

export interface Hdf5ExternalFile {
  /** Offset of the name in the message's local heap. */
  nameOffset: number;
  fileOffset: number;
  size: number;
}

export interface Hdf5ExternalFiles {
  heapAddress: number;
  files: Hdf5ExternalFile[];
}

/** External Data Files: the dataset's bytes live in files named in a local heap. */
export function decodeExternalFiles(message: Hdf5Message, sizes: Hdf5Sizes, maxSlots: number): Hdf5ExternalFiles {
  const cursor = cursorOf(message);
  const at = cursor.position;
  const version = cursor.u8();
  if (version !== 1) throw invalid(at, `External data files at offset ${at} have version ${version}; HDF5 defines 1`);
  cursor.skip(3);
  cursor.u16le(); // allocated slots
  const used = cursor.u16le();
  const heapAddress = readSized(cursor, sizes.offsetSize, 'external files heap address', true);
  const files: Hdf5ExternalFile[] = [];
  for (let index = 0; index < Math.min(used, maxSlots); index += 1) {
    files.push({
      nameOffset: readSized(cursor, sizes.lengthSize, 'external file name offset'),
      fileOffset: readSized(cursor, sizes.lengthSize, 'external file offset'),
      size: readSized(cursor, sizes.lengthSize, 'external file size', true),
    });
  }
  return { heapAddress, files };
}

export function messageCursor(message: Hdf5Message): ByteCursor {
  return cursorOf(message);
}
