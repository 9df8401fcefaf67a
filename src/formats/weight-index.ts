/**
 * Weight indexes of sharded checkpoints: `model.safetensors.index.json`,
 * `pytorch_model.bin.index.json` (and the TF/Flax twins).
 * Spec (the library is the spec): transformers' modeling_utils.py
 * (`get_checkpoint_shard_files`, `load_sharded_checkpoint`) and
 * huggingface_hub's `split_torch_state_dict_into_shards`: a JSON object
 * `{"metadata": {"total_size": N}, "weight_map": {tensor: shard file}}`.
 *
 * Threat surface: the index decides which files are opened as weights. A
 * shard name that is absolute or climbs out with `..` makes the loader open a
 * file outside the model folder (CWE-22); names that disagree with the shards
 * present make loads fail or pick up weights nobody listed. This module reads
 * the map and keeps it whole in the metadata (bounded), so the folder
 * analysis (src/folder/) can compare it with each shard's tensor table.
 */
import type { ByteSource } from '../io/byte-source.ts';
import type { Finding, MetadataValue } from '../report/types.ts';
import { createFinding } from '../rules/index.ts';
import { basenameOf, byteOffsetOf, isJsonObject, looksLikeText, parsePythonJson, quote, readTextFile, startsWithJsonObject } from '../folder/text-file.ts';
import type { FormatModule, InspectContext, Inspection } from './types.ts';

/** Largest index read: the largest public models' indexes are a few MB; the library parses it whole (CWE-400). */
export const MAX_INDEX_BYTES = 64 * 1024 * 1024;
/** Tensors kept in the metadata map; the largest public checkpoints map about 100,000 (CWE-770). */
export const MAX_INDEX_TENSORS = 500_000;
/** Distinct shard files accepted; real checkpoints have at most a few hundred (CWE-770). */
export const MAX_INDEX_SHARDS = 10_000;
/** Findings of one rule listed (CWE-770). */
export const MAX_FINDINGS_PER_RULE = 50;
/** Characters of a tensor or shard name kept (CWE-770). */
export const MAX_NAME_CHARS = 1024;

const INDEX_SUFFIX = '.index.json';

export const weightIndexFormat: FormatModule = {
  id: 'hf-weight-index',
  label: 'Sharded checkpoint index (JSON)',
  extensions: [INDEX_SUFFIX],
  detect(head: Uint8Array, name: string): boolean {
    return basenameOf(name).toLowerCase().endsWith(INDEX_SUFFIX) && startsWithJsonObject(head) && looksLikeText(head);
  },
  inspect: inspectWeightIndex,
};

/** True for a shard name that leaves the folder it is joined to: absolute, a drive, or a `..` segment. */
export function escapesFolder(name: string): boolean {
  if (name.startsWith('/') || name.startsWith('\\') || /^[A-Za-z]:/.test(name)) return true;
  return name.split(/[\\/]/).some((segment) => segment === '..');
}

async function inspectWeightIndex(source: ByteSource, context: InspectContext): Promise<Inspection> {
  const base = basenameOf(source.name);
  const metadata: Record<string, MetadataValue> = { indexOf: base.slice(0, base.length - INDEX_SUFFIX.length) };
  const findings: Finding[] = [];
  const done = (): Inspection => ({ tensors: [], metadata, findings });
  const invalid = (detail: string) => {
    findings.push(createFinding('hf.index.invalid', { detail, location: { offset: 0, length: source.size } }));
    return done();
  };
  if (source.size > MAX_INDEX_BYTES) return invalid(`index of ${source.size} bytes exceeds ${MAX_INDEX_BYTES}; not parsed`);
  const read = await readTextFile(source, MAX_INDEX_BYTES, context.signal);
  if (read.invalidUtf8At !== null) return invalid(`invalid UTF-8 at offset ${read.invalidUtf8At}`);
  const parsed = parsePythonJson(read.text);
  if (!parsed.ok) return invalid(`not JSON: ${parsed.message}`);
  if (!isJsonObject(parsed.value)) return invalid('the top level is not a JSON object');
  const index = parsed.value;
  const indexMetadata = Object.hasOwn(index, 'metadata') ? index.metadata : undefined;
  if (isJsonObject(indexMetadata) && typeof indexMetadata.total_size === 'number') metadata.totalSize = indexMetadata.total_size;
  const weightMap = Object.hasOwn(index, 'weight_map') ? index.weight_map : undefined;
  if (!isJsonObject(weightMap)) return invalid(weightMap === undefined ? 'no "weight_map" object' : '"weight_map" is not an object');

  const byShard = new Map<string, string[]>();
  let tensors = 0;
  let notStrings = 0;
  let dropped = 0;
  for (const [tensor, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string') {
      notStrings++;
      continue;
    }
    if (tensors >= MAX_INDEX_TENSORS || (!byShard.has(shard) && byShard.size >= MAX_INDEX_SHARDS)) {
      dropped++;
      continue;
    }
    const list = byShard.get(shard) ?? [];
    if (list.length === 0) byShard.set(shard, list);
    list.push(tensor.length > MAX_NAME_CHARS ? tensor.slice(0, MAX_NAME_CHARS) : tensor);
    tensors++;
  }
  metadata.tensorCount = tensors;
  metadata.shardCount = byShard.size;
  metadata.shards = [...byShard.keys()];
  metadata.weightMap = [...byShard].map(([shard, names]) => ({ shard, tensors: names }));
  if (notStrings > 0) {
    findings.push(
      createFinding('hf.index.invalid', {
        detail: `${notStrings} entries of "weight_map" are not shard file names (strings); the library fails on them`,
        location: { offset: 0, length: source.size },
      }),
    );
  }
  if (dropped > 0) {
    metadata.tensorsNotKept = dropped;
    findings.push(
      createFinding('hf.index.invalid', {
        detail: `the map has more than ${MAX_INDEX_TENSORS} tensors or ${MAX_INDEX_SHARDS} shards; ${dropped} entries were not checked`,
        location: { offset: 0, length: source.size },
      }),
    );
  }
  const escaping = [...byShard.keys()].filter(escapesFolder);
  for (const shard of escaping.slice(0, MAX_FINDINGS_PER_RULE)) {
    const offset = read.text.indexOf(JSON.stringify(shard));
    findings.push(
      createFinding('hf.index.path-escape', {
        detail: `shard ${quote(shard)} (${byShard.get(shard)?.length ?? 0} tensors mapped to it) is outside the model folder`,
        location: { offset: offset < 0 ? 0 : byteOffsetOf(read.text, offset) },
        evidence: `${JSON.stringify(byShard.get(shard)?.[0] ?? '')}: ${JSON.stringify(shard)}`,
      }),
    );
  }
  return done();
}
