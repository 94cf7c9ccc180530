// A host import that throws must not hang the calls after it (issue: jco, `saveState`
// throwing on a full disk, left the plugin's lock held and the next call spun forever).
// The throwing host is the plainest one a developer would write over the generated
// bindings; it runs in a child process with a time limit, so a hang fails the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { License, publicKeysFromPem } from '../keyward.mjs';
import { seconds, tempDir, vectorFacts, vectors } from './support.mjs';

const GEN = join(dirname(fileURLToPath(import.meta.url)), '../gen');
const CODE = vectors.cases.find((c) => c.name === 'code_valid_unbound').input;

const CHILD = `
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
const [gen, input] = [process.argv[1], JSON.parse(process.argv[2])];
const { instantiate } = await import(join(gen, 'keyward-plugin.js'));
let saved;
let diskFull = true;
const host = {
  facts: () => input.facts,
  hardwareIds: () => [],
  now: () => BigInt(input.now),
  loadState: () => saved,
  // What a plain host does: write the file, and let a full disk throw.
  saveState: (bytes) => {
    if (diskFull) throw new Error('ENOSPC: no space left on device, write');
    saved = bytes;
  },
  randomBytes: (n) => new Uint8Array(n),
};
const plugin = instantiate(
  (name) => new WebAssembly.Module(readFileSync(join(gen, name))),
  { 'keyward:plugin/host': host, 'keyward:plugin/host@0.1.0': host },
);
const out = {};
const code = (f) => { try { return { ok: f() }; } catch (e) { return { threw: String(e?.payload?.code ?? e?.message ?? e) }; } };
out.init = code(() => plugin.init(input.keys.map((k) => new Uint8Array(k)), { graceSecs: 259200n, clockToleranceSecs: 3600n }));
out.first = code(() => plugin.activate(input.code));
out.status = code(() => plugin.status().code);
out.systemId = code(() => plugin.systemId('acme-invoice'));
out.inspect = code(() => plugin.inspect(input.code, undefined).code.val);
diskFull = false;
out.second = code(() => plugin.activate(input.code).code);
out.after = code(() => plugin.status().code);
out.saved = saved !== undefined;
console.log(JSON.stringify(out));
`;

test('a call after a host import threw returns at once, with the state read again', () => {
  const input = {
    facts: vectorFacts,
    now: seconds(vectors.now),
    keys: publicKeysFromPem(vectors.public_keys[0]).map((k) => [...k]),
    code: CODE,
  };
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, GEN, JSON.stringify(input)], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(child.signal, null, `the child hung and was killed (${child.signal}); stderr: ${child.stderr}`);
  assert.equal(child.status, 0, child.stderr);
  const out = JSON.parse(child.stdout.trim().split('\n').pop());
  assert.equal(out.init.threw, undefined, 'init');
  // The import's exception went through the plugin to the caller ...
  assert.match(out.first.threw, /ENOSPC/);
  // ... and the next calls were answered at once. `status` saves the clock's high-water
  // mark on a first run, so it meets the full disk too (thrown again, not hung); calls that
  // save nothing answer; then, with the disk writable again, the activation goes through.
  assert.match(out.status.threw, /ENOSPC/);
  assert.match(out.systemId.ok, /^KS1-/);
  assert.deepEqual(out.inspect, { ok: 'active' });
  assert.deepEqual(out.second, { ok: 'active' });
  assert.deepEqual(out.after, { ok: 'active' });
  assert.equal(out.saved, true);
});

test('the Node host turns a failed save into state_not_saved and changes nothing', async () => {
  const dir = tempDir('full');
  const l = await License.open({
    publicKeyPem: vectors.public_keys[0],
    stateDir: dir,
    facts: vectorFacts,
    now: () => seconds(vectors.now),
  });
  // The temporary file's name is taken by a directory: every save fails.
  mkdirSync(join(dir, `.state.bin.tmp-${process.pid}`));
  assert.throws(() => l.activate(CODE), (e) => e.code === 'state_not_saved' && /cannot write/.test(e.message));
  assert.equal(l.status().code, 'no_license');
  assert.equal(l.hasFeature('export'), false);
});
