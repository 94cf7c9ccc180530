//! License 2.0 callbacks: `POST {callback_path}?signature=…&timestamp=…&nonce=…`.
//!
//! Order of checks: authentication (signature under the interface's key, timestamp within
//! 60 s, nonce never seen — kept in the database so every instance shares them) → the body
//! → probes (`testFlag=1`: logged, answered `000000`, nothing changed) → the license → the
//! change, once per call. The answer is always HTTP 200 with `{resultCode, resultMsg}`:
//! the marketplace reads the result code. Nothing here calls the marketplace, so the answer
//! comes well within its 5 seconds.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use keyward_marketplace::callback::{self, Callback, ResultCode, StatusChange};

use crate::app::Shared;
use crate::ledger::{Change, LedgerError, MarketOutcome, MarketRef, MarketplaceEvent};
use crate::metrics::MarketplaceLabels;

fn answer(s: &Shared, activity: &str, code: ResultCode, message: &str) -> Response {
    s.metrics
        .marketplace_calls
        .get_or_create(&MarketplaceLabels {
            activity: activity.to_owned(),
            result: code.as_str().to_owned(),
        })
        .inc();
    ([("content-type", "application/json")], code.answer(message)).into_response()
}

/// `POST {callback_path}`.
pub(crate) async fn handle(
    State(s): State<Shared>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let Some(m) = s.marketplace.clone() else {
        return answer(
            &s,
            "unknown",
            ResultCode::InternalError,
            "marketplace interface not configured",
        );
    };
    let params: Vec<(String, String)> =
        form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let get = |n: &str| {
        params
            .iter()
            .find(|(k, _)| k == n)
            .map_or("", |(_, v)| v.as_str())
    };
    let auth = callback::Auth {
        signature: get("signature"),
        timestamp: get("timestamp"),
        nonce: get("nonce"),
    };
    let now = s.clock.now();
    let now_ms = now.secs().saturating_mul(1000);
    let ok = match callback::authenticate(&m.callback_keys, &auth, &body, now_ms) {
        Ok(ok) => ok,
        Err(e) => {
            tracing::warn!(reason = %e, "marketplace callback refused: authentication");
            return answer(
                &s,
                "unauthenticated",
                ResultCode::AuthenticationFailed,
                "authentication failed",
            );
        }
    };
    // Kept past the window on both sides, so a replay inside it is always caught.
    let keep = now.secs() + 2 * callback::MAX_SKEW_MS / 1000 + 60;
    match s
        .ledger
        .claim_nonce(ok.nonce.clone(), now.secs(), keep)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!("marketplace callback refused: nonce seen before");
            return answer(
                &s,
                "unauthenticated",
                ResultCode::AuthenticationFailed,
                "nonce already used",
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "marketplace callback: nonce store failed");
            return answer(&s, "unknown", ResultCode::InternalError, "internal error");
        }
    }
    let request = match callback::parse(&body) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(reason = %e, "marketplace callback refused: parameters");
            return answer(&s, "invalid", ResultCode::InvalidParameters, &e.0);
        }
    };
    let c = &request.callback;
    let activity = c.activity();
    if request.test {
        tracing::info!(
            activity,
            "marketplace probe (testFlag=1): answered, nothing changed"
        );
        return answer(
            &s,
            activity,
            ResultCode::Success,
            "success (test call: nothing changed)",
        );
    }
    let license = match s
        .ledger
        .find_marketplace_license(MarketRef::LicenseCode(c.license().to_owned()))
        .await
    {
        Ok(Some(l)) => l,
        Ok(None) => {
            tracing::warn!(activity, "marketplace callback for an unknown license code");
            return answer(
                &s,
                activity,
                ResultCode::LicenseNotFound,
                "authorization code not found",
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "marketplace callback: ledger failed");
            return answer(&s, activity, ResultCode::InternalError, "internal error");
        }
    };
    let (change, status_time) = match c {
        Callback::Refresh { expire_time, .. } => (Change::Renew(expire_time.secs()), None),
        Callback::UpdateStatus {
            status: StatusChange::Freeze,
            ..
        } => (Change::Freeze, Some(ok.timestamp_ms)),
        Callback::UpdateStatus {
            status: StatusChange::Unfreeze,
            ..
        } => (Change::Unfreeze, Some(ok.timestamp_ms)),
        Callback::Release { .. } => (Change::Release, None),
    };
    let order_id = match c {
        Callback::Refresh { order_id, .. } => Some(order_id.clone()),
        Callback::Release { order_id, .. } => order_id.clone(),
        Callback::UpdateStatus { .. } => None,
    };
    // A status change's key includes its time: each FREEZE / UNFREEZE the marketplace sends
    // is its own call (retries repeat the body, and the ledger orders them by time).
    let idempotency_key = match status_time {
        Some(t) => format!("v2:{}:{t}", c.idempotency_key()),
        None => format!("v2:{}", c.idempotency_key()),
    };
    let event = MarketplaceEvent {
        at: now.secs(),
        license_id: Some(license.license_id.clone()),
        activity: activity.to_owned(),
        order_id: order_id.clone(),
        idempotency_key,
        result_code: ResultCode::Success.as_str().to_owned(),
        payload: String::from_utf8_lossy(&body).into_owned(),
    };
    let Some(id) = keyward_core::LicenseId::parse(&license.license_id) else {
        return answer(&s, activity, ResultCode::InternalError, "internal error");
    };
    let sign = super::update_signer(s.key.clone(), id, change, now);
    match s
        .ledger
        .marketplace_change(
            license.license_id.clone(),
            change,
            status_time,
            event,
            sign,
            now,
        )
        .await
    {
        Ok(outcome) => {
            tracing::info!(
                activity,
                order_id = order_id.as_deref().unwrap_or(""),
                license = %license.license_id,
                outcome = ?outcome_word(&outcome),
                "marketplace callback"
            );
            answer(&s, activity, ResultCode::Success, "success")
        }
        Err(LedgerError::NotFound(_)) => answer(
            &s,
            activity,
            ResultCode::LicenseNotFound,
            "authorization code not found",
        ),
        Err(e) => {
            tracing::error!(error = %e, license = %license.license_id, "marketplace callback: ledger failed");
            answer(&s, activity, ResultCode::InternalError, "internal error")
        }
    }
}

pub(crate) fn outcome_word(o: &MarketOutcome) -> &'static str {
    match o {
        MarketOutcome::Applied(Some(_)) => "published",
        MarketOutcome::Applied(None) => "already so",
        MarketOutcome::Duplicate(_) => "duplicate",
        MarketOutcome::Superseded => "superseded by a later call",
    }
}
