/**
 * What the Python files of a model repository would do when imported, from
 * their text: processes, network, code built at run time, unpickling,
 * obfuscation, credentials. Each hit names its line and quotes it.
 *
 * The text goes through a small lexer (python-lexer.ts) first, so patterns
 * run on code only: comments and docstrings that mention `eval(` or
 * `os.system` are not hits, string literals are masked as `""` in the code
 * and checked on their own (base64 blobs, hex escapes, credential paths).
 * Matching is on names: nothing is evaluated, and a determined author can
 * always hide a call from a static reader; what such hiding looks like
 * (decoders feeding exec, chr() chains, escaped strings) is itself flagged.
 * The tables below are data; each row says what the call does.
 */
import type { RuleId } from '../rules/index.ts';
import { type LogicalLine, type StringLiteral, lexPython } from './python-lexer.ts';

/**
 * Hits listed per rule and file; the rest are counted (CWE-770: a report
 * stays readable). Per rule, so a flood of harmless hits (environment reads)
 * cannot crowd out the one that decides the verdict.
 */
export const MAX_HITS_PER_RULE = 50;
/** exec/eval calls per statement checked for decoded arguments; real code has one or two (CWE-400). */
export const MAX_EXEC_CALLS_PER_STATEMENT = 64;
/** Characters of a line quoted as evidence (CWE-770). */
export const MAX_EVIDENCE_CHARS = 200;
/** Imports and relative imports listed per file (CWE-770). */
export const MAX_LISTED_IMPORTS = 200;
/** Names remembered as holding decoded data (CWE-770). */
export const MAX_TRACKED_NAMES = 1_000;
/** A string literal at least this long made only of base64 (or hex) characters is a blob, not text. */
export const MIN_BLOB_CHARS = 200;
/** Hex escapes spelling printable ASCII in one string from which it counts as hidden text. */
export const MIN_PRINTABLE_HEX_ESCAPES = 8;
/** chr() calls in one statement from which it counts as spelling text. */
export const MIN_CHR_CALLS = 4;
/** Base64 literals at least this long are decoded and, when they hold text, scanned as Python too. */
export const MIN_DECODED_CHARS = 16;
/** Characters after `exec(` searched for a decoder or a decoded name; keeps a line of many calls linear (CWE-400). */
export const MAX_CALL_CHARS = 2_000;
/** Levels of decoding followed (base64 inside base64); more is pathological (CWE-674). */
export const MAX_DECODE_DEPTH = 2;

export type PythonRuleId = Extract<
  RuleId,
  | 'python.process'
  | 'python.network'
  | 'python.dynamic-code'
  | 'python.obfuscated-exec'
  | 'python.obfuscation'
  | 'python.unsafe-deserialization'
  | 'python.credential-access'
  | 'python.environment-read'
>;

export interface PythonHit {
  rule: PythonRuleId;
  /** 1-based line number. */
  line: number;
  /** Index of the line's first character in the text. */
  lineStart: number;
  /** What the code does there, in plain words. */
  what: string;
  /** The line, trimmed and cut to MAX_EVIDENCE_CHARS. */
  text: string;
}

export interface PythonScan {
  hits: PythonHit[];
  /** Hits beyond MAX_HITS_PER_RULE (of any rule). */
  omitted: number;
  lines: number;
  /** Top-level modules imported (absolute imports), in first-seen order. */
  imports: string[];
  /** Modules imported relatively (`from .configuration_x import …` → `configuration_x`), as module paths with `/`. */
  relativeImports: string[];
}

interface CodePattern {
  rule: PythonRuleId;
  /** Global regex over a logical line's code (strings masked, comments removed). */
  pattern: RegExp;
  what(match: RegExpExecArray, code: string): string | null;
}

const PROCESS_MODULES = new Set(['subprocess', 'pty', 'commands', 'popen2']);
const NETWORK_MODULES = new Set([
  'socket', 'urllib', 'urllib2', 'urllib3', 'requests', 'httpx', 'ftplib', 'smtplib', 'telnetlib', 'aiohttp', 'paramiko',
  'websocket', 'websockets', 'pycurl', 'asyncssh', 'http.client', 'http.server', 'xmlrpc', 'socketserver',
]);
const OS_PROCESS_FUNCTIONS = /^(system|popen[234]?|spawn[lv]p?e?|exec[lv]p?e?|fork|forkpty|posix_spawnp?|startfile)$/;
const DYNAMIC_BUILTINS = /^(eval|exec|compile|__import__|execfile)$/;
const UNPICKLING_MODULES = /^(pickle|cPickle|_pickle|dill|cloudpickle|shelve|jsonpickle|marshal)$/;

const NETWORK_NAMES = [...NETWORK_MODULES].map((name) => name.replace('.', '\\s*\\.\\s*')).join('|');
/** Calls and names that turn data into other data: what obfuscated payloads pass through before exec. */
const DECODER = /\b(?:b64decode|b32decode|b16decode|a85decode|b85decode|decodebytes|decodestring|unhexlify|fromhex|decompress|rot13|rot_13)\b|\bcodecs\s*\.\s*decode\b|\bmarshal\s*\.\s*loads?\b|(?<![\w.])chr\s*\(|\bbytes\s*\(\s*\[|\[\s*:\s*:\s*-\s*1\s*\]/;
const EXEC_CALL = /(?<![\w.])(?:exec|eval)\s*\(|\bbuiltins\s*\.\s*(?:exec|eval)\s*\(/g;
const ASSIGNMENT = /^\s*([A-Za-z_]\w*)\s*(?::[^=]*)?=(?!=)/;
const IDENTIFIER = /[A-Za-z_]\w*/g;
/** Every name CODE_PATTERNS starts from: a statement without any of them skips the table (most lines of real code). */
const MENTIONS_WATCHED_NAME = new RegExp(
  `(?:os|subprocess|pty|commands|popen\\d?|eval|exec|execfile|compile|__import__|importlib|getattr|__builtins__|globals|locals|vars|pickle|cPickle|_pickle|dill|cloudpickle|shelve|jsonpickle|marshal|torch|joblib|np|numpy|pd|pandas|get_token|HfFolder|get_stored_tokens|${NETWORK_NAMES})\\b`,
  'i',
);

/** Patterns on code, in order; at most one hit per rule and physical line (the first row that matches). */
const CODE_PATTERNS: readonly CodePattern[] = [
  {
    rule: 'python.process',
    pattern: /(?<![\w.])os\s*\.\s*(system|popen[234]?|spawn[lv]p?e?|exec[lv]p?e?|fork|forkpty|posix_spawnp?|startfile)\s*\(/g,
    what: (match) => `os.${match[1]}() runs a program`,
  },
  {
    rule: 'python.process',
    pattern: /(?<![\w.])(subprocess|pty|commands)\s*\.\s*([A-Za-z_]\w*)/g,
    what: (match) => `${match[1]}.${match[2]} runs a program`,
  },
  { rule: 'python.process', pattern: /(?<!\w)popen\d?\s*\(/gi, what: () => 'popen() runs a shell command' },
  {
    rule: 'python.network',
    pattern: new RegExp(`(?<![\\w.])(${NETWORK_NAMES})\\s*\\.\\s*([A-Za-z_]\\w*)`, 'g'),
    what: (match) => `${match[1].replace(/\s+/g, '')}.${match[2]} talks to the network`,
  },
  {
    rule: 'python.dynamic-code',
    pattern: /(?<![\w.])(eval|exec|execfile|compile|__import__)\s*\(/g,
    what: (match) => `${match[1]}() runs or imports code that is not written in the file`,
  },
  {
    rule: 'python.dynamic-code',
    pattern: /\bimportlib\s*\.\s*(import_module|__import__|reload|util\s*\.\s*spec_from_file_location|machinery\s*\.\s*SourceFileLoader)\b/g,
    what: (match) => `importlib.${match[1].replace(/\s+/g, '')} imports a module chosen at run time`,
  },
  {
    rule: 'python.dynamic-code',
    pattern: /(?<![\w.])getattr\s*\(\s*(os|subprocess|builtins|__builtins__|sys|importlib|pty|socket)\s*,/g,
    what: (match) => `getattr() on the module ${match[1]} hides which function is called`,
  },
  { rule: 'python.dynamic-code', pattern: /\b__builtins__\b/g, what: () => '__builtins__ reaches eval, exec and __import__ by name' },
  {
    rule: 'python.dynamic-code',
    pattern: /(?<![\w.])(globals|locals|vars)\s*\(\s*\)\s*\[/g,
    what: (match) => `${match[1]}()[…] looks names up by string`,
  },
  {
    rule: 'python.unsafe-deserialization',
    pattern: /(?<![\w.])(pickle|cPickle|_pickle|dill|cloudpickle|shelve|jsonpickle)\s*\.\s*(loads?|Unpickler|open|decode)\b/g,
    what: (match) => `${match[1]}.${match[2]} runs code embedded in the data it reads`,
  },
  {
    rule: 'python.unsafe-deserialization',
    pattern: /(?<![\w.])marshal\s*\.\s*(loads?)\b/g,
    what: (match) => `marshal.${match[1]} turns bytes into code objects`,
  },
  {
    rule: 'python.unsafe-deserialization',
    pattern: /(?<![\w.])torch\s*\.\s*load\s*\(/g,
    what: (match, code) => {
      const call = code.slice(match.index, match.index + 400);
      const weightsOnly = /weights_only\s*=\s*(True|False)\b/.exec(call);
      if (weightsOnly?.[1] === 'True') return null;
      return weightsOnly
        ? 'torch.load with weights_only=False unpickles anything, running the code a checkpoint carries'
        : 'torch.load without weights_only: PyTorch before 2.6 unpickles anything, running the code a checkpoint carries';
    },
  },
  {
    rule: 'python.unsafe-deserialization',
    pattern: /(?<![\w.])joblib\s*\.\s*load\s*\(/g,
    what: () => 'joblib.load unpickles the file, running the code it carries',
  },
  {
    rule: 'python.unsafe-deserialization',
    pattern: /(?<![\w.])(?:np|numpy)\s*\.\s*load\s*\([^)]*allow_pickle\s*=\s*True/g,
    what: () => 'numpy.load with allow_pickle=True unpickles object arrays',
  },
  {
    rule: 'python.unsafe-deserialization',
    pattern: /(?<![\w.])(?:pd|pandas)\s*\.\s*read_pickle\s*\(/g,
    what: () => 'pandas.read_pickle unpickles the file',
  },
  {
    rule: 'python.credential-access',
    pattern: /(?<![\w.])os\s*\.\s*environ\s*(?:\.\s*(copy|items|keys|values)\s*\(|(?=[),]))/g,
    what: () => 'takes the whole environment (every token and secret in it)',
  },
  {
    rule: 'python.credential-access',
    pattern: /(?<![\w])(get_token|HfFolder\s*\.\s*get_token|get_stored_tokens)\s*\(/g,
    what: (match) => `${match[1].replace(/\s+/g, '')}() reads the stored Hugging Face token`,
  },
  {
    rule: 'python.environment-read',
    pattern: /(?<![\w.])os\s*\.\s*(environ|getenv)\b/g,
    what: (match) => `os.${match[1]} reads an environment variable`,
  },
];

/** Secrets named in strings: paths of keys and tokens, and environment variables that hold them. */
const CREDENTIAL_TEXT =
  /(?:^|[\\/~])\.ssh(?:[\\/]|$)|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|\.aws[\\/]credentials|\.netrc\b|\.git-credentials|\.docker[\\/]config\.json|\.kube[\\/]config|huggingface[\\/](?:stored_)?token|\/etc\/(?:shadow|passwd)\b|\.pypirc\b|\b(?:HF_TOKEN|HUGGING_FACE_HUB_TOKEN|HUGGINGFACE_HUB_TOKEN|HF_API_TOKEN|AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID|AWS_SESSION_TOKEN|OPENAI_API_KEY|ANTHROPIC_API_KEY|GITHUB_TOKEN|GH_TOKEN|GOOGLE_APPLICATION_CREDENTIALS|WANDB_API_KEY)\b/;

/**
 * Scans Python source text: hits in line order (at most one per rule and
 * line), imports, line count. String literals that decode (base64, hex
 * escapes) to text are scanned as code too, their hits placed on the line of
 * the literal: `exec(b64decode("aW1wb3J0IG9z…"))` shows the os.system it hides.
 */
export function scanPythonSource(text: string, depth = 0): PythonScan {
  const hits: PythonHit[] = [];
  const seen = new Set<string>();
  let omitted = 0;
  const imports: string[] = [];
  const relativeImports: string[] = [];
  const decodedNames = new Set<string>();

  const lineText = (start: number) => {
    const end = text.indexOf('\n', start);
    const line = text.slice(start, end < 0 ? text.length : end).trim();
    return line.length > MAX_EVIDENCE_CHARS ? `${line.slice(0, MAX_EVIDENCE_CHARS)}…` : line;
  };
  const perRule = new Map<PythonRuleId, number>();
  let lastOmitted = '';
  const add = (rule: PythonRuleId, line: number, lineStart: number, what: string) => {
    const listed = perRule.get(rule) ?? 0;
    const key = `${rule}@${line}`;
    if (listed >= MAX_HITS_PER_RULE) {
      // Past the cap only a count is kept (two patterns of one rule on one line count once), so memory stays flat (CWE-770).
      if (key !== lastOmitted) omitted++;
      lastOmitted = key;
      return;
    }
    if (seen.has(key)) return;
    seen.add(key);
    perRule.set(rule, listed + 1);
    hits.push({ rule, line, lineStart, what, text: lineText(lineStart) });
  };
  const mentionsDecoded = (code: string) => {
    if (decodedNames.size === 0) return null;
    for (const name of code.match(IDENTIFIER) ?? []) if (decodedNames.has(name)) return name;
    return null;
  };
  const remember = (list: string[], name: string) => {
    if (list.length < MAX_LISTED_IMPORTS && !list.includes(name)) list.push(name);
  };

  const onLogicalLine = (logical: LogicalLine) => {
    const at = (index: number) => physicalAt(logical, index);
    const { code } = logical;
    const obfuscatedLines = new Set<number>();

    for (const statement of importStatements(code)) {
      const where = at(statement.index);
      for (const entry of statement.modules) {
        if (entry.relative) {
          remember(relativeImports, entry.module);
          continue;
        }
        const top = entry.module.split('.')[0];
        remember(imports, top);
        const importWhat = importRisk(entry.module, entry.names);
        if (importWhat) add(importWhat.rule, where.number, where.start, importWhat.what);
      }
    }

    // Decoded data handed to exec/eval, on this statement or through a name assigned earlier.
    EXEC_CALL.lastIndex = 0;
    let execCalls = 0;
    for (let match = EXEC_CALL.exec(code); match && execCalls++ < MAX_EXEC_CALLS_PER_STATEMENT; match = EXEC_CALL.exec(code)) {
      const argument = code.slice(match.index + match[0].length, match.index + match[0].length + MAX_CALL_CHARS);
      const decoded = DECODER.exec(argument);
      const viaName = decoded ? null : mentionsDecoded(argument);
      if (decoded || viaName) {
        const where = at(match.index);
        obfuscatedLines.add(where.number);
        const how = decoded ? `the result of ${decoded[0].replace(/\s+/g, '').replace(/\($/, '()')}` : `${viaName}, which holds decoded data`;
        add('python.obfuscated-exec', where.number, where.start, `${match[0].replace(/\s*\($/, '')}() runs ${how}`);
      }
    }
    const assigned = ASSIGNMENT.exec(code);
    if (assigned && decodedNames.size < MAX_TRACKED_NAMES) {
      const value = code.slice(assigned[0].length, assigned[0].length + MAX_CALL_CHARS);
      if (DECODER.test(value) || mentionsDecoded(value) !== null) decodedNames.add(assigned[1]);
    }

    const chrCalls = code.match(/(?<![\w.])chr\s*\(/g)?.length ?? 0;
    if (chrCalls >= MIN_CHR_CALLS || /\bmap\s*\(\s*chr\b/.test(code)) {
      const where = at(code.search(/(?<![\w.])chr\b/));
      add('python.obfuscation', where.number, where.start, `builds text from character codes (${chrCalls} chr() calls)`);
    }

    if (!MENTIONS_WATCHED_NAME.test(code)) return;
    for (const row of CODE_PATTERNS) {
      row.pattern.lastIndex = 0;
      for (let match = row.pattern.exec(code); match; match = row.pattern.exec(code)) {
        const where = at(match.index);
        if (row.rule === 'python.dynamic-code' && obfuscatedLines.has(where.number)) continue;
        if (row.rule === 'python.environment-read' && seen.has(`python.credential-access@${where.number}`)) continue;
        const what = row.what(match, code);
        if (what !== null) add(row.rule, where.number, where.start, what);
      }
    }
  };

  const scanDecoded = (decoded: string | null, literal: StringLiteral, how: string) => {
    if (decoded === null || depth >= MAX_DECODE_DEPTH) return;
    for (const hit of scanPythonSource(decoded, depth + 1).hits) {
      add(hit.rule, literal.line, literal.lineStart, `${how} decodes to code where ${hit.what} (${JSON.stringify(hit.text.slice(0, 80))})`);
    }
  };

  const onString = (literal: StringLiteral) => {
    if (literal.docstring) return;
    if (literal.otherChars === 0 && literal.base64Chars >= MIN_DECODED_CHARS && literal.length === literal.head.length) {
      scanDecoded(decodeBase64Text(literal.head), literal, 'the base64 string');
    }
    if (literal.printableHexEscapes > 0 && literal.length === literal.head.length) {
      scanDecoded(decodeEscapes(literal.head), literal, 'the escaped string');
    }
    const credential = CREDENTIAL_TEXT.exec(literal.head);
    if (credential) add('python.credential-access', literal.line, literal.lineStart, `names a secret: ${JSON.stringify(credential[0].replace(/^[\\/~]/, ''))}`);
    if (literal.printableHexEscapes >= MIN_PRINTABLE_HEX_ESCAPES) {
      add('python.obfuscation', literal.line, literal.lineStart, `a string of ${literal.hexEscapes} hex escapes that spell plain text`);
    }
    const blobChars = literal.base64Chars;
    if (blobChars >= MIN_BLOB_CHARS && literal.otherChars === 0) {
      const kind = literal.hexChars === blobChars ? 'hex' : 'base64';
      add('python.obfuscation', literal.line, literal.lineStart, `a ${kind} blob of ${blobChars} characters`);
    }
  };

  const lines = lexPython(text, { onLogicalLine, onString });
  hits.sort((left, right) => left.line - right.line || ruleOrder(left.rule) - ruleOrder(right.rule));
  return { hits, omitted, lines, imports, relativeImports };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** The text a base64 (or URL-safe base64) literal decodes to, when it is mostly printable UTF-8; null otherwise. */
export function decodeBase64Text(literal: string): string | null {
  const clean = literal.replace(/\s+/g, '').replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  if (clean.length % 4 === 1 || !/^[A-Za-z0-9+/]*$/.test(clean)) return null;
  const bytes = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let buffer = 0;
  let written = 0;
  for (const char of clean) {
    buffer = (buffer << 6) | BASE64_ALPHABET.indexOf(char);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[written++] = (buffer >> bits) & 0xff;
    }
  }
  return printableText(bytes.subarray(0, written));
}

/** A non-raw literal's source with `\xNN`, `\n`, `\t` and quote escapes decoded, when that gives printable text. */
function decodeEscapes(literal: string): string | null {
  const decoded = literal.replace(/\\(x[0-9a-fA-F]{2}|[nrt'"\\])/g, (_, escape: string) => {
    if (escape[0] === 'x') return String.fromCharCode(parseInt(escape.slice(1), 16));
    return escape === 'n' ? '\n' : escape === 'r' ? '\r' : escape === 't' ? '\t' : escape;
  });
  return decoded === literal ? null : decoded;
}

/** UTF-8 text of which at least 95% is printable (or whitespace); null for binary data. */
function printableText(bytes: Uint8Array): string | null {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return null;
  }
  if (text.length === 0) return null;
  let printable = 0;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (code === 0x09 || code === 0x0a || code === 0x0d || (code >= 0x20 && code !== 0x7f)) printable++;
  }
  return printable / [...text].length >= 0.95 ? text : null;
}

const RULE_ORDER: readonly PythonRuleId[] = [
  'python.obfuscated-exec',
  'python.process',
  'python.network',
  'python.dynamic-code',
  'python.unsafe-deserialization',
  'python.credential-access',
  'python.obfuscation',
  'python.environment-read',
];

function ruleOrder(rule: PythonRuleId): number {
  return RULE_ORDER.indexOf(rule);
}

/** The physical line holding character `index` of a logical line's code (binary search: a logical line can span thousands). */
function physicalAt(logical: LogicalLine, index: number): { number: number; start: number } {
  const lines = logical.lines;
  let low = 0;
  let high = lines.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (lines[middle].codeIndex <= index) low = middle;
    else high = middle - 1;
  }
  return lines[low];
}

interface ImportStatement {
  index: number;
  modules: { module: string; relative: boolean; names: string[] }[];
}

/** `import a.b as c, d` and `from x.y import (p, q)` statements of a logical line (statements split on `;`). */
function importStatements(code: string): ImportStatement[] {
  const statements: ImportStatement[] = [];
  let offset = 0;
  for (const part of code.split(';')) {
    const leading = part.length - part.trimStart().length;
    const statement = part.trim();
    const index = offset + leading;
    offset += part.length + 1;
    const plain = /^import\s+(.+)$/s.exec(statement);
    if (plain) {
      const modules = plain[1]
        .split(',')
        .map((item) => item.trim().split(/\s+as\s+/)[0].replace(/\s+/g, ''))
        .filter((name) => /^[A-Za-z_][\w.]*$/.test(name) || /^\.+[\w.]+$/.test(name))
        .map((name) => (name.startsWith('.') ? { module: relativePath(name), relative: true, names: [] } : { module: name, relative: false, names: [] }));
      statements.push({ index, modules });
      continue;
    }
    const from = /^from\s+(\.*)([\w.]*)\s+import\s+(.+)$/s.exec(statement);
    if (from) {
      const names = from[3]
        .replace(/[()]/g, ' ')
        .split(',')
        .map((item) => item.trim().split(/\s+as\s+/)[0].trim())
        .filter((name) => name.length > 0);
      if (from[1].length > 0) {
        // `from .x import y` imports x.py; `from . import y` imports y.py (when y is a module).
        const modules = from[2].length > 0 ? [relativePath(`.${from[2]}`)] : names.filter((name) => /^\w+$/.test(name));
        statements.push({ index, modules: modules.map((module) => ({ module, relative: true, names })) });
      } else if (from[2].length > 0) {
        statements.push({ index, modules: [{ module: from[2], relative: false, names }] });
      }
    }
  }
  return statements;
}

function relativePath(dotted: string): string {
  return dotted.replace(/^\.+/, '').split('.').join('/');
}

/** What importing `module` (and `names` from it) gives the code, when that is risky. */
function importRisk(module: string, names: string[]): { rule: PythonRuleId; what: string } | null {
  const top = module.split('.')[0];
  if (PROCESS_MODULES.has(top)) return { rule: 'python.process', what: `imports ${module}, which runs programs` };
  if (NETWORK_MODULES.has(module) || NETWORK_MODULES.has(top)) return { rule: 'python.network', what: `imports ${module}, which talks to the network` };
  if (module === 'os' || module === 'posix' || module === 'nt') {
    const spawning = names.filter((name) => OS_PROCESS_FUNCTIONS.test(name));
    if (spawning.length > 0) return { rule: 'python.process', what: `imports ${spawning.join(', ')} from ${module}, which run programs` };
  }
  if (module === 'builtins' || module === '__builtin__') {
    const dynamic = names.filter((name) => DYNAMIC_BUILTINS.test(name));
    if (dynamic.length > 0) return { rule: 'python.dynamic-code', what: `imports ${dynamic.join(', ')} from ${module}` };
  }
  if (UNPICKLING_MODULES.test(top)) {
    const loaders = names.filter((name) => /^(loads?|Unpickler)$/.test(name));
    if (loaders.length > 0) return { rule: 'python.unsafe-deserialization', what: `imports ${loaders.join(', ')} from ${module}, which unpickle data` };
  }
  return null;
}
