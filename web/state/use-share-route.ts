import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { SHARE_FRAGMENT_PREFIX, decodeShareFragment, type DecodedShare } from '../../src/share/share-link.ts';

export type ShareRoute = { kind: 'none' } | { kind: 'shared'; share: DecodedShare } | { kind: 'error'; message: string };

export interface ShareRouteController {
  route: ShareRoute;
  /** Leave the shared report: the fragment is removed from the address, and the scanner shows. */
  leave(): void;
}

/** True when a location fragment holds a shared report (`#report=…`). */
export function isShareFragment(hash: string): boolean {
  return hash.startsWith(`#${SHARE_FRAGMENT_PREFIX}`);
}

/** The page address with `fragment` as its fragment: what "Copy share link" copies. */
export function shareUrlOf(fragment: string, href = location.href): string {
  const hashAt = href.indexOf('#');
  return `${hashAt < 0 ? href : href.slice(0, hashAt)}#${fragment}`;
}

/** Follows the address fragment: a `#report=` fragment opens the shared report (or its error), anything else the scanner. */
export function useShareRoute(): ShareRouteController {
  const [hash, setHash] = useState(() => location.hash);

  useEffect(() => {
    const onHashChange = () => setHash(location.hash);
    window.addEventListener('hashchange', onHashChange);
    return () => window.removeEventListener('hashchange', onHashChange);
  }, []);

  const route = useMemo((): ShareRoute => {
    if (!isShareFragment(hash)) return { kind: 'none' };
    const decoded = decodeShareFragment(hash);
    return 'error' in decoded ? { kind: 'error', message: decoded.error } : { kind: 'shared', share: decoded };
  }, [hash]);

  const leave = useCallback(() => {
    history.replaceState(null, '', shareUrlOf('', location.href).replace(/#$/, ''));
    setHash('');
  }, []);

  return { route, leave };
}
