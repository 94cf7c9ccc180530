//! `keyward deactivate`: the buyer gives a seat back (removes the license and shows the
//! deactivation code, 停用码; with `--server`, frees the seat online at once), and the
//! merchant checks a deactivation code offline against the machine's certificate
//! (`--verify CERT`).

use clap::Args;
use keyward_core::{Artifact, DeactivationCode, Kind, LicenseId};
use serde_json::json;

use crate::cmd::activation::online_error;
use crate::env::{read_input, Env};
use crate::exit::{CmdResult, Error, Exit};
use crate::output::emit_json;
use crate::trust::TrustArgs;

/// `keyward deactivate …`
#[derive(Args)]
pub struct DeactivateArgs {
    /// The license to remove (16 hex digits) [default: the only one installed].
    #[arg(long, value_name = "ID", conflicts_with = "verify")]
    license: Option<String>,
    /// Also free the seat online at once, at the merchant service at URL.
    #[arg(long, value_name = "URL", conflicts_with = "verify")]
    server: Option<String>,
    /// Merchant: check CODE against this activation certificate (text or a file) instead
    /// of deactivating this machine; changes nothing.
    #[arg(long, value_name = "CERT", requires = "code")]
    verify: Option<String>,
    /// With --verify: the merchant's keys, to check the certificate's signature.
    #[command(flatten)]
    trust: TrustArgs,
    /// With --verify: the deactivation code (KD1-…) the buyer gave.
    #[arg(value_name = "CODE", allow_hyphen_values = true)]
    code: Option<String>,
}

/// Runs `keyward deactivate`.
pub fn run(env: &Env, a: DeactivateArgs) -> CmdResult {
    match (&a.verify, &a.code) {
        (Some(cert), Some(code)) => verify(env, &a, cert, code),
        (None, Some(_)) => Err(Error::new(
            "usage",
            Exit::Usage,
            "a deactivation code is checked with --verify CERT CODE; to deactivate this machine, give no code",
        )),
        _ => deactivate(env, &a),
    }
}

/// The buyer's side: remove the license, then show its deactivation code.
fn deactivate(env: &Env, a: &DeactivateArgs) -> CmdResult {
    let client = a
        .server
        .as_deref()
        .map(keyward_online::Client::new)
        .transpose()
        .map_err(|e| online_error(&e))?;
    let store = env.store()?;
    let wanted = match &a.license {
        Some(t) => Some(LicenseId::parse(t).ok_or_else(|| {
            Error::new(
                "invalid_input",
                Exit::Malformed,
                format!("{t:?} is not a license id: give its 16 hexadecimal digits, as `keyward status` shows them"),
            )
        })?),
        None => None,
    };
    let (entry, left) = {
        let lock = store.lock()?;
        let mut state = store.load(&lock)?.state;
        let id = match wanted {
            Some(id) => id,
            None => match state.entries.as_slice() {
                [one] => one.credential.license_id(),
                [] => {
                    return Err(Error::new(
                        "no_license",
                        Exit::NoLicense,
                        format!(
                            "no license is installed in {}: nothing to deactivate",
                            store.dir().display()
                        ),
                    ))
                }
                several => {
                    let ids: Vec<String> = several
                        .iter()
                        .map(|e| e.credential.license_id().to_string())
                        .collect();
                    return Err(Error::new(
                        "usage",
                        Exit::Usage,
                        format!(
                            "{} licenses are installed ({}): say which with --license ID",
                            several.len(),
                            ids.join(", ")
                        ),
                    ));
                }
            },
        };
        let Some(entry) = state.take(id) else {
            return Err(Error::new(
                "no_license",
                Exit::NoLicense,
                format!(
                    "license {id} is not installed in {}: nothing to deactivate",
                    store.dir().display()
                ),
            ));
        };
        // The removal is on disk before the code is shown: a code is never shown for a
        // license that is still installed.
        store.save(&lock, &state)?;
        (entry, state.entries.len())
    };
    let id = entry.credential.license_id();
    let code = entry.deactivation_code().map(|c| c.encode());
    let online = match (&client, &code) {
        (Some(c), Some(code)) => Some(c.deactivate(code)),
        _ => None,
    };
    if env.json {
        let (freed, seats, error) = match &online {
            Some(Ok(d)) => (
                Some(true),
                Some(json!({ "used": d.seats.used, "total": d.seats.total })),
                None,
            ),
            Some(Err(e)) => (
                Some(false),
                None,
                Some(crate::output::error_json(&online_error(e))),
            ),
            None => (None, None, None),
        };
        emit_json(&json!({
            "deactivated": true,
            "license_id": id.to_string(),
            "deactivation_code": code,
            "licenses_left": left,
            "server": client.as_ref().map(|c| c.server()),
            "freed_online": freed,
            "seats": seats,
            "online_error": error,
        }))?;
    } else {
        match &code {
            Some(code) => {
                outln!("{code}")?;
                errln!(
                    "License {id} was removed from this machine. Its deactivation code (停用码) is above: {}",
                    if client.is_some() {
                        "it was sent to the merchant service."
                    } else {
                        "give it to the merchant (or enter it on the activation page) to free the seat; it can be read out over the phone."
                    }
                );
            }
            None => errln!(
                "License {id} was removed from this machine. It has no deactivation code (it was installed from an authorization code, or from a certificate requested elsewhere, such as on the activation page): ask the merchant to free its seat."
            ),
        }
    }
    match online {
        Some(Ok(d)) => {
            if !env.json {
                errln!(
                    "The seat was freed at {}: {} of {} seats in use.",
                    client.as_ref().map_or("", |c| c.server()),
                    d.seats.used,
                    d.seats.total
                );
            }
            Ok(Exit::Ok)
        }
        Some(Err(e)) => {
            let mut err = online_error(&e);
            err.message = format!(
                "the license was removed from this machine, but the seat was not freed online: {}; give the deactivation code above to the merchant instead",
                err.message
            );
            if env.json {
                // The one JSON object was printed above, with the error in it.
                return Ok(err.exit);
            }
            Err(err)
        }
        None if client.is_some() => Err(Error::new(
            "no_deactivation_code",
            Exit::Other,
            "the license was removed from this machine, but without a deactivation code its seat cannot be freed online: ask the merchant to free it",
        )),
        None => Ok(Exit::Ok),
    }
}

/// The merchant's side: does CODE give back the seat that CERT holds?
fn verify(env: &Env, a: &DeactivateArgs, cert: &str, code: &str) -> CmdResult {
    let keys = a.trust.load("deactivate --verify")?.keys;
    let cert_text = read_input(cert)?;
    let cert = match Artifact::parse_expecting(&cert_text, Kind::ActivationCertificate, Some(&keys))
        .map_err(|e| Error::core(&e, Some("--verify")))?
    {
        Artifact::ActivationCertificate(c) => c,
        _ => {
            return Err(Error::new(
                "wrong_kind",
                Exit::WrongKind,
                "--verify takes the activation certificate of the machine",
            ))
        }
    };
    let code_text = read_input(code)?;
    let code = DeactivationCode::decode_with(&code_text, &|d| d.verifies(&cert))
        .map_err(|e| Error::core(&e, None))?;
    let ok = code.verifies(&cert);
    let license = cert.terms().license_id;
    if env.json {
        emit_json(&json!({
            "verified": ok,
            "license_id": license.to_string(),
            "code_license_id": code.license_id.to_string(),
        }))?;
    }
    if ok {
        if !env.json {
            outln!(
                "The deactivation code is right: the machine of this certificate gave license {license} back. Its seat can be freed."
            )?;
        }
        return Ok(Exit::Ok);
    }
    let why = if code.license_id != license {
        format!(
            "this deactivation code is for license {}, but the certificate is for license {license}: check that you have that machine's certificate",
            code.license_id
        )
    } else {
        "this deactivation code does not match the certificate: it was made by another machine or for another activation of this license (or the certificate's seat was activated on the activation page, which gives no deactivation code); do not free the seat".to_string()
    };
    let err = Error::new("deactivation_mismatch", Exit::Machine, why);
    if env.json {
        return Ok(err.exit);
    }
    Err(err)
}
