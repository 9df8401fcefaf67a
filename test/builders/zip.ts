import { deflateSync } from 'fflate';
import { type ByteSource, DEFAULT_CHUNK_SIZE, clampRange } from '../../src/io/byte-source.ts';
import { crc32 } from '../../src/containers/zip-crc32.ts';

/**
 * Writes zip archives byte by byte, with every field open to a lie: names that
 * differ between headers, flags, CRCs, sizes, ZIP64 records, data descriptors,
 * entries placed at any offset. Parts are kept apart, so an archive whose
 * entries sit past 4 GiB costs only its headers: `source()` serves the gaps
 * as zeros without allocating them.
 */

export interface ZipEntrySpec {
  name: string;
  /** Content; strings are UTF-8. */
  data?: Uint8Array | string;
  /** 0 (default) stores `data`; 8 deflates it with fflate; anything else stores `data` under that method number. */
  method?: number;
  /** Bytes written as the entry's data, instead of `data` (compressed or not). */
  rawData?: Uint8Array;
  /** Raw name bytes (for NUL bytes or invalid UTF-8); default is `name` in UTF-8. */
  nameBytes?: Uint8Array;
  localName?: string;
  flags?: number;
  localFlags?: number;
  localMethod?: number;
  crc32?: number;
  compressedSize?: number;
  uncompressedSize?: number;
  /** Sets flag 0x8, zeroes the local CRC and sizes, writes a signed descriptor after the data. */
  dataDescriptor?: boolean;
  /** Writes 0xFFFFFFFF in the 32-bit fields and the real values in ZIP64 extra fields. */
  zip64?: boolean;
  externalAttributes?: number;
  versionMadeBy?: number;
  /** Absolute offset of the local header (must not go backwards); the gap is zeros. */
  offset?: number;
  /** Offset the central record points to, instead of the real one. */
  centralLocalHeaderOffset?: number;
  /** Leave this entry out of the central directory (a local-only entry). */
  omitFromCentral?: boolean;
}

export interface ZipBuildOptions {
  /** Bytes before the first local header. */
  prefix?: Uint8Array;
  comment?: string;
  /** Declared comment length, instead of the real one. */
  commentLength?: number;
  /** Bytes after the end record and comment. */
  trailing?: Uint8Array;
  /** Write no central directory and no end records. */
  omitCentralDirectory?: boolean;
  /** Write a ZIP64 end record and locator, with the 32-bit fields set to their markers. */
  zip64EndRecord?: boolean;
  /** Absolute offset of the central directory (must not go backwards); the gap is zeros. */
  centralDirectoryAt?: number;
  /** Declared values in the end record(s), instead of the real ones. */
  declaredEntryCount?: number;
  declaredCentralDirectorySize?: number;
  declaredCentralDirectoryOffset?: number;
  diskNumber?: number;
}

export interface BuiltEntryLayout {
  localHeaderOffset: number;
  dataOffset: number;
  dataLength: number;
  centralHeaderOffset: number | null;
  crc32: number;
}

export interface BuiltZip {
  size: number;
  parts: { offset: number; bytes: Uint8Array }[];
  entries: BuiltEntryLayout[];
  centralDirectoryOffset: number;
  centralDirectorySize: number;
  zip64EndRecordOffset: number | null;
  endRecordOffset: number | null;
  /** The archive as one array (only for archives that fit in memory). */
  bytes(): Uint8Array;
  /** The archive as a ByteSource; gaps between parts read as zeros. */
  source(name?: string): ByteSource;
}

const MARKER_32 = 0xffffffff;
const MARKER_16 = 0xffff;
const encoder = new TextEncoder();

/** Little-endian writer that grows as needed. */
export class ByteWriter {
  private buffer = new Uint8Array(256);
  private view = new DataView(this.buffer.buffer);
  length = 0;

  private reserve(count: number): void {
    if (this.length + count <= this.buffer.length) return;
    const next = new Uint8Array(Math.max(this.buffer.length * 2, this.length + count));
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
    this.view = new DataView(next.buffer);
  }

  u16(value: number): this {
    this.reserve(2);
    this.view.setUint16(this.length, value, true);
    this.length += 2;
    return this;
  }

  u32(value: number): this {
    this.reserve(4);
    this.view.setUint32(this.length, value >>> 0, true);
    this.length += 4;
    return this;
  }

  u64(value: number | bigint): this {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt(value), true);
    this.length += 8;
    return this;
  }

  bytes(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }

  toBytes(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

function zip64Extra(values: (number | bigint)[]): Uint8Array {
  const writer = new ByteWriter().u16(0x0001).u16(values.length * 8);
  for (const value of values) writer.u64(value);
  return writer.toBytes();
}

export function buildZip(specs: ZipEntrySpec[], options: ZipBuildOptions = {}): BuiltZip {
  const parts: { offset: number; bytes: Uint8Array }[] = [];
  let position = 0;
  const place = (bytes: Uint8Array, at?: number) => {
    if (at !== undefined) {
      if (at < position) throw new Error(`cannot place bytes at ${at}, already at ${position}`);
      position = at;
    }
    const offset = position;
    parts.push({ offset, bytes });
    position += bytes.length;
    return offset;
  };
  if (options.prefix) place(options.prefix);

  const layouts: BuiltEntryLayout[] = [];
  const centralRecords: Uint8Array[] = [];
  for (const spec of specs) {
    const content = typeof spec.data === 'string' ? utf8(spec.data) : (spec.data ?? new Uint8Array(0));
    const method = spec.method ?? 0;
    const stored = spec.rawData ?? (method === 8 ? deflateSync(content) : content);
    const crc = spec.crc32 ?? crc32(content);
    const compressedSize = spec.compressedSize ?? stored.length;
    const uncompressedSize = spec.uncompressedSize ?? content.length;
    const centralNameBytes = spec.nameBytes ?? utf8(spec.name);
    const localNameBytes = spec.localName !== undefined ? utf8(spec.localName) : centralNameBytes;
    const descriptorFlag = spec.dataDescriptor ? 0x8 : 0;
    const flags = (spec.flags ?? 0) | descriptorFlag;
    const localFlags = (spec.localFlags ?? spec.flags ?? 0) | descriptorFlag;
    const zip64 = spec.zip64 ?? false;

    const local = new ByteWriter()
      .u32(0x04034b50)
      .u16(zip64 ? 45 : 20)
      .u16(localFlags)
      .u16(spec.localMethod ?? method)
      .u16(0)
      .u16(0x21);
    // With a descriptor the sizes are not known yet: writers put zeros in the ZIP64 field (APPNOTE §4.3.9.2).
    const localExtra = zip64 ? zip64Extra(spec.dataDescriptor ? [0, 0] : [uncompressedSize, compressedSize]) : new Uint8Array(0);
    if (spec.dataDescriptor) {
      local.u32(0).u32(0).u32(0);
    } else {
      local.u32(crc).u32(zip64 ? MARKER_32 : compressedSize).u32(zip64 ? MARKER_32 : uncompressedSize);
    }
    local.u16(localNameBytes.length).u16(localExtra.length).bytes(localNameBytes).bytes(localExtra);
    const localBytes = local.toBytes();
    const localHeaderOffset = place(localBytes, spec.offset);
    const dataOffset = place(stored);
    if (spec.dataDescriptor) {
      const descriptor = new ByteWriter().u32(0x08074b50).u32(crc);
      if (zip64) descriptor.u64(compressedSize).u64(uncompressedSize);
      else descriptor.u32(compressedSize).u32(uncompressedSize);
      place(descriptor.toBytes());
    }

    const pointedOffset = spec.centralLocalHeaderOffset ?? localHeaderOffset;
    const centralExtra = zip64 ? zip64Extra([uncompressedSize, compressedSize, pointedOffset]) : new Uint8Array(0);
    const central = new ByteWriter()
      .u32(0x02014b50)
      .u16(spec.versionMadeBy ?? 0x031e)
      .u16(zip64 ? 45 : 20)
      .u16(flags)
      .u16(method)
      .u16(0)
      .u16(0x21)
      .u32(crc)
      .u32(zip64 ? MARKER_32 : compressedSize)
      .u32(zip64 ? MARKER_32 : uncompressedSize)
      .u16(centralNameBytes.length)
      .u16(centralExtra.length)
      .u16(0)
      .u16(0)
      .u16(0)
      .u32(spec.externalAttributes ?? (0o100644 << 16) >>> 0)
      .u32(zip64 ? MARKER_32 : pointedOffset)
      .bytes(centralNameBytes)
      .bytes(centralExtra);
    layouts.push({ localHeaderOffset, dataOffset, dataLength: stored.length, centralHeaderOffset: null, crc32: crc });
    if (!spec.omitFromCentral) centralRecords.push(central.toBytes());
  }

  const result: BuiltZip = {
    size: 0,
    parts,
    entries: layouts,
    centralDirectoryOffset: 0,
    centralDirectorySize: 0,
    zip64EndRecordOffset: null,
    endRecordOffset: null,
    bytes: () => toContiguous(parts, result.size),
    source: (name = 'test.zip') => createSparseSource(parts, result.size, name),
  };

  if (!options.omitCentralDirectory) {
    const directory = new ByteWriter();
    let recordIndex = 0;
    specs.forEach((spec, index) => {
      if (spec.omitFromCentral) return;
      layouts[index].centralHeaderOffset = directory.length;
      directory.bytes(centralRecords[recordIndex++]);
    });
    const directoryBytes = directory.toBytes();
    const directoryOffset = place(directoryBytes, options.centralDirectoryAt);
    for (const layout of layouts) if (layout.centralHeaderOffset !== null) layout.centralHeaderOffset += directoryOffset;
    result.centralDirectoryOffset = directoryOffset;
    result.centralDirectorySize = directoryBytes.length;

    const count = options.declaredEntryCount ?? centralRecords.length;
    const size = options.declaredCentralDirectorySize ?? directoryBytes.length;
    const offset = options.declaredCentralDirectoryOffset ?? directoryOffset;
    const disk = options.diskNumber ?? 0;
    const zip64 = options.zip64EndRecord || offset >= MARKER_32;
    if (zip64) {
      const record = new ByteWriter()
        .u32(0x06064b50)
        .u64(44)
        .u16(45)
        .u16(45)
        .u32(disk)
        .u32(disk)
        .u64(count)
        .u64(count)
        .u64(size)
        .u64(offset);
      const recordOffset = place(record.toBytes());
      place(new ByteWriter().u32(0x07064b50).u32(0).u64(recordOffset).u32(1).toBytes());
      result.zip64EndRecordOffset = recordOffset;
    }
    const comment = utf8(options.comment ?? '');
    const end = new ByteWriter()
      .u32(0x06054b50)
      .u16(zip64 ? MARKER_16 : disk)
      .u16(zip64 ? MARKER_16 : disk)
      .u16(zip64 ? MARKER_16 : count)
      .u16(zip64 ? MARKER_16 : count)
      .u32(zip64 ? MARKER_32 : size)
      .u32(zip64 ? MARKER_32 : offset)
      .u16(options.commentLength ?? comment.length)
      .bytes(comment);
    result.endRecordOffset = place(end.toBytes());
  }
  if (options.trailing) place(options.trailing);
  result.size = position;
  return result;
}

function toContiguous(parts: { offset: number; bytes: Uint8Array }[], size: number): Uint8Array {
  if (size > 256 * 1024 * 1024) throw new Error(`archive of ${size} bytes is too large to lay out in memory; use source()`);
  const bytes = new Uint8Array(size);
  for (const part of parts) bytes.set(part.bytes, part.offset);
  return bytes;
}

/** A ByteSource of `size` bytes: the parts where they are, zeros elsewhere, nothing allocated for the gaps. */
export function createSparseSource(parts: { offset: number; bytes: Uint8Array }[], size: number, name: string): ByteSource {
  const read = async (offset: number, length: number) => {
    const [start, end] = clampRange(size, offset, length);
    const result = new Uint8Array(Math.max(0, end - start));
    for (const part of parts) {
      const from = Math.max(start, part.offset);
      const to = Math.min(end, part.offset + part.bytes.length);
      if (to > from) result.set(part.bytes.subarray(from - part.offset, to - part.offset), from - start);
    }
    return result;
  };
  return {
    name,
    size,
    read,
    async *chunks(options = {}) {
      const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
      for (let offset = 0; offset < size; offset += chunkSize) yield await read(offset, chunkSize);
    },
  };
}

/**
 * A raw deflate stream of zeros at deflate's best ratio, written by hand: one
 * fixed-Huffman block holding a literal 0 and then `matchCount` copies of
 * <length 258, distance 1> (13 bits each), so 13 bytes decode to 2064. The
 * stream decodes to `1 + 258 × matchCount` bytes; 8 million matches give
 * ~2 GiB from ~13 MiB, which no test could afford to decode whole.
 */
export function deflateZerosBomb(matchCount: number): { compressed: Uint8Array; decodedSize: number } {
  const bits = new BitWriter(Math.ceil((3 + 8 + matchCount * 13 + 7) / 8) + 8);
  bits.write(1, 1); // BFINAL
  bits.write(1, 2); // BTYPE 01: fixed Huffman
  bits.writeHuffman(0x30, 8); // literal 0
  for (let index = 0; index < matchCount; index++) {
    bits.writeHuffman(0xc5, 8); // length code 285: 258 bytes
    bits.writeHuffman(0, 5); // distance code 0: distance 1
  }
  bits.writeHuffman(0, 7); // end of block (256)
  return { compressed: bits.finish(), decodedSize: 1 + 258 * matchCount };
}

/** Deflate's bit order: fields least significant bit first, Huffman codes most significant bit first. */
class BitWriter {
  private readonly bytes: Uint8Array;
  private bitPosition = 0;

  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
  }

  write(value: number, count: number): void {
    for (let bit = 0; bit < count; bit++) {
      if ((value >>> bit) & 1) this.bytes[this.bitPosition >>> 3] |= 1 << (this.bitPosition & 7);
      this.bitPosition++;
    }
  }

  writeHuffman(code: number, count: number): void {
    let reversed = 0;
    for (let bit = 0; bit < count; bit++) reversed |= ((code >>> bit) & 1) << (count - 1 - bit);
    this.write(reversed, count);
  }

  finish(): Uint8Array {
    return this.bytes.slice(0, Math.ceil(this.bitPosition / 8));
  }
}
