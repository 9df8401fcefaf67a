/**
 * A small Python lexer, enough to tell code from comments and strings
 * without a tokenizer: it walks the text once, keeps bracket depth and
 * string state across lines, and hands out
 * - logical lines (a statement, its continuation lines joined) as code with
 *   every string literal replaced by `""` and comments removed, so a
 *   docstring or comment that mentions `eval(` is not code;
 * - string literals with what checks need (the first characters of their
 *   value, counts of base64 and hex-escape characters), each marked as a
 *   docstring (a bare string at the start of a statement) or as data.
 *
 * f-string replacement fields (`f"{os.system('id')}"`) are code: their text
 * is kept in the logical line. Hostile input is bounded: a logical line is
 * cut at MAX_LOGICAL_LINE_CHARS (an unclosed bracket would otherwise make the
 * whole file one line), and the work is linear in the text.
 */

/** Code characters in one logical line; an unbalanced bracket must not make the file one line (CWE-400). */
export const MAX_LOGICAL_LINE_CHARS = 64 * 1024;
/** Characters of a string's source kept for pattern checks and decoding; counts cover the whole string (CWE-770). */
export const MAX_KEPT_STRING_CHARS = 64 * 1024;

/** One physical line inside a logical line. */
export interface PhysicalLine {
  /** 1-based line number. */
  number: number;
  /** Index of the line's first character in the text. */
  start: number;
  /** Index in the logical line's code where this line's code begins. */
  codeIndex: number;
}

export interface LogicalLine {
  /** Code of the statement: strings as `""`, comments removed, continuation lines joined by a space. */
  code: string;
  lines: PhysicalLine[];
}

export interface StringLiteral {
  /** Line and text index where the literal (with its prefix) starts. */
  line: number;
  lineStart: number;
  /** A bare string at the start of a statement (docstring, or a string used as a comment). */
  docstring: boolean;
  /** The first MAX_KEPT_STRING_CHARS characters of the literal's source text between the quotes. */
  head: string;
  /** Characters between the quotes. */
  length: number;
  /** Characters of the base64 alphabet (A–Z, a–z, 0–9, +, /, =, -, _); whitespace is not counted anywhere. */
  base64Chars: number;
  /** Characters that are neither whitespace nor base64. */
  otherChars: number;
  /** Hex digits only (subset of base64Chars). */
  hexChars: number;
  /** `\xNN` escapes, and how many of them spell printable ASCII. */
  hexEscapes: number;
  printableHexEscapes: number;
}

export interface LexerCallbacks {
  onLogicalLine(line: LogicalLine): void;
  onString(literal: StringLiteral): void;
}

const STRING_PREFIX = /(?:^|[^\w])([rRbBuUfF]{1,2})$/;
const VALID_PREFIXES = new Set(['r', 'u', 'b', 'f', 'br', 'rb', 'fr', 'rf']);

interface OpenString {
  quote: string;
  triple: boolean;
  raw: boolean;
  format: boolean;
  literal: StringLiteral;
  /** Depth of `{` inside an f-string replacement field; 0 outside. */
  fieldDepth: number;
}

/** Walks `text` once; calls back for each logical line and each string literal, in order. Returns the number of lines. */
export function lexPython(text: string, callbacks: LexerCallbacks): number {
  // Code is kept as pieces joined once per logical line: slicing a growing string would flatten it on every string literal (quadratic).
  let pieces: string[] = [];
  let codeLength = 0;
  let physical: PhysicalLine[] = [];
  let depth = 0;
  let lineNumber = 1;
  let lineStart = 0;
  /** Pieces of code with something other than whitespace since the current statement began (after a `;` or a new line). */
  let statementPieces = 0;
  /** A backslash ended the code of this physical line: the statement goes on. */
  let continued = false;
  // Assigned inside the helpers below, so TypeScript's narrowing cannot follow it: read through casts.
  let open: OpenString | null = null;

  const startPhysical = () => physical.push({ number: lineNumber, start: lineStart, codeIndex: codeLength });
  const flush = () => {
    const code = pieces.join('');
    if (code.trim().length > 0) callbacks.onLogicalLine({ code, lines: physical });
    pieces = [];
    codeLength = 0;
    physical = [];
    statementPieces = 0;
  };
  const appendCode = (piece: string) => {
    if (codeLength + piece.length > MAX_LOGICAL_LINE_CHARS) {
      flush();
      startPhysical();
    }
    pieces.push(piece);
    codeLength += piece.length;
    if (!isBlank(piece)) statementPieces++;
  };

  /** The string prefix (`r`, `b`, `f`, `rb` …) just before a quote: letters appended one piece each by the main loop. */
  const takePrefix = (): string => {
    let letters = '';
    for (let back = pieces.length - 1; back >= 0 && letters.length < 3; back--) {
      const piece = pieces[back];
      if (piece.length !== 1 || !/\w/.test(piece)) break;
      letters = piece + letters;
    }
    const match = STRING_PREFIX.exec(letters.length < 3 ? ` ${letters}` : letters);
    if (!match || !VALID_PREFIXES.has(match[1].toLowerCase())) return '';
    for (let count = 0; count < match[1].length; count++) codeLength -= (pieces.pop() as string).length;
    statementPieces -= match[1].length;
    return match[1].toLowerCase();
  };

  const openString = (index: number): number => {
    const prefix = takePrefix();
    const quote = text[index];
    const triple = text[index + 1] === quote && text[index + 2] === quote;
    const bare = depth === 0 && statementPieces === 0;
    open = {
      quote,
      triple,
      raw: prefix.includes('r'),
      format: prefix.includes('f'),
      fieldDepth: 0,
      literal: { line: lineNumber, lineStart, docstring: bare, head: '', length: 0, base64Chars: 0, otherChars: 0, hexChars: 0, hexEscapes: 0, printableHexEscapes: 0 },
    };
    appendCode(open.format ? '""(' : '""');
    return triple ? index + 2 : index;
  };

  const finishString = () => {
    const state = open as OpenString;
    if (state.format) appendCode(')');
    callbacks.onString(state.literal);
    open = null;
  };

  /** Handles the string character at `index`; returns the index of the last character consumed. */
  const stringChar = (state: OpenString, index: number): number => {
    const char = text[index];
    if (state.format && state.fieldDepth > 0) {
      if (char === '{') state.fieldDepth++;
      else if (char === '}') state.fieldDepth--;
      appendCode(state.fieldDepth > 0 ? char : ' ');
      return index;
    }
    if (char === '\\') {
      const next = text[index + 1];
      if (!state.raw && next === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(index + 2, index + 4))) {
        const value = parseInt(text.slice(index + 2, index + 4), 16);
        state.literal.hexEscapes++;
        if (value >= 0x20 && value <= 0x7e) state.literal.printableHexEscapes++;
      }
      countChar(state.literal, char);
      if (next === undefined || next === '\n') return index;
      countChar(state.literal, next);
      return index + 1;
    }
    if (char === state.quote && (!state.triple || (text[index + 1] === state.quote && text[index + 2] === state.quote))) {
      finishString();
      return state.triple ? index + 2 : index;
    }
    if (state.format && char === '{') {
      if (text[index + 1] === '{') {
        countChar(state.literal, char);
        return index + 1;
      }
      state.fieldDepth = 1;
      return index;
    }
    countChar(state.literal, char);
    return index;
  };

  startPhysical();
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === '\n') {
      // A newline ends a one-line string unless escaped; an unterminated one ends here (Python would refuse the file).
      const current = open as OpenString | null;
      if (current && !current.triple && text[index - 1] !== '\\') finishString();
      lineNumber++;
      lineStart = index + 1;
      if (!open) {
        if (depth === 0 && !continued) flush();
        else appendCode(' ');
      }
      continued = false;
      startPhysical();
      continue;
    }
    if (open) {
      index = stringChar(open, index);
      continue;
    }
    if (char === '#') {
      const end = text.indexOf('\n', index);
      index = (end < 0 ? text.length : end) - 1;
      continue;
    }
    if (char === "'" || char === '"') {
      index = openString(index);
      continue;
    }
    if (char === '\\' && (text[index + 1] === '\n' || (text[index + 1] === '\r' && text[index + 2] === '\n'))) {
      continued = true;
      continue;
    }
    if (char === '(' || char === '[' || char === '{') depth++;
    else if ((char === ')' || char === ']' || char === '}') && depth > 0) depth--;
    appendCode(char);
    if (char === ';' && depth === 0) statementPieces = 0;
  }
  if (open) finishString();
  flush();
  return lineNumber;
}

function isBlank(piece: string): boolean {
  for (let index = 0; index < piece.length; index++) {
    const code = piece.charCodeAt(index);
    if (code !== 0x20 && code !== 0x09 && code !== 0x0d && code !== 0x0a) return false;
  }
  return true;
}

function countChar(literal: StringLiteral, char: string): void {
  literal.length++;
  if (literal.head.length < MAX_KEPT_STRING_CHARS) literal.head += char;
  const code = char.charCodeAt(0);
  if (code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09) return;
  const isDigit = code >= 0x30 && code <= 0x39;
  const isHexLetter = (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);
  const isLetter = (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
  if (isDigit || isLetter || char === '+' || char === '/' || char === '=' || char === '-' || char === '_') {
    literal.base64Chars++;
    if (isDigit || isHexLetter) literal.hexChars++;
  } else {
    literal.otherChars++;
  }
}
