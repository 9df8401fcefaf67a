import { useScans } from '../../state/use-scans.ts';
import { DropZone } from '../drop-zone/drop-zone.tsx';
import { FileCard } from '../file-card/file-card.tsx';
import { ScanToolbar } from '../scan-toolbar/scan-toolbar.tsx';

export function App() {
  const { scans, addFiles, cancel, clear } = useScans();
  return (
    <>
      <header class="masthead">
        <h1 class="masthead__name">Preflight</h1>
        <p class="masthead__tagline">See what a model file holds, and what it would do if loaded, before anyone loads it.</p>
      </header>
      <main class="main">
        <DropZone onFiles={addFiles} compact={scans.length > 0} />
        {scans.length > 0 ? (
          <>
            <ScanToolbar scans={scans} onClear={clear} />
            <section class="cards" aria-label="Scanned files">
              {scans.map((scan) => (
                <FileCard key={scan.id} scan={scan} onCancel={cancel} />
              ))}
            </section>
          </>
        ) : null}
      </main>
      <footer class="footer muted">
        Preflight runs entirely in this page: Web Workers read each file in slices, hash it (SHA-256) and scan it. Nothing is
        sent anywhere.
      </footer>
    </>
  );
}
