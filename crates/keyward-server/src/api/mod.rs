//! The HTTP API: thin handlers. Limits → parse → keyward-core decodes and verifies →
//! the ledger decides in one transaction → the answer.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::de::DeserializeOwned;

use crate::app::Shared;
pub use crate::app::{limiter, state, AppState, Clock};
use crate::error::{ApiError, RefusalCode};
use crate::metrics::{RequestLabels, RouteLabels};

mod admin;
mod buyer;

/// The API's router (without the buyer page).
pub fn router(state: Shared, body_limit: usize) -> Router {
    let admin = admin::router(state.clone());
    let mut app = Router::new();
    if let Some(m) = state.marketplace.as_ref() {
        app = app
            .route(
                &m.callback_path,
                post(crate::marketplace::callbacks::handle),
            )
            .route(&m.license_v1_path, get(crate::marketplace::v1::handle));
    }
    app.route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/v1/activations", post(buyer::activate))
        .route("/api/v1/deactivations", post(buyer::deactivate))
        .route("/api/v1/licenses/{license_id}/updates", get(buyer::updates))
        .nest("/api/v1/admin", admin)
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

async fn unknown_route() -> ApiError {
    ApiError::not_found(
        "there is nothing at this address: the buyer API is under /api/v1 (see docs/API.md)",
    )
}

async fn wrong_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this address does not take this HTTP method (see docs/API.md)",
    )
}

async fn healthz(State(s): State<Shared>) -> Result<axum::Json<serde_json::Value>, ApiError> {
    s.ledger.ping().await?;
    Ok(axum::Json(
        serde_json::json!({ "status": "ok", "database": s.ledger.backend() }),
    ))
}

async fn metrics(State(s): State<Shared>) -> Response {
    if let Ok(n) = s.ledger.seats_in_use().await {
        s.metrics
            .seats_in_use
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.render(),
    )
        .into_response()
}

/// Times each request, bounds it in time, and counts it by route and result.
async fn observe(State(s): State<Shared>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_string();
    let started = Instant::now();
    let response = match tokio::time::timeout(s.request_timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the service took too long to answer; nothing was changed unless a retry shows it. Try again",
        )
        .into_response(),
    };
    let result = match response.extensions().get::<RefusalCode>() {
        Some(c) => c.0.clone(),
        None if response.status().is_success() => "ok".to_string(),
        None => response.status().as_u16().to_string(),
    };
    s.metrics
        .latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    s.metrics
        .requests
        .get_or_create(&RequestLabels { route, result })
        .inc();
    response
}

/// The client's address (the peer of the connection), when the server records it.
pub(crate) struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(a)| a.ip()),
        ))
    }
}

/// Refuses a client over its activation/deactivation budget.
pub(crate) fn check_rate(s: &AppState, ip: Option<IpAddr>) -> Result<(), ApiError> {
    let (Some(limiter), Some(ip)) = (&s.limiter, ip) else {
        return Ok(());
    };
    match limiter.check_key(&ip) {
        Ok(()) => Ok(()),
        Err(not_until) => {
            let wait = not_until
                .wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ))
                .as_secs()
                .max(1);
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "too many activations or deactivations from this address: wait {wait} second(s) and try again"
                ),
            );
            e.retry_after = Some(wait);
            Err(e)
        }
    }
}

/// A JSON body, with refusals in the API's form: 415 `unsupported_media_type` without
/// `Content-Type: application/json`, 413 `payload_too_large`, 400 `bad_request` for
/// anything that is not the expected JSON (syntax, invalid UTF-8, unknown fields, wrong
/// types, numbers out of range).
pub(crate) struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(r) => Err(json_rejection(r)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    match r.status() {
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be JSON: send the header Content-Type: application/json",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the body is larger than this service accepts: send only the fields described in docs/API.md",
        ),
        _ => ApiError::bad_request(format!(
            "the body is not the JSON this address expects ({}): see docs/API.md for its fields",
            r.body_text()
        )),
    }
}
