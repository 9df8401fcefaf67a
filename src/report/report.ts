import packageJson from '../../package.json' with { type: 'json' };
import { REPORT_SCHEMA_VERSION, type FileReport, type Report } from './types.ts';

export const TOOL = { name: 'preflight', version: packageJson.version } as const;

export function createReport(files: FileReport[], createdAt = new Date()): Report {
  return { schemaVersion: REPORT_SCHEMA_VERSION, tool: { ...TOOL }, createdAt: createdAt.toISOString(), files };
}

/** Parameters of a tensor: the product of its shape (1 for a scalar). */
export function parameterCount(shape: readonly number[]): number {
  return shape.reduce((product, dimension) => product * dimension, 1);
}

export interface FileTotals {
  tensors: number;
  parameters: number;
  bytes: number;
  /** Bytes per dtype, e.g. `{ F16: 123, BF16: 456 }`. */
  bytesByDtype: Record<string, number>;
  parametersByDtype: Record<string, number>;
}

export function fileTotals(file: Pick<FileReport, 'tensors'>): FileTotals {
  const totals: FileTotals = { tensors: file.tensors.length, parameters: 0, bytes: 0, bytesByDtype: {}, parametersByDtype: {} };
  for (const tensor of file.tensors) {
    const parameters = parameterCount(tensor.shape);
    totals.parameters += parameters;
    totals.bytes += tensor.length;
    totals.bytesByDtype[tensor.dtype] = (totals.bytesByDtype[tensor.dtype] ?? 0) + tensor.length;
    totals.parametersByDtype[tensor.dtype] = (totals.parametersByDtype[tensor.dtype] ?? 0) + parameters;
  }
  return totals;
}
