//! The marketplace's production interface (KooGallery), wired to the ledger: License 2.0
//! callbacks, License 1.0 activities, the `PL…` code bridge and the daily reconciliation.
//! The protocol itself (signatures, bodies, result codes, the open-API client) is
//! keyward-marketplace; this module decides what each call does to the ledger.
//!
//! Every marketplace change goes through [`MarketplaceLedger::marketplace_change`]: one
//! transaction that records the call under its idempotency key and applies it, so a call
//! delivered 60 times has one effect, and FREEZE / UNFREEZE arriving out of order end in the
//! state of the latest one.
//!
//! [`MarketplaceLedger::marketplace_change`]: crate::ledger::MarketplaceLedger::marketplace_change

use keyward_core::{LicenseId, SignedUpdate, Timestamp, UpdateAction};

use crate::ledger::{Change, LedgerError, SignUpdate};

pub mod bridge;
pub mod callbacks;
pub mod reconcile;
pub mod v1;

pub use crate::config::marketplace::{Marketplace, MarketplaceSettings, ProductMapping};

/// Signs the update a change publishes, under the sequence the ledger gives it.
pub(crate) fn update_signer(
    key: std::sync::Arc<keyward_core::MerchantKey>,
    license_id: LicenseId,
    change: Change,
    now: Timestamp,
) -> SignUpdate {
    let action = match change {
        Change::Renew(e) => UpdateAction::Renew {
            expires: Timestamp(e),
        },
        Change::Freeze => UpdateAction::Freeze,
        Change::Unfreeze => UpdateAction::Unfreeze,
        Change::Release => UpdateAction::Release,
    };
    Box::new(move |sequence| {
        SignedUpdate::issue(&key, license_id, sequence, action, now)
            .map(|u| u.encode())
            .map_err(LedgerError::Sign)
    })
}

/// A fresh random license id.
pub(crate) fn new_license_id() -> Option<LicenseId> {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).ok()?;
    Some(LicenseId(b))
}

/// `GET /api/v1/admin/licenses/{license_id}/marketplace-events` (admin): the marketplace
/// calls recorded for a license, oldest first.
pub(crate) async fn admin_events(
    axum::extract::State(s): axum::extract::State<crate::app::Shared>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<axum::Json<serde_json::Value>, crate::error::ApiError> {
    let id = LicenseId::parse(&id)
        .ok_or_else(|| {
            crate::error::ApiError::bad_request("a license id is 16 hexadecimal digits")
        })?
        .to_string();
    let events = s.ledger.marketplace_events(id.clone()).await?;
    if events.is_empty() {
        // None recorded, or no such license: the latter is not_found, as everywhere.
        s.ledger.license(id.clone()).await?;
    }
    Ok(axum::Json(
        serde_json::json!({ "license_id": id, "events": events }),
    ))
}

/// `POST /api/v1/admin/marketplace/reconcile` (admin): reconciles bridged licenses with the
/// marketplace now, as a run of its own.
pub(crate) async fn admin_reconcile(
    axum::extract::State(s): axum::extract::State<crate::app::Shared>,
) -> Result<axum::Json<serde_json::Value>, crate::error::ApiError> {
    if s.marketplace
        .as_ref()
        .and_then(|m| m.client.as_ref())
        .is_none()
    {
        return Err(crate::error::ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "marketplace_not_configured",
            "the marketplace's open API is not configured ([marketplace] api_hosts, access_key_id, secret_access_key)",
        ));
    }
    let now = s.clock.now();
    let run = format!("admin-{}-{}", now.secs(), std::process::id());
    let r = reconcile::run_once(&s, &run, "admin").await?;
    Ok(axum::Json(serde_json::json!({
        "run": run,
        "batches": r.batches,
        "published": r.published,
        "failed": r.failed,
    })))
}
