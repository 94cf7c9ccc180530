//! A stand-in marketplace for tests, written from the protocol: it answers the open API's
//! activate and query (checking the `SDK-HMAC-SHA256` signature as the gateway does), signs
//! and sends License 2.0 callbacks and License 1.0 calls to a merchant, and can be told to
//! misbehave (delays, HTTP errors, error codes inside HTTP 200).
//!
//! It listens on 127.0.0.1 only.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use keyward_core::Timestamp;
use serde_json::{json, Value};

use crate::openapi::{self, MarketStatus};
use crate::{apig, callback, v1, AccessKey};

/// One `PL…` code the stand-in knows.
#[derive(Clone, Debug)]
pub struct MarketLicense {
    /// Its state.
    pub status: MarketStatus,
    /// Its expiry.
    pub expire_time: Option<Timestamp>,
    /// Whether the buyer has received it (activate before that answers `92020004`).
    pub delivered: bool,
    /// When it was activated.
    pub activated: Option<Timestamp>,
    /// The marketplace product.
    pub product_id: String,
    /// The order.
    pub order_id: String,
}

/// A fault the next open-API call meets (one per call, in order).
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer only after this long (past the client's timeout: a timeout).
    Delay(Duration),
    /// Answer this HTTP status with an empty JSON body.
    Status(u16),
    /// Answer HTTP 200 with this `error_code`.
    ErrorCode(String),
}

/// What the stand-in has been asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// The path called.
    pub path: String,
    /// The `PL…` codes in the body.
    pub licenses: Vec<String>,
    /// Whether the signature checked out.
    pub authenticated: bool,
}

#[derive(Default)]
struct World {
    licenses: HashMap<String, MarketLicense>,
    faults: VecDeque<Fault>,
    received: Vec<Received>,
}

/// A running stand-in marketplace.
#[derive(Clone)]
pub struct StandIn {
    world: Arc<Mutex<World>>,
    ak: String,
    sk: AccessKey,
    addr: SocketAddr,
}

fn lock(world: &Mutex<World>) -> MutexGuard<'_, World> {
    // A test that panicked while holding the lock must not hide the real failure.
    world.lock().unwrap_or_else(|p| p.into_inner())
}

fn now() -> Timestamp {
    Timestamp(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    )
}

impl StandIn {
    /// Starts a stand-in on 127.0.0.1 (a free port) that accepts calls signed with `ak`/`sk`.
    pub async fn start(ak: &str, sk: AccessKey) -> std::io::Result<StandIn> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let stand_in = StandIn {
            world: Arc::default(),
            ak: ak.to_owned(),
            sk,
            addr,
        };
        let app = Router::new()
            .route(openapi::ACTIVATE_PATH, post(open_api))
            .route(openapi::QUERY_PATH, post(open_api))
            .route(openapi::QUERY_BATCH_PATH, post(open_api))
            .with_state(stand_in.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(stand_in)
    }

    /// Its base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Adds or replaces a code.
    pub fn put(&self, code: &str, license: MarketLicense) {
        lock(&self.world).licenses.insert(code.to_owned(), license);
    }

    /// A code's current record.
    pub fn get(&self, code: &str) -> Option<MarketLicense> {
        lock(&self.world).licenses.get(code).cloned()
    }

    /// Changes a code's state (as the marketplace would on expiry or release).
    pub fn set_status(&self, code: &str, status: MarketStatus, expire_time: Option<Timestamp>) {
        if let Some(l) = lock(&self.world).licenses.get_mut(code) {
            l.status = status;
            l.expire_time = expire_time;
        }
    }

    /// Queues faults for the next calls.
    pub fn fail_next(&self, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.world).faults.extend(faults);
    }

    /// Every open-API call received so far.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.world).received.clone()
    }
}

fn info_json(code: &str, l: &MarketLicense) -> Value {
    let mut v = json!({
        "license": code,
        "status": match &l.status {
            MarketStatus::Alive => "ALIVE",
            MarketStatus::Expired => "EXPIRED",
            MarketStatus::Released => "RELEASED",
            MarketStatus::Other(s) => s.as_str(),
        },
        "product_id": l.product_id,
        "order_id": l.order_id,
        "amount": 1,
    });
    if let Some(t) = l.expire_time {
        v["expire_time"] = crate::compact_time(t).into();
    }
    if let Some(t) = l.activated {
        v["activate_time"] = crate::compact_time(t).into();
    }
    v
}

fn answer(status: StatusCode, v: Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn error(code: &str, msg: &str) -> Response {
    answer(
        StatusCode::OK,
        json!({ "error_code": code, "error_msg": msg }),
    )
}

async fn open_api(
    State(s): State<StandIn>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let all: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let req = apig::Request {
        method: "POST",
        path: &path,
        query: &[],
        headers: &all,
        body: &body,
    };
    let authenticated = apig::verify(&s.ak, &s.sk, &req, now()).is_ok();
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut licenses: Vec<String> = Vec::new();
    if let Some(l) = parsed.get("license").and_then(Value::as_str) {
        licenses.push(l.to_owned());
    }
    if let Some(list) = parsed.get("license_list").and_then(Value::as_array) {
        licenses.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    let fault = {
        let mut w = lock(&s.world);
        w.received.push(Received {
            path: path.clone(),
            licenses: licenses.clone(),
            authenticated,
        });
        w.faults.pop_front()
    };
    match fault {
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        Some(Fault::Status(code)) => {
            return answer(
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                json!({}),
            )
        }
        Some(Fault::ErrorCode(code)) => return error(&code, "injected"),
        None => {}
    }
    if !authenticated {
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({ "error_code": "92020001", "error_msg": "authentication failed" }),
        );
    }
    let mut w = lock(&s.world);
    if path == openapi::QUERY_BATCH_PATH {
        let list: Vec<Value> = licenses
            .iter()
            .filter_map(|c| w.licenses.get(c).map(|l| info_json(c, l)))
            .collect();
        return answer(
            StatusCode::OK,
            json!({ "error_code": openapi::SUCCESS, "data": { "license_code_info_list": list } }),
        );
    }
    let Some(code) = licenses.first() else {
        return error("92020002", "no license in the body");
    };
    let Some(l) = w.licenses.get_mut(code) else {
        return error("92020005", "license code does not exist");
    };
    if path == openapi::ACTIVATE_PATH {
        if !l.delivered {
            return error("92020004", "the buyer has not received the order");
        }
        l.activated.get_or_insert(now());
    }
    let info = info_json(code, l).to_string();
    answer(
        StatusCode::OK,
        json!({ "error_code": openapi::SUCCESS, "error_msg": "success",
                "data": { "license_code_info": info } }),
    )
}

/// What the merchant answered to a call the stand-in sent.
#[derive(Clone, Debug)]
pub struct MerchantAnswer {
    /// HTTP status.
    pub status: u16,
    /// The body, parsed (Null when not JSON).
    pub body: Value,
    /// License 1.0 only: whether `Body-Sign` checked out under the key.
    pub body_sign_ok: bool,
}

/// A signed License 2.0 callback, ready to send (and to send again, as a retry would).
#[derive(Clone, Debug)]
pub struct SignedCallback {
    /// The full URL with `signature`, `timestamp`, `nonce`.
    pub url: String,
    /// The body.
    pub body: Vec<u8>,
}

/// Signs a callback body for `endpoint` (the merchant's callback URL) with `key`, at
/// `timestamp_ms`, with `nonce`.
pub fn sign_callback(
    endpoint: &str,
    key: &AccessKey,
    body: &Value,
    timestamp_ms: u64,
    nonce: &str,
) -> SignedCallback {
    let body = body.to_string().into_bytes();
    let ts = timestamp_ms.to_string();
    let signature = callback::sign(key, nonce, &ts, &body);
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("signature", &signature)
        .append_pair("timestamp", &ts)
        .append_pair("nonce", nonce)
        .finish();
    SignedCallback {
        url: format!("{endpoint}?{query}"),
        body,
    }
}

/// Sends a signed callback (POST JSON).
pub async fn send_callback(call: &SignedCallback) -> Result<MerchantAnswer, reqwest::Error> {
    let resp = reqwest::Client::new()
        .post(&call.url)
        .header("Content-Type", "application/json")
        .body(call.body.clone())
        .send()
        .await?;
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await?;
    Ok(MerchantAnswer {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        body_sign_ok: false,
    })
}

/// Sends a License 1.0 call (GET, signed with `authToken` at `time`) and checks the
/// answer's `Body-Sign`.
pub async fn send_v1(
    endpoint: &str,
    key: &AccessKey,
    params: &[(&str, &str)],
    time: Timestamp,
) -> Result<MerchantAnswer, reqwest::Error> {
    let ts = v1::format_time_stamp(time);
    let mut all: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    all.push(("timeStamp".into(), ts.clone()));
    let token = v1::auth_token(key, &ts, &all);
    all.push(("authToken".into(), token));
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(all.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .finish();
    let resp = reqwest::Client::new()
        .get(format!("{endpoint}?{query}"))
        .send()
        .await?;
    let status = resp.status().as_u16();
    let sign = resp
        .headers()
        .get("Body-Sign")
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    let bytes = resp.bytes().await?;
    Ok(MerchantAnswer {
        status,
        body_sign_ok: sign.is_some_and(|h| v1::verify_body_sign(key, &bytes, &h)),
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    })
}
