// keyward's license plugin in Node.js: an ES module host over the jco-transpiled component
// (`gen/`, made by `npm run transpile` from target/dist/keyward-plugin.wasm).
//
// The host gives the plugin exactly what docs/HOSTING.md asks: this machine's facts, the
// clock, its state blob (saved atomically, with a backup, under the state directory's lock
// when the lock addon `gen/keyward-lock.node` is there) and random bytes. Everything
// else (parsing, signatures, bindings, the clock's high-water mark) happens inside the
// plugin, the same code as in keyward-host, the CLI and the page.

import { createPublicKey, randomBytes } from 'node:crypto';
import {
  closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync,
  realpathSync, renameSync, statSync, unlinkSync, writeSync, copyFileSync, lstatSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The state file's name in the state directory (the same as keyward-host's and the CLI's). */
export const STATE_FILE = 'state.bin';
/** Its previous copy. */
export const BACKUP_FILE = 'state.bin.bak';
/** Larger than any valid state: a bigger file is damage and is not read. */
const MAX_STATE_LEN = 2 * 1024 * 1024;
/** How long a change waits for another program's lock on the state (the CLI's wait). */
const LOCK_WAIT_MS = 30_000;
/** How long the plugin's save of the clock mark, outside a change, waits for the lock
 * (keyward-host's): a status must not stall behind a long change; the plugin retries. */
const MARK_SAVE_WAIT_MS = 2_000;
/** The lock addon's file name in the generated folder. */
export const LOCK_ADDON = 'keyward-lock.node';
/** Most random bytes one call may ask for (a nonce needs 8). */
const MAX_RANDOM = 256;

/**
 * A refusal by the plugin (or a stop of the sandbox): `code` is the stable snake_case code
 * keyward uses everywhere (`typo`, `bad_signature`, `machine_mismatch`, ...), `suggestion`
 * the corrected code when a typo has exactly one correction.
 */
export class KeywardError extends Error {
  constructor(code, message, suggestion) {
    super(message);
    this.name = 'KeywardError';
    this.code = code;
    this.suggestion = suggestion ?? null;
  }
}

/** A WIT enum case (`machine-mismatch`) as keyward's stable code (`machine_mismatch`). */
export function snakeCase(kebab) {
  return kebab.replaceAll('-', '_');
}

/**
 * The raw 32-byte Ed25519 public keys in a PEM text (one or more
 * `-----BEGIN PUBLIC KEY-----` blocks, SPKI, as `keyward keys generate` writes them).
 */
export function publicKeysFromPem(pem) {
  if (/-----BEGIN (ENCRYPTED )?PRIVATE KEY-----/.test(String(pem))) {
    throw new KeywardError('invalid_key', 'this is a private key: give the merchant\'s public key file (merchant.pem.pub), and never ship the private key with the software (whoever has it can issue licenses)');
  }
  const blocks = String(pem).match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g);
  if (!blocks) {
    throw new KeywardError('invalid_key', 'no "-----BEGIN PUBLIC KEY-----" block in the trusted key text: give the merchant\'s public key file (merchant.pem.pub)');
  }
  return blocks.map((block, i) => {
    let jwk;
    try {
      jwk = createPublicKey({ key: block, format: 'pem' }).export({ format: 'jwk' });
    } catch (e) {
      throw new KeywardError('invalid_key', `public key ${i + 1} cannot be read (${e.message}): give the merchant's public key file`);
    }
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') {
      throw new KeywardError('invalid_key', `public key ${i + 1} is not an Ed25519 key (${jwk.crv ?? jwk.kty}): keyward keys are Ed25519`);
    }
    return new Uint8Array(Buffer.from(jwk.x, 'base64url'));
  });
}

function readSmall(path) {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return text.length > 0 ? text : undefined;
  } catch {
    return undefined;
  }
}

/**
 * This machine's facts, raw, as the plugin's `facts` import returns them (Linux; elsewhere
 * only what Node itself can see). The plugin hashes them; raw values never leave it.
 * The root disk's serial is not collected here (it needs the block layer keyward-machine
 * walks); a host that can read it should add it.
 */
export function collectFacts(root = '/') {
  const at = (p) => join(root, p);
  const cpuinfo = readSmall(at('proc/cpuinfo'));
  return {
    machineId: readSmall(at('etc/machine-id')) ?? readSmall(at('var/lib/dbus/machine-id')),
    productUuid: readSmall(at('sys/class/dmi/id/product_uuid')),
    boardSerial: readSmall(at('sys/class/dmi/id/board_serial')),
    diskSerial: undefined,
    cpu: cpuinfo === undefined ? undefined : cpuIdentity(cpuinfo),
    macs: physicalMacs(at('sys/class/net')),
    // The processor id (CPUID leaf 1) needs the instruction itself: Node cannot run it, so
    // a host that can (an Electron app's native helper) should add it as `cpuId`.
    cpuId: undefined,
    custom: [],
  };
}

/** Vendor, family, model, stepping and model name of the first processor (as keyward-machine). */
function cpuIdentity(cpuinfo) {
  const block = [];
  for (const line of cpuinfo.split('\n')) {
    if (line.trim() === '') {
      if (block.length === 0) continue;
      break;
    }
    const i = line.indexOf(':');
    if (i > 0) block.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
  }
  const get = (name) => block.find(([k, v]) => k === name && v !== '')?.[1];
  const parts = [];
  if (get('vendor_id')) parts.push(get('vendor_id'));
  for (const [key, label] of [['cpu family', 'family'], ['model', 'model'], ['stepping', 'stepping'],
    ['CPU implementer', 'implementer'], ['CPU architecture', 'architecture'], ['CPU variant', 'variant'],
    ['CPU part', 'part'], ['CPU revision', 'revision']]) {
    if (get(key)) parts.push(`${label} ${get(key)}`);
  }
  const name = get('model name');
  const identity = name === undefined ? parts.join(' ') : parts.length === 0 ? name : `${parts.join(' ')} (${name})`;
  return identity === '' ? undefined : identity;
}

/** MACs of network cards (interfaces with a bus device, not under /sys/devices/virtual). */
function physicalMacs(net) {
  let names;
  try {
    names = readdirSync(net);
  } catch {
    return [];
  }
  const macs = new Set();
  for (const name of names) {
    const dir = join(net, name);
    try {
      lstatSync(join(dir, 'device'));
      if (realpathSync(dir).includes('/devices/virtual/')) continue;
      if (readSmall(join(dir, 'addr_assign_type')) === '1') continue;
      const mac = readSmall(join(dir, 'address'));
      if (mac && mac !== '00:00:00:00:00:00') macs.add(mac.toLowerCase());
    } catch {
      // Not a network card.
    }
  }
  return [...macs].sort();
}

/**
 * Loads the lock addon (`keyward-lock.node`, a Node-API library built from
 * hosts/node/lock/ by `cargo xtask build-node`): the OS lock on `state.lock` that the CLI
 * and keyward-host take. Returns `{ addon }` or `{ error }`.
 */
export function loadLockAddon(path) {
  try {
    const addon = createRequire(import.meta.url)(path);
    if (typeof addon?.lock !== 'function' || typeof addon?.unlock !== 'function') {
      return { error: `${path} is not keyward's lock addon` };
    }
    return { addon };
  } catch (e) {
    // Node's message goes on with the require stack: its first line says what is wrong.
    return { error: String(e?.message ?? e).split('\n')[0] };
  }
}

/**
 * Creates the state directory (mode 0700) and its missing parents, or says in a KeywardError
 * with the CLI's code why it cannot: `state_not_a_directory`, `state_read_only` or `io`.
 * (Parents are made one by one: Node's recursive mkdir loops for ever under /proc.)
 */
function makeStateDir(dir) {
  const make = (d, depth) => {
    try {
      mkdirSync(d, { mode: 0o700 });
    } catch (e) {
      if (e.code === 'EEXIST') {
        if (!statSync(d).isDirectory()) throw Object.assign(new Error(`${d} is a file`), { code: 'ENOTDIR' });
        return;
      }
      if (e.code !== 'ENOENT' || depth > 64 || dirname(d) === d) throw e;
      make(dirname(d), depth + 1);
      try {
        mkdirSync(d, { mode: 0o700 });
      } catch (again) {
        if (again.code !== 'EEXIST' || !statSync(d).isDirectory()) throw again;
      }
    }
  };
  try {
    make(dir, 0);
  } catch (e) {
    if (e.code === 'ENOTDIR' || e.code === 'EEXIST') {
      throw new KeywardError('state_not_a_directory', `the license state directory ${dir} is a file, or inside one, not a directory: give a directory (or a path that does not exist yet) as the state directory`);
    }
    if (['EACCES', 'EPERM', 'EROFS'].includes(e.code)) {
      throw new KeywardError('state_read_only', `the license state directory ${dir} cannot be created (${e.message}): its parent is read-only for this user; give a writable state directory`);
    }
    throw new KeywardError('io', `cannot create the license state directory ${dir}: ${e.message}`);
  }
}

/** `value` when it is a string, else a KeywardError `invalid_input` naming what `what` is. */
function text(value, what) {
  if (typeof value === 'string') return value;
  const got = value === null ? 'null' : typeof value;
  throw new KeywardError('invalid_input', `${what} must be text (a string), not ${got}`);
}

/** Like text(), for an argument that may be left out (undefined or null). */
const optionalText = (value, what) => (value === undefined || value === null ? undefined : text(value, what));

const sameBytes = (a, b) =>
  a === b || (a !== undefined && b !== undefined && Buffer.from(a).equals(Buffer.from(b)));

/**
 * The plugin's state blob in a directory: `state.bin`, written atomically (temporary file,
 * fsync, rename, fsync of the directory) with the previous copy kept as `state.bin.bak`.
 * A missing or unreadable `state.bin` falls back to the copy.
 *
 * With the lock addon, every change runs under the directory's OS lock (`state.lock`, the
 * CLI's and keyward-host's): see {@link StateFiles#change}. A save outside a change (the
 * plugin's clock mark, during `status`) takes the lock itself and writes only if the state
 * on disk is still the one the plugin read, so it never writes over another program's
 * change; without the addon that check still runs, but nothing keeps another program from
 * writing between the check and the rename.
 */
export class StateFiles {
  /**
   * @param {string} dir the state directory (created, mode 0700, if missing)
   * @param {object} [lock] `{ addon, waitMs }`: the lock addon and how long a change waits
   */
  constructor(dir, lock) {
    this.dir = dir;
    this.path = join(dir, STATE_FILE);
    this.backup = join(dir, BACKUP_FILE);
    this.addon = lock?.addon ?? null;
    this.waitMs = lock?.waitMs ?? LOCK_WAIT_MS;
    /** Whether a change holds the lock now. */
    this.held = false;
    /** The blob the last load returned: a save outside a change writes only over it. */
    this.seen = undefined;
    makeStateDir(dir);
  }

  /** The state blob, or undefined when there is none. */
  load() {
    this.seen = this.#read();
    return this.seen;
  }

  #read() {
    for (const path of [this.path, this.backup]) {
      try {
        if (statSync(path).size > MAX_STATE_LEN) continue;
        return new Uint8Array(readFileSync(path));
      } catch {
        // Missing or unreadable: try the copy.
      }
    }
    return undefined;
  }

  /**
   * Runs `f` under the directory's lock (waiting up to `waitMs` for another program that
   * holds it); without the addon, runs it unlocked. A lock that cannot be taken throws a
   * KeywardError with the CLI's code (`state_busy`, `state_read_only`, ...).
   */
  change(f) {
    const release = this.#lock(this.waitMs, (e) => new KeywardError(e.code ?? 'io', e.message));
    this.held = true;
    try {
      return f();
    } finally {
      this.held = false;
      release();
    }
  }

  #lock(waitMs, fail) {
    if (!this.addon) return () => {};
    let handle;
    try {
      handle = this.addon.lock(this.dir, waitMs);
    } catch (e) {
      throw fail(e);
    }
    return () => this.addon.unlock(handle);
  }

  /**
   * Saves the blob durably. Throws a plain string (jco passes a thrown non-Error value to
   * the plugin as the import's `err`): the plugin then reports `state_not_saved` and keeps
   * nothing in memory that is not on disk. Outside a change (the clock mark), the blob is
   * written only if the state on disk is still the one last loaded.
   */
  save(bytes) {
    if (this.held) {
      this.#write(bytes);
      this.seen = new Uint8Array(bytes);
      return;
    }
    const release = this.#lock(MARK_SAVE_WAIT_MS, (e) => `cannot save ${this.path}: ${e.message}`);
    try {
      if (!sameBytes(this.#read(), this.seen)) {
        throw `${this.path} changed since it was read (another program changed the license state); not saved`;
      }
      this.#write(bytes);
      this.seen = new Uint8Array(bytes);
    } finally {
      release();
    }
  }

  #write(bytes) {
    const tmp = join(this.dir, `.${STATE_FILE}.tmp-${process.pid}`);
    try {
      const fd = openSync(tmp, 'w', 0o600);
      try {
        let off = 0;
        while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      try {
        copyFileSync(this.path, this.backup);
      } catch (e) {
        if (e.code !== 'ENOENT') throw e;
      }
      renameSync(tmp, this.path);
      syncDir(this.dir);
    } catch (e) {
      try { unlinkSync(tmp); } catch { /* already gone */ }
      throw `cannot write ${this.path}: ${e.message}`;
    }
  }
}

function syncDir(dir) {
  let fd;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Not every file system syncs directories; the rename is done either way.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function loadGenerated(genDir) {
  const url = new URL(`file://${join(genDir, 'keyward-plugin.js')}`);
  return import(url.href);
}

const seconds = (t) => (t === undefined ? null : Number(t));

/** A WIT status as plain JS: snake_case codes, times as numbers of seconds. */
function statusOf(s) {
  return {
    code: snakeCase(s.code),
    usable: s.usable,
    message: s.message,
    license: s.license === undefined ? null : {
      ...s.license,
      notBefore: seconds(s.license.notBefore),
      expires: seconds(s.license.expires),
      daysLeft: seconds(s.license.daysLeft),
    },
    graceEnds: seconds(s.graceEnds),
    mismatch: s.mismatch ?? null,
    clock: s.clock === undefined ? null : { now: Number(s.clock.now), highWater: Number(s.clock.highWater) },
  };
}

/** A WIT `verdict-code` (`valid`, `status(in-grace)`, `error(typo)`) as keyward's one
 * snake_case string (`valid`, `in_grace`, `typo`). */
export function verdictCode(c) {
  return c.tag === 'valid' ? 'valid' : snakeCase(c.val);
}

function verdictOf(v) {
  return {
    kind: v.kind ?? null,
    code: verdictCode(v.code),
    message: v.message,
    suggestion: v.suggestion ?? null,
    typos: v.typos,
  };
}

const KINDS = {
  authorization_code: 'authorization-code',
  system_id: 'system-id',
  activation_request: 'activation-request',
  activation_certificate: 'activation-certificate',
  signed_update: 'signed-update',
};

/**
 * The license plugin, loaded and ready: one per product and state directory.
 *
 * ```js
 * const license = await License.open({ publicKeyPem, stateDir, product: 'acme-invoice' });
 * console.log(license.systemId());
 * license.activate('KA1-…');
 * if (license.hasFeature('export')) { … }
 * ```
 */
export class License {
  /**
   * Loads the plugin and gives it the trusted keys.
   * @param {object} o
   * @param {string} o.publicKeyPem  the merchant's public key(s), PEM: the only keys trusted
   * @param {string} o.stateDir      where the license state lives (created if missing)
   * @param {string} [o.product]     product id, for systemId()
   * @param {object} [o.facts]       machine facts instead of collectFacts()
   * @param {string[]} [o.hardwareIds] hardware ids the program vouches for (`kind:value`)
   * @param {() => number} [o.now]   clock, seconds since the Unix epoch
   * @param {number} [o.graceSecs]   grace after expiry (default 3 days)
   * @param {number} [o.clockToleranceSecs] how far the clock may go back (default 1 hour)
   * @param {string} [o.genDir]      the transpiled plugin (default `gen/` beside this file)
   * @param {'auto'|'os'|'none'} [o.lock] the state directory's OS lock around every change:
   *   `os` requires the lock addon (`genDir/keyward-lock.node`), `none` goes without, `auto`
   *   (the default) uses it when it loads; `license.locking` says which one is in use
   * @param {string} [o.lockAddon]   the lock addon (default `genDir/keyward-lock.node`)
   * @param {number} [o.lockWaitMs]  how long a change waits for another program's lock
   *   (default 30 s, the CLI's); past it the change fails with `state_busy`
   */
  static async open(o = {}) {
    if (o.publicKeyPem === undefined || o.publicKeyPem === null) {
      throw new KeywardError('config', 'no trusted key: give publicKeyPem, the text of the merchant\'s public key file (merchant.pem.pub)');
    }
    const keys = publicKeysFromPem(o.publicKeyPem);
    if (!o.stateDir) throw new KeywardError('config', 'no state directory: give stateDir');
    if (typeof o.stateDir !== 'string') throw new KeywardError('config', `stateDir must be a path (a string), not ${typeof o.stateDir}`);
    if (o.product !== undefined && o.product !== null && typeof o.product !== 'string') {
      throw new KeywardError('config', `product must be the product id (a string), not ${typeof o.product}`);
    }
    const genDir = o.genDir ?? join(HERE, 'gen');
    let generated;
    try {
      generated = await loadGenerated(genDir);
    } catch (e) {
      throw new KeywardError('no_plugin', `cannot load the transpiled plugin in ${genDir} (${e.message}): run \`npm run transpile\` after \`cargo xtask build\``);
    }
    const mode = o.lock ?? 'auto';
    if (!['auto', 'os', 'none'].includes(mode)) {
      throw new KeywardError('config', `unknown lock ${JSON.stringify(mode)}: one of auto, os, none`);
    }
    const waitMs = o.lockWaitMs ?? LOCK_WAIT_MS;
    if (!Number.isInteger(waitMs) || waitMs < 0 || waitMs > 0xffffffff) {
      throw new KeywardError('config', `lockWaitMs must be a whole number of milliseconds, not ${waitMs}`);
    }
    let lock = null;
    if (mode !== 'none') {
      const path = o.lockAddon ?? join(genDir, LOCK_ADDON);
      const { addon, error } = loadLockAddon(path);
      if (addon) {
        lock = { addon, waitMs };
      } else if (mode === 'os') {
        throw new KeywardError('no_lock', `cannot load the lock addon ${path} (${error}): build it with \`cargo xtask build-node\`, or open with lock: 'none' if no other program changes this state directory`);
      }
    }
    return new License(generated, genDir, keys, o, lock);
  }

  constructor(generated, genDir, keys, o, lock) {
    this.product = o.product ?? '';
    this.files = new StateFiles(o.stateDir, lock);
    /** `os` when every change takes the state directory's OS lock, `none` otherwise. */
    this.locking = lock ? 'os' : 'none';
    const facts = o.facts ?? null;
    const hardwareIds = [...(o.hardwareIds ?? [])];
    const clock = o.now ?? (() => Math.floor(Date.now() / 1000));
    let collected = null;
    this.imports = {
      // Every field of the WIT record, so a caller's facts may leave any out.
      facts: () => ({ macs: [], custom: [], ...(facts ?? (collected ??= collectFacts())) }),
      hardwareIds: () => hardwareIds,
      now: () => BigInt(Math.max(0, Math.floor(clock()))),
      loadState: () => this.files.load(),
      saveState: (bytes) => this.files.save(bytes),
      randomBytes: (n) => new Uint8Array(randomBytes(Math.min(n, MAX_RANDOM))),
    };
    this.policy = {
      graceSecs: BigInt(o.graceSecs ?? 3 * 86400),
      clockToleranceSecs: BigInt(o.clockToleranceSecs ?? 3600),
    };
    this.keys = keys;
    this.generated = generated;
    this.modules = new Map();
    for (const name of readdirSync(genDir).filter((f) => f.endsWith('.wasm'))) {
      this.modules.set(name, new WebAssembly.Module(readFileSync(join(genDir, name))));
    }
    this.plugin = this.#instantiate();
  }

  #instantiate() {
    const host = this.imports;
    const plugin = this.generated.instantiate(
      (name) => this.modules.get(name),
      { 'keyward:plugin/host': host, 'keyward:plugin/host@0.1.0': host, 'keyward:plugin/types': {}, 'keyward:plugin/types@0.1.0': {} },
    );
    this.#refusing(() => plugin.init(this.keys, this.policy));
    return plugin;
  }

  /** Runs a plugin call: a refusal becomes a KeywardError; a trap or a throwing import
   * discards the instance (the next call gets a fresh one) and is rethrown as `trap`. */
  #call(f) {
    this.plugin ??= this.#instantiate();
    try {
      return this.#refusing(() => f(this.plugin));
    } catch (e) {
      if (!(e instanceof KeywardError)) {
        this.plugin = null;
        throw new KeywardError('trap', `the license plugin was stopped: ${e?.message ?? e}`);
      }
      throw e;
    }
  }

  #refusing(f) {
    try {
      return f();
    } catch (e) {
      const p = e?.payload;
      if (p && typeof p === 'object' && typeof p.code === 'string') {
        throw new KeywardError(snakeCase(p.code), p.message, p.suggestion);
      }
      throw e;
    }
  }

  /** A change, under the state directory's lock: the state is read again first, so a change
   * another program made is kept. */
  #changing(f) {
    return this.files.change(() => this.#call((p) => {
      p.reload();
      return f(p);
    }));
  }

  /** This machine's system identification code (系统识别码) for the product. */
  systemId() {
    return this.#call((p) => p.systemId(this.product));
  }

  /** Activates with an authorization code (授权码), offline. Returns the status. */
  activate(code) {
    text(code, 'the authorization code (KA1-…)');
    return statusOf(this.#changing((p) => p.activate(code)));
  }

  /** An activation request (激活请求) for `code` (or the latest installed code). */
  request(code, hardwareId) {
    const c = optionalText(code, 'the authorization code (KA1-…)');
    const h = optionalText(hardwareId, 'the hardware identification code');
    return this.#call((p) => p.request(c, h));
  }

  /** Installs an activation certificate (激活证书). Returns the status. */
  install(certificate) {
    text(certificate, 'the activation certificate (KC1-…)');
    return statusOf(this.#changing((p) => p.install(certificate)));
  }

  /** Applies a signed update: `applied` or `already_applied`. */
  apply(update) {
    text(update, 'the signed update (KN1-…)');
    return snakeCase(this.#changing((p) => p.apply(update)));
  }

  /** The best status among installed licenses, now. */
  status() {
    return statusOf(this.#call((p) => p.status()));
  }

  /** Whether `feature` is available now. Fails closed: any error is false. */
  hasFeature(feature) {
    if (typeof feature !== 'string') return false;
    try {
      return this.#call((p) => p.hasFeature(feature));
    } catch {
      return false;
    }
  }

  /** Judges pasted text; `expected` (`authorization_code`, ...) makes other kinds `wrong_kind`. */
  inspect(pasted, expected) {
    text(pasted, 'the text to inspect');
    let kind;
    if (expected !== undefined && expected !== null) {
      kind = Object.hasOwn(KINDS, expected) ? KINDS[expected] : undefined;
      if (kind === undefined) {
        throw new KeywardError('invalid_input', `unknown kind ${JSON.stringify(expected)}: one of ${Object.keys(KINDS).join(', ')}`);
      }
    }
    return verdictOf(this.#call((p) => p.inspect(pasted, kind)));
  }

  /** Removes one license (16 hex digits) or, without an id, all. Returns how many. */
  deactivate(licenseId) {
    const id = optionalText(licenseId, 'the license id (16 hex digits)');
    return this.#changing((p) => p.deactivate(id));
  }

  /** Reads the state again (after another program changed it). */
  reload() {
    this.#call((p) => p.reload());
  }
}
