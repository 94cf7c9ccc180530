//! Helpers shared by the integration tests: the test vectors, the fixed test key, licenses
//! on a controllable clock, and a compile cache shared by every test (compiling the plugin
//! in a debug build takes seconds; loading it precompiled, milliseconds).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keyward_core::{
    time::DAY, AuthorizationCode, LicenseId, LicenseTerms, MachineFacts, MerchantKey, Timestamp,
};
use keyward_host::{License, LicenseBuilder};
use serde_json::Value;

/// The vectors' key seed (test only).
pub const TEST_KEY_SEED: &[u8; 32] = b"keyward fixed test key: not safe";

pub fn vectors() -> &'static Value {
    static V: OnceLock<Value> = OnceLock::new();
    V.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/vectors.json");
        let text = std::fs::read_to_string(&path).expect("tests/vectors/vectors.json");
        serde_json::from_str(&text).expect("vectors.json is JSON")
    })
}

pub fn key() -> MerchantKey {
    MerchantKey::from_seed(TEST_KEY_SEED)
}

pub fn public_pem() -> String {
    key().public().to_pem()
}

pub fn ts(s: &str) -> u64 {
    Timestamp::parse(s).expect("a time").0
}

/// The vectors' `now`.
pub fn vectors_now() -> u64 {
    ts(vectors()["now"].as_str().expect("now"))
}

/// The vectors' facts ("this machine").
pub fn this_machine() -> MachineFacts {
    keyward_machine::from_json_str(&vectors()["facts"].to_string()).expect("facts")
}

pub fn other_machine() -> MachineFacts {
    MachineFacts {
        machine_id: Some("0123456789abcdef0123456789abcdef".into()),
        product_uuid: Some("11111111-2222-3333-4444-555555555555".into()),
        board_serial: Some("OTHERBOARD01".into()),
        disk_serial: Some("WD-OTHERDISK".into()),
        cpu: Some("AuthenticAMD family 25 model 33 stepping 0".into()),
        macs: vec!["aa:bb:cc:00:11:22".into()],
        ..Default::default()
    }
}

/// One precompiled-plugin cache for every test.
pub fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("keyward-host-test-cache")
}

/// A clock the test moves.
#[derive(Clone)]
pub struct TestClock(Arc<AtomicU64>);

impl TestClock {
    pub fn new(secs: u64) -> Self {
        TestClock(Arc::new(AtomicU64::new(secs)))
    }
    pub fn set(&self, secs: u64) {
        self.0.store(secs, Ordering::SeqCst);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

/// A builder with the test key, `facts`, the shared cache, and `clock`.
pub fn builder(dir: &Path, facts: MachineFacts, clock: &TestClock) -> LicenseBuilder {
    let c = clock.clone();
    License::builder()
        .trusted_keys_pem(public_pem())
        .state_dir(dir)
        .cache_dir(cache_dir())
        .product("acme-invoice")
        .facts(facts)
        .clock(move || UNIX_EPOCH + Duration::from_secs(c.get()))
}

pub fn license(dir: &Path, facts: MachineFacts, clock: &TestClock) -> License {
    builder(dir, facts, clock).build().expect("license")
}

pub fn terms(n: u8, now: u64, days: Option<u64>) -> LicenseTerms {
    LicenseTerms {
        license_id: LicenseId([0xA0, 0, 0, 0, 0, 0, 0, n]),
        product: "acme-invoice".into(),
        sku: "pro".into(),
        seats: 1,
        not_before: Timestamp(now - DAY),
        expires: days.map(|d| Timestamp(now + d * DAY)),
        features: vec!["export".into(), "pro".into()],
        trial: false,
        instance_id: None,
        order_id: None,
    }
}

/// An unbound authorization code valid from yesterday for `days`.
pub fn unbound_code(n: u8, now: u64, days: Option<u64>) -> String {
    AuthorizationCode::issue(&key(), terms(n, now, days), None)
        .expect("issue")
        .encode()
}

pub fn system_time(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}
