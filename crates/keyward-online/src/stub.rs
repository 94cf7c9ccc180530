//! A stub of the merchant service's buyer API, for the clients' tests: the three buyer
//! routes, implemented with keyward-core over an in-memory seat ledger, served on
//! 127.0.0.1 only. It is not the merchant service (crates/keyward-server): no database, no
//! admin, no limits beyond a body cap; it exists so the clients (CLI, keyward-host) are
//! tested against the contract without depending on the service's crate.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use keyward_core::{
    binding::{Binding, MachineRef},
    ActivationCertificate, ActivationRequest, Artifact, AuthorizationCode, DeactivationCode, Error,
    HardwareId, Kind, LicenseId, MerchantKey, SignedUpdate, SystemIdCode, Timestamp, TrustedKeys,
    UpdateAction,
};
use serde_json::{json, Value};

/// One activation in the stub's ledger.
#[derive(Clone, Debug)]
pub struct StubActivation {
    /// The machine's code, as text.
    pub machine: String,
    /// The certificate signed for it.
    pub certificate: ActivationCertificate,
    /// Still holding its seat.
    pub live: bool,
}

#[derive(Default)]
struct Ledger {
    activations: HashMap<LicenseId, Vec<StubActivation>>,
    updates: HashMap<LicenseId, Vec<(u32, String)>>,
    /// The marketplace's `PL…` codes the stub bridges, to the authorization code each
    /// stands for (the real service asks the marketplace; see keyward-server).
    bridged: HashMap<String, String>,
}

struct Shared {
    key: MerchantKey,
    trusted: TrustedKeys,
    now: Timestamp,
    ledger: Mutex<Ledger>,
}

impl Shared {
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // A panicking handler cannot leave the ledger half-changed (each change is one
        // push or one flag), so a poisoned lock is still usable.
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The running stub; stopped when dropped.
pub struct StubServer {
    url: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl StubServer {
    /// Starts the stub on a free port of 127.0.0.1, signing with `key` at time `now`.
    pub fn start(key: MerchantKey, now: Timestamp) -> std::io::Result<StubServer> {
        let listener = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        listener.set_nonblocking(true)?;
        let url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared {
            trusted: TrustedKeys::from_keys([key.public()]),
            key,
            now,
            ledger: Mutex::new(Ledger::default()),
        });
        let app = Router::new()
            .route("/api/v1/activations", post(activations))
            .route("/api/v1/deactivations", post(deactivations))
            .route("/api/v1/licenses/{id}/updates", get(updates))
            .with_state(shared.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        Ok(StubServer {
            url,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The license's activations so far.
    pub fn activations(&self, license: LicenseId) -> Vec<StubActivation> {
        self.shared
            .ledger()
            .activations
            .get(&license)
            .cloned()
            .unwrap_or_default()
    }

    /// Makes the marketplace's `pl_code` stand for `authorization_code` when a client
    /// activates with it (as the service's bridge would after asking the marketplace).
    pub fn bridge(&self, pl_code: &str, authorization_code: &str) {
        self.shared
            .ledger()
            .bridged
            .insert(pl_code.to_string(), authorization_code.to_string());
    }

    /// Signs an update for `license` with the next sequence number and publishes it;
    /// returns its text.
    pub fn publish(&self, license: LicenseId, action: UpdateAction) -> Result<String, Error> {
        let mut ledger = self.shared.ledger();
        let list = ledger.updates.entry(license).or_default();
        let sequence = list.last().map_or(1, |(s, _)| s + 1);
        let text =
            SignedUpdate::issue(&self.shared.key, license, sequence, action, self.shared.now)?
                .encode();
        list.push((sequence, text.clone()));
        Ok(text)
    }
}

impl Drop for StubServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn refuse(status: StatusCode, code: &str, message: String, suggestion: Option<String>) -> Response {
    (
        status,
        Json(json!({ "code": code, "message": message, "suggestion": suggestion })),
    )
        .into_response()
}

fn core_refusal(e: &Error) -> Response {
    let status = match e.code().as_str() {
        "bad_signature" | "unknown_key" => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::BAD_REQUEST,
    };
    refuse(
        status,
        e.code().as_str(),
        e.to_string(),
        e.suggestion().map(String::from),
    )
}

/// The JSON object of a request, or the refusal the contract gives.
fn body_json(headers: &HeaderMap, body: &Bytes) -> Result<Value, Box<Response>> {
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_type {
        return Err(Box::new(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send JSON with Content-Type: application/json".into(),
            None,
        )));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(Box::new(refuse(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the body is not a JSON object".into(),
            None,
        ))),
    }
}

fn field<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

fn machine_text(m: &MachineRef) -> String {
    match m {
        MachineRef::System(s) => s.encode(),
        MachineRef::Hardware(h) => h.to_string(),
    }
}

async fn activations(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let v = match body_json(&headers, &body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let parsed: Result<(AuthorizationCode, MachineRef, [u8; 8]), Error> = if let Some(text) =
        field(&v, "request")
    {
        Artifact::parse_expecting(text, Kind::ActivationRequest, Some(&s.trusted)).and_then(|a| {
            match a {
                Artifact::ActivationRequest(r) => Ok((r.code.clone(), r.machine.clone(), r.nonce)),
                _ => Err(Error::WrongKind {
                    expected: Kind::ActivationRequest,
                    found: Kind::ActivationRequest,
                }),
            }
        })
    } else if let Some(code) = field(&v, "code") {
        // The marketplace's own code: the authorization code it was bridged to.
        let bridged = match Artifact::parse(code, None) {
            Err(Error::MarketplaceCode) => match s.ledger().bridged.get(code.trim()) {
                Some(c) => Some(c.clone()),
                None => {
                    return refuse(
                        StatusCode::NOT_FOUND,
                        "marketplace_code_unknown",
                        "the marketplace does not know this code".into(),
                        None,
                    )
                }
            },
            _ => None,
        };
        let code = bridged.as_deref().unwrap_or(code);
        let machine = match (field(&v, "system_id"), field(&v, "hardware_id")) {
            (Some(sys), _) => SystemIdCode::decode(sys).map(MachineRef::System),
            (None, Some(hw)) => HardwareId::parse(hw).map(MachineRef::Hardware),
            (None, None) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "give system_id or hardware_id with the code".into(),
                    None,
                )
            }
        };
        machine.and_then(|m| {
            AuthorizationCode::decode(code, &s.trusted).map(|c| {
                // A server-chosen nonce: no machine holds a secret for it.
                let nonce = ActivationRequest::new(c.clone(), m.clone(), [0; 8], s.now)
                    .to_bytes()
                    .iter()
                    .fold([0u8; 8], |mut acc, b| {
                        acc.rotate_left(1);
                        acc[0] ^= b;
                        acc
                    });
                (c, m, nonce)
            })
        })
    } else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "give request, or code with system_id or hardware_id".into(),
            None,
        );
    };
    let (code, machine, nonce) = match parsed {
        Ok(p) => p,
        Err(e) => return core_refusal(&e),
    };
    let terms = code.terms().clone();
    let id = terms.license_id;
    let machine_name = machine_text(&machine);
    let mut ledger = s.ledger();
    let list = ledger.activations.entry(id).or_default();
    let used = list.iter().filter(|a| a.live).count() as u32;
    if let Some(a) = list.iter().find(|a| a.live && a.machine == machine_name) {
        return Json(json!({
            "certificate": a.certificate.encode(),
            "license_id": id.to_string(),
            "machine": machine_name,
            "seats": { "used": used, "total": terms.seats },
            "reactivated": true,
        }))
        .into_response();
    }
    if used >= terms.seats {
        let on: Vec<&str> = list
            .iter()
            .filter(|a| a.live)
            .map(|a| a.machine.get(..10).unwrap_or(&a.machine))
            .collect();
        return refuse(
            StatusCode::CONFLICT,
            "no_seat_left",
            format!(
                "all {} seats of license {id} are in use (on {}): deactivate one of those machines first",
                terms.seats,
                on.join(", ")
            ),
            None,
        );
    }
    let binding = match &machine {
        MachineRef::System(sys) => sys
            .check_product(&terms.product)
            .and_then(|()| Binding::system(*sys, None)),
        MachineRef::Hardware(h) => Binding::hardware(h, None),
    };
    let cert = match binding
        .and_then(|b| ActivationCertificate::issue(&s.key, terms.clone(), b, nonce, s.now))
    {
        Ok(c) => c,
        Err(e) => return core_refusal(&e),
    };
    list.push(StubActivation {
        machine: machine_name.clone(),
        certificate: cert.clone(),
        live: true,
    });
    Json(json!({
        "certificate": cert.encode(),
        "license_id": id.to_string(),
        "machine": machine_name,
        "seats": { "used": used + 1, "total": terms.seats },
        "reactivated": false,
    }))
    .into_response()
}

async fn deactivations(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let v = match body_json(&headers, &body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Some(text) = field(&v, "deactivation_code") else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "give deactivation_code".into(),
            None,
        );
    };
    let mut ledger = s.ledger();
    let live = |d: &DeactivationCode, ledger: &Ledger| {
        ledger
            .activations
            .get(&d.license_id)
            .is_some_and(|l| l.iter().any(|a| a.live && d.verifies(&a.certificate)))
    };
    let code = match DeactivationCode::decode_with(text, &|d| live(d, &ledger)) {
        Ok(c) => c,
        Err(e) => return core_refusal(&e),
    };
    let Some(list) = ledger.activations.get_mut(&code.license_id) else {
        return not_found();
    };
    let Some(a) = list
        .iter_mut()
        .find(|a| a.live && code.verifies(&a.certificate))
    else {
        return not_found();
    };
    a.live = false;
    let machine = a.machine.clone();
    let total = a.certificate.terms().seats;
    let used = list.iter().filter(|a| a.live).count();
    Json(json!({
        "license_id": code.license_id.to_string(),
        "machine": machine,
        "seats": { "used": used, "total": total },
    }))
    .into_response()
}

fn not_found() -> Response {
    refuse(
        StatusCode::NOT_FOUND,
        "not_found",
        "this deactivation code matches no machine that holds a seat: it was used already, or it belongs to another license".into(),
        None,
    )
}

async fn updates(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(id) = LicenseId::parse(&id) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the license id is 16 hexadecimal digits".into(),
            None,
        );
    };
    let after = match q.get("after").map(|a| a.parse::<u32>()) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "after is a whole number".into(),
                None,
            )
        }
    };
    let ledger = s.ledger();
    let updates: Vec<Value> = ledger
        .updates
        .get(&id)
        .map(|l| {
            l.iter()
                .filter(|(n, _)| *n > after)
                .map(|(n, t)| json!({ "sequence": n, "update": t }))
                .collect()
        })
        .unwrap_or_default();
    Json(json!({ "license_id": id.to_string(), "updates": updates })).into_response()
}
