/**
 * Small readers for untrusted JSON: each takes `unknown` and returns a fresh
 * value of the expected type, or throws a ShapeError naming the path and what
 * was found. Objects are rebuilt from the fields a reader knows, so unknown
 * fields are dropped, and records are built with own data properties only
 * (a `__proto__` key stays an ordinary key, never a prototype).
 */

/** A value at `path` does not have the expected type. Caught by the caller of the top-level reader. */
export class ShapeError extends Error {
  constructor(
    readonly path: string,
    readonly expected: string,
    found: unknown,
  ) {
    super(`${path || 'the value'}: expected ${expected}, found ${describe(found)}`);
    this.name = 'ShapeError';
  }
}

/** Reads `value` (found at `path`, for messages) as a T, or throws a ShapeError. */
export type Reader<T> = (value: unknown, path: string) => T;

/** Longest excerpt of a wrong string quoted in an error message. */
const QUOTED_CHARS = 40;

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'string') {
    const excerpt = value.length > QUOTED_CHARS ? `${value.slice(0, QUOTED_CHARS)}…` : value;
    return `the string ${JSON.stringify(excerpt)}`;
  }
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

/** A key as it appears in an error path, cut short: keys come from the hostile input too. */
export function quoteKey(key: string): string {
  return JSON.stringify(key.length > QUOTED_CHARS ? `${key.slice(0, QUOTED_CHARS)}…` : key);
}

/** A plain JSON object: not null, not an array. */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Any string; its content stays data. */
export const readString: Reader<string> = (value, path) => {
  if (typeof value !== 'string') throw new ShapeError(path, 'a string', value);
  return value;
};

/** true or false, nothing truthy. */
export const readBoolean: Reader<boolean> = (value, path) => {
  if (typeof value !== 'boolean') throw new ShapeError(path, 'true or false', value);
  return value;
};

/** A finite number (JSON has no NaN or Infinity, but a hand-made object can). */
export const readNumber: Reader<number> = (value, path) => {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ShapeError(path, 'a number', value);
  return value;
};

/** A whole number from 0 to 2^53 − 1: sizes, offsets, counts, line numbers. */
export const readCount: Reader<number> = (value, path) => {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new ShapeError(path, 'a whole number ≥ 0', value);
  return value;
};

/** Exactly `literal`. */
export function readLiteral<const T extends string | number | boolean>(literal: T): Reader<T> {
  return (value, path) => {
    if (value !== literal) throw new ShapeError(path, JSON.stringify(literal), value);
    return literal;
  };
}

/** One of a fixed list of strings (verdicts, severities, kinds). */
export function readOneOf<const T extends string>(choices: readonly T[]): Reader<T> {
  return (value, path) => {
    if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
      throw new ShapeError(path, `one of ${choices.join(', ')}`, value);
    }
    return value as T;
  };
}

/** A string matching `pattern`; `expected` describes it in the error. */
export function readMatching(pattern: RegExp, expected: string): Reader<string> {
  return (value, path) => {
    if (typeof value !== 'string' || !pattern.test(value)) throw new ShapeError(path, expected, value);
    return value;
  };
}

/** null, or what `reader` reads. */
export function readNullable<T>(reader: Reader<T>): Reader<T | null> {
  return (value, path) => (value === null ? null : reader(value, path));
}

/** An array whose items `reader` reads, each at `path[index]`. */
export function readArray<T>(reader: Reader<T>): Reader<T[]> {
  return (value, path) => {
    if (!Array.isArray(value)) throw new ShapeError(path, 'an array', value);
    return value.map((item, index) => reader(item, `${path}[${index}]`));
  };
}

type FieldReaders<T> = { [K in keyof T]-?: Reader<T[K]> };

/** Marks a field as optional: absent (or undefined) stays absent. */
export interface OptionalReader<T> extends Reader<T | undefined> {
  optional: true;
}

/** Wraps a field reader so that the field may be missing. */
export function optional<T>(reader: Reader<T>): OptionalReader<T> {
  const wrapped = ((value: unknown, path: string) => (value === undefined ? undefined : reader(value, path))) as OptionalReader<T>;
  wrapped.optional = true;
  return wrapped;
}

/**
 * An object with exactly the fields of `fields` (others are dropped). A
 * field whose reader is `optional(...)` may be missing; the rest must be there.
 */
export function readObject<T extends object>(fields: FieldReaders<T>): Reader<T> {
  const entries = Object.entries(fields) as [string, Reader<unknown> & Partial<OptionalReader<unknown>>][];
  return (value, path) => {
    if (!isJsonObject(value)) throw new ShapeError(path, 'an object', value);
    const result: Record<string, unknown> = {};
    for (const [key, reader] of entries) {
      const field = Object.hasOwn(value, key) ? value[key] : undefined;
      const read = reader(field, path ? `${path}.${key}` : key);
      if (read !== undefined || !reader.optional) result[key] = read;
    }
    return result as T;
  };
}

/** An object used as a map from any string key to values of one type. */
export function readRecord<T>(reader: Reader<T>): Reader<Record<string, T>> {
  return (value, path) => {
    if (!isJsonObject(value)) throw new ShapeError(path, 'an object', value);
    return Object.fromEntries(Object.keys(value).map((key) => [key, reader(value[key], `${path}[${quoteKey(key)}]`)]));
  };
}
