//! # keyward-web
//!
//! keyward-core for the buyer activation page (`web/`), through wasm-bindgen: the page's
//! every verdict comes from the same core as the CLI's and the plugin's.
//!
//! From JavaScript (after `await init_wasm()` of the generated `web/pkg/keyward_web.js`):
//!
//! ```js
//! init(config.public_keys);                       // the merchant's SPKI PEM keys
//! const r = check(text, "authorization_code", Date.now() / 1000);
//! r.verdict;   // "active", "typo", "wrong_kind", …  (the core's stable code)
//! r.typos;     // [{group, first, last}]  — 1-based group and character positions
//! r.suggestion // the one correction, when exactly one makes the code valid
//! r.details;   // {product, sku, seats, not_before, expires, features, trial, bound_to, …}
//! check_machine(machineText);                     // system or hardware identification code
//! bound_matches(codeText, machineText).state;     // "match", "mismatch", …
//! make_request(codeText, machineText, crypto.getRandomValues(new Uint8Array(8)), now);
//! ```
//!
//! Messages: the core's English sentence is in `message`; the page words its own English
//! and Chinese from `verdict`, `reason`, `args` and `typos`. Objects are built with
//! `js_sys::Reflect`, not serde, to keep the wasm small.
//!
//! The logic lives in [`mod@check`] (plain Rust, tested natively against the shared test
//! vectors); this file only converts arguments and results.
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod check;
mod js;

use std::cell::RefCell;

use keyward_core::Timestamp;
use wasm_bindgen::prelude::*;

use check::{Checker, Env, Field};

thread_local! {
    /// The merchant's keys, set once by [`init`] (the page is single-threaded).
    static CHECKER: RefCell<Option<Checker>> = const { RefCell::new(None) };
}

fn with_checker<T>(f: impl FnOnce(&Checker) -> T) -> Result<T, JsError> {
    CHECKER.with(|c| {
        c.borrow()
            .as_ref()
            .map(f)
            .ok_or_else(|| JsError::new("keyward: call init(public_keys) first"))
    })
}

/// Seconds since the epoch from a JS number (negative, NaN and fractions are floored to
/// whole non-negative seconds).
fn timestamp(secs: f64) -> Timestamp {
    Timestamp(secs.max(0.0) as u64)
}

/// Trusts the merchant's public keys (SPKI PEM, as in config.json's `public_keys`).
/// Returns their key ids; throws when a key cannot be read.
#[wasm_bindgen]
pub fn init(public_keys_pem: Vec<String>) -> Result<Vec<String>, JsError> {
    let checker = Checker::new(&public_keys_pem).map_err(|e| JsError::new(&e.to_string()))?;
    let ids = checker.key_ids();
    CHECKER.with(|c| *c.borrow_mut() = Some(checker));
    Ok(ids)
}

/// The verdict on `text` at `now_unix_secs`.
///
/// `expected_kind`: `"authorization_code"` (field 1), `"machine"` (field 2: a system or
/// hardware identification code), another kind code, or nothing for any artifact (field
/// 3). `facts` (`{machine_id, product_uuid, board_serial, disk_serial, cpu, macs}`) and
/// `high_water_unix_secs` are for the test vectors; the page passes neither, and a bound
/// license is then judged on its terms (`binding_unchecked: true`).
///
/// Returns `{kind, verdict, message, suggestion, reason, typos, args, details,
/// binding_unchecked}`.
#[wasm_bindgen]
pub fn check(
    text: &str,
    expected_kind: Option<String>,
    now_unix_secs: f64,
    facts: JsValue,
    high_water_unix_secs: Option<f64>,
) -> Result<JsValue, JsError> {
    let field = Field::parse(expected_kind.as_deref())
        .ok_or_else(|| JsError::new("keyward: unknown expected_kind"))?;
    let now = timestamp(now_unix_secs);
    let env = Env {
        now,
        high_water: high_water_unix_secs.map_or(now, timestamp),
        facts: js::facts(&facts),
    };
    with_checker(|c| js::report(&c.check(text, field, &env)))
}

/// The verdict on field 2: a system identification code (`KS1-…`) or a hardware
/// identification code (`mac:…`, `sn:…`, `uuid:…`, `disk:…`, `fp:…`, `custom:…`).
#[wasm_bindgen]
pub fn check_machine(text: &str) -> Result<JsValue, JsError> {
    with_checker(|c| js::report(&c.check(text, Field::Machine, &Env::default())))
}

/// Whether the license in `code` (an authorization code or a certificate) is bound to the
/// machine named by `machine_text`: `{state: "match" | "mismatch" | "unbound" |
/// "incomparable" | "invalid", bound, matched, required, differing}`.
#[wasm_bindgen]
pub fn bound_matches(code: &str, machine_text: &str) -> Result<JsValue, JsError> {
    with_checker(|c| js::machine_match(&c.bound_matches(code, machine_text)))
}

/// An activation request (`KR1-…`) for `code` on the machine `machine_text`, with 8 random
/// bytes `nonce` from the caller (`crypto.getRandomValues`). Throws the report (as from
/// [`check()`]) when the code or machine is not valid or the code is bound elsewhere.
#[wasm_bindgen]
pub fn make_request(
    code: &str,
    machine_text: &str,
    nonce: &[u8],
    now_unix_secs: f64,
) -> Result<String, JsValue> {
    let nonce: [u8; 8] = nonce
        .try_into()
        .map_err(|_| JsValue::from(JsError::new("keyward: the nonce must be 8 bytes")))?;
    with_checker(|c| c.make_request(code, machine_text, nonce, timestamp(now_unix_secs)))
        .map_err(JsValue::from)?
        .map_err(|r| js::report(&r))
}
