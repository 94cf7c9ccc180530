//! The plugin's logic, independent of the WebAssembly bindings: one [`Plugin`] per
//! component instance, talking to its host through the [`Host`] trait. Natively the trait is
//! implemented by a fake host in the tests; in the component by the WIT imports.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use keyward_core::{
    binding::MachineRef,
    error::Typo,
    eval::Policy,
    state::{Applied, Credential},
    time::DAY,
    verdict, ActivationRequest, Artifact, AuthorizationCode, ErrorCode, HardwareId, Kind,
    LicenseId, LicenseState, MachineFacts, PublicKey, Status, SystemIdCode, Timestamp, TrustedKeys,
    Verdict, VerdictCode,
};

/// What the plugin needs from the outside world: exactly the WIT `host` interface.
pub trait Host {
    /// This machine's facts.
    fn machine_facts(&self) -> MachineFacts;
    /// Hardware identification codes the host vouches for, as text.
    fn hardware_ids(&self) -> Vec<String>;
    /// Seconds since the Unix epoch.
    fn now(&self) -> u64;
    /// The state blob last saved, if any.
    fn load_state(&self) -> Option<Vec<u8>>;
    /// Saves the state blob.
    fn save_state(&self, state: &[u8]) -> Result<(), String>;
    /// Random bytes.
    fn random_bytes(&self, n: u32) -> Vec<u8>;
}

/// Why a call was refused (the WIT `error`): a stable code, a sentence, and a correction
/// when a typo has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// Stable code (keyward-core's, a status code, or the plugin's own).
    pub code: ErrorCode,
    /// For people.
    pub message: String,
    /// A corrected code.
    pub suggestion: Option<String>,
}

impl From<keyward_core::Error> for Error {
    fn from(e: keyward_core::Error) -> Self {
        Error {
            code: e.code(),
            message: e.to_string(),
            suggestion: e.suggestion().map(String::from),
        }
    }
}

impl Error {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            suggestion: None,
        }
    }

    /// A status that refuses an activation becomes the error, with the status's code.
    pub(crate) fn from_status(s: &Status) -> Self {
        // Callers pass only states that refuse; a usable one has no refusal code.
        let code = s.code().refusal().unwrap_or(ErrorCode::InvalidInput);
        Error::new(code, s.describe())
    }

    fn not_initialized() -> Self {
        Error::new(
            ErrorCode::NotInitialized,
            "the plugin was not given its trusted keys: the host must call init first",
        )
    }
}

/// A verdict with the failing typo groups (only filled in for `typo`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inspection {
    /// The verdict every form of keyward agrees on.
    pub verdict: Verdict,
    /// Groups whose check symbols fail.
    pub typos: Vec<Typo>,
}

/// The longest a computed status is reused (seconds). Also bounds how often the clock's
/// high-water mark is considered for saving.
const MAX_CACHE_SECS: u64 = 60;
/// The in-memory high-water mark is saved once it is this far (seconds) ahead of the saved
/// one: far inside the clock tolerance (a day by default), and rare enough that a status
/// loop does not write to disk all the time.
const HIGH_WATER_SAVE_SECS: u64 = 600;

struct Machine {
    facts: MachineFacts,
    hardware_ids: Vec<HardwareId>,
}

struct Stored {
    state: LicenseState,
    saved_high_water: Timestamp,
}

/// A status computed at `from`, valid for every `now` in `from..until`: nothing installed
/// can change its answer before `until` (no start, expiry, grace end or day boundary of
/// `days_left`), and the state has not changed since.
struct Cached {
    status: Status,
    from: u64,
    until: u64,
}

/// One plugin instance: trusted keys fixed once, the machine and state read lazily from the
/// host, and the last status cached.
#[derive(Default)]
pub struct Plugin {
    trusted: Option<TrustedKeys>,
    policy: Policy,
    machine: Option<Machine>,
    stored: Option<Stored>,
    cache: Option<Cached>,
}

impl Plugin {
    /// A plugin with no keys yet.
    pub const fn new() -> Self {
        Plugin {
            trusted: None,
            policy: Policy {
                grace: 3 * DAY,
                clock_tolerance: keyward_core::eval::CLOCK_TOLERANCE,
            },
            machine: None,
            stored: None,
            cache: None,
        }
    }

    /// A plugin already given its trusted keys and policy (a fresh start after a call the
    /// host abandoned; see [`Slot`](crate::Slot)).
    pub fn with_keys(trusted: TrustedKeys, policy: Policy) -> Self {
        Plugin {
            trusted: Some(trusted),
            policy,
            ..Plugin::new()
        }
    }

    /// The trusted keys and policy `init` fixed, if it was called.
    pub fn config(&self) -> Option<(TrustedKeys, Policy)> {
        self.trusted.as_ref().map(|t| (t.clone(), self.policy))
    }

    /// Fixes the trusted keys (raw 32-byte Ed25519 public keys) and the policy, once.
    pub fn init(&mut self, keys: &[Vec<u8>], policy: Policy) -> Result<(), Error> {
        if self.trusted.is_some() {
            return Err(Error::new(
                ErrorCode::AlreadyInitialized,
                "the trusted keys are already set; they cannot be changed or added to",
            ));
        }
        let mut trusted = TrustedKeys::new();
        for raw in keys {
            let bytes: &[u8; 32] = raw.as_slice().try_into().map_err(|_| {
                Error::new(
                    ErrorCode::InvalidKey,
                    alloc::format!(
                        "a trusted key must be 32 bytes (a raw Ed25519 public key), not {}",
                        raw.len()
                    ),
                )
            })?;
            trusted.add(PublicKey::from_bytes(bytes)?);
        }
        if trusted.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidKey,
                "no trusted public key was given",
            ));
        }
        self.trusted = Some(trusted);
        self.policy = policy;
        Ok(())
    }

    /// Judges pasted text; changes nothing.
    pub fn inspect(&mut self, host: &impl Host, text: &str, expected: Option<Kind>) -> Inspection {
        let now = Timestamp(host.now());
        let (m, s) = loaded(&mut self.machine, &mut self.stored, host);
        let Some(trusted) = &self.trusted else {
            let f = Error::not_initialized();
            return Inspection {
                verdict: Verdict {
                    kind: None,
                    code: VerdictCode::Error(f.code),
                    message: f.message,
                    suggestion: None,
                    typos: Vec::new(),
                    error: None,
                    status: None,
                },
                typos: Vec::new(),
            };
        };
        let ctx = keyward_core::Context {
            trusted,
            facts: &m.facts,
            hardware_ids: &m.hardware_ids,
            now,
            policy: self.policy,
        };
        let verdict = verdict(text, expected, &ctx, s.state.high_water);
        let typos = verdict.typos.clone();
        Inspection { verdict, typos }
    }

    /// This machine's system identification code for `product`.
    pub fn system_id(&mut self, host: &impl Host, product: &str) -> String {
        let (m, _) = loaded(&mut self.machine, &mut self.stored, host);
        SystemIdCode::compute(product, &m.facts).encode()
    }

    fn trusted(&self) -> Result<&TrustedKeys, Error> {
        self.trusted.as_ref().ok_or_else(Error::not_initialized)
    }

    /// Verifies and installs an authorization code.
    pub fn activate(&mut self, host: &impl Host, text: &str) -> Result<Status, Error> {
        let code = match Artifact::parse_expecting(
            text,
            Kind::AuthorizationCode,
            Some(self.trusted()?),
        )? {
            Artifact::AuthorizationCode(c) => c,
            _ => return Err(wrong_artifact(Kind::AuthorizationCode)),
        };
        self.install_credential(host, Credential::Code(code))
    }

    /// Verifies and installs an activation certificate.
    pub fn install(&mut self, host: &impl Host, text: &str) -> Result<Status, Error> {
        let cert = match Artifact::parse_expecting(
            text,
            Kind::ActivationCertificate,
            Some(self.trusted()?),
        )? {
            Artifact::ActivationCertificate(c) => c,
            _ => return Err(wrong_artifact(Kind::ActivationCertificate)),
        };
        self.install_credential(host, Credential::Certificate(cert))
    }

    fn install_credential(
        &mut self,
        host: &impl Host,
        credential: Credential,
    ) -> Result<Status, Error> {
        let now = Timestamp(host.now());
        let trusted = self.trusted.as_ref().ok_or_else(Error::not_initialized)?;
        let (m, stored) = loaded(&mut self.machine, &mut self.stored, host);
        let ctx = keyward_core::Context {
            trusted,
            facts: &m.facts,
            hardware_ids: &m.hardware_ids,
            now,
            policy: self.policy,
        };
        let mut next = stored.state.clone();
        next.observe(&ctx)
            .map_err(|c| Error::from_status(&Status::from(c)))?;
        let status = next.install(credential, &ctx)?;
        if matches!(
            status,
            Status::MachineMismatch { .. } | Status::Expired { .. } | Status::Released { .. }
        ) {
            return Err(Error::from_status(&status));
        }
        save(host, stored, next)?;
        self.cache = None;
        Ok(status)
    }

    /// An activation request for `code` (or the latest installed authorization code).
    pub fn request(
        &mut self,
        host: &impl Host,
        code: Option<&str>,
        hardware_id: Option<&str>,
    ) -> Result<String, Error> {
        let now = Timestamp(host.now());
        let trusted = self.trusted.as_ref().ok_or_else(Error::not_initialized)?;
        let (m, stored) = loaded(&mut self.machine, &mut self.stored, host);
        let code: AuthorizationCode = match code {
            Some(text) => {
                match Artifact::parse_expecting(text, Kind::AuthorizationCode, Some(trusted))? {
                    Artifact::AuthorizationCode(c) => c,
                    _ => return Err(wrong_artifact(Kind::AuthorizationCode)),
                }
            }
            None => stored
                .state
                .entries
                .iter()
                .rev()
                .find_map(|e| match &e.credential {
                    Credential::Code(c) => Some(c.clone()),
                    Credential::Certificate(_) => None,
                })
                .ok_or_else(|| {
                    Error::from(keyward_core::Error::InvalidInput {
                        field: "request",
                        reason: "no authorization code is installed on this machine: give the code to activate".into(),
                    })
                })?,
        };
        let machine = match hardware_id {
            Some(h) => MachineRef::Hardware(HardwareId::parse(h)?),
            None => MachineRef::System(SystemIdCode::compute(&code.terms().product, &m.facts)),
        };
        let nonce: [u8; 8] = host.random_bytes(8).try_into().map_err(|_| {
            Error::new(
                ErrorCode::NoRandomness,
                "the host gave no random bytes for the request's nonce",
            )
        })?;
        Ok(ActivationRequest::new(code, machine, nonce, now).encode())
    }

    /// Applies a signed update.
    pub fn apply(&mut self, host: &impl Host, text: &str) -> Result<Applied, Error> {
        let now = Timestamp(host.now());
        let trusted = self.trusted.as_ref().ok_or_else(Error::not_initialized)?;
        let update = match Artifact::parse_expecting(text, Kind::SignedUpdate, Some(trusted))? {
            Artifact::SignedUpdate(u) => u,
            _ => return Err(wrong_artifact(Kind::SignedUpdate)),
        };
        let (m, stored) = loaded(&mut self.machine, &mut self.stored, host);
        let ctx = keyward_core::Context {
            trusted,
            facts: &m.facts,
            hardware_ids: &m.hardware_ids,
            now,
            policy: self.policy,
        };
        let mut next = stored.state.clone();
        let applied = next.apply(&update, &ctx)?;
        if applied == Applied::Applied {
            save(host, stored, next)?;
            self.cache = None;
        }
        Ok(applied)
    }

    /// The best status now, answered from the cache while nothing can have changed it.
    pub fn status(&mut self, host: &impl Host) -> Status {
        let now = host.now();
        if let (Some(c), Some(stored)) = (&self.cache, &mut self.stored) {
            if c.from <= now && now < c.until {
                stored.state.high_water = stored.state.high_water.max(Timestamp(now));
                return c.status.clone();
            }
        }
        let empty = TrustedKeys::new();
        // Without keys nothing verifies: an uninitialised plugin reports no license.
        let trusted = self.trusted.as_ref().unwrap_or(&empty);
        let (m, stored) = loaded(&mut self.machine, &mut self.stored, host);
        let ctx = keyward_core::Context {
            trusted,
            facts: &m.facts,
            hardware_ids: &m.hardware_ids,
            now: Timestamp(now),
            policy: self.policy,
        };
        let status = stored.state.status(&ctx);
        if stored.state.high_water.0
            >= stored
                .saved_high_water
                .0
                .saturating_add(HIGH_WATER_SAVE_SECS)
        {
            save_high_water(host, stored);
        }
        self.cache = match status {
            // Cheap to recompute (no signature is checked), and must notice the clock
            // being set right at once.
            Status::ClockRolledBack { .. } => None,
            _ => Some(Cached {
                until: next_change(now, &stored.state, &self.policy),
                from: now,
                status: status.clone(),
            }),
        };
        status
    }

    /// Whether `feature` is available now.
    pub fn has_feature(&mut self, host: &impl Host, feature: &str) -> bool {
        self.status(host).has_feature(feature)
    }

    /// Removes one license, or all. Returns how many were removed.
    pub fn deactivate(&mut self, host: &impl Host, license_id: Option<&str>) -> Result<u32, Error> {
        let id = match license_id {
            Some(t) => Some(LicenseId::parse(t).ok_or_else(|| {
                Error::from(keyward_core::Error::InvalidInput {
                    field: "license id",
                    reason: "expected 16 hexadecimal digits".into(),
                })
            })?),
            None => None,
        };
        let (_, stored) = loaded(&mut self.machine, &mut self.stored, host);
        let mut next = stored.state.clone();
        let removed = match id {
            Some(id) => u32::from(next.remove(id)),
            None => {
                let n = next.entries.len() as u32;
                next.entries.clear();
                n
            }
        };
        if removed > 0 {
            save(host, stored, next)?;
            self.cache = None;
        }
        Ok(removed)
    }

    /// Forgets the state and the cached status; the next call reads the state again.
    pub fn reload(&mut self) {
        self.stored = None;
        self.cache = None;
    }
}

/// The machine and the state, read from the host the first time they are needed. The host
/// validates the state file (falling back to its backup); a blob that still does not parse
/// is treated as no state rather than trusted.
fn loaded<'a>(
    machine: &'a mut Option<Machine>,
    stored: &'a mut Option<Stored>,
    host: &impl Host,
) -> (&'a Machine, &'a mut Stored) {
    let m = machine.get_or_insert_with(|| Machine {
        facts: host.machine_facts(),
        hardware_ids: host
            .hardware_ids()
            .iter()
            // An id the host vouches for but that does not parse can match nothing.
            .filter_map(|t| HardwareId::parse(t).ok())
            .collect(),
    });
    let s = stored.get_or_insert_with(|| {
        let state = host
            .load_state()
            .and_then(|b| LicenseState::from_bytes(&b).ok())
            .unwrap_or_default();
        Stored {
            saved_high_water: state.high_water,
            state,
        }
    });
    (m, s)
}

/// Saves the clock's high-water mark, and only it: into the state as the host has it now
/// (another program may have installed or changed a license since this instance read it),
/// never by writing this instance's possibly stale licenses over it. The fresh state
/// becomes this instance's. Best effort: a failed save must not turn into a failed status;
/// it is retried at a later recomputation. (A host also merges such saves under its lock:
/// see keyward-host's `files.rs`.)
fn save_high_water(host: &impl Host, stored: &mut Stored) {
    let mark = stored.state.high_water;
    let mut fresh = host
        .load_state()
        .and_then(|b| LicenseState::from_bytes(&b).ok())
        .unwrap_or_default();
    fresh.high_water = fresh.high_water.max(mark);
    let Ok(bytes) = fresh.to_bytes() else {
        return;
    };
    if host.save_state(&bytes).is_ok() {
        stored.saved_high_water = fresh.high_water;
        stored.state = fresh;
    }
}

/// Saves `next` and makes it current only if the host stored it: a change that could not be
/// saved is not kept in memory either, so memory and disk never disagree.
fn save(host: &impl Host, stored: &mut Stored, next: LicenseState) -> Result<(), Error> {
    let bytes = next.to_bytes()?;
    host.save_state(&bytes).map_err(|why| {
        Error::new(
            ErrorCode::StateNotSaved,
            alloc::format!("the license state could not be saved, so nothing changed: {why}"),
        )
    })?;
    stored.saved_high_water = next.high_water;
    stored.state = next;
    Ok(())
}

fn wrong_artifact(expected: Kind) -> Error {
    Error::new(
        ErrorCode::WrongKind,
        alloc::format!("this is not a {}", expected.name()),
    )
}

/// The first time after `now` at which the status of `state` could differ: a license
/// starting, expiring, leaving grace, or its `days_left` ticking down; at most
/// [`MAX_CACHE_SECS`] ahead.
fn next_change(now: u64, state: &LicenseState, policy: &Policy) -> u64 {
    let mut until = now.saturating_add(MAX_CACHE_SECS);
    let mut consider = |t: u64| {
        if t > now && t < until {
            until = t;
        }
    };
    for e in &state.entries {
        let terms = match &e.credential {
            Credential::Code(c) => c.terms(),
            Credential::Certificate(c) => c.terms(),
        };
        consider(terms.not_before.0);
        if let Some(x) = e.flags.renewed_expiry.or(terms.expires).map(|t| t.0) {
            consider(x);
            consider(x.saturating_add(policy.grace));
            if x > now {
                let left = (x - now).div_ceil(DAY);
                consider(x - (left - 1) * DAY);
            }
        }
    }
    until
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::{Cell, RefCell};
    use keyward_core::{
        binding::Binding, ActivationCertificate, LicenseTerms, MerchantKey, SignedUpdate,
        UpdateAction,
    };

    const SEED: &[u8; 32] = b"keyward fixed test key: not safe";

    struct FakeHost {
        facts: MachineFacts,
        now: Cell<u64>,
        state: RefCell<Option<Vec<u8>>>,
        saves: Cell<u32>,
        fail_saves: Cell<bool>,
        fact_reads: Cell<u32>,
    }

    impl FakeHost {
        fn new(now: u64) -> Self {
            FakeHost {
                facts: MachineFacts {
                    machine_id: Some("8f3b1c2d4e5f60718293a4b5c6d7e8f9".into()),
                    disk_serial: Some("S4EVNF0M712345X".into()),
                    cpu: Some("GenuineIntel family 6 model 158 stepping 10".into()),
                    macs: alloc::vec!["04:7c:16:5e:e3:5d".into()],
                    ..MachineFacts::default()
                },
                now: Cell::new(now),
                state: RefCell::new(None),
                saves: Cell::new(0),
                fail_saves: Cell::new(false),
                fact_reads: Cell::new(0),
            }
        }
    }

    impl Host for FakeHost {
        fn machine_facts(&self) -> MachineFacts {
            self.fact_reads.set(self.fact_reads.get() + 1);
            self.facts.clone()
        }
        fn hardware_ids(&self) -> Vec<String> {
            Vec::new()
        }
        fn now(&self) -> u64 {
            self.now.get()
        }
        fn load_state(&self) -> Option<Vec<u8>> {
            self.state.borrow().clone()
        }
        fn save_state(&self, state: &[u8]) -> Result<(), String> {
            if self.fail_saves.get() {
                return Err("disk full".into());
            }
            self.saves.set(self.saves.get() + 1);
            *self.state.borrow_mut() = Some(state.to_vec());
            Ok(())
        }
        fn random_bytes(&self, n: u32) -> Vec<u8> {
            alloc::vec![7; n as usize]
        }
    }

    fn ts(s: &str) -> u64 {
        Timestamp::parse(s).map(|t| t.0).unwrap_or_default()
    }

    fn key() -> MerchantKey {
        MerchantKey::from_seed(SEED)
    }

    fn terms(n: u8, expires: Option<&str>) -> LicenseTerms {
        LicenseTerms {
            license_id: LicenseId([n; 8]),
            product: "acme-invoice".into(),
            sku: "pro".into(),
            seats: 1,
            not_before: Timestamp(ts("2026-11-01T00:00:00Z")),
            expires: expires.map(|e| Timestamp(ts(e))),
            features: alloc::vec!["export".into()],
            trial: false,
            instance_id: None,
            order_id: None,
        }
    }

    fn code(n: u8, expires: Option<&str>) -> String {
        AuthorizationCode::issue(&key(), terms(n, expires), None)
            .unwrap()
            .encode()
    }

    fn plugin() -> Plugin {
        let mut p = Plugin::new();
        p.init(&[key().public().to_bytes().to_vec()], Policy::default())
            .unwrap();
        p
    }

    #[test]
    fn init_only_once_and_keys_required() {
        let mut p = Plugin::new();
        assert_eq!(
            p.init(&[], Policy::default()).unwrap_err().code,
            "invalid_key"
        );
        assert_eq!(
            p.init(&[b"junk".to_vec()], Policy::default())
                .unwrap_err()
                .code,
            "invalid_key"
        );
        assert_eq!(
            p.init(&[alloc::vec![0; 32]], Policy::default())
                .unwrap_err()
                .code,
            "invalid_key"
        );
        p.init(&[key().public().to_bytes().to_vec()], Policy::default())
            .unwrap();
        let other = MerchantKey::from_seed(&[1; 32])
            .public()
            .to_bytes()
            .to_vec();
        assert_eq!(
            p.init(&[other], Policy::default()).unwrap_err().code,
            "already_initialized"
        );
    }

    #[test]
    fn uninitialised_plugin_licenses_nothing() {
        let host = FakeHost::new(ts("2026-11-20T12:00:00Z"));
        let mut p = Plugin::new();
        assert_eq!(
            p.activate(&host, &code(1, None)).unwrap_err().code,
            "not_initialized"
        );
        assert_eq!(p.status(&host).code(), "no_license");
        assert_eq!(
            p.inspect(&host, &code(1, None), None).verdict.code,
            "not_initialized"
        );
    }

    #[test]
    fn activate_status_deactivate() {
        let host = FakeHost::new(ts("2026-11-20T12:00:00Z"));
        let mut p = plugin();
        let s = p
            .activate(&host, &code(1, Some("2026-12-01T00:00:00Z")))
            .unwrap();
        assert_eq!(s.code(), "active");
        assert_eq!(host.saves.get(), 1);
        assert!(p.has_feature(&host, "export"));
        assert!(!p.has_feature(&host, "import"));
        // A fresh instance reads the saved state.
        let mut q = plugin();
        assert_eq!(q.status(&host).code(), "active");
        assert_eq!(
            p.deactivate(&host, Some("zz")).unwrap_err().code,
            "invalid_input"
        );
        assert_eq!(p.deactivate(&host, Some("0202020202020202")).unwrap(), 0);
        assert_eq!(p.deactivate(&host, None).unwrap(), 1);
        assert_eq!(p.status(&host), Status::NoLicense);
        q.reload();
        assert_eq!(q.status(&host), Status::NoLicense);
    }

    #[test]
    fn refused_activations_change_nothing() {
        let host = FakeHost::new(ts("2026-11-20T12:00:00Z"));
        let mut p = plugin();
        let e = p
            .activate(&host, &code(1, Some("2026-11-10T00:00:00Z")))
            .unwrap_err();
        assert_eq!(e.code, "expired");
        let elsewhere = MachineFacts {
            machine_id: Some("0123456789abcdef0123456789abcdef".into()),
            cpu: Some("AuthenticAMD family 25 model 33 stepping 0".into()),
            ..MachineFacts::default()
        };
        let sys = SystemIdCode::compute("acme-invoice", &elsewhere);
        let other = AuthorizationCode::issue(
            &key(),
            terms(2, None),
            Some(Binding::system(sys, None).unwrap()),
        )
        .unwrap()
        .encode();
        assert_eq!(
            p.activate(&host, &other).unwrap_err().code,
            "machine_mismatch"
        );
        assert_eq!(
            p.install(&host, &code(3, None)).unwrap_err().code,
            "wrong_kind"
        );
        host.fail_saves.set(true);
        assert_eq!(
            p.activate(&host, &code(4, None)).unwrap_err().code,
            "state_not_saved"
        );
        assert_eq!(p.status(&host), Status::NoLicense);
        assert_eq!(host.saves.get(), 0);
    }

    #[test]
    fn status_is_cached_until_something_can_change() {
        let host = FakeHost::new(ts("2026-11-20T12:00:00Z"));
        let mut p = plugin();
        p.activate(&host, &code(1, Some("2026-11-22T12:00:00Z")))
            .unwrap();
        let license = |s: &Status| s.license().and_then(|l| l.days_left);
        assert_eq!(license(&p.status(&host)), Some(2));
        assert!(p.cache.is_some());
        let until = p.cache.as_ref().map(|c| c.until).unwrap_or_default();
        assert_eq!(until, ts("2026-11-20T12:01:00Z"));
        // One day later the day count is right at once.
        host.now.set(ts("2026-11-21T12:00:01Z"));
        assert_eq!(license(&p.status(&host)), Some(1));
        // The exact second of expiry is never served from the cache.
        host.now.set(ts("2026-11-22T11:59:59Z"));
        assert_eq!(p.status(&host).code(), "active");
        assert_eq!(
            p.cache.as_ref().map(|c| c.until),
            Some(ts("2026-11-22T12:00:00Z"))
        );
        host.now.set(ts("2026-11-22T12:00:00Z"));
        assert_eq!(p.status(&host).code(), "in_grace");
        // The facts were asked for once.
        assert_eq!(host.fact_reads.get(), 1);
    }

    #[test]
    fn clock_rollback_is_reported_and_not_cached() {
        let host = FakeHost::new(ts("2026-11-20T12:00:00Z"));
        let mut p = plugin();
        p.activate(&host, &code(1, None)).unwrap();
        host.now.set(ts("2026-11-22T14:00:00Z"));
        assert_eq!(p.status(&host).code(), "active");
        // More than the day of tolerance back.
        host.now.set(ts("2026-11-21T12:30:00Z"));
        assert_eq!(p.status(&host).code(), "clock_rolled_back");
        // Within it (a clock that was ahead for a while): fine.
        host.now.set(ts("2026-11-21T15:00:00Z"));
        assert_eq!(p.status(&host).code(), "active");
        assert_eq!(
            p.activate(&host, &code(2, None)).map(|s| s.code().as_str()),
            Ok("active")
        );
        host.now.set(ts("2026-11-19T00:00:00Z"));
        assert_eq!(
            p.activate(&host, &code(3, None)).unwrap_err().code,
            "clock_rolled_back"
        );
    }

    #[test]
    fn high_water_is_saved_now_and_then() {
        let host = FakeHost::new(ts("2026-11-20T12:00:00Z"));
        let mut p = plugin();
        p.activate(&host, &code(1, None)).unwrap();
        for minute in 1..=30 {
            host.now.set(ts("2026-11-20T12:00:00Z") + minute * 60);
            p.status(&host);
        }
        // Once for the activation, then once per ten minutes of clock.
        assert_eq!(host.saves.get(), 4);
        let saved = LicenseState::from_bytes(&host.state.borrow().clone().unwrap()).unwrap();
        assert_eq!(saved.high_water.0, ts("2026-11-20T12:30:00Z"));
    }

    #[test]
    fn the_clock_mark_save_never_drops_another_programs_license() {
        // Two instances (two programs) on one state: A reads it, B installs a license, and
        // A's periodic save of the clock mark must keep B's license.
        let host = FakeHost::new(ts("2026-11-20T12:00:00Z"));
        let mut a = plugin();
        let mut b = plugin();
        a.activate(&host, &code(1, None)).unwrap();
        assert_eq!(a.status(&host).code(), "active");
        b.reload();
        b.activate(&host, &code(2, None)).unwrap();
        host.now
            .set(ts("2026-11-20T12:00:00Z") + HIGH_WATER_SAVE_SECS + 100);
        let saves = host.saves.get();
        assert_eq!(a.status(&host).code(), "active");
        assert_eq!(host.saves.get(), saves + 1, "the mark was saved");
        let saved = LicenseState::from_bytes(&host.state.borrow().clone().unwrap()).unwrap();
        assert_eq!(saved.entries.len(), 2, "both licenses kept");
        assert_eq!(saved.high_water.0, host.now.get());
        // A now sees B's license too.
        assert_eq!(a.stored.as_ref().map(|s| s.state.entries.len()), Some(2));
    }

    #[test]
    fn request_certificate_update_round_trip() {
        let host = FakeHost::new(ts("2026-11-20T12:00:00Z"));
        let mut p = plugin();
        assert_eq!(
            p.request(&host, None, None).unwrap_err().code,
            "invalid_input"
        );
        let text = code(5, Some("2026-12-01T00:00:00Z"));
        let req = p.request(&host, Some(&text), None).unwrap();
        let req = ActivationRequest::decode(&req).unwrap();
        assert_eq!(req.nonce, [7; 8]);
        let MachineRef::System(sys) = req.machine else {
            panic!("expected a system id")
        };
        assert_eq!(sys.encode(), p.system_id(&host, "acme-invoice"));
        let cert = ActivationCertificate::issue(
            &key(),
            req.code.terms().clone(),
            Binding::system(sys, None).unwrap(),
            req.nonce,
            Timestamp(host.now()),
        )
        .unwrap()
        .encode();
        assert_eq!(p.install(&host, &cert).unwrap().code(), "active");
        let hw = p
            .request(&host, Some(&text), Some("mac:04-7c-16-5e-e3-5d"))
            .unwrap();
        assert!(hw.starts_with("KR1-"));
        let update = |seq, action| {
            SignedUpdate::issue(
                &key(),
                LicenseId([5; 8]),
                seq,
                action,
                Timestamp(host.now()),
            )
            .unwrap()
            .encode()
        };
        assert_eq!(
            p.apply(&host, &update(1, UpdateAction::Freeze)),
            Ok(Applied::Applied)
        );
        assert_eq!(p.status(&host).code(), "frozen");
        assert_eq!(
            p.apply(&host, &update(1, UpdateAction::Freeze)),
            Ok(Applied::AlreadyApplied)
        );
        assert_eq!(
            p.apply(&host, &update(2, UpdateAction::Unfreeze)),
            Ok(Applied::Applied)
        );
        assert_eq!(p.status(&host).code(), "active");
    }

    #[test]
    fn inspect_reports_typo_groups() {
        let host = FakeHost::new(ts("2026-11-20T12:00:00Z"));
        let mut p = plugin();
        let good = code(1, None);
        let mut chars: Vec<char> = good.chars().collect();
        chars[12] = if chars[12] == '7' { '8' } else { '7' };
        let typo: String = chars.into_iter().collect();
        let i = p.inspect(&host, &typo, None);
        assert_eq!(i.verdict.code, "typo");
        assert_eq!(i.verdict.suggestion.as_deref(), Some(good.as_str()));
        assert_eq!(i.typos.len(), 1);
        assert_eq!(i.typos[0].group, 1);
        let i = p.inspect(&host, &good, Some(Kind::SystemId));
        assert_eq!(i.verdict.code, "wrong_kind");
        assert!(i.typos.is_empty());
    }

    #[test]
    fn damaged_state_blob_is_no_state() {
        let host = FakeHost::new(ts("2026-11-20T12:00:00Z"));
        *host.state.borrow_mut() = Some(alloc::vec![1, 2, 3]);
        let mut p = plugin();
        assert_eq!(p.status(&host), Status::NoLicense);
    }

    /// A host call that never returns (jco: an import that throws; the call is abandoned
    /// with nothing dropped) must not block the calls after it: the next call is served at
    /// once, by a plugin with the same keys that reads the state again.
    #[test]
    fn a_call_abandoned_in_a_host_import_does_not_block_the_next() {
        use std::sync::{mpsc, Arc};
        use std::time::Duration;

        let slot = Arc::new(crate::Slot::new());
        slot.with(|p| p.init(&[key().public().to_bytes().to_vec()], Policy::default()))
            .unwrap();
        let now = ts("2026-11-20T12:00:00Z");
        let host = FakeHost::new(now);
        slot.with(|p| p.activate(&host, &code(1, None))).unwrap();
        let saved = host.state.borrow().clone();
        // A call takes the plugin and is abandoned inside a host import: it never returns.
        let (abandoned, _) = slot.take();
        core::mem::forget(abandoned);
        assert!(!slot.is_idle());
        // The next call, on another thread so that a hang fails the test instead of
        // stalling it.
        let (tx, rx) = mpsc::channel();
        let s = slot.clone();
        std::thread::spawn(move || {
            let host = FakeHost::new(now);
            *host.state.borrow_mut() = saved;
            let status = s.with(|p| p.status(&host));
            let again = s.with(|p| p.activate(&host, &code(2, None)).map(|s| s.code()));
            let _ = tx.send((status, again, host.saves.get()));
        });
        let (status, again, saves) = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the call after an abandoned one returned at once");
        // The state was read again, and the keys are still the ones `init` fixed.
        assert_eq!(status.code(), "active");
        assert_eq!(again.map(|s| s.as_str()), Ok("active"));
        assert_eq!(saves, 1);
        assert!(slot.is_idle());
        // A second `init` is still refused: the fresh plugin is not a way to change keys.
        let other = MerchantKey::from_seed(&[1; 32])
            .public()
            .to_bytes()
            .to_vec();
        assert_eq!(
            slot.with(|p| p.init(&[other], Policy::default()))
                .unwrap_err()
                .code,
            "already_initialized"
        );
    }

    /// The same when the host import panics (unwinding drops the plugin mid-call).
    #[test]
    fn a_panicking_host_import_leaves_a_usable_plugin() {
        struct Throwing(FakeHost);
        impl Host for Throwing {
            fn machine_facts(&self) -> MachineFacts {
                self.0.machine_facts()
            }
            fn hardware_ids(&self) -> Vec<String> {
                Vec::new()
            }
            fn now(&self) -> u64 {
                self.0.now()
            }
            fn load_state(&self) -> Option<Vec<u8>> {
                self.0.load_state()
            }
            fn save_state(&self, _: &[u8]) -> Result<(), String> {
                panic!("ENOSPC: no space left on device")
            }
            fn random_bytes(&self, n: u32) -> Vec<u8> {
                self.0.random_bytes(n)
            }
        }
        let slot = crate::Slot::new();
        slot.with(|p| p.init(&[key().public().to_bytes().to_vec()], Policy::default()))
            .unwrap();
        let host = Throwing(FakeHost::new(ts("2026-11-20T12:00:00Z")));
        let thrown = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            slot.with(|p| p.activate(&host, &code(1, None)))
        }));
        assert!(thrown.is_err());
        assert!(!slot.is_idle());
        assert_eq!(slot.with(|p| p.status(&host.0)), Status::NoLicense);
        assert_eq!(
            slot.with(|p| p
                .activate(&host.0, &code(1, None))
                .map(|s| s.code().as_str())),
            Ok("active")
        );
        assert!(slot.is_idle());
    }

    /// A host import that calls back into the plugin (the component model forbids it; a
    /// host may do it anyway) gets an answer at once instead of a deadlock, and the plugin
    /// put back after the outer call drops what it had read, so later calls see the disk.
    #[test]
    fn a_reentrant_call_is_answered_and_the_outer_call_rereads() {
        struct Reentrant<'a> {
            host: &'a FakeHost,
            slot: &'a crate::Slot,
            inner: RefCell<Option<Result<&'static str, &'static str>>>,
        }
        impl Host for Reentrant<'_> {
            fn machine_facts(&self) -> MachineFacts {
                self.host.machine_facts()
            }
            fn hardware_ids(&self) -> Vec<String> {
                Vec::new()
            }
            fn now(&self) -> u64 {
                self.host.now()
            }
            fn load_state(&self) -> Option<Vec<u8>> {
                self.host.load_state()
            }
            fn save_state(&self, state: &[u8]) -> Result<(), String> {
                if self.inner.borrow().is_none() {
                    let r = self.slot.with(|p| {
                        p.activate(self.host, &code(9, None))
                            .map(|s| s.code().as_str())
                            .map_err(|f| f.code.as_str())
                    });
                    *self.inner.borrow_mut() = Some(r);
                }
                self.host.save_state(state)
            }
            fn random_bytes(&self, n: u32) -> Vec<u8> {
                self.host.random_bytes(n)
            }
        }
        let slot = crate::Slot::new();
        slot.with(|p| p.init(&[key().public().to_bytes().to_vec()], Policy::default()))
            .unwrap();
        let host = FakeHost::new(ts("2026-11-20T12:00:00Z"));
        let reentrant = Reentrant {
            host: &host,
            slot: &slot,
            inner: RefCell::new(None),
        };
        let outer = slot.with(|p| p.activate(&reentrant, &code(1, None)).map(|s| s.code()));
        assert_eq!(outer.map(|s| s.as_str()), Ok("active"));
        assert_eq!(*reentrant.inner.borrow(), Some(Ok("active")));
        assert!(slot.is_idle());
        // The outer plugin's memory predates the inner call: it is dropped, not trusted.
        let cached = slot.with(|p| p.stored.as_ref().map(|s| s.state.entries.len()));
        assert_eq!(cached, None, "the outer plugin was reloaded");
    }
}
