//! `cargo xtask fuzz [--seconds N] [TARGET]`, `cargo xtask fuzz-seeds`, and the replay of
//! every saved fuzz input that `cargo xtask test` runs.
//!
//! The targets live in `fuzz/` (cargo-fuzz layout, its own workspace); their bodies are the
//! library `fuzz/src/`, shared with the replay test `fuzz/tests/replay.rs`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use keyward_core::{
    eval::Policy, raw, state::Credential, time::DAY, Context, LicenseState, MerchantKey,
    SignedUpdate, Timestamp, TrustedKeys, UpdateAction,
};
use serde_json::Value;

use crate::{cargo, root, run, vectors};

/// Every target: the files of `fuzz/fuzz_targets/`, sorted by name (the replay test checks
/// that each one is in `keyward_fuzz::TARGETS` and replayed).
fn targets() -> Result<Vec<String>, String> {
    let dir = fuzz_dir().join("fuzz_targets");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .map_err(|e| format!("cannot read {dir:?}: {e}"))?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_suffix(".rs").map(String::from)
        })
        .collect();
    names.sort();
    Ok(names)
}

/// The cargo-fuzz release `cargo xtask fuzz` installs (pinned, built with `--locked`).
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Seconds per target when `--seconds` is not given.
const DEFAULT_SECONDS: u64 = 60;

/// Longest input libFuzzer makes: the longest text keyward reads (64 KiB) and a little more,
/// so the length limits themselves are tried.
const MAX_LEN: usize = 64 * 1024 + 256;

fn fuzz_dir() -> PathBuf {
    root().join("fuzz")
}

/// `cargo xtask fuzz [--seconds N] [TARGET] [-- LIBFUZZER-OPTIONS]`: installs what fuzzing needs, makes the seeds,
/// and runs each target (or the one named) for N seconds. A crash, a property broken, a slow
/// call or a big allocation fails the target, and libFuzzer saves the input under
/// `fuzz/artifacts/<target>/`.
pub fn fuzz(args: &[String]) -> Result<(), String> {
    let all = targets()?;
    let mut seconds = DEFAULT_SECONDS;
    let mut only: Option<&str> = None;
    let mut extra: &[String] = &[];
    let mut it = args.iter().enumerate();
    while let Some((i, a)) = it.next() {
        match a.as_str() {
            // The rest goes to libFuzzer, e.g. `-- -fork=1 -ignore_crashes=1` to go on after
            // a finding.
            "--" => {
                extra = &args[i + 1..];
                break;
            }
            "--seconds" => {
                seconds = it
                    .next()
                    .and_then(|(_, s)| s.parse().ok())
                    .filter(|&s| s > 0)
                    .ok_or("--seconds needs a whole number of seconds above 0, e.g. --seconds 30")?;
            }
            t if all.iter().any(|a| a == t) && only.is_none() => only = Some(t),
            other => {
                return Err(format!(
                    "fuzz: unknown argument {other:?}; usage: cargo xtask fuzz [--seconds N] [TARGET] [-- LIBFUZZER-OPTIONS], with TARGET one of {}",
                    all.join(", ")
                ))
            }
        }
    }
    ensure_cxx()?;
    ensure_cargo_fuzz()?;
    seeds()?;
    let targets: Vec<&str> = match only {
        Some(t) => vec![t],
        None => all.iter().map(String::as_str).collect(),
    };
    let mut failed = Vec::new();
    for &target in &targets {
        let corpus = fuzz_dir().join("corpus").join(target);
        fs::create_dir_all(&corpus).map_err(|e| format!("cannot create {corpus:?}: {e}"))?;
        let seeds = fuzz_dir().join("seeds").join(target);
        let mut cmd = cargo();
        // cargo-fuzz is made for nightly Rust; keyward builds on stable, and a fresh machine
        // reaches package registries but not rustup's servers, so nightly cannot be relied on.
        // With `-s none` the instrumentation flags cargo-fuzz passes are stable ones;
        // RUSTC_BOOTSTRAP=1 lets stable rustc accept the unstable flags a cargo-fuzz or
        // libfuzzer-sys release may add. No sanitizer (`-s none`): keyward-core forbids unsafe
        // code, so AddressSanitizer could find nothing that safe Rust does not already turn
        // into a panic, and it would halve the executions per second on a shared machine.
        // `-a` keeps debug assertions and overflow checks on, so an overflow is a crash.
        cmd.env("RUSTC_BOOTSTRAP", "1")
            .args([
                "fuzz",
                "run",
                "--sanitizer",
                "none",
                "--debug-assertions",
                target,
            ])
            .arg(&corpus)
            .arg(&seeds)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg(format!("-max_len={MAX_LEN}"))
            // Whole seconds only: a guard against hangs. Slow calls (> 10 ms of CPU time)
            // are caught inside the targets (fuzz/src/limits.rs).
            .arg("-timeout=10")
            .arg("-rss_limit_mb=2048")
            .arg("-print_final_stats=1")
            .args(extra);
        if let Err(e) = run(&mut cmd) {
            eprintln!("xtask: fuzz target {target} FAILED: {e}");
            failed.push(target);
        }
    }
    // The plain closing line CI reads: targets that held, targets that failed.
    println!(
        "fuzz: {} passed, {} failed",
        targets.len() - failed.len(),
        failed.len()
    );
    if failed.is_empty() {
        return Ok(());
    }
    Err(format!(
        "fuzz targets failed: {}. The inputs are in fuzz/artifacts/<target>/; replay one with \
         `cargo fuzz run -s none -a <target> <file>`, and keep it as a regression test by \
         copying it to fuzz/regressions/<target>/ with a line in fuzz/regressions/README.md",
        failed.join(", ")
    ))
}

/// The replay of every saved input (`fuzz/tests/replay.rs`), on stable, without cargo-fuzz
/// or libFuzzer: part of `cargo xtask test`.
pub fn replay() -> Result<(), String> {
    seeds()?;
    run(cargo().args([
        "test",
        "--manifest-path",
        "fuzz/Cargo.toml",
        "--no-default-features",
    ]))
}

/// rustfmt and clippy over `fuzz/` (its own workspace, so `cargo xtask lint`'s workspace
/// commands do not reach it).
pub fn lint() -> Result<(), String> {
    // Not `--all`: that would take in keyward-core, a path dependency, which the
    // workspace's own `cargo fmt --all --check` covers.
    run(cargo().args(["fmt", "--manifest-path", "fuzz/Cargo.toml", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--manifest-path",
        "fuzz/Cargo.toml",
        "--all-targets",
        "--no-default-features",
        "--",
        "-D",
        "warnings",
    ]))
}

/// libFuzzer is C++: libfuzzer-sys compiles it with the system's C++ compiler.
fn ensure_cxx() -> Result<(), String> {
    let present = Command::new("c++")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return Ok(());
    }
    run(Command::new("apt-get").arg("update"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends", "g++"])
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

fn ensure_cargo_fuzz() -> Result<(), String> {
    let installed = cargo()
        .args(["fuzz", "--version"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if installed.split_whitespace().nth(1) == Some(CARGO_FUZZ_VERSION) {
        return Ok(());
    }
    run(cargo().args([
        "install",
        "cargo-fuzz",
        "--locked",
        "--version",
        CARGO_FUZZ_VERSION,
    ]))
}

/// `cargo xtask fuzz-seeds`: writes `fuzz/seeds/<target>/` from `tests/vectors/vectors.json`
/// and the fixed test key, each target's inputs in its own form (see `fuzz/src/`).
/// Deterministic; the folders are rewritten each time.
pub fn seeds() -> Result<(), String> {
    let path = root().join("tests/vectors/vectors.json");
    let text = fs::read_to_string(&path).map_err(|e| format!("cannot read {path:?}: {e}"))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("{path:?}: {e}"))?;
    let cases: Vec<(String, String)> = v["cases"]
        .as_array()
        .ok_or("vectors.json has no cases")?
        .iter()
        .filter_map(|c| Some((c["name"].as_str()?.into(), c["input"].as_str()?.into())))
        .collect();
    let str_of = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    let mut out: Vec<(&str, String, Vec<u8>)> = Vec::new();

    // text: every vector as pasted.
    for (name, input) in &cases {
        out.push(("text", name.clone(), input.clone().into_bytes()));
    }

    // bytes: every vector's decoded bytes.
    let decoded: Vec<(&String, keyward_core::Kind, Vec<u8>)> = cases
        .iter()
        .filter_map(|(name, input)| {
            let (kind, bytes) = raw::decode(input).ok()?;
            Some((name, kind, bytes))
        })
        .collect();
    for (name, _, bytes) in &decoded {
        out.push(("bytes", (*name).clone(), bytes.clone()));
    }

    // resigned: [kind, typo kind, typo position (LE), typo symbol] + body, every typo kind.
    for (i, (name, kind, bytes)) in decoded.iter().enumerate() {
        let index = match kind {
            keyward_core::Kind::AuthorizationCode => 0,
            keyward_core::Kind::ActivationCertificate => 1,
            keyward_core::Kind::SignedUpdate => 2,
            _ => continue,
        };
        let Some(body) = bytes.len().checked_sub(64).map(|n| &bytes[..n]) else {
            continue;
        };
        for typo in 0..4u8 {
            let at = (i * 37 + usize::from(typo) * 11) as u16;
            let mut input = vec![index, typo];
            input.extend_from_slice(&at.to_le_bytes());
            input.push(i as u8);
            input.extend_from_slice(body);
            out.push(("resigned", format!("{name}-typo{typo}"), input));
        }
    }

    // state: [n (LE), blob without checksum] + operations, from states made of the vectors.
    for (name, blob, ops) in state_seeds(&v, &cases)? {
        let body = &blob[..blob.len() - 8];
        let mut input = (body.len() as u16).to_le_bytes().to_vec();
        input.extend_from_slice(body);
        input.extend_from_slice(&ops);
        out.push(("state", name, input));
    }

    // ids: hardware ids, facts as typed, times and license ids.
    let facts = &v["facts"];
    let mut ids: Vec<(String, String)> = cases
        .iter()
        .filter(|(name, _)| name.starts_with("hardware_id"))
        .cloned()
        .collect();
    for (prefix, key) in [
        ("uuid:", "product_uuid"),
        ("sn:", "board_serial"),
        ("disk:", "disk_serial"),
        ("custom:", "machine_id"),
    ] {
        ids.push((
            key.into(),
            format!("{prefix}{}", facts[key].as_str().unwrap_or("")),
        ));
    }
    for (i, mac) in facts["macs"].as_array().into_iter().flatten().enumerate() {
        ids.push((format!("mac{i}"), mac.as_str().unwrap_or("").into()));
    }
    for (name, t) in [
        ("now", str_of("now")),
        ("high_water", str_of("high_water")),
        ("date", "2026-11-20".into()),
        ("marketplace_time", "20261120120000".into()),
        ("offset", "2026-11-20T20:00:00+08:00".into()),
        ("fraction", "2026-11-20T12:00:00.250Z".into()),
        ("license_id", "1020304050607001".into()),
    ] {
        ids.push((name.into(), t));
    }
    for (name, t) in ids {
        out.push(("ids", name, t.into_bytes()));
    }

    // pem: the vectors' public key, the test key's private key, and both keys together.
    let key = MerchantKey::from_seed(vectors::TEST_KEY_SEED);
    let other = MerchantKey::from_seed(vectors::OTHER_KEY_SEED);
    for (name, pem) in [
        ("public", str_of_first(&v["public_keys"])),
        ("private", key.to_pem()),
        (
            "two_public",
            format!("{}{}", key.public().to_pem(), other.public().to_pem()),
        ),
    ] {
        out.push(("pem", name.into(), pem.into_bytes()));
    }

    for target in targets()? {
        let dir = fuzz_dir().join("seeds").join(&target);
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(|e| format!("cannot clear {dir:?}: {e}"))?;
        }
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {dir:?}: {e}"))?;
    }
    for (target, name, data) in &out {
        write(&fuzz_dir().join("seeds").join(target).join(name), data)?;
    }
    eprintln!("xtask: {} fuzz seeds written to fuzz/seeds/", out.len());
    Ok(())
}

fn str_of_first(v: &Value) -> String {
    v[0].as_str().unwrap_or_default().to_string()
}

fn write(path: &Path, data: &[u8]) -> Result<(), String> {
    fs::write(path, data).map_err(|e| format!("cannot write {path:?}: {e}"))
}

/// A state seed: name, the blob as `LicenseState::to_bytes` writes it, operations.
type StateSeed = (String, Vec<u8>, Vec<u8>);

/// States a machine could hold, made from the vectors.
fn state_seeds(v: &Value, cases: &[(String, String)]) -> Result<Vec<StateSeed>, String> {
    let now = Timestamp::parse(v["now"].as_str().unwrap_or_default()).ok_or("vectors: now")?;
    let key = MerchantKey::from_seed(vectors::TEST_KEY_SEED);
    let trusted = TrustedKeys::from_keys([key.public()]);
    let facts = vectors::this_machine();
    let ctx = Context {
        trusted: &trusted,
        facts: &facts,
        hardware_ids: &[],
        now,
        policy: Policy::default(),
    };
    let input = |name: &str| {
        cases
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, i)| i.as_str())
            .ok_or(format!("vectors: no case {name}"))
    };
    let code = keyward_core::AuthorizationCode::decode(input("code_valid_unbound")?, &trusted)
        .map_err(|e| format!("vectors: {e}"))?;
    let certificate =
        keyward_core::ActivationCertificate::decode(input("certificate_valid")?, &trusted)
            .map_err(|e| format!("vectors: {e}"))?;
    let renew = SignedUpdate::issue(
        &key,
        code.terms().license_id,
        1,
        UpdateAction::Renew {
            expires: now.add_secs(90 * DAY),
        },
        now,
    )
    .map_err(|e| e.to_string())?;

    let empty = LicenseState {
        high_water: now,
        ..LicenseState::default()
    };
    let mut with_code = empty.clone();
    with_code
        .install(Credential::Code(code), &ctx)
        .map_err(|e| e.to_string())?;
    let mut renewed = with_code.clone();
    renewed.apply(&renew, &ctx).map_err(|e| e.to_string())?;
    let mut both = renewed.clone();
    both.install(Credential::Certificate(certificate), &ctx)
        .map_err(|e| e.to_string())?;
    // Operations (see fuzz/src/state.rs): remember the request of license 0, install its
    // certificate, install code 1, apply update 2, status 4 hours later, take license 1,
    // remove license 0, push an entry with a secret.
    let ops = vec![6, 0, 1, 0, 0, 1, 2, 2, 4, 4, 7, 1, 3, 0, 5, 14];
    Ok(vec![
        (
            "empty".into(),
            empty.to_bytes().map_err(|e| e.to_string())?,
            ops.clone(),
        ),
        (
            "code".into(),
            with_code.to_bytes().map_err(|e| e.to_string())?,
            Vec::new(),
        ),
        (
            "renewed".into(),
            renewed.to_bytes().map_err(|e| e.to_string())?,
            vec![4, 230],
        ),
        (
            "code_and_certificate".into(),
            both.to_bytes().map_err(|e| e.to_string())?,
            ops,
        ),
    ])
}
