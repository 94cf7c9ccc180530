//! # keyward-online
//!
//! The buyer side of the merchant service's API (`keyward serve`, documented in
//! docs/API.md), as a small blocking client: post an activation request and get the
//! certificate, give a seat back with a deactivation code, fetch a license's signed
//! updates. The CLI (`keyward request --server`, `apply --server`, `deactivate --server`)
//! and keyward-host (its `online` feature) use it; the plugin itself never does I/O.
//!
//! Nothing the service answers is trusted: the caller decodes the certificate and the
//! updates with the merchant's public keys before installing anything.
//!
//! ```no_run
//! let client = keyward_online::Client::new("https://licenses.example.com")?;
//! let answer = client.activate_request("KR1-…")?;
//! println!("{} of {} seats in use", answer.seats.used, answer.seats.total);
//! # Ok::<(), keyward_online::OnlineError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use std::fmt;
use std::time::Duration;

use keyward_core::LicenseId;
use serde::Deserialize;
use serde_json::{json, Value};

#[cfg(feature = "stub")]
pub mod stub;

/// How long one call may take in all (connecting, sending, answering).
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer read (a certificate is under 2 KB; a long list of updates is far
/// under this).
pub const MAX_RESPONSE: u64 = 1024 * 1024;

/// Seats of a license, as the service counts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct Seats {
    /// Live activations.
    pub used: u32,
    /// Seats the license has.
    pub total: u32,
}

/// The answer to `POST /api/v1/activations`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Activation {
    /// The activation certificate, armoured (not verified yet: decode it with the
    /// merchant's keys).
    pub certificate: String,
    /// The license, 16 hex digits.
    pub license_id: String,
    /// The machine's system or hardware identification code, as text.
    pub machine: String,
    /// Seats in use after this activation.
    pub seats: Seats,
    /// The machine already held a seat: this is its certificate again.
    pub reactivated: bool,
}

/// The answer to `POST /api/v1/deactivations`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Deactivation {
    /// The license whose seat was freed.
    pub license_id: String,
    /// The machine that gave it back.
    pub machine: String,
    /// Seats in use afterwards.
    pub seats: Seats,
}

/// One signed update of a license.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct UpdateItem {
    /// Its sequence number.
    pub sequence: u32,
    /// The update's text (`KN1-…`), not verified yet.
    pub update: String,
}

/// The answer to `GET /api/v1/licenses/{id}/updates?after=N`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Updates {
    /// The license.
    pub license_id: String,
    /// Its updates after N, in sequence order.
    pub updates: Vec<UpdateItem>,
}

/// Why a call to the merchant service did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnlineError {
    /// The server address is not an `http://` or `https://` URL.
    BadServerUrl {
        /// What was given.
        url: String,
    },
    /// The service could not be reached (name, connection, TLS, time-out).
    Unreachable {
        /// The service's address.
        server: String,
        /// What went wrong, from the HTTP client.
        reason: String,
    },
    /// The service refused, with its stable code and sentence (`no_seat_left`,
    /// `not_found`, `typo`, `expired`, …).
    Refused {
        /// HTTP status.
        status: u16,
        /// The stable code.
        code: String,
        /// The service's sentence.
        message: String,
        /// A correction or what to do, when the service offers one.
        suggestion: Option<String>,
    },
    /// The answer is not the JSON this API promises (another program on that address?).
    BadResponse {
        /// HTTP status.
        status: u16,
        /// What is wrong with it.
        reason: String,
    },
}

impl OnlineError {
    /// Stable code: the service's own for a refusal, else `bad_server_url`, `unreachable`,
    /// `bad_response`.
    pub fn code(&self) -> &str {
        match self {
            OnlineError::BadServerUrl { .. } => "bad_server_url",
            OnlineError::Unreachable { .. } => "unreachable",
            OnlineError::Refused { code, .. } => code,
            OnlineError::BadResponse { .. } => "bad_response",
        }
    }

    /// The service's suggestion (a corrected code, what to do), if any.
    pub fn suggestion(&self) -> Option<&str> {
        match self {
            OnlineError::Refused { suggestion, .. } => suggestion.as_deref(),
            _ => None,
        }
    }
}

impl fmt::Display for OnlineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OnlineError::BadServerUrl { url } => write!(
                f,
                "{url:?} is not the address of a merchant service: give its URL, such as https://licenses.example.com"
            ),
            OnlineError::Unreachable { server, reason } => write!(
                f,
                "the merchant service at {server} cannot be reached ({reason}): check the address and the network, or use the offline round trip (keyward request without --server)"
            ),
            OnlineError::Refused { message, suggestion, .. } => {
                f.write_str(message)?;
                match suggestion {
                    Some(s) if !message.contains(s.as_str()) => write!(f, " ({s})"),
                    _ => Ok(()),
                }
            }
            OnlineError::BadResponse { status, reason } => write!(
                f,
                "the server answered (HTTP {status}) but not as a keyward merchant service does ({reason}): check the address"
            ),
        }
    }
}

impl std::error::Error for OnlineError {}

/// A client of one merchant service.
#[derive(Clone, Debug)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    timeout: Duration,
}

/// Why an exchange with a service failed before any answer, in words: ureq says only
/// "timeout: global" when the service accepted the connection and never answered.
pub fn transport_failure(e: ureq::Error, timeout: Duration) -> String {
    match e {
        ureq::Error::Timeout(_) => format!(
            "it accepted the connection but gave no answer within {} seconds",
            timeout.as_secs_f64()
        ),
        e => e.to_string(),
    }
}

/// The HTTP agent: every exchange bounded by `timeout`.
fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        // 4xx/5xx answers carry the service's JSON error: read them.
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

impl Client {
    /// A client of the service at `server` (`https://host[:port][/prefix]`; a trailing
    /// `/` is ignored). Nothing is sent yet.
    pub fn new(server: &str) -> Result<Client, OnlineError> {
        let base = server.trim().trim_end_matches('/');
        let rest = base
            .strip_prefix("https://")
            .or_else(|| base.strip_prefix("http://"));
        if !rest.is_some_and(|r| !r.is_empty() && !r.contains(char::is_whitespace)) {
            return Err(OnlineError::BadServerUrl { url: server.into() });
        }
        Ok(Client {
            agent: agent(TIMEOUT),
            base: base.to_string(),
            timeout: TIMEOUT,
        })
    }

    /// The same client with another limit on each exchange (default [`TIMEOUT`]).
    pub fn with_timeout(self, timeout: Duration) -> Client {
        Client {
            agent: agent(timeout),
            timeout,
            ..self
        }
    }

    /// The service's address, as given (without a trailing `/`).
    pub fn server(&self) -> &str {
        &self.base
    }

    /// Posts an activation request (`KR1-…`, armoured or not) and returns the answer.
    pub fn activate_request(&self, request: &str) -> Result<Activation, OnlineError> {
        self.post("/api/v1/activations", &json!({ "request": request }))
    }

    /// Posts an authorization code with the machine's system identification code
    /// (`KS1-…`) or hardware identification code (`mac:…`, …): the service chooses the
    /// nonce, so such a seat has no deactivation code (the merchant frees it).
    pub fn activate_code(&self, code: &str, machine: &str) -> Result<Activation, OnlineError> {
        let field = if machine
            .trim_start()
            .get(..3)
            .is_some_and(|p| p.eq_ignore_ascii_case("KS1"))
        {
            "system_id"
        } else {
            "hardware_id"
        };
        self.post(
            "/api/v1/activations",
            &json!({ "code": code, field: machine }),
        )
    }

    /// Gives a seat back with a deactivation code (`KD1-…`).
    pub fn deactivate(&self, deactivation_code: &str) -> Result<Deactivation, OnlineError> {
        self.post(
            "/api/v1/deactivations",
            &json!({ "deactivation_code": deactivation_code }),
        )
    }

    /// The license's signed updates with a sequence number above `after`.
    pub fn updates(&self, license: LicenseId, after: u32) -> Result<Updates, OnlineError> {
        let path = format!("/api/v1/licenses/{license}/updates?after={after}");
        let url = format!("{}{path}", self.base);
        let answer = self
            .agent
            .get(&url)
            .header("accept", "application/json")
            .call();
        self.answer(answer)
    }

    fn post<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<T, OnlineError> {
        let url = format!("{}{path}", self.base);
        let answer = self
            .agent
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .send(body.to_string().as_bytes());
        self.answer(answer)
    }

    fn answer<T: for<'de> Deserialize<'de>>(
        &self,
        answer: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T, OnlineError> {
        let unreachable = |e: ureq::Error| OnlineError::Unreachable {
            server: self.base.clone(),
            reason: transport_failure(e, self.timeout),
        };
        let mut response = answer.map_err(unreachable)?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE)
            .read_to_string()
            .map_err(|e| OnlineError::BadResponse {
                status,
                reason: format!("the body could not be read: {e}"),
            })?;
        let bad = |reason: String| OnlineError::BadResponse { status, reason };
        if (200..300).contains(&status) {
            return serde_json::from_str(&text).map_err(|e| bad(format!("unexpected JSON: {e}")));
        }
        #[derive(Deserialize)]
        struct Refusal {
            code: String,
            message: String,
            #[serde(default)]
            suggestion: Option<String>,
        }
        match serde_json::from_str::<Refusal>(&text) {
            Ok(r) => Err(OnlineError::Refused {
                status,
                code: r.code,
                message: r.message,
                suggestion: r.suggestion,
            }),
            Err(_) => Err(bad(format!("HTTP {status} without a keyward error"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_checked() {
        for bad in [
            "",
            "licenses.example.com",
            "ftp://x",
            "https://",
            "http://a b",
        ] {
            assert_eq!(
                Client::new(bad).unwrap_err().code(),
                "bad_server_url",
                "{bad}"
            );
        }
        let c = Client::new(" https://licenses.example.com/ ").unwrap();
        assert_eq!(c.server(), "https://licenses.example.com");
    }

    #[test]
    fn an_address_nobody_listens_on_is_unreachable() {
        // Bind, learn the port, close: nothing listens there any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = Client::new(&format!("http://127.0.0.1:{port}")).unwrap();
        let e = c.deactivate("KD1-0").unwrap_err();
        assert_eq!(e.code(), "unreachable", "{e}");
        assert!(e.to_string().contains("cannot be reached"), "{e}");
    }

    #[test]
    fn a_service_that_never_answers_is_said_so() {
        // Accepts connections, never answers (held open until the test ends).
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let c = Client::new(&format!("http://127.0.0.1:{port}"))
            .unwrap()
            .with_timeout(Duration::from_millis(300));
        let e = c.deactivate("KD1-0").unwrap_err();
        assert_eq!(e.code(), "unreachable", "{e}");
        assert!(
            e.to_string()
                .contains("accepted the connection but gave no answer within 0.3 seconds"),
            "{e}"
        );
        drop(listener);
    }
}
