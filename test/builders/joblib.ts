/**
 * joblib streams built opcode by opcode (with test/builders/pickle.ts): a
 * NumpyArrayWrapper as joblib 1.2 pickles it at protocol 2 (NEWOBJ, a state
 * dict, BUILD), the padding byte and raw bytes after it, and the inline
 * object-array pickle. Nothing is validated: tests build hostile variants.
 *
 *   joblibFile(entries({ weights: array({ shape: [3], dtype: 'f8' }) }))
 */
import * as p from './pickle.ts';

/** A `numpy.dtype(typestr, False, True)` call and its BUILD with the 8-item state NumPy pickles. */
export function dtype(typestr: string, options: { order?: string; elementSize?: number; flags?: number; build?: boolean } = {}): Uint8Array {
  const made = p.pickle(p.global('numpy', 'dtype'), p.mark(), p.binunicode(typestr), p.newFalse(), p.newTrue(), p.tuple(), p.reduce());
  if (options.build === false) return made;
  const state = p.pickle(
    p.mark(),
    p.binint1(3),
    p.binunicode(options.order ?? '<'),
    p.none(),
    p.none(),
    p.none(),
    p.binint(options.elementSize ?? -1),
    p.binint(-1),
    p.binint(options.flags ?? 0),
    p.tuple(),
  );
  return p.pickle(made, state, p.build());
}

/** A shape tuple of BININTs. */
export function shape(dimensions: number[]): Uint8Array {
  if (dimensions.length === 0) return p.emptyTuple();
  return p.pickle(p.mark(), ...dimensions.map((dimension) => p.binint(dimension)), p.tuple());
}

export interface WrapperOptions {
  /** Shape bytes (default from `dimensions`). */
  shape?: Uint8Array;
  dimensions?: number[];
  /** dtype bytes (default `dtype('f8')`). */
  dtype?: Uint8Array;
  order?: string;
  /** The state's numpy_array_alignment_bytes: a number, null (None) or absent (joblib < 1.2). Default 16. */
  alignment?: number | null | 'absent';
  /** Class module (default joblib.numpy_pickle). */
  module?: string;
  /** Extra state entries, as key/value byte pairs. */
  extra?: [string, Uint8Array][];
}

/** The pickle opcodes of one wrapper, ending with its BUILD (the raw bytes are not included). */
export function wrapper(options: WrapperOptions = {}): Uint8Array {
  const entries: Uint8Array[] = [
    p.binunicode('subclass'),
    p.global('numpy', 'ndarray'),
    p.binunicode('shape'),
    options.shape ?? shape(options.dimensions ?? [1]),
    p.binunicode('order'),
    p.binunicode(options.order ?? 'C'),
    p.binunicode('dtype'),
    options.dtype ?? dtype('f8'),
    p.binunicode('allow_mmap'),
    p.newFalse(),
  ];
  const alignment = options.alignment === undefined ? 16 : options.alignment;
  if (alignment !== 'absent') entries.push(p.binunicode('numpy_array_alignment_bytes'), alignment === null ? p.none() : p.binint1(alignment));
  for (const [key, value] of options.extra ?? []) entries.push(p.binunicode(key), value);
  return p.pickle(
    p.global(options.module ?? 'joblib.numpy_pickle', 'NumpyArrayWrapper'),
    p.emptyTuple(),
    p.newobj(),
    p.emptyDict(),
    p.mark(),
    ...entries,
    p.setitems(),
    p.build(),
  );
}

/** The bytes joblib writes after a wrapper: with `padded`, one byte of padding length and that padding (aligning to 16 from `position`). */
export function rawData(data: Uint8Array, padded: boolean, position: number): Uint8Array {
  if (!padded) return data;
  const padding = 16 - ((position + 1) % 16);
  return p.pickle([padding], new Array<number>(padding).fill(0xff), data);
}

/** One array item for {@link joblibFile}: wrapper opcodes then raw bytes, positioned where they land. */
export interface ArrayItem {
  wrapper: Uint8Array;
  /** Raw bytes after the wrapper (padding added by joblibFile when `padded`). */
  data?: Uint8Array;
  padded?: boolean;
  /** Bytes written after the wrapper as they are (an inline object-array pickle). */
  after?: Uint8Array;
}

/** `{key: array, …}` at protocol 2: EMPTY_DICT, MARK, key, wrapper, raw bytes, …, SETITEMS, STOP, then `trailer`. */
export function joblibFile(items: [string, ArrayItem | Uint8Array][], trailer: Uint8Array = new Uint8Array(0)): { bytes: Uint8Array; dataOffsets: number[] } {
  const parts: Uint8Array[] = [p.proto(2), p.emptyDict(), p.mark()];
  let position = parts.reduce((total, part) => total + part.length, 0);
  const dataOffsets: number[] = [];
  const add = (part: Uint8Array) => {
    parts.push(part);
    position += part.length;
  };
  for (const [key, item] of items) {
    add(p.binunicode(key));
    if (item instanceof Uint8Array) {
      add(item);
      continue;
    }
    add(item.wrapper);
    if (item.data) {
      const written = rawData(item.data, item.padded ?? true, position);
      dataOffsets.push(position + written.length - item.data.length);
      add(written);
    }
    if (item.after) add(item.after);
  }
  add(p.setitems());
  add(p.stop());
  add(trailer);
  return { bytes: p.pickle(...parts), dataOffsets };
}

/** The protocol 2 pickle joblib writes for an object array: `_reconstruct`, a dtype('O8'), BUILD with a list of items. */
export function objectArrayPickle(...items: Uint8Array[]): Uint8Array {
  return p.pickle(
    p.proto(2),
    p.global('numpy.core.multiarray', '_reconstruct'),
    p.global('numpy', 'ndarray'),
    p.binint1(0),
    p.tuple1(),
    p.shortBinstring('b'),
    p.tuple3(),
    p.reduce(),
    p.mark(),
    p.binint1(1),
    shape([items.length]),
    dtype('O8', { order: '|', flags: 63 }),
    p.newFalse(),
    p.emptyList(),
    p.mark(),
    ...items,
    p.appends(),
    p.tuple(),
    p.build(),
    p.stop(),
  );
}
