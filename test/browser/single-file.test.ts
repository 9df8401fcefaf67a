/**
 * The single-file build (dist-single/preflight.html): one HTML file a person
 * saves and opens from file://. Everything it needs is inside, its policy
 * admits its inline code by hash only, and it scans files in a worker started
 * from a Blob URL, with no request anywhere but the file itself.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCRIPT_BREAKERS, STYLE_BREAKERS, inlineableText, singleFilePolicy } from '../../scripts/vite-plugins/single-file.ts';
import { SINGLE_FILE_MODE, SINGLE_FILE_NAME, SINGLE_FILE_OUT_DIR } from '../../web/pwa/hosting.ts';
import { buildSafetensors } from '../builders/safetensors.ts';
import { contentSecurityPolicyOf, launchChromium, watchPage, type LaunchedChromium } from './harness.ts';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT_DIR = join(PROJECT_ROOT, SINGLE_FILE_OUT_DIR);
const PAGE_PATH = join(OUT_DIR, SINGLE_FILE_NAME);

const MODEL = buildSafetensors(
  [
    { name: 'transformer.wte.weight', dtype: 'F16', shape: [32, 8] },
    { name: 'transformer.h.0.attn.c_attn.weight', dtype: 'F32', shape: [8, 24] },
  ],
  { format: 'pt' },
);

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function sha256Source(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

const SCRIPT_BLOCK = /<script\b([^>]*)>([\s\S]*?)<\/script>/gi;
const STYLE_BLOCK = /<style\b([^>]*)>([\s\S]*?)<\/style>/gi;

/**
 * The text of every `<tag>` block in `html`, with the attributes of its start
 * tag. Script blocks end only at `</script` (the build refuses code holding
 * one), and may hold anything else, markup in strings included, so styles are
 * looked for only outside them.
 */
function inlineBlocks(html: string, tag: 'script' | 'style'): { attributes: string; text: string }[] {
  const source = tag === 'script' ? html : html.replace(SCRIPT_BLOCK, '');
  return [...source.matchAll(tag === 'script' ? SCRIPT_BLOCK : STYLE_BLOCK)].map((match) => ({ attributes: match[1], text: match[2] }));
}

/** The policy's directives by name. */
function directives(policy: string): Map<string, string[]> {
  return new Map(
    policy
      .split(';')
      .map((directive) => directive.trim().split(/\s+/))
      .filter((tokens) => tokens[0] !== '')
      .map(([name, ...sources]) => [name, sources]),
  );
}

let html: string;
let chromium: LaunchedChromium;

beforeAll(async () => {
  // `npm run build` makes it; build it here when this test runs on its own.
  if (!existsSync(PAGE_PATH)) {
    await promisify(execFile)(process.execPath, [join(PROJECT_ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--mode', SINGLE_FILE_MODE], { cwd: PROJECT_ROOT });
  }
  html = await readFile(PAGE_PATH, 'utf8');
  chromium = await launchChromium();
});

afterAll(async () => {
  await chromium?.close();
});

describe('the single-file build', () => {
  it('is one HTML file and nothing else', async () => {
    await expect(readdir(OUT_DIR, { recursive: true })).resolves.toEqual([SINGLE_FILE_NAME]);
  });

  it('inlines its one script and stylesheet, and refers to no other file', () => {
    const scripts = inlineBlocks(html, 'script');
    expect(scripts).toHaveLength(1);
    expect(scripts[0].attributes.trim()).toBe('type="module"');
    expect(inlineBlocks(html, 'style')).toHaveLength(1);
    const markup = html.replace(SCRIPT_BLOCK, '');
    expect(markup).not.toMatch(/<script\b/i);
    expect(markup).not.toMatch(/<link\b(?![^>]*href="data:)[^>]*>/i);
    // No service worker and no manifest: nothing to precache, and file:// has neither.
    expect(scripts[0].text).not.toContain('serviceWorker');
    expect(scripts[0].text).not.toContain('manifest.webmanifest');
  });

  it('admits each inline block by its SHA-256, never by unsafe-inline, and workers from blob: only', () => {
    const policy = contentSecurityPolicyOf(html) ?? '';
    const byName = directives(policy);
    expect(policy).not.toContain('unsafe-inline');
    expect(policy).not.toContain("'self'");
    expect(byName.get('script-src')).toEqual([...inlineBlocks(html, 'script').map((block) => sha256Source(block.text)), "'wasm-unsafe-eval'"]);
    expect(byName.get('style-src')).toEqual(inlineBlocks(html, 'style').map((block) => sha256Source(block.text)));
    expect(byName.get('worker-src')).toEqual(['blob:']);
    expect(byName.get('connect-src')).toEqual(["'none'"]);
    expect(byName.get('default-src')).toEqual(["'none'"]);
    expect(byName.get('require-trusted-types-for')).toEqual(["'script'"]);
    expect(byName.has('manifest-src')).toBe(false);
  });

  it('opened from file://, scans a file: tensor table, verdict, and the same SHA-256 as node:crypto', async () => {
    const page = await chromium.context.newPage();
    const watch = await watchPage(page);
    try {
      const pageUrl = pathToFileURL(PAGE_PATH).href;
      await page.goto(pageUrl);
      await page.getByTestId('file-input').setInputFiles([{ name: 'model.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(MODEL) }]);
      const card = page.locator('[data-testid="file-card"][data-path="model.safetensors"]');
      await card.and(page.locator('[data-status="done"]')).waitFor({ timeout: 60_000 });

      await expect(card.getByTestId('verdict').getAttribute('data-verdict')).resolves.toBe('clean');
      await expect(card.getByTestId('file-format').textContent()).resolves.toBe('safetensors');
      await expect(card.getByTestId('sha256').textContent()).resolves.toBe(sha256Hex(MODEL));
      const rows = card.getByTestId('tensor-row');
      await expect(rows.getByTestId('tensor-name').allTextContents()).resolves.toEqual(['transformer.wte.weight', 'transformer.h.0.attn.c_attn.weight']);
      await expect(rows.getByTestId('tensor-dtype').allTextContents()).resolves.toEqual(['F16', 'F32']);
      await expect(rows.getByTestId('tensor-shape').allTextContents()).resolves.toEqual(['[32, 8]', '[8, 24]']);

      // The page itself, and the worker from its own Blob URL; nothing else, anywhere.
      expect(watch.requests.filter((url) => url !== pageUrl && !url.startsWith('blob:null/') && !url.startsWith('data:'))).toEqual([]);
      expect(watch.requests).toContain(pageUrl);
      expect(watch.cspViolations).toEqual([]);
      expect(watch.errors).toEqual([]);
    } finally {
      await watch.stop();
      await page.close();
    }
  });
});

describe('single-file policy and inlining', () => {
  const PAGE_POLICY =
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; style-src 'self'; img-src data:; connect-src 'none'; manifest-src 'self'; trusted-types preflight-worker";

  it('swaps self for the hashes, workers for blob:, drops the manifest, keeps the rest', () => {
    const policy = singleFilePolicy(PAGE_POLICY, { scripts: ['run()'], styles: ['p{}', 'a{}'] });
    expect(policy).toBe(
      [
        "default-src 'none'",
        `script-src ${sha256Source('run()')} 'wasm-unsafe-eval'`,
        'worker-src blob:',
        `style-src ${sha256Source('p{}')} ${sha256Source('a{}')}`,
        'img-src data:',
        "connect-src 'none'",
        'trusted-types preflight-worker',
      ].join('; '),
    );
  });

  it("refuses a page policy that would let inline code in with 'unsafe-inline'", () => {
    expect(() => singleFilePolicy("script-src 'self' 'unsafe-inline'", { scripts: ['x'], styles: [] })).toThrow(/unsafe-inline/);
  });

  it.each([
    ['a closing script tag', 'const s = "</SCRIPT>";', /"<\/SCRIPT" at offset 11/],
    ['an HTML comment opener', 'const s = "<!--";', /"<!--" at offset 11/],
    ['a NUL character', 'const s = "\0";', /NUL/],
  ])('refuses a script with %s, which would break out of its block', (_name, code, message) => {
    expect(() => inlineableText(code, 'index.js', SCRIPT_BREAKERS)).toThrow(message);
  });

  it('refuses a stylesheet with a closing style tag', () => {
    expect(() => inlineableText('a::after{content:"</style>"}', 'index.css', STYLE_BREAKERS)).toThrow(/"<\/style" at offset 18/);
  });

  it('normalises line breaks as the HTML parser does, so the hash matches what the browser hashes', () => {
    expect(inlineableText('a\r\nb\rc\n', 'index.js', [])).toBe('a\nb\nc\n');
  });
});
