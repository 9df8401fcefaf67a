/**
 * HDF5 files, above all legacy Keras models (`model.save("x.h5")` in
 * tf.keras / Keras 2, `keras.models.load_model("x.h5")` in Keras 3) and
 * Keras weight files (`model.save_weights("x.weights.h5")`).
 * Spec: https://support.hdfgroup.org/documentation/hdf5/latest/_f_m_t3.html
 * for the container (read by src/containers/hdf5.ts); for the Keras layout,
 * tf_keras/saving/legacy/hdf5_format.py (`save_model_to_hdf5`): the root
 * group's `model_config` and `training_config` attributes are the model's
 * JSON config, `keras_version` and `backend` say who wrote it, and the
 * `model_weights/<layer>/<layer>/<weight>` datasets hold the weights.
 *
 * Threat surface: `model_config` is a program (see src/rules/keras-config.ts):
 * loading rebuilds every object it names, and Lambda layers carry marshalled
 * bytecode that Keras runs from .h5 files whatever safe_mode says
 * (CVE-2024-3660, CVE-2025-9905). The container can point outside itself
 * (external links, external storage, virtual datasets), loop, or declare
 * datasets far larger than it stores; the reader reports each. The format
 * module for `.keras` archives shares the config inspection (keras.ts), as
 * both are Keras's own formats.
 */
import { type Hdf5Attribute, type Hdf5File, readHdf5 } from '../containers/hdf5.ts';
import { hasSignatureAt, signatureOffsets } from '../containers/hdf5-superblock.ts';
import type { ByteSource } from '../io/byte-source.ts';
import { ParseError } from '../io/parse-error.ts';
import type { MetadataValue } from '../report/types.ts';
import { createFinding } from '../rules/index.ts';
import { mergeInspection } from './inspection.ts';
import { hdf5Summary, hdf5Tensors, inspectKerasConfigText } from './keras.ts';
import type { FormatModule, InspectContext, Inspection } from './types.ts';

/** Keras attributes of the root group copied into the metadata as they are. */
const PROVENANCE_ATTRIBUTES: ReadonlyMap<string, string> = new Map([
  ['keras_version', 'kerasVersion'],
  ['backend', 'backend'],
]);

/** Characters of a provenance attribute kept (CWE-770). */
const MAX_PROVENANCE_CHARS = 128;

/** True when the HDF5 signature is at offset 0 or at a power of two from 512 within `head`. */
export function looksLikeHdf5(head: Uint8Array): boolean {
  return signatureOffsets(head.length).some((offset) => hasSignatureAt(head, offset));
}

export const hdf5Format: FormatModule = {
  id: 'hdf5',
  label: 'HDF5 (Keras .h5)',
  extensions: ['.h5', '.hdf5'],
  detect: (head) => looksLikeHdf5(head),
  inspect: (source: ByteSource, context: InspectContext) => inspectHdf5(source, context.signal),
};

/** Inspects an HDF5 file: structure and its findings, datasets as tensors, the Keras config when there is one. */
export async function inspectHdf5(source: ByteSource, signal?: AbortSignal): Promise<Inspection> {
  let file: Hdf5File;
  try {
    file = await readHdf5(source, { signal });
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    return { tensors: [], metadata: {}, findings: [createFinding(error.rule, { detail: error.message, location: { offset: error.offset } })] };
  }
  const inspection: Inspection = { tensors: hdf5Tensors(file), metadata: { hdf5: hdf5Summary(file) }, findings: [...file.findings] };
  if (file.superblock.offset > 0) {
    inspection.findings.push(
      createFinding('hdf5.userblock', {
        detail: `The HDF5 superblock is at offset ${file.superblock.offset}; the ${file.superblock.offset} bytes before it are a user block that HDF5 skips.`,
        location: { offset: 0, length: file.superblock.offset },
      }),
    );
  }
  const root = file.objects.find((object) => object.path === '');
  const attributes = new Map<string, Hdf5Attribute>((root?.attributes ?? []).map((attribute) => [attribute.name, attribute]));
  for (const [name, key] of PROVENANCE_ATTRIBUTES) {
    const text = textOf(attributes.get(name));
    if (text !== null) inspection.metadata[key] = text.slice(0, MAX_PROVENANCE_CHARS);
  }
  let configs = 0;
  for (const name of ['model_config', 'training_config']) {
    const attribute = attributes.get(name);
    if (!attribute) continue;
    configs += 1;
    const location = { offset: attribute.offset };
    const text = textOf(attribute);
    if (text === null) {
      inspection.findings.push(createFinding('keras.config.invalid', { detail: `The ${name} attribute is ${attribute.dtype}, not a string; Keras cannot read it.`, location }));
      continue;
    }
    if (attribute.value.kind === 'string' && attribute.value.truncated) {
      inspection.findings.push(createFinding('keras.config.too-large', { detail: `The ${name} attribute is longer than Preflight reads; it was not parsed.`, location }));
      continue;
    }
    const part = await inspectKerasConfigText(text, { location, container: 'h5', what: `The ${name} attribute`, rootPath: name, signal });
    if (name === 'training_config') part.metadata = { training: (part.metadata.model ?? {}) as MetadataValue };
    mergeInspection(inspection, part);
  }
  if (attributes.has('model_config')) inspection.metadata.kind = 'Keras model (HDF5)';
  if (configs === 0) {
    inspection.findings.push(
      createFinding('keras.h5.no-model-config', {
        detail: `The root group has no model_config attribute${file.datasets.length > 0 ? `; the file holds ${file.datasets.length} datasets` : ''}.`,
        location: { offset: file.superblock.offset },
      }),
    );
  }
  return inspection;
}

/** A string attribute's text (a scalar, or a one-element list); null for anything else. */
function textOf(attribute: Hdf5Attribute | undefined): string | null {
  if (!attribute) return null;
  if (attribute.value.kind === 'string') return attribute.value.text;
  if (attribute.value.kind === 'strings' && attribute.value.count === 1) return attribute.value.items[0] ?? null;
  return null;
}
