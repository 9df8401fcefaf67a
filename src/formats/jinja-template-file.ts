/**
 * Jinja chat template files: `chat_template.jinja` and
 * `additional_chat_templates/<name>.jinja` (transformers ≥ 4.43 saves
 * templates this way instead of inside tokenizer_config.json), and any other
 * `*.jinja` file a model ships.
 * Spec: https://huggingface.co/docs/transformers/chat_templating and
 * https://jinja.palletsprojects.com/en/stable/templates/
 *
 * Threat surface: the template is a program that the tokenizer renders on
 * every prompt. Rendered without Jinja's sandbox (llama-cpp-python before
 * 0.2.72, CVE-2024-34359, and any tool that calls jinja2.Template itself), it
 * can walk to Python internals and run commands. The whole file goes through
 * the shared checker (src/rules/jinja-template.ts), which is linear in its
 * size; the read itself is bounded.
 */
import type { ByteSource } from '../io/byte-source.ts';
import type { Finding } from '../report/types.ts';
import { createFinding } from '../rules/index.ts';
import { chatTemplateFindings } from '../rules/jinja-template.ts';
import { basenameOf, looksLikeText, readTextFile } from '../folder/text-file.ts';
import type { FormatModule, InspectContext, Inspection } from './types.ts';

/** Largest template checked: real chat templates are a few KB, the longest public ones under 100 KB (CWE-400). */
export const MAX_TEMPLATE_BYTES = 16 * 1024 * 1024;

const EXTENSIONS = ['.jinja', '.jinja2', '.j2'];

export const jinjaTemplateFileFormat: FormatModule = {
  id: 'jinja-template',
  label: 'Jinja chat template',
  extensions: EXTENSIONS,
  detect(head: Uint8Array, name: string): boolean {
    const lower = basenameOf(name).toLowerCase();
    return EXTENSIONS.some((extension) => lower.endsWith(extension)) && looksLikeText(head);
  },
  async inspect(source: ByteSource, context: InspectContext): Promise<Inspection> {
    const read = await readTextFile(source, MAX_TEMPLATE_BYTES, context.signal);
    const findings: Finding[] = chatTemplateFindings(read.text, {
      source: basenameOf(source.name),
      location: { offset: 0, length: source.size },
      fileOffset: 0,
    });
    if (read.truncated) {
      findings.push(
        createFinding('hf.chat-template.too-large', {
          detail: `the template has ${source.size} bytes; only the first ${MAX_TEMPLATE_BYTES} were checked`,
          location: { offset: MAX_TEMPLATE_BYTES },
        }),
      );
    }
    return { tensors: [], metadata: { templateCharacters: read.text.length, templateLines: read.text.split('\n').length }, findings };
  },
};
