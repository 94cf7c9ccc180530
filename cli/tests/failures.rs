//! Every failure class, with its exit code and message (docs/CLI.md lists them).

mod common;

use common::{license_id, Scratch, NOW};
use keyward_core::raw;
use predicates::prelude::*;

/// Replaces the character at `i` with another valid one (a single typo).
fn typo(code: &str, i: usize) -> String {
    let mut c: Vec<char> = code.chars().collect();
    c[i] = if c[i] == '7' { '8' } else { '7' };
    c.into_iter().collect()
}

/// The same code with one bit of its signature flipped (checks still valid).
fn tamper(code: &str) -> String {
    let (kind, mut bytes) = raw::decode(code).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    raw::encode(kind, &bytes)
}

/// The system id of machine A for the test product.
fn sid(s: &Scratch) -> String {
    String::from_utf8(
        s.cmd()
            .args([
                "system-id",
                "--product",
                "acme-invoice",
                "--facts",
                "A.json",
            ])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string()
}

#[test]
fn typo_names_the_group_and_offers_the_correction_with_a_key() {
    let s = Scratch::with_key();
    let code = s.issue(&["--days", "30"]);
    let bad = typo(&code, 16);
    // Without a key: the group is named, no correction can be checked.
    s.cmd()
        .args(["inspect", &bad])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("typing mistake in group 2"));
    let (exit, v, _) = s.json({
        let mut c = s.cmd();
        c.args(["inspect", "--json", &bad]);
        c
    });
    assert_eq!(exit, 3);
    assert_eq!(v["verdict"], "typo");
    assert_eq!(v["typos"][0]["group"], 2);
    assert_eq!(v["error"]["code"], "typo");
    // With the key: the correction is offered, and it is the original code.
    let (exit, v, err) = s.json({
        let mut c = s.cmd();
        c.args(["inspect", "--json", "--public-key", "k.pem.pub", &bad]);
        c
    });
    assert_eq!(exit, 3);
    assert_eq!(v["suggestion"], code.as_str());
    assert_eq!(v["error"]["suggestion"], code.as_str());
    assert!(err.contains("did you mean"), "{err}");
    // The same on install.
    s.buyer("A.json", NOW)
        .args(["install", "--public-key", "k.pem.pub", &bad])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("group 2"))
        .stderr(predicate::str::contains(code.as_str()));
}

#[test]
fn malformed_inputs_exit_3() {
    let s = Scratch::with_key();
    for (args, needle) in [
        (
            vec!["inspect", "hello, is this my license?"],
            "not a keyward code",
        ),
        (
            vec!["inspect", "PL0123456789ABCDEF0123456789"],
            "marketplace",
        ),
        (vec!["inspect", "   "], "nothing was entered"),
        (vec!["hardware-id", "mac:00:1a:2b"], "not a MAC address"),
        (vec!["hardware-id", "what is this"], "cannot tell what kind"),
        (vec!["issue", "--key", "A.json", "--product", "p"], "A.json"),
        (
            vec!["issue", "--key", "k.pem.pub", "--product", "p"],
            "private key",
        ),
        (
            vec!["issue", "--key", "k.pem", "--product", "two words"],
            "invalid product",
        ),
        (
            vec![
                "issue",
                "--key",
                "k.pem",
                "--product",
                "p",
                "--bind-hardware-id",
                "mac:1",
            ],
            "MAC",
        ),
        (
            vec![
                "issue",
                "--key",
                "k.pem",
                "--product",
                "p",
                "--tolerance",
                "2",
            ],
            "tolerance",
        ),
        (
            vec!["inspect", "--public-key", "A.json", "KA1-0000"],
            "A.json",
        ),
        (
            vec!["update", "--key", "k.pem", "--license", "xyz", "--freeze"],
            "license id",
        ),
    ] {
        s.cmd()
            .args(&args)
            .assert()
            .code(3)
            .stderr(predicate::str::starts_with("keyward: "))
            .stderr(predicate::str::contains(needle));
    }
}

#[test]
fn bad_signature_and_unknown_key_exit_4() {
    let s = Scratch::with_key();
    let code = s.issue(&["--days", "30"]);
    let forged = tamper(&code);
    s.buyer("A.json", NOW)
        .args(["install", "--public-key", "k.pem.pub", &forged])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("altered or forged"));
    let (exit, v, _) = s.json({
        let mut c = s.cmd();
        c.args(["inspect", "--json", "--public-key", "k.pem.pub", &forged]);
        c
    });
    assert_eq!(exit, 4);
    assert_eq!(v["verdict"], "bad_signature");
    assert_eq!(v["signature"], "bad");
    // Signed by another merchant's key.
    s.cmd()
        .args(["keys", "generate", "--out", "other.pem"])
        .assert()
        .code(0);
    s.buyer("A.json", NOW)
        .args(["install", "--json", "--public-key", "other.pem.pub", &code])
        .assert()
        .code(4)
        .stdout(predicate::str::contains("\"unknown_key\""))
        .stderr(predicate::str::contains("not one of this product's keys"));
    // A request whose code is not the merchant's.
    let req = s
        .cmd()
        .args(["request", "--code", &code, "--facts", "A.json"])
        .output()
        .unwrap()
        .stdout;
    s.cmd()
        .args(["activate", "--key", "other.pem", "-"])
        .write_stdin(req)
        .assert()
        .code(4);
}

#[test]
fn expired_and_not_yet_valid_exit_5() {
    let s = Scratch::with_key();
    let code = s.issue(&["--days", "30"]);
    s.buyer("A.json", NOW)
        .args(["install", "--public-key", "k.pem.pub", &code])
        .assert()
        .code(0);
    let (exit, v, _) = s.json({
        let mut c = s.buyer("A.json", "2027-06-01T00:00:00Z");
        c.args(["status", "--json"]);
        c
    });
    assert_eq!(exit, 5);
    assert_eq!(v["status"], "expired");
    assert_eq!(v["usable"], false);
    assert_eq!(v["error"]["code"], "expired");
    s.buyer("A.json", "2027-06-02T00:00:00Z")
        .arg("status")
        .assert()
        .code(5)
        .stderr(predicate::str::contains("expired on 2026-12-20"));
    // Inspect, later, says so too (and does not touch the state).
    s.cmd()
        .args(["inspect", "--public-key", "k.pem.pub", "--facts", "A.json"])
        .args(["--now", "2027-06-01", "--high-water", "2027-06-01", &code])
        .assert()
        .code(5);
    // An installed expired code is refused.
    s.cmd()
        .args([
            "--state-dir",
            "fresh",
            "--facts",
            "A.json",
            "--now",
            "2027-06-01",
        ])
        .args(["install", "--public-key", "k.pem.pub", &code])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("not installed"));
    // A code that starts later.
    let later = s.issue(&["--starts", "2027-01-01", "--days", "30"]);
    let (exit, v, _) = s.json({
        let mut c = s.cmd();
        c.args([
            "inspect",
            "--json",
            "--public-key",
            "k.pem.pub",
            "--now",
            NOW,
            &later,
        ]);
        c
    });
    assert_eq!(exit, 5);
    assert_eq!(v["verdict"], "not_yet_valid");
    // It can be installed ahead of time; status says when it starts.
    s.cmd()
        .args(["--state-dir", "early", "--facts", "A.json", "--now", NOW])
        .args(["install", "--public-key", "k.pem.pub", &later])
        .assert()
        .code(0);
    s.cmd()
        .args([
            "--state-dir",
            "early",
            "--facts",
            "A.json",
            "--now",
            NOW,
            "status",
        ])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("starts on 2027-01-01"));
    s.cmd()
        .args([
            "--state-dir",
            "early",
            "--facts",
            "A.json",
            "--now",
            "2027-01-02",
            "status",
        ])
        .assert()
        .code(0);
}

#[test]
fn machine_mismatch_exits_6() {
    let s = Scratch::with_key();
    let code = s.issue(&["--bind-system-id", &sid(&s)]);
    let (exit, v, _) = s.json({
        let mut c = s.cmd();
        c.args([
            "inspect",
            "--json",
            "--public-key",
            "k.pem.pub",
            "--facts",
            "B.json",
            &code,
        ]);
        c
    });
    assert_eq!(exit, 6);
    assert_eq!(v["verdict"], "machine_mismatch");
    assert!(v["message"].as_str().unwrap().contains("B.json"));
}

#[test]
fn frozen_released_and_updates() {
    let s = Scratch::with_key();
    let code = s.issue(&["--days", "30"]);
    let id = license_id(&s, &code);
    s.buyer("A.json", NOW)
        .args(["install", "--public-key", "k.pem.pub", &code])
        .assert()
        .code(0);

    // Freeze: signed with sequence 1 from the counter file next to the key.
    let (exit, u, _) = s.json({
        let mut c = s.cmd();
        c.args([
            "update",
            "--json",
            "--key",
            "k.pem",
            "--license",
            &id,
            "--freeze",
        ]);
        c
    });
    assert_eq!(exit, 0);
    assert_eq!(u["sequence"], 1);
    assert_eq!(u["action"], "freeze");
    let counters: serde_json::Value = serde_json::from_str(&s.read("k.pem.seq.json")).unwrap();
    assert_eq!(counters["last_sequence"][&id], 1);
    let freeze = u["update"].as_str().unwrap().to_string();
    s.buyer("A.json", NOW)
        .args(["apply", "-"])
        .write_stdin(freeze.clone())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Applied update #1"));
    let (exit, v, _) = s.json({
        let mut c = s.buyer("A.json", NOW);
        c.args(["status", "--json"]);
        c
    });
    assert_eq!(exit, 7);
    assert_eq!(v["status"], "frozen");
    assert_eq!(v["licenses"][0]["frozen"], true);
    assert_eq!(v["licenses"][0]["sequence"], 1);
    // Applying the same update again changes nothing.
    s.buyer("A.json", NOW)
        .args(["apply", &freeze])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("already applied"));

    // Unfreeze (sequence 2), then renew (3): active again, with the new expiry.
    for action in [vec!["--unfreeze"], vec!["--renew", "2027-12-31"]] {
        let update = s
            .cmd()
            .args(["update", "--key", "k.pem", "--license", &id])
            .args(&action)
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        s.buyer("A.json", NOW)
            .args(["apply", "-"])
            .write_stdin(update)
            .assert()
            .code(0);
    }
    let (exit, v, _) = s.json({
        let mut c = s.buyer("A.json", NOW);
        c.args(["status", "--json"]);
        c
    });
    assert_eq!(exit, 0);
    assert_eq!(v["license"]["expires"], "2027-12-31T00:00:00Z");
    assert_eq!(v["licenses"][0]["sequence"], 3);

    // The old freeze cannot be replayed over newer updates.
    s.buyer("A.json", NOW)
        .args(["apply", &freeze])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("older"));

    // Release (explicit sequence 10): released, exit 7, for good.
    let release = s
        .cmd()
        .args([
            "update",
            "--key",
            "k.pem",
            "--license",
            &id,
            "--release",
            "--sequence",
            "10",
        ])
        .output()
        .unwrap()
        .stdout;
    s.buyer("A.json", NOW)
        .args(["apply", "-"])
        .write_stdin(release)
        .assert()
        .code(0);
    s.buyer("A.json", NOW)
        .arg("status")
        .assert()
        .code(7)
        .stderr(predicate::str::contains("released"));
    let counters: serde_json::Value = serde_json::from_str(&s.read("k.pem.seq.json")).unwrap();
    assert_eq!(counters["last_sequence"][&id], 10);
}

#[test]
fn clock_rolled_back_exits_8() {
    let s = Scratch::with_key();
    let code = s.issue(&["--days", "30"]);
    s.buyer("A.json", NOW)
        .args(["install", "--public-key", "k.pem.pub", &code])
        .assert()
        .code(0);
    s.buyer("A.json", "2026-11-25T12:00:00Z")
        .arg("status")
        .assert()
        .code(0);
    // 30 minutes back is within the tolerance.
    s.buyer("A.json", "2026-11-25T11:30:00Z")
        .arg("status")
        .assert()
        .code(0);
    // Two hours back is not.
    let (exit, v, _) = s.json({
        let mut c = s.buyer("A.json", "2026-11-25T10:00:00Z");
        c.args(["status", "--json"]);
        c
    });
    assert_eq!(exit, 8);
    assert_eq!(v["status"], "clock_rolled_back");
    assert_eq!(v["clock"]["high_water"], "2026-11-25T12:00:00Z");
    s.buyer("A.json", "2026-11-21T00:00:00Z")
        .arg("status")
        .assert()
        .code(8)
        .stderr(predicate::str::contains("set the clock correctly"));
    // Installing with a turned-back clock is refused too.
    s.buyer("A.json", "2026-11-21T00:00:00Z")
        .args(["install", &code])
        .assert()
        .code(8);
}

#[test]
fn wrong_kind_exits_9() {
    let s = Scratch::with_key();
    let sid = sid(&s);
    let code = s.issue(&[]);
    for args in [
        vec!["activate", "--key", "k.pem", sid.as_str()],
        vec!["request", "--code", sid.as_str()],
        vec!["install", "--public-key", "k.pem.pub", sid.as_str()],
        vec!["apply", "--public-key", "k.pem.pub", code.as_str()],
        vec!["inspect", "--expect", "authorization_code", sid.as_str()],
        vec![
            "issue",
            "--key",
            "k.pem",
            "--product",
            "p",
            "--bind-system-id",
            code.as_str(),
        ],
    ] {
        s.buyer("A.json", NOW).args(&args).assert().code(9).stderr(
            predicate::str::contains("system identification code")
                .or(predicate::str::contains("authorization code")),
        );
    }
    // With --json the error is also an object on stdout.
    let (exit, v, _) = s.json({
        let mut c = s.cmd();
        c.args(["activate", "--json", "--key", "k.pem", &sid]);
        c
    });
    assert_eq!(exit, 9);
    assert_eq!(v["error"]["code"], "wrong_kind");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not an activation request"));
}

#[test]
fn no_license_exits_10() {
    let s = Scratch::with_key();
    let (exit, v, err) = s.json({
        let mut c = s.buyer("A.json", NOW);
        c.args(["status", "--json"]);
        c
    });
    assert_eq!(exit, 10);
    assert_eq!(v["status"], "no_license");
    assert_eq!(v["error"]["code"], "no_license");
    assert!(err.contains("keyward install"), "{err}");
    // An update for a license that is not installed.
    let code = s.issue(&[]);
    let id = license_id(&s, &code);
    let update = s
        .cmd()
        .args(["update", "--key", "k.pem", "--license", &id, "--freeze"])
        .output()
        .unwrap()
        .stdout;
    s.buyer("A.json", NOW)
        .args(["apply", "--public-key", "k.pem.pub", "-"])
        .write_stdin(update)
        .assert()
        .code(10)
        .stderr(predicate::str::contains("not installed"));
}

#[test]
fn damaged_state_uses_the_backup_then_explains_recovery() {
    let s = Scratch::with_key();
    let code = s.issue(&["--days", "30"]);
    s.buyer("A.json", NOW)
        .args(["install", "--public-key", "k.pem.pub", &code])
        .assert()
        .code(0);
    // A later status moves the high-water mark: state.bin.bak is the previous copy.
    s.buyer("A.json", "2026-11-21T00:00:00Z")
        .arg("status")
        .assert()
        .code(0);
    assert!(s.path("state/state.bin.bak").is_file());
    s.write("state/state.bin", "not a state file");
    s.buyer("A.json", "2026-11-21T00:00:00Z")
        .arg("status")
        .assert()
        .code(0)
        .stderr(predicate::str::contains("damaged"))
        .stderr(predicate::str::contains("state.bin.bak"));
    s.write("state/state.bin", "broken");
    s.write("state/state.bin.bak", "broken too");
    s.buyer("A.json", "2026-11-21T00:00:00Z")
        .arg("status")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("state.bin"))
        .stderr(predicate::str::contains("move both files away"));
}

#[test]
fn inspect_never_changes_the_state() {
    let s = Scratch::with_key();
    let code = s.issue(&["--days", "30"]);
    s.buyer("A.json", NOW)
        .args(["install", "--public-key", "k.pem.pub", &code])
        .assert()
        .code(0);
    let before = std::fs::read(s.path("state/state.bin")).unwrap();
    s.buyer("A.json", "2026-12-01T00:00:00Z")
        .args(["inspect", "--public-key", "k.pem.pub", &code])
        .assert()
        .code(0);
    assert_eq!(std::fs::read(s.path("state/state.bin")).unwrap(), before);
    // And it uses the state's high-water mark (read only) for the clock check.
    s.buyer("A.json", "2026-11-19T00:00:00Z")
        .args(["inspect", "--public-key", "k.pem.pub", &code])
        .assert()
        .code(8);
}

#[test]
fn usage_errors_exit_2() {
    let s = Scratch::new();
    s.cmd().args(["issue", "--product", "p"]).assert().code(2);
    s.cmd()
        .args([
            "issue",
            "--key",
            "k.pem",
            "--product",
            "p",
            "--expires",
            "tomorrow",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a date"));
    s.cmd()
        .args(["update", "--key", "k.pem", "--license", "0011223344556677"])
        .assert()
        .code(2);
    let (exit, v, _) = s.json({
        let mut c = s.cmd();
        c.args(["status", "--json", "--bogus"]);
        c
    });
    assert_eq!(exit, 2);
    assert_eq!(v["error"]["code"], "usage");
}
