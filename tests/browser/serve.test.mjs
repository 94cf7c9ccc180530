// End to end with the real merchant service: the page served by `keyward serve` (its files
// embedded in the binary), in Chromium, and the `keyward` CLI as the buyer's two machines.
// One seat: machine A activates (online, from its own request), the page refuses machine B
// while A holds the seat, A gives the seat back and its deactivation code is entered on the
// page, then the page activates B and B installs the certificate through keyward-host (the
// merchant program of `crates/keyward-host/examples/merchant_app.rs`): licensed. Then the
// marketplace's side, with the stand-in marketplace as a program
// (`crates/keyward-marketplace/examples/stand_in.rs`): a `PL…` code on the page → certificate
// → installed → the marketplace reports it expired → the service's reconciliation → the
// machine fetches the update: expired.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ROOT, launchBrowser, openPage, screenshot } from './support.mjs';

/** The CLI, built after the page (it embeds web/pkg): `cargo xtask test` sets KEYWARD_CLI. */
const CLI = process.env.KEYWARD_CLI ?? join(ROOT, 'target', 'debug', 'keyward');
/** The merchant's program built on keyward-host: `cargo xtask test` sets KEYWARD_MERCHANT_APP. */
const MERCHANT_APP = process.env.KEYWARD_MERCHANT_APP ?? join(ROOT, 'target', 'debug', 'examples', 'merchant_app');
/** The stand-in marketplace: `cargo xtask test` sets KEYWARD_STAND_IN. */
const STAND_IN = process.env.KEYWARD_STAND_IN ?? join(ROOT, 'target', 'debug', 'examples', 'stand_in');
const PRODUCT = 'acme-invoice';

/**
 * The private key whose public half merchant_app embeds: keyward's fixed *test* key
 * (tests/vectors), as PKCS#8 PEM. Ed25519's PKCS#8 form is a fixed 16-byte header and then
 * the 32-byte seed (RFC 8410).
 */
function testKeyPem() {
  const header = Buffer.from('302e020100300506032b657004220420', 'hex');
  const seed = Buffer.from('keyward fixed test key: not safe', 'ascii');
  return createPrivateKey({ key: Buffer.concat([header, seed]), format: 'der', type: 'pkcs8' })
    .export({ format: 'pem', type: 'pkcs8' });
}

/** Runs merchant_app (keyward-host) with `args`, `input` on its standard input; its output. */
function merchantApp(args, input = '') {
  try {
    return execFileSync(MERCHANT_APP, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 120_000 });
  } catch (e) {
    throw new Error(`merchant_app ${args.join(' ')}: exit ${e.status}\n${e.stdout}\n${e.stderr}`);
  }
}

let dir;
let browser;
let service;
let market;

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
/** The stand-in marketplace on a free port of 127.0.0.1; `cmd(line)` sends it a command. */
async function standIn() {
  const child = spawn(STAND_IN, ['AK1', 'SK1'], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdout.setEncoding('utf8');
  const lines = [];
  const waiting = [];
  let buffered = '';
  child.stdout.on('data', (d) => {
    buffered += d;
    let i;
    while ((i = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      if (waiting.length) waiting.shift()(line);
      else lines.push(line);
    }
  });
  const next = () => new Promise((resolve, reject) => {
    if (lines.length) return resolve(lines.shift());
    const timer = setTimeout(() => reject(new Error('the stand-in marketplace did not answer within 30 s')), 30_000);
    waiting.push((line) => { clearTimeout(timer); resolve(line); });
  });
  const url = (await next()).replace(/^URL /, '');
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  return {
    url,
    async cmd(line) {
      child.stdin.write(`${line}\n`);
      assert.equal(await next(), 'ok', line);
    },
    async close() {
      child.stdin.end();
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

/** The service's configuration: the marketplace section pointing at the stand-in. */
function marketplaceConfig(marketUrl) {
  const file = join(dir, 'keyward.toml');
  writeFileSync(file, [
    '[marketplace]',
    'callback_keys = ["callback-key"]',
    `api_hosts = ["${marketUrl}"]`,
    'access_key_id = "AK1"',
    'secret_access_key = "SK1"',
    'reconcile_interval_hours = 0',
    '[[marketplace.products]]',
    'product_id = "OFFER-1"',
    `product = "${PRODUCT}"`,
    'sku = "pro"',
    'seats = 1',
    'features = ["pro"]',
    '',
  ].join('\n'));
  return file;
}

async function serve(data, key, config) {
  const child = spawn(CLI, ['serve', '--config', config, '--data-dir', data, '--key', key, '--listen', '127.0.0.1:0', '--rate-limit', '0'], {
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
  assert.ok(existsSync(MERCHANT_APP), `merchant_app is not built at ${MERCHANT_APP} (cargo xtask test builds it)`);
  dir = mkdtempSync(join(tmpdir(), 'keyward-serve-e2e-'));
  assert.ok(existsSync(STAND_IN), `the stand-in marketplace is not built at ${STAND_IN} (cargo xtask test builds it)`);
  writeFileSync(join(dir, 'merchant.pem'), testKeyPem(), { mode: 0o600 });
  market = await standIn();
  service = await serve(join(dir, 'data'), join(dir, 'merchant.pem'), marketplaceConfig(market.url));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await service?.close();
  await market?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('keyward serve: the page activates online, a deactivation code frees the seat, another machine gets it', async () => {
  const data = join(dir, 'data');
  const publicKey = join(dir, 'merchant.pem.pub');
  writeFileSync(publicKey, createPublicKey(testKeyPem()).export({ format: 'pem', type: 'spki' }));
  const code = keyward(['issue', '--key', join(dir, 'merchant.pem'), '--product', PRODUCT, '--seats', '1', '--days', '30', '--feature', 'pro']).trim()
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
  // Installed by the merchant's program through keyward-host (the plugin), which then
  // reads the license as active and unlocks its paid feature.
  const hostArgs = ['--state-dir', join(dir, 'b.state'), '--facts', join(dir, 'b.facts.json'), '--cache-dir', join(dir, 'plugin-cache')];
  const installed = merchantApp([...hostArgs, '-'], certificate);
  assert.match(installed, /license: licensed: acme-invoice/, installed);
  assert.match(installed, /pro features: unlocked/, installed);
  assert.ok(installed.includes(`system identification code: ${b.systemId}`), installed);
  const again = merchantApp(hostArgs);
  assert.match(again, /license: licensed: acme-invoice/, again);
  assert.match(again, /pro features: unlocked/, again);
  // The CLI reads the same state folder the same way.
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

test('keyward serve with the marketplace: a PL… code on the page is activated and installed; expired by the marketplace, the machine follows', async () => {
  const data = join(dir, 'data');
  const publicKey = join(dir, 'merchant.pem.pub');
  writeFileSync(publicKey, createPublicKey(testKeyPem()).export({ format: 'pem', type: 'spki' }));
  const code = 'PL00000000W1';
  await market.cmd(`put ${code} OFFER-1`);
  const c = machine('c');

  // The buyer pastes the marketplace's code and the machine's system id; Activate.
  const { page, external, errors } = await openPage(browser.context, { url: `${service.base}/` }, { languages: ['en-US', 'en'] });
  await page.fill('#code', code);
  await page.waitForSelector('#code-status[data-verdict="marketplace_code"]');
  await page.fill('#machine', c.systemId);
  await page.waitForSelector('#machine-status[data-verdict="valid"]');
  await page.click('#activate');
  await page.waitForSelector('#output[data-type="certificate"]:not([hidden])');
  const certificate = await page.inputValue('#output-text');
  assert.match(certificate, /BEGIN KEYWARD ACTIVATION CERTIFICATE/);
  await screenshot(page, '32-serve-marketplace-code-activated');

  // Installed by the merchant's program (keyward-host): licensed, its feature on.
  const hostArgs = ['--state-dir', join(dir, 'c.state'), '--facts', join(dir, 'c.facts.json'), '--cache-dir', join(dir, 'plugin-cache')];
  const installed = merchantApp([...hostArgs, '-'], certificate);
  assert.match(installed, /license: licensed: acme-invoice/, installed);
  assert.match(installed, /pro features: unlocked/, installed);

  // The marketplace reports the code expired 3 days ago; the service's reconciliation turns
  // that into a signed update.
  await market.cmd(`expire ${code} 3`);
  const token = readFileSync(join(data, 'admin-token'), 'utf8').trim();
  const run = await fetch(`${service.base}/api/v1/admin/marketplace/reconcile`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  assert.equal(run.status, 200);
  const report = await run.json();
  assert.equal(report.published, 1, JSON.stringify(report));
  // The merchant sees it among the license's marketplace events (`keyward admin events`).
  const licenseId = JSON.parse(keyward(['inspect', '--json', certificate])).details.terms.license_id;
  const events = JSON.parse(keyward(['--json', 'admin', '--server', service.base, '--token-file', join(data, 'admin-token'), 'events', licenseId]));
  assert.ok(events.events.some((e) => e.activity === 'reconcile'), JSON.stringify(events));

  // The machine fetches it (the CLI, on the same state folder): the program says expired.
  keyward(['apply', '--server', service.base, '--public-key', publicKey, ...c.common]);
  const after = merchantApp(hostArgs);
  assert.match(after, /license: the license of acme-invoice expired on/, after);
  assert.match(after, /pro features: locked/, after);
  assert.deepEqual(external, []);
  assert.deepEqual(errors, []);
  await page.close();
});
