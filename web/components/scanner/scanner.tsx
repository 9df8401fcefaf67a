import { useCallback, useMemo } from 'preact/hooks';
import type { PickedFile } from '../../lib/dropped-files.ts';
import { readExpectationFiles, routeDroppedFiles } from '../../lib/expectation-files.ts';
import { liveProvenance } from '../../state/report-files.ts';
import { useExpectations } from '../../state/use-expectations.ts';
import { useScans } from '../../state/use-scans.ts';
import { DropZone } from '../drop-zone/drop-zone.tsx';
import { Expectations } from '../expectations/expectations.tsx';
import { FileCard } from '../file-card/file-card.tsx';
import { ScanToolbar } from '../scan-toolbar/scan-toolbar.tsx';
import { ModelSummaries } from '../model-summaries/model-summaries.tsx';
import { analyzeModelFolders } from '../../../src/folder/analyze.ts';
import { fileReportOf } from '../../state/report-files.ts';

/**
 * The scanner: files come in (expected-hash files are sorted out on the way,
 * see expectation-files.ts), each gets a card, and the comparison with
 * expected hashes follows the scans.
 */
export function Scanner() {
  const { scans, addFiles, cancel, clear } = useScans();
  const expectations = useExpectations();
  const { sets, add } = expectations;

  const onDropped = useCallback(
    async (files: PickedFile[]) => {
      const routed = await routeDroppedFiles(files);
      add(routed.expectations);
      addFiles(routed.scan);
    },
    [add, addFiles],
  );

  const onExpectationFiles = useCallback(async (files: PickedFile[]) => add(await readExpectationFiles(files)), [add]);

  // Progress ticks change `scans` many times a second; the comparison only depends on which files there are and their hashes.
  const comparedKey = scans.map((scan) => `${scan.id}:${scan.status}:${scan.report?.sha256 ?? ''}`).join('|');
  const live = useMemo(() => (sets.length > 0 ? liveProvenance(scans, sets) : null), [comparedKey, sets]);

  // Models are judged once every file has its final report: the folder checks compare finished tensor tables.
  const allEnded = scans.every((scan) => scan.status === 'done' || scan.status === 'cancelled' || scan.status === 'failed');
  const models = useMemo(() => {
    if (!allEnded) return [];
    return analyzeModelFolders(scans.flatMap((scan) => fileReportOf(scan) ?? []));
  }, [comparedKey, allEnded]);

  const clearAll = () => {
    clear();
    expectations.clear();
  };

  return (
    <>
      <DropZone onFiles={onDropped} compact={scans.length > 0} />
      <Expectations provenance={live?.report ?? null} onPaste={expectations.addPasted} onFiles={onExpectationFiles} onRemove={expectations.remove} />
      {scans.length > 0 ? (
        <>
          <ScanToolbar scans={scans} expectations={sets} onClear={clearAll} />
          <ModelSummaries models={models} />
          <section class="cards" aria-label="Scanned files">
            {scans.map((scan) => (
              <FileCard key={scan.id} scan={scan} onCancel={cancel} provenance={live?.byScan.get(scan.id)} />
            ))}
          </section>
        </>
      ) : null}
    </>
  );
}
