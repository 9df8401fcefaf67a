import { describe, expect, it } from 'vitest';
import { proto, pickle, global, stop, emptyTuple, reduce } from '../builders/pickle.ts';
import { rulesOf, scanText } from '../folder/scan-helpers.ts';

describe('python-source', () => {
  it('reports each risky line with its byte offset, the line as evidence, and imports in the metadata', async () => {
    const source = '# café\nimport os\nfrom .configuration_x import XConfig\n\ndef run():\n    os.system("id")\n';
    const report = await scanText('m/modeling_x.py', source);
    expect(report.format).toBe('python-source');
    expect(report.verdict).toBe('dangerous');
    expect(report.findings.map((finding) => [finding.rule, finding.detail, finding.location, finding.evidence])).toEqual([
      ['python.process', 'line 6: os.system() runs a program', { offset: Buffer.byteLength(source.slice(0, source.indexOf('    os.system'))) }, 'os.system("id")'],
    ]);
    expect(report.metadata).toEqual({ lines: 7, imports: ['os'], relativeImports: ['configuration_x'] });
  });

  it('is clean for ordinary model code, and for an empty __init__.py', async () => {
    const code = 'import torch\nfrom torch import nn\n\n\nclass M(nn.Module):\n    """Calls eval() nowhere."""\n\n    def forward(self, x):\n        return self.proj(x)\n';
    expect((await scanText('modeling_m.py', code)).verdict).toBe('clean');
    const empty = await scanText('pkg/__init__.py', '');
    expect([empty.format, empty.verdict]).toEqual(['python-source', 'clean']);
  });

  it('leaves a pickle named .py to the pickle module, with a name mismatch', async () => {
    const bytes = pickle(proto(2), global('os', 'system'), emptyTuple(), reduce(), stop());
    const report = await scanText('modeling_x.py', bytes);
    expect(report.format).toBe('pickle');
    expect(rulesOf(report)).toContain('format.extension-mismatch');
  });

  it('does not claim binary content', async () => {
    expect((await scanText('x.py', Uint8Array.of(0x61, 0x00, 0x62))).format).toBe('unknown');
  });
});
