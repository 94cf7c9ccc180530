//! License 1.0 activities: the marketplace GETs one merchant URL with `activity`
//! (`getLicense`, `refreshLicense`, `expireLicense`, `releaseLicense`), `timeStamp`
//! (UTC `yyyyMMddHHmmssSSS`) and `authToken`:
//!
//! ```text
//! params    = every query parameter but authToken, URL-decoded, sorted by name, k=v&k=v
//! authToken = base64(HMAC-SHA256(key = accessKey + timeStamp, data = params))
//! ```
//!
//! Every answer carries `Body-Sign: sign_type="HMAC-SHA256", signature="<base64 of
//! HMAC-SHA256(accessKey, body)>"`.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use keyward_core::Timestamp;

use crate::crypto::{eq_ct, hmac_sha256};
use crate::AccessKey;

/// How far `timeStamp` may be from the merchant's clock (seconds). The guide sets no window;
/// one is kept so that a captured URL cannot be replayed later. Configurable by the caller
/// through [`authenticate`]'s `max_skew_secs`.
pub const DEFAULT_MAX_SKEW_SECS: u64 = 300;
/// Longest query string read.
pub const MAX_QUERY: usize = 8 * 1024;
/// Longest `instanceId` the marketplace stores.
pub const MAX_INSTANCE_ID: usize = 64;

/// The query parameters of one call, URL-decoded, in the order received.
pub type Params = Vec<(String, String)>;

/// Decodes a raw query string (`a=1&b=x%20y`).
pub fn parse_query(query: &str) -> Result<Params, InvalidCall> {
    if query.len() > MAX_QUERY {
        return Err(InvalidCall::Parameters(
            "the query string is too long".into(),
        ));
    }
    let params: Params = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err(InvalidCall::Parameters("a parameter is repeated".into()));
    }
    Ok(params)
}

/// The `authToken` of a call whose parameters (without `authToken`) are `params`.
pub fn auth_token(key: &AccessKey, time_stamp: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> =
        params.iter().filter(|(k, _)| k != "authToken").collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let data = sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let signing_key = format!("{}{time_stamp}", key.expose());
    BASE64.encode(hmac_sha256(signing_key.as_bytes(), data.as_bytes()))
}

/// The `Body-Sign` header of an answer.
pub fn body_sign(key: &AccessKey, body: &[u8]) -> String {
    let sig = BASE64.encode(hmac_sha256(key.expose().as_bytes(), body));
    format!("sign_type=\"HMAC-SHA256\", signature=\"{sig}\"")
}

/// Checks a `Body-Sign` header against a body (what the marketplace does; the stand-in uses
/// it).
pub fn verify_body_sign(key: &AccessKey, body: &[u8], header: &str) -> bool {
    eq_ct(body_sign(key, body).as_bytes(), header.trim().as_bytes())
}

/// Reads `timeStamp` (`yyyyMMddHHmmssSSS`, UTC) to whole seconds.
pub fn parse_time_stamp(text: &str) -> Option<Timestamp> {
    if text.len() != 17 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    crate::parse_compact_time(text.get(..14)?)
}

/// Writes `timeStamp` for a time (milliseconds `000`).
pub fn format_time_stamp(t: Timestamp) -> String {
    format!("{}000", crate::compact_time(t))
}

/// Why a call was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidCall {
    /// `authToken` or `timeStamp` wrong, missing or too old: `000001`.
    Authentication(String),
    /// A parameter missing or malformed, or an unknown activity: `000002`.
    Parameters(String),
}

impl InvalidCall {
    /// The result code to answer.
    pub fn result_code(&self) -> ResultCode {
        match self {
            InvalidCall::Authentication(_) => ResultCode::AuthenticationFailed,
            InvalidCall::Parameters(_) => ResultCode::InvalidParameters,
        }
    }
}

impl core::fmt::Display for InvalidCall {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            InvalidCall::Authentication(m) | InvalidCall::Parameters(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for InvalidCall {}

/// Authenticates a call: `authToken` under one of `keys` (current, then previous), and
/// `timeStamp` within `max_skew_secs` of `now`.
pub fn authenticate(
    keys: &[AccessKey],
    params: &[(String, String)],
    now: Timestamp,
    max_skew_secs: u64,
) -> Result<(), InvalidCall> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let auth = |m: &str| InvalidCall::Authentication(m.to_owned());
    let token = get("authToken").ok_or_else(|| auth("`authToken` is missing"))?;
    let ts_text = get("timeStamp").ok_or_else(|| auth("`timeStamp` is missing"))?;
    let ts =
        parse_time_stamp(ts_text).ok_or_else(|| auth("`timeStamp` is not yyyyMMddHHmmssSSS"))?;
    if ts.secs().abs_diff(now.secs()) > max_skew_secs {
        return Err(auth("`timeStamp` is too far from this server's clock"));
    }
    let mut ok = false;
    for key in keys.iter().filter(|k| !k.is_empty()) {
        ok |= eq_ct(
            auth_token(key, ts_text, params).as_bytes(),
            token.as_bytes(),
        );
    }
    if ok {
        Ok(())
    } else {
        Err(auth("`authToken` does not match under any configured key"))
    }
}

/// License 1.0 result codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResultCode {
    /// `000000`: success.
    Success,
    /// `000001`: authentication failed.
    AuthenticationFailed,
    /// `000002`: invalid parameters.
    InvalidParameters,
    /// `000003`: instance not found.
    InstanceNotFound,
    /// `000004`: still processing.
    Processing,
    /// `000005`: internal error.
    InternalError,
    /// `000100`: no instance resources available (new purchases only).
    NoResources,
}

impl ResultCode {
    /// The code as the marketplace reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            ResultCode::Success => "000000",
            ResultCode::AuthenticationFailed => "000001",
            ResultCode::InvalidParameters => "000002",
            ResultCode::InstanceNotFound => "000003",
            ResultCode::Processing => "000004",
            ResultCode::InternalError => "000005",
            ResultCode::NoResources => "000100",
        }
    }
}

/// One License 1.0 activity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Activity {
    /// `getLicense`: a new purchase; answer an `instanceId` and a license (keyward's
    /// authorization code), the same for every retry of the same `orderId`.
    GetLicense {
        /// The buyer's account.
        customer_id: String,
        /// The buyer's name, when given.
        customer_name: Option<String>,
        /// New on every call; the first one is the suggested `instanceId`.
        business_id: String,
        /// The order: the idempotency key.
        order_id: String,
        /// The SKU bought, when given.
        sku_code: Option<String>,
        /// The marketplace product.
        product_id: String,
        /// The end of the period bought, when given (absent: perpetual).
        expire_time: Option<Timestamp>,
        /// `year` / `month`, when given.
        period_type: Option<String>,
        /// Quantity bought, when given.
        amount: Option<u32>,
    },
    /// `refreshLicense`: a renewal.
    RefreshLicense {
        /// The renewal order.
        order_id: String,
        /// The instance renewed.
        instance_id: String,
        /// The new expiry.
        expire_time: Timestamp,
    },
    /// `expireLicense`: the period ended; freeze.
    ExpireLicense {
        /// The instance.
        instance_id: String,
        /// The order, when given.
        order_id: Option<String>,
    },
    /// `releaseLicense`: the license ends.
    ReleaseLicense {
        /// The order.
        order_id: String,
        /// The instance.
        instance_id: String,
    },
}

/// A parsed, authenticated call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// What it asks.
    pub activity: Activity,
    /// `testFlag=1`: a test purchase or probe.
    pub test: bool,
}

/// Reads the parameters of a call (after [`authenticate`]).
pub fn parse(params: &[(String, String)]) -> Result<Call, InvalidCall> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let need = |name: &str| {
        get(name).ok_or_else(|| InvalidCall::Parameters(format!("`{name}` is missing")))
    };
    let time = |name: &str, v: String| {
        crate::parse_compact_time(&v)
            .ok_or_else(|| InvalidCall::Parameters(format!("`{name}` is not yyyyMMddHHmmss")))
    };
    let test = get("testFlag").is_some_and(|t| t == "1");
    let activity = match need("activity")?.as_str() {
        "getLicense" => Activity::GetLicense {
            customer_id: need("customerId")?,
            customer_name: get("customerName"),
            business_id: need("businessId")?,
            order_id: need("orderId")?,
            sku_code: get("skuCode"),
            product_id: need("productId")?,
            expire_time: get("expireTime")
                .map(|v| time("expireTime", v))
                .transpose()?,
            period_type: get("periodType"),
            amount: get("amount")
                .map(|a| {
                    a.parse::<u32>().map_err(|_| {
                        InvalidCall::Parameters("`amount` is not a whole number".into())
                    })
                })
                .transpose()?,
        },
        "refreshLicense" => Activity::RefreshLicense {
            order_id: need("orderId")?,
            instance_id: need("instanceId")?,
            expire_time: time("expireTime", need("expireTime")?)?,
        },
        "expireLicense" => Activity::ExpireLicense {
            instance_id: need("instanceId")?,
            order_id: get("orderId"),
        },
        "releaseLicense" => Activity::ReleaseLicense {
            order_id: need("orderId")?,
            instance_id: need("instanceId")?,
        },
        other => {
            return Err(InvalidCall::Parameters(format!(
                "unknown activity {other:?} (expected getLicense, refreshLicense, \
                 expireLicense or releaseLicense)"
            )))
        }
    };
    Ok(Call { activity, test })
}

/// The answer body: `{"resultCode", "resultMsg"}` plus, for `getLicense`, `instanceId` and
/// `license`.
pub fn answer(code: ResultCode, message: &str, issued: Option<(&str, &str)>) -> String {
    let mut v = serde_json::json!({ "resultCode": code.as_str(), "resultMsg": message });
    if let Some((instance_id, license)) = issued {
        v["instanceId"] = instance_id.into();
        v["license"] = license.into();
    }
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> AccessKey {
        AccessKey::new("v1-key")
    }

    fn now() -> Timestamp {
        Timestamp::parse("2026-11-30T08:00:00Z").unwrap()
    }

    fn call(pairs: &[(&str, &str)]) -> Params {
        let ts = format_time_stamp(now());
        let mut params: Params = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        params.push(("timeStamp".into(), ts.clone()));
        let token = auth_token(&key(), &ts, &params);
        params.push(("authToken".into(), token));
        params
    }

    #[test]
    fn auth_token_is_the_documented_formula() {
        let params: Params = vec![
            ("b".into(), "2 x".into()),
            ("a".into(), "1".into()),
            ("authToken".into(), "ignored".into()),
        ];
        let expected = BASE64.encode(hmac_sha256(b"v1-key20261130080000000", b"a=1&b=2 x"));
        assert_eq!(auth_token(&key(), "20261130080000000", &params), expected);
    }

    #[test]
    fn a_signed_get_license_is_accepted_and_read() {
        let params = call(&[
            ("activity", "getLicense"),
            ("customerId", "C1"),
            ("businessId", "B1"),
            ("orderId", "O1"),
            ("productId", "P1"),
            ("skuCode", "S1"),
            ("expireTime", "20271130000000"),
            ("amount", "3"),
        ]);
        authenticate(&[key()], &params, now(), DEFAULT_MAX_SKEW_SECS).unwrap();
        let c = parse(&params).unwrap();
        assert!(!c.test);
        match c.activity {
            Activity::GetLicense {
                order_id,
                amount,
                expire_time,
                ..
            } => {
                assert_eq!(order_id, "O1");
                assert_eq!(amount, Some(3));
                assert_eq!(expire_time, Timestamp::parse("2027-11-30"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_query_is_url_decoded_before_signing() {
        let ts = format_time_stamp(now());
        let plain: Params = vec![
            ("activity".into(), "expireLicense".into()),
            ("instanceId".into(), "i 1/é".into()),
            ("timeStamp".into(), ts.clone()),
        ];
        let token = auth_token(&key(), &ts, &plain);
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(plain.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .append_pair("authToken", &token)
            .finish();
        let params = parse_query(&query).unwrap();
        authenticate(&[key()], &params, now(), DEFAULT_MAX_SKEW_SECS).unwrap();
    }

    #[test]
    fn refuses_bad_tokens_times_and_parameters() {
        let mut params = call(&[("activity", "expireLicense"), ("instanceId", "I1")]);
        assert!(authenticate(&[AccessKey::new("x")], &params, now(), 300).is_err());
        assert!(authenticate(&[key()], &params, now().add_secs(301), 300).is_err());
        params[1].1 = "I2".into(); // altered after signing
        assert!(matches!(
            authenticate(&[key()], &params, now(), 300),
            Err(InvalidCall::Authentication(_))
        ));
        let no_token: Params = vec![("activity".into(), "x".into())];
        assert!(authenticate(&[key()], &no_token, now(), 300).is_err());
        for pairs in [
            &[("activity", "getLicense"), ("customerId", "C")][..],
            &[
                ("activity", "refreshLicense"),
                ("orderId", "O"),
                ("instanceId", "I"),
                ("expireTime", "soon"),
            ][..],
            &[("activity", "dropTables")][..],
            &[
                ("activity", "getLicense"),
                ("customerId", "C"),
                ("businessId", "B"),
                ("orderId", "O"),
                ("productId", "P"),
                ("amount", "-1"),
            ][..],
        ] {
            let e = parse(&call(pairs)).unwrap_err();
            assert_eq!(e.result_code(), ResultCode::InvalidParameters, "{pairs:?}");
        }
        assert!(parse_query("a=1&a=2").is_err());
    }

    #[test]
    fn body_sign_round_trips_and_detects_changes() {
        let body = answer(ResultCode::Success, "ok", Some(("B1", "KA1-XYZ")));
        let header = body_sign(&key(), body.as_bytes());
        assert!(header.starts_with("sign_type=\"HMAC-SHA256\", signature=\""));
        assert!(verify_body_sign(&key(), body.as_bytes(), &header));
        assert!(!verify_body_sign(&key(), b"{}", &header));
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["instanceId"], "B1");
        assert_eq!(v["license"], "KA1-XYZ");
        assert_eq!(ResultCode::NoResources.as_str(), "000100");
    }
}
