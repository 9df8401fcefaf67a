import { ByteCursor } from '../io/cursor.ts';
import { ParseError } from '../io/parse-error.ts';
import type { Hdf5Heaps } from './hdf5-heaps.ts';
import { type Hdf5Io, UNDEFINED_ADDRESS, expectSignature, readSized } from './hdf5-io.ts';
import type { Hdf5LinkMessage } from './hdf5-messages.ts';

/**
 * Old-style HDF5 groups (spec III.A.1 and III.C): a version 1 B-tree of
 * group nodes whose leaves point at symbol table nodes ("SNOD"), each a list
 * of entries naming a member (by an offset into the group's local heap) and
 * its object header. This is the layout of HDF5 1.6, h5py's default, and so
 * of Keras 2 `.h5` files. A cached soft link (cache type 2) keeps its target
 * path in the local heap too.
 *
 * The B-tree can be hostile: nodes pointing at themselves or at each other,
 * levels that never reach 0, huge entry counts. Each node is visited once,
 * the level must go down by one at every step, and the reader's node and
 * link limits bound the rest.
 */

/** B-tree levels followed: a group of 2^32 members needs fewer than 16 (CWE-674). */
const MAX_BTREE_LEVEL = 32;

/** Lists the members of the old-style group whose B-tree and local heap are given. */
export async function readSymbolTableGroup(io: Hdf5Io, heaps: Hdf5Heaps, btreeAddress: number, heapAddress: number): Promise<{ links: Hdf5LinkMessage[]; truncated: boolean }> {
  const links: Hdf5LinkMessage[] = [];
  const visited = new Set<number>();
  let truncated = false;
  const { offsetSize, lengthSize } = io.sizes;

  const visit = async (address: number, expectedLevel: number | null): Promise<void> => {
    if (truncated) return;
    const offset = io.absolute(address, 'Group B-tree node');
    if (visited.has(offset)) throw new ParseError('hdf5.structure.invalid', offset, `Group B-tree node at offset ${offset} is reached twice: the tree loops`);
    visited.add(offset);
    io.countIndexNode(offset, 'Group B-tree');
    const header = await io.readAbsolute(offset, 8 + 2 * offsetSize, 'group B-tree node');
    expectSignature(header, 'TREE', 'Group B-tree node');
    const nodeType = header.u8();
    const level = header.u8();
    const entries = header.u16le();
    if (nodeType !== 0) throw new ParseError('hdf5.structure.invalid', offset, `B-tree node at offset ${offset} has type ${nodeType}; a group's B-tree has type 0`);
    if (level > MAX_BTREE_LEVEL || (expectedLevel !== null && level !== expectedLevel)) {
      throw new ParseError('hdf5.structure.invalid', offset, `Group B-tree node at offset ${offset} has level ${level}${expectedLevel !== null ? `, expected ${expectedLevel}` : ''}`);
    }
    // Keys and children interleave: key 0, child 0, key 1, … child n-1, key n. Keys are heap offsets.
    const body = await io.readAbsolute(header.position + 2 * offsetSize, entries * (lengthSize + offsetSize) + lengthSize, 'group B-tree entries');
    const children: number[] = [];
    for (let index = 0; index < entries; index += 1) {
      body.skip(lengthSize);
      children.push(readSized(body, offsetSize, 'B-tree child address', true));
    }
    for (const child of children) {
      if (child === UNDEFINED_ADDRESS) continue;
      if (level === 0) await readSymbolNode(child);
      else await visit(child, level - 1);
      if (truncated) return;
    }
  };

  const readSymbolNode = async (address: number): Promise<void> => {
    const offset = io.absolute(address, 'Symbol table node');
    if (visited.has(offset)) throw new ParseError('hdf5.structure.invalid', offset, `Symbol table node at offset ${offset} is reached twice`);
    visited.add(offset);
    io.countIndexNode(offset, 'Symbol table node');
    const header = await io.readAbsolute(offset, 8, 'symbol table node');
    expectSignature(header, 'SNOD', 'Symbol table node');
    const version = header.u8();
    if (version !== 1) throw new ParseError('hdf5.structure.invalid', offset, `Symbol table node at offset ${offset} has version ${version}; HDF5 defines 1`);
    header.skip(1);
    const count = header.u16le();
    const entrySize = 2 * offsetSize + 24;
    const body = await io.readAbsolute(offset + 8, count * entrySize, 'symbol table entries');
    for (let index = 0; index < count; index += 1) {
      if (links.length >= io.limits.maxLinksPerGroup) {
        truncated = true;
        return;
      }
      const nameOffset = readSized(body, offsetSize, 'link name offset');
      const objectAddress = readSized(body, offsetSize, 'object header address', true);
      const cacheType = body.u32le();
      body.skip(4);
      const scratch = new ByteCursor(body.bytesView(16), body.position - 16, 'hdf5.structure.invalid');
      const name = await heaps.localString(heapAddress, nameOffset, io.limits.maxStringBytes);
      if (cacheType === 2) {
        const targetOffset = scratch.u32le();
        links.push({ name, target: { kind: 'soft', path: await heaps.localString(heapAddress, targetOffset, io.limits.maxStringBytes) } });
      } else {
        links.push({ name, target: { kind: 'hard', address: objectAddress } });
      }
    }
  };

  await visit(btreeAddress, null);
  return { links, truncated };
}
