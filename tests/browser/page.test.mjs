// The activation page in headless Chromium, as a buyer uses it: paste, read, fix, switch
// language, activate — with a screenshot of each state in artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import jsQR from 'jsqr';

import {
  startServer, launchBrowser, openPage, input, vectors, secs, screenshot,
} from './support.mjs';

const CJK = /[\u4e00-\u9fff]/;
const VALID = input('code_valid_unbound');
const SYSTEM_ID = input('system_id_valid');
/** The id of the vectors' key (config.json's), as a certificate names it. */
const KEY_ID = /^Key: ([0-9a-f]{8})$/m.exec(input('certificate_valid'))[1];

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** The page, fresh, with the vectors' `now` so validity does not depend on today. */
async function fresh(options = {}) {
  const opened = await openPage(browser.context, options.server ?? server, options);
  await opened.page.evaluate((now) => window.keywardTest.setContext({ now }), secs(vectors().now));
  return opened;
}

const status = (page, field) => page.$eval(`#${field}-status`, (el) => ({
  verdict: el.dataset.verdict ?? null,
  kind: el.dataset.kind ?? null,
  match: el.dataset.match ?? null,
  suggestion: el.dataset.suggestion ?? null,
  tone: ['ok', 'warn', 'bad', 'info'].find((c) => el.classList.contains(c)) ?? null,
  text: el.textContent,
}));

/** The details list as {label: value}. */
const details = (page, field) => page.$$eval(`#${field}-details dt`, (dts) => Object.fromEntries(
  dts.map((dt) => [dt.textContent, dt.nextElementSibling.textContent]),
));

/** Draws the page's QR code (its SVG) on a canvas and decodes it with jsQR. */
async function readQr(page) {
  const { width, data } = await page.evaluate(async () => {
    const svg = document.querySelector('#qr svg');
    const modules = svg.viewBox.baseVal.width;
    const size = modules * 4;
    const img = new Image(size, size);
    img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(new XMLSerializer().serializeToString(svg))}`;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = size;
    const ctx = canvas.getContext('2d');
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(img, 0, 0, size, size);
    const pixels = ctx.getImageData(0, 0, size, size).data;
    let binary = '';
    for (let i = 0; i < pixels.length; i += 8192) binary += String.fromCharCode(...pixels.subarray(i, i + 8192));
    return { width: size, data: btoa(binary) };
  });
  const pixels = new Uint8ClampedArray(Buffer.from(data, 'base64'));
  return jsQR(pixels, width, width)?.data ?? null;
}

test('loads from 127.0.0.1 only, in Chinese for a Chinese browser, with labelled fields', async () => {
  const { page, external, errors } = await fresh();
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
  assert.match(await page.title(), /激活软件/);
  const textbox = (name) => page.getByRole('textbox', { name, exact: true }).getAttribute('id');
  assert.equal(await textbox('授权码'), 'code');
  assert.equal(await textbox('系统识别码或硬件识别码'), 'machine');
  assert.equal(await textbox('激活证书、续费/冻结/释放通知或任何 keyward 代码'), 'check');
  for (const field of ['code', 'machine', 'check', 'activate']) {
    assert.equal(await page.getAttribute(`#${field}-status`, 'aria-live'), 'polite');
  }
  assert.ok((await page.textContent('footer')).includes(KEY_ID), 'the key id from config.json');
  assert.equal(await page.isDisabled('#activate'), true);
  await screenshot(page, '01-empty-desktop');
  assert.deepEqual(external, [], 'no request leaves 127.0.0.1');
  assert.deepEqual(errors, []);
  await page.close();
});

test('the merchant\'s keys come from config.json', async () => {
  const otherKey = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' });
  const other = await startServer({ publicKeys: [otherKey] });
  try {
    const { page } = await fresh({ server: other });
    await page.fill('#code', VALID);
    assert.equal((await status(page, 'code')).verdict, 'unknown_key', 'a code of another merchant');
    await page.close();
  } finally {
    await other.close();
  }
  const rotated = await startServer({ publicKeys: [otherKey, ...vectors().public_keys] });
  try {
    const { page } = await fresh({ server: rotated });
    await page.fill('#code', VALID);
    assert.equal((await status(page, 'code')).verdict, 'active', 'any of several keys (rotation)');
    assert.equal((await page.textContent('footer')).match(/[0-9a-f]{8}/g).length, 2);
    await page.close();
  } finally {
    await rotated.close();
  }
  const broken = await startServer({ publicKeys: ['not a key'] });
  try {
    const { page } = await openPage(browser.context, broken, { ready: 'failed' });
    assert.match(await page.textContent('#page-status'), /商家设置中的公钥无法读取/);
    assert.equal(await page.isDisabled('#code'), true);
    await screenshot(page, '12-bad-config-desktop');
    await page.close();
  } finally {
    await broken.close();
  }
});

test('English browsers get English; the choice follows navigator.languages', async () => {
  for (const [languages, lang] of [[['en-US', 'en'], 'en'], [['zh-TW', 'en'], 'zh-CN'], [['fr-FR'], 'en']]) {
    const { page } = await fresh({ languages });
    assert.equal(await page.getAttribute('html', 'lang'), lang, languages.join());
    await page.close();
  }
});

test('a valid code shows its details', async () => {
  const { page } = await fresh();
  await page.fill('#code', input('code_trial_with_marketplace_refs'));
  const s = await status(page, 'code');
  assert.equal(s.verdict, 'active');
  assert.equal(s.tone, 'ok');
  assert.match(s.text, /有效的授权码/);
  const d = await details(page, 'code');
  const fmt = new Intl.DateTimeFormat('zh-CN', { dateStyle: 'long', timeStyle: 'short', timeZone: 'Asia/Shanghai' });
  assert.equal(d['产品'], 'acme-invoice');
  assert.equal(d['版本'], 'pro');
  assert.equal(d['席位数'], '1');
  assert.equal(d['功能'], 'export');
  assert.equal(d['类型'], '试用版');
  assert.equal(d['订单号'], 'CS2611201234ABCD');
  assert.equal(d['实例 ID'], 'a1b2c3d4-instance');
  assert.match(d['绑定机器'], /未绑定/);
  const from = fmt.format(new Date('2026-11-01T00:00:00Z'));
  const to = fmt.format(new Date('2026-12-01T00:00:00Z'));
  assert.equal(d['有效期'], `${from} 至 ${to}（剩余 11 天）`);
  assert.match(from, /2026年11月1日/, 'in the buyer\'s locale and time zone');
  await screenshot(page, '02-valid-code-desktop');

  await page.fill('#code', input('code_perpetual'));
  assert.match((await details(page, 'code'))['有效期'], /永久有效/);
  await page.fill('#code', input('code_expired'));
  const expired = await status(page, 'code');
  assert.equal(expired.verdict, 'expired');
  assert.match(expired.text, /2026年10月1日.*到期/);
  await page.close();
});

test('a one-character typo names its group and offers the correction; one click makes it valid', async () => {
  const { page } = await fresh();
  for (const [name, group, first, last] of [
    ['code_typo_substitution', 2, 16, 25],
    ['code_typo_transposition', 4, 38, 47],
  ]) {
    await page.fill('#code', input(name));
    const s = await status(page, 'code');
    assert.equal(s.verdict, 'typo', name);
    assert.match(s.text, new RegExp(`第 ${group} 组（第 ${first}–${last} 个字符）`), s.text);
    const marked = await page.textContent('#code-status .echo mark');
    assert.equal(marked, Array.from(input(name)).slice(first - 1, last).join(''), 'the group is marked');
    const changed = await page.$$eval('#code-status .fix mark.changed', (m) => m.map((x) => x.textContent));
    assert.ok(changed.length >= 1 && changed.length <= 2, `changed characters: ${changed}`);
    if (name === 'code_typo_substitution') await screenshot(page, '03-typo-desktop');
    await page.click('#code-status .use-fix');
    assert.equal(await page.inputValue('#code'), VALID);
    assert.equal((await status(page, 'code')).verdict, 'active');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'code', 'focus stays in the field');
  }
  await screenshot(page, '04-typo-fixed-desktop');

  // A dropped character: said as such, located, and put back with one click.
  await page.fill('#code', input('code_character_missing'));
  assert.match((await status(page, 'code')).text, /少了或多了一个字符，在第 \d+ 组/);
  assert.deepEqual(await page.$$eval('#code-status .fix mark.changed', (m) => m.length), 1);
  await page.click('#code-status .use-fix');
  assert.equal((await status(page, 'code')).verdict, 'active');

  await page.fill('#code', input('code_two_typos_in_two_groups'));
  const two = await status(page, 'code');
  assert.equal(two.verdict, 'typo');
  assert.match(two.text, /第 1和5 组|第 1 和 5 组|第 1、5 组|第 1和 5 组/);
  assert.equal(await page.$('#code-status .use-fix'), null, 'no single correction to offer');
  await page.close();
});

test('full-width characters, line breaks and odd spaces in pasted text are accepted', async () => {
  const { page } = await fresh();
  const wide = (s) => Array.from(s, (c) => (/[0-9A-Za-z:]/.test(c) ? String.fromCodePoint(c.codePointAt(0) + 0xfee0) : c)).join('');
  const pasted = [
    input('code_fullwidth_and_line_breaks'),
    wide(VALID).replaceAll('-', '\r\n'),
    `\u3000${wide(VALID.toLowerCase()).replaceAll('-', '\u00a0ー ')}\n`,
    VALID.replaceAll('-', '\n').replaceAll('0', 'O'),
  ];
  for (const text of pasted) {
    await page.fill('#code', text);
    assert.equal((await status(page, 'code')).verdict, 'active', JSON.stringify(text.slice(0, 30)));
  }
  await page.fill('#machine', wide(SYSTEM_ID).replaceAll('-', '－'));
  assert.equal((await status(page, 'machine')).verdict, 'valid');
  await page.fill('#machine', wide('mac:04-7c-16-5e-e3-5d'));
  const mac = await status(page, 'machine');
  assert.equal(mac.kind, 'hardware_id');
  assert.match(await page.textContent('#machine-details'), /MAC 地址 · mac:04:7C:16:5E:E3:5D/);
  await page.close();
});

test('a code pasted into the wrong field is named and moved with one click', async () => {
  const { page } = await fresh();
  await page.fill('#code', SYSTEM_ID);
  const s = await status(page, 'code');
  assert.equal(s.verdict, 'wrong_kind');
  assert.match(s.text, /这是系统识别码，不是授权码/);
  await screenshot(page, '05-wrong-field-desktop');
  await page.click('#code-status .move');
  assert.equal(await page.inputValue('#code'), '');
  assert.equal(await page.inputValue('#machine'), SYSTEM_ID);
  assert.equal((await status(page, 'machine')).verdict, 'valid');

  await page.fill('#code', 'mac:00:1a:2b:3c:4d:5e');
  assert.match((await status(page, 'code')).text, /这是硬件识别码/);
  await page.fill('#code', input('certificate_valid'));
  await page.click('#code-status .move');
  assert.equal((await status(page, 'check')).kind, 'activation_certificate');
  await page.close();
});

test('a bound code is checked against field 2 on the spot', async () => {
  const { page } = await fresh();
  const cases = [
    ['code_bound_system_this_machine', SYSTEM_ID, 'match', false],
    ['code_bound_system_other_machine', SYSTEM_ID, 'mismatch', true],
    ['code_bound_mac_this_machine', 'MAC: 04-7C-16-5E-E3-5D', 'match', false],
    ['code_bound_mac_other_machine', 'mac:04:7c:16:5e:e3:5d', 'mismatch', true],
    ['code_bound_mac_this_machine', SYSTEM_ID, 'incomparable', true],
  ];
  for (const [name, machine, match, blocked] of cases) {
    await page.fill('#code', input(name));
    const code = await status(page, 'code');
    assert.equal(code.verdict, 'active', `${name}: terms are valid`);
    await page.fill('#machine', machine);
    const m = await status(page, 'machine');
    assert.equal(m.match, match, name);
    assert.equal(await page.isDisabled('#activate'), blocked, `${name}: activation`);
    if (match === 'mismatch') {
      assert.match(m.text, /此授权码属于另一台机器/);
      assert.equal(m.tone, 'bad');
    }
    if (name === 'code_bound_system_other_machine') await screenshot(page, '06-bound-other-machine-desktop');
    if (name === 'code_bound_system_this_machine') await screenshot(page, '07-bound-this-machine-desktop');
  }
  await page.close();
});

test('a system identification code made without the product, or for another, is named as such', async () => {
  const { page } = await fresh();
  const cases = [
    ['code_valid_unbound', 'system_id_without_product'],
    ['code_valid_unbound', 'system_id_for_another_product'],
    ['code_bound_system_this_machine', 'system_id_without_product'],
  ];
  for (const [code, machine] of cases) {
    await page.fill('#code', input(code));
    assert.equal((await status(page, 'code')).verdict, 'active', code);
    await page.fill('#machine', input(machine));
    const m = await status(page, 'machine');
    assert.equal(m.match, 'mismatch', `${code} + ${machine}`);
    assert.equal(m.tone, 'bad', `${code} + ${machine}`);
    // The cause and the fix, with the product's id: not "another machine".
    assert.match(m.text, /不是为 acme-invoice 生成的/, `${code} + ${machine}: ${m.text}`);
    assert.match(m.text, /keyward system-id --product acme-invoice/, m.text);
    assert.doesNotMatch(m.text, /另一台机器/, m.text);
    assert.equal(await page.isDisabled('#activate'), true, `${code} + ${machine}: activation`);
    assert.match(await page.textContent('#activate-hint'), /不是为本产品生成的/);
    // The same code made for the product matches (bound) or is accepted (unbound).
    await page.fill('#machine', SYSTEM_ID);
    assert.notEqual((await status(page, 'machine')).match, 'mismatch', code);
  }
  await page.close();
});

test('the language switch changes every message', async () => {
  const { page } = await fresh();
  await page.fill('#code', input('code_bound_system_other_machine'));
  await page.fill('#machine', SYSTEM_ID);
  await page.fill('#check', input('certificate_valid'));
  const texts = () => page.$$eval(
    '[data-t], .status p, #activate, #activate-hint, dl.details dt, #footer',
    (nodes) => nodes.filter((n) => n.offsetParent !== null || n.closest('#output')).map((n) => n.textContent),
  );
  const zh = await texts();
  await page.click('#lang');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.equal(await page.textContent('#lang'), '中文');
  const en = await texts();
  assert.equal(en.length, zh.length);
  assert.ok(zh.length > 30, `${zh.length} messages compared`);
  for (const [i, z] of zh.entries()) {
    assert.notEqual(en[i], z, `changed: ${z}`);
    assert.match(z, CJK, `Chinese: ${z}`);
    assert.doesNotMatch(en[i], CJK, `English: ${en[i]}`);
  }
  assert.match(await page.title(), /Activate your software/);
  await screenshot(page, '08-english-desktop');
  await page.keyboard.press('Shift+Tab'); // stays usable from the keyboard
  await page.focus('#lang');
  await page.keyboard.press('Enter');
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
  assert.deepEqual(await texts(), zh);
  await page.close();
});

test('offline, the page produces the activation request, with copy, download and QR code', async () => {
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  const { page, external } = await fresh();
  assert.equal(await page.textContent('#activate'), '生成激活请求');
  // Once loaded, the page needs no network.
  await browser.context.setOffline(true);
  try {
    await page.fill('#code', VALID);
    await page.fill('#machine', SYSTEM_ID);
    await page.click('#activate');
  } finally {
    await browser.context.setOffline(false);
  }
  assert.deepEqual(external, []);
  const request = await page.inputValue('#output-text');
  assert.match(request, /^KR1-[0-9A-Z-]+$/);
  assert.equal(await page.getAttribute('#output', 'data-type'), 'request');
  assert.match(await page.textContent('#activate-status'), /已生成激活请求/);
  await screenshot(page, '09-request-desktop');

  assert.equal(await readQr(page), request, 'the QR code holds the request');
  await page.click('#copy');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), request);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  assert.equal(download.suggestedFilename(), 'activation-request-1020304050607001.txt');
  assert.equal(await readFile(await download.path(), 'utf8'), `${request}\n`);

  // The request is what the merchant will read: the code and this machine.
  await page.fill('#check', request);
  const seen = await status(page, 'check');
  assert.deepEqual([seen.kind, seen.verdict], ['activation_request', 'valid']);
  assert.match(await page.textContent('#check-details'), new RegExp(SYSTEM_ID));

  // A changed input makes the request stale: it disappears.
  await page.fill('#machine', 'mac:04:7c:16:5e:e3:5d');
  assert.equal(await page.isHidden('#output'), true);
  await page.close();
});

test('online, one click activates and shows the certificate with copy, download (.lic) and QR code', async () => {
  const requests = [];
  let answer = () => ({ body: { certificate: input('certificate_valid') } });
  const online = await startServer({ activate: (body) => { requests.push(body.request); return answer(); } });
  try {
    const { page, external } = await fresh({ server: online });
    // The vectors' certificate echoes nonce 07…07: make the request with it.
    await page.evaluate((now) => window.keywardTest.setContext({ now, nonce: new Uint8Array(8).fill(7) }), secs(vectors().now));
    assert.equal(await page.textContent('#activate'), '激活');
    await page.fill('#code', VALID);
    await page.fill('#machine', SYSTEM_ID);
    await page.click('#activate');
    await page.waitForSelector('#output[data-type="certificate"]:not([hidden])');
    assert.equal(requests.length, 1);
    assert.match(requests[0], /^KR1-/);
    assert.equal(await page.inputValue('#output-text'), input('certificate_valid'));
    assert.match(await page.textContent('#activate-status'), /激活成功/);
    assert.equal(await readQr(page), input('certificate_valid'));
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    assert.equal(download.suggestedFilename(), 'acme-invoice-1020304050607014.lic');
    await screenshot(page, '10-certificate-desktop');

    // A certificate that does not answer this request (other nonce) is not shown as one.
    await page.evaluate((now) => window.keywardTest.setContext({ now }), secs(vectors().now));
    await page.click('#activate');
    await page.waitForSelector('#output[data-type="request"]:not([hidden])');
    assert.match(await page.textContent('#activate-status'), /不是本次请求的有效激活证书/);

    // The service failing: the request is offered instead.
    answer = () => ({ status: 500, body: { error: 'ledger unavailable' } });
    await page.click('#activate');
    await page.waitForSelector('#output[data-type="request"]:not([hidden])');
    assert.match(await page.textContent('#activate-status'), /激活失败：激活服务返回了错误 500/);
    assert.deepEqual(external, []);
    await page.close();
  } finally {
    await online.close();
  }
});

test('a pasted certificate or signed update is checked in the third field', async () => {
  const { page } = await fresh();
  await page.fill('#machine', SYSTEM_ID);
  await page.fill('#check', input('certificate_valid'));
  const cert = await status(page, 'check');
  assert.deepEqual([cert.kind, cert.verdict, cert.match], ['activation_certificate', 'active', 'match']);
  assert.match(cert.text, /此证书属于第 2 栏填写的机器/);
  await screenshot(page, '11-check-certificate-desktop');
  await page.fill('#check', input('certificate_other_machine'));
  assert.equal((await status(page, 'check')).match, 'mismatch');
  await page.fill('#check', input('update_renew_valid'));
  const update = await status(page, 'check');
  assert.deepEqual([update.kind, update.verdict], ['signed_update', 'valid']);
  const d = await details(page, 'check');
  assert.equal(d['操作'], '续费');
  assert.match(d['新的到期时间'], /2027年12月1日/);
  await page.fill('#check', input('certificate_tampered_bit'));
  assert.match((await status(page, 'check')).text, /签名与内容不符/);
  await page.close();
});

test('text around a code: found, and a code pasted twice offers its one copy', async () => {
  const { page } = await fresh();
  await page.fill('#code', input('code_in_chinese_sentence'));
  assert.equal((await status(page, 'code')).verdict, 'active');
  await page.fill('#code', input('code_pasted_twice'));
  const s = await status(page, 'code');
  assert.equal(s.verdict, 'pasted_twice');
  assert.match(s.text, /粘贴了两遍/);
  await page.click('#code-status .use-fix');
  assert.equal(await page.inputValue('#code'), VALID);
  assert.equal((await status(page, 'code')).verdict, 'active');
  await page.close();
});

test('every kind of problem is worded in both languages', async () => {
  const { page } = await fresh();
  const cert = input('certificate_valid');
  const cases = [
    ['code', input('code_invalid_character'), 'malformed'],
    ['code', 'KA1-7', 'incomplete'],
    ['code', input('code_cut_off_in_signature'), 'incomplete'],
    ['code', input('code_pasted_twice'), 'pasted_twice'],
    ['code', input('code_look_alike_letter'), 'malformed'],
    ['check', input('code_and_another_code'), 'malformed'],
    ['code', input('code_character_missing'), 'typo'],
    ['code', 'K'.repeat(70 * 1024), 'malformed'],
    ['check', input('code_truncated_valid_checks'), 'malformed'],
    ['check', input('certificate_missing_end_line'), 'malformed'],
    ['check', `${cert}\n${cert}`, 'malformed'],
    ['check', `-----END KEYWARD ACTIVATION CERTIFICATE-----\n${cert}`, 'malformed'],
    ['code', `KA2${VALID.slice(3)}`, 'unsupported_version'],
    ['code', input('code_unknown_key'), 'unknown_key'],
    ['code', input('code_tampered_signature_bit'), 'bad_signature'],
    ['code', 'hello', 'not_a_keyward_code'],
    ['machine', 'hello', 'not_a_keyward_code'],
    ['check', 'hello', 'not_a_keyward_code'],
    ['code', 'PL0123456789ABCDEF0123456789', 'marketplace_code'],
    ['code', input('request_valid'), 'wrong_kind'],
    ['code', 'mac:00:1a:2b:3c:4d:5e', 'invalid_input'],
    ['machine', 'mac:00:1a:2b', 'invalid_hardware_id'],
    ['machine', 'uuid:1234', 'invalid_hardware_id'],
    ['machine', 'sn:a<b', 'invalid_hardware_id'],
    ['machine', 'disk:', 'invalid_hardware_id'],
    ['machine', 'fp:a|b', 'invalid_hardware_id'],
    ['machine', 'custom:', 'invalid_hardware_id'],
    ['machine', 'hello|', 'invalid_hardware_id'],
    ['machine', '  ', 'empty'],
    ['code', input('code_not_yet_valid'), 'not_yet_valid'],
    ['code', input('code_in_grace'), 'in_grace'],
  ];
  const shown = [];
  for (const [field, text, verdict] of cases) {
    for (const f of ['code', 'machine', 'check']) await page.fill(`#${f}`, '');
    await page.fill(`#${field}`, text);
    const zh = await status(page, field);
    assert.equal(zh.verdict, verdict, `${field}: ${text.slice(0, 40)}`);
    await page.click('#lang');
    const en = await status(page, field);
    await page.click('#lang');
    for (const [lang, s] of [['zh', zh], ['en', en]]) {
      assert.ok(s.text && !s.text.includes('⟦'), `${lang} ${verdict}: ${s.text}`);
      assert.equal(CJK.test(s.text), lang === 'zh', `${lang}: ${s.text}`);
    }
    shown.push(zh.text);
  }
  assert.equal(new Set(shown).size, shown.length, 'each problem has its own sentence');
  await page.close();
});

/** Text a buyer must never see: a value that was missing, or a message key. */
const BROKEN = /\bnull\b|\bundefined\b|\bNaN\b|Invalid Date|⟦|\[object/;

/** Every text the page shows about the fields and the activation. */
const shownText = (page) => page.$$eval(
  '#code-status, #code-details, #machine-status, #machine-details, #check-status, #check-details, #activate-hint, #activate-status',
  (nodes) => nodes.map((n) => n.textContent).join('\n'),
);

/**
 * Pastes into the three fields at once (`''` empties one): the value is set and an input
 * event like a paste's is sent (Playwright's fill is very slow with thousands of lines).
 */
const paste = (page, fields) => page.evaluate((f) => {
  for (const [id, text] of Object.entries(f)) {
    const area = document.getElementById(id);
    area.value = text;
    area.dispatchEvent(new InputEvent('input', { inputType: 'insertFromPaste', bubbles: true }));
  }
}, fields);

test('no field of a result ever shows null, undefined or NaN', async () => {
  const { page } = await fresh();
  const typo = input('code_typo_substitution');
  const texts = [
    // More than 4,000 characters with a typo (the page once showed a literal "null").
    `${typo}${' '.repeat(4100)}`,
    `${' \n'.repeat(2100)}${typo}`,
    `${input('code_character_missing')}${'\n'.repeat(5000)}`,
    'K'.repeat(70 * 1024),
    ...vectors().cases.map((c) => c.input),
  ];
  // Every vector in Chinese; the long texts in English too (the values are the same).
  for (const [lang, some] of [['zh', texts], ['en', texts.slice(0, 4)]]) {
    await page.evaluate((l) => window.keywardTest.setLanguage(l), lang);
    for (const text of some) {
      for (const field of ['code', 'machine', 'check']) {
        const fields = { code: '', machine: '', check: '', [field]: text };
        // With a code, a machine too (bound codes compare, activation hints appear).
        if (field === 'code') fields.machine = SYSTEM_ID;
        await paste(page, fields);
        const shown = await shownText(page);
        assert.doesNotMatch(shown, BROKEN, `${lang} ${field}: ${text.slice(0, 60)} → ${shown.slice(0, 300)}`);
      }
    }
  }
  // The long typo is still located, without echoing 4,000 characters.
  await page.evaluate(() => window.keywardTest.setLanguage('zh'));
  await paste(page, { code: `${typo}${' '.repeat(4100)}`, machine: '', check: '' });
  const s = await status(page, 'code');
  assert.equal(s.verdict, 'typo');
  assert.match(s.text, /文字太长，不逐字显示/);
  await page.close();
});

test('typing a code by hand says "incomplete, keep typing", not an error', async () => {
  const { page } = await fresh();
  await page.focus('#code');
  await page.keyboard.type(VALID.slice(0, 37));
  let s = await status(page, 'code');
  assert.equal(s.tone, 'info', s.text);
  assert.match(s.text, /还没有输完（已输入 \d+ 个字符），请继续输入/);
  // Still so after a pause (no red error once the typing stops).
  await page.waitForTimeout(1200);
  s = await status(page, 'code');
  assert.equal(s.tone, 'info', s.text);
  assert.match(s.text, /请继续输入/);
  await screenshot(page, '14-typing-desktop');
  // A mistake in a finished group is a mistake, shown as one after the pause.
  await page.fill('#code', '');
  await page.keyboard.type(`${VALID.slice(0, 6)}${VALID[6] === 'X' ? 'Y' : 'X'}${VALID.slice(7, 30)}`);
  await page.waitForTimeout(1200);
  s = await status(page, 'code');
  assert.equal(s.tone, 'bad', s.text);
  assert.equal(s.verdict, 'typo');
  // The machine field too.
  await page.focus('#machine');
  await page.keyboard.type(SYSTEM_ID.slice(0, 12));
  assert.match((await status(page, 'machine')).text, /请继续输入/);
  // Pasted, a cut-off code is said to be incomplete (not a typing mistake), with how
  // many characters are missing at the end (issue 8.11).
  await page.fill('#code', VALID.slice(0, 120));
  s = await status(page, 'code');
  assert.match(s.text, /不完整：结尾(至少)?缺少 \d+ 个字符/);
  assert.doesNotMatch(s.text, /输入错误/);
  // A signed code missing only its last character is corrected (one insertion makes it
  // valid), and the typo is located in its last group.
  await page.click('#lang');
  await page.fill('#code', VALID.slice(0, -1));
  s = await status(page, 'code');
  assert.equal(s.suggestion, VALID);
  assert.match(s.text, /a character missing or one too many, in or near group \d+/, s.text);
  // A system identification code has no signature to pick a fix: one character is said
  // in the singular, more in the plural.
  await page.fill('#machine', SYSTEM_ID.slice(0, -1));
  assert.match((await status(page, 'machine')).text, /incomplete: 1 character is missing at the end/);
  await page.fill('#machine', SYSTEM_ID.slice(0, -3));
  assert.match((await status(page, 'machine')).text, /incomplete: 3 characters are missing at the end/);
  await page.close();
});

test('the merchant\'s and product\'s names and the support contact come from config.json', async () => {
  const named = await startServer({
    merchant: { merchant_name: '示例软件公司', product_name: 'Acme Invoice', support_contact: 'support@acme.example' },
  });
  try {
    const { page } = await fresh({ server: named });
    assert.equal(await page.textContent('h1'), '激活 Acme Invoice');
    assert.match(await page.title(), /激活 Acme Invoice · 示例软件公司/);
    assert.equal(await page.textContent('#merchant'), '商家：示例软件公司 · 客服：support@acme.example');
    await page.click('#lang');
    assert.equal(await page.textContent('h1'), 'Activate Acme Invoice');
    assert.equal(await page.textContent('#merchant'), 'Merchant: 示例软件公司 · Support: support@acme.example');
    await screenshot(page, '15-merchant-desktop');
    await page.close();
  } finally {
    await named.close();
  }
  // Without them: the generic title and no empty line.
  const { page } = await fresh();
  assert.equal(await page.textContent('h1'), '激活软件');
  assert.equal(await page.isHidden('#merchant'), true);
  await page.close();
});

test('a marketplace code (PL…) is told what to do: contact the merchant offline, Activate online', async () => {
  const PL = 'PL0123456789ABCDEF0123456789';
  const named = await startServer({ merchant: { support_contact: '400-123-4567' } });
  try {
    const { page } = await fresh({ server: named });
    await page.fill('#code', PL);
    const s = await status(page, 'code');
    assert.equal(s.verdict, 'marketplace_code');
    assert.match(s.text, /联系商家换取授权码：400-123-4567/);
    assert.doesNotMatch(s.text, /激活页面/, 'not sent to "the activation page": this is it');
    await page.fill('#machine', SYSTEM_ID);
    assert.equal(await page.isDisabled('#activate'), true);
    await page.close();
  } finally {
    await named.close();
  }
  const bodies = [];
  const online = await startServer({
    activate: (body) => { bodies.push(body); return { body: { certificate: input('certificate_valid') } }; },
  });
  try {
    const { page } = await fresh({ server: online });
    await page.fill('#code', PL);
    const s = await status(page, 'code');
    assert.equal(s.tone, 'info');
    assert.match(s.text, /点击“激活”/);
    await page.fill('#machine', SYSTEM_ID);
    assert.equal(await page.isDisabled('#activate'), false);
    await page.click('#activate');
    await page.waitForSelector('#output[data-type="certificate"]:not([hidden])');
    assert.deepEqual(bodies, [{ marketplace_code: PL, machine: SYSTEM_ID }]);
    await page.close();
  } finally {
    await online.close();
  }
});

test('keyboard only: tab through, paste, activate, copy', async () => {
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  const { page } = await fresh();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'lang');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'code');
  await page.keyboard.insertText(VALID);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'machine');
  await page.keyboard.insertText(SYSTEM_ID);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'activate');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'output-text');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'copy');
  await page.keyboard.press('Space');
  assert.match(await page.evaluate(() => navigator.clipboard.readText()), /^KR1-/);

  // A typo's correction is reachable and usable by keyboard too.
  await page.focus('#code');
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.insertText(input('code_typo_substitution'));
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.className), 'use-fix');
  await page.keyboard.press('Enter');
  assert.equal((await status(page, 'code')).verdict, 'active');
  await page.close();
});

test('at 360 px wide nothing overflows, in every state', async () => {
  const { page } = await fresh({ width: 360 });
  const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  assert.ok(await fits(), 'empty');
  await screenshot(page, '20-empty-360');
  await page.fill('#code', input('code_typo_substitution'));
  assert.ok(await fits(), 'typo');
  await screenshot(page, '21-typo-360');
  await page.fill('#code', input('code_trial_with_marketplace_refs'));
  await page.fill('#machine', SYSTEM_ID);
  assert.ok(await fits(), 'details');
  await screenshot(page, '22-valid-360');
  await page.click('#activate');
  assert.ok(await fits(), 'request');
  await screenshot(page, '23-request-360');
  await page.click('#lang');
  await page.fill('#check', input('certificate_valid'));
  assert.ok(await fits(), 'English, certificate');
  await screenshot(page, '24-english-certificate-360');
  await page.close();
});
