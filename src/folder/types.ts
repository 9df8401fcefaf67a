import type { Finding, Verdict } from '../report/types.ts';

/**
 * One model as a loader sees it: a folder of files laid out the Hugging Face
 * way (config, weights, tokenizer, code), or a single file on its own.
 * Plain JSON, like the rest of the Report.
 */
export interface ModelSummary {
  /** The model folder as written in the report paths ('' for files at the top of a dropped folder), or the file path of a lone file. */
  root: string;
  /** Report paths of the files that belong to this model, in report order. */
  files: string[];
  /** The worst of the files' verdicts and of the folder findings. */
  verdict: Verdict;
  /** Format ids present (`safetensors`, `pytorch-zip`, `hf-config` …), in first-seen order. */
  formats: string[];
  /** Parameters of the weights the loader reads (of every tensor when it reads none). */
  parameters: number;
  /** Bytes of all the files. */
  size: number;
  /** Report paths of the files from_pretrained would open, in the order it opens them: config, then weights (index first). */
  loaderReads: string[];
  /** What only shows across files: index and shard disagreements, pickle fallbacks, remote code, limits. */
  findings: Finding[];
}
