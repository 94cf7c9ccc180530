//! `keyward status`: is this machine licensed for a product? Exits 0 only when a license
//! for it, signed by one of the merchant's keys given on the command line, is active (or
//! in its grace period).

use clap::Args;
use keyward_core::{
    state::{Credential, Entry},
    Kind, Status,
};
use serde_json::{json, Value};

use crate::env::{context, Env};
use crate::exit::{CmdResult, Error, Exit};
use crate::output::{emit_json, error_json, line, sentence, status_json, time_json};
use crate::trust::TrustArgs;

/// `keyward status …`
#[derive(Args)]
pub struct StatusArgs {
    #[command(flatten)]
    trust: TrustArgs,
    /// The product to answer for [default: the product file's].
    #[arg(long, value_name = "P")]
    product: Option<String>,
}

/// The product a credential is for.
fn product_of(e: &Entry) -> &str {
    match &e.credential {
        Credential::Code(c) => &c.terms().product,
        Credential::Certificate(c) => &c.terms().product,
    }
}

/// Runs `keyward status`.
pub fn run(env: &Env, a: StatusArgs) -> CmdResult {
    let trust = a.trust.load("status")?;
    let product = match (&a.product, trust.product()) {
        (Some(p), Some(f)) if p != f => {
            return Err(Error::new(
                "usage",
                Exit::Usage,
                format!(
                    "--product {p} differs from the product file's product {f}: give one of them"
                ),
            ))
        }
        (Some(p), _) => p.clone(),
        (None, Some(f)) => f.to_string(),
        (None, None) => {
            return Err(Error::new(
                "usage",
                Exit::Usage,
                "status answers for one product: give --product P (or --product-file FILE, which names it)",
            ))
        }
    };
    let store = env.store()?;
    // `status` writes the clock's high-water mark back, under the lock; with nothing stored
    // it writes nothing (and creates no directory). A directory this user cannot write is
    // still read: the status is answered, and nothing is saved.
    let (lock, loaded) = if store.dir().exists() {
        match store.lock() {
            Ok(lock) => {
                let loaded = store.load(&lock)?;
                (Some(lock), loaded)
            }
            Err(e) if e.code == "state_read_only" => {
                errln!(
                    "keyward: warning: {}; the status below is read from it, and the clock's mark is not saved",
                    e.message
                );
                (None, store.read()?)
            }
            Err(e) => return Err(e),
        }
    } else {
        (None, store.read()?)
    };
    let read_only = lock.is_none() && store.dir().exists();
    let mut state = loaded.state;
    let facts = env.facts()?;
    let ctx = context(&trust.keys, &facts.facts, env.now(), env.policy());
    let before = state.high_water;
    // Only this product's licenses count.
    let mut mine = state.clone();
    mine.entries.retain(|e| product_of(e) == product);
    let status = match env.observe(&mut mine, &ctx) {
        Ok(()) => mine.peek(&ctx),
        Err(rb) => Status::from(rb),
    };
    state.high_water = mine.high_water;
    if let (Some(lock), true) = (&lock, loaded.existed && state.high_water != before) {
        store.save(lock, &state)?;
    }
    let rolled_back = matches!(status, Status::ClockRolledBack { .. });
    // Each of this product's licenses, with its own status or why it does not verify.
    let evaluated: Vec<(&Entry, Result<Status, keyward_core::Error>)> = if rolled_back {
        Vec::new()
    } else {
        mine.entries
            .iter()
            .map(|e| {
                (
                    e,
                    e.credential.evaluate(&e.verified_flags(ctx.trusted), &ctx),
                )
            })
            .collect()
    };
    let others = state.entries.len() - mine.entries.len();
    // Installed, but signed by none of the merchant's keys: never "no license".
    let untrusted = matches!(status, Status::NoLicense)
        .then(|| {
            evaluated
                .iter()
                .find_map(|(e, r)| r.as_ref().err().map(|err| (*e, err)))
        })
        .flatten();
    let licenses: Vec<Value> = evaluated
        .iter()
        .map(|(e, r)| {
            let (code, message) = match r {
                Ok(s) => (s.code().as_str(), s.describe()),
                Err(err) => (err.code().as_str(), err.to_string()),
            };
            let kind = match &e.credential {
                Credential::Code(_) => Kind::AuthorizationCode,
                Credential::Certificate(_) => Kind::ActivationCertificate,
            };
            json!({
                "license_id": e.credential.license_id().to_string(),
                "product": product_of(e),
                "credential": kind.code(),
                "status": code,
                "message": message,
                "sequence": e.sequence,
                "frozen": e.flags.frozen,
                "released": e.flags.released,
                "renewed_expiry": time_json(e.verified_flags(ctx.trusted).renewed_expiry),
            })
        })
        .collect();
    let (code, exit, error) = match untrusted {
        Some((e, err)) => {
            let mut ce = Error::core(
                err,
                Some(&format!(
                    "the license {} for {product} installed in {} does not verify with the merchant's keys ({}, from {})",
                    e.credential.license_id(),
                    store.dir().display(),
                    trust.key_ids(),
                    trust.source(&a.trust)
                )),
            );
            ce.message.push_str("; it does not license this machine");
            (ce.code.clone(), ce.exit, Some(ce))
        }
        None => {
            let exit = Exit::of(status.code().as_str());
            let error = (exit != Exit::Ok).then(|| {
                let extra = match &status {
                    Status::NoLicense => format!(
                        " for {product} in {}{}: install one with `keyward install --product-file FILE CERT`",
                        store.dir().display(),
                        if others > 0 {
                            format!(
                                " ({others} license{} for other products {} installed)",
                                if others == 1 { "" } else { "s" },
                                if others == 1 { "is" } else { "are" }
                            )
                        } else {
                            String::new()
                        }
                    ),
                    Status::MachineMismatch { .. } => format!(" (compared with {})", facts.source),
                    _ => String::new(),
                };
                Error::status(&status, &extra)
            });
            (status.code().to_string(), exit, error)
        }
    };
    let error = error.map(|mut e| {
        e.message.push_str(&trust.contact());
        e
    });
    if env.json {
        let mut v = status_json(&status);
        v["status"] = json!(code);
        if let Some(e) = &error {
            v["message"] = json!(e.message);
        }
        v["product"] = json!(product);
        v["now"] = json!(ctx.now.to_rfc3339());
        v["high_water"] = time_json((state.high_water.0 != 0).then_some(state.high_water));
        v["state_dir"] = json!(store.dir().display().to_string());
        v["read_only"] = json!(read_only);
        v["licenses"] = Value::Array(licenses);
        if let Some(e) = &error {
            v["error"] = error_json(e);
        }
        emit_json(&v)?;
    } else {
        match &error {
            Some(e) if untrusted.is_some() => outln!("{}", sentence(&e.message))?,
            _ => outln!("{}", sentence(&status.describe()))?,
        }
        if let Some(l) = status.license() {
            line("license", &l.license_id.to_string())?;
            if !l.features.is_empty() {
                line("features", &l.features.join(", "))?;
            }
            line(
                "machine",
                if l.bound {
                    "bound to this machine"
                } else {
                    "not bound to a machine"
                },
            )?;
        }
        if licenses.len() > 1 {
            line(
                "installed",
                &format!(
                    "{} licenses for {product} in {}",
                    licenses.len(),
                    store.dir().display()
                ),
            )?;
        }
    }
    if let Some(e) = &error {
        errln!("keyward: {}", e.message);
    }
    Ok(exit)
}
