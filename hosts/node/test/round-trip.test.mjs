// The offline round trip with the merchant on the `keyward` CLI and the buyer on the Node
// host, and the bound-code flow; at each step the Node host's answer is compared with the
// CLI's (native keyward-core) on the same facts and time. The CLI is $KEYWARD_CLI
// (`cargo xtask test` sets it), or target/debug/keyward.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { License } from '../keyward.mjs';
import { ROOT, tempDir, vectors } from './support.mjs';

const CLI = process.env.KEYWARD_CLI ?? join(ROOT, 'target/debug/keyward');
const NOW = '2026-11-20T12:00:00Z';
const now = Date.parse(NOW) / 1000;

function keyward(args, { allowFailure = false } = {}) {
  try {
    return JSON.parse(execFileSync(CLI, ['--json', '--now', NOW, ...args], { encoding: 'utf8' }));
  } catch (e) {
    if (allowFailure && e.stdout) return JSON.parse(e.stdout);
    throw new Error(`keyward ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
  }
}

test('CLI merchant, Node host buyer: request, certificate, install, update', async (t) => {
  assert.ok(existsSync(CLI), `no keyward CLI at ${CLI}: build it (cargo build --bin keyward) or set KEYWARD_CLI`);
  const work = tempDir('round-trip');
  const key = join(work, 'merchant.pem');
  keyward(['keys', 'generate', '--out', key]);
  const facts = join(work, 'facts.json');
  writeFileSync(facts, JSON.stringify(vectors.facts));
  const buyer = await License.open({
    publicKeyPem: readFileSync(`${key}.pub`, 'utf8'),
    stateDir: join(work, 'node-state'),
    product: 'acme-invoice',
    facts: {
      machineId: vectors.facts.machine_id, productUuid: vectors.facts.product_uuid,
      boardSerial: vectors.facts.board_serial, diskSerial: vectors.facts.disk_serial,
      cpu: vectors.facts.cpu, macs: vectors.facts.macs, cpuId: vectors.facts.cpu_id,
      custom: vectors.facts.custom,
    },
    now: () => now,
  });
  const cli = (args, o) => keyward(['--facts', facts, '--state-dir', join(work, 'cli-state'), ...args], o);

  await t.test('same system identification code as the CLI from the same facts', () => {
    assert.equal(buyer.systemId(), cli(['system-id', '--product', 'acme-invoice']).system_id);
  });

  const issued = keyward(['issue', '--key', key, '--product', 'acme-invoice', '--sku', 'pro', '--days', '30', '--feature', 'export']);
  const request = buyer.request(issued.code);
  assert.match(request, /^KR1-/);
  const requestFile = join(work, 'request.txt');
  writeFileSync(requestFile, request);
  const certFile = join(work, 'license.lic');
  keyward(['activate', '--key', key, '--out', certFile, requestFile]);
  const cert = readFileSync(certFile, 'utf8');

  await t.test('the certificate installs, with the status the CLI gives', () => {
    const s = buyer.install(cert);
    assert.equal(s.code, 'active');
    assert.equal(s.license.licenseId, issued.license_id);
    assert.equal(buyer.hasFeature('export'), true);
    cli(['install', '--public-key', `${key}.pub`, certFile]);
    const native = cli(['status', '--public-key', `${key}.pub`, '--product', 'acme-invoice']);
    assert.equal(s.code, native.state ?? native.status);
    assert.equal(s.message, native.message);
  });

  await t.test('a signed update applies, as with the CLI', () => {
    const updateFile = join(work, 'freeze.txt');
    keyward(['update', '--key', key, '--license', issued.license_id, '--freeze', '--out', updateFile]);
    const update = readFileSync(updateFile, 'utf8');
    assert.equal(buyer.apply(update), 'applied');
    assert.equal(buyer.apply(update), 'already_applied');
    assert.equal(buyer.status().code, 'frozen');
    assert.equal(buyer.hasFeature('export'), false);
    cli(['apply', '--public-key', `${key}.pub`, updateFile]);
    const native = cli(['status', '--public-key', `${key}.pub`, '--product', 'acme-invoice'], { allowFailure: true });
    assert.equal(native.state ?? native.status, 'frozen');
  });

  await t.test('a code bound to the Node host\'s system id activates offline; another machine\'s is refused', () => {
    const bound = keyward(['issue', '--key', key, '--product', 'acme-invoice', '--days', '10', '--feature', 'print', '--bind-system-id', buyer.systemId()]);
    const s = buyer.activate(bound.code);
    assert.equal(s.code, 'active');
    assert.equal(s.license.bound, true);
    assert.equal(buyer.hasFeature('print'), true);
    const native = cli(['inspect', '--public-key', `${key}.pub`, bound.code]);
    assert.equal(native.verdict, 'active');
    const otherFacts = join(work, 'other-facts.json');
    writeFileSync(otherFacts, JSON.stringify({ machine_id: '0123456789abcdef0123456789abcdef', cpu: 'AuthenticAMD family 25 model 33 stepping 0', macs: ['aa:bb:cc:00:11:22'] }));
    const elsewhere = keyward(['--facts', otherFacts, 'system-id', '--product', 'acme-invoice']).system_id;
    const other = keyward(['issue', '--key', key, '--product', 'acme-invoice', '--bind-system-id', elsewhere]);
    const verdict = cli(['inspect', '--public-key', `${key}.pub`, other.code], { allowFailure: true }).verdict;
    assert.equal(verdict, 'machine_mismatch');
    assert.throws(() => buyer.activate(other.code), (e) => e.code === verdict);
  });
});

// Finding 12.2: facts as a host collects them, unnormalised (MAC notation and case, padding,
// firmware placeholders), give the same system identification code in the plugin (Node host)
// as in the CLI, and as their normal form: the rules live in keyward-core, which both run.
test('the same system identification code from raw facts, in the Node host and the CLI', async () => {
  assert.ok(existsSync(CLI), `no keyward CLI at ${CLI}`);
  const work = tempDir('raw-facts');
  const key = join(work, 'merchant.pem');
  keyward(['keys', 'generate', '--out', key]);
  const f = vectors.facts;
  const raw = {
    machine_id: `  ${f.machine_id.toUpperCase()}\n`,
    product_uuid: f.product_uuid.toUpperCase(),
    board_serial: 'To be filled by O.E.M.',
    disk_serial: ` ${f.disk_serial}\u0000`,
    cpu: f.cpu.replace(/ /g, '   '),
    macs: [...f.macs.map((m) => m.toUpperCase().replace(/:/g, '-')), '00:00:00:00:00:00'],
  };
  const clean = { ...f, board_serial: null };
  const rawFile = join(work, 'raw.json');
  const cleanFile = join(work, 'clean.json');
  writeFileSync(rawFile, JSON.stringify(raw));
  writeFileSync(cleanFile, JSON.stringify(clean));
  const node = await License.open({
    publicKeyPem: readFileSync(`${key}.pub`, 'utf8'),
    stateDir: join(work, 'node-state'),
    product: 'acme-invoice',
    facts: {
      machineId: raw.machine_id, productUuid: raw.product_uuid, boardSerial: raw.board_serial,
      diskSerial: raw.disk_serial, cpu: raw.cpu, macs: raw.macs,
    },
    now: () => now,
  });
  const fromRaw = keyward(['--facts', rawFile, 'system-id', '--product', 'acme-invoice']).system_id;
  const fromClean = keyward(['--facts', cleanFile, 'system-id', '--product', 'acme-invoice']).system_id;
  assert.equal(node.systemId(), fromRaw);
  assert.equal(fromRaw, fromClean);
});
