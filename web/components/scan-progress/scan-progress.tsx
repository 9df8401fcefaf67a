import type { ScanProgress as Progress } from '../../../src/scan.ts';
import { formatBytes, formatDuration, formatThroughput } from '../../lib/format.ts';

interface ScanProgressProps {
  progress: Progress;
  /** `performance.now()` when the pass began and at the last update. */
  startedAt: number | null;
  updatedAt: number | null;
  onCancel(): void;
}

/** Below this much elapsed time a rate is noise, so none is shown. */
const MIN_ELAPSED_FOR_RATE_MS = 250;

/** The streaming pass: bytes done of total, average throughput, time left, and Cancel. */
export function ScanProgress({ progress, startedAt, updatedAt, onCancel }: ScanProgressProps) {
  const { bytesDone, bytesTotal } = progress;
  const elapsedMs = startedAt !== null && updatedAt !== null ? updatedAt - startedAt : 0;
  const rate = elapsedMs >= MIN_ELAPSED_FOR_RATE_MS ? bytesDone / (elapsedMs / 1000) : null;
  const share = bytesTotal > 0 ? Math.floor((bytesDone / bytesTotal) * 100) : 100;
  return (
    <div class="progress" data-testid="scan-progress">
      <progress class="progress__bar" max={Math.max(1, bytesTotal)} value={bytesDone} aria-label="Hashing and deep scan" />
      <div class="progress__line">
        <span data-testid="progress-bytes">
          {formatBytes(bytesDone)} of {formatBytes(bytesTotal)} ({share}%)
        </span>
        {rate !== null && rate > 0 ? (
          <>
            <span data-testid="progress-rate">{formatThroughput(rate)}</span>
            <span data-testid="progress-eta">about {formatDuration((bytesTotal - bytesDone) / rate)} left</span>
          </>
        ) : null}
        <button type="button" class="button button--small" onClick={onCancel} data-testid="cancel-scan">
          Cancel
        </button>
      </div>
    </div>
  );
}
