/**
 * GGUF, the single-file model format of llama.cpp and ggml.
 * Spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
 *
 * Layout: magic `GGUF`, u32 version (2 or 3), u64 tensor count, u64 key-value
 * count, the key-value pairs (typed, arrays may nest), the tensor infos (name,
 * dims, ggml type, offset relative to the data section), padding to
 * `general.alignment`, then the tensor data.
 *
 * Threat surface: GGUF holds no code, but its header is a tree of
 * attacker-chosen counts and lengths that naive loaders allocate from
 * (llama.cpp's own reader had heap overflows of exactly this kind:
 * CVE-2024-21802, GHSA-96jg-mvhq-q7q7, GHSA-vgg9-87g3-85w8), offsets and
 * alignments that memory-mapping loaders trust, and a Jinja chat template
 * that loaders render on every prompt, a code-execution path when the
 * renderer is not sandboxed (CVE-2024-34359). So every count and length
 * is checked against a named limit and against the bytes left before
 * anything is read or allocated, the header is read through a window without
 * reading the file whole, every tensor range is checked against the file and
 * the others, and every chat template goes through the Jinja checker.
 *
 * Tensor shapes are reported in GGUF order: `ne0` first, the innermost,
 * fastest-varying dimension (the reverse of the PyTorch/NumPy order).
 */
import { type ByteSource, throwIfAborted } from '../io/byte-source.ts';
import { ParseError } from '../io/parse-error.ts';
import { SourceReader } from '../io/source-reader.ts';
import type { Finding, MetadataArraySummary, MetadataValue, TensorInfo } from '../report/types.ts';
import { type RuleId, createFinding } from '../rules/index.ts';
import { chatTemplateFindings } from '../rules/jinja-template.ts';
import {
  GGUF_FIXED_VALUE_BYTES,
  type GgmlTypeInfo,
  type GgufValueTypeName,
  ggmlTypeById,
  ggufValueTypeName,
  minimumValueBytes,
} from './gguf-types.ts';
import type { FormatModule, InspectContext, Inspection } from './types.ts';

/** Header bytes read at most: real headers (250k-token vocabularies with merges) are tens of MB; beyond is unbounded work (CWE-400). */
export const MAX_HEADER_BYTES = 256 * 1024 * 1024;
/** Tensors at most: real models have up to tens of thousands; each entry costs memory (CWE-770). */
export const MAX_TENSORS = 1 << 20;
/** Key-value pairs at most: real files have a few hundred at most (CWE-770). */
export const MAX_KV = 1 << 16;
/** Bytes of one string at most: ggml's own cap; the longest real strings (embedded tokenizer.json) are a few MB (CWE-770). */
export const MAX_STRING_BYTES = 64 * 1024 * 1024;
/** Items of one metadata array at most: real vocabularies and merge lists stay under a million (CWE-770). */
export const MAX_ARRAY_LENGTH = 1 << 24;
/** Nesting of arrays in arrays at most: real metadata nests one level, if at all (CWE-674). */
export const MAX_ARRAY_DEPTH = 8;
/** Dimensions of a tensor at most: GGML_MAX_DIMS. */
export const MAX_TENSOR_DIMS = 4;
/** Bytes of a tensor name at most: ggml keeps names in 64 bytes with the terminating NUL (GGML_MAX_NAME). */
export const MAX_TENSOR_NAME_BYTES = 63;
/** Bytes of a key at most, from the spec. */
export const MAX_KEY_BYTES = 65_535;
/** Arrays up to this length are reported whole; longer ones as a {@link MetadataArraySummary}. */
export const ARRAY_INLINE_ITEMS = 32;
/** Items shown at the head of a summarised array. */
export const ARRAY_HEAD_ITEMS = 8;
/** Values materialised per key across nested arrays, so nesting cannot multiply the head sizes. */
const MAX_VALUES_PER_KEY = 1024;
/** Bytes of a metadata string kept in the report; longer ones end in "…" (chat templates are still checked whole). */
export const MAX_METADATA_STRING_BYTES = 1024 * 1024;
/** Bytes decoded from a key or tensor name that is already too long (for the message). */
const MAX_NAME_DISPLAY_BYTES = 256;
/** Findings kept per rule; a file with a million bad tensors needs a handful of examples, not a million (CWE-400). */
export const MAX_FINDINGS_PER_RULE = 20;
/** Alignment when `general.alignment` is absent (spec). */
export const DEFAULT_ALIGNMENT = 32;
/** Largest sensible alignment: real files use 32 to 4096; 2^31 overflows ggml's padding on 32-bit builds and pads can hide data. */
export const MAX_ALIGNMENT = 1024 * 1024;
/** Fewest bytes of a key-value pair: key length, empty key, value type, one-byte value. */
const MIN_KV_BYTES = 8 + 4 + 1;
/** Fewest bytes of a tensor info: name length, empty name, n_dims, type, offset. */
const MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8;
/** Loop iterations between abort checks while skipping array items. */
const ABORT_CHECK_INTERVAL = 4096;

const GGUF_MAGIC = [0x47, 0x47, 0x55, 0x46];
const SUPPORTED_VERSIONS = new Set([2, 3]);
const INT64_LIMIT = 1n << 63n;
const CHAT_TEMPLATE_KEY = 'tokenizer.chat_template';

/**
 * The GGUF format module. Tensors are reported with `shape` in GGUF order
 * (ne0 first), `dtype` the ggml type name (`Q4_K`, or `unknown(<id>)`),
 * `offset` absolute in the file and `length` in bytes. Two values mark what
 * the file did not let Preflight know, each with a finding that says why:
 * `offset` is -1 when the tensor table broke off before its end (the data
 * section's start is then unknown) and `length` is 0 when the type is unknown
 * or the dimensions overflow.
 */
export const ggufFormat: FormatModule = {
  id: 'gguf',
  label: 'GGUF',
  extensions: ['.gguf'],
  detect: (head) => head.length >= 4 && GGUF_MAGIC.every((byte, index) => head[index] === byte),
  inspect: inspectGguf,
};

/** Read a GGUF header: metadata, tensors and findings; partial results when a later part is broken. */
export async function inspectGguf(source: ByteSource, context: InspectContext): Promise<Inspection> {
  const state = new GgufState(source, context);
  try {
    await readFile(state);
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    state.findings.add(error.rule, error.message, error.offset);
  }
  return { tensors: state.tensors.map((tensor) => tensor.info), metadata: state.metadata, findings: state.findings.list() };
}

/** A tensor info as read, with the exact (bigint) values the layout checks need. */
interface ParsedTensor {
  info: TensorInfo;
  relativeOffset: bigint;
  /** Null when the type is unknown or the dimensions overflow. */
  byteLength: bigint | null;
  infoOffset: number;
  offsetFieldOffset: number;
  absoluteOffset?: bigint;
}

class GgufState {
  readonly reader: SourceReader;
  readonly findings = new FindingList();
  readonly metadata: Record<string, MetadataValue> = {};
  readonly tensors: ParsedTensor[] = [];
  readonly keys = new Set<string>();
  alignmentEntry: { type: GgufValueTypeName; value: MetadataValue; offset: number } | null = null;

  constructor(
    readonly source: ByteSource,
    readonly context: InspectContext,
  ) {
    this.reader = new SourceReader(source, {
      truncatedRule: 'gguf.truncated',
      limitRule: 'gguf.limit.header-size',
      maxBytes: MAX_HEADER_BYTES,
      limitName: 'MAX_HEADER_BYTES',
      prefetched: context.head,
      signal: context.signal,
    });
  }
}

async function readFile(state: GgufState): Promise<void> {
  const { reader, findings } = state;
  const magic = await reader.bytes(4, 'magic');
  if (!GGUF_MAGIC.every((byte, index) => magic[index] === byte)) {
    findings.add('gguf.header.magic', `magic ${hex(magic)} at offset 0 is not "GGUF" (47 47 55 46)`, 0);
    return;
  }
  const version = await reader.u32le('version');
  if (!SUPPORTED_VERSIONS.has(version)) {
    findings.add('gguf.header.version', describeVersion(version), 4);
    return;
  }
  const tensorCount = await reader.u64le('tensor count');
  const kvCount = await reader.u64le('key-value count');

  if (kvCount > BigInt(MAX_KV)) {
    findings.add('gguf.limit.kv-count', `key-value count ${kvCount} at offset 16 exceeds MAX_KV (${MAX_KV})`, 16);
    return;
  }
  requireFits(reader, Number(kvCount), MIN_KV_BYTES, 'key-value pairs');
  const tensorsReadable = tensorCount <= BigInt(MAX_TENSORS);
  if (!tensorsReadable) {
    findings.add(
      'gguf.limit.tensor-count',
      `tensor count ${tensorCount} at offset 8 exceeds MAX_TENSORS (${MAX_TENSORS}); the tensor table was not read`,
      8,
    );
  }

  for (let index = 0; index < Number(kvCount); index++) {
    throwIfAborted(state.context.signal);
    await readKeyValue(state);
  }
  const alignment = resolveAlignment(state);
  if (!tensorsReadable) return;

  requireFits(reader, Number(tensorCount), MIN_TENSOR_INFO_BYTES, 'tensor infos');
  const names = new Set<string>();
  for (let index = 0; index < Number(tensorCount); index++) {
    throwIfAborted(state.context.signal);
    state.tensors.push(await readTensorInfo(state, names));
  }
  checkLayout(state, alignment);
}

function describeVersion(version: number): string {
  if (version === 1) return 'version 1 at offset 4 is the first GGUF layout (32-bit counts and lengths), no longer read by loaders; only 2 and 3 are supported';
  if (version !== 0 && (version & 0xffff) === 0) {
    return `version ${version} (0x${version.toString(16)}) at offset 4 looks like a big-endian GGUF file; only little-endian versions 2 and 3 are supported`;
  }
  return `version ${version} at offset 4 is not a supported GGUF version (2 or 3)`;
}

/** Refuse a count whose items could not fit in the rest of the file, before reading any of them. */
function requireFits(reader: SourceReader, count: number, minimumBytes: number, what: string): void {
  const needed = count * minimumBytes;
  if (needed > reader.remainingInSource) {
    throw new ParseError(
      'gguf.truncated',
      reader.position,
      `${count} ${what} need at least ${needed} bytes from offset ${reader.position} but the file has ${reader.remainingInSource} left`,
    );
  }
}

// ---------------------------------------------------------------------------
// Strings

interface GgufString {
  /** Decoded text, cut at the decode limit when `complete` is false. */
  text: string;
  byteLength: number;
  /** File offset of the string's first byte (after its length). */
  offset: number;
  complete: boolean;
}

/**
 * A GGUF string: u64 length, then bytes. Decodes at most `decodeLimit` bytes
 * and skips the rest. Longer than MAX_STRING_BYTES throws, or with
 * `skipIfTooLong` reports it, skips it when the file holds it, and returns null.
 */
async function readString(state: GgufState, what: string, decodeLimit: number, skipIfTooLong = false): Promise<GgufString | null> {
  const { reader } = state;
  const lengthOffset = reader.position;
  const length = await reader.u64le(`length of ${what}`);
  if (length > BigInt(MAX_STRING_BYTES)) {
    const message = `${what} at offset ${lengthOffset} claims ${length} bytes, over MAX_STRING_BYTES (${MAX_STRING_BYTES})`;
    if (!skipIfTooLong || length > BigInt(reader.remainingInSource)) throw new ParseError('gguf.limit.string-length', lengthOffset, message);
    state.findings.add('gguf.limit.string-length', `${message}; its value is not reported`, lengthOffset);
    await reader.skip(Number(length), what);
    return null;
  }
  const byteLength = Number(length);
  const offset = reader.position;
  const decoded = Math.min(byteLength, decodeLimit);
  const text = await reader.utf8(decoded, what);
  await reader.skip(byteLength - decoded, what);
  return { text, byteLength, offset, complete: decoded === byteLength };
}

// ---------------------------------------------------------------------------
// Key-value pairs

async function readKeyValue(state: GgufState): Promise<void> {
  const { reader, findings } = state;
  const keyOffset = reader.position;
  const keyString = (await readString(state, 'key', MAX_KEY_BYTES))!;
  const key = keyString.text;
  checkKey(state, keyString, keyOffset);

  const typeOffset = reader.position;
  const typeId = await reader.u32le(`value type of ${quote(key)}`);
  const type = ggufValueTypeName(typeId);
  if (type === undefined) {
    throw new ParseError(
      'gguf.kv.unknown-type',
      typeOffset,
      `value type ${typeId} of key ${quote(key)} at offset ${typeOffset} is not a GGUF type (0 to 12)`,
    );
  }
  const duplicate = state.keys.has(key);
  if (duplicate) {
    findings.add('gguf.kv.duplicate-key', `key ${quote(key)} at offset ${keyOffset} was already defined; the first value is reported`, keyOffset);
  }
  state.keys.add(key);

  const valueOffset = reader.position;
  let value: MetadataValue;
  if (type === 'string' && isChatTemplateKey(key)) {
    value = await readChatTemplate(state, key);
  } else {
    value = await readValue(state, type, 0, { remaining: MAX_VALUES_PER_KEY }, `value of ${quote(key)}`);
  }
  if (duplicate) return;
  if (key === 'general.alignment') state.alignmentEntry = { type, value, offset: valueOffset };
  // defineProperty, not assignment: a key named "__proto__" must stay a plain entry.
  Object.defineProperty(state.metadata, key, { value, enumerable: true, writable: true, configurable: true });
}

function checkKey(state: GgufState, key: GgufString, offset: number): void {
  let problem: string | null = null;
  if (key.byteLength === 0) problem = 'is empty';
  else if (key.byteLength > MAX_KEY_BYTES) problem = `is ${key.byteLength} bytes, over ${MAX_KEY_BYTES}`;
  else if (!/^[\x20-\x7e]+$/.test(key.text)) problem = 'has characters outside printable ASCII';
  if (problem) state.findings.add('gguf.kv.invalid-key', `key ${quote(key.text)} at offset ${offset} ${problem}`, offset);
}

function isChatTemplateKey(key: string): boolean {
  return key === CHAT_TEMPLATE_KEY || key.startsWith(`${CHAT_TEMPLATE_KEY}.`);
}

/** Read a chat template whole (loaders render all of it) and check it; the report keeps the usual cut. */
async function readChatTemplate(state: GgufState, key: string): Promise<MetadataValue> {
  const template = await readString(state, `value of ${quote(key)}`, MAX_STRING_BYTES, true);
  if (template === null) return null;
  state.findings.addAll(
    chatTemplateFindings(template.text, {
      source: key,
      location: { offset: template.offset, length: template.byteLength },
      fileOffset: template.offset,
    }),
  );
  return displayString(template.text, template.byteLength);
}

interface ValueBudget {
  remaining: number;
}

async function readValue(state: GgufState, type: GgufValueTypeName, depth: number, budget: ValueBudget, what: string): Promise<MetadataValue> {
  const { reader } = state;
  switch (type) {
    case 'u8':
      return reader.u8(what);
    case 'i8':
      return reader.i8(what);
    case 'u16':
      return reader.u16le(what);
    case 'i16':
      return reader.i16le(what);
    case 'u32':
      return reader.u32le(what);
    case 'i32':
      return reader.i32le(what);
    case 'f32':
      return float32Value(await reader.f32le(what));
    case 'f64':
      return finiteOrText(await reader.f64le(what));
    case 'u64':
      return bigintValue(await reader.u64le(what));
    case 'i64':
      return bigintValue(await reader.i64le(what));
    case 'bool': {
      const offset = reader.position;
      const byte = await reader.u8(what);
      if (byte > 1) state.findings.add('gguf.kv.invalid-bool', `${what} at offset ${offset} is the byte ${byte}, not 0 or 1`, offset);
      return byte !== 0;
    }
    case 'string': {
      const text = await readString(state, what, MAX_METADATA_STRING_BYTES, true);
      return text === null ? null : displayString(text.text, text.byteLength);
    }
    case 'array':
      return readArray(state, depth + 1, budget, what);
  }
}

interface ArrayHeader {
  itemType: GgufValueTypeName;
  length: number;
}

/** Item type and count of an array, both checked (type known, count within limits and within the file). */
async function readArrayHeader(state: GgufState, depth: number, what: string): Promise<ArrayHeader> {
  const { reader } = state;
  const offset = reader.position;
  if (depth > MAX_ARRAY_DEPTH) {
    throw new ParseError(
      'gguf.limit.array-depth',
      offset,
      `${what} at offset ${offset} nests arrays ${depth} deep, over MAX_ARRAY_DEPTH (${MAX_ARRAY_DEPTH})`,
    );
  }
  const itemTypeId = await reader.u32le(`item type of ${what}`);
  const itemType = ggufValueTypeName(itemTypeId);
  if (itemType === undefined) {
    throw new ParseError('gguf.kv.unknown-type', offset, `item type ${itemTypeId} of ${what} at offset ${offset} is not a GGUF type (0 to 12)`);
  }
  const count = await reader.u64le(`length of ${what}`);
  if (count > BigInt(MAX_ARRAY_LENGTH)) {
    throw new ParseError(
      'gguf.limit.array-length',
      offset + 4,
      `${what} at offset ${offset} claims ${count} items, over MAX_ARRAY_LENGTH (${MAX_ARRAY_LENGTH})`,
    );
  }
  const length = Number(count);
  requireFits(reader, length, minimumValueBytes(itemType), `items of ${what}`);
  return { itemType, length };
}

/**
 * An array as a plain list when short, else as a summary with its first
 * items; items past the head are skipped without being decoded.
 */
async function readArray(state: GgufState, depth: number, budget: ValueBudget, what: string): Promise<MetadataValue> {
  const { itemType, length } = await readArrayHeader(state, depth, what);
  const inline = length <= ARRAY_INLINE_ITEMS && length <= budget.remaining;
  const headLength = inline ? length : Math.min(ARRAY_HEAD_ITEMS, length, budget.remaining);
  const head: MetadataValue[] = [];
  for (let index = 0; index < headLength; index++) {
    budget.remaining--;
    head.push(await readValue(state, itemType, depth, budget, `item ${index} of ${what}`));
  }
  await skipItems(state, itemType, length - headLength, depth, what);
  if (inline) return head;
  const summary: MetadataArraySummary = { summary: 'array', itemType, length, head };
  return summary;
}

/** Move past `count` items without decoding them: fixed-size items in one step, strings by their lengths. */
async function skipItems(state: GgufState, itemType: GgufValueTypeName, count: number, depth: number, what: string): Promise<void> {
  const { reader } = state;
  const fixed = GGUF_FIXED_VALUE_BYTES[itemType];
  if (fixed !== undefined) {
    await reader.skip(count * fixed, `items of ${what}`);
    return;
  }
  for (let index = 0; index < count; index++) {
    if (index % ABORT_CHECK_INTERVAL === 0) throwIfAborted(state.context.signal);
    if (itemType === 'string') {
      const offset = reader.position;
      const length = await reader.u64le(`length of a string in ${what}`);
      if (length > BigInt(MAX_STRING_BYTES)) {
        throw new ParseError(
          'gguf.limit.string-length',
          offset,
          `a string in ${what} at offset ${offset} claims ${length} bytes, over MAX_STRING_BYTES (${MAX_STRING_BYTES})`,
        );
      }
      await reader.skip(Number(length), `a string in ${what}`);
    } else {
      const nested = await readArrayHeader(state, depth + 1, `an array in ${what}`);
      await skipItems(state, nested.itemType, nested.length, depth + 1, `an array in ${what}`);
    }
  }
}

function displayString(text: string, byteLength: number): string {
  return byteLength > MAX_METADATA_STRING_BYTES ? `${text}…` : text;
}

/** The shortest decimal that reads back as the same float32 (1e-5, not 0.000009999999747378752). */
function float32Value(value: number): MetadataValue {
  if (!Number.isFinite(value)) return String(value);
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}

/** JSON has no NaN or Infinity: those are reported as text. */
function finiteOrText(value: number): MetadataValue {
  return Number.isFinite(value) ? value : String(value);
}

/** A 64-bit integer as a number when exact, else as a decimal string. */
function bigintValue(value: bigint): MetadataValue {
  const limit = BigInt(Number.MAX_SAFE_INTEGER);
  return value <= limit && value >= -limit ? Number(value) : value.toString();
}

/** The alignment to lay tensors out with: `general.alignment` when valid, else the default (and a finding). */
function resolveAlignment(state: GgufState): number {
  const entry = state.alignmentEntry;
  if (entry === null) return DEFAULT_ALIGNMENT;
  let problem: string | null = null;
  if (entry.type !== 'u32') problem = `has type ${entry.type}; it must be u32`;
  else if (typeof entry.value !== 'number' || entry.value === 0 || (entry.value & (entry.value - 1)) !== 0) {
    problem = `is ${JSON.stringify(entry.value)}, not a non-zero power of two`;
  }
  if (problem === null) {
    const alignment = entry.value as number;
    // Valid by the spec, so loaders lay the file out with it: report it, and use it.
    if (alignment > MAX_ALIGNMENT) {
      state.findings.add(
        'gguf.alignment.invalid',
        `general.alignment at offset ${entry.offset} is ${alignment}, over MAX_ALIGNMENT (${MAX_ALIGNMENT})`,
        entry.offset,
      );
    }
    return alignment;
  }
  state.findings.add(
    'gguf.alignment.invalid',
    `general.alignment at offset ${entry.offset} ${problem}; checks used ${DEFAULT_ALIGNMENT}`,
    entry.offset,
  );
  return DEFAULT_ALIGNMENT;
}

// ---------------------------------------------------------------------------
// Tensor infos

async function readTensorInfo(state: GgufState, names: Set<string>): Promise<ParsedTensor> {
  const { reader, findings } = state;
  const infoOffset = reader.position;
  const nameString = (await readString(state, 'tensor name', MAX_NAME_DISPLAY_BYTES))!;
  const name = nameString.complete ? nameString.text : `${nameString.text}…`;
  if (nameString.byteLength > MAX_TENSOR_NAME_BYTES) {
    findings.add(
      'gguf.tensor.name-too-long',
      `tensor name ${quote(name)} at offset ${infoOffset} is ${nameString.byteLength} bytes, over ${MAX_TENSOR_NAME_BYTES}`,
      infoOffset,
    );
  }
  if (nameString.complete && names.has(name)) {
    findings.add('gguf.tensor.duplicate-name', `tensor name ${quote(name)} at offset ${infoOffset} is used by an earlier tensor`, infoOffset);
  }
  names.add(name);

  const dimsOffset = reader.position;
  const dimensionCount = await reader.u32le(`dimension count of ${quote(name)}`);
  if (dimensionCount > MAX_TENSOR_DIMS) {
    throw new ParseError(
      'gguf.limit.dimensions',
      dimsOffset,
      `tensor ${quote(name)} at offset ${infoOffset} has ${dimensionCount} dimensions, over ${MAX_TENSOR_DIMS}`,
    );
  }
  const dims: bigint[] = [];
  for (let index = 0; index < dimensionCount; index++) dims.push(await reader.u64le(`dimension ${index} of ${quote(name)}`));
  const typeOffset = reader.position;
  const typeId = await reader.u32le(`type of ${quote(name)}`);
  const offsetFieldOffset = reader.position;
  const relativeOffset = await reader.u64le(`offset of ${quote(name)}`);

  const type = ggmlTypeById(typeId);
  const overflows = dimensionsOverflow(dims);
  if (overflows) {
    findings.add(
      'gguf.tensor.dims-overflow',
      `tensor ${quote(name)} at offset ${infoOffset} has dimensions [${dims.join(', ')}], whose product does not fit in a signed 64-bit integer`,
      dimsOffset,
    );
  }
  if (type === undefined) {
    findings.add(
      'gguf.tensor.unknown-type',
      `tensor ${quote(name)} at offset ${infoOffset} has ggml type ${typeId}, which ggml does not define; its size is unknown`,
      typeOffset,
    );
  } else if (type.removed) {
    findings.add(
      'gguf.tensor.removed-type',
      `tensor ${quote(name)} at offset ${infoOffset} has type ${type.name} (${typeId}), which current loaders refuse`,
      typeOffset,
    );
  }
  const rowLength = dims[0] ?? 1n;
  if (type && !overflows && rowLength % BigInt(type.blockSize) !== 0n) {
    findings.add(
      'gguf.tensor.block-size-mismatch',
      `tensor ${quote(name)} at offset ${infoOffset} has rows of ${rowLength} elements, not a multiple of the ${type.name} block size ${type.blockSize}`,
      dimsOffset,
    );
  }
  const byteLength = type && !overflows ? tensorByteLength(dims, type) : null;
  return {
    info: {
      name,
      dtype: type ? type.name : `unknown(${typeId})`,
      shape: dims.map((dimension) => Number(dimension)),
      offset: -1,
      length: byteLength === null ? 0 : Number(byteLength),
    },
    relativeOffset,
    byteLength,
    infoOffset,
    offsetFieldOffset,
  };
}

/** True when a dimension or the element count does not fit in int64 (ggml's `ne` type). */
function dimensionsOverflow(dims: readonly bigint[]): boolean {
  let product = 1n;
  for (const dimension of dims) {
    if (dimension >= INT64_LIMIT) return true;
    product *= dimension;
  }
  return product >= INT64_LIMIT;
}

/** Bytes of a tensor: rows × blocks per row × bytes per block (partial blocks rounded up, so bounds stay conservative). */
function tensorByteLength(dims: readonly bigint[], type: GgmlTypeInfo): bigint {
  const rowLength = dims[0] ?? 1n;
  if (rowLength === 0n) return 0n;
  const rows = dims.slice(1).reduce((product, dimension) => product * dimension, 1n);
  const blockSize = BigInt(type.blockSize);
  return rows * ((rowLength + blockSize - 1n) / blockSize) * BigInt(type.typeSize);
}

// ---------------------------------------------------------------------------
// Layout: alignment, bounds, overlaps and unreferenced bytes of the data section.

function checkLayout(state: GgufState, alignment: number): void {
  const { reader, findings, tensors } = state;
  const fileSize = BigInt(reader.size);
  const step = BigInt(alignment);
  const dataStart = alignUp(BigInt(reader.position), step);

  for (const tensor of tensors) {
    const { info } = tensor;
    const absolute = dataStart + tensor.relativeOffset;
    tensor.absoluteOffset = absolute;
    info.offset = Number(absolute);
    if (tensor.relativeOffset % step !== 0n) {
      findings.add(
        'gguf.tensor.offset-unaligned',
        `tensor ${quote(info.name)} has data offset ${tensor.relativeOffset} (file offset ${absolute}), not a multiple of the alignment ${alignment}`,
        tensor.offsetFieldOffset,
      );
    }
    const end = absolute + (tensor.byteLength ?? 0n);
    if (end > fileSize) {
      const extent = tensor.byteLength === null ? `starts at file offset ${absolute}` : `spans file offsets ${absolute} to ${end}`;
      findings.add(
        'gguf.tensor.out-of-bounds',
        `tensor ${quote(info.name)} ${extent}, past the end of the file at ${fileSize}`,
        tensor.offsetFieldOffset,
      );
    }
  }
  checkOverlaps(state);
  checkUnreferencedBytes(state, dataStart, step, fileSize);
}

function checkOverlaps(state: GgufState): void {
  const ranges = state.tensors
    .filter((tensor) => tensor.byteLength !== null && tensor.byteLength > 0n)
    .sort((a, b) => compareBigint(a.absoluteOffset!, b.absoluteOffset!));
  let widest: ParsedTensor | undefined;
  for (const tensor of ranges) {
    const start = tensor.absoluteOffset!;
    if (widest && start < endOf(widest)) {
      state.findings.add(
        'gguf.tensor.overlap',
        `tensor ${quote(tensor.info.name)} (file offsets ${start} to ${endOf(tensor)}) overlaps tensor ${quote(widest.info.name)} (${widest.absoluteOffset} to ${endOf(widest)})`,
        tensor.offsetFieldOffset,
      );
    }
    if (!widest || endOf(tensor) > endOf(widest)) widest = tensor;
  }
}

/** Bytes outside the header, every tensor and each tensor's alignment padding; only judged when every size is known. */
function checkUnreferencedBytes(state: GgufState, dataStart: bigint, step: bigint, fileSize: bigint): void {
  if (state.tensors.some((tensor) => tensor.byteLength === null)) return;
  const covered: [bigint, bigint][] = [[0n, dataStart]];
  for (const tensor of state.tensors) covered.push([tensor.absoluteOffset!, alignUp(endOf(tensor), step)]);
  covered.sort((a, b) => compareBigint(a[0], b[0]));
  const gaps: [start: bigint, length: bigint][] = [];
  let reached = 0n;
  for (const [start, end] of [...covered, [fileSize, fileSize] as [bigint, bigint]]) {
    const gapEnd = start < fileSize ? start : fileSize;
    if (gapEnd > reached) gaps.push([reached, gapEnd - reached]);
    if (end > reached) reached = end;
    if (reached >= fileSize) break;
  }
  if (gaps.length === 0) return;
  const total = gaps.reduce((sum, [, length]) => sum + length, 0n);
  const [gapStart, gapLength] = gaps[0];
  state.findings.add(
    'gguf.data.unreferenced-bytes',
    `${total} bytes of the file belong to no tensor, header or padding; the first ${gapLength} start at offset ${gapStart}`,
    Number(gapStart),
    Number(gapLength),
  );
}

function endOf(tensor: ParsedTensor): bigint {
  return tensor.absoluteOffset! + (tensor.byteLength ?? 0n);
}

function alignUp(value: bigint, step: bigint): bigint {
  return ((value + step - 1n) / step) * step;
}

function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------
// Findings

/** Findings in file order of discovery, at most MAX_FINDINGS_PER_RULE per rule (the last kept one says how many more). */
class FindingList {
  private readonly findings: Finding[] = [];
  private readonly kept = new Map<string, Finding>();
  private readonly counts = new Map<string, number>();

  add(rule: RuleId, detail: string, offset: number, length?: number): void {
    this.push(createFinding(rule, { detail, location: length === undefined ? { offset } : { offset, length } }));
  }

  addAll(findings: readonly Finding[]): void {
    for (const finding of findings) this.push(finding);
  }

  list(): Finding[] {
    return this.findings.map((finding) => {
      const extra = (this.counts.get(finding.rule) ?? 0) - MAX_FINDINGS_PER_RULE;
      if (extra <= 0 || this.kept.get(finding.rule) !== finding) return finding;
      return { ...finding, detail: `${finding.detail} (${extra} more findings of this rule were not listed)` };
    });
  }

  private push(finding: Finding): void {
    const count = (this.counts.get(finding.rule) ?? 0) + 1;
    this.counts.set(finding.rule, count);
    if (count > MAX_FINDINGS_PER_RULE) return;
    this.findings.push(finding);
    this.kept.set(finding.rule, finding);
  }
}

/** An untrusted name for a message: JSON-quoted (control characters visible) and cut to a readable length. */
function quote(text: string): string {
  return JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text);
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
}
