import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { FormatModule, Inspection, StreamScanner } from '../../src/formats/types.ts';
import { createNodeSha256 } from '../../src/hash/node-sha256.ts';
import { createMemorySource } from '../../src/io/memory-source.ts';
import { ParseError } from '../../src/io/parse-error.ts';
import type { FileReport } from '../../src/report/types.ts';
import { createFinding } from '../../src/rules/index.ts';
import { scanSource } from '../../src/scan.ts';

const bytes = Uint8Array.from({ length: 10_000 }, (_, index) => (index * 7) & 0xff);
const sha256 = createHash('sha256').update(bytes).digest('hex');

/** A test format that claims `.test` files starting with 0x00 and records what its scanners saw. */
function testFormat(inspect: () => Promise<Inspection>): FormatModule {
  return { id: 'test', label: 'Test format', extensions: ['.test'], detect: (head) => head[0] === 0, inspect };
}

function recordingScanner(offset: number, length: number, received: number[][]): StreamScanner {
  const seen: number[] = [];
  received.push(seen);
  return {
    offset,
    length,
    push(chunk) {
      seen.push(...chunk);
    },
    finish() {
      return { tensors: [], metadata: { [`scanned@${offset}`]: seen.length }, findings: [] };
    },
  };
}

describe('scanSource', () => {
  it('reports an unknown format with its hash and an info finding, verdict clean', async () => {
    const report = await scanSource(createMemorySource(bytes.map((b) => b | 1), 'notes.txt'), { createSha256: createNodeSha256, formats: [] });
    expect(report.format).toBe('unknown');
    expect(report.verdict).toBe('clean');
    expect(report.findings.map((finding) => finding.rule)).toEqual(['format.unsupported']);
    expect(report.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('flags a name that claims a format the content is not', async () => {
    const format = testFormat(async () => ({ tensors: [], metadata: {}, findings: [] }));
    const report = await scanSource(createMemorySource(Uint8Array.of(1, 2, 3), 'model.test'), {
      createSha256: createNodeSha256,
      formats: [format],
    });
    expect(report.findings.map((finding) => finding.rule)).toContain('format.extension-mismatch');
    expect(report.verdict).toBe('suspicious');
  });

  it('feeds each stream scanner exactly the bytes of its range, for any chunk size', async () => {
    for (const chunkSize of [1, 7, 1000, 4096, 1 << 20]) {
      const received: number[][] = [];
      const format = testFormat(async () => ({
        tensors: [],
        metadata: {},
        findings: [],
        streamScanners: [recordingScanner(0, 10, received), recordingScanner(4090, 20, received), recordingScanner(9990, 50, received)],
      }));
      const report = await scanSource(createMemorySource(bytes, 'x.test'), { createSha256: createNodeSha256, formats: [format], chunkSize });
      expect(received[0]).toEqual([...bytes.subarray(0, 10)]);
      expect(received[1]).toEqual([...bytes.subarray(4090, 4110)]);
      expect(received[2]).toEqual([...bytes.subarray(9990)]);
      expect(report.metadata).toEqual({ 'scanned@0': 10, 'scanned@4090': 20, 'scanned@9990': 10 });
      expect(report.sha256).toBe(sha256);
    }
  });

  it('turns a ParseError from inspect into its malformed finding, and still hashes', async () => {
    const format = testFormat(async () => {
      throw new ParseError('scan.read-error', 42, 'broken at 42');
    });
    const report = await scanSource(createMemorySource(bytes, 'x.test'), { createSha256: createNodeSha256, formats: [format] });
    expect(report.findings).toMatchObject([{ rule: 'scan.read-error', location: { offset: 42 }, detail: 'broken at 42' }]);
    expect(report.verdict).toBe('malformed');
    expect(report.sha256).toBe(sha256);
  });

  it('turns any other exception into an internal-error finding instead of crashing', async () => {
    const format = testFormat(async () => {
      throw new TypeError('boom');
    });
    const report = await scanSource(createMemorySource(bytes, 'x.test'), { createSha256: createNodeSha256, formats: [format] });
    expect(report.findings.map((finding) => finding.rule)).toEqual(['scan.internal-error']);
    expect(report.sha256).toBe(sha256);
  });

  it('reports a scanner that throws as a finding, and the hash is unaffected', async () => {
    const format = testFormat(async () => ({
      tensors: [],
      metadata: {},
      findings: [],
      streamScanners: [
        { offset: 0, length: 100, push: () => { throw new RangeError('scanner bug'); }, finish: () => ({ tensors: [], metadata: {}, findings: [] }) },
      ],
    }));
    const report = await scanSource(createMemorySource(bytes, 'x.test'), { createSha256: createNodeSha256, formats: [format], chunkSize: 10 });
    expect(report.findings).toMatchObject([{ rule: 'scan.internal-error', detail: 'scanner bug' }]);
    expect(report.sha256).toBe(sha256);
  });

  it('sends the header before the pass and progress up to the full size', async () => {
    const events: string[] = [];
    let header: FileReport | null = null;
    const format = testFormat(async () => ({
      tensors: [{ name: 't', dtype: 'F32', shape: [2], offset: 0, length: 8 }],
      metadata: {},
      findings: [createFinding('format.not-inspected', { detail: 'x' })],
    }));
    const report = await scanSource(createMemorySource(bytes, 'x.test'), {
      createSha256: createNodeSha256,
      formats: [format],
      chunkSize: 100,
      onHeader(value) {
        header = value;
        events.push('header');
      },
      onProgress({ bytesDone, bytesTotal }) {
        events.push(`progress ${bytesDone}/${bytesTotal}`);
      },
    });
    expect(events[0]).toBe('header');
    expect(events.at(-1)).toBe(`progress ${bytes.length}/${bytes.length}`);
    expect(header).toMatchObject({ sha256: null, format: 'test', verdict: 'suspicious', tensors: [{ name: 't' }] });
    expect(report.sha256).toBe(sha256);
  });

  it('keeps a metadata key named __proto__ as a key', async () => {
    const hostile = JSON.parse('{"__proto__": {"polluted": true}}');
    const format = testFormat(async () => ({
      tensors: [],
      metadata: {},
      findings: [],
      streamScanners: [{ offset: 0, length: 1, push() {}, finish: () => ({ tensors: [], metadata: hostile, findings: [] }) }],
    }));
    const report = await scanSource(createMemorySource(bytes, 'x.test'), { createSha256: createNodeSha256, formats: [format] });
    expect(Object.getPrototypeOf(report.metadata)).toBe(Object.prototype);
    expect(Object.keys(report.metadata)).toEqual(['__proto__']);
    expect((report.metadata as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects with AbortError when cancelled during the pass', async () => {
    const controller = new AbortController();
    const promise = scanSource(createMemorySource(bytes, 'x.bin'), {
      createSha256: createNodeSha256,
      formats: [],
      chunkSize: 10,
      signal: controller.signal,
      onHeader: () => controller.abort(),
    });
    await expect(promise).rejects.toMatchObject({ name: 'AbortError' });
  });
});
