//! # keyward-marketplace
//!
//! The marketplace's side of keyward, for Huawei Cloud KooGallery: everything that crosses
//! the line between the marketplace and the merchant service, and nothing else (no ledger, no
//! HTTP server). `keyward-server` wires it to its ledger and routes.
//!
//! - [`callback`]: License 2.0 callbacks (`refreshLicenseCode`, `updateLicenseCodeStatus`,
//!   `releaseLicenseCode`): their authentication (`signature`, `timestamp`, `nonce`), their
//!   bodies, their result codes.
//! - [`v1`]: License 1.0 activities (`getLicense`, `refreshLicense`, `expireLicense`,
//!   `releaseLicense`): `authToken`, the parameters, `Body-Sign`, their result codes.
//! - [`apig`]: the API gateway's `SDK-HMAC-SHA256` request signing, for the merchant's calls
//!   to the marketplace's open API.
//! - [`openapi`]: the open API's activate and query (heartbeat) bodies and error codes, with
//!   the words a buyer sees for each error; `client` (feature `client`) calls them over
//!   HTTPS with a fallback host, timeouts and retries.
//! - `stand_in` (feature `stand-in`): a stand-in marketplace for tests.
//!
//! The protocol is written from the marketplace's merchant guides (see the project's
//! design notes); where a guide leaves a field's shape open, the choice is made in one place
//! ([`openapi`]) and documented there.
//!
//! ```
//! use keyward_marketplace::{callback, AccessKey};
//!
//! let key = AccessKey::new("interface-key");
//! let body = br#"{"activity":"releaseLicenseCode","license":"PL0001","testFlag":"0"}"#;
//! let now_ms = 1_764_000_000_000;
//! let ts = now_ms.to_string();
//! let signature = callback::sign(&key, "n-1", &ts, body);
//! let auth = callback::Auth { signature: &signature, timestamp: &ts, nonce: "n-1" };
//! let ok = callback::authenticate(&[key], &auth, body, now_ms).unwrap();
//! assert_eq!(ok.nonce, "n-1");
//! let request = callback::parse(body).unwrap();
//! assert!(matches!(request.callback, callback::Callback::Release { .. }));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod apig;
pub mod callback;
#[cfg(feature = "client")]
pub mod client;
mod crypto;
pub mod openapi;
#[cfg(feature = "stand-in")]
pub mod stand_in;
pub mod v1;

pub use crypto::AccessKey;

/// Formats a time as the marketplace writes it: `yyyyMMddHHmmss`, UTC.
pub fn compact_time(t: keyward_core::Timestamp) -> String {
    t.to_rfc3339()
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

/// Reads the marketplace's `yyyyMMddHHmmss` (UTC).
pub fn parse_compact_time(s: &str) -> Option<keyward_core::Timestamp> {
    let s = s.trim();
    (s.len() == 14 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| keyward_core::Timestamp::parse(s))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_time_round_trips() {
        let t = keyward_core::Timestamp::parse("2026-11-30T16:05:09Z").unwrap();
        assert_eq!(compact_time(t), "20261130160509");
        assert_eq!(parse_compact_time("20261130160509"), Some(t));
        for bad in [
            "",
            "2026113016050",
            "2026-11-30",
            "20261330160509",
            "2026113016050x",
        ] {
            assert_eq!(parse_compact_time(bad), None, "{bad:?}");
        }
    }
}
