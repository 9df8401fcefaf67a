import type { FormatModule } from './types.ts';

/** Placeholder until the safetensors inspector lands: matches nothing. */
export const safetensorsFormat: FormatModule = {
  id: 'safetensors',
  label: 'safetensors',
  extensions: [],
  detect: () => false,
  inspect: async () => ({ tensors: [], metadata: {}, findings: [] }),
};
