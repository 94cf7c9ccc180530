// Every case of tests/vectors/vectors.json through the Node host: the same kind, verdict
// and correction as the file, which is what native keyward-core gives (checked by the Rust
// tests), so the plugin in Node agrees with every other form of keyward.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';

import { License } from '../keyward.mjs';
import { seconds, tempDir, vectorFacts, vectors } from './support.mjs';

async function open(stateDir, now) {
  return License.open({
    publicKeyPem: vectors.public_keys.join('\n'),
    stateDir,
    product: 'acme-invoice',
    facts: vectorFacts,
    now: () => now,
    graceSecs: vectors.grace_secs,
    clockToleranceSecs: vectors.clock_tolerance_secs,
  });
}

/** A state directory whose clock high-water mark is `highWater`: a license activated and
 * removed again at that time leaves the mark behind (the plugin keeps it in its state). */
async function stateAt(highWater) {
  const dir = tempDir('hw');
  const l = await open(dir, highWater);
  const code = vectors.cases.find((c) => c.name === 'code_valid_unbound').input;
  assert.equal(l.activate(code).code, 'active');
  assert.equal(l.deactivate(), 1);
  return dir;
}

test('every vector gets the verdict of native keyward-core', async () => {
  const now = seconds(vectors.now);
  const shared = await open(await stateAt(seconds(vectors.high_water)), now);
  assert.ok(vectors.cases.length > 40, `${vectors.cases.length} cases`);
  const codes = new Set();
  for (const c of vectors.cases) {
    const l = c.high_water ? await open(await stateAt(seconds(c.high_water)), now) : shared;
    const got = l.inspect(c.input, c.expected_kind);
    assert.equal(got.code, c.verdict, `${c.name}: ${got.message}`);
    assert.equal(got.kind, c.kind ?? null, `${c.name}: kind`);
    assert.equal(got.suggestion, c.suggestion ?? null, `${c.name}: suggestion`);
    assert.equal(got.typos.length > 0, got.code === 'typo', `${c.name}: typo groups`);
    codes.add(got.code);
  }
  for (const code of ['active', 'typo', 'bad_signature', 'wrong_kind', 'clock_rolled_back', 'machine_mismatch']) {
    assert.ok(codes.has(code), `no vector gave ${code}: ${[...codes]}`);
  }
});

test('a refused activation carries the stable code and the correction', async () => {
  const l = await open(tempDir('refused'), seconds(vectors.now));
  let refused = 0;
  for (const c of vectors.cases) {
    if (!['typo', 'bad_signature', 'unknown_key', 'malformed', 'wrong_kind', 'expired'].includes(c.verdict)) continue;
    if (c.expected_kind || c.kind !== 'authorization_code') continue;
    assert.throws(() => l.activate(c.input), (e) => {
      assert.equal(e.name, 'KeywardError', c.name);
      assert.equal(e.code, c.verdict, `${c.name}: ${e.message}`);
      assert.equal(e.suggestion, c.suggestion ?? null, `${c.name}: suggestion`);
      return true;
    });
    refused += 1;
  }
  assert.ok(refused >= 5, `${refused} refusals checked`);
  assert.equal(l.status().code, 'no_license');
});

test('the state is saved atomically with a backup, and read by a new instance', async () => {
  const dir = tempDir('state');
  const now = seconds(vectors.now);
  const l = await open(dir, now);
  const code = vectors.cases.find((c) => c.name === 'code_valid_unbound').input;
  const s = l.activate(code);
  assert.equal(s.code, 'active');
  assert.equal(s.usable, true);
  assert.equal(typeof s.license.expires, 'number');
  const again = await open(dir, now);
  assert.deepEqual(again.status(), s);
  assert.equal(again.hasFeature(s.license.features[0]), true);
  assert.equal(again.hasFeature('no-such-feature'), false);
  const { readdirSync } = await import('node:fs');
  // The second save (deactivate) keeps the first as the backup; no temporary file is left
  // (state.lock is the directory's lock, the CLI's too).
  assert.equal(again.deactivate(), 1);
  assert.deepEqual(readdirSync(dir).sort(), ['state.bin', 'state.bin.bak', 'state.lock']);
  const restored = await open(dir, now);
  assert.equal(restored.status().code, 'no_license');
  const { renameSync } = await import('node:fs');
  renameSync(join(dir, 'state.bin.bak'), join(dir, 'state.bin'));
  restored.reload();
  assert.equal(restored.status().code, 'active');
});
