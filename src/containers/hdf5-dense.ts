import { ByteCursor } from '../io/cursor.ts';
import { ParseError } from '../io/parse-error.ts';
import { type Hdf5Io, UNDEFINED_ADDRESS, expectSignature, readSized } from './hdf5-io.ts';

/**
 * Dense storage of HDF5 1.8+ (libver "v108"/"latest"): a group with more
 * links than fit its header (8 by default), or an object with many or large
 * attributes, keeps them as records in a fractal heap (spec III.G), indexed
 * by name in a version 2 B-tree (spec III.A.2). Finding every record means
 * walking the B-tree, since the heap alone does not say where one object
 * ends; each record holds a heap ID that locates the object in the heap's
 * doubling table of direct blocks (managed objects) or names a "huge" object
 * stored on its own and indexed by a second B-tree.
 *
 * Everything here comes from the file and is checked: node sizes, record
 * sizes, depths (each level must go down by one), heap IDs (offsets inside
 * the block they land in), and every node and block is visited once and
 * counted against the reader's index-node limit.
 */

/** v2 B-tree depth followed (CWE-674): 2^16 records per level make 8 far more than any file holds. */
const MAX_BTREE_V2_DEPTH = 8;
/** Rows of a fractal heap doubling table walked: 64 rows double past 2^64 bytes. */
const MAX_HEAP_ROWS = 64;
/** Signature, version, type and checksum around the records of every v2 B-tree node. */
const BTREE_V2_NODE_OVERHEAD = 10;

/** The bytes needed to hold `value` (at least 1), as HDF5 sizes its variable-width counters. */
function bytesFor(value: number): number {
  let bytes = 1;
  while (value >= 256 ** bytes && bytes < 8) bytes += 1;
  return bytes;
}

/** Every record (raw bytes) of the v2 B-tree at `address`, with its record type. */
export async function readBtreeV2Records(io: Hdf5Io, address: number, maxRecords: number): Promise<{ type: number; records: Uint8Array[]; truncated: boolean }> {
  const { offsetSize, lengthSize } = io.sizes;
  const header = await io.read(address, 4 + 1 + 1 + 4 + 2 + 2 + 1 + 1 + offsetSize + 2 + lengthSize + 4, 'v2 B-tree header');
  io.countIndexNode(header.base, 'v2 B-tree');
  expectSignature(header, 'BTHD', 'v2 B-tree header');
  const version = header.u8();
  if (version !== 0) throw new ParseError('hdf5.structure.invalid', header.base, `v2 B-tree at offset ${header.base} has version ${version}; HDF5 defines 0`);
  const type = header.u8();
  const nodeSize = header.u32le();
  const recordSize = header.u16le();
  const depth = header.u16le();
  header.skip(2);
  const rootAddress = io.address(header, 'v2 B-tree root address');
  const rootRecords = header.u16le();
  if (recordSize === 0 || nodeSize <= BTREE_V2_NODE_OVERHEAD || nodeSize > io.limits.maxReadBytes || depth > MAX_BTREE_V2_DEPTH) {
    throw new ParseError('hdf5.structure.invalid', header.base, `v2 B-tree at offset ${header.base} has node size ${nodeSize}, record size ${recordSize}, depth ${depth}`);
  }
  const records: Uint8Array[] = [];
  if (rootAddress === UNDEFINED_ADDRESS || rootRecords === 0) return { type, records, truncated: false };

  // What HDF5 derives from the node size: records per node and the width of the counters in child pointers, per level.
  const maxRecords0 = Math.floor((nodeSize - BTREE_V2_NODE_OVERHEAD) / recordSize);
  const levels: { maxRecords: number; cumulativeMax: number; cumulativeBytes: number }[] = [{ maxRecords: maxRecords0, cumulativeMax: maxRecords0, cumulativeBytes: 0 }];
  for (let level = 1; level <= depth; level += 1) {
    const below = levels[level - 1];
    const pointerSize = offsetSize + bytesFor(below.maxRecords) + below.cumulativeBytes;
    const maxRecords = Math.floor((nodeSize - BTREE_V2_NODE_OVERHEAD - pointerSize) / (recordSize + pointerSize));
    if (maxRecords < 1) throw new ParseError('hdf5.structure.invalid', header.base, `v2 B-tree at offset ${header.base} has nodes too small for depth ${depth}`);
    const cumulativeMax = Math.min(Number.MAX_SAFE_INTEGER, (maxRecords + 1) * below.cumulativeMax + maxRecords);
    levels.push({ maxRecords, cumulativeMax, cumulativeBytes: bytesFor(cumulativeMax) });
  }

  const visited = new Set<number>();
  let truncated = false;
  const visit = async (nodeAddress: number, level: number, count: number): Promise<void> => {
    if (truncated) return;
    const offset = io.absolute(nodeAddress, 'v2 B-tree node');
    if (visited.has(offset)) throw new ParseError('hdf5.structure.invalid', offset, `v2 B-tree node at offset ${offset} is reached twice: the tree loops`);
    visited.add(offset);
    io.countIndexNode(offset, 'v2 B-tree');
    if (count > levels[level].maxRecords) {
      throw new ParseError('hdf5.structure.invalid', offset, `v2 B-tree node at offset ${offset} claims ${count} records; its size holds ${levels[level].maxRecords}`);
    }
    const node = await io.readUpTo(nodeAddress, nodeSize, 'v2 B-tree node');
    expectSignature(node, level === 0 ? 'BTLF' : 'BTIN', level === 0 ? 'v2 B-tree leaf' : 'v2 B-tree internal node');
    node.skip(2);
    const nodeRecords: Uint8Array[] = [];
    for (let index = 0; index < count; index += 1) nodeRecords.push(node.bytesView(recordSize));
    if (level === 0) {
      for (const record of nodeRecords) {
        if (records.length >= maxRecords) {
          truncated = true;
          return;
        }
        records.push(record);
      }
      return;
    }
    const below = levels[level - 1];
    const children: { address: number; count: number }[] = [];
    for (let index = 0; index <= count; index += 1) {
      const childAddress = io.address(node, 'v2 B-tree child address');
      const childCount = readSized(node, bytesFor(below.maxRecords), 'v2 B-tree child record count');
      if (level > 1) node.skip(below.cumulativeBytes);
      children.push({ address: childAddress, count: childCount });
    }
    // Records of an internal node sit between its children, in order.
    for (let index = 0; index <= count; index += 1) {
      await visit(children[index].address, level - 1, children[index].count);
      if (index < count) {
        if (records.length >= maxRecords) truncated = true;
        if (truncated) return;
        records.push(nodeRecords[index]);
      }
    }
  };
  await visit(rootAddress, depth, rootRecords);
  return { type, records, truncated };
}

/** A fractal heap's layout: enough to turn heap IDs into file ranges. */
export interface Hdf5FractalHeap {
  offset: number;
  idLength: number;
  filtered: boolean;
  directChecksummed: boolean;
  maxManagedObjectSize: number;
  tableWidth: number;
  startingBlockSize: number;
  maxDirectBlockSize: number;
  /** Bytes of a heap offset in IDs and block headers: ceil(max heap size bits / 8). */
  offsetBytes: number;
  /** Bytes of a managed object length in IDs. */
  lengthBytes: number;
  rootAddress: number;
  rootRows: number;
  hugeBtreeAddress: number;
  /** Direct blocks found by walking the doubling table: heap offset → file address and size. */
  directBlocks: { heapOffset: number; address: number; size: number }[] | null;
}

export async function readFractalHeap(io: Hdf5Io, address: number): Promise<Hdf5FractalHeap> {
  const { offsetSize, lengthSize } = io.sizes;
  const cursor = await io.read(address, 4 + 1 + 2 + 2 + 1 + 4 + 12 * lengthSize + 3 * offsetSize + 2 + 2 + 2 + 2, 'fractal heap header');
  io.countIndexNode(cursor.base, 'Fractal heap');
  expectSignature(cursor, 'FRHP', 'Fractal heap header');
  const version = cursor.u8();
  if (version !== 0) throw new ParseError('hdf5.structure.invalid', cursor.base, `Fractal heap at offset ${cursor.base} has version ${version}; HDF5 defines 0`);
  const idLength = cursor.u16le();
  const filterLength = cursor.u16le();
  const flags = cursor.u8();
  const maxManagedObjectSize = cursor.u32le();
  io.length(cursor); // next huge object ID
  const hugeBtreeAddress = io.address(cursor, 'huge object B-tree address');
  io.length(cursor); // free space in managed blocks
  io.address(cursor); // free space manager
  io.length(cursor); // managed space
  io.length(cursor); // allocated managed space
  io.length(cursor); // direct block allocation iterator
  io.length(cursor); // managed objects
  io.length(cursor); // huge objects size
  io.length(cursor); // huge objects count
  io.length(cursor); // tiny objects size
  io.length(cursor); // tiny objects count
  const tableWidth = cursor.u16le();
  const startingBlockSize = io.length(cursor, 'starting block size');
  const maxDirectBlockSize = io.length(cursor, 'maximum direct block size');
  const maxHeapSizeBits = cursor.u16le();
  cursor.u16le(); // starting rows of the root indirect block
  const rootAddress = io.address(cursor, 'fractal heap root block address');
  const rootRows = cursor.u16le();
  const powerOfTwo = (value: number) => value > 0 && Number.isSafeInteger(value) && (value & (value - 1)) === 0;
  if (tableWidth === 0 || tableWidth > 65_536 || !powerOfTwo(startingBlockSize) || !powerOfTwo(maxDirectBlockSize) || maxDirectBlockSize < startingBlockSize || maxHeapSizeBits === 0 || maxHeapSizeBits > 64 || rootRows > MAX_HEAP_ROWS) {
    throw new ParseError('hdf5.structure.invalid', cursor.base, `Fractal heap at offset ${cursor.base} has an impossible doubling table (width ${tableWidth}, blocks ${startingBlockSize} to ${maxDirectBlockSize}, ${maxHeapSizeBits}-bit offsets, ${rootRows} rows)`);
  }
  return {
    offset: cursor.base,
    idLength,
    filtered: filterLength > 0,
    directChecksummed: (flags & 0x02) !== 0,
    maxManagedObjectSize,
    tableWidth,
    startingBlockSize,
    maxDirectBlockSize,
    offsetBytes: Math.ceil(maxHeapSizeBits / 8),
    lengthBytes: Math.min(bytesFor(maxDirectBlockSize), bytesFor(maxManagedObjectSize)),
    rootAddress,
    rootRows,
    hugeBtreeAddress,
    directBlocks: null,
  };
}

/** Size of the blocks in row `row` of the doubling table. */
function rowBlockSize(heap: Hdf5FractalHeap, row: number): number {
  return row <= 1 ? heap.startingBlockSize : heap.startingBlockSize * 2 ** (row - 1);
}

/** Walks the doubling table once, listing every direct block with its heap offset. */
async function directBlocksOf(io: Hdf5Io, heap: Hdf5FractalHeap): Promise<{ heapOffset: number; address: number; size: number }[]> {
  if (heap.directBlocks) return heap.directBlocks;
  const blocks: { heapOffset: number; address: number; size: number }[] = [];
  heap.directBlocks = blocks;
  if (heap.rootAddress === UNDEFINED_ADDRESS) return blocks;
  if (heap.rootRows === 0) {
    blocks.push({ heapOffset: 0, address: heap.rootAddress, size: heap.startingBlockSize });
    return blocks;
  }
  const visited = new Set<number>();
  const maxDirectRows = Math.log2(heap.maxDirectBlockSize) - Math.log2(heap.startingBlockSize) + 2;
  const walkIndirect = async (address: number, rows: number, heapOffset: number, depth: number): Promise<void> => {
    const offset = io.absolute(address, 'Fractal heap indirect block');
    if (visited.has(offset) || depth > MAX_HEAP_ROWS) throw new ParseError('hdf5.structure.invalid', offset, `Fractal heap indirect block at offset ${offset} is reached twice`);
    visited.add(offset);
    io.countIndexNode(offset, 'Fractal heap');
    const entrySize = io.sizes.offsetSize + (heap.filtered ? io.sizes.lengthSize + 4 : 0);
    const block = await io.readAbsolute(offset, 4 + 1 + io.sizes.offsetSize + heap.offsetBytes + rows * heap.tableWidth * entrySize, 'fractal heap indirect block');
    expectSignature(block, 'FHIB', 'Fractal heap indirect block');
    block.skip(1 + io.sizes.offsetSize + heap.offsetBytes);
    let childOffset = heapOffset;
    for (let row = 0; row < rows; row += 1) {
      const size = rowBlockSize(heap, row);
      for (let column = 0; column < heap.tableWidth; column += 1) {
        const child = io.address(block, 'fractal heap child block');
        if (heap.filtered) block.skip(io.sizes.lengthSize + 4);
        if (child !== UNDEFINED_ADDRESS) {
          if (row < maxDirectRows) {
            io.countIndexNode(offset, 'Fractal heap');
            blocks.push({ heapOffset: childOffset, address: child, size });
          } else {
            const childRows = Math.log2(size) - Math.log2(heap.startingBlockSize * heap.tableWidth) + 1;
            if (childRows >= 1 && childRows <= MAX_HEAP_ROWS) await walkIndirect(child, childRows, childOffset, depth + 1);
          }
        }
        childOffset += size;
      }
    }
  };
  await walkIndirect(heap.rootAddress, heap.rootRows, 0, 0);
  return blocks;
}

/** The bytes of the heap object a heap ID names, with their absolute offset. */
export async function readHeapObject(io: Hdf5Io, heap: Hdf5FractalHeap, id: Uint8Array): Promise<{ offset: number; bytes: Uint8Array }> {
  if (id.length < 1) throw new ParseError('hdf5.structure.invalid', heap.offset, 'Empty fractal heap ID');
  const idCursor = new ByteCursor(id, 0, 'hdf5.structure.invalid');
  const flags = idCursor.u8();
  const type = (flags >> 4) & 0x03;
  if (flags >> 6 !== 0) throw new ParseError('hdf5.structure.invalid', heap.offset, `Fractal heap ID version ${flags >> 6} is not 0`);
  if (type === 0) {
    if (heap.filtered) throw new ParseError('hdf5.unsupported', heap.offset, `Fractal heap at offset ${heap.offset} is filtered (compressed); its objects were not read`);
    const heapOffset = readSized(idCursor, heap.offsetBytes, 'heap object offset');
    const length = readSized(idCursor, heap.lengthBytes, 'heap object length');
    const blocks = await directBlocksOf(io, heap);
    const block = blocks.find((candidate) => heapOffset >= candidate.heapOffset && heapOffset < candidate.heapOffset + candidate.size);
    if (!block || heapOffset + length > block.heapOffset + block.size) {
      throw new ParseError('hdf5.structure.invalid', heap.offset, `Heap object at heap offset ${heapOffset} (${length} bytes) is not inside any direct block of the fractal heap at offset ${heap.offset}`);
    }
    const headerBytes = 4 + 1 + io.sizes.offsetSize + heap.offsetBytes + (heap.directChecksummed ? 4 : 0);
    const within = heapOffset - block.heapOffset;
    if (within < headerBytes) throw new ParseError('hdf5.structure.invalid', heap.offset, `Heap object at heap offset ${heapOffset} overlaps its direct block's header`);
    const cursor = await io.read(block.address + within, length, 'fractal heap object');
    return { offset: cursor.base, bytes: cursor.bytes };
  }
  if (type === 1) {
    return readHugeObject(io, heap, idCursor);
  }
  if (type === 2) {
    // A tiny object lives in the ID itself: its length (minus one) in the low bits of the flags.
    const length = (flags & 0x0f) + 1;
    return { offset: heap.offset, bytes: idCursor.bytesView(Math.min(length, idCursor.remaining)) };
  }
  throw new ParseError('hdf5.structure.invalid', heap.offset, `Fractal heap ID type ${type} is not 0, 1 or 2`);
}

/** Huge objects: found by their ID in the heap's huge-object B-tree (record type 1: address, length, ID). */
async function readHugeObject(io: Hdf5Io, heap: Hdf5FractalHeap, idCursor: ByteCursor): Promise<{ offset: number; bytes: Uint8Array }> {
  const { offsetSize, lengthSize } = io.sizes;
  if (heap.filtered) throw new ParseError('hdf5.unsupported', heap.offset, `Fractal heap at offset ${heap.offset} is filtered (compressed); its huge objects were not read`);
  // IDs long enough to hold an address and a length hold them directly (H5HF "huge IDs direct").
  if (heap.idLength >= 1 + offsetSize + lengthSize) {
    const address = readSized(idCursor, offsetSize, 'huge object address');
    const length = readSized(idCursor, lengthSize, 'huge object length');
    const cursor = await io.read(address, length, 'huge heap object');
    return { offset: cursor.base, bytes: cursor.bytes };
  }
  const key = readSized(idCursor, Math.min(idCursor.remaining, lengthSize), 'huge object ID');
  if (heap.hugeBtreeAddress === UNDEFINED_ADDRESS) throw new ParseError('hdf5.structure.invalid', heap.offset, `Huge heap object ${key} but the fractal heap at offset ${heap.offset} has no huge-object B-tree`);
  const tree = await readBtreeV2Records(io, heap.hugeBtreeAddress, 1_000_000);
  for (const record of tree.records) {
    const cursor = new ByteCursor(record, 0, 'hdf5.structure.invalid');
    const address = readSized(cursor, offsetSize, 'huge object address');
    const length = readSized(cursor, lengthSize, 'huge object length');
    const id = readSized(cursor, lengthSize, 'huge object ID');
    if (id === key) {
      const data = await io.read(address, length, 'huge heap object');
      return { offset: data.base, bytes: data.bytes };
    }
  }
  throw new ParseError('hdf5.structure.invalid', heap.offset, `Huge heap object ${key} is not in the huge-object B-tree`);
}

/** The heap ID inside a dense-storage name-index record: link records (type 5) after a 4-byte hash, attribute records (type 8) first. */
export function heapIdOfRecord(type: number, record: Uint8Array): Uint8Array {
  if (type === 5) return record.subarray(4);
  if (type === 8) return record.subarray(0, 8);
  if (type === 6) return record.subarray(8);
  if (type === 9) return record.subarray(0, 8);
  throw new ParseError('hdf5.structure.invalid', 0, `v2 B-tree record type ${type} is not a dense-storage name index`);
}
