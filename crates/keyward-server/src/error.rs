//! Refusals as the API answers them: an HTTP status and
//! `{"code", "message", "suggestion"}`, with the same stable codes as keyward-core, the
//! CLI and the page.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::ledger::LedgerError;

/// A refusal or failure, as sent to the client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiError {
    /// HTTP status.
    #[serde(skip)]
    pub status: StatusCode,
    /// Stable snake_case code.
    pub code: String,
    /// A sentence saying what is wrong and how to fix it.
    pub message: String,
    /// The corrected input, when exactly one correction is known (a typo).
    pub suggestion: Option<String>,
    /// Seconds to wait before retrying (rate limits), sent as `Retry-After`.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// A refusal with no suggestion.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            suggestion: None,
            retry_after: None,
        }
    }

    /// 400 `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 500 `internal`: the details go to the log, never to the client.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the service failed to complete this request; nothing was changed by it. Try again in a moment; if it keeps failing, tell the merchant",
        )
    }
}

impl From<keyward_core::Error> for ApiError {
    fn from(e: keyward_core::Error) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: e.code().to_string(),
            message: e.to_string(),
            suggestion: e.suggestion().map(str::to_string),
            retry_after: None,
        }
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        match &e {
            LedgerError::NoSeatLeft { .. } => Self::new(
                StatusCode::CONFLICT,
                "no_seat_left",
                format!(
                    "{e}: give a seat back first (deactivate the license on a machine that no longer needs it), or ask the merchant for more seats or to revoke a lost machine"
                ),
            ),
            LedgerError::Frozen => Self::new(
                StatusCode::FORBIDDEN,
                "frozen",
                "this license is frozen (suspended by the marketplace or the merchant): renew or settle the order, then try again",
            ),
            LedgerError::Released => Self::new(
                StatusCode::FORBIDDEN,
                "released",
                "this license was released and has ended for good: buy a new license",
            ),
            LedgerError::Expired(_) => Self::new(
                StatusCode::FORBIDDEN,
                "expired",
                format!("{e}: renew the license, then try again"),
            ),
            LedgerError::NotFound(_) => Self::not_found(format!("{e}: check the id")),
            LedgerError::Conflict(_) => Self::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            LedgerError::Sign(core) => core.clone().into(),
            LedgerError::Corrupt(_)
            | LedgerError::Database(_)
            | LedgerError::Storage(_)
            | LedgerError::Migrate(_)
            | LedgerError::Config(_) => {
                tracing::error!(error = %e, "ledger failure");
                Self::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = self.retry_after;
        let mut r = (self.status, axum::Json(&self)).into_response();
        if let Some(s) = retry {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        r.extensions_mut().insert(RefusalCode(self.code));
        r
    }
}

/// The refusal code of a response, kept for the metrics' `result` label.
#[derive(Clone, Debug)]
pub struct RefusalCode(pub String);

/// A configuration that cannot be used, with what to change (here, not in `config`, so
/// that the marketplace's settings, which `config` reads, can report it too).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}
