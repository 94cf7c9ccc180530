// End to end with the real merchant service: the page served by `keyward serve` (its files
// embedded in the binary), in Chromium, and the `keyward` CLI as the buyer's two machines.
// One seat: machine A activates (online, from its own request), the page refuses machine B
// while A holds the seat, A gives the seat back and its deactivation code is entered on the
// page, then the page activates B and B installs the certificate: licensed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ROOT, launchBrowser, openPage, screenshot } from './support.mjs';

/** The CLI, built after the page (it embeds web/pkg): `cargo xtask test` sets KEYWARD_CLI. */
const CLI = process.env.KEYWARD_CLI ?? join(ROOT, 'target', 'debug', 'keyward');
const PRODUCT = 'acme-invoice';

let dir;
let browser;
let service;

/** Runs the CLI; its standard output (a non-zero exit throws, with what it said). */
function keyward(args) {
  try {
    return execFileSync(CLI, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (e) {
    throw new Error(`keyward ${args.join(' ')}: exit ${e.status}\n${e.stdout}\n${e.stderr}`);
  }
}

/** The CLI's exit code. */
function exitOf(args) {
  try {
    execFileSync(CLI, args, { stdio: 'ignore', timeout: 60_000 });
    return 0;
  } catch (e) {
    return e.status;
  }
}

/** `keyward serve` on a free port of 127.0.0.1, in a fresh data folder. */
async function serve(data) {
  const child = spawn(CLI, ['serve', '--data-dir', data, '--listen', '127.0.0.1:0', '--rate-limit', '0'], {
    env: { ...process.env, RUST_LOG: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let said = '';
  child.stderr.setEncoding('utf8');
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`keyward serve did not start within 60 s: ${said}`)), 60_000);
    child.stderr.on('data', (d) => {
      said += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(said);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`keyward serve exited (${code}): ${said}`));
    });
  });
  return {
    base,
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    },
  };
}

/** A buyer's machine: its own state folder and facts. */
function machine(name) {
  const facts = join(dir, `${name}.facts.json`);
  writeFileSync(facts, JSON.stringify({ machine_id: `machine-${name}`, disk_serial: `disk-${name}`, macs: [] }));
  const state = join(dir, `${name}.state`);
  const common = ['--state-dir', state, '--facts', facts];
  return {
    common,
    systemId: keyward(['system-id', '--product', PRODUCT, '--facts', facts]).trim(),
  };
}

before(async () => {
  assert.ok(existsSync(CLI), `the keyward CLI is not built at ${CLI} (cargo xtask test builds it)`);
  dir = mkdtempSync(join(tmpdir(), 'keyward-serve-e2e-'));
  service = await serve(join(dir, 'data'));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await service?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('keyward serve: the page activates online, a deactivation code frees the seat, another machine gets it', async () => {
  const data = join(dir, 'data');
  const publicKey = join(data, 'merchant.pem.pub');
  const code = keyward(['issue', '--key', join(data, 'merchant.pem'), '--product', PRODUCT, '--seats', '1', '--days', '30']).trim()
    .split('\n').find((l) => l.startsWith('KA1-'));
  assert.match(code ?? '', /^KA1-/);
  const a = machine('a');
  const b = machine('b');
  assert.match(a.systemId, /^KS1-/);

  // Machine A activates online with its own request (it keeps the deactivation secret).
  keyward(['request', '--code', code, '--server', service.base, '--public-key', publicKey, ...a.common]);
  assert.match(keyward(['status', '--product', PRODUCT, '--public-key', publicKey, ...a.common]), /active|licensed/i);

  // The page, as the service serves it (its config says online and names the key).
  const { page, external, errors } = await openPage(browser.context, { url: `${service.base}/` }, { languages: ['en-US', 'en'] });
  await page.fill('#code', code);
  await page.waitForSelector('#code-status[data-verdict="active"]');
  await page.fill('#machine', b.systemId);
  await page.waitForSelector('#machine-status[data-verdict="valid"]');

  // B while A holds the only seat: the service's refusal, in its words.
  await page.click('#activate');
  await page.waitForFunction(() => /seat/i.test(document.getElementById('activate-status')?.textContent ?? ''));
  assert.match(await page.textContent('#activate-status'), /in use/);
  await screenshot(page, '30-serve-no-seat-left');

  // A gives its seat back: the deactivation code, entered on the page, frees it.
  const deactivated = keyward(['deactivate', ...a.common]);
  const kd = /KD1-[0-9A-Z-]+/.exec(deactivated)?.[0];
  assert.ok(kd, deactivated);
  // A is no longer licensed (status: no license, exit 10).
  assert.equal(exitOf(['status', '--product', PRODUCT, '--public-key', publicKey, ...a.common]), 10);
  await page.fill('#deactivation-code', kd);
  await page.click('#deactivate');
  await page.waitForSelector('#deactivate-status[data-verdict="deactivated"]');
  assert.match(await page.textContent('#deactivate-status'), /freed: 0 of 1 seats are now in use/);

  // Now B gets the seat, and its certificate installs on B: licensed there.
  await page.click('#activate');
  await page.waitForSelector('#output[data-type="certificate"]:not([hidden])');
  const certificate = await page.inputValue('#output-text');
  assert.match(certificate, /BEGIN KEYWARD ACTIVATION CERTIFICATE/);
  await screenshot(page, '31-serve-activated');
  const certFile = join(dir, 'b.lic');
  writeFileSync(certFile, certificate);
  keyward(['install', certFile, '--public-key', publicKey, ...b.common]);
  assert.match(keyward(['status', '--product', PRODUCT, '--public-key', publicKey, ...b.common]), /active|licensed/i);
  // The certificate is B's: on A it is another machine's (exit 6).
  assert.equal(exitOf(['install', certFile, '--public-key', publicKey, ...a.common]), 6);

  // The ledger agrees: one seat used, by B; A's activation ended.
  const token = readFileSync(join(data, 'admin-token'), 'utf8').trim();
  const licenseId = JSON.parse(keyward(['inspect', '--json', code])).details.terms.license_id;
  const shown = await fetch(`${service.base}/api/v1/admin/licenses/${licenseId}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(shown.status, 200);
  const ledger = await shown.json();
  assert.equal(ledger.seats_used, 1, JSON.stringify(ledger));
  assert.deepEqual(external, []);
  assert.deepEqual(errors, []);
  await page.close();
});
