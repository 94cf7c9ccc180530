//! The marketplace's production interface end to end, against the stand-in marketplace
//! (keyward-marketplace's `stand-in`): License 1.0 activities, License 2.0 callbacks with
//! every authentication failure class, probes and duplicate deliveries, the `PL…` bridge and
//! the reconciliation. SQLite, and PostgreSQL when available.

mod common;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use keyward_core::{
    AuthorizationCode, MachineFacts, MerchantKey, SignedUpdate, SystemIdCode, Timestamp,
    TrustedKeys, UpdateAction,
};
use keyward_marketplace::openapi::MarketStatus;
use keyward_marketplace::stand_in::{self, Fault, MarketLicense, StandIn};
use keyward_marketplace::AccessKey;
use keyward_server::marketplace::{MarketplaceSettings, ProductMapping};
use keyward_server::{Clock, Config, Ledger, Secrets, Server, Settings};
use serde_json::{json, Value};

const TOKEN: &str = "test-admin-token-0123456789abcdef";
const SEED: [u8; 32] = [7; 32];
const CALLBACK_KEY: &str = "callback-key-1";
const OLD_CALLBACK_KEY: &str = "callback-key-0";
const V1_KEY: &str = "v1-key-1";

struct Harness {
    base: String,
    http: reqwest::Client,
    ledger: Arc<dyn Ledger>,
    market: StandIn,
    trusted: TrustedKeys,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn now() -> Timestamp {
    Timestamp(now_ms() / 1000)
}

impl Harness {
    async fn start(database: Option<String>) -> Harness {
        let market = StandIn::start("AK1", AccessKey::new("SK1")).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = Config::resolve(Settings {
            data_dir: Some(dir.path().to_path_buf()),
            listen: Some("127.0.0.1:0".into()),
            database,
            rate_limit_per_minute: Some(0),
            marketplace: Some(MarketplaceSettings {
                callback_keys: Some(vec![CALLBACK_KEY.into(), OLD_CALLBACK_KEY.into()]),
                license_v1_keys: Some(vec![V1_KEY.into()]),
                api_hosts: Some(vec![market.url()]),
                access_key_id: Some("AK1".into()),
                secret_access_key: Some("SK1".into()),
                api_timeout_secs: Some(2),
                api_attempts: Some(2),
                reconcile_interval_hours: Some(0),
                products: Some(vec![
                    ProductMapping {
                        product_id: "OFFER-1".into(),
                        sku_code: None,
                        product: "acme-invoice".into(),
                        sku: "pro".into(),
                        seats: 1,
                        features: vec!["export".into()],
                        days: None,
                    },
                    ProductMapping {
                        product_id: "OFFER-1".into(),
                        sku_code: Some("SKU-TEAM".into()),
                        product: "acme-invoice".into(),
                        sku: "team".into(),
                        seats: 5,
                        features: vec![],
                        days: Some(365),
                    },
                ]),
                ..MarketplaceSettings::default()
            }),
            ..Settings::default()
        })
        .unwrap();
        let key = MerchantKey::from_seed(&SEED);
        let trusted = TrustedKeys::from_keys([key.public()]);
        let secrets = Secrets {
            key,
            trusted: trusted.clone(),
            admin_token: TOKEN.into(),
            notes: vec![],
        };
        let server = Server::start_with(&config, secrets, Clock::System)
            .await
            .unwrap();
        let base = format!("http://{}", server.local_addr());
        let ledger = server.ledger();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            server
                .run(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        Harness {
            base,
            http: reqwest::Client::new(),
            ledger,
            market,
            trusted,
            stop: Some(tx),
            _dir: dir,
        }
    }

    async fn each(test: &str) -> Vec<Harness> {
        let mut out = vec![Harness::start(None).await];
        if let Some(server) = common::postgres_url(test) {
            let url = common::fresh_postgres_db(&server).await;
            out.push(Harness::start(Some(url)).await);
        }
        out
    }

    async fn v1(&self, params: &[(&str, &str)]) -> stand_in::MerchantAnswer {
        let url = format!("{}/marketplace/license-v1", self.base);
        stand_in::send_v1(&url, &AccessKey::new(V1_KEY), params, now())
            .await
            .unwrap()
    }

    async fn callback_signed(&self, key: &str, body: &Value, ts_ms: u64, nonce: &str) -> Value {
        let url = format!("{}/marketplace/license", self.base);
        let call = stand_in::sign_callback(&url, &AccessKey::new(key), body, ts_ms, nonce);
        let a = stand_in::send_callback(&call).await.unwrap();
        assert_eq!(a.status, 200, "{:?}", a.body);
        a.body
    }

    async fn callback(&self, body: &Value) -> String {
        let nonce = format!("n-{}", rand_hex());
        let a = self
            .callback_signed(CALLBACK_KEY, body, now_ms(), &nonce)
            .await;
        a["resultCode"].as_str().unwrap().to_owned()
    }

    async fn updates(&self, license_id: &str) -> Vec<(u32, UpdateAction)> {
        let v: Value = self
            .http
            .get(format!(
                "{}/api/v1/licenses/{license_id}/updates",
                self.base
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["updates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                let text = u["update"].as_str().unwrap();
                let update = SignedUpdate::decode(text, &self.trusted).unwrap();
                (u["sequence"].as_u64().unwrap() as u32, update.action())
            })
            .collect()
    }

    async fn activate(&self, code: &str, machine: &str) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/api/v1/activations", self.base))
            .json(&json!({ "code": code, "system_id": machine }))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn admin(&self, method: reqwest::Method, path: &str) -> Value {
        self.http
            .request(method, format!("{}/api/v1/admin{path}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

fn rand_hex() -> String {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    keyward_core::raw::hex(&b)
}

fn system_id(seed: &str) -> String {
    let facts = MachineFacts {
        machine_id: Some(format!("machine-{seed}")),
        ..MachineFacts::default()
    };
    SystemIdCode::compute("acme-invoice", &facts).to_string()
}

fn delivered(product: &str) -> MarketLicense {
    MarketLicense {
        status: MarketStatus::Alive,
        expire_time: Some(now().add_secs(30 * 86_400).floor_minute()),
        delivered: true,
        activated: None,
        product_id: product.into(),
        order_id: "ORDER-PL".into(),
    }
}

#[tokio::test]
async fn license_v1_lifecycle() {
    for h in Harness::each("license_v1_lifecycle").await {
        let expire = "20301130000000";
        let get = |business: &'static str| {
            [
                ("activity", "getLicense"),
                ("customerId", "C1"),
                ("businessId", business),
                ("orderId", "ORDER-1"),
                ("productId", "OFFER-1"),
                ("skuCode", "SKU-TEAM"),
                ("expireTime", expire),
                ("amount", "2"),
            ]
        };
        let first = h.v1(&get("BIZ-1")).await;
        assert!(
            first.body_sign_ok,
            "Body-Sign must verify: {:?}",
            first.body
        );
        assert_eq!(first.body["resultCode"], "000000", "{:?}", first.body);
        assert_eq!(first.body["instanceId"], "BIZ-1");
        let code = first.body["license"].as_str().unwrap().to_owned();
        let parsed = AuthorizationCode::decode(&code, &h.trusted).unwrap();
        assert_eq!(parsed.terms().sku, "team");
        assert_eq!(parsed.terms().seats, 10, "5 seats per unit, 2 units");
        assert_eq!(parsed.terms().expires, Timestamp::parse(expire));
        // The marketplace retries (a new businessId each time): the same code every time.
        for b in ["BIZ-2", "BIZ-3"] {
            let again = h.v1(&get(b)).await;
            assert_eq!(again.body["license"], code.as_str());
            assert_eq!(again.body["instanceId"], "BIZ-1");
        }
        let id = parsed.terms().license_id.to_string();
        // The buyer activates it.
        let (status, _) = h.activate(&code, &system_id("v1")).await;
        assert_eq!(status, 200);
        // Renewal, expiry (a freeze), release: each a signed update, in order.
        let renew = h
            .v1(&[
                ("activity", "refreshLicense"),
                ("orderId", "ORDER-2"),
                ("instanceId", "BIZ-1"),
                ("expireTime", "20311130000000"),
            ])
            .await;
        assert_eq!(renew.body["resultCode"], "000000");
        assert!(renew.body_sign_ok);
        let expire_call = [("activity", "expireLicense"), ("instanceId", "BIZ-1")];
        assert_eq!(h.v1(&expire_call).await.body["resultCode"], "000000");
        assert_eq!(
            h.v1(&expire_call).await.body["resultCode"],
            "000000",
            "a retry"
        );
        let release = [
            ("activity", "releaseLicense"),
            ("orderId", "ORDER-3"),
            ("instanceId", "BIZ-1"),
        ];
        assert_eq!(h.v1(&release).await.body["resultCode"], "000000");
        let updates = h.updates(&id).await;
        assert_eq!(
            updates,
            vec![
                (
                    1,
                    UpdateAction::Renew {
                        expires: Timestamp::parse("2031-11-30").unwrap()
                    }
                ),
                (2, UpdateAction::Freeze),
                (3, UpdateAction::Release),
            ]
        );
        let detail = h
            .admin(reqwest::Method::GET, &format!("/licenses/{id}"))
            .await;
        assert_eq!(detail["license"]["status"], "released");
        assert_eq!(detail["seats_used"], 0, "a release frees the seats");
        let events = h
            .admin(
                reqwest::Method::GET,
                &format!("/licenses/{id}/marketplace-events"),
            )
            .await;
        let activities: Vec<&str> = events["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["activity"].as_str().unwrap())
            .collect();
        assert_eq!(
            activities,
            [
                "getLicense",
                "refreshLicense",
                "expireLicense",
                "releaseLicense"
            ]
        );
        assert!(
            !events.to_string().contains("authToken"),
            "no secrets in the events"
        );
        // Refusals: an unknown instance, an unmapped product, a wrong token.
        let unknown = h
            .v1(&[("activity", "expireLicense"), ("instanceId", "NOPE")])
            .await;
        assert_eq!(unknown.body["resultCode"], "000003");
        let unmapped = h
            .v1(&[
                ("activity", "getLicense"),
                ("customerId", "C"),
                ("businessId", "B"),
                ("orderId", "O9"),
                ("productId", "OTHER"),
            ])
            .await;
        assert_eq!(unmapped.body["resultCode"], "000002");
        assert!(unmapped.body["resultMsg"]
            .as_str()
            .unwrap()
            .contains("not mapped"));
        let url = format!("{}/marketplace/license-v1", h.base);
        let forged = stand_in::send_v1(&url, &AccessKey::new("wrong"), &expire_call, now())
            .await
            .unwrap();
        assert_eq!(forged.body["resultCode"], "000001");
        let stale = stand_in::send_v1(
            &url,
            &AccessKey::new(V1_KEY),
            &expire_call,
            now().add_secs(3600),
        )
        .await
        .unwrap();
        assert_eq!(stale.body["resultCode"], "000001");
        assert_eq!(
            h.updates(&id).await.len(),
            3,
            "refused calls change nothing"
        );
        h.stop().await;
    }
}

/// Bridges `code` through the buyer API and returns the keyward license id.
async fn bridge(h: &Harness, code: &str, machine: &str) -> String {
    h.market.put(code, delivered("OFFER-1"));
    let (status, v) = h.activate(code, machine).await;
    assert_eq!(status, 200, "{v}");
    v["license_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn callbacks_authentication_probes_duplicates_and_order() {
    for h in Harness::each("callbacks").await {
        let id = bridge(&h, "PL0000000001", &system_id("cb")).await;
        let renew = json!({"activity": "refreshLicenseCode", "scene": "RENEWAL", "orderId": "R1",
            "license": "PL0000000001", "expireTime": "20321130000000", "testFlag": "0"});
        // Every authentication failure class: 000001 and no effect.
        let url = format!("{}/marketplace/license", h.base);
        let t = now_ms();
        let wrong_key = h.callback_signed("not-the-key", &renew, t, "a1").await;
        let stale = h
            .callback_signed(CALLBACK_KEY, &renew, t - 61_000, "a2")
            .await;
        let future = h
            .callback_signed(CALLBACK_KEY, &renew, t + 61_000, "a3")
            .await;
        let seconds_ok = h
            .callback_signed(
                CALLBACK_KEY,
                &json!({"activity": "releaseLicenseCode", "testFlag": "1"}),
                t / 1000,
                "a4",
            )
            .await;
        for a in [&wrong_key, &stale, &future] {
            assert_eq!(a["resultCode"], "000001", "{a}");
        }
        assert_eq!(
            seconds_ok["resultCode"], "000000",
            "timestamps in seconds are accepted"
        );
        // Altered body, missing parameters.
        let mut call =
            stand_in::sign_callback(&url, &AccessKey::new(CALLBACK_KEY), &renew, t, "a5");
        call.body = br#"{"activity":"releaseLicenseCode","license":"PL0000000001"}"#.to_vec();
        assert_eq!(
            stand_in::send_callback(&call).await.unwrap().body["resultCode"],
            "000001"
        );
        let bare = stand_in::SignedCallback {
            url: url.clone(),
            body: renew.to_string().into_bytes(),
        };
        assert_eq!(
            stand_in::send_callback(&bare).await.unwrap().body["resultCode"],
            "000001"
        );
        // A replayed nonce.
        let first = h
            .callback_signed(
                CALLBACK_KEY,
                &json!({"activity": "refreshLicenseCode", "testFlag": 1}),
                t,
                "same-nonce",
            )
            .await;
        assert_eq!(first["resultCode"], "000000");
        let replay = h
            .callback_signed(
                CALLBACK_KEY,
                &json!({"activity": "refreshLicenseCode", "testFlag": 1}),
                t,
                "same-nonce",
            )
            .await;
        assert_eq!(replay["resultCode"], "000001");
        assert!(
            h.updates(&id).await.is_empty(),
            "refusals and probes change nothing"
        );
        // Probes: 000000, nothing changed.
        for activity in [
            "refreshLicenseCode",
            "updateLicenseCodeStatus",
            "releaseLicenseCode",
        ] {
            let probe = json!({"activity": activity, "license": "PLTEST", "testFlag": "1"});
            assert_eq!(h.callback(&probe).await, "000000");
        }
        assert!(h.updates(&id).await.is_empty());
        // Bad parameters, unknown codes.
        assert_eq!(
            h.callback(&json!({"activity": "nonsense", "license": "PL0000000001"}))
                .await,
            "000002"
        );
        assert_eq!(
            h.callback(&json!({"activity": "releaseLicenseCode", "license": "PL9999"}))
                .await,
            "000003"
        );
        // The same renewal delivered 60 times: one effect, the same answer every time.
        for _ in 0..60 {
            assert_eq!(h.callback(&renew).await, "000000");
        }
        let after_renewals = h.updates(&id).await;
        assert_eq!(
            after_renewals,
            vec![(
                1,
                UpdateAction::Renew {
                    expires: Timestamp::parse("2032-11-30").unwrap()
                }
            )]
        );
        // The previous key still works during a rotation.
        let shorten = json!({"activity": "refreshLicenseCode", "scene": "UNSUBSCRIBE_RENEWAL_PERIOD", "orderId": "R2",
            "license": "PL0000000001", "expireTime": "20311130000000"});
        let rotated = h
            .callback_signed(OLD_CALLBACK_KEY, &shorten, now_ms(), "rot-1")
            .await;
        assert_eq!(rotated["resultCode"], "000000");
        // FREEZE then UNFREEZE, delivered out of order: the later one (UNFREEZE) wins.
        let freeze = json!({"activity": "updateLicenseCodeStatus", "license": "PL0000000001", "status": "FREEZE"});
        let unfreeze = json!({"activity": "updateLicenseCodeStatus", "license": "PL0000000001", "status": "UNFREEZE"});
        let t = now_ms();
        assert_eq!(
            h.callback_signed(CALLBACK_KEY, &unfreeze, t, "o-2").await["resultCode"],
            "000000"
        );
        assert_eq!(
            h.callback_signed(CALLBACK_KEY, &freeze, t - 5_000, "o-1")
                .await["resultCode"],
            "000000"
        );
        let detail = h
            .admin(reqwest::Method::GET, &format!("/licenses/{id}"))
            .await;
        assert_eq!(
            detail["license"]["status"], "active",
            "the late FREEZE is superseded"
        );
        // In order: frozen, then active again.
        assert_eq!(
            h.callback_signed(CALLBACK_KEY, &freeze, t + 1_000, "o-3")
                .await["resultCode"],
            "000000"
        );
        assert_eq!(
            h.admin(reqwest::Method::GET, &format!("/licenses/{id}"))
                .await["license"]["status"],
            "frozen"
        );
        assert_eq!(
            h.callback_signed(CALLBACK_KEY, &unfreeze, t + 2_000, "o-4")
                .await["resultCode"],
            "000000"
        );
        let release =
            json!({"activity": "releaseLicenseCode", "license": "PL0000000001", "orderId": "R3"});
        for _ in 0..3 {
            assert_eq!(h.callback(&release).await, "000000");
        }
        let actions: Vec<UpdateAction> = h.updates(&id).await.into_iter().map(|(_, a)| a).collect();
        assert_eq!(
            actions,
            vec![
                UpdateAction::Renew {
                    expires: Timestamp::parse("2032-11-30").unwrap()
                },
                UpdateAction::Renew {
                    expires: Timestamp::parse("2031-11-30").unwrap()
                },
                UpdateAction::Freeze,
                UpdateAction::Unfreeze,
                UpdateAction::Release,
            ]
        );
        let detail = h
            .admin(reqwest::Method::GET, &format!("/licenses/{id}"))
            .await;
        assert_eq!(detail["seats_used"], 0);
        let metrics = h
            .http
            .get(format!("{}/metrics", h.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(metrics.contains("keyward_marketplace_calls_total{activity=\"refreshLicenseCode\",result=\"000000\"}"), "{metrics}");
        assert!(metrics.contains("result=\"000001\""));
        h.stop().await;
    }
}

#[tokio::test]
async fn bridge_errors_retries_and_seats() {
    for h in Harness::each("bridge").await {
        let machine = system_id("b1");
        // Not yet received by the buyer, unknown: clear bilingual refusals, nothing recorded.
        h.market.put(
            "PLNOTYET",
            MarketLicense {
                delivered: false,
                ..delivered("OFFER-1")
            },
        );
        let (status, v) = h.activate("PLNOTYET", &machine).await;
        assert_eq!(status, 409);
        assert_eq!(v["code"], "marketplace_not_delivered");
        assert!(v["message"].as_str().unwrap().contains("确认收货"), "{v}");
        let (status, v) = h.activate("PLUNKNOWN", &machine).await;
        assert_eq!(status, 404);
        assert_eq!(v["code"], "marketplace_code_unknown");
        // The marketplace down: a retryable refusal; the same code works once it is back.
        h.market.put("PL0000000002", delivered("OFFER-1"));
        h.market.fail_next([Fault::Status(503), Fault::Status(503)]);
        let (status, v) = h.activate("PL0000000002", &machine).await;
        assert_eq!(status, 502, "{v}");
        assert_eq!(v["code"], "marketplace_unavailable");
        let (status, first) = h.activate("PL0000000002", &machine).await;
        assert_eq!(status, 200, "{first}");
        assert!(
            first["certificate"].as_str().unwrap().contains("KC1"),
            "{first}"
        );
        // Same code, same machine: the same seat. Another machine: no seat left (1 seat).
        let (_, again) = h.activate("PL0000000002", &machine).await;
        assert_eq!(again["license_id"], first["license_id"]);
        assert_eq!(again["reactivated"], true);
        let (status, other) = h.activate("PL0000000002", &system_id("b2")).await;
        assert_eq!(status, 409);
        assert_eq!(other["code"], "no_seat_left");
        // The marketplace was asked to activate it once only (the retry after 503 aside).
        let activations = h
            .market
            .received()
            .iter()
            .filter(|r| r.path.ends_with("/activate") && r.licenses == ["PL0000000002"])
            .count();
        assert_eq!(
            activations, 3,
            "two failed attempts, then one that succeeded"
        );
        h.stop().await;
    }
}

#[tokio::test]
async fn reconciliation_turns_marketplace_states_into_updates() {
    for h in Harness::each("reconcile").await {
        let expired = bridge(&h, "PL00000000E1", &system_id("r1")).await;
        let released = bridge(&h, "PL00000000R1", &system_id("r2")).await;
        let renewed = bridge(&h, "PL00000000N1", &system_id("r3")).await;
        let unchanged = bridge(&h, "PL00000000U1", &system_id("r4")).await;
        let past = now().add_secs(0).floor_minute();
        let past = Timestamp(past.secs() - 86_400);
        h.market
            .set_status("PL00000000E1", MarketStatus::Expired, Some(past));
        h.market
            .set_status("PL00000000R1", MarketStatus::Released, None);
        let later = Timestamp::parse("2035-01-01").unwrap();
        h.market
            .set_status("PL00000000N1", MarketStatus::Alive, Some(later));
        let report = h
            .admin(reqwest::Method::POST, "/marketplace/reconcile")
            .await;
        assert_eq!(report["published"], 3, "{report}");
        assert_eq!(
            h.updates(&expired).await,
            vec![(1, UpdateAction::Renew { expires: past })]
        );
        assert_eq!(h.updates(&released).await, vec![(1, UpdateAction::Release)]);
        assert_eq!(
            h.updates(&renewed).await,
            vec![(1, UpdateAction::Renew { expires: later })]
        );
        assert!(h.updates(&unchanged).await.is_empty());
        // Once more: nothing new (the ledger already matches the marketplace).
        let again = h
            .admin(reqwest::Method::POST, "/marketplace/reconcile")
            .await;
        assert_eq!(again["published"], 0, "{again}");
        // A run's batches are claimed once: a second instance skips them.
        let claimed = h
            .ledger
            .claim_batch("run-x".into(), 0, "a".into(), 1)
            .await
            .unwrap();
        let second = h
            .ledger
            .claim_batch("run-x".into(), 0, "b".into(), 1)
            .await
            .unwrap();
        assert!(claimed && !second);
        h.stop().await;
    }
}

/// The buyer's program on machine `name` (keyward-host, the merchant's key trusted), with
/// its state under `dir`; and the machine's facts.
fn buyer_program(dir: &std::path::Path, name: &str) -> (Arc<keyward_host::License>, MachineFacts) {
    let facts = MachineFacts {
        machine_id: Some(format!("machine-{name}")),
        disk_serial: Some(format!("disk-{name}")),
        ..MachineFacts::default()
    };
    let license = keyward_host::License::builder()
        .trusted_keys_pem(MerchantKey::from_seed(&SEED).public().to_pem())
        .state_dir(dir.join("state"))
        .cache_dir(dir.join("cache"))
        .product("acme-invoice")
        .facts(facts.clone())
        .build()
        .unwrap();
    (Arc::new(license), facts)
}

/// The buyer's program fetches the published updates: how many it applied, and its status.
async fn fetch_on_host(
    license: &Arc<keyward_host::License>,
    h: &Harness,
) -> (u32, keyward_host::Status) {
    let base = h.base.clone();
    on_host(license, move |l| {
        let applied = l.fetch_updates(&base).unwrap();
        (applied, l.status().unwrap())
    })
    .await
}

/// Runs `f` with the buyer's program on a blocking thread (keyward-host's online calls are
/// blocking; the service runs on this test's runtime).
async fn on_host<T: Send + 'static>(
    license: &Arc<keyward_host::License>,
    f: impl FnOnce(&keyward_host::License) -> T + Send + 'static,
) -> T {
    let license = license.clone();
    tokio::task::spawn_blocking(move || f(&license))
        .await
        .unwrap()
}

/// Issue 11: the buyer's program (keyward-host) activates with the marketplace's own `PL…`
/// code; the marketplace then renews, freezes, unfreezes and releases it, and after each
/// callback the program fetches the signed update and its status follows.
#[tokio::test]
async fn a_marketplace_code_activates_through_keyward_host_and_its_status_follows_the_marketplace()
{
    for h in Harness::each("host_follows").await {
        let code = "PL00000000H1";
        h.market.put(code, delivered("OFFER-1"));
        let dir = tempfile::tempdir().unwrap();
        let (license, facts) = buyer_program(dir.path(), "host-1");
        let base = h.base.clone();
        let status = on_host(&license, move |l| l.activate_online(&base, code, None))
            .await
            .unwrap();
        assert_eq!(status.code, "active", "{status:?}");
        assert!(status.license.as_ref().is_some_and(|l| l.bound));
        // The seat is this machine's: its system identification code, in the ledger.
        let id = status.license.as_ref().unwrap().license_id.clone();
        let shown = h
            .admin(reqwest::Method::GET, &format!("/licenses/{id}"))
            .await;
        assert_eq!(
            shown["activations"][0]["machine"],
            SystemIdCode::compute("acme-invoice", &facts).to_string(),
            "{shown}"
        );

        let fetch = |h| fetch_on_host(&license, h);
        let renew = json!({"activity": "refreshLicenseCode", "scene": "RENEWAL", "orderId": "H-R1",
            "license": code, "expireTime": "20321130000000", "testFlag": "0"});
        assert_eq!(h.callback(&renew).await, "000000");
        let (applied, status) = fetch(&h).await;
        assert_eq!(applied, 1);
        assert_eq!(status.code, "active");
        let expires = status.license.as_ref().unwrap().expires;
        assert_eq!(
            expires.map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_secs()),
            Some(Timestamp::parse("2032-11-30T00:00:00Z").unwrap().secs()),
            "{status:?}"
        );
        let freeze =
            json!({"activity": "updateLicenseCodeStatus", "license": code, "status": "FREEZE"});
        assert_eq!(h.callback(&freeze).await, "000000");
        let (applied, status) = fetch(&h).await;
        assert_eq!((applied, status.code.as_str()), (1, "frozen"));
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let unfreeze =
            json!({"activity": "updateLicenseCodeStatus", "license": code, "status": "UNFREEZE"});
        assert_eq!(h.callback(&unfreeze).await, "000000");
        let (applied, status) = fetch(&h).await;
        assert_eq!((applied, status.code.as_str()), (1, "active"));
        let release = json!({"activity": "releaseLicenseCode", "license": code, "orderId": "H-R2"});
        assert_eq!(h.callback(&release).await, "000000");
        let (applied, status) = fetch(&h).await;
        assert_eq!((applied, status.code.as_str()), (1, "released"));
        assert!(!on_host(&license, |l| l.has_feature("export")).await);
        // Nothing more to fetch.
        let (applied, _) = fetch(&h).await;
        assert_eq!(applied, 0);
        h.stop().await;
    }
}

/// Issue 11, License 1.0: order → `getLicense` → the authorization code → the buyer's program
/// activates it online → the marketplace renews, expires (a freeze) and releases it → after
/// each call the program fetches the update and its status follows.
#[tokio::test]
async fn a_license_v1_order_activates_through_keyward_host_and_its_status_follows() {
    for h in Harness::each("host_follows_v1").await {
        let got = h
            .v1(&[
                ("activity", "getLicense"),
                ("customerId", "C9"),
                ("businessId", "BIZ-H"),
                ("orderId", "ORDER-H"),
                ("productId", "OFFER-1"),
                ("expireTime", "20301130000000"),
            ])
            .await;
        assert_eq!(got.body["resultCode"], "000000", "{:?}", got.body);
        let code = got.body["license"].as_str().unwrap().to_owned();
        let dir = tempfile::tempdir().unwrap();
        let (license, _) = buyer_program(dir.path(), "host-v1");
        let base = h.base.clone();
        let status = on_host(&license, move |l| l.activate_online(&base, &code, None))
            .await
            .unwrap();
        assert_eq!(status.code, "active", "{status:?}");
        let calls: [(&[(&str, &str)], &str); 3] = [
            (
                &[
                    ("activity", "refreshLicense"),
                    ("orderId", "ORDER-H2"),
                    ("instanceId", "BIZ-H"),
                    ("expireTime", "20311130000000"),
                ],
                "active",
            ),
            (
                &[("activity", "expireLicense"), ("instanceId", "BIZ-H")],
                "frozen",
            ),
            (
                &[
                    ("activity", "releaseLicense"),
                    ("orderId", "ORDER-H3"),
                    ("instanceId", "BIZ-H"),
                ],
                "released",
            ),
        ];
        for (call, then) in calls {
            assert_eq!(h.v1(call).await.body["resultCode"], "000000", "{call:?}");
            let (applied, status) = fetch_on_host(&license, &h).await;
            assert_eq!((applied, status.code.as_str()), (1, then), "{call:?}");
            if then == "active" {
                let expires = status.license.as_ref().unwrap().expires.unwrap();
                assert_eq!(
                    expires.duration_since(UNIX_EPOCH).unwrap().as_secs(),
                    Timestamp::parse("2031-11-30T00:00:00Z").unwrap().secs()
                );
            }
        }
        h.stop().await;
    }
}
