//! The `PL…` code bridge: a buyer gives the marketplace's own authorization code (with a
//! system or hardware identification code) to the activation API; the service records the
//! bridge, activates the code with the marketplace (open API, signed with AK/SK), and issues
//! keyward's own authorization code for it, which the activation then binds to the machine.
//! The same `PL…` code again gives the same keyward license (seat rules apply).

use axum::http::StatusCode;
use keyward_core::{time::DAY, AuthorizationCode, LicenseTerms};
use keyward_marketplace::openapi::{MarketStatus, OpenApiError};

use crate::app::Shared;
use crate::error::ApiError;
use crate::ledger::{Bridge, LicenseRecord};

/// The marketplace code in `text`, when it is one: `PL` then letters, digits, `-` or `_`,
/// at most 64 characters in all.
pub fn marketplace_code(text: &str) -> Option<String> {
    let t = text.trim();
    let ok = t.len() <= keyward_marketplace::callback::MAX_LICENSE_LEN
        && t.len() > 2
        && t.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("PL"))
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| t.to_owned())
}

fn refusal(status: StatusCode, code: &str, en: &str, zh: &str) -> ApiError {
    ApiError::new(status, code, format!("{en} {zh}"))
}

fn from_open_api(e: &OpenApiError) -> ApiError {
    let status = match e.code() {
        "marketplace_not_delivered" => StatusCode::CONFLICT,
        "marketplace_code_unknown" => StatusCode::NOT_FOUND,
        "marketplace_refused" => StatusCode::BAD_REQUEST,
        _ => StatusCode::BAD_GATEWAY,
    };
    refusal(status, e.code(), e.buyer_message_en(), e.buyer_message_zh())
}

/// Resolves a `PL…` code to keyward's authorization code text, bridging it first when this
/// is its first use.
pub(crate) async fn resolve(s: &Shared, code: &str) -> Result<String, ApiError> {
    let not_configured = || {
        refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "marketplace_not_configured",
            "This merchant has not set up marketplace activation yet: contact the merchant's support with your code.",
            "商家尚未配置云商店激活：请携带授权码联系商家客服。",
        )
    };
    let m = s.marketplace.clone().ok_or_else(not_configured)?;
    let now = s.clock.now();
    match s.ledger.begin_bridge(code.to_owned(), now.secs()).await? {
        Bridge::Done(l) => return l.code.ok_or_else(ApiError::internal),
        Bridge::Pending => {}
    }
    let client = m.client.as_ref().ok_or_else(not_configured)?;
    let info = match client.activate(code, None).await {
        Ok(Some(info)) => info,
        Ok(None) => client
            .query(code)
            .await
            .map_err(|e| from_open_api(&e))?
            .ok_or_else(|| {
                from_open_api(&OpenApiError::BadAnswer("no license_code_info".into()))
            })?,
        Err(e) => {
            tracing::warn!(error = %e, "marketplace activate failed");
            return Err(from_open_api(&e));
        }
    };
    match info.status {
        MarketStatus::Alive => {}
        MarketStatus::Expired => return Err(refusal(
            StatusCode::CONFLICT,
            "expired",
            "The marketplace says this code has expired: renew it in KooGallery, then try again.",
            "云商店显示此授权码已过期：请在云商店续费后重试。",
        )),
        MarketStatus::Released | MarketStatus::Other(_) => {
            return Err(refusal(
                StatusCode::CONFLICT,
                "released",
                "The marketplace says this code was released (ended): it cannot be activated.",
                "云商店显示此授权码已释放（结束）：无法激活。",
            ))
        }
    }
    let product_id = info.product_id.clone().unwrap_or_default();
    let Some(mapping) = m.product(&product_id, None) else {
        tracing::error!(
            product_id,
            "PL code for a product not mapped in [[marketplace.products]]"
        );
        return Err(refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "marketplace_not_configured",
            "This product is not set up for marketplace activation yet: contact the merchant's support with your code.",
            "此商品尚未配置云商店激活：请携带授权码联系商家客服。",
        ));
    };
    let license_id = super::new_license_id().ok_or_else(ApiError::internal)?;
    let not_before = now.floor_minute();
    let terms = LicenseTerms {
        license_id,
        product: mapping.product.clone(),
        sku: mapping.sku.clone(),
        seats: mapping
            .seats
            .saturating_mul(info.amount.unwrap_or(1).max(1)),
        not_before,
        expires: info.expire_time.or_else(|| {
            mapping
                .days
                .map(|d| not_before.add_secs(d.saturating_mul(DAY)))
        }),
        features: mapping.features.clone(),
        trial: false,
        instance_id: None,
        order_id: info.order_id.clone(),
    };
    let text = AuthorizationCode::issue(&s.key, terms.clone(), None)?.encode();
    let mut record = LicenseRecord::from_terms(&terms, Some(text), now);
    record.marketplace_license = Some(code.to_owned());
    let license = s
        .ledger
        .complete_bridge(code.to_owned(), record, now.secs())
        .await?;
    tracing::info!(license = %license.license_id, "marketplace code bridged");
    license.code.ok_or_else(ApiError::internal)
}
