import { ParseError } from '../io/parse-error.ts';
import { type Hdf5Io, UNDEFINED_ADDRESS, expectSignature } from './hdf5-io.ts';

/**
 * HDF5 local heaps (names of old-style group members and external files,
 * spec III.D) and global heap collections (variable-length strings, spec
 * III.E). Both are read once per address, whole up to the reader's read
 * limit, and cached for the walk; every offset into them is checked.
 */

export interface Hdf5LocalHeap {
  /** Absolute offset of the data segment. */
  dataOffset: number;
  data: Uint8Array;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

export class Hdf5Heaps {
  private readonly localHeaps = new Map<number, Promise<Hdf5LocalHeap>>();
  private readonly globalCollections = new Map<number, Promise<Map<number, { offset: number; data: Uint8Array }>>>();

  constructor(private readonly io: Hdf5Io) {}

  localHeap(address: number): Promise<Hdf5LocalHeap> {
    let heap = this.localHeaps.get(address);
    if (!heap) {
      heap = this.readLocalHeap(address);
      this.localHeaps.set(address, heap);
    }
    return heap;
  }

  /** The NUL-terminated string at `offset` of the local heap at `address`. */
  async localString(address: number, offset: number, maxBytes: number): Promise<string> {
    const heap = await this.localHeap(address);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset >= heap.data.length) {
      throw new ParseError('hdf5.structure.invalid', heap.dataOffset, `Name offset ${offset} is outside the ${heap.data.length}-byte local heap at offset ${heap.dataOffset}`);
    }
    const end = heap.data.indexOf(0, offset);
    const stop = end < 0 ? heap.data.length : end;
    return utf8.decode(heap.data.subarray(offset, Math.min(stop, offset + maxBytes)));
  }

  private async readLocalHeap(address: number): Promise<Hdf5LocalHeap> {
    const io = this.io;
    const { lengthSize, offsetSize } = io.sizes;
    const header = await io.read(address, 8 + 2 * lengthSize + offsetSize, 'local heap header');
    io.countIndexNode(header.position, 'Local heap');
    expectSignature(header, 'HEAP', 'Local heap');
    const version = header.u8();
    if (version !== 0) throw new ParseError('hdf5.structure.invalid', header.base, `Local heap at offset ${header.base} has version ${version}; HDF5 defines 0`);
    header.skip(3);
    const size = io.length(header, 'local heap data size');
    io.length(header, 'free list offset');
    const dataAddress = io.address(header, 'local heap data address');
    if (dataAddress === UNDEFINED_ADDRESS) throw new ParseError('hdf5.structure.invalid', header.base, `Local heap at offset ${header.base} has no data segment`);
    const data = await io.read(dataAddress, size, 'local heap data segment');
    return { dataOffset: data.base, data: data.bytes };
  }

  /** The bytes of object `index` in the global heap collection at `address`. */
  async globalObject(address: number, index: number): Promise<{ offset: number; data: Uint8Array }> {
    let collection = this.globalCollections.get(address);
    if (!collection) {
      collection = this.readGlobalCollection(address);
      this.globalCollections.set(address, collection);
    }
    const objects = await collection;
    const object = objects.get(index);
    if (!object) throw new ParseError('hdf5.structure.invalid', this.io.baseAddress + address, `Global heap collection at address ${address} has no object ${index}`);
    return object;
  }

  private async readGlobalCollection(address: number): Promise<Map<number, { offset: number; data: Uint8Array }>> {
    const io = this.io;
    const { lengthSize } = io.sizes;
    const header = await io.read(address, 8 + lengthSize, 'global heap header');
    io.countIndexNode(header.position, 'Global heap collection');
    expectSignature(header, 'GCOL', 'Global heap collection');
    const version = header.u8();
    if (version !== 1) throw new ParseError('hdf5.structure.invalid', header.base, `Global heap collection at offset ${header.base} has version ${version}; HDF5 defines 1`);
    header.skip(3);
    const size = io.length(header, 'global heap collection size');
    const block = await io.read(address, size, 'global heap collection');
    block.skip(8 + lengthSize);
    const objects = new Map<number, { offset: number; data: Uint8Array }>();
    // Each object: index, reference count, reserved, size, then data padded to 8 bytes; index 0 is the free space.
    while (block.remaining >= 8 + lengthSize) {
      const index = block.u16le();
      block.skip(6);
      const objectSize = io.length(block, 'global heap object size');
      if (index === 0) break;
      if (objectSize > block.remaining) {
        throw new ParseError('hdf5.structure.invalid', block.position, `Global heap object ${index} at offset ${block.position} declares ${objectSize} bytes but the collection ends after ${block.remaining}`);
      }
      const offset = block.position;
      objects.set(index, { offset, data: block.bytesView(objectSize) });
      block.skip(Math.min(block.remaining, (8 - (objectSize % 8)) % 8));
    }
    return objects;
  }
}
