import { describe, expect, it } from 'vitest';
import { MAX_CONFIG_BYTES, hfConfigFormat } from '../../src/formats/hf-config.ts';
import { HEAD_BYTES } from '../../src/formats/types.ts';
import type { ByteSource } from '../../src/io/byte-source.ts';
import type { FileReport } from '../../src/report/types.ts';
import { scanText } from '../folder/scan-helpers.ts';

const encoder = new TextEncoder();
const rules = (report: FileReport) => report.findings.map((finding) => finding.rule);

describe('hf-config: detection by name and content', () => {
  it.each([
    ['config.json', '{"model_type": "llama"}', 'hf-config'],
    ['tiny/tokenizer_config.json', '  \n{"tokenizer_class": "X"}', 'hf-config'],
    ['generation_config.json', '{}', 'hf-config'],
    ['preprocessor_config.json', '{}', 'hf-config'],
    ['chat_template.json', '{"chat_template": "{{ x }}"}', 'hf-config'],
    ['special_tokens_map.json', '{}', 'unknown'],
    ['config.yaml', '{}', 'unknown'],
    ['config.json', 'not json at all', 'unknown'],
    ['config.json', '[1, 2]', 'unknown'],
  ])('%s with %j is %s', async (name, content, format) => {
    expect((await scanText(name, content)).format).toBe(format);
  });

  it('flags a file named config.json that is not a JSON object', async () => {
    expect(rules(await scanText('config.json', 'plain text'))).toContain('format.extension-mismatch');
  });
});

describe('hf-config: model config', () => {
  it('reads architecture, type, dtype and quantization into the metadata, with no findings', async () => {
    const report = await scanText(
      'm/config.json',
      JSON.stringify({
        architectures: ['LlamaForCausalLM'],
        model_type: 'llama',
        torch_dtype: 'bfloat16',
        transformers_version: '4.44.0',
        quantization_config: { quant_method: 'bitsandbytes', load_in_4bit: true, bnb_4bit_quant_storage: null, nested: { a: 1 } },
      }),
    );
    expect(report.verdict).toBe('clean');
    expect(report.findings).toEqual([]);
    expect(report.metadata).toEqual({
      configKind: 'model',
      architectures: ['LlamaForCausalLM'],
      modelType: 'llama',
      torchDtype: 'bfloat16',
      transformersVersion: '4.44.0',
      quantization: { quant_method: 'bitsandbytes', load_in_4bit: true, bnb_4bit_quant_storage: null },
    });
  });

  it('keeps a `__proto__` key of quantization_config as a key', async () => {
    const report = await scanText('config.json', '{"quantization_config": {"__proto__": "x", "bits": 4}}');
    const quantization = report.metadata.quantization as Record<string, unknown>;
    expect(Object.keys(quantization)).toEqual(['__proto__', 'bits']);
    expect(Object.getPrototypeOf(quantization)).toBe(Object.prototype);
  });

  it('reads NaN and Infinity as Python json does', async () => {
    const report = await scanText('config.json', '{"model_type": "x", "eps": NaN, "max": Infinity, "min": -Infinity, "s": "NaN"}');
    expect(report.findings).toEqual([]);
    expect(report.metadata.modelType).toBe('x');
  });

  it.each([
    ['broken JSON', '{"model_type": "x",}', 'not JSON'],
    ['invalid UTF-8', Uint8Array.of(0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d), 'invalid UTF-8 at offset 2'],
    ['a byte order mark', Uint8Array.of(0xef, 0xbb, 0xbf, 0x7b, 0x7d), 'not JSON'],
  ])('reports %s as malformed', async (_, content, detail) => {
    const report = await scanText('config.json', content);
    expect(rules(report)).toEqual(['hf.json.invalid']);
    expect(report.verdict).toBe('malformed');
    expect(report.findings[0].detail).toContain(detail);
  });

  it('does not parse a config larger than the limit', async () => {
    const source: ByteSource = {
      name: 'config.json',
      size: MAX_CONFIG_BYTES + 1,
      read: async () => encoder.encode('{"model_type": "x"}'),
      chunks: async function* () {},
    };
    const inspection = await hfConfigFormat.inspect(source, { head: encoder.encode('{').subarray(0, HEAD_BYTES) });
    expect(inspection.findings.map((finding) => finding.rule)).toEqual(['hf.json.too-large']);
    expect(inspection.findings[0].detail).toContain(`${MAX_CONFIG_BYTES + 1} bytes`);
  });
});

describe('hf-config: auto_map and custom_pipelines', () => {
  it('flags remote code and lists the module files, with the key offset as location', async () => {
    const text = '{"model_type": "x", "auto_map": {"AutoConfig": "configuration_x.XConfig", "AutoModel": "modeling_x.XModel", "AutoModelForCausalLM": "modeling_x.XForCausalLM"}}';
    const report = await scanText('config.json', text);
    expect(rules(report)).toEqual(['hf.remote-code']);
    expect(report.verdict).toBe('suspicious');
    expect(report.findings[0].severity).toBe('high');
    expect(report.findings[0].location).toEqual({ offset: text.indexOf('"auto_map"') });
    expect(report.findings[0].detail).toContain('imports "configuration_x.py", "modeling_x.py"');
    expect(report.metadata.remoteCodeFiles).toEqual(['configuration_x.py', 'modeling_x.py']);
  });

  it.each([
    [{ AutoModel: 'someone/other-repo--modeling_x.XModel' }, ['hf.remote-code.other-repo'], []],
    [{ AutoModel: 'models/modeling_x.XModel' }, ['hf.remote-code'], ['models/modeling_x.py']],
    [{ AutoModel: '../../etc/passwd.X' }, ['hf.auto-map.invalid'], []],
    [{ AutoModel: 'modeling_x' }, ['hf.auto-map.invalid'], []],
    [{ AutoModel: 42 }, ['hf.auto-map.invalid'], []],
    [{ AutoTokenizer: ['tokenization_x.XTokenizer', null] }, ['hf.remote-code'], ['tokenization_x.py']],
    [{ AutoTokenizer: [null, 'tokenization_x_fast.XTokenizerFast'] }, ['hf.remote-code'], ['tokenization_x_fast.py']],
  ])('auto_map %j gives %j', async (autoMap, expected, files) => {
    const report = await scanText('tokenizer_config.json', JSON.stringify({ auto_map: autoMap }));
    expect(rules(report)).toEqual(expected);
    expect(report.metadata.remoteCodeFiles ?? []).toEqual(files);
  });

  it('reads custom_pipelines impl as remote code', async () => {
    const report = await scanText('config.json', JSON.stringify({ custom_pipelines: { 'text-classification': { impl: 'pipeline_x.MyPipeline', pt: ['AutoModel'] } } }));
    expect(rules(report)).toEqual(['hf.remote-code']);
    expect(report.metadata.remoteCode).toEqual([
      { auto: 'custom_pipelines.text-classification', reference: 'pipeline_x.MyPipeline', file: 'pipeline_x.py', repo: null, valid: true },
    ]);
  });
});

describe('hf-config: chat templates', () => {
  const chatml = "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] }}{% endfor %}";

  it('passes an ordinary template and records it in the metadata', async () => {
    const report = await scanText('tokenizer_config.json', JSON.stringify({ chat_template: chatml, tokenizer_class: 'X' }));
    expect(report.findings).toEqual([]);
    expect(report.metadata).toEqual({ configKind: 'tokenizer', tokenizerClass: 'X', chatTemplates: [{ name: 'default', characters: chatml.length }] });
  });

  it('flags a sandbox escape in the template string', async () => {
    const text = JSON.stringify({ chat_template: "{{ ''.__class__.__mro__[1].__subclasses__() }}" });
    const report = await scanText('tokenizer_config.json', text);
    expect(rules(report)).toEqual(['template.jinja.sandbox-escape']);
    expect(report.verdict).toBe('dangerous');
    expect(report.findings[0].detail).toMatch(/^tokenizer_config\.json chat_template reaches Python internals/);
    expect(report.findings[0].location).toEqual({ offset: text.indexOf('"chat_template"') });
  });

  it('checks every named template of a list and names the bad one', async () => {
    const escape = '{{ lipsum.__globals__.os.popen("id") }}';
    const report = await scanText(
      'tokenizer_config.json',
      JSON.stringify({ chat_template: [{ name: 'default', template: chatml }, { name: 'tool_use', template: escape }] }),
    );
    expect(rules(report)).toEqual(['template.jinja.sandbox-escape']);
    expect(report.findings[0].detail).toContain('chat_template "tool_use"');
    expect(report.metadata.chatTemplates).toEqual([
      { name: 'default', characters: chatml.length },
      { name: 'tool_use', characters: escape.length },
    ]);
  });

  it('checks chat_template.json too', async () => {
    const report = await scanText('chat_template.json', JSON.stringify({ chat_template: '{{ cycler.__init__.__globals__ }}' }));
    expect(report.metadata.configKind).toBe('chat-template');
    expect(rules(report)).toEqual(['template.jinja.sandbox-escape']);
  });
});
