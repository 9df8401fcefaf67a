import { describe, expect, it } from 'vitest';
import { escapesFolder } from '../../src/formats/weight-index.ts';
import { rulesOf, scanText } from '../folder/scan-helpers.ts';

const index = (weightMap: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ metadata: { total_size: 1234 }, ...extra, weight_map: weightMap });

describe('hf-weight-index', () => {
  it('keeps the whole map, grouped by shard, in the metadata', async () => {
    const report = await scanText(
      'm/model.safetensors.index.json',
      index({ 'a.weight': 'model-00001-of-00002.safetensors', 'b.weight': 'model-00002-of-00002.safetensors', 'c.bias': 'model-00001-of-00002.safetensors' }),
    );
    expect(report.format).toBe('hf-weight-index');
    expect(report.findings).toEqual([]);
    expect(report.metadata).toEqual({
      indexOf: 'model.safetensors',
      totalSize: 1234,
      tensorCount: 3,
      shardCount: 2,
      shards: ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'],
      weightMap: [
        { shard: 'model-00001-of-00002.safetensors', tensors: ['a.weight', 'c.bias'] },
        { shard: 'model-00002-of-00002.safetensors', tensors: ['b.weight'] },
      ],
    });
  });

  it.each([
    ['no weight_map', JSON.stringify({ metadata: {} }), 'no "weight_map" object'],
    ['weight_map not an object', JSON.stringify({ weight_map: ['a'] }), '"weight_map" is not an object'],
    ['shard names that are not strings', index({ a: 'x.safetensors', b: 3, c: null }), '2 entries of "weight_map" are not shard file names'],
    ['broken JSON', '{"weight_map": {', 'not JSON'],
  ])('reports %s as an invalid index', async (_, text, detail) => {
    const report = await scanText('pytorch_model.bin.index.json', text);
    expect(rulesOf(report)).toEqual(['hf.index.invalid']);
    expect(report.verdict).toBe('malformed');
    expect(report.findings[0].detail).toContain(detail);
  });

  it('flags shard names that leave the folder, with the entry as evidence', async () => {
    const text = index({ a: '../../outside.safetensors', b: '/etc/passwd', c: 'C:\\\\Windows\\\\x.bin', d: 'sub/ok.safetensors' });
    const report = await scanText('model.safetensors.index.json', text);
    expect(rulesOf(report)).toEqual(['hf.index.path-escape', 'hf.index.path-escape', 'hf.index.path-escape']);
    expect(report.findings[0].evidence).toBe('"a": "../../outside.safetensors"');
    expect(report.findings[0].location.offset).toBe(text.indexOf('"../../outside.safetensors"'));
    expect(report.findings[1].detail).toBe('shard "/etc/passwd" (1 tensors mapped to it) is outside the model folder');
  });

  it.each([
    ['model.safetensors.index.json', '{"weight_map": {}}', 'hf-weight-index'],
    ['model.safetensors.json', '{"weight_map": {}}', 'unknown'],
    ['model.safetensors.index.json', 'nope', 'unknown'],
  ])('%s with %j is %s', async (name, text, format) => {
    expect((await scanText(name, text)).format).toBe(format);
  });

  it.each([
    ['model-00001-of-00002.safetensors', false],
    ['sub/dir/x.bin', false],
    ['..hidden.bin', false],
    ['../x.bin', true],
    ['a/../../x.bin', true],
    ['/abs.bin', true],
    ['\\\\server\\share.bin', true],
    ['D:x.bin', true],
  ])('escapesFolder(%j) is %s', (name, expected) => {
    expect(escapesFolder(name)).toBe(expected);
  });
});
