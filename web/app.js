// The buyer activation page. Every verdict comes from keyward-core compiled to wasm
// (crates/keyward-web); this file wires the three fields, words the verdicts in Chinese or
// English (i18n.js), and produces the activation request or certificate.
import initWasm, { Page } from './pkg/keyward_web.js';
import { format, pickLanguage, showable } from './i18n.js';
import { qrSvg } from './qr.js';
import { renderDeactivation, setupDeactivation } from './online.js';

const $ = (id) => document.getElementById(id);

/** What each input field takes (see `check` in crates/keyward-web). */
const FIELDS = { code: 'authorization_code', machine: 'machine', check: null };
/** License statuses an activation makes sense for. */
const ACTIVATABLE = new Set(['active', 'in_grace', 'not_yet_valid']);
/** Delay before showing an error while someone is typing character by character. */
const TYPING_PAUSE_MS = 800;
/** Where `keyward serve` answers activations (config.json's `online`). */
const ACTIVATIONS = 'api/v1/activations';
/** Longest text shown back character by character with its mistakes marked. */
const ECHO_MAX = 4000;

const state = {
  lang: 'zh',
  config: null,
  page: null, // the wasm's Page: the merchant's keys and every check
  keyIds: [],
  typing: { code: false, machine: false, check: false }, // typed by hand, not pasted
  reports: { code: null, machine: null, check: null },
  held: { code: false, machine: false, check: false },
  shown: {}, // what each field's status last showed
  timers: {},
  match: null, // the code's binding against field 2
  checkMatch: null, // a certificate in field 3 against field 2
  output: null, // {type: 'request' | 'certificate', text, file}
  activation: null, // {key, args, tone}
  pageError: null, // {key, args}
  firstResult: false,
  // Set only by the test hook: fixed time, machine facts, clock high-water mark, nonce.
  test: { now: null, facts: undefined, highWater: undefined, nonce: null },
};

const t = (key, args) => format(state.lang, key, args);

/** A result of the wasm, which is JSON text; `{error}` (a wrong call) is thrown. */
function parsed(json) {
  const value = JSON.parse(json);
  if (value.error !== undefined) throw new Error(value.error);
  return value;
}

/**
 * Machine facts (`{machine_id, product_uuid, board_serial, disk_serial, cpu, macs, cpu_id,
 * custom}`, as in tests/vectors/vectors.json) the way the wasm takes them: lines of
 * `name=value`, the lists (`macs`, `custom`) a line per entry; `undefined` for none.
 */
function factLines(facts) {
  if (facts === undefined || facts === null) return undefined;
  const lines = [];
  for (const [name, value] of Object.entries(facts)) {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) if (typeof v === 'string') lines.push(`${name}=${v}`);
  }
  return lines.join('\n');
}

/** The wasm's verdict on `text` (see `check` in crates/keyward-web). */
const checkText = (text, expectedKind, n, facts, highWater) => parsed(state.page.check(text, expectedKind ?? undefined, n, factLines(facts), highWater));

const now = () => state.test.now ?? Date.now() / 1000;

function locale() {
  const prefs = navigator.languages?.length ? navigator.languages : [navigator.language];
  return prefs.find((l) => l && l.toLowerCase().startsWith(state.lang)) ?? (state.lang === 'zh' ? 'zh-CN' : 'en');
}

// Values the wasm did not give show as "…" (never "null", "NaN" or "Invalid Date").
const date = (secs) => (typeof secs === 'number' && Number.isFinite(secs)
  ? new Intl.DateTimeFormat(locale(), { dateStyle: 'long', timeStyle: 'short' }).format(new Date(secs * 1000))
  : '…');
const list = (items) => new Intl.ListFormat(locale(), { type: 'conjunction' })
  .format((items ?? []).filter(showable).map(String));
const number = (n) => (typeof n === 'number' && Number.isFinite(n) ? new Intl.NumberFormat(locale()).format(n) : '…');

/** A kind's name; in English with its article when `article` is set. */
function kindName(kind, article = false) {
  const name = t(`kind_${kind ?? 'authorization_code'}`);
  if (!article || state.lang !== 'en') return name;
  return `${/^[aeiou]/i.test(name) ? 'an' : 'a'} ${name}`;
}

/** The field a kind belongs in. */
const homeOf = (kind) => ({ authorization_code: 'code', system_id: 'machine', hardware_id: 'machine' })[kind] ?? 'check';

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') node.className = v;
    else if (k === 'on') Object.entries(v).forEach(([ev, fn]) => node.addEventListener(ev, fn));
    else if (k in node) node[k] = v;
    else node.setAttribute(k, v);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

// ---------------------------------------------------------------------------------------
// Checking

function validate(field) {
  const text = $(field).value;
  const { facts, highWater } = state.test;
  state.reports[field] = text === '' ? null : checkText(text, FIELDS[field], now(), facts, highWater);
  if (field !== 'check') {
    state.output = null;
    state.activation = null;
  }
  compareMachine();
}

/** The bound code (or field 3's certificate) against the machine in field 2. */
function compareMachine() {
  const { code, machine, check } = state.reports;
  const machineOk = machine?.verdict === 'valid';
  // Unbound codes too: a system identification code made without this product (or for
  // another) matches no license of it, and is said so on the spot.
  state.match = code?.details && machineOk
    ? parsed(state.page.bound_matches($('code').value, $('machine').value)) : null;
  state.checkMatch = check?.kind === 'activation_certificate' && check.details && machineOk
    ? parsed(state.page.bound_matches($('check').value, $('machine').value)) : null;
}

/** Whether an input event is someone typing (one character in or out), not a paste. */
function isTyping(e) {
  if (e.inputType?.startsWith('deleteContent')) return true;
  return ['insertText', 'insertCompositionText'].includes(e.inputType) && e.data?.length === 1;
}

function onInput(field, typing) {
  state.typing[field] = typing;
  validate(field);
  clearTimeout(state.timers[field]);
  const report = state.reports[field];
  // Let the person finish typing before showing an error.
  state.held[field] = typing && report !== null && tone(report) === 'bad';
  if (state.held[field]) {
    state.timers[field] = setTimeout(() => {
      state.held[field] = false;
      render();
    }, TYPING_PAUSE_MS);
  }
  render();
}

/** Puts text in a field (a correction, or a code moved to where it belongs) and checks it. */
function replaceField(field, text) {
  const area = $(field);
  area.value = text;
  state.typing[field] = false;
  state.held[field] = false;
  validate(field);
  render();
  area.focus();
}

// ---------------------------------------------------------------------------------------
// Wording a report

function tone(r) {
  if (r.reason === 'incomplete') return 'info';
  if (r.verdict === 'marketplace_code' && state.config?.online) return 'info';
  if (['active', 'valid'].includes(r.verdict)) return 'ok';
  if (['in_grace', 'not_yet_valid'].includes(r.verdict)) return 'warn';
  if (['empty', 'no_license'].includes(r.verdict)) return 'info';
  return 'bad';
}

/**
 * Whether a mismatch is on the product alone: the system identification code was made
 * without the license's product (or for another), so no fact can match.
 */
function wrongProduct(differing) {
  return differing?.length === 1 && differing[0] === 'product';
}

/** The page's sentence for a report in `field`. */
function sentence(r, field) {
  const a = r.args ?? {};
  const d = r.details ?? {};
  const kind = kindName(r.kind ?? (field === 'machine' ? 'system_id' : 'authorization_code'));
  if (r.reason === 'incomplete') {
    // The beginning of a code: still being typed, or cut off when pasted (then how many
    // characters are missing, when the core could tell).
    if (state.typing[field]) return t('v_incomplete_typing', { kind, symbols: a.symbols });
    if (a.missing != null) {
      const key = (a.at_least ? 'v_incomplete_at_least' : 'v_incomplete_missing') + (a.missing === 1 ? '_one' : '');
      return t(key, { kind, missing: a.missing });
    }
    return t('v_incomplete', { kind, symbols: a.symbols });
  }
  switch (r.verdict) {
    case 'active':
      return t(r.binding_unchecked && !state.match && field === 'code' ? 'v_active_bound' : 'v_active', { kind });
    case 'valid':
      return t('v_valid', { kind });
    case 'in_grace':
      return t('v_in_grace', { expires: date(d.expires), grace_ends: date(a.grace_ends) });
    case 'not_yet_valid':
      return t('v_not_yet_valid', { kind, not_before: date(d.not_before) });
    case 'expired':
      return t('v_expired', { expires: date(d.expires) });
    case 'machine_mismatch':
      if (wrongProduct(a.differing)) return t('v_wrong_product', { product: d.product });
      return t('v_machine_mismatch', {
        required: a.required, matched: a.matched, differing: list((a.differing ?? []).map((f) => t(`fact_${f}`))),
      });
    case 'clock_rolled_back':
      return t('v_clock_rolled_back', { now: date(a.now), high_water: date(a.high_water) });
    case 'typo': {
      const groups = r.typos ?? [];
      if (r.reason === 'missing_or_extra' && groups.length) {
        const [g] = groups;
        return t('v_typo_missing_or_extra', { kind, group: g.group, first: g.first, last: g.last });
      }
      if (groups.length === 1) {
        const [g] = groups;
        return t('v_typo_one', { kind, group: g.group, first: g.first, last: g.last });
      }
      return t('v_typo_many', { kind, groups: list(groups.map((g) => String(g.group))) });
    }
    case 'not_a_keyward_code':
      return t(`v_not_a_keyward_code_${field === 'check' ? 'any' : field}`);
    case 'unsupported_version':
      return t('v_unsupported_version', { kind, version: a.version });
    case 'pasted_twice':
      return t('v_pasted_twice', { kind });
    case 'malformed': {
      // A character outside ASCII is named by its code point: it may look like a Latin
      // letter (Cyrillic А) or not show at all.
      const cp = a.character?.codePointAt(0);
      const other = r.reason === 'invalid_character' && cp > 0x7f;
      return t(other ? 'v_malformed_invalid_character_unicode' : r.reason ? `v_malformed_${r.reason}` : 'v_malformed', {
        kind, position: a.position, character: a.character, symbols: a.symbols, length: a.length,
        codepoint: other ? `U+${cp.toString(16).toUpperCase().padStart(4, '0')}` : '',
      });
    }
    case 'wrong_kind':
      return t('v_wrong_kind', {
        found: kindName(a.found, true), expected: kindName(a.expected, true), where: t(`where_${homeOf(a.found)}`),
      });
    case 'unknown_key':
      return t('v_unknown_key', { kind, key_id: a.key_id ?? '?' });
    case 'bad_signature':
      return t('v_bad_signature', { kind });
    case 'invalid_input':
      return t(r.reason ? `v_invalid_input_${r.reason}` : 'v_invalid_input', { where: t('where_machine') });
    case 'invalid_hardware_id':
      return t(a.hardware_kind ? `v_invalid_hardware_id_${a.hardware_kind}` : 'v_invalid_hardware_id');
    case 'marketplace_code':
      return state.config?.online
        ? t('v_marketplace_code_online')
        : t('v_marketplace_code', { contact: state.config?.support_contact ?? t('contact_unknown') });
    default: {
      // frozen, released, empty, marketplace_code, …: one fixed sentence each. A verdict
      // the page has no sentence for shows the core's English words, marked for the tests.
      const plain = t(`v_${r.verdict}`);
      return plain.startsWith('⟦') ? `${plain} ${r.message}` : plain;
    }
  }
}

/** The pasted text with the failing groups marked (a note instead when it is too long). */
function echo(text, typos) {
  const chars = Array.from(text);
  if (chars.length > ECHO_MAX) return el('p', { class: 'echo-note' }, t('echo_too_long'));
  const marked = (i) => typos.some((g) => i + 1 >= g.first && i + 1 <= g.last);
  const out = el('code', { class: 'echo' });
  let i = 0;
  while (i < chars.length) {
    const inside = marked(i);
    let j = i;
    while (j < chars.length && marked(j) === inside) j++;
    const piece = chars.slice(i, j).join('');
    out.append(inside ? el('mark', {}, piece) : piece);
    i = j;
  }
  return out;
}

/**
 * The suggested correction, with what differs from the pasted text marked: the characters
 * between the longest common beginning and end (one changed, two swapped, or one
 * inserted). `pastedAs` is the pasted text as the core reads it (from the wasm), so both
 * sides are compared as code characters, with no folding here.
 */
function correction(suggestion, pastedAs) {
  const before = Array.from(pastedAs ?? '');
  const after = Array.from(suggestion);
  const symbolAt = []; // index in `after` of each code character
  after.forEach((c, i) => { if (c !== '-') symbolAt.push(i); });
  const fixed = symbolAt.map((i) => after[i]);
  let head = 0;
  while (head < fixed.length && fixed[head] === before[head]) head++;
  let tail = 0;
  while (tail < fixed.length - head && fixed[fixed.length - 1 - tail] === before[before.length - 1 - tail]) tail++;
  const changed = new Set(symbolAt.slice(head, fixed.length - tail));
  const out = el('code');
  after.forEach((c, i) => out.append(changed.has(i) ? el('mark', { class: 'changed' }, c) : c));
  return out;
}

function detailRows(r, field) {
  const d = r.details;
  if (!d) return [];
  const rows = [];
  const row = (key, value) => rows.push([t(key), value]);
  if (d.product !== undefined) {
    row('d_product', d.product);
    if (d.sku) row('d_edition', d.sku);
    row('d_seats', number(d.seats));
    const left = r.verdict === 'active' && r.args?.days_left !== undefined
      ? t('d_days_left', { days: number(r.args.days_left) }) : '';
    row('d_validity', d.expires === null
      ? t('d_from_forever', { from: date(d.not_before) })
      : t('d_from_to', { from: date(d.not_before), to: date(d.expires) }) + left);
    row('d_features', d.features.length ? d.features.join(', ') : t('d_no_features'));
    row('d_trial', t(d.trial ? 'd_trial_yes' : 'd_trial_no'));
    const b = d.bound_to;
    row('d_bound', !b ? t('d_unbound') : b.type === 'system'
      ? t('d_bound_system', { code: b.code, required: b.required, of: b.of })
      : t('d_bound_hardware', { hw: t(`hw_${b.hardware_kind}`), required: b.required, of: b.of }));
    row('d_license_id', d.license_id);
    if (d.order_id) row('d_order_id', d.order_id);
    if (d.instance_id) row('d_instance_id', d.instance_id);
  }
  if (d.machine) {
    const m = d.machine;
    if (m.kind === 'system_id') {
      row(r.kind === 'activation_request' ? 'd_machine' : 'd_system_id', `${m.text} · ${t('d_facts', { n: m.facts })}`);
    } else {
      row(r.kind === 'activation_request' ? 'd_machine' : 'd_hardware_id', `${t(`hw_${m.hardware_kind}`)} · ${m.text}`);
    }
  }
  if (d.update) {
    row('d_license_id', d.update.license_id);
    row('d_action', t(`action_${d.update.action}`));
    if (d.update.expires !== null) row('d_new_expiry', date(d.update.expires));
    row('d_sequence', String(d.update.sequence));
  }
  if (d.issued !== undefined) row(r.kind === 'activation_request' ? 'd_created' : 'd_issued', date(d.issued));
  if (field === 'check' && d.key_id) row('d_key_id', d.key_id);
  return rows;
}

// ---------------------------------------------------------------------------------------
// Rendering

function renderField(field) {
  const status = $(`${field}-status`);
  const details = $(`${field}-details`);
  const r = state.reports[field];
  const m = field === 'machine' ? state.match : field === 'check' ? state.checkMatch : null;
  // Redraw only what changed: a live region that is rewritten gets read out again.
  const shown = JSON.stringify([state.lang, state.held[field], r, state.match, state.checkMatch]);
  if (state.shown[field] === shown) return;
  state.shown[field] = shown;
  status.replaceChildren();
  details.replaceChildren();
  status.className = 'status';
  for (const k of ['verdict', 'kind', 'suggestion', 'match']) delete status.dataset[k];
  if (!r || state.held[field]) return;
  if (!state.firstResult) {
    state.firstResult = true;
    performance.mark('keyward:first-result');
  }
  let level = tone(r);
  status.dataset.verdict = r.verdict;
  if (r.kind) status.dataset.kind = r.kind;
  if (r.suggestion) status.dataset.suggestion = r.suggestion;
  status.append(el('p', { class: `lead ${level}` }, sentence(r, field)));

  if (r.verdict === 'typo' && r.reason !== 'incomplete') {
    // A dropped or doubled character makes every later group fail: mark where it starts.
    const typos = r.reason === 'missing_or_extra' ? (r.typos ?? []).slice(0, 1) : r.typos ?? [];
    status.append(echo($(field).value, typos));
    if (r.suggestion) {
      status.append(el('div', { class: 'fix' },
        el('p', {}, t('v_typo_fix')),
        correction(r.suggestion, r.pasted_as),
        el('button', { type: 'button', class: 'use-fix', on: { click: () => replaceField(field, r.suggestion) } }, t('v_typo_use'))));
    } else {
      status.append(el('p', {}, t(typos.length > 1 ? 'v_typo_check_many' : 'v_typo_check')));
    }
  }
  if (r.verdict === 'pasted_twice' && r.suggestion) {
    status.append(el('div', { class: 'fix' },
      el('p', {}, t('v_pasted_twice_fix')),
      el('code', {}, r.suggestion),
      el('button', { type: 'button', class: 'use-fix', on: { click: () => replaceField(field, r.suggestion) } }, t('v_typo_use'))));
  }
  const found = r.args?.found;
  if (found && homeOf(found) !== field && (r.verdict === 'wrong_kind' || r.reason === 'hardware_id_here')) {
    const target = homeOf(found);
    status.append(el('button', {
      type: 'button',
      class: 'move',
      on: { click: () => { const text = $(field).value; replaceField(field, ''); replaceField(target, text); } },
    }, t('move_to', { where: t(`where_${target}`) })));
  }

  const shownStates = field === 'check' ? ['match', 'mismatch'] : ['match', 'mismatch', 'incomparable'];
  if (m && shownStates.includes(m.state)) {
    const key = wrongProduct(m.differing) ? 'm_wrong_product'
      : field === 'check' ? `m_cert_${m.state === 'match' ? 'match' : 'mismatch'}`
      : m.state === 'incomparable' ? `m_incomparable_${m.bound}` : `m_${m.state}`;
    const matchLevel = { match: 'ok', mismatch: 'bad', incomparable: 'warn' }[m.state];
    status.dataset.match = m.state;
    status.append(el('p', { class: `lead match ${matchLevel}` }, t(key, {
      required: m.required, matched: m.matched, differing: list(m.differing.map((f) => t(`fact_${f}`))),
      // The license's product (field 2's own report is the machine's).
      product: (field === 'check' ? r : state.reports.code)?.details?.product,
    })));
    if (matchLevel === 'bad' || (matchLevel === 'warn' && level === 'ok')) level = matchLevel;
  }
  status.classList.add(level);

  const rows = detailRows(r, field);
  if (rows.length) {
    details.append(el('dl', { class: 'details' }, ...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])));
  }
}

/** Why activation is not possible yet, or null when it is. */
function activationBlocker() {
  const { code, machine } = state.reports;
  // Online, the merchant's service activates a marketplace code (PL…) itself.
  if (marketplaceOnline() && machine?.verdict === 'valid') return null;
  if (!code || code.kind !== 'authorization_code' || !code.details || !machine || machine.verdict !== 'valid') {
    return { key: 'activate_wait' };
  }
  if (!ACTIVATABLE.has(code.verdict)) return { key: 'activate_not_usable', args: { reason: sentence(code, 'code') } };
  if (state.match && !['match', 'unbound'].includes(state.match.state)) {
    return { key: wrongProduct(state.match.differing) ? 'activate_wrong_product' : 'activate_mismatch' };
  }
  return null;
}

/** Whether field 1 holds a marketplace code (PL…) and the merchant's service is online. */
const marketplaceOnline = () => Boolean(state.config?.online) && state.reports.code?.verdict === 'marketplace_code';

function renderActivation() {
  const online = Boolean(state.config?.online);
  const button = $('activate');
  button.textContent = t(online ? 'activate_online' : 'activate_offline');
  const blocker = state.config ? activationBlocker() : { key: 'activate_wait' };
  const busy = state.activation?.key === 'activating';
  button.disabled = Boolean(blocker) || busy;
  $('activate-hint').textContent = blocker
    ? t(blocker.key, blocker.args) : t(online ? 'activate_online_hint' : 'activate_offline_hint');

  const status = $('activate-status');
  status.className = 'status';
  status.replaceChildren();
  if (state.activation) {
    status.classList.add(state.activation.tone);
    status.append(el('p', { class: `lead ${state.activation.tone}` }, t(state.activation.key, state.activation.args)));
  }

  const out = state.output;
  $('output').hidden = !out;
  if (!out) return;
  const cert = out.type === 'certificate';
  $('output-title').textContent = t(cert ? 'cert_title' : 'request_title');
  $('output-hint').textContent = t(cert ? 'cert_hint' : 'request_hint');
  $('output').dataset.type = out.type;
  const area = $('output-text');
  if (area.value !== out.text) {
    area.value = out.text;
    const lines = out.text.split('\n').length + 1;
    area.rows = Math.min(14, Math.max(4, lines, Math.ceil(out.text.length / 48)));
  }
  const svg = qrSvg(out.text, t('qr_label'));
  $('qr').replaceChildren(svg ?? el('p', {}, t('qr_too_long')));
}

/** The merchant's names and support contact, from config.json. */
function renderMerchant() {
  const c = state.config;
  const title = c?.product_name ? t('title_product', { product: c.product_name }) : t('title');
  $('title').textContent = title;
  document.title = c?.merchant_name ? `${title} · ${c.merchant_name}` : `${title} · keyward`;
  const parts = [];
  if (c?.merchant_name) parts.push(t('merchant', { name: c.merchant_name }));
  if (c?.support_contact) parts.push(t('support', { contact: c.support_contact }));
  const line = $('merchant');
  line.textContent = parts.join(' · ');
  line.hidden = parts.length === 0;
}

function render() {
  renderMerchant();
  for (const field of Object.keys(FIELDS)) renderField(field);
  renderActivation();
  renderDeactivation();
  const pe = $('page-status');
  pe.hidden = !state.pageError;
  pe.className = `status ${state.pageError?.tone ?? 'bad'}`;
  pe.textContent = state.pageError ? t(state.pageError.key, state.pageError.args) : '';
  $('footer').textContent = state.keyIds.length ? t('footer', { ids: state.keyIds.join(', ') }) : '';
}

/** Texts that do not depend on what was entered. */
function applyLanguage() {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  for (const node of document.querySelectorAll('[data-t]')) node.textContent = t(node.dataset.t);
  const button = $('lang');
  button.textContent = t('switch_to');
  button.lang = state.lang === 'zh' ? 'en' : 'zh-CN';
  button.setAttribute('aria-label', t('switch_label'));
}

function setLanguage(lang) {
  state.lang = lang;
  try {
    localStorage.setItem('keyward.lang', lang);
  } catch {
    // Storage may be off (private windows): the choice then lasts for this visit.
  }
  applyLanguage();
  render();
}

// ---------------------------------------------------------------------------------------
// Activation, copy, download

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** POSTs `body` to the merchant's service; the certificate text of a 200 answer. */
async function postActivation(body) {
  let response;
  try {
    response = await fetch(ACTIVATIONS, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch {
    throw new Error(t('activate_network'));
  }
  if (!response.ok) {
    // The service says what is wrong (no seat left, the marketplace's answer, …) in its own
    // words; the status code only when it gave none.
    let message = null;
    try {
      message = (await response.json()).message;
    } catch {
      message = null;
    }
    throw new Error(typeof message === 'string' && message ? message : t('activate_http', { status: response.status }));
  }
  const type = response.headers.get('content-type') ?? '';
  return type.includes('json') ? (await response.json()).certificate : response.text();
}

/** Shows `certificate` when it is a valid certificate (for `nonce`, when given). */
function acceptCertificate(certificate, nonce) {
  const { facts, highWater } = state.test;
  const checked = typeof certificate === 'string'
    ? checkText(certificate, 'activation_certificate', now(), facts, highWater) : null;
  if (!checked?.details || (nonce && checked.details.nonce !== hex(nonce))) throw new Error(t('activate_bad_answer'));
  state.output = {
    type: 'certificate', text: certificate, file: `${checked.details.product}-${checked.details.license_id}.lic`,
  };
  state.activation = { key: 'cert_ready', tone: 'ok' };
}

async function activate() {
  if (marketplaceOnline()) {
    state.activation = { key: 'activating', tone: 'info' };
    state.output = null;
    render();
    try {
      acceptCertificate(await postActivation({
        marketplace_code: $('code').value.trim(), machine: $('machine').value.trim(),
      }), null);
    } catch (e) {
      state.activation = {
        key: 'activate_failed_marketplace',
        args: { error: e.message, contact: state.config.support_contact ?? t('contact_unknown') },
        tone: 'bad',
      };
    }
    render();
    return;
  }
  const nonce = state.test.nonce ?? crypto.getRandomValues(new Uint8Array(8));
  const { request, report } = parsed(state.page.make_request($('code').value, $('machine').value, nonce, now()));
  if (report) {
    state.activation = { key: 'activate_not_usable', args: { reason: sentence(report, 'code') }, tone: 'bad' };
    render();
    return;
  }
  const license = state.reports.code.details;
  const requestOutput = { type: 'request', text: request, file: `activation-request-${license.license_id}.txt` };
  if (!state.config.online) {
    state.output = requestOutput;
    state.activation = { key: 'request_ready', tone: 'ok' };
    render();
    $('output-text').focus();
    return;
  }
  state.activation = { key: 'activating', tone: 'info' };
  state.output = null;
  render();
  try {
    acceptCertificate(await postActivation({ request }), nonce);
  } catch (e) {
    state.output = requestOutput;
    state.activation = { key: 'activate_failed', args: { error: e.message }, tone: 'bad' };
  }
  render();
}

async function copyOutput() {
  const area = $('output-text');
  let ok = false;
  try {
    await navigator.clipboard.writeText(area.value);
    ok = true;
  } catch {
    area.select();
    ok = document.execCommand?.('copy') ?? false;
  }
  state.activation = { key: ok ? 'copied' : 'copy_failed', tone: ok ? 'ok' : 'bad' };
  renderActivation();
}

function downloadOutput() {
  const { text, file } = state.output;
  const url = URL.createObjectURL(new Blob([text.endsWith('\n') ? text : `${text}\n`], { type: 'text/plain' }));
  const a = el('a', { href: url, download: file });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  state.activation = { key: 'downloaded', args: { file }, tone: 'ok' };
  renderActivation();
}

// ---------------------------------------------------------------------------------------
// Start

async function loadConfig() {
  const response = await fetch('config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const config = await response.json();
  if (!Array.isArray(config.public_keys) || !config.public_keys.every((k) => typeof k === 'string')) {
    throw new Error('public_keys');
  }
  // Names and contact are optional: anything but a non-empty text is left out.
  const text = (v) => (typeof v === 'string' && v.trim() ? v.trim() : null);
  return {
    public_keys: config.public_keys,
    merchant_name: text(config.merchant_name),
    product_name: text(config.product_name),
    support_contact: text(config.support_contact),
    online: config.online === true,
  };
}

function installTestHook() {
  // Only with ?test in the address: fixed time, facts and nonce for the shared vectors.
  window.keywardTest = {
    setContext({ now: n = null, facts, highWater, nonce = null } = {}) {
      Object.assign(state.test, { now: n, facts, highWater, nonce });
      for (const field of Object.keys(FIELDS)) validate(field);
      render();
    },
    setLanguage,
    check: checkText,
  };
}

async function start() {
  let saved = null;
  try {
    saved = localStorage.getItem('keyward.lang');
  } catch {
    // No storage: use the browser's languages.
  }
  state.lang = ['zh', 'en'].includes(saved) ? saved : pickLanguage(navigator.languages);
  applyLanguage();
  state.pageError = { key: 'loading', tone: 'info' };
  render();
  $('lang').addEventListener('click', () => setLanguage(state.lang === 'zh' ? 'en' : 'zh'));

  const wasm = initWasm({ module_or_path: new URL('keyward_web_bg.wasm', import.meta.url) }).then(() => null, (e) => ({ key: 'load_failed', args: { error: e.message } }));
  let config;
  try {
    config = await loadConfig();
  } catch (e) {
    state.pageError = { key: 'config_failed', args: { error: e.message } };
  }
  const wasmError = await wasm;
  if (wasmError) state.pageError = wasmError;
  if (config && !wasmError) {
    try {
      // The wasm takes the keys as one text, a NUL character between them.
      const page = new Page(config.public_keys.join('\0'));
      state.keyIds = parsed(page.key_ids()).key_ids;
      state.page = page;
      state.config = config;
      state.pageError = null;
    } catch (e) {
      state.pageError = { key: 'keys_failed', args: { error: e.message } };
    }
  }
  if (state.config) {
    performance.mark('keyward:ready');
    if (new URLSearchParams(location.search).has('test')) installTestHook();
    for (const field of Object.keys(FIELDS)) {
      const area = $(field);
      area.disabled = false;
      area.addEventListener('input', (e) => onInput(field, isTyping(e)));
      // A value the browser restored (back/forward) is checked at once.
      if (area.value) validate(field);
    }
    $('activate').addEventListener('click', activate);
    $('copy').addEventListener('click', copyOutput);
    $('download').addEventListener('click', downloadOutput);
    if (state.config.online) {
      setupDeactivation({
        lang: () => state.lang,
        check: (text) => checkText(text, 'deactivation_code', now(), state.test.facts, state.test.highWater),
        sentence: (r) => sentence(r, 'check'),
      });
    }
  }
  render();
  document.body.dataset.ready = state.config ? 'yes' : 'failed';
}

start();
