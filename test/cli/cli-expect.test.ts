import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE_OR_IO, runCli } from '../../src/cli/main.ts';
import { MAX_EXPECTATION_FILE_BYTES } from '../../src/provenance/node-expectation-files.ts';
import type { Report } from '../../src/report/types.ts';
import { fixtureCertificate, modelSigningStatement, sigstoreBundle } from '../provenance/bundle-builder.ts';

async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text) });
  return { code, stdout, stderr };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const README = '# a model\n';
const NOTES = 'plain text';
/** A protocol-4 pickle head: a high finding, so --fail-on decides the exit code when hashes agree. */
const PICKLE_HEAD = Uint8Array.of(0x80, 0x04, 0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2e);

let folder: string;
let model: string;
const at = (name: string) => join(folder, name);

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'preflight-cli-expect-'));
  model = at('my-model');
  await mkdir(join(model, 'sub'), { recursive: true });
  await writeFile(join(model, 'README.md'), README);
  await writeFile(join(model, 'sub', 'notes.txt'), NOTES);
  await writeFile(at('weights.pkl'), PICKLE_HEAD);
  await writeFile(at('good.sha256'), `${sha256(README)}  README.md\n${sha256(NOTES)} *./sub/notes.txt\n`);
  await writeFile(at('bad.sha256'), `${sha256(README)}  README.md\n${'0'.repeat(64)}  sub/notes.txt\n`);
  await writeFile(at('partly-broken.sha256'), `${sha256(README)}  README.md\nnot a line\n`);
  await writeFile(at('not-a-listing.txt'), 'hello\nworld\n');
  await writeFile(at('pickle.sha256'), `${sha256('something else')}  weights.pkl\n`);
  await writeFile(at('pasted.txt'), `${sha256(README)}\n`);
  const bundle = sigstoreBundle({
    statement: modelSigningStatement([{ name: 'README.md', digest: sha256(README) }]),
    certificateDer: fixtureCertificate('fulcio-like.der'),
  });
  await writeFile(at('model.sig'), JSON.stringify(bundle));
  await writeFile(at('broken.sig'), JSON.stringify({ ...bundle, dsseEnvelope: { payload: '!!', payloadType: 'application/vnd.in-toto+json', signatures: [] } }));
  await writeFile(at('huge.sha256'), '');
  await truncate(at('huge.sha256'), MAX_EXPECTATION_FILE_BYTES + 1);
});

describe('preflight scan --expect', () => {
  it('exits 0 when every listed hash matches, and the JSON report has provenance', async () => {
    const result = await cli('scan', model, '--expect', at('good.sha256'), '--format', 'json');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(EXIT_OK);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.provenance?.files.map((file) => file.status)).toEqual(['matches', 'matches']);
    expect(report.provenance?.sources).toEqual([
      { name: at('good.sha256'), kind: 'sha256sums', entries: 2, problems: [], notes: [] },
    ]);
  });

  it('exits 1 when a hash differs, even with --fail-on none, and shows expected and actual', async () => {
    const result = await cli('scan', model, '--expect', at('bad.sha256'), '--fail-on', 'none');
    expect(result.code).toBe(EXIT_FINDINGS);
    expect(result.stdout).toContain(`DIFFERS     ${model}/sub/notes.txt`);
    expect(result.stdout).toContain(`expected ${'0'.repeat(64)} (${at('bad.sha256')} line 2)`);
    expect(result.stdout).toContain(`actual   ${sha256(NOTES)}`);
  });

  it('matching hashes do not hide findings: --fail-on still applies', async () => {
    const pickle = at('weights.pkl');
    await writeFile(at('pickle-good.sha256'), `${createHash('sha256').update(PICKLE_HEAD).digest('hex')}  weights.pkl\n`);
    expect((await cli('scan', pickle, '--expect', at('pickle-good.sha256'))).code).toBe(EXIT_FINDINGS);
    expect((await cli('scan', pickle, '--expect', at('pickle-good.sha256'), '--fail-on', 'none')).code).toBe(EXIT_OK);
    expect((await cli('scan', pickle, '--expect', at('pickle.sha256'), '--fail-on', 'none')).code).toBe(EXIT_FINDINGS);
  });

  it('takes --expect more than once and reads each kind', async () => {
    const result = await cli('scan', model, '--expect', at('good.sha256'), '--expect', at('model.sig'), '--expect', at('pasted.txt'), '--format', 'json');
    expect(result.code).toBe(EXIT_OK);
    const provenance = (JSON.parse(result.stdout) as Report).provenance!;
    expect(provenance.sources.map((source) => source.kind)).toEqual(['sha256sums', 'model-signing-bundle', 'sha256']);
    expect(provenance.files[0].claims.map((claim) => claim.kind)).toEqual(['sha256sums', 'model-signing-bundle', 'sha256']);
    expect(provenance.sources[1].signature?.verified).toBe(false);
    expect(provenance.sources[1].signature?.signer.names[0]).toEqual({ kind: 'email', value: 'signer@example.com' });
  });

  it('the text report shows the signature as an unverified claim with the verify command', async () => {
    const result = await cli('scan', model, '--expect', at('model.sig'));
    expect(result.stdout).toContain('signed by (UNVERIFIED claim): email signer@example.com');
    expect(result.stdout).toContain(`verify: model_signing verify sigstore MODEL_PATH --signature ${at('model.sig')}`);
    expect(result.stdout).toContain('NOT LISTED');
  });

  it('keeps a listing with some bad lines and shows its problems', async () => {
    const result = await cli('scan', model, '--expect', at('partly-broken.sha256'));
    expect(result.code).toBe(EXIT_OK);
    expect(result.stdout).toContain('problem: line 2: expected 64 hex digits then two spaces and a path; found "not a line"');
  });

  it.each<[string, string, RegExp]>([
    ['a missing file', 'missing.sha256', /--expect .*missing\.sha256: ENOENT/],
    ['a folder', 'my-model', /my-model: not a regular file/],
    ['a file over the size limit', 'huge.sha256', new RegExp(`exceeds the ${MAX_EXPECTATION_FILE_BYTES}-byte limit`)],
    ['a file that is no listing', 'not-a-listing.txt', /not-a-listing\.txt: not recognised as a SHA-256.*line 1: expected 64 hex digits/],
    ['a bundle with no usable payload', 'broken.sig', /broken\.sig: dsseEnvelope.payload is not base64/],
  ])('exits 2 before scanning for %s', async (_, name, message) => {
    const result = await cli('scan', model, '--expect', at(name));
    expect(result.code).toBe(EXIT_USAGE_OR_IO);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
  });

  it('--expect needs a value', async () => {
    const result = await cli('scan', model, '--expect');
    expect(result.code).toBe(EXIT_USAGE_OR_IO);
    expect(result.stderr).toContain('--expect');
  });

  it('the usage text documents --expect and its exit codes', async () => {
    const { stdout } = await cli('--help');
    expect(stdout).toContain('--expect FILE');
    expect(stdout).toContain('a SHA-256 differs');
  });

  it('without --expect the report has no provenance', async () => {
    const result = await cli('scan', model, '--format', 'json');
    expect(JSON.parse(result.stdout)).not.toHaveProperty('provenance');
  });
});
