/**
 * Characters that render as nothing or reorder what is around them: control
 * characters, zero-width characters and bidirectional overrides ("Trojan
 * Source", CVE-2021-42574). In a name or a template they can make text read
 * differently from what it is, so the UI shows them as visible code points.
 * Tab and newline stay as they are: multi-line values keep their layout.
 */
const HIDDEN_CHARACTERS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u00AD\u061C\u180E\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF\uFFF9-\uFFFB]/g;

export type TextSegment = { text: string; hidden: false } | { text: string; hidden: true; codePoint: string };

/** Split `text` into plain runs and single hidden characters, in order. */
export function splitHiddenCharacters(text: string): TextSegment[] {
  const segments: TextSegment[] = [];
  let last = 0;
  for (const match of text.matchAll(HIDDEN_CHARACTERS)) {
    const index = match.index ?? 0;
    if (index > last) segments.push({ text: text.slice(last, index), hidden: false });
    const codePoint = `U+${match[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
    segments.push({ text: match[0], hidden: true, codePoint });
    last = index + match[0].length;
  }
  if (last < text.length) segments.push({ text: text.slice(last), hidden: false });
  return segments;
}

const ANY_HIDDEN_CHARACTER = new RegExp(HIDDEN_CHARACTERS.source);

export function hasHiddenCharacters(text: string): boolean {
  return ANY_HIDDEN_CHARACTER.test(text);
}
