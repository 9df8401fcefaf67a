import { memo } from 'preact/compat';
import type { ModelSummary } from '../../../src/folder/types.ts';
import { formatBytes, formatCount, formatParameters } from '../../lib/format.ts';
import { severityCounts } from '../../lib/findings.ts';
import { FindingList } from '../finding-list/finding-list.tsx';
import { VerdictBadge } from '../verdict-badge/verdict-badge.tsx';
import { VisibleText } from '../visible-text/visible-text.tsx';

/**
 * The files of one model read together, the way a loader reads them: a
 * verdict for the model, what from_pretrained would open, and the findings
 * that only show across files. Shown for folders (models of several files)
 * and for any model with folder findings.
 */
export const ModelSummaries = memo(function ModelSummaries({ models }: { models: readonly ModelSummary[] }) {
  const shown = models.filter((model) => model.files.length > 1 || model.findings.length > 0);
  if (shown.length === 0) return null;
  return (
    <section class="models" aria-label="Models" data-testid="model-summaries">
      {shown.map((model) => (
        <article class={`card card--${model.verdict}`} data-testid="model-summary" data-root={model.root} key={model.root}>
          <header class="card__head">
            <VerdictBadge verdict={model.verdict} final={true} />
            <h2 class="card__path">
              Model <VisibleText text={model.root || '(top folder)'} />
            </h2>
            <p class="card__facts">
              <span>{formatCount(model.files.length, 'file')}</span>
              <span>{formatBytes(model.size)}</span>
              <span>{formatParameters(model.parameters)} parameters read</span>
            </p>
          </header>
          <div class="card__body">
            <p class="models__line">
              Formats: <VisibleText text={model.formats.join(', ')} />
            </p>
            <p class="models__line" data-testid="model-loader-reads">
              A loader reads:{' '}
              {model.loaderReads.length > 0 ? <VisibleText text={model.loaderReads.join(', ')} /> : 'no weights it recognises'}
            </p>
            <p class="models__line">Across files: {model.findings.length > 0 ? severityCounts(model.findings) : 'nothing to report'}</p>
            {model.findings.length > 0 ? <FindingList findings={model.findings} /> : null}
          </div>
        </article>
      ))}
    </section>
  );
});
