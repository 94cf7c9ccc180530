//! # keyward-web
//!
//! keyward-core for the buyer activation page (`web/`), through wasm-bindgen: the page's
//! every verdict comes from the same core as the CLI's and the plugin's.
//!
//! From JavaScript (after `await init_wasm()` of the generated `web/pkg/keyward_web.js`).
//! Arguments are strings and numbers; every result is JSON text, and `{"error": …}` when
//! the call itself is wrong (app.js parses it and throws the error):
//!
//! ```js
//! JSON.parse(init(config.public_keys.join('\0'))).key_ids; // the merchant's SPKI PEM keys
//! const r = JSON.parse(check(text, "authorization_code", Date.now() / 1000));
//! r.verdict;   // "active", "typo", "wrong_kind", …  (the core's stable code)
//! r.typos;     // [{group, first, last}]  — 1-based group and character positions
//! r.suggestion // the one correction, when exactly one makes the code valid
//! r.details;   // {product, sku, seats, not_before, expires, features, trial, bound_to, …}
//! JSON.parse(bound_matches(codeText, machineText)).state;  // "match", "mismatch", …
//! JSON.parse(make_request(codeText, machineText, crypto.getRandomValues(new Uint8Array(8)), now));
//!              // {request: "KR1-…"}, or {report} when no request can be made
//! ```
//!
//! Messages: the core's English sentence is in `message`; the page words its own English
//! and Chinese from `verdict`, `reason`, `args` and `typos`.
//!
//! The logic lives in [`mod@check`] (plain Rust, tested natively against the shared test
//! vectors); this file only converts arguments and results.
//!
//! ## Size
//!
//! The page's wasm is kept small: JSON written by hand (`json`) rather than serde or
//! `js_sys` objects, plain strings and numbers across the boundary (no `JsValue`, no
//! `JsError`), and no standard library in the wasm build: a small allocator of its own
//! (keyward-heap) instead of dlmalloc, and a panic handler that traps instead of std's panic
//! machinery. Natively (tests) it is an ordinary std crate.
#![cfg_attr(all(target_arch = "wasm32", not(test)), no_std)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

extern crate alloc;

pub mod check;

/// keyward-heap instead of dlmalloc (see that crate).
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static HEAP: keyward_heap::Heap = keyward_heap::Heap::new();
mod json;

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use keyward_core::Timestamp;
use wasm_bindgen::prelude::*;

use check::{Checker, Env, Field};
use json::Json;

/// The merchant's keys, set by [`init`]: in the page's wasm (one thread) a plain static.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
mod slot {
    use core::cell::RefCell;

    use crate::check::Checker;

    struct Slot(RefCell<Option<Checker>>);

    // SAFETY: wasm32 without the atomics feature has a single thread.
    unsafe impl Sync for Slot {}

    static CHECKER: Slot = Slot(RefCell::new(None));

    pub(crate) fn with<T>(f: impl FnOnce(&RefCell<Option<Checker>>) -> T) -> T {
        f(&CHECKER.0)
    }
}

/// The merchant's keys, set by [`init`]: natively, one set per thread.
#[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
mod slot {
    use std::cell::RefCell;

    use crate::check::Checker;

    std::thread_local! {
        static CHECKER: RefCell<Option<Checker>> = const { RefCell::new(None) };
    }

    pub(crate) fn with<T>(f: impl FnOnce(&RefCell<Option<Checker>>) -> T) -> T {
        CHECKER.with(f)
    }
}

/// Without std, a panic (a bug: the code is written not to panic) stops the module with a
/// wasm trap, which JS sees as a `RuntimeError`.
#[cfg(all(target_arch = "wasm32", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// `{"error": message}`: the call itself is wrong.
fn error(message: &str) -> String {
    let mut j = Json::new();
    j.open('{').key("error").str(message).close('}');
    j.finish()
}

/// `f(checker)`, or the error JSON before [`init`].
fn with_checker(f: impl FnOnce(&Checker) -> String) -> String {
    slot::with(|c| c.borrow().as_ref().map(f))
        .unwrap_or_else(|| error("keyward: call init(public_keys) first"))
}

/// Seconds since the epoch from a JS number (negative, NaN and fractions are floored to
/// whole non-negative seconds).
fn timestamp(secs: f64) -> Timestamp {
    Timestamp(secs.max(0.0) as u64)
}

/// Trusts the merchant's public keys (SPKI PEM, as in config.json's `public_keys`), given
/// as one text with a NUL character (`"\0"`) between keys: the JSON of `{key_ids}`, or of
/// `{error}` when a key cannot be read (and then the keys trusted before stay).
#[wasm_bindgen]
pub fn init(public_keys_pem: &str) -> String {
    let pems: Vec<&str> = if public_keys_pem.is_empty() {
        Vec::new()
    } else {
        public_keys_pem.split('\0').collect()
    };
    let checker = match Checker::new(&pems) {
        Ok(c) => c,
        // The merchant's config is wrong: say which way, in English (the page shows it
        // under its own sentence). The core is built without its message sentences here,
        // so the reason is put in words by hand.
        Err(keyward_core::Error::InvalidKey { reason }) if !reason.is_empty() => {
            let mut message = String::from("invalid key: ");
            message.push_str(&reason);
            return error(&message);
        }
        Err(e) => return error(&e.to_string()),
    };
    let mut j = Json::new();
    j.open('{')
        .key("key_ids")
        .strs(&checker.key_ids())
        .close('}');
    slot::with(|c| *c.borrow_mut() = Some(checker));
    j.finish()
}

/// The verdict on `text` at `now_unix_secs`.
///
/// `expected_kind`: `"authorization_code"` (field 1), `"machine"` (field 2: a system or
/// hardware identification code), another kind code, or nothing for any artifact (field
/// 3). `facts` and `high_water_unix_secs` are for the test vectors; the page passes
/// neither, and a bound license is then judged on its terms (`binding_unchecked: true`).
/// `facts` is lines of `name=value`: `machine_id`, `product_uuid`, `board_serial`,
/// `disk_serial`, `cpu`, and a `macs` line per MAC address (`""`: a machine without
/// facts).
///
/// Returns the JSON of `{kind, verdict, message, suggestion, reason, typos, args, details,
/// binding_unchecked}`.
#[wasm_bindgen]
pub fn check(
    text: &str,
    expected_kind: Option<String>,
    now_unix_secs: f64,
    facts: Option<String>,
    high_water_unix_secs: Option<f64>,
) -> String {
    let Some(field) = Field::parse(expected_kind.as_deref()) else {
        return error("keyward: unknown expected_kind");
    };
    let now = timestamp(now_unix_secs);
    let env = Env {
        now,
        high_water: high_water_unix_secs.map_or(now, timestamp),
        facts: facts.as_deref().map(json::facts),
    };
    with_checker(|c| json::report(&c.check(text, field, &env)))
}

/// Whether the license in `code` (an authorization code or a certificate) is bound to the
/// machine named by `machine_text`: the JSON of `{state: "match" | "mismatch" | "unbound" |
/// "incomparable" | "invalid", bound, matched, required, differing}`.
#[wasm_bindgen]
pub fn bound_matches(code: &str, machine_text: &str) -> String {
    with_checker(|c| json::machine_match(&c.bound_matches(code, machine_text)))
}

/// An activation request for `code` on the machine `machine_text`, with 8 random bytes
/// `nonce` from the caller (`crypto.getRandomValues`): the JSON of `{request: "KR1-…"}`,
/// or of `{report}` (a report as from [`check()`]) when the code or machine is not valid or
/// the code is bound elsewhere.
#[wasm_bindgen]
pub fn make_request(code: &str, machine_text: &str, nonce: &[u8], now_unix_secs: f64) -> String {
    let Ok(nonce) = <[u8; 8]>::try_from(nonce) else {
        return error("keyward: the nonce must be 8 bytes");
    };
    with_checker(|c| {
        let mut j = Json::new();
        j.open('{');
        match c.make_request(code, machine_text, nonce, timestamp(now_unix_secs)) {
            Ok(request) => {
                j.key("request").str(&request);
            }
            Err(report) => json::write_report(j.key("report"), &report),
        }
        j.close('}');
        j.finish()
    })
}

/// The exported functions natively: the JSON the page parses.
#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vectors() -> Value {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/vectors/vectors.json"
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn secs(v: &Value) -> f64 {
        Timestamp::parse(v.as_str().unwrap()).unwrap().0 as f64
    }

    fn parse(json: &str) -> Value {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"))
    }

    fn case<'a>(v: &'a Value, name: &str) -> &'a str {
        let cases = v["cases"].as_array().unwrap();
        let c = cases.iter().find(|c| c["name"] == name).unwrap();
        c["input"].as_str().unwrap()
    }

    /// Initialises this thread's checker with the vectors' keys.
    fn init_vectors(v: &Value) -> Value {
        let keys: Vec<&str> = v["public_keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        parse(&init(&keys.join("\0")))
    }

    /// The vectors' facts as app.js writes them (`factLines`).
    fn fact_lines(f: &Value) -> String {
        let mut lines = Vec::new();
        for (name, value) in f.as_object().unwrap() {
            match value {
                Value::Array(macs) => lines.extend(
                    macs.iter()
                        .map(|m| format!("{name}={}", m.as_str().unwrap())),
                ),
                v => lines.push(format!("{name}={}", v.as_str().unwrap())),
            }
        }
        lines.join("\n")
    }

    #[test]
    fn calls_before_init_and_bad_calls_are_errors() {
        let e = parse(&check("x", None, 0.0, None, None));
        assert_eq!(e["error"], "keyward: call init(public_keys) first");
        assert!(parse(&bound_matches("a", "b"))["error"].is_string());
        let v = vectors();
        init_vectors(&v);
        let e = parse(&check("x", Some("nonsense".into()), 0.0, None, None));
        assert_eq!(e["error"], "keyward: unknown expected_kind");
        let e = parse(&make_request("a", "b", &[1, 2, 3], 0.0));
        assert_eq!(e["error"], "keyward: the nonce must be 8 bytes");
    }

    #[test]
    fn init_names_the_keys_or_says_why_not() {
        let v = vectors();
        let ids = init_vectors(&v);
        let want = v["cases"].as_array().unwrap().iter().find_map(|c| {
            let input = c["input"].as_str()?;
            let line = input.lines().find(|l| l.starts_with("Key: "))?;
            Some(line["Key: ".len()..].to_string())
        });
        assert_eq!(ids["key_ids"][0].as_str(), want.as_deref());
        assert_eq!(ids.as_object().unwrap().len(), 1);
        let bad = parse(&init("not a key"));
        assert!(bad["error"].as_str().unwrap().starts_with("invalid key: "));
        assert_eq!(
            parse(&init(""))["error"],
            "invalid key: no public key was given"
        );
        // One bad key among good ones is still an error.
        let good = v["public_keys"][0].as_str().unwrap();
        assert!(parse(&init(&format!("{good}\0junk")))["error"].is_string());
        // The keys from before a failed init stay.
        assert_eq!(parse(&check("", None, 0.0, None, None))["verdict"], "empty");
    }

    #[test]
    fn every_vector_through_json_with_facts_as_lines() {
        let v = vectors();
        init_vectors(&v);
        let facts = fact_lines(&v["facts"]);
        for c in v["cases"].as_array().unwrap() {
            let kind = match c["expected_kind"].as_str() {
                Some("system_id") => Some("machine".to_string()),
                k => k.map(String::from),
            };
            let hw = secs(c.get("high_water").unwrap_or(&v["high_water"]));
            let r = parse(&check(
                c["input"].as_str().unwrap(),
                kind,
                secs(&v["now"]),
                Some(facts.clone()),
                Some(hw),
            ));
            let name = &c["name"];
            assert_eq!(r["verdict"], c["verdict"], "{name}");
            assert_eq!(r["kind"], c["kind"], "{name}");
            assert_eq!(r["suggestion"], c["suggestion"], "{name}");
            assert!(
                r["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{name}"
            );
            assert_eq!(r["binding_unchecked"], false, "{name}: facts were given");
        }
    }

    #[test]
    fn reports_have_the_shape_the_page_reads() {
        let v = vectors();
        init_vectors(&v);
        let now = secs(&v["now"]);
        let code = |name: &str| {
            parse(&check(
                case(&v, name),
                Some("authorization_code".into()),
                now,
                None,
                None,
            ))
        };

        let r = code("code_trial_with_marketplace_refs");
        // (serde_json's map sorts its keys.)
        let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "args",
                "binding_unchecked",
                "details",
                "kind",
                "message",
                "reason",
                "suggestion",
                "typos",
                "verdict"
            ]
        );
        assert_eq!(
            (&r["suggestion"], &r["reason"]),
            (&Value::Null, &Value::Null)
        );
        assert_eq!(r["typos"], serde_json::json!([]));
        assert_eq!(r["args"], serde_json::json!({"days_left": 11}));
        let d = &r["details"];
        assert_eq!(d["product"], "acme-invoice");
        assert_eq!(d["features"], serde_json::json!(["export"]));
        assert_eq!(d["trial"], true);
        assert_eq!(d["order_id"], "CS2611201234ABCD");
        assert_eq!(d["bound_to"], Value::Null);
        assert_eq!(d["not_before"], secs(&"2026-11-01T00:00:00Z".into()) as u64);
        assert!(d["license_id"].as_str().is_some_and(|l| l.len() == 16));
        assert!(d.get("machine").is_none() && d.get("issued").is_none());

        assert_eq!(code("code_perpetual")["details"]["expires"], Value::Null);

        let r = code("code_bound_system_other_machine");
        assert_eq!(
            (&r["verdict"], &r["binding_unchecked"]),
            (&"active".into(), &true.into())
        );
        let b = &r["details"]["bound_to"];
        assert_eq!(
            (&b["type"], &b["required"], &b["of"]),
            (&"system".into(), &3.into(), &5.into())
        );
        assert!(b["code"].as_str().is_some_and(|c| c.starts_with("KS1-")));
        let b = &code("code_bound_mac_this_machine")["details"]["bound_to"];
        assert_eq!(
            (&b["type"], &b["hardware_kind"]),
            (&"hardware".into(), &"mac".into())
        );

        let r = code("code_typo_substitution");
        assert_eq!(
            r["typos"],
            serde_json::json!([{"group": 2, "first": 16, "last": 25}])
        );
        assert_eq!(r["suggestion"], case(&v, "code_valid_unbound"));
        assert_eq!(r["details"], Value::Null);

        let r = code("code_invalid_character");
        assert_eq!(r["reason"], "invalid_character");
        assert_eq!(
            r["args"],
            serde_json::json!({"character": "#", "position": 5})
        );

        let r = code("system_id_in_code_field");
        assert_eq!(
            r["args"],
            serde_json::json!({"expected": "authorization_code", "found": "system_id"})
        );

        let r = parse(&check(case(&v, "certificate_valid"), None, now, None, None));
        let d = &r["details"];
        assert!(d["nonce"].as_str().is_some_and(|n| n.len() == 16));
        assert!(d["issued"].is_u64() && d["key_id"].is_string());

        let r = parse(&check(
            case(&v, "update_renew_valid"),
            None,
            now,
            None,
            None,
        ));
        let u = &r["details"]["update"];
        assert_eq!(u["action"], "renew");
        assert!(u["expires"].is_u64() && u["sequence"].is_u64());

        let m = parse(&check(
            case(&v, "system_id_valid"),
            Some("machine".into()),
            now,
            None,
            None,
        ));
        let machine = &m["details"]["machine"];
        assert_eq!(
            (&machine["kind"], &machine["facts"]),
            (&"system_id".into(), &5.into())
        );
        assert!(machine.get("hardware_kind").is_none());
    }

    #[test]
    fn binding_and_requests() {
        let v = vectors();
        init_vectors(&v);
        let here = case(&v, "system_id_valid");
        let m = parse(&bound_matches(
            case(&v, "code_bound_system_other_machine"),
            here,
        ));
        assert_eq!(m["state"], "mismatch");
        assert_eq!(
            (&m["bound"], &m["matched"], &m["required"]),
            (&"system".into(), &0.into(), &3.into())
        );
        assert_eq!(m["differing"].as_array().unwrap().len(), 5);
        let m = parse(&bound_matches(case(&v, "code_valid_unbound"), here));
        assert_eq!(
            m,
            serde_json::json!({"state": "unbound", "bound": null, "matched": 0, "required": 0, "differing": []})
        );

        let now = secs(&v["now"]);
        let made = parse(&make_request(
            case(&v, "code_valid_unbound"),
            here,
            &[7; 8],
            now,
        ));
        assert!(made["request"]
            .as_str()
            .is_some_and(|r| r.starts_with("KR1-")));
        assert_eq!(made.as_object().unwrap().len(), 1);
        let made = parse(&make_request(
            case(&v, "code_bound_system_other_machine"),
            here,
            &[7; 8],
            now,
        ));
        let r = &made["report"];
        assert_eq!(r["verdict"], "machine_mismatch");
        assert_eq!(
            (&r["args"]["matched"], &r["args"]["required"]),
            (&0.into(), &3.into())
        );
        assert!(made.get("request").is_none());
    }
}
