/**
 * Listed paths and scanned paths rarely agree on where they start: a
 * SHA256SUMS made inside the model folder says `model.safetensors`, the scan
 * says `my-model/model.safetensors` or `/home/me/my-model/model.safetensors`.
 * A listed path therefore matches a scanned path when its components are the
 * last components of the scanned one.
 */

/** Path components, with `\` taken as a separator and empty and `.` components dropped. */
export function pathComponents(path: string): string[] {
  return path.split(/[\\/]/).filter((component) => component !== '' && component !== '.');
}

/** `./a\\b//c` → `a/b/c`: how a listed path is kept in an ExpectedFile. */
export function normaliseListedPath(path: string): string {
  return pathComponents(path).join('/');
}

/** True when `listed`'s components are the trailing components of `scanned`. */
export function isPathSuffix(listed: readonly string[], scanned: readonly string[]): boolean {
  if (listed.length === 0 || listed.length > scanned.length) return false;
  const start = scanned.length - listed.length;
  return listed.every((component, index) => component === scanned[start + index]);
}

/** The last component: a Git LFS pointer stands for the file of its own name, wherever the pointer was kept. */
export function baseName(path: string): string {
  const components = pathComponents(path);
  return components[components.length - 1] ?? '';
}
