import { describe, expect, it } from 'vitest';
import { MAX_HITS_PER_RULE, decodeBase64Text, scanPythonSource } from '../../src/folder/python-scan.ts';
import { lexPython } from '../../src/folder/python-lexer.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');

/** Rule and line of every hit, in order. */
function hitsOf(source: string): [string, number][] {
  return scanPythonSource(source).hits.map((hit) => [hit.rule, hit.line]);
}

describe('scanPythonSource: what is code and what is not', () => {
  it.each([
    ['a module docstring that mentions eval( and os.system', '"""Never call eval(x) or os.system("id") here."""\nx = 1\n'],
    ['a function docstring that mentions subprocess.run', 'def f():\n    """subprocess.run(["ls"]) and exec(code)"""\n    return 1\n'],
    ['a raw docstring', 'def f():\n    r"""exec(\\x41)"""\n'],
    ['a comment', '# exec(base64.b64decode(x)); os.system("rm -rf /")\nx = 2  # eval(y)\n'],
    ['method calls named like builtins', 'model.eval()\npattern = re.compile("a+")\nm = torch.compile(m)\n'],
    ['a string that mentions a call', 'message = "call os.system(cmd) to run"\nprint("eval(1)")\n'],
    ['a triple-quoted data string', 'HELP = """\nexec(payload)\nsubprocess.run(x)\n"""\n'],
    ['torch.load with weights_only=True', 'state = torch.load(path, map_location="cpu", weights_only=True)\n'],
    ['importlib to check a package', 'import importlib\nok = importlib.util.find_spec("flash_attn") is not None\n'],
    ['a short base64 literal of binary data', 'MAGIC = "AAECAwQFBgcICQoLDA0ODw=="\n'],
  ])('does not flag %s', (_, source) => {
    expect(hitsOf(source)).toEqual([]);
  });
});

describe('scanPythonSource: calls and imports', () => {
  it.each([
    ['os.system', 'import os\nos.system("id")\n', [['python.process', 2]]],
    ['os.popen in an f-string field', 'x = f"{os.popen(\'id\').read()}"\n', [['python.process', 1]]],
    ['subprocess import and call', 'import subprocess\nsubprocess.run(["ls"])\n', [['python.process', 1], ['python.process', 2]]],
    ['from os import system', 'from os import path, system as run\n', [['python.process', 1]]],
    ['pty.spawn', 'import pty; pty.spawn("/bin/sh")\n', [['python.process', 1]]],
    ['socket', 'import socket\ns = socket.socket()\n', [['python.network', 1], ['python.network', 2]]],
    ['urllib.request', 'from urllib.request import urlopen\n', [['python.network', 1]]],
    ['requests.post', 'requests.post(url, data=open(p).read())\n', [['python.network', 1]]],
    ['http.client', 'import http.client\n', [['python.network', 1]]],
    ['eval', 'value = eval(text)\n', [['python.dynamic-code', 1]]],
    ['__import__', 'm = __import__("o" + "s")\n', [['python.dynamic-code', 1]]],
    ['getattr on os', 'getattr(os, "sys" + "tem")("id")\n', [['python.dynamic-code', 1]]],
    ['importlib.import_module', 'mod = importlib.import_module(name)\n', [['python.dynamic-code', 1]]],
    ['pickle.loads', 'obj = pickle.loads(blob)\n', [['python.unsafe-deserialization', 1]]],
    ['joblib.load', 'clf = joblib.load("m.joblib")\n', [['python.unsafe-deserialization', 1]]],
    ['marshal.loads', 'code = marshal.loads(data)\n', [['python.unsafe-deserialization', 1]]],
    ['numpy allow_pickle', 'a = np.load(p, allow_pickle=True)\n', [['python.unsafe-deserialization', 1]]],
    ['from pickle import loads', 'from pickle import loads\n', [['python.unsafe-deserialization', 1]]],
    ['HF_TOKEN', 'token = os.environ.get("HF_TOKEN")\n', [['python.credential-access', 1]]],
    ['the whole environment', 'payload = dict(os.environ)\n', [['python.credential-access', 1]]],
    ['an SSH key path', 'key = open(os.path.expanduser("~/.ssh/id_rsa")).read()\n', [['python.credential-access', 1]]],
    ['a credentials path inside a list', 'PATHS = [\n    "~/.aws/credentials",\n]\n', [['python.credential-access', 2]]],
    ['a plain environment variable', 'debug = os.getenv("DEBUG")\n', [['python.environment-read', 1]]],
  ])('flags %s', (_, source, expected) => {
    expect(hitsOf(source)).toEqual(expected);
  });

  it('says whether torch.load was given weights_only=False or nothing', () => {
    const [explicit, implicit] = scanPythonSource('a = torch.load(p, weights_only=False)\nb = torch.load(p)\n').hits;
    expect(explicit.what).toContain('weights_only=False');
    expect(implicit.what).toContain('without weights_only');
    expect(implicit.line).toBe(2);
  });
});

describe('scanPythonSource: obfuscation', () => {
  it('flags decoded data handed to exec on the same statement, not as plain dynamic code', () => {
    expect(hitsOf('exec(base64.b64decode(BLOB))\n')).toEqual([['python.obfuscated-exec', 1]]);
    expect(hitsOf('eval(codecs.decode(s, "rot13"))\n')).toEqual([['python.obfuscated-exec', 1]]);
    expect(hitsOf('exec(zlib.decompress(data))\n')).toEqual([['python.obfuscated-exec', 1]]);
  });

  it('follows a name assigned from a decoder to a later exec', () => {
    const source = 'import zlib\npayload = zlib.decompress(raw)\ntext = payload.decode()\n\nexec(text)\n';
    expect(hitsOf(source)).toEqual([['python.obfuscated-exec', 5]]);
    expect(scanPythonSource(source).hits[0].what).toBe('exec() runs text, which holds decoded data');
  });

  it('joins a call spread over several lines and reports its first line', () => {
    const source = 'x = 1\nexec(\n    base64.b64decode(\n        "aGVsbG8="\n    )\n)\n';
    expect(hitsOf(source)).toEqual([['python.obfuscated-exec', 2]]);
  });

  it('decodes base64 literals and reports what the decoded code does on the literal line', () => {
    const source = `BLOB = "${b64('import os; os.system("curl x | sh")')}"\nexec(base64.b64decode(BLOB))\n`;
    const hits = scanPythonSource(source).hits;
    expect(hits.map((hit) => [hit.rule, hit.line])).toEqual([
      ['python.process', 1],
      ['python.obfuscated-exec', 2],
    ]);
    expect(hits[0].what).toContain('the base64 string decodes to code where os.system() runs a program');
  });

  it('decodes base64 inside base64 up to the depth limit', () => {
    const inner = b64('import socket\nsocket.create_connection(("evil", 1))');
    const outer = b64(`exec(base64.b64decode("${inner}"))`);
    const rules = scanPythonSource(`X = "${outer}"\n`).hits.map((hit) => hit.rule);
    expect(rules).toContain('python.obfuscated-exec');
    expect(rules).toContain('python.network');
  });

  it('flags hex-escaped strings and scans what they spell', () => {
    const escaped = [...'__import__("os")'].map((char) => `\\x${char.charCodeAt(0).toString(16)}`).join('');
    const hits = scanPythonSource(`name = "${escaped}"\n`).hits;
    expect(hits.map((hit) => [hit.rule, hit.line])).toEqual([
      ['python.dynamic-code', 1],
      ['python.obfuscation', 1],
    ]);
    expect(hits[1].what).toBe('a string of 16 hex escapes that spell plain text');
  });

  it('flags chr() chains and map(chr, …)', () => {
    expect(hitsOf('s = chr(111) + chr(115) + chr(46) + chr(115)\n')).toEqual([['python.obfuscation', 1]]);
    expect(hitsOf('s = "".join(map(chr, [111, 115]))\n')).toEqual([['python.obfuscation', 1]]);
    expect(hitsOf('s = chr(65) + chr(66)\n')).toEqual([]);
  });

  it('flags a long base64 blob and a long hex blob, not long prose', () => {
    const binary = Buffer.from(Array.from({ length: 300 }, (_, index) => (index * 151 + 7) & 0xff)).toString('base64');
    expect(scanPythonSource(`DATA = "${binary}"\n`).hits.map((hit) => hit.what)).toEqual([`a base64 blob of ${binary.length} characters`]);
    const hex = 'ab01'.repeat(60);
    expect(scanPythonSource(`DATA = "${hex}"\n`).hits.map((hit) => hit.what)).toEqual(['a hex blob of 240 characters']);
    expect(hitsOf(`TEXT = "${'plain words and more words, '.repeat(20)}"\n`)).toEqual([]);
  });
});

describe('scanPythonSource: imports, lines, limits', () => {
  it('lists absolute and relative imports', () => {
    const source = [
      'import torch.nn as nn, numpy',
      'from transformers import PreTrainedModel',
      'from .configuration_x import XConfig',
      'from .models.sub import (A,',
      '    B)',
      'from . import utils',
      'import os',
    ].join('\n');
    const scan = scanPythonSource(source);
    expect(scan.imports).toEqual(['torch', 'numpy', 'transformers', 'os']);
    expect(scan.relativeImports).toEqual(['configuration_x', 'models/sub', 'utils']);
    expect(scan.lines).toBe(7);
  });

  it('counts lines through multi-line strings and continuations', () => {
    const source = 'x = """\none\ntwo\n"""\ny = 1 + \\\n    2\nos.system("a")\n';
    expect(hitsOf(source)).toEqual([['python.process', 7]]);
  });

  it('quotes the line, trimmed and cut, as evidence', () => {
    const long = `    os.system("${'a'.repeat(500)}")`;
    const [hit] = scanPythonSource(`def f():\n${long}\n`).hits;
    expect(hit.text.startsWith('os.system("aaa')).toBe(true);
    expect(hit.text.length).toBe(201);
  });

  it(`keeps ${MAX_HITS_PER_RULE} hits per rule and counts the rest`, () => {
    const scan = scanPythonSource('os.system("x")\n'.repeat(MAX_HITS_PER_RULE + 30));
    expect(scan.hits).toHaveLength(MAX_HITS_PER_RULE);
    expect(scan.omitted).toBe(30);
  });

  it('does not let a flood of one rule hide another', () => {
    const scan = scanPythonSource(`${'v = os.getenv("X")\n'.repeat(500)}os.system("id")\n`);
    expect(scan.hits.filter((hit) => hit.rule === 'python.environment-read')).toHaveLength(MAX_HITS_PER_RULE);
    expect(scan.hits.at(-1)).toMatchObject({ rule: 'python.process', line: 501 });
  });

  it('still reports each line when an unclosed bracket swallows the rest of the file', () => {
    const source = `x = (\n${'os.system("y")\n'.repeat(5000)}`;
    const scan = scanPythonSource(source);
    expect(scan.hits).toHaveLength(MAX_HITS_PER_RULE);
    expect(scan.hits.slice(0, 3).map((hit) => hit.line)).toEqual([2, 3, 4]);
  });

  it('survives unterminated strings and stray quotes', () => {
    expect(() => scanPythonSource('x = "abc\nos.system("id")\ny = """never closed\n')).not.toThrow();
    expect(hitsOf('x = "abc\nos.system("id")\n')).toEqual([['python.process', 2]]);
  });
});

describe('lexPython', () => {
  it('masks strings as "" and drops comments in the logical lines', () => {
    const lines: string[] = [];
    lexPython('a = "x#y"  # comment\nb = f"{c!r} and {d}" + rb\'\\x00\'\n', {
      onLogicalLine: (line) => lines.push(line.code),
      onString: () => undefined,
    });
    expect(lines).toEqual(['a = ""  ', 'b = ""(c!r d ) + ""']);
  });

  it('marks bare strings at the start of a statement as docstrings, others as data', () => {
    const strings: [string, boolean][] = [];
    lexPython('"""doc"""\nx = "data"\ncall(\n    "arg",\n)\nx = 1; "after semicolon"\n', {
      onLogicalLine: () => undefined,
      onString: (literal) => strings.push([literal.head, literal.docstring]),
    });
    expect(strings).toEqual([
      ['doc', true],
      ['data', false],
      ['arg', false],
      ['after semicolon', true],
    ]);
  });
});

describe('decodeBase64Text', () => {
  it.each([
    [b64('print("hello")'), 'print("hello")'],
    [b64('a?b>c').replace(/\+/g, '-').replace(/\//g, '_'), 'a?b>c'],
    ['AAECAwQFBgcICQ==', null],
    ['not base64!', null],
  ])('%s → %s', (input, expected) => {
    expect(decodeBase64Text(input)).toBe(expected);
  });
});
