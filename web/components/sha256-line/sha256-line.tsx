import { useEffect, useRef, useState } from 'preact/hooks';
import { copyText, type CopyOutcome } from '../../lib/clipboard.ts';

const FEEDBACK_MS = 2500;

const FEEDBACK: Record<CopyOutcome, string> = {
  copied: 'Copied',
  selected: 'Selected: press Ctrl+C (⌘C) to copy',
};

/** The file's SHA-256, selectable as one word, with a Copy button. */
export function Sha256Line({ sha256 }: { sha256: string }) {
  const codeRef = useRef<HTMLElement>(null);
  const [feedback, setFeedback] = useState<CopyOutcome | null>(null);

  useEffect(() => {
    if (!feedback) return;
    const timer = setTimeout(() => setFeedback(null), FEEDBACK_MS);
    return () => clearTimeout(timer);
  }, [feedback]);

  return (
    <div class="hash">
      <span class="hash__label">SHA-256</span>
      <code class="hash__value" ref={codeRef} data-testid="sha256">
        {sha256}
      </code>
      <button
        type="button"
        class="button button--small"
        data-testid="copy-sha256"
        onClick={async () => setFeedback(await copyText(sha256, codeRef.current))}
      >
        Copy
      </button>
      <span class="hash__feedback" role="status">
        {feedback ? FEEDBACK[feedback] : ''}
      </span>
    </div>
  );
}
