/**
 * The two hostile-text parts of a NumPy `.npy` header, kept apart from the
 * format module: a small Python literal parser (the header is a dict literal
 * that NumPy reads with `ast.literal_eval`) and the dtype descriptions it
 * carries (`'<f4'`, `[('x', '<f4'), ('y', '<i2', (2,))]`).
 * Spec: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 *
 * Never `eval`: the parser accepts only literals (strings, numbers, True,
 * False, None, tuples, lists, dicts, sets), bounds nesting depth and the
 * number of values, and reports the offset of the first character it refuses.
 * Numbers are kept as text and BigInt, so a dimension of 10^30 is seen as
 * what it is rather than rounded.
 */

/** Nesting the parser follows: structured dtypes nest a few levels; deeper is a recursion attack (CWE-674). */
export const MAX_LITERAL_DEPTH = 64;
/** Values in one literal: the header length bounds it already; this keeps the tree small (CWE-770). */
export const MAX_LITERAL_VALUES = 100_000;
/** Fields of a structured dtype summarised in the report (CWE-770). */
export const MAX_LISTED_FIELDS = 100;
/** Item size above which a dtype is refused: NumPy caps item sizes at 2^31 − 1 bytes. */
export const MAX_ITEM_SIZE = 2 ** 31 - 1;

/** A Python literal, as `ast.literal_eval` would build it. */
export type PyLiteral =
  | { kind: 'str'; value: string }
  | { kind: 'bytes'; value: string }
  | { kind: 'int'; value: bigint }
  | { kind: 'float'; text: string }
  | { kind: 'complex'; text: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'none' }
  | { kind: 'tuple' | 'list' | 'set'; items: PyLiteral[] }
  | { kind: 'dict'; entries: [PyLiteral, PyLiteral][] };

type NumberLiteral = Extract<PyLiteral, { kind: 'int' | 'float' | 'complex' }>;

/** Why the literal was refused, and where (character index in the text). */
export class LiteralError extends Error {
  constructor(
    readonly index: number,
    message: string,
  ) {
    super(message);
    this.name = 'LiteralError';
  }
}

export interface LiteralOptions {
  /**
   * Drop an `L` right after an integer, as NumPy does for headers of versions
   * 1.0 and 2.0 (Python 2 wrote `(3L, 4L)`).
   */
  allowLongSuffix?: boolean;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '\n': '',
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

/** Parse one Python literal that fills `text` (surrounding whitespace allowed). Throws LiteralError. */
export function parsePythonLiteral(text: string, options: LiteralOptions = {}): PyLiteral {
  let position = 0;
  let values = 0;

  const fail = (message: string, at = position): never => {
    throw new LiteralError(at, message);
  };

  function skipSpace(): void {
    while (position < text.length) {
      const char = text[position];
      if (char === ' ' || char === '\t' || char === '\n' || char === '\r' || char === '\f') position += 1;
      else if (char === '\\' && text[position + 1] === '\n') position += 2;
      else break;
    }
  }

  function countValue(): void {
    values += 1;
    if (values > MAX_LITERAL_VALUES) fail(`more than ${MAX_LITERAL_VALUES} values`);
  }

  function parseValue(depth: number): PyLiteral {
    if (depth > MAX_LITERAL_DEPTH) fail(`nesting deeper than ${MAX_LITERAL_DEPTH}`);
    skipSpace();
    countValue();
    const char = text[position];
    if (char === undefined) return fail('unexpected end of header');
    if (char === '(') return parseSequence(')', depth, 'tuple');
    if (char === '[') return parseSequence(']', depth, 'list');
    if (char === '{') return parseBrace(depth);
    if (char === '-' || char === '+') {
      const sign = char;
      position += 1;
      skipSpace();
      const operand = parseNumber();
      if (sign === '+') return operand;
      if (operand.kind === 'int') return { kind: 'int', value: -operand.value };
      return operand.kind === 'float' ? { kind: 'float', text: `-${operand.text}` } : { kind: 'complex', text: `-${operand.text}` };
    }
    if (isDigit(char) || (char === '.' && isDigit(text[position + 1] ?? ''))) return parseNumber();
    if (isNameStart(char)) return parseNameOrString();
    if (char === "'" || char === '"') return parseStrings('');
    return fail(`unexpected character ${JSON.stringify(char)}`);
  }

  function parseSequence(close: string, depth: number, kind: 'tuple' | 'list'): PyLiteral {
    const open = position;
    position += 1;
    const items: PyLiteral[] = [];
    let sawComma = false;
    for (;;) {
      skipSpace();
      if (text[position] === close) {
        position += 1;
        // `(x)` is x itself, not a tuple; `(x,)` and `()` are tuples.
        if (kind === 'tuple' && items.length === 1 && !sawComma) return items[0];
        return { kind, items };
      }
      if (position >= text.length) fail(`unclosed ${JSON.stringify(text[open])}`, open);
      items.push(parseValue(depth + 1));
      skipSpace();
      if (text[position] === ',') {
        sawComma = true;
        position += 1;
      } else if (text[position] !== close) {
        fail(`expected "," or ${JSON.stringify(close)}`);
      }
    }
  }

  function parseBrace(depth: number): PyLiteral {
    const open = position;
    position += 1;
    skipSpace();
    if (text[position] === '}') {
      position += 1;
      return { kind: 'dict', entries: [] };
    }
    const first = parseValue(depth + 1);
    skipSpace();
    if (text[position] !== ':') {
      const items = [first];
      for (;;) {
        skipSpace();
        if (text[position] === '}') {
          position += 1;
          return { kind: 'set', items };
        }
        if (text[position] !== ',') fail('expected "," or "}" in a set');
        position += 1;
        skipSpace();
        if (text[position] === '}') continue;
        if (position >= text.length) fail('unclosed "{"', open);
        items.push(parseValue(depth + 1));
      }
    }
    const entries: [PyLiteral, PyLiteral][] = [];
    let key = first;
    for (;;) {
      skipSpace();
      if (text[position] !== ':') fail('expected ":" in a dict');
      position += 1;
      const value = parseValue(depth + 1);
      entries.push([key, value]);
      skipSpace();
      if (text[position] === '}') {
        position += 1;
        return { kind: 'dict', entries };
      }
      if (text[position] !== ',') fail('expected "," or "}" in a dict');
      position += 1;
      skipSpace();
      if (text[position] === '}') {
        position += 1;
        return { kind: 'dict', entries };
      }
      if (position >= text.length) fail('unclosed "{"', open);
      key = parseValue(depth + 1);
    }
  }

  function parseNameOrString(): PyLiteral {
    const start = position;
    while (position < text.length && isNameChar(text[position])) position += 1;
    const name = text.slice(start, position);
    const next = text[position];
    if ((next === "'" || next === '"') && /^(?:[rRuUbB]|[rR][bB]|[bB][rR])$/.test(name)) return parseStrings(name);
    if (name === 'True') return { kind: 'bool', value: true };
    if (name === 'False') return { kind: 'bool', value: false };
    if (name === 'None') return { kind: 'none' };
    return fail(`name ${JSON.stringify(name.slice(0, 40))} is not a literal`, start);
  }

  /** One string, or several adjacent ones joined as Python joins them (they must agree on str vs bytes). */
  function parseStrings(firstPrefix: string): PyLiteral {
    const isBytes = /[bB]/.test(firstPrefix);
    let value = parseOneString(firstPrefix);
    for (;;) {
      const save = position;
      skipSpace();
      const prefixStart = position;
      while (position < text.length && /[rRuUbB]/.test(text[position]) && position - prefixStart < 2) position += 1;
      const prefix = text.slice(prefixStart, position);
      const quote = text[position];
      if ((quote === "'" || quote === '"') && (prefix === '' || /^(?:[rRuUbB]|[rR][bB]|[bB][rR])$/.test(prefix))) {
        const nextIsBytes = /[bB]/.test(prefix);
        if (nextIsBytes !== isBytes) fail('cannot mix bytes and str literals', prefixStart);
        value += parseOneString(prefix);
        continue;
      }
      position = save;
      break;
    }
    return isBytes ? { kind: 'bytes', value } : { kind: 'str', value };
  }

  function parseOneString(prefix: string): string {
    const raw = /[rR]/.test(prefix);
    const isBytes = /[bB]/.test(prefix);
    const quote = text[position];
    const triple = text.startsWith(quote.repeat(3), position);
    const open = position;
    position += triple ? 3 : 1;
    let value = '';
    for (;;) {
      if (position >= text.length) fail('unterminated string', open);
      const char = text[position];
      if (triple ? text.startsWith(quote.repeat(3), position) : char === quote) {
        position += triple ? 3 : 1;
        return value;
      }
      if (!triple && char === '\n') fail('newline inside a string');
      if (isBytes && char.charCodeAt(0) > 0x7f) fail('non-ASCII character in a bytes literal');
      if (char !== '\\') {
        value += char;
        position += 1;
        continue;
      }
      const escaped = text[position + 1];
      if (escaped === undefined) fail('unterminated string', open);
      if (raw) {
        value += `\\${escaped}`;
        position += 2;
        continue;
      }
      position += 2;
      if (escaped in SIMPLE_ESCAPES) {
        value += SIMPLE_ESCAPES[escaped];
      } else if (escaped >= '0' && escaped <= '7') {
        let digits = escaped;
        while (digits.length < 3 && /[0-7]/.test(text[position] ?? '')) digits += text[position++];
        value += String.fromCharCode(parseInt(digits, 8));
      } else if (escaped === 'x') {
        value += String.fromCharCode(readHex(2));
      } else if (!isBytes && (escaped === 'u' || escaped === 'U')) {
        const code = readHex(escaped === 'u' ? 4 : 8);
        if (code > 0x10ffff) fail('escape past U+10FFFF', position - 8);
        value += String.fromCodePoint(code);
      } else if (!isBytes && escaped === 'N') {
        fail('named unicode escapes are not supported', position - 2);
      } else {
        // Python keeps unknown escapes as written.
        value += `\\${escaped}`;
      }
    }
  }

  function readHex(count: number): number {
    const digits = text.slice(position, position + count);
    if (digits.length !== count || !/^[0-9a-fA-F]+$/.test(digits)) fail(`expected ${count} hex digits`);
    position += count;
    return parseInt(digits, 16);
  }

  function parseNumber(): NumberLiteral {
    const start = position;
    const rest = text.slice(position, position + 1024);
    const prefixed = /^0[xX](?:_?[0-9a-fA-F])+|^0[oO](?:_?[0-7])+|^0[bB](?:_?[01])+/.exec(rest);
    if (prefixed) {
      position += prefixed[0].length;
      const digits = prefixed[0].replaceAll('_', '');
      return finishInt(BigInt(digits), start);
    }
    const decimal = /^(?:\d(?:_?\d)*)?(?:\.(?:\d(?:_?\d)*)?)?(?:[eE][+-]?\d(?:_?\d)*)?[jJ]?/.exec(rest);
    const match = decimal ? decimal[0] : '';
    if (match === '' || match === '.' || !/\d/.test(match)) return fail('expected a number', start);
    if (match.length >= 1024) fail('number longer than 1024 characters', start);
    position += match.length;
    const cleaned = match.replaceAll('_', '');
    if (/[jJ]$/.test(cleaned)) return { kind: 'complex', text: cleaned };
    if (/[.eE]/.test(cleaned)) return { kind: 'float', text: cleaned };
    // Python 3 refuses leading zeros in decimal integers other than 0 itself.
    if (/^0+[1-9]/.test(cleaned)) fail('leading zeros in a decimal integer', start);
    return finishInt(BigInt(cleaned), start);
  }

  function finishInt(value: bigint, start: number): NumberLiteral {
    if (options.allowLongSuffix && (text[position] === 'L' || text[position] === 'l')) position += 1;
    if (isNameChar(text[position] ?? '')) fail('invalid number', start);
    return { kind: 'int', value };
  }

  const result = parseValue(0);
  skipSpace();
  if (position < text.length) fail(`unexpected ${JSON.stringify(text.slice(position, position + 20))} after the literal`);
  return result;
}

function isDigit(char: string): boolean {
  return char >= '0' && char <= '9';
}

function isNameStart(char: string): boolean {
  return (char >= 'a' && char <= 'z') || (char >= 'A' && char <= 'Z') || char === '_';
}

function isNameChar(char: string): boolean {
  return isNameStart(char) || isDigit(char);
}

// ---------------------------------------------------------------------------
// dtype descriptions
// ---------------------------------------------------------------------------

/** A dtype as a report shows it. `str` is NumPy's `dtype.str` (`<f4`, `|b1`, `|V12`). */
export interface NpyDtype {
  str: string;
  itemSize: number;
  /** Holds Python objects anywhere (a field, a subarray): the data is a pickle. */
  hasObject: boolean;
  bigEndian: boolean;
  /** Structured dtypes: the named fields, with their offsets (at most MAX_LISTED_FIELDS listed). */
  fields?: NpyField[];
  fieldCount?: number;
}

export interface NpyField {
  name: string;
  dtype: string;
  shape: number[];
  offset: number;
}

/** A dtype description NumPy would refuse, or that Preflight cannot size. */
export class DtypeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DtypeError';
  }
}

/** Kinds NumPy writes in `dtype.str`, with the item sizes it accepts (no list: any size) and bytes per counted unit. */
const SIZED_KINDS: Readonly<Record<string, { sizes?: readonly number[]; unit?: number }>> = {
  b: { sizes: [1] },
  i: { sizes: [1, 2, 4, 8] },
  u: { sizes: [1, 2, 4, 8] },
  f: { sizes: [2, 4, 8, 12, 16] },
  c: { sizes: [8, 16, 24, 32] },
  S: {},
  a: {},
  U: { unit: 4 },
  V: {},
  O: { sizes: [8] },
  M: { sizes: [8] },
  m: { sizes: [8] },
};

/** One-character type codes and names NumPy's `dtype()` accepts, as [kind, size] (C long is 8 bytes on 64-bit Linux and macOS). */
const NAMED_TYPES: ReadonlyMap<string, readonly [string, number]> = new Map([
  ['?', ['b', 1]], ['bool', ['b', 1]], ['bool_', ['b', 1]], ['bool8', ['b', 1]],
  ['b', ['i', 1]], ['B', ['u', 1]], ['h', ['i', 2]], ['H', ['u', 2]], ['i', ['i', 4]], ['I', ['u', 4]],
  ['l', ['i', 8]], ['L', ['u', 8]], ['q', ['i', 8]], ['Q', ['u', 8]], ['p', ['i', 8]], ['P', ['u', 8]],
  ['e', ['f', 2]], ['f', ['f', 4]], ['d', ['f', 8]], ['g', ['f', 16]],
  ['F', ['c', 8]], ['D', ['c', 16]], ['G', ['c', 32]], ['c', ['S', 1]], ['O', ['O', 8]], ['object', ['O', 8]], ['object_', ['O', 8]],
  ['int8', ['i', 1]], ['int16', ['i', 2]], ['int32', ['i', 4]], ['int64', ['i', 8]], ['int', ['i', 8]], ['int_', ['i', 8]],
  ['uint8', ['u', 1]], ['uint16', ['u', 2]], ['uint32', ['u', 4]], ['uint64', ['u', 8]], ['uint', ['u', 8]],
  ['float16', ['f', 2]], ['float32', ['f', 4]], ['float64', ['f', 8]], ['float', ['f', 8]], ['float_', ['f', 8]],
  ['half', ['f', 2]], ['single', ['f', 4]], ['double', ['f', 8]], ['longdouble', ['f', 16]],
  ['complex64', ['c', 8]], ['complex128', ['c', 16]], ['complex', ['c', 16]], ['csingle', ['c', 8]], ['cdouble', ['c', 16]],
]);

/** Kinds whose byte order NumPy shows as `|` (not applicable). */
const ORDERLESS_KINDS = new Set(['b', 'S', 'a', 'V', 'O']);

const SIMPLE_DTYPE = /^([<>|=!]?)([a-zA-Z?])(\d*)(\[[A-Za-z0-9]+\])?$/;

/** The dtype of a `descr` value (what `numpy.lib.format.descr_to_dtype` reads). Throws DtypeError. */
export function readDescr(descr: PyLiteral, depth = 0): NpyDtype {
  if (depth > MAX_LITERAL_DEPTH) throw new DtypeError(`dtype nests deeper than ${MAX_LITERAL_DEPTH}`);
  if (descr.kind === 'str') return readSimpleDtype(descr.value);
  if (descr.kind === 'tuple') {
    // A subarray: (base descr, shape).
    if (descr.items.length !== 2) throw new DtypeError('a tuple dtype must be (descr, shape)');
    const base = readDescr(descr.items[0], depth + 1);
    const shape = readSubarrayShape(descr.items[1]);
    const itemSize = checkedItemSize(base.itemSize * shape.reduce((total, size) => total * size, 1));
    return { str: `|V${itemSize}`, itemSize, hasObject: base.hasObject, bigEndian: base.bigEndian };
  }
  if (descr.kind === 'list') return readStructured(descr.items, depth);
  throw new DtypeError(`descr must be a string or a list of fields, not ${describeLiteral(descr)}`);
}

function readStructured(items: PyLiteral[], depth: number): NpyDtype {
  const fields: NpyField[] = [];
  const names = new Set<string>();
  let offset = 0;
  let hasObject = false;
  let bigEndian = false;
  let fieldCount = 0;
  for (const item of items) {
    if ((item.kind !== 'tuple' && item.kind !== 'list') || (item.items.length !== 2 && item.items.length !== 3)) {
      throw new DtypeError('each field must be (name, descr) or (name, descr, shape)');
    }
    const [nameValue, fieldDescr, shapeValue] = item.items;
    const name = fieldName(nameValue);
    const base = readDescr(fieldDescr, depth + 1);
    const shape = shapeValue === undefined ? [] : readSubarrayShape(shapeValue);
    const size = checkedItemSize(base.itemSize * shape.reduce((total, dimension) => total * dimension, 1));
    // NumPy drops nameless void fields: they are padding that only moves the next offset.
    const isPadding = name === '' && base.str.startsWith('|V') && base.fields === undefined;
    if (!isPadding) {
      if (names.has(name)) throw new DtypeError(`field name ${JSON.stringify(name.slice(0, 80))} appears twice`);
      names.add(name);
      fieldCount += 1;
      if (fields.length < MAX_LISTED_FIELDS) fields.push({ name, dtype: base.str, shape, offset });
      hasObject ||= base.hasObject;
      bigEndian ||= base.bigEndian;
    }
    offset = checkedItemSize(offset + size);
  }
  return { str: `|V${offset}`, itemSize: offset, hasObject, bigEndian, fields, fieldCount };
}

function fieldName(value: PyLiteral): string {
  if (value.kind === 'str') return value.value;
  // (title, name) pairs: NumPy uses the second as the field name.
  if (value.kind === 'tuple' && value.items.length === 2 && value.items[1].kind === 'str') return value.items[1].value;
  throw new DtypeError(`field name must be a string or a (title, name) pair, not ${describeLiteral(value)}`);
}

function readSubarrayShape(value: PyLiteral): number[] {
  const items = value.kind === 'int' ? [value] : value.kind === 'tuple' ? value.items : null;
  if (!items) throw new DtypeError(`subarray shape must be an int or a tuple of ints, not ${describeLiteral(value)}`);
  return items.map((item) => {
    if (item.kind !== 'int' || item.value < 0n || item.value > BigInt(MAX_ITEM_SIZE)) {
      throw new DtypeError(`subarray dimension must be an integer from 0 to ${MAX_ITEM_SIZE}`);
    }
    return Number(item.value);
  });
}

function checkedItemSize(size: number): number {
  if (!Number.isSafeInteger(size) || size > MAX_ITEM_SIZE) throw new DtypeError(`item size ${size} exceeds ${MAX_ITEM_SIZE} bytes`);
  return size;
}

function readSimpleDtype(text: string): NpyDtype {
  const named = NAMED_TYPES.get(text);
  if (named) return makeDtype('<', named[0], named[1], '');
  const match = SIMPLE_DTYPE.exec(text);
  if (!match) throw new DtypeError(`dtype ${JSON.stringify(text.slice(0, 80))} is not a NumPy type string`);
  const [, order, kind, digits, unit = ''] = match;
  if (digits === '' && !unit) {
    const single = NAMED_TYPES.get(kind);
    if (single) return makeDtype(order, single[0], single[1], '');
  }
  const rule = SIZED_KINDS[kind];
  if (!rule) throw new DtypeError(`dtype ${JSON.stringify(text.slice(0, 80))} has an unknown kind ${JSON.stringify(kind)}`);
  if (unit && kind !== 'M' && kind !== 'm') throw new DtypeError(`dtype ${JSON.stringify(text.slice(0, 80))}: only datetimes take a unit`);
  if (digits.length > 10) throw new DtypeError(`dtype ${JSON.stringify(text.slice(0, 80))} has an item size over ${MAX_ITEM_SIZE}`);
  if ((kind === 'M' || kind === 'm') && digits === '') return makeDtype(order, kind, 8, unit);
  if (digits === '' && rule.sizes) throw new DtypeError(`dtype ${JSON.stringify(text.slice(0, 80))} has no item size`);
  // Flexible kinds without a size (`S`, `U`, `V`) are zero-sized, as NumPy reads them.
  const count = digits === '' ? 0 : Number(digits);
  if (rule.sizes && !rule.sizes.includes(count)) {
    throw new DtypeError(`dtype ${JSON.stringify(text.slice(0, 80))}: kind ${kind} has no ${count}-byte type`);
  }
  const itemSize = checkedItemSize(count * (rule.unit ?? 1));
  return makeDtype(order, kind === 'a' ? 'S' : kind, itemSize, unit, count);
}

function makeDtype(order: string, kind: string, itemSize: number, unit: string, count = itemSize): NpyDtype {
  const bigEndian = (order === '>' || order === '!') && !ORDERLESS_KINDS.has(kind) && itemSize > 1;
  const shownOrder = ORDERLESS_KINDS.has(kind) || itemSize <= 1 ? '|' : bigEndian ? '>' : '<';
  const size = kind === 'U' ? count : itemSize;
  const str = kind === 'O' ? '|O' : `${shownOrder}${kind}${size}${unit}`;
  return { str, itemSize, hasObject: kind === 'O', bigEndian };
}

/** A short description of a literal's type, for messages (never its content). */
export function describeLiteral(value: PyLiteral): string {
  switch (value.kind) {
    case 'tuple':
    case 'list':
    case 'set':
      return `a ${value.kind} of ${value.items.length}`;
    case 'dict':
      return `a dict of ${value.entries.length}`;
    default:
      return `a ${value.kind}`;
  }
}
