//! `keyward issue`: sign an authorization code (授权码), or a batch of them.

use std::path::PathBuf;

use clap::Args;
use keyward_core::{
    Artifact, AuthorizationCode, Binding, HardwareId, Kind, LicenseId, LicenseTerms, MerchantKey,
    Timestamp, DAY,
};
use serde_json::json;

use crate::cmd::batch;
use crate::env::{load_merchant_key, parse_time, random_bytes, Env};
use crate::exit::{CliError, CmdResult, Exit};
use crate::output::{binding_json, describe_binding, print_json, terms_json};
use crate::state::{write_atomic, MODE_PUBLIC};

/// Most days `--days` accepts (about 10,000 years would overflow nothing, but is a typo).
pub const MAX_DAYS: u64 = 100 * 366;

/// `keyward issue …`
#[derive(Args)]
pub struct IssueArgs {
    /// The merchant's private key (PKCS#8 PEM).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Product id (letters, digits, `.`, `_`, `-`).
    #[arg(
        long,
        value_name = "P",
        required_unless_present = "batch",
        conflicts_with = "batch"
    )]
    product: Option<String>,
    /// SKU / edition.
    #[arg(long, value_name = "S", conflicts_with = "batch")]
    sku: Option<String>,
    /// Seats (machines) the license covers [default: 1].
    #[arg(long, value_name = "N", conflicts_with = "batch")]
    seats: Option<u32>,
    /// Expiry date (RFC 3339 or YYYY-MM-DD); without --expires or --days the license is perpetual.
    #[arg(long, value_name = "DATE", value_parser = parse_time, conflicts_with_all = ["days", "batch"])]
    expires: Option<Timestamp>,
    /// Valid for N days from the start.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_DAYS), conflicts_with = "batch")]
    days: Option<u64>,
    /// A feature to grant (repeat, or separate with commas).
    #[arg(
        long = "feature",
        value_name = "F",
        value_delimiter = ',',
        conflicts_with = "batch"
    )]
    features: Vec<String>,
    /// Bind to a system identification code (from `keyward system-id --product P`).
    #[arg(long, value_name = "CODE", conflicts_with_all = ["bind_hardware_id", "batch"])]
    bind_system_id: Option<String>,
    /// Bind to a hardware identification code (mac:…, sn:…, uuid:…, disk:…, fp:…, custom:…).
    #[arg(long, value_name = "CODE", conflicts_with = "batch")]
    bind_hardware_id: Option<String>,
    /// How many bound facts/parts must match (k of n) [default: a majority, or all of a single id].
    #[arg(long, value_name = "K", conflicts_with = "batch")]
    tolerance: Option<u8>,
    /// Marketplace instance id.
    #[arg(long, value_name = "ID", conflicts_with = "batch")]
    instance_id: Option<String>,
    /// Marketplace order id.
    #[arg(long, value_name = "ID", conflicts_with = "batch")]
    order_id: Option<String>,
    /// A trial / test license.
    #[arg(long, conflicts_with = "batch")]
    trial: bool,
    /// Valid from (RFC 3339 or YYYY-MM-DD) [default: now]; with --batch, the default for rows.
    #[arg(long, value_name = "DATE", value_parser = parse_time)]
    starts: Option<Timestamp>,
    /// Issue one code per line of a JSONL file or row of a CSV file (`-`: standard input).
    #[arg(long, value_name = "IN", requires = "out")]
    batch: Option<PathBuf>,
    /// Write the code (or, with --batch, the JSONL results) to this file, atomically.
    #[arg(long, value_name = "OUT")]
    out: Option<PathBuf>,
}

/// When a license ends.
#[derive(Clone, Copy, Debug)]
pub enum Expiry {
    /// Perpetual.
    Never,
    /// At this time.
    At(Timestamp),
    /// N days after the start.
    Days(u64),
}

/// What a machine binding is made of, as typed.
#[derive(Clone, Debug)]
pub enum Bind {
    /// A system identification code.
    System(String),
    /// A hardware identification code.
    Hardware(String),
}

/// Everything one code is issued from (a command line or a batch row).
#[derive(Clone, Debug)]
pub struct Spec {
    /// Product id.
    pub product: String,
    /// SKU / edition.
    pub sku: String,
    /// Seats.
    pub seats: u32,
    /// Valid from (`None`: now).
    pub starts: Option<Timestamp>,
    /// Valid until.
    pub expiry: Expiry,
    /// Features.
    pub features: Vec<String>,
    /// Machine binding.
    pub bind: Option<Bind>,
    /// k of k-of-n.
    pub tolerance: Option<u8>,
    /// Marketplace instance id.
    pub instance_id: Option<String>,
    /// Marketplace order id.
    pub order_id: Option<String>,
    /// Trial.
    pub trial: bool,
}

/// Parses the binding of a spec.
pub fn binding(bind: &Bind, tolerance: Option<u8>) -> Result<Binding, CliError> {
    match bind {
        Bind::System(text) => {
            match Artifact::parse_expecting(text, Kind::SystemId, None)
                .map_err(|e| CliError::core(&e, Some("--bind-system-id")))?
            {
                Artifact::SystemId(code) => Ok(Binding::system(code, tolerance)?),
                _ => Err(CliError::new(
                    "wrong_kind",
                    Exit::WrongKind,
                    "--bind-system-id takes a system identification code (KS1-…)",
                )),
            }
        }
        Bind::Hardware(text) => {
            let id = HardwareId::parse(text)
                .map_err(|e| CliError::core(&e, Some("--bind-hardware-id")))?;
            Ok(Binding::hardware(&id, tolerance)?)
        }
    }
}

/// Issues one code from a spec.
pub fn issue_one(
    key: &MerchantKey,
    spec: &Spec,
    now: Timestamp,
) -> Result<AuthorizationCode, CliError> {
    if spec.tolerance.is_some() && spec.bind.is_none() {
        return Err(CliError::new(
            "invalid_input",
            Exit::Malformed,
            "a tolerance only makes sense with a binding: add --bind-system-id or --bind-hardware-id, or drop --tolerance",
        ));
    }
    let starts = spec.starts.unwrap_or(now);
    let expires = match spec.expiry {
        Expiry::Never => None,
        Expiry::At(t) => Some(t),
        Expiry::Days(d) => {
            if d == 0 || d > MAX_DAYS {
                return Err(CliError::new(
                    "invalid_input",
                    Exit::Malformed,
                    format!("invalid days: must be 1 to {MAX_DAYS}, got {d}"),
                ));
            }
            Some(starts.add_secs(d * DAY))
        }
    };
    let binding = spec
        .bind
        .as_ref()
        .map(|b| binding(b, spec.tolerance))
        .transpose()?;
    let terms = LicenseTerms {
        license_id: LicenseId(random_bytes::<8>()?),
        product: spec.product.clone(),
        sku: spec.sku.clone(),
        seats: spec.seats,
        not_before: starts,
        expires,
        features: spec.features.clone(),
        trial: spec.trial,
        instance_id: spec.instance_id.clone(),
        order_id: spec.order_id.clone(),
    };
    Ok(AuthorizationCode::issue(key, terms, binding)?)
}

/// Runs `keyward issue`.
pub fn run(env: &Env, a: IssueArgs) -> CmdResult {
    let key = load_merchant_key(&a.key)?;
    if let Some(input) = &a.batch {
        let out = a
            .out
            .as_deref()
            .ok_or_else(|| CliError::new("usage", Exit::Usage, "--batch needs --out OUT.jsonl"))?;
        return batch::run(env, &key, input, out, a.starts);
    }
    let spec = Spec {
        product: a.product.unwrap_or_default(),
        sku: a.sku.unwrap_or_default(),
        seats: a.seats.unwrap_or(1),
        starts: a.starts,
        expiry: match (a.expires, a.days) {
            (Some(t), _) => Expiry::At(t),
            (None, Some(d)) => Expiry::Days(d),
            (None, None) => Expiry::Never,
        },
        features: a.features,
        bind: match (a.bind_system_id, a.bind_hardware_id) {
            (Some(s), _) => Some(Bind::System(s)),
            (None, Some(h)) => Some(Bind::Hardware(h)),
            (None, None) => None,
        },
        tolerance: a.tolerance,
        instance_id: a.instance_id,
        order_id: a.order_id,
        trial: a.trial,
    };
    let code = issue_one(&key, &spec, env.now())?;
    let text = code.encode();
    if let Some(out) = &a.out {
        write_atomic(out, format!("{text}\n").as_bytes(), MODE_PUBLIC)?;
    }
    let t = code.terms();
    if env.json {
        print_json(&json!({
            "license_id": t.license_id.to_string(),
            "code": text,
            "key_id": code.key_id().to_string(),
            "terms": terms_json(t),
            "binding": code.binding().map(binding_json),
            "out": a.out.as_ref().map(|p| p.display().to_string()),
        }));
    } else {
        if a.out.is_none() {
            outln!("{text}");
        }
        let product = if t.sku.is_empty() {
            t.product.clone()
        } else {
            format!("{} (edition {})", t.product, t.sku)
        };
        errln!(
            "Issued license {} for {product}: {} seat{}, {}{}; {}; signed with key {}.{}",
            t.license_id,
            t.seats,
            if t.seats == 1 { "" } else { "s" },
            t.expires
                .map_or_else(|| "perpetual".to_string(), |e| format!("expires {e}")),
            if t.trial { ", trial" } else { "" },
            describe_binding(code.binding()),
            code.key_id(),
            a.out
                .as_ref()
                .map_or_else(String::new, |p| format!(" Written to {}.", p.display())),
        );
    }
    Ok(Exit::Ok)
}
