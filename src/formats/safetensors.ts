/**
 * safetensors: https://github.com/huggingface/safetensors (README, "Format").
 *
 * A file is a u64 little-endian header length N, N bytes of UTF-8 JSON (right
 * padded with spaces), then one data region. The JSON maps each tensor name to
 * `{dtype, shape, data_offsets: [begin, end]}` (offsets relative to the data
 * region) plus an optional `__metadata__` object of strings.
 *
 * Threat surface: the format carries no code, so the risks are in the header.
 * A hostile length makes a loader allocate or parse without bound; equal keys
 * are resolved differently by different JSON parsers, so a reviewer's tool and
 * a loader can see different tensors; offsets that overlap, leave gaps, point
 * outside the file or leave bytes after the last tensor alias weights or hide
 * a payload (an appended pickle or archive) in a file that looks "safe"; shapes
 * whose size overflows mis-size buffers. Every check below mirrors a rule the
 * reference loader enforces, so a clean verdict means the library would accept
 * the file, and every violation is its own finding with its byte offset.
 *
 * The header is read by a strict JSON reader of our own rather than JSON.parse:
 * JSON.parse hides repeated keys and how numbers were written (`1.0`, `1e3`),
 * both of which matter here, and one pass that keeps key positions is several
 * times faster on headers of 100,000 tensors than JSON.parse plus a second walk.
 */
import { throwIfAborted, type ByteSource } from '../io/byte-source.ts';
import type { Finding, MetadataValue, TensorInfo } from '../report/types.ts';
import { createFinding, type FindingInput, type RuleId } from '../rules/index.ts';
import type { FormatModule, InspectContext, Inspection } from './types.ts';

/** The reference library's own limit: a larger header is refused and would cost that much memory to parse (CWE-400). */
export const MAX_HEADER_BYTES = 100_000_000;
/** Bounds the tensor table in the report (CWE-770); real checkpoints hold tens of thousands per file at most. */
export const MAX_TENSORS = 1_000_000;
/** NumPy caps arrays at 64 dimensions; a deeper shape is not a real tensor and only inflates sizes (CWE-770). */
export const MAX_RANK = 64;
/** The nesting serde_json (the reference loader's parser) accepts; deeper would recurse without bound here (CWE-674). */
export const MAX_JSON_DEPTH = 128;
/** A header of a million broken entries must not become a million-row report (CWE-770). */
export const MAX_FINDINGS_PER_RULE = 100;
/** Evidence is an excerpt of the header, never a copy of it. */
export const MAX_EVIDENCE_CHARS = 240;
/** Observed strings (names, dtypes) are quoted in details up to this length. */
const MAX_QUOTED_CHARS = 120;

/** The limits above as one value, so tests can reach them with small inputs. */
export interface SafetensorsLimits {
  maxHeaderBytes: number;
  maxTensors: number;
  maxRank: number;
  maxFindingsPerRule: number;
}

export const SAFETENSORS_LIMITS: Readonly<SafetensorsLimits> = Object.freeze({
  maxHeaderBytes: MAX_HEADER_BYTES,
  maxTensors: MAX_TENSORS,
  maxRank: MAX_RANK,
  maxFindingsPerRule: MAX_FINDINGS_PER_RULE,
});

/** Bytes of the u64 header length at offset 0. */
const LENGTH_FIELD_BYTES = 8;
const METADATA_KEY = '__metadata__';
/** The reference loader computes sizes in u64; anything above overflows there. */
const U64_MAX = (1n << 64n) - 1n;

/**
 * Bits per element of every dtype the safetensors library (0.8) knows, in its
 * own order. F4 and F6 are sub-byte: a tensor of them must fill whole bytes.
 */
export const SAFETENSORS_DTYPE_BITS: Readonly<Record<string, number>> = Object.freeze({
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  F8_E4M3FNUZ: 8,
  F8_E5M2FNUZ: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
});

const DTYPE_BITS = new Map(Object.entries(SAFETENSORS_DTYPE_BITS));

/**
 * Entry fields the reference loader reads as unsigned integers, as bits: it
 * refuses `1.0`, `1e3` or `-0` where JSON.parse quietly yields 1, 1000 and 0.
 */
const INTEGER_FIELD_BITS: Readonly<Record<string, number>> = Object.freeze({ shape: 1, data_offsets: 2 });

const CHAR = {
  tab: 0x09,
  newline: 0x0a,
  carriageReturn: 0x0d,
  space: 0x20,
  quote: 0x22,
  plus: 0x2b,
  comma: 0x2c,
  minus: 0x2d,
  dot: 0x2e,
  zero: 0x30,
  one: 0x31,
  nine: 0x39,
  colon: 0x3a,
  upperE: 0x45,
  openBracket: 0x5b,
  backslash: 0x5c,
  closeBracket: 0x5d,
  lowerE: 0x65,
  openBrace: 0x7b,
  closeBrace: 0x7d,
} as const;

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * A safetensors inspector with other limits than the defaults: for tests,
 * which reach a limit with a small file instead of a million tensors.
 */
export function createSafetensorsFormat(limits: Partial<SafetensorsLimits> = {}): FormatModule {
  const resolved: SafetensorsLimits = { ...SAFETENSORS_LIMITS, ...limits };
  return {
    id: 'safetensors',
    label: 'safetensors',
    extensions: ['.safetensors'],
    detect: detectSafetensors,
    inspect: (source, context) => inspectSafetensors(source, context, resolved),
  };
}

/** The safetensors inspector: header bounds, JSON, duplicate keys, entries, layout of the data region. */
export const safetensorsFormat: FormatModule = createSafetensorsFormat();

function detectSafetensors(head: Uint8Array): boolean {
  // The header starts with `{`; the length before it may be absurd (that is a finding, not another format).
  if (head.length < LENGTH_FIELD_BYTES + 1 || head[LENGTH_FIELD_BYTES] !== CHAR.openBrace) return false;
  // Eight text characters are a JSON or text file whose ninth character happens to be `{`, not a length.
  return !head.subarray(0, LENGTH_FIELD_BYTES).every(isTextByte);
}

async function inspectSafetensors(
  source: ByteSource,
  context: InspectContext,
  limits: SafetensorsLimits,
): Promise<Inspection> {
  const findings = createFindingCollector(limits.maxFindingsPerRule);
  const inspection = (tensors: TensorInfo[] = [], metadata: Record<string, MetadataValue> = {}): Inspection => ({
    tensors,
    metadata,
    findings: findings.finish(),
  });

  if (source.size < LENGTH_FIELD_BYTES) {
    findings.add('safetensors.header.truncated', {
      detail: `file has ${source.size} bytes but the header length field needs ${LENGTH_FIELD_BYTES} at offset 0`,
      location: { offset: 0, length: source.size },
    });
    return inspection();
  }
  const prefix =
    context.head.length >= LENGTH_FIELD_BYTES ? context.head : await source.read(0, LENGTH_FIELD_BYTES);
  const declared = new DataView(prefix.buffer, prefix.byteOffset, LENGTH_FIELD_BYTES).getBigUint64(0, true);
  const available = source.size - LENGTH_FIELD_BYTES;
  let bounded = true;
  if (declared > BigInt(limits.maxHeaderBytes)) {
    bounded = false;
    findings.add('safetensors.header.too-large', {
      detail: `header length ${declared} exceeds ${limits.maxHeaderBytes} at offset 0`,
      location: { offset: 0, length: LENGTH_FIELD_BYTES },
    });
  }
  if (declared > BigInt(available)) {
    bounded = false;
    findings.add('safetensors.header.beyond-file', {
      detail: `header length ${declared} exceeds the ${available} bytes after the length field (file size ${source.size}) at offset 0`,
      location: { offset: 0, length: LENGTH_FIELD_BYTES },
    });
  }
  if (!bounded) return inspection();

  const headerLength = Number(declared);
  throwIfAborted(context.signal);
  const headerBytes = await source.read(LENGTH_FIELD_BYTES, headerLength);
  if (headerBytes.length !== headerLength) {
    findings.add('safetensors.header.truncated', {
      detail: `header of ${headerLength} bytes at offset ${LENGTH_FIELD_BYTES} could only be read up to ${headerBytes.length} bytes (the file changed?)`,
      location: { offset: LENGTH_FIELD_BYTES, length: headerLength },
    });
    return inspection();
  }

  const header = parseHeader(headerBytes, findings);
  if (!header) return inspection();
  const dataStart = LENGTH_FIELD_BYTES + headerLength;
  const result = inspectEntries(header, dataStart, source.size - dataStart, findings, limits);
  return inspection(result.tensors, result.metadata);
}

// ---------------------------------------------------------------------------
// Header: UTF-8, then strict JSON read in one pass, keeping where each key sits.

/** The decoded header and a way back from its character indexes to file offsets. */
class HeaderText {
  private checkpoints: Int32Array | null = null;
  private static readonly CHECKPOINT_EVERY = 4096;

  constructor(
    readonly text: string,
    private readonly byteLength: number,
  ) {}

  /** File offset of the character at `index` (UTF-8 bytes before it, plus the length field). */
  fileOffset(index: number): number {
    if (this.text.length === this.byteLength) return LENGTH_FIELD_BYTES + index;
    // Non-ASCII header: byte offsets are counted once per 4096 characters, on first need.
    const every = HeaderText.CHECKPOINT_EVERY;
    if (!this.checkpoints) {
      const length = this.text.length;
      this.checkpoints = new Int32Array(Math.floor(length / every) + 1);
      let bytes = 0;
      for (let at = 0; at <= length; at++) {
        if (at % every === 0) this.checkpoints[at / every] = bytes;
        if (at < length) bytes += utf8Length(this.text.charCodeAt(at));
      }
    }
    const slot = Math.floor(Math.min(index, this.text.length) / every);
    let bytes = this.checkpoints[slot];
    for (let at = slot * every; at < index; at++) bytes += utf8Length(this.text.charCodeAt(at));
    return LENGTH_FIELD_BYTES + bytes;
  }

  /** The header text from `start` to `end`, cut to MAX_EVIDENCE_CHARS. */
  excerpt(start: number, end: number): string {
    return end - start > MAX_EVIDENCE_CHARS ? `${this.text.slice(start, start + MAX_EVIDENCE_CHARS)}…` : this.text.slice(start, end);
  }
}

/** UTF-8 bytes of one UTF-16 code unit; a surrogate pair counts 2 + 2, which is its 4 bytes. */
function utf8Length(code: number): number {
  if (code < 0x80) return 1;
  if (code < 0x800 || (code >= 0xd800 && code <= 0xdfff)) return 2;
  return 3;
}

interface ParsedHeader {
  text: HeaderText;
  members: HeaderMember[];
}

/** One `"key": value` of the top-level object; indexes are characters of the header text. */
interface HeaderMember {
  key: string;
  keyIndex: number;
  valueIndex: number;
  /** Index just past the value. */
  end: number;
  /** A TensorEntryFields for a tensor entry that is an object, else the JSON value as read. */
  value: unknown;
  /** Fields of an object value that appear more than once. */
  duplicateFields: DuplicateField[] | null;
  /** INTEGER_FIELD_BITS of fields whose numbers are written with a sign, fraction or exponent. */
  unplainNumbers: number;
}

/**
 * The fields of a tensor entry object that mean something (the last of equal
 * ones); others are read and dropped, as the reference loader ignores them.
 * One fixed shape for every entry keeps 100,000 of them cheap.
 */
class TensorEntryFields {
  dtype: unknown = undefined;
  shape: unknown = undefined;
  data_offsets: unknown = undefined;
}

interface DuplicateField {
  name: string;
  index: number;
  firstIndex: number;
}

function parseHeader(bytes: Uint8Array, findings: FindingCollector): ParsedHeader | null {
  const invalidAt = firstInvalidUtf8(bytes);
  if (invalidAt >= 0) {
    findings.add('safetensors.header.invalid-utf8', {
      detail: `byte 0x${bytes[invalidAt].toString(16).padStart(2, '0')} at offset ${LENGTH_FIELD_BYTES + invalidAt} does not start a valid UTF-8 sequence`,
      location: { offset: LENGTH_FIELD_BYTES + invalidAt, length: 1 },
    });
    return null;
  }
  const text = new HeaderText(utf8.decode(bytes), bytes.length);
  const reader = new StrictJsonReader(text.text);
  try {
    reader.skipWhitespace();
    if (reader.peek() !== CHAR.openBrace) {
      const root = reader.document();
      findings.add('safetensors.header.not-object', {
        detail: `header at offset ${LENGTH_FIELD_BYTES} is ${describeValue(root)}, not an object`,
        location: { offset: LENGTH_FIELD_BYTES, length: bytes.length },
      });
      return null;
    }
    const members = readMembers(reader);
    reader.skipWhitespace();
    if (!reader.atEnd()) reader.fail('text after the header object');
    return { text, members };
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    const offset = text.fileOffset(error.index);
    findings.add('safetensors.header.invalid-json', {
      detail: `header of ${bytes.length} bytes at offset ${LENGTH_FIELD_BYTES} is not JSON: ${error.message} at offset ${offset}`,
      location: { offset, length: LENGTH_FIELD_BYTES + bytes.length - offset },
      evidence: text.excerpt(Math.max(0, error.index - 40), error.index + 40),
    });
    return null;
  }
}

/** The top-level object at the reader's position: every key in order, equal keys included. */
function readMembers(reader: StrictJsonReader): HeaderMember[] {
  const members: HeaderMember[] = [];
  const fieldNames = new FieldNames();
  reader.expect(CHAR.openBrace, '{');
  reader.skipWhitespace();
  if (reader.peek() === CHAR.closeBrace) {
    reader.expect(CHAR.closeBrace, '}');
    return members;
  }
  for (;;) {
    const keyIndex = reader.position;
    const key = reader.key();
    reader.skipWhitespace();
    reader.expect(CHAR.colon, ':');
    reader.skipWhitespace();
    const member: HeaderMember = {
      key,
      keyIndex,
      valueIndex: reader.position,
      end: 0,
      value: undefined,
      duplicateFields: null,
      unplainNumbers: 0,
    };
    const isObject = reader.peek() === CHAR.openBrace;
    member.value = isObject ? readEntryObject(reader, member, fieldNames, key === METADATA_KEY) : reader.value(1);
    member.end = reader.position;
    members.push(member);
    reader.skipWhitespace();
    if (!reader.separator(CHAR.closeBrace, '}')) return members;
  }
}

/**
 * A tensor entry (as TensorEntryFields) or `__metadata__` (as an object
 * without prototype): like any object, but repeated fields are recorded (not
 * silently overwritten) and so are integers written as `1.0`.
 */
function readEntryObject(
  reader: StrictJsonReader,
  member: HeaderMember,
  fieldNames: FieldNames,
  isMetadata: boolean,
): TensorEntryFields | Record<string, unknown> {
  const entry: Record<string, unknown> = isMetadata ? Object.create(null) : new TensorEntryFields();
  fieldNames.clear();
  reader.expect(CHAR.openBrace, '{');
  reader.skipWhitespace();
  if (reader.peek() === CHAR.closeBrace) {
    reader.expect(CHAR.closeBrace, '}');
    return entry;
  }
  for (;;) {
    const fieldIndex = reader.position;
    const name = reader.key();
    const firstIndex = fieldNames.add(name, fieldIndex);
    if (firstIndex !== undefined) (member.duplicateFields ??= []).push({ name, index: fieldIndex, firstIndex });
    reader.skipWhitespace();
    reader.expect(CHAR.colon, ':');
    reader.skipWhitespace();
    reader.unplainNumber = false;
    const value = reader.value(2);
    if (isMetadata || Object.hasOwn(entry, name)) entry[name] = value;
    if (reader.unplainNumber && Object.hasOwn(INTEGER_FIELD_BITS, name)) member.unplainNumbers |= INTEGER_FIELD_BITS[name];
    reader.skipWhitespace();
    if (!reader.separator(CHAR.closeBrace, '}')) return entry;
  }
}

/** Index of the last `field` of the object value of `member`; read again only when a finding needs it. */
function findFieldIndex(text: HeaderText, member: HeaderMember, field: string): number | undefined {
  const reader = new StrictJsonReader(text.text, member.valueIndex);
  if (reader.peek() !== CHAR.openBrace) return undefined;
  let found: number | undefined;
  reader.expect(CHAR.openBrace, '{');
  reader.skipWhitespace();
  while (reader.peek() === CHAR.quote) {
    const fieldIndex = reader.position;
    if (reader.key() === field) found = fieldIndex;
    reader.skipWhitespace();
    reader.expect(CHAR.colon, ':');
    reader.skipWhitespace();
    reader.value(2);
    reader.skipWhitespace();
    if (!reader.separator(CHAR.closeBrace, '}')) break;
  }
  return found;
}

/**
 * The field names of one object, reused from object to object: a few names
 * are compared in a list, many go to a Map, so an object of a million fields
 * stays linear and the usual three-field entry allocates nothing.
 */
class FieldNames {
  private static readonly LIST_LIMIT = 16;
  private readonly names: string[] = [];
  private readonly indexes: number[] = [];
  private count = 0;
  private map: Map<string, number> | null = null;

  clear(): void {
    this.count = 0;
    this.map = null;
  }

  /** Records `name` at `index`; returns the index of an earlier equal name, if any. */
  add(name: string, index: number): number | undefined {
    if (this.map) {
      const first = this.map.get(name);
      if (first === undefined) this.map.set(name, index);
      return first;
    }
    for (let slot = 0; slot < this.count; slot++) {
      if (this.names[slot] === name) return this.indexes[slot];
    }
    this.names[this.count] = name;
    this.indexes[this.count] = index;
    this.count++;
    if (this.count > FieldNames.LIST_LIMIT) {
      this.map = new Map();
      for (let slot = 0; slot < this.count; slot++) this.map.set(this.names[slot], this.indexes[slot]);
    }
    return undefined;
  }
}

/** A JSON syntax error at a character index of the header. */
class JsonSyntaxError extends Error {
  constructor(
    readonly index: number,
    message: string,
  ) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

/**
 * RFC 8259 JSON, read strictly: what it accepts is exactly what JSON.parse
 * accepts (a test holds it to that), with the same values, except that objects
 * have no prototype (so a `__proto__` key is plain data) and nesting stops at
 * MAX_JSON_DEPTH. Recursion is bounded by that depth.
 */
export class StrictJsonReader {
  /** Set whenever a number is written with a sign, fraction or exponent; callers reset it. */
  unplainNumber = false;

  constructor(
    readonly text: string,
    public position = 0,
  ) {}

  /** The whole text as one JSON value, surrounded by whitespace only. */
  document(): unknown {
    this.skipWhitespace();
    const value = this.value(0);
    this.skipWhitespace();
    if (!this.atEnd()) this.fail('text after the JSON value');
    return value;
  }

  value(depth: number): unknown {
    const code = this.peek();
    if (code === CHAR.openBrace) return this.object(depth + 1);
    if (code === CHAR.openBracket) return this.array(depth + 1);
    if (code === CHAR.quote) return this.string();
    if (code === CHAR.minus || isDigit(code)) return this.number();
    if (code === 0x74) return this.literal('true', true);
    if (code === 0x66) return this.literal('false', false);
    if (code === 0x6e) return this.literal('null', null);
    return this.fail(Number.isNaN(code) ? 'unexpected end of text' : `unexpected character ${JSON.stringify(this.text[this.position])}`);
  }

  /** An object key: a string, with a clearer error when something else stands there. */
  key(): string {
    if (this.peek() !== CHAR.quote) this.fail('expected a string key');
    return this.string();
  }

  string(): string {
    const text = this.text;
    const start = this.position;
    let index = start + 1;
    let escaped = false;
    for (;;) {
      if (index >= text.length) this.fail('unterminated string', start);
      const code = text.charCodeAt(index);
      if (code === CHAR.quote) break;
      if (code < CHAR.space) this.fail('control character in a string', index);
      if (code === CHAR.backslash) {
        escaped = true;
        index += 2;
      } else {
        index++;
      }
    }
    this.position = index + 1;
    if (!escaped) return text.slice(start + 1, index);
    try {
      // Escapes are rare in headers: the engine decodes them, exactly as JSON.parse would.
      return JSON.parse(text.slice(start, index + 1)) as string;
    } catch {
      return this.fail('invalid escape in a string', start);
    }
  }

  number(): number {
    const text = this.text;
    const start = this.position;
    let index = start;
    let plain = true;
    if (text.charCodeAt(index) === CHAR.minus) {
      plain = false;
      index++;
    }
    const first = text.charCodeAt(index);
    if (first === CHAR.zero) {
      index++;
    } else if (first >= CHAR.one && first <= CHAR.nine) {
      while (isDigit(text.charCodeAt(index))) index++;
    } else {
      this.fail('invalid number', start);
    }
    if (text.charCodeAt(index) === CHAR.dot) {
      plain = false;
      index++;
      if (!isDigit(text.charCodeAt(index))) this.fail('invalid number', start);
      while (isDigit(text.charCodeAt(index))) index++;
    }
    const exponent = text.charCodeAt(index);
    if (exponent === CHAR.lowerE || exponent === CHAR.upperE) {
      plain = false;
      index++;
      const sign = text.charCodeAt(index);
      if (sign === CHAR.plus || sign === CHAR.minus) index++;
      if (!isDigit(text.charCodeAt(index))) this.fail('invalid number', start);
      while (isDigit(text.charCodeAt(index))) index++;
    }
    this.position = index;
    if (!plain) {
      this.unplainNumber = true;
      return Number(text.slice(start, index));
    }
    // Up to 15 digits, accumulating is exact; longer numbers round as JSON.parse rounds them.
    if (index - start > 15) return Number(text.slice(start, index));
    let value = 0;
    for (let at = start; at < index; at++) value = value * 10 + (text.charCodeAt(at) - CHAR.zero);
    return value;
  }

  skipWhitespace(): void {
    const text = this.text;
    let index = this.position;
    while (index < text.length) {
      const code = text.charCodeAt(index);
      if (code !== CHAR.space && code !== CHAR.tab && code !== CHAR.newline && code !== CHAR.carriageReturn) break;
      index++;
    }
    this.position = index;
  }

  /** Consumes `,` (true: another item follows) or the closing character (false). */
  separator(close: number, closeText: string): boolean {
    const code = this.peek();
    if (code === CHAR.comma) {
      this.position++;
      this.skipWhitespace();
      return true;
    }
    this.expect(close, `, or ${closeText}`);
    return false;
  }

  expect(code: number, what: string): void {
    if (this.peek() !== code) this.fail(`expected ${what}`);
    this.position++;
  }

  peek(): number {
    return this.text.charCodeAt(this.position);
  }

  atEnd(): boolean {
    return this.position >= this.text.length;
  }

  fail(message: string, index = this.position): never {
    throw new JsonSyntaxError(index, message);
  }

  private object(depth: number): Record<string, unknown> {
    if (depth > MAX_JSON_DEPTH) this.fail(`nesting deeper than ${MAX_JSON_DEPTH}`);
    // No prototype: a `__proto__` key is stored as data, not as the object's prototype.
    const result: Record<string, unknown> = Object.create(null);
    this.position++;
    this.skipWhitespace();
    if (this.peek() === CHAR.closeBrace) {
      this.position++;
      return result;
    }
    for (;;) {
      const key = this.key();
      this.skipWhitespace();
      this.expect(CHAR.colon, ':');
      this.skipWhitespace();
      result[key] = this.value(depth);
      this.skipWhitespace();
      if (!this.separator(CHAR.closeBrace, '}')) return result;
    }
  }

  private array(depth: number): unknown[] {
    if (depth > MAX_JSON_DEPTH) this.fail(`nesting deeper than ${MAX_JSON_DEPTH}`);
    const result: unknown[] = [];
    this.position++;
    this.skipWhitespace();
    if (this.peek() === CHAR.closeBracket) {
      this.position++;
      return result;
    }
    for (;;) {
      result.push(this.value(depth));
      this.skipWhitespace();
      if (!this.separator(CHAR.closeBracket, ']')) return result;
    }
  }

  private literal<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.position)) this.fail(`invalid literal, expected ${word}`);
    this.position += word.length;
    return value;
  }
}

function isDigit(code: number): boolean {
  return code >= CHAR.zero && code <= CHAR.nine;
}

/** Offset of the first byte that does not start a well-formed UTF-8 sequence (RFC 3629), or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let index = 0;
  while (index < bytes.length) {
    const lead = bytes[index];
    if (lead < 0x80) {
      index++;
      continue;
    }
    let continuation: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
      continuation = 1;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      continuation = 2;
      if (lead === 0xe0) low = 0xa0; // overlong
      if (lead === 0xed) high = 0x9f; // UTF-16 surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      continuation = 3;
      if (lead === 0xf0) low = 0x90; // overlong
      if (lead === 0xf4) high = 0x8f; // above U+10FFFF
    } else {
      return index;
    }
    if (index + continuation >= bytes.length) return index;
    const second = bytes[index + 1];
    if (second < low || second > high) return index;
    for (let next = 2; next <= continuation; next++) {
      if ((bytes[index + next] & 0xc0) !== 0x80) return index;
    }
    index += continuation + 1;
  }
  return -1;
}

// ---------------------------------------------------------------------------
// Entries: duplicates, each tensor entry, `__metadata__`, then the data layout.

/** What every entry check needs: the header text, where findings go, and the limits. */
interface EntryScope {
  text: HeaderText;
  findings: FindingCollector;
  limits: SafetensorsLimits;
}

/** A tensor entry whose `data_offsets` are usable, relative to the data region. */
interface TensorSpan {
  member: HeaderMember;
  begin: number;
  end: number;
  /** Present when the whole entry is well formed; `offset` still relative to the data region. */
  tensor: TensorInfo | null;
}

interface EntriesResult {
  tensors: TensorInfo[];
  metadata: Record<string, MetadataValue>;
}

function inspectEntries(
  header: ParsedHeader,
  dataStart: number,
  dataLength: number,
  findings: FindingCollector,
  limits: SafetensorsLimits,
): EntriesResult {
  const { members, text } = header;
  const scope: EntryScope = { text, findings, limits };
  const shadowed = findDuplicateKeys(header, findings);
  for (const member of members) {
    for (const duplicate of member.duplicateFields ?? []) {
      findings.add('safetensors.entry.duplicate-field', {
        detail: `field ${quote(duplicate.name)} of ${quote(member.key)} at offset ${text.fileOffset(duplicate.index)} repeats the one at offset ${text.fileOffset(duplicate.firstIndex)}`,
        location: { offset: text.fileOffset(duplicate.index) },
        evidence: text.excerpt(member.keyIndex, member.end),
      });
    }
  }

  const tensors: TensorInfo[] = [];
  const spans: TensorSpan[] = [];
  let metadata: Record<string, MetadataValue> = {};
  let tensorCount = 0;
  for (let index = 0; index < members.length; index++) {
    // The loader sees only the last of equal keys (reported above); so do we.
    if (shadowed.has(index)) continue;
    const member = members[index];
    if (member.key === METADATA_KEY) {
      metadata = readMetadata(member, scope);
      continue;
    }
    tensorCount++;
    const span = readTensorEntry(member, scope);
    if (span === null) continue;
    spans.push(span);
    if (span.tensor && tensors.length < limits.maxTensors) {
      span.tensor.offset += dataStart;
      tensors.push(span.tensor);
    }
  }
  if (tensorCount > limits.maxTensors) {
    findings.add('safetensors.tensors.too-many', {
      detail: `header at offset ${LENGTH_FIELD_BYTES} lists ${tensorCount} tensors, above the limit of ${limits.maxTensors}; only the first ${limits.maxTensors} are shown`,
      location: { offset: LENGTH_FIELD_BYTES, length: dataStart - LENGTH_FIELD_BYTES },
    });
  }
  checkLayout(spans, dataStart, dataLength, scope);
  return { tensors, metadata };
}

/**
 * Reports every key that repeats an earlier one and returns the indexes of the
 * members a loader never sees: all but the last of equal keys, since the
 * safetensors library (like JSON.parse) keeps the last.
 */
function findDuplicateKeys(header: ParsedHeader, findings: FindingCollector): Set<number> {
  const { members, text } = header;
  const shadowed = new Set<number>();
  const lastIndexByKey = new Map<string, number>();
  for (let index = 0; index < members.length; index++) {
    const member = members[index];
    const earlier = lastIndexByKey.get(member.key);
    if (earlier !== undefined) {
      shadowed.add(earlier);
      findings.add('safetensors.header.duplicate-key', {
        detail: `key ${quote(member.key)} at offset ${text.fileOffset(member.keyIndex)} repeats the one at offset ${text.fileOffset(members[earlier].keyIndex)}; JSON.parse and the safetensors library keep the last, other parsers the first`,
        location: { offset: text.fileOffset(member.keyIndex), length: text.fileOffset(member.end) - text.fileOffset(member.keyIndex) },
        evidence: text.excerpt(member.keyIndex, member.end),
      });
    }
    lastIndexByKey.set(member.key, index);
  }
  return shadowed;
}

/**
 * A finding about `member`, located at its `field` when that is there, else
 * at its key; the detail reads "<subject> at offset N <predicate>".
 */
function reportEntry(
  scope: EntryScope,
  member: HeaderMember,
  rule: RuleId,
  predicate: string,
  field?: string,
  subject = `tensor ${quote(member.key)}`,
): void {
  if (scope.findings.isFull(rule)) {
    scope.findings.add(rule, null);
    return;
  }
  const { text } = scope;
  const fieldIndex = field === undefined ? undefined : findFieldIndex(text, member, field);
  const offset = text.fileOffset(fieldIndex ?? member.keyIndex);
  scope.findings.add(rule, {
    detail: `${subject} at offset ${offset} ${predicate}`,
    location: fieldIndex === undefined ? { offset, length: text.fileOffset(member.end) - offset } : { offset },
    evidence: text.excerpt(member.keyIndex, member.end),
  });
}

/** Checks one tensor entry; null when its `data_offsets` are unusable, else its range (and the tensor when well formed). */
function readTensorEntry(member: HeaderMember, scope: EntryScope): TensorSpan | null {
  const value = member.value;
  if (!(value instanceof TensorEntryFields)) {
    reportEntry(scope, member, 'safetensors.entry.not-object', `is ${describeValue(value)}, not an object`, undefined, `entry ${quote(member.key)}`);
    return null;
  }
  const bits = readDtypeBits(value.dtype, member, scope);
  const shape = readShape(value.shape, member, scope);
  const offsets = readOffsets(value.data_offsets, member, scope);
  if (offsets === null) return null;
  const [begin, end] = offsets;
  if (bits === null || shape === null) return { member, begin, end, tensor: null };
  const dtype = value.dtype as string;
  checkSize(dtype, bits, shape, begin, end, member, scope);
  return { member, begin, end, tensor: { name: member.key, dtype, shape, offset: begin, length: end - begin } };
}

function readDtypeBits(value: unknown, member: HeaderMember, scope: EntryScope): number | null {
  if (typeof value !== 'string') {
    const observed = value === undefined ? 'no dtype' : `dtype ${describeValue(value)}`;
    reportEntry(scope, member, 'safetensors.entry.invalid-dtype', `has ${observed}, expected a string`, 'dtype');
    return null;
  }
  const bits = DTYPE_BITS.get(value);
  if (bits === undefined) {
    const known = [...DTYPE_BITS.keys()].join(', ');
    reportEntry(scope, member, 'safetensors.entry.unknown-dtype', `has dtype ${quote(value)}, not one of ${known}`, 'dtype');
    return null;
  }
  return bits;
}

function readShape(value: unknown, member: HeaderMember, scope: EntryScope): number[] | null {
  const problem = shapeProblem(value, member, scope.limits.maxRank);
  // The parsed array is ours alone (nothing else holds the parsed header), so it is kept, not copied.
  if (problem === null) return value as number[];
  reportEntry(scope, member, 'safetensors.entry.invalid-shape', problem, 'shape');
  return null;
}

function shapeProblem(value: unknown, member: HeaderMember, maxRank: number): string | null {
  if (!Array.isArray(value)) {
    return value === undefined ? 'has no shape' : `has shape ${describeValue(value)}, expected an array`;
  }
  if (value.length > maxRank) return `has rank ${value.length}, above the limit of ${maxRank}`;
  for (let axis = 0; axis < value.length; axis++) {
    if (!isCount(value[axis])) {
      return `has dimension ${axis} = ${describeValue(value[axis])}, expected a non-negative integer up to 2^53 - 1`;
    }
  }
  if (member.unplainNumbers & INTEGER_FIELD_BITS.shape) {
    return 'has a dimension written with a sign, fraction or exponent, where only plain integers such as 3 are accepted';
  }
  return null;
}

function readOffsets(value: unknown, member: HeaderMember, scope: EntryScope): [number, number] | null {
  const problem = offsetsProblem(value, member);
  if (problem === null) return value as [number, number];
  reportEntry(scope, member, 'safetensors.entry.invalid-offsets', problem, 'data_offsets');
  return null;
}

function offsetsProblem(value: unknown, member: HeaderMember): string | null {
  if (!Array.isArray(value) || value.length !== 2) {
    const observed = value === undefined ? 'no data_offsets' : `data_offsets ${describeValue(value)}`;
    return `has ${observed}, expected [begin, end]`;
  }
  const [begin, end] = value as unknown[];
  if (!isCount(begin) || !isCount(end)) {
    return `has data_offsets [${describeValue(begin)}, ${describeValue(end)}], expected non-negative integers up to 2^53 - 1`;
  }
  if (member.unplainNumbers & INTEGER_FIELD_BITS.data_offsets) {
    return 'has data_offsets written with a sign, fraction or exponent, where only plain integers such as 16 are accepted';
  }
  if (begin > end) return `has data_offsets [${begin}, ${end}] with begin after end`;
  return null;
}

/** shape × dtype bits against the range, as the reference loader checks it (u64 arithmetic, whole bytes). */
function checkSize(
  dtype: string,
  bitsPerElement: number,
  shape: number[],
  begin: number,
  end: number,
  member: HeaderMember,
  scope: EntryScope,
): void {
  const bits = tensorBits(shape, bitsPerElement);
  const actual = end - begin;
  if (typeof bits === 'number' && bits === actual * 8) return;
  const describe = `shape [${shape.join(', ')}] of ${dtype}`;
  if (bits === null) {
    reportEntry(scope, member, 'safetensors.tensor.size-mismatch', `has ${describe}, whose size overflows 64 bits, for a range of ${actual} bytes`, 'shape');
    return;
  }
  const exactBits = BigInt(bits);
  if (exactBits % 8n !== 0n) {
    reportEntry(scope, member, 'safetensors.tensor.misaligned-bits', `has ${describe}: ${bits} bits, not a whole number of bytes`, 'shape');
  }
  const expected = (exactBits + 7n) / 8n;
  if (expected !== BigInt(actual)) {
    reportEntry(
      scope,
      member,
      'safetensors.tensor.size-mismatch',
      `has ${describe} = ${expected} bytes but data_offsets [${begin}, ${end}] span ${actual}`,
      'data_offsets',
    );
  }
}

/**
 * Bits of a tensor: an exact number while it stays a safe integer (every real
 * tensor), a bigint above, null when the element or bit count overflows u64
 * at any step, as in the reference loader.
 */
function tensorBits(shape: number[], bitsPerElement: number): number | bigint | null {
  let elements = 1;
  let axis = 0;
  for (; axis < shape.length; axis++) {
    const next = elements * shape[axis];
    if (!Number.isSafeInteger(next)) break;
    elements = next;
  }
  if (axis === shape.length && Number.isSafeInteger(elements * bitsPerElement)) return elements * bitsPerElement;
  let exact = BigInt(elements);
  for (; axis < shape.length; axis++) {
    exact *= BigInt(shape[axis]);
    if (exact > U64_MAX) return null;
  }
  exact *= BigInt(bitsPerElement);
  return exact > U64_MAX ? null : exact;
}

function readMetadata(member: HeaderMember, scope: EntryScope): Record<string, MetadataValue> {
  const value = member.value;
  // The reference loader reads `__metadata__` as an optional map, so null means "none".
  if (value === null) return {};
  if (!isPlainObject(value)) {
    reportEntry(scope, member, 'safetensors.metadata.not-object', `is ${describeValue(value)}, expected an object of strings`, undefined, METADATA_KEY);
    return {};
  }
  const kept: Array<[string, string]> = [];
  for (const [key, item] of Object.entries(value)) {
    if (typeof item === 'string') {
      kept.push([key, item]);
    } else {
      const subject = `${METADATA_KEY} value ${quote(key)}`;
      reportEntry(scope, member, 'safetensors.metadata.not-string', `is ${describeValue(item)}, expected a string`, key, subject);
    }
  }
  // fromEntries defines own properties, so a key such as `__proto__` stays a plain key.
  return Object.fromEntries(kept);
}

/**
 * The data region must be tiled exactly: sorted by begin, each tensor starts
 * where the previous ends, the first at 0, the last at the end of the file.
 * Sorting makes this O(n log n) for any number of tensors.
 */
function checkLayout(spans: TensorSpan[], dataStart: number, dataLength: number, scope: EntryScope): void {
  const { findings } = scope;
  for (const span of spans) {
    if (span.end > dataLength) {
      reportEntry(
        scope,
        span.member,
        'safetensors.offsets.out-of-bounds',
        `has data_offsets [${span.begin}, ${span.end}] but the data region at offset ${dataStart} holds ${dataLength} bytes`,
        'data_offsets',
      );
    }
  }
  spans.sort((left, right) => left.begin - right.begin || left.end - right.end);
  let covered = 0;
  let coveredBy: TensorSpan | null = null;
  for (const span of spans) {
    if (span.begin > covered && covered < dataLength) {
      const gapEnd = Math.min(span.begin, dataLength);
      findings.add('safetensors.offsets.gap', {
        detail: `bytes [${covered}, ${gapEnd}) of the data region (file offset ${dataStart + covered}, ${gapEnd - covered} bytes) belong to no tensor; ${quote(span.member.key)} begins at ${span.begin}`,
        location: { offset: dataStart + covered, length: gapEnd - covered },
      });
    } else if (span.begin < covered && coveredBy) {
      const overlapEnd = Math.min(span.end, covered);
      const how = span.begin === span.end ? 'lies inside' : `overlaps on ${overlapEnd - span.begin} bytes`;
      findings.add('safetensors.offsets.overlap', {
        detail: `tensor ${quote(span.member.key)} [${span.begin}, ${span.end}) ${how} ${quote(coveredBy.member.key)} [${coveredBy.begin}, ${coveredBy.end}) at file offset ${dataStart + span.begin}`,
        location: { offset: dataStart + span.begin, length: overlapEnd - span.begin },
      });
    }
    if (span.end > covered) {
      covered = span.end;
      coveredBy = span;
    }
  }
  if (covered < dataLength) {
    const last = coveredBy ? ` (${quote(coveredBy.member.key)} ends at ${covered})` : ' (the header lists no tensor data)';
    findings.add('safetensors.offsets.trailing-bytes', {
      detail: `${dataLength - covered} bytes at file offset ${dataStart + covered} follow the last tensor${last}; the file ends at ${dataStart + dataLength}`,
      location: { offset: dataStart + covered, length: dataLength - covered },
    });
  }
}

// ---------------------------------------------------------------------------
// Small helpers.

interface FindingCollector {
  /** Adds a finding of `rule`, or only counts it once the rule is full (`input` may then be null). */
  add(rule: RuleId, input: FindingInput | null): void;
  /** True when further findings of `rule` will only be counted, so callers can skip building them. */
  isFull(rule: RuleId): boolean;
  finish(): Finding[];
}

/** Keeps the first `maxPerRule` findings of each rule and counts the rest. */
function createFindingCollector(maxPerRule: number): FindingCollector {
  const findings: Finding[] = [];
  const counts = new Map<RuleId, number>();
  return {
    add(rule, input) {
      const count = (counts.get(rule) ?? 0) + 1;
      counts.set(rule, count);
      if (count <= maxPerRule && input) findings.push(createFinding(rule, input));
    },
    isFull: (rule) => (counts.get(rule) ?? 0) >= maxPerRule,
    finish() {
      const all = [...findings];
      for (const [rule, count] of counts) {
        if (count > maxPerRule) {
          all.push(
            createFinding('safetensors.findings.truncated', {
              detail: `${count - maxPerRule} more findings of ${rule} were not listed (limit ${maxPerRule} per rule)`,
            }),
          );
        }
      }
      return all;
    },
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A size or offset the file can hold and a JS number can count exactly. */
function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isTextByte(byte: number): boolean {
  return (byte >= 0x20 && byte <= 0x7e) || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/** An untrusted string as a short quoted literal, for details. */
function quote(text: string): string {
  return JSON.stringify(text.length > MAX_QUOTED_CHARS ? `${text.slice(0, MAX_QUOTED_CHARS)}…` : text);
}

/** A JSON value in a few words, in constant time whatever its size. */
function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${quote(value)}`;
  return String(value);
}
