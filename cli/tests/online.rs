//! The CLI against a stub of the merchant service's buyer API (keyward-online's `stub`,
//! on 127.0.0.1, implemented with keyward-core; not crates/keyward-server): `request
//! --server` installs in one command, `apply --server` fetches updates, `deactivate` shows
//! the deactivation code (and with `--server` frees the seat), and the merchant checks a
//! code offline with `deactivate --verify`.

mod common;

use common::{Scratch, NOW, PRODUCT_FILE};
use keyward_core::{LicenseId, MerchantKey, Timestamp, UpdateAction};
use keyward_online::stub::StubServer;
use serde_json::Value;

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn stub(s: &Scratch) -> StubServer {
    let key = MerchantKey::from_pem(&s.read("k.pem")).unwrap();
    StubServer::start(key, Timestamp::parse(NOW).unwrap()).unwrap()
}

#[test]
fn online_round_trip_updates_and_deactivation() {
    let s = Scratch::with_key();
    let code = s.issue(&["--days", "30"]);
    let server = stub(&s);
    let url = server.url().to_string();

    // Machine A: one command, installed.
    let out = s
        .buyer("A.json", NOW)
        .args([
            "request",
            "--json",
            "--public-key",
            "k.pem.pub",
            "--server",
            &url,
            "--code",
            &code,
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["installed"], true);
    assert_eq!(v["credential"], "activation_certificate");
    assert_eq!(v["seats"]["used"], 1);
    assert_eq!(v["reactivated"], false);
    let id = LicenseId::parse(v["license_id"].as_str().unwrap()).unwrap();
    s.status("A.json", NOW).code(0);

    // Machine B: the one seat is taken; nothing installed.
    let out = s
        .buyer_in("state-B", "B.json", NOW)
        .args([
            "request",
            "--json",
            "--public-key",
            "k.pem.pub",
            "--server",
            &url,
            "--code",
            &code,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["error"]["code"], "no_seat_left");
    s.buyer_in("state-B", "B.json", NOW)
        .args(["status", "--product-file", PRODUCT_FILE])
        .assert()
        .code(10);

    // Updates published by the merchant arrive with apply --server (keys stored by install).
    server.publish(id, UpdateAction::Freeze).unwrap();
    let out = s
        .buyer("A.json", NOW)
        .args([
            "apply",
            "--json",
            "--public-key",
            "k.pem.pub",
            "--server",
            &url,
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&out)["applied"][0]["action"], "freeze");
    s.status("A.json", NOW).code(7);
    server.publish(id, UpdateAction::Unfreeze).unwrap();
    s.buyer("A.json", NOW)
        .args(["apply", "--public-key", "k.pem.pub", "--server", &url])
        .assert()
        .code(0)
        .stdout(predicates::str::contains("Applied update 2 (unfreeze)"));
    s.buyer("A.json", NOW)
        .args(["apply", "--public-key", "k.pem.pub", "--server", &url])
        .assert()
        .code(0)
        .stdout(predicates::str::contains("No new updates"));
    s.status("A.json", NOW).code(0);

    // Offline deactivation on A: the license is gone, the code is shown.
    let out = s
        .buyer("A.json", NOW)
        .args(["deactivate", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    let kd = v["deactivation_code"].as_str().unwrap().to_string();
    assert!(kd.starts_with("KD1-"), "{kd}");
    s.status("A.json", NOW).code(10);

    // The merchant checks it offline against A's certificate.
    let cert = server.activations(id)[0].certificate.encode();
    s.write("a.lic", &cert);
    s.cmd()
        .args([
            "deactivate",
            "--verify",
            "a.lic",
            "--public-key",
            "k.pem.pub",
            &kd,
        ])
        .assert()
        .code(0)
        .stdout(predicates::str::contains("The deactivation code is right"));
    // One character mistyped: located, and the correction offered (it verifies).
    let mut chars: Vec<char> = kd.chars().collect();
    chars[6] = if chars[6] == '7' { '8' } else { '7' };
    let typo: String = chars.into_iter().collect();
    let out = s
        .cmd()
        .args([
            "deactivate",
            "--json",
            "--verify",
            "a.lic",
            "--public-key",
            "k.pem.pub",
            &typo,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let v = json(&out);
    assert_eq!(v["error"]["code"], "typo");
    assert_eq!(v["error"]["suggestion"], kd.as_str());
    // Another secret for the same license does not free the seat.
    let forged = keyward_core::DeactivationCode {
        license_id: id,
        secret: [1; 10],
    }
    .encode();
    s.cmd()
        .args([
            "deactivate",
            "--verify",
            "a.lic",
            "--public-key",
            "k.pem.pub",
            &forged,
        ])
        .assert()
        .code(6)
        .stderr(predicates::str::contains("does not match the certificate"));

    // The merchant's service frees the seat with the code; B then activates, and gives its
    // seat back online in one command.
    let c = keyward_online::Client::new(&url).unwrap();
    assert_eq!(c.deactivate(&kd).unwrap().seats.used, 0);
    s.buyer_in("state-B", "B.json", NOW)
        .args([
            "request",
            "--public-key",
            "k.pem.pub",
            "--server",
            &url,
            "--code",
            &code,
        ])
        .assert()
        .code(0);
    s.buyer_in("state-B", "B.json", NOW)
        .args(["status", "--product-file", PRODUCT_FILE])
        .assert()
        .code(0);
    let out = s
        .buyer_in("state-B", "B.json", NOW)
        .args(["deactivate", "--json", "--server", &url])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["freed_online"], true);
    assert_eq!(v["seats"]["used"], 0);
    assert_eq!(server.activations(id).iter().filter(|a| a.live).count(), 0);
}

#[test]
fn online_failures_are_clear_and_install_nothing() {
    let s = Scratch::with_key();
    let code = s.issue(&["--days", "30"]);
    // Nobody listens on this port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    s.buyer("A.json", NOW)
        .args([
            "request",
            "--public-key",
            "k.pem.pub",
            "--server",
            &url,
            "--code",
            &code,
        ])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("cannot be reached"));
    s.status("A.json", NOW).code(10);
    // No trusted key: refused before anything is sent.
    s.buyer("A.json", NOW)
        .args(["request", "--server", &url, "--code", &code])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("needs the merchant's public key"));
    s.buyer("A.json", NOW)
        .args([
            "request",
            "--public-key",
            "k.pem.pub",
            "--server",
            "example.com",
            "--code",
            &code,
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "not the address of a merchant service",
        ));
    // A license installed from an authorization code has no deactivation code.
    s.install(&code);
    s.buyer("A.json", NOW)
        .arg("deactivate")
        .assert()
        .code(0)
        .stderr(predicates::str::contains("has no deactivation code"));
    s.buyer("A.json", NOW).arg("deactivate").assert().code(10);
}

/// Issue 11: `keyward request --server` takes the marketplace's own `PL…` code too. The
/// product comes from --product or the product file (the code does not name it); without
/// --server, or without a product, the error says what to add.
#[test]
fn a_marketplace_code_activates_online() {
    let s = Scratch::with_key();
    let code = s.issue(&["--days", "30"]);
    let server = stub(&s);
    server.bridge("PL0000000042", &code);
    let url = server.url().to_string();
    let run = |args: &[&str]| {
        s.buyer("A.json", NOW)
            .args(["request", "--json"])
            .args(args)
            .output()
            .unwrap()
    };

    // What is missing is said, and nothing is installed.
    for (args, says) in [
        (
            vec!["--public-key", "k.pem.pub", "--code", "PL0000000042"],
            "--server",
        ),
        (
            vec![
                "--public-key",
                "k.pem.pub",
                "--server",
                &url,
                "--code",
                "PL0000000042",
            ],
            "--product",
        ),
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let v = json(&out);
        assert_eq!(v["error"]["code"], "usage", "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(says),
            "{v}"
        );
    }
    s.status("A.json", NOW).code(10);
    // A code the marketplace does not know: the service's refusal, nothing installed.
    let out = run(&[
        "--product-file",
        PRODUCT_FILE,
        "--server",
        &url,
        "--code",
        "PL0000000099",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["error"]["code"], "marketplace_code_unknown");
    s.status("A.json", NOW).code(10);

    // With the product: activated online and installed for this machine.
    let out = run(&[
        "--product-file",
        PRODUCT_FILE,
        "--server",
        &url,
        "--code",
        "PL0000000042",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["installed"], true, "{v}");
    assert_eq!(v["credential"], "activation_certificate");
    s.status("A.json", NOW).code(0);
    let id = LicenseId::parse(v["license_id"].as_str().unwrap()).unwrap();
    let seats = server.activations(id);
    assert_eq!(seats.len(), 1);
    let sys = s
        .buyer("A.json", NOW)
        .args(["system-id", "--product", "acme-invoice"])
        .output()
        .unwrap();
    assert_eq!(
        seats[0].machine,
        String::from_utf8_lossy(&sys.stdout).trim(),
        "the seat is this machine's"
    );
    // --product with --public-key, on machine B: its one seat is A's, so the service
    // refuses B with its code, and B stays unlicensed.
    let out = s
        .buyer_in("state-B", "B.json", NOW)
        .args(["request", "--json", "--public-key", "k.pem.pub"])
        .args(["--product", "acme-invoice", "--server", &url])
        .args(["--code", "PL0000000042"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["error"]["code"], "no_seat_left");
}
