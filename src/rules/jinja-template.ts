/**
 * Static check of Jinja2 chat templates for sandbox escapes.
 *
 * Models carry a Jinja chat template (GGUF `tokenizer.chat_template`,
 * Hugging Face `tokenizer_config.json` / `chat_template.jinja`) that loaders
 * render on every prompt. Rendered in a plain `jinja2.Environment`, as
 * llama-cpp-python did before 0.2.72 (CVE-2024-34359), a template can walk
 * from any object to Python internals (`''.__class__.__mro__[1].__subclasses__()`,
 * `lipsum.__globals__.os.popen(…)`) and run commands. Payloads in the wild hide
 * the attribute names: `|attr('__cla' ~ 'ss__')`, `"\x5f\x5fclass\x5f\x5f"`,
 * `('__cla','ss__')|join`, `'%c'|format(95)`, names set in one block and used
 * in another.
 *
 * So the checker only looks inside Jinja code (`{{ … }}`, `{% … %}`, never
 * text, comments or `{% raw %}`), lexes it like Jinja does (strings with
 * Python escapes decoded, brackets balanced), folds constant string
 * expressions (concatenation with `~`/`+`/adjacency, `*`, `|join`, `|format`,
 * `%`, `.format`, `|replace`, `|reverse`, `|lower`, slices, and `{% set %}`
 * constants) and then matches names against tables of escape routes. Words
 * like "system" in text or in `message['role'] == 'system'` are data, not
 * attribute walks, and are not flagged.
 *
 * Work is linear in the template size; folding is bounded by named limits.
 */
import type { Finding, FindingLocation } from '../report/types.ts';
import { createFinding } from './index.ts';

/** Longest string the folder builds; longer results are left unfolded (a `'_' * 10**9` bomb stays a no-op). */
const MAX_FOLDED_STRING_CHARS = 4096;
/** Largest repeat count folded for `'_' * n`. */
const MAX_REPEAT = 256;
/** Folding passes per code block; each pass is linear, real templates settle in two or three. */
const MAX_FOLD_PASSES = 32;
/** Code blocks are handled in segments of this many tokens, so memory stays flat on a 64 MiB template (CWE-400). */
const MAX_SEGMENT_TOKENS = 20_000;
/** Tokens a segment repeats from the one before, so a construct cut by a segment edge is still seen whole. */
const SEGMENT_OVERLAP = 16;
/** Tokens of a statement read to learn the names it binds (`for a, b in …`, `macro f(x, y)`). */
const MAX_BINDING_TOKENS = 256;
/** Names remembered as bound or as constants; past this a template is pathological and extra names are ignored (CWE-770). */
const MAX_REMEMBERED_NAMES = 100_000;
/**
 * Matches kept per rule and template; one payload is enough to judge, the rest
 * is noise (CWE-400). Counted per rule so unusual constructs cannot crowd out
 * a later escape.
 */
const MAX_MATCHES_PER_RULE = 500;
/** Characters in an excerpt (the finding's evidence). */
export const EXCERPT_CHARS = 200;
/** Excerpts start this many characters before the match, for context. */
const EXCERPT_LEAD = 40;

export type TemplateRuleId = 'template.jinja.sandbox-escape' | 'template.jinja.unusual-construct';

/** One construct found in a template. */
export interface TemplateMatch {
  rule: TemplateRuleId;
  /** Stable name of what matched, e.g. `dunder:__class__`, `global-walk:lipsum`, `escape-sequence`. */
  pattern: string;
  /** Index in the template (UTF-16 code units) where the construct starts. */
  offset: number;
  /** Up to EXCERPT_CHARS characters of the template around the match. */
  excerpt: string;
}

/** Attribute names that lead from any object to classes, functions' globals or builtins. */
const ESCAPE_DUNDERS = new Set([
  '__class__', '__mro__', '__subclasses__', '__globals__', '__builtins__', '__init__', '__base__', '__bases__',
  '__import__', '__getattribute__', '__dict__', '__code__', '__func__', '__self__', '__closure__', '__reduce__',
  '__reduce_ex__', '__loader__', '__spec__', '__subclasshook__',
]);
/** Python internals without underscores that reach frames, code and globals (Jinja's sandbox blocks them too). */
const INTERNAL_ATTRIBUTES = new Set([
  'mro', 'gi_frame', 'gi_code', 'cr_frame', 'cr_code', 'ag_frame', 'ag_code', 'f_globals', 'f_locals', 'f_builtins',
  'f_back', 'f_code', 'tb_frame', 'tb_next', 'func_globals', 'func_code', 'im_func', '_module',
  '_TemplateReference__context',
]);
/** Jinja (and Flask) globals whose attributes lead to Python functions and their module globals. */
const SANDBOX_GLOBALS = new Set(['cycler', 'lipsum', 'joiner', 'namespace', 'self', 'config', 'request', 'url_for', 'get_flashed_messages']);
/** Modules that run processes or load code, reached as attributes (`lipsum.__globals__.os`). */
const DANGEROUS_MODULES = new Set(['os', 'subprocess', 'sys', 'builtins', 'importlib', 'posix', 'nt', 'pty', 'socket', 'shutil', 'ctypes', 'commands']);
/** Functions that run processes or import code, whatever follows them. */
const PROCESS_FUNCTIONS = new Set([
  'popen', 'popen2', 'spawnl', 'spawnle', 'spawnlp', 'spawnv', 'spawnve', 'spawnvp', 'execl', 'execle', 'execlp', 'execv',
  'execve', 'execvp', 'check_output', 'check_call', 'getoutput', 'getstatusoutput', 'import_module', 'load_module',
]);
/** Names that are ordinary words (`ns.system`, a "system" key) unless they are called. */
const CALLED_FUNCTIONS = new Set(['system', 'eval', 'exec']);
/** Statements that pull in other templates through the loader. */
const LOADER_STATEMENTS = new Set(['include', 'extends', 'import', 'from']);

const DUNDER = /^__\w+__$/;
const DUNDER_FRAGMENT = /^__[A-Za-z]|[A-Za-z]__$/;
const ESCAPE_DUNDER_IN_TEXT = /__(?:class|mro|subclasses|globals|builtins|init|base|bases|import|getattribute|dict|code|func|self|closure|reduce|reduce_ex|loader|spec|subclasshook)__/;

/** Every escape route and unusual construct in the Jinja code of `template`, in template order. */
export function checkChatTemplate(template: string): TemplateMatch[] {
  const matches: TemplateMatch[] = [];
  const seen = new Set<string>();
  const counts: Record<TemplateRuleId, number> = { 'template.jinja.sandbox-escape': 0, 'template.jinja.unusual-construct': 0 };
  const add: AddMatch = (rule, pattern, offset) => {
    const key = `${pattern}@${offset}`;
    if (seen.has(key) || counts[rule] >= MAX_MATCHES_PER_RULE) return;
    seen.add(key);
    counts[rule]++;
    const start = Math.max(0, offset - EXCERPT_LEAD);
    matches.push({ rule, pattern, offset, excerpt: template.slice(start, start + EXCERPT_CHARS) });
  };
  const context: MatchContext = { ...collectNames(template), matches, seen, add };
  const constants = new Map<string, string>();
  const blocks = splitTemplate(template);
  let next = blocks.next();
  while (!next.done && counts['template.jinja.sandbox-escape'] < MAX_MATCHES_PER_RULE) {
    const block = next.value;
    next = blocks.next();
    const following = next.done ? undefined : next.value;
    let segment: Token[] = [];
    let first = true;
    for (const token of lexTokens(template, block.start, block.end)) {
      segment.push(token);
      if (segment.length < MAX_SEGMENT_TOKENS) continue;
      matchSegment(block, segment, first, context, constants);
      segment = segment.slice(-SEGMENT_OVERLAP);
      first = false;
    }
    const tokens = matchSegment(block, segment, first, context, constants);
    if (first) rememberConstants(tokens, constants, template, block, following);
  }
  return context.matches.sort((a, b) => a.offset - b.offset);
}

/** Fold and match one segment of a block; returns the folded tokens. */
function matchSegment(block: CodeBlock, segment: Token[], first: boolean, context: MatchContext, constants: Map<string, string>): Token[] {
  const tokens = foldConstants(substituteConstants(segment, constants));
  matchBlock(block, tokens, context, first);
  return tokens;
}

/** Bytes of `text` in UTF-8, to turn a match's character index into a byte offset. */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length && (text.charCodeAt(index + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      index++;
    } else bytes += 3;
  }
  return bytes;
}

export interface ChatTemplateWhere {
  /** What the template is, for the finding's detail: `tokenizer.chat_template`, `chat_template.jinja`. */
  source: string;
  /** Where the template is (for GGUF, the file offset and byte length of the template string). */
  location: FindingLocation;
  /** File offset of the template's first byte, to give each match's byte offset in the detail. */
  fileOffset?: number;
}

/**
 * Findings for a template: at most one per rule, naming every pattern that
 * matched, with the first match's excerpt as evidence.
 */
export function chatTemplateFindings(template: string, where: ChatTemplateWhere): Finding[] {
  const matches = checkChatTemplate(template);
  const findings: Finding[] = [];
  const groups: [TemplateRuleId, string][] = [
    ['template.jinja.sandbox-escape', 'reaches Python internals through'],
    ['template.jinja.unusual-construct', 'uses constructs ordinary chat templates do not need:'],
  ];
  for (const [rule, verb] of groups) {
    const ofRule = matches.filter((match) => match.rule === rule);
    if (ofRule.length === 0) continue;
    const first = ofRule[0];
    const source = where.source.length > 120 ? `${where.source.slice(0, 120)}…` : where.source;
    const patterns = [...new Set(ofRule.map((match) => match.pattern))];
    const shown = patterns.slice(0, 12).join(', ') + (patterns.length > 12 ? `, and ${patterns.length - 12} more` : '');
    const position =
      where.fileOffset === undefined
        ? `character ${first.offset}`
        : `character ${first.offset}, file offset ${where.fileOffset + utf8ByteLength(template.slice(0, first.offset))}`;
    findings.push(
      createFinding(rule, {
        detail: `${source} ${verb} ${shown} (${ofRule.length} ${ofRule.length === 1 ? 'match' : 'matches'}; the first at ${position}).`,
        location: where.location,
        evidence: first.excerpt,
      }),
    );
  }
  return findings;
}

// ---------------------------------------------------------------------------
// Splitting: where the Jinja code is.

interface CodeBlock {
  kind: 'expression' | 'statement';
  /** Template indices of the code between the delimiters (whitespace-control marks excluded). */
  start: number;
  end: number;
  /** Index just after the closing delimiter. */
  after: number;
}

const RAW_OPEN = /\{%[-+]?\s*raw\s*[-+]?%\}/y;
const RAW_CLOSE = /\{%[-+]?\s*endraw\s*[-+]?%\}/g;

function* splitTemplate(template: string): Generator<CodeBlock> {
  let index = 0;
  while (index < template.length) {
    const open = template.indexOf('{', index);
    if (open < 0 || open + 1 >= template.length) break;
    const marker = template[open + 1];
    if (marker === '#') {
      const close = template.indexOf('#}', open + 2);
      index = close < 0 ? template.length : close + 2;
      continue;
    }
    if (marker !== '{' && marker !== '%') {
      index = open + 1;
      continue;
    }
    if (marker === '%') {
      RAW_OPEN.lastIndex = open;
      if (RAW_OPEN.test(template)) {
        RAW_CLOSE.lastIndex = RAW_OPEN.lastIndex;
        const close = RAW_CLOSE.exec(template);
        index = close ? close.index + close[0].length : template.length;
        continue;
      }
    }
    let start = open + 2;
    if (template[start] === '-' || template[start] === '+') start++;
    const closer = marker === '{' ? '}}' : '%}';
    const close = findCloser(template, start, closer);
    let end = close < 0 ? template.length : close;
    if (end > start && (template[end - 1] === '-' || template[end - 1] === '+')) end--;
    yield { kind: marker === '{' ? 'expression' : 'statement', start, end, after: close < 0 ? template.length : close + 2 };
    index = close < 0 ? template.length : close + 2;
  }
}

/** The closing delimiter outside strings and at bracket depth 0, as Jinja's lexer finds it; -1 if none. */
function findCloser(template: string, from: number, closer: string): number {
  let depth = 0;
  for (let index = from; index < template.length; index++) {
    const char = template[index];
    if (char === "'" || char === '"') {
      index = stringEnd(template, index) - 1;
    } else if (char === '(' || char === '[' || char === '{') {
      depth++;
    } else if ((char === ')' || char === ']' || char === '}') && depth > 0) {
      depth--;
    } else if (depth === 0 && template.startsWith(closer, index)) {
      return index;
    }
  }
  return -1;
}

/** Index after the closing quote of the string opening at `start` (or the end of the template). */
function stringEnd(text: string, start: number): number {
  const quote = text[start];
  for (let index = start + 1; index < text.length; index++) {
    if (text[index] === '\\') index++;
    else if (text[index] === quote) return index + 1;
  }
  return text.length;
}

// ---------------------------------------------------------------------------
// Lexing: Jinja code into tokens, strings decoded.

interface Token {
  kind: 'name' | 'string' | 'number' | 'op';
  value: string;
  /** Template index where the token (or the first piece of a folded one) starts. */
  offset: number;
  /** A string literal with escapes that spell plain printable ASCII (`\x5f` for `_`). */
  escaped?: boolean;
  /** Built by folding several literals. */
  folded?: boolean;
  /** A name replaced by the string constant `{% set %}` gave it. */
  fromConstant?: boolean;
}

const OPERATORS = new Set(['//', '**', '==', '!=', '<=', '>=']);
const NAME = /[\p{L}_][\p{L}\p{N}_]*/uy;
const NUMBER = /\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?/y;

function* lexTokens(template: string, start: number, end: number): Generator<Token> {
  let index = start;
  while (index < end) {
    const char = template[index];
    const code = template.charCodeAt(index);
    if (code === 0x20 || code === 0x0a || code === 0x09 || code === 0x0d || (code > 0x7f && /\s/.test(char))) {
      index++;
      continue;
    }
    if (char === "'" || char === '"') {
      const stop = Math.min(stringEnd(template, index), end);
      const closed = template[stop - 1] === char && stop - 1 > index;
      const body = template.slice(index + 1, closed ? stop - 1 : stop);
      const decoded = decodeEscapes(body);
      yield { kind: 'string', value: decoded.value, offset: index, escaped: decoded.escapedPlain || undefined };
      index = stop;
      continue;
    }
    if (isAsciiNameStart(code)) {
      let stop = index + 1;
      while (stop < end && isAsciiNamePart(template.charCodeAt(stop))) stop++;
      // A name that goes on with non-ASCII letters is finished by the Unicode pattern below.
      if (stop >= end || template.charCodeAt(stop) < 0x80) {
        yield { kind: 'name', value: template.slice(index, stop), offset: index };
        index = stop;
        continue;
      }
    }
    NAME.lastIndex = index;
    const name = code > 0x7f || isAsciiNameStart(code) ? NAME.exec(template) : null;
    if (name && name.index === index) {
      yield { kind: 'name', value: name[0], offset: index };
      index += name[0].length;
      continue;
    }
    NUMBER.lastIndex = index;
    const number = code >= 0x30 && code <= 0x39 ? NUMBER.exec(template) : null;
    if (number && number.index === index) {
      yield { kind: 'number', value: number[0].replaceAll('_', ''), offset: index };
      index += number[0].length;
      continue;
    }
    const pair = template.slice(index, index + 2);
    const operator = OPERATORS.has(pair) ? pair : char;
    yield { kind: 'op', value: operator, offset: index };
    index += operator.length;
  }
}

function isAsciiNameStart(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || code === 0x5f;
}

function isAsciiNamePart(code: number): boolean {
  return isAsciiNameStart(code) || (code >= 0x30 && code <= 0x39);
}

/** Up to `limit` tokens of a block. */
function firstTokens(template: string, block: CodeBlock, limit: number): Token[] {
  const tokens: Token[] = [];
  for (const token of lexTokens(template, block.start, block.end)) {
    tokens.push(token);
    if (tokens.length >= limit) break;
  }
  return tokens;
}

/** Names Python's unicode-escape codec knows and obfuscators use; others decode to U+FFFD. */
const NAMED_CHARACTERS: Record<string, string> = {
  'LOW LINE': '_',
  'FULL STOP': '.',
  'SPACE': ' ',
  'LEFT SQUARE BRACKET': '[',
  'RIGHT SQUARE BRACKET': ']',
  'APOSTROPHE': "'",
  'QUOTATION MARK': '"',
};
const SIMPLE_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"', '\n': '' };

/** Decode Python string escapes as Jinja does (`unicode-escape`), noting escapes that hide printable ASCII. */
export function decodeEscapes(body: string): { value: string; escapedPlain: boolean } {
  if (!body.includes('\\')) return { value: body, escapedPlain: false };
  let value = '';
  let escapedPlain = false;
  const push = (code: number | undefined, fallback: string) => {
    if (code === undefined || !Number.isFinite(code) || code > 0x10ffff) {
      value += fallback;
      return;
    }
    if (code >= 0x20 && code <= 0x7e) escapedPlain = true;
    value += String.fromCodePoint(code);
  };
  for (let index = 0; index < body.length; index++) {
    const char = body[index];
    if (char !== '\\' || index + 1 >= body.length) {
      value += char;
      continue;
    }
    const next = body[index + 1];
    const hex = (length: number) => {
      const digits = body.slice(index + 2, index + 2 + length);
      return /^[0-9a-fA-F]+$/.test(digits) && digits.length === length ? parseInt(digits, 16) : undefined;
    };
    if (next in SIMPLE_ESCAPES) {
      value += SIMPLE_ESCAPES[next];
      index += 1;
    } else if (next === 'x' || next === 'u' || next === 'U') {
      const length = next === 'x' ? 2 : next === 'u' ? 4 : 8;
      const code = hex(length);
      push(code, '\\' + next);
      index += code === undefined ? 1 : 1 + length;
    } else if (/[0-7]/.test(next)) {
      const digits = /^[0-7]{1,3}/.exec(body.slice(index + 1))![0];
      push(parseInt(digits, 8), '');
      index += digits.length;
    } else if (next === 'N' && body[index + 2] === '{') {
      const close = body.indexOf('}', index + 3);
      const name = close < 0 ? '' : body.slice(index + 3, close).toUpperCase();
      const known = NAMED_CHARACTERS[name];
      push(known === undefined ? 0xfffd : known.codePointAt(0), '\\N');
      index = close < 0 ? index + 1 : close;
    } else {
      value += '\\' + next;
      index += 1;
    }
  }
  return { value, escapedPlain };
}

// ---------------------------------------------------------------------------
// Constants: `{% set name = 'literal' %}` (and block sets of plain text) carried to later blocks.

function substituteConstants(tokens: Token[], constants: Map<string, string>): Token[] {
  if (constants.size === 0) return tokens;
  const isStatement = (word: string) => tokens[0]?.kind === 'name' && tokens[0].value === word;
  return tokens.map((token, index) => {
    if (token.kind !== 'name' || !constants.has(token.value)) return token;
    if (isOp(tokens[index - 1], '.') || isOp(tokens[index - 1], '|') || isOp(tokens[index + 1], '=')) return token;
    if ((isStatement('set') || isStatement('for')) && index === 1) return token;
    return { kind: 'string', value: constants.get(token.value)!, offset: token.offset, fromConstant: true };
  });
}

function rememberConstants(
  tokens: Token[],
  constants: Map<string, string>,
  template: string,
  block: CodeBlock,
  following: CodeBlock | undefined,
): void {
  const [keyword, target, equals, value] = tokens;
  if (keyword?.kind !== 'name' || target?.kind !== 'name') return;
  if (keyword.value === 'for') {
    for (const token of tokens.slice(1)) {
      if (token.kind === 'name' && token.value === 'in') break;
      if (token.kind === 'name') constants.delete(token.value);
    }
    return;
  }
  if (keyword.value !== 'set') return;
  constants.delete(target.value);
  if (constants.size >= MAX_REMEMBERED_NAMES) return;
  if (isOp(equals, '=') && value?.kind === 'string' && tokens.length === 4) {
    constants.set(target.value, value.value);
  } else if (tokens.length === 2 && following) {
    // `{% set name %}text{% endset %}`: the text becomes a string at run time.
    const closing = firstTokens(template, following, 2);
    const isEndset = following.kind === 'statement' && closing.length === 1 && closing[0].kind === 'name' && closing[0].value === 'endset';
    const text = isEndset ? template.slice(block.after, template.lastIndexOf('{', following.start)) : '';
    if (isEndset && text.length <= MAX_FOLDED_STRING_CHARS) constants.set(target.value, text.trim());
  }
}

// ---------------------------------------------------------------------------
// Folding constant string expressions.

const TIGHTER_AFTER = new Set(['|', '.', '[', '(', '*', '/', '//', '%', '**']);
const TIGHTER_BEFORE = new Set(['.', '|', '*', '/', '//', '%', '**']);
const STRING_FILTERS: Record<string, (value: string) => string> = {
  lower: (value) => value.toLowerCase(),
  upper: (value) => value.toUpperCase(),
  reverse: (value) => [...value].reverse().join(''),
  string: (value) => value,
  safe: (value) => value,
  trim: (value) => value.trim(),
  join: (value) => value,
  first: (value) => [...value][0] ?? '',
  last: (value) => [...value].at(-1) ?? '',
};
const STRING_METHODS: Record<string, (value: string) => string> = {
  lower: (value) => value.toLowerCase(),
  upper: (value) => value.toUpperCase(),
  strip: (value) => value.trim(),
  lstrip: (value) => value.trimStart(),
  rstrip: (value) => value.trimEnd(),
};

interface Fold {
  from: number;
  to: number;
  value: string;
}

function foldConstants(input: Token[]): Token[] {
  if (!input.some((token) => token.kind === 'string')) return input;
  let tokens = input;
  for (let pass = 0; pass < MAX_FOLD_PASSES; pass++) {
    let changed = false;
    const next: Token[] = [];
    let index = 0;
    while (index < tokens.length) {
      const fold = tryFold(tokens, index);
      if (fold && fold.value.length <= MAX_FOLDED_STRING_CHARS) {
        next.push({ kind: 'string', value: fold.value, offset: tokens[fold.from].offset, folded: true, escaped: anyEscaped(tokens, fold) });
        index = fold.to;
        changed = true;
      } else {
        next.push(tokens[index]);
        index++;
      }
    }
    tokens = next;
    if (!changed) break;
  }
  return tokens;
}

function anyEscaped(tokens: Token[], fold: Fold): true | undefined {
  for (let index = fold.from; index < fold.to; index++) if (tokens[index].escaped) return true;
  return undefined;
}

/** A fold starting at `index`: tokens [from, to) become one string. Rules in binding order, tightest first. */
function tryFold(tokens: Token[], index: number): Fold | null {
  const before = tokens[index - 1];
  const token = tokens[index];

  // Grouping and literal lists: `('a')`, `('a', 'b')|join`, `['a', 'b']|join('')`.
  if (isOp(token, '(') || isOp(token, '[')) {
    const isCallOrSubscript = isOperand(before);
    if (isCallOrSubscript) return null;
    const closer = token.value === '(' ? ')' : ']';
    const items: string[] = [];
    let cursor = index + 1;
    while (isString(tokens[cursor])) {
      items.push(tokens[cursor].value);
      cursor++;
      if (isOp(tokens[cursor], ',')) cursor++;
      else break;
    }
    if (items.length === 0 || !isOp(tokens[cursor], closer)) return null;
    const closeIndex = cursor;
    if (isOp(tokens[closeIndex + 1], '|') && isName(tokens[closeIndex + 2], 'join')) {
      const args = callArguments(tokens, closeIndex + 3);
      if (args && args.values.length <= 1 && args.values.every((value) => typeof value === 'string')) {
        return { from: index, to: args.end, value: items.join((args.values[0] as string | undefined) ?? '') };
      }
      if (!isOp(tokens[closeIndex + 3], '(')) return { from: index, to: closeIndex + 3, value: items.join('') };
      return null;
    }
    const isSingleGroup = token.value === '(' && items.length === 1 && closeIndex === index + 2;
    return isSingleGroup ? { from: index, to: closeIndex + 1, value: items[0] } : null;
  }

  if (!isString(token)) {
    // `2 * '_'`
    if (token?.kind === 'number' && isOp(tokens[index + 1], '*') && isString(tokens[index + 2]) && !TIGHTER_BEFORE.has(opOf(before)) && !TIGHTER_AFTER.has(opOf(tokens[index + 3]))) {
      return repeat(tokens[index + 2].value, token.value, index, index + 3);
    }
    return null;
  }

  // Adjacent literals are one string to Jinja: `'__cla' 'ss__'`.
  if (isString(tokens[index + 1])) return { from: index, to: index + 2, value: token.value + tokens[index + 1].value };

  // Filters: `'x'|lower`, `'x'|replace('a', 'b')`, `'%s%s'|format('a', 'b')`.
  if (isOp(tokens[index + 1], '|') && isName(tokens[index + 2])) {
    const filter = tokens[index + 2].value;
    const args = callArguments(tokens, index + 3);
    if (filter === 'replace' && args && args.values.length === 2 && args.values.every((value) => typeof value === 'string')) {
      return { from: index, to: args.end, value: token.value.split(args.values[0] as string).join(args.values[1] as string) };
    }
    if (filter === 'format' && args) {
      const formatted = printf(token.value, args.values);
      return formatted === null ? null : { from: index, to: args.end, value: formatted };
    }
    if (filter === 'join' && args && args.values.length === 1 && typeof args.values[0] === 'string') {
      return { from: index, to: args.end, value: [...token.value].join(args.values[0]) };
    }
    const simple = Object.hasOwn(STRING_FILTERS, filter) ? STRING_FILTERS[filter] : undefined;
    if (simple && !isOp(tokens[index + 3], '(')) return { from: index, to: index + 3, value: simple(token.value) };
    return null;
  }

  // Methods: `'x'.lower()`, `'{}{}'.format('a', 'b')`, `''.join(['a', 'b'])`, `'x'.replace('a', 'b')`.
  if (isOp(tokens[index + 1], '.') && isName(tokens[index + 2])) {
    const method = tokens[index + 2].value;
    const args = callArguments(tokens, index + 3);
    if (!args) return null;
    if (method === 'format') {
      const formatted = pythonFormat(token.value, args.values);
      return formatted === null ? null : { from: index, to: args.end, value: formatted };
    }
    if (method === 'replace' && args.values.length === 2 && args.values.every((value) => typeof value === 'string')) {
      return { from: index, to: args.end, value: token.value.split(args.values[0] as string).join(args.values[1] as string) };
    }
    if (method === 'join' && args.list) return { from: index, to: args.end, value: args.list.join(token.value) };
    const simple = Object.hasOwn(STRING_METHODS, method) ? STRING_METHODS[method] : undefined;
    if (simple && args.values.length === 0) return { from: index, to: args.end, value: simple(token.value) };
    return null;
  }

  // Subscripts and slices: `'__ssalc__'[::-1]`, `'x__class__'[1:]`.
  if (isOp(tokens[index + 1], '[')) {
    const slice = parseSlice(tokens, index + 2);
    if (!slice) return null;
    const value = applySlice(token.value, slice);
    return value === null ? null : { from: index, to: slice.end, value };
  }

  if (TIGHTER_BEFORE.has(opOf(before))) return null;

  // `'_' * 2`
  if (isOp(tokens[index + 1], '*') && tokens[index + 2]?.kind === 'number' && !TIGHTER_AFTER.has(opOf(tokens[index + 3]))) {
    return repeat(token.value, tokens[index + 2].value, index, index + 3);
  }
  // `'%s%s' % ('a', 'b')`, `'%c' % 95`
  if (isOp(tokens[index + 1], '%')) {
    if ((isString(tokens[index + 2]) || tokens[index + 2]?.kind === 'number') && !TIGHTER_AFTER.has(opOf(tokens[index + 3]))) {
      const formatted = printf(token.value, [literalValue(tokens[index + 2])]);
      return formatted === null ? null : { from: index, to: index + 3, value: formatted };
    }
    if (isOp(tokens[index + 2], '(')) {
      const args = callArguments(tokens, index + 2);
      if (args && !TIGHTER_AFTER.has(opOf(tokens[args.end]))) {
        const formatted = printf(token.value, args.values);
        return formatted === null ? null : { from: index, to: args.end, value: formatted };
      }
    }
    return null;
  }
  // `'a' ~ 'b'`, `'a' + 'b'`, `'a' ~ 5`
  if ((isOp(tokens[index + 1], '~') || isOp(tokens[index + 1], '+')) && (isString(tokens[index + 2]) || (tokens[index + 2]?.kind === 'number' && isOp(tokens[index + 1], '~')))) {
    if (TIGHTER_AFTER.has(opOf(tokens[index + 3])) || isString(tokens[index + 3])) return null;
    return { from: index, to: index + 3, value: token.value + tokens[index + 2].value };
  }
  return null;
}

function literalValue(token: Token): string | number {
  return token.kind === 'number' ? Number(token.value) : token.value;
}

function repeat(text: string, countText: string, from: number, to: number): Fold | null {
  const count = Number(countText);
  if (!Number.isInteger(count) || count < 0 || count > MAX_REPEAT || text.length * count > MAX_FOLDED_STRING_CHARS) return null;
  return { from, to, value: text.repeat(count) };
}

interface Arguments {
  values: (string | number)[];
  /** The single argument when it is a literal list or tuple of strings (for `.join`). */
  list?: string[];
  /** Index after the closing parenthesis. */
  end: number;
}

/** Literal positional arguments `( 'a', 95, … )` starting at `open`; null when any is not a literal. */
function callArguments(tokens: Token[], open: number): Arguments | null {
  if (!isOp(tokens[open], '(')) return null;
  const values: (string | number)[] = [];
  let list: string[] | undefined;
  let cursor = open + 1;
  if (isOp(tokens[cursor], ')')) return { values, end: cursor + 1 };
  while (cursor < tokens.length) {
    const token = tokens[cursor];
    if (token.kind === 'string' || token.kind === 'number') {
      values.push(literalValue(token));
      cursor++;
    } else if (token.kind === 'op' && (token.value === '[' || token.value === '(') && values.length === 0) {
      const closer = token.value === '[' ? ']' : ')';
      const items: string[] = [];
      cursor++;
      while (tokens[cursor]?.kind === 'string') {
        items.push(tokens[cursor].value);
        cursor++;
        if (isOp(tokens[cursor], ',')) cursor++;
        else break;
      }
      if (!isOp(tokens[cursor], closer)) return null;
      list = items;
      values.push(items.join(''));
      cursor++;
    } else {
      return null;
    }
    if (isOp(tokens[cursor], ',')) cursor++;
    else if (isOp(tokens[cursor], ')')) return { values, list: values.length === 1 ? list : undefined, end: cursor + 1 };
    else return null;
  }
  return null;
}

/** Python `%` formatting with %s, %d, %i, %c and %%; null for anything fancier. */
function printf(format: string, values: (string | number)[]): string | null {
  let result = '';
  let next = 0;
  for (let index = 0; index < format.length; index++) {
    if (format[index] !== '%') {
      result += format[index];
      continue;
    }
    const spec = format[++index];
    if (spec === '%') {
      result += '%';
      continue;
    }
    if (next >= values.length) return null;
    const value = values[next++];
    if (spec === 's') result += String(value);
    else if ((spec === 'd' || spec === 'i') && typeof value === 'number') result += String(Math.trunc(value));
    else if (spec === 'c' && typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0x10ffff) result += String.fromCodePoint(value);
    else if (spec === 'c' && typeof value === 'string' && [...value].length === 1) result += value;
    else return null;
    if (result.length > MAX_FOLDED_STRING_CHARS) return null;
  }
  return next === values.length ? result : null;
}

/** Python `str.format` with `{}` and `{0}` fields; null for attribute or index fields, which are matched instead. */
function pythonFormat(format: string, values: (string | number)[]): string | null {
  let automatic = 0;
  let failed = false;
  const result = format.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (whole, field: string | undefined) => {
    if (whole === '{{') return '{';
    if (whole === '}}') return '}';
    const position = field === '' ? automatic++ : /^\d+$/.test(field ?? '') ? Number(field) : -1;
    if (position < 0 || position >= values.length) {
      failed = true;
      return '';
    }
    return String(values[position]);
  });
  return failed ? null : result;
}

interface Slice {
  start?: number;
  stop?: number;
  step?: number;
  /** `[i]` rather than a slice. */
  single: boolean;
  end: number;
}

/** `[i]`, `[a:b]`, `[::-1]` with integer literals (optionally negative), from just after `[`. */
function parseSlice(tokens: Token[], from: number): Slice | null {
  const parts: (number | undefined)[] = [undefined];
  let cursor = from;
  while (cursor < tokens.length) {
    const token = tokens[cursor];
    if (isOp(token, ']')) {
      if (parts.length > 3) return null;
      if (parts.length === 1) return parts[0] === undefined ? null : { start: parts[0], single: true, end: cursor + 1 };
      return { start: parts[0], stop: parts[1], step: parts[2], single: false, end: cursor + 1 };
    }
    if (isOp(token, ':')) {
      parts.push(undefined);
      cursor++;
      continue;
    }
    const negative = isOp(token, '-');
    const number = negative ? tokens[cursor + 1] : token;
    if (number?.kind !== 'number' || !/^\d+$/.test(number.value) || parts[parts.length - 1] !== undefined) return null;
    parts[parts.length - 1] = (negative ? -1 : 1) * Number(number.value);
    cursor += negative ? 2 : 1;
  }
  return null;
}

function applySlice(text: string, slice: Slice): string | null {
  const chars = [...text];
  const length = chars.length;
  if (slice.single) {
    const at = slice.start! < 0 ? length + slice.start! : slice.start!;
    return at >= 0 && at < length ? chars[at] : null;
  }
  const step = slice.step ?? 1;
  if (step === 0) return null;
  const clamp = (value: number | undefined, fallback: number, low: number, high: number) => {
    if (value === undefined) return fallback;
    const absolute = value < 0 ? value + length : value;
    return Math.min(Math.max(absolute, low), high);
  };
  let result = '';
  if (step > 0) {
    for (let index = clamp(slice.start, 0, 0, length); index < clamp(slice.stop, length, 0, length); index += step) result += chars[index];
  } else {
    for (let index = clamp(slice.start, length - 1, -1, length - 1); index > clamp(slice.stop, -1, -1, length - 1); index += step) result += chars[index];
  }
  return result;
}

// ---------------------------------------------------------------------------
// Matching.

interface MatchContext {
  /** Names the template binds itself (set, for, macro parameters): not the Jinja globals of the same name. */
  bound: Set<string>;
  /** `{% block name %}` names: `self.name()` calls them legitimately. */
  blockNames: Set<string>;
  matches: TemplateMatch[];
  seen: Set<string>;
  /** Record a match (deduplicated, capped at MAX_MATCHES_PER_RULE). */
  add: AddMatch;
}

type AddMatch = (rule: TemplateRuleId, pattern: string, offset: number) => void;

/**
 * Names the template binds itself (set, for, macro and call parameters,
 * with) and its block names, from the first tokens of each statement.
 */
function collectNames(template: string): { bound: Set<string>; blockNames: Set<string> } {
  const bound = new Set<string>();
  const blockNames = new Set<string>();
  const remember = (names: Set<string>, name: string) => {
    if (names.size < MAX_REMEMBERED_NAMES) names.add(name);
  };
  for (const block of splitTemplate(template)) {
    if (block.kind !== 'statement') continue;
    const tokens = firstTokens(template, block, MAX_BINDING_TOKENS);
    const [keyword, target] = tokens;
    if (keyword?.kind !== 'name') continue;
    if ((keyword.value === 'set' || keyword.value === 'block') && target?.kind === 'name') {
      remember(keyword.value === 'set' ? bound : blockNames, target.value);
    } else if (keyword.value === 'for') {
      for (const token of tokens.slice(1)) {
        if (token.kind === 'name' && token.value === 'in') break;
        if (token.kind === 'name') remember(bound, token.value);
      }
    } else if (keyword.value === 'macro' || keyword.value === 'call' || keyword.value === 'with') {
      tokens.forEach((token, index) => {
        const next = tokens[index + 1];
        if (index > 0 && token.kind === 'name' && (isOp(next, ',') || isOp(next, ')') || isOp(next, '='))) remember(bound, token.value);
      });
    }
  }
  return { bound, blockNames };
}

function matchBlock(block: CodeBlock, tokens: Token[], context: MatchContext, startsBlock: boolean): void {
  const add = context.add;
  const first = tokens[0];
  if (startsBlock && block.kind === 'statement' && first?.kind === 'name' && LOADER_STATEMENTS.has(first.value)) {
    add('template.jinja.unusual-construct', `template-loader:${first.value}`, first.offset);
  }
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index];
    if (token.kind === 'name') matchName(tokens, index, context, add);
    else if (token.kind === 'string') matchString(tokens, index, add);
    else if (isOp(token, '|')) matchFilter(tokens, index, add);
  }
}

/** `|attr(<not a literal>)` and `(x|string)[n]`: attribute names built from run-time values. */
function matchFilter(tokens: Token[], index: number, add: AddMatch): void {
  const filter = tokens[index + 1];
  if (filter?.kind !== 'name') return;
  if (filter.value === 'attr') {
    const isLiteral = isOp(tokens[index + 2], '(') && tokens[index + 3]?.kind === 'string' && isOp(tokens[index + 4], ')');
    if (!isLiteral) add('template.jinja.unusual-construct', 'attr-dynamic', filter.offset);
  } else if (filter.value === 'string') {
    // Characters picked out of an object's repr (`(x|string)[24]` is "_") spell names no literal shows.
    let after = index + 2;
    if (isOp(tokens[after], ')')) after++;
    const indexes = isOp(tokens[after], '[') && tokens[after + 1]?.kind === 'number' && isOp(tokens[after + 2], ']');
    const picks = indexes || (isOp(tokens[after], '|') && PICKING_FILTERS.has(tokens[after + 1]?.value ?? ''));
    if (picks) add('template.jinja.unusual-construct', 'string-char-picking', filter.offset);
  }
}

const PICKING_FILTERS = new Set(['list', 'batch', 'slice', 'first', 'last']);

/** Words Jinja reads as operators or literals, not as variables: `x in ['os']` is a list, not a subscript. */
const KEYWORDS = new Set(['in', 'not', 'and', 'or', 'is', 'if', 'else', 'elif', 'for', 'recursive', 'true', 'false', 'none', 'True', 'False', 'None']);

/** True when `token` ends an operand, so a following `[` or `(` subscripts or calls it. */
function isOperand(token: Token | undefined): boolean {
  if (token === undefined) return false;
  if (token.kind === 'name') return !KEYWORDS.has(token.value);
  return token.kind === 'string' || isOp(token, ')') || isOp(token, ']');
}

function isOp(token: Token | undefined, value: string): boolean {
  return token?.kind === 'op' && token.value === value;
}

function isString(token: Token | undefined): boolean {
  return token?.kind === 'string';
}

function isName(token: Token | undefined, value?: string): boolean {
  return token?.kind === 'name' && (value === undefined || token.value === value);
}

/** The operator a token is, or '' for names, strings and numbers (a string '|' is not a pipe). */
function opOf(token: Token | undefined): string {
  return token?.kind === 'op' ? token.value : '';
}

function matchName(
  tokens: Token[],
  index: number,
  context: MatchContext,
  add: AddMatch,
): void {
  const token = tokens[index];
  const name = token.value;
  const afterDot = isOp(tokens[index - 1], '.');
  const next = tokens[index + 1];
  const called = isOp(next, '(');
  if (ESCAPE_DUNDERS.has(name)) {
    add('template.jinja.sandbox-escape', `dunder:${name}`, token.offset);
    return;
  }
  if (afterDot) {
    matchAttributeName(name, called, token.offset, add);
    return;
  }
  if (SANDBOX_GLOBALS.has(name) && !context.bound.has(name)) {
    const walks = isOp(next, '.') || isOp(next, '[') || (isOp(next, '|') && tokens[index + 2]?.value === 'attr');
    const callsOwnBlock = name === 'self' && isOp(next, '.') && context.blockNames.has(tokens[index + 2]?.value ?? '') && isOp(tokens[index + 3], '(');
    if (walks && !callsOwnBlock) add('template.jinja.sandbox-escape', `global-walk:${name}`, token.offset);
    else if (!walks && !called && !callsOwnBlock && !isKeywordArgument(tokens, index)) {
      add('template.jinja.unusual-construct', `global-reference:${name}`, token.offset);
    }
    return;
  }
  if ((name === 'eval' || name === 'exec') && called) add('template.jinja.sandbox-escape', `dangerous-call:${name}`, token.offset);
}

function isKeywordArgument(tokens: Token[], index: number): boolean {
  return isOp(tokens[index + 1], '=');
}

/** A name reached as an attribute: `.x`, `['x']`, `|attr('x')`, `attribute='x'`. */
function matchAttributeName(name: string, called: boolean, offset: number, add: AddMatch): void {
  if (ESCAPE_DUNDERS.has(name)) add('template.jinja.sandbox-escape', `dunder:${name}`, offset);
  else if (INTERNAL_ATTRIBUTES.has(name)) add('template.jinja.sandbox-escape', `internal-attribute:${name}`, offset);
  else if (DANGEROUS_MODULES.has(name)) add('template.jinja.sandbox-escape', `module-access:${name}`, offset);
  else if (PROCESS_FUNCTIONS.has(name)) add('template.jinja.sandbox-escape', `process-call:${name}`, offset);
  else if (CALLED_FUNCTIONS.has(name) && called) add('template.jinja.sandbox-escape', `process-call:${name}`, offset);
  else if (DUNDER.test(name)) add('template.jinja.unusual-construct', `dunder-attribute:${name}`, offset);
  else if (name.startsWith('_')) add('template.jinja.unusual-construct', `private-attribute:${name}`, offset);
}

function matchString(tokens: Token[], index: number, add: AddMatch): void {
  const token = tokens[index];
  const value = token.value;
  const embedded = ESCAPE_DUNDER_IN_TEXT.exec(value);
  if (embedded && !ESCAPE_DUNDERS.has(value)) add('template.jinja.sandbox-escape', `dunder-string:${embedded[0]}`, token.offset);
  const access = accessEnd(tokens, index);
  if (access !== null) {
    const called = isOp(tokens[access], '(');
    matchAttributeName(value, called, token.offset, add);
  } else if (ESCAPE_DUNDERS.has(value)) {
    add('template.jinja.sandbox-escape', `dunder-string:${value}`, token.offset);
  }
  if (token.escaped) add('template.jinja.unusual-construct', 'escape-sequence', token.offset);
  if (!embedded && DUNDER_FRAGMENT.test(value) && !DUNDER.test(value) && value.length < 64) {
    add('template.jinja.unusual-construct', 'dunder-fragment', token.offset);
  }
}

/**
 * When the string at `index` is used as an attribute name (`x['name']`,
 * `x|attr('name')`, `map(attribute='name')`), the index after that use;
 * otherwise null.
 */
function accessEnd(tokens: Token[], index: number): number | null {
  const previous = tokens[index - 1];
  const beforePrevious = tokens[index - 2];
  const next = tokens[index + 1];
  if (isOp(previous, '[') && isOp(next, ']') && isOperand(beforePrevious)) return index + 2;
  if (isOp(previous, '(') && beforePrevious?.kind === 'name' && beforePrevious.value === 'attr' && isOp(tokens[index - 3], '|') && isOp(next, ')')) {
    return index + 2;
  }
  if (isOp(previous, '=') && beforePrevious?.kind === 'name' && beforePrevious.value === 'attribute') return index + 1;
  return null;
}
