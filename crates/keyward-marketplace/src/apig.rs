//! Huawei Cloud API gateway request signing, `SDK-HMAC-SHA256` (AK/SK), for the merchant's
//! calls to the marketplace's open API (activate, query).
//!
//! ```text
//! CanonicalRequest = Method \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n
//!                    SignedHeaders \n lower(hex(SHA-256(body)))
//! CanonicalURI     = the path, each segment URI-encoded, ending with "/"
//! CanonicalQuery   = name=value pairs, URI-encoded, sorted, joined with "&"
//! CanonicalHeaders = lower(name):trim(value)\n for each signed header, sorted by name
//! StringToSign     = "SDK-HMAC-SHA256" \n X-Sdk-Date \n lower(hex(SHA-256(CanonicalRequest)))
//! Authorization    = SDK-HMAC-SHA256 Access=AK, SignedHeaders=h1;h2, Signature=hex(HMAC(SK, StringToSign))
//! ```
//!
//! `X-Sdk-Date` is `yyyyMMdd'T'HHmmss'Z'` (UTC); the gateway refuses a date more than 15
//! minutes from its clock.

use keyward_core::Timestamp;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::crypto::{eq_ignore_case_ct, hmac_sha256, sha256_hex};
use crate::AccessKey;

/// The scheme's name, first in `Authorization` and in the string to sign.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
/// How far `X-Sdk-Date` may be from the gateway's clock, in seconds.
pub const MAX_SKEW_SECS: u64 = 15 * 60;

/// RFC 3986 unreserved characters stay; everything else is %XX (upper case).
const URI: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// One request to sign.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// `POST`, `GET`, …
    pub method: &'a str,
    /// The path, without the query (`/api/mkp-openapi-public/global/v1/license/activate`).
    pub path: &'a str,
    /// Query parameters, not encoded.
    pub query: &'a [(String, String)],
    /// The headers to sign, `host` among them (names in any case).
    pub headers: &'a [(String, String)],
    /// The exact body bytes sent.
    pub body: &'a [u8],
}

/// `X-Sdk-Date` for a time.
pub fn sdk_date(t: Timestamp) -> String {
    let c = crate::compact_time(t);
    format!("{}T{}Z", c.get(..8).unwrap_or(""), c.get(8..).unwrap_or(""))
}

/// Reads `X-Sdk-Date`.
pub fn parse_sdk_date(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    crate::parse_compact_time(&format!("{}{}", s.get(..8)?, s.get(9..15)?))
}

fn canonical_uri(path: &str) -> String {
    let mut out: String = path
        .split('/')
        .map(|seg| utf8_percent_encode(seg, URI).to_string())
        .collect::<Vec<_>>()
        .join("/");
    if !out.ends_with('/') {
        out.push('/');
    }
    out
}

fn canonical_query(query: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| {
            (
                utf8_percent_encode(k, URI).to_string(),
                utf8_percent_encode(v, URI).to_string(),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// `(canonical headers, signed headers)`.
fn canonical_headers(headers: &[(String, String)]) -> (String, String) {
    let mut h: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    h.sort();
    let canonical = h.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed = h
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    (canonical, signed)
}

/// The string to sign, and the signed-headers list.
pub fn string_to_sign(req: &Request<'_>, date: &str) -> (String, String) {
    let (headers, signed) = canonical_headers(req.headers);
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method.to_ascii_uppercase(),
        canonical_uri(req.path),
        canonical_query(req.query),
        headers,
        signed,
        sha256_hex(req.body)
    );
    (
        format!("{ALGORITHM}\n{date}\n{}", sha256_hex(canonical.as_bytes())),
        signed,
    )
}

/// The `Authorization` header for `req`, whose headers must include `x-sdk-date: date`
/// and `host`.
pub fn authorization(ak: &str, sk: &AccessKey, req: &Request<'_>, date: &str) -> String {
    let (to_sign, signed) = string_to_sign(req, date);
    let signature =
        keyward_core::raw::hex(&hmac_sha256(sk.expose().as_bytes(), to_sign.as_bytes()));
    format!("{ALGORITHM} Access={ak}, SignedHeaders={signed}, Signature={signature}")
}

/// Why the gateway (the stand-in marketplace) refuses a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyError {
    /// No or a malformed `Authorization` header.
    Malformed,
    /// The access key is not the one configured.
    UnknownAccessKey,
    /// No `X-Sdk-Date`, or more than 15 minutes off.
    BadDate,
    /// The signature does not match.
    BadSignature,
}

/// Checks a signed request the way the gateway does (for the stand-in marketplace).
/// `req.headers` are all the request's headers.
pub fn verify(
    ak: &str,
    sk: &AccessKey,
    req: &Request<'_>,
    now: Timestamp,
) -> Result<(), VerifyError> {
    let get = |name: &str| {
        req.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let auth = get("authorization").ok_or(VerifyError::Malformed)?;
    let rest = auth
        .strip_prefix(ALGORITHM)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or(VerifyError::Malformed)?;
    let mut access = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=').ok_or(VerifyError::Malformed)?;
        match k {
            "Access" => access = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => return Err(VerifyError::Malformed),
        }
    }
    let (access, signed, signature) = match (access, signed, signature) {
        (Some(a), Some(s), Some(g)) => (a, s, g),
        _ => return Err(VerifyError::Malformed),
    };
    if access != ak {
        return Err(VerifyError::UnknownAccessKey);
    }
    let date = get("x-sdk-date").ok_or(VerifyError::BadDate)?;
    let t = parse_sdk_date(date).ok_or(VerifyError::BadDate)?;
    if t.secs().abs_diff(now.secs()) > MAX_SKEW_SECS {
        return Err(VerifyError::BadDate);
    }
    let mut chosen = Vec::new();
    for name in signed.split(';') {
        let value = get(name).ok_or(VerifyError::Malformed)?;
        chosen.push((name.to_owned(), value.to_owned()));
    }
    if !chosen.iter().any(|(k, _)| k == "x-sdk-date") || !chosen.iter().any(|(k, _)| k == "host") {
        return Err(VerifyError::Malformed);
    }
    let signed_req = Request {
        headers: &chosen,
        ..req.clone()
    };
    let (to_sign, _) = string_to_sign(&signed_req, date);
    let expected = keyward_core::raw::hex(&hmac_sha256(sk.expose().as_bytes(), to_sign.as_bytes()));
    if eq_ignore_case_ct(&expected, signature) {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::parse("2026-11-30T08:09:10Z").unwrap()
    }

    #[test]
    fn dates() {
        assert_eq!(sdk_date(now()), "20261130T080910Z");
        assert_eq!(parse_sdk_date("20261130T080910Z"), Some(now()));
        assert_eq!(parse_sdk_date("20261130080910Z"), None);
    }

    #[test]
    fn canonical_parts() {
        assert_eq!(canonical_uri("/a b/c"), "/a%20b/c/");
        assert_eq!(canonical_uri("/x/"), "/x/");
        let q = vec![
            ("b".to_string(), "2".to_string()),
            ("a".to_string(), "x y~".to_string()),
        ];
        assert_eq!(canonical_query(&q), "a=x%20y~&b=2");
        let h = vec![
            ("X-Sdk-Date".to_string(), " d ".to_string()),
            ("Host".to_string(), "h".to_string()),
        ];
        assert_eq!(
            canonical_headers(&h),
            (
                "host:h\nx-sdk-date:d\n".to_string(),
                "host;x-sdk-date".to_string()
            )
        );
    }

    #[test]
    fn the_string_to_sign_is_the_documented_one() {
        let headers = vec![
            ("Host".to_string(), "mkt.example".to_string()),
            ("X-Sdk-Date".to_string(), "20261130T080910Z".to_string()),
        ];
        let req = Request {
            method: "post",
            path: "/p",
            query: &[],
            headers: &headers,
            body: b"{}",
        };
        let (s, signed) = string_to_sign(&req, "20261130T080910Z");
        let canonical = format!(
            "POST\n/p/\n\nhost:mkt.example\nx-sdk-date:20261130T080910Z\n\nhost;x-sdk-date\n{}",
            sha256_hex(b"{}")
        );
        assert_eq!(
            s,
            format!(
                "SDK-HMAC-SHA256\n20261130T080910Z\n{}",
                sha256_hex(canonical.as_bytes())
            )
        );
        assert_eq!(signed, "host;x-sdk-date");
    }

    #[test]
    fn sign_then_verify_and_every_refusal() {
        let sk = AccessKey::new("secret");
        let date = sdk_date(now());
        let mut headers = vec![
            ("Host".to_string(), "mkt.example".to_string()),
            ("X-Sdk-Date".to_string(), date.clone()),
            ("Content-Type".to_string(), "application/json".to_string()),
        ];
        let body = br#"{"license":"PL1"}"#;
        let req = Request {
            method: "POST",
            path: "/v1/license/activate",
            query: &[],
            headers: &headers,
            body,
        };
        headers.push((
            "Authorization".into(),
            authorization("AK1", &sk, &req, &date),
        ));
        let check =
            |h: &[(String, String)], body: &[u8], at: Timestamp, ak: &str, sk: &AccessKey| {
                let req = Request {
                    method: "POST",
                    path: "/v1/license/activate",
                    query: &[],
                    headers: h,
                    body,
                };
                verify(ak, sk, &req, at)
            };
        assert_eq!(check(&headers, body, now(), "AK1", &sk), Ok(()));
        assert_eq!(
            check(&headers, b"{}", now(), "AK1", &sk),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            check(&headers, body, now(), "AK2", &sk),
            Err(VerifyError::UnknownAccessKey)
        );
        assert_eq!(
            check(&headers, body, now(), "AK1", &AccessKey::new("x")),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            check(&headers, body, now().add_secs(901), "AK1", &sk),
            Err(VerifyError::BadDate)
        );
        let mut no_auth = headers.clone();
        no_auth.pop();
        assert_eq!(
            check(&no_auth, body, now(), "AK1", &sk),
            Err(VerifyError::Malformed)
        );
    }
}
