import { createCompressedFormats } from './compressed.ts';
import { ggufFormat } from './gguf.ts';
import { hdf5Format } from './hdf5.ts';
import { hfConfigFormat } from './hf-config.ts';
import { IDENTIFIED_FORMATS } from './identified.ts';
import { jinjaTemplateFileFormat } from './jinja-template-file.ts';
import { joblibFormat } from './joblib.ts';
import { kerasFormat } from './keras.ts';
import { lfsPointerFormat } from './lfs-pointer.ts';
import { npyFormat } from './numpy.ts';
import { npzFormat } from './npz.ts';
import { onnxFormat } from './onnx.ts';
import { pickleFormat } from './pickle.ts';
import { pythonSourceFormat } from './python-source.ts';
import { pytorchZipFormat } from './pytorch-zip.ts';
import { safetensorsFormat } from './safetensors.ts';
import { sevenZipFormat } from './sevenzip.ts';
import { kerasMetadataFormat, savedModelFormat } from './tf-savedmodel.ts';
import { torchLegacyFormat } from './torch-legacy.ts';
import type { FormatModule } from './types.ts';
import { weightIndexFormat } from './weight-index.ts';

export type { FormatModule, Inspection, InspectContext, StreamScanner } from './types.ts';

/** Every format, in detection order: specific magic first, identification-only next, text formats told by name and content last. */
export const FORMATS: readonly FormatModule[] = [ggufFormat, safetensorsFormat, sevenZipFormat, npyFormat, kerasFormat, pytorchZipFormat, npzFormat, hdf5Format, torchLegacyFormat, joblibFormat, pickleFormat, ...createCompressedFormats(() => FORMATS), onnxFormat, savedModelFormat, kerasMetadataFormat, ...IDENTIFIED_FORMATS, lfsPointerFormat, hfConfigFormat, weightIndexFormat, jinjaTemplateFileFormat, pythonSourceFormat];

/** The module whose magic matches `head`; never decided by the name alone. */
export function detectFormat(head: Uint8Array, name: string, formats: readonly FormatModule[] = FORMATS): FormatModule | null {
  for (const format of formats) {
    try {
      if (format.detect(head, name)) return format;
    } catch {
      // detect must not throw; a module that does is simply not a match.
    }
  }
  return null;
}

/** The formats whose usual extension is the one `name` carries. */
export function formatsClaimedByName(name: string, formats: readonly FormatModule[] = FORMATS): FormatModule[] {
  const lower = name.toLowerCase();
  return formats.filter((format) => format.extensions.some((extension) => lower.endsWith(extension)));
}
