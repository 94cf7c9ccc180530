//! Every failure class, with its exit code and message (docs/CLI.md lists them).

mod common;

use assert_cmd::assert::Assert;
use common::{license_id, Scratch, NOW, PRODUCT_FILE};
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

/// A signed update for license `id` (`update --key k.pem --license ID ACTION…`).
fn update(s: &Scratch, id: &str, action: &[&str]) -> String {
    let mut args = vec!["update", "--key", "k.pem", "--license", id];
    args.extend_from_slice(action);
    s.stdout(&args)
}

/// Applies `update` (from standard input) on machine A at [`NOW`]; the caller checks the
/// exit code.
fn apply(s: &Scratch, update: &str) -> Assert {
    s.buyer("A.json", NOW)
        .args(["apply", "--public-key", "k.pem.pub", "-"])
        .write_stdin(update.to_string())
        .assert()
}

/// Applies `update` (as the argument) on machine A at [`NOW`]; the caller checks the exit
/// code.
fn apply_arg(s: &Scratch, update: &str) -> Assert {
    s.buyer("A.json", NOW)
        .args(["apply", "--public-key", "k.pem.pub", update])
        .assert()
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
    let (exit, v, _) = s.run_json(&["inspect", "--json", &bad]);
    assert_eq!(exit, 3);
    assert_eq!(v["verdict"], "typo");
    assert_eq!(v["typos"][0]["group"], 2);
    assert_eq!(v["error"]["code"], "typo");
    // With the key: the correction is offered, and it is the original code.
    let (exit, v, err) = s.run_json(&["inspect", "--json", "--public-key", "k.pem.pub", &bad]);
    assert_eq!(exit, 3);
    assert_eq!(v["suggestion"], code.as_str());
    assert_eq!(v["error"]["suggestion"], code.as_str());
    assert!(err.contains("did you mean"), "{err}");
    // The same on install.
    s.install_in("state", "A.json", NOW, &bad)
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
    s.install_in("state", "A.json", NOW, &forged)
        .assert()
        .code(4)
        .stderr(predicate::str::contains("altered or forged"));
    let (exit, v, _) = s.run_json(&["inspect", "--json", "--public-key", "k.pem.pub", &forged]);
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
    let req = s.request(&code, "A.json", &[]);
    s.cmd()
        .args(["activate", "--key", "other.pem", "-"])
        .write_stdin(req)
        .assert()
        .code(4);
}

#[test]
fn expired_and_not_yet_valid_exit_5() {
    let (s, code) = Scratch::with_license();
    let (exit, v, _) = s.status_json("A.json", "2027-06-01T00:00:00Z");
    assert_eq!(exit, 5);
    assert_eq!(v["status"], "expired");
    assert_eq!(v["usable"], false);
    assert_eq!(v["error"]["code"], "expired");
    s.status("A.json", "2027-06-02T00:00:00Z")
        .code(5)
        .stderr(predicate::str::contains("expired on 2026-12-20"));
    // Inspect, later, says so too (and does not touch the state).
    s.cmd()
        .args(["inspect", "--public-key", "k.pem.pub", "--facts", "A.json"])
        .args(["--now", "2027-06-01", "--high-water", "2027-06-01", &code])
        .assert()
        .code(5);
    // An installed expired code is refused.
    s.install_in("fresh", "A.json", "2027-06-01", &code)
        .assert()
        .code(5)
        .stderr(predicate::str::contains("not installed"));
    // A code that starts later.
    let later = s.issue(&["--starts", "2027-01-01", "--days", "30"]);
    let (exit, v, _) = s.run_json(&[
        "inspect",
        "--json",
        "--public-key",
        "k.pem.pub",
        "--now",
        NOW,
        &later,
    ]);
    assert_eq!(exit, 5);
    assert_eq!(v["verdict"], "not_yet_valid");
    // It can be installed ahead of time; status says when it starts.
    s.install_in("early", "A.json", NOW, &later)
        .assert()
        .code(0);
    s.buyer_in("early", "A.json", NOW)
        .args(["status", "--product-file", PRODUCT_FILE])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("starts on 2027-01-01"));
    s.buyer_in("early", "A.json", "2027-01-02")
        .args(["status", "--product-file", PRODUCT_FILE])
        .assert()
        .code(0);
}

#[test]
fn machine_mismatch_exits_6() {
    let s = Scratch::with_key();
    let code = s.issue(&["--bind-system-id", &s.system_id("A.json")]);
    let (exit, v, _) = s.run_json(&[
        "inspect",
        "--json",
        "--public-key",
        "k.pem.pub",
        "--facts",
        "B.json",
        &code,
    ]);
    assert_eq!(exit, 6);
    assert_eq!(v["verdict"], "machine_mismatch");
    assert!(v["message"].as_str().unwrap().contains("B.json"));
}

#[test]
fn frozen_released_and_updates() {
    let (s, code) = Scratch::with_license();
    let id = license_id(&s, &code);

    // Freeze: signed with sequence 1 from the counter file next to the key.
    let (exit, u, _) = s.run_json(&[
        "update",
        "--json",
        "--key",
        "k.pem",
        "--license",
        &id,
        "--freeze",
    ]);
    assert_eq!(exit, 0);
    assert_eq!(u["sequence"], 1);
    assert_eq!(u["action"], "freeze");
    let counters: serde_json::Value = serde_json::from_str(&s.read("k.pem.seq.json")).unwrap();
    assert_eq!(counters["last_sequence"][&id], 1);
    let freeze = u["update"].as_str().unwrap().to_string();
    apply(&s, &freeze)
        .code(0)
        .stdout(predicate::str::contains("Applied update #1"));
    let (exit, v, _) = s.status_json("A.json", NOW);
    assert_eq!(exit, 7);
    assert_eq!(v["status"], "frozen");
    assert_eq!(v["licenses"][0]["frozen"], true);
    assert_eq!(v["licenses"][0]["sequence"], 1);
    // Applying the same update again changes nothing.
    apply_arg(&s, &freeze)
        .code(0)
        .stdout(predicate::str::contains("already applied"));

    // Unfreeze (sequence 2), then renew (3): active again, with the new expiry.
    for action in [vec!["--unfreeze"], vec!["--renew", "2027-12-31"]] {
        apply(&s, &update(&s, &id, &action)).code(0);
    }
    let (exit, v, _) = s.status_json("A.json", NOW);
    assert_eq!(exit, 0);
    assert_eq!(v["license"]["expires"], "2027-12-31T00:00:00Z");
    assert_eq!(v["licenses"][0]["sequence"], 3);

    // The old freeze cannot be replayed over newer updates.
    apply_arg(&s, &freeze)
        .code(3)
        .stderr(predicate::str::contains("older"));

    // Release (explicit sequence 10): released, exit 7, for good.
    let release = update(&s, &id, &["--release", "--sequence", "10"]);
    apply(&s, &release).code(0);
    s.status("A.json", NOW)
        .code(7)
        .stderr(predicate::str::contains("released"));
    let counters: serde_json::Value = serde_json::from_str(&s.read("k.pem.seq.json")).unwrap();
    assert_eq!(counters["last_sequence"][&id], 10);
}

#[test]
fn clock_rolled_back_exits_8() {
    let (s, code) = Scratch::with_license();
    s.status("A.json", "2026-11-25T12:00:00Z").code(0);
    // 30 minutes back is within the tolerance.
    s.status("A.json", "2026-11-25T11:30:00Z").code(0);
    // Two hours back is not.
    let (exit, v, _) = s.status_json("A.json", "2026-11-25T10:00:00Z");
    assert_eq!(exit, 8);
    assert_eq!(v["status"], "clock_rolled_back");
    assert_eq!(v["clock"]["high_water"], "2026-11-25T12:00:00Z");
    s.status("A.json", "2026-11-21T00:00:00Z")
        .code(8)
        .stderr(predicate::str::contains("set the clock correctly"));
    // Installing with a turned-back clock is refused too.
    s.buyer("A.json", "2026-11-21T00:00:00Z")
        .args(["install", "--public-key", "k.pem.pub", &code])
        .assert()
        .code(8);
}

#[test]
fn wrong_kind_exits_9() {
    let s = Scratch::with_key();
    let sid = s.system_id("A.json");
    let code = s.issue(&[]);
    for args in [
        vec!["activate", "--key", "k.pem", sid.as_str()],
        vec![
            "request",
            "--public-key",
            "k.pem.pub",
            "--code",
            sid.as_str(),
        ],
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
    let (exit, v, _) = s.run_json(&["activate", "--json", "--key", "k.pem", &sid]);
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
    let (exit, v, err) = s.status_json("A.json", NOW);
    assert_eq!(exit, 10);
    assert_eq!(v["status"], "no_license");
    assert_eq!(v["error"]["code"], "no_license");
    assert!(err.contains("keyward install"), "{err}");
    // An update for a license that is not installed.
    let code = s.issue(&[]);
    let id = license_id(&s, &code);
    let freeze = update(&s, &id, &["--freeze"]);
    s.buyer("A.json", NOW)
        .args(["apply", "--public-key", "k.pem.pub", "-"])
        .write_stdin(freeze)
        .assert()
        .code(10)
        .stderr(predicate::str::contains("not installed"));
}

#[test]
fn damaged_state_uses_the_backup_then_explains_recovery() {
    let (s, _) = Scratch::with_license();
    // A later status moves the high-water mark: state.bin.bak is the previous copy.
    s.status("A.json", "2026-11-21T00:00:00Z").code(0);
    assert!(s.path("state/state.bin.bak").is_file());
    s.write("state/state.bin", "not a state file");
    s.status("A.json", "2026-11-21T00:00:00Z")
        .code(0)
        .stderr(predicate::str::contains("damaged"))
        .stderr(predicate::str::contains("state.bin.bak"));
    s.write("state/state.bin", "broken");
    s.write("state/state.bin.bak", "broken too");
    s.status("A.json", "2026-11-21T00:00:00Z")
        .code(1)
        .stderr(predicate::str::contains("state.bin"))
        .stderr(predicate::str::contains("move both files away"));
}

#[test]
fn inspect_never_changes_the_state() {
    let (s, code) = Scratch::with_license();
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
    let (exit, v, _) = s.run_json(&["status", "--json", "--bogus"]);
    assert_eq!(exit, 2);
    assert_eq!(v["error"]["code"], "usage");
}

/// The same failure gives the same code and exit code whatever the command
/// (`cli/src/exit.rs`'s one table).
#[test]
fn one_exit_code_per_failure_class_across_commands() {
    let s = Scratch::with_key();
    let sid = s.system_id("A.json");
    let code = s.issue(&[]);
    let mac = "mac:00:11:22:33:44:55";
    let bind_sys = [
        "issue",
        "--key",
        "k.pem",
        "--product",
        "p",
        "--bind-system-id",
    ];
    let bind_hw = [
        "issue",
        "--key",
        "k.pem",
        "--product",
        "p",
        "--bind-hardware-id",
    ];
    let keys = ["--public-key", "k.pem.pub"];
    let request = [&["request"][..], &keys[..], &["--code"][..]].concat();
    let request_hw = [
        &["request"][..],
        &keys[..],
        &["--code", &code, "--hardware-id"][..],
    ]
    .concat();
    let install = [&["install"][..], &keys[..]].concat();
    let apply = [&["apply"][..], &keys[..]].concat();
    let activate = ["activate", "--key", "k.pem"];
    let cases: Vec<(&str, u8, Vec<Vec<&str>>)> = vec![
        // A valid hardware id where a keyward artifact belongs.
        (
            "wrong_kind",
            9,
            vec![
                [&request[..], &[mac]].concat(),
                [&activate[..], &[mac]].concat(),
                [&install[..], &[mac]].concat(),
                [&apply[..], &[mac]].concat(),
                [&bind_sys[..], &[mac]].concat(),
            ],
        ),
        // A system id where a hardware id belongs.
        (
            "wrong_kind",
            9,
            vec![
                vec!["hardware-id", &sid],
                [&request_hw[..], &[sid.as_str()]].concat(),
                [&bind_hw[..], &[sid.as_str()]].concat(),
            ],
        ),
        // A hardware id that is not valid.
        (
            "invalid_hardware_id",
            3,
            vec![
                vec!["hardware-id", "mac:zz"],
                vec!["inspect", "mac:zz"],
                [&request_hw[..], &["mac:zz"]].concat(),
                [&bind_hw[..], &["mac:zz"]].concat(),
                [&install[..], &["mac:zz"]].concat(),
            ],
        ),
        // A --facts file that does not exist: I/O.
        (
            "io",
            1,
            vec![
                vec!["system-id", "--facts", "nope.json"],
                [&request[..], &[code.as_str(), "--facts", "nope.json"]].concat(),
                [&install[..], &[code.as_str(), "--facts", "nope.json"]].concat(),
                vec![
                    "status",
                    "--public-key",
                    "k.pem.pub",
                    "--product",
                    "p",
                    "--facts",
                    "nope.json",
                ],
                vec!["inspect", &code, "--facts", "nope.json"],
            ],
        ),
        // A key file that does not exist: I/O.
        (
            "io",
            1,
            vec![
                vec!["issue", "--key", "nope.pem", "--product", "p"],
                vec!["activate", "--key", "nope.pem", "KR1-"],
                vec![
                    "update",
                    "--key",
                    "nope.pem",
                    "--license",
                    "0123456789abcdef",
                    "--freeze",
                ],
                vec!["status", "--public-key", "nope.pub", "--product", "p"],
                vec!["install", "--product-file", "nope.toml", &code],
                vec!["inspect", "--public-key", "nope.pub", &code],
            ],
        ),
    ];
    for (error, exit, commands) in cases {
        for args in commands {
            let mut c = s.cmd();
            c.args(["--state-dir", "state", "--now", NOW, "--json"])
                .args(&args);
            let (got, v, err) = s.json(c);
            assert_eq!(got, i32::from(exit), "{args:?}: {v} {err}");
            assert_eq!(v["error"]["code"], error, "{args:?}: {v}");
        }
    }
}
