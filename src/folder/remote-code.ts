/**
 * Which Python files of a model folder run with trust_remote_code=True:
 * the modules auto_map (and custom_pipelines) name in any config, and,
 * recursively, the modules those import relatively — transformers copies
 * exactly that set (dynamic_module_utils.py, `get_relative_import_files`)
 * and imports it. Missing ones are flagged; the other `.py` files are listed
 * as not referenced (they were scanned all the same).
 */
import type { FileReport, Finding } from '../report/types.ts';
import { createFinding } from '../rules/index.ts';
import { type ModelFiles, counted, joinPath, listNames, metadataList, relativeTo, remoteCodeOf } from './model-files.ts';
import { dirnameOf } from './text-file.ts';

/** Module files followed per model; real repositories ship a handful (CWE-400). */
export const MAX_REMOTE_MODULES = 1_000;
/** Findings of one rule per model (CWE-770). */
export const MAX_FINDINGS_PER_RULE = 50;

interface Wanted {
  path: string;
  /** Who asks for it: `config.json auto_map AutoModel`, `relative import in modeling_x.py`. */
  by: string;
}

export function checkRemoteCode(model: ModelFiles): Finding[] {
  const findings: Finding[] = [];
  const queue: Wanted[] = [];
  for (const config of model.list.filter((file) => file.format === 'hf-config')) {
    const configName = relativeTo(model.root, config.path);
    for (const reference of remoteCodeOf(config)) {
      if (reference.file === null || reference.repo !== null) continue;
      queue.push({ path: joinPath(dirnameOf(config.path), reference.file), by: `${configName} auto_map ${reference.auto}` });
    }
  }
  const running = new Map<string, FileReport>();
  const missing = new Map<string, string[]>();
  const visited = new Set<string>();
  for (let next = queue.shift(); next && visited.size < MAX_REMOTE_MODULES; next = queue.shift()) {
    const file = model.byPath.get(next.path) ?? model.byPath.get(next.path.replace(/\.py$/, '/__init__.py'));
    if (!file) {
      const askers = missing.get(next.path) ?? [];
      if (askers.length === 0) missing.set(next.path, askers);
      if (!askers.includes(next.by)) askers.push(next.by);
      continue;
    }
    if (visited.has(file.path)) continue;
    visited.add(file.path);
    running.set(file.path, file);
    const name = relativeTo(model.root, file.path);
    for (const module of metadataList(file, 'relativeImports')) {
      queue.push({ path: joinPath(dirnameOf(file.path), `${module}.py`), by: `relative import in ${name}` });
    }
  }

  for (const [path, askers] of [...missing].slice(0, MAX_FINDINGS_PER_RULE)) {
    const name = relativeTo(model.root, path);
    findings.push(
      createFinding('hf.remote-code.missing', {
        detail: `${JSON.stringify(name)} is not in the folder; it is named by ${askers.slice(0, 5).join('; ')}`,
        location: { entry: name },
      }),
    );
  }
  if (running.size > 0) {
    const described = [...running.values()].map((file) => {
      const flagged = file.findings.filter((finding) => finding.severity !== 'info').length;
      return `${relativeTo(model.root, file.path)} (${file.verdict}${flagged > 0 ? `, ${counted(flagged, 'finding')}` : ''})`;
    });
    findings.push(
      createFinding('hf.remote-code.files', {
        detail: `with trust_remote_code=True these files run: ${described.slice(0, 20).join(', ')}${described.length > 20 ? ` and ${described.length - 20} more` : ''}`,
        location: { entry: relativeTo(model.root, [...running.keys()][0]) },
      }),
    );
  }
  const unreferenced = model.list.filter((file) => file.format === 'python-source' && !running.has(file.path));
  for (const file of unreferenced.slice(0, MAX_FINDINGS_PER_RULE)) {
    const name = relativeTo(model.root, file.path);
    findings.push(
      createFinding('python.unreferenced', {
        detail: `${JSON.stringify(name)} (${file.verdict}) is not named by auto_map nor imported by a module it names`,
        location: { entry: name },
      }),
    );
  }
  if (unreferenced.length > MAX_FINDINGS_PER_RULE) {
    const rest = unreferenced.slice(MAX_FINDINGS_PER_RULE).map((file) => relativeTo(model.root, file.path));
    findings.push(createFinding('folder.findings-truncated', { detail: `${rest.length} more unreferenced Python files: ${listNames(rest)}` }));
  }
  return findings;
}
