// What a developer may pass by mistake: each is a KeywardError that names the mistake, and
// none of them stops the plugin (a `trap` would discard the instance and hide the cause).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';

import { License } from '../keyward.mjs';
import { seconds, tempDir, vectorFacts, vectors } from './support.mjs';

const CODE = vectors.cases.find((c) => c.name === 'code_valid_unbound').input;

const open = (extra = {}) => License.open({
  publicKeyPem: vectors.public_keys[0],
  stateDir: tempDir('input'),
  product: 'acme-invoice',
  facts: vectorFacts,
  now: () => seconds(vectors.now),
  ...extra,
});

const refused = (code, pattern) => (e) => {
  assert.equal(e.code, code, e.message);
  assert.match(e.message, pattern);
  return true;
};

test('arguments of the wrong type are invalid_input, and the plugin goes on', async () => {
  const license = await open();
  for (const [call, pattern] of [
    [() => license.activate(123), /authorization code .* must be text .* not number/],
    [() => license.activate(), /authorization code .* not undefined/],
    [() => license.activate(null), /not null/],
    [() => license.install({}), /activation certificate .* not object/],
    [() => license.apply(5), /signed update .* not number/],
    [() => license.inspect(Buffer.from(CODE)), /text to inspect .* not object/],
    [() => license.inspect(CODE, 'toString'), /unknown kind "toString"/],
    [() => license.request(42), /authorization code .* not number/],
    [() => license.deactivate(7), /license id .* not number/],
  ]) {
    assert.throws(call, refused('invalid_input', pattern));
  }
  assert.equal(license.hasFeature(undefined), false);
  // The same instance still answers.
  assert.equal(license.activate(CODE).code, 'active');
  assert.equal(license.inspect(CODE, 'authorization_code').code, 'active');
});

test('open: a private key, a missing key or a state directory of the wrong type is said so', async () => {
  const privatePem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' });
  await assert.rejects(open({ publicKeyPem: privatePem }), refused('invalid_key', /private key.*merchant\.pem\.pub.*never ship/));
  await assert.rejects(open({ publicKeyPem: undefined }), refused('config', /no trusted key: give publicKeyPem/));
  await assert.rejects(open({ stateDir: 42 }), refused('config', /stateDir must be a path/));
  await assert.rejects(open({ product: 7 }), refused('config', /product must be the product id/));
  // A Buffer read without an encoding is the same PEM text.
  const license = await open({ publicKeyPem: Buffer.from(vectors.public_keys[0]) });
  assert.equal(license.activate(CODE).code, 'active');
});
