//! `keyward issue`: sign an authorization code (授权码), or a batch of them.

use std::path::PathBuf;

use clap::Args;
use keyward_core::Timestamp;
use serde_json::json;

use crate::cmd::batch;
use crate::cmd::spec::{issue_one, Bind, Expiry, Spec, MAX_DAYS};
use crate::env::{load_merchant_key, parse_time, Env};
use crate::exit::{CliError, CmdResult, Exit};
use crate::output::{binding_json, describe_binding, emit_json, terms_json, OutFile};
use crate::state::MODE_PUBLIC;

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
    /// Write the code (or, with --batch, the JSONL results) to this file; never over an
    /// input, nor over an existing file without --force.
    #[arg(long, value_name = "OUT")]
    out: Option<PathBuf>,
    /// Replace the --out file if it exists.
    #[arg(long, requires = "out")]
    force: bool,
}

/// Runs `keyward issue`.
pub fn run(env: &Env, a: IssueArgs) -> CmdResult {
    let mut inputs = vec![a.key.as_path()];
    inputs.extend(a.batch.as_deref());
    let out = a
        .out
        .as_deref()
        .map(|p| OutFile::check(p, a.force, &inputs))
        .transpose()?;
    let key = load_merchant_key(&a.key)?;
    if let Some(input) = &a.batch {
        let out = out
            .ok_or_else(|| CliError::new("usage", Exit::Usage, "--batch needs --out OUT.jsonl"))?;
        return batch::run(env, &key, input, &out, a.starts);
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
    let issued = issue_one(&key, &spec, env.now())?;
    let code = issued.code;
    let text = code.encode();
    if let Some(out) = &out {
        out.write(format!("{text}\n").as_bytes(), MODE_PUBLIC)?;
    }
    for w in &issued.warnings {
        errln!("keyward: warning: {w}");
    }
    let t = code.terms();
    if env.json {
        emit_json(&json!({
            "license_id": t.license_id.to_string(),
            "code": text,
            "key_id": code.key_id().to_string(),
            "terms": terms_json(t),
            "binding": code.binding().map(binding_json),
            "out": a.out.as_ref().map(|p| p.display().to_string()),
            "warnings": issued.warnings,
        }))?;
    } else {
        if a.out.is_none() {
            outln!("{text}")?;
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
