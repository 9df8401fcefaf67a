/**
 * Save `data` as a JSON file through an object URL: the bytes go from memory
 * to disk without any request leaving the page.
 */
export function downloadJson(data: unknown, fileName: string): void {
  const blob = new Blob([`${JSON.stringify(data, null, 2)}\n`], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.rel = 'noopener';
  document.body.append(link);
  link.click();
  link.remove();
  // Revoking at once can cancel the download in some browsers; a later tick is enough.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** `preflight-report-2025-11-25T21-53-00Z.json`: sortable and safe on every file system. */
export function reportFileName(createdAt: Date): string {
  const stamp = createdAt.toISOString().replace(/\.\d+Z$/, 'Z').replaceAll(':', '-');
  return `preflight-report-${stamp}.json`;
}
