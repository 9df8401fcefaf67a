/**
 * The file digests an in-toto statement lists, as OpenSSF model signing
 * (sigstore/model-transparency, `model_signing`) writes it.
 *
 * Spec: in-toto Statement v1 (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md)
 * and model_signing's predicates:
 * - `https://model_signing/signature/v1.0`: `predicate.serialization`
 *   (`method` `files` or `shards`, `hash_type`) and `predicate.resources`, a
 *   list of `{ name, algorithm, digest }` with paths relative to the model
 *   folder; the one subject is the model's name and a digest over all the
 *   resource digests, not a file;
 * - `https://model_signing/Digests/v0.1` (model_signing 0.2): every subject is a
 *   file, `{ name, digest: { sha256 } }`.
 * Any other predicate (SLSA provenance, for instance) is read like v0.1: its
 * subjects are the artifacts it is about.
 *
 * Threat surface: the statement is unverified JSON. List lengths are checked
 * before iterating, paths are bounded, digests must be 64 hex digits; a bad
 * item is a problem naming its JSON path.
 */
import type { SetCollector } from './collector.ts';
import { isObject } from './json.ts';
import { MAX_ENTRIES, MAX_PATH_CHARS } from './limits.ts';
import { normaliseListedPath } from './paths.ts';

export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
export const MODEL_SIGNING_PREDICATE_V1 = 'https://model_signing/signature/v1.0';
export const MODEL_SIGNING_PREDICATE_V01 = 'https://model_signing/Digests/v0.1';

const HEX_64 = /^[0-9a-fA-F]{64}$/;

/** What a statement says besides its entries. */
export interface StatementSummary {
  predicateType: string | null;
  modelName: string | null;
  serialization: string | null;
}

/** True for a JSON object that declares itself an in-toto statement. */
export function looksLikeInTotoStatement(json: unknown): boolean {
  return isObject(json) && typeof json._type === 'string' && json._type.startsWith('https://in-toto.io/Statement/');
}

/** Adds the statement's file digests to `collector`; `where` prefixes JSON paths in problems. */
export function readInTotoStatement(json: unknown, collector: SetCollector, where: string): StatementSummary {
  const summary: StatementSummary = { predicateType: null, modelName: null, serialization: null };
  if (!isObject(json)) {
    collector.problem(`${where} is not a JSON object`);
    return summary;
  }
  if (json._type !== IN_TOTO_STATEMENT_V1) {
    collector.problem(`${where}._type is ${describe(json._type)}, expected ${IN_TOTO_STATEMENT_V1}; read anyway`);
  }
  const predicateType = typeof json.predicateType === 'string' ? json.predicateType : null;
  summary.predicateType = predicateType;
  const subjects = Array.isArray(json.subject) ? json.subject : null;
  if (subjects === null) collector.problem(`${where}.subject is not a list`);
  if (predicateType === MODEL_SIGNING_PREDICATE_V1) {
    const first = subjects?.[0];
    if (isObject(first) && typeof first.name === 'string') summary.modelName = first.name.slice(0, MAX_PATH_CHARS);
    summary.serialization = readResources(json.predicate, collector, `${where}.predicate`);
    return summary;
  }
  if (predicateType !== MODEL_SIGNING_PREDICATE_V01) {
    collector.note(`predicate type ${describe(predicateType)} is not model signing's; the statement's subjects are compared as files`);
  }
  if (subjects) readSubjects(subjects, collector, `${where}.subject`);
  return summary;
}

/** model_signing v1.0 resources; returns the serialization method. */
function readResources(predicate: unknown, collector: SetCollector, where: string): string | null {
  if (!isObject(predicate)) {
    collector.problem(`${where} is not a JSON object`);
    return null;
  }
  const serialization = isObject(predicate.serialization) ? predicate.serialization : {};
  const method = typeof serialization.method === 'string' ? serialization.method : null;
  const resources = predicate.resources;
  if (!Array.isArray(resources)) {
    collector.problem(`${where}.resources is not a list`);
    return method;
  }
  if (method === 'shards') {
    const shardSize = typeof serialization.shard_size === 'number' ? ` of ${serialization.shard_size} bytes` : '';
    collector.note(
      `the model was signed in shards${shardSize}: its ${resources.length} digests cover byte ranges, not whole files, so they cannot be compared with a file's SHA-256; verify with model_signing`,
    );
    return method;
  }
  if (method !== null && method !== 'files') collector.note(`serialization method ${describe(method)} is not known; resources read as files`);
  if (resources.length > MAX_ENTRIES) collector.problem(`${where}.resources has ${resources.length} items, over the ${MAX_ENTRIES} limit`);
  let otherAlgorithms = 0;
  const count = Math.min(resources.length, MAX_ENTRIES);
  for (let index = 0; index < count; index++) {
    const at = `${where}.resources[${index}]`;
    const resource = resources[index];
    if (!isObject(resource)) {
      collector.problem(`${at} is not an object`);
      continue;
    }
    if (resource.algorithm !== 'sha256') {
      otherAlgorithms++;
      continue;
    }
    if (!addDigest(collector, resource.name, resource.digest, at, 'digest')) break;
  }
  if (otherAlgorithms > 0) {
    collector.note(`${otherAlgorithms} resource digest(s) use another algorithm than SHA-256 (model_signing also hashes with BLAKE2 or BLAKE3) and are not compared`);
  }
  return method;
}

function readSubjects(subjects: unknown[], collector: SetCollector, where: string): void {
  if (subjects.length > MAX_ENTRIES) collector.problem(`${where} has ${subjects.length} items, over the ${MAX_ENTRIES} limit`);
  let withoutSha256 = 0;
  const count = Math.min(subjects.length, MAX_ENTRIES);
  for (let index = 0; index < count; index++) {
    const at = `${where}[${index}]`;
    const subject = subjects[index];
    if (!isObject(subject) || !isObject(subject.digest)) {
      collector.problem(`${at} is not an object with a digest`);
      continue;
    }
    if (subject.digest.sha256 === undefined) {
      withoutSha256++;
      continue;
    }
    if (!addDigest(collector, subject.name, subject.digest.sha256, at, 'digest.sha256')) break;
  }
  if (withoutSha256 > 0) collector.note(`${withoutSha256} subject(s) have no SHA-256 digest and are not compared`);
}

/** Adds one named digest; false once the entry limit stops the parse. */
function addDigest(collector: SetCollector, name: unknown, digest: unknown, at: string, digestField: string): boolean {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_PATH_CHARS) {
    collector.problem(`${at}.name is not a string of 1 to ${MAX_PATH_CHARS} characters`);
    return true;
  }
  const path = normaliseListedPath(name);
  if (path === '') {
    collector.problem(`${at}.name ${JSON.stringify(name)} names no file`);
    return true;
  }
  if (typeof digest !== 'string' || !HEX_64.test(digest)) {
    collector.problem(`${at}.${digestField} is not 64 hex digits`);
    return true;
  }
  return collector.addEntry({ path, sha256: digest.toLowerCase() });
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  return value === undefined ? 'missing' : typeof value === 'object' ? (value === null ? 'null' : 'an object') : String(value);
}
