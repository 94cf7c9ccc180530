//! # keyward-core
//!
//! Offline license artifacts for software sold on cloud marketplaces: authorization codes
//! (授权码), system and hardware identification codes (系统识别码 / 硬件识别码), activation
//! requests and certificates, signed updates and deactivation codes (停用码) — encoded,
//! decoded, signed (Ed25519) and evaluated. No I/O and no clock: time is an argument, facts come from the host.
//!
//! Hashing is SHA-512 throughout (Ed25519 needs it anyway), so the WebAssembly builds
//! carry one hash function.
//!
//! ```
//! use keyward_core::{time::DAY, *};
//!
//! let key = MerchantKey::from_seed(&[42; 32]);
//! let trusted = TrustedKeys::from_keys([key.public()]);
//! let now = Timestamp::parse("2026-11-20T00:00:00Z").unwrap();
//! let terms = LicenseTerms {
//!     license_id: LicenseId([1; 8]),
//!     product: "acme-invoice".into(),
//!     sku: "pro".into(),
//!     seats: 1,
//!     not_before: now,
//!     expires: Some(now.add_secs(30 * DAY)),
//!     features: vec!["export".into()],
//!     trial: false,
//!     instance_id: None,
//!     order_id: None,
//! };
//! let code = AuthorizationCode::issue(&key, terms, None)?.encode();
//! assert!(code.starts_with("KA1-"));
//!
//! // A buyer retypes it with a mistake: the group is named and the fix offered.
//! let mut typo: Vec<char> = code.chars().collect();
//! typo[10] = if typo[10] == '7' { '8' } else { '7' };
//! let typo: String = typo.into_iter().collect();
//! let err = AuthorizationCode::decode(&typo, &trusted).unwrap_err();
//! assert_eq!(err.code(), "typo");
//! assert_eq!(err.suggestion(), Some(code.as_str()));
//!
//! let parsed = AuthorizationCode::decode(&code, &trusted)?;
//! assert_eq!(parsed.terms().features, ["export"]);
//! # Ok::<(), keyward_core::Error>(())
//! ```
//!
//! ## Where things are
//!
//! The root holds what a merchant's or a host's code reaches for first: the artifacts
//! ([`AuthorizationCode`], [`ActivationRequest`], [`ActivationCertificate`], [`SignedUpdate`],
//! [`DeactivationCode`], [`SystemIdCode`], [`HardwareId`]), the keys ([`MerchantKey`],
//! [`PublicKey`], [`TrustedKeys`]), reading and judging any pasted text ([`verdict`],
//! [`Artifact`]), a machine's [`LicenseState`] with its [`Status`], and the one [`Error`]
//! with the stable codes ([`ErrorCode`], [`StatusCode`], [`VerdictCode`]).
//!
//! The rest lives in the public module of its concept: [`binding`] (what a license is
//! bound to), [`codes`], [`error`] (the detail of a refusal: typos, armour), [`eval`]
//! (policy, flags, the clock check), [`facts`] (machine facts and their normalisation),
//! [`hwid`], [`keys`], [`state`] (entries, updates applied), [`text`] (what kind a text
//! is, half-typed codes) and [`time`]; every bound is in [`limits`], and byte-level access
//! in [`raw`].
//!
//! ## Cargo features
//!
//! - `std` (default): `std::error::Error` for the errors.
//! - `fast` (default): precomputed Ed25519 basepoint tables, for native builds; about 8 KB
//!   more in wasm, which leaves it off.
//! - `messages` (default): errors and statuses in English sentences. Without it (the
//!   activation page, which words its own messages in Chinese and English from the stable
//!   codes and structured values) they display as their stable codes, and the sentences are
//!   not compiled in.
//! - `serde`: `Serialize` for verdicts, statuses and the other result types (the CLI's JSON).
//! - `correction-tables`: `TrustedKeys::prepare_correction_tables`, which makes the typo
//!   search about twice as fast for a holder of the keys that checks many pastes (the
//!   activation page); about 2 KB of wasm and 40 KB of memory per key.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

/// A fixed reason's words: the text with the `messages` feature, an empty string without it
/// (see [`words!`]).
macro_rules! said {
    ($text:literal) => {
        if cfg!(feature = "messages") {
            $text
        } else {
            ""
        }
    };
}

/// `format!` for the words of a message or reason. Without the `messages` feature (the
/// activation page, which words every message itself, in two languages, from the stable
/// codes and structured values) it makes an empty string and none of the English sentences
/// are compiled in; the `format!` in the dead branch keeps the arguments type-checked.
macro_rules! words {
    ($($arg:tt)*) => {{
        #[cfg(feature = "messages")]
        let words = alloc::format!($($arg)*);
        #[cfg(not(feature = "messages"))]
        let words = {
            if false {
                drop(alloc::format!($($arg)*));
            }
            alloc::string::String::new()
        };
        words
    }};
}

mod artifact;
mod authcode;
pub mod binding;
mod cert;
pub mod codes;
#[cfg(feature = "correction-tables")]
mod corrections;
mod deactivation;
pub mod error;
pub mod eval;
pub mod facts;
pub mod hwid;
mod key_id;
pub mod keys;
mod kind;
pub mod limits;
mod pem;
pub mod raw;
mod request;
mod signed;
pub mod state;
mod sysid;
pub mod text;
pub mod time;
mod update;
mod util;
mod wire;

pub use artifact::{verdict, Artifact, Verdict};
pub use authcode::{AuthorizationCode, LicenseId, LicenseTerms};
pub use cert::ActivationCertificate;
pub use codes::{ErrorCode, StatusCode, VerdictCode};
pub use deactivation::DeactivationCode;
pub use error::Error;
pub use eval::{Context, Status};
pub use facts::MachineFacts;
pub use hwid::HardwareId;
pub use keys::{MerchantKey, PublicKey, TrustedKeys};
pub use kind::Kind;
pub use request::ActivationRequest;
pub use state::LicenseState;
pub use sysid::SystemIdCode;
pub use time::Timestamp;
pub use update::{SignedUpdate, UpdateAction};
