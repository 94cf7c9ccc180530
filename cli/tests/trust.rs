//! The trust model: buyer-side commands judge licenses only against the merchant's keys
//! given on the command line (`--public-key`, `--product-file`); a buyer who makes a key
//! and signs a license with it never gets "licensed", nor "no license".

mod common;

use common::{license_id, Scratch, NOW, PRODUCT, PRODUCT_FILE};
use predicates::prelude::*;

/// The buyer's own key pair, `buyer.pem`, and an "enterprise, 1000 seats" code for the
/// merchant's product signed with it.
fn forged_code(s: &Scratch) -> String {
    s.cmd()
        .args(["keys", "generate", "--out", "buyer.pem"])
        .assert()
        .code(0);
    s.stdout(&[
        "issue",
        "--key",
        "buyer.pem",
        "--product",
        PRODUCT,
        "--sku",
        "enterprise",
        "--seats",
        "1000",
        "--now",
        NOW,
    ])
    .trim()
    .to_string()
}

#[test]
fn a_buyer_made_key_never_licenses_any_buyer_side_command() {
    let s = Scratch::with_key();
    let evil = forged_code(&s);
    let merchant_keys: [&[&str]; 2] = [
        &["--product-file", PRODUCT_FILE],
        &["--public-key", "k.pem.pub"],
    ];
    for keys in merchant_keys {
        // request
        let (exit, v, err) = s.json({
            let mut c = s.buyer("A.json", NOW);
            c.args(["request", "--json"])
                .args(keys)
                .args(["--code", &evil]);
            c
        });
        assert_eq!(exit, 4, "{v} {err}");
        assert_eq!(v["error"]["code"], "unknown_key");
        // install
        let (exit, v, _) = s.json({
            let mut c = s.buyer("A.json", NOW);
            c.args(["install", "--json"]).args(keys).arg(&evil);
            c
        });
        assert_eq!(exit, 4, "{v}");
        assert_eq!(v["error"]["code"], "unknown_key");
    }
    // The buyer stores it anyway, trusting their own key (it is their disk)...
    s.buyer("A.json", NOW)
        .args(["install", "--public-key", "buyer.pem.pub", &evil])
        .assert()
        .code(0);
    // ...and leaves a keys.pem with their key in the state directory, as older keyward
    // versions kept there: it is never read.
    std::fs::copy(s.path("buyer.pem.pub"), s.path("state/keys.pem")).unwrap();
    for keys in merchant_keys {
        let (exit, v, err) = s.json({
            let mut c = s.buyer("A.json", NOW);
            c.args(["status", "--json", "--product", PRODUCT])
                .args(keys);
            c
        });
        assert_eq!(exit, 4, "{v}");
        assert_eq!(v["status"], "unknown_key");
        assert_eq!(v["usable"], false);
        assert_eq!(v["error"]["code"], "unknown_key");
        assert_eq!(v["licenses"][0]["status"], "unknown_key");
        // Installed but foreign: never "no license".
        assert!(
            !v["message"].as_str().unwrap().contains("No license"),
            "{v}"
        );
        assert!(
            err.contains("does not verify with the merchant's keys"),
            "{err}"
        );
    }
    s.status("A.json", NOW)
        .code(4)
        .stdout(predicate::str::contains("does not verify"))
        .stdout(predicate::str::contains("Licensed").not())
        .stdout(predicate::str::contains("No license").not());
    // Without the merchant's keys, status refuses to judge at all.
    s.buyer("A.json", NOW)
        .args(["status", "--product", PRODUCT])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--product-file"));

    // apply: an update the buyer signed is refused, also for a genuine license.
    let genuine = s.issue(&["--days", "30"]);
    s.install(&genuine);
    let id = license_id(&s, &genuine);
    let freeze = s.stdout(&["update", "--key", "k.pem", "--license", &id, "--freeze"]);
    s.buyer("A.json", NOW)
        .args(["apply", "--product-file", PRODUCT_FILE, &freeze])
        .assert()
        .code(0);
    let unfreeze = s.stdout(&[
        "update",
        "--key",
        "buyer.pem",
        "--license",
        &id,
        "--unfreeze",
    ]);
    for keys in merchant_keys {
        s.buyer("A.json", NOW)
            .args(["apply"])
            .args(keys)
            .arg(&unfreeze)
            .assert()
            .code(4)
            .stderr(predicate::str::contains("not one of this product's keys"));
    }
    let (exit, v, _) = s.status_json("A.json", NOW);
    assert_eq!(exit, 7, "{v}");
    assert_eq!(v["status"], "frozen");
}

#[test]
fn a_genuine_license_wins_over_a_foreign_one() {
    let s = Scratch::with_key();
    let evil = forged_code(&s);
    s.buyer("A.json", NOW)
        .args(["install", "--public-key", "buyer.pem.pub", &evil])
        .assert()
        .code(0);
    let genuine = s.issue(&["--days", "30"]);
    s.install(&genuine);
    let (exit, v, _) = s.status_json("A.json", NOW);
    assert_eq!(exit, 0, "{v}");
    assert_eq!(v["status"], "active");
    assert_eq!(
        v["license"]["license_id"],
        license_id(&s, &genuine).as_str()
    );
    let statuses: Vec<&str> = v["licenses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["status"].as_str().unwrap())
        .collect();
    assert!(statuses.contains(&"unknown_key"), "{v}");
}

#[test]
fn status_is_for_one_product() {
    let s = Scratch::with_key();
    // A genuine license, but for another product of the same merchant.
    let other = s.stdout(&[
        "issue",
        "--key",
        "k.pem",
        "--product",
        "acme-payroll",
        "--now",
        NOW,
    ]);
    s.install(other.trim());
    let (exit, v, err) = s.status_json("A.json", NOW);
    assert_eq!(exit, 10, "{v}");
    assert_eq!(v["status"], "no_license");
    assert_eq!(v["product"], PRODUCT);
    assert!(err.contains("1 license for other products"), "{err}");
    s.buyer("A.json", NOW)
        .args([
            "status",
            "--public-key",
            "k.pem.pub",
            "--product",
            "acme-payroll",
        ])
        .assert()
        .code(0);
    // A product is required, and must agree with the product file.
    s.buyer("A.json", NOW)
        .args(["status", "--public-key", "k.pem.pub"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--product"));
    s.buyer("A.json", NOW)
        .args([
            "status",
            "--product-file",
            PRODUCT_FILE,
            "--product",
            "acme-payroll",
        ])
        .assert()
        .code(2);
    // The product file refuses a license for another product at install and request.
    s.buyer_in("s2", "A.json", NOW)
        .args(["install", "--product-file", PRODUCT_FILE, other.trim()])
        .assert()
        .code(9)
        .stderr(predicate::str::contains("for product acme-payroll"));
    s.buyer("A.json", NOW)
        .args([
            "request",
            "--product-file",
            PRODUCT_FILE,
            "--code",
            other.trim(),
        ])
        .assert()
        .code(9);
}

#[test]
fn a_failing_status_names_the_merchant_s_contact() {
    let s = Scratch::with_key();
    s.cmd()
        .args([
            "keys",
            "product-file",
            "--product",
            PRODUCT,
            "--public-key",
            "k.pem.pub",
            "--merchant-name",
            "Acme Software",
            "--support-contact",
            "support@acme.example",
            "--out",
            "named.toml",
        ])
        .assert()
        .code(0);
    s.buyer("A.json", NOW)
        .args(["status", "--product-file", "named.toml"])
        .assert()
        .code(10)
        .stderr(predicate::str::contains(
            "for help, contact Acme Software: support@acme.example",
        ));
}

#[test]
fn product_files_are_checked() {
    let s = Scratch::with_key();
    let text = s.read(PRODUCT_FILE);
    assert!(text.contains("product = \"acme-invoice\""), "{text}");
    assert!(text.contains("-----BEGIN PUBLIC KEY-----"), "{text}");
    for (name, body, needle) in [
        ("empty.toml", "", "missing field"),
        (
            "nokeys.toml",
            "product = \"p\"\npublic_keys = []\n",
            "no public key",
        ),
        (
            "typo.toml",
            "product = \"p\"\npublic_key = []\n",
            "unknown field",
        ),
        (
            "badkey.toml",
            "product = \"p\"\npublic_keys = [\"hello\"]\n",
            "public key 1",
        ),
    ] {
        s.write(name, body);
        s.buyer("A.json", NOW)
            .args(["status", "--product-file", name])
            .assert()
            .code(3)
            .stderr(predicate::str::contains(name))
            .stderr(predicate::str::contains(needle))
            .stderr(predicate::str::contains("keyward keys product-file"));
    }
}
