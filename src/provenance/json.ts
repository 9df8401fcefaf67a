/**
 * Reading untrusted JSON without exceptions. JSON.parse does the parsing; when
 * it fails, a small syntax scanner finds where, so every engine gives the same
 * message with a position, line and column (V8 names no position for most
 * errors, and quotes the input instead).
 */

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * JSON.parse that returns an error message instead of throwing. V8's and
 * SpiderMonkey's parsers are iterative, so nesting depth is bounded by the
 * input size limit, not the call stack; a RangeError is caught anyway.
 */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    const located = locateJsonError(text);
    if (located) return { ok: false, message: `${located.message} at position ${located.position} (${lineAndColumn(text, located.position)})` };
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, message: message.length > 200 ? `${message.slice(0, 200)}…` : message };
  }
}

type Expecting = 'value' | 'value-or-close' | 'key' | 'key-or-close' | 'colon' | 'comma-or-close' | 'end';

const LITERALS = ['true', 'false', 'null'];
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/**
 * The first syntax error in `text` (RFC 8259), or null when it is valid JSON.
 * One pass with an explicit stack: linear time, no recursion.
 */
export function locateJsonError(text: string): { position: number; message: string } | null {
  const containers: ('object' | 'array')[] = [];
  let expecting: Expecting = 'value';
  let index = 0;
  const afterValue = (): Expecting => (containers.length === 0 ? 'end' : 'comma-or-close');
  const fail = (message: string) => ({ position: index, message });
  for (;;) {
    while (index < text.length && ' \t\n\r'.includes(text[index])) index++;
    if (index >= text.length) return expecting === 'end' ? null : fail('unexpected end of input');
    const char = text[index];
    switch (expecting) {
      case 'end':
        return fail(`unexpected ${describeChar(char)} after the end of the JSON value`);
      case 'colon':
        if (char !== ':') return fail(`unexpected ${describeChar(char)}, expected ":"`);
        index++;
        expecting = 'value';
        break;
      case 'comma-or-close': {
        const close = containers[containers.length - 1] === 'object' ? '}' : ']';
        if (char === ',') expecting = close === '}' ? 'key' : 'value';
        else if (char === close) {
          containers.pop();
          expecting = afterValue();
        } else return fail(`unexpected ${describeChar(char)}, expected "," or "${close}"`);
        index++;
        break;
      }
      case 'key':
      case 'key-or-close':
        if (char === '}' && expecting === 'key-or-close') {
          containers.pop();
          index++;
          expecting = afterValue();
          break;
        }
        if (char !== '"') return fail(`unexpected ${describeChar(char)}, expected a string key`);
        {
          const end = scanString(text, index);
          if (typeof end !== 'number') return end;
          index = end;
        }
        expecting = 'colon';
        break;
      default: {
        if (char === ']' && expecting === 'value-or-close') {
          containers.pop();
          index++;
          expecting = afterValue();
          break;
        }
        if (char === '{' || char === '[') {
          containers.push(char === '{' ? 'object' : 'array');
          index++;
          expecting = char === '{' ? 'key-or-close' : 'value-or-close';
          break;
        }
        if (char === '"') {
          const end = scanString(text, index);
          if (typeof end !== 'number') return end;
          index = end;
        } else if (char === '-' || (char >= '0' && char <= '9')) {
          NUMBER.lastIndex = index;
          if (!NUMBER.test(text)) return fail(`unexpected ${describeChar(char)}, expected a number`);
          index = NUMBER.lastIndex;
        } else {
          const literal = LITERALS.find((word) => text.startsWith(word, index));
          if (!literal) return fail(`unexpected ${describeChar(char)}, expected a value`);
          index += literal.length;
        }
        expecting = afterValue();
      }
    }
  }
}

/** End index (after the closing quote) of the string starting at `start`, or the error in it. */
function scanString(text: string, start: number): number | { position: number; message: string } {
  let index = start + 1;
  while (index < text.length) {
    const code = text.charCodeAt(index);
    if (code === 0x22) return index + 1;
    if (code < 0x20) return { position: index, message: 'unescaped control character in a string' };
    if (code === 0x5c) {
      const escape = text[index + 1];
      if (escape === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(index + 2, index + 6))) return { position: index, message: 'bad \\u escape in a string' };
        index += 6;
        continue;
      }
      if (escape === undefined || !'"\\/bfnrt'.includes(escape)) return { position: index, message: 'bad escape in a string' };
      index += 2;
      continue;
    }
    index++;
  }
  return { position: start, message: 'unterminated string' };
}

function describeChar(char: string): string {
  return JSON.stringify(char);
}

function lineAndColumn(text: string, position: number): string {
  let line = 1;
  let lineStart = 0;
  for (let index = 0; index < position; index++) {
    if (text.charCodeAt(index) === 0x0a) {
      line++;
      lineStart = index + 1;
    }
  }
  return `line ${line}, column ${position - lineStart + 1}`;
}
