import { describe, expect, it } from 'vitest';
import { escapeHtml, html, markdownCode, markdownFence, markdownText, pathToUri, SafeHtml, wellFormed } from '../../src/report/escape.ts';

/** Reads a code span back the way CommonMark does: same-length closing run, one space stripped each side. */
function decodeCodeSpan(markdown: string, inTable = false): string {
  const opening = /^`+/.exec(markdown)![0];
  const inner = markdown.slice(opening.length, markdown.length - opening.length);
  expect(markdown.endsWith(opening)).toBe(true);
  // No run of exactly the fence's length inside: it would close the span early.
  for (const run of inner.match(/`+/g) ?? []) expect(run.length).not.toBe(opening.length);
  const unpadded = inner.length >= 2 && inner.startsWith(' ') && inner.endsWith(' ') && inner.trim() !== '' ? inner.slice(1, -1) : inner;
  return inTable ? unpadded.replace(/\\\|/g, '|') : unpadded;
}

/** Reads escaped Markdown text back: a backslash before ASCII punctuation is dropped, the `@` code span unwrapped. */
function decodeText(markdown: string): string {
  return markdown.replace(/`@`/g, '@').replace(/\\([!-/:-@[-`{-~])/g, '$1');
}

/** True when `char` occurs in `markdown` without a backslash escape in front of it. */
function hasUnescaped(markdown: string, char: string): boolean {
  const withoutCodeAt = markdown.replace(/`@`/g, '');
  for (let index = 0; index < withoutCodeAt.length; index++) {
    if (withoutCodeAt[index] !== char) continue;
    let backslashes = 0;
    for (let back = index - 1; back >= 0 && withoutCodeAt[back] === '\\'; back--) backslashes++;
    if (backslashes % 2 === 0) return true;
  }
  return false;
}

describe('escapeHtml', () => {
  it.each([
    ['<img src=x onerror=alert(1)>', '&lt;img src=x onerror=alert(1)&gt;'],
    ['</script><script>alert(1)</script>', '&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;'],
    ['</style>', '&lt;/style&gt;'],
    [`" onmouseover='x' &amp;`, '&quot; onmouseover=&#39;x&#39; &amp;amp;'],
    ['plain text', 'plain text'],
    ['right-to-left \u202e override', 'right-to-left \\u202e override'],
    ['nul \u0000 and escape \u001b[31m', 'nul \\u0000 and escape \\u001b[31m'],
  ])('%j → %j', (input, expected) => {
    expect(escapeHtml(input)).toBe(expected);
  });
});

describe('html template', () => {
  it('escapes every interpolated string, number and array item, and passes SafeHtml through', () => {
    const hostile = '<b>"x"</b>';
    const result = html`<p title="${hostile}">${hostile}${[hostile, 1, null, undefined, false]}${new SafeHtml('<i>ok</i>')}</p>`;
    expect(result.markup).toBe(
      '<p title="&lt;b&gt;&quot;x&quot;&lt;/b&gt;">&lt;b&gt;&quot;x&quot;&lt;/b&gt;&lt;b&gt;&quot;x&quot;&lt;/b&gt;1<i>ok</i></p>',
    );
  });

  it('nests: markup built by html is not escaped twice', () => {
    const inner = html`<code>${'a<b'}</code>`;
    expect(html`<td>${inner}</td>`.markup).toBe('<td><code>a&lt;b</code></td>');
  });
});

describe('markdownCode', () => {
  it.each([
    ['model.safetensors', '`model.safetensors`'],
    ['has `one` tick', '``has `one` tick``'],
    ['``double``', '``` ``double`` ```'],
    ['`starts', '`` `starts ``'],
    ['  spaced  ', '`   spaced   `'],
    ['', '` `'],
  ])('%j → %j', (input, expected) => {
    expect(markdownCode(input)).toBe(expected);
  });

  it.each(['a`b', '```', 'x ` y `` z ``` w', ' lead', 'trail ', ' both ', '`', 'a|b', '<img src=x onerror=alert(1)>', '[l](http://x)', 'line\nbreak'])(
    'reads back %j exactly (tables too)',
    (input) => {
      const visible = input.replace(/\n/g, '\\n');
      expect(decodeCodeSpan(markdownCode(input))).toBe(visible);
      expect(decodeCodeSpan(markdownCode(input, { inTable: true }), true)).toBe(visible);
      expect(markdownCode(input, { inTable: true }).replace(/\\\|/g, '')).not.toContain('|');
      expect(markdownCode(input)).not.toContain('\n');
    },
  );
});

describe('markdownFence', () => {
  it('uses a fence longer than any backtick run inside, and at least three', () => {
    expect(markdownFence('plain')).toBe('```text\nplain\n```');
    expect(markdownFence('a ```` b')).toBe('`````text\na ```` b\n`````');
  });

  it('keeps lines, so no line inside can close the block', () => {
    const evidence = 'line one\n```\nstill inside\r\n````';
    const fenced = markdownFence(evidence);
    const fence = /^`+/.exec(fenced)![0];
    const lines = fenced.split('\n');
    expect(lines.slice(1, -1).some((line) => line.startsWith(fence))).toBe(false);
    expect(lines.slice(1, -1).join('\n')).toBe('line one\n```\nstill inside\n````');
  });
});

describe('markdownText', () => {
  const hostile = [
    '<img src=x onerror=alert(1)>',
    '</script><script>alert(1)</script>',
    '[click](javascript:alert(1)) ![img](http://x/y.png)',
    'a | b | c',
    '*bold* _em_ ~~strike~~ `code` $x^2$',
    'visit www.evil.example or http://evil.example/x and mail a@b.example',
    '@everyone :smile: &amp; &#60;',
    '- looks like a list',
    '1. looks like an ordered list',
    '# looks like a heading',
    'back\\slash \\[ and \\*',
    'two\nlines\r\nhere',
  ];

  it.each(hostile)('%j: no construct survives, and the text reads back', (input) => {
    const escaped = markdownText(input);
    for (const char of ['<', '>', '[', ']', '|', '*', '_', '~', '$', '&', '`']) expect(hasUnescaped(escaped, char)).toBe(false);
    expect(escaped).not.toMatch(/\n/);
    expect(escaped).not.toMatch(/https?:\/\//);
    expect(escaped).not.toMatch(/www\./i);
    expect(escaped).not.toMatch(/^\s*([-+#=]|\d+[.)])/);
    expect(decodeText(escaped)).toBe(input.replace(/\r\n|\r|\n/g, ' '));
  });

  it('leaves ordinary prose readable', () => {
    expect(markdownText('Imports os.system (GLOBAL at offset 2): process.')).toBe('Imports os.system (GLOBAL at offset 2): process.');
  });
});

describe('pathToUri', () => {
  it.each([
    ['model.safetensors', 'model.safetensors'],
    ['models/llama 3/model.gguf', 'models/llama%203/model.gguf'],
    ['a:b/#x?y.bin', 'a%3Ab/%23x%3Fy.bin'],
    ['/home/me/model.pt', 'file:///home/me/model.pt'],
    ['C:\\Users\\me\\model.pt', 'file:///C:/Users/me/model.pt'],
    ['modèle.bin', 'mod%C3%A8le.bin'],
    ['lone \ud800 surrogate', 'lone%20%EF%BF%BD%20surrogate'],
  ])('%j → %j', (path, uri) => {
    expect(pathToUri(path)).toBe(uri);
  });

  it('replaces lone surrogates only', () => {
    expect(wellFormed('ok \ud83d\ude00 \udc00x \ud800')).toBe('ok \ud83d\ude00 \ufffdx \ufffd');
  });
});
