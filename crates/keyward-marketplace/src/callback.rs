//! License 2.0 callbacks: what the marketplace POSTs to the merchant when a license is renewed,
//! frozen, unfrozen or released, how it is authenticated, and the answer it expects.
//!
//! Authentication: the URL carries `signature`, `timestamp` (milliseconds since the epoch; a
//! 10-digit value is taken as seconds, since some guides say seconds) and `nonce`. With the key
//! of this interface:
//!
//! ```text
//! bodyDigest       = lower(hex(HMAC-SHA256(key, raw body)))
//! canonicalRequest = key + nonce + timestamp + bodyDigest
//! signature        = hex(HMAC-SHA256(key, canonicalRequest))   (compared ignoring case)
//! ```
//!
//! The caller keeps the nonces it has seen (for at least [`MAX_SKEW_MS`] each side) and
//! refuses a repeat: this module has no memory.

use keyward_core::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use crate::crypto::{eq_ignore_case_ct, hmac_sha256};
use crate::AccessKey;

/// How far a callback's `timestamp` may be from the merchant's clock, in milliseconds.
pub const MAX_SKEW_MS: u64 = 60_000;
/// Longest nonce accepted (the guides give no limit; real ones are short).
pub const MAX_NONCE_LEN: usize = 128;
/// Largest callback body read, in bytes (real ones are a few hundred).
pub const MAX_BODY: usize = 16 * 1024;
/// Longest marketplace license code (`PL…`).
pub const MAX_LICENSE_LEN: usize = 64;

/// The authentication parameters of one call, as received in the URL.
#[derive(Clone, Copy, Debug)]
pub struct Auth<'a> {
    /// `signature`.
    pub signature: &'a str,
    /// `timestamp`, exactly as sent (it is signed as text).
    pub timestamp: &'a str,
    /// `nonce`.
    pub nonce: &'a str,
}

/// A call that passed authentication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticated {
    /// Its nonce: refuse it if seen before.
    pub nonce: String,
    /// Its time, in milliseconds since the epoch.
    pub timestamp_ms: u64,
    /// Which configured key matched: 0 for the current one, 1 for the previous (rotation).
    pub key_index: usize,
}

/// Why a callback was not authenticated (all answered `000001`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// A parameter is missing or empty.
    Missing(&'static str),
    /// `timestamp` is not a number of seconds or milliseconds.
    BadTimestamp,
    /// `timestamp` is more than [`MAX_SKEW_MS`] from now.
    Stale {
        /// How far off it is, in milliseconds.
        skew_ms: u64,
    },
    /// `nonce` is too long or has characters other than printable ASCII.
    BadNonce,
    /// No configured key gives this signature.
    BadSignature,
    /// No key is configured for this interface.
    NoKey,
}

impl core::fmt::Display for AuthError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AuthError::Missing(p) => write!(f, "the URL parameter `{p}` is missing"),
            AuthError::BadTimestamp => f.write_str("`timestamp` is not a time in milliseconds"),
            AuthError::Stale { skew_ms } => write!(
                f,
                "`timestamp` is {} s away from this server's clock (at most {} s allowed)",
                skew_ms / 1000,
                MAX_SKEW_MS / 1000
            ),
            AuthError::BadNonce => f.write_str("`nonce` is too long or not printable ASCII"),
            AuthError::BadSignature => {
                f.write_str("`signature` does not match the body under any configured key")
            }
            AuthError::NoKey => f.write_str("no key is configured for this interface"),
        }
    }
}

impl std::error::Error for AuthError {}

/// Reads a `timestamp` parameter: milliseconds, or seconds when it is below 10^11 (which as
/// milliseconds would be in 1973, and as seconds is after the year 5000).
pub fn timestamp_ms(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 16 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = text.parse().ok()?;
    if n < 100_000_000_000 {
        n.checked_mul(1000)
    } else {
        Some(n)
    }
}

/// The signature the marketplace computes for a call (lower-case hex).
pub fn sign(key: &AccessKey, nonce: &str, timestamp: &str, body: &[u8]) -> String {
    let k = key.expose().as_bytes();
    let body_digest = keyward_core::raw::hex(&hmac_sha256(k, body));
    let canonical = format!("{}{nonce}{timestamp}{body_digest}", key.expose());
    keyward_core::raw::hex(&hmac_sha256(k, canonical.as_bytes()))
}

/// Authenticates a callback against the configured keys (current first, then the previous
/// one during a rotation). `now_ms` is the merchant's clock. The nonce is checked for form
/// only: the caller refuses a repeat.
pub fn authenticate(
    keys: &[AccessKey],
    auth: &Auth<'_>,
    body: &[u8],
    now_ms: u64,
) -> Result<Authenticated, AuthError> {
    for (value, name) in [
        (auth.signature, "signature"),
        (auth.timestamp, "timestamp"),
        (auth.nonce, "nonce"),
    ] {
        if value.is_empty() {
            return Err(AuthError::Missing(name));
        }
    }
    if auth.nonce.len() > MAX_NONCE_LEN || !auth.nonce.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AuthError::BadNonce);
    }
    let ts = timestamp_ms(auth.timestamp).ok_or(AuthError::BadTimestamp)?;
    let skew_ms = ts.abs_diff(now_ms);
    if skew_ms > MAX_SKEW_MS {
        return Err(AuthError::Stale { skew_ms });
    }
    let keys: Vec<&AccessKey> = keys.iter().filter(|k| !k.is_empty()).collect();
    if keys.is_empty() {
        return Err(AuthError::NoKey);
    }
    // Every key is tried (no early exit), so timing does not tell which one matched.
    let mut matched = None;
    for (i, key) in keys.iter().enumerate() {
        let expected = sign(key, auth.nonce, auth.timestamp, body);
        if eq_ignore_case_ct(&expected, auth.signature) && matched.is_none() {
            matched = Some(i);
        }
    }
    let key_index = matched.ok_or(AuthError::BadSignature)?;
    Ok(Authenticated {
        nonce: auth.nonce.to_owned(),
        timestamp_ms: ts,
        key_index,
    })
}

/// The result codes of License 2.0 callbacks: only these exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResultCode {
    /// `000000`: success.
    Success,
    /// `000001`: authentication failed.
    AuthenticationFailed,
    /// `000002`: invalid parameters.
    InvalidParameters,
    /// `000003`: authorization code not found.
    LicenseNotFound,
    /// `000004`: still processing.
    Processing,
    /// `000005`: internal error.
    InternalError,
}

impl ResultCode {
    /// Every code, in order.
    pub const ALL: [ResultCode; 6] = [
        ResultCode::Success,
        ResultCode::AuthenticationFailed,
        ResultCode::InvalidParameters,
        ResultCode::LicenseNotFound,
        ResultCode::Processing,
        ResultCode::InternalError,
    ];

    /// The code as the marketplace reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            ResultCode::Success => "000000",
            ResultCode::AuthenticationFailed => "000001",
            ResultCode::InvalidParameters => "000002",
            ResultCode::LicenseNotFound => "000003",
            ResultCode::Processing => "000004",
            ResultCode::InternalError => "000005",
        }
    }

    /// The answer's body: `{"resultCode": …, "resultMsg": …}`.
    pub fn answer(self, message: &str) -> String {
        serde_json::json!({ "resultCode": self.as_str(), "resultMsg": message }).to_string()
    }
}

/// Why `refreshLicenseCode` was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshScene {
    /// `RENEWAL`: the buyer renewed; the expiry moves later.
    Renewal,
    /// `UNSUBSCRIBE_RENEWAL_PERIOD`: the buyer cancelled a renewal period; the expiry moves
    /// earlier.
    UnsubscribeRenewalPeriod,
}

/// FREEZE or UNFREEZE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusChange {
    /// `FREEZE`: stop the license (at most 15 days; the buyer's data is kept).
    Freeze,
    /// `UNFREEZE`: let it work again.
    Unfreeze,
}

/// One callback, by its `activity`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Callback {
    /// `refreshLicenseCode`: a new expiry.
    Refresh {
        /// The marketplace's license code.
        license: String,
        /// Why.
        scene: RefreshScene,
        /// The order (new on every call).
        order_id: String,
        /// The order line, when given.
        order_line_id: Option<String>,
        /// The marketplace product, when given.
        product_id: Option<String>,
        /// The new expiry.
        expire_time: Timestamp,
    },
    /// `updateLicenseCodeStatus`: freeze or unfreeze.
    UpdateStatus {
        /// The marketplace's license code.
        license: String,
        /// Which.
        status: StatusChange,
    },
    /// `releaseLicenseCode`: the license ends; its seats are freed.
    Release {
        /// The marketplace's license code.
        license: String,
        /// The order, when given.
        order_id: Option<String>,
        /// The order line, when given.
        order_line_id: Option<String>,
    },
}

impl Callback {
    /// The marketplace license code the call is about.
    pub fn license(&self) -> &str {
        match self {
            Callback::Refresh { license, .. }
            | Callback::UpdateStatus { license, .. }
            | Callback::Release { license, .. } => license,
        }
    }

    /// The `activity` name.
    pub fn activity(&self) -> &'static str {
        match self {
            Callback::Refresh { .. } => "refreshLicenseCode",
            Callback::UpdateStatus { .. } => "updateLicenseCodeStatus",
            Callback::Release { .. } => "releaseLicenseCode",
        }
    }

    /// A key that is the same for every delivery of the same call and different for
    /// different calls: a retry carries a new nonce and timestamp but the same body fields.
    /// For FREEZE / UNFREEZE the key names the state asked for: the ledger applies one only
    /// when it changes the license's state and is newer (by its `timestamp`) than the last
    /// status change applied, so duplicates have one effect and late arrivals none.
    pub fn idempotency_key(&self) -> String {
        match self {
            Callback::Refresh {
                license,
                scene,
                order_id,
                expire_time,
                ..
            } => format!(
                "refresh:{license}:{order_id}:{scene:?}:{}",
                expire_time.secs()
            ),
            Callback::UpdateStatus { license, status } => format!("status:{license}:{status:?}"),
            Callback::Release { license, .. } => format!("release:{license}"),
        }
    }
}

/// A parsed callback body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackRequest {
    /// What it asks.
    pub callback: Callback,
    /// `testFlag=1`: a probe with dummy values; answer `000000` and change nothing.
    pub test: bool,
}

/// Why a body is not a callback this merchant understands (answered `000002`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidCallback(pub String);

impl core::fmt::Display for InvalidCallback {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidCallback {}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    activity: Option<Value>,
    scene: Option<Value>,
    order_id: Option<Value>,
    order_line_id: Option<Value>,
    license: Option<Value>,
    product_id: Option<Value>,
    expire_time: Option<Value>,
    status: Option<Value>,
    test_flag: Option<Value>,
}

/// A field as text: strings as they are, numbers written out (some senders send numbers).
fn text(v: &Option<Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// Whether a `testFlag` value says "test" (`1`, `"1"`, `true`).
pub fn is_test_flag(v: &Option<Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        other => text(other).is_some_and(|t| t == "1" || t.eq_ignore_ascii_case("true")),
    }
}

/// Reads a callback body (JSON). A probe (`testFlag=1`) may carry dummy values: its fields
/// are read leniently, and [`CallbackRequest::test`] says so.
pub fn parse(body: &[u8]) -> Result<CallbackRequest, InvalidCallback> {
    let bad = |m: &str| InvalidCallback(m.to_owned());
    if body.len() > MAX_BODY {
        return Err(bad("the body is larger than any callback"));
    }
    let raw: Raw = serde_json::from_slice(body)
        .map_err(|e| InvalidCallback(format!("the body is not a JSON object: {e}")))?;
    let test = is_test_flag(&raw.test_flag);
    let activity = text(&raw.activity).ok_or_else(|| bad("`activity` is missing"))?;
    let license = text(&raw.license);
    let license = match license {
        Some(l) if l.len() <= MAX_LICENSE_LEN => l,
        Some(_) => return Err(bad("`license` is longer than 64 characters")),
        None if test => String::new(),
        None => return Err(bad("`license` is missing")),
    };
    let callback = match activity.as_str() {
        "refreshLicenseCode" => {
            let scene = match text(&raw.scene).as_deref() {
                Some("RENEWAL") => RefreshScene::Renewal,
                Some("UNSUBSCRIBE_RENEWAL_PERIOD") => RefreshScene::UnsubscribeRenewalPeriod,
                _ if test => RefreshScene::Renewal,
                Some(_) => {
                    return Err(bad(
                        "`scene` is neither RENEWAL nor UNSUBSCRIBE_RENEWAL_PERIOD",
                    ))
                }
                None => return Err(bad("`scene` is missing")),
            };
            let expire_time =
                match text(&raw.expire_time).and_then(|t| crate::parse_compact_time(&t)) {
                    Some(t) => t,
                    None if test => Timestamp(0),
                    None => return Err(bad("`expireTime` is missing or not yyyyMMddHHmmss")),
                };
            let order_id = match text(&raw.order_id) {
                Some(o) => o,
                None if test => String::new(),
                None => return Err(bad("`orderId` is missing")),
            };
            Callback::Refresh {
                license,
                scene,
                order_id,
                order_line_id: text(&raw.order_line_id),
                product_id: text(&raw.product_id),
                expire_time,
            }
        }
        "updateLicenseCodeStatus" => {
            let status = match text(&raw.status).as_deref() {
                Some("FREEZE") => StatusChange::Freeze,
                Some("UNFREEZE") => StatusChange::Unfreeze,
                _ if test => StatusChange::Freeze,
                _ => return Err(bad("`status` is neither FREEZE nor UNFREEZE")),
            };
            Callback::UpdateStatus { license, status }
        }
        "releaseLicenseCode" => Callback::Release {
            license,
            order_id: text(&raw.order_id),
            order_line_id: text(&raw.order_line_id),
        },
        _ => {
            return Err(InvalidCallback(format!(
                "unknown activity {activity:?} (expected refreshLicenseCode, \
                 updateLicenseCodeStatus or releaseLicenseCode)"
            )))
        }
    };
    Ok(CallbackRequest { callback, test })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_764_518_400_000;

    fn key() -> AccessKey {
        AccessKey::new("callback-key")
    }

    fn signed(body: &[u8], nonce: &str, ts: &str) -> String {
        sign(&key(), nonce, ts, body)
    }

    #[test]
    fn the_scheme_is_the_documented_one() {
        // Recomputed by hand from the documented formula, independently of `sign`.
        let body = br#"{"activity":"releaseLicenseCode","license":"PL1"}"#;
        let k = b"callback-key";
        let digest = keyward_core::raw::hex(&hmac_sha256(k, body));
        let canonical = format!("callback-keyabc{NOW}{digest}");
        let expected = keyward_core::raw::hex(&hmac_sha256(k, canonical.as_bytes()));
        assert_eq!(sign(&key(), "abc", &NOW.to_string(), body), expected);
    }

    #[test]
    fn accepts_good_calls_in_ms_and_seconds_any_case() {
        let body = br#"{"activity":"releaseLicenseCode","license":"PL1"}"#;
        let ts = NOW.to_string();
        let sig = signed(body, "n1", &ts).to_uppercase();
        let auth = Auth {
            signature: &sig,
            timestamp: &ts,
            nonce: "n1",
        };
        assert_eq!(
            authenticate(&[key()], &auth, body, NOW)
                .unwrap()
                .timestamp_ms,
            NOW
        );
        let secs = (NOW / 1000).to_string();
        let sig = signed(body, "n2", &secs);
        let auth = Auth {
            signature: &sig,
            timestamp: &secs,
            nonce: "n2",
        };
        assert_eq!(
            authenticate(&[key()], &auth, body, NOW + 500)
                .unwrap()
                .timestamp_ms,
            NOW
        );
    }

    #[test]
    fn refuses_every_failure_class() {
        let body = br#"{"activity":"releaseLicenseCode","license":"PL1"}"#;
        let ts = NOW.to_string();
        let sig = signed(body, "n1", &ts);
        let ok = Auth {
            signature: &sig,
            timestamp: &ts,
            nonce: "n1",
        };
        // Another body, another nonce, another key, another time, missing parts.
        assert_eq!(
            authenticate(&[key()], &ok, b"{}", NOW),
            Err(AuthError::BadSignature)
        );
        let other_nonce = Auth { nonce: "n2", ..ok };
        assert_eq!(
            authenticate(&[key()], &other_nonce, body, NOW),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            authenticate(&[AccessKey::new("other")], &ok, body, NOW),
            Err(AuthError::BadSignature)
        );
        assert!(matches!(
            authenticate(&[key()], &ok, body, NOW + 60_001),
            Err(AuthError::Stale { .. })
        ));
        assert!(matches!(
            authenticate(&[key()], &ok, body, NOW - 60_001),
            Err(AuthError::Stale { .. })
        ));
        assert!(authenticate(&[key()], &ok, body, NOW + 60_000).is_ok());
        for (s, t, n, missing) in [
            ("", ts.as_str(), "n1", "signature"),
            (sig.as_str(), "", "n1", "timestamp"),
            (sig.as_str(), ts.as_str(), "", "nonce"),
        ] {
            let a = Auth {
                signature: s,
                timestamp: t,
                nonce: n,
            };
            assert_eq!(
                authenticate(&[key()], &a, body, NOW),
                Err(AuthError::Missing(missing))
            );
        }
        let bad_ts = Auth {
            timestamp: "17645184000x",
            ..ok
        };
        assert_eq!(
            authenticate(&[key()], &bad_ts, body, NOW),
            Err(AuthError::BadTimestamp)
        );
        let long = "n".repeat(MAX_NONCE_LEN + 1);
        let bad_nonce = Auth { nonce: &long, ..ok };
        assert_eq!(
            authenticate(&[key()], &bad_nonce, body, NOW),
            Err(AuthError::BadNonce)
        );
        assert_eq!(authenticate(&[], &ok, body, NOW), Err(AuthError::NoKey));
    }

    #[test]
    fn the_previous_key_works_during_a_rotation() {
        let body = b"{}";
        let ts = NOW.to_string();
        let sig = signed(body, "n", &ts);
        let auth = Auth {
            signature: &sig,
            timestamp: &ts,
            nonce: "n",
        };
        let keys = [AccessKey::new("new-key"), key()];
        assert_eq!(authenticate(&keys, &auth, body, NOW).unwrap().key_index, 1);
    }

    #[test]
    fn parses_each_activity() {
        let r = parse(br#"{"activity":"refreshLicenseCode","scene":"UNSUBSCRIBE_RENEWAL_PERIOD","orderId":"O2","orderLineId":"L2","license":"PL9","expireTime":"20271201000000","testFlag":"0"}"#).unwrap();
        assert!(!r.test);
        assert_eq!(
            r.callback,
            Callback::Refresh {
                license: "PL9".into(),
                scene: RefreshScene::UnsubscribeRenewalPeriod,
                order_id: "O2".into(),
                order_line_id: Some("L2".into()),
                product_id: None,
                expire_time: Timestamp::parse("2027-12-01").unwrap(),
            }
        );
        let r = parse(br#"{"activity":"updateLicenseCodeStatus","license":"PL9","status":"UNFREEZE","testFlag":0}"#).unwrap();
        assert_eq!(
            r.callback,
            Callback::UpdateStatus {
                license: "PL9".into(),
                status: StatusChange::Unfreeze
            }
        );
        let r = parse(br#"{"activity":"releaseLicenseCode","license":"PL9"}"#).unwrap();
        assert_eq!(r.callback.activity(), "releaseLicenseCode");
    }

    #[test]
    fn probes_are_lenient_and_marked() {
        let r = parse(br#"{"activity":"refreshLicenseCode","testFlag":"1"}"#).unwrap();
        assert!(r.test);
        let r = parse(
            br#"{"activity":"updateLicenseCodeStatus","license":"test","status":"x","testFlag":1}"#,
        )
        .unwrap();
        assert!(r.test);
    }

    #[test]
    fn refuses_bad_bodies_with_a_reason() {
        for body in [
            &b"not json"[..],
            br#"[1,2]"#,
            br#"{"license":"PL1"}"#,
            br#"{"activity":"deleteEverything","license":"PL1"}"#,
            br#"{"activity":"refreshLicenseCode","license":"PL1","scene":"RENEWAL","orderId":"O"}"#,
            br#"{"activity":"refreshLicenseCode","license":"PL1","scene":"RENEWAL","orderId":"O","expireTime":"2027-12-01"}"#,
            br#"{"activity":"updateLicenseCodeStatus","license":"PL1","status":"DELETE"}"#,
            br#"{"activity":"releaseLicenseCode"}"#,
        ] {
            let err = parse(body).unwrap_err();
            assert!(!err.0.is_empty());
        }
        let long = format!(
            r#"{{"activity":"releaseLicenseCode","license":"{}"}}"#,
            "P".repeat(65)
        );
        assert!(parse(long.as_bytes()).is_err());
        assert!(parse(&vec![b' '; MAX_BODY + 1]).is_err());
    }

    #[test]
    fn idempotency_keys_separate_calls_and_merge_deliveries() {
        let a = parse(br#"{"activity":"refreshLicenseCode","scene":"RENEWAL","orderId":"O1","license":"PL1","expireTime":"20271201000000"}"#).unwrap();
        let b = parse(br#"{"license":"PL1","activity":"refreshLicenseCode","scene":"RENEWAL","orderId":"O1","expireTime":"20271201000000"}"#).unwrap();
        let c = parse(br#"{"activity":"refreshLicenseCode","scene":"RENEWAL","orderId":"O2","license":"PL1","expireTime":"20281201000000"}"#).unwrap();
        assert_eq!(a.callback.idempotency_key(), b.callback.idempotency_key());
        assert_ne!(a.callback.idempotency_key(), c.callback.idempotency_key());
    }

    #[test]
    fn result_codes_are_the_six_documented() {
        let codes: Vec<&str> = ResultCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            codes,
            ["000000", "000001", "000002", "000003", "000004", "000005"]
        );
        let v: Value = serde_json::from_str(&ResultCode::Success.answer("ok")).unwrap();
        assert_eq!(v["resultCode"], "000000");
        assert_eq!(v["resultMsg"], "ok");
    }
}
