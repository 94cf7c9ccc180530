//! The size budgets of what ships, printed by `cargo xtask build` and enforced by
//! `cargo xtask test` (sizes are deterministic, so a budget is a test gate; timings stay in
//! `cargo xtask bench`).
//!
//! gzip sizes are Node.js zlib's at level 9, as `cargo xtask bench` prints them.

use std::path::PathBuf;
use std::process::Command;

use crate::node::ensure_node;
use crate::{root, target_dir, web};

/// One budget: the files it covers, raw or gzip, and its limit in bytes.
struct Budget {
    what: &'static str,
    files: Vec<PathBuf>,
    gzip: bool,
    limit: u64,
}

fn budgets() -> Vec<Budget> {
    let pkg = root().join("web/pkg");
    vec![
        Budget {
            what: "plugin (target/dist/keyward-plugin.wasm)",
            files: vec![target_dir().join("dist/keyward-plugin.wasm")],
            gzip: false,
            limit: 150_000,
        },
        Budget {
            what: "page wasm (web/pkg/keyward_web_bg.wasm)",
            files: vec![pkg.join("keyward_web_bg.wasm")],
            gzip: false,
            limit: 120_000,
        },
        Budget {
            what: "whole page (web/pkg/: HTML, CSS, JS, wasm), gzip -9",
            files: web::PAGE_FILES.iter().map(|f| pkg.join(f)).collect(),
            gzip: true,
            limit: 80_000,
        },
    ]
}

/// (raw, gzip -9) sizes of `files`, by Node.js zlib.
fn measure(files: &[PathBuf]) -> Result<Vec<(u64, u64)>, String> {
    for f in files {
        if !f.is_file() {
            return Err(format!(
                "{} is missing: run `cargo xtask build` first",
                f.display()
            ));
        }
    }
    ensure_node()?;
    let out = Command::new("node")
        .arg("-e")
        .arg(
            "const fs = require('fs'), zlib = require('zlib');\
             for (const f of process.argv.slice(1)) {\
               const b = fs.readFileSync(f);\
               console.log(b.length + ' ' + zlib.gzipSync(b, { level: 9 }).length);\
             }",
        )
        .args(files)
        .output()
        .map_err(|e| format!("cannot run node: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "measuring sizes failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let sizes: Vec<(u64, u64)> = text
        .lines()
        .filter_map(|l| {
            let (raw, gz) = l.split_once(' ')?;
            Some((raw.parse().ok()?, gz.parse().ok()?))
        })
        .collect();
    if sizes.len() == files.len() {
        Ok(sizes)
    } else {
        Err(format!("unexpected output from node: {text}"))
    }
}

/// Prints every budget with the measured size; with `enforce`, fails when one is over.
/// Budgets whose files are missing are skipped when not enforcing.
pub fn check(enforce: bool) -> Result<(), String> {
    let mut over = Vec::new();
    for b in budgets() {
        let sizes = match measure(&b.files) {
            Ok(s) => s,
            Err(e) if !enforce => {
                eprintln!("xtask: size of {}: {e}", b.what);
                continue;
            }
            Err(e) => return Err(e),
        };
        let total: u64 = sizes
            .iter()
            .map(|&(raw, gz)| if b.gzip { gz } else { raw })
            .sum();
        let ok = total <= b.limit;
        eprintln!(
            "xtask: size: {}: {total} bytes{} (budget {}) {}",
            b.what,
            if b.gzip { " gzip" } else { " raw" },
            b.limit,
            if ok { "ok" } else { "OVER BUDGET" }
        );
        if b.files.len() > 1 {
            for (f, (raw, gz)) in b.files.iter().zip(&sizes) {
                let name = f
                    .file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default();
                eprintln!("xtask:   {name}: {raw} raw, {gz} gzip");
            }
        }
        if !ok {
            over.push(format!(
                "{} is {total} bytes, over its budget of {}",
                b.what, b.limit
            ));
        }
    }
    if over.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "size budgets exceeded: {}. Make it smaller (see README.md, Performance and size) before merging.",
            over.join("; ")
        ))
    }
}
