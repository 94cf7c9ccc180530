//! Output: JSON objects with stable snake_case fields (documented in `docs/CLI.md`), error
//! reporting, and small helpers for human-readable text.

use std::io::Write;

use keyward_core::{Binding, HardwareKind, LicenseSummary, LicenseTerms, Status, Timestamp};
use serde_json::{json, Value};

use crate::exit::CliError;

/// Prints a JSON value on stdout (pretty, one object per run).
pub fn print_json(v: &Value) {
    let text = serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".to_string());
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
}

/// The `error` object.
pub fn error_json(e: &CliError) -> Value {
    json!({
        "code": e.code,
        "message": e.message,
        "suggestion": e.suggestion,
    })
}

/// Reports an error: `keyward: <message>` on stderr, and with `--json` also
/// `{"error": {...}}` on stdout.
pub fn report_error(e: &CliError, json_mode: bool) {
    errln!("keyward: {}", e.message);
    if json_mode {
        print_json(&json!({ "error": error_json(e) }));
    }
}

/// An optional time as JSON (`null` when absent).
pub fn time_json(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_rfc3339()))
}

/// A license summary (what `status` reports).
pub fn summary_json(l: &LicenseSummary) -> Value {
    json!({
        "license_id": l.license_id.to_string(),
        "product": l.product,
        "sku": l.sku,
        "seats": l.seats,
        "features": l.features,
        "not_before": l.not_before.to_rfc3339(),
        "expires": time_json(l.expires),
        "days_left": l.days_left,
        "trial": l.trial,
        "bound": l.bound,
    })
}

/// A status, for people. (The core writes "product sku"; without a SKU that leaves a stray
/// space before the comma, removed here.)
pub fn describe(s: &Status) -> String {
    s.describe()
}

/// A license status; every key is always present (`null` when it does not apply).
pub fn status_json(s: &Status) -> Value {
    let (grace_ends, mismatch, clock) = match s {
        Status::InGrace { grace_ends, .. } => (Some(*grace_ends), None, None),
        Status::MachineMismatch { mismatch, .. } => (
            None,
            Some(json!({
                "differing": mismatch.differing,
                "matched": mismatch.matched,
                "required": mismatch.required,
            })),
            None,
        ),
        Status::ClockRolledBack { now, high_water } => (
            None,
            None,
            Some(json!({
                "now": now.to_rfc3339(),
                "high_water": high_water.to_rfc3339(),
            })),
        ),
        _ => (None, None, None),
    };
    json!({
        "status": s.code().as_str(),
        "usable": s.is_usable(),
        "message": describe(s),
        "license": s.license().map_or(Value::Null, summary_json),
        "grace_ends": time_json(grace_ends),
        "mismatch": mismatch,
        "clock": clock,
    })
}

/// A binding (what a code or certificate is bound to).
pub fn binding_json(b: &Binding) -> Value {
    match b {
        Binding::System { code, tolerance } => json!({
            "type": "system_id",
            "system_id": code.encode(),
            "tolerance": tolerance,
            "parts": code.present(),
        }),
        Binding::Hardware {
            kind,
            parts,
            tolerance,
        } => json!({
            "type": "hardware_id",
            "hardware_kind": kind.prefix(),
            "part_kinds": parts.iter().map(|(k, _)| k.code()).collect::<Vec<_>>(),
            "tolerance": tolerance,
            "parts": parts.len(),
        }),
    }
}

/// License terms (what a code or certificate grants).
pub fn terms_json(t: &LicenseTerms) -> Value {
    json!({
        "license_id": t.license_id.to_string(),
        "product": t.product,
        "sku": t.sku,
        "seats": t.seats,
        "not_before": t.not_before.to_rfc3339(),
        "expires": time_json(t.expires),
        "features": t.features,
        "trial": t.trial,
        "instance_id": t.instance_id,
        "order_id": t.order_id,
    })
}

/// A binding, for people.
pub fn describe_binding(b: Option<&Binding>) -> String {
    match b {
        None => "not bound: works on any machine".to_string(),
        Some(Binding::System { code, tolerance }) => format!(
            "system identification code {code} ({tolerance} of {} facts must match)",
            code.present()
        ),
        Some(Binding::Hardware {
            kind,
            parts,
            tolerance,
        }) => format!(
            "a hardware identification code: {} ({tolerance} of {} parts must match)",
            match kind {
                HardwareKind::Mac => "MAC address",
                HardwareKind::Serial => "serial number",
                HardwareKind::Uuid => "UUID",
                HardwareKind::Disk => "disk serial",
                HardwareKind::Fingerprint => "fingerprint",
                HardwareKind::Custom => "custom id",
            },
            parts.len()
        ),
    }
}

/// Prints license terms for people, one `  label  value` line each.
pub fn print_terms(t: &LicenseTerms) {
    line("license", &t.license_id.to_string());
    let product = if t.sku.is_empty() {
        t.product.clone()
    } else {
        format!("{} (edition {})", t.product, t.sku)
    };
    line("product", &product);
    line("seats", &t.seats.to_string());
    line("valid from", &t.not_before.to_rfc3339());
    line(
        "expires",
        &t.expires
            .map_or_else(|| "never (perpetual)".to_string(), |e| e.to_rfc3339()),
    );
    if !t.features.is_empty() {
        line("features", &t.features.join(", "));
    }
    if t.trial {
        line("trial", "yes");
    }
    if let Some(i) = &t.instance_id {
        line("instance", i);
    }
    if let Some(o) = &t.order_id {
        line("order", o);
    }
}

/// One aligned `  label  value` line on stdout.
pub fn line(label: &str, value: &str) {
    outln!("  {label:<12} {value}");
}

/// `a system identification code`, `an authorization code`.
pub fn with_article(name: &str) -> String {
    let vowel = name
        .chars()
        .next()
        .is_some_and(|c| "aeiouAEIOU".contains(c));
    format!("{} {name}", if vowel { "an" } else { "a" })
}

/// Upper-cases the first letter (core messages start in lower case).
pub fn sentence(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
