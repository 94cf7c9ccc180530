//! The marketplace's open API as the merchant service calls it: **activate** a buyer's `PL…`
//! code and **query** (formerly "heartbeat") codes' status, with the answers' error codes
//! and the words a buyer sees for each.
//!
//! Shapes: activate v1 is `POST {base}/api/mkp-openapi-public/global/v1/license/activate`
//! with `{"license", "real_effect_time"?}`; success is `error_code: "92020000"` and
//! `data.license_code_info`, a JSON *string* with `status`, `expire_time`, `product_id`,
//! `order_id`, `amount`. The guides describe the query's answer only as "status ALIVE /
//! EXPIRED / RELEASED with activate and expiry times"; keyward reads it in the same envelope
//! as activate (`data.license_code_info`, or for a batch `data.license_code_info_list`, a list
//! of such objects or strings, each with its `license`). Error codes can arrive with HTTP 200:
//! `error_code` is always read.

use keyward_core::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Path of activate (v1).
pub const ACTIVATE_PATH: &str = "/api/mkp-openapi-public/global/v1/license/activate";
/// Path of query for one code (v1).
pub const QUERY_PATH: &str = "/api/mkp-openapi-public/global/v1/license/heartbeat";
/// Path of query for a batch (v2).
pub const QUERY_BATCH_PATH: &str = "/api/mkp-openapi-public/global/v2/license/heartbeat";
/// Most codes in one batch query.
pub const MAX_BATCH: usize = 100;
/// `error_code` of success.
pub const SUCCESS: &str = "92020000";

/// The marketplace's word for a code's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MarketStatus {
    /// `ALIVE`: in use.
    Alive,
    /// `EXPIRED`: its period ended.
    Expired,
    /// `RELEASED`: ended for good.
    Released,
    /// Something else, kept as sent.
    Other(String),
}

impl MarketStatus {
    fn from_text(s: &str) -> MarketStatus {
        match s {
            "ALIVE" => MarketStatus::Alive,
            "EXPIRED" => MarketStatus::Expired,
            "RELEASED" => MarketStatus::Released,
            other => MarketStatus::Other(other.to_owned()),
        }
    }
}

/// What the marketplace says of one code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LicenseInfo {
    /// The `PL…` code, when the answer names it (batch queries do).
    pub license: Option<String>,
    /// Its state.
    pub status: MarketStatus,
    /// When it expires (an estimate on activate), if it does.
    pub expire_time: Option<Timestamp>,
    /// When it was activated, when given.
    pub activate_time: Option<Timestamp>,
    /// The marketplace product, when given.
    pub product_id: Option<String>,
    /// The order, when given.
    pub order_id: Option<String>,
    /// Quantity, when given.
    pub amount: Option<u32>,
}

/// The body of an activate call.
pub fn activate_body(license: &str, real_effect_time: Option<Timestamp>) -> Vec<u8> {
    let mut v = serde_json::json!({ "license": license });
    if let Some(t) = real_effect_time {
        v["real_effect_time"] = crate::compact_time(t).into();
    }
    v.to_string().into_bytes()
}

/// The body of a query for one code.
pub fn query_body(license: &str) -> Vec<u8> {
    serde_json::json!({ "license": license })
        .to_string()
        .into_bytes()
}

/// The body of a batch query (at most [`MAX_BATCH`] codes).
pub fn query_batch_body(licenses: &[String]) -> Vec<u8> {
    serde_json::json!({ "license_list": licenses })
        .to_string()
        .into_bytes()
}

/// A failed call, as the merchant service sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenApiError {
    /// The marketplace answered with an `error_code` other than success.
    Marketplace {
        /// `error_code`.
        code: String,
        /// `error_msg`, as sent.
        message: String,
    },
    /// An HTTP status other than 2xx, after retries.
    Http(u16),
    /// No answer (connection, timeout), after retries.
    Unreachable(String),
    /// An answer that is not the documented JSON.
    BadAnswer(String),
    /// The configuration cannot work (e.g. a plain-HTTP base URL that is not loopback).
    Config(String),
}

impl OpenApiError {
    /// Whether trying again later may succeed (the buyer is told to retry, the reconciliation
    /// job keeps the code for the next run).
    pub fn is_transient(&self) -> bool {
        match self {
            OpenApiError::Marketplace { code, .. } => code == "92020001",
            OpenApiError::Http(s) => *s >= 500 || *s == 429,
            OpenApiError::Unreachable(_) => true,
            OpenApiError::BadAnswer(_) | OpenApiError::Config(_) => false,
        }
    }

    /// A stable code for programs (the service's JSON errors).
    pub fn code(&self) -> &'static str {
        match self {
            OpenApiError::Marketplace { code, .. } => match code.as_str() {
                "92020004" => "marketplace_not_delivered",
                "92020005" => "marketplace_code_unknown",
                "92020002" => "marketplace_refused",
                _ => "marketplace_unavailable",
            },
            OpenApiError::Http(_) | OpenApiError::Unreachable(_) | OpenApiError::BadAnswer(_) => {
                "marketplace_unavailable"
            }
            OpenApiError::Config(_) => "marketplace_not_configured",
        }
    }

    /// What the buyer is told, in English.
    pub fn buyer_message_en(&self) -> &'static str {
        match self.code() {
            "marketplace_not_delivered" => {
                "The marketplace has not delivered this code to you yet. Accept the delivery \
                 in KooGallery (My purchases → resource details), then try again."
            }
            "marketplace_code_unknown" => {
                "The marketplace does not know this code. Copy the whole PL… code again from \
                 KooGallery (My purchases → resource details)."
            }
            "marketplace_refused" => {
                "The marketplace refused this activation. Contact the merchant's support with \
                 the code."
            }
            "marketplace_not_configured" => {
                "This merchant has not set up marketplace activation yet. Contact the \
                 merchant's support."
            }
            _ => {
                "The marketplace cannot be reached right now. Nothing was used up: try again \
                 in a few minutes."
            }
        }
    }

    /// What the buyer is told, in Chinese.
    pub fn buyer_message_zh(&self) -> &'static str {
        match self.code() {
            "marketplace_not_delivered" => {
                "云商店尚未向您交付此授权码。请先在云商店（我的已购 → 资源详情）确认收货，然后重试。"
            }
            "marketplace_code_unknown" => {
                "云商店不认识此授权码。请从云商店（我的已购 → 资源详情）重新复制完整的 PL… 授权码。"
            }
            "marketplace_refused" => "云商店拒绝了此次激活。请携带授权码联系商家客服。",
            "marketplace_not_configured" => "商家尚未配置云商店激活。请联系商家客服。",
            _ => "暂时无法连接云商店。没有占用任何名额：请几分钟后重试。",
        }
    }
}

impl core::fmt::Display for OpenApiError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            OpenApiError::Marketplace { code, message } => {
                write!(f, "the marketplace answered {code}: {message}")
            }
            OpenApiError::Http(s) => write!(f, "the marketplace answered HTTP {s}"),
            OpenApiError::Unreachable(e) => write!(f, "the marketplace cannot be reached: {e}"),
            OpenApiError::BadAnswer(e) => {
                write!(f, "the marketplace's answer is not understood: {e}")
            }
            OpenApiError::Config(e) => write!(f, "marketplace configuration: {e}"),
        }
    }
}

impl std::error::Error for OpenApiError {}

#[derive(Deserialize)]
struct Envelope {
    error_code: Option<String>,
    error_msg: Option<String>,
    data: Option<Value>,
}

fn field(v: &Value, name: &str) -> Option<String> {
    match v.get(name)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One `license_code_info`: an object, or an object serialised in a string (v1).
fn info(v: &Value) -> Result<LicenseInfo, OpenApiError> {
    let owned;
    let obj = match v {
        Value::String(s) => {
            owned = serde_json::from_str::<Value>(s)
                .map_err(|e| OpenApiError::BadAnswer(format!("license_code_info: {e}")))?;
            &owned
        }
        other => other,
    };
    if !obj.is_object() {
        return Err(OpenApiError::BadAnswer(
            "license_code_info is not an object".into(),
        ));
    }
    let status = field(obj, "status")
        .ok_or_else(|| OpenApiError::BadAnswer("license_code_info has no status".into()))?;
    let time = |name: &str| field(obj, name).and_then(|t| crate::parse_compact_time(&t));
    Ok(LicenseInfo {
        license: field(obj, "license"),
        status: MarketStatus::from_text(&status),
        expire_time: time("expire_time"),
        activate_time: time("activate_time"),
        product_id: field(obj, "product_id"),
        order_id: field(obj, "order_id"),
        amount: field(obj, "amount").and_then(|a| a.parse().ok()),
    })
}

fn envelope(body: &[u8]) -> Result<Value, OpenApiError> {
    let env: Envelope = serde_json::from_slice(body)
        .map_err(|e| OpenApiError::BadAnswer(format!("not JSON: {e}")))?;
    let code = env
        .error_code
        .ok_or_else(|| OpenApiError::BadAnswer("no error_code".into()))?;
    if code != SUCCESS {
        return Err(OpenApiError::Marketplace {
            code,
            message: env.error_msg.unwrap_or_default(),
        });
    }
    Ok(env.data.unwrap_or(Value::Null))
}

/// Reads the answer to activate or to a one-code query. An activate answer without
/// `license_code_info` (v2) gives `None`: query afterwards.
pub fn read_single(body: &[u8]) -> Result<Option<LicenseInfo>, OpenApiError> {
    let data = envelope(body)?;
    data.get("license_code_info").map(info).transpose()
}

/// Reads the answer to a batch query: the codes the marketplace reported on.
pub fn read_batch(body: &[u8]) -> Result<Vec<LicenseInfo>, OpenApiError> {
    let data = envelope(body)?;
    let list = data
        .get("license_code_info_list")
        .and_then(Value::as_array)
        .ok_or_else(|| OpenApiError::BadAnswer("no license_code_info_list".into()))?;
    list.iter().map(info).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_v1_activate_with_its_string_info() {
        let body = br#"{"error_code":"92020000","error_msg":"ok","data":{"license_code_info":"{\"status\":\"ALIVE\",\"expire_time\":\"20271130000000\",\"product_id\":\"P1\",\"order_id\":\"O1\",\"amount\":2}"}}"#;
        let i = read_single(body).unwrap().unwrap();
        assert_eq!(i.status, MarketStatus::Alive);
        assert_eq!(i.expire_time, Timestamp::parse("2027-11-30"));
        assert_eq!(i.amount, Some(2));
        assert_eq!(
            read_single(br#"{"error_code":"92020000","data":{}}"#).unwrap(),
            None
        );
    }

    #[test]
    fn error_codes_inside_http_200_are_errors_with_buyer_words() {
        for (code, stable, transient) in [
            ("92020004", "marketplace_not_delivered", false),
            ("92020005", "marketplace_code_unknown", false),
            ("92020001", "marketplace_unavailable", true),
            ("92020002", "marketplace_refused", false),
        ] {
            let body = format!(r#"{{"error_code":"{code}","error_msg":"x"}}"#);
            let e = read_single(body.as_bytes()).unwrap_err();
            assert_eq!(e.code(), stable);
            assert_eq!(e.is_transient(), transient);
            assert!(!e.buyer_message_en().is_empty() && !e.buyer_message_zh().is_empty());
        }
        assert!(matches!(
            read_single(b"<html>"),
            Err(OpenApiError::BadAnswer(_))
        ));
    }

    #[test]
    fn reads_a_batch() {
        let body = br#"{"error_code":"92020000","data":{"license_code_info_list":[{"license":"PL1","status":"EXPIRED"},"{\"license\":\"PL2\",\"status\":\"RELEASED\"}"]}}"#;
        let list = read_batch(body).unwrap();
        assert_eq!(list[0].license.as_deref(), Some("PL1"));
        assert_eq!(list[0].status, MarketStatus::Expired);
        assert_eq!(list[1].status, MarketStatus::Released);
    }

    #[test]
    fn bodies() {
        let t = Timestamp::parse("2026-12-01T00:00:00Z");
        let v: Value = serde_json::from_slice(&activate_body("PL1", t)).unwrap();
        assert_eq!(v["real_effect_time"], "20261201000000");
        let v: Value =
            serde_json::from_slice(&query_batch_body(&["A".into(), "B".into()])).unwrap();
        assert_eq!(v["license_list"][1], "B");
    }
}
