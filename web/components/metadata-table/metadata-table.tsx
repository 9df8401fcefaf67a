import { memo } from 'preact/compat';
import { useState } from 'preact/hooks';
import type { MetadataValue as Value } from '../../../src/report/types.ts';
import { MetadataValue } from '../metadata-value/metadata-value.tsx';
import { VisibleText } from '../visible-text/visible-text.tsx';

/** Keys rendered per step: a header can hold many thousands, and each value is a block of text. */
const PAGE_SIZE = 200;

export const MetadataTable = memo(function MetadataTable({ metadata }: { metadata: Record<string, Value> }) {
  const keys = Object.keys(metadata);
  const [shown, setShown] = useState(PAGE_SIZE);
  return (
    <>
      <table class="metadata-table" data-testid="metadata-table">
        <caption class="visually-hidden">Metadata keys and values</caption>
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Value</th>
          </tr>
        </thead>
        <tbody>
          {keys.slice(0, shown).map((key) => (
            <tr key={key} data-testid="metadata-row">
              <th scope="row" class="metadata-table__key">
                <VisibleText text={key} />
              </th>
              <td class="metadata-table__value">
                <MetadataValue value={metadata[key]} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown < keys.length ? (
        <button type="button" class="button button--quiet" onClick={() => setShown(shown + PAGE_SIZE)}>
          Show {Math.min(PAGE_SIZE, keys.length - shown)} more of {keys.length - shown} remaining keys
        </button>
      ) : null}
    </>
  );
});
