/**
 * Which weight files a loader opens, and whether the sharded-checkpoint
 * index agrees with the shards present.
 *
 * The choice follows transformers' from_pretrained on a local folder with
 * default arguments (modeling_utils.py, `_get_resolved_checkpoint_files`):
 * `model.safetensors`, else `model.safetensors.index.json` and its shards,
 * else `pytorch_model.bin`, else `pytorch_model.bin.index.json` and its
 * shards; TF and Flax weights only with from_tf / from_flax. diffusers
 * (`diffusion_pytorch_model.*`) and PEFT adapters (`adapter_model.*`) use the
 * same preference with their own names.
 */
import { type RuleId, createFinding } from '../rules/index.ts';
import type { FileReport, Finding } from '../report/types.ts';
import { escapesFolder } from '../formats/weight-index.ts';
import { type ModelFiles, counted, joinPath, listNames, relativeTo, weightMapOf } from './model-files.ts';
import { basenameOf, dirnameOf } from './text-file.ts';

/** Findings of one rule per model (CWE-770). */
export const MAX_FINDINGS_PER_RULE = 50;
/** Tensor names compared across an index and its shards per model; beyond, the comparison stops (CWE-400). */
export const MAX_COMPARED_TENSORS = 2_000_000;

/** One library's weight names, safetensors first. */
interface WeightLayout {
  safetensors: string;
  pickle: string;
}

const WEIGHT_LAYOUTS: readonly WeightLayout[] = [
  { safetensors: 'model.safetensors', pickle: 'pytorch_model.bin' },
  { safetensors: 'diffusion_pytorch_model.safetensors', pickle: 'diffusion_pytorch_model.bin' },
  { safetensors: 'adapter_model.safetensors', pickle: 'adapter_model.bin' },
];

/** Weight files the default loader does not read (other frameworks), named in the "no weights" finding. */
const OTHER_FRAMEWORK_WEIGHTS = /^(tf_model\.h5|model\.ckpt\.index|flax_model\.msgpack)$|^(tf_model|flax_model)-\d+-of-\d+\.(h5|msgpack)$/;

/** Formats whose tensor table lists tensor names a shard can be compared with. */
const TENSOR_TABLE_FORMATS = new Set(['safetensors', 'pytorch-zip', 'pytorch-legacy']);

const POINTER_FORMAT = 'git-lfs-pointer';

export interface WeightChoice {
  /** Report paths the loader opens for weights, index first. */
  reads: string[];
  findings: Finding[];
}

/** The weights the loader reads, and the pickle fallbacks next to safetensors weights. */
export function chooseWeights(model: ModelFiles): WeightChoice {
  const findings: Finding[] = [];
  const path = (name: string) => joinPath(model.root, name);
  const has = (name: string) => model.byPath.has(path(name));
  for (const layout of WEIGHT_LAYOUTS) {
    const candidates = [layout.safetensors, `${layout.safetensors}.index.json`, layout.pickle, `${layout.pickle}.index.json`];
    const chosen = candidates.find(has);
    if (chosen === undefined) continue;
    const reads = chosen.endsWith('.index.json') ? [path(chosen), ...existingShards(model, path(chosen))] : [path(chosen)];
    if (chosen.startsWith(layout.safetensors)) {
      const pickles = [layout.pickle, `${layout.pickle}.index.json`].filter(has);
      for (const pickle of pickles) {
        const report = model.byPath.get(path(pickle));
        const verdict = report ? ` (verdict of its own: ${report.verdict})` : '';
        findings.push(
          createFinding('hf.weights.pickle-fallback', {
            detail: `${chosen} is read by default, but ${pickle}${verdict} is read instead with use_safetensors=False, by older library versions and by tools that look for the PyTorch name`,
            location: { entry: pickle },
          }),
        );
      }
    }
    const pointers = reads.filter((read) => model.byPath.get(read)?.format === POINTER_FORMAT);
    if (pointers.length > 0) {
      findings.push(
        createFinding('hf.weights.not-downloaded', {
          detail: `${pointers.length} of the ${counted(reads.length, 'weight file')} the loader opens ${pointers.length === 1 ? 'is a Git LFS pointer' : 'are Git LFS pointers'}: ${listNames(pointers.map((read) => relativeTo(model.root, read)))}`,
          location: { entry: relativeTo(model.root, pointers[0]) },
        }),
      );
    }
    return { reads, findings };
  }
  if (has('config.json')) {
    const others = model.list.filter((file) => OTHER_FRAMEWORK_WEIGHTS.test(basenameOf(file.path))).map((file) => relativeTo(model.root, file.path));
    findings.push(
      createFinding('hf.weights.not-found', {
        detail:
          others.length > 0
            ? `no safetensors or PyTorch weights; only ${listNames(others)}, which from_pretrained reads with from_tf/from_flax`
            : 'no model.safetensors, pytorch_model.bin or index of either next to config.json',
        location: { entry: 'config.json' },
      }),
    );
  }
  return { reads: [], findings };
}

/** The shards an index names that exist in the folder, in map order. */
function existingShards(model: ModelFiles, indexPath: string): string[] {
  const index = model.byPath.get(indexPath);
  if (!index) return [];
  const dir = dirnameOf(indexPath);
  return weightMapOf(index)
    .filter((entry) => !escapesFolder(entry.shard))
    .map((entry) => joinPath(dir, entry.shard))
    .filter((shard) => model.byPath.has(shard));
}

/** Every weight index in the folder against the shards present: missing, mismatched, unlisted, duplicated. */
export function checkWeightIndexes(model: ModelFiles): Finding[] {
  const findings: Finding[] = [];
  const counts = new Map<RuleId, number>();
  const add = (rule: RuleId, detail: string, entry: string) => {
    const count = (counts.get(rule) ?? 0) + 1;
    counts.set(rule, count);
    if (count <= MAX_FINDINGS_PER_RULE) findings.push(createFinding(rule, { detail, location: { entry } }));
  };
  let budget = MAX_COMPARED_TENSORS;
  for (const index of model.list.filter((file) => file.format === 'hf-weight-index')) {
    const indexName = relativeTo(model.root, index.path);
    const dir = dirnameOf(index.path);
    const map = weightMapOf(index).filter((entry) => !escapesFolder(entry.shard));
    const listed = new Set(map.map((entry) => joinPath(dir, entry.shard)));
    const holders = new Map<string, string[]>();
    for (const entry of map) {
      const shardPath = joinPath(dir, entry.shard);
      const shardName = relativeTo(model.root, shardPath);
      const shard = model.byPath.get(shardPath);
      if (!shard) {
        add('hf.index.missing-shard', `${indexName} maps ${counted(entry.tensors.length, 'tensor')} to ${JSON.stringify(shardName)}, which is not in the folder (first: ${listNames(entry.tensors, 3)})`, shardName);
        continue;
      }
      if (!TENSOR_TABLE_FORMATS.has(shard.format)) continue;
      budget -= entry.tensors.length + shard.tensors.length;
      if (budget < 0) continue;
      const held = new Set(shard.tensors.map((tensor) => tensor.name));
      const mapped = new Set(entry.tensors);
      const absent = entry.tensors.filter((name) => !held.has(name));
      if (absent.length > 0) {
        add('hf.index.tensor-not-in-shard', `${indexName} maps ${counted(absent.length, 'tensor')} to ${JSON.stringify(shardName)} that its tensor table does not hold: ${listNames(absent)}`, shardName);
      }
      const unmapped = [...held].filter((name) => !mapped.has(name));
      if (unmapped.length > 0) {
        add('hf.index.unmapped-tensor', `${JSON.stringify(shardName)} holds ${counted(unmapped.length, 'tensor')} that ${indexName} does not map to it: ${listNames(unmapped)}`, shardName);
      }
      for (const name of held) {
        const list = holders.get(name);
        if (list) list.push(shardName);
        else holders.set(name, [shardName]);
      }
    }
    const duplicated = [...holders].filter(([, shards]) => shards.length > 1);
    if (duplicated.length > 0) {
      const [firstName, firstShards] = duplicated[0];
      add(
        'hf.index.duplicate-tensor',
        `${counted(duplicated.length, 'tensor')} of ${indexName} ${duplicated.length === 1 ? 'is' : 'are'} stored in more than one shard: ${listNames(duplicated.map(([name]) => name))}; ${JSON.stringify(firstName)} is in ${listNames(firstShards)}`,
        firstShards[0],
      );
    }
    const shardPattern = shardNamePattern(basenameOf(index.path));
    if (shardPattern) {
      for (const file of model.list) {
        if (dirnameOf(file.path) === dir && shardPattern.test(basenameOf(file.path)) && !listed.has(file.path)) {
          const name = relativeTo(model.root, file.path);
          add('hf.index.unlisted-shard', `${JSON.stringify(name)} is named like a shard of ${indexName} but the index does not list it`, name);
        }
      }
    }
  }
  if (budget < 0) {
    findings.push(
      createFinding('folder.limits.tensors', {
        detail: `the indexes and shards hold more than ${MAX_COMPARED_TENSORS} tensor names; the rest were not compared`,
      }),
    );
  }
  for (const [rule, count] of counts) {
    if (count > MAX_FINDINGS_PER_RULE) {
      findings.push(createFinding('folder.findings-truncated', { detail: `${count - MAX_FINDINGS_PER_RULE} more findings of ${rule} were not listed (limit ${MAX_FINDINGS_PER_RULE})` }));
    }
  }
  return findings;
}

/** `model.safetensors.index.json` → /^model-\d+-of-\d+\.safetensors$/: the names save_pretrained gives shards. */
function shardNamePattern(indexName: string): RegExp | null {
  const match = /^(.+?)(\.[A-Za-z0-9]+)\.index\.json$/.exec(indexName);
  if (!match) return null;
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escape(match[1])}-\\d+-of-\\d+${escape(match[2])}$`);
}

/** Names save_pretrained (and the libraries that copy it) gives weights and their indexes. */
export const WEIGHT_NAME =
  /^(model|pytorch_model|tf_model|flax_model|adapter_model|diffusion_pytorch_model)(-\d+-of-\d+)?\.(safetensors|bin|h5|msgpack)(\.index\.json)?$/;
