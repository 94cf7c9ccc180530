// Every shared test vector reaches the same verdict in the page as in the file: cases for
// the authorization-code field go through field 1, system-id cases through field 2, the
// rest through the check field — the page's own wasm, its own rendering.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, launchBrowser, openPage, vectors, secs } from './support.mjs';

const FIELD = { authorization_code: 'code', system_id: 'machine' };
const CJK = /[\u4e00-\u9fff]/;

let server;
let browser;
let page;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  ({ page } = await openPage(browser.context, server));
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** Puts `text` in `field` alone (the other fields emptied) under the case's context. */
async function enter(field, text, context) {
  await page.evaluate((ctx) => window.keywardTest.setContext(ctx), context);
  for (const f of ['code', 'machine', 'check']) await page.fill(`#${f}`, '');
  await page.fill(`#${field}`, text);
  return page.$eval(`#${field}-status`, (el) => ({
    verdict: el.dataset.verdict ?? null,
    kind: el.dataset.kind ?? null,
    suggestion: el.dataset.suggestion ?? null,
    text: el.textContent,
  }));
}

test('every vector, through its field, reaches the file\'s verdict and suggestion', async (t) => {
  const v = vectors();
  for (const c of v.cases) {
    await t.test(c.name, async () => {
      const field = FIELD[c.expected_kind] ?? 'check';
      const context = { now: secs(v.now), facts: v.facts, highWater: secs(c.high_water ?? v.high_water) };
      const shown = await enter(field, c.input, context);
      assert.equal(shown.verdict, c.verdict, `${c.name}: verdict`);
      assert.equal(shown.kind, c.kind, `${c.name}: kind`);
      assert.equal(shown.suggestion, c.suggestion, `${c.name}: suggestion`);
      assert.ok(!shown.text.includes('⟦'), `${c.name}: worded in Chinese: ${shown.text}`);
      assert.match(shown.text, CJK, `${c.name}: Chinese message`);

      await page.evaluate(() => window.keywardTest.setLanguage('en'));
      const en = await page.$eval(`#${field}-status`, (el) => el.textContent);
      await page.evaluate(() => window.keywardTest.setLanguage('zh'));
      assert.ok(!en.includes('⟦') && !CJK.test(en), `${c.name}: worded in English: ${en}`);
    });
  }
});

test('the test hook gives the same verdicts straight from the page\'s wasm', async () => {
  const v = vectors();
  const results = await page.evaluate(({ v, now }) => v.cases.map((c) => {
    const hw = Date.parse(c.high_water ?? v.high_water) / 1000;
    const r = window.keywardTest.check(c.input, c.expected_kind ?? null, now, v.facts, hw);
    return { name: c.name, verdict: r.verdict, kind: r.kind, suggestion: r.suggestion };
  }), { v, now: secs(v.now) });
  for (const [i, c] of v.cases.entries()) {
    assert.deepEqual(results[i], { name: c.name, verdict: c.verdict, kind: c.kind, suggestion: c.suggestion });
  }
});
