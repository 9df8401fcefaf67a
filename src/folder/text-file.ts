/**
 * Small helpers shared by the text formats of a model folder (JSON configs,
 * weight indexes, Python sources, Jinja templates, LFS pointers): paths as the
 * report writes them, "is this text", bounded whole-file reads, and JSON read
 * the way Python's `json` module reads it.
 */
import { type ByteSource, throwIfAborted } from '../io/byte-source.ts';
import { utf8ByteLength } from '../rules/jinja-template.ts';

/** Characters of an untrusted string quoted in a finding's detail. */
export const MAX_QUOTED_CHARS = 120;

/** The last segment of a report path (`tiny/config.json` → `config.json`); both separators count. */
export function basenameOf(path: string): string {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return cut < 0 ? path : path.slice(cut + 1);
}

/** The folder part of a report path, '' for a bare name. */
export function dirnameOf(path: string): string {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return cut < 0 ? '' : path.slice(0, cut);
}

/** An untrusted string as a short JSON literal, safe to put in a detail. */
export function quote(text: string, max = MAX_QUOTED_CHARS): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenientUtf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * True when `head` can be text: no NUL byte (an empty file counts, e.g. an
 * empty `__init__.py`). UTF-8 validity is checked by the inspectors, which
 * report where it breaks instead of hiding the file as unknown.
 */
export function looksLikeText(head: Uint8Array): boolean {
  return !head.includes(0);
}

/**
 * The first byte that is not JSON whitespace is `{`: a JSON object, as far
 * as the head tells. A UTF-8 byte order mark is skipped so that such a file
 * is still read as a config and its parse error (Python's json refuses the
 * mark too) reported.
 */
export function startsWithJsonObject(head: Uint8Array): boolean {
  const start = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  for (const byte of head.subarray(start)) {
    if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) continue;
    return byte === 0x7b;
  }
  return false;
}

export interface TextRead {
  text: string;
  /** Bytes read (at most the limit). */
  bytes: number;
  /** The file is longer than the limit; `text` is its beginning. */
  truncated: boolean;
  /** Byte offset of the first invalid UTF-8 sequence, when there is one (text then holds U+FFFD there). */
  invalidUtf8At: number | null;
}

/** Up to `maxBytes` of `source` as text, decoded leniently, noting where UTF-8 first breaks. */
export async function readTextFile(source: ByteSource, maxBytes: number, signal?: AbortSignal): Promise<TextRead> {
  throwIfAborted(signal);
  const length = Math.min(source.size, maxBytes);
  const bytes = await source.read(0, length);
  let invalidUtf8At: number | null = null;
  try {
    strictUtf8.decode(bytes);
  } catch {
    invalidUtf8At = firstInvalidUtf8(bytes);
  }
  return { text: lenientUtf8.decode(bytes), bytes: bytes.length, truncated: source.size > maxBytes, invalidUtf8At };
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence (-1 never happens for invalid input). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let index = 0;
  while (index < bytes.length) {
    const byte = bytes[index];
    const need = byte < 0x80 ? 0 : byte >= 0xc2 && byte <= 0xdf ? 1 : byte >= 0xe0 && byte <= 0xef ? 2 : byte >= 0xf0 && byte <= 0xf4 ? 3 : -1;
    if (need < 0) return index;
    for (let next = 1; next <= need; next++) {
      const continuation = bytes[index + next];
      if (continuation === undefined || (continuation & 0xc0) !== 0x80) return index;
    }
    index += need + 1;
  }
  return index;
}

/** Byte offset in the file of character `index` of `text` (text read from offset 0). */
export function byteOffsetOf(text: string, index: number): number {
  return utf8ByteLength(text.slice(0, index));
}

export type JsonReadResult = { ok: true; value: unknown } | { ok: false; message: string };

/**
 * JSON as Python's `json.loads` reads it (the loading library's parser):
 * standard JSON plus the bare constants NaN, Infinity and -Infinity, which
 * are read as null here because only their presence matters. Duplicate keys
 * keep the last value in both. JSON.parse builds `__proto__` as an own key,
 * so file keys never reach prototypes.
 */
export function parsePythonJson(text: string): JsonReadResult {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    const replaced = replacePythonConstants(text);
    if (replaced !== null) {
      try {
        return { ok: true, value: JSON.parse(replaced) };
      } catch {
        // Report the error of the original text below.
      }
    }
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

/** `text` with NaN / Infinity / -Infinity outside strings turned into null; null when there are none. */
function replacePythonConstants(text: string): string | null {
  const pieces: string[] = [];
  let from = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (inString) {
      if (char === '\\') index++;
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') {
      inString = true;
      continue;
    }
    for (const constant of ['-Infinity', 'Infinity', 'NaN']) {
      if (text.startsWith(constant, index)) {
        pieces.push(text.slice(from, index), 'null');
        index += constant.length - 1;
        from = index + 1;
        break;
      }
    }
  }
  if (pieces.length === 0) return null;
  pieces.push(text.slice(from));
  return pieces.join('');
}

/** True for a plain JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
