//! The HTTP API against a real server on 127.0.0.1 (SQLite, and PostgreSQL when available):
//! the contract, refusals, limits, the admin API, metrics.

mod common;

use std::sync::Arc;

use keyward_core::{
    binding::MachineRef, time::DAY, ActivationCertificate, ActivationRequest, AuthorizationCode,
    LicenseId, LicenseTerms, MachineFacts, MerchantKey, SignedUpdate, SystemIdCode, Timestamp,
    TrustedKeys, UpdateAction,
};
use keyward_server::{Clock, Config, Ledger, Secrets, Server, Settings};
use reqwest::StatusCode;
use serde_json::{json, Value};

const TOKEN: &str = "test-admin-token-0123456789abcdef";
const SEED: [u8; 32] = [9; 32];

struct Harness {
    base: String,
    client: reqwest::Client,
    ledger: Arc<dyn Ledger>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Harness {
    async fn start(database: Option<String>, rate: u32) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::resolve(Settings {
            data_dir: Some(dir.path().to_path_buf()),
            listen: Some("127.0.0.1:0".into()),
            database,
            rate_limit_per_minute: Some(rate),
            body_limit: Some(16 * 1024),
            ..Settings::default()
        })
        .unwrap();
        let key = MerchantKey::from_seed(&SEED);
        let trusted = TrustedKeys::from_keys([key.public()]);
        let secrets = Secrets {
            key,
            trusted,
            admin_token: TOKEN.into(),
            notes: vec![],
        };
        let server = Server::start_with(&config, secrets, Clock::System)
            .await
            .unwrap();
        let base = format!("http://{}", server.local_addr());
        let ledger = server.ledger();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let done = tokio::spawn(async move {
            server
                .run(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        Harness {
            base,
            client: reqwest::Client::new(),
            ledger,
            stop: Some(tx),
            done: Some(done),
            _dir: dir,
        }
    }

    /// Both backends (PostgreSQL when available).
    async fn each(test: &str, rate: u32) -> Vec<Harness> {
        let mut out = vec![Harness::start(None, rate).await];
        if let Some(server) = common::postgres_url(test) {
            let url = common::fresh_postgres_db(&server).await;
            out.push(Harness::start(Some(url), rate).await);
        }
        out
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(d) = self.done.take() {
            d.await.unwrap();
        }
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, String) {
        let mut r = self
            .client
            .request(method, format!("{}/api/v1/admin{path}", self.base))
            .bearer_auth(TOKEN);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// Everything the ledger holds, to check that a refusal changed nothing.
    async fn snapshot(&self) -> String {
        let (s, body) = self
            .admin(reqwest::Method::GET, "/export?format=jsonl", None)
            .await;
        assert_eq!(s, StatusCode::OK);
        body
    }
}

fn key() -> MerchantKey {
    MerchantKey::from_seed(&SEED)
}

fn now() -> Timestamp {
    Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
}

fn code(id: u8, seats: u32) -> String {
    let terms = LicenseTerms {
        license_id: LicenseId([0xab, 0, 0, 0, 0, 0, 0, id]),
        product: "acme-invoice".into(),
        sku: "pro".into(),
        seats,
        not_before: now().add_secs(0).floor_minute(),
        expires: Some(now().add_secs(30 * DAY)),
        features: vec!["export".into()],
        trial: false,
        instance_id: None,
        order_id: None,
    };
    AuthorizationCode::issue(&key(), terms, None)
        .unwrap()
        .encode()
}

fn system_id(n: u32) -> SystemIdCode {
    system_id_for("acme-invoice", n)
}

/// Machine `n`'s system identification code as made for `product` (`""`: without one).
fn system_id_for(product: &str, n: u32) -> SystemIdCode {
    SystemIdCode::compute(
        product,
        &MachineFacts {
            machine_id: Some(format!("machine-{n}")),
            cpu: Some("GenuineIntel 6-85-7".into()),
            disk_serial: Some(format!("disk-{n}")),
            macs: vec![format!("02:00:00:00:00:{:02x}", n % 256)],
            ..MachineFacts::default()
        },
    )
}

fn trusted() -> TrustedKeys {
    TrustedKeys::from_keys([key().public()])
}

#[tokio::test]
async fn activation_by_request_code_and_system_id_or_hardware_id() {
    for h in Harness::each("activation_forms", 0).await {
        // 1. An activation request: its nonce is echoed in the certificate.
        let c = AuthorizationCode::decode(&code(1, 3), &trusted()).unwrap();
        let sys = system_id(1);
        let req = ActivationRequest::new(c, MachineRef::System(sys), [5; 8], now());
        let (s, v) = h
            .post("/api/v1/activations", json!({ "request": req.encode() }))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let cert =
            ActivationCertificate::decode(v["certificate"].as_str().unwrap(), &trusted()).unwrap();
        assert_eq!(cert.nonce(), [5; 8]);
        assert_eq!(cert.terms().license_id.to_string(), v["license_id"]);
        assert_eq!(v["machine"], sys.to_string());
        assert_eq!(v["seats"], json!({"used": 1, "total": 3}));
        assert_eq!(v["reactivated"], false);
        assert!(cert
            .binding()
            .check_machine_ref(&MachineRef::System(sys))
            .unwrap()
            .is_ok());

        // 2. The same machine again: the same certificate, no second seat.
        let (s, again) = h
            .post("/api/v1/activations", json!({ "request": req.encode() }))
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(again["reactivated"], true);
        assert_eq!(again["certificate"], v["certificate"]);
        assert_eq!(again["seats"]["used"], 1);

        // 3. A code and a system id (the page), and a code and a hardware id.
        let (s, v2) = h
            .post(
                "/api/v1/activations",
                json!({ "code": code(1, 3), "system_id": system_id(2).to_string() }),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v2}");
        assert_eq!(v2["seats"]["used"], 2);
        let (s, v3) = h
            .post(
                "/api/v1/activations",
                json!({ "code": code(1, 3), "hardware_id": "mac:00-11-22-33-44-55" }),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v3}");
        assert_eq!(v3["machine"], "mac:00:11:22:33:44:55");
        // 4. Full: the message names the seats and the machines.
        let (s, full) = h
            .post(
                "/api/v1/activations",
                json!({ "code": code(1, 3), "system_id": system_id(4).to_string() }),
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT);
        assert_eq!(full["code"], "no_seat_left");
        let msg = full["message"].as_str().unwrap();
        assert!(
            msg.contains("all 3 seat(s)")
                && msg.contains("KS1-")
                && msg.contains("mac:00:11:22:33"),
            "{msg}"
        );
        assert!(full.get("suggestion").is_some());
        h.stop().await;
    }
}

#[tokio::test]
async fn bad_input_gets_the_right_4xx_and_changes_nothing() {
    let h = Harness::start(None, 0).await;
    // Something in the ledger first, so "unchanged" is meaningful.
    let (s, _) = h
        .post(
            "/api/v1/activations",
            json!({ "code": code(2, 1), "system_id": system_id(1).to_string() }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let before = h.snapshot().await;
    let good = code(2, 1);
    let mut typo: Vec<char> = good.chars().collect();
    typo[10] = if typo[10] == '7' { '8' } else { '7' };
    let typo: String = typo.into_iter().collect();
    let cases: Vec<(&str, &str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "malformed JSON",
            "application/json",
            b"{\"request\": ".to_vec(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "not an object",
            "application/json",
            b"[1,2,3]".to_vec(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "wrong content type",
            "text/plain",
            b"{\"request\": \"KR1\"}".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "oversized body",
            "application/json",
            format!("{{\"request\": \"{}\"}}", "A".repeat(100_000)).into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "invalid UTF-8",
            "application/json",
            b"{\"request\": \"KR1-\xff\xfe\"}".to_vec(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "absurd number",
            "application/json",
            b"{\"request\": 1e400}".to_vec(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "unknown field",
            "application/json",
            b"{\"request\": \"x\", \"admin\": true}".to_vec(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "nothing given",
            "application/json",
            b"{}".to_vec(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "code without machine",
            "application/json",
            json!({"code": good}).to_string().into_bytes(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "garbage request",
            "application/json",
            b"{\"request\": \"hello\"}".to_vec(),
            StatusCode::BAD_REQUEST,
            "not_a_keyward_code",
        ),
        (
            "typo",
            "application/json",
            json!({"code": typo, "system_id": system_id(9).to_string()})
                .to_string()
                .into_bytes(),
            StatusCode::BAD_REQUEST,
            "typo",
        ),
        (
            "system id in the code field",
            "application/json",
            json!({"code": system_id(1).to_string(), "system_id": system_id(9).to_string()})
                .to_string()
                .into_bytes(),
            StatusCode::BAD_REQUEST,
            "wrong_kind",
        ),
        (
            "bad hardware id",
            "application/json",
            json!({"code": good, "hardware_id": "mac:zz"})
                .to_string()
                .into_bytes(),
            StatusCode::BAD_REQUEST,
            "invalid_hardware_id",
        ),
        (
            "system id made without a product",
            "application/json",
            json!({"code": good, "system_id": system_id_for("", 9).to_string()})
                .to_string()
                .into_bytes(),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "system id made for another product",
            "application/json",
            json!({"code": good, "system_id": system_id_for("acme-payroll", 9).to_string()})
                .to_string()
                .into_bytes(),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "marketplace code",
            "application/json",
            json!({"code": "PL1234567890ABCDEF", "system_id": system_id(9).to_string()})
                .to_string()
                .into_bytes(),
            StatusCode::BAD_REQUEST,
            "marketplace_code",
        ),
    ];
    for (what, ct, body, status, code) in cases {
        let (s, v) = h.raw("/api/v1/activations", ct, body).await;
        assert_eq!(s, status, "{what}: {v}");
        assert_eq!(v["code"], code, "{what}: {v}");
        assert!(
            v["message"].as_str().is_some_and(|m| m.len() > 20),
            "{what}: {v}"
        );
        assert!(v.get("suggestion").is_some(), "{what}: {v}");
    }
    // The typo's suggestion is the corrected code.
    let (_, v) = h
        .post(
            "/api/v1/activations",
            json!({"code": typo, "system_id": system_id(9).to_string()}),
        )
        .await;
    assert_eq!(v["suggestion"], good);
    // A foreign merchant's code.
    let foreign = {
        let other = MerchantKey::from_seed(&[1; 32]);
        let c = AuthorizationCode::decode_unverified(&good).unwrap();
        AuthorizationCode::issue(&other, c.terms().clone(), None)
            .unwrap()
            .encode()
    };
    let (s, v) = h
        .post(
            "/api/v1/activations",
            json!({"code": foreign, "system_id": system_id(9).to_string()}),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unknown_key"))
    );
    // Routes and methods, queries.
    for (path, status, code) in [
        ("/nothing/here", StatusCode::NOT_FOUND, "not_found"),
        (
            "/api/v1/licenses/zz/updates",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "/api/v1/licenses/00000000000000aa/updates",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/api/v1/licenses/ab00000000000002/updates?after=99999999999999999999",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "/api/v1/licenses/ab00000000000002/updates?after=-1",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "/api/v1/activations",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "/api/v1/admin/licenses",
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
    ] {
        let (s, v) = h.get(path).await;
        assert_eq!(s, status, "{path}: {v}");
        assert_eq!(v["code"], code, "{path}: {v}");
    }
    // Absurd numbers in the admin API.
    for body in [
        json!({"product": "p", "seats": 1e30}),
        json!({"product": "p", "seats": -1}),
        json!({"product": "p", "count": 1_000_000}),
        json!({"product": "p", "seats": 0}),
        json!({"product": "p", "days": 99999999999u64}),
        json!({"product": "bad product name!"}),
    ] {
        let (s, v) = h
            .admin(reqwest::Method::POST, "/licenses", Some(body.clone()))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
        let v: Value = serde_json::from_str(&v).unwrap();
        assert!(v["code"].is_string(), "{v}");
    }
    assert_eq!(h.snapshot().await, before, "a refusal changed the ledger");
    h.stop().await;
}

#[tokio::test]
async fn fifty_machines_at_once_on_one_seat_over_http() {
    for h in Harness::each("fifty_over_http", 0).await {
        let h = Arc::new(h);
        let c = code(3, 1);
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let h = h.clone();
                let c = c.clone();
                tokio::spawn(async move {
                    h.post(
                        "/api/v1/activations",
                        json!({"code": c, "system_id": system_id(100 + i).to_string()}),
                    )
                    .await
                })
            })
            .collect();
        let mut ok = 0;
        let mut full = 0;
        for t in tasks {
            let (s, v) = t.await.unwrap();
            match s {
                StatusCode::OK => ok += 1,
                StatusCode::CONFLICT if v["code"] == "no_seat_left" => full += 1,
                other => panic!("{other}: {v}"),
            }
        }
        assert_eq!((ok, full), (1, 49));
        // One machine, 50 times at once: one seat, one certificate.
        let c = code(4, 2);
        let sys = system_id(7).to_string();
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let h = h.clone();
                let (c, sys) = (c.clone(), sys.clone());
                tokio::spawn(async move {
                    h.post("/api/v1/activations", json!({"code": c, "system_id": sys}))
                        .await
                })
            })
            .collect();
        let mut certs = std::collections::BTreeSet::new();
        for t in tasks {
            let (s, v) = t.await.unwrap();
            assert_eq!(s, StatusCode::OK, "{v}");
            assert_eq!(v["seats"]["used"], 1);
            certs.insert(v["certificate"].as_str().unwrap().to_string());
        }
        assert_eq!(certs.len(), 1);
        let id = LicenseId([0xab, 0, 0, 0, 0, 0, 0, 4]).to_string();
        assert_eq!(h.ledger.license(id).await.unwrap().activations.len(), 1);
        Arc::try_unwrap(h).ok().unwrap().stop().await;
    }
}

#[tokio::test]
async fn activations_are_rate_limited_per_client() {
    let h = Harness::start(None, 3).await;
    for i in 0..3 {
        let (s, v) = h
            .post(
                "/api/v1/activations",
                json!({"code": code(5, 10), "system_id": system_id(i).to_string()}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let r = h
        .client
        .post(format!("{}/api/v1/activations", h.base))
        .json(&json!({"code": code(5, 10), "system_id": system_id(4).to_string()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "rate_limited");
    // Reading updates is not limited.
    let (s, _) = h
        .get(&format!(
            "/api/v1/licenses/{}/updates",
            LicenseId([0xab, 0, 0, 0, 0, 0, 0, 5])
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    h.stop().await;
}

#[tokio::test]
async fn admin_api_issues_changes_and_exports() {
    for h in Harness::each("admin_api", 0).await {
        // The token is required, and must be the right one.
        let r = h
            .client
            .get(format!("{}/api/v1/admin/licenses", h.base))
            .bearer_auth("wrong-token-wrong-token")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

        let (s, body) = h
            .admin(
                reqwest::Method::POST,
                "/licenses",
                Some(json!({"product": "acme-invoice", "sku": "pro", "seats": 1, "days": 30, "features": ["export"], "order_id": "o-9", "count": 3})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let issued: Value = serde_json::from_str(&body).unwrap();
        let licenses = issued["licenses"].as_array().unwrap();
        assert_eq!(licenses.len(), 3);
        let code0 = licenses[0]["code"].as_str().unwrap();
        let id0 = licenses[0]["license_id"].as_str().unwrap();
        let parsed = AuthorizationCode::decode(code0, &trusted()).unwrap();
        assert_eq!(parsed.terms().license_id.to_string(), id0);
        assert_eq!(parsed.terms().order_id.as_deref(), Some("o-9"));

        let (s, list) = h.admin(reqwest::Method::GET, "/licenses?q=o-9", None).await;
        assert_eq!(s, StatusCode::OK);
        let list: Value = serde_json::from_str(&list).unwrap();
        assert_eq!(list["licenses"].as_array().unwrap().len(), 3);

        let sys = system_id(1).to_string();
        let (s, _) = h
            .post(
                "/api/v1/activations",
                json!({"code": code0, "system_id": sys}),
            )
            .await;
        assert_eq!(s, StatusCode::OK);

        // Renew, freeze: signed updates, in sequence, fetched by machines.
        let (s, u1) = h
            .admin(
                reqwest::Method::POST,
                &format!("/licenses/{id0}/renew"),
                Some(json!({"expires": "2040-01-01"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{u1}");
        let (s, _) = h
            .admin(
                reqwest::Method::POST,
                &format!("/licenses/{id0}/freeze"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (s, ups) = h
            .get(&format!("/api/v1/licenses/{id0}/updates?after=0"))
            .await;
        assert_eq!(s, StatusCode::OK);
        let ups = ups["updates"].as_array().unwrap().clone();
        assert_eq!(ups.len(), 2);
        let first = SignedUpdate::decode(ups[0]["update"].as_str().unwrap(), &trusted()).unwrap();
        assert_eq!(first.sequence(), 1);
        assert_eq!(
            first.action(),
            UpdateAction::Renew {
                expires: Timestamp::parse("2040-01-01").unwrap()
            }
        );
        let second = SignedUpdate::decode(ups[1]["update"].as_str().unwrap(), &trusted()).unwrap();
        assert_eq!(
            (second.sequence(), second.action()),
            (2, UpdateAction::Freeze)
        );
        let (_, after1) = h
            .get(&format!("/api/v1/licenses/{id0}/updates?after=1"))
            .await;
        assert_eq!(after1["updates"].as_array().unwrap().len(), 1);

        // Frozen: no activation. Unfrozen: again.
        let (s, v) = h
            .post(
                "/api/v1/activations",
                json!({"code": code0, "system_id": system_id(2).to_string()}),
            )
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("frozen"))
        );
        h.admin(
            reqwest::Method::POST,
            &format!("/licenses/{id0}/unfreeze"),
            None,
        )
        .await;

        // A mistyped machine is said to be mistyped (which group), not "no code".
        let typo = {
            let mut t = sys.clone();
            let last = t.pop().unwrap();
            t.push(if last == 'X' { 'Y' } else { 'X' });
            t
        };
        let (s, r) = h
            .admin(
                reqwest::Method::POST,
                &format!("/licenses/{id0}/revoke"),
                Some(json!({ "machine": typo })),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{r}");
        assert!(r.contains("\"typo\"") && r.contains("group"), "{r}");

        // Revoke the machine; another one takes the seat.
        let (s, r) = h
            .admin(
                reqwest::Method::POST,
                &format!("/licenses/{id0}/revoke"),
                Some(json!({"machine": sys.to_lowercase()})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        let (s, v) = h
            .post(
                "/api/v1/activations",
                json!({"code": code0, "system_id": system_id(2).to_string()}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        // The renewed expiry is in the new certificate.
        let cert =
            ActivationCertificate::decode(v["certificate"].as_str().unwrap(), &trusted()).unwrap();
        assert_eq!(cert.terms().expires, Timestamp::parse("2040-01-01"));

        let (s, show) = h
            .admin(reqwest::Method::GET, &format!("/licenses/{id0}"), None)
            .await;
        assert_eq!(s, StatusCode::OK);
        let show: Value = serde_json::from_str(&show).unwrap();
        assert_eq!(show["activations"].as_array().unwrap().len(), 2);
        assert_eq!(show["updates"].as_array().unwrap().len(), 3);
        let actions: Vec<&str> = show["audit"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            ["issue", "activate", "renew", "freeze", "unfreeze", "revoke", "activate"]
        );

        let (s, csv) = h
            .admin(reqwest::Method::GET, "/export?format=csv", None)
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(csv.starts_with("license_id,product,sku,seats,seats_used,status"));
        assert_eq!(
            csv.lines().filter(|l| l.starts_with(id0)).count(),
            2,
            "{csv}"
        );
        let (s, jsonl) = h
            .admin(reqwest::Method::GET, "/export?format=jsonl", None)
            .await;
        assert_eq!(s, StatusCode::OK);
        let lines: Vec<Value> = jsonl
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        let (s, _) = h
            .admin(reqwest::Method::GET, "/export?format=xml", None)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);

        // Release frees every seat and ends the license.
        h.admin(
            reqwest::Method::POST,
            &format!("/licenses/{id0}/release"),
            None,
        )
        .await;
        let (s, v) = h
            .post(
                "/api/v1/activations",
                json!({"code": code0, "system_id": system_id(3).to_string()}),
            )
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("released"))
        );
        // A released license cannot be changed; the merchant is told so in the merchant's
        // terms, and nothing is published.
        for op in ["unfreeze", "freeze", "release"] {
            let (s, v) = h
                .admin(
                    reqwest::Method::POST,
                    &format!("/licenses/{id0}/{op}"),
                    None,
                )
                .await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{op}: {v}");
            assert!(
                v.contains("\"released\"") && v.contains("keyward admin issue"),
                "{op}: {v}"
            );
        }
        let (_, ups) = h
            .get(&format!("/api/v1/licenses/{id0}/updates?after=0"))
            .await;
        assert_eq!(ups["updates"].as_array().unwrap().len(), 4, "{ups}");
        h.stop().await;
    }
}

/// What the merchant asks must change something: a second freeze, an unfreeze of a license
/// that is not frozen and a renewal into the past are refused, and publish no update.
#[tokio::test]
async fn admin_changes_that_change_nothing_are_refused() {
    let h = Harness::start(None, 0).await;
    let (s, issued) = h
        .admin(
            reqwest::Method::POST,
            "/licenses",
            Some(json!({"product": "acme-invoice", "days": 30})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{issued}");
    let issued: Value = serde_json::from_str(&issued).unwrap();
    let id = issued["licenses"][0]["license_id"]
        .as_str()
        .unwrap()
        .to_string();
    let op = |path: &'static str, body: Option<Value>| {
        let (h, id) = (&h, id.clone());
        async move {
            let (s, v) = h
                .admin(
                    reqwest::Method::POST,
                    &format!("/licenses/{id}/{path}"),
                    body,
                )
                .await;
            (s, serde_json::from_str::<Value>(&v).unwrap())
        }
    };
    let (s, v) = op("unfreeze", None).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict")),
        "{v}"
    );
    assert!(
        v["message"].as_str().unwrap().contains("is not frozen"),
        "{v}"
    );
    let (s, v) = op("renew", Some(json!({"expires": "2020-01-01"}))).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request")),
        "{v}"
    );
    assert!(v["message"].as_str().unwrap().contains("release it"), "{v}");
    let (s, _) = op("freeze", None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = op("freeze", None).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict")),
        "{v}"
    );
    assert!(
        v["message"].as_str().unwrap().contains("already frozen"),
        "{v}"
    );
    let (_, ups) = h
        .get(&format!("/api/v1/licenses/{id}/updates?after=0"))
        .await;
    assert_eq!(
        ups["updates"].as_array().unwrap().len(),
        1,
        "only the first freeze: {ups}"
    );
    h.stop().await;
}

#[tokio::test]
async fn health_and_metrics() {
    let h = Harness::start(None, 0).await;
    let (s, v) = h.get("/healthz").await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("ok")));
    h.post(
        "/api/v1/activations",
        json!({"code": code(6, 1), "system_id": system_id(1).to_string()}),
    )
    .await;
    h.post(
        "/api/v1/activations",
        json!({"code": code(6, 1), "system_id": system_id(2).to_string()}),
    )
    .await;
    let text = h
        .client
        .get(format!("{}/metrics", h.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The buyer page, online, with the merchant's key; a foreign Host is refused there.
    let (s, config) = h.get("/config.json").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(config["online"], true);
    assert_eq!(config["public_keys"][0], key().public().to_pem());
    let page = h.client.get(format!("{}/", h.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let foreign = h
        .client
        .get(format!("{}/config.json", h.base))
        .header("host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert!(foreign.status().is_client_error(), "{}", foreign.status());
    for needle in [
        "keyward_http_requests_total{route=\"/api/v1/activations\",result=\"ok\"} 1",
        "keyward_http_requests_total{route=\"/api/v1/activations\",result=\"no_seat_left\"} 1",
        "keyward_activations_total{outcome=\"new\"} 1",
        "keyward_seats_in_use 1",
        "keyward_http_request_duration_seconds_bucket{le=",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    h.stop().await;
}

#[tokio::test]
async fn a_deactivation_code_frees_the_seat_of_its_machine() {
    use keyward_core::DeactivationCode;
    for h in Harness::each("deactivation", 0).await {
        let secret = [0x5a; 10];
        let c = AuthorizationCode::decode(&code(8, 1), &trusted()).unwrap();
        let license_id = c.terms().license_id;
        let req = ActivationRequest::new(
            c,
            MachineRef::System(system_id(1)),
            DeactivationCode::commitment(&secret),
            now(),
        );
        let (s, v) = h
            .post("/api/v1/activations", json!({"request": req.encode()}))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        // The seat is taken: another machine is refused.
        let (s, _) = h
            .post(
                "/api/v1/activations",
                json!({"code": code(8, 1), "system_id": system_id(2).to_string()}),
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT);
        // A wrong secret proves nothing.
        let wrong = DeactivationCode {
            license_id,
            secret: [0x5b; 10],
        }
        .encode();
        let (s, v) = h
            .post("/api/v1/deactivations", json!({"deactivation_code": wrong}))
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "{v}"
        );
        let (s, v) = h
            .post(
                "/api/v1/deactivations",
                json!({"deactivation_code": "KD1-NOPE"}),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        // The right one frees the seat, once.
        let right = DeactivationCode { license_id, secret }.encode();
        let (s, v) = h
            .post("/api/v1/deactivations", json!({"deactivation_code": right}))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["license_id"], license_id.to_string());
        assert_eq!(v["machine"], system_id(1).to_string());
        assert_eq!(v["seats"], json!({"used": 0, "total": 1}));
        let (s, _) = h
            .post("/api/v1/deactivations", json!({"deactivation_code": right}))
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        // Another machine takes the seat.
        let (s, v) = h
            .post(
                "/api/v1/activations",
                json!({"code": code(8, 1), "system_id": system_id(2).to_string()}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        h.stop().await;
    }
}
