//! License 1.0 activities: `GET {license_v1_path}?activity=…&timeStamp=…&authToken=…`.
//!
//! `getLicense` issues a keyward authorization code for the order (the same one for every
//! retry of that order: the marketplace retries hourly for 3 hours) with `instanceId` the
//! first `businessId`; `refreshLicense`, `expireLicense` (a freeze) and `releaseLicense`
//! become signed updates. Every answer carries `Body-Sign`.

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use keyward_core::{time::DAY, AuthorizationCode, LicenseTerms, Timestamp};
use keyward_marketplace::v1::{self, Activity, ResultCode};

use crate::app::Shared;
use crate::ledger::{Change, LedgerError, LicenseRecord, MarketRef, MarketplaceEvent};
use crate::metrics::MarketplaceLabels;

fn answer(
    s: &Shared,
    activity: &str,
    code: ResultCode,
    message: &str,
    issued: Option<(&str, &str)>,
) -> Response {
    s.metrics
        .marketplace_calls
        .get_or_create(&MarketplaceLabels {
            activity: activity.to_owned(),
            result: code.as_str().to_owned(),
        })
        .inc();
    let body = v1::answer(code, message, issued);
    let sign = s
        .marketplace
        .as_ref()
        .and_then(|m| m.license_v1_keys.first())
        .map(|k| v1::body_sign(k, body.as_bytes()))
        .unwrap_or_default();
    (
        [
            ("content-type", "application/json"),
            ("Body-Sign", sign.as_str()),
        ],
        body,
    )
        .into_response()
}

fn event(
    now: Timestamp,
    activity: &str,
    order_id: Option<&str>,
    key: String,
    license: Option<&str>,
    params: &[(String, String)],
) -> MarketplaceEvent {
    let payload: serde_json::Map<String, serde_json::Value> = params
        .iter()
        .filter(|(k, _)| k != "authToken")
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    MarketplaceEvent {
        at: now.secs(),
        license_id: license.map(str::to_owned),
        activity: activity.to_owned(),
        order_id: order_id.map(str::to_owned),
        idempotency_key: key,
        result_code: ResultCode::Success.as_str().to_owned(),
        payload: serde_json::Value::Object(payload).to_string(),
    }
}

/// `GET {license_v1_path}`.
pub(crate) async fn handle(State(s): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let Some(m) = s.marketplace.clone() else {
        return answer(
            &s,
            "unknown",
            ResultCode::InternalError,
            "marketplace interface not configured",
            None,
        );
    };
    let now = s.clock.now();
    let params = match v1::parse_query(&query.unwrap_or_default()) {
        Ok(p) => p,
        Err(e) => return answer(&s, "invalid", e.result_code(), &e.to_string(), None),
    };
    if let Err(e) = v1::authenticate(&m.license_v1_keys, &params, now, m.license_v1_max_skew_secs) {
        tracing::warn!(reason = %e, "License 1.0 call refused: authentication");
        return answer(
            &s,
            "unauthenticated",
            ResultCode::AuthenticationFailed,
            "authentication failed",
            None,
        );
    }
    let call = match v1::parse(&params) {
        Ok(c) => c,
        Err(e) => return answer(&s, "invalid", e.result_code(), &e.to_string(), None),
    };
    match call.activity {
        Activity::GetLicense {
            business_id,
            order_id,
            sku_code,
            product_id,
            expire_time,
            amount,
            ..
        } => {
            let activity = "getLicense";
            let Some(mapping) = m.product(&product_id, sku_code.as_deref()) else {
                tracing::warn!(
                    product_id,
                    sku_code = sku_code.as_deref().unwrap_or(""),
                    "getLicense for an unmapped product"
                );
                return answer(
                    &s,
                    activity,
                    ResultCode::InvalidParameters,
                    &format!(
                        "product {product_id:?} (sku {:?}) is not mapped to a keyward product in this merchant's configuration ([[marketplace.products]])",
                        sku_code.as_deref().unwrap_or("")
                    ),
                    None,
                );
            };
            let Some(license_id) = super::new_license_id() else {
                return answer(
                    &s,
                    activity,
                    ResultCode::InternalError,
                    "internal error",
                    None,
                );
            };
            let not_before = now.floor_minute();
            let expires = expire_time.or_else(|| {
                mapping
                    .days
                    .map(|d| not_before.add_secs(d.saturating_mul(DAY)))
            });
            let seats = mapping.seats.saturating_mul(amount.unwrap_or(1).max(1));
            let instance_id: String = business_id.chars().take(v1::MAX_INSTANCE_ID).collect();
            let terms = LicenseTerms {
                license_id,
                product: mapping.product.clone(),
                sku: mapping.sku.clone(),
                seats,
                not_before,
                expires,
                features: mapping.features.clone(),
                trial: call.test,
                instance_id: Some(instance_id),
                order_id: Some(order_id.clone()),
            };
            let code = match AuthorizationCode::issue(&s.key, terms.clone(), None) {
                Ok(c) => c.encode(),
                Err(e) => {
                    tracing::error!(error = %e, "getLicense: cannot sign");
                    return answer(
                        &s,
                        activity,
                        ResultCode::InvalidParameters,
                        &e.to_string(),
                        None,
                    );
                }
            };
            let record = LicenseRecord::from_terms(&terms, Some(code), now);
            let ev = event(
                now,
                activity,
                Some(&order_id),
                format!("v1:getLicense:{order_id}"),
                Some(&record.license_id),
                &params,
            );
            match s.ledger.issue_for_order(order_id.clone(), record, ev).await {
                Ok(l) => {
                    tracing::info!(order_id, license = %l.license_id, "getLicense: license issued");
                    let instance = l.instance_id.clone().unwrap_or_default();
                    let code = l.code.clone().unwrap_or_default();
                    answer(
                        &s,
                        activity,
                        ResultCode::Success,
                        "success",
                        Some((&instance, &code)),
                    )
                }
                Err(e) => {
                    tracing::error!(error = %e, order_id, "getLicense: ledger failed");
                    answer(
                        &s,
                        activity,
                        ResultCode::InternalError,
                        "internal error",
                        None,
                    )
                }
            }
        }
        Activity::RefreshLicense {
            order_id,
            instance_id,
            expire_time,
        } => {
            let key = format!("v1:refreshLicense:{order_id}");
            change(
                &s,
                "refreshLicense",
                &instance_id,
                Some(&order_id),
                Change::Renew(expire_time.secs()),
                key,
                &params,
                now,
            )
            .await
        }
        Activity::ExpireLicense {
            instance_id,
            order_id,
        } => {
            let key = format!(
                "v1:expireLicense:{instance_id}:{}",
                order_id.as_deref().unwrap_or("")
            );
            change(
                &s,
                "expireLicense",
                &instance_id,
                order_id.as_deref(),
                Change::Freeze,
                key,
                &params,
                now,
            )
            .await
        }
        Activity::ReleaseLicense {
            order_id,
            instance_id,
        } => {
            let key = format!("v1:releaseLicense:{instance_id}");
            change(
                &s,
                "releaseLicense",
                &instance_id,
                Some(&order_id),
                Change::Release,
                key,
                &params,
                now,
            )
            .await
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn change(
    s: &Shared,
    activity: &str,
    instance_id: &str,
    order_id: Option<&str>,
    change: Change,
    key: String,
    params: &[(String, String)],
    now: Timestamp,
) -> Response {
    let license = match s
        .ledger
        .find_marketplace_license(MarketRef::Instance(instance_id.to_owned()))
        .await
    {
        Ok(Some(l)) => l,
        Ok(None) => {
            return answer(
                s,
                activity,
                ResultCode::InstanceNotFound,
                "instance not found",
                None,
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "License 1.0: ledger failed");
            return answer(
                s,
                activity,
                ResultCode::InternalError,
                "internal error",
                None,
            );
        }
    };
    let Some(id) = keyward_core::LicenseId::parse(&license.license_id) else {
        return answer(
            s,
            activity,
            ResultCode::InternalError,
            "internal error",
            None,
        );
    };
    let ev = event(
        now,
        activity,
        order_id,
        key,
        Some(&license.license_id),
        params,
    );
    let sign = super::update_signer(s.key.clone(), id, change, now);
    match s
        .ledger
        .marketplace_change(license.license_id.clone(), change, None, ev, sign, now)
        .await
    {
        Ok(outcome) => {
            tracing::info!(
                activity,
                order_id = order_id.unwrap_or(""),
                license = %license.license_id,
                outcome = super::callbacks::outcome_word(&outcome),
                "License 1.0 call"
            );
            answer(s, activity, ResultCode::Success, "success", None)
        }
        Err(LedgerError::NotFound(_)) => answer(
            s,
            activity,
            ResultCode::InstanceNotFound,
            "instance not found",
            None,
        ),
        Err(e) => {
            tracing::error!(error = %e, "License 1.0: ledger failed");
            answer(
                s,
                activity,
                ResultCode::InternalError,
                "internal error",
                None,
            )
        }
    }
}
