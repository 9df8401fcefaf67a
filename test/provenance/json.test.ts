import { describe, expect, it } from 'vitest';
import { locateJsonError, parseJson } from '../../src/provenance/json.ts';

describe('locateJsonError agrees with JSON.parse', () => {
  const valid = [
    '{}', '[]', ' 0 ', '-1.5e+3', '"a\\u00e9\\n"', 'true', 'null',
    '{"a": [1, {"b": null}], "c": "d"}', '[[[[]]]]', '{"": ""}',
  ];
  it.each(valid)('valid: %s', (text) => {
    expect(() => JSON.parse(text)).not.toThrow();
    expect(locateJsonError(text)).toBeNull();
  });

  it.each<[string, number, string]>([
    ['', 0, 'unexpected end of input'],
    ['{"a": 1,}', 8, 'unexpected "}", expected a string key'],
    ['{"_type": oops}', 10, 'unexpected "o", expected a value'],
    ['[1 2]', 3, 'unexpected "2", expected "," or "]"'],
    ['{"a" 1}', 5, 'unexpected "1", expected ":"'],
    ['{"a": 1} x', 9, 'unexpected "x" after the end of the JSON value'],
    ['"abc', 0, 'unterminated string'],
    ['"a\u0001"', 2, 'unescaped control character in a string'],
    ['"\\x"', 1, 'bad escape in a string'],
    ['"\\u12"', 1, 'bad \\u escape in a string'],
    ['[01]', 2, 'unexpected "1", expected "," or "]"'],
    ['[-]', 1, 'unexpected "-", expected a number'],
    ['[tru]', 1, 'unexpected "t", expected a value'],
    ['[1,]', 3, 'unexpected "]", expected a value'],
    ['{"a": [1}', 8, 'unexpected "}", expected "," or "]"'],
  ])('invalid: %j at %i', (text, position, message) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(locateJsonError(text)).toEqual({ position, message });
  });

  it('handles deep nesting without recursion', () => {
    expect(locateJsonError('['.repeat(100_000) + ']'.repeat(100_000))).toBeNull();
    expect(locateJsonError('['.repeat(100_000))).toEqual({ position: 100_000, message: 'unexpected end of input' });
  });
});

describe('parseJson', () => {
  it('gives the position, line and column', () => {
    expect(parseJson('{\n  "a": 1,\n}')).toEqual({ ok: false, message: 'unexpected "}", expected a string key at position 12 (line 3, column 1)' });
  });
});
