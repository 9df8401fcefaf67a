import { useEffect, useState } from 'preact/hooks';
import type { ProvenanceReport } from '../../../src/provenance/index.ts';
import type { PickedFile } from '../../lib/dropped-files.ts';
import { describeProvenanceCounts } from '../../lib/provenance.ts';
import { ExpectationsInput } from '../expectations-input/expectations-input.tsx';
import { ProvenancePanel } from '../provenance-panel/provenance-panel.tsx';

interface ExpectationsProps {
  /** The comparison of the sources given so far with the files; null before any source is given. */
  provenance: ProvenanceReport | null;
  onPaste(text: string): void;
  onFiles(files: PickedFile[]): void;
  onRemove(index: number): void;
}

/** Expected hashes: a quiet, collapsed section until a source is given, then the comparison. */
export function Expectations({ provenance, onPaste, onFiles, onRemove }: ExpectationsProps) {
  const sourceCount = provenance?.sources.length ?? 0;
  const [open, setOpen] = useState(false);
  useEffect(() => {
    if (sourceCount > 0) setOpen(true);
  }, [sourceCount]);

  return (
    <details
      class="expectations"
      open={open}
      onToggle={(event) => setOpen((event.currentTarget as HTMLDetailsElement).open)}
      data-testid="expectations"
    >
      <summary class="expectations__summary" data-testid="expectations-summary">
        <span class="expectations__title">Expected hashes</span>
        <span class="section__aside">
          {provenance ? describeProvenanceCounts(provenance.counts) : 'optional: compare the files with a SHA-256, SHA256SUMS, LFS pointers or model.sig'}
        </span>
      </summary>
      <div class="expectations__body">
        <ExpectationsInput onPaste={onPaste} onFiles={onFiles} />
        {provenance ? <ProvenancePanel provenance={provenance} onRemove={onRemove} /> : null}
      </div>
    </details>
  );
}
