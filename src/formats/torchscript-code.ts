/**
 * The source files of a TorchScript archive (`code/**.py`, written by
 * torch.jit.save and compiled again by torch.jit.load), checked line by line
 * against a table of what such code has no reason to contain.
 * Background: https://pytorch.org/docs/stable/jit.html and PyTorch's
 * SECURITY.md ("TorchScript models should be treated the same way as locally
 * executable code from an unknown source").
 *
 * Threat surface: the code is a program. TorchScript cannot import Python
 * modules, but it can call every registered operator: built-in ones that
 * touch files (`aten::from_file`), and custom operators and classes from any
 * native library the application has loaded (torchvision's
 * `torch.ops.image.read_file`/`write_file`, distributed process groups …).
 * `__setstate__` methods run during torch.jit.load itself. And the same text
 * read as Python by another tool (torch.package, viewers, conversion scripts)
 * runs with whatever it imports, so Python escapes (`__import__`, `os.`,
 * `eval(`, dunder walks) are flagged even though the TorchScript compiler
 * would refuse them: generated code never contains them.
 *
 * Matching is on text: names are compared, nothing is evaluated. The table
 * is data (CODE_PATTERNS); each row says what the call does.
 */
import type { RuleId } from '../rules/index.ts';

/** Findings kept per source file; the rest are counted (CWE-400: a report stays readable). */
export const MAX_HITS_PER_FILE = 50;
/** Characters of a line shown as evidence (CWE-400). */
export const MAX_EVIDENCE_LINE_CHARS = 200;

/** Operator namespaces that PyTorch itself registers; any other `torch.ops.<ns>` is a custom native operator. */
export const BUILTIN_OP_NAMESPACES: ReadonlySet<string> = new Set([
  'aten',
  'prim',
  'quantized',
  '_quantized',
  'quantized_decomposed',
  'prepacked',
  'profiler',
  'mkldnn',
  'mkldnn_prepacked',
  'xnnpack',
  'cuda',
  'prims',
]);

/** Custom-class namespaces that PyTorch itself registers (`torch.classes.quantized.Conv2dPackedParamsBase` …). */
export const BUILTIN_CLASS_NAMESPACES: ReadonlySet<string> = new Set(['quantized', 'xnnpack', 'mkldnn', 'rnn', 'sparse', '_nnapi']);

/**
 * Python modules whose attributes give access to the machine; `name.` in the
 * source is flagged. Names that TorchScript code commonly uses as variables
 * (`io`, `code`, `input`) are left out: TorchScript keeps the author's
 * variable names, and `code.size()` is not the `code` module.
 */
const PYTHON_MODULES = [
  'os', 'posix', 'nt', 'sys', 'subprocess', 'socket', 'ssl', 'shutil', 'pty', 'ctypes', 'importlib', 'pkgutil', 'runpy',
  'pickle', '_pickle', 'marshal', 'dill', 'cloudpickle', 'builtins', '__builtin__', 'urllib', 'urllib2', 'requests',
  'httpx', 'webbrowser', 'multiprocessing', 'asyncio', 'codeop', 'pathlib', 'tempfile',
];

export interface CodePattern {
  rule: RuleId;
  /** Matched against each line; must not be global/sticky (it is reused). */
  pattern: RegExp;
  /** What the match does, in plain words; `$1` is replaced by the first group. */
  what: string;
  /** A match is dropped when this returns false (namespace allowlists). */
  keep?(match: RegExpExecArray): boolean;
  /** Not reported on a line that already has a hit of this rule (a custom operator that reads files is reported once, as file access). */
  unlessRule?: RuleId;
}

/** What TorchScript code is checked for, in order of severity. */
export const CODE_PATTERNS: readonly CodePattern[] = [
  { rule: 'torch.torchscript.python-escape', pattern: /\b__import__\b/, what: '__import__ imports any module by name' },
  {
    rule: 'torch.torchscript.python-escape',
    pattern: /^\s*(?:import|from)\s+([A-Za-z_][\w.]*)/,
    what: 'a Python import statement ($1)',
    keep: (match) => !/^__torch__(?:\.|$)/.test(match[1]),
  },
  {
    rule: 'torch.torchscript.python-escape',
    pattern: new RegExp(`(?<![\\w.])(${PYTHON_MODULES.join('|')})\\s*\\.\\s*[A-Za-z_]`),
    what: 'the Python module $1 (processes, files, network or the import machinery)',
  },
  {
    rule: 'torch.torchscript.python-escape',
    pattern: /(?<![\w.])(eval|exec|execfile|compile|breakpoint|globals|locals|vars)\s*\(/,
    what: 'the Python builtin $1(), which runs or reaches arbitrary code',
  },
  { rule: 'torch.torchscript.python-escape', pattern: /(?<![\w.])open\s*\(/, what: 'the Python builtin open(), which reads and writes files' },
  {
    rule: 'torch.torchscript.python-escape',
    pattern: /\b(__(?:builtins|globals|subclasses|mro|bases|base|class|code|closure|dict|getattribute|reduce|reduce_ex|loader|spec)__)\b/,
    what: 'the dunder attribute $1, a walk from any object to builtins and eval',
  },
  {
    rule: 'torch.torchscript.python-escape',
    pattern: /\btorch\s*\.\s*(load|save|hub|package|jit\s*\.\s*load|utils\s*\.\s*cpp_extension)\b/,
    what: 'torch.$1, a loader or code fetcher that TorchScript cannot compile',
  },
  { rule: 'torch.torchscript.file-access', pattern: /\bfrom_file\s*\(/, what: 'from_file (aten::from_file), which reads any file into a tensor' },
  {
    rule: 'torch.torchscript.file-access',
    pattern: /\btorch\s*\.\s*ops\s*\.\s*(\w+\s*\.\s*\w*(?:file|save|load|open|write|read)\w*)\b/i,
    what: 'the operator torch.ops.$1, which reads or writes files by a path it is given',
  },
  {
    rule: 'torch.torchscript.custom-op',
    pattern: /\btorch\s*\.\s*ops\s*\.\s*(\w+)/,
    what: 'an operator of the custom namespace torch.ops.$1',
    keep: (match) => !BUILTIN_OP_NAMESPACES.has(match[1]),
    unlessRule: 'torch.torchscript.file-access',
  },
  {
    rule: 'torch.torchscript.custom-op',
    pattern: /\btorch\s*\.\s*classes\s*\.\s*(\w+)/,
    what: 'a class of the custom namespace torch.classes.$1',
    keep: (match) => !BUILTIN_CLASS_NAMESPACES.has(match[1]),
  },
  { rule: 'torch.torchscript.load-hook', pattern: /^\s*def\s+__setstate__\s*\(/, what: 'a __setstate__ method, which torch.jit.load runs while loading' },
];

export interface CodeHit {
  rule: RuleId;
  /** 1-based line number. */
  line: number;
  /** UTF-8 byte offset of the line's first byte in the source. */
  byteOffset: number;
  /** What the matched call does. */
  what: string;
  /** The line, trimmed and cut to MAX_EVIDENCE_LINE_CHARS. */
  text: string;
}

export interface CodeScan {
  hits: CodeHit[];
  /** Hits beyond MAX_HITS_PER_FILE, counted but not listed. */
  omitted: number;
  lines: number;
}

const encoder = new TextEncoder();

/**
 * Every line of `source` against CODE_PATTERNS: at most one hit per rule and
 * line (the first pattern of that rule that matches), in line order.
 */
export function scanTorchScriptSource(source: string): CodeScan {
  const hits: CodeHit[] = [];
  let omitted = 0;
  let byteOffset = 0;
  let line = 0;
  let start = 0;
  while (start <= source.length) {
    let end = source.indexOf('\n', start);
    if (end === -1) end = source.length;
    const text = source.slice(start, end);
    line += 1;
    const rulesOnLine = new Set<RuleId>();
    for (const row of CODE_PATTERNS) {
      if (rulesOnLine.has(row.rule) || (row.unlessRule && rulesOnLine.has(row.unlessRule))) continue;
      const match = row.pattern.exec(text);
      if (!match || (row.keep && !row.keep(match))) continue;
      rulesOnLine.add(row.rule);
      if (hits.length >= MAX_HITS_PER_FILE) {
        omitted += 1;
        continue;
      }
      hits.push({ rule: row.rule, line, byteOffset, what: row.what.replace('$1', (match[1] ?? '').replace(/\s+/g, '')), text: shorten(text.trim()) });
    }
    byteOffset += utf8Length(text) + 1;
    if (end === source.length) break;
    start = end + 1;
  }
  return { hits, omitted, lines: line };
}

function shorten(text: string): string {
  return text.length > MAX_EVIDENCE_LINE_CHARS ? `${text.slice(0, MAX_EVIDENCE_LINE_CHARS)}…` : text;
}

/** UTF-8 length without allocating for ASCII lines (generated code is ASCII). */
function utf8Length(text: string): number {
  for (let index = 0; index < text.length; index += 1) {
    if (text.charCodeAt(index) > 0x7f) return encoder.encode(text).length;
  }
  return text.length;
}
