// What the browser tests share: paths, the test vectors, a tiny static server for the built
// page (web/pkg/, made by `cargo xtask build`), and headless Chromium.
import { createServer } from 'node:http';
import { readFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(here, '..', '..');
export const WEB = join(ROOT, 'web', 'pkg');
export const ARTIFACTS = join(here, 'artifacts');
export const CHROMIUM = process.env.KEYWARD_CHROMIUM || '/usr/bin/chromium';

let cached;
/** tests/vectors/vectors.json. */
export function vectors() {
  cached ??= JSON.parse(readFileSync(join(ROOT, 'tests/vectors/vectors.json'), 'utf8'));
  return cached;
}

/** The input of the vector case `name`. */
export function input(name) {
  const c = vectors().cases.find((x) => x.name === name);
  if (!c) throw new Error(`no vector case ${name}`);
  return c.input;
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

/**
 * Serves the built page on 127.0.0.1 (random port) with GET /config.json built from the
 * vectors' public keys — what `keyward web` serves. With `activate`, `online` is true and
 * POSTs to /api/v1/activations are answered by `activate(body)` (a fake merchant service).
 * `publicKeys` replaces the vectors' keys in config.json; `merchant` adds `merchant_name`,
 * `product_name`, `support_contact`. `requests` lists every path asked for.
 */
export async function startServer({ activate = null, publicKeys = vectors().public_keys, merchant = {} } = {}) {
  const config = {
    public_keys: publicKeys,
    merchant_name: null,
    product_name: null,
    support_contact: null,
    ...merchant,
    online: Boolean(activate),
  };
  const requests = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    requests.push(`${req.method} ${url.pathname}`);
    try {
      if (url.pathname === '/config.json') {
        res.writeHead(200, { 'content-type': TYPES['.json'], 'cache-control': 'no-store' });
        res.end(JSON.stringify(config));
        return;
      }
      if (url.pathname === '/api/v1/activations' && activate && req.method === 'POST') {
        let body = '';
        for await (const chunk of req) body += chunk;
        const answer = await activate(JSON.parse(body));
        res.writeHead(answer.status ?? 200, { 'content-type': TYPES['.json'] });
        res.end(JSON.stringify(answer.body));
        return;
      }
      const rel = normalize(decodeURIComponent(url.pathname)).replace(/^([/\\])+/, '');
      const file = join(WEB, rel === '' ? 'index.html' : rel);
      if (!file.startsWith(WEB + sep) || req.method !== 'GET') throw new Error('forbidden');
      const bytes = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(bytes);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** Headless Chromium with a fresh profile; `close()` also removes the profile. */
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'keyward-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    viewport: { width: 1100, height: 900 },
    acceptDownloads: true,
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A screenshot into tests/browser/artifacts/ (not committed). */
export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/**
 * Opens the page (test hook on) with the browser's languages set to `languages`, waits
 * until it is ready (`ready`: 'yes', or 'failed' when it cannot start), and records
 * requests that leave 127.0.0.1.
 */
export async function openPage(context, server, { languages = ['zh-CN', 'zh'], width = 1100, ready = 'yes' } = {}) {
  const page = await context.newPage();
  await page.setViewportSize({ width, height: 900 });
  await page.addInitScript((langs) => {
    localStorage.removeItem('keyward.lang'); // each page starts from the browser's languages
    Object.defineProperty(navigator, 'languages', { get: () => langs });
    Object.defineProperty(navigator, 'language', { get: () => langs[0] });
  }, languages);
  const external = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(server.url) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) {
      external.push(r.url());
    }
  });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${server.url}?test`);
  await page.waitForFunction((want) => document.body.dataset.ready === want, ready);
  return { page, external, errors };
}

/** The epoch seconds of an RFC 3339 time. */
export const secs = (rfc3339) => Date.parse(rfc3339) / 1000;
