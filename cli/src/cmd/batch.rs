//! `keyward issue --batch IN --out OUT.jsonl`: one code per JSONL line or CSV row. A bad
//! row is reported with its line number and does not stop the batch.

use std::io::IsTerminal;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use keyward_core::{MerchantKey, Timestamp};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::cmd::spec::{issue_one, Bind, Expiry, Spec};
use crate::env::{parse_time, read_input, Env};
use crate::exit::{CliError, CmdResult, Exit};
use crate::output::{emit_json, error_json, OutFile};
use crate::state::{read_limited, MODE_PUBLIC};

/// Largest batch file read.
const MAX_BATCH_FILE: u64 = 256 * 1024 * 1024;

/// The fields a row may have.
const FIELDS: &[&str] = &[
    "product",
    "sku",
    "seats",
    "expires",
    "days",
    "starts",
    "features",
    "bind_system_id",
    "bind_hardware_id",
    "tolerance",
    "instance_id",
    "order_id",
    "trial",
];

fn row_error(message: impl Into<String>) -> CliError {
    CliError::new("invalid_row", Exit::Malformed, message)
}

/// One input row: its 1-based line number and its fields (or why it could not be read).
type Row = (u64, Result<Map<String, Value>, CliError>);

fn read_jsonl(text: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i as u64 + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let r = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(row_error(
                "the line is not a JSON object: write {\"product\": \"…\", …}",
            )),
            Err(e) => Err(row_error(format!("the line is not valid JSON ({e})"))),
        };
        rows.push((n, r));
    }
    rows
}

fn read_csv(text: &str, name: &str) -> Result<Vec<Row>, CliError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| row_error(format!("{name}: cannot read the CSV header row: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    for h in &headers {
        if !FIELDS.contains(&h.as_str()) {
            return Err(row_error(format!(
                "{name}: unknown column {h:?} in the header row; the columns are {}",
                FIELDS.join(", ")
            )));
        }
    }
    // The physical line of a record, from its byte offset (the csv crate's own line count
    // skips blank lines).
    let line_of = |p: Option<&csv::Position>| -> u64 {
        p.map_or(0, |p| {
            let b = text.as_bytes();
            let mut start = usize::try_from(p.byte()).unwrap_or(usize::MAX).min(b.len());
            // The position may point at blank lines skipped before the record.
            while start < b.len() && matches!(b[start], b'\n' | b'\r') {
                start += 1;
            }
            b[..start].iter().filter(|&&c| c == b'\n').count() as u64 + 1
        })
    };
    let mut rows = Vec::new();
    for rec in rdr.records() {
        match rec {
            Ok(r) => {
                let n = line_of(r.position());
                let mut m = Map::new();
                for (h, v) in headers.iter().zip(r.iter()) {
                    if !v.is_empty() {
                        m.insert(h.clone(), Value::String(v.to_string()));
                    }
                }
                rows.push((n, Ok(m)));
            }
            Err(e) => {
                let n = line_of(e.position());
                let msg = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => format!(
                        "the row has {len} fields but the header row has {expected_len}: check the commas (quote values that contain commas)"
                    ),
                    _ => format!("the row cannot be read as CSV ({e})"),
                };
                rows.push((n, Err(row_error(msg))));
                // After an I/O-level error the reader cannot continue.
                if !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) {
                    break;
                }
            }
        }
    }
    Ok(rows)
}

fn text_field(m: &Map<String, Value>, name: &str) -> Result<Option<String>, CliError> {
    match m.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(row_error(format!("{name} must be text"))),
    }
}

fn number_field(m: &Map<String, Value>, name: &str, max: u64) -> Result<Option<u64>, CliError> {
    let n = match m.get(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        Some(_) => None,
    };
    match n {
        Some(n) if n <= max => Ok(Some(n)),
        _ => Err(row_error(format!(
            "{name} must be a whole number{}, got {}",
            if max < u64::from(u32::MAX) {
                format!(" from 0 to {max}")
            } else {
                String::new()
            },
            m.get(name).map_or_else(String::new, Value::to_string)
        ))),
    }
}

fn bool_field(m: &Map<String, Value>, name: &str) -> Result<bool, CliError> {
    match m.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(false),
        Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(true),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "" | "false" | "no" | "n" | "0" => Ok(false),
            "true" | "yes" | "y" | "1" => Ok(true),
            _ => Err(row_error(format!(
                "{name} must be true or false, got {s:?}"
            ))),
        },
        Some(v) => Err(row_error(format!("{name} must be true or false, got {v}"))),
    }
}

fn features_field(m: &Map<String, Value>) -> Result<Vec<String>, CliError> {
    let split = |s: &str| -> Vec<String> {
        s.split(';')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect()
    };
    match m.get("features") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(split(s)),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.trim().to_string()),
                _ => Err(row_error("features must be a list of texts")),
            })
            .collect(),
        Some(_) => Err(row_error(
            "features must be a list of texts, or one text with features separated by ';'",
        )),
    }
}

fn time_field(m: &Map<String, Value>, name: &str) -> Result<Option<Timestamp>, CliError> {
    text_field(m, name)?
        .map(|s| parse_time(&s).map_err(|e| row_error(format!("{name}: {e}"))))
        .transpose()
}

/// Turns a row's fields into an issuing spec.
fn spec(m: &Map<String, Value>, default_starts: Option<Timestamp>) -> Result<Spec, CliError> {
    if let Some(k) = m.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(row_error(format!(
            "unknown field {k:?}; the fields are {}",
            FIELDS.join(", ")
        )));
    }
    let product = text_field(m, "product")?
        .ok_or_else(|| row_error("the product is missing: every row needs a product"))?;
    let expiry = match (
        time_field(m, "expires")?,
        number_field(m, "days", u64::MAX)?,
    ) {
        (Some(_), Some(_)) => {
            return Err(row_error("give expires or days, not both"));
        }
        (Some(t), None) => Expiry::At(t),
        (None, Some(d)) => Expiry::Days(d),
        (None, None) => Expiry::Never,
    };
    let bind = match (
        text_field(m, "bind_system_id")?,
        text_field(m, "bind_hardware_id")?,
    ) {
        (Some(_), Some(_)) => {
            return Err(row_error(
                "give bind_system_id or bind_hardware_id, not both",
            ))
        }
        (Some(s), None) => Some(Bind::System(s)),
        (None, Some(h)) => Some(Bind::Hardware(h)),
        (None, None) => None,
    };
    Ok(Spec {
        product,
        sku: text_field(m, "sku")?.unwrap_or_default(),
        seats: number_field(m, "seats", u32::MAX as u64)?.map_or(1, |n| n as u32),
        starts: time_field(m, "starts")?.or(default_starts),
        expiry,
        features: features_field(m)?,
        bind,
        tolerance: number_field(m, "tolerance", u8::MAX as u64)?.map(|n| n as u8),
        instance_id: text_field(m, "instance_id")?,
        order_id: text_field(m, "order_id")?,
        trial: bool_field(m, "trial")?,
    })
}

fn is_csv(input: &Path, text: &str) -> bool {
    match input
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => true,
        Some("jsonl" | "json" | "ndjson") => false,
        _ => !text.trim_start().starts_with('{'),
    }
}

/// One output line for an issued code (fields in this order).
#[derive(Serialize)]
struct Issued {
    line: u64,
    license_id: String,
    code: String,
}

/// One output line for a row that failed.
#[derive(Serialize)]
struct Failed {
    line: u64,
    error: Value,
}

/// Runs a batch.
pub fn run(
    env: &Env,
    key: &MerchantKey,
    input: &Path,
    out_file: &OutFile,
    default_starts: Option<Timestamp>,
) -> CmdResult {
    let out = out_file.path();
    let name = input.display().to_string();
    let text = if name == "-" {
        read_input("-")?
    } else {
        let bytes = read_limited(input, MAX_BATCH_FILE)?;
        String::from_utf8(bytes).map_err(|_| {
            row_error(format!(
                "{name} is not UTF-8 text: save it as UTF-8 JSONL or CSV"
            ))
        })?
    };
    let rows = if is_csv(input, &text) {
        read_csv(&text, &name)?
    } else {
        read_jsonl(&text)
    };
    let bar = if std::io::stderr().is_terminal() && !env.json {
        let b = ProgressBar::new(rows.len() as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} codes issued ({eta} left)")
        {
            b.set_style(style);
        }
        b
    } else {
        ProgressBar::hidden()
    };
    let now = env.now();
    let mut lines = String::new();
    let mut failed: Vec<(u64, CliError)> = Vec::new();
    let mut issued = 0u64;
    let mut warnings: Vec<(u64, String)> = Vec::new();
    for (n, row) in rows {
        let result = row
            .and_then(|m| spec(&m, default_starts))
            .and_then(|s| issue_one(key, &s, now));
        let v = match result {
            Ok(done) => {
                issued += 1;
                let code = done.code;
                warnings.extend(done.warnings.into_iter().map(|w| (n, w)));
                serde_json::to_string(&Issued {
                    line: n,
                    license_id: code.terms().license_id.to_string(),
                    code: code.encode(),
                })
            }
            Err(e) => {
                let v = serde_json::to_string(&Failed {
                    line: n,
                    error: error_json(&e),
                });
                failed.push((n, e));
                v
            }
        }
        .map_err(|e| CliError::other("internal", format!("cannot encode a result: {e}")))?;
        lines.push_str(&v);
        lines.push('\n');
        bar.inc(1);
    }
    bar.finish_and_clear();
    out_file.write(lines.as_bytes(), MODE_PUBLIC)?;
    for (n, w) in &warnings {
        errln!("keyward: {name} line {n}: warning: {w}");
    }
    let failed_lines: Vec<u64> = failed.iter().map(|(n, _)| *n).collect();
    let summary = format!(
        "{issued} code{} issued, {} row{} failed; results in {}",
        if issued == 1 { "" } else { "s" },
        failed.len(),
        if failed.len() == 1 { "" } else { "s" },
        out.display()
    );
    if env.json {
        let mut v = json!({
            "issued": issued,
            "failed": failed.len(),
            "failed_lines": failed_lines,
            "out": out.display().to_string(),
            "warnings": warnings
                .iter()
                .map(|(n, w)| json!({ "line": n, "message": w }))
                .collect::<Vec<_>>(),
        });
        if !failed.is_empty() {
            let e = row_error(format!(
                "{} row{} of {name} could not be issued (line{} {}): see {}",
                failed.len(),
                if failed.len() == 1 { "" } else { "s" },
                if failed.len() == 1 { "" } else { "s" },
                failed_lines
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                out.display()
            ));
            errln!("keyward: {}", e.message);
            v["error"] = error_json(&e);
        }
        emit_json(&v)?;
    } else {
        for (n, e) in &failed {
            errln!("keyward: {name} line {n}: {}", e.message);
        }
        errln!("{summary}.");
    }
    Ok(if failed.is_empty() {
        Exit::Ok
    } else {
        Exit::Malformed
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_have_line_numbers() {
        let rows = read_csv("product,seats\nacme,2\n\nacme,x,3\n", "in.csv").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].0, 2);
        assert!(rows[0].1.is_ok());
        assert_eq!(rows[1].0, 4);
        assert!(rows[1].1.is_err());
    }

    #[test]
    fn unknown_column_is_refused() {
        assert!(read_csv("product,seat\nacme,2\n", "in.csv").is_err());
    }

    #[test]
    fn fields_parse() {
        let m = match serde_json::json!({"product": "p", "seats": "3", "features": "a; b", "trial": "yes", "days": 30})
        {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        let s = spec(&m, None).unwrap();
        assert_eq!(s.seats, 3);
        assert_eq!(s.features, ["a", "b"]);
        assert!(s.trial);
        assert!(matches!(s.expiry, Expiry::Days(30)));
    }
}
