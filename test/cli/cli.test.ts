import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE_OR_IO, runCli } from '../../src/cli/main.ts';
import type { Report } from '../../src/report/types.ts';

const run = promisify(execFile);

async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text) });
  return { code, stdout, stderr };
}

/** The first bytes of a protocol-4 pickle: a format that can run code, so it is never reported clean. */
const PICKLE_HEAD = Uint8Array.of(0x80, 0x04, 0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2e);

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'preflight-cli-'));
  await mkdir(join(folder, 'model', 'nested', 'deeper'), { recursive: true });
  await writeFile(join(folder, 'model', 'README.md'), '# a model\n');
  await writeFile(join(folder, 'model', 'nested', 'deeper', 'notes.txt'), 'plain text');
  await writeFile(join(folder, 'weights.pkl'), PICKLE_HEAD);
  await symlink('/etc/passwd', join(folder, 'model', 'link-to-passwd'));
});

describe('preflight CLI', () => {
  it('prints help and version with exit 0', async () => {
    expect(await cli('--help')).toMatchObject({ code: EXIT_OK, stdout: expect.stringContaining('Usage: preflight scan') });
    expect((await cli('--version')).stdout).toMatch(/^preflight \d+\.\d+\.\d+\n$/);
  });

  it.each([
    [[], 'missing command'],
    [['inspect', 'x'], 'unknown command'],
    [['scan'], 'at least one PATH'],
    [['scan', 'x', '--format', 'xml'], '--format must be one of'],
    [['scan', 'x', '--fail-on', 'severe'], '--fail-on must be one of'],
    [['scan', 'x', '--bogus'], 'bogus'],
  ])('exits 2 on usage error %j', async (argv, message) => {
    const result = await cli(...argv);
    expect(result.code).toBe(EXIT_USAGE_OR_IO);
    expect(result.stderr).toContain(message);
  });

  it('exits 2 on a path that does not exist', async () => {
    const result = await cli('scan', join(folder, 'missing.safetensors'));
    expect(result.code).toBe(EXIT_USAGE_OR_IO);
    expect(result.stderr).toContain('ENOENT');
  });

  it('walks folders recursively, in name order, without following symlinks', async () => {
    const result = await cli('scan', join(folder, 'model'), '--format', 'json');
    expect(result.code).toBe(EXIT_OK);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.files.map((file) => file.path)).toEqual([
      `${join(folder, 'model')}/README.md`,
      `${join(folder, 'model')}/nested/deeper/notes.txt`,
    ]);
    expect(result.stderr).toContain('symbolic link, not followed');
    expect(report.files[0].sha256).toBe(createHash('sha256').update('# a model\n').digest('hex'));
  });

  it('emits the Report contract as JSON', async () => {
    const result = await cli('scan', join(folder, 'model', 'README.md'), '--format', 'json');
    const report = JSON.parse(result.stdout) as Report;
    expect(report).toMatchObject({ schemaVersion: 1, tool: { name: 'preflight' }, files: [{ format: 'unknown', verdict: 'clean', size: 10 }] });
    expect(Object.keys(report.files[0]).sort()).toEqual(['findings', 'format', 'metadata', 'path', 'sha256', 'size', 'tensors', 'verdict']);
  });

  it('exits 1 when a finding reaches --fail-on, 0 when it does not', async () => {
    const pickle = join(folder, 'weights.pkl');
    expect((await cli('scan', pickle)).code).toBe(EXIT_FINDINGS);
    expect((await cli('scan', pickle, '--fail-on', 'critical')).code).toBe(EXIT_OK);
    expect((await cli('scan', pickle, '--fail-on', 'none')).code).toBe(EXIT_OK);
    expect((await cli('scan', join(folder, 'model'), '--fail-on', 'info')).code).toBe(EXIT_FINDINGS);
  });

  it.each([
    ['sarif', (text: string) => expect(JSON.parse(text)).toMatchObject({ version: '2.1.0', runs: [{ tool: { driver: { name: 'preflight' } } }] })],
    ['cyclonedx', (text: string) => expect(JSON.parse(text)).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.6' })],
    ['markdown', (text: string) => expect(text).toMatch(/^#/)],
    ['html', (text: string) => expect(text).toMatch(/^<!doctype html>/i)],
  ])('writes --format %s', async (format, check) => {
    const result = await cli('scan', join(folder, 'model'), '--format', format);
    expect(result.code).toBe(EXIT_OK);
    check(result.stdout);
    expect(result.stdout).toContain('README.md');
  });

  it('writes the report to --output', async () => {
    const output = join(folder, 'report.json');
    const result = await cli('scan', join(folder, 'model'), '--format', 'json', '--output', output);
    expect(result.stdout).toBe('');
    expect(JSON.parse(await readFile(output, 'utf8')).files).toHaveLength(2);
  });

  it('runs as the package bin', async () => {
    const { stdout } = await run(process.execPath, ['bin/preflight.js', 'scan', join(folder, 'model', 'README.md')]);
    expect(stdout).toContain('verdict  CLEAN');
  }, 30_000);
});
