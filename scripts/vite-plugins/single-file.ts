/**
 * The single-file build: one HTML file that a person can save and open from
 * file://, with no other file beside it and no service worker.
 *
 * - Each `?worker&url` import becomes a Blob URL made from the worker bundled
 *   as one classic script (a module worker from a Blob URL cannot start on a
 *   file:// page, whose origin is opaque). Its Wasm is already embedded bytes.
 * - The page's one script and one stylesheet are inlined, and the page's
 *   policy is rewritten for that: each inline block is admitted by its SHA-256
 *   (never 'unsafe-inline'), workers by `blob:`, and the manifest is dropped.
 *
 * Why not vite-plugin-singlefile: it inlines, but it cannot know our policy,
 * so the hashing and rewriting here would be needed anyway, and inlining
 * one script and one stylesheet is a few lines more.
 */
import { createHash } from 'node:crypto';
import type { Plugin, Rolldown } from 'vite';
import { bundleClassicScript } from './classic-script.ts';

const WORKER_URL_IMPORT = /\?worker&url$/;
const INLINE_WORKER_ID = '\0preflight-inline-worker:';
const CSP_META = /(<meta\s+http-equiv="Content-Security-Policy"\s+content=")([^"]*)("\s*\/?>)/i;

/** What ends an inline block early (or, for `<!--`, makes the HTML parser look for one differently). */
export const SCRIPT_BREAKERS = [/<\/script/i, /<!--/];
export const STYLE_BREAKERS = [/<\/style/i];

export interface SingleFileOptions {
  /** The HTML file written to the output folder, e.g. `preflight.html`. */
  fileName: string;
}

/** `'sha256-…'`, the policy source that admits exactly this inline block. */
export function inlineHashSource(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/**
 * The page's policy for the single file: scripts and styles admitted by the
 * hashes of the inline blocks instead of 'self' (there is no other file to
 * load), workers by `blob:` only, no manifest; every other directive kept.
 */
export function singleFilePolicy(pagePolicy: string, inline: { scripts: string[]; styles: string[] }): string {
  const directives = pagePolicy
    .split(';')
    .map((directive) => directive.trim().split(/\s+/))
    .filter((tokens) => tokens[0] !== '');
  const rewritten: string[] = [];
  for (const [name, ...sources] of directives) {
    const others = sources.filter((source) => source !== "'self'");
    if (name === 'manifest-src') continue;
    if (name === 'script-src') rewritten.push([name, ...inline.scripts.map(inlineHashSource), ...others].join(' '));
    else if (name === 'style-src') rewritten.push([name, ...inline.styles.map(inlineHashSource), ...others].join(' '));
    else if (name === 'worker-src') rewritten.push('worker-src blob:');
    else rewritten.push([name, ...sources].join(' '));
  }
  const policy = rewritten.join('; ');
  if (policy.includes("'unsafe-inline'")) throw new Error(`The single-file policy must not allow 'unsafe-inline': ${policy}`);
  return policy;
}

/**
 * Text as the HTML parser will hand it to the browser's hasher: line breaks
 * normalised. Refuses what would end the block early, since escaping it would
 * need to know whether it sits in a string, a regular expression or code.
 */
export function inlineableText(text: string, what: string, breakers: RegExp[]): string {
  const normalized = text.replace(/\r\n?/g, '\n');
  if (normalized.includes('\0')) throw new Error(`${what} contains a NUL character, which the HTML parser would replace`);
  for (const breaker of breakers) {
    const match = breaker.exec(normalized);
    if (match) throw new Error(`${what} contains ${JSON.stringify(match[0])} at offset ${match.index}, which would end its inline block early`);
  }
  return normalized;
}

/** A module whose default export is a Blob URL of `code`. Base64, so no byte of it can end an inline script. */
function blobUrlModule(code: string): string {
  const base64 = Buffer.from(code, 'utf8').toString('base64');
  return [
    `const bytes = Uint8Array.from(atob(${JSON.stringify(base64)}), (char) => char.charCodeAt(0));`,
    `export default URL.createObjectURL(new Blob([bytes], { type: 'text/javascript' }));`,
  ].join('\n');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Replace the one tag matching `pattern`, or fail: a tag left behind would point at a file that is not there. */
function replaceTag(html: string, pattern: RegExp, replacement: string, what: string): string {
  const matches = html.match(new RegExp(pattern.source, `${pattern.flags}g`)) ?? [];
  if (matches.length !== 1) throw new Error(`Expected one ${what} in the page, found ${matches.length}`);
  return html.replace(pattern, () => replacement);
}

function sourceText(item: Rolldown.OutputAsset): string {
  return typeof item.source === 'string' ? item.source : Buffer.from(item.source).toString('utf8');
}

/** Inline workers, the script and the stylesheet into one HTML file named `options.fileName`. */
export function singleFile(options: SingleFileOptions): Plugin {
  let root = process.cwd();
  return {
    name: 'preflight:single-file',
    apply: 'build',
    enforce: 'pre',
    configResolved(config) {
      root = config.root;
    },
    async resolveId(source, importer) {
      if (!WORKER_URL_IMPORT.test(source)) return null;
      const resolved = await this.resolve(source.replace(WORKER_URL_IMPORT, ''), importer, { skipSelf: true });
      if (!resolved) throw new Error(`Cannot resolve the worker ${source} imported by ${importer}`);
      return `${INLINE_WORKER_ID}${resolved.id}`;
    },
    async load(id) {
      if (!id.startsWith(INLINE_WORKER_ID)) return null;
      return blobUrlModule(await bundleClassicScript(id.slice(INLINE_WORKER_ID.length), { root }));
    },
    generateBundle: {
      order: 'post',
      handler(_options, bundle) {
        const items = Object.values(bundle);
        const page = items.find((item): item is Rolldown.OutputAsset => item.type === 'asset' && item.fileName.endsWith('.html'));
        const scripts = items.filter((item): item is Rolldown.OutputChunk => item.type === 'chunk');
        const styles = items.filter((item): item is Rolldown.OutputAsset => item.type === 'asset' && item.fileName.endsWith('.css'));
        const others = items.filter((item) => item !== page && !scripts.includes(item as Rolldown.OutputChunk) && !styles.includes(item as Rolldown.OutputAsset));
        if (!page || scripts.length !== 1 || styles.length > 1 || others.length > 0) {
          throw new Error(`The single-file build must be one page, one script and at most one stylesheet; got ${items.map((item) => item.fileName).join(', ')}`);
        }

        const script = inlineableText(scripts[0].code, scripts[0].fileName, SCRIPT_BREAKERS);
        const inlineStyles = styles.map((style) => inlineableText(sourceText(style), style.fileName, STYLE_BREAKERS));

        // The policy first, while the page still holds nothing but its own markup.
        let html = sourceText(page);
        const policyMatch = CSP_META.exec(html);
        if (!policyMatch) throw new Error('The page has no Content-Security-Policy meta tag to rewrite');
        const policy = singleFilePolicy(policyMatch[2], { scripts: [script], styles: inlineStyles });
        html = html.replace(CSP_META, (_match, before: string, _policy: string, after: string) => `${before}${policy}${after}`);

        styles.forEach((style, index) => {
          const linkTag = new RegExp(`<link\\b[^>]*\\bhref="(?:\\./)?${escapeRegExp(style.fileName)}"[^>]*>`);
          html = replaceTag(html, linkTag, `<style>${inlineStyles[index]}</style>`, `stylesheet link for ${style.fileName}`);
        });
        // The script last: its text is never searched for tags.
        const scriptTag = new RegExp(`<script\\b[^>]*\\bsrc="(?:\\./)?${escapeRegExp(scripts[0].fileName)}"[^>]*></script>`);
        html = replaceTag(html, scriptTag, `<script type="module">${script}</script>`, `script tag for ${scripts[0].fileName}`);

        for (const item of items) delete bundle[item.fileName];
        this.emitFile({ type: 'asset', fileName: options.fileName, source: html });
      },
    },
  };
}
