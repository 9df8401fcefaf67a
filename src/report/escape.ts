/**
 * Escaping for the exporters. Every string in a Report may come from a hostile
 * file (paths, tensor names, metadata, evidence), and a report loaded from a
 * shared JSON may be hostile as a whole. So each output format has one place
 * that turns untrusted text into inert text, and the renderers never
 * concatenate an untrusted string by hand.
 */
import { printable } from './text.ts';

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Text for HTML element content and double- or single-quoted attribute values.
 * Control, bidi-override and line-separator characters are made visible
 * (`\u202e`) first: they could reorder or hide what an auditor reads.
 */
export function escapeHtml(text: string): string {
  return printable(text).replace(/[&<>"']/g, (char) => HTML_ENTITIES[char]);
}

/** Markup built by {@link html}: only this type passes into a page unescaped. */
export class SafeHtml {
  constructor(readonly markup: string) {}

  toString(): string {
    return this.markup;
  }
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

/**
 * Tagged template for markup: the literal parts are trusted, every
 * interpolated value is escaped unless it is already {@link SafeHtml}.
 * Arrays are joined; null, undefined and false render as nothing.
 */
export function html(literals: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let markup = literals[0];
  for (let index = 0; index < values.length; index++) markup += htmlFragment(values[index]) + literals[index + 1];
  return new SafeHtml(markup);
}

function htmlFragment(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.markup;
  if (Array.isArray(value)) return value.map(htmlFragment).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/**
 * Untrusted text inside a Markdown paragraph, table cell or heading: one line,
 * nothing interpreted. Backslash-escaped (CommonMark lets a backslash make any
 * ASCII punctuation literal): code, emphasis, links and images (`[`, `]`),
 * raw HTML and entities (`<`, `>`, `&`), table cells (`|`), strikethrough
 * (`~`), math (`$`); `:` before a non-space (URL schemes, emoji codes) and
 * `www.` (GitHub autolinks); a list, heading or rule marker at the start.
 * `@` goes in a code span: GitHub links mentions in text, even escaped ones,
 * but not in code.
 */
export function markdownText(text: string): string {
  const escaped = printable(oneLine(text))
    .replace(/[\\`*_[\]<>&|~$]/g, '\\$&')
    .replace(/:(?=\S)/g, '\\:')
    .replace(/(www)\./gi, '$1\\.')
    .replace(/@/g, '`@`');
  return escaped.replace(/^(\s*)([-+=#])/, '$1\\$2').replace(/^(\s*\d+)([.)])/, '$1\\$2');
}

/**
 * Untrusted text as an inline code span. The fence is one backtick longer than
 * the longest backtick run inside, so the content cannot close the span early;
 * content that starts or ends with a backtick, or with spaces on both ends, is
 * padded with one space each side, which CommonMark strips again. Line
 * breaks become a visible `\n`. In a table cell (`inTable`), pipes are
 * escaped: GitHub splits cells before it reads code.
 */
export function markdownCode(text: string, options: { inTable?: boolean } = {}): string {
  let content = printable(text.replace(/\r\n|\r|\n/g, '\\n'));
  if (options.inTable) content = content.replace(/\|/g, '\\|');
  const fence = '`'.repeat(longestRun(content, '`') + 1);
  if (content === '') return '` `';
  const pad = /^`|`$/.test(content) || (content.startsWith(' ') && content.endsWith(' ') && content.trim() !== '') ? ' ' : '';
  return `${fence}${pad}${content}${pad}${fence}`;
}

/**
 * Untrusted text as a fenced code block, with a fence of backticks longer than
 * any backtick run in the text (at least three), so no line inside can close it.
 */
export function markdownFence(text: string, info = 'text'): string {
  const content = printable(text.replace(/\r\n?/g, '\n'));
  const fence = '`'.repeat(Math.max(3, longestRun(content, '`') + 1));
  return `${fence}${info}\n${content}\n${fence}`;
}

function longestRun(text: string, char: string): number {
  let longest = 0;
  let current = 0;
  for (const each of text) {
    current = each === char ? current + 1 : 0;
    if (current > longest) longest = current;
  }
  return longest;
}

function oneLine(text: string): string {
  return text.replace(/\r\n|\r|\n/g, ' ');
}

/** Replace lone surrogates with U+FFFD, so the text can be URI-encoded or written as UTF-8. */
export function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/**
 * A file path as a URI reference: each segment percent-encoded (so `:`, `#`,
 * `?`, spaces and non-ASCII survive), relative paths stay relative, absolute
 * POSIX and Windows paths become `file:` URIs.
 */
export function pathToUri(path: string): string {
  const clean = wellFormed(path);
  const encodeSegments = (value: string) => value.split('/').map(encodeURIComponent).join('/');
  const windowsDrive = /^([A-Za-z]):[\\/]/.exec(clean);
  if (windowsDrive) return `file:///${windowsDrive[1]}:/${encodeSegments(clean.slice(3).replace(/\\/g, '/'))}`;
  if (clean.startsWith('/')) return `file://${encodeSegments(clean)}`;
  return encodeSegments(clean);
}
