// The page's message table (web/i18n.js): both languages complete, and a sentence for every
// stable code keyward-core can give. The codes are read from the core's sources, so a code
// added there fails here until the page words it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { MESSAGES, format, pickLanguage } from '../../web/i18n.js';
import { ROOT } from './support.mjs';

const CJK = /[\u4e00-\u9fff]/;

/** The string literals a function of keyward-core returns (`fn code`, `fn prefix`, …). */
function codesOf(file, signature) {
  const source = readFileSync(join(ROOT, 'crates/keyward-core/src', file), 'utf8');
  const start = source.indexOf(signature);
  assert.ok(start >= 0, `${file}: ${signature}`);
  const body = source.slice(start, source.indexOf('\n    }\n', start));
  return [...body.matchAll(/"([a-z_]+)"/g)].map((m) => m[1]);
}

/** Codes only the plugin gives (its own calls and the host's imports), never the page. */
const PLUGIN_ONLY = new Set(['not_initialized', 'already_initialized', 'state_not_saved', 'no_randomness']);

/** Every stable code of keyward-core's `ErrorCode` and `StatusCode` (codes.rs: `Name = "code"`). */
const verdicts = [
  ...[...readFileSync(join(ROOT, 'crates/keyward-core/src/codes.rs'), 'utf8').matchAll(/^\s+[A-Z][A-Za-z]* = "([a-z_]+)",$/gm)].map((m) => m[1]),
  'valid', // artifact.rs: artifacts without a license status
].filter((c) => !PLUGIN_ONLY.has(c));

test('Chinese and English have the same keys, none empty', () => {
  const zh = Object.keys(MESSAGES.zh).sort();
  const en = Object.keys(MESSAGES.en).sort();
  assert.deepEqual(zh, en);
  for (const key of zh) {
    assert.ok(MESSAGES.zh[key].trim(), `zh ${key}`);
    assert.ok(MESSAGES.en[key].trim(), `en ${key}`);
    assert.deepEqual(
      MESSAGES.zh[key].match(/\{\w+\}/g)?.sort() ?? [],
      MESSAGES.en[key].match(/\{\w+\}/g)?.sort() ?? [],
      `${key}: the same placeholders`,
    );
  }
});

test('sentences are in their language', () => {
  for (const key of Object.keys(MESSAGES.zh)) {
    if (['lang_name', 'switch_label', 'switch_to'].includes(key)) continue;
    if (/^(hw|fact)_/.test(key) && !CJK.test(MESSAGES.zh[key])) continue; // "UUID", "CPU"
    assert.match(MESSAGES.zh[key], CJK, `zh ${key}`);
    assert.doesNotMatch(MESSAGES.en[key], CJK, `en ${key}`);
  }
});

test('every verdict code of keyward-core has a sentence', () => {
  assert.ok(verdicts.length >= 20, verdicts.join());
  for (const code of verdicts) {
    const keys = Object.keys(MESSAGES.zh).filter((k) => k === `v_${code}` || k.startsWith(`v_${code}_`));
    assert.ok(keys.length, `no sentence for verdict ${code}`);
  }
});

test('every kind, hardware kind, machine fact and update action has a name', () => {
  const names = [
    ['kind_', [...codesOf('kind.rs', 'pub const fn code(self)'), 'hardware_id']],
    ['hw_', codesOf('hwid.rs', 'pub const fn prefix(self)')],
    ['v_invalid_hardware_id_', codesOf('hwid.rs', 'pub const fn prefix(self)')],
    ['fact_', [...codesOf('facts.rs', 'pub const fn code(self)'), ...codesOf('hwid.rs', 'pub const fn code(self)')]],
    ['action_', codesOf('update.rs', 'pub fn code(&self)')],
  ];
  for (const [prefix, codes] of names) {
    assert.ok(codes.length >= 4, `${prefix}: ${codes}`);
    for (const code of codes) assert.ok(`${prefix}${code}` in MESSAGES.zh, `${prefix}${code}`);
  }
});

test('placeholders are filled, and a missing key is visible', () => {
  assert.equal(format('en', 'd_facts', { n: 5 }), '5 machine facts');
  assert.equal(format('zh', 'd_facts', { n: 5 }), '5 项机器特征');
  assert.equal(format('en', 'no_such_key'), '⟦no_such_key⟧');
});

test('the language follows the browser: the first of Chinese or English', () => {
  assert.equal(pickLanguage(['zh-CN', 'en']), 'zh');
  assert.equal(pickLanguage(['en-US', 'zh-CN']), 'en');
  assert.equal(pickLanguage(['ja', 'zh-TW']), 'zh');
  assert.equal(pickLanguage(['de-DE']), 'en');
  assert.equal(pickLanguage([]), 'zh');
});
