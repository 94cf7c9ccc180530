//! # keyward-host
//!
//! Licensing for merchant software, fully offline: this crate runs keyward's license plugin
//! (a WebAssembly component with no WASI imports) in a wasmtime sandbox and gives it what it
//! needs — this machine's facts, the clock, a state file — and nothing else.
//!
//! ```no_run
//! use keyward_host::License;
//!
//! // The merchant's public key, compiled into the program.
//! const MERCHANT_KEY: &str = "-----BEGIN PUBLIC KEY-----
//! MCowBQYDK2VwAyEAByAWuq0tBpc0u+RjDf0HxsPuFodzWjvh6PuNgl3HvIQ=
//! -----END PUBLIC KEY-----";
//!
//! let license = License::builder()
//!     .trusted_keys_pem(MERCHANT_KEY)
//!     .state_dir("/var/lib/acme-invoice/license")
//!     .product("acme-invoice")
//!     .build()?;
//!
//! // Show the buyer this machine's code (系统识别码) to order a bound license ...
//! println!("system identification code: {}", license.system_id()?);
//! // ... activate the authorization code (授权码) they paste ...
//! let status = license.activate("KA1-…")?;
//! println!("{status}");
//! // ... and unlock features only while licensed.
//! if license.has_feature("export") {
//!     // export
//! }
//! # Ok::<(), keyward_host::Error>(())
//! ```
//!
//! What the host does around the plugin:
//! - **Facts** come from [`keyward_machine::collect`] (once, when the plugin first needs
//!   them), or from [`LicenseBuilder::facts`].
//! - **State** is `state.bin` in the state directory (the same file as the `keyward` CLI's),
//!   kept by [`keyward_files::StateDir`]: written atomically (temporary file, fsync, rename)
//!   with the previous copy kept as `state.bin.bak`. A damaged or missing file falls back to
//!   the copy and is reported by [`License::state_notices`]; nothing crashes and a valid
//!   license is not dropped silently. Every change (`activate`, `install`, `apply`,
//!   `deactivate`) is made under the state directory's lock (`state.lock`, which the CLI
//!   takes too) on the state as it is on disk; the clock's high-water mark that `status`
//!   saves now and then is merged under the lock into the state as it is on disk, never
//!   written over it. Programs sharing the directory never lose each other's changes.
//! - **Compilation** happens once: the compiled component is cached in the cache directory
//!   (default `<state dir>/cache`), under a name that hashes the plugin, this crate and
//!   wasmtime's settings, and is checked against its SHA-256 before it is loaded.
//! - **Limits** apply to every call: memory (default 8 MiB), time (default 1 s of the
//!   plugin's own time: the time the host's functions take, such as a save waiting for a
//!   busy disk or the directory's lock, is not counted) and,
//!   optionally, fuel. A plugin that traps or runs over a limit becomes an
//!   [`Error::Sandbox`], never a hang or a crash, and the next call gets a fresh instance.
//! - [`License`] is `Send + Sync`: calls from several threads take turns.
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod error;
mod files;
#[cfg(feature = "online")]
mod online;
mod sandbox;
mod ticker;
mod types;

#[allow(missing_docs, unsafe_code, clippy::all)]
mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "keyward-plugin",
    });
}

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime};

pub use error::Error;
pub use files::{NoticeKind, StateNotice, BACKUP_FILE, LOCK_FILE, STATE_FILE};
pub use keyward_core::{ErrorCode, MachineFacts, StatusCode, VerdictCode};
pub use sandbox::CacheUse;
pub use types::{Applied, ClockRollback, Kind, LicenseSummary, Mismatch, Status, Typo, Verdict};

use bindings::keyward::plugin::types as wit;
use sandbox::{Clock, Limits, Sandbox, Shared};

/// The plugin built by `cargo xtask build`, when it existed at build time.
#[cfg(keyward_plugin_embedded)]
const EMBEDDED: Option<&[u8]> = Some(include_bytes!(concat!(
    env!("OUT_DIR"),
    "/keyward-plugin.wasm"
)));
#[cfg(not(keyward_plugin_embedded))]
const EMBEDDED: Option<&[u8]> = None;

/// The plugin embedded in this build, if any (`cargo xtask build` writes it before the host
/// is compiled).
pub fn embedded_plugin() -> Option<&'static [u8]> {
    EMBEDDED
}

/// The license plugin, loaded and ready: one per product and state directory.
pub struct License {
    sandbox: Mutex<Sandbox>,
    shared: Arc<Shared>,
    product: String,
    cache_use: CacheUse,
}

impl std::fmt::Debug for License {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("License")
            .field("product", &self.product)
            .field("state", &self.shared.files.path())
            .finish_non_exhaustive()
    }
}

impl License {
    /// Starts configuring a [`License`].
    pub fn builder() -> LicenseBuilder {
        LicenseBuilder::default()
    }

    fn sandbox(&self) -> MutexGuard<'_, Sandbox> {
        // A panic in another thread cannot leave the sandbox half-updated in a way that
        // matters: the worst case is an instance the next trap replaces.
        self.sandbox.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs a call that changes the state under the state directory's lock (which the
    /// `keyward` CLI and other programs using keyward-host take too), after reading the
    /// state file again: a change another process made meanwhile is built on, never lost.
    fn changing<R>(&self, call: impl FnOnce(&mut Sandbox) -> Result<R, Error>) -> Result<R, Error> {
        // Waited for without holding the sandbox (other threads' status calls go on), and
        // handed to the state files only once the sandbox is ours: a save made while it is
        // held is then always this change's, never a concurrent status's clock-mark save.
        let lock = self.shared.files.lock_dir()?;
        let mut sandbox = self.sandbox();
        let _change = self.shared.files.hold(lock);
        sandbox.call(|p, s| p.call_reload(s))?;
        call(&mut sandbox)
    }

    /// The best status among the installed licenses, now. Warm calls are answered from the
    /// plugin's cache (a clock read and a comparison).
    pub fn status(&self) -> Result<Status, Error> {
        self.sandbox()
            .call(|p, s| p.call_status(s))
            .map(Status::from)
    }

    /// Whether `feature` is available now (licensed, active or in grace, and granted).
    /// Fails closed: any error is `false`.
    pub fn has_feature(&self, feature: &str) -> bool {
        self.sandbox()
            .call(|p, s| p.call_has_feature(s, feature))
            .unwrap_or(false)
    }

    /// Activates with an authorization code (bound to this machine, or unbound), offline:
    /// verified, its binding checked, installed. Returns the status it gives.
    pub fn activate(&self, code: &str) -> Result<Status, Error> {
        refused(self.changing(|sb| sb.call(|p, s| p.call_activate(s, code)))?).map(Status::from)
    }

    /// Makes an activation request for the most recently installed authorization code,
    /// naming this machine by its system identification code, or by `hardware_id`.
    pub fn request(&self, hardware_id: Option<&str>) -> Result<String, Error> {
        refused(
            self.sandbox()
                .call(|p, s| p.call_request(s, None, hardware_id))?,
        )
    }

    /// Makes an activation request for `code` (not installed: the request is how it gets
    /// bound to this machine).
    pub fn request_for(&self, code: &str, hardware_id: Option<&str>) -> Result<String, Error> {
        refused(
            self.sandbox()
                .call(|p, s| p.call_request(s, Some(code), hardware_id))?,
        )
    }

    /// Installs an activation certificate (the merchant's answer to a request).
    pub fn install(&self, certificate: &str) -> Result<Status, Error> {
        refused(self.changing(|sb| sb.call(|p, s| p.call_install(s, certificate)))?)
            .map(Status::from)
    }

    /// Applies a signed update: renewal, freeze, unfreeze or release.
    pub fn apply(&self, update: &str) -> Result<Applied, Error> {
        refused(self.changing(|sb| sb.call(|p, s| p.call_apply(s, update)))?).map(Applied::from)
    }

    /// This machine's system identification code (系统识别码) for the product.
    pub fn system_id(&self) -> Result<String, Error> {
        self.sandbox()
            .call(|p, s| p.call_system_id(s, &self.product))
    }

    /// Judges any pasted text: what it is, whether it is valid here and now, where a typo
    /// is and what the correction is. Installs nothing.
    pub fn inspect(&self, text: &str) -> Result<Verdict, Error> {
        self.sandbox()
            .call(|p, s| p.call_inspect(s, text, None))
            .map(Verdict::from)
    }

    /// Like [`inspect`](Self::inspect), for a field that takes only `expected`: other kinds
    /// are `wrong_kind`.
    pub fn inspect_as(&self, text: &str, expected: Kind) -> Result<Verdict, Error> {
        self.sandbox()
            .call(|p, s| p.call_inspect(s, text, Some(types::kind_to_wit(expected))))
            .map(Verdict::from)
    }

    /// Removes every installed license from this machine. Returns how many were removed.
    pub fn deactivate(&self) -> Result<u32, Error> {
        refused(self.changing(|sb| sb.call(|p, s| p.call_deactivate(s, None)))?)
    }

    /// Removes one license (16 hex digits). Returns 1 if it was installed, else 0.
    pub fn deactivate_license(&self, license_id: &str) -> Result<u32, Error> {
        refused(self.changing(|sb| sb.call(|p, s| p.call_deactivate(s, Some(license_id))))?)
    }

    /// Reads the state file again (after another program, such as the `keyward` CLI,
    /// changed it).
    pub fn reload(&self) -> Result<(), Error> {
        self.sandbox().call(|p, s| p.call_reload(s))
    }

    /// What happened to the state file so far (recovered from the backup, damaged,
    /// unreadable). Empty when all is well.
    pub fn state_notices(&self) -> Vec<StateNotice> {
        self.shared.files.notices()
    }

    /// The state file's path.
    pub fn state_path(&self) -> &Path {
        self.shared.files.path()
    }

    /// Whether the compiled plugin came from the cache.
    pub fn cache_use(&self) -> CacheUse {
        self.cache_use
    }
}

fn refused<T>(r: Result<T, wit::Error>) -> Result<T, Error> {
    r.map_err(|e| Error::Refused {
        code: code(e.code),
        message: e.message,
        suggestion: e.suggestion,
    })
}

/// A WIT error code as keyward-core's [`ErrorCode`](keyward_core::ErrorCode).
fn code(c: wit::ErrorCode) -> keyward_core::ErrorCode {
    use keyward_core::ErrorCode as E;
    use wit::ErrorCode as C;
    match c {
        C::Empty => E::Empty,
        C::NotAKeywardCode => E::NotAKeywardCode,
        C::UnsupportedVersion => E::UnsupportedVersion,
        C::Typo => E::Typo,
        C::PastedTwice => E::PastedTwice,
        C::Incomplete => E::Incomplete,
        C::Malformed => E::Malformed,
        C::WrongKind => E::WrongKind,
        C::UnknownKey => E::UnknownKey,
        C::BadSignature => E::BadSignature,
        C::InvalidInput => E::InvalidInput,
        C::InvalidHardwareId => E::InvalidHardwareId,
        C::InvalidKey => E::InvalidKey,
        C::MarketplaceCode => E::MarketplaceCode,
        C::CorruptState => E::CorruptState,
        C::MachineMismatch => E::MachineMismatch,
        C::Expired => E::Expired,
        C::Released => E::Released,
        C::ClockRolledBack => E::ClockRolledBack,
        C::NotYetValid => E::NotYetValid,
        C::Frozen => E::Frozen,
        C::NoLicense => E::NoLicense,
        C::NotInitialized => E::NotInitialized,
        C::AlreadyInitialized => E::AlreadyInitialized,
        C::StateNotSaved => E::StateNotSaved,
        C::NoRandomness => E::NoRandomness,
    }
}

/// Configures a [`License`]; see [`License::builder`].
pub struct LicenseBuilder {
    keys_pem: Vec<String>,
    state_dir: Option<PathBuf>,
    cache_dir: Option<Option<PathBuf>>,
    product: String,
    facts: Option<MachineFacts>,
    hardware_ids: Vec<String>,
    plugin_path: Option<PathBuf>,
    clock: Option<Clock>,
    grace: Duration,
    clock_tolerance: Duration,
    limits: Limits,
}

impl Default for LicenseBuilder {
    fn default() -> Self {
        LicenseBuilder {
            keys_pem: Vec::new(),
            state_dir: None,
            cache_dir: None,
            product: String::new(),
            facts: None,
            hardware_ids: Vec::new(),
            plugin_path: None,
            clock: None,
            grace: Duration::from_secs(3 * 86_400),
            clock_tolerance: Duration::from_secs(keyward_core::eval::CLOCK_TOLERANCE),
            limits: Limits {
                memory: 8 << 20,
                timeout: Duration::from_secs(1),
                fuel: None,
            },
        }
    }
}

impl std::fmt::Debug for LicenseBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LicenseBuilder")
            .field("state_dir", &self.state_dir)
            .field("product", &self.product)
            .finish_non_exhaustive()
    }
}

impl LicenseBuilder {
    /// The merchant's public key(s), SPKI PEM (`-----BEGIN PUBLIC KEY-----`; one text may
    /// hold several, and this may be called more than once). Required. These are the only
    /// keys the plugin will ever trust.
    pub fn trusted_keys_pem(mut self, pem: impl Into<String>) -> Self {
        self.keys_pem.push(pem.into());
        self
    }

    /// The directory for the license state (created if missing). Required.
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }

    /// Where the compiled plugin is cached (default: `cache` in the state directory).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(Some(dir.into()));
        self
    }

    /// Compiles the plugin at every start instead of caching it.
    pub fn no_cache(mut self) -> Self {
        self.cache_dir = Some(None);
        self
    }

    /// The product id, for [`License::system_id`] (empty: a product-neutral code).
    pub fn product(mut self, product: impl Into<String>) -> Self {
        self.product = product.into();
        self
    }

    /// Uses these machine facts instead of collecting them from this machine.
    pub fn facts(mut self, facts: MachineFacts) -> Self {
        self.facts = Some(facts);
        self
    }

    /// Hardware identification codes the program vouches for beyond the facts (for example
    /// a dongle's serial number it read itself), as `kind:value` text.
    pub fn hardware_ids<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.hardware_ids.extend(ids.into_iter().map(Into::into));
        self
    }

    /// Loads the plugin from this file instead of the one embedded at build time.
    pub fn plugin_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.plugin_path = Some(path.into());
        self
    }

    /// The clock given to the plugin (default: [`SystemTime::now`]). For tests, and for
    /// programs with a better time source.
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// How long an expired license keeps working while a renewal arrives (default 3 days).
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// How far the clock may go back before it counts as turned back (default a day, so a
    /// clock that was ahead for a while, such as a dual-boot PC's, does not lock a buyer
    /// out: see `keyward_core::eval::CLOCK_TOLERANCE`).
    pub fn clock_tolerance(mut self, tolerance: Duration) -> Self {
        self.clock_tolerance = tolerance;
        self
    }

    /// Most memory the plugin may use (default 8 MiB).
    pub fn memory_limit(mut self, bytes: usize) -> Self {
        self.limits.memory = bytes;
        self
    }

    /// Longest one call may run in the plugin itself (default 1 s; resolution 10 ms). Time
    /// spent in the host's functions during the call (facts, clock, state files, the
    /// directory's lock) is not counted.
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.limits.timeout = timeout;
        self
    }

    /// Also meters CPU deterministically: each call may execute about this many
    /// WebAssembly instructions. Off by default (metering slows the plugin down); the time
    /// limit always applies.
    pub fn fuel(mut self, fuel: u64) -> Self {
        self.limits.fuel = Some(fuel);
        self
    }

    /// Loads the plugin (from the cache when it can), gives it the trusted keys, and
    /// returns the ready [`License`].
    pub fn build(self) -> Result<License, Error> {
        let dir = self.state_dir.ok_or_else(|| Error::Config {
            message: "no state directory: call state_dir(..)".into(),
        })?;
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
        let mut keys = Vec::new();
        for pem in &self.keys_pem {
            let trusted = keyward_core::TrustedKeys::from_pem(pem).map_err(|e| Error::Keys {
                message: e.to_string(),
            })?;
            keys.extend(trusted.keys().iter().map(|k| k.to_bytes().to_vec()));
        }
        if keys.is_empty() {
            return Err(Error::Keys {
                message: "no trusted public key: call trusted_keys_pem(..)".into(),
            });
        }
        let owned;
        let wasm: &[u8] = match &self.plugin_path {
            Some(p) => {
                owned = std::fs::read(p).map_err(|source| Error::Io {
                    path: p.clone(),
                    source,
                })?;
                &owned
            }
            None => EMBEDDED.ok_or(Error::NoPlugin)?,
        };
        let cache_dir = match self.cache_dir {
            Some(c) => c,
            None => Some(dir.join("cache")),
        };
        let shared = Arc::new(Shared {
            facts_override: self.facts,
            facts: OnceLock::new(),
            hardware_ids: self.hardware_ids,
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemTime::now)),
            files: files::StateFiles::new(&dir),
        });
        let policy = wit::Policy {
            grace_secs: self.grace.as_secs(),
            clock_tolerance_secs: self.clock_tolerance.as_secs(),
        };
        let (sandbox, cache_use) = Sandbox::new(
            wasm,
            cache_dir.as_deref(),
            shared.clone(),
            self.limits,
            keys,
            policy,
        )?;
        Ok(License {
            sandbox: Mutex::new(sandbox),
            shared,
            product: self.product,
            cache_use,
        })
    }
}
