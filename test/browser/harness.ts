/**
 * Browser test harness, shared by the Chromium tests and the benchmark: a tiny
 * static server for the built app and a hermetic headless Chromium. Nothing
 * here reaches the network: the server binds 127.0.0.1, and Chromium runs with
 * a fresh profile and its background services off.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, realpath, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** The built app (`npm run build` or `npx vite build`). */
export const DIST_DIR = fileURLToPath(new URL('../../dist/', import.meta.url));

/** Debian's Chromium; override with PREFLIGHT_CHROMIUM for another build. */
export const CHROMIUM_PATH = process.env.PREFLIGHT_CHROMIUM ?? '/usr/bin/chromium';

/** Flags that keep a test browser quiet: no GPU, no background requests, no first-run UI. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
] as const;

const MIME_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** Fail early, with the fix, when the app has not been built. */
export function assertDistBuilt(root: string = DIST_DIR): void {
  if (!existsSync(join(root, 'index.html'))) {
    throw new Error(`${join(root, 'index.html')} is missing: build the app first (npm run build, or npx vite build). The browser tests serve the built dist/.`);
  }
}

/** The policy of the page's Content-Security-Policy meta tag, or null. */
export function contentSecurityPolicyOf(html: string): string | null {
  const match = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"/i.exec(html);
  return match ? match[1] : null;
}

export interface StaticServer {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  origin: string;
  close(): Promise<void>;
}

export interface ServeOptions {
  /** Headers added to every response (e.g. a Content-Security-Policy). */
  headers?: Record<string, string>;
}

/** Serve `root` on 127.0.0.1 at a random port. GET and HEAD only; paths that leave `root` are refused. */
export async function serveDirectory(root: string, options: ServeOptions = {}): Promise<StaticServer> {
  const realRoot = await realpath(root);
  const server = createServer((request, response) => {
    handleRequest(realRoot, request, response, options.headers ?? {}).catch(() => {
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(0, '127.0.0.1', () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/`,
    origin,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}

/**
 * Serve the built app the way a careful host would: the page's own policy is
 * also sent as a header, because a meta tag binds only the document and each
 * worker takes the policy of its own script response.
 */
export async function serveDist(root: string = DIST_DIR): Promise<StaticServer> {
  assertDistBuilt(root);
  const policy = contentSecurityPolicyOf(await readFile(join(root, 'index.html'), 'utf8'));
  return serveDirectory(root, { headers: policy ? { 'Content-Security-Policy': policy } : {} });
}

async function handleRequest(
  root: string,
  request: IncomingMessage,
  response: ServerResponse,
  extraHeaders: Record<string, string>,
): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { Allow: 'GET, HEAD' }).end();
    return;
  }
  const file = await resolveInside(root, request.url ?? '/');
  if (file === null) {
    response.writeHead(403).end();
    return;
  }
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) {
    response.writeHead(404).end();
    return;
  }
  const body = await readFile(file);
  response.writeHead(200, {
    'Content-Type': MIME_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': body.length,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...extraHeaders,
  });
  response.end(request.method === 'HEAD' ? undefined : body);
}

/** The file a URL path names under `root`, or null when it is malformed or escapes `root` (also through symlinks). */
export async function resolveInside(root: string, url: string): Promise<string | null> {
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(url, 'http://localhost').pathname);
  } catch {
    return null;
  }
  if (pathname.includes('\0') || pathname.includes('\\')) return null;
  const candidate = resolve(root, `.${pathname.endsWith('/') ? `${pathname}index.html` : pathname}`);
  if (!isInside(root, candidate)) return null;
  const real = await realpath(candidate).catch(() => candidate);
  return isInside(root, real) ? real : null;
}

function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : `${root}${sep}`);
}

export interface LaunchOptions {
  /** Extra Chromium flags. */
  args?: string[];
  headless?: boolean;
}

export interface LaunchedChromium {
  context: BrowserContext;
  /** A page of the context (the one the persistent context opens with). */
  page: Page;
  /** Close the browser and delete its temporary profile. */
  close(): Promise<void>;
}

/** Headless Debian Chromium with a fresh temporary profile, removed on close. */
export async function launchChromium(options: LaunchOptions = {}): Promise<LaunchedChromium> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`Chromium not found at ${CHROMIUM_PATH} (set PREFLIGHT_CHROMIUM)`);
  const profile = await mkdtemp(join(tmpdir(), 'preflight-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: options.headless ?? true,
      args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
      acceptDownloads: true,
      bypassCSP: false,
      offline: false,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    return {
      context,
      page,
      close: async () => {
        await context.close().catch(() => undefined);
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
}

export interface PageWatch {
  /** Every URL requested by the page and its workers, in order. */
  readonly requests: string[];
  /** Every Content-Security-Policy (and Trusted Types) violation reported by the document or a worker. */
  readonly cspViolations: string[];
  /** Errors logged by the browser, the page or its workers (failed loads, uncaught exceptions). */
  readonly errors: string[];
  /** Requested URLs outside `origin` (`data:` URLs and `blob:` URLs of `origin` count as inside). */
  requestsOutside(origin: string): string[];
  stop(): Promise<void>;
}

/**
 * Watch a page before it navigates: requests (including workers'), CSP
 * violations and errors. Violations raised inside a worker reach neither the
 * page's console event nor the document's `securitypolicyviolation` event, so
 * they are read from the DevTools Log domain, which sees both.
 */
export async function watchPage(page: Page): Promise<PageWatch> {
  const requests: string[] = [];
  const cspViolations: string[] = [];
  const errors: string[] = [];
  const context = page.context();
  const onRequest = (request: { url(): string }) => requests.push(request.url());
  const onPageError = (error: Error) => errors.push(`uncaught: ${error.message}`);
  context.on('request', onRequest);
  page.on('pageerror', onPageError);

  const devtools = await context.newCDPSession(page);
  devtools.on('Log.entryAdded', ({ entry }) => {
    // Trusted Types refusals ("requires 'TrustedHTML' assignment") are policy violations too.
    if (entry.source === 'security' || /Content[- ]Security[- ]Policy|'Trusted(HTML|Script|ScriptURL)'/i.test(entry.text)) {
      cspViolations.push(`${entry.source}: ${entry.text}`);
    } else if (entry.level === 'error') {
      errors.push(`${entry.source}: ${entry.text}${entry.url ? ` (${entry.url})` : ''}`);
    }
  });
  await devtools.send('Log.enable');

  return {
    requests,
    cspViolations,
    errors,
    requestsOutside: (origin) => requests.filter((url) => !isOwnUrl(url, origin)),
    async stop() {
      context.off('request', onRequest);
      page.off('pageerror', onPageError);
      await devtools.detach().catch(() => undefined);
    },
  };
}

function isOwnUrl(url: string, origin: string): boolean {
  if (url.startsWith('data:')) return true;
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}
