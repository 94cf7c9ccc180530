//! Output: JSON objects with stable snake_case fields (documented in `docs/CLI.md`), error
//! reporting, and small helpers for human-readable text.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use keyward_core::{
    binding::Binding, eval::LicenseSummary, hwid::HardwareKind, LicenseTerms, Status, Timestamp,
};
use serde_json::{json, Value};

use crate::exit::{Error, Exit};
use crate::state::{write_atomic, write_new};

/// Writes (part of) a result on standard output and flushes it, so that a failed write
/// (a full disk, a closed pipe) is an error here, never a result silently lost. Every
/// result goes through this one function (the `outln!` and `out!` macros).
pub fn write_stdout(args: fmt::Arguments<'_>) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.flush())
        .map_err(|e| stdout_error(&e))
}

/// The error for a result that could not be written to standard output.
pub fn stdout_error(e: &std::io::Error) -> Error {
    let why = if e.kind() == std::io::ErrorKind::BrokenPipe {
        "the reading end of the pipe was closed".to_string()
    } else {
        e.to_string()
    };
    Error::other(
        "io",
        format!(
            "the result could not be written to standard output ({why}), so it is lost: run the command again with its output going to a file on a disk with room (`> FILE`, or `--out FILE` for the commands that have it)"
        ),
    )
}

/// Writes a JSON value on stdout (pretty, one object per run): a command's result.
pub fn emit_json(v: &Value) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(v)
        .map_err(|e| Error::other("internal", format!("cannot encode the result: {e}")))?;
    outln!("{text}")
}

/// Like [`emit_json`], for a line a long-running command prints before it goes on
/// (`keyward web`'s start line): a failed write is reported on stderr.
pub fn print_json(v: &Value) {
    if let Err(e) = emit_json(v) {
        errln!("keyward: {}", e.message);
    }
}

/// The `error` object.
pub fn error_json(e: &Error) -> Value {
    json!({
        "code": e.code,
        "message": e.message,
        "suggestion": e.suggestion,
    })
}

/// Reports an error: `keyward: <message>` on stderr, and with `--json` also
/// `{"error": {...}}` on stdout.
pub fn report_error(e: &Error, json_mode: bool) {
    errln!("keyward: {}", e.message);
    if json_mode {
        // The error is already on stderr and the exit code says it failed.
        let _ = emit_json(&json!({ "error": error_json(e) }));
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
        "message": s.describe(),
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
pub fn print_terms(t: &LicenseTerms) -> Result<(), Error> {
    line("license", &t.license_id.to_string())?;
    let product = if t.sku.is_empty() {
        t.product.clone()
    } else {
        format!("{} (edition {})", t.product, t.sku)
    };
    line("product", &product)?;
    line("seats", &t.seats.to_string())?;
    line("valid from", &t.not_before.to_rfc3339())?;
    line(
        "expires",
        &t.expires
            .map_or_else(|| "never (perpetual)".to_string(), |e| e.to_rfc3339()),
    )?;
    if !t.features.is_empty() {
        line("features", &t.features.join(", "))?;
    }
    if t.trial {
        line("trial", "yes")?;
    }
    if let Some(i) = &t.instance_id {
        line("instance", i)?;
    }
    if let Some(o) = &t.order_id {
        line("order", o)?;
    }
    Ok(())
}

/// One aligned `  label  value` line on stdout.
pub fn line(label: &str, value: &str) -> Result<(), Error> {
    outln!("  {label:<12} {value}")
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

/// A file a command writes its result to (`--out FILE`), checked before the command does
/// anything: it is never one of the command's inputs (the same file, however it is
/// named: compared by file identity), and an existing file is only replaced with
/// `--force` (atomically, so readers see the old file or the new one).
pub struct OutFile {
    path: PathBuf,
    force: bool,
}

impl OutFile {
    /// Checks `path` against the command's `inputs` (paths that do not exist are ignored)
    /// and, without `force`, refuses an existing file.
    pub fn check(path: &Path, force: bool, inputs: &[&Path]) -> Result<OutFile, Error> {
        for input in inputs {
            if same_file::is_same_file(path, input).unwrap_or(false) {
                return Err(Error::new(
                    "output_is_input",
                    Exit::Usage,
                    format!(
                        "--out {} is the same file as the input {}: writing the result there would destroy the input; choose another --out file",
                        path.display(),
                        input.display()
                    ),
                ));
            }
        }
        if let Ok(m) = std::fs::metadata(path) {
            // A device, a pipe or a directory is not replaced by a file, even with --force
            // (`--out /dev/stdout` as root would replace the device node).
            if !m.is_file() {
                return Err(Error::new(
                    "usage",
                    Exit::Usage,
                    format!(
                        "--out {} is not a regular file: --out writes a file; to write to standard output, leave out --out",
                        path.display()
                    ),
                ));
            }
        }
        if !force && std::fs::symlink_metadata(path).is_ok() {
            return Err(exists_error(path));
        }
        Ok(OutFile {
            path: path.to_path_buf(),
            force,
        })
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the result: atomically over an existing file with `--force`, else only as a
    /// new file (an existing file, even one created since the check, is refused).
    pub fn write(&self, bytes: &[u8], mode: u32) -> Result<(), Error> {
        if self.force {
            write_atomic(&self.path, bytes, mode)
        } else {
            write_new(&self.path, bytes, mode)
        }
    }
}

/// The error for an output file that exists.
pub fn exists_error(path: &Path) -> Error {
    Error::other(
        "file_exists",
        format!(
            "{} already exists and was left unchanged: choose another --out file, or add --force to replace it",
            path.display()
        ),
    )
}
