// The page's QR codes (web/qr.js over lean-qr), checked by decoding them with an independent
// decoder (jsQR), and by their encoding: requests use alphanumeric mode, so their codes are
// smaller than byte mode's. No browser needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import jsQR from 'jsqr';

import { correction, generate, mode } from '../../web/node_modules/lean-qr/index.mjs';
import { qrCode } from '../../web/qr.js';
import { vectors } from './support.mjs';

/** Renders a code as RGBA pixels, `scale` per module, with a 4-module quiet zone. */
function render(code, scale = 3) {
  const full = (code.size + 8) * scale;
  const pixels = new Uint8ClampedArray(full * full * 4).fill(255);
  for (let r = 0; r < code.size; r++) {
    for (let c = 0; c < code.size; c++) {
      if (!code.get(c, r)) continue;
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
  const code = qrCode(text);
  assert.ok(code, `encodes ${text.length} characters`);
  const { pixels, full } = render(code);
  const found = jsQR(pixels, full, full, { inversionAttempts: 'dontInvert' });
  assert.ok(found, `decodes (${code.size} modules)`);
  assert.equal(found.data, text);
  assert.equal(found.version, (code.size - 17) / 4, 'the version its size says');
  return code;
}

test('short, medium and long texts decode to themselves', () => {
  const sample = 'KR1-0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  for (const len of [1, 14, 15, 30, 100, 213, 214, 300, 500, 700, 1000, 1300]) {
    roundTrip(sample.repeat(Math.ceil(len / sample.length)).slice(0, len));
    roundTrip('x'.repeat(len));
  }
});

test('the vectors\' request and certificate, and UTF-8 text, decode', () => {
  for (const name of ['request_valid', 'certificate_valid', 'code_trial_with_marketplace_refs']) {
    const input = vectors().cases.find((c) => c.name === name).input;
    const code = roundTrip(input);
    assert.ok(code.size <= 17 + 4 * 25, `${name}: ${code.size} modules`);
  }
  roundTrip('激活证书：许可文件 ✓');
});

test('an activation request is encoded in alphanumeric mode: smaller than byte mode', () => {
  const request = vectors().cases.find((c) => c.name === 'request_valid').input;
  assert.match(request, /^[0-9A-Z-]+$/, 'a request is alphanumeric text');
  const bytes = generate(request, {
    modes: [mode.ascii], minCorrectionLevel: correction.M, maxCorrectionLevel: correction.H,
  });
  const code = roundTrip(request);
  assert.ok(code.size < bytes.size, `alphanumeric ${code.size} < byte mode ${bytes.size} modules`);
});

test('far too long text is refused, not garbled', () => {
  assert.equal(qrCode('z'.repeat(3000)), null);
  roundTrip('y'.repeat(2500)); // more than version 40-M holds: level L
});
