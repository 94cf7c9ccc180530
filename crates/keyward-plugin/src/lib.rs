//! # keyward-plugin
//!
//! The WebAssembly component merchant software loads (through keyward-host) to validate
//! licenses offline: the world `keyward-plugin` of `wit/keyward.wit`, implemented over
//! keyward-core.
//!
//! The component has **no WASI imports**: it learns the machine's facts, the time and its
//! state only through the `host` interface, and it keeps nothing secret (the merchant's
//! private key is never here). Its trusted public keys are fixed by the host's one call to
//! `init`, so nothing a buyer types can add one.
//!
//! Built by `cargo xtask build` (for `wasm32-unknown-unknown`, then wrapped as a component)
//! into `target/dist/keyward-plugin.wasm`. On other targets the crate builds too, so that the
//! logic in [`Plugin`] is unit-tested natively against a fake [`Host`].
//!
//! A status, once verified, is kept: a warm `status` call is a clock read and a comparison
//! until the state changes or the time reaches the next point where the answer could
//! differ (a start, an expiry, the end of grace, a day boundary of `days_left`).
#![cfg_attr(target_arch = "wasm32", no_std)]
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

extern crate alloc;

mod plugin;
mod slot;

pub use plugin::{Error, Host, Inspection, Plugin};
pub use slot::Slot;

/// keyward-heap instead of dlmalloc: 6 KB smaller (see that crate).
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static HEAP: keyward_heap::Heap = keyward_heap::Heap::new();

/// A panic is a bug; in the component it becomes a trap, which the host reports as an error
/// and answers by starting a fresh instance.
#[cfg(all(target_arch = "wasm32", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

/// The generated WIT bindings (guest side).
#[allow(missing_docs, unsafe_code, clippy::all)]
mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "keyward-plugin",
    });
}

mod component {
    use alloc::string::String;
    use alloc::vec::Vec;

    use keyward_core::{
        eval::Policy, state::Applied, ErrorCode, Kind, MachineFacts, Status, StatusCode, Timestamp,
        VerdictCode,
    };

    use crate::bindings::keyward::plugin::host;
    use crate::bindings::keyward::plugin::types as wit;
    use crate::plugin::{Error, Host};
    use crate::slot::Slot;

    /// The one plugin of this instance, lent to each call (see [`Slot`]: a call abandoned
    /// by a throwing host import does not block the next one).
    static PLUGIN: Slot = Slot::new();

    /// The WIT imports, as a [`Host`].
    struct Imports;

    impl Host for Imports {
        fn machine_facts(&self) -> MachineFacts {
            let f = host::facts();
            MachineFacts {
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
        fn hardware_ids(&self) -> Vec<String> {
            host::hardware_ids()
        }
        fn now(&self) -> u64 {
            host::now()
        }
        fn load_state(&self) -> Option<Vec<u8>> {
            host::load_state()
        }
        fn save_state(&self, state: &[u8]) -> Result<(), String> {
            host::save_state(state)
        }
        fn random_bytes(&self, n: u32) -> Vec<u8> {
            host::random_bytes(n)
        }
    }

    /// A stable code as its `error-code` case. Every code the plugin refuses with has its
    /// case (checked by `every_refusal_has_its_own_case` below); `malformed` stands in
    /// should a future keyward-core add a code before the WIT does.
    fn error_code(code: ErrorCode) -> wit::ErrorCode {
        use wit::ErrorCode as W;
        use ErrorCode as C;
        match code {
            C::Empty => W::Empty,
            C::NotAKeywardCode => W::NotAKeywardCode,
            C::UnsupportedVersion => W::UnsupportedVersion,
            C::Typo => W::Typo,
            C::PastedTwice => W::PastedTwice,
            C::Incomplete => W::Incomplete,
            C::WrongKind => W::WrongKind,
            C::UnknownKey => W::UnknownKey,
            C::BadSignature => W::BadSignature,
            C::InvalidInput => W::InvalidInput,
            C::InvalidHardwareId => W::InvalidHardwareId,
            C::InvalidKey => W::InvalidKey,
            C::MarketplaceCode => W::MarketplaceCode,
            C::CorruptState => W::CorruptState,
            C::MachineMismatch => W::MachineMismatch,
            C::Expired => W::Expired,
            C::Released => W::Released,
            C::ClockRolledBack => W::ClockRolledBack,
            C::NotYetValid => W::NotYetValid,
            C::Frozen => W::Frozen,
            C::NoLicense => W::NoLicense,
            C::NotInitialized => W::NotInitialized,
            C::AlreadyInitialized => W::AlreadyInitialized,
            C::StateNotSaved => W::StateNotSaved,
            C::NoRandomness => W::NoRandomness,
            _ => W::Malformed,
        }
    }

    /// A refusal for WIT, its stable code as the `error-code` case.
    pub(crate) fn error(f: Error) -> wit::Error {
        wit::Error {
            code: error_code(f.code),
            message: f.message,
            suggestion: f.suggestion,
        }
    }

    /// A status's `status-code` case, from the status itself.
    pub(crate) fn status_code(s: &Status) -> wit::StatusCode {
        use wit::StatusCode as C;
        match s {
            Status::Active { .. } => C::Active,
            Status::InGrace { .. } => C::InGrace,
            Status::NotYetValid { .. } => C::NotYetValid,
            Status::Expired { .. } => C::Expired,
            Status::Frozen { .. } => C::Frozen,
            Status::Released { .. } => C::Released,
            Status::MachineMismatch { .. } => C::MachineMismatch,
            Status::ClockRolledBack { .. } => C::ClockRolledBack,
            Status::NoLicense => C::NoLicense,
        }
    }

    /// A verdict's code as `verdict-code` (the plugin always verifies: never `unverified`).
    pub(crate) fn verdict_code(code: VerdictCode) -> wit::VerdictCode {
        use wit::StatusCode as W;
        use StatusCode as C;
        let status = match code {
            VerdictCode::Valid => return wit::VerdictCode::Valid,
            VerdictCode::Error(e) => return wit::VerdictCode::Error(error_code(e)),
            VerdictCode::Status(C::Active) => W::Active,
            VerdictCode::Status(C::InGrace) => W::InGrace,
            VerdictCode::Status(C::NotYetValid) => W::NotYetValid,
            VerdictCode::Status(C::Expired) => W::Expired,
            VerdictCode::Status(C::Frozen) => W::Frozen,
            VerdictCode::Status(C::Released) => W::Released,
            VerdictCode::Status(C::MachineMismatch) => W::MachineMismatch,
            VerdictCode::Status(C::ClockRolledBack) => W::ClockRolledBack,
            VerdictCode::Status(C::NoLicense) => W::NoLicense,
            _ => return wit::VerdictCode::Error(wit::ErrorCode::Malformed),
        };
        wit::VerdictCode::Status(status)
    }

    fn status(s: Status) -> wit::Status {
        let secs = |t: Timestamp| t.0;
        let message = s.describe();
        let code = status_code(&s);
        let usable = s.is_usable();
        let (grace_ends, mismatch, clock) = match &s {
            Status::InGrace { grace_ends, .. } => (Some(grace_ends.0), None, None),
            Status::MachineMismatch { mismatch, .. } => (
                None,
                Some(wit::Mismatch {
                    differing: mismatch
                        .differing
                        .iter()
                        .map(|d| String::from(*d))
                        .collect(),
                    matched: mismatch.matched,
                    required: mismatch.required,
                }),
                None,
            ),
            Status::ClockRolledBack { now, high_water } => (
                None,
                None,
                Some(wit::ClockRollback {
                    now: now.0,
                    high_water: high_water.0,
                }),
            ),
            _ => (None, None, None),
        };
        let license = s.license().map(|l| wit::LicenseSummary {
            license_id: alloc::format!("{}", l.license_id),
            product: l.product.clone(),
            sku: l.sku.clone(),
            seats: l.seats,
            features: l.features.clone(),
            not_before: secs(l.not_before),
            expires: l.expires.map(secs),
            days_left: l.days_left,
            trial: l.trial,
            bound: l.bound,
        });
        wit::Status {
            code,
            usable,
            message,
            license,
            grace_ends,
            mismatch,
            clock,
        }
    }

    fn kind(k: wit::Kind) -> Kind {
        match k {
            wit::Kind::AuthorizationCode => Kind::AuthorizationCode,
            wit::Kind::SystemId => Kind::SystemId,
            wit::Kind::ActivationRequest => Kind::ActivationRequest,
            wit::Kind::ActivationCertificate => Kind::ActivationCertificate,
            wit::Kind::SignedUpdate => Kind::SignedUpdate,
            wit::Kind::DeactivationCode => Kind::DeactivationCode,
        }
    }

    /// The component's exports.
    pub struct Component;

    impl crate::bindings::Guest for Component {
        fn init(trusted_keys: Vec<Vec<u8>>, policy: wit::Policy) -> Result<(), wit::Error> {
            let policy = Policy {
                grace: policy.grace_secs,
                clock_tolerance: policy.clock_tolerance_secs,
            };
            PLUGIN
                .with(|p| p.init(&trusted_keys, policy))
                .map_err(error)
        }

        fn inspect(text: String, expected: Option<wit::Kind>) -> wit::Verdict {
            let i = PLUGIN.with(|p| p.inspect(&Imports, &text, expected.map(kind)));
            wit::Verdict {
                kind: i.verdict.kind.map(String::from),
                code: verdict_code(i.verdict.code),
                message: i.verdict.message,
                suggestion: i.verdict.suggestion,
                typos: i
                    .typos
                    .iter()
                    .map(|t| wit::Typo {
                        group: t.group as u32,
                        first_position: t.first_position as u32,
                        last_position: t.last_position as u32,
                    })
                    .collect(),
            }
        }

        fn system_id(product: String) -> String {
            PLUGIN.with(|p| p.system_id(&Imports, &product))
        }

        fn activate(code: String) -> Result<wit::Status, wit::Error> {
            PLUGIN
                .with(|p| p.activate(&Imports, &code))
                .map(status)
                .map_err(error)
        }

        fn request(
            code: Option<String>,
            hardware_id: Option<String>,
        ) -> Result<String, wit::Error> {
            PLUGIN
                .with(|p| p.request(&Imports, code.as_deref(), hardware_id.as_deref()))
                .map_err(error)
        }

        fn install(certificate: String) -> Result<wit::Status, wit::Error> {
            PLUGIN
                .with(|p| p.install(&Imports, &certificate))
                .map(status)
                .map_err(error)
        }

        fn apply(update: String) -> Result<wit::Applied, wit::Error> {
            match PLUGIN.with(|p| p.apply(&Imports, &update)) {
                Ok(Applied::Applied) => Ok(wit::Applied::Applied),
                Ok(Applied::AlreadyApplied) => Ok(wit::Applied::AlreadyApplied),
                Err(f) => Err(error(f)),
            }
        }

        fn status() -> wit::Status {
            status(PLUGIN.with(|p| p.status(&Imports)))
        }

        fn has_feature(feature: String) -> bool {
            PLUGIN.with(|p| p.has_feature(&Imports, &feature))
        }

        fn deactivate(license_id: Option<String>) -> Result<u32, wit::Error> {
            PLUGIN
                .with(|p| p.deactivate(&Imports, license_id.as_deref()))
                .map_err(error)
        }

        fn reload() {
            PLUGIN.with(|p| p.reload())
        }
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::String;
    use alloc::vec::Vec;

    use keyward_core::{
        error::CodeError, eval::ClockRollback, keys::KeyId, Error, Kind, Status, Timestamp,
        VerdictCode as CoreVerdict,
    };

    use crate::bindings::keyward::plugin::types::{ErrorCode as C, VerdictCode};
    use crate::component::{error, status_code, verdict_code};
    use crate::plugin::Error as PluginError;

    /// The Rust name of a WIT case is its code in CamelCase.
    fn camel(code: &str) -> String {
        code.split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase())
                    .into_iter()
                    .chain(c)
                    .collect::<String>()
            })
            .collect()
    }

    /// Every status has its `status-code` case, and a verdict's code crosses as `valid`,
    /// that status, or an error: never a stand-in.
    #[test]
    fn statuses_and_verdicts_have_their_cases() {
        use keyward_core::{binding::Mismatch, eval::LicenseSummary};
        let license = LicenseSummary {
            license_id: keyward_core::LicenseId([1; 8]),
            product: String::new(),
            sku: String::new(),
            seats: 1,
            features: Vec::new(),
            not_before: Timestamp(0),
            expires: None,
            days_left: None,
            trial: false,
            bound: false,
        };
        let statuses = [
            Status::Active {
                license: license.clone(),
            },
            Status::InGrace {
                license: license.clone(),
                grace_ends: Timestamp(1),
            },
            Status::NotYetValid {
                license: license.clone(),
            },
            Status::Expired {
                license: license.clone(),
            },
            Status::Frozen {
                license: license.clone(),
            },
            Status::Released {
                license: license.clone(),
            },
            Status::MachineMismatch {
                license: license.clone(),
                mismatch: Mismatch {
                    differing: Vec::new(),
                    matched: 0,
                    required: 1,
                },
            },
            Status::from(ClockRollback {
                now: Timestamp(1),
                high_water: Timestamp(2),
            }),
            Status::NoLicense,
        ];
        let mut seen = Vec::new();
        for s in &statuses {
            let case = status_code(s);
            assert_eq!(
                alloc::format!("{case:?}"),
                alloc::format!("StatusCode::{}", camel(s.code().as_str()))
            );
            assert!(
                matches!(verdict_code(CoreVerdict::Status(s.code())), VerdictCode::Status(c) if c == case),
                "{}",
                s.code()
            );
            seen.push(case as u8);
        }
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 9);
        assert!(matches!(
            verdict_code(CoreVerdict::Valid),
            VerdictCode::Valid
        ));
        assert!(matches!(
            verdict_code(CoreVerdict::Error(keyward_core::ErrorCode::BadSignature)),
            VerdictCode::Error(C::BadSignature)
        ));
    }

    /// Every stable code a refusal can carry gets its own WIT case: keyward-core's errors,
    /// the statuses that stop an action, and the plugin's own.
    #[test]
    fn every_refusal_has_its_own_case() {
        let kind = Kind::AuthorizationCode;
        let core = [
            Error::Code(CodeError::Empty),
            Error::Code(CodeError::UnknownPrefix),
            Error::Code(CodeError::UnsupportedVersion { kind, version: 9 }),
            Error::Code(CodeError::Typo {
                kind,
                groups: Vec::new(),
                suggestion: None,
                missing_or_extra: false,
            }),
            Error::Code(CodeError::BadLength { kind, symbols: 3 }),
            Error::Code(CodeError::PastedTwice {
                kind,
                suggestion: None,
            }),
            Error::Code(CodeError::Incomplete {
                kind,
                missing: 1,
                at_least: false,
            }),
            Error::Code(CodeError::TwoCodes),
            Error::Malformed {
                kind,
                offset: 0,
                reason: "test",
            },
            Error::WrongKind {
                expected: kind,
                found: Kind::SystemId,
            },
            Error::UnknownKey {
                key_id: KeyId([1; 4]),
            },
            Error::BadSignature { kind },
            Error::InvalidInput {
                field: "test",
                reason: String::new(),
            },
            Error::InvalidHardwareId {
                reason: String::new(),
            },
            Error::InvalidKey {
                reason: String::new(),
            },
            Error::MarketplaceCode,
            Error::CorruptState { reason: "test" },
            Error::BadArmour(keyward_core::error::ArmourError::EndMissing),
        ];
        let mut errors: Vec<PluginError> = core.into_iter().map(PluginError::from).collect();
        let rollback = Status::from(ClockRollback {
            now: Timestamp(1),
            high_water: Timestamp(2),
        });
        errors.push(PluginError::from_status(&rollback));
        for code in [
            "machine_mismatch",
            "expired",
            "released",
            "not_initialized",
            "already_initialized",
            "state_not_saved",
            "no_randomness",
        ] {
            errors.push(PluginError {
                code: code.parse().unwrap(),
                message: String::from("m"),
                suggestion: None,
            });
        }
        let mut seen = Vec::new();
        for f in errors {
            let code = f.code.as_str();
            let case = error(f);
            assert_eq!(
                matches!(case.code, C::Malformed),
                code == "malformed",
                "{code} has no case of its own"
            );
            // The case is the code itself (its Rust name is the code in CamelCase).
            let name = alloc::format!("{:?}", case.code);
            let name = name.trim_start_matches("ErrorCode::");
            let camel: String = code
                .split('_')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_ascii_uppercase())
                        .into_iter()
                        .chain(c)
                        .collect::<String>()
                })
                .collect();
            assert_eq!(name, camel, "{code}");
            seen.push(code);
        }
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 23, "{seen:?}");
    }

    /// Every stable error code, whatever produced it, crosses as the WIT case of its own
    /// name (`frozen` and `no_license` once crossed as `malformed`).
    #[test]
    fn every_error_code_crosses_as_its_own_case() {
        for &code in keyward_core::ErrorCode::ALL {
            let case = error(PluginError {
                code,
                message: String::new(),
                suggestion: None,
            })
            .code;
            let name = alloc::format!("{case:?}");
            assert_eq!(
                name.trim_start_matches("ErrorCode::"),
                camel(code.as_str()),
                "{code}"
            );
        }
    }
}

#[allow(unsafe_code)]
mod export {
    use crate::bindings::export;
    use crate::component::Component;
    export!(Component with_types_in crate::bindings);
}
