//! `issue --batch`: JSONL and CSV, a bad row reported with its line number.

mod common;

use assert_cmd::Command;
use common::{Scratch, NOW};
use predicates::prelude::*;
use serde_json::Value;

/// The rows of the JSONL results file `name`.
fn results(s: &Scratch, name: &str) -> Vec<Value> {
    s.read(name)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `issue --key k.pem --batch INPUT --out OUT` (not run yet; `-` reads standard input).
fn batch(s: &Scratch, input: &str, out: &str) -> Command {
    let mut c = s.cmd();
    c.args(["issue", "--key", "k.pem", "--batch", input, "--out", out]);
    c
}

/// Inspects `code` on machine A (key, facts and time), expects exit 0 and `product`.
fn check_code(s: &Scratch, code: &str, product: &str) -> Value {
    let (exit, v, _) = s.inspect_on_a_json(code);
    assert_eq!(exit, 0, "{v}");
    assert_eq!(v["details"]["terms"]["product"], product);
    v
}

#[test]
fn jsonl_batch_reports_the_bad_line_and_goes_on() {
    let s = Scratch::with_key();
    let sid = s.system_id_for("acme", "A.json");
    s.write(
        "in.jsonl",
        &format!(
            "{}\n\n{}\n{}\n",
            r#"{"product": "acme", "sku": "pro", "seats": 5, "days": 30, "features": ["export", "print"], "order_id": "O-1"}"#,
            r#"{"product": "acme", "seats": "many"}"#,
            format_args!(
                r#"{{"product": "acme", "bind_system_id": "{}", "tolerance": 2, "trial": true, "expires": "2027-01-01"}}"#,
                sid
            ),
        ),
    );
    batch(&s, "in.jsonl", "out.jsonl")
        .args(["--now", NOW])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("in.jsonl line 3"))
        .stderr(predicate::str::contains("seats"))
        .stderr(predicate::str::contains("2 codes issued, 1 row failed"));
    let r = results(&s, "out.jsonl");
    assert_eq!(r.len(), 3);
    assert_eq!(r[0]["line"], 1);
    assert_eq!(r[1]["line"], 3);
    assert_eq!(r[1]["error"]["code"], "invalid_row");
    assert!(r[1].get("code").is_none());
    assert_eq!(r[2]["line"], 4);
    let v = check_code(&s, r[0]["code"].as_str().unwrap(), "acme");
    assert_eq!(v["details"]["terms"]["seats"], 5);
    assert_eq!(
        v["details"]["terms"]["features"],
        serde_json::json!(["export", "print"])
    );
    assert_eq!(v["details"]["terms"]["order_id"], "O-1");
    assert_eq!(v["details"]["terms"]["license_id"], r[0]["license_id"]);
    let v = check_code(&s, r[2]["code"].as_str().unwrap(), "acme");
    assert_eq!(v["details"]["binding"]["tolerance"], 2);
    assert_eq!(v["details"]["terms"]["trial"], true);
    // Fresh license ids.
    assert_ne!(r[0]["license_id"], r[2]["license_id"]);
}

#[test]
fn csv_batch_with_json_summary() {
    let s = Scratch::with_key();
    s.write(
        "in.csv",
        "product,sku,seats,days,features,trial,instance_id\n\
         acme,pro,2,30,export;print,yes,i-1\n\
         acme,pro,0,30,,,\n\
         other,,1,,,no,\n",
    );
    let (exit, v, _) = s.json({
        let mut c = batch(&s, "in.csv", "out.jsonl");
        c.args(["--json", "--now", NOW]);
        c
    });
    assert_eq!(exit, 3);
    assert_eq!(v["issued"], 2);
    assert_eq!(v["failed"], 1);
    assert_eq!(v["failed_lines"], serde_json::json!([3]));
    assert_eq!(v["error"]["code"], "invalid_row");
    let r = results(&s, "out.jsonl");
    assert_eq!(r.len(), 3);
    assert_eq!(r[0]["line"], 2);
    assert_eq!(r[1]["line"], 3);
    assert!(r[1]["error"]["message"].as_str().unwrap().contains("seats"));
    let v = check_code(&s, r[0]["code"].as_str().unwrap(), "acme");
    assert_eq!(
        v["details"]["terms"]["features"],
        serde_json::json!(["export", "print"])
    );
    assert_eq!(v["details"]["terms"]["trial"], true);
    assert_eq!(v["details"]["terms"]["instance_id"], "i-1");
    let v = check_code(&s, r[2]["code"].as_str().unwrap(), "other");
    assert_eq!(v["details"]["terms"]["expires"], Value::Null);

    // All good: exit 0; CSV from standard input.
    batch(&s, "-", "ok.jsonl")
        .write_stdin("product,days\nacme,1\nacme,2\n")
        .assert()
        .code(0);
    assert_eq!(results(&s, "ok.jsonl").len(), 2);

    // An unknown column stops the batch before anything is issued.
    s.write("bad.csv", "product,seat\nacme,1\n");
    batch(&s, "bad.csv", "bad.jsonl")
        .assert()
        .code(3)
        .stderr(predicate::str::contains("unknown column \"seat\""));
    assert!(!s.path("bad.jsonl").exists());
}
