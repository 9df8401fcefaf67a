import type { ByteSource } from '../io/byte-source.ts';
import { ParseError } from '../io/parse-error.ts';
import type { Finding } from '../report/types.ts';
import type { RuleId } from '../rules/index.ts';
import { readBtreeV2Records, readFractalHeap, readHeapObject, heapIdOfRecord } from './hdf5-dense.ts';
import { Hdf5Heaps } from './hdf5-heaps.ts';
import { Hdf5Io, type Hdf5Limits, UNDEFINED_ADDRESS, readSized } from './hdf5-io.ts';
import {
  DATATYPE_CLASS,
  type Hdf5Datatype,
  type Hdf5LinkMessage,
  type Hdf5RawAttribute,
  decodeAttribute,
  decodeAttributeInfo,
  decodeAttributeMessage,
  decodeDataspace,
  decodeDatatype,
  decodeExternalFiles,
  decodeLayout,
  decodeLink,
  decodeLinkInfo,
  decodeLinkMessage,
  decodeSymbolTable,
  describeDatatype,
  messageCursor,
} from './hdf5-messages.ts';
import { type Hdf5Message, MESSAGE_FLAG_SHARED, MESSAGE_TYPE, readObjectHeader } from './hdf5-object-header.ts';
import { type Hdf5Superblock, readSuperblock } from './hdf5-superblock.ts';
import { readSymbolTableGroup } from './hdf5-symbol-table.ts';
import { createFindingList } from './zip-finding-list.ts';

/**
 * A minimal, bounded HDF5 reader for model files (Keras `.h5`, the
 * `model.weights.h5` inside a `.keras` archive).
 * Spec: https://support.hdfgroup.org/documentation/hdf5/latest/_f_m_t3.html
 *
 * Why our own: the JavaScript HDF5 readers on npm need the whole file in
 * memory (jsfive takes one ArrayBuffer; h5wasm copies the file into its
 * Emscripten file system), and a scanner must read multi-gigabyte weight
 * files by small ranges and distrust every address in them. This reader
 * covers the subset model files use: superblocks 0 to 3, object headers
 * v1 and v2 with continuation blocks, old-style groups (v1 B-tree, local
 * heap, symbol table nodes), new-style groups (link messages, and dense
 * storage through a fractal heap and a v2 B-tree), attributes (compact and
 * dense) with fixed and variable-length strings and numbers, dataspaces,
 * datatypes, data layouts (compact, contiguous, chunked, virtual) and
 * external data files. It never reads dataset contents.
 *
 * Threat surface: every address and length in an HDF5 file is a claim.
 * They can point past the end, into each other, into loops (B-trees,
 * continuation chains, groups linking to their ancestors); counts and sizes
 * can be enormous; links can leave the file (external links, external
 * storage, virtual datasets: h5py follows them, so loading weights reads
 * host files, the CVE-2026-1669 family); a dataset can declare gigabytes it
 * does not store (a "shape bomb" that exhausts memory on read). The reader
 * checks every address against the file, visits each node once, bounds all
 * counts with the limits below, and turns each violation into a finding on
 * the object concerned, then carries on with its siblings. Checksums of
 * version 2 structures are not verified: a bad one makes HDF5 refuse the
 * file, which is no risk to the loader.
 */

/** Objects visited: a large Keras model has a few thousand weights; beyond this the rest is not inspected (CWE-770). */
export const MAX_OBJECTS = 100_000;
/** Group nesting followed: Keras nests 4 levels (CWE-674). */
export const MAX_DEPTH = 64;
/** Messages per object header: real headers have a dozen (CWE-770). */
export const MAX_MESSAGES_PER_OBJECT = 4096;
/** Continuation blocks per object header (CWE-400). */
export const MAX_CONTINUATIONS = 256;
/** Children listed per group (CWE-770). */
export const MAX_LINKS_PER_GROUP = 100_000;
/** Attributes read per object (CWE-770). */
export const MAX_ATTRIBUTES_PER_OBJECT = 1024;
/** Bytes of one string value: a Keras model_config is at most a few MB (CWE-400). */
export const MAX_STRING_BYTES = 64 * 1024 * 1024;
/** Bytes of one read: strings up to MAX_STRING_BYTES, everything else far smaller (CWE-770). */
export const MAX_READ_BYTES = MAX_STRING_BYTES + 4096;
/** Bytes read over a whole walk: headers and heaps of a model are a few MB (CWE-400). */
export const MAX_TOTAL_READ_BYTES = 512 * 1024 * 1024;
/** B-tree nodes and heap blocks visited (CWE-400). */
export const MAX_INDEX_NODES = 500_000;
/** Values kept per attribute (numbers, strings of a list such as layer_names) (CWE-770). */
export const MAX_ATTRIBUTE_VALUES = 1024;
/** Findings of one rule listed; the rest are counted (CWE-770). */
export const MAX_FINDINGS_PER_RULE = 100;
/** Declared dataset bytes above which a dataset that stores far less is a shape bomb (as Keras 3 judges it). */
export const SHAPE_BOMB_MIN_BYTES = 4 * 1024 ** 3;
/** Declared / stored ratio above which such a dataset is a shape bomb. */
export const SHAPE_BOMB_RATIO = 1000;

export const DEFAULT_HDF5_LIMITS: Readonly<Hdf5Limits> = {
  maxObjects: MAX_OBJECTS,
  maxDepth: MAX_DEPTH,
  maxMessagesPerObject: MAX_MESSAGES_PER_OBJECT,
  maxContinuations: MAX_CONTINUATIONS,
  maxLinksPerGroup: MAX_LINKS_PER_GROUP,
  maxAttributesPerObject: MAX_ATTRIBUTES_PER_OBJECT,
  maxStringBytes: MAX_STRING_BYTES,
  maxReadBytes: MAX_READ_BYTES,
  maxTotalReadBytes: MAX_TOTAL_READ_BYTES,
  maxIndexNodes: MAX_INDEX_NODES,
};

export type { Hdf5Limits } from './hdf5-io.ts';
export type { Hdf5Superblock } from './hdf5-superblock.ts';

export type Hdf5Value =
  | { kind: 'string'; text: string; truncated: boolean }
  | { kind: 'strings'; items: string[]; count: number }
  | { kind: 'numbers'; values: number[]; count: number }
  | { kind: 'other'; count: number | null };

export interface Hdf5Attribute {
  name: string;
  dtype: string;
  shape: number[] | null;
  value: Hdf5Value;
  /** Absolute offset of the attribute's value bytes (or of its message). */
  offset: number;
}

export interface Hdf5Object {
  /** Path without a leading slash; '' for the root group. */
  path: string;
  /** Absolute offset of the object header. */
  offset: number;
  kind: 'group' | 'dataset' | 'other';
  attributes: Hdf5Attribute[];
}

export interface Hdf5Dataset extends Hdf5Object {
  kind: 'dataset';
  dtype: string;
  shape: number[] | null;
  layout: 'compact' | 'contiguous' | 'chunked' | 'virtual' | 'none';
  /** Absolute offset of the stored bytes when they are one range (contiguous, compact). */
  dataOffset: number | null;
  /** Stored bytes of that range. */
  dataLength: number | null;
  /** Elements × element size; null when it does not fit a safe integer. */
  logicalBytes: number | null;
  externalFiles: { name: string; offset: number; size: number }[];
  filtered: boolean;
}

export interface Hdf5Link {
  path: string;
  kind: 'soft' | 'external' | 'user';
  target: string;
  file?: string;
}

export interface Hdf5File {
  superblock: Hdf5Superblock;
  /** Groups and other objects, in walk order (depth first, in link order). */
  objects: Hdf5Object[];
  datasets: Hdf5Dataset[];
  links: Hdf5Link[];
  findings: Finding[];
  bytesRead: number;
}

export interface ReadHdf5Options {
  signal?: AbortSignal;
  limits?: Partial<Hdf5Limits>;
  /** Copied into every finding's location (a `.keras` member). */
  entry?: string;
  /** Added to every offset in findings and results (a stored zip member's data offset); default 0. */
  baseOffset?: number;
}

interface PendingObject {
  address: number;
  path: string;
  /** Absolute offsets of the groups above, to tell a loop from a second link to the same object. */
  ancestors: number[];
}

/** Reads the structure of an HDF5 file: a ParseError only when there is no valid superblock. */
export async function readHdf5(source: ByteSource, options: ReadHdf5Options = {}): Promise<Hdf5File> {
  const superblock = await readSuperblock(source);
  const limits: Hdf5Limits = { ...DEFAULT_HDF5_LIMITS, ...options.limits };
  const io = new Hdf5Io(source, superblock.baseAddress, { offsetSize: superblock.offsetSize, lengthSize: superblock.lengthSize }, limits, options.signal);
  const walker = new Hdf5Walker(io, new Hdf5Heaps(io), options);
  await walker.walk(superblock.rootObjectAddress);
  return {
    superblock,
    objects: walker.objects,
    datasets: walker.datasets,
    links: walker.links,
    findings: walker.findings.toArray(),
    bytesRead: io.bytesRead,
  };
}

class Hdf5Walker {
  readonly objects: Hdf5Object[] = [];
  readonly datasets: Hdf5Dataset[] = [];
  readonly links: Hdf5Link[] = [];
  readonly findings = createFindingList(MAX_FINDINGS_PER_RULE);
  private readonly visited = new Map<number, string>();
  private readonly shift: number;

  constructor(
    private readonly io: Hdf5Io,
    private readonly heaps: Hdf5Heaps,
    private readonly options: ReadHdf5Options,
  ) {
    this.shift = options.baseOffset ?? 0;
  }

  private report(rule: RuleId, offset: number, detail: string, evidence?: string): void {
    const location = { ...(this.options.entry !== undefined ? { entry: this.options.entry } : {}), offset: offset + this.shift };
    this.findings.add(rule, { detail, location, ...(evidence !== undefined ? { evidence } : {}) });
  }

  /** A ParseError becomes its finding; anything else is a bug (or an abort) and goes on up. */
  private reportError(error: unknown, where: string): void {
    if (!(error instanceof ParseError)) throw error;
    this.report(error.rule, error.offset, `${where}: ${error.message}.`);
  }

  async walk(rootAddress: number): Promise<void> {
    const stack: PendingObject[] = [{ address: rootAddress, path: '', ancestors: [] }];
    while (stack.length > 0) {
      const item = stack.pop() as PendingObject;
      if (this.objects.length + this.datasets.length >= this.io.limits.maxObjects) {
        this.report('hdf5.limit', 0, `The file has more than ${this.io.limits.maxObjects} objects (maxObjects); ${stack.length + 1} or more were not inspected.`);
        return;
      }
      let offset: number;
      try {
        offset = this.io.absolute(item.address, `Object ${displayPath(item.path)}`);
      } catch (error) {
        this.reportError(error, `Object ${displayPath(item.path)}`);
        continue;
      }
      if (item.ancestors.includes(offset)) {
        this.report('hdf5.cycle', offset, `${displayPath(item.path)} is a hard link back to ${displayPath(this.visited.get(offset) ?? '')}, a group above it: the group tree loops.`);
        continue;
      }
      // A second hard link to an object already seen is legal HDF5; it is walked once.
      if (this.visited.has(offset)) continue;
      this.visited.set(offset, item.path);
      const children = await this.visitObject(item, offset);
      if (children.length > 0 && item.ancestors.length + 1 >= this.io.limits.maxDepth) {
        this.report('hdf5.limit', offset, `Group ${displayPath(item.path)} is nested ${item.ancestors.length + 1} levels deep (maxDepth ${this.io.limits.maxDepth}); its ${children.length} children were not inspected.`);
        continue;
      }
      for (let index = children.length - 1; index >= 0; index -= 1) stack.push(children[index]);
    }
  }

  /** Reads one object; returns the hard-linked children to walk. */
  private async visitObject(item: PendingObject, offset: number): Promise<PendingObject[]> {
    const where = `Object ${displayPath(item.path)}`;
    let messages: Hdf5Message[];
    try {
      messages = (await readObjectHeader(this.io, item.address)).messages;
    } catch (error) {
      this.reportError(error, where);
      return [];
    }
    const byType = (type: number) => messages.filter((message) => message.type === type);
    const attributes = await this.readAttributes(messages, where);
    const isDataset = byType(MESSAGE_TYPE.layout).length > 0 || (byType(MESSAGE_TYPE.dataspace).length > 0 && byType(MESSAGE_TYPE.datatype).length > 0);
    if (isDataset) {
      const dataset = await this.readDataset(item.path, offset, messages, attributes);
      if (dataset) this.datasets.push(dataset);
      return [];
    }
    const isGroup = [MESSAGE_TYPE.symbolTable, MESSAGE_TYPE.link, MESSAGE_TYPE.linkInfo].some((type) => byType(type).length > 0) || item.path === '';
    this.objects.push({ path: item.path, offset: offset + this.shift, kind: isGroup ? 'group' : 'other', attributes });
    if (!isGroup) return [];
    const links = await this.readGroupLinks(messages, where);
    const children: PendingObject[] = [];
    for (const link of links) {
      const path = item.path === '' ? link.name : `${item.path}/${link.name}`;
      const target = link.target;
      if (target.kind === 'hard') {
        if (target.address === UNDEFINED_ADDRESS) {
          this.report('hdf5.structure.invalid', offset, `Link ${displayPath(path)} points at an undefined address.`);
          continue;
        }
        children.push({ address: target.address, path, ancestors: [...item.ancestors, offset] });
      } else if (target.kind === 'soft') {
        this.links.push({ path, kind: 'soft', target: target.path });
        this.report('hdf5.link.soft', offset, `${displayPath(path)} is a soft link to ${JSON.stringify(target.path)}.`, `${path} -> ${target.path}`);
      } else if (target.kind === 'external') {
        this.links.push({ path, kind: 'external', target: target.path, file: target.file });
        this.report('hdf5.link.external', offset, `${displayPath(path)} is an external link to ${JSON.stringify(target.path)} in the file ${JSON.stringify(target.file)}; h5py opens that file when the link is followed.`, `${path} -> ${target.file}:${target.path}`);
      } else {
        this.links.push({ path, kind: 'user', target: `type ${target.type}` });
        this.report('hdf5.unsupported', offset, `${displayPath(path)} is a user-defined link of type ${target.type}, which Preflight does not follow.`);
      }
    }
    return children;
  }

  private async readGroupLinks(messages: Hdf5Message[], where: string): Promise<Hdf5LinkMessage[]> {
    const links: Hdf5LinkMessage[] = [];
    const limit = this.io.limits.maxLinksPerGroup;
    const add = (link: Hdf5LinkMessage): boolean => {
      if (links.length >= limit) return false;
      links.push(link);
      return true;
    };
    let truncated = false;
    for (const message of messages) {
      try {
        if (message.type === MESSAGE_TYPE.symbolTable) {
          const table = decodeSymbolTable(message, this.io.sizes);
          const group = await readSymbolTableGroup(this.io, this.heaps, table.btreeAddress, table.heapAddress);
          for (const link of group.links) if (!add(link)) truncated = true;
          truncated ||= group.truncated;
        } else if (message.type === MESSAGE_TYPE.link) {
          if (!add(decodeLinkMessage(message, this.io.sizes))) truncated = true;
        } else if (message.type === MESSAGE_TYPE.linkInfo) {
          const info = decodeLinkInfo(message, this.io.sizes);
          if (info.heapAddress === UNDEFINED_ADDRESS || info.nameIndexAddress === UNDEFINED_ADDRESS) continue;
          const heap = await readFractalHeap(this.io, info.heapAddress);
          const index = await readBtreeV2Records(this.io, info.nameIndexAddress, limit);
          truncated ||= index.truncated;
          for (const record of index.records) {
            try {
              const object = await readHeapObject(this.io, heap, heapIdOfRecord(index.type, record));
              if (!add(decodeLink(cursorAt(object.bytes, object.offset), this.io.sizes))) truncated = true;
            } catch (error) {
              this.reportError(error, `${where}, a link in dense storage`);
            }
          }
        }
      } catch (error) {
        this.reportError(error, `${where}, its links`);
      }
    }
    if (truncated) this.report('hdf5.limit', messages[0]?.offset ?? 0, `${where} has more than ${limit} links (maxLinksPerGroup); the rest were not inspected.`);
    return links;
  }

  private async readAttributes(messages: Hdf5Message[], where: string): Promise<Hdf5Attribute[]> {
    const attributes: Hdf5Attribute[] = [];
    const limit = this.io.limits.maxAttributesPerObject;
    let truncated = false;
    const add = async (raw: Hdf5RawAttribute) => {
      if (attributes.length >= limit) {
        truncated = true;
        return;
      }
      attributes.push(await this.decodeAttributeValue(raw));
    };
    for (const message of messages) {
      try {
        if (message.type === MESSAGE_TYPE.attribute) {
          if (message.flags & MESSAGE_FLAG_SHARED) {
            this.report('hdf5.unsupported', message.offset, `${where} has a shared attribute message, which Preflight does not follow.`);
            continue;
          }
          await add(decodeAttributeMessage(message, this.io.sizes));
        } else if (message.type === MESSAGE_TYPE.attributeInfo) {
          const info = decodeAttributeInfo(message, this.io.sizes);
          if (info.heapAddress === UNDEFINED_ADDRESS || info.nameIndexAddress === UNDEFINED_ADDRESS) continue;
          const heap = await readFractalHeap(this.io, info.heapAddress);
          const index = await readBtreeV2Records(this.io, info.nameIndexAddress, limit);
          truncated ||= index.truncated;
          for (const record of index.records) {
            try {
              const object = await readHeapObject(this.io, heap, heapIdOfRecord(index.type, record));
              await add(decodeAttribute(cursorAt(object.bytes, object.offset), this.io.sizes));
            } catch (error) {
              this.reportError(error, `${where}, an attribute in dense storage`);
            }
          }
        }
      } catch (error) {
        this.reportError(error, `${where}, its attributes`);
      }
    }
    if (truncated) this.report('hdf5.limit', messages[0]?.offset ?? 0, `${where} has more than ${limit} attributes (maxAttributesPerObject); the rest were not read.`);
    return attributes;
  }

  private async decodeAttributeValue(raw: Hdf5RawAttribute): Promise<Hdf5Attribute> {
    const shape = raw.dataspace.shape;
    const count = raw.dataspace.elements;
    const base = { name: raw.name, dtype: describeDatatype(raw.datatype), shape, offset: raw.dataOffset + this.shift };
    const type = raw.datatype;
    const shown = Math.min(count ?? 0, MAX_ATTRIBUTE_VALUES);
    const maxString = this.io.limits.maxStringBytes;
    if (type.class === DATATYPE_CLASS.string) {
      const items: string[] = [];
      for (let index = 0; index < shown; index += 1) items.push(fixedString(raw.data.subarray(index * type.size, (index + 1) * type.size), type, maxString));
      if (shape !== null && shape.length === 0) return { ...base, value: { kind: 'string', text: items[0] ?? '', truncated: type.size > maxString } };
      return { ...base, value: { kind: 'strings', items, count: count ?? 0 } };
    }
    if (type.class === DATATYPE_CLASS.variableLength && type.variableString) {
      const items: string[] = [];
      let truncated = false;
      const elementSize = 4 + this.io.sizes.offsetSize + 4;
      for (let index = 0; index < shown; index += 1) {
        const element = cursorAt(raw.data.subarray(index * elementSize, (index + 1) * elementSize), raw.dataOffset + index * elementSize);
        const length = element.u32le();
        const collection = readSized(element, this.io.sizes.offsetSize, 'global heap address', true);
        const objectIndex = element.u32le();
        if (collection === UNDEFINED_ADDRESS || length === 0) {
          items.push('');
          continue;
        }
        const object = await this.heaps.globalObject(collection, objectIndex);
        const bytes = object.data.subarray(0, Math.min(length, object.data.length, maxString));
        truncated ||= length > maxString;
        items.push(decodeText(bytes));
      }
      if (shape !== null && shape.length === 0) return { ...base, value: { kind: 'string', text: items[0] ?? '', truncated } };
      return { ...base, value: { kind: 'strings', items, count: count ?? 0 } };
    }
    if ((type.class === DATATYPE_CLASS.fixedPoint || type.class === DATATYPE_CLASS.floatingPoint || type.class === DATATYPE_CLASS.enumerated) && [1, 2, 4, 8].includes(type.size)) {
      const numeric = type.class === DATATYPE_CLASS.enumerated && type.base ? type.base : type;
      const values: number[] = [];
      const view = new DataView(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength);
      for (let index = 0; index < shown; index += 1) values.push(readNumber(view, index * type.size, numeric));
      return { ...base, value: { kind: 'numbers', values, count: count ?? 0 } };
    }
    return { ...base, value: { kind: 'other', count } };
  }

  private async readDataset(path: string, offset: number, messages: Hdf5Message[], attributes: Hdf5Attribute[]): Promise<Hdf5Dataset | null> {
    const where = `Dataset ${displayPath(path)}`;
    const first = (type: number) => messages.find((message) => message.type === type);
    let datatype: Hdf5Datatype | null = null;
    let shape: number[] | null = null;
    let elements: number | null = null;
    const dataset: Hdf5Dataset = {
      path,
      offset: offset + this.shift,
      kind: 'dataset',
      attributes,
      dtype: 'unknown',
      shape: null,
      layout: 'none',
      dataOffset: null,
      dataLength: null,
      logicalBytes: null,
      externalFiles: [],
      filtered: first(MESSAGE_TYPE.filterPipeline) !== undefined,
    };
    try {
      const typeMessage = first(MESSAGE_TYPE.datatype);
      if (typeMessage && typeMessage.flags & MESSAGE_FLAG_SHARED) {
        dataset.dtype = 'committed';
        this.report('hdf5.unsupported', typeMessage.offset, `${where} uses a committed (shared) datatype, which Preflight does not follow.`);
      } else if (typeMessage) {
        datatype = decodeDatatype(messageCursor(typeMessage));
        dataset.dtype = describeDatatype(datatype);
      }
      const spaceMessage = first(MESSAGE_TYPE.dataspace);
      if (spaceMessage) {
        const space = decodeDataspace(messageCursor(spaceMessage), this.io.sizes);
        shape = space.shape;
        elements = space.elements;
        dataset.shape = shape;
      }
    } catch (error) {
      this.reportError(error, where);
    }
    const elementSize = datatype === null ? null : datatype.class === DATATYPE_CLASS.variableLength ? 4 + this.io.sizes.offsetSize + 4 : datatype.size;
    dataset.logicalBytes = elements !== null && elementSize !== null && Number.isSafeInteger(elements * elementSize) ? elements * elementSize : null;

    try {
      const layoutMessage = first(MESSAGE_TYPE.layout);
      const layout = layoutMessage ? decodeLayout(layoutMessage, this.io.sizes) : null;
      if (layout?.kind === 'compact') {
        dataset.layout = 'compact';
        dataset.dataOffset = layout.offset + this.shift;
        dataset.dataLength = layout.size;
      } else if (layout?.kind === 'contiguous') {
        dataset.layout = 'contiguous';
        const size = layout.size ?? dataset.logicalBytes;
        if (layout.address !== UNDEFINED_ADDRESS && size !== null && !first(MESSAGE_TYPE.externalFiles)) {
          const start = this.io.baseAddress + layout.address;
          if (start + size > this.io.size || layout.address < 0) {
            this.report('hdf5.dataset.out-of-bounds', layoutMessage?.offset ?? offset, `${where} stores ${size} bytes at offset ${start}, past the end of the ${this.io.size}-byte file.`);
          } else {
            dataset.dataOffset = start + this.shift;
            dataset.dataLength = size;
          }
          if (dataset.logicalBytes !== null && size < dataset.logicalBytes) {
            this.report('hdf5.dataset.out-of-bounds', layoutMessage?.offset ?? offset, `${where} declares ${dataset.logicalBytes} bytes (${JSON.stringify(shape)} × ${elementSize}) but stores ${size}.`);
          }
        } else if (layout.address === UNDEFINED_ADDRESS && !first(MESSAGE_TYPE.externalFiles)) {
          // Never written: reading it gives fill values.
          dataset.dataLength = 0;
        }
      } else if (layout?.kind === 'chunked') {
        dataset.layout = 'chunked';
      } else if (layout?.kind === 'virtual') {
        dataset.layout = 'virtual';
        this.report('hdf5.dataset.external-storage', layoutMessage?.offset ?? offset, `${where} is a virtual dataset: its elements are mapped from other datasets, possibly in other files on the host that loads it.`, path);
      }
    } catch (error) {
      this.reportError(error, where);
    }

    const external = first(MESSAGE_TYPE.externalFiles);
    if (external) {
      try {
        const files = decodeExternalFiles(external, this.io.sizes, MAX_ATTRIBUTE_VALUES);
        for (const file of files.files) {
          const name = files.heapAddress === UNDEFINED_ADDRESS ? '?' : await this.heaps.localString(files.heapAddress, file.nameOffset, 4096);
          dataset.externalFiles.push({ name, offset: file.fileOffset, size: file.size });
        }
        const names = dataset.externalFiles.map((file) => JSON.stringify(file.name)).join(', ');
        this.report('hdf5.dataset.external-storage', external.offset, `${where} keeps its bytes in external files: ${names || '(none named)'}. Reading the dataset reads them from the host that loads the model.`, `${path}: ${names}`);
      } catch (error) {
        this.reportError(error, where);
      }
    }
    this.checkShapeBomb(dataset, where);
    return dataset;
  }

  private checkShapeBomb(dataset: Hdf5Dataset, where: string): void {
    const declared = dataset.logicalBytes ?? Number.POSITIVE_INFINITY;
    if (dataset.logicalBytes === null && dataset.shape === null) return;
    // A chunked dataset can store at most the file; a contiguous one stores its range.
    const stored = dataset.layout === 'contiguous' || dataset.layout === 'compact' ? (dataset.dataLength ?? 0) : this.io.size;
    if (declared > SHAPE_BOMB_MIN_BYTES && declared > SHAPE_BOMB_RATIO * Math.max(stored, 1)) {
      this.report(
        'hdf5.dataset.shape-bomb',
        dataset.offset - this.shift,
        `${where} declares ${dataset.logicalBytes ?? 'more than 2^53'} bytes (shape ${JSON.stringify(dataset.shape)}, ${dataset.dtype}) but stores at most ${stored}.`,
        `${dataset.path}: ${JSON.stringify(dataset.shape)} ${dataset.dtype}`,
      );
    }
  }
}

function cursorAt(bytes: Uint8Array, offset: number) {
  return messageCursor({ type: 0, flags: 0, offset, data: bytes });
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

function decodeText(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** A fixed-length string element: cut at the first NUL (null-terminated or null-padded), trailing spaces dropped (space-padded). */
function fixedString(bytes: Uint8Array, type: Hdf5Datatype, maxBytes: number): string {
  const nul = bytes.indexOf(0);
  let text = decodeText(bytes.subarray(0, Math.min(nul >= 0 ? nul : bytes.length, maxBytes)));
  if ((type.charset & 0x0f) !== 0 || text.endsWith(' ')) text = text.replace(/ +$/, '');
  return text;
}

function readNumber(view: DataView, at: number, type: Hdf5Datatype): number {
  const little = type.littleEndian;
  if (type.class === DATATYPE_CLASS.floatingPoint) {
    if (type.size === 4) return view.getFloat32(at, little);
    if (type.size === 8) return view.getFloat64(at, little);
    return Number.NaN;
  }
  switch (type.size) {
    case 1:
      return type.signed ? view.getInt8(at) : view.getUint8(at);
    case 2:
      return type.signed ? view.getInt16(at, little) : view.getUint16(at, little);
    case 4:
      return type.signed ? view.getInt32(at, little) : view.getUint32(at, little);
    default:
      return Number(type.signed ? view.getBigInt64(at, little) : view.getBigUint64(at, little));
  }
}

/** `/model_weights/dense`, `/` for the root. */
export function displayPath(path: string): string {
  return `/${path}`;
}
