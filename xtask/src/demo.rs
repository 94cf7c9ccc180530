//! `cargo xtask demo`: builds the CLI and runs the README walk-through on this machine, in
//! `target/demo/` (merchant keys, an authorization code, an activation request from this
//! machine, the certificate, its installation and the license status).

use std::path::Path;
use std::process::Command;

use crate::{cargo, root};

fn keyward(bin: &Path, args: &[&str]) -> Result<String, String> {
    println!("\n$ keyward {}", args.join(" "));
    let out = Command::new(bin)
        .args(args)
        .current_dir(root())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        return Err(format!(
            "keyward {} failed with {}",
            args.join(" "),
            out.status
        ));
    }
    Ok(stdout)
}

pub fn run() -> Result<(), String> {
    crate::run(cargo().args(["build", "--release", "--bin", "keyward"]))?;
    let bin = root().join("target/release/keyward");
    let dir = root().join("target/demo");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let p = |name: &str| dir.join(name).display().to_string();
    let (key, public, state, request, cert) = (
        p("merchant.pem"),
        p("merchant.pem.pub"),
        p("state"),
        p("request.txt"),
        p("license.lic"),
    );

    println!("== merchant: make a key pair");
    keyward(&bin, &["keys", "generate", "--out", &key])?;
    println!("== buyer: this machine's system identification code");
    keyward(&bin, &["system-id", "--product", "acme-invoice"])?;
    println!("== merchant: issue an authorization code");
    let code = keyward(
        &bin,
        &[
            "issue",
            "--key",
            &key,
            "--product",
            "acme-invoice",
            "--sku",
            "pro",
            "--days",
            "30",
            "--feature",
            "export",
        ],
    )?;
    let code = code.trim();
    keyward(&bin, &["inspect", "--public-key", &public, code])?;
    println!("== buyer (offline machine): make an activation request");
    keyward(
        &bin,
        &[
            "--state-dir",
            &state,
            "request",
            "--code",
            code,
            "--out",
            &request,
        ],
    )?;
    println!("== merchant: sign an activation certificate");
    let certificate = keyward(&bin, &["activate", "--key", &key, &request])?;
    std::fs::write(&cert, certificate).map_err(|e| format!("{cert}: {e}"))?;
    println!("== buyer: install it and ask for the status");
    keyward(
        &bin,
        &[
            "--state-dir",
            &state,
            "install",
            "--public-key",
            &public,
            &cert,
        ],
    )?;
    keyward(&bin, &["--state-dir", &state, "status"])?;
    println!("\ndemo finished: files are in {}", dir.display());
    Ok(())
}
