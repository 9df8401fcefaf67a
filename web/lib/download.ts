/**
 * Save text as a file through an object URL: the bytes go from memory to
 * disk without any request leaving the page.
 */
export function downloadText(text: string, fileName: string, mediaType: string): void {
  const blob = new Blob([text], { type: mediaType });
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

/** Save `data` as pretty-printed JSON. */
export function downloadJson(data: unknown, fileName: string): void {
  downloadText(`${JSON.stringify(data, null, 2)}\n`, fileName, 'application/json');
}

/** `preflight-report-2025-11-25T21-53-00Z.json`: sortable and safe on every file system. */
export function reportFileName(createdAt: Date, extension = '.json'): string {
  const stamp = createdAt.toISOString().replace(/\.\d+Z$/, 'Z').replaceAll(':', '-');
  return `preflight-report-${stamp}${extension}`;
}
