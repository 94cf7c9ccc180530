//! The page's checks, natively: every shared test vector through the field the page would
//! use, plus what the page adds (typo structure, binding against a pasted machine code,
//! activation requests).
//!
//! Native only: the crate's wasm build has its own panic handler (no std), which cannot be
//! linked into a std test binary.
#![cfg(not(target_arch = "wasm32"))]

use keyward_core::{binding::MachineRef, ActivationRequest, Kind, MachineFacts, Timestamp};
use keyward_web::check::{BoundTo, Checker, Env, Field};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/vectors.json"
    );
    let text = std::fs::read_to_string(path).expect("tests/vectors/vectors.json");
    serde_json::from_str(&text).expect("valid JSON")
}

fn ts(v: &Value) -> Timestamp {
    Timestamp::parse(v.as_str().expect("a time")).expect("RFC 3339")
}

fn facts(v: &Value) -> MachineFacts {
    let s = |k: &str| v[k].as_str().map(String::from);
    MachineFacts {
        machine_id: s("machine_id"),
        product_uuid: s("product_uuid"),
        board_serial: s("board_serial"),
        disk_serial: s("disk_serial"),
        cpu: s("cpu"),
        macs: list(&v["macs"]),
        cpu_id: s("cpu_id"),
        custom: list(&v["custom"]),
    }
}

fn list(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str().map(String::from))
        .collect()
}

fn checker(v: &Value) -> Checker {
    let keys: Vec<&str> = v["public_keys"]
        .as_array()
        .expect("public_keys")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    Checker::new(&keys).expect("the test key")
}

fn case<'a>(v: &'a Value, name: &str) -> &'a str {
    v["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["name"] == name)
        .and_then(|c| c["input"].as_str())
        .expect(name)
}

fn page_env(v: &Value) -> Env {
    Env {
        now: ts(&v["now"]),
        high_water: ts(&v["now"]),
        facts: None,
    }
}

/// The field the page gives each case: field 1 takes authorization codes, field 2 machine
/// codes, field 3 anything.
fn field(expected: &Value) -> Field {
    match expected.as_str() {
        Some("system_id") => Field::Machine,
        Some(k) => Field::parse(Some(k)).expect("a kind"),
        None => Field::Any,
    }
}

#[test]
fn every_vector_reaches_the_same_verdict() {
    let v = vectors();
    let c = checker(&v);
    let mut failures = Vec::new();
    for case in v["cases"].as_array().expect("cases") {
        let env = Env {
            now: ts(&v["now"]),
            high_water: ts(case.get("high_water").unwrap_or(&v["high_water"])),
            facts: Some(facts(&v["facts"])),
        };
        let input = case["input"].as_str().expect("input");
        let r = c.check(input, field(&case["expected_kind"]), &env);
        let want = (
            case["kind"].as_str(),
            case["verdict"].as_str().expect("verdict"),
            case["suggestion"].as_str(),
        );
        let got = (r.kind, r.verdict.as_str(), r.suggestion.as_deref());
        if got != want {
            failures.push(format!("{}: got {got:?}, want {want:?}", case["name"]));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn valid_code_has_its_details() {
    let v = vectors();
    let r = checker(&v).check(
        case(&v, "code_trial_with_marketplace_refs"),
        Field::Only(Kind::AuthorizationCode),
        &page_env(&v),
    );
    assert_eq!(r.verdict.as_str(), "active");
    let l = r.details.and_then(|d| d.license).expect("license details");
    assert_eq!(l.product, "acme-invoice");
    assert_eq!(l.sku, "pro");
    assert_eq!(l.seats, 1);
    assert_eq!(l.features, ["export"]);
    assert!(l.trial);
    assert_eq!(l.order_id.as_deref(), Some("CS2611201234ABCD"));
    assert_eq!(l.not_before, Timestamp::parse("2026-11-01").expect("date"));
    assert_eq!(l.expires, Timestamp::parse("2026-12-01"));
    assert_eq!(l.bound_to, None);
    assert_eq!(r.args.days_left, Some(11));
}

#[test]
fn typo_groups_are_structured() {
    let v = vectors();
    let c = checker(&v);
    let r = c.check(
        case(&v, "code_typo_substitution"),
        Field::Only(Kind::AuthorizationCode),
        &page_env(&v),
    );
    assert_eq!(r.verdict.as_str(), "typo");
    assert_eq!(r.typos.len(), 1);
    let t = &r.typos[0];
    // Symbol 17 (0-based) is in the second ten-character group: characters 16-25 (`KA1-` is 1-4).
    assert_eq!((t.group, t.first_position, t.last_position), (2, 16, 25));
    let fixed = r.suggestion.expect("one correction");
    assert_eq!(fixed, case(&v, "code_valid_unbound"));
    let two = c.check(
        case(&v, "code_two_typos_in_two_groups"),
        Field::Only(Kind::AuthorizationCode),
        &page_env(&v),
    );
    assert_eq!(two.typos.len(), 2);
    assert_eq!(two.suggestion, None);
}

#[test]
fn errors_carry_what_the_page_words_them_with() {
    let v = vectors();
    let c = checker(&v);
    let env = page_env(&v);
    let code_field = Field::Only(Kind::AuthorizationCode);

    let r = c.check(case(&v, "code_invalid_character"), code_field, &env);
    assert_eq!(
        (r.verdict.as_str(), r.reason),
        ("malformed", Some("invalid_character"))
    );
    assert_eq!(r.args.character, Some('#'));
    assert_eq!(r.args.position, Some(5));

    let r = c.check(case(&v, "system_id_in_code_field"), code_field, &env);
    assert_eq!(r.verdict.as_str(), "wrong_kind");
    assert_eq!(r.args.expected, Some("authorization_code"));
    assert_eq!(r.args.found, Some("system_id"));

    let r = c.check(case(&v, "code_in_system_id_field"), Field::Machine, &env);
    assert_eq!(r.verdict.as_str(), "wrong_kind");
    assert_eq!(r.args.expected, Some("system_id"));
    assert_eq!(r.args.found, Some("authorization_code"));

    let r = c.check(case(&v, "code_unknown_key"), code_field, &env);
    assert_eq!(r.verdict.as_str(), "unknown_key");
    assert!(r.args.key_id.is_some());
    assert!(
        r.details.is_none(),
        "an unverified code's terms are not shown"
    );

    let r = c.check("mac:00:1a:2b", Field::Machine, &env);
    assert_eq!(r.verdict.as_str(), "invalid_hardware_id");
    assert_eq!(r.args.hardware_kind, Some("mac"));

    let r = c.check("mac:00:1a:2b:3c:4d:5e", code_field, &env);
    assert_eq!(
        (r.verdict.as_str(), r.reason, r.args.found),
        (
            "invalid_input",
            Some("hardware_id_here"),
            Some("hardware_id")
        )
    );

    let r = c.check(case(&v, "certificate_missing_end_line"), Field::Any, &env);
    assert_eq!(r.reason, Some("armour_end_missing"));

    let r = c.check(case(&v, "code_character_missing"), code_field, &env);
    assert_eq!(
        (r.verdict.as_str(), r.reason),
        ("typo", Some("missing_or_extra"))
    );
    assert!(!r.typos.is_empty());

    // A lone symbol after the prefix: a code still being typed ("incomplete, keep typing").
    let r = c.check("KA1-7", code_field, &env);
    assert_eq!(
        (r.verdict.as_str(), r.reason),
        ("incomplete", Some("incomplete"))
    );
    // The characters typed so far, prefix included; at least how many are missing.
    assert_eq!(r.args.symbols, Some(4));
    assert!(matches!(r.args.missing, Some((m, true)) if m > 100));

    // Text around a code (issue 8.11): what the page words its messages with.
    let r = c.check(case(&v, "code_cut_off_in_signature"), code_field, &env);
    assert_eq!(
        (r.verdict.as_str(), r.reason),
        ("incomplete", Some("incomplete"))
    );
    // 13 characters were cut; separators are not counted.
    let cut = case(&v, "code_cut_off_in_signature");
    let whole = case(&v, "code_valid_unbound");
    let missing = keyward_core::text::code_characters(whole).len()
        - keyward_core::text::code_characters(cut).len();
    assert_eq!(r.args.missing, Some((missing, false)));
    let r = c.check(case(&v, "code_pasted_twice"), code_field, &env);
    assert_eq!(r.verdict.as_str(), "pasted_twice");
    assert_eq!(
        r.suggestion.as_deref(),
        Some(case(&v, "code_valid_unbound"))
    );
    let r = c.check(case(&v, "code_and_another_code"), Field::Any, &env);
    assert_eq!(
        (r.verdict.as_str(), r.reason),
        ("malformed", Some("two_codes"))
    );
    let r = c.check(case(&v, "code_look_alike_letter"), code_field, &env);
    assert_eq!(
        (r.reason, r.args.character, r.args.position),
        (Some("invalid_character"), Some('\u{410}'), Some(5))
    );
    let r = c.check(case(&v, "certificate_in_an_email"), Field::Any, &env);
    assert_eq!(r.verdict.as_str(), "active");
}

#[test]
fn the_page_without_facts_judges_terms_and_leaves_the_binding_to_field_2() {
    let v = vectors();
    let c = checker(&v);
    let env = page_env(&v);
    let code_field = Field::Only(Kind::AuthorizationCode);
    let other = c.check(
        case(&v, "code_bound_system_other_machine"),
        code_field,
        &env,
    );
    assert_eq!(other.verdict, "active");
    assert!(other.binding_unchecked);
    let bound = other
        .details
        .and_then(|d| d.license)
        .and_then(|l| l.bound_to);
    assert!(matches!(
        bound,
        Some(BoundTo::System {
            tolerance: 3,
            facts: 5,
            ..
        })
    ));

    let here_sys = case(&v, "system_id_valid");
    let m = c.bound_matches(case(&v, "code_bound_system_this_machine"), here_sys);
    assert_eq!((m.state, m.bound), ("match", Some("system")));
    let m = c.bound_matches(case(&v, "code_bound_system_other_machine"), here_sys);
    assert_eq!(m.state, "mismatch");
    assert_eq!((m.matched, m.required), (0, 3));
    assert_eq!(m.differing.len(), 5);

    let mac = c.bound_matches(
        case(&v, "code_bound_mac_this_machine"),
        "MAC: 04-7c-16-5e-e3-5d",
    );
    assert_eq!((mac.state, mac.bound), ("match", Some("hardware")));
    let mac = c.bound_matches(
        case(&v, "code_bound_mac_other_machine"),
        "mac:04:7c:16:5e:e3:5d",
    );
    assert_eq!(mac.state, "mismatch");
    let cross = c.bound_matches(case(&v, "code_bound_mac_this_machine"), here_sys);
    assert_eq!(cross.state, "incomparable");
    let unbound = c.bound_matches(case(&v, "code_valid_unbound"), here_sys);
    assert_eq!(unbound.state, "unbound");
    let cert = c.bound_matches(case(&v, "certificate_valid"), here_sys);
    assert_eq!(cert.state, "match");
    let forged = c.bound_matches(case(&v, "code_tampered_signature_bit"), here_sys);
    assert_eq!(forged.state, "invalid");
}

#[test]
fn activation_request_round_trips() {
    let v = vectors();
    let c = checker(&v);
    let now = ts(&v["now"]);
    let code = case(&v, "code_fullwidth_and_line_breaks");
    let machine = case(&v, "system_id_valid");
    let text = c
        .make_request(code, machine, [1, 2, 3, 4, 5, 6, 7, 8], now)
        .expect("a request");
    assert!(text.starts_with("KR1-"));
    let r = ActivationRequest::decode(&text).expect("decodes");
    assert_eq!(r.code.encode(), case(&v, "code_valid_unbound"));
    assert!(matches!(r.machine, MachineRef::System(s) if s.encode() == machine));
    assert_eq!(r.nonce, [1, 2, 3, 4, 5, 6, 7, 8]);
    let seen = c.check(&text, Field::Any, &page_env(&v));
    assert_eq!(
        (seen.kind, seen.verdict.as_str()),
        (Some("activation_request"), "valid")
    );

    let hw = c
        .make_request(code, "mac:04:7c:16:5e:e3:5d", [0; 8], now)
        .expect("a request for a hardware id");
    assert!(hw.starts_with("KR1-"));

    let bad = c
        .make_request(case(&v, "code_typo_substitution"), machine, [0; 8], now)
        .expect_err("a typo is no request");
    assert_eq!(bad.verdict, "typo");
    let elsewhere = c
        .make_request(
            case(&v, "code_bound_system_other_machine"),
            machine,
            [0; 8],
            now,
        )
        .expect_err("bound elsewhere");
    assert_eq!(elsewhere.verdict, "machine_mismatch");
    let no_machine = c
        .make_request(code, "hello", [0; 8], now)
        .expect_err("no machine");
    assert_eq!(no_machine.verdict, "not_a_keyward_code");
}

#[test]
fn keys_are_required() {
    assert!(Checker::new(Vec::<&str>::new()).is_err());
    assert!(Checker::new(["not a key"]).is_err());
}
