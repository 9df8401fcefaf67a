/**
 * The harness must be trustworthy before the app tests can be: the server
 * serves the right types and nothing outside its root, and the page watch
 * really sees foreign requests and CSP violations (including a worker's).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentSecurityPolicyOf, launchChromium, serveDirectory, watchPage, type StaticServer } from './harness.ts';

const POLICY = "default-src 'none'; script-src 'self'; worker-src 'self'; img-src 'self'; connect-src 'none'";

let root: string;
let server: StaticServer;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'preflight-harness-'));
  await writeFile(join(root, 'module.wasm'), new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
  await writeFile(join(root, 'app.js'), 'export {};\n');
  await writeFile(join(root, 'index.html'), '<!doctype html><title>harness</title>');
  server = await serveDirectory(root);
});

afterAll(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

/** A raw request, so that `..` segments reach the server as written. */
function rawGet(path: string, method = 'GET'): Promise<{ status: number; type: string | undefined }> {
  const { port, hostname } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: hostname, port, path, method }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, type: response.headers['content-type'] }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

describe('serveDirectory', () => {
  it.each([
    ['/', 200, 'text/html; charset=utf-8'],
    ['/module.wasm', 200, 'application/wasm'],
    ['/app.js', 200, 'text/javascript; charset=utf-8'],
    ['/missing.js', 404, undefined],
  ])('GET %s answers %i with %s', async (path, status, type) => {
    const response = await rawGet(path);
    expect(response.status).toBe(status);
    if (type) expect(response.type).toBe(type);
  });

  it.each(['/../package.json', '/..%2f..%2fetc%2fpasswd', '/%2e%2e/%2e%2e/etc/passwd', '/..\\..\\etc\\passwd', '/a%00.js', '/%E0%A4%A'])(
    'refuses %s',
    async (path) => {
      const response = await rawGet(path);
      expect([403, 404]).toContain(response.status);
      expect(response.type).toBeUndefined();
    },
  );

  it('refuses methods other than GET and HEAD', async () => {
    await expect(rawGet('/', 'POST')).resolves.toMatchObject({ status: 405 });
  });
});

describe('contentSecurityPolicyOf', () => {
  it('reads the meta tag, and gives null without one', () => {
    expect(contentSecurityPolicyOf(`<meta http-equiv="Content-Security-Policy" content="${POLICY}" />`)).toBe(POLICY);
    expect(contentSecurityPolicyOf('<meta charset="utf-8">')).toBeNull();
  });
});

describe('watchPage', () => {
  it('sees violations in the document and in a worker, and requests to another origin', async () => {
    const badRoot = await mkdtemp(join(tmpdir(), 'preflight-bad-page-'));
    const other = await serveDirectory(root);
    await writeFile(
      join(badRoot, 'index.html'),
      `<!doctype html><meta http-equiv="Content-Security-Policy" content="${POLICY}">` +
        `<img src="${other.url}app.js"><script type="module" src="./main.js"></script>`,
    );
    await writeFile(join(badRoot, 'main.js'), "new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });\n");
    await writeFile(join(badRoot, 'worker.js'), "fetch('http://127.0.0.1:9/from-worker').catch(() => {});\n");
    const bad = await serveDirectory(badRoot, { headers: { 'Content-Security-Policy': POLICY } });
    const chromium = await launchChromium();
    try {
      const watch = await watchPage(chromium.page);
      await chromium.page.goto(bad.url);
      await expect.poll(() => watch.cspViolations.some((text) => text.includes('from-worker')), { timeout: 10_000 }).toBe(true);
      // The image is refused by img-src: a violation, and still an attempted foreign request.
      expect(watch.cspViolations.some((text) => text.includes(other.origin))).toBe(true);
      expect(watch.requestsOutside(bad.origin)).toEqual([`${other.url}app.js`]);
      await watch.stop();
    } finally {
      await chromium.close();
      await bad.close();
      await other.close();
      await rm(badRoot, { recursive: true, force: true });
    }
  });
});
