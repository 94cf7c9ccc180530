//! The whole story, end to end, with the real binary: keys → issue → inspect → request →
//! activate → install → status; and the bound-code flow (no round trip).

mod common;

use common::{license_id, Scratch, NOW, PRODUCT_FILE};
use predicates::prelude::*;

#[test]
fn offline_round_trip() {
    let s = Scratch::with_key();

    // The merchant issues a code.
    let code = s.issue(&[
        "--sku",
        "pro",
        "--days",
        "30",
        "--feature",
        "export",
        "--feature",
        "print",
    ]);
    assert!(code.starts_with("KA1-"), "{code}");

    // Anyone can inspect it; with the key the signature is checked.
    let (exit, v, _) = s.inspect_on_a_json(&code);
    assert_eq!(exit, 0);
    assert_eq!(v["kind"], "authorization_code");
    assert_eq!(v["verdict"], "active");
    assert_eq!(v["signature"], "valid");
    assert_eq!(v["details"]["terms"]["product"], "acme-invoice");
    assert_eq!(v["details"]["terms"]["sku"], "pro");
    assert_eq!(v["details"]["terms"]["expires"], "2026-12-20T12:00:00Z");
    assert_eq!(v["status"]["license"]["days_left"], 30);
    let id = v["details"]["terms"]["license_id"]
        .as_str()
        .unwrap()
        .to_string();

    // Human inspect says the same.
    s.inspect_on_a(&[], &code)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Authorization code: active"))
        .stdout(predicate::str::contains("acme-invoice (edition pro)"));

    // The buyer, on machine A, makes an activation request.
    s.cmd()
        .args([
            "request",
            "--product-file",
            PRODUCT_FILE,
            "--code",
            &code,
            "--facts",
            "A.json",
            "--now",
            NOW,
        ])
        .args(["--out", "req.txt"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("Activation request for license"));
    let req = s.read("req.txt");
    assert!(req.starts_with("KR1-"), "{req}");

    // The request names machine A's system id for this product.
    let sid = s.system_id("A.json");
    let (_, rv, _) = s.run_json(&["inspect", "--json", "req.txt"]);
    assert_eq!(rv["kind"], "activation_request");
    assert_eq!(rv["details"]["machine"]["type"], "system_id");
    assert_eq!(rv["details"]["machine"]["system_id"], sid.as_str());

    // The merchant signs a certificate: at most 10 days (before the code's 30).
    let (exit, av, _) = s.run_json(&[
        "activate", "--json", "--key", "k.pem", "--days", "10", "--now", NOW, "--out", "cert.txt",
        "req.txt",
    ]);
    assert_eq!(exit, 0);
    assert_eq!(av["license_id"], id.as_str());
    assert_eq!(av["expires"], "2026-11-30T12:00:00Z");
    assert_eq!(av["binding"]["type"], "system_id");
    let cert = s.read("cert.txt");
    assert!(cert.starts_with("-----BEGIN KEYWARD ACTIVATION CERTIFICATE-----"));

    // The buyer installs it (from standard input).
    let (exit, iv, _) = s.json({
        let mut c = s.buyer("A.json", NOW);
        c.args(["install", "--json", "--public-key", "k.pem.pub", "-"])
            .write_stdin(cert.clone());
        c
    });
    assert_eq!(exit, 0, "{iv}");
    assert_eq!(iv["installed"], true);
    assert_eq!(iv["credential"], "activation_certificate");
    assert_eq!(iv["status"]["status"], "active");
    assert!(s.path("state/state.bin").is_file());
    // No key is kept in the state directory: the buyer can write it.
    assert!(!s.path("state/keys.pem").exists());

    // Status, with the merchant's product file: active.
    let (exit, st, _) = s.status_json("A.json", NOW);
    assert_eq!(exit, 0, "{st}");
    assert_eq!(st["status"], "active");
    assert_eq!(st["usable"], true);
    assert_eq!(st["license"]["license_id"], id.as_str());
    assert_eq!(st["license"]["product"], "acme-invoice");
    assert_eq!(st["license"]["sku"], "pro");
    assert_eq!(
        st["license"]["features"],
        serde_json::json!(["export", "print"])
    );
    assert_eq!(st["license"]["expires"], "2026-11-30T12:00:00Z");
    assert_eq!(st["license"]["days_left"], 10);
    assert_eq!(st["license"]["bound"], true);
    assert_eq!(st["license"]["trial"], false);
    assert_eq!(st["grace_ends"], serde_json::Value::Null);
    assert_eq!(st["licenses"][0]["credential"], "activation_certificate");
    assert_eq!(st["licenses"][0]["status"], "active");
    assert_eq!(st["now"], NOW);
    assert!(st.get("error").is_none());

    // And for people.
    s.status("A.json", NOW)
        .code(0)
        .stdout(predicate::str::contains("Licensed: acme-invoice pro"));

    // After expiry, within the 3-day grace: still usable (exit 0), in_grace.
    let (exit, st, _) = s.status_json("A.json", "2026-12-01T12:00:00Z");
    assert_eq!(exit, 0);
    assert_eq!(st["status"], "in_grace");
    assert_eq!(st["grace_ends"], "2026-12-03T12:00:00Z");
}

#[test]
fn bound_code_flow() {
    let s = Scratch::with_key();
    // The buyer reads machine A's system id for the product...
    let sid = s.system_id("A.json");
    assert!(sid.starts_with("KS1-"), "{sid}");
    // ... and the merchant binds a code to it.
    let code = s.issue(&["--days", "365", "--bind-system-id", &sid]);

    s.install(&code)
        .stdout(predicate::str::contains("Installed license"));
    let (exit, st, _) = s.status_json("A.json", NOW);
    assert_eq!(exit, 0);
    assert_eq!(st["status"], "active");
    assert_eq!(st["licenses"][0]["credential"], "authorization_code");

    // The same code on machine B: refused, naming the differing facts and where the
    // facts came from.
    s.install_in("state-b", "B.json", NOW, &code)
        .assert()
        .code(6)
        .stderr(predicate::str::contains("machine_id"))
        .stderr(predicate::str::contains("B.json"))
        .stderr(predicate::str::contains("not installed"));
    // And the license installed on A, seen with B's facts, is a mismatch.
    let (exit, st, err) = s.status_json("B.json", NOW);
    assert_eq!(exit, 6);
    assert_eq!(st["status"], "machine_mismatch");
    assert_eq!(st["error"]["code"], "machine_mismatch");
    let differing = st["mismatch"]["differing"].as_array().unwrap();
    assert!(differing.iter().any(|d| d == "machine_id"), "{st}");
    assert_eq!(st["mismatch"]["required"], 3);
    assert!(err.contains("B.json"), "{err}");
}

#[test]
fn hardware_id_round_trip_and_bound_hardware_code() {
    let s = Scratch::with_key();
    // A code bound to one of machine A's MACs, typed differently.
    let code = s.issue(&["--bind-hardware-id", "MAC:04-7C-16-5E-E3-5D"]);
    s.install(&code);
    s.install_in("b", "B.json", NOW, &code)
        .assert()
        .code(6)
        .stderr(predicate::str::contains("mac"));

    // An unbound code activated for a hardware id.
    let code = s.issue(&["--days", "30"]);
    let req = s.request(&code, "A.json", &["--hardware-id", "mac:04:7c:16:5e:e3:5e"]);
    let cert = s.stdout_stdin(&["activate", "--key", "k.pem", "--now", NOW, "-"], &req);
    s.install_in("hw", "A.json", NOW, "-")
        .write_stdin(cert)
        .assert()
        .code(0);
}

#[test]
fn activate_checks_bound_codes_and_caps_expiry() {
    let s = Scratch::with_key();
    let sid_a = s.system_id("A.json");
    let code = s.issue(&["--days", "5", "--bind-system-id", &sid_a]);
    // A request from machine B for a code bound to A: warned at request time, refused by
    // the merchant.
    let req_b = s
        .cmd()
        .args([
            "request",
            "--product-file",
            PRODUCT_FILE,
            "--code",
            &code,
            "--facts",
            "B.json",
            "--now",
            NOW,
        ])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("bound to another machine"))
        .get_output()
        .stdout
        .clone();
    s.cmd()
        .args(["activate", "--key", "k.pem", "--now", NOW, "-"])
        .write_stdin(req_b)
        .assert()
        .code(6)
        .stderr(predicate::str::contains("bound to another machine"));
    // From machine A: signed, and the certificate never outlives the code.
    let req_a = s.request(&code, "A.json", &[]);
    let (exit, v, _) = s.activate_json(&req_a, &["--days", "30"]);
    assert_eq!(exit, 0);
    assert_eq!(v["expires"], "2026-11-25T12:00:00Z");
    assert_eq!(license_id(&s, v["certificate"].as_str().unwrap()).len(), 16);
    // After the code expired, no certificate is signed.
    s.cmd()
        .args(["activate", "--key", "k.pem", "--now", "2027-01-01", "-"])
        .write_stdin(req_a)
        .assert()
        .code(5)
        .stderr(predicate::str::contains("expired"));

    // A perpetual code gets now + N days.
    let perpetual = s.issue(&[]);
    let req = s.request(&perpetual, "A.json", &[]);
    let (_, v, _) = s.activate_json(&req, &["--days", "10"]);
    assert_eq!(v["expires"], "2026-11-30T12:00:00Z");
    let (_, v, _) = s.activate_json(&req, &[]);
    assert_eq!(v["expires"], serde_json::Value::Null);
}

#[test]
fn system_id_explain_and_hardware_id() {
    let s = Scratch::new();
    let (exit, v, _) = s.run_json(&[
        "system-id",
        "--json",
        "--explain",
        "--product",
        "p",
        "--facts",
        "B.json",
    ]);
    assert_eq!(exit, 0);
    assert!(v["system_id"].as_str().unwrap().starts_with("KS1-"));
    assert_eq!(v["present"], 4);
    let facts = v["facts"].as_array().unwrap();
    assert_eq!(facts.len(), 5);
    assert_eq!(facts[0]["name"], "machine_id");
    assert_eq!(facts[0]["present"], true);
    // Without --show-values no raw value appears anywhere.
    assert!(!v.to_string().contains("WD-OTHER-DISK"));
    s.cmd()
        .args(["system-id", "--explain", "--facts", "B.json"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("present"))
        .stdout(predicate::str::contains("absent"))
        .stdout(predicate::str::contains("WD-OTHER-DISK").not());
    s.cmd()
        .args([
            "system-id",
            "--explain",
            "--show-values",
            "--facts",
            "B.json",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("WD-OTHER-DISK"))
        .stdout(predicate::str::contains("Do not send"));
    // The product salts the code.
    assert_ne!(
        s.system_id_for("a", "A.json"),
        s.system_id_for("b", "A.json")
    );

    s.cmd()
        .args(["hardware-id", "mac:00-1a-2B-3c-4d-5e"])
        .assert()
        .code(0)
        .stdout("mac:00:1A:2B:3C:4D:5E\n");
    s.cmd()
        .args(["hardware-id", "-"])
        .write_stdin("uuid:{4C4C4544-003D-4A10-804B-B4C04F4E3732}\n")
        .assert()
        .code(0)
        .stdout("uuid:4c4c4544-003d-4a10-804b-b4c04f4e3732\n");
    let (exit, v, _) = s.run_json(&[
        "hardware-id",
        "--json",
        "fp:04:7C:16:5E:E3:5D|001B_444A||BFEBFBFF00090672",
    ]);
    assert_eq!(exit, 0);
    assert_eq!(v["hardware_kind"], "fp");
    assert_eq!(v["part_kinds"], serde_json::json!(["mac", "disk", "cpu"]));
}
