/**
 * Python source files shipped with a model (`modeling_*.py`,
 * `configuration_*.py`, `tokenization_*.py`, scripts).
 * Background: https://huggingface.co/docs/transformers/custom_models
 * (trust_remote_code) and transformers' dynamic_module_utils.py, which copies
 * the modules auto_map names, and the modules they import relatively, into
 * a package and imports them.
 *
 * Threat surface: the file is a program. Imported by from_pretrained with
 * trust_remote_code=True (or run by hand), it does anything its author
 * wants, before any weight is read: start processes, open sockets, read
 * tokens, decode and exec a hidden payload. The scan (src/folder/python-scan.ts)
 * reads the text line by line, outside comments and docstrings, and reports
 * each risky call with its line; the relative imports go into the metadata so
 * the folder analysis knows which files run together. Detected by name
 * (`.py`) and content (text): a pickle named `.py` is still a pickle, and is
 * found first by its own module.
 */
import type { ByteSource } from '../io/byte-source.ts';
import type { Finding } from '../report/types.ts';
import { createFinding } from '../rules/index.ts';
import { MAX_HITS_PER_RULE, scanPythonSource } from '../folder/python-scan.ts';
import { basenameOf, looksLikeText, readTextFile } from '../folder/text-file.ts';
import type { FormatModule, InspectContext, Inspection } from './types.ts';

/** Bytes of one source scanned: model code is tens to hundreds of KB; a larger file is scanned up to here and flagged (CWE-400). */
export const MAX_SOURCE_BYTES = 4 * 1024 * 1024;

const EXTENSIONS = ['.py', '.pyw'];
const encoder = new TextEncoder();

export const pythonSourceFormat: FormatModule = {
  id: 'python-source',
  label: 'Python source',
  extensions: EXTENSIONS,
  detect(head: Uint8Array, name: string): boolean {
    const lower = basenameOf(name).toLowerCase();
    return EXTENSIONS.some((extension) => lower.endsWith(extension)) && looksLikeText(head);
  },
  inspect: inspectPythonSource,
};

async function inspectPythonSource(source: ByteSource, context: InspectContext): Promise<Inspection> {
  const read = await readTextFile(source, MAX_SOURCE_BYTES, context.signal);
  const scan = scanPythonSource(read.text);
  const findings: Finding[] = [];
  const ascii = read.text.length === read.bytes;
  for (const hit of scan.hits) {
    const offset = ascii ? hit.lineStart : encoder.encode(read.text.slice(0, hit.lineStart)).length;
    findings.push(
      createFinding(hit.rule, {
        detail: `line ${hit.line}: ${hit.what}`,
        location: { offset },
        evidence: hit.text,
      }),
    );
  }
  if (scan.omitted > 0) {
    findings.push(
      createFinding('python.findings-truncated', {
        detail: `${scan.omitted} more findings were not listed (limit ${MAX_HITS_PER_RULE} per rule)`,
      }),
    );
  }
  if (read.truncated) {
    findings.push(
      createFinding('python.too-large', {
        detail: `${basenameOf(source.name)} has ${source.size} bytes; only the first ${MAX_SOURCE_BYTES} were scanned`,
        location: { offset: MAX_SOURCE_BYTES },
      }),
    );
  }
  return {
    tensors: [],
    metadata: { lines: scan.lines, imports: scan.imports, relativeImports: scan.relativeImports },
    findings,
  };
}
