//! The wasmtime side: one engine and compiled component per [`License`](crate::License), the
//! precompiled-code cache, the host functions, and per-call limits (memory, time, fuel).
//! A call that traps or runs over a limit throws its instance away; the next call starts
//! a fresh one from the pre-instantiated component.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use keyward_core::MachineFacts;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, ResourceLimiter, Store, Trap, UpdateDeadline};

use crate::bindings::keyward::plugin::{host, types as wit};
use crate::bindings::{KeywardPlugin, KeywardPluginPre};
use crate::error::Error;
use crate::files::StateFiles;
use crate::ticker::{self, Running, TICK};

/// The clock the plugin is given.
pub(crate) type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Per-call limits.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) memory: usize,
    pub(crate) timeout: Duration,
    pub(crate) fuel: Option<u64>,
}

/// What the host functions serve, shared by every instance of one License.
pub(crate) struct Shared {
    pub(crate) facts_override: Option<MachineFacts>,
    pub(crate) facts: OnceLock<MachineFacts>,
    pub(crate) hardware_ids: Vec<String>,
    pub(crate) clock: Clock,
    pub(crate) files: StateFiles,
}

/// A store's data: the shared host side, this instance's memory accounting and the time
/// of the call running now.
pub(crate) struct HostState {
    shared: Arc<Shared>,
    limiter: Limiter,
    time: CallTime,
}

/// The time limit counts the plugin's own time only: the time spent in host functions
/// (saving the state with fsync on a busy disk, waiting for the state directory's lock,
/// collecting the machine's facts) is the host's and is taken out.
struct CallTime {
    limit: Duration,
    started: Instant,
    in_host: Duration,
}

impl CallTime {
    /// The plugin's own time in this call so far.
    fn plugin(&self) -> Duration {
        self.started.elapsed().saturating_sub(self.in_host)
    }
}

/// Epoch ticks that cover `d`, plus one: the current tick may be about to end.
fn ticks(d: Duration) -> u64 {
    u64::try_from(d.as_nanos().div_ceil(TICK.as_nanos()))
        .unwrap_or(u64::MAX)
        .saturating_add(1)
}

impl HostState {
    /// Runs a host function, its time not counted against the plugin's limit.
    fn host<R>(&mut self, f: impl FnOnce(&Shared) -> R) -> R {
        let start = Instant::now();
        let r = f(&self.shared);
        self.time.in_host += start.elapsed();
        r
    }
}

struct Limiter {
    memory: usize,
    exceeded: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory {
            self.exceeded = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 10_000)
    }

    fn instances(&self) -> usize {
        16
    }

    fn tables(&self) -> usize {
        16
    }

    fn memories(&self) -> usize {
        4
    }
}

/// Most random bytes one call may ask for (a nonce needs 8).
const MAX_RANDOM: u32 = 256;

impl host::Host for HostState {
    fn facts(&mut self) -> wit::MachineFacts {
        let f = self.host(|s| {
            s.facts
                .get_or_init(|| match &s.facts_override {
                    Some(f) => f.clone(),
                    None => keyward_machine::collect(),
                })
                .clone()
        });
        wit::MachineFacts {
            machine_id: f.machine_id,
            product_uuid: f.product_uuid,
            board_serial: f.board_serial,
            disk_serial: f.disk_serial,
            cpu: f.cpu,
            macs: f.macs,
            cpu_id: f.cpu_id,
            custom: f.custom,
        }
    }

    fn hardware_ids(&mut self) -> Vec<String> {
        self.shared.hardware_ids.clone()
    }

    fn now(&mut self) -> u64 {
        self.host(|s| {
            (s.clock)()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        })
    }

    fn load_state(&mut self) -> Option<Vec<u8>> {
        self.host(|s| s.files.load())
    }

    fn save_state(&mut self, state: Vec<u8>) -> Result<(), String> {
        self.host(|s| s.files.save(&state))
    }

    fn random_bytes(&mut self, n: u32) -> Vec<u8> {
        self.host(|_| {
            let mut buf = vec![0; n.min(MAX_RANDOM) as usize];
            match getrandom::fill(&mut buf) {
                Ok(()) => buf,
                // The plugin refuses to make a request without its nonce.
                Err(_) => Vec::new(),
            }
        })
    }
}

impl wit::Host for HostState {}

struct Live {
    store: Store<HostState>,
    plugin: KeywardPlugin,
}

/// The plugin, ready to call.
pub(crate) struct Sandbox {
    pre: KeywardPluginPre<HostState>,
    engine: Engine,
    shared: Arc<Shared>,
    limits: Limits,
    keys: Vec<Vec<u8>>,
    policy: wit::Policy,
    live: Option<Live>,
}

/// How the compiled component was obtained (for benchmarks and tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheUse {
    /// Compiled now and not cached (no cache directory, or it could not be written).
    Compiled,
    /// Compiled now and written to the cache.
    CompiledAndStored,
    /// Loaded from the cache: no compilation.
    Loaded,
}

impl Sandbox {
    pub(crate) fn new(
        wasm: &[u8],
        cache_dir: Option<&Path>,
        shared: Arc<Shared>,
        limits: Limits,
        keys: Vec<Vec<u8>>,
        policy: wit::Policy,
    ) -> Result<(Sandbox, CacheUse), Error> {
        let engine = engine(limits.fuel.is_some())?;
        let (component, cache_use) = load_component(&engine, wasm, cache_dir)?;
        let mut linker = Linker::<HostState>::new(&engine);
        KeywardPlugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s).map_err(plugin_error)?;
        let pre = linker
            .instantiate_pre(&component)
            .and_then(KeywardPluginPre::new)
            .map_err(plugin_error)?;
        ticker::register(&engine);
        let mut sandbox = Sandbox {
            pre,
            engine,
            shared,
            limits,
            keys,
            policy,
            live: None,
        };
        sandbox.live = Some(sandbox.instantiate()?);
        Ok((sandbox, cache_use))
    }

    /// A fresh instance, given its keys.
    fn instantiate(&self) -> Result<Live, Error> {
        let mut store = Store::new(
            &self.engine,
            HostState {
                shared: self.shared.clone(),
                limiter: Limiter {
                    memory: self.limits.memory,
                    exceeded: false,
                },
                time: CallTime {
                    limit: self.limits.timeout,
                    started: Instant::now(),
                    in_host: Duration::ZERO,
                },
            },
        );
        store.limiter(|s| &mut s.limiter);
        // At the deadline: stop the plugin if its own time is up, else give it what is left
        // (the host's time in between was not its own).
        store.epoch_deadline_callback(|store| {
            let t = &store.data().time;
            let used = t.plugin();
            Ok(if used >= t.limit {
                UpdateDeadline::Interrupt
            } else {
                UpdateDeadline::Continue(ticks(t.limit - used))
            })
        });
        self.arm(&mut store)?;
        let _running = Running::start();
        let plugin = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| classify(e, &store))?;
        match plugin.call_init(&mut store, &self.keys, self.policy) {
            Ok(Ok(())) => Ok(Live { store, plugin }),
            Ok(Err(e)) => Err(Error::Keys { message: e.message }),
            Err(e) => Err(classify(e, &store)),
        }
    }

    /// Sets the time (and fuel) budget for the next call.
    fn arm(&self, store: &mut Store<HostState>) -> Result<(), Error> {
        store.data_mut().time.started = Instant::now();
        store.data_mut().time.in_host = Duration::ZERO;
        store.set_epoch_deadline(ticks(self.limits.timeout));
        if let Some(fuel) = self.limits.fuel {
            store.set_fuel(fuel).map_err(plugin_error)?;
        }
        Ok(())
    }

    /// Runs one call within the limits. A trap discards the instance.
    pub(crate) fn call<R>(
        &mut self,
        f: impl FnOnce(&KeywardPlugin, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, Error> {
        let mut live = match self.live.take() {
            Some(live) => live,
            None => self.instantiate()?,
        };
        self.arm(&mut live.store)?;
        let result = {
            let _running = Running::start();
            f(&live.plugin, &mut live.store)
        };
        match result {
            Ok(r) => {
                self.live = Some(live);
                Ok(r)
            }
            Err(e) => Err(classify(e, &live.store)),
        }
    }
}

fn plugin_error(e: wasmtime::Error) -> Error {
    Error::Plugin {
        message: format!("{e:#}"),
    }
}

/// Names what stopped a call.
fn classify(e: wasmtime::Error, store: &Store<HostState>) -> Error {
    let (code, message) = match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => (
            "time_limit",
            "it ran longer than its time limit".to_string(),
        ),
        Some(Trap::OutOfFuel) => ("fuel_limit", "it used up its fuel (CPU budget)".to_string()),
        _ if store.data().limiter.exceeded => (
            "memory_limit",
            "it needed more memory than its limit".to_string(),
        ),
        Some(t) => ("trap", format!("it failed ({t})")),
        None => ("trap", format!("it failed ({e:#})")),
    };
    Error::Sandbox { code, message }
}

fn engine(fuel: bool) -> Result<Engine, Error> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.consume_fuel(fuel);
    // The embedded plugin uses only WebAssembly 2.0; the optional wide-arithmetic build
    // (`target/dist/keyward-plugin-wide.wasm`, given with `plugin_path`) uses the
    // proposal's 64x64->128-bit multiplication for its field arithmetic.
    config.wasm_wide_arithmetic(true);
    Engine::new(&config).map_err(plugin_error)
}

const CACHE_MAGIC: &[u8; 8] = b"KWPCC\x001\n";
const CACHE_PREFIX: &str = "keyward-plugin-";
const CACHE_SUFFIX: &str = ".cwasm";

/// The cache file for this plugin on this engine: the name hashes the plugin's bytes, this
/// crate's version and wasmtime's compatibility hash (its version, target, CPU features
/// and every setting that shapes compiled code), so any change picks another file.
fn cache_file(engine: &Engine, wasm: &[u8], dir: &Path) -> PathBuf {
    struct Sha(Sha256);
    impl std::hash::Hasher for Sha {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut h = Sha(Sha256::new());
    h.0.update(b"keyward-host precompiled plugin\0");
    h.0.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.0.update([0]);
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut h);
    h.0.update(Sha256::digest(wasm));
    let digest = h.0.finalize();
    let name = keyward_core::raw::hex(&digest[..16]);
    dir.join(format!("{CACHE_PREFIX}{name}{CACHE_SUFFIX}"))
}

/// Compiles the component, or loads it precompiled from `cache_dir`.
///
/// A cache file holds a magic line, the SHA-256 of the compiled bytes, and the compiled
/// bytes. It is read only from a directory this user owns and no one else can write, only
/// when the file is this user's too and writable by no one else, and only when its contents
/// match its digest; anything else (planted by another user, truncated, damaged,
/// half-written) is compiled again. A directory others can write is not written to either.
pub(crate) fn load_component(
    engine: &Engine,
    wasm: &[u8],
    cache_dir: Option<&Path>,
) -> Result<(Component, CacheUse), Error> {
    let Some(dir) = cache_dir else {
        return Ok((compile(engine, wasm)?, CacheUse::Compiled));
    };
    let file = cache_file(engine, wasm, dir);
    // A cache this user cannot be sure it wrote is neither read nor written: compiling
    // costs tens of milliseconds, running someone else's machine code costs everything.
    let trusted = own_private_dir(dir);
    if trusted && own_private_file(&file) {
        if let Ok(bytes) = fs::read(&file) {
            if let Some(compiled) = checked_payload(&bytes) {
                // SAFETY: `Component::deserialize` runs the machine code in `compiled` as is,
                // so those bytes must be what `Component::serialize` produced for a
                // compatible engine. They are:
                // - only this user can have written them: the directory and the file are
                //   owned by this process's effective user and writable by no one else
                //   (`own_private_dir`, `own_private_file`; the file is not a symlink), so
                //   another local user cannot plant a file or swap one in;
                // - this crate writes such files only with `Component::serialize` output
                //   (`store_cache`), under a name that hashes the engine's compatibility
                //   settings and the plugin;
                // - `checked_payload` has just verified that the bytes read are exactly the
                //   bytes written (SHA-256 over the whole payload), so a truncated, damaged
                //   or half-written file never gets here; wasmtime itself then rejects an
                //   artifact from another version or configuration.
                // Whoever runs as this user can replace the merchant's program itself, so
                // trusting what this user wrote adds no new way in.
                #[allow(unsafe_code)]
                let loaded = unsafe { Component::deserialize(engine, compiled) };
                if let Ok(component) = loaded {
                    return Ok((component, CacheUse::Loaded));
                }
            }
        }
    }
    let component = compile(engine, wasm)?;
    let stored = (trusted || !dir.exists()) && store_cache(&component, dir, &file).is_ok();
    Ok((
        component,
        if stored {
            CacheUse::CompiledAndStored
        } else {
            CacheUse::Compiled
        },
    ))
}

/// Whether `path` (not followed if a symlink) is owned by this process's effective user
/// and writable by nobody else.
#[cfg(unix)]
fn owned_and_private(path: &Path, dir: bool) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = fs::symlink_metadata(path) else {
        return false;
    };
    let kind_ok = if dir { meta.is_dir() } else { meta.is_file() };
    kind_ok && Some(meta.uid()) == effective_uid() && meta.mode() & 0o022 == 0
}

/// This process's effective user id. The standard library has no `geteuid` and calling
/// libc's needs `unsafe`; on Linux `/proc/self` is owned by the effective user (by root
/// for a process that is not dumpable, which then simply never trusts its cache).
/// Elsewhere: unknown, so nothing is trusted and the plugin is compiled at every start.
#[cfg(unix)]
fn effective_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    if cfg!(target_os = "linux") {
        fs::metadata("/proc/self").ok().map(|m| m.uid())
    } else {
        None
    }
}

/// The cache directory is this user's own and no one else can write it.
#[cfg(unix)]
fn own_private_dir(dir: &Path) -> bool {
    owned_and_private(dir, true)
}

/// The cache file is this user's own, a regular file, and no one else can write it.
#[cfg(unix)]
fn own_private_file(file: &Path) -> bool {
    owned_and_private(file, false)
}

// Elsewhere ownership is not checked here, so nothing is trusted: the plugin is compiled
// at every start (tens of milliseconds).
#[cfg(not(unix))]
fn own_private_dir(_: &Path) -> bool {
    false
}
#[cfg(not(unix))]
fn own_private_file(_: &Path) -> bool {
    false
}

fn compile(engine: &Engine, wasm: &[u8]) -> Result<Component, Error> {
    Component::new(engine, wasm).map_err(plugin_error)
}

fn checked_payload(bytes: &[u8]) -> Option<&[u8]> {
    let rest = bytes.strip_prefix(CACHE_MAGIC.as_slice())?;
    if rest.len() < 32 {
        return None;
    }
    let (digest, payload) = rest.split_at(32);
    (Sha256::digest(payload).as_slice() == digest).then_some(payload)
}

/// Writes the cache file atomically, then trims the cache to its newest few entries (other
/// plugin versions, other settings). Failing to cache is not an error: the next start
/// compiles again.
fn store_cache(component: &Component, dir: &Path, file: &Path) -> std::io::Result<()> {
    let compiled = component
        .serialize()
        .map_err(|e| std::io::Error::other(format!("{e:#}")))?;
    keyward_files::create_private_dir(dir)?;
    if !own_private_dir(dir) {
        return Err(std::io::Error::other(
            "the cache directory is not this user's own, or others can write it",
        ));
    }
    let mut bytes = Vec::with_capacity(CACHE_MAGIC.len() + 32 + compiled.len());
    bytes.extend_from_slice(CACHE_MAGIC);
    bytes.extend_from_slice(&Sha256::digest(&compiled));
    bytes.extend_from_slice(&compiled);
    // Readable and writable by this user only (see `load_component`).
    keyward_files::write_atomic(file, &bytes, 0o600)?;
    trim_cache(dir);
    Ok(())
}

/// Entries kept: enough for a plugin upgrade and a second configuration (fuel) to coexist.
const CACHE_KEEP: usize = 4;

fn trim_cache(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut found: Vec<(SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with(CACHE_PREFIX) && name.ends_with(CACHE_SUFFIX)
        })
        .map(|e| {
            let modified = e
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(UNIX_EPOCH);
            (modified, e.path())
        })
        .collect();
    if found.len() <= CACHE_KEEP {
        return;
    }
    found.sort();
    for (_, path) in &found[..found.len() - CACHE_KEEP] {
        let _ = fs::remove_file(path);
    }
}
