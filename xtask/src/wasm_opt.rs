//! Binaryen's `wasm-opt`, the size pass over the two wasm artifacts that ship: the plugin's
//! core module (before it is wrapped as a component) and the page's wasm (after
//! wasm-bindgen). On these release builds it takes off about 7-9% of the bytes that rustc and
//! LLVM leave.
//!
//! Binaryen is the npm build (a pinned version in `xtask/binaryen/package-lock.json`, run by
//! Node.js), so it needs no C++ toolchain and no binary of our choosing on the machine: xtask
//! installs Node.js from Debian when it is missing (as for the browser tests) and the
//! package into `target/tools/binaryen/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{node, root, run};

/// The wasm features rustc's `wasm32-unknown-unknown` target uses by default: wasm-opt may
/// use these and no others, so its output runs wherever the input ran.
pub const RUST_DEFAULT_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-bulk-memory-opt",
    "--enable-call-indirect-overlong",
    "--enable-multivalue",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-reference-types",
    "--enable-sign-ext",
];

/// Runs `wasm-opt -Oz` on `input`, writing `output` (which may be the same file). `extra`
/// adds feature flags beyond [`RUST_DEFAULT_FEATURES`] (the plugin's wide arithmetic).
/// Custom sections (the plugin's component type) are kept.
pub fn optimize(input: &Path, output: &Path, extra: &[&str]) -> Result<(), String> {
    let wasm_opt = ensure_binaryen()?;
    let tmp = output.with_extension("wasm-opt.tmp");
    let before = size(input)?;
    run(Command::new("node")
        .arg(&wasm_opt)
        .args(RUST_DEFAULT_FEATURES)
        .args(extra)
        // target_features tells tools what the code uses; nothing reads it at run time.
        // Flattening and re-running the relooper first, then -Oz twice, leaves about 1%
        // fewer bytes than -Oz alone (measured 2026-12-01: plugin 154,049 -> 152,604).
        .args([
            "--flatten",
            "--rereloop",
            "-Oz",
            "-Oz",
            "--strip-debug",
            "--strip-producers",
            "--strip-target-features",
        ])
        .arg(input)
        .arg("-o")
        .arg(&tmp))?;
    std::fs::rename(&tmp, output).map_err(|e| format!("{}: {e}", output.display()))?;
    let after = size(output)?;
    eprintln!(
        "xtask: wasm-opt -Oz {}: {before} -> {after} bytes ({:+.1}%)",
        input.display(),
        (after as f64 / before as f64 - 1.0) * 100.0
    );
    Ok(())
}

fn size(path: &Path) -> Result<u64, String> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Installs the pinned binaryen package (and Node.js if needed); returns the path of its
/// `wasm-opt` script.
fn ensure_binaryen() -> Result<PathBuf, String> {
    node::ensure_node()?;
    let source = root().join("xtask/binaryen");
    let dir = crate::target_dir().join("tools/binaryen");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for file in ["package.json", "package-lock.json"] {
        let from = source.join(file);
        let to = dir.join(file);
        let wanted = std::fs::read(&from).map_err(|e| format!("{}: {e}", from.display()))?;
        // Rewritten only when it differs, so npm's "installed is newer" check holds.
        if std::fs::read(&to).ok().as_ref() != Some(&wanted) {
            std::fs::write(&to, &wanted).map_err(|e| format!("{}: {e}", to.display()))?;
        }
    }
    node::npm_ci(&dir)?;
    let script = dir.join("node_modules/binaryen/bin/wasm-opt");
    if script.exists() {
        Ok(script)
    } else {
        Err(format!(
            "{} is missing after `npm ci` in {}",
            script.display(),
            dir.display()
        ))
    }
}
