/**
 * Hugging Face configuration files: `config.json`, `tokenizer_config.json`,
 * `generation_config.json`, `preprocessor_config.json`, any other
 * `*config.json`, and `chat_template.json`.
 * Spec (the library is the spec): transformers' configuration_utils.py
 * (PretrainedConfig.from_pretrained), tokenization_utils_base.py (chat
 * templates) and dynamic_module_utils.py (auto_map, trust_remote_code).
 * https://huggingface.co/docs/transformers/custom_models
 *
 * Threat surface: these files carry no code themselves but decide what code
 * runs. `auto_map` (and `custom_pipelines`) name Python modules of the
 * repository, or of another repository (`owner/repo--module.Class`), that
 * from_pretrained imports when trust_remote_code=True; a chat template is a
 * Jinja program rendered on every prompt (CVE-2024-34359 for loaders without
 * a sandbox). The JSON itself is read whole by the library, so size is
 * bounded here before anything is parsed. Detected by name (the library
 * reads these files by name) and by content (a JSON object).
 */
import type { ByteSource } from '../io/byte-source.ts';
import type { Finding, MetadataValue } from '../report/types.ts';
import { createFinding } from '../rules/index.ts';
import { chatTemplateFindings } from '../rules/jinja-template.ts';
import { collectRemoteCode, localModuleFiles, referencesToMetadata } from '../folder/auto-map.ts';
import {
  basenameOf,
  byteOffsetOf,
  isJsonObject,
  looksLikeText,
  parsePythonJson,
  quote,
  readTextFile,
  startsWithJsonObject,
} from '../folder/text-file.ts';
import type { FormatModule, InspectContext, Inspection } from './types.ts';

/** Largest config read: real ones are KBs, tokenizer configs with many added tokens a few MB; the library parses it whole (CWE-400). */
export const MAX_CONFIG_BYTES = 32 * 1024 * 1024;
/** Named chat templates checked per file; real tokenizers have one to three (CWE-770). */
export const MAX_CHAT_TEMPLATES = 64;
/** Items kept from a list in the metadata (architectures) (CWE-770). */
export const MAX_LISTED_ITEMS = 32;
/** Characters of a string kept in the metadata (CWE-770). */
export const MAX_METADATA_STRING_CHARS = 200;
/** Scalar fields of quantization_config kept in the metadata (CWE-770). */
export const MAX_QUANTIZATION_FIELDS = 32;

/** Which config a file is, from its name: what the library uses it for. */
export type HfConfigKind = 'model' | 'tokenizer' | 'generation' | 'chat-template' | 'other';

function configKindOf(name: string): HfConfigKind | null {
  const base = basenameOf(name).toLowerCase();
  if (base === 'config.json') return 'model';
  if (base === 'tokenizer_config.json') return 'tokenizer';
  if (base === 'generation_config.json') return 'generation';
  if (base === 'chat_template.json') return 'chat-template';
  return base.endsWith('config.json') ? 'other' : null;
}

export const hfConfigFormat: FormatModule = {
  id: 'hf-config',
  label: 'Hugging Face config (JSON)',
  extensions: ['config.json'],
  detect(head: Uint8Array, name: string): boolean {
    return configKindOf(name) !== null && startsWithJsonObject(head) && looksLikeText(head);
  },
  inspect: inspectHfConfig,
};

async function inspectHfConfig(source: ByteSource, context: InspectContext): Promise<Inspection> {
  const kind = configKindOf(source.name) ?? 'other';
  const metadata: Record<string, MetadataValue> = { configKind: kind };
  const findings: Finding[] = [];
  const done = (): Inspection => ({ tensors: [], metadata, findings });
  if (source.size > MAX_CONFIG_BYTES) {
    findings.push(
      createFinding('hf.json.too-large', {
        detail: `${basenameOf(source.name)} has ${source.size} bytes, more than the ${MAX_CONFIG_BYTES} read; not parsed`,
        location: { offset: 0, length: source.size },
      }),
    );
    return done();
  }
  const read = await readTextFile(source, MAX_CONFIG_BYTES, context.signal);
  if (read.invalidUtf8At !== null) {
    findings.push(
      createFinding('hf.json.invalid', {
        detail: `invalid UTF-8 at offset ${read.invalidUtf8At}; the library reads configs as UTF-8 and stops there`,
        location: { offset: read.invalidUtf8At },
      }),
    );
    return done();
  }
  const parsed = parsePythonJson(read.text);
  if (!parsed.ok || !isJsonObject(parsed.value)) {
    findings.push(
      createFinding('hf.json.invalid', {
        detail: parsed.ok ? `the top level is not a JSON object` : `not JSON: ${parsed.message}`,
        location: { offset: 0, length: source.size },
      }),
    );
    return done();
  }
  const config = parsed.value;
  if (kind === 'model') Object.assign(metadata, modelFields(config));
  if (kind === 'tokenizer') Object.assign(metadata, tokenizerFields(config));
  findings.push(...remoteCodeFindings(config, read.text, metadata));
  findings.push(...chatTemplateChecks(config, read.text, source.name, metadata));
  return done();
}

/** What a reader wants to know about the model: architecture, type, dtype, quantization. */
function modelFields(config: Record<string, unknown>): Record<string, MetadataValue> {
  const fields: Record<string, MetadataValue> = {};
  const architectures = own(config, 'architectures');
  if (Array.isArray(architectures)) {
    fields.architectures = architectures.slice(0, MAX_LISTED_ITEMS).filter((item) => typeof item === 'string').map(shortString);
  }
  const text = (key: string, as: string) => {
    const value = own(config, key);
    if (typeof value === 'string') fields[as] = shortString(value);
  };
  text('model_type', 'modelType');
  text('torch_dtype', 'torchDtype');
  if (fields.torchDtype === undefined) text('dtype', 'torchDtype');
  text('transformers_version', 'transformersVersion');
  const quantization = own(config, 'quantization_config');
  if (isJsonObject(quantization)) {
    const kept: [string, MetadataValue][] = [];
    for (const [key, value] of Object.entries(quantization).slice(0, MAX_QUANTIZATION_FIELDS)) {
      const scalar = typeof value === 'string' ? shortString(value) : typeof value === 'number' || typeof value === 'boolean' || value === null ? value : undefined;
      if (scalar !== undefined) kept.push([shortString(key), scalar]);
    }
    // Keys come from the file: fromEntries defines own properties, so `__proto__` stays a key.
    fields.quantization = Object.fromEntries(kept);
  }
  return fields;
}

function tokenizerFields(config: Record<string, unknown>): Record<string, MetadataValue> {
  const tokenizerClass = own(config, 'tokenizer_class');
  return typeof tokenizerClass === 'string' ? { tokenizerClass: shortString(tokenizerClass) } : {};
}

/** auto_map / custom_pipelines: metadata for the folder checks, and one finding per kind of problem. */
function remoteCodeFindings(config: Record<string, unknown>, text: string, metadata: Record<string, MetadataValue>): Finding[] {
  const references = collectRemoteCode(config);
  if (references.length === 0) return [];
  metadata.remoteCode = referencesToMetadata(references);
  const files = localModuleFiles(references);
  metadata.remoteCodeFiles = files;
  const location = keyLocation(text, own(config, 'auto_map') !== undefined ? 'auto_map' : 'custom_pipelines');
  const findings: Finding[] = [];
  const local = references.filter((entry) => entry.repo === null && entry.file !== null);
  if (local.length > 0) {
    const listed = local.slice(0, 12).map((entry) => `${entry.auto} → ${entry.file} (${quote(entry.reference)})`);
    findings.push(
      createFinding('hf.remote-code', {
        detail: `with trust_remote_code=True the library imports ${files.map((file) => quote(file)).join(', ')}: ${listed.join('; ')}${local.length > 12 ? `; and ${local.length - 12} more` : ''}`,
        location,
        evidence: local.map((entry) => `"${entry.auto}": ${JSON.stringify(entry.reference)}`).slice(0, 12).join(', '),
      }),
    );
  }
  for (const entry of references.filter((item) => item.repo !== null)) {
    findings.push(
      createFinding('hf.remote-code.other-repo', {
        detail: `${entry.auto} imports ${entry.file === null ? 'a module' : quote(entry.file)} from the repository ${quote(entry.repo ?? '')}, downloaded at load time`,
        location,
        evidence: `"${entry.auto}": ${JSON.stringify(entry.reference)}`,
      }),
    );
  }
  for (const entry of references.filter((item) => !item.valid)) {
    findings.push(
      createFinding('hf.auto-map.invalid', {
        detail: `${entry.auto} is ${quote(entry.reference)}, not a plain [repo--]module.Class reference`,
        location,
      }),
    );
  }
  return findings;
}

/** `chat_template` as a string or as a list of `{name, template}`: every template through the Jinja checker. */
function chatTemplateChecks(config: Record<string, unknown>, text: string, name: string, metadata: Record<string, MetadataValue>): Finding[] {
  const value = own(config, 'chat_template');
  if (value === undefined || value === null) return [];
  const location = keyLocation(text, 'chat_template');
  const file = basenameOf(name);
  const templates: { name: string; template: string }[] = [];
  if (typeof value === 'string') {
    templates.push({ name: 'default', template: value });
  } else if (Array.isArray(value)) {
    for (const item of value.slice(0, MAX_CHAT_TEMPLATES)) {
      if (isJsonObject(item) && typeof own(item, 'template') === 'string') {
        const itemName = own(item, 'name');
        templates.push({ name: typeof itemName === 'string' ? itemName : `#${templates.length}`, template: own(item, 'template') as string });
      }
    }
  }
  metadata.chatTemplates = templates.map((entry) => ({ name: shortString(entry.name), characters: entry.template.length }));
  const findings: Finding[] = [];
  for (const entry of templates) {
    const source = typeof value === 'string' ? `${file} chat_template` : `${file} chat_template ${quote(entry.name, 60)}`;
    findings.push(...chatTemplateFindings(entry.template, { source, location }));
  }
  return findings;
}

/** Where `"key"` first appears in the file, as a location; the file start when it cannot be found. */
function keyLocation(text: string, key: string): { offset: number } {
  const index = text.indexOf(`"${key}"`);
  return { offset: index < 0 ? 0 : byteOffsetOf(text, index) };
}

function own(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

function shortString(text: string): string {
  return text.length > MAX_METADATA_STRING_CHARS ? `${text.slice(0, MAX_METADATA_STRING_CHARS)}…` : text;
}
