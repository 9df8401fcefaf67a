import type { ByteSource } from '../io/byte-source.ts';
import { ByteCursor } from '../io/cursor.ts';
import { ParseError } from '../io/parse-error.ts';
import { UNDEFINED_ADDRESS, readSized } from './hdf5-io.ts';

/**
 * The HDF5 superblock (format spec section II.A): where the file starts,
 * the sizes of addresses and lengths, and the root group. Versions 0 and 1
 * (HDF5 1.6 layout, what h5py writes by default and Keras 2 files have)
 * point at the root through a symbol table entry; versions 2 and 3
 * (libver "v108"/"latest") point at the root object header directly.
 */

/** The HDF5 signature: \x89 H D F \r \n \x1a \n. */
export const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a] as const;

/** Highest offset searched for the signature: HDF5 allows a user block of any power of two from 512 (CWE-400). */
export const MAX_SUPERBLOCK_SEARCH_OFFSET = 1 << 30;

/** Superblock bytes read: version 0/1 with 8-byte fields take 96 bytes plus the root entry. */
const SUPERBLOCK_READ_BYTES = 256;

export interface Hdf5Superblock {
  /** Absolute offset of the signature (0 unless there is a user block). */
  offset: number;
  version: number;
  offsetSize: number;
  lengthSize: number;
  /** Absolute offset that file addresses are relative to. */
  baseAddress: number;
  /** End-of-file address the superblock declares (relative to the base address). */
  endOfFileAddress: number;
  /** Address of the root group's object header. */
  rootObjectAddress: number;
  /** Versions 0 and 1: the root symbol table entry's cached B-tree and heap, when cached. */
  rootSymbolTable: { btreeAddress: number; heapAddress: number } | null;
  /** Versions 2 and 3: the superblock extension's object header, or undefined. */
  extensionAddress: number;
}

/** Offsets the signature may sit at: 0, 512, 1024, 2048 … within the file and the search limit. */
export function signatureOffsets(size: number): number[] {
  const offsets = [0];
  for (let offset = 512; offset < Math.min(size, MAX_SUPERBLOCK_SEARCH_OFFSET); offset *= 2) offsets.push(offset);
  return offsets;
}

/** True when `bytes` at `at` are the HDF5 signature. */
export function hasSignatureAt(bytes: Uint8Array, at: number): boolean {
  return bytes.length >= at + HDF5_SIGNATURE.length && HDF5_SIGNATURE.every((byte, index) => bytes[at + index] === byte);
}

/** Finds and decodes the superblock; a ParseError when there is none or it is invalid. */
export async function readSuperblock(source: ByteSource): Promise<Hdf5Superblock> {
  for (const offset of signatureOffsets(source.size)) {
    const probe = await source.read(offset, HDF5_SIGNATURE.length);
    if (hasSignatureAt(probe, 0)) {
      const bytes = await source.read(offset, SUPERBLOCK_READ_BYTES);
      return decodeSuperblock(new ByteCursor(bytes, offset, 'hdf5.truncated'), offset, source.size);
    }
  }
  throw new ParseError('hdf5.superblock.invalid', 0, 'No HDF5 signature at offset 0 or at any power of two from 512');
}

function decodeSuperblock(cursor: ByteCursor, offset: number, fileSize: number): Hdf5Superblock {
  cursor.skip(HDF5_SIGNATURE.length);
  const version = cursor.u8();
  const invalid = (message: string) => new ParseError('hdf5.superblock.invalid', offset, message);
  if (version > 3) throw invalid(`Superblock version ${version} at offset ${offset} is not one HDF5 defines (0 to 3)`);

  let offsetSize: number;
  let lengthSize: number;
  let rootSymbolTable: Hdf5Superblock['rootSymbolTable'] = null;
  let rootObjectAddress: number;
  let baseAddress: number;
  let endOfFileAddress: number;
  let extensionAddress = UNDEFINED_ADDRESS;
  if (version <= 1) {
    const freeSpaceVersion = cursor.u8();
    const rootTableVersion = cursor.u8();
    cursor.skip(1);
    const sharedHeaderVersion = cursor.u8();
    offsetSize = cursor.u8();
    lengthSize = cursor.u8();
    checkFieldSizes(offsetSize, lengthSize, offset);
    if (freeSpaceVersion !== 0 || rootTableVersion !== 0 || sharedHeaderVersion !== 0) {
      throw invalid(`Superblock ${version} at offset ${offset} has sub-versions ${freeSpaceVersion}/${rootTableVersion}/${sharedHeaderVersion}; HDF5 defines only 0`);
    }
    cursor.skip(1);
    cursor.skip(4); // group leaf and internal node K: the B-tree nodes say how many entries they hold
    cursor.skip(4); // file consistency flags
    if (version === 1) cursor.skip(4); // indexed storage K and reserved
    baseAddress = readSized(cursor, offsetSize, 'base address');
    cursor.skip(offsetSize); // free-space info address (reserved)
    endOfFileAddress = readSized(cursor, offsetSize, 'end of file address');
    cursor.skip(offsetSize); // driver information block
    // The root group's symbol table entry.
    cursor.skip(offsetSize); // link name offset
    rootObjectAddress = readSized(cursor, offsetSize, 'root object header address', true);
    const cacheType = cursor.u32le();
    cursor.skip(4);
    const scratch = cursor.bytesView(16);
    if (cacheType === 1) {
      const scratchCursor = new ByteCursor(scratch, cursor.position - 16, 'hdf5.truncated');
      rootSymbolTable = {
        btreeAddress: readSized(scratchCursor, offsetSize, 'root B-tree address', true),
        heapAddress: readSized(scratchCursor, offsetSize, 'root heap address', true),
      };
    }
  } else {
    offsetSize = cursor.u8();
    lengthSize = cursor.u8();
    checkFieldSizes(offsetSize, lengthSize, offset);
    cursor.skip(1); // file consistency flags
    baseAddress = readSized(cursor, offsetSize, 'base address');
    extensionAddress = readSized(cursor, offsetSize, 'superblock extension address', true);
    endOfFileAddress = readSized(cursor, offsetSize, 'end of file address');
    rootObjectAddress = readSized(cursor, offsetSize, 'root object header address', true);
    cursor.skip(4); // checksum: a wrong one makes HDF5 refuse the file, which is no risk to the loader
  }
  // h5py writes the base address as the superblock's own offset; addresses are relative to it.
  const absoluteBase = baseAddress;
  if (absoluteBase > fileSize) throw invalid(`Base address ${baseAddress} lies past the end of the ${fileSize}-byte file`);
  if (rootObjectAddress === UNDEFINED_ADDRESS) throw invalid(`Superblock at offset ${offset} has no root group`);
  return { offset, version, offsetSize, lengthSize, baseAddress: absoluteBase, endOfFileAddress, rootObjectAddress, rootSymbolTable, extensionAddress };
}

function checkFieldSizes(offsetSize: number, lengthSize: number, at: number): void {
  for (const [name, size] of [['offsets', offsetSize], ['lengths', lengthSize]] as const) {
    if (![2, 4, 8].includes(size)) {
      throw new ParseError('hdf5.superblock.invalid', at, `Size of ${name} ${size} at offset ${at} is not 2, 4 or 8`);
    }
  }
}
