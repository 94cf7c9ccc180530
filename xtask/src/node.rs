//! The tools the wasm build and the browser tests take from outside Rust: Node.js and npm
//! (from Debian when missing) and npm packages pinned by a package-lock.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{run, run_in};

/// Whether Node.js and npm are on the PATH.
pub fn has_node() -> bool {
    let works = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    works("node") && works("npm")
}

/// Installs Node.js and npm from Debian when they are missing.
pub fn ensure_node() -> Result<(), String> {
    if has_node() {
        return Ok(());
    }
    apt_install(&["nodejs", "npm"])
}

/// `apt-get install` of `packages` (none: nothing to do), never asking a question.
pub fn apt_install(packages: &[&str]) -> Result<(), String> {
    if packages.is_empty() {
        return Ok(());
    }
    // CI has no terminal: never let a package ask a question.
    run(Command::new("apt-get")
        .arg("update")
        .env("DEBIAN_FRONTEND", "noninteractive"))
    .map_err(|e| {
        format!("{e}\nxtask needs {packages:?}: install them with your package manager")
    })?;
    run(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// `npm ci` (or `npm install` without a lock file) in `dir`, unless what is installed is
/// already as new as `package-lock.json` (npm records what it installed).
pub fn npm_ci(dir: &Path) -> Result<(), String> {
    let modified = |p: PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let installed = modified(dir.join("node_modules/.package-lock.json"));
    if installed.is_none() || installed < modified(dir.join("package-lock.json")) {
        let how = if dir.join("package-lock.json").exists() {
            "ci"
        } else {
            "install"
        };
        run_in(
            dir,
            Command::new("npm").args([how, "--no-audit", "--no-fund"]),
        )?;
    }
    Ok(())
}
