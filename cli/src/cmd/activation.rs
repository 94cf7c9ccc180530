//! The offline activation round trip: `request` (buyer), `activate` (merchant) and
//! `install` (buyer; also takes a bound or unbound authorization code).

use std::path::{Path, PathBuf};

use clap::Args;
use keyward_core::{
    binding::{Binding, MachineRef},
    limits::SECRET_LEN,
    state::Credential,
    time::DAY,
    ActivationCertificate, ActivationRequest, Artifact, Kind, Status, SystemIdCode, TrustedKeys,
};
use serde_json::{json, Map, Value};

use crate::cmd::inspect::machine_json;
use crate::cmd::machine::hardware_id_arg;
use crate::cmd::spec::MAX_DAYS;
use crate::env::{context, load_merchant_key, random_bytes, read_input, Env};
use crate::exit::{CmdResult, Error, Exit};
use crate::kinds::expect_kind;
use crate::output::{
    binding_json, describe_binding, emit_json, sentence, status_json, time_json, OutFile,
};
use crate::state::{Store, MODE_PUBLIC};
use crate::trust::TrustArgs;

/// `keyward request …`
#[derive(Args)]
pub struct RequestArgs {
    /// The authorization code to activate (text, a file holding it, or `-`); with --server,
    /// the marketplace's own `PL…` code too.
    #[arg(long, value_name = "CODE", allow_hyphen_values = true)]
    code: String,
    /// The product, for the marketplace's `PL…` code (which does not name it): this
    /// machine's system identification code is computed for it. Not needed when
    /// --product-file names it.
    #[arg(long, value_name = "PRODUCT")]
    product: Option<String>,
    /// Bind to this hardware identification code instead of this machine's system
    /// identification code.
    #[arg(long, value_name = "CODE")]
    hardware_id: Option<String>,
    #[command(flatten)]
    trust: TrustArgs,
    /// Write the request to this file instead of standard output (never over an
    /// existing file without --force).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Replace the --out file if it exists.
    #[arg(long, requires = "out")]
    force: bool,
    /// Activate online: send the request to the merchant service at URL and install the
    /// certificate it answers (checked with the merchant's keys given here). Exits 0 only
    /// when the license is installed.
    #[arg(long, value_name = "URL")]
    server: Option<String>,
}

/// `keyward activate …`
#[derive(Args)]
pub struct ActivateArgs {
    /// The merchant's private key (PKCS#8 PEM).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The certificate expires after N days at most (never after the code).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_DAYS))]
    days: Option<u64>,
    /// How many bound facts/parts must match [default: the code's, or a majority].
    #[arg(long, value_name = "K")]
    tolerance: Option<u8>,
    /// Write the certificate to this file instead of standard output (never over an
    /// existing file without --force).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Replace the --out file if it exists.
    #[arg(long, requires = "out")]
    force: bool,
    /// The activation request (text, a file holding it, or `-`).
    #[arg(value_name = "REQUEST", allow_hyphen_values = true)]
    request: String,
}

/// `keyward install …`
#[derive(Args)]
pub struct InstallArgs {
    #[command(flatten)]
    trust: TrustArgs,
    /// The activation certificate or authorization code (text, a file holding it, or `-`).
    #[arg(value_name = "CERT", allow_hyphen_values = true)]
    input: String,
}

fn write_or_print(out: Option<&OutFile>, text: &str, json_mode: bool) -> Result<(), Error> {
    let text = if text.ends_with('\n') {
        text.to_string()
    } else {
        format!("{text}\n")
    };
    match out {
        Some(f) => f.write(text.as_bytes(), MODE_PUBLIC),
        None if json_mode => Ok(()),
        None => out!("{text}"),
    }
}

/// Runs `keyward request`.
pub fn request(env: &Env, a: RequestArgs) -> CmdResult {
    let mut inputs: Vec<&Path> = vec![Path::new(&a.code)];
    inputs.extend(a.trust.paths());
    inputs.extend(env.facts_path());
    let out = a
        .out
        .as_deref()
        .map(|p| OutFile::check(p, a.force, &inputs))
        .transpose()?;
    let trust = a.trust.load("request")?;
    let text = read_input(&a.code)?;
    if matches!(
        Artifact::parse(&text, None),
        Err(keyward_core::Error::MarketplaceCode)
    ) {
        return request_marketplace(env, &a, &trust, &text, out.is_some());
    }
    expect_kind(
        &text,
        &[Kind::AuthorizationCode.code()],
        "--code takes the authorization code (KA1-…) the merchant or the marketplace gave you",
    )
    .map_err(|e| e.context("--code"))?;
    let art = Artifact::parse_expecting(&text, Kind::AuthorizationCode, Some(&trust.keys))
        .map_err(|e| Error::core(&e, Some("--code")))?;
    let Artifact::AuthorizationCode(code) = art else {
        return Err(Error::new(
            "wrong_kind",
            Exit::WrongKind,
            "--code takes an authorization code (KA1-…)",
        ));
    };
    trust.check_product(&code.terms().product)?;
    let facts = env.facts()?;
    let machine = match &a.hardware_id {
        Some(h) => MachineRef::Hardware(hardware_id_arg(h, "--hardware-id")?),
        None => MachineRef::System(this_machine(&facts, &code.terms().product)?),
    };
    if let (Some(b), MachineRef::System(_)) = (code.binding(), &machine) {
        if let Err(m) = b.check(&code.terms().product, &facts.facts, &[]) {
            errln!(
                "keyward: warning: this authorization code is bound to another machine ({} of the required {} facts match; differing: {}): the merchant will refuse this request",
                m.matched,
                m.required,
                m.differing.join(", ")
            );
        }
    }
    let client = a
        .server
        .as_deref()
        .map(keyward_online::Client::new)
        .transpose()
        .map_err(|e| online_error(&e))?;
    // The nonce commits to a secret kept in this machine's state: revealing it later
    // (`keyward deactivate`) proves this machine gave the seat back. The state is saved
    // before the request is shown, so the secret is never lost.
    let store = env.store()?;
    let secret = random_bytes::<SECRET_LEN>()?;
    let nonce = {
        let lock = store.lock()?;
        let mut state = store.load(&lock)?.state;
        let nonce = state.remember_request(code.terms().license_id, secret);
        store.save(&lock, &state)?;
        nonce
    };
    let req = ActivationRequest::new(code, machine, nonce, env.now());
    let req_text = req.encode();
    if let Some(client) = client {
        write_or_print(out.as_ref(), &req_text, true)?;
        return request_online(env, &store, &client, &trust.keys, &req_text);
    }
    write_or_print(out.as_ref(), &req_text, env.json)?;
    let t = req.code.terms();
    if env.json {
        emit_json(&json!({
            "request": req_text,
            "license_id": t.license_id.to_string(),
            "product": t.product,
            "machine": machine_json(&req.machine),
            "nonce": crate::env::hex(&req.nonce),
            "created": req.created.to_rfc3339(),
            "out": a.out.as_ref().map(|p| p.display().to_string()),
        }))?;
    } else {
        let machine = match &req.machine {
            MachineRef::System(s) => format!("this machine (system identification code {s})"),
            MachineRef::Hardware(h) => format!("hardware identification code {h}"),
        };
        errln!(
            "Activation request for license {} ({}) on {machine}{}. Take it to the merchant or the activation page; install the certificate you get back with `keyward install`.",
            t.license_id,
            t.product,
            a.out
                .as_ref()
                .map_or_else(String::new, |p| format!(", written to {}", p.display()))
        );
    }
    Ok(Exit::Ok)
}

fn kind_word(b: &Binding) -> &'static str {
    match b {
        Binding::System { .. } => "system identification code",
        Binding::Hardware { .. } => "hardware identification code",
    }
}

/// Checks that the machine of a request is the one a bound code names; returns the code's
/// tolerance.
fn check_bound(bound: &Binding, machine: &MachineRef) -> Result<u8, Error> {
    match bound.check_machine_ref(machine) {
        Some(Ok(())) => Ok(bound.tolerance()),
        Some(Err(m)) => Err(Error::new(
            "machine_mismatch",
            Exit::Machine,
            format!(
                "the authorization code is bound to another machine than this request's: {} of the required {} facts match (differing: {}); no certificate was signed",
                m.matched,
                m.required,
                m.differing.join(", ")
            ),
        )),
        None => Err(Error::new(
            "machine_mismatch",
            Exit::Machine,
            format!(
                "the authorization code is bound to a {} but the request names a {}: make the request without --hardware-id (or with the bound one); no certificate was signed",
                kind_word(bound),
                match machine {
                    MachineRef::System(_) => "system identification code",
                    MachineRef::Hardware(_) => "hardware identification code",
                }
            ),
        )),
    }
}

/// Runs `keyward activate`.
pub fn activate(env: &Env, a: ActivateArgs) -> CmdResult {
    let out = a
        .out
        .as_deref()
        .map(|p| OutFile::check(p, a.force, &[a.key.as_path(), Path::new(&a.request)]))
        .transpose()?;
    let key = load_merchant_key(&a.key)?;
    let trusted = TrustedKeys::from_keys([key.public()]);
    let text = read_input(&a.request)?;
    expect_kind(
        &text,
        &[Kind::ActivationRequest.code()],
        "activate takes the activation request (KR1-…) the buyer sent",
    )?;
    let art = Artifact::parse_expecting(&text, Kind::ActivationRequest, Some(&trusted))
        .map_err(|e| Error::core(&e, None))?;
    let Artifact::ActivationRequest(req) = art else {
        return Err(Error::new(
            "wrong_kind",
            Exit::WrongKind,
            "activate takes an activation request (KR1-…)",
        ));
    };
    let now = env.now();
    let mut terms = req.code.terms().clone();
    if let Some(e) = terms.expires {
        if now >= e {
            return Err(Error::new(
                "expired",
                Exit::Validity,
                format!(
                    "the authorization code in this request expired on {e}: renew the license or issue a new code; no certificate was signed"
                ),
            ));
        }
    }
    if let MachineRef::System(s) = &req.machine {
        s.check_product(&terms.product)
            .map_err(|e| Error::core(&e, None))?;
    }
    let code_tolerance = req
        .code
        .binding()
        .map(|b| check_bound(b, &req.machine))
        .transpose()?;
    let tolerance = a.tolerance.or(code_tolerance);
    let binding = match &req.machine {
        MachineRef::System(s) => Binding::system(*s, tolerance)?,
        MachineRef::Hardware(h) => Binding::hardware(h, tolerance)?,
    };
    if let Some(d) = a.days {
        let limit = now.add_secs(d * DAY);
        terms.expires = Some(terms.expires.map_or(limit, |e| e.min(limit)));
    }
    let cert = ActivationCertificate::issue(&key, terms, binding, req.nonce, now)?;
    let cert_text = cert.encode();
    write_or_print(out.as_ref(), &cert_text, env.json)?;
    let t = cert.terms();
    if env.json {
        emit_json(&json!({
            "certificate": cert_text,
            "license_id": t.license_id.to_string(),
            "key_id": cert.key_id().to_string(),
            "expires": time_json(t.expires),
            "binding": binding_json(cert.binding()),
            "out": a.out.as_ref().map(|p| p.display().to_string()),
        }))?;
    } else {
        errln!(
            "Signed an activation certificate for license {} ({}), {}; bound to {}. Send it back to the buyer, who installs it with `keyward install --product-file <your product file>`.{}",
            t.license_id,
            t.product,
            t.expires
                .map_or_else(|| "perpetual".to_string(), |e| format!("valid until {e}")),
            describe_binding(Some(cert.binding())),
            a.out
                .as_ref()
                .map_or_else(String::new, |p| format!(" Written to {}.", p.display()))
        );
    }
    Ok(Exit::Ok)
}

/// Runs `keyward install`.
pub fn install(env: &Env, a: InstallArgs) -> CmdResult {
    let trust = a.trust.load("install")?;
    let trusted = &trust.keys;
    let store = env.store()?;
    let text = read_input(&a.input)?;
    const INSTALL_HINT: &str =
        "install takes the certificate the merchant sent back, or an authorization code";
    expect_kind(
        &text,
        &[
            Kind::AuthorizationCode.code(),
            Kind::ActivationCertificate.code(),
        ],
        INSTALL_HINT,
    )?;
    let wrong_kind = |found: &str| {
        Error::new(
            "wrong_kind",
            Exit::WrongKind,
            format!(
                "this is {}, not an activation certificate or authorization code: {INSTALL_HINT}",
                crate::output::with_article(found)
            ),
        )
    };
    let credential = match Artifact::parse(&text, Some(trusted))? {
        Artifact::AuthorizationCode(c) => Credential::Code(c),
        Artifact::ActivationCertificate(c) => Credential::Certificate(c),
        other => {
            return Err(wrong_kind(
                other
                    .kind()
                    .map_or("hardware identification code", Kind::name),
            ))
        }
    };
    trust.check_product(match &credential {
        Credential::Code(c) => &c.terms().product,
        Credential::Certificate(c) => &c.terms().product,
    })?;
    install_credential(env, &store, trusted, credential, Map::new())
}

/// Installs a verified credential under the state's lock and reports it (with `extra` in
/// the JSON object).
fn install_credential(
    env: &Env,
    store: &Store,
    trusted: &TrustedKeys,
    credential: Credential,
    extra: Map<String, Value>,
) -> CmdResult {
    let facts = env.facts()?;
    let now = env.now();
    let ctx = context(trusted, &facts.facts, now, env.policy());
    let lock = store.lock()?;
    let mut state = store.load(&lock)?.state;
    if let Err(rb) = env.observe(&mut state, &ctx) {
        return Err(Error::status(&Status::from(rb), "; nothing was installed"));
    }
    let before = state.clone();
    let credential_kind = match &credential {
        Credential::Code(_) => Kind::AuthorizationCode,
        Credential::Certificate(_) => Kind::ActivationCertificate,
    };
    let status = state.install(credential, &ctx)?;
    if !matches!(
        status,
        Status::Active { .. } | Status::InGrace { .. } | Status::NotYetValid { .. }
    ) {
        // Refused: keep the licenses as they were, but remember the time seen.
        let mut kept = before;
        kept.high_water = state.high_water;
        store.save(&lock, &kept)?;
        let extra = if matches!(status, Status::MachineMismatch { .. }) {
            format!(" (compared with {}); it was not installed", facts.source)
        } else {
            "; it was not installed".to_string()
        };
        return Err(Error::status(&status, &extra));
    }
    store.save(&lock, &state)?;
    let id = status
        .license()
        .map(|l| l.license_id.to_string())
        .unwrap_or_default();
    if env.json {
        let mut out = json!({
            "installed": true,
            "license_id": id,
            "credential": credential_kind.code(),
            "state_dir": store.dir().display().to_string(),
            "status": status_json(&status),
        });
        if let Value::Object(o) = &mut out {
            o.extend(extra);
        }
        emit_json(&out)?;
    } else {
        outln!(
            "Installed license {id} ({}) in {}.",
            credential_kind.name(),
            store.dir().display()
        )?;
        outln!("{}", sentence(&status.describe()))?;
    }
    Ok(Exit::Ok)
}

/// A failed call to the merchant service, for people and programs.
pub fn online_error(e: &keyward_online::OnlineError) -> Error {
    let code = e.code();
    let exit = match code {
        "bad_server_url" => Exit::Usage,
        "unreachable" | "bad_response" => Exit::Other,
        other => Exit::of(other),
    };
    let mut err = Error::new(code, exit, e.to_string());
    err.suggestion = e.suggestion().map(str::to_string);
    err
}

/// `keyward request --server`: posts the request, checks the certificate with `keys`, and
/// installs it.
fn request_online(
    env: &Env,
    store: &Store,
    client: &keyward_online::Client,
    keys: &TrustedKeys,
    request: &str,
) -> CmdResult {
    let answer = client
        .activate_request(request)
        .map_err(|e| online_error(&e))?;
    install_answer(env, store, client, keys, answer)
}

/// `keyward request --code PL… --server`: the service bridges the marketplace's code and
/// answers with the certificate for this machine (its system identification code for the
/// product, or --hardware-id), which is checked and installed as any other. The service
/// chooses the certificate's nonce, so this seat is freed by the merchant, not with a
/// deactivation code.
fn request_marketplace(
    env: &Env,
    a: &RequestArgs,
    trust: &crate::trust::Trust,
    text: &str,
    has_out: bool,
) -> CmdResult {
    let usage = |message: &str| Err(Error::new("usage", Exit::Usage, message));
    let Some(server) = a.server.as_deref() else {
        return usage(
            "--code: this is the marketplace's license code (PL…), which is activated online only: add --server URL (the merchant's service), or paste it on the merchant's activation page",
        );
    };
    if has_out {
        return usage(
            "--out: a marketplace code (PL…) makes no activation request to write; leave --out out",
        );
    }
    let Some(product) = a.product.as_deref().or(trust.product()) else {
        return usage(
            "--product: the marketplace's code (PL…) does not name the product, and this machine's system identification code is computed for it: give --product PRODUCT or --product-file FILE",
        );
    };
    trust.check_product(product)?;
    let machine = match &a.hardware_id {
        Some(h) => hardware_id_arg(h, "--hardware-id")?.to_string(),
        None => this_machine(&env.facts()?, product)?.to_string(),
    };
    let client = keyward_online::Client::new(server).map_err(|e| online_error(&e))?;
    let store = env.store()?;
    let answer = client
        .activate_code(text.trim(), &machine)
        .map_err(|e| online_error(&e))?;
    install_answer(env, &store, &client, &trust.keys, answer)
}

/// This machine's system identification code for `product`; `no_facts` when no fact
/// could be read.
fn this_machine(facts: &crate::env::Facts, product: &str) -> Result<SystemIdCode, Error> {
    let s = SystemIdCode::compute(product, &facts.facts);
    if s.present() == 0 {
        return Err(Error::other(
            "no_facts",
            format!(
                "no machine facts could be read from {}: give --hardware-id CODE, or --facts FILE",
                facts.source
            ),
        ));
    }
    Ok(s)
}

/// Checks the certificate the service answered with `keys` and installs it.
fn install_answer(
    env: &Env,
    store: &Store,
    client: &keyward_online::Client,
    keys: &TrustedKeys,
    answer: keyward_online::Activation,
) -> CmdResult {
    let credential = match Artifact::parse_expecting(
        &answer.certificate,
        Kind::ActivationCertificate,
        Some(keys),
    ) {
        Ok(Artifact::ActivationCertificate(c)) => Credential::Certificate(c),
        Ok(_) => {
            return Err(Error::other(
                "bad_response",
                "the service answered something other than a certificate; nothing was installed",
            ))
        }
        Err(e) => {
            return Err(Error::core(
                &e,
                Some(&format!(
                    "the certificate from {} does not verify with the merchant's public key; nothing was installed",
                    client.server()
                )),
            ))
        }
    };
    if !env.json {
        errln!(
            "Activated online at {}: {} of {} seats in use{}.",
            client.server(),
            answer.seats.used,
            answer.seats.total,
            if answer.reactivated {
                " (this machine already held its seat: same certificate again)"
            } else {
                ""
            }
        );
    }
    let mut extra = Map::new();
    extra.insert("server".into(), json!(client.server()));
    extra.insert(
        "seats".into(),
        json!({ "used": answer.seats.used, "total": answer.seats.total }),
    );
    extra.insert("reactivated".into(), json!(answer.reactivated));
    install_credential(env, store, keys, credential, extra)
}
