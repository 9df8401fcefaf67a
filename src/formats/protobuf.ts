/**
 * Protocol Buffers wire decoding for the protobuf-based model formats (ONNX,
 * TensorFlow SavedModel, Keras SavedModel metadata).
 * Spec: https://protobuf.dev/programming-guides/encoding/
 *
 * Threat surface: a protobuf is a tree of attacker-chosen tags, lengths and
 * nesting. Lengths can point past their message or the file, nesting can be
 * deep enough to exhaust the stack (CWE-674), repeated fields can be long
 * enough to exhaust memory (CWE-770), and a model under 2 GB may embed
 * gigabytes of weights as `bytes` fields inside nested messages, so a reader
 * that loads the message whole loads the whole file (CWE-400).
 *
 * How this reader avoids that, in two layers:
 * - A descriptor ({@link ProtoMessageSpec}) lists only the fields a format
 *   reader needs; every other field is skipped, as protobuf's own parsers skip
 *   unknown fields (and, like them, a field whose wire type does not match its
 *   declaration is treated as unknown).
 * - {@link decodeMessageFromSource} walks a message over bounded windows of
 *   the source with its own varint/length walker. A field up to
 *   `inlineFieldBytes` long is read whole and decoded by protobufjs's minimal
 *   `Reader`; a longer message field is walked the same way, recursively; a
 *   longer `bytes` field (tensor data) is recorded as (offset, length) and
 *   never read. Memory stays bounded by the window and the inline limit, not
 *   by the file.
 *
 * Why protobufjs's minimal Reader and not its reflection API: `Type.decode`
 * generates its decoder with `Function`, which the page's Content-Security-
 * Policy (no 'unsafe-eval') forbids. The minimal build has no code generation;
 * a unit test runs this decoder with `Function` and `eval` replaced by
 * throwing stubs.
 */
import { Reader, util } from 'protobufjs/minimal.js';
import { type ByteSource, throwIfAborted } from '../io/byte-source.ts';
import { ParseError } from '../io/parse-error.ts';
import type { RuleId } from '../rules/index.ts';

/** Deepest message nesting followed by default: protobuf's own default recursion limit (CWE-674). */
export const DEFAULT_MAX_DEPTH = 100;
/** Decoded values (fields and repeated items) kept per decode by default; beyond is memory exhaustion (CWE-770). */
export const DEFAULT_MAX_VALUES = 4_000_000;
/** Fields up to this size are read whole and decoded in memory; longer ones are walked or skipped (CWE-400). */
export const DEFAULT_INLINE_FIELD_BYTES = 64 * 1024;
/** Characters kept of a string field by default; longer strings end in "…". */
export const DEFAULT_MAX_STRING_BYTES = 4096;
/** Bytes of text (strings and copied byte heads) kept per decode by default: names and metadata, never weights (CWE-770). */
export const DEFAULT_MAX_TEXT_BYTES = 256 * 1024 * 1024;
/** Bytes fetched per window when walking a large message: large fields are skipped, so small windows waste least. */
const WINDOW_BYTES = 64 * 1024;
/** A varint is at most 10 bytes (64 bits in 7-bit groups). */
const MAX_VARINT_BYTES = 10;
/** A field header is a tag (at most 5 bytes for 32 bits) and a length (at most 10). */
const MAX_FIELD_HEADER_BYTES = 15;
/** Fields walked between abort checks. */
const ABORT_CHECK_INTERVAL = 1024;

export const WIRE_TYPE = { varint: 0, fixed64: 1, lengthDelimited: 2, startGroup: 3, endGroup: 4, fixed32: 5 } as const;

/**
 * How a field is decoded.
 * - `int32`, `enum`: number; `int64`, `uint64`: bigint; `bool`; `float`, `double`: number.
 * - `string`: text, cut to `maxStringBytes` (a cut string ends in "…").
 * - `bytes`: a {@link ProtoBytes} reference with at most `headBytes` copied.
 * - `data`: the payload of a repeated numeric field that is measured, not
 *   decoded (tensor contents): a {@link ProtoData}, accumulated over all
 *   occurrences, packed or not.
 * - `message`: a nested message decoded with `message()`.
 */
export type ProtoFieldKind = 'int32' | 'enum' | 'int64' | 'uint64' | 'bool' | 'float' | 'double' | 'string' | 'bytes' | 'data' | 'message';

/** Encoding of one element of a `data` field. */
export type ProtoDataElement = 'varint' | 'fixed32' | 'fixed64' | 'bytes';

export interface ProtoFieldSpec<Name extends string = string> {
  readonly name: Name;
  readonly kind: ProtoFieldKind;
  readonly repeated?: boolean;
  /** The nested message's descriptor (a thunk, so recursive messages can refer to each other). */
  readonly message?: () => ProtoMessageSpec;
  /** For `data` fields: how one element is encoded. */
  readonly element?: ProtoDataElement;
  /** For `string` fields: bytes decoded at most (default DEFAULT_MAX_STRING_BYTES). */
  readonly maxStringBytes?: number;
  /** For `bytes` fields: bytes copied into `head` (default 0). */
  readonly headBytes?: number;
}

/** A message descriptor: the fields a reader needs, by field number. `T` is the decoded shape. */
export interface ProtoMessageSpec<T extends ProtoMessage = ProtoMessage> {
  readonly name: string;
  readonly fields: ReadonlyMap<number, ProtoFieldSpec>;
  /** Phantom: ties the descriptor to its decoded type. */
  readonly decoded?: T;
}

/** Every decoded message knows where it is in the file. */
export interface ProtoMessage {
  /** Absolute offset of the message's first byte (after its tag and length). */
  $offset: number;
  /** Byte length of the message. */
  $length: number;
}

/** A `bytes` field: where it is, how long, and its first bytes. */
export interface ProtoBytes {
  offset: number;
  length: number;
  head: Uint8Array;
}

/**
 * A measured numeric payload: the offset of its first occurrence, the total
 * payload bytes of all occurrences (one contiguous range when the list is one
 * packed field, as writers emit it) and the element count (-1 when not counted).
 */
export interface ProtoData {
  offset: number;
  length: number;
  count: number;
}

/** Define a descriptor; field names must be keys of the decoded type. */
export function defineMessage<T extends ProtoMessage>(
  name: string,
  fields: Record<number, ProtoFieldSpec<Exclude<keyof T, keyof ProtoMessage> & string>>,
): ProtoMessageSpec<T> {
  const map = new Map<number, ProtoFieldSpec>();
  for (const [number, field] of Object.entries(fields)) map.set(Number(number), field);
  return { name, fields: map };
}

export interface ProtoDecodeOptions {
  /** Rule of the ParseError when a field runs past the end of the file. */
  truncatedRule: RuleId;
  /** Rule of the ParseError when the bytes are not valid protobuf. */
  malformedRule: RuleId;
  /** Rule of the ParseError when a limit is reached. */
  limitRule: RuleId;
  maxDepth?: number;
  maxValues?: number;
  maxTextBytes?: number;
  inlineFieldBytes?: number;
  /** Bytes of the source already read from offset 0 (the detection head). */
  prefetched?: Uint8Array;
  signal?: AbortSignal;
}

export interface ProtoDecodeResult<T> {
  /** The decoded message; partial when `error` is set (everything before the error is kept). */
  message: T;
  error: ParseError | null;
  /** Bytes fetched from the source: proof that large payloads were skipped, not read. */
  bytesFetched: number;
}

/**
 * Decode the message `spec` that fills `[start, end)` of `source` (the whole
 * source by default), over bounded windows. Never throws for bad input: a
 * ParseError stops the walk and is returned with the partial message.
 */
export async function decodeMessageFromSource<T extends ProtoMessage>(
  spec: ProtoMessageSpec<T>,
  source: ByteSource,
  options: ProtoDecodeOptions,
  start = 0,
  end = source.size,
): Promise<ProtoDecodeResult<T>> {
  const window = new SourceWindow(source, start === 0 ? options.prefetched : undefined, options.truncatedRule, options.signal);
  const walker = new WindowedWalker(window, resolveOptions(options));
  const message = createMessage(spec, start, end - start) as T;
  let error: ParseError | null = null;
  try {
    await walker.walk(spec, message, start, end, 0);
  } catch (caught) {
    error = asParseError(caught, walker.context, walker.position);
  }
  return { message, error, bytesFetched: window.fetched };
}

/**
 * Decode a message held in memory (`base` is the absolute offset of its first
 * byte). Throws a ParseError for bad input; the partial message is lost.
 */
export function decodeMessageBytes<T extends ProtoMessage>(
  spec: ProtoMessageSpec<T>,
  bytes: Uint8Array,
  options: ProtoDecodeOptions,
  base = 0,
): T {
  const context = resolveOptions(options);
  const message = createMessage(spec, base, bytes.length) as T;
  const reader = new Reader(bytes);
  try {
    readMessageInto(spec, reader, base, 0, message, context);
  } catch (caught) {
    throw asParseError(caught, context, base + reader.pos);
  }
  return message;
}

// ---------------------------------------------------------------------------
// Shared decoding state

interface DecodeContext {
  rules: { truncated: RuleId; malformed: RuleId; limit: RuleId };
  maxDepth: number;
  inlineFieldBytes: number;
  /** Values left before the limit; shared by the windowed and in-memory layers. */
  valuesLeft: number;
  maxValues: number;
  /** Text bytes left before the limit. */
  textLeft: number;
  maxTextBytes: number;
}

function resolveOptions(options: ProtoDecodeOptions): DecodeContext {
  const maxValues = options.maxValues ?? DEFAULT_MAX_VALUES;
  const maxTextBytes = options.maxTextBytes ?? DEFAULT_MAX_TEXT_BYTES;
  return {
    rules: { truncated: options.truncatedRule, malformed: options.malformedRule, limit: options.limitRule },
    maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
    inlineFieldBytes: options.inlineFieldBytes ?? DEFAULT_INLINE_FIELD_BYTES,
    valuesLeft: maxValues,
    maxValues,
    textLeft: maxTextBytes,
    maxTextBytes,
  };
}

/**
 * A ParseError as is; protobufjs's own errors (RangeError "index out of
 * range", Error "invalid wire type …") become malformed findings. Programming
 * errors (TypeError, ReferenceError) are rethrown: they are bugs, not input;
 * so is cancellation (AbortError).
 */
function asParseError(caught: unknown, context: DecodeContext, offset: number): ParseError {
  if (caught instanceof ParseError) return caught;
  if (!(caught instanceof Error) || caught instanceof TypeError || caught instanceof ReferenceError || caught.name === 'AbortError') throw caught;
  return new ParseError(context.rules.malformed, offset, `invalid protobuf near offset ${offset}: ${caught.message}`);
}

/** Names of each descriptor's repeated fields, computed once: every decoded message starts with them empty. */
const repeatedFieldNames = new WeakMap<ProtoMessageSpec, string[]>();

function createMessage(spec: ProtoMessageSpec, offset: number, length: number): ProtoMessage {
  let repeated = repeatedFieldNames.get(spec);
  if (!repeated) {
    repeated = [...spec.fields.values()].filter((field) => field.repeated).map((field) => field.name);
    repeatedFieldNames.set(spec, repeated);
  }
  const message: Record<string, unknown> = { $offset: offset, $length: length };
  for (const name of repeated) message[name] = [];
  return message as unknown as ProtoMessage;
}

/** Count one decoded value, and `textBytes` of text kept with it, against the limits. */
function spend(context: DecodeContext, offset: number, textBytes = 0): void {
  context.valuesLeft -= 1;
  context.textLeft -= textBytes;
  if (context.valuesLeft < 0) {
    throw new ParseError(context.rules.limit, offset, `more than ${context.maxValues} decoded values at offset ${offset}; the rest of the message was not read`);
  }
  if (context.textLeft < 0) {
    throw new ParseError(context.rules.limit, offset, `more than ${context.maxTextBytes} bytes of decoded text at offset ${offset}; the rest of the message was not read`);
  }
}

function checkDepth(context: DecodeContext, depth: number, spec: ProtoMessageSpec, offset: number): void {
  if (depth > context.maxDepth) {
    throw new ParseError(
      context.rules.limit,
      offset,
      `${spec.name} at offset ${offset} is nested ${depth} messages deep, over the limit of ${context.maxDepth}`,
    );
  }
}

/** Does `wireType` match the declaration? A mismatch makes the field unknown, as in protobuf's parsers. */
function wireTypeMatches(field: ProtoFieldSpec, wireType: number): boolean {
  switch (field.kind) {
    case 'string':
    case 'bytes':
    case 'message':
      return wireType === WIRE_TYPE.lengthDelimited;
    case 'data':
      return wireType === WIRE_TYPE.lengthDelimited || wireType === elementWireType(field.element ?? 'varint');
    default: {
      const scalar = scalarWireType(field.kind);
      return wireType === scalar || (field.repeated === true && wireType === WIRE_TYPE.lengthDelimited);
    }
  }
}

function scalarWireType(kind: ProtoFieldKind): number {
  if (kind === 'float') return WIRE_TYPE.fixed32;
  if (kind === 'double') return WIRE_TYPE.fixed64;
  return WIRE_TYPE.varint;
}

function elementWireType(element: ProtoDataElement): number {
  switch (element) {
    case 'fixed32':
      return WIRE_TYPE.fixed32;
    case 'fixed64':
      return WIRE_TYPE.fixed64;
    case 'bytes':
      return WIRE_TYPE.lengthDelimited;
    default:
      return WIRE_TYPE.varint;
  }
}

function store(message: ProtoMessage, field: ProtoFieldSpec, value: unknown): void {
  const record = message as unknown as Record<string, unknown>;
  if (field.repeated) (record[field.name] as unknown[]).push(value);
  else record[field.name] = value;
}

/**
 * The message a field's payload goes into: a new one attached to the parent
 * first (so a later error keeps what was read), or, for a singular field seen
 * again, the existing one (protobuf merges repeated singular messages).
 */
function childMessage(parent: ProtoMessage, field: ProtoFieldSpec, spec: ProtoMessageSpec, offset: number, length: number): ProtoMessage {
  const record = parent as unknown as Record<string, unknown>;
  if (!field.repeated && record[field.name] !== undefined) {
    const existing = record[field.name] as ProtoMessage;
    existing.$length = offset + length - existing.$offset;
    return existing;
  }
  const child = createMessage(spec, offset, length);
  store(parent, field, child);
  return child;
}

function addData(message: ProtoMessage, field: ProtoFieldSpec, offset: number, length: number, count: number): void {
  const record = message as unknown as Record<string, unknown>;
  const existing = record[field.name] as ProtoData | undefined;
  if (!existing) {
    record[field.name] = { offset, length, count } satisfies ProtoData;
    return;
  }
  existing.length += length;
  existing.count = existing.count < 0 || count < 0 ? -1 : existing.count + count;
}

/** UTF-8 text of `bytes[start, start + byteLength)` (invalid sequences become U+FFFD), cut at `maxBytes` with "…". */
function decodeText(bytes: Uint8Array, start: number, byteLength: number, maxBytes: number): string {
  if (byteLength <= maxBytes) return util.utf8.read(bytes, start, start + byteLength);
  return `${util.utf8.read(bytes, start, start + maxBytes)}…`;
}

// ---------------------------------------------------------------------------
// In memory: protobufjs's minimal Reader

/**
 * Decode fields from `reader`, from its position to its `len`, into
 * `message`. `base` is the absolute offset of the reader's byte 0.
 */
function readMessageInto(spec: ProtoMessageSpec, reader: Reader, base: number, depth: number, message: ProtoMessage, context: DecodeContext): void {
  checkDepth(context, depth, spec, base + reader.pos);
  while (reader.pos < reader.len) {
    const tagOffset = base + reader.pos;
    const tag = reader.uint32();
    const fieldNumber = tag >>> 3;
    const wireType = tag & 7;
    if (fieldNumber === 0) throw new ParseError(context.rules.malformed, tagOffset, `field number 0 at offset ${tagOffset} in ${spec.name}`);
    const field = spec.fields.get(fieldNumber);
    if (!field || !wireTypeMatches(field, wireType)) {
      reader.skipType(wireType);
      continue;
    }
    readFieldValue(reader, field, wireType, base, depth, message, context);
  }
}

/** The length of a length-delimited payload, checked against the bytes left in its message. */
function readLength(reader: Reader, base: number, context: DecodeContext, what: string): number {
  const lengthOffset = base + reader.pos;
  const length = reader.uint32();
  if (length > reader.len - reader.pos) {
    throw new ParseError(
      context.rules.malformed,
      lengthOffset,
      `${what} at offset ${lengthOffset} claims ${length} bytes but its message has ${reader.len - reader.pos} left`,
    );
  }
  return length;
}

/** Read one field's value (the reader is just past its tag) and store it. */
function readFieldValue(
  reader: Reader,
  field: ProtoFieldSpec,
  wireType: number,
  base: number,
  depth: number,
  message: ProtoMessage,
  context: DecodeContext,
): void {
  const valueOffset = base + reader.pos;
  switch (field.kind) {
    case 'message': {
      const length = readLength(reader, base, context, `field ${field.name}`);
      const start = reader.pos;
      const spec = field.message!();
      spend(context, valueOffset);
      const child = childMessage(message, field, spec, base + start, length);
      // The nested message is read by the same Reader with its end narrowed, so no read can pass it.
      const parentLength = reader.len;
      reader.len = start + length;
      readMessageInto(spec, reader, base, depth + 1, child, context);
      reader.len = parentLength;
      return;
    }
    case 'string': {
      const length = readLength(reader, base, context, `field ${field.name}`);
      const maxBytes = field.maxStringBytes ?? DEFAULT_MAX_STRING_BYTES;
      spend(context, valueOffset, Math.min(length, maxBytes));
      store(message, field, decodeText(reader.buf, reader.pos, length, maxBytes));
      reader.skip(length);
      return;
    }
    case 'bytes': {
      const length = readLength(reader, base, context, `field ${field.name}`);
      const headLength = Math.min(length, field.headBytes ?? 0);
      spend(context, valueOffset, headLength);
      const head = reader.buf.slice(reader.pos, reader.pos + headLength);
      store(message, field, { offset: base + reader.pos, length, head } satisfies ProtoBytes);
      reader.skip(length);
      return;
    }
    case 'data': {
      spend(context, valueOffset);
      const element = field.element ?? 'varint';
      if (wireType === WIRE_TYPE.lengthDelimited) {
        const length = readLength(reader, base, context, `field ${field.name}`);
        const payload = reader.buf.subarray(reader.pos, reader.pos + length);
        addData(message, field, base + reader.pos, length, element === 'bytes' ? 1 : countElements(payload, element));
        reader.skip(length);
      } else {
        const start = reader.pos;
        reader.skipType(wireType);
        addData(message, field, valueOffset, reader.pos - start, 1);
      }
      return;
    }
    default:
      if (wireType === WIRE_TYPE.lengthDelimited) {
        const length = readLength(reader, base, context, `packed field ${field.name}`);
        const end = reader.pos + length;
        while (reader.pos < end) {
          spend(context, base + reader.pos);
          store(message, field, readScalar(reader, field.kind));
        }
        if (reader.pos !== end) {
          throw new ParseError(context.rules.malformed, valueOffset, `packed field ${field.name} at offset ${valueOffset} overruns its ${length} bytes`);
        }
        return;
      }
      spend(context, valueOffset);
      store(message, field, readScalar(reader, field.kind));
  }
}

/** Elements in a packed payload: fixed sizes divide, varints end on a byte below 0x80. */
function countElements(payload: Uint8Array, element: ProtoDataElement): number {
  if (element === 'fixed32') return Math.floor(payload.length / 4);
  if (element === 'fixed64') return Math.floor(payload.length / 8);
  let count = 0;
  for (const byte of payload) if (byte < 0x80) count++;
  return count;
}

/** protobufjs gives 64-bit values as a Long (low and high 32-bit halves), or as a number when long.js is absent. */
interface LongLike {
  low: number;
  high: number;
}

function toBigInt(value: LongLike | number, signed: boolean): bigint {
  if (typeof value === 'number') return BigInt(Math.trunc(value));
  const unsigned = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
  return signed ? BigInt.asIntN(64, unsigned) : unsigned;
}

function readScalar(reader: Reader, kind: ProtoFieldKind): number | bigint | boolean {
  switch (kind) {
    case 'int64':
      return toBigInt(reader.int64() as LongLike | number, true);
    case 'uint64':
      return toBigInt(reader.uint64() as LongLike | number, false);
    case 'bool':
      return reader.bool();
    case 'float':
      return reader.float();
    case 'double':
      return reader.double();
    default:
      return reader.int32();
  }
}

// ---------------------------------------------------------------------------
// Over the source: a bounded walker for messages too large to read whole

/**
 * One window of the source: the bytes of `[start, start + bytes.length)`.
 * Fields are parsed synchronously from it; an await happens only when a
 * field needs bytes outside it, and then one bounded read refills it.
 */
class SourceWindow {
  bytes: Uint8Array;
  start = 0;
  fetched = 0;

  constructor(
    private readonly source: ByteSource,
    prefetched: Uint8Array | undefined,
    private readonly truncatedRule: RuleId,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.bytes = prefetched ? prefetched.subarray(0, Math.min(prefetched.length, source.size)) : new Uint8Array(0);
  }

  get size(): number {
    return this.source.size;
  }

  has(offset: number, count: number): boolean {
    return offset >= this.start && offset + count <= this.start + this.bytes.length;
  }

  /** Make `[offset, offset + count)` available; the caller has checked it is inside the file. */
  async fill(offset: number, count: number): Promise<void> {
    throwIfAborted(this.signal);
    const length = Math.min(Math.max(count, WINDOW_BYTES), this.source.size - offset);
    const bytes = await this.source.read(offset, length);
    this.fetched += bytes.length;
    if (bytes.length < count) {
      throw new ParseError(this.truncatedRule, offset, `${count} bytes needed at offset ${offset} but only ${bytes.length} could be read`);
    }
    this.bytes = bytes;
    this.start = offset;
  }

  checkAborted(): void {
    throwIfAborted(this.signal);
  }

  /** The window's bytes from absolute `offset`, once `has(offset, …)` holds. */
  at(offset: number): number {
    return this.bytes[offset - this.start];
  }
}

/** A field header parsed from the window. */
interface FieldHeader {
  fieldNumber: number;
  wireType: number;
  /** Offset just past the tag. */
  tagEnd: number;
  /** Offset of the value: after the tag (scalars) or after the length (length-delimited). */
  valueOffset: number;
  /** Payload length of a length-delimited field; 0 for scalars. */
  length: number;
}

class WindowedWalker {
  readonly context: DecodeContext;
  /** Absolute offset of the next field (for errors outside a field). */
  position = 0;
  private fieldsWalked = 0;

  constructor(
    private readonly window: SourceWindow,
    context: DecodeContext,
  ) {
    this.context = context;
  }

  /** Walk the fields of `message` (its descriptor is `spec`) from `start` to the absolute offset `end`. */
  async walk(spec: ProtoMessageSpec, message: ProtoMessage, start: number, end: number, depth: number): Promise<void> {
    const { context, window } = this;
    checkDepth(context, depth, spec, start);
    let offset = start;
    while (offset < end) {
      this.position = offset;
      if (++this.fieldsWalked % ABORT_CHECK_INTERVAL === 0) window.checkAborted();
      const headerBytes = Math.min(MAX_FIELD_HEADER_BYTES, end - offset);
      if (!window.has(offset, headerBytes)) await window.fill(offset, headerBytes);
      const header = this.header(spec, offset, end);
      const field = spec.fields.get(header.fieldNumber);
      const known = field !== undefined && wireTypeMatches(field, header.wireType) ? field : undefined;
      offset = header.wireType === WIRE_TYPE.lengthDelimited
        ? await this.lengthDelimited(spec, known, message, offset, header, end, depth)
        : await this.scalar(spec, known, message, offset, header, end, depth);
    }
    this.position = offset;
  }

  /** Parse a tag (and a length) at `offset`, all before `end`; scalar values are measured later. */
  private header(spec: ProtoMessageSpec, offset: number, end: number): FieldHeader {
    const tag = this.varint(offset, end, 'field tag');
    if (tag.value > 0xffffffff) throw new ParseError(this.context.rules.malformed, offset, `field tag ${tag.value} at offset ${offset} is above 32 bits`);
    const fieldNumber = Math.floor(tag.value / 8);
    const wireType = tag.value % 8;
    if (fieldNumber === 0) throw new ParseError(this.context.rules.malformed, offset, `field number 0 at offset ${offset} in ${spec.name}`);
    if (wireType !== WIRE_TYPE.lengthDelimited) return { fieldNumber, wireType, tagEnd: tag.next, valueOffset: tag.next, length: 0 };
    const length = this.varint(tag.next, end, 'field length');
    return { fieldNumber, wireType, tagEnd: tag.next, valueOffset: length.next, length: length.value };
  }

  /** A varint inside the window, as a number (exact to 2^53, enough for tags and lengths). */
  private varint(offset: number, end: number, what: string): { value: number; next: number } {
    let value = 0;
    let scale = 1;
    for (let index = 0; index < MAX_VARINT_BYTES; index++) {
      const position = offset + index;
      if (position >= end) {
        const rule = end >= this.window.size ? this.context.rules.truncated : this.context.rules.malformed;
        throw new ParseError(rule, offset, `${what} at offset ${offset} runs past the end of its message at ${end}`);
      }
      const byte = this.window.at(position);
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if (byte < 0x80) return { value, next: position + 1 };
    }
    throw new ParseError(this.context.rules.malformed, offset, `${what} at offset ${offset} is longer than ${MAX_VARINT_BYTES} bytes`);
  }

  private async lengthDelimited(
    spec: ProtoMessageSpec,
    field: ProtoFieldSpec | undefined,
    message: ProtoMessage,
    offset: number,
    header: FieldHeader,
    end: number,
    depth: number,
  ): Promise<number> {
    const { context } = this;
    const payloadOffset = header.valueOffset;
    const length = header.length;
    if (length > end - payloadOffset) {
      const truncated = payloadOffset + length > this.window.size;
      const error = new ParseError(
        truncated ? context.rules.truncated : context.rules.malformed,
        offset,
        `field ${header.fieldNumber} of ${spec.name} at offset ${offset} claims ${length} bytes but ${end - payloadOffset} remain in its message (file size ${this.window.size})`,
      );
      if (truncated && field?.kind === 'message') await this.walkWhatRemains(field, message, payloadOffset, end, depth);
      throw error;
    }
    const fieldEnd = payloadOffset + length;
    if (!field) return fieldEnd;
    if (length <= context.inlineFieldBytes) {
      await this.decodeInWindow(field, message, offset, header, fieldEnd, depth);
      return fieldEnd;
    }
    await this.largeField(field, message, payloadOffset, length, depth);
    return fieldEnd;
  }

  /** Hand the field (from just after its tag) to the in-memory decoder over the window's bytes. */
  private async decodeInWindow(field: ProtoFieldSpec, message: ProtoMessage, offset: number, header: FieldHeader, fieldEnd: number, depth: number): Promise<void> {
    const { window, context } = this;
    if (!window.has(offset, fieldEnd - offset)) await window.fill(offset, fieldEnd - offset);
    // The in-memory decoder starts just past the tag, as it would inside a message.
    const reader = new Reader(window.bytes);
    reader.pos = header.tagEnd - window.start;
    reader.len = fieldEnd - window.start;
    try {
      readFieldValue(reader, field, header.wireType, window.start, depth, message, context);
    } catch (caught) {
      throw asParseError(caught, context, window.start + reader.pos);
    }
  }

  /**
   * A message cut by the end of the file: walk the bytes that are there, so
   * the report shows what the loader would have read before failing. The cut
   * lands inside some field; that error is dropped for the caller's own.
   */
  private async walkWhatRemains(field: ProtoFieldSpec, message: ProtoMessage, offset: number, end: number, depth: number): Promise<void> {
    const spec = field.message!();
    const child = childMessage(message, field, spec, offset, end - offset);
    try {
      await this.walk(spec, child, offset, end, depth + 1);
    } catch (caught) {
      if (!(caught instanceof ParseError)) throw caught;
    }
  }

  /** A field longer than the inline limit: walk a message, measure data, reference bytes, cut strings. */
  private async largeField(field: ProtoFieldSpec, message: ProtoMessage, offset: number, length: number, depth: number): Promise<void> {
    const { window, context } = this;
    switch (field.kind) {
      case 'message': {
        spend(context, offset);
        const spec = field.message!();
        const child = childMessage(message, field, spec, offset, length);
        await this.walk(spec, child, offset, offset + length, depth + 1);
        return;
      }
      case 'bytes': {
        const headLength = Math.min(length, field.headBytes ?? 0);
        spend(context, offset, headLength);
        if (!window.has(offset, headLength)) await window.fill(offset, headLength);
        const head = window.bytes.slice(offset - window.start, offset - window.start + headLength);
        store(message, field, { offset, length, head } satisfies ProtoBytes);
        return;
      }
      case 'data': {
        spend(context, offset);
        const element = field.element ?? 'varint';
        const count = element === 'fixed32' ? Math.floor(length / 4) : element === 'fixed64' ? Math.floor(length / 8) : element === 'bytes' ? 1 : -1;
        addData(message, field, offset, length, count);
        return;
      }
      case 'string': {
        const kept = Math.min(length, field.maxStringBytes ?? DEFAULT_MAX_STRING_BYTES);
        spend(context, offset, kept);
        if (!window.has(offset, kept)) await window.fill(offset, kept);
        store(message, field, decodeText(window.bytes, offset - window.start, length, kept));
        return;
      }
      default:
        throw new ParseError(
          context.rules.limit,
          offset,
          `packed field ${field.name} at offset ${offset} is ${length} bytes, over the ${context.inlineFieldBytes}-byte limit for numeric lists`,
        );
    }
  }

  /** A varint, fixed64 or fixed32 field: measured, then decoded in the window when it is known. */
  private async scalar(
    spec: ProtoMessageSpec,
    field: ProtoFieldSpec | undefined,
    message: ProtoMessage,
    offset: number,
    header: FieldHeader,
    end: number,
    depth: number,
  ): Promise<number> {
    const { context, window } = this;
    const valueOffset = header.valueOffset;
    let valueEnd: number;
    switch (header.wireType) {
      case WIRE_TYPE.varint: {
        const valueBytes = Math.min(MAX_VARINT_BYTES, end - valueOffset);
        if (!window.has(valueOffset, valueBytes)) await window.fill(valueOffset, valueBytes);
        valueEnd = this.varint(valueOffset, end, 'varint field').next;
        break;
      }
      case WIRE_TYPE.fixed64:
      case WIRE_TYPE.fixed32: {
        valueEnd = valueOffset + (header.wireType === WIRE_TYPE.fixed64 ? 8 : 4);
        if (valueEnd > end) {
          const rule = valueEnd > window.size ? context.rules.truncated : context.rules.malformed;
          throw new ParseError(rule, valueOffset, `a ${valueEnd - valueOffset}-byte value at offset ${valueOffset} runs past its message's end at ${end}`);
        }
        break;
      }
      default:
        // Groups are deprecated and unused by these formats; skipping one here would need its end first.
        throw new ParseError(context.rules.malformed, offset, `wire type ${header.wireType} at offset ${offset} in ${spec.name} is not supported in a large message`);
    }
    if (field) await this.decodeInWindow(field, message, offset, header, valueEnd, depth);
    return valueEnd;
  }
}

// ---------------------------------------------------------------------------
// Detection helpers: synchronous, allocation-free, never throw

/** One field header read from a head buffer, or null when it is not there or not valid. */
export interface ProtoHeadField {
  fieldNumber: number;
  wireType: number;
  /** Offset of the value (after the tag, and after the length for length-delimited fields). */
  valueOffset: number;
  /** Varint value, or the length of a length-delimited field. */
  value: number;
  /** Offset just past the field; may be beyond the head for a long length-delimited field. */
  end: number;
}

/** A varint from `bytes` at `offset` as a number (exact up to 2^53), or null when cut off or too long. */
export function peekVarint(bytes: Uint8Array, offset: number): { value: number; next: number } | null {
  let value = 0;
  let scale = 1;
  for (let index = 0; index < MAX_VARINT_BYTES; index++) {
    const position = offset + index;
    if (position >= bytes.length) return null;
    const byte = bytes[position];
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if (byte < 0x80) return { value, next: position + 1 };
  }
  return null;
}

/** The field header at `offset`, or null when cut off, field number 0, or wire type 3, 4, 6 or 7. */
export function peekField(bytes: Uint8Array, offset: number): ProtoHeadField | null {
  const tag = peekVarint(bytes, offset);
  if (!tag || tag.value > 0xffffffff) return null;
  const fieldNumber = Math.floor(tag.value / 8);
  const wireType = tag.value % 8;
  if (fieldNumber === 0) return null;
  switch (wireType) {
    case WIRE_TYPE.varint: {
      const value = peekVarint(bytes, tag.next);
      return value && { fieldNumber, wireType, valueOffset: tag.next, value: value.value, end: value.next };
    }
    case WIRE_TYPE.lengthDelimited: {
      const length = peekVarint(bytes, tag.next);
      return length && { fieldNumber, wireType, valueOffset: length.next, value: length.value, end: length.next + length.value };
    }
    case WIRE_TYPE.fixed64:
      return { fieldNumber, wireType, valueOffset: tag.next, value: 0, end: tag.next + 8 };
    case WIRE_TYPE.fixed32:
      return { fieldNumber, wireType, valueOffset: tag.next, value: 0, end: tag.next + 4 };
    default:
      return null;
  }
}

/** True when the bytes (as far as the head has them) are printable UTF-8 text: no control characters, no NUL. */
export function isPrintableText(bytes: Uint8Array, start: number, end: number): boolean {
  const stop = Math.min(end, bytes.length);
  for (let index = start; index < stop; index++) {
    const byte = bytes[index];
    if (byte < 0x20 || byte === 0x7f) return false;
  }
  return true;
}
