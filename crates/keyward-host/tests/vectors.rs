//! Every case of `tests/vectors/vectors.json` through the plugin: the same kind, verdict and
//! correction as the file (which is what native keyward-core gives).

mod common;

use std::time::Duration;

use common::*;
use keyward_core::{eval::Policy, Context, Kind, LicenseState, Timestamp, TrustedKeys};
use keyward_host::{License, STATE_FILE};

fn kind(code: &str) -> Kind {
    Kind::ALL
        .into_iter()
        .find(|k| k.code() == code)
        .expect("a kind")
}

/// A license whose state starts with `high_water` as the clock's high-water mark.
fn license_at(high_water: u64) -> (tempfile::TempDir, License) {
    let v = vectors();
    let dir = tempfile::tempdir().expect("temp dir");
    let seeded = LicenseState {
        high_water: Timestamp(high_water),
        entries: Vec::new(),
        ..Default::default()
    };
    let bytes = seeded.to_bytes().expect("encodable state");
    std::fs::write(dir.path().join(STATE_FILE), bytes).expect("seed state");
    let clock = TestClock::new(vectors_now());
    let l = builder(dir.path(), this_machine(), &clock)
        .grace(Duration::from_secs(
            v["grace_secs"].as_u64().expect("grace"),
        ))
        .clock_tolerance(Duration::from_secs(
            v["clock_tolerance_secs"].as_u64().expect("tolerance"),
        ))
        .build()
        .expect("license");
    (dir, l)
}

/// What native keyward-core judges the vectors with: the vectors' time, default policy.
fn context<'a>(trusted: &'a TrustedKeys, facts: &'a keyward_core::MachineFacts) -> Context<'a> {
    Context {
        trusted,
        facts,
        hardware_ids: &[],
        now: Timestamp(vectors_now()),
        policy: Policy::default(),
    }
}

#[test]
fn every_vector_gets_the_same_verdict_through_the_plugin() {
    let v = vectors();
    let default_hw = ts(v["high_water"].as_str().expect("high_water"));
    let (_dir, shared) = license_at(default_hw);
    let cases = v["cases"].as_array().expect("cases");
    assert!(cases.len() > 40, "the vectors have {} cases", cases.len());
    let trusted = TrustedKeys::from_pem(v["public_keys"][0].as_str().expect("key")).expect("key");
    let facts = this_machine();
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let input = case["input"].as_str().expect("input");
        let expected = case["expected_kind"].as_str();
        let hw = case["high_water"].as_str().map(ts);
        let own;
        let license = match hw {
            Some(hw) => {
                own = license_at(hw);
                &own.1
            }
            None => &shared,
        };
        let got = match expected {
            Some(k) => license.inspect_as(input, kind(k)),
            None => license.inspect(input),
        }
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            got.code,
            case["verdict"].as_str().expect("verdict"),
            "{name}: {}",
            got.message
        );
        assert_eq!(got.kind.as_deref(), case["kind"].as_str(), "{name}: kind");
        assert_eq!(
            got.suggestion.as_deref(),
            case["suggestion"].as_str(),
            "{name}: suggestion"
        );
        assert_eq!(
            got.typos.is_empty(),
            got.code != "typo",
            "{name}: typo groups"
        );

        // And the very same verdict (message included) as keyward-core natively.
        let ctx = context(&trusted, &facts);
        let native = keyward_core::verdict(
            input,
            expected.map(kind),
            &ctx,
            Timestamp(hw.unwrap_or(default_hw)),
        );
        assert_eq!(got.message, native.message, "{name}: message");
    }
}

/// A refusal crosses the WIT boundary as an `error-code` case: `activate` of every vector
/// that is not a usable authorization code is refused with the very code (and the
/// correction) native keyward-core gives for it.
#[test]
fn refusals_carry_keyward_core_codes() {
    let v = vectors();
    let trusted = TrustedKeys::from_pem(v["public_keys"][0].as_str().expect("key")).expect("key");
    let facts = this_machine();
    let mut codes = std::collections::BTreeSet::new();
    for case in v["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let input = case["input"].as_str().expect("input");
        let ctx = context(&trusted, &facts);
        let hw = case["high_water"]
            .as_str()
            .map(ts)
            .unwrap_or_else(|| ts(v["high_water"].as_str().expect("high_water")));
        let native =
            keyward_core::verdict(input, Some(Kind::AuthorizationCode), &ctx, Timestamp(hw));
        let is_error = !matches!(
            native.code.as_str(),
            "valid" | "active" | "in_grace" | "not_yet_valid" | "frozen" | "no_license"
        );
        if !is_error || native.code == "machine_mismatch" || native.code == "clock_rolled_back" {
            continue; // statuses: `activate` judges those against its own state
        }
        let (_dir, l) = license_at(hw);
        match l.activate(input) {
            Err(keyward_host::Error::Refused {
                code, suggestion, ..
            }) => {
                assert_eq!(code.as_str(), native.code.as_str(), "{name}");
                assert_eq!(suggestion, native.suggestion, "{name}: suggestion");
                codes.insert(code.as_str());
            }
            other => panic!(
                "{name}: expected a refusal with {}, got {other:?}",
                native.code
            ),
        }
    }
    for expected in [
        "typo",
        "malformed",
        "wrong_kind",
        "unknown_key",
        "bad_signature",
    ] {
        assert!(
            codes.contains(expected),
            "no vector refused with {expected}: {codes:?}"
        );
    }
}

#[test]
fn typo_groups_are_located() {
    let (_dir, l) = license_at(0);
    let case = vectors()["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["name"] == "code_typo_substitution")
        .expect("the substitution case");
    let v = l
        .inspect(case["input"].as_str().expect("input"))
        .expect("verdict");
    assert_eq!(v.code, "typo");
    assert_eq!(v.typos.len(), 1);
    let t = &v.typos[0];
    assert!(t.first_position < t.last_position);
    assert!(
        v.message.contains(&format!("group {}", t.group)),
        "{}",
        v.message
    );
}
