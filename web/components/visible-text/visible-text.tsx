import { hasHiddenCharacters, splitHiddenCharacters } from '../../lib/visible-text.ts';

interface VisibleTextProps {
  text: string;
}

/**
 * Untrusted text, rendered as text, with invisible and direction-changing
 * characters shown as their code point (`⟨U+202E⟩`) so nothing hides in it.
 */
export function VisibleText({ text }: VisibleTextProps) {
  if (!hasHiddenCharacters(text)) return <>{text}</>;
  return (
    <>
      {splitHiddenCharacters(text).map((segment, index) =>
        segment.hidden ? (
          <span key={index} class="hidden-char" title={`Invisible or direction-changing character ${segment.codePoint}`}>
            {segment.codePoint}
          </span>
        ) : (
          segment.text
        ),
      )}
    </>
  );
}
