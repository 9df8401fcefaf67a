import { memo } from 'preact/compat';
import { useMemo, useState } from 'preact/hooks';
import { parameterCount } from '../../../src/report/report.ts';
import type { TensorInfo } from '../../../src/report/types.ts';
import { formatBytes, formatCount, formatHex, formatInteger, formatShape } from '../../lib/format.ts';
import { VisibleText } from '../visible-text/visible-text.tsx';
import { filterTensors } from './filter-tensors.ts';
import { useVirtualRows } from './use-virtual-rows.ts';

/** Must match `.tensor-table__row` height in styles.css: the window maths relies on it. */
export const TENSOR_ROW_HEIGHT_PX = 28;

const COLUMNS = ['Name', 'dtype', 'Shape', 'Parameters', 'Size', 'Byte range'] as const;

/** Every tensor of a file, virtualised (only visible rows are in the DOM), with a filter box. */
export const TensorTable = memo(function TensorTable({ tensors }: { tensors: readonly TensorInfo[] }) {
  const [query, setQuery] = useState('');
  const rows = useMemo(() => filterTensors(tensors, query), [tensors, query]);
  const windowed = useVirtualRows<HTMLDivElement>(rows.length, TENSOR_ROW_HEIGHT_PX);

  const onFilter = (event: Event) => {
    setQuery((event.currentTarget as HTMLInputElement).value);
    windowed.scrollToTop();
  };

  return (
    <div class="tensor-table" data-testid="tensor-table">
      <div class="tensor-table__tools">
        <label class="filter">
          <span class="visually-hidden">Filter tensors</span>
          <input
            type="search"
            name="tensor-filter"
            class="filter__input"
            placeholder="Filter by name, dtype or shape"
            value={query}
            onInput={onFilter}
            data-testid="tensor-filter"
            spellcheck={false}
            autocomplete="off"
          />
        </label>
        <span class="muted" data-testid="tensor-match-count" aria-live="polite">
          {rows.length === tensors.length
            ? formatCount(tensors.length, 'tensor')
            : `${formatInteger(rows.length)} of ${formatInteger(tensors.length)} tensors`}
        </span>
      </div>
      <div
        class="tensor-table__viewport"
        ref={windowed.viewportRef}
        onScroll={windowed.onScroll}
        role="table"
        aria-label="Tensors"
        aria-rowcount={rows.length + 1}
        tabIndex={0}
      >
        <div class="tensor-table__row tensor-table__row--head" role="row" aria-rowindex={1}>
          {COLUMNS.map((column) => (
            <span key={column} role="columnheader" class={isNumeric(column) ? 'numeric' : undefined}>
              {column}
            </span>
          ))}
        </div>
        <div class="tensor-table__sizer" role="presentation" style={{ height: `${windowed.totalHeight}px` }}>
          <div role="rowgroup" class="tensor-table__window" style={{ transform: `translateY(${windowed.offsetTop}px)` }}>
            {rows.slice(windowed.first, windowed.last).map((tensor, index) => (
              <TensorRow key={windowed.first + index} tensor={tensor} rowIndex={windowed.first + index + 2} />
            ))}
          </div>
        </div>
        {rows.length === 0 ? <p class="tensor-table__empty muted">No tensor matches “{query}”.</p> : null}
      </div>
    </div>
  );
});

function TensorRow({ tensor, rowIndex }: { tensor: TensorInfo; rowIndex: number }) {
  const end = tensor.offset + tensor.length;
  return (
    <div class="tensor-table__row" role="row" aria-rowindex={rowIndex} data-testid="tensor-row">
      <span role="cell" class="tensor-table__name" title={tensor.name} data-testid="tensor-name">
        <VisibleText text={tensor.name} />
      </span>
      <span role="cell" data-testid="tensor-dtype">
        {tensor.dtype}
      </span>
      <span role="cell" data-testid="tensor-shape">
        {formatShape(tensor.shape)}
      </span>
      <span role="cell" class="numeric">
        {formatInteger(parameterCount(tensor.shape))}
      </span>
      <span role="cell" class="numeric" title={`${formatInteger(tensor.length)} bytes`}>
        {formatBytes(tensor.length)}
      </span>
      <span role="cell" class="tensor-table__range" title={`bytes ${formatInteger(tensor.offset)} to ${formatInteger(end)}`}>
        {formatHex(tensor.offset)}–{formatHex(end)}
      </span>
    </div>
  );
}

function isNumeric(column: (typeof COLUMNS)[number]): boolean {
  return column === 'Parameters' || column === 'Size';
}
