//! The shared test vectors (tests/vectors/vectors.json): `keyward inspect` must reach the
//! same verdict (and correction) as every other form of keyward.

mod common;

use std::path::PathBuf;

use common::Scratch;
use serde_json::Value;

fn vectors() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/vectors.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn inspect_agrees_with_every_vector() {
    let v = vectors();
    let s = Scratch::new();
    let keys: String = v["public_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    s.write("vectors.pub", &keys);
    s.write("facts.json", &v["facts"].to_string());
    let now = v["now"].as_str().unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let input = case["input"].as_str().unwrap();
        let high_water = case["high_water"]
            .as_str()
            .or(v["high_water"].as_str())
            .unwrap();
        // Once from standard input, once as the argument itself.
        for via_stdin in [true, false] {
            let mut c = s.cmd();
            c.args(["--state-dir", "empty-state", "inspect", "--json"])
                .args(["--public-key", "vectors.pub", "--facts", "facts.json"])
                .args(["--now", now, "--high-water", high_water]);
            if let Some(k) = case["expected_kind"].as_str() {
                c.args(["--expect", k]);
            }
            if via_stdin {
                c.arg("-").write_stdin(input.to_string());
            } else {
                c.arg(input);
            }
            let (exit, got, _) = s.json(c);
            let how = if via_stdin { "stdin" } else { "argument" };
            if got["verdict"] != case["verdict"] {
                failures.push(format!(
                    "{name} ({how}): verdict {} != expected {}",
                    got["verdict"], case["verdict"]
                ));
            }
            if got["suggestion"] != case["suggestion"] {
                failures.push(format!(
                    "{name} ({how}): suggestion {} != expected {}",
                    got["suggestion"], case["suggestion"]
                ));
            }
            if got["kind"] != case["kind"] {
                failures.push(format!(
                    "{name} ({how}): kind {} != expected {}",
                    got["kind"], case["kind"]
                ));
            }
            // The exit code follows the verdict's class.
            let expected_exit = match case["verdict"].as_str().unwrap() {
                "active" | "in_grace" | "valid" => 0,
                "expired" | "not_yet_valid" => 5,
                "machine_mismatch" => 6,
                "frozen" | "released" => 7,
                "clock_rolled_back" => 8,
                "wrong_kind" => 9,
                "bad_signature" | "unknown_key" => 4,
                _ => 3,
            };
            if exit != expected_exit {
                failures.push(format!("{name} ({how}): exit {exit} != {expected_exit}"));
            }
        }
    }
    assert!(!s.path("empty-state").exists(), "inspect created a state");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
