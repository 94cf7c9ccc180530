// The page with `"online": true` in its config (served by the merchant service): Activate
// posts to /api/v1/activations and shows the certificate, a refusal is shown in the
// service's words, and the deactivation card frees a seat with /api/v1/deactivations. The
// server here is a stub of the buyer API's contract (docs/API.md), not `keyward serve`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

import { WEB, launchBrowser, openPage, input, vectors, secs, screenshot } from './support.mjs';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
};
const CERT = input('certificate_valid');
const DEACTIVATION = input('deactivation_code_valid');

/** web/, config.json with `online: true`, and the buyer API answered by `api`. */
async function startStub(api) {
  const posts = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const send = (status, body, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
    };
    try {
      if (url.pathname === '/config.json') {
        return send(200, { public_keys: vectors().public_keys, online: true });
      }
      if (url.pathname.startsWith('/api/v1/') && req.method === 'POST') {
        let body = '';
        for await (const chunk of req) body += chunk;
        const json = req.headers['content-type']?.startsWith('application/json') ? JSON.parse(body) : null;
        posts.push({ path: url.pathname, body: json });
        const [status, answer] = api(url.pathname, json);
        return send(status, answer);
      }
      const rel = normalize(decodeURIComponent(url.pathname)).replace(/^([/\\])+/, '');
      const file = join(WEB, rel === '' ? 'index.html' : rel);
      if (!file.startsWith(WEB + sep) || req.method !== 'GET') throw new Error('forbidden');
      return send(200, await readFile(file), TYPES[extname(file)] ?? 'application/octet-stream');
    } catch {
      return send(404, { code: 'not_found', message: 'not found', suggestion: null });
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    posts,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

test('online: activate posts to the API, refusals in the service\'s words, a deactivation code frees a seat', async () => {
  let seatTaken = false;
  let freed = false;
  const stub = await startStub((path, body) => {
    if (path === '/api/v1/activations') {
      if (typeof body?.request !== 'string') return [400, { code: 'bad_request', message: 'give request', suggestion: null }];
      if (seatTaken) {
        return [409, { code: 'no_seat_left', message: 'all 1 seats of license 1020304050607014 are in use (on KS1-ABCDEF): deactivate one first', suggestion: null }];
      }
      seatTaken = true;
      return [200, {
        certificate: CERT, license_id: '1020304050607014', machine: 'KS1', seats: { used: 1, total: 1 }, reactivated: false,
      }];
    }
    if (path === '/api/v1/deactivations') {
      // The service reads codes forgivingly (case, spaces, hyphens), as every keyward form.
      const plain = (t) => String(t).toUpperCase().replace(/[\s-]/g, '');
      if (freed || plain(body?.deactivation_code) !== plain(DEACTIVATION)) {
        return [404, { code: 'not_found', message: 'this deactivation code matches no machine that holds a seat', suggestion: null }];
      }
      seatTaken = false;
      freed = true;
      return [200, { license_id: '1020304050607014', machine: 'KS1-XXXX', seats: { used: 0, total: 1 } }];
    }
    return [404, { code: 'not_found', message: 'no such route', suggestion: null }];
  });
  try {
    const { page, external, errors } = await openPage(browser.context, stub);
    // The vectors' certificate echoes nonce 07…07: make the request with it.
    await page.evaluate((now) => window.keywardTest.setContext({ now, nonce: new Uint8Array(8).fill(7) }), secs(vectors().now));
    await page.fill('#code', input('code_valid_unbound'));
    await page.fill('#machine', input('system_id_valid'));
    await page.click('#activate');
    await page.waitForSelector('#output[data-type="certificate"]:not([hidden])');
    assert.equal(await page.inputValue('#output-text'), CERT);
    assert.equal(stub.posts[0].path, '/api/v1/activations');
    assert.match(stub.posts[0].body.request, /^KR1-/);

    // The seat is taken now: the service's sentence is shown.
    await page.click('#activate');
    await page.waitForSelector('#output[data-type="request"]:not([hidden])');
    assert.match(await page.textContent('#activate-status'), /are in use \(on KS1-ABCDEF\)/);

    // The deactivation card: a typo is located before anything is sent.
    assert.equal(await page.isVisible('#deactivate-card'), true);
    const typo = DEACTIVATION.replace(/^(KD1-.)./, (m, p) => p + (m.endsWith('7') ? '8' : '7'));
    await page.fill('#deactivation-code', typo);
    assert.equal(await page.$eval('#deactivate-status', (el) => el.dataset.verdict), 'typo');
    assert.equal(await page.isDisabled('#deactivate'), true);
    await page.fill('#deactivation-code', DEACTIVATION.toLowerCase());
    assert.equal(await page.isDisabled('#deactivate'), false);
    await page.click('#deactivate');
    await page.waitForSelector('#deactivate-status[data-verdict="deactivated"]');
    assert.match(await page.textContent('#deactivate-status'), /0 \/ 1/);
    assert.equal(stub.posts.at(-1).body.deactivation_code, DEACTIVATION.toLowerCase());
    await screenshot(page, '20-online-deactivated');

    // Used again: the service's refusal is shown.
    await page.click('#deactivate');
    await page.waitForSelector('#deactivate-status[data-verdict="not_found"]');
    assert.match(await page.textContent('#deactivate-status'), /matches no machine/);

    // English too.
    await page.evaluate(() => window.keywardTest.setLanguage('en'));
    assert.equal(await page.textContent('#deactivate'), 'Free the seat');
    assert.deepEqual(external, []);
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    await stub.close();
  }
});
