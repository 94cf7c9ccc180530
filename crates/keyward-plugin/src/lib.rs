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

pub use plugin::{Failure, Host, Inspection, Plugin};

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

    use keyward_core::{Applied, Kind, MachineFacts, Policy, Status, Timestamp};
    use spin::Mutex;

    use crate::bindings::keyward::plugin::host;
    use crate::bindings::keyward::plugin::types as wit;
    use crate::plugin::{Failure, Host, Plugin};

    /// The one plugin of this instance. A component instance is single-threaded; the lock
    /// only gives safe mutable access to a static.
    static PLUGIN: Mutex<Plugin> = Mutex::new(Plugin::new());

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

    /// A refusal for WIT, its stable code as the `error-code` case. Every code of
    /// keyward-core's `ErrorCode` has its case (checked by `every_code_has_its_own_case`
    /// below); `malformed` stands in should a future keyward-core add a code before the WIT
    /// does.
    pub(crate) fn error(f: Failure) -> wit::Error {
        use keyward_core::ErrorCode as E;
        use wit::ErrorCode as C;
        let code = match f.code {
            E::Empty => C::Empty,
            E::NotAKeywardCode => C::NotAKeywardCode,
            E::UnsupportedVersion => C::UnsupportedVersion,
            E::Typo => C::Typo,
            E::Malformed => C::Malformed,
            E::WrongKind => C::WrongKind,
            E::UnknownKey => C::UnknownKey,
            E::BadSignature => C::BadSignature,
            E::InvalidInput => C::InvalidInput,
            E::InvalidHardwareId => C::InvalidHardwareId,
            E::InvalidKey => C::InvalidKey,
            E::MarketplaceCode => C::MarketplaceCode,
            E::CorruptState => C::CorruptState,
            E::MachineMismatch => C::MachineMismatch,
            E::Expired => C::Expired,
            E::Released => C::Released,
            E::ClockRolledBack => C::ClockRolledBack,
            E::NotYetValid => C::NotYetValid,
            E::Frozen => C::Frozen,
            E::NoLicense => C::NoLicense,
            E::NotInitialized => C::NotInitialized,
            E::AlreadyInitialized => C::AlreadyInitialized,
            E::StateNotSaved => C::StateNotSaved,
            E::NoRandomness => C::NoRandomness,
            _ => C::Malformed,
        };
        wit::Error {
            code,
            message: f.message,
            suggestion: f.suggestion,
        }
    }

    fn status(s: Status) -> wit::Status {
        let secs = |t: Timestamp| t.0;
        let message = s.describe();
        let state = s.code().as_str().into();
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
            state,
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
            PLUGIN.lock().init(&trusted_keys, policy).map_err(error)
        }

        fn inspect(text: String, expected: Option<wit::Kind>) -> wit::Verdict {
            let i = PLUGIN.lock().inspect(&Imports, &text, expected.map(kind));
            wit::Verdict {
                kind: i.verdict.kind.map(String::from),
                code: i.verdict.code.as_str().into(),
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
            PLUGIN.lock().system_id(&Imports, &product)
        }

        fn activate(code: String) -> Result<wit::Status, wit::Error> {
            PLUGIN
                .lock()
                .activate(&Imports, &code)
                .map(status)
                .map_err(error)
        }

        fn request(
            code: Option<String>,
            hardware_id: Option<String>,
        ) -> Result<String, wit::Error> {
            PLUGIN
                .lock()
                .request(&Imports, code.as_deref(), hardware_id.as_deref())
                .map_err(error)
        }

        fn install(certificate: String) -> Result<wit::Status, wit::Error> {
            PLUGIN
                .lock()
                .install(&Imports, &certificate)
                .map(status)
                .map_err(error)
        }

        fn apply(update: String) -> Result<wit::Applied, wit::Error> {
            match PLUGIN.lock().apply(&Imports, &update) {
                Ok(Applied::Applied) => Ok(wit::Applied::Applied),
                Ok(Applied::AlreadyApplied) => Ok(wit::Applied::AlreadyApplied),
                Err(f) => Err(error(f)),
            }
        }

        fn status() -> wit::Status {
            status(PLUGIN.lock().status(&Imports))
        }

        fn has_feature(feature: String) -> bool {
            PLUGIN.lock().has_feature(&Imports, &feature)
        }

        fn deactivate(license_id: Option<String>) -> Result<u32, wit::Error> {
            PLUGIN
                .lock()
                .deactivate(&Imports, license_id.as_deref())
                .map_err(error)
        }

        fn reload() {
            PLUGIN.lock().reload()
        }
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::String;
    use alloc::vec::Vec;

    use keyward_core::{ErrorCode, StatusCode};

    use crate::bindings::keyward::plugin::types::ErrorCode as C;
    use crate::component::error;
    use crate::plugin::Failure;

    /// Every stable refusal code (keyward-core's errors, the statuses that stop an action,
    /// and the plugin's own) gets its own WIT case, named as the code.
    #[test]
    fn every_code_has_its_own_case() {
        for &code in ErrorCode::ALL {
            let case = error(Failure {
                code,
                message: String::from("m"),
                suggestion: None,
            });
            assert_eq!(
                matches!(case.code, C::Malformed),
                code == ErrorCode::Malformed,
                "{code} has no case of its own"
            );
            // The case is the code itself (its Rust name is the code in CamelCase).
            let name = alloc::format!("{:?}", case.code);
            let name = name.trim_start_matches("ErrorCode::");
            let camel: String = code
                .as_str()
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
        }
        // Every state that stops an action has its refusal code.
        let refusing: Vec<_> = StatusCode::ALL
            .iter()
            .filter(|s| !s.is_usable())
            .map(|s| s.refusal())
            .collect();
        assert!(refusing.iter().all(Option::is_some), "{refusing:?}");
    }
}

#[allow(unsafe_code)]
mod export {
    use crate::bindings::export;
    use crate::component::Component;
    export!(Component with_types_in crate::bindings);
}
