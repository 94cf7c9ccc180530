// The state directory's lock: with the lock addon (gen/keyward-lock.node), every change
// holds the OS lock on state.lock that the CLI and keyward-host take (checked from another
// process with util-linux's flock(1), the same flock(2) lock), waits for another holder,
// and gives up with `state_busy` after its wait; a save outside a change never writes over
// a state another program changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { License, StateFiles, loadLockAddon } from '../keyward.mjs';
import { seconds, tempDir, vectorFacts, vectors } from './support.mjs';

const ADDON = fileURLToPath(new URL('../gen/keyward-lock.node', import.meta.url));
const CODE = vectors.cases.find((c) => c.name === 'code_valid_unbound').input;
const NOW = seconds(vectors.now);

/** Whether another process could take the lock of `dir` at once (flock -n exits 1 if not). */
function freeFromOutside(dir) {
  const r = spawnSync('flock', ['-n', join(dir, 'state.lock'), 'true']);
  assert.ok(r.status === 0 || r.status === 1, `flock(1) failed: ${r.stderr}`);
  return r.status === 0;
}

/** Another process holding the lock of `dir` for `secs` seconds; resolves once it holds it. */
async function holder(dir, secs) {
  // -o: flock itself holds the lock (sleep does not inherit it), so killing it releases it.
  const child = spawn('flock', ['-o', '-x', join(dir, 'state.lock'), 'sleep', String(secs)], { stdio: 'ignore' });
  for (let i = 0; i < 200 && freeFromOutside(dir); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(!freeFromOutside(dir), 'the other process did not take the lock');
  return child;
}

async function open(dir, extra = {}) {
  const seen = [];
  const license = await License.open({
    publicKeyPem: vectors.public_keys[0],
    stateDir: dir,
    product: 'acme-invoice',
    facts: vectorFacts,
    // The plugin asks the time during every call: the moment to look from outside.
    now: () => {
      seen.push(freeFromOutside(dir));
      return NOW;
    },
    ...extra,
  });
  return { license, seen };
}

test('the lock addon is built and loads', () => {
  const { addon, error } = loadLockAddon(ADDON);
  assert.ok(addon, `the lock addon does not load: ${error}`);
});

test('a change holds the OS lock on state.lock; other calls do not', async () => {
  const dir = tempDir('lock-held');
  const { license, seen } = await open(dir);
  assert.equal(license.locking, 'os');
  assert.equal(license.status().code, 'no_license');
  assert.ok(seen.length > 0 && seen.every((free) => free), 'status took the lock');
  seen.length = 0;
  assert.equal(license.activate(CODE).code, 'active');
  assert.ok(seen.length > 0 && seen.every((free) => !free), 'activate ran without the lock');
  assert.ok(freeFromOutside(dir), 'the lock was not released after the change');
  seen.length = 0;
  assert.equal(license.deactivate(), 1);
  assert.ok(seen.every((free) => !free), 'deactivate ran without the lock');
  assert.ok(freeFromOutside(dir));
});

test('a change waits for another holder, then goes on', async () => {
  const dir = tempDir('lock-wait');
  const { license } = await open(dir);
  const child = await holder(dir, 0.5);
  const start = Date.now();
  assert.equal(license.activate(CODE).code, 'active');
  const waited = Date.now() - start;
  child.kill();
  assert.ok(waited >= 250, `activate did not wait for the holder (${waited} ms)`);
  assert.equal(license.status().code, 'active');
});

test('past its wait a change fails with state_busy and changes nothing', async () => {
  const dir = tempDir('lock-busy');
  const { license } = await open(dir, { lockWaitMs: 200 });
  const child = await holder(dir, 20);
  try {
    assert.throws(() => license.activate(CODE), (e) => {
      assert.equal(e.code, 'state_busy');
      assert.match(e.message, /another program .* for over 200 ms .*state\.lock.*try again/);
      return true;
    });
  } finally {
    child.kill();
  }
  await new Promise((r) => child.on('exit', r));
  assert.equal(license.status().code, 'no_license');
  assert.equal(license.activate(CODE).code, 'active', 'the lock is free again');
});

test("lock: 'os' without the addon is refused; 'none' goes without the lock", async () => {
  const dir = tempDir('lock-modes');
  await assert.rejects(open(dir, { lock: 'os', lockAddon: join(dir, 'missing.node') }), (e) => {
    assert.equal(e.code, 'no_lock');
    assert.match(e.message, /missing\.node.*cargo xtask build-node.*lock: 'none'/);
    return true;
  });
  await assert.rejects(open(dir, { lock: 'yes' }), (e) => e.code === 'config');
  await assert.rejects(open(dir, { lockWaitMs: -1 }), (e) => e.code === 'config');
  const { license, seen } = await open(dir, { lock: 'none' });
  assert.equal(license.locking, 'none');
  assert.equal(license.activate(CODE).code, 'active');
  assert.ok(seen.length > 0 && seen.every((free) => free), "lock: 'none' took the lock");
  // 'auto' with no addon at the path goes without, and says so.
  const auto = await open(tempDir('lock-auto'), { lockAddon: join(dir, 'missing.node') });
  assert.equal(auto.license.locking, 'none');
});

test('a save outside a change never writes over a state another program changed', () => {
  const dir = tempDir('lock-cas');
  const { addon } = loadLockAddon(ADDON);
  const files = new StateFiles(dir, { addon });
  files.save(new Uint8Array([1, 2, 3]));
  assert.deepEqual([...files.load()], [1, 2, 3]);
  // Another program writes between this program's read and its save (the clock mark).
  writeFileSync(join(dir, 'state.bin'), new Uint8Array([9, 9]));
  assert.throws(() => files.save(new Uint8Array([1, 2, 3, 4])), /changed since it was read.*not saved/);
  assert.deepEqual([...readFileSync(join(dir, 'state.bin'))], [9, 9], "the other program's state was written over");
  // Read again, the save goes through.
  assert.deepEqual([...files.load()], [9, 9]);
  files.save(new Uint8Array([9, 9, 1]));
  assert.deepEqual([...readFileSync(join(dir, 'state.bin'))], [9, 9, 1]);
  // Inside a change (the lock held, the state read again first) the blob is written as it is.
  files.change(() => files.save(new Uint8Array([5])));
  assert.deepEqual([...readFileSync(join(dir, 'state.bin'))], [5]);
});

test('a state directory that cannot be one is a clear error, not a crash or a hang', async () => {
  const dir = tempDir('bad-dir');
  const file = join(dir, 'a-file');
  writeFileSync(file, 'not a directory');
  for (const stateDir of [file, join(file, 'below')]) {
    await assert.rejects(open(stateDir), (e) => {
      assert.equal(e.code, 'state_not_a_directory', e.message);
      assert.match(e.message, /is a file.*give a directory/);
      return true;
    });
  }
  // Missing parents are made (one by one).
  const { license } = await open(join(dir, 'new', 'nested', 'state'));
  assert.equal(license.activate(CODE).code, 'active');
});
