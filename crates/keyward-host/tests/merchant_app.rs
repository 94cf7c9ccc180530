//! Runs the example merchant program (examples/merchant_app.rs) the way a buyer would: look
//! at the system identification code, get a bound code, paste it; and the offline round trip
//! with a certificate on stdin.

mod common;

#[path = "../examples/merchant_app.rs"]
#[allow(dead_code)]
mod merchant_app;

use std::time::{SystemTime, UNIX_EPOCH};

use common::*;
use keyward_core::{
    binding::{Binding, MachineRef},
    ActivationCertificate, ActivationRequest, AuthorizationCode, SystemIdCode, Timestamp,
};

fn app(args: &[&str], stdin: &str) -> (i32, String) {
    let cache = cache_dir();
    let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    args.splice(
        0..0,
        ["--cache-dir".to_string(), cache.display().to_string()],
    );
    let mut out = Vec::new();
    let code = merchant_app::run(&args, &mut stdin.as_bytes(), false, &mut out);
    (code, String::from_utf8(out).expect("utf-8 output"))
}

fn line_after<'a>(out: &'a str, label: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} in:\n{out}"))
        .trim()
}

fn real_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

#[test]
fn bound_code_unlocks_pro() {
    let dir = tempfile::tempdir().expect("dir");
    let facts = dir.path().join("facts.json");
    std::fs::write(&facts, vectors()["facts"].to_string()).expect("facts");
    let state = dir.path().join("state");
    let base = [
        "--state-dir",
        state.to_str().expect("path"),
        "--facts",
        facts.to_str().expect("path"),
    ];

    let (code, out) = app(&base, "");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("pro features: locked"), "{out}");
    assert!(out.contains("no license is installed"), "{out}");
    let sys = SystemIdCode::decode(line_after(&out, "system identification code:"))
        .expect("a system identification code");

    // The merchant issues a code bound to that system identification code.
    let bound = AuthorizationCode::issue(
        &key(),
        terms(7, real_now(), Some(30)),
        Some(Binding::system(sys, None).expect("binding")),
    )
    .expect("issue")
    .encode();

    // A typo is caught and the correction offered; nothing unlocks.
    let mut typo: Vec<char> = bound.chars().collect();
    typo[20] = if typo[20] == 'Z' { 'Y' } else { 'Z' };
    let typo: String = typo.into_iter().collect();
    let (code, out) = app(&[&base[..], &[typo.as_str()]].concat(), "");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not accepted (typo)"), "{out}");
    assert!(out.contains(&format!("did you mean: {bound}")), "{out}");
    assert!(out.contains("pro features: locked"), "{out}");

    let (code, out) = app(&[&base[..], &[bound.as_str()]].concat(), "");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("activated: licensed: acme-invoice pro"),
        "{out}"
    );
    assert!(out.contains("pro features: unlocked"), "{out}");

    // Remembered across runs.
    let (_, out) = app(&base, "");
    assert!(out.contains("pro features: unlocked"), "{out}");
}

#[test]
fn offline_round_trip_with_the_certificate_on_stdin() {
    let dir = tempfile::tempdir().expect("dir");
    let facts = dir.path().join("facts.json");
    std::fs::write(&facts, vectors()["facts"].to_string()).expect("facts");
    let state = dir.path().join("state");
    let base = [
        "--state-dir",
        state.to_str().expect("path"),
        "--facts",
        facts.to_str().expect("path"),
    ];
    let now = real_now();
    let code = unbound_code(8, now, Some(365));

    let (exit, out) = app(&[&base[..], &["request", code.as_str()]].concat(), "");
    assert_eq!(exit, 0, "{out}");
    let request = out
        .lines()
        .find(|l| l.starts_with("KR1-"))
        .unwrap_or_else(|| panic!("no request in:\n{out}"));
    let req = ActivationRequest::decode(request).expect("a request");
    let MachineRef::System(sys) = req.machine else {
        panic!("expected a system identification code")
    };
    let cert = ActivationCertificate::issue(
        &key(),
        req.code.terms().clone(),
        Binding::system(sys, None).expect("binding"),
        req.nonce,
        Timestamp(now),
    )
    .expect("certificate")
    .encode();

    let (exit, out) = app(&[&base[..], &["-"]].concat(), &cert);
    assert_eq!(exit, 0, "{out}");
    assert!(out.contains("certificate installed"), "{out}");
    assert!(out.contains("pro features: unlocked"), "{out}");

    // The same certificate on another machine unlocks nothing.
    let other_facts = dir.path().join("other.json");
    std::fs::write(
        &other_facts,
        r#"{"machine_id": "0123456789abcdef0123456789abcdef", "cpu": "AuthenticAMD family 25 model 33 stepping 0", "macs": ["aa:bb:cc:00:11:22"]}"#,
    )
    .expect("facts");
    let other_state = dir.path().join("other-state");
    let (exit, out) = app(
        &[
            "--state-dir",
            other_state.to_str().expect("path"),
            "--facts",
            other_facts.to_str().expect("path"),
            "-",
        ],
        &cert,
    );
    assert_eq!(exit, 1, "{out}");
    assert!(out.contains("not accepted (machine_mismatch)"), "{out}");
    assert!(out.contains("pro features: locked"), "{out}");
}
