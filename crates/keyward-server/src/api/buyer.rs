//! The buyer API: activations, deactivations, updates (see docs/API.md).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use keyward_core::{
    binding::{Binding, MachineRef},
    ActivationCertificate, ActivationRequest, Artifact, AuthorizationCode, DeactivationCode,
    HardwareId, Kind, LicenseId, SystemIdCode,
};
use serde::{Deserialize, Serialize};

use super::{check_rate, ApiJson, ClientAddr, Shared};
use crate::error::ApiError;
use crate::ledger::{
    ActivationAttempt, Actor, LedgerError, LicenseRecord, MatchCertificate, Seats, SignCertificate,
};
use crate::metrics::OutcomeLabels;

/// `POST /api/v1/activations` body: a request, or a code with a machine.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActivationBody {
    request: Option<String>,
    code: Option<String>,
    system_id: Option<String>,
    hardware_id: Option<String>,
    /// The marketplace's `PL…` code (the page's field for it; `code` takes it too).
    marketplace_code: Option<String>,
    /// A system or hardware identification code, told apart by its form (the page's
    /// machine field).
    machine: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct ActivationAnswer {
    certificate: String,
    license_id: String,
    machine: String,
    seats: Seats,
    reactivated: bool,
}

/// Where a field's error came from, so the message names the field.
fn field_error(field: &str, e: keyward_core::Error) -> ApiError {
    let mut a = ApiError::from(e);
    a.message = format!("{field}: {}", a.message);
    a
}

fn parse_code(s: &Shared, text: &str) -> Result<AuthorizationCode, ApiError> {
    match Artifact::parse_expecting(text, Kind::AuthorizationCode, Some(&s.trusted)) {
        Ok(Artifact::AuthorizationCode(c)) => Ok(c),
        Ok(_) => Err(ApiError::bad_request(
            "code: this is not an authorization code (KA1-…)",
        )),
        Err(e) => Err(field_error("code", e)),
    }
}

/// Turns the body into the code, the machine and the nonce.
fn read_body(
    s: &Shared,
    b: ActivationBody,
) -> Result<(AuthorizationCode, MachineRef, [u8; 8]), ApiError> {
    let (code, machine, nonce) = read_parts(s, b)?;
    // A system identification code made without the product (or for another) would bind
    // the seat to a code no machine matches.
    if let MachineRef::System(sys) = &machine {
        sys.check_product(&code.terms().product)
            .map_err(ApiError::from)?;
    }
    Ok((code, machine, nonce))
}

fn read_parts(
    s: &Shared,
    b: ActivationBody,
) -> Result<(AuthorizationCode, MachineRef, [u8; 8]), ApiError> {
    match (b.request, b.code, b.system_id, b.hardware_id) {
        (Some(r), None, None, None) => {
            match Artifact::parse_expecting(&r, Kind::ActivationRequest, Some(&s.trusted)) {
                Ok(Artifact::ActivationRequest(ActivationRequest {
                    code,
                    machine,
                    nonce,
                    ..
                })) => Ok((code, machine, nonce)),
                Ok(_) => Err(ApiError::bad_request(
                    "request: this is not an activation request (KR1-…)",
                )),
                Err(e) => Err(field_error("request", e)),
            }
        }
        (None, Some(c), Some(sys), None) => {
            let code = parse_code(s, &c)?;
            let sys = SystemIdCode::decode(&sys).map_err(|e| field_error("system_id", e))?;
            Ok((code, MachineRef::System(sys), server_nonce()?))
        }
        (None, Some(c), None, Some(hw)) => {
            let code = parse_code(s, &c)?;
            let hw = HardwareId::parse(&hw).map_err(|e| field_error("hardware_id", e))?;
            Ok((code, MachineRef::Hardware(hw), server_nonce()?))
        }
        _ => Err(ApiError::bad_request(
            "give either {\"request\": \"KR1-…\"}, or {\"code\": \"KA1-…\"} with exactly one of \"system_id\" (KS1-…) or \"hardware_id\"",
        )),
    }
}

/// A nonce for a request the service makes on a buyer's behalf. No machine holds a secret
/// for it, so such a seat is freed by the merchant (admin revoke), not by a deactivation
/// code.
fn server_nonce() -> Result<[u8; 8], ApiError> {
    let mut n = [0u8; 8];
    getrandom::fill(&mut n).map_err(|e| {
        tracing::error!(error = %e, "no randomness");
        ApiError::internal()
    })?;
    Ok(n)
}

fn machine_mismatch(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "machine_mismatch", message)
}

/// The binding to sign: the code's own when it is bound (and this machine matches it).
fn binding_for(code: &AuthorizationCode, machine: &MachineRef) -> Result<Binding, ApiError> {
    let tolerance = match code.binding() {
        None => None,
        Some(b) => match b.check_machine_ref(machine) {
            Some(Ok(())) => Some(b.tolerance()),
            Some(Err(m)) => {
                return Err(machine_mismatch(format!(
                    "the authorization code is bound to another machine: {} of the required {} facts match{}; use the machine the code was issued for",
                    m.matched,
                    m.required,
                    if m.differing.is_empty() {
                        String::new()
                    } else {
                        format!(" (differing: {})", m.differing.join(", "))
                    }
                )))
            }
            None => {
                return Err(machine_mismatch(
                    "the authorization code is bound to the other kind of machine identification (system vs hardware identification code): give the kind it was issued for".into(),
                ))
            }
        },
    };
    Ok(match machine {
        MachineRef::System(sys) => Binding::system(*sys, tolerance)?,
        MachineRef::Hardware(h) => Binding::hardware(h, tolerance)?,
    })
}

/// `POST /api/v1/activations`.
pub(crate) async fn activate(
    State(s): State<Shared>,
    ClientAddr(ip): ClientAddr,
    ApiJson(body): ApiJson<ActivationBody>,
) -> Result<Json<ActivationAnswer>, ApiError> {
    let result = activate_inner(&s, ip, body).await;
    let outcome = match &result {
        Ok(a) if a.reactivated => "reactivated".to_string(),
        Ok(_) => "new".to_string(),
        Err(e) => e.code.clone(),
    };
    s.metrics
        .activations
        .get_or_create(&OutcomeLabels { outcome })
        .inc();
    result.map(Json)
}

async fn activate_inner(
    s: &Shared,
    ip: Option<std::net::IpAddr>,
    mut body: ActivationBody,
) -> Result<ActivationAnswer, ApiError> {
    check_rate(s, ip)?;
    if let Some(pl) = body.marketplace_code.take() {
        if body.code.is_some() {
            return Err(ApiError::bad_request(
                "give the marketplace's code as \"marketplace_code\" or \"code\", not both",
            ));
        }
        if crate::marketplace::bridge::marketplace_code(&pl).is_none() {
            return Err(ApiError::bad_request(
                "marketplace_code: a marketplace code starts with PL and has at most 64 letters and digits",
            ));
        }
        body.code = Some(pl);
    }
    if let Some(machine) = body.machine.take() {
        if body.system_id.is_some() || body.hardware_id.is_some() {
            return Err(ApiError::bad_request(
                "give the machine as \"machine\", \"system_id\" or \"hardware_id\": one of them",
            ));
        }
        if keyward_core::text::sniff_kind(&machine) == Some(Kind::SystemId) {
            body.system_id = Some(machine);
        } else {
            body.hardware_id = Some(machine);
        }
    }
    // The marketplace's own `PL…` code: bridged to keyward's authorization code first.
    // (Without a marketplace configured, the code is judged as any other: core says it is
    // the marketplace's own code, which this service does not activate.)
    if let Some(pl) = body
        .code
        .as_deref()
        .filter(|_| s.marketplace.is_some())
        .and_then(crate::marketplace::bridge::marketplace_code)
    {
        body.code = Some(crate::marketplace::bridge::resolve(s, &pl).await?);
    }
    let (code, machine, nonce) = read_body(s, body)?;
    let binding = binding_for(&code, &machine)?;
    let machine_text = match &machine {
        MachineRef::System(sys) => sys.to_string(),
        MachineRef::Hardware(h) => h.to_string(),
    };
    let now = s.clock.now();
    let license = LicenseRecord::from_terms(code.terms(), None, now);
    let license_id = license.license_id.clone();
    let key = s.key.clone();
    let sign: SignCertificate = Box::new(move |l: &LicenseRecord| {
        let terms = l
            .terms()
            .ok_or_else(|| LedgerError::Corrupt(format!("license id {:?}", l.license_id)))?;
        ActivationCertificate::issue(&key, terms, binding, nonce, now)
            .map(|c| c.encode())
            .map_err(LedgerError::Sign)
    });
    let done = s
        .ledger
        .activate(
            ActivationAttempt {
                license,
                machine: machine_text.clone(),
                nonce,
                now,
                actor: Actor::Buyer(ip.map(|i| i.to_string()).unwrap_or_default()),
            },
            sign,
        )
        .await?;
    tracing::info!(
        license = %license_id,
        reactivated = done.reactivated,
        seats_used = done.seats.used,
        "activation"
    );
    Ok(ActivationAnswer {
        certificate: done.certificate,
        license_id,
        machine: machine_text,
        seats: done.seats,
        reactivated: done.reactivated,
    })
}

/// `POST /api/v1/deactivations` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeactivationBody {
    deactivation_code: String,
}

#[derive(Serialize)]
pub(crate) struct DeactivationAnswer {
    license_id: String,
    machine: String,
    seats: Seats,
}

/// `POST /api/v1/deactivations`.
pub(crate) async fn deactivate(
    State(s): State<Shared>,
    ClientAddr(ip): ClientAddr,
    ApiJson(body): ApiJson<DeactivationBody>,
) -> Result<Json<DeactivationAnswer>, ApiError> {
    check_rate(&s, ip)?;
    // keyward-core decodes (typos located); the ledger finds the live activation whose
    // certificate carries the commitment to this secret, and frees it in one transaction.
    let code = DeactivationCode::decode(&body.deactivation_code)
        .map_err(|e| field_error("deactivation_code", e))?;
    let license_id = code.license_id.to_string();
    let matcher: MatchCertificate = Box::new(move |certificate: &str| {
        ActivationCertificate::decode_unverified(certificate).is_ok_and(|c| code.verifies(&c))
    });
    let done = s
        .ledger
        .deactivate(
            license_id.clone(),
            matcher,
            s.clock.now(),
            Actor::Buyer(ip.map(|i| i.to_string()).unwrap_or_default()),
        )
        .await?;
    s.metrics.deactivations.inc();
    tracing::info!(license = %license_id, seats_used = done.seats.used, "deactivation");
    Ok(Json(DeactivationAnswer {
        license_id,
        machine: done.machine,
        seats: done.seats,
    }))
}

/// `?after=N`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdatesQuery {
    #[serde(default)]
    after: u32,
}

#[derive(Serialize)]
pub(crate) struct UpdatesAnswer {
    license_id: String,
    updates: Vec<UpdateItem>,
}

#[derive(Serialize)]
struct UpdateItem {
    sequence: u32,
    update: String,
}

pub(crate) fn parse_license_id(text: &str) -> Result<LicenseId, ApiError> {
    LicenseId::parse(text).ok_or_else(|| {
        ApiError::bad_request(format!(
            "{:?} is not a license id: a license id is 16 hexadecimal digits",
            text.chars().take(40).collect::<String>()
        ))
    })
}

/// `GET /api/v1/licenses/{license_id}/updates?after=N`.
pub(crate) async fn updates(
    State(s): State<Shared>,
    Path(license_id): Path<String>,
    query: Result<Query<UpdatesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<UpdatesAnswer>, ApiError> {
    let Query(q) = query.map_err(|e| {
        ApiError::bad_request(format!(
            "the query is not valid ({}): after must be a whole number from 0 to 4294967295",
            e.body_text()
        ))
    })?;
    let id = parse_license_id(&license_id)?.to_string();
    let list = s.ledger.updates(id.clone(), q.after).await?;
    Ok(Json(UpdatesAnswer {
        license_id: id,
        updates: list
            .into_iter()
            .map(|u| UpdateItem {
                sequence: u.sequence,
                update: u.update,
            })
            .collect(),
    }))
}
