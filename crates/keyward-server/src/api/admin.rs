//! The admin API, under `/api/v1/admin`, behind the bearer token: issue licenses, list and
//! search, show one, renew / freeze / unfreeze / release (each a signed update), revoke a
//! machine's activation, export.

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use keyward_core::{
    binding::Binding, time::DAY, AuthorizationCode, HardwareId, LicenseId, LicenseTerms,
    SystemIdCode, Timestamp,
};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::buyer::parse_license_id;
use super::{ApiJson, Shared};
use crate::error::ApiError;
use crate::ledger::{
    Actor, Change, LedgerError, LicenseDetail, LicenseListing, LicenseRecord, LicenseStatus,
    ListQuery, Seats, UpdateRecord,
};

/// Most licenses one issue call makes.
pub const MAX_BATCH: u32 = 1000;

pub(crate) fn router(state: Shared) -> Router<Shared> {
    Router::new()
        .route("/licenses", post(issue).get(list))
        .route("/licenses/{license_id}", get(show))
        .route("/licenses/{license_id}/renew", post(renew))
        .route("/licenses/{license_id}/freeze", post(freeze))
        .route("/licenses/{license_id}/unfreeze", post(unfreeze))
        .route("/licenses/{license_id}/release", post(release))
        .route("/licenses/{license_id}/revoke", post(revoke))
        .route("/export", get(export))
        .route(
            "/licenses/{license_id}/marketplace-events",
            get(crate::marketplace::admin_events),
        )
        .route(
            "/marketplace/reconcile",
            post(crate::marketplace::admin_reconcile),
        )
        .route_layer(middleware::from_fn_with_state(state, authorize))
}

/// Checks `Authorization: Bearer <token>`, comparing hashes in constant time (the hash
/// also hides the token's length).
async fn authorize(State(s): State<Shared>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let ok =
        given.is_some_and(|t| bool::from(crate::app::token_hash(t).ct_eq(&s.admin_token_hash)));
    if !ok {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the admin API needs the header Authorization: Bearer <token>, with the token from the service's admin-token file",
        )
        .into_response();
    }
    next.run(req).await
}

/// `POST /api/v1/admin/licenses` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IssueBody {
    product: String,
    #[serde(default)]
    sku: String,
    #[serde(default = "one")]
    seats: u32,
    /// Valid for this many days from now (else `expires`, else perpetual).
    days: Option<u32>,
    /// Valid until (RFC 3339 or YYYY-MM-DD).
    expires: Option<String>,
    #[serde(default)]
    features: Vec<String>,
    #[serde(default)]
    trial: bool,
    instance_id: Option<String>,
    order_id: Option<String>,
    /// Bind to this system identification code.
    bind_system_id: Option<String>,
    /// Bind to this hardware identification code.
    bind_hardware_id: Option<String>,
    /// How many licenses (each with its own id and code).
    #[serde(default = "one")]
    count: u32,
}

fn one() -> u32 {
    1
}

#[derive(Serialize)]
pub(crate) struct Issued {
    license_id: String,
    code: String,
}

#[derive(Serialize)]
pub(crate) struct IssueAnswer {
    licenses: Vec<Issued>,
}

fn parse_time(field: &str, text: &str) -> Result<Timestamp, ApiError> {
    Timestamp::parse(text).ok_or_else(|| {
        ApiError::bad_request(format!(
            "{field} {text:?} is not a date: use YYYY-MM-DD or RFC 3339 (2027-12-01T00:00:00Z)"
        ))
    })
}

fn random_id() -> Result<LicenseId, ApiError> {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).map_err(|e| {
        tracing::error!(error = %e, "no randomness");
        ApiError::internal()
    })?;
    Ok(LicenseId(b))
}

async fn issue(
    State(s): State<Shared>,
    ApiJson(b): ApiJson<IssueBody>,
) -> Result<Json<IssueAnswer>, ApiError> {
    if b.count == 0 || b.count > MAX_BATCH {
        return Err(ApiError::bad_request(format!(
            "count must be 1 to {MAX_BATCH}, got {}",
            b.count
        )));
    }
    let now = s.clock.now();
    let expires = match (b.days, &b.expires) {
        (Some(_), Some(_)) => return Err(ApiError::bad_request("give days or expires, not both")),
        (Some(0), None) => return Err(ApiError::bad_request("days must be at least 1")),
        (Some(d), None) => Some(now.add_secs(u64::from(d) * DAY)),
        (None, Some(e)) => Some(parse_time("expires", e)?),
        (None, None) => None,
    };
    let binding = match (&b.bind_system_id, &b.bind_hardware_id) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "give bind_system_id or bind_hardware_id, not both",
            ))
        }
        (Some(sys), None) => {
            let sys = SystemIdCode::decode(sys).map_err(ApiError::from)?;
            sys.check_product(&b.product).map_err(ApiError::from)?;
            Some(Binding::system(sys, None)?)
        }
        (None, Some(hw)) => Some(Binding::hardware(&HardwareId::parse(hw)?, None)?),
        (None, None) => None,
    };
    let mut out = Vec::new();
    for _ in 0..b.count {
        let terms = LicenseTerms {
            license_id: random_id()?,
            product: b.product.clone(),
            sku: b.sku.clone(),
            seats: b.seats,
            not_before: now,
            expires,
            features: b.features.clone(),
            trial: b.trial,
            instance_id: b.instance_id.clone(),
            order_id: b.order_id.clone(),
        };
        let code = AuthorizationCode::issue(&s.key, terms, binding.clone())?;
        let text = code.encode();
        let record = LicenseRecord::from_terms(code.terms(), Some(text.clone()), now);
        s.ledger.issue(record, Actor::Admin).await?;
        out.push(Issued {
            license_id: code.terms().license_id.to_string(),
            code: text,
        });
    }
    tracing::info!(count = out.len(), product = %b.product, "licenses issued");
    Ok(Json(IssueAnswer { licenses: out }))
}

/// `GET /api/v1/admin/licenses` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListParams {
    q: Option<String>,
    status: Option<String>,
    #[serde(default = "hundred")]
    limit: u32,
    #[serde(default)]
    offset: u32,
}

fn hundred() -> u32 {
    100
}

#[derive(Serialize)]
pub(crate) struct ListAnswer {
    licenses: Vec<LicenseListing>,
}

type QueryResult<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;

fn query<T>(q: QueryResult<T>) -> Result<T, ApiError> {
    q.map(|Query(v)| v).map_err(|e| {
        ApiError::bad_request(format!(
            "the query is not valid: {} (see docs/API.md)",
            e.body_text()
        ))
    })
}

async fn list(
    State(s): State<Shared>,
    params: QueryResult<ListParams>,
) -> Result<Json<ListAnswer>, ApiError> {
    let p = query(params)?;
    let status = match p.status.as_deref() {
        None | Some("") => None,
        Some(t) => Some(LicenseStatus::parse(t).ok_or_else(|| {
            ApiError::bad_request(format!(
                "status {t:?} is not known: use active, frozen or released"
            ))
        })?),
    };
    let licenses = s
        .ledger
        .list(ListQuery {
            search: p.q.filter(|q| !q.is_empty()),
            status,
            limit: p.limit,
            offset: p.offset,
        })
        .await?;
    Ok(Json(ListAnswer { licenses }))
}

async fn show(
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<LicenseDetail>, ApiError> {
    let id = parse_license_id(&id)?.to_string();
    Ok(Json(s.ledger.license(id).await?))
}

/// A change asked of a released license, said to the merchant (the ledger's own sentence is
/// the buyer's).
fn released(license_id: LicenseId) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "released",
        format!(
            "license {license_id} was released and has ended for good: it cannot be renewed, frozen or unfrozen; issue a new license (keyward admin issue) if the buyer should have one"
        ),
    )
}

/// `renew` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RenewBody {
    expires: String,
}

async fn change(s: &Shared, id: &str, change: Change) -> Result<Json<UpdateRecord>, ApiError> {
    let license_id = parse_license_id(id)?;
    let now = s.clock.now();
    // What the merchant asks must change something: an update that changes nothing (a second
    // freeze, an unfreeze of a license that is not frozen, a renewal into the past) is a
    // mistake to report, not a signed update to publish. (The marketplace's calls go through
    // the ledger directly: they are answered even when they change nothing.)
    let current = s.ledger.license(license_id.to_string()).await?.license;
    let refused = |why: String| Err(ApiError::new(StatusCode::CONFLICT, "conflict", why));
    match (current.status, change) {
        (LicenseStatus::Released, _) => return Err(released(license_id)),
        (LicenseStatus::Frozen, Change::Freeze) => {
            return refused(format!(
                "license {license_id} is already frozen: nothing was published (keyward admin unfreeze lifts the freeze)"
            ))
        }
        (LicenseStatus::Active, Change::Unfreeze) => {
            return refused(format!(
                "license {license_id} is not frozen: nothing was published"
            ))
        }
        (_, Change::Renew(expires)) if expires <= now.secs() => {
            return Err(ApiError::bad_request(format!(
                "the new expiry {} is not after now ({}): a renewal sets a later expiry; to end the license now, release it (keyward admin release {license_id})",
                Timestamp(expires).to_rfc3339(),
                now.to_rfc3339()
            )))
        }
        _ => {}
    }
    let sign = crate::marketplace::update_signer(s.key.clone(), license_id, change, now);
    let update = s
        .ledger
        .change(license_id.to_string(), change, sign, now, Actor::Admin)
        .await
        .map_err(|e| match e {
            LedgerError::Released => released(license_id),
            e => e.into(),
        })?;
    tracing::info!(license = %license_id, action = change.as_str(), sequence = update.sequence, "update published");
    Ok(Json(update))
}

async fn renew(
    State(s): State<Shared>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<RenewBody>,
) -> Result<Json<UpdateRecord>, ApiError> {
    let expires = parse_time("expires", &b.expires)?;
    change(&s, &id, Change::Renew(expires.secs())).await
}

async fn freeze(
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<UpdateRecord>, ApiError> {
    change(&s, &id, Change::Freeze).await
}

async fn unfreeze(
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<UpdateRecord>, ApiError> {
    change(&s, &id, Change::Unfreeze).await
}

async fn release(
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<UpdateRecord>, ApiError> {
    change(&s, &id, Change::Release).await
}

/// `revoke` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RevokeBody {
    machine: String,
}

#[derive(Serialize)]
pub(crate) struct RevokeAnswer {
    license_id: String,
    machine: String,
    seats: Seats,
}

/// A machine in normal form (what the ledger stores), whatever way it was typed.
fn normal_machine(text: &str) -> Result<String, ApiError> {
    match SystemIdCode::decode(text) {
        Ok(sys) => return Ok(sys.to_string()),
        // A system identification code with a mistake: say which (a typo in group 5, a
        // character missing), not that it is no code at all.
        Err(e)
            if text
                .trim()
                .get(..3)
                .is_some_and(|p| p.eq_ignore_ascii_case("KS1")) =>
        {
            return Err(ApiError::from(e));
        }
        Err(_) => {}
    }
    HardwareId::parse(text).map(|h| h.to_string()).map_err(|_| {
        ApiError::bad_request(format!(
            "machine {text:?} is neither a system identification code (KS1-…) nor a hardware identification code: copy it from the license's activations (keyward admin show)"
        ))
    })
}

async fn revoke(
    State(s): State<Shared>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<RevokeBody>,
) -> Result<Json<RevokeAnswer>, ApiError> {
    let license_id = parse_license_id(&id)?.to_string();
    let machine = normal_machine(&b.machine)?;
    let done = s
        .ledger
        .revoke(license_id.clone(), machine, s.clock.now(), Actor::Admin)
        .await?;
    s.metrics.deactivations.inc();
    Ok(Json(RevokeAnswer {
        license_id,
        machine: done.machine,
        seats: done.seats,
    }))
}

/// `GET /api/v1/admin/export` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExportParams {
    #[serde(default = "jsonl")]
    format: String,
}

fn jsonl() -> String {
    "jsonl".into()
}

/// One line of an export: a license with its activations.
#[derive(Serialize)]
struct ExportLine<'a> {
    #[serde(flatten)]
    license: &'a LicenseRecord,
    seats_used: u32,
    activations: Vec<&'a crate::ledger::ActivationRecord>,
}

async fn export(
    State(s): State<Shared>,
    params: QueryResult<ExportParams>,
) -> Result<Response, ApiError> {
    let p = query(params)?;
    let mut licenses = Vec::new();
    let mut offset = 0;
    loop {
        let page = s
            .ledger
            .list(ListQuery {
                search: None,
                status: None,
                limit: 1000,
                offset,
            })
            .await?;
        let n = page.len() as u32;
        licenses.extend(page);
        if n < 1000 {
            break;
        }
        offset += n;
    }
    let activations = s.ledger.all_activations().await?;
    match p.format.as_str() {
        "jsonl" => {
            let mut out = String::new();
            for l in &licenses {
                let line = ExportLine {
                    license: &l.license,
                    seats_used: l.seats_used,
                    activations: activations
                        .iter()
                        .filter(|a| a.license_id == l.license.license_id)
                        .collect(),
                };
                out.push_str(&serde_json::to_string(&line).map_err(|_| ApiError::internal())?);
                out.push('\n');
            }
            Ok(([(header::CONTENT_TYPE, "application/jsonl")], out).into_response())
        }
        "csv" => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let header_row = [
                "license_id",
                "product",
                "sku",
                "seats",
                "seats_used",
                "status",
                "not_before",
                "expires",
                "features",
                "trial",
                "instance_id",
                "order_id",
                "machine",
                "activated",
                "deactivated",
                "deactivated_by",
            ];
            w.write_record(header_row)
                .map_err(|_| ApiError::internal())?;
            let time = |t: Option<u64>| t.map(|t| Timestamp(t).to_rfc3339()).unwrap_or_default();
            for l in &licenses {
                let r = &l.license;
                let base = [
                    r.license_id.clone(),
                    r.product.clone(),
                    r.sku.clone(),
                    r.seats.to_string(),
                    l.seats_used.to_string(),
                    r.status.as_str().to_string(),
                    time(Some(r.not_before)),
                    time(r.expires),
                    r.features.join(" "),
                    r.trial.to_string(),
                    r.instance_id.clone().unwrap_or_default(),
                    r.order_id.clone().unwrap_or_default(),
                ];
                let mine: Vec<_> = activations
                    .iter()
                    .filter(|a| a.license_id == r.license_id)
                    .collect();
                if mine.is_empty() {
                    let mut row = base.to_vec();
                    row.extend([String::new(), String::new(), String::new(), String::new()]);
                    w.write_record(&row).map_err(|_| ApiError::internal())?;
                }
                for a in mine {
                    let mut row = base.to_vec();
                    row.extend([
                        a.machine.clone(),
                        time(Some(a.activated)),
                        time(a.deactivated),
                        a.deactivated_by.clone().unwrap_or_default(),
                    ]);
                    w.write_record(&row).map_err(|_| ApiError::internal())?;
                }
            }
            let bytes = w.into_inner().map_err(|_| ApiError::internal())?;
            Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], bytes).into_response())
        }
        other => Err(ApiError::bad_request(format!(
            "export format {other:?} is not known: use format=csv or format=jsonl"
        ))),
    }
}
