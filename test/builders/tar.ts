/**
 * A small tar writer for tests: ustar headers (with a correct checksum unless
 * told otherwise), pax extended headers, GNU long names, data padded to 512
 * bytes and the two zero blocks at the end. Nothing is validated, on purpose.
 *
 *   tar(member('pickle', bytes), member('storages', raw, { typeflag: '2', linkName: '/etc/passwd' }))
 */
const BLOCK = 512;
const encoder = new TextEncoder();

export interface TarMemberSpec {
  name: string;
  data: Uint8Array;
  /** Typeflag character; default '0' (regular file). */
  typeflag?: string;
  linkName?: string;
  /** Size written in the header; default data.length. */
  declaredSize?: number | bigint;
  /** Write the size as GNU base-256 instead of octal. */
  base256Size?: boolean;
  /** Store a wrong checksum. */
  badChecksum?: boolean;
  /** ustar prefix field (the name is prefix + '/' + name). */
  prefix?: string;
}

function writeString(block: Uint8Array, offset: number, length: number, text: string): void {
  block.set(encoder.encode(text).subarray(0, length), offset);
}

function writeOctal(block: Uint8Array, offset: number, length: number, value: number | bigint): void {
  writeString(block, offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
}

/** One 512-byte header block. */
export function tarHeader(spec: Omit<TarMemberSpec, 'data'> & { size: number | bigint }): Uint8Array {
  const block = new Uint8Array(BLOCK);
  writeString(block, 0, 100, spec.name);
  writeOctal(block, 100, 8, 0o644);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  if (spec.base256Size) {
    let value = BigInt(spec.size);
    for (let index = 135; index > 124; index -= 1) {
      block[index] = Number(value & 0xffn);
      value >>= 8n;
    }
    block[124] = 0x80;
  } else {
    writeOctal(block, 124, 12, spec.size);
  }
  writeOctal(block, 136, 12, 0);
  block[156] = (spec.typeflag ?? '0').charCodeAt(0);
  writeString(block, 157, 100, spec.linkName ?? '');
  writeString(block, 257, 6, 'ustar\0');
  writeString(block, 263, 2, '00');
  writeString(block, 345, 155, spec.prefix ?? '');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  writeOctal(block, 148, 7, spec.badChecksum ? sum + 1 : sum);
  block[155] = 0x20;
  return block;
}

function padded(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.length / BLOCK) * BLOCK);
  out.set(data);
  return out;
}

/** Header and padded data of one member. */
export function member(name: string, data: Uint8Array | string, options: Omit<TarMemberSpec, 'name' | 'data'> = {}): Uint8Array {
  const bytes = typeof data === 'string' ? encoder.encode(data) : data;
  return join(tarHeader({ ...options, name, size: options.declaredSize ?? bytes.length }), padded(bytes));
}

/** A pax extended header ('x') carrying `records`, applying to the next member. */
export function paxHeader(records: Record<string, string>): Uint8Array {
  let body = '';
  for (const [key, value] of Object.entries(records)) {
    const text = ` ${key}=${value}\n`;
    const byteLength = (candidate: string) => encoder.encode(candidate).length;
    let length = byteLength(text) + 1;
    while (byteLength(`${length}${text}`) !== length) length += 1;
    body += `${length}${text}`;
  }
  return member('././@PaxHeader', body, { typeflag: 'x' });
}

/** A GNU long name header ('L') for the next member. */
export function gnuLongName(name: string): Uint8Array {
  return member('././@LongLink', `${name}\0`, { typeflag: 'L' });
}

/** The two zero blocks that end an archive. */
export function endOfArchive(): Uint8Array {
  return new Uint8Array(2 * BLOCK);
}

export function join(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Members then the end blocks. */
export function tar(...members: Uint8Array[]): Uint8Array {
  return join(...members, endOfArchive());
}
