import type { FormatModule } from './types.ts';

/** Placeholder until the gguf inspector lands: matches nothing. */
export const ggufFormat: FormatModule = {
  id: 'gguf',
  label: 'gguf',
  extensions: [],
  detect: () => false,
  inspect: async () => ({ tensors: [], metadata: {}, findings: [] }),
};
