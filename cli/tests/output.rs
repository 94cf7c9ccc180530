//! Results that cannot be written are failures, never reported as done: standard output
//! on a full disk (/dev/full) or into a closed pipe, for several commands, with and
//! without `--json`. And arguments that are not UTF-8 are usage errors, not crashes.

mod common;

use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::process::Stdio;

use common::{Scratch, NOW};

/// Where a result is sent that cannot take it.
#[derive(Clone, Copy, Debug)]
enum Sink {
    /// A device that is always full.
    Full,
    /// A pipe whose reading end is already closed.
    ClosedPipe,
}

/// Runs `keyward ARGS` with standard output on `sink`; returns (exit code, stderr).
fn run_into(s: &Scratch, args: &[&str], sink: Sink) -> (i32, String) {
    let mut c = std::process::Command::new(common::bin());
    c.current_dir(s.dir.path()).args(args).stdin(Stdio::null());
    match sink {
        Sink::Full => {
            c.stdout(File::options().write(true).open("/dev/full").unwrap());
        }
        Sink::ClosedPipe => {
            let (reader, writer) = std::io::pipe().unwrap();
            drop(reader);
            c.stdout(writer);
        }
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn a_result_that_cannot_be_written_is_an_error() {
    let s = Scratch::with_key();
    let code = s.issue(&["--days", "30"]);
    let issue = ["issue", "--key", "k.pem", "--product", "p", "--now", NOW];
    let issue_json = [
        "issue",
        "--json",
        "--key",
        "k.pem",
        "--product",
        "p",
        "--now",
        NOW,
    ];
    let commands: Vec<Vec<&str>> = vec![
        issue.to_vec(),
        issue_json.to_vec(),
        vec!["keys", "public", "k.pem"],
        vec!["inspect", &code],
        vec!["inspect", "--json", &code],
        vec!["system-id", "--facts", "A.json"],
        vec!["hardware-id", "mac:00:1a:2b:3c:4d:5e"],
        vec![
            "update",
            "--key",
            "k.pem",
            "--license",
            "0123456789abcdef",
            "--freeze",
        ],
        vec!["--help"],
    ];
    for sink in [Sink::Full, Sink::ClosedPipe] {
        for args in &commands {
            let (exit, err) = run_into(&s, args, sink);
            assert_ne!(exit, 0, "{sink:?} {args:?}: {err}");
            assert!(
                err.contains("could not be written to standard output"),
                "{sink:?} {args:?}: {err}"
            );
            // Never the success note of a result that was lost.
            assert!(!err.contains("Issued license"), "{sink:?} {args:?}: {err}");
            assert!(!err.contains("Signed update"), "{sink:?} {args:?}: {err}");
        }
    }
}

#[test]
fn an_argument_that_is_not_utf8_is_a_usage_error_naming_it() {
    let s = Scratch::new();
    let bad = std::ffi::OsStr::from_bytes(b"KA1-\xff");
    let out = s.cmd().arg("inspect").arg(bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ARTIFACT"), "{err}");
    assert!(err.contains("not UTF-8"), "{err}");
    let out = s
        .cmd()
        .args(["request", "--json", "--code"])
        .arg(bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "usage");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("--code"),
        "{v}"
    );
}

#[test]
fn out_never_writes_over_an_input_nor_an_existing_file_without_force() {
    let s = Scratch::with_key();
    let csv = "product,seats\nacme,2\n";
    s.write("b.csv", csv);
    // The batch input as its own output, however it is named (also a hard link).
    std::fs::hard_link(s.path("b.csv"), s.path("link.csv")).unwrap();
    for out in ["b.csv", "./b.csv", "link.csv"] {
        for force in [false, true] {
            let mut c = s.cmd();
            c.args(["issue", "--key", "k.pem", "--batch", "b.csv", "--out", out]);
            if force {
                c.arg("--force");
            }
            let (exit, v, _) = s.json({
                c.arg("--json");
                c
            });
            assert_eq!(exit, 2, "{out} {v}");
            assert_eq!(v["error"]["code"], "output_is_input");
            assert_eq!(s.read("b.csv"), csv);
        }
    }
    // The key as the output of the command that reads it.
    for args in [
        vec![
            "issue",
            "--key",
            "k.pem",
            "--product",
            "p",
            "--out",
            "k.pem",
            "--force",
        ],
        vec![
            "update",
            "--key",
            "k.pem",
            "--license",
            "0123456789abcdef",
            "--freeze",
            "--out",
            "k.pem",
            "--force",
        ],
    ] {
        s.cmd()
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicates::str::contains("same file as the input"));
    }
    assert!(s.read("k.pem").contains("PRIVATE KEY"));

    // An existing output: refused without --force, for every command with --out.
    let code = s.issue(&[]);
    let req = s.request(&code, "A.json", &[]);
    s.write("req.txt", &req);
    let id = common::license_id(&s, &code);
    let commands: Vec<Vec<&str>> = vec![
        vec!["issue", "--key", "k.pem", "--product", "p"],
        vec!["issue", "--key", "k.pem", "--batch", "b.csv"],
        vec![
            "request",
            "--public-key",
            "k.pem.pub",
            "--facts",
            "A.json",
            "--code",
            &code,
        ],
        vec!["activate", "--key", "k.pem", "req.txt"],
        vec!["update", "--key", "k.pem", "--license", &id, "--freeze"],
        vec![
            "keys",
            "product-file",
            "--product",
            "p",
            "--public-key",
            "k.pem.pub",
        ],
        vec!["keys", "generate"],
    ];
    for args in &commands {
        s.write("out.txt", "precious\n");
        s.cmd()
            .args(args)
            .args(["--out", "out.txt"])
            .assert()
            .code(1)
            .stderr(predicates::str::contains("already exists"))
            .stderr(predicates::str::contains("--force"));
        assert_eq!(s.read("out.txt"), "precious\n", "{args:?}");
    }
    // A refused update did not use up a sequence number.
    assert!(!s.path("k.pem.seq.json").exists());
    for args in &commands {
        s.write("out.txt", "precious\n");
        s.cmd()
            .args(args)
            .args(["--out", "out.txt", "--force"])
            .assert()
            .code(0);
        assert_ne!(s.read("out.txt"), "precious\n", "{args:?}");
    }
}

#[test]
fn a_batch_whose_results_cannot_be_written_is_not_reported_done() {
    let s = Scratch::with_key();
    s.write("b.csv", "product\nacme\nacme\n");
    let (exit, v, err) = s.run_json(&[
        "issue",
        "--json",
        "--key",
        "k.pem",
        "--batch",
        "b.csv",
        "--out",
        "no/such/dir/o.jsonl",
    ]);
    assert_eq!(exit, 1, "{v}");
    assert_eq!(v["error"]["code"], "io");
    assert!(v.get("issued").is_none(), "{v}");
    assert!(!err.contains("issued"), "{err}");
    // Devices are not replaced by a file, even with --force.
    for force in [false, true] {
        let mut c = s.cmd();
        c.args([
            "issue",
            "--key",
            "k.pem",
            "--product",
            "p",
            "--out",
            "/dev/null",
        ]);
        if force {
            c.arg("--force");
        }
        c.assert()
            .code(2)
            .stderr(predicates::str::contains("not a regular file"));
    }
}

#[test]
fn json_usage_errors_name_the_argument_and_carry_the_suggestion() {
    let s = Scratch::new();
    let (exit, v, _) = s.run_json(&["keys", "generate", "--json", "--out", "k.pem", "--forse"]);
    assert_eq!(exit, 2);
    assert_eq!(v["error"]["code"], "usage");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("--forse"),
        "{v}"
    );
    assert_eq!(v["error"]["suggestion"], "--force");
    let (exit, v, _) = s.run_json(&[
        "issue",
        "--json",
        "--key",
        "k.pem",
        "--product",
        "p",
        "--days",
        "many",
    ]);
    assert_eq!(exit, 2);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("--days"),
        "{v}"
    );
}
