/** Scanning helpers shared by the folder and Hugging Face format tests. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createNodeSha256 } from '../../src/hash/node-sha256.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import { createNodeFileSource } from '../../src/io/node-source.ts';
import type { FileReport } from '../../src/report/types.ts';
import { scanSource } from '../../src/scan.ts';

const encoder = new TextEncoder();

/** Scans `content` under `name` through the whole registry, as the CLI and the UI do. */
export async function scanText(name: string, content: string | Uint8Array): Promise<FileReport> {
  const bytes = typeof content === 'string' ? encoder.encode(content) : content;
  return scanSource(createMemorySource(bytes, name), { createSha256: createNodeSha256 });
}

/** Rule ids of a report's findings, in order. */
export const rulesOf = (report: { findings: { rule: string }[] }) => report.findings.map((finding) => finding.rule);

/**
 * Scans every regular file under `folder` (name order, depth first) with
 * report paths `<label>/<relative path>`, the way the CLI walks a folder.
 */
export async function scanFolder(folder: string, label: string): Promise<FileReport[]> {
  const reports: FileReport[] = [];
  const walk = async (dir: string, prefix: string) => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.isDirectory()) await walk(join(dir, entry.name), `${prefix}/${entry.name}`);
      else if (entry.isFile()) {
        const source = await createNodeFileSource(join(dir, entry.name), `${prefix}/${entry.name}`);
        reports.push(await scanSource(source, { createSha256: createNodeSha256 }));
      }
    }
  };
  await walk(folder, label);
  return reports;
}
