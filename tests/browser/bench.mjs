// `cargo xtask bench` (web part): the page's weight, the time from navigation to the first
// validation result in headless Chromium, and the time one paste takes to validate.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

import { WEB, startServer, launchBrowser, openPage, input, vectors, secs } from './support.mjs';

// The built page (web/pkg/): what keyward-page embeds and serves.
const FILES = ['index.html', 'style.css', 'app.js', 'keyward_web_bg.wasm'];
// Size goals in bytes, read strictly (1 KB = 1000 bytes).
const GOALS = { wasmRaw: 120_000, pageGzip: 80_000, firstResultMs: 300, pasteMs: 2 };

const kb = (n) => `${(n / 1000).toFixed(1)} KB`;
const bytes = (n) => `${n.toLocaleString('en-US')} bytes`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const verdict = (value, goal) => (value <= goal ? 'within goal' : 'OVER goal');

function weight() {
  console.log('\npage weight                      raw        gzip -9    brotli');
  const total = { raw: 0, gzip: 0, br: 0 };
  for (const file of FILES) {
    const bytes = readFileSync(join(WEB, file));
    const gz = gzipSync(bytes, { level: 9 }).length;
    const br = brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
    total.raw += bytes.length;
    total.gzip += gz;
    total.br += br;
    console.log(`  ${file.padEnd(30)} ${kb(bytes.length).padStart(9)}  ${kb(gz).padStart(9)}  ${kb(br).padStart(9)}`);
  }
  console.log(`  ${'total'.padEnd(30)} ${kb(total.raw).padStart(9)}  ${kb(total.gzip).padStart(9)}  ${kb(total.br).padStart(9)}`);
  const wasm = readFileSync(join(WEB, 'keyward_web_bg.wasm')).length;
  console.log(`  (1 KB = 1000 bytes) wasm raw ${bytes(wasm)} (goal ≤ ${bytes(GOALS.wasmRaw)}: ${verdict(wasm, GOALS.wasmRaw)}); `
    + `page gzip ${bytes(total.gzip)} (goal ≤ ${bytes(GOALS.pageGzip)}: ${verdict(total.gzip, GOALS.pageGzip)})`);
}

/** Navigation start to the first verdict on screen, for a code already in the field. */
async function visit(context, server) {
  const page = await context.newPage();
  // The vectors' clock, not today's: the vectors' codes are judged at their own `now` (on
  // today's date the code would be in its grace period, then expired).
  await page.addInitScript(([text, nowMs]) => {
    Date.now = () => nowMs;
    document.addEventListener('readystatechange', () => {
      if (document.readyState === 'interactive') document.getElementById('code').value = text;
    });
  }, [input('code_valid_unbound'), secs(vectors().now) * 1000]);
  await page.goto(server.url);
  await page.waitForFunction(() => performance.getEntriesByName('keyward:first-result').length > 0);
  const t = await page.evaluate(() => ({
    ready: performance.getEntriesByName('keyward:ready')[0].startTime,
    result: performance.getEntriesByName('keyward:first-result')[0].startTime,
    verdict: document.getElementById('code-status').dataset.verdict,
  }));
  await page.close();
  if (t.verdict !== 'active') throw new Error(`the first result was ${t.verdict}, not active`);
  return t;
}

async function firstResult(server, browser) {
  // First visits: each in a new browser with a fresh profile (nothing cached or compiled).
  const cold = [];
  for (let i = 0; i < 5; i++) {
    const fresh = await launchBrowser();
    try {
      cold.push(await visit(fresh.context, server));
    } finally {
      await fresh.close();
    }
  }
  const warm = [];
  for (let i = 0; i < 11; i++) warm.push(await visit(browser.context, server));
  const coldMs = median(cold.map((t) => t.result));
  const warmMs = median(warm.slice(1).map((t) => t.result));
  console.log('\nnavigation → first validation result (headless Chromium, 127.0.0.1)');
  console.log(`  first visit, fresh profile (median of 5)  ${coldMs.toFixed(0)} ms `
    + `(wasm and keys ready at ${median(cold.map((t) => t.ready)).toFixed(0)} ms; all: ${cold.map((t) => t.result.toFixed(0)).join(', ')})`);
  console.log(`  later visits (median of 10)              ${warmMs.toFixed(0)} ms`);
  console.log(`  goal ≤ ${GOALS.firstResultMs} ms: ${verdict(Math.max(coldMs, warmMs), GOALS.firstResultMs)}`);
}

/** Time per validation: the wasm call alone, and a paste through the page's own handler. */
async function perPaste(context, server) {
  const { page } = await openPage(context, server);
  const v = vectors();
  const figures = await page.evaluate(({ codes, now }) => {
    // performance.now() is coarse (0.1 ms) in a page that is not cross-origin isolated: the
    // mean comes from one timing around all n runs, median and p95 from per-run timings.
    const time = (n, fn) => {
      for (let i = 0; i < 20; i++) fn(i); // warm up
      const start = performance.now();
      for (let i = 0; i < n; i++) fn(i);
      const mean = (performance.now() - start) / n;
      const samples = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        fn(i);
        samples.push(performance.now() - t0);
      }
      samples.sort((a, b) => a - b);
      return { mean, median: samples[n >> 1], p95: samples[Math.floor(n * 0.95)] };
    };
    const hook = window.keywardTest;
    const area = document.getElementById('code');
    const paste = (text) => {
      area.value = text;
      area.dispatchEvent(new InputEvent('input', { inputType: 'insertFromPaste', bubbles: true }));
    };
    // A one-character typo at every position of the valid code (each symbol replaced by
    // the next letter of the alphabet): the search's cost over where typos fall, beside the
    // vector's one typo above.
    const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    const everywhere = [];
    for (let i = 4; i < codes.valid.length; i++) {
      const at = ALPHABET.indexOf(codes.valid[i]);
      if (at < 0) continue;
      everywhere.push(codes.valid.slice(0, i) + ALPHABET[(at + 1) % 32] + codes.valid.slice(i + 1));
    }
    // The other typos the search corrects, at every place too: a dropped character, and
    // two neighbours swapped (different symbols; across a hyphen as well).
    const dropped = [];
    const swapped = [];
    const places = [];
    for (let i = 4; i < codes.valid.length; i++) if (ALPHABET.includes(codes.valid[i])) places.push(i);
    for (const [k, i] of places.entries()) {
      dropped.push(codes.valid.slice(0, i) + codes.valid.slice(i + 1));
      const j = places[k + 1];
      if (j === undefined || codes.valid[i] === codes.valid[j]) continue;
      const c = [...codes.valid];
      [c[i], c[j]] = [c[j], c[i]];
      swapped.push(c.join(''));
    }
    const fixed = (texts) => texts.filter((t) => hook.check(t, 'authorization_code', now).suggestion === codes.valid).length;
    return {
      corrected: [[everywhere, 'typos'], [dropped, 'dropped characters'], [swapped, 'swaps']]
        .map(([texts, what]) => `${fixed(texts)} of ${texts.length} ${what}`).join(', '),
      'check(): valid code': time(500, () => hook.check(codes.valid, 'authorization_code', now)),
      'check(): full-width, line breaks': time(500, () => hook.check(codes.wide, 'authorization_code', now)),
      'check(): typo, correction search': time(200, () => hook.check(codes.typo, 'authorization_code', now)),
      [`check(): typo, each of ${everywhere.length} places`]: time(2 * everywhere.length, (i) => hook.check(everywhere[i % everywhere.length], 'authorization_code', now)),
      [`check(): dropped, each of ${dropped.length}`]: time(2 * dropped.length, (i) => hook.check(dropped[i % dropped.length], 'authorization_code', now)),
      [`check(): swap, each of ${swapped.length}`]: time(2 * swapped.length, (i) => hook.check(swapped[i % swapped.length], 'authorization_code', now)),
      'check(): certificate': time(500, () => hook.check(codes.cert, null, now)),
      'paste in field 1 → rendered': time(300, (i) => paste(i % 2 ? codes.valid : codes.wide)),
      'paste of a typo → rendered': time(200, (i) => paste(i % 2 ? codes.typo : codes.valid)),
    };
  }, {
    codes: {
      valid: input('code_valid_unbound'),
      wide: input('code_fullwidth_and_line_breaks'),
      typo: input('code_typo_substitution'),
      cert: input('certificate_valid'),
    },
    now: secs(v.now),
  });
  const { corrected } = figures;
  delete figures.corrected;
  console.log('\nper-paste validation in the browser (performance.now(), ms)');
  console.log('                                      mean    median  p95');
  for (const [name, f] of Object.entries(figures)) {
    console.log(`  ${name.padEnd(34)} ${f.mean.toFixed(3).padStart(6)}  ${f.median.toFixed(3).padStart(6)}  ${f.p95.toFixed(3).padStart(6)}`);
  }
  console.log(`  (corrected to the valid code: ${corrected})`);
  const worst = Math.max(...Object.values(figures).map((f) => f.mean));
  console.log(`  goal ≤ ${GOALS.pasteMs} ms per paste: ${verdict(worst, GOALS.pasteMs)} (slowest mean ${worst.toFixed(3)} ms)`);
  await page.close();
}

weight();
const server = await startServer();
const browser = await launchBrowser();
try {
  await firstResult(server, browser);
  await perPaste(browser.context, server);
} finally {
  await browser.close();
  await server.close();
}
