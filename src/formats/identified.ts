import { createFinding } from '../rules/index.ts';
import { isPrintableText, peekField } from './protobuf.ts';
import type { FormatModule, Inspection } from './types.ts';

/**
 * Formats Preflight recognises by their magic bytes but does not inspect yet.
 * Recognising them matters: a file is never passed as "unknown" when it is in
 * fact a container that can carry a pickle. Each says why it is flagged.
 */
interface IdentifiedFormat {
  id: string;
  label: string;
  extensions: string[];
  matches(head: Uint8Array): boolean;
  /** Can this format run code on load (directly or through what it wraps)? */
  canCarryCode: boolean;
}

const startsWith = (head: Uint8Array, magic: number[], at = 0) =>
  head.length >= at + magic.length && magic.every((byte, index) => head[at + index] === byte);

const ascii = (text: string) => [...text].map((char) => char.charCodeAt(0));

/** An `.mlpackage`'s Manifest.json: a JSON object listing its items, authored by com.apple.CoreML. */
const looksLikeCoreMlManifest = (head: Uint8Array) => {
  const text = new TextDecoder('latin1').decode(head.subarray(0, 4096));
  return /^\s*\{/.test(text) && text.includes('"itemInfoEntries"') && text.includes('com.apple.CoreML');
};

/**
 * A Core ML `.mlmodel` (a protobuf `Model`, Core ML's mlmodel/format/Model.proto):
 * `specificationVersion` (field 1, 1 to 64), then `description` (field 2) whose
 * first feature (field 1) has a printable name and then a short description
 * (field 2, printable) or a type (field 3). Protobufs have no magic, so the
 * shape is checked three levels deep.
 */
function looksLikeCoreMlModel(head: Uint8Array): boolean {
  const version = peekField(head, 0);
  if (!version || version.fieldNumber !== 1 || version.wireType !== 0 || version.value < 1 || version.value > 64) return false;
  const description = peekField(head, version.end);
  if (!description || description.fieldNumber !== 2 || description.wireType !== 2) return false;
  const feature = peekField(head, description.valueOffset);
  if (!feature || feature.fieldNumber !== 1 || feature.wireType !== 2) return false;
  const name = peekField(head, feature.valueOffset);
  if (!name || name.fieldNumber !== 1 || name.wireType !== 2 || name.value === 0 || name.end > head.length) return false;
  if (!isPrintableText(head, name.valueOffset, name.end)) return false;
  const next = peekField(head, name.end);
  if (!next || next.wireType !== 2) return false;
  if (next.fieldNumber === 2) return isPrintableText(head, next.valueOffset, next.end);
  return next.fieldNumber === 3;
}

const IDENTIFIED: IdentifiedFormat[] = [
  { id: 'zip', label: 'Zip archive', extensions: ['.zip', '.pt', '.pth', '.bin', '.ckpt', '.npz', '.keras'], canCarryCode: true,
    matches: (head) => startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06]) },
  { id: 'tar', label: 'tar archive', extensions: ['.tar'], canCarryCode: true, matches: (head) => startsWith(head, ascii('ustar'), 257) },
  { id: 'tflite', label: 'TensorFlow Lite', extensions: ['.tflite'], canCarryCode: false,
    matches: (head) => startsWith(head, ascii('TFL3'), 4) },
  { id: 'coreml', label: 'Core ML model', extensions: ['.mlmodel'], canCarryCode: false, matches: (head) => looksLikeCoreMlModel(head) },
  { id: 'coreml-package', label: 'Core ML package manifest', extensions: [], canCarryCode: false,
    matches: looksLikeCoreMlManifest },
];

function toModule(format: IdentifiedFormat): FormatModule {
  return {
    id: format.id,
    label: format.label,
    extensions: format.extensions,
    detect: (head) => format.matches(head),
    async inspect(): Promise<Inspection> {
      const rule = format.canCarryCode ? 'format.not-inspected' : 'format.identified-only';
      const detail = format.canCarryCode
        ? `${format.label} identified by its magic bytes; this version of Preflight does not inspect its contents.`
        : `${format.label} identified by its magic bytes; only its hash is reported.`;
      return { tensors: [], metadata: {}, findings: [createFinding(rule, { detail, location: { offset: 0 } })] };
    },
  };
}

export const IDENTIFIED_FORMATS: FormatModule[] = IDENTIFIED.map(toModule);
