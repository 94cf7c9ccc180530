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
//! const page = new Page(config.public_keys.join('\0')); // the merchant's SPKI PEM keys
//! JSON.parse(page.key_ids()).key_ids;                    // or {error} when a key is bad
//! const r = JSON.parse(page.check(text, "authorization_code", Date.now() / 1000));
//! r.verdict;   // "active", "typo", "wrong_kind", …  (the core's stable code)
//! r.reason;    // finer: "incomplete" (a code still being typed), "missing_or_extra", …
//! r.typos;     // [{group, first, last}]  — 1-based group and character positions
//! r.suggestion // the one correction, when exactly one makes the code valid
//! r.pasted_as // with a suggestion: the pasted code characters as the core reads them
//! r.details;   // {product, sku, seats, not_before, expires, features, trial, bound_to, …}
//! JSON.parse(page.bound_matches(codeText, machineText)).state;  // "match", "mismatch", …
//! JSON.parse(page.make_request(codeText, machineText, crypto.getRandomValues(new Uint8Array(8)), now));
//!              // {request: "KR1-…"}, or {report} when no request can be made
//! ```
//!
//! Messages: the core's English sentence is in `message`; the page words its own English
//! and Chinese from `verdict`, `reason`, `args` and `typos`. The page never folds or
//! normalises text itself: what it shows about a text comes from here.
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
#![deny(unsafe_code)]
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

use alloc::string::String;

use keyward_core::Timestamp;
use wasm_bindgen::prelude::*;

use check::{Checker, Env, Field};
use json::Json;

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

/// Seconds since the epoch from a JS number (negative, NaN and fractions are floored to
/// whole non-negative seconds).
fn timestamp(secs: f64) -> Timestamp {
    Timestamp(secs.max(0.0) as u64)
}

/// The page's checker: the merchant's keys, and every check made with them. JS holds it
/// (`new Page(keys)`), so the wasm keeps no global state.
#[wasm_bindgen]
pub struct Page {
    /// The checker, or why the keys could not be read (as `{error}` JSON).
    checker: Result<Checker, String>,
}

#[wasm_bindgen]
impl Page {
    /// Trusts the merchant's public keys (SPKI PEM, as in config.json's `public_keys`),
    /// given as one text with a NUL character (`"\0"`) between keys. Never fails: when a
    /// key cannot be read, [`Page::key_ids`] says why and every check is that error.
    #[wasm_bindgen(constructor)]
    pub fn new(public_keys_pem: &str) -> Page {
        let pems = public_keys_pem.split('\0').filter(|p| !p.is_empty());
        let checker = Checker::new(pems).map_err(|e| {
            // The merchant's config is wrong: say which way, in English (the page shows it
            // under its own sentence). The core is built without its message sentences
            // here, so the reason is put in words by hand (keys only fail as invalid_key;
            // any other error is named by its code, without the core's Display).
            let mut message = String::from("invalid key: ");
            match e {
                keyward_core::Error::InvalidKey { reason } if !reason.is_empty() => {
                    message.push_str(&reason)
                }
                e => message.push_str(e.code().as_str()),
            }
            error(&message)
        });
        Page { checker }
    }

    /// The JSON of `{key_ids}`, or of `{error}` when a key could not be read.
    pub fn key_ids(&self) -> String {
        self.with(|c| {
            let mut j = Json::new();
            j.open('{').key("key_ids").strs(&c.key_ids()).close('}');
            j.finish()
        })
    }

    /// The verdict on `text` at `now_unix_secs`.
    ///
    /// `expected_kind`: `"authorization_code"` (field 1), `"machine"` (field 2: a system or
    /// hardware identification code), another kind code, or nothing for any artifact
    /// (field 3). `facts` and `high_water_unix_secs` are for the test vectors; the page
    /// passes neither, and a bound license is then judged on its terms
    /// (`binding_unchecked: true`). `facts` is lines of `name=value`: `machine_id`,
    /// `product_uuid`, `board_serial`, `disk_serial`, `cpu`, and a `macs` line per MAC
    /// address (`""`: a machine without facts).
    ///
    /// Returns the JSON of `{kind, verdict, message, suggestion, pasted_as, reason,
    /// typos, args, details, binding_unchecked}`.
    pub fn check(
        &self,
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
        self.with(|c| json::report(&c.check(text, field, &env)))
    }

    /// Whether the license in `code` (an authorization code or a certificate) is bound to
    /// the machine named by `machine_text`: the JSON of `{state: "match" | "mismatch" |
    /// "unbound" | "incomparable" | "invalid", bound, matched, required, differing}`.
    pub fn bound_matches(&self, code: &str, machine_text: &str) -> String {
        self.with(|c| json::machine_match(&c.bound_matches(code, machine_text)))
    }

    /// An activation request for `code` on the machine `machine_text`, with 8 random bytes
    /// `nonce` from the caller (`crypto.getRandomValues`): the JSON of `{request:
    /// "KR1-…"}`, or of `{report}` (a report as from [`Page::check`]) when the code or
    /// machine is not valid or the code is bound elsewhere.
    pub fn make_request(
        &self,
        code: &str,
        machine_text: &str,
        nonce: &[u8],
        now_unix_secs: f64,
    ) -> String {
        let Ok(nonce) = <[u8; 8]>::try_from(nonce) else {
            return error("keyward: the nonce must be 8 bytes");
        };
        self.with(|c| {
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
}

impl Page {
    /// `f(checker)`, or the `{error}` of the keys.
    fn with(&self, f: impl FnOnce(&Checker) -> String) -> String {
        match &self.checker {
            Ok(c) => f(c),
            Err(e) => e.clone(),
        }
    }
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

    /// A page trusting the vectors' keys.
    fn vectors_page(v: &Value) -> Page {
        let keys: Vec<&str> = v["public_keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        Page::new(&keys.join("\0"))
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
                Value::Null => {}
                v => lines.push(format!("{name}={}", v.as_str().unwrap())),
            }
        }
        lines.join("\n")
    }

    #[test]
    fn calls_without_keys_and_bad_calls_are_errors() {
        let p = Page::new("");
        let e = parse(&p.check("x", None, 0.0, None, None));
        assert_eq!(e["error"], "invalid key: no public key was given");
        assert!(parse(&p.bound_matches("a", "b"))["error"].is_string());
        let v = vectors();
        let p = vectors_page(&v);
        let e = parse(&p.check("x", Some("nonsense".into()), 0.0, None, None));
        assert_eq!(e["error"], "keyward: unknown expected_kind");
        let e = parse(&p.make_request("a", "b", &[1, 2, 3], 0.0));
        assert_eq!(e["error"], "keyward: the nonce must be 8 bytes");
    }

    #[test]
    fn init_names_the_keys_or_says_why_not() {
        let v = vectors();
        let ids = parse(&vectors_page(&v).key_ids());
        let want = v["cases"].as_array().unwrap().iter().find_map(|c| {
            let input = c["input"].as_str()?;
            let line = input.lines().find(|l| l.starts_with("Key: "))?;
            Some(line["Key: ".len()..].to_string())
        });
        assert_eq!(ids["key_ids"][0].as_str(), want.as_deref());
        assert_eq!(ids.as_object().unwrap().len(), 1);
        let bad = parse(&Page::new("not a key").key_ids());
        assert!(bad["error"].as_str().unwrap().starts_with("invalid key: "));
        assert_eq!(
            parse(&Page::new("").key_ids())["error"],
            "invalid key: no public key was given"
        );
        // One bad key among good ones is still an error, for every call.
        let good = v["public_keys"][0].as_str().unwrap();
        let p = Page::new(&format!("{good}\0junk"));
        assert!(parse(&p.key_ids())["error"].is_string());
        assert!(parse(&p.check("", None, 0.0, None, None))["error"].is_string());
        assert_eq!(
            parse(&vectors_page(&v).check("", None, 0.0, None, None))["verdict"],
            "empty"
        );
    }

    #[test]
    fn every_vector_through_json_with_facts_as_lines() {
        let v = vectors();
        let p = vectors_page(&v);
        let facts = fact_lines(&v["facts"]);
        for c in v["cases"].as_array().unwrap() {
            let kind = match c["expected_kind"].as_str() {
                Some("system_id") => Some("machine".to_string()),
                k => k.map(String::from),
            };
            let hw = secs(c.get("high_water").unwrap_or(&v["high_water"]));
            let r = parse(&p.check(
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
        let p = vectors_page(&v);
        let now = secs(&v["now"]);
        let code = |name: &str| {
            parse(&p.check(
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
                "pasted_as",
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
        // The pasted text as the core reads it: what the page compares the suggestion with.
        let read: String = case(&v, "code_typo_substitution")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        assert_eq!(r["pasted_as"], read.as_str());
        // Pasted in lower case and full width, it reads the same.
        let wide: String = case(&v, "code_typo_substitution")
            .chars()
            .map(|c| match c {
                '!'..='~' => char::from_u32(c.to_ascii_lowercase() as u32 + 0xFEE0).unwrap(),
                c => c,
            })
            .collect();
        let w = parse(&p.check(&wide, Some("authorization_code".into()), now, None, None));
        assert_eq!(w["pasted_as"], read.as_str());
        assert_eq!(w["suggestion"], r["suggestion"]);
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

        let r = parse(&p.check(case(&v, "certificate_valid"), None, now, None, None));
        let d = &r["details"];
        assert!(d["nonce"].as_str().is_some_and(|n| n.len() == 16));
        assert!(d["issued"].is_u64() && d["key_id"].is_string());

        let r = parse(&p.check(case(&v, "update_renew_valid"), None, now, None, None));
        let u = &r["details"]["update"];
        assert_eq!(u["action"], "renew");
        assert!(u["expires"].is_u64() && u["sequence"].is_u64());

        let m = parse(&p.check(
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
    fn a_code_being_typed_is_incomplete_not_wrong() {
        let v = vectors();
        let p = vectors_page(&v);
        let now = secs(&v["now"]);
        for name in ["code_valid_unbound", "system_id_valid"] {
            let full = case(&v, name);
            let field = if name == "system_id_valid" {
                "machine"
            } else {
                "authorization_code"
            };
            let chars: Vec<char> = full.chars().collect();
            for n in 1..chars.len() {
                let typed: String = chars[..n].iter().collect();
                let r = parse(&p.check(&typed, Some(field.into()), now, None, None));
                if r["suggestion"].is_string() {
                    // One character short: the core offers the whole code.
                    assert_eq!(n, chars.len() - 1, "{typed}");
                    continue;
                }
                assert_eq!(r["reason"], "incomplete", "{name} {typed}: {r}");
                assert_eq!(
                    r["args"]["symbols"],
                    typed.chars().filter(|c| c.is_ascii_alphanumeric()).count()
                );
            }
        }
        // A mistake in a complete group is a typo, not unfinished.
        let r = parse(&p.check(
            &case(&v, "code_typo_substitution")[..30],
            Some("authorization_code".into()),
            now,
            None,
            None,
        ));
        assert_eq!(r["verdict"], "typo");
        assert_ne!(r["reason"], "incomplete");
    }

    #[test]
    fn binding_and_requests() {
        let v = vectors();
        let p = vectors_page(&v);
        let here = case(&v, "system_id_valid");
        let m = parse(&p.bound_matches(case(&v, "code_bound_system_other_machine"), here));
        assert_eq!(m["state"], "mismatch");
        assert_eq!(
            (&m["bound"], &m["matched"], &m["required"]),
            (&"system".into(), &0.into(), &3.into())
        );
        assert_eq!(m["differing"].as_array().unwrap().len(), 5);
        let m = parse(&p.bound_matches(case(&v, "code_valid_unbound"), here));
        assert_eq!(
            m,
            serde_json::json!({"state": "unbound", "bound": null, "matched": 0, "required": 0, "differing": []})
        );

        let now = secs(&v["now"]);
        let made = parse(&p.make_request(case(&v, "code_valid_unbound"), here, &[7; 8], now));
        assert!(made["request"]
            .as_str()
            .is_some_and(|r| r.starts_with("KR1-")));
        assert_eq!(made.as_object().unwrap().len(), 1);
        let made = parse(&p.make_request(
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
