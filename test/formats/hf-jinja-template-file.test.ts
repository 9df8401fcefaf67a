import { describe, expect, it } from 'vitest';
import { MAX_TEMPLATE_BYTES, jinjaTemplateFileFormat } from '../../src/formats/jinja-template-file.ts';
import type { ByteSource } from '../../src/io/byte-source.ts';
import { rulesOf, scanText } from '../folder/scan-helpers.ts';

describe('jinja-template (chat_template.jinja)', () => {
  it('passes an ordinary template, with its size in the metadata', async () => {
    const template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}";
    const report = await scanText('m/chat_template.jinja', template);
    expect(report.format).toBe('jinja-template');
    expect(report.findings).toEqual([]);
    expect(report.metadata).toEqual({ templateCharacters: template.length, templateLines: 2 });
  });

  it('flags a sandbox escape with its file offset (in bytes, after non-ASCII text)', async () => {
    const template = 'é {{ self.__init__.__globals__.__builtins__ }}';
    const report = await scanText('additional_chat_templates/tool_use.jinja', template);
    expect(rulesOf(report)).toEqual(['template.jinja.sandbox-escape']);
    expect(report.verdict).toBe('dangerous');
    expect(report.findings[0].detail).toContain('tool_use.jinja reaches Python internals');
    expect(report.findings[0].detail).toContain('the first at character 5, file offset 6');
  });

  it('checks the beginning of a template past the size limit and says so', async () => {
    const source: ByteSource = {
      name: 'chat_template.jinja',
      size: MAX_TEMPLATE_BYTES + 10,
      read: async () => new TextEncoder().encode('{{ cycler.__init__.__globals__ }}'),
      chunks: async function* () {},
    };
    const inspection = await jinjaTemplateFileFormat.inspect(source, { head: new Uint8Array(0) });
    expect(inspection.findings.map((finding) => finding.rule)).toEqual(['template.jinja.sandbox-escape', 'hf.chat-template.too-large']);
  });

  it('is not claimed for a binary file', async () => {
    const report = await scanText('chat_template.jinja', Uint8Array.of(0x7b, 0x7b, 0x00, 0x01));
    expect(report.format).toBe('unknown');
    expect(rulesOf(report)).toContain('format.extension-mismatch');
  });
});
