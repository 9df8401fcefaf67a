import { useEffect, useState } from 'preact/hooks';
import { useShareRoute } from '../../state/use-share-route.ts';
import { Scanner } from '../scanner/scanner.tsx';
import { SharedReport, SharedReportError } from '../shared-report/shared-report.tsx';

/**
 * The page: the scanner, or a report opened from a share link (`#report=…`).
 * The scanner starts on first use only (a shared report needs no workers) and
 * then stays mounted while a shared report is shown, so going back to it
 * keeps the files already scanned.
 */
export function App() {
  const { route, leave } = useShareRoute();
  const [scannerStarted, setScannerStarted] = useState(route.kind === 'none');
  useEffect(() => {
    if (route.kind === 'none') setScannerStarted(true);
  }, [route.kind]);

  return (
    <>
      <header class="masthead">
        <h1 class="masthead__name">Preflight</h1>
        <p class="masthead__tagline">See what a model file holds, and what it would do if loaded, before anyone loads it.</p>
      </header>
      <main class="main">
        {route.kind === 'shared' ? <SharedReport share={route.share} onLeave={leave} /> : null}
        {route.kind === 'error' ? <SharedReportError message={route.message} onLeave={leave} /> : null}
        {scannerStarted ? (
          <div class="scanner" hidden={route.kind !== 'none'}>
            <Scanner />
          </div>
        ) : null}
      </main>
      <footer class="footer muted">
        Preflight runs entirely in this page: Web Workers read each file in slices, hash it (SHA-256) and scan it. Nothing is
        sent anywhere.
      </footer>
    </>
  );
}
