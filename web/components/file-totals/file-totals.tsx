import { memo } from 'preact/compat';
import { useMemo } from 'preact/hooks';
import { fileTotals } from '../../../src/report/report.ts';
import type { TensorInfo } from '../../../src/report/types.ts';
import { formatBytes, formatInteger, formatParameters } from '../../lib/format.ts';

interface FileTotalsProps {
  tensors: readonly TensorInfo[];
  fileSize: number;
}

/** Tensor count, parameters and bytes, overall and per dtype (largest first). */
export const FileTotals = memo(function FileTotals({ tensors, fileSize }: FileTotalsProps) {
  const totals = useMemo(() => fileTotals({ tensors: tensors as TensorInfo[] }), [tensors]);
  const dtypes = Object.keys(totals.bytesByDtype).sort((left, right) => totals.bytesByDtype[right] - totals.bytesByDtype[left]);
  return (
    <div class="totals" data-testid="totals">
      <dl class="stats">
        <Stat label="Tensors" value={formatInteger(totals.tensors)} testId="total-tensors" />
        <Stat label="Parameters" value={formatParameters(totals.parameters)} exact={formatInteger(totals.parameters)} testId="total-parameters" />
        <Stat label="Tensor data" value={formatBytes(totals.bytes)} exact={`${formatInteger(totals.bytes)} bytes`} testId="total-bytes" />
        <Stat
          label="Outside tensors"
          value={formatBytes(Math.max(0, fileSize - totals.bytes))}
          exact={`${formatInteger(Math.max(0, fileSize - totals.bytes))} bytes of headers, padding or other data`}
        />
      </dl>
      {dtypes.length > 0 ? (
        <table class="dtype-table">
          <caption class="visually-hidden">Parameters and bytes per dtype</caption>
          <thead>
            <tr>
              <th scope="col">dtype</th>
              <th scope="col" class="numeric">Parameters</th>
              <th scope="col" class="numeric">Bytes</th>
              <th scope="col" class="numeric">Share</th>
            </tr>
          </thead>
          <tbody>
            {dtypes.map((dtype) => (
              <tr key={dtype}>
                <th scope="row">
                  <code>{dtype}</code>
                </th>
                <td class="numeric" title={formatInteger(totals.parametersByDtype[dtype])}>
                  {formatParameters(totals.parametersByDtype[dtype])}
                </td>
                <td class="numeric" title={`${formatInteger(totals.bytesByDtype[dtype])} bytes`}>
                  {formatBytes(totals.bytesByDtype[dtype])}
                </td>
                <td class="numeric">{percent(totals.bytesByDtype[dtype], totals.bytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
});

function Stat({ label, value, exact, testId }: { label: string; value: string; exact?: string; testId?: string }) {
  return (
    <div class="stat">
      <dt>{label}</dt>
      <dd title={exact} data-testid={testId}>
        {value}
      </dd>
    </div>
  );
}

function percent(part: number, whole: number): string {
  if (whole <= 0) return '–';
  return `${((part / whole) * 100).toFixed(1)}%`;
}
