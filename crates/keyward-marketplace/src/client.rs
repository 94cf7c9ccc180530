//! The open-API client: activate and query over HTTPS, signed with `SDK-HMAC-SHA256`, on the
//! primary host and then the fallback hosts, with a timeout per attempt and back-off between
//! attempts. Only failures that may pass (no answer, HTTP 5xx/429, `92020001`) are retried.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keyward_core::Timestamp;

use crate::apig;
use crate::openapi::{self, LicenseInfo, OpenApiError};
use crate::AccessKey;

/// Largest answer read, in bytes.
const MAX_ANSWER: usize = 1024 * 1024;

/// Where and as whom the merchant service calls the marketplace.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Base URLs, primary first, then the fallbacks (`https://host[:port]`). Plain `http://`
    /// is refused except on a loopback address (a local stand-in or proxy).
    pub hosts: Vec<String>,
    /// The access key id (AK).
    pub ak: String,
    /// The secret key (SK).
    pub sk: AccessKey,
    /// Time allowed for one attempt.
    pub timeout: Duration,
    /// Attempts in all (at least 1).
    pub attempts: u32,
    /// Wait before the second attempt; doubled before each further one.
    pub backoff: Duration,
}

impl ClientConfig {
    /// Checks the hosts: at least one, each `https://…` or loopback `http://…`.
    pub fn validate(&self) -> Result<(), OpenApiError> {
        let bad = |m: String| Err(OpenApiError::Config(m));
        if self.hosts.is_empty() {
            return bad("no marketplace host is configured".into());
        }
        if self.ak.is_empty() || self.sk.is_empty() {
            return bad("the marketplace AK and SK are not configured".into());
        }
        for host in &self.hosts {
            let url = reqwest::Url::parse(host)
                .map_err(|e| OpenApiError::Config(format!("{host:?} is not a URL: {e}")))?;
            let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
            match url.scheme() {
                "https" => {}
                "http" if loopback => {}
                _ => {
                    return bad(format!(
                        "{host:?}: the marketplace must be called over https:// (plain http \
                         only on a loopback address, for tests)"
                    ))
                }
            }
        }
        Ok(())
    }
}

/// The client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    config: ClientConfig,
}

fn now() -> Timestamp {
    Timestamp(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    )
}

impl Client {
    /// A client; refuses a configuration that cannot work.
    pub fn new(config: ClientConfig) -> Result<Client, OpenApiError> {
        config.validate()?;
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .https_only(false) // checked per host in `validate` (loopback http for tests)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| OpenApiError::Config(e.to_string()))?;
        Ok(Client { http, config })
    }

    /// Activates a buyer's `PL…` code. `None` when the answer carries no details (query then).
    pub async fn activate(
        &self,
        license: &str,
        real_effect_time: Option<Timestamp>,
    ) -> Result<Option<LicenseInfo>, OpenApiError> {
        let body = openapi::activate_body(license, real_effect_time);
        self.call(openapi::ACTIVATE_PATH, &body, openapi::read_single)
            .await
    }

    /// Queries one code.
    pub async fn query(&self, license: &str) -> Result<Option<LicenseInfo>, OpenApiError> {
        let body = openapi::query_body(license);
        self.call(openapi::QUERY_PATH, &body, openapi::read_single)
            .await
    }

    /// Queries up to [`openapi::MAX_BATCH`] codes at once.
    pub async fn query_batch(&self, licenses: &[String]) -> Result<Vec<LicenseInfo>, OpenApiError> {
        if licenses.len() > openapi::MAX_BATCH {
            return Err(OpenApiError::Config(format!(
                "at most {} codes per query",
                openapi::MAX_BATCH
            )));
        }
        let body = openapi::query_batch_body(licenses);
        self.call(openapi::QUERY_BATCH_PATH, &body, openapi::read_batch)
            .await
    }

    async fn call<T>(
        &self,
        path: &str,
        body: &[u8],
        read: impl Fn(&[u8]) -> Result<T, OpenApiError>,
    ) -> Result<T, OpenApiError> {
        let attempts = self.config.attempts.max(1);
        let mut wait = self.config.backoff;
        let mut last = OpenApiError::Unreachable("no attempt was made".into());
        for attempt in 0..attempts {
            if attempt > 0 {
                tokio::time::sleep(wait).await;
                wait = wait.saturating_mul(2);
            }
            let host = &self.config.hosts[attempt as usize % self.config.hosts.len()];
            match self.once(host, path, body).await.and_then(|b| read(&b)) {
                Ok(v) => return Ok(v),
                Err(e) if e.is_transient() => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    async fn once(&self, base: &str, path: &str, body: &[u8]) -> Result<Vec<u8>, OpenApiError> {
        let url = reqwest::Url::parse(base)
            .and_then(|u| u.join(path))
            .map_err(|e| OpenApiError::Config(e.to_string()))?;
        let authority = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => return Err(OpenApiError::Config(format!("{base:?} has no host"))),
        };
        let date = apig::sdk_date(now());
        let headers = vec![
            ("host".to_owned(), authority),
            ("x-sdk-date".to_owned(), date.clone()),
            ("content-type".to_owned(), "application/json".to_owned()),
        ];
        let req = apig::Request {
            method: "POST",
            path: url.path(),
            query: &[],
            headers: &headers,
            body,
        };
        let authorization = apig::authorization(&self.config.ak, &self.config.sk, &req, &date);
        let resp = self
            .http
            .post(url.clone())
            .header("X-Sdk-Date", date)
            .header("Content-Type", "application/json")
            .header("Authorization", authorization)
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| OpenApiError::Unreachable(e.without_url().to_string()))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| OpenApiError::Unreachable(e.without_url().to_string()))?;
        if bytes.len() > MAX_ANSWER {
            return Err(OpenApiError::BadAnswer("the answer is too large".into()));
        }
        if !(200..300).contains(&status) {
            // An error code in the body says more than the status; use it when present.
            if let Err(e @ OpenApiError::Marketplace { .. }) = openapi::read_single(&bytes) {
                return Err(e);
            }
            return Err(OpenApiError::Http(status));
        }
        Ok(bytes.to_vec())
    }
}
