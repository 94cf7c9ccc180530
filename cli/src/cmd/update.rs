//! Signed updates: `update` (merchant: renew, freeze, unfreeze, release, reset the clock
//! mark) and `apply`
//! (buyer: apply one to the installed license).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{ArgGroup, Args};
use keyward_core::{
    state::{Applied, Credential},
    Artifact, Kind, LicenseId, SignedUpdate, Status, Timestamp, TrustedKeys, UpdateAction,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::env::{context, load_merchant_key, parse_time, read_input, Env};
use crate::exit::{CmdResult, Error, Exit};
use crate::kinds::expect_kind;
use crate::output::{emit_json, sentence, status_json, time_json, OutFile};
use crate::state::{read_limited, write_atomic, Store, MODE_PRIVATE, MODE_PUBLIC};
use crate::trust::TrustArgs;

/// `keyward update …`
#[derive(Args)]
#[command(group(ArgGroup::new("action").required(true).args(["renew", "freeze", "unfreeze", "release", "reset_clock"])))]
pub struct UpdateArgs {
    /// The merchant's private key (PKCS#8 PEM). The per-license sequence counter is kept
    /// next to it, in FILE.seq.json.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The license id (16 hex digits).
    #[arg(long, value_name = "ID")]
    license: String,
    /// Renew: the license's new expiry (RFC 3339 or YYYY-MM-DD).
    #[arg(long, value_name = "DATE", value_parser = parse_time)]
    renew: Option<Timestamp>,
    /// Freeze the license (e.g. an unpaid renewal).
    #[arg(long)]
    freeze: bool,
    /// Lift a freeze.
    #[arg(long)]
    unfreeze: bool,
    /// Release (end) the license for good.
    #[arg(long)]
    release: bool,
    /// Clear the machine's clock mark back to now (for a buyer whose clock was once far
    /// ahead, so that a correct clock reads as turned back).
    #[arg(long)]
    reset_clock: bool,
    /// Use this sequence number instead of the counter's next one.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    sequence: Option<u32>,
    /// Write the update to this file instead of standard output (never over an existing
    /// file without --force).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Replace the --out file if it exists.
    #[arg(long, requires = "out")]
    force: bool,
}

/// `keyward apply …`
#[derive(Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    trust: TrustArgs,
    /// Fetch the installed licenses' new updates from the merchant service at URL and
    /// apply them (instead of one UPDATE).
    #[arg(long, value_name = "URL", conflicts_with = "input")]
    server: Option<String>,
    /// With --server: only this license (16 hex digits) [default: every installed one].
    #[arg(long, value_name = "ID", requires = "server")]
    license: Option<String>,
    /// The signed update (text, a file holding it, or `-`).
    #[arg(
        value_name = "UPDATE",
        allow_hyphen_values = true,
        required_unless_present = "server"
    )]
    input: Option<String>,
}

/// `FILE.seq.json`: the last sequence number signed for each license, and the latest
/// expiry a renewal gave it (to warn about a renewal that shortens the license).
#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Counters {
    version: u32,
    last_sequence: BTreeMap<String, u32>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    renewed_expiry: BTreeMap<String, String>,
}

fn counter_path(key: &Path) -> PathBuf {
    let mut s = OsString::from(key.as_os_str());
    s.push(".seq.json");
    PathBuf::from(s)
}

fn load_counters(path: &Path) -> Result<Counters, Error> {
    if !path.exists() {
        return Ok(Counters {
            version: 1,
            ..Counters::default()
        });
    }
    let bytes = read_limited(path, 64 * 1024 * 1024)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::other(
            "counter_corrupt",
            format!(
                "the sequence counter file {} is damaged ({e}): repair it, or give --sequence N with N above every update already sent for this license",
                path.display()
            ),
        )
    })
}

/// Runs `keyward update`.
pub fn update(env: &Env, a: UpdateArgs) -> CmdResult {
    let cpath = counter_path(&a.key);
    let out = a
        .out
        .as_deref()
        .map(|p| OutFile::check(p, a.force, &[a.key.as_path(), cpath.as_path()]))
        .transpose()?;
    let key = load_merchant_key(&a.key)?;
    let license = LicenseId::parse(&a.license).ok_or_else(|| {
        Error::new(
            "invalid_input",
            Exit::Malformed,
            format!(
                "{:?} is not a license id: a license id is 16 hexadecimal digits, as shown by `keyward inspect`",
                a.license
            ),
        )
    })?;
    let action = if let Some(expires) = a.renew {
        UpdateAction::Renew { expires }
    } else if a.freeze {
        UpdateAction::Freeze
    } else if a.unfreeze {
        UpdateAction::Unfreeze
    } else if a.reset_clock {
        UpdateAction::ResetClock
    } else {
        UpdateAction::Release
    };
    let mut counters = load_counters(&cpath)?;
    let id = license.to_string();
    let last = counters.last_sequence.get(&id).copied().unwrap_or(0);
    let sequence = match a.sequence {
        Some(n) => {
            if n <= last {
                errln!(
                    "keyward: warning: sequence {n} is not above the last one signed for this license ({last}); machines that applied {last} will refuse it"
                );
            }
            n
        }
        None => last.checked_add(1).ok_or_else(|| {
            Error::other(
                "counter_full",
                format!("license {id} has used every sequence number"),
            )
        })?,
    };
    let now = env.now();
    if let UpdateAction::Renew { expires } = action {
        if expires <= now {
            errln!(
                "keyward: warning: this renewal ends on {expires}, which is already past ({now}): the license ends at once on every machine that applies it"
            );
        }
        let before = counters
            .renewed_expiry
            .get(&id)
            .and_then(|t| Timestamp::parse(t));
        if let Some(b) = before.filter(|b| expires < *b) {
            errln!(
                "keyward: warning: this renewal ends on {expires}, earlier than the renewal already signed for license {id} (until {b}): it shortens the license"
            );
        }
        if before.is_none_or(|b| expires > b) {
            counters
                .renewed_expiry
                .insert(id.clone(), expires.to_rfc3339());
        }
    }
    let u = SignedUpdate::issue(&key, license, sequence, action, now)?;
    let text = u.encode();
    counters.version = 1;
    counters
        .last_sequence
        .insert(id.clone(), last.max(sequence));
    let counter_json = serde_json::to_vec_pretty(&counters)
        .map_err(|e| Error::other("internal", format!("cannot encode the counters: {e}")))?;
    write_atomic(&cpath, &counter_json, MODE_PRIVATE)?;
    if let Some(f) = &out {
        f.write(format!("{text}\n").as_bytes(), MODE_PUBLIC)?;
    }
    let expires = match u.action() {
        UpdateAction::Renew { expires } => Some(expires),
        _ => None,
    };
    if env.json {
        emit_json(&json!({
            "update": text,
            "license_id": id,
            "sequence": sequence,
            "action": u.action().code(),
            "expires": time_json(expires),
            "key_id": u.key_id().to_string(),
            "out": a.out.as_ref().map(|p| p.display().to_string()),
        }))?;
    } else {
        if a.out.is_none() {
            outln!("{text}")?;
        }
        let what = match u.action() {
            UpdateAction::Renew { expires } => format!("renew until {expires}"),
            other => other.code().to_string(),
        };
        errln!(
            "Signed update #{sequence} for license {id}: {what}. The buyer applies it with `keyward apply`."
        );
    }
    Ok(Exit::Ok)
}

/// Runs `keyward apply`.
pub fn apply(env: &Env, a: ApplyArgs) -> CmdResult {
    let trust = a.trust.load("apply")?;
    let trusted = trust.keys;
    let store = env.store()?;
    let Some(input) = &a.input else {
        return apply_online(env, &store, &trusted, &a);
    };
    let text = read_input(input)?;
    expect_kind(
        &text,
        &[Kind::SignedUpdate.code()],
        "apply takes the update (KN1-…) the merchant sent",
    )?;
    let update = match Artifact::parse_expecting(&text, Kind::SignedUpdate, Some(&trusted))? {
        Artifact::SignedUpdate(u) => u,
        _ => {
            return Err(Error::new(
                "wrong_kind",
                Exit::WrongKind,
                "apply takes a signed update (KN1-…)",
            ))
        }
    };
    let lock = store.lock()?;
    let mut state = store.load(&lock)?.state;
    let id = update.license_id();
    if !state
        .entries
        .iter()
        .any(|e| e.credential.license_id() == id)
    {
        return Err(Error::new(
            "no_license",
            Exit::NoLicense,
            format!(
                "this update is for license {id}, which is not installed on this machine ({}): install the license first",
                store.dir().display()
            ),
        ));
    }
    let facts = env.facts()?;
    let ctx = context(&trusted, &facts.facts, env.now(), env.policy());
    // A clock reset is what a buyer whose clock reads as turned back needs: it is applied
    // first, and the clock checked against the mark it sets.
    let reset = update.action() == UpdateAction::ResetClock;
    let applied = if reset {
        state.apply(&update, &ctx)
    } else {
        Ok(Applied::AlreadyApplied)
    };
    if let Err(rb) = env.observe(&mut state, &ctx) {
        if reset && applied.is_ok() {
            store.save(&lock, &state)?;
        }
        return Err(Error::status(
            &Status::from(rb),
            if reset {
                "; the clock reset was applied, but the clock is still earlier than when the merchant signed it: set the clock to the correct date and time"
            } else {
                "; the update was not applied"
            },
        ));
    }
    // A renewal that shortens the license, or ends in the past, is applied (the merchant
    // signed it) but said.
    let mut warning = None;
    if let UpdateAction::Renew { expires } = update.action() {
        let current = state
            .entries
            .iter()
            .find(|e| e.credential.license_id() == id)
            .and_then(|e| {
                e.verified_flags(ctx.trusted)
                    .renewed_expiry
                    .or(match &e.credential {
                        Credential::Code(c) => c.terms().expires,
                        Credential::Certificate(c) => c.terms().expires,
                    })
            });
        warning = match current {
            _ if expires <= ctx.now => Some(format!(
                "this renewal ends on {expires}, which is already past: license {id} ends now"
            )),
            Some(c) if expires < c => Some(format!(
                "this renewal ends on {expires}, earlier than the license's current expiry ({c}): license {id} now ends earlier"
            )),
            _ => None,
        };
    }
    let applied = if reset {
        applied
    } else {
        state.apply(&update, &ctx)
    };
    // The time seen is remembered even when the update is refused.
    store.save(&lock, &state)?;
    let applied = applied?;
    let status = state
        .entries
        .iter()
        .find(|e| e.credential.license_id() == id)
        .and_then(|e| {
            e.credential
                .evaluate(&e.verified_flags(ctx.trusted), &ctx)
                .ok()
        });
    let fresh = applied == Applied::Applied;
    if let Some(w) = warning.filter(|_| fresh) {
        errln!("keyward: warning: {w}");
    }
    if env.json {
        emit_json(&json!({
            "applied": fresh,
            "already_applied": !fresh,
            "license_id": id.to_string(),
            "sequence": update.sequence(),
            "action": update.action().code(),
            "status": status.as_ref().map(status_json),
        }))?;
    } else {
        if fresh {
            outln!(
                "Applied update #{} ({}) to license {id}.",
                update.sequence(),
                update.action().code()
            )?;
        } else {
            outln!(
                "Update #{} was already applied to license {id}: nothing changed.",
                update.sequence()
            )?;
        }
        if let Some(s) = &status {
            outln!("{}", sentence(&s.describe()))?;
        }
    }
    Ok(Exit::Ok)
}

/// `keyward apply --server URL`: fetches each installed license's updates after the last
/// one applied, checks and applies them in order, and saves the state once.
fn apply_online(env: &Env, store: &Store, trusted: &TrustedKeys, a: &ApplyArgs) -> CmdResult {
    let server = a.server.as_deref().unwrap_or_default();
    let client = keyward_online::Client::new(server)
        .map_err(|e| crate::cmd::activation::online_error(&e))?;
    let only = match &a.license {
        Some(t) => Some(keyward_core::LicenseId::parse(t).ok_or_else(|| {
            Error::new(
                "invalid_input",
                Exit::Malformed,
                format!("{t:?} is not a license id: give its 16 hexadecimal digits"),
            )
        })?),
        None => None,
    };
    let facts = env.facts()?;
    let ctx = context(trusted, &facts.facts, env.now(), env.policy());
    let lock = store.lock()?;
    let mut state = store.load(&lock)?.state;
    if let Err(rb) = state.observe(&ctx) {
        return Err(Error::status(&Status::from(rb), "; no update was applied"));
    }
    let wanted: Vec<(keyward_core::LicenseId, u32)> = state
        .entries
        .iter()
        .map(|e| (e.credential.license_id(), e.sequence))
        .filter(|(id, _)| only.is_none_or(|o| o == *id))
        .collect();
    if wanted.is_empty() {
        return Err(Error::new(
            "no_license",
            Exit::NoLicense,
            match only {
                Some(id) => format!("license {id} is not installed in {}", store.dir().display()),
                None => format!(
                    "no license is installed in {}: nothing to update",
                    store.dir().display()
                ),
            },
        ));
    }
    let mut applied = Vec::new();
    let mut failure = None;
    'licenses: for (id, after) in wanted {
        let list = match client.updates(id, after) {
            Ok(l) => l,
            Err(e) => {
                failure = Some(crate::cmd::activation::online_error(&e));
                break;
            }
        };
        for item in list.updates {
            let result = SignedUpdate::decode(&item.update, trusted).and_then(|u| {
                if u.license_id() != id {
                    return Err(keyward_core::Error::InvalidInput {
                        field: "update",
                        reason: format!(
                            "the service sent an update for license {} when asked for {id}",
                            u.license_id()
                        ),
                    });
                }
                state.apply(&u, &ctx).map(|r| (u, r))
            });
            match result {
                Ok((u, r)) => {
                    if r == Applied::Applied {
                        applied.push(json!({
                            "license_id": id.to_string(),
                            "sequence": u.sequence(),
                            "action": u.action().code(),
                        }));
                    }
                }
                Err(e) => {
                    failure = Some(Error::core(
                        &e,
                        Some(&format!(
                            "update {} of license {id} from {}",
                            item.sequence,
                            client.server()
                        )),
                    ));
                    break 'licenses;
                }
            }
        }
    }
    // What was applied before a failure is kept (each update stands on its own).
    store.save(&lock, &state)?;
    if env.json {
        emit_json(&json!({
            "server": client.server(),
            "applied": applied,
            "error": failure.as_ref().map(crate::output::error_json),
        }))?;
    } else {
        for u in &applied {
            outln!(
                "Applied update {} ({}) to license {}.",
                u["sequence"],
                u["action"].as_str().unwrap_or_default(),
                u["license_id"].as_str().unwrap_or_default()
            )?;
        }
        if applied.is_empty() && failure.is_none() {
            outln!("No new updates at {}.", client.server())?;
        }
    }
    match failure {
        Some(e) if env.json => Ok(e.exit),
        Some(e) => Err(e),
        None => Ok(Exit::Ok),
    }
}
