export type CopyOutcome = 'copied' | 'selected';

/**
 * Copy `text`; where the Clipboard API is missing or refused (permissions,
 * insecure context), select `element`'s text so the person can copy it by hand.
 */
export async function copyText(text: string, element: HTMLElement | null): Promise<CopyOutcome> {
  try {
    if (!navigator.clipboard) throw new Error('Clipboard API unavailable');
    await navigator.clipboard.writeText(text);
    return 'copied';
  } catch {
    if (element) selectContents(element);
    return 'selected';
  }
}

function selectContents(element: HTMLElement): void {
  const selection = window.getSelection();
  if (!selection) return;
  const range = document.createRange();
  range.selectNodeContents(element);
  selection.removeAllRanges();
  selection.addRange(range);
}
