import { useCallback, useLayoutEffect, useRef, useState } from 'preact/hooks';

/** Rows rendered above and below the visible window, so fast scrolling shows no gaps. */
const OVERSCAN_ROWS = 8;
/** Used until the viewport has been measured (first paint, hidden sections). */
const FALLBACK_VIEWPORT_PX = 480;

export interface VirtualRows<T extends HTMLElement> {
  viewportRef: { current: T | null };
  onScroll(): void;
  /** First and one-past-last row index to render. */
  first: number;
  last: number;
  totalHeight: number;
  /** Distance from the top of the list to row `first`. */
  offsetTop: number;
  scrollToTop(): void;
}

/**
 * Windowing for a list of fixed-height rows: only the rows in view (plus a
 * small margin) are in the DOM, so 10,000 or 1,000,000 rows cost the same.
 */
export function useVirtualRows<T extends HTMLElement>(count: number, rowHeight: number): VirtualRows<T> {
  const viewportRef = useRef<T | null>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewportHeight, setViewportHeight] = useState(FALLBACK_VIEWPORT_PX);

  useLayoutEffect(() => {
    const viewport = viewportRef.current;
    if (!viewport || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => {
      if (viewport.clientHeight > 0) setViewportHeight(viewport.clientHeight);
    });
    observer.observe(viewport);
    return () => observer.disconnect();
  }, []);

  const onScroll = useCallback(() => {
    if (viewportRef.current) setScrollTop(viewportRef.current.scrollTop);
  }, []);

  const scrollToTop = useCallback(() => {
    if (viewportRef.current) viewportRef.current.scrollTop = 0;
    setScrollTop(0);
  }, []);

  const maxTop = Math.max(0, count * rowHeight - viewportHeight);
  const top = Math.min(scrollTop, maxTop);
  const first = Math.max(0, Math.floor(top / rowHeight) - OVERSCAN_ROWS);
  const last = Math.min(count, Math.ceil((top + viewportHeight) / rowHeight) + OVERSCAN_ROWS);
  return { viewportRef, onScroll, first, last, totalHeight: count * rowHeight, offsetTop: first * rowHeight, scrollToTop };
}
