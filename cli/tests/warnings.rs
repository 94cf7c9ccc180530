//! What is done but worth a warning, and the smaller promises: codes issued already
//! expired, renewals that shorten a license, private keys others can read, encrypted keys,
//! certificates whose unsigned header lines say something else than their signed content,
//! e-mail-quoted certificates, `high_water` when nothing was seen, certificate validity.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{license_id, Scratch, NOW, PRODUCT_FILE};
use predicates::prelude::*;

/// A hardware binding to what firmware reports when it has no serial would activate on
/// every machine that reports the same: issuing warns, by part, whatever the spelling.
#[test]
fn binding_a_placeholder_serial_warns() {
    let s = Scratch::with_key();
    // The warnings of issuing a code bound to `id`.
    let warnings = |id: &str| -> Vec<String> {
        let (exit, v, err) = s.run_json(&[
            "issue",
            "--json",
            "--key",
            "k.pem",
            "--product",
            "p",
            "--now",
            NOW,
            "--bind-hardware-id",
            id,
        ]);
        assert_eq!(exit, 0, "{id}: {err}");
        serde_json::from_value(v["warnings"].clone()).unwrap()
    };
    for id in [
        "sn:To be filled by O.E.M.",
        "sn:Default string",
        "disk:0000000000",
        "uuid:03000200-0400-0500-0006-000700080009",
        "fp:04:7C:16:5E:E3:5D|S4EVNF0M712345X|To be filled by O.E.M.|BFEBFBFF00090672",
    ] {
        let w = warnings(id);
        assert_eq!(w.len(), 1, "{id}: {w:?}");
        assert!(w[0].contains("many machines"), "{id}: {w:?}");
    }
    // Real identifiers: no warning.
    for id in ["sn:CN7016351P00AF", "mac:04:7C:16:5E:E3:5D"] {
        assert_eq!(warnings(id), Vec::<String>::new(), "{id}");
    }
}

#[test]
fn issuing_a_code_already_expired_warns() {
    let s = Scratch::with_key();
    s.cmd()
        .args(["issue", "--key", "k.pem", "--product", "p", "--now", NOW])
        .args(["--starts", "2025-12-01", "--expires", "2026-01-01"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "warning: this code expired on 2026-01-01",
        ));
    let (exit, v, _) = s.run_json(&[
        "issue",
        "--json",
        "--key",
        "k.pem",
        "--product",
        "p",
        "--now",
        NOW,
        "--starts",
        "2025-01-01",
        "--days",
        "30",
    ]);
    assert_eq!(exit, 0);
    assert_eq!(v["warnings"].as_array().unwrap().len(), 1, "{v}");
    // A fresh code: no warning.
    let (_, v, err) = s.run_json(&[
        "issue",
        "--json",
        "--key",
        "k.pem",
        "--product",
        "p",
        "--now",
        NOW,
        "--days",
        "30",
    ]);
    assert_eq!(v["warnings"], serde_json::json!([]));
    assert!(!err.contains("warning"), "{err}");
    // In a batch, with the row's line.
    s.write(
        "b.csv",
        "product,starts,expires\np,,2026-12-31\np,2019-01-01,2020-01-01\n",
    );
    let (exit, v, err) = s.run_json(&[
        "issue", "--json", "--key", "k.pem", "--batch", "b.csv", "--out", "o.jsonl", "--now", NOW,
    ]);
    assert_eq!(exit, 0);
    assert_eq!(v["warnings"][0]["line"], 3, "{v}");
    assert!(err.contains("b.csv line 3: warning"), "{err}");
}

#[test]
fn renewals_that_shorten_a_license_or_end_in_the_past_warn() {
    let (s, code) = Scratch::with_license(); // expires 2026-12-20T12:00:00Z
    let id = license_id(&s, &code);
    let update = |args: &[&str]| {
        let mut c = s.cmd();
        c.args(["update", "--key", "k.pem", "--license", &id, "--now", NOW])
            .args(args);
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let apply = |u: &str| {
        let out = s
            .buyer("A.json", NOW)
            .args(["apply", "--product-file", PRODUCT_FILE, u])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stderr).unwrap()
    };
    // A renewal into the past: warned on both sides.
    let (past, err) = update(&["--renew", "2026-01-01"]);
    assert!(err.contains("already past"), "{err}");
    // A longer renewal: no warning.
    let (long, err) = update(&["--renew", "2027-12-01"]);
    assert!(!err.contains("warning"), "{err}");
    assert!(!apply(long.trim()).contains("warning"));
    // Shorter than the renewal already signed, and than the license's current expiry.
    let (short, err) = update(&["--renew", "2027-06-01"]);
    assert!(
        err.contains("earlier than the renewal already signed"),
        "{err}"
    );
    let err = apply(short.trim());
    assert!(
        err.contains("earlier than the license's current expiry"),
        "{err}"
    );
    // The stale one from the past is refused, without the warning.
    let out = s
        .buyer("A.json", NOW)
        .args(["apply", "--product-file", PRODUCT_FILE, past.trim()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
}

#[test]
fn private_keys_others_can_read_warn_and_encrypted_keys_are_refused() {
    let s = Scratch::with_key();
    let issue = ["issue", "--key", "k.pem", "--product", "p"];
    s.cmd()
        .args(issue)
        .assert()
        .code(0)
        .stderr(predicate::str::contains("warning").not());
    std::fs::set_permissions(s.path("k.pem"), std::fs::Permissions::from_mode(0o644)).unwrap();
    s.cmd()
        .args(issue)
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "can be read by other users (mode 0644)",
        ))
        .stderr(predicate::str::contains("chmod 600 k.pem"));
    s.write(
        "enc.pem",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAgAAAAAAAAAAAICCAAw\n-----END ENCRYPTED PRIVATE KEY-----\n",
    );
    for args in [
        vec!["issue", "--key", "enc.pem", "--product", "p"],
        vec!["activate", "--key", "enc.pem", "KR1-"],
        vec![
            "update",
            "--key",
            "enc.pem",
            "--license",
            "0123456789abcdef",
            "--freeze",
        ],
    ] {
        s.cmd()
            .args(&args)
            .assert()
            .code(3)
            .stderr(predicate::str::contains("encrypted keys are not supported"))
            .stderr(predicate::str::contains("openssl pkey"));
    }
}

#[test]
fn inspect_flags_edited_header_lines_and_reads_quoted_certificates() {
    let s = Scratch::with_key();
    let code = s.issue(&["--days", "30"]);
    let req = s.request(&code, "A.json", &[]);
    let (_, v, _) = s.activate_json(&req, &[]);
    let cert = v["certificate"].as_str().unwrap().to_string();
    let (exit, v, err) = s.inspect_on_a_json(&cert);
    assert_eq!(exit, 0);
    assert_eq!(v["header_mismatches"], serde_json::json!([]));
    assert!(!err.contains("warning"), "{err}");
    // A buyer edits the readable header lines: flagged; the signed content still decides.
    let edited = cert
        .replace(
            "Expires: 2026-12-20T12:00:00Z",
            "Expires: 2099-01-01T00:00:00Z",
        )
        .replace("Key: ", "Seats: 1000\nKey: ");
    assert_ne!(edited, cert);
    let (exit, v, err) = s.inspect_on_a_json(&edited);
    assert_eq!(exit, 0, "{v}");
    assert_eq!(v["verdict"], "active");
    let m = v["header_mismatches"].as_array().unwrap();
    assert_eq!(m.len(), 2, "{v}");
    assert_eq!(m[0]["name"], "Expires");
    assert_eq!(m[0]["shown"], "2099-01-01T00:00:00Z");
    assert_eq!(m[0]["signed"], "2026-12-20T12:00:00Z");
    assert_eq!(m[1]["name"], "Seats");
    assert_eq!(m[1]["signed"], serde_json::Value::Null);
    assert!(err.contains("does not match the signed content"), "{err}");

    // Quoted in an e-mail reply, one or two levels deep: read as it is.
    for prefix in ["> ", ">> ", "> > "] {
        let quoted: String = cert.lines().map(|l| format!("{prefix}{l}\n")).collect();
        s.write("reply.txt", &quoted);
        let (exit, v, _) = s.inspect_on_a_json("reply.txt");
        assert_eq!(exit, 0, "{prefix:?} {v}");
        assert_eq!(v["kind"], "activation_certificate");
        assert_eq!(v["header_mismatches"], serde_json::json!([]));
        s.install_in(&format!("st{}", prefix.len()), "A.json", NOW, "reply.txt")
            .assert()
            .code(0);
    }
}

#[test]
fn high_water_is_null_when_nothing_was_seen() {
    let (s, code) = Scratch::with_license();
    // No state: null.
    let (_, v, _) = s.run_json(&[
        "--state-dir",
        "none",
        "inspect",
        "--json",
        "--now",
        NOW,
        &code,
    ]);
    assert_eq!(v["high_water"], serde_json::Value::Null, "{v}");
    // A run with `--now` never moves the mark (issue 8.7): still nothing seen.
    let (_, v, _) = s.run_json(&[
        "--state-dir",
        "state",
        "inspect",
        "--json",
        "--now",
        NOW,
        &code,
    ]);
    assert_eq!(v["high_water"], serde_json::Value::Null, "{v}");
}

#[test]
fn certificate_validity_limits() {
    let s = Scratch::with_key();
    let code = s.issue(&["--days", "30"]);
    let req = s.request(&code, "A.json", &[]);
    s.write("req.txt", &req);
    for days in ["0", "36601", "-1", "x"] {
        s.cmd()
            .args(["activate", "--key", "k.pem", "--days", days, "req.txt"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--days"));
    }
    // Never beyond the code's expiry, however many days are asked for.
    let (exit, v, _) = s.activate_json(&req, &["--days", "36600"]);
    assert_eq!(exit, 0);
    assert_eq!(v["expires"], "2026-12-20T12:00:00Z");
}

/// A system identification code made without `--product`, or for another product, would
/// bind a license no machine matches: issuing refuses it and says how to make the right one.
#[test]
fn a_system_id_made_for_another_product_is_refused_at_issue() {
    let s = Scratch::with_key();
    let neutral = s
        .stdout(&["system-id", "--facts", "A.json"])
        .trim()
        .to_string();
    let other = s.system_id_for("acme-crm", "A.json");
    let right = s.system_id("A.json");
    let issue = |sid: &str| {
        s.run_json(&[
            "issue",
            "--json",
            "--key",
            "k.pem",
            "--product",
            common::PRODUCT,
            "--now",
            NOW,
            "--bind-system-id",
            sid,
        ])
    };
    for (sid, words) in [
        (&neutral, "made without a product"),
        (&other, "another product than acme-invoice"),
    ] {
        let (exit, v, err) = issue(sid);
        assert_ne!(exit, 0, "{sid}: {v}");
        let said = format!("{v}{err}");
        assert!(said.contains(words), "{sid}: {said}");
        assert!(
            said.contains("keyward system-id --product acme-invoice"),
            "{sid}: {said}"
        );
    }
    let (exit, _, err) = issue(&right);
    assert_eq!(exit, 0, "{err}");
}
