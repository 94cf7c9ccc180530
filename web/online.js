// Online activation and deactivation for the buyer page, when its config.json says
// `"online": true` (the page is served by the merchant service, `keyward serve`): the
// activation request goes to POST /api/v1/activations and the certificate comes back; a
// deactivation code (停用码, KD1-…) entered here frees a seat with POST
// /api/v1/deactivations. The API is documented in docs/API.md. app.js keeps the offline
// flow and calls the few functions below.

const TEXT = {
  zh: {
    deactivate_title: '归还席位（停用码）',
    deactivate_label: '停用码',
    deactivate_hint: '在旧机器上停用许可后，会显示一个以 KD1 开头的停用码。在此输入，即可释放该机器占用的席位，以便在另一台机器上激活。',
    deactivate_button: '释放席位',
    deactivating: '正在释放席位…',
    deactivated: '已释放许可 {license} 在 {machine} 上的席位：现在使用 {used} / {total} 个席位。',
    deactivate_failed: '未能释放席位：{error}',
    deactivate_wait: '请先输入完整、有效的停用码。',
    network: '无法连接商家的服务，请检查网络后重试。',
    http: '商家的服务返回了错误（HTTP {status}）。',
  },
  en: {
    deactivate_title: 'Give a seat back (deactivation code)',
    deactivate_label: 'Deactivation code',
    deactivate_hint: 'Deactivating the license on the old machine shows a deactivation code starting with KD1. Enter it here to free that machine\'s seat, so the license can be activated on another machine.',
    deactivate_button: 'Free the seat',
    deactivating: 'Freeing the seat…',
    deactivated: 'The seat of license {license} on {machine} was freed: {used} of {total} seats are now in use.',
    deactivate_failed: 'The seat was not freed: {error}',
    deactivate_wait: 'Enter the whole deactivation code first.',
    network: 'The merchant\'s service cannot be reached: check the network and try again.',
    http: 'The merchant\'s service answered with an error (HTTP {status}).',
  },
};

/** Where activation requests go: the service's API when `online`, else `activation_url`. */
export function activationUrl(config, base) {
  if (config.online === true) return new URL('/api/v1/activations', base).href;
  return typeof config.activation_url === 'string' && config.activation_url
    ? new URL(config.activation_url, base).href : null;
}

/**
 * POSTs JSON to the service; returns the answer's JSON, or throws an Error whose message is
 * the service's own sentence (`{code, message, suggestion}`) and whose `code` is its code.
 */
async function postJson(url, body, lang, messages = {}) {
  const words = TEXT[lang] ?? TEXT.en;
  const network = messages.network ?? words.network;
  const http = messages.http ?? ((status) => format(words.http, { status }));
  let response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
  } catch {
    throw new Error(network);
  }
  const type = response.headers.get('content-type') ?? '';
  const answer = type.includes('json') ? await response.json().catch(() => null) : null;
  if (!response.ok) {
    const error = new Error(typeof answer?.message === 'string' ? answer.message
      : http(response.status));
    error.code = answer?.code;
    error.suggestion = answer?.suggestion ?? null;
    throw error;
  }
  if (answer === null && !type.includes('json')) return { certificate: await response.text() };
  return answer;
}

/**
 * Posts an activation request; returns the certificate text (not yet checked).
 * `messages` may word the network and HTTP failures (`{network, http(status)}`).
 */
export async function postActivation(url, request, lang, messages) {
  const answer = await postJson(url, { request }, lang, messages);
  return answer?.certificate;
}

function format(template, args = {}) {
  return template.replace(/\{(\w+)\}/g, (_, k) => String(args[k] ?? ''));
}

const deact = { ctx: null, status: null, busy: false };

/**
 * Adds the deactivation card after the activation card. `ctx` gives what it needs from
 * app.js: `lang()`, `check(text)` (the wasm verdict for a deactivation code) and
 * `sentence(report)` (the verdict in words).
 */
export function setupDeactivation(ctx) {
  deact.ctx = ctx;
  const after = document.getElementById('activate-title')?.closest('section');
  if (!after || document.getElementById('deactivate-card')) return;
  const card = document.createElement('section');
  card.className = 'card';
  card.id = 'deactivate-card';
  card.setAttribute('aria-labelledby', 'deactivate-title');
  card.innerHTML = `
    <h2 id="deactivate-title"></h2>
    <label for="deactivation-code" class="sub" id="deactivate-label"></label>
    <p class="hint" id="deactivate-hint"></p>
    <textarea id="deactivation-code" rows="2" spellcheck="false" autocomplete="off" autocapitalize="characters" aria-describedby="deactivate-hint deactivate-status"></textarea>
    <button type="button" id="deactivate" disabled></button>
    <div id="deactivate-status" class="status" role="status" aria-live="polite"></div>`;
  after.after(card);
  document.getElementById('deactivation-code').addEventListener('input', () => {
    deact.status = null;
    renderDeactivation();
  });
  document.getElementById('deactivate').addEventListener('click', deactivate);
  renderDeactivation();
}

/** The wasm's verdict on the code field, or null when it is empty. */
function verdict() {
  const text = document.getElementById('deactivation-code')?.value ?? '';
  return text.trim() ? deact.ctx.check(text) : null;
}

/** Redraws the deactivation card (also on a change of language). */
export function renderDeactivation() {
  if (!deact.ctx || !document.getElementById('deactivate-card')) return;
  const words = TEXT[deact.ctx.lang()] ?? TEXT.en;
  const set = (id, text) => { document.getElementById(id).textContent = text; };
  set('deactivate-title', words.deactivate_title);
  set('deactivate-label', words.deactivate_label);
  set('deactivate-hint', words.deactivate_hint);
  set('deactivate', words.deactivate_button);
  const r = verdict();
  const valid = r?.verdict === 'valid';
  document.getElementById('deactivate').disabled = !valid || deact.busy;
  const status = document.getElementById('deactivate-status');
  status.className = 'status';
  status.replaceChildren();
  let line = null;
  if (deact.status) {
    line = deact.status;
  } else if (r && !valid) {
    line = { tone: 'bad', text: deact.ctx.sentence(r), verdict: r.verdict };
  }
  if (line) {
    status.classList.add(line.tone);
    if (line.verdict) status.dataset.verdict = line.verdict;
    else delete status.dataset.verdict;
    const p = document.createElement('p');
    p.className = `lead ${line.tone}`;
    p.textContent = line.text;
    status.append(p);
  }
}

async function deactivate() {
  const words = () => TEXT[deact.ctx.lang()] ?? TEXT.en;
  const code = document.getElementById('deactivation-code').value;
  deact.busy = true;
  deact.status = { tone: 'info', text: words().deactivating };
  renderDeactivation();
  try {
    const d = await postJson(new URL('/api/v1/deactivations', location.href).href,
      { deactivation_code: code }, deact.ctx.lang());
    deact.status = {
      tone: 'ok',
      verdict: 'deactivated',
      text: format(words().deactivated, {
        license: d.license_id, machine: d.machine, used: d.seats?.used, total: d.seats?.total,
      }),
    };
  } catch (e) {
    const fix = e.suggestion ? ` ${e.suggestion}` : '';
    deact.status = {
      tone: 'bad', verdict: e.code ?? 'failed', text: format(words().deactivate_failed, { error: `${e.message}${fix}` }),
    };
  }
  deact.busy = false;
  renderDeactivation();
}
