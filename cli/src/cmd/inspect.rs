//! `keyward inspect`: explain any pasted text — what it is, whether it is valid, what it
//! grants, and for typos which group is wrong (with the correction, given a key).

use clap::Args;
use keyward_core::{
    binding::MachineRef,
    eval::{check_clock, evaluate_terms, LicenseFlags},
    state::Credential,
    verdict, Artifact, Kind, Status, Timestamp, TrustedKeys, UpdateAction, Verdict,
};
use serde_json::{json, Value};

use crate::env::{context, hex, parse_time, read_input, Env};
use crate::exit::{CmdResult, Error, Exit};
use crate::kinds::{kind_name, sniff};
use crate::output::{
    binding_json, describe_binding, emit_json, error_json, line, print_terms, sentence,
    status_json, terms_json, time_json,
};
use crate::trust::TrustArgs;

/// `keyward inspect …`
#[derive(Args)]
pub struct InspectArgs {
    /// The merchant's keys (`--public-key FILE`, repeatable, or `--product-file FILE`):
    /// checks signatures and offers corrections for typos.
    #[command(flatten)]
    trust: TrustArgs,
    /// Judge the input as if given where only this kind is accepted (authorization_code,
    /// system_id, activation_request, activation_certificate, signed_update).
    #[arg(long, value_name = "KIND", value_parser = parse_kind)]
    expect: Option<Kind>,
    /// For testing: the clock's high-water mark [default: the state's, read only].
    #[arg(long, value_name = "TIME", value_parser = parse_time, hide_short_help = true)]
    high_water: Option<Timestamp>,
    /// The text (code, certificate, request, update, hardware id), a file holding it, or
    /// `-` for standard input.
    #[arg(value_name = "ARTIFACT", allow_hyphen_values = true)]
    input: String,
}

/// Parses a kind name (`authorization_code`, …) for `--expect`.
pub fn parse_kind(s: &str) -> Result<Kind, String> {
    Kind::ALL
        .into_iter()
        .find(|k| k.code() == s)
        .ok_or_else(|| {
            format!(
                "unknown kind {s:?}: use one of {}",
                Kind::ALL.map(Kind::code).join(", ")
            )
        })
}

/// What `inspect --json` reports about an artifact's contents.
pub fn details_json(a: &Artifact) -> Value {
    match a {
        Artifact::AuthorizationCode(c) => json!({
            "key_id": c.key_id().to_string(),
            "terms": terms_json(c.terms()),
            "binding": c.binding().map(binding_json),
        }),
        Artifact::ActivationCertificate(c) => json!({
            "key_id": c.key_id().to_string(),
            "terms": terms_json(c.terms()),
            "binding": binding_json(c.binding()),
            "nonce": hex(&c.nonce()),
            "issued": c.issued().to_rfc3339(),
        }),
        Artifact::SignedUpdate(u) => json!({
            "key_id": u.key_id().to_string(),
            "license_id": u.license_id().to_string(),
            "sequence": u.sequence(),
            "action": u.action().code(),
            "expires": time_json(match u.action() {
                UpdateAction::Renew { expires } => Some(expires),
                _ => None,
            }),
            "issued": u.issued().to_rfc3339(),
        }),
        Artifact::SystemId(s) => {
            let mut facts = serde_json::Map::new();
            for f in keyward_core::facts::Fact::ALL {
                facts.insert(f.code().to_string(), Value::Bool(s.fact(f) != 0));
            }
            json!({
                "system_id": s.encode(),
                "facts": facts,
                "present": s.present(),
            })
        }
        Artifact::ActivationRequest(r) => json!({
            "code": r.code.encode(),
            "key_id": r.code.key_id().to_string(),
            "terms": terms_json(r.code.terms()),
            "binding": r.code.binding().map(binding_json),
            "machine": machine_json(&r.machine),
            "nonce": hex(&r.nonce),
            "created": r.created.to_rfc3339(),
        }),
        Artifact::DeactivationCode(d) => json!({
            "license_id": d.license_id.to_string(),
            "commitment": hex(&keyward_core::DeactivationCode::commitment(&d.secret)),
        }),
        Artifact::HardwareId(h) => json!({
            "hardware_id": h.to_string(),
            "hardware_kind": h.kind().prefix(),
            "value": h.value(),
            "part_kinds": h.parts().iter().map(|(k, _)| k.code()).collect::<Vec<_>>(),
        }),
    }
}

/// The machine an activation request names.
pub fn machine_json(m: &MachineRef) -> Value {
    match m {
        MachineRef::System(s) => json!({ "type": "system_id", "system_id": s.encode() }),
        MachineRef::Hardware(h) => json!({ "type": "hardware_id", "hardware_id": h.to_string() }),
    }
}

/// Prints an artifact's contents for people.
pub fn print_details(a: &Artifact) -> Result<(), Error> {
    match a {
        Artifact::AuthorizationCode(c) => {
            print_terms(c.terms())?;
            line("bound to", &describe_binding(c.binding()))?;
            line("signed by", &format!("key {}", c.key_id()))?;
        }
        Artifact::ActivationCertificate(c) => {
            print_terms(c.terms())?;
            line("bound to", &describe_binding(Some(c.binding())))?;
            line("issued", &c.issued().to_rfc3339())?;
            line("signed by", &format!("key {}", c.key_id()))?;
        }
        Artifact::SignedUpdate(u) => {
            line("license", &u.license_id().to_string())?;
            let action = match u.action() {
                UpdateAction::Renew { expires } => format!("renew until {expires}"),
                UpdateAction::Freeze => "freeze".to_string(),
                UpdateAction::Unfreeze => "unfreeze".to_string(),
                UpdateAction::Release => "release (end the license)".to_string(),
                UpdateAction::ResetClock => "reset the clock mark".to_string(),
            };
            line("action", &action)?;
            line("sequence", &u.sequence().to_string())?;
            line("issued", &u.issued().to_rfc3339())?;
            line("signed by", &format!("key {}", u.key_id()))?;
        }
        Artifact::SystemId(s) => {
            line("code", &s.encode())?;
            let present: Vec<String> = keyward_core::facts::Fact::ALL
                .into_iter()
                .map(|f| format!("{f} {}", if s.fact(f) != 0 { "yes" } else { "no" }))
                .collect();
            line("facts", &present.join(", "))?;
        }
        Artifact::ActivationRequest(r) => {
            print_terms(r.code.terms())?;
            match &r.machine {
                MachineRef::System(s) => {
                    line("machine", &format!("system identification code {s}"))
                }
                MachineRef::Hardware(h) => {
                    line("machine", &format!("hardware identification code {h}"))
                }
            }?;
            line("created", &r.created.to_rfc3339())?;
            line("code signed", &format!("key {}", r.code.key_id()))?;
        }
        Artifact::DeactivationCode(d) => {
            line("license", &d.license_id.to_string())?;
            line(
                "check it",
                "keyward deactivate --verify CERTIFICATE CODE (with the machine's certificate)",
            )?;
        }
        Artifact::HardwareId(h) => {
            line("normal form", &h.to_string())?;
            let parts: Vec<&str> = h.parts().iter().map(|(k, _)| k.code()).collect();
            line("parts", &parts.join(", "))?;
        }
    }
    Ok(())
}

/// The `Name: value` header lines of an armoured text (between BEGIN and END).
fn header_lines(text: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with("-----BEGIN") {
            inside = true;
        } else if line.starts_with("-----END") {
            break;
        } else if let (true, Some((k, v))) = (inside, line.split_once(':')) {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

/// Header lines of an armoured certificate that say something else than its signed
/// content (the header lines are not signed: a buyer can edit them).
fn header_mismatches(text: &str, art: &Artifact) -> Vec<(String, String, Option<String>)> {
    let Artifact::ActivationCertificate(c) = art else {
        return Vec::new();
    };
    let signed = header_lines(&c.encode());
    header_lines(text)
        .into_iter()
        .filter_map(|(name, shown)| {
            let expected = signed
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(&name))
                .map(|(_, v)| v.clone());
            (expected.as_deref() != Some(shown.as_str())).then_some((name, shown, expected))
        })
        .collect()
}

fn credential_of(a: &Artifact) -> Option<Credential> {
    match a {
        Artifact::AuthorizationCode(c) => Some(Credential::Code(c.clone())),
        Artifact::ActivationCertificate(c) => Some(Credential::Certificate(c.clone())),
        _ => None,
    }
}

/// Runs `keyward inspect`. Never changes the state.
pub fn run(env: &Env, a: InspectArgs) -> CmdResult {
    let text = read_input(&a.input)?;
    let now = env.now();
    // No mark when nothing was seen: no state, or a state that never saw a time.
    let seen = match a.high_water {
        Some(h) => Some(h),
        None => env
            .store()
            .and_then(|s| s.read())
            .ok()
            .map(|l| l.state.high_water)
            .filter(|h| h.0 != 0),
    };
    let high_water = seen.unwrap_or_default();
    let facts = env.facts()?;
    let trusted = a.trust.load_optional()?;
    let keys = trusted.as_ref().map(|t| &t.keys);
    let empty = TrustedKeys::new();
    let ctx = context(keys.unwrap_or(&empty), &facts.facts, now, env.policy());

    // The structure, whatever the signature (for showing what a text claims).
    let structural = match a.expect {
        Some(k) => Artifact::parse_expecting(&text, k, None),
        None => Artifact::parse(&text, None),
    };
    let (v, signature, status) = match keys {
        Some(_) => {
            let v = verdict(&text, a.expect, &ctx, high_water);
            let signed = !matches!(
                structural,
                Ok(Artifact::SystemId(_)) | Ok(Artifact::HardwareId(_))
            );
            let signature = match v.code.as_str() {
                "bad_signature" => "bad",
                "unknown_key" => "unknown_key",
                _ if structural.is_err() => "not_checked",
                _ if !signed => "none",
                _ => "valid",
            };
            let status = match (&structural, signature) {
                (Ok(art), "valid") => {
                    credential_of(art).map(|c| match check_clock(now, high_water, &ctx.policy) {
                        Err(rb) => Status::from(rb),
                        Ok(_) => c
                            .evaluate(&LicenseFlags::default(), &ctx)
                            .unwrap_or(Status::NoLicense),
                    })
                }
                _ => None,
            };
            (v, signature, status)
        }
        None => match &structural {
            Ok(art) => {
                let signed = !matches!(art, Artifact::SystemId(_) | Artifact::HardwareId(_));
                let v = Verdict {
                    kind: Some(art.kind_code()),
                    code: if signed {
                        keyward_core::VerdictCode::Unverified
                    } else {
                        keyward_core::VerdictCode::Valid
                    },
                    message: if signed {
                        format!(
                            "a well-formed {}; its signature was not checked: give --public-key to check it",
                            kind_name(Some(art.kind_code()))
                        )
                    } else {
                        format!("a valid {}", kind_name(Some(art.kind_code())))
                    },
                    suggestion: None,
                    typos: Vec::new(),
                    error: None,
                    status: None,
                };
                let status = match art {
                    Artifact::AuthorizationCode(c) => Some(evaluate_terms(
                        c.terms(),
                        c.binding(),
                        &LicenseFlags::default(),
                        &ctx,
                    )),
                    Artifact::ActivationCertificate(c) => Some(evaluate_terms(
                        c.terms(),
                        Some(c.binding()),
                        &LicenseFlags::default(),
                        &ctx,
                    )),
                    _ => None,
                };
                (v, if signed { "not_checked" } else { "none" }, status)
            }
            Err(e) => (
                Verdict {
                    kind: sniff(&text),
                    code: keyward_core::VerdictCode::Error(e.code()),
                    message: e.to_string(),
                    suggestion: e.suggestion().map(str::to_string),
                    typos: e.typos().to_vec(),
                    error: Some(e.clone()),
                    status: None,
                },
                "not_checked",
                None,
            ),
        },
    };
    let mismatches = structural
        .as_ref()
        .map(|art| header_mismatches(&text, art))
        .unwrap_or_default();
    let typos: Vec<Value> = v
        .typos
        .iter()
        .map(|g| {
            json!({
                "group": g.group,
                "first_position": g.first_position,
                "last_position": g.last_position,
            })
        })
        .collect();
    let exit = Exit::of(v.code.as_str());
    let mut message = v.message;
    if exit != Exit::Ok && v.code == "machine_mismatch" {
        message.push_str(&format!(" (compared with {})", facts.source));
    }
    let error = (exit != Exit::Ok).then(|| {
        let mut e = Error::new(v.code.as_str(), exit, message.clone());
        e.suggestion = v.suggestion.clone();
        e
    });
    if env.json {
        let mut out = json!({
            "kind": v.kind,
            "verdict": v.code,
            "message": message,
            "suggestion": v.suggestion,
            "signature": signature,
            "typos": typos,
            "details": structural.as_ref().ok().map(details_json),
            "status": status.as_ref().map(status_json),
            "now": now.to_rfc3339(),
            "high_water": time_json(seen),
            "header_mismatches": mismatches
                .iter()
                .map(|(name, shown, signed)| json!({ "name": name, "shown": shown, "signed": signed }))
                .collect::<Vec<_>>(),
        });
        if let Some(e) = &error {
            out["error"] = error_json(e);
        }
        emit_json(&out)?;
    } else {
        outln!(
            "{}: {}",
            sentence(kind_name(v.kind)),
            v.code.as_str().replace('_', " ")
        )?;
        if exit == Exit::Ok {
            outln!("  {}", sentence(&message))?;
        }
        if let Some(s) = &status {
            if keys.is_none() {
                outln!("  Unverified status on this machine: {}", s.describe())?;
            }
        }
        if let Ok(art) = &structural {
            print_details(art)?;
        }
        if signature == "not_checked" && structural.is_ok() {
            outln!("  (signature not checked: give --public-key FILE to check it)")?;
        }
        if let Some(s) = &v.suggestion {
            outln!("  did you mean {s}")?;
        }
    }
    for (name, shown, signed) in &mismatches {
        errln!(
            "keyward: warning: the header line \"{name}: {shown}\" does not match the signed content ({}): header lines are not signed and anyone can edit them; only the signed content counts",
            match signed {
                Some(v) => format!("{name}: {v}"),
                None => format!("a certificate has no {name} line"),
            }
        );
    }
    if let Some(e) = &error {
        errln!("keyward: {}", e.message);
    }
    Ok(exit)
}
