//! `keyward status`: is this machine licensed? Exits 0 only when a license is active (or in
//! its grace period).

use std::path::PathBuf;

use clap::Args;
use keyward_core::{Credential, Kind, Status, TrustedKeys};
use serde_json::{json, Value};

use crate::cmd::activation::buyer_keys;
use crate::env::{context, Env};
use crate::exit::{CliError, CmdResult, Exit};
use crate::output::{error_json, line, print_json, sentence, status_json, time_json};

/// `keyward status …`
#[derive(Args)]
pub struct StatusArgs {
    /// The merchant's public key(s) [default: the keys stored by `install`].
    #[arg(long, value_name = "FILE")]
    public_key: Option<PathBuf>,
}

/// Runs `keyward status`.
pub fn run(env: &Env, a: StatusArgs) -> CmdResult {
    let store = env.store()?;
    // `status` writes the clock's high-water mark back; with nothing stored it writes
    // nothing (and creates no directory).
    let _lock = if store.dir().exists() {
        Some(store.lock()?)
    } else {
        None
    };
    let loaded = store.load()?;
    let mut state = loaded.state;
    let trusted = match buyer_keys(&store, a.public_key.as_ref())? {
        Some(k) => k,
        None if state.entries.is_empty() => TrustedKeys::new(),
        None => {
            return Err(CliError::new(
                "no_keys",
                Exit::Other,
                format!(
                    "licenses are installed but the trusted key file {} is missing: give the merchant's public key with --public-key FILE",
                    store.keys_path().display()
                ),
            ))
        }
    };
    let facts = env.facts()?;
    let ctx = context(&trusted, &facts.facts, env.now(), env.policy());
    let before = state.high_water;
    let status = state.status(&ctx);
    if loaded.existed && state.high_water != before {
        store.save(&state)?;
    }
    let licenses: Vec<Value> = if matches!(status, Status::ClockRolledBack { .. }) {
        Vec::new()
    } else {
        state
            .entries
            .iter()
            .map(|e| {
                let (code, message) = match e.credential.evaluate(&e.flags, &ctx) {
                    Ok(s) => (s.code().as_str(), crate::output::describe(&s)),
                    Err(err) => (err.code().as_str(), err.to_string()),
                };
                let (kind, product) = match &e.credential {
                    Credential::Code(c) => (Kind::AuthorizationCode, c.terms().product.clone()),
                    Credential::Certificate(c) => {
                        (Kind::ActivationCertificate, c.terms().product.clone())
                    }
                };
                json!({
                    "license_id": e.credential.license_id().to_string(),
                    "product": product,
                    "credential": kind.code(),
                    "status": code,
                    "message": message,
                    "sequence": e.sequence,
                    "frozen": e.flags.frozen,
                    "released": e.flags.released,
                    "renewed_expiry": time_json(e.flags.renewed_expiry),
                })
            })
            .collect()
    };
    let exit = Exit::for_status(status.code());
    let error = (exit != Exit::Ok).then(|| {
        let extra = match &status {
            Status::NoLicense => format!(
                " in {}: install one with `keyward install --public-key FILE CERT`",
                store.dir().display()
            ),
            Status::MachineMismatch { .. } => format!(" (compared with {})", facts.source),
            _ => String::new(),
        };
        CliError::status(&status, &extra)
    });
    if env.json {
        let mut v = status_json(&status);
        v["now"] = json!(ctx.now.to_rfc3339());
        v["high_water"] = json!(state.high_water.to_rfc3339());
        v["state_dir"] = json!(store.dir().display().to_string());
        v["licenses"] = Value::Array(licenses);
        if let Some(e) = &error {
            v["error"] = error_json(e);
        }
        print_json(&v);
    } else {
        outln!("{}", sentence(&crate::output::describe(&status)));
        if let Some(l) = status.license() {
            line("license", &l.license_id.to_string());
            if !l.features.is_empty() {
                line("features", &l.features.join(", "));
            }
            line(
                "machine",
                if l.bound {
                    "bound to this machine"
                } else {
                    "not bound to a machine"
                },
            );
        }
        if licenses.len() > 1 {
            line(
                "installed",
                &format!("{} licenses in {}", licenses.len(), store.dir().display()),
            );
        }
    }
    if let Some(e) = &error {
        errln!("keyward: {}", e.message);
    }
    Ok(exit)
}
