// The page's QR encoder (web/qr.js), checked by decoding its output with an independent
// decoder (jsQR) — no browser needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import jsQR from 'jsqr';

import { encodeQr } from '../../web/qr.js';
import { vectors } from './support.mjs';

/** Renders modules as RGBA pixels, `scale` per module, with a 4-module quiet zone. */
function render({ size, modules }, scale = 3) {
  const full = (size + 8) * scale;
  const pixels = new Uint8ClampedArray(full * full * 4).fill(255);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      if (!modules[r * size + c]) continue;
      for (let y = 0; y < scale; y++) {
        for (let x = 0; x < scale; x++) {
          const i = (((r + 4) * scale + y) * full + (c + 4) * scale + x) * 4;
          pixels[i] = pixels[i + 1] = pixels[i + 2] = 0;
        }
      }
    }
  }
  return { pixels, full };
}

function roundTrip(text) {
  const qr = encodeQr(text);
  assert.ok(qr, `encodes ${text.length} characters`);
  const { pixels, full } = render(qr);
  const found = jsQR(pixels, full, full, { inversionAttempts: 'dontInvert' });
  assert.ok(found, `decodes version ${qr.version}-${qr.level}`);
  assert.equal(found.data, text);
  assert.equal(found.version, qr.version);
  return qr;
}

test('short, medium and long texts decode to themselves', () => {
  const sample = 'KR1-0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  for (const len of [1, 14, 15, 30, 100, 213, 214, 300, 500, 700, 1000, 1300]) {
    const text = sample.repeat(Math.ceil(len / sample.length)).slice(0, len);
    roundTrip(text);
  }
});

test('every version from 1 to 25 decodes (level M) and long texts fall back to level L', () => {
  const seen = new Set();
  for (let len = 1; len <= 1000; len += 7) {
    const qr = roundTrip('x'.repeat(len));
    seen.add(qr.version);
    assert.equal(qr.level, 'M');
  }
  for (let v = 1; v <= 25; v++) assert.ok(seen.has(v), `version ${v} was exercised`);
  const long = roundTrip('y'.repeat(2500)); // more than version 40-M holds (2331 bytes)
  assert.equal(long.level, 'L');
});

test('the vectors\' request and certificate, and UTF-8 text, decode', () => {
  const v = vectors();
  for (const name of ['request_valid', 'certificate_valid', 'code_trial_with_marketplace_refs']) {
    const input = v.cases.find((c) => c.name === name).input;
    const qr = roundTrip(input);
    assert.ok(qr.version <= 25, `${name}: version ${qr.version}`);
  }
  roundTrip('激活证书：许可文件 ✓');
});

test('far too long text is refused, not garbled', () => {
  assert.equal(encodeQr('z'.repeat(3000)), null);
});
