import { useEffect, useRef } from 'preact/hooks';
import { MAX_SHARE_FRAGMENT_CHARS } from '../../../src/share/share-link.ts';
import type { CopyOutcome } from '../../lib/clipboard.ts';
import { formatInteger } from '../../lib/format.ts';
import { VisibleText } from '../visible-text/visible-text.tsx';

export interface ShareLinkResult {
  url: string;
  omitted: string[];
  outcome: CopyOutcome;
}

interface ShareLinkBoxProps {
  result: ShareLinkResult;
  onClose(): void;
}

/** The link just made: whether it was copied, the link itself to copy by hand, and what it leaves out. */
export function ShareLinkBox({ result, onClose }: ShareLinkBoxProps) {
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (result.outcome === 'selected') input.current?.select();
  }, [result]);
  return (
    <div class="share-link-box" data-testid="share-link-box" role="status">
      <p class="share-link-box__head">
        <strong>{result.outcome === 'copied' ? 'Share link copied.' : 'Share link ready: press Ctrl+C (⌘C) to copy it.'}</strong>{' '}
        <span class="muted">
          The report is inside the link, after the <code>#</code>, which browsers never send to a server. Anyone with the link can read
          it. {formatInteger(result.url.length)} characters.
        </span>
      </p>
      <label class="visually-hidden" for="share-link">
        Share link
      </label>
      <input
        id="share-link"
        ref={input}
        class="share-link-box__url"
        type="text"
        readOnly
        value={result.url}
        onFocus={(event) => (event.currentTarget as HTMLInputElement).select()}
        data-testid="share-link"
      />
      {result.omitted.length > 0 ? (
        <div data-testid="share-link-omitted">
          <p>
            To keep the link under {formatInteger(MAX_SHARE_FRAGMENT_CHARS)} characters, it leaves out (the downloads have everything):
          </p>
          <ul class="omitted-list">
            {result.omitted.map((sentence, index) => (
              <li key={index}>
                <VisibleText text={sentence} />
              </li>
            ))}
          </ul>
        </div>
      ) : (
        <p class="muted">The link holds the whole report.</p>
      )}
      <button type="button" class="button button--small" onClick={onClose} data-testid="close-share-link">
        Close
      </button>
    </div>
  );
}
