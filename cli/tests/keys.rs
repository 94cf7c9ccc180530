//! Merchant keys: file modes, no accidental overwrite, OpenSSL interoperability.

mod common;

use std::process::Command as StdCommand;

use common::Scratch;
use predicates::prelude::*;

/// On Unix, the private key file `name` is readable and writable by its owner only.
fn assert_owner_only(s: &Scratch, name: &str) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(s.path(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    #[cfg(not(unix))]
    let _ = (s, name);
}

/// Runs `openssl ARGS` in the scratch directory, expects success and returns its
/// standard output.
fn openssl(s: &Scratch, args: &[&str]) -> String {
    let out = StdCommand::new("openssl")
        .args(args)
        .current_dir(s.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn generate_writes_private_0600_and_public_pem() {
    let s = Scratch::new();
    let (exit, v, _) = s.run_json(&["keys", "generate", "--json", "--out", "k.pem"]);
    assert_eq!(exit, 0);
    assert_eq!(v["key_id"].as_str().unwrap().len(), 8);
    assert_eq!(v["public_key"], "k.pem.pub");
    let private = s.read("k.pem");
    let public = s.read("k.pem.pub");
    assert!(
        private.starts_with("-----BEGIN PRIVATE KEY-----"),
        "{private}"
    );
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"), "{public}");
    assert_eq!(v["public_key_pem"], public.as_str());
    assert_owner_only(&s, "k.pem");

    // `keys public` prints the same PEM, for the private or the public file; id on stderr.
    for f in ["k.pem", "k.pem.pub"] {
        s.cmd()
            .args(["keys", "public", f])
            .assert()
            .code(0)
            .stdout(public.clone())
            .stderr(predicate::str::contains(format!(
                "key id: {}",
                v["key_id"].as_str().unwrap()
            )));
    }
    let (_, pv, _) = s.run_json(&["keys", "public", "--json", "k.pem"]);
    assert_eq!(pv["key_id"], v["key_id"]);
    assert_eq!(pv["public_key_pem"], public.as_str());
}

#[test]
fn never_overwrites_without_force() {
    let s = Scratch::with_key();
    let before = s.read("k.pem");
    s.cmd()
        .args(["keys", "generate", "--out", "k.pem"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already exists"))
        .stderr(predicate::str::contains("--force"));
    assert_eq!(s.read("k.pem"), before);
    // Only the .pub existing is enough to refuse.
    s.write("lonely.pem.pub", "x");
    s.cmd()
        .args(["keys", "generate", "--out", "lonely.pem"])
        .assert()
        .code(1);
    assert!(!s.path("lonely.pem").exists());
    // --force replaces both, still 0600.
    s.cmd()
        .args(["keys", "generate", "--out", "k.pem", "--force"])
        .assert()
        .code(0);
    assert_ne!(s.read("k.pem"), before);
    assert_owner_only(&s, "k.pem");
}

/// Whether `openssl` is on PATH and runs.
fn have_openssl() -> bool {
    StdCommand::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn openssl_interop() {
    if !have_openssl() {
        println!("note: openssl is not on PATH; skipping the OpenSSL interoperability test");
        return;
    }
    let s = Scratch::with_key();
    // OpenSSL's public key of our private key is our .pub file.
    assert_eq!(
        openssl(&s, &["pkey", "-in", "k.pem", "-pubout"]),
        s.read("k.pem.pub")
    );

    // A key made by OpenSSL signs codes, and its OpenSSL public key verifies them.
    openssl(
        &s,
        &["genpkey", "-algorithm", "ed25519", "-out", "ossl.pem"],
    );
    openssl(
        &s,
        &["pkey", "-in", "ossl.pem", "-pubout", "-out", "ossl.pub"],
    );
    let code = s.stdout(&[
        "issue",
        "--key",
        "ossl.pem",
        "--product",
        "p",
        "--days",
        "3",
    ]);
    s.cmd()
        .args(["inspect", "--public-key", "ossl.pub", code.trim()])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("active"));
    s.cmd()
        .args(["keys", "public", "ossl.pem"])
        .assert()
        .code(0)
        .stdout(s.read("ossl.pub"));
}
