/**
 * NumPy `.npy` arrays: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 *
 * A file is the magic `\x93NUMPY`, a version (1.0, 2.0 or 3.0), a header
 * length (u16 little-endian for 1.0, u32 for 2.0 and 3.0), then the header:
 * a Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`
 * (latin-1, or UTF-8 for 3.0), padded with spaces and a newline. The array
 * data follows, raw; or, when the dtype holds Python objects, a pickle of the
 * whole array.
 *
 * Threat surface: the header is text a loader evaluates. NumPy parses it with
 * `ast.literal_eval` and caps it at 10 000 characters because parsing huge
 * literals can exhaust the interpreter; Preflight parses it with a bounded
 * literal parser of its own (npy-header.ts), never `eval`. Shapes and item
 * sizes that overflow or disagree with the file mis-size buffers. Above all,
 * an object dtype (`|O`, also inside a structured dtype) turns the data into
 * a pickle that `np.load(allow_pickle=True)` runs: that region is scanned as
 * a pickle on the one streaming pass. Bytes after the data are ignored by
 * np.load and can carry a payload for another reader.
 */
import type { ByteSource } from '../io/byte-source.ts';
import { createPickleScanner } from '../pickle/pickle-scanner.ts';
import type { Finding, FindingLocation, MetadataValue, TensorInfo } from '../report/types.ts';
import { createFinding, type RuleId } from '../rules/index.ts';
import { quoteUntrusted } from '../rules/pickle-policy.ts';
import { DtypeError, LiteralError, type NpyDtype, type PyLiteral, describeLiteral, parsePythonLiteral, readDescr } from './npy-header.ts';
import type { FormatModule, Inspection } from './types.ts';

/** The magic string every .npy file starts with. */
export const NPY_MAGIC = Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59);
/** Header bytes Preflight parses at most: 100× NumPy's own cap, for wide structured dtypes (CWE-400, CWE-770). */
export const MAX_HEADER_BYTES = 1024 * 1024;
/** NumPy's `_MAX_HEADER_SIZE`: longer headers need allow_pickle=True or a raised max_header_size. */
export const NUMPY_DEFAULT_MAX_HEADER_CHARS = 10_000;
/** Dimensions accepted: NumPy 2 allows 64 (NumPy 1 allowed 32); more is not a real array (CWE-770). */
export const MAX_RANK = 64;
/** NumPy indexes with signed 64-bit integers: no dimension or element count can exceed this. */
const MAX_INTP = (1n << 63n) - 1n;

/** Bytes before the header: magic, version, and the longest length field. */
const PREAMBLE_BYTES = NPY_MAGIC.length + 2 + 4;

/** Header length field and text encoding per version, as NumPy's `_header_size_info`. */
const VERSIONS: ReadonlyMap<string, { lengthBytes: 2 | 4; encoding: 'latin1' | 'utf8' }> = new Map([
  ['1.0', { lengthBytes: 2, encoding: 'latin1' }],
  ['2.0', { lengthBytes: 4, encoding: 'latin1' }],
  ['3.0', { lengthBytes: 4, encoding: 'utf8' }],
]);

const EXPECTED_KEYS = ['descr', 'fortran_order', 'shape'];

/** Where an .npy is read from, and how its offsets are reported. */
export interface NpyReadOptions {
  /** Name of the one tensor (the file name, or an .npz member name without `.npy`). */
  tensorName: string;
  /** Member path inside a container, copied into findings. */
  entry?: string;
  /** Added to offsets inside `source` for tensors and findings (a stored member's data offset; 0 otherwise). */
  baseOffset?: number;
}

/** What the header says, and where the data is. */
export interface NpyReading {
  findings: Finding[];
  tensors: TensorInfo[];
  /** Header summary for the report: version, dtype, shape, fortran order, data offset. */
  summary: Record<string, MetadataValue>;
  /** The data region as a pickle, in `source` offsets, when the dtype holds Python objects. */
  pickleRegion: { offset: number; length: number } | null;
}

/** True when `head` starts with the .npy magic. */
export function isNpy(head: Uint8Array): boolean {
  return head.length >= NPY_MAGIC.length && NPY_MAGIC.every((byte, index) => head[index] === byte);
}

/**
 * Reads an .npy header from `source` with two bounded reads and checks the
 * data against the source size. Never throws for bad input: problems are
 * findings, and what could be read is returned.
 */
export async function readNpy(source: ByteSource, options: NpyReadOptions): Promise<NpyReading> {
  const base = options.baseOffset ?? 0;
  const reading: NpyReading = { findings: [], tensors: [], summary: {}, pickleRegion: null };
  const report = (rule: RuleId, offset: number, detail: string, evidence?: string) => {
    const location: FindingLocation = { offset: base + offset };
    if (options.entry !== undefined) location.entry = options.entry;
    reading.findings.push(createFinding(rule, { detail, location, ...(evidence !== undefined ? { evidence } : {}) }));
  };

  const preamble = await source.read(0, PREAMBLE_BYTES);
  if (!isNpy(preamble)) {
    report('numpy.header.truncated', 0, `The .npy magic needs ${NPY_MAGIC.length} bytes but only ${Math.min(preamble.length, source.size)} match or are present.`);
    return reading;
  }
  if (preamble.length < NPY_MAGIC.length + 2) {
    report('numpy.header.truncated', NPY_MAGIC.length, `The file ends at ${source.size} bytes, inside the version field at offset ${NPY_MAGIC.length}.`);
    return reading;
  }
  const version = `${preamble[6]}.${preamble[7]}`;
  reading.summary.version = version;
  const layout = VERSIONS.get(version);
  if (!layout) {
    report('numpy.version.unsupported', 6, `Format version ${version} at offset 6; NumPy reads 1.0, 2.0 and 3.0.`);
    return reading;
  }
  const lengthOffset = NPY_MAGIC.length + 2;
  if (preamble.length < lengthOffset + layout.lengthBytes) {
    report('numpy.header.truncated', lengthOffset, `The ${layout.lengthBytes}-byte header length at offset ${lengthOffset} is cut by the end of the file at ${source.size} bytes.`);
    return reading;
  }
  const view = new DataView(preamble.buffer, preamble.byteOffset, preamble.byteLength);
  const headerLength = layout.lengthBytes === 2 ? view.getUint16(lengthOffset, true) : view.getUint32(lengthOffset, true);
  const headerOffset = lengthOffset + layout.lengthBytes;
  const dataOffset = headerOffset + headerLength;
  reading.summary.headerLength = headerLength;
  if (headerLength > MAX_HEADER_BYTES) {
    report('numpy.header.too-large', lengthOffset, `Header length ${headerLength} exceeds ${MAX_HEADER_BYTES} at offset ${lengthOffset}; the header was not parsed.`);
    return reading;
  }
  if (dataOffset > source.size) {
    report('numpy.header.truncated', headerOffset, `Header of ${headerLength} bytes at offset ${headerOffset} runs past the end of the file (${source.size} bytes).`);
    return reading;
  }

  const headerBytes = await source.read(headerOffset, headerLength);
  const text = decodeHeader(headerBytes, layout.encoding);
  if (text === null) {
    report('numpy.header.invalid', headerOffset, `Header of format ${version} is not valid UTF-8.`);
    return reading;
  }
  if (text.length > NUMPY_DEFAULT_MAX_HEADER_CHARS) {
    report(
      'numpy.header.needs-trust',
      headerOffset,
      `Header of ${text.length} characters exceeds NumPy's default max_header_size of ${NUMPY_DEFAULT_MAX_HEADER_CHARS}; np.load refuses it unless the file is trusted (allow_pickle=True).`,
    );
  }

  let literal: PyLiteral;
  try {
    literal = parsePythonLiteral(text, { allowLongSuffix: version !== '3.0' });
  } catch (error) {
    if (!(error instanceof LiteralError)) throw error;
    report('numpy.header.invalid', headerOffset, `Header is not a Python literal: ${error.message} at character ${error.index}.`, excerpt(text, error.index));
    return reading;
  }
  const header = readHeaderDict(literal);
  if (typeof header === 'string') {
    report('numpy.header.invalid', headerOffset, header, excerpt(text, 0));
    return reading;
  }

  let dtype: NpyDtype | null = null;
  try {
    dtype = readDescr(header.descr);
  } catch (error) {
    if (!(error instanceof DtypeError)) throw error;
    report('numpy.dtype.unknown', headerOffset, `descr is not a dtype Preflight understands: ${error.message}.`, excerpt(text, text.indexOf('descr')));
  }
  const shape = readShape(header.shape);
  if (typeof shape === 'string') report('numpy.shape.invalid', headerOffset, shape, excerpt(text, text.indexOf('shape')));
  const fortranOrder = header.fortranOrder;
  if (fortranOrder === null) {
    report('numpy.header.invalid', headerOffset, `fortran_order must be True or False, not ${describeLiteral(header.fortranOrderValue)}.`);
  }

  if (dtype) summariseDtype(reading.summary, dtype);
  if (Array.isArray(shape)) reading.summary.shape = shape.map(Number);
  if (fortranOrder !== null) reading.summary.fortranOrder = fortranOrder;
  reading.summary.dataOffset = base + dataOffset;
  if (!dtype || typeof shape === 'string') return reading;

  const available = source.size - dataOffset;
  if (dtype.hasObject) {
    reading.pickleRegion = { offset: dataOffset, length: available };
    reading.tensors.push({ name: options.tensorName, dtype: dtype.str, shape: shape.map(Number), offset: base + dataOffset, length: available });
    return reading;
  }
  const count = shape.reduce((product, dimension) => product * dimension, 1n);
  const byteLength = count * BigInt(dtype.itemSize);
  if (count > MAX_INTP || byteLength > BigInt(Number.MAX_SAFE_INTEGER)) {
    report('numpy.shape.invalid', headerOffset, `Shape (${shape.join(', ')}) of ${dtype.itemSize}-byte items needs ${byteLength} bytes, more than any array can hold.`);
    return reading;
  }
  const length = Number(byteLength);
  reading.tensors.push({ name: options.tensorName, dtype: dtype.str, shape: shape.map(Number), offset: base + dataOffset, length });
  if (length > available) {
    report(
      'numpy.data.truncated',
      dataOffset,
      `Shape (${shape.join(', ')}) of ${dtype.str} needs ${length} bytes from offset ${base + dataOffset} but only ${available} remain.`,
    );
  } else if (length < available) {
    report(
      'numpy.data.trailing',
      dataOffset + length,
      `${available - length} bytes follow the ${length} bytes of array data, from offset ${base + dataOffset + length}.`,
    );
  }
  return reading;
}

/** latin-1 maps each byte to the code point of the same value (TextDecoder's "latin1" is windows-1252). */
function decodeHeader(bytes: Uint8Array, encoding: 'latin1' | 'utf8'): string | null {
  if (encoding === 'utf8') {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return null;
    }
  }
  let text = '';
  for (let index = 0; index < bytes.length; index += 8192) {
    text += String.fromCharCode(...bytes.subarray(index, index + 8192));
  }
  return text;
}

interface HeaderDict {
  descr: PyLiteral;
  shape: PyLiteral;
  fortranOrderValue: PyLiteral;
  fortranOrder: boolean | null;
}

/** The three keys NumPy requires, exactly; a message when the dict is not that. */
function readHeaderDict(literal: PyLiteral): HeaderDict | string {
  if (literal.kind !== 'dict') return `Header is not a dict but ${describeLiteral(literal)}.`;
  const values = new Map<string, PyLiteral>();
  const others: string[] = [];
  for (const [key, value] of literal.entries) {
    // Python keeps the last of repeated keys.
    if (key.kind === 'str' && EXPECTED_KEYS.includes(key.value)) values.set(key.value, value);
    else others.push(key.kind === 'str' ? quoteUntrusted(key.value, 60) : describeLiteral(key));
  }
  const missing = EXPECTED_KEYS.filter((key) => !values.has(key));
  if (others.length > 0 || missing.length > 0) {
    const parts = [];
    if (missing.length > 0) parts.push(`missing ${missing.join(', ')}`);
    if (others.length > 0) parts.push(`unexpected key${others.length > 1 ? 's' : ''} ${others.slice(0, 5).join(', ')}${others.length > 5 ? ` and ${others.length - 5} more` : ''}`);
    return `Header must have exactly the keys descr, fortran_order and shape: ${parts.join('; ')}.`;
  }
  const fortranOrderValue = values.get('fortran_order') as PyLiteral;
  return {
    descr: values.get('descr') as PyLiteral,
    shape: values.get('shape') as PyLiteral,
    fortranOrderValue,
    fortranOrder: fortranOrderValue.kind === 'bool' ? fortranOrderValue.value : null,
  };
}

/** The shape as BigInts, or a message. Python's bool is an int, so `(True, 3)` is `(1, 3)` as NumPy reads it. */
function readShape(value: PyLiteral): bigint[] | string {
  if (value.kind !== 'tuple') return `shape must be a tuple of integers, not ${describeLiteral(value)}.`;
  if (value.items.length > MAX_RANK) return `shape has ${value.items.length} dimensions, more than ${MAX_RANK}.`;
  const shape: bigint[] = [];
  for (const [index, item] of value.items.entries()) {
    const dimension = item.kind === 'int' ? item.value : item.kind === 'bool' ? BigInt(item.value) : null;
    if (dimension === null) return `shape dimension ${index} is ${describeLiteral(item)}, not an integer.`;
    if (dimension < 0n) return `shape dimension ${index} is negative (${dimension}).`;
    if (dimension > MAX_INTP) return `shape dimension ${index} (${dimension}) exceeds ${MAX_INTP}.`;
    shape.push(dimension);
  }
  return shape;
}

function summariseDtype(summary: Record<string, MetadataValue>, dtype: NpyDtype): void {
  summary.dtype = dtype.str;
  summary.itemSize = dtype.itemSize;
  if (dtype.bigEndian) summary.byteOrder = 'big';
  if (dtype.hasObject) summary.holdsObjects = true;
  if (dtype.fields) {
    summary.fields = dtype.fields.map((field) => ({ name: field.name, dtype: field.dtype, shape: field.shape, offset: field.offset }));
    if ((dtype.fieldCount ?? 0) > dtype.fields.length) summary.fieldCount = dtype.fieldCount ?? 0;
  }
}

/** A quoted excerpt of the header around `index`, for evidence. */
function excerpt(text: string, index: number): string {
  const start = Math.max(0, Math.min(index, text.length) - 20);
  return quoteUntrusted(text.slice(start, start + 120), 120);
}

/** The last path segment of a source name: the tensor of a lone .npy is named after its file. */
export function baseName(name: string): string {
  const cut = Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\'));
  return name.slice(cut + 1);
}

/** An object-array finding for `reading`, located at its data. */
export function objectArrayFinding(reading: NpyReading, location: FindingLocation): Finding {
  const region = reading.pickleRegion as { offset: number; length: number };
  return createFinding('numpy.object-array', {
    detail: `dtype ${String(reading.summary.dtype)} holds Python objects: the ${region.length} bytes of data are a pickle, scanned as such.`,
    location,
  });
}

export const npyFormat: FormatModule = {
  id: 'npy',
  label: 'NumPy array',
  extensions: ['.npy'],
  detect: (head) => isNpy(head),
  async inspect(source): Promise<Inspection> {
    const reading = await readNpy(source, { tensorName: baseName(source.name) });
    const inspection: Inspection = { tensors: reading.tensors, metadata: { ...reading.summary }, findings: reading.findings };
    if (reading.pickleRegion) {
      const region = reading.pickleRegion;
      inspection.findings.push(objectArrayFinding(reading, { offset: region.offset, length: region.length }));
      inspection.streamScanners = [createPickleScanner(source, { offset: region.offset, length: region.length })];
    }
    return inspection;
  },
};
