import type { TensorInfo } from '../../../src/report/types.ts';
import { formatShape } from '../../lib/format.ts';

/** Case-insensitive match on name, dtype or shape, so `bf16`, `layers.3.` and `4096,` all work. */
export function filterTensors(tensors: readonly TensorInfo[], query: string): readonly TensorInfo[] {
  const needle = query.trim().toLowerCase();
  if (!needle) return tensors;
  return tensors.filter(
    (tensor) =>
      tensor.name.toLowerCase().includes(needle) ||
      tensor.dtype.toLowerCase() === needle ||
      formatShape(tensor.shape).includes(needle),
  );
}
