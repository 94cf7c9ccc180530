//! The Node.js host (`hosts/node/`): jco (pinned by its package-lock) transpiles the
//! portable plugin into `hosts/node/gen/`, beside the lock addon (`keyward-lock.node`, built
//! from hosts/node/lock/); then its tests run every vector, the offline round trip with the
//! `keyward` CLI as the merchant, the throwing-import case and the state directory's lock.

use std::process::Command;

use crate::{cargo, node, root, run, run_in, target_dir};

/// The Node host's files in `hosts/node/gen/`: the plugin (built here), transpiled, and the
/// lock addon, both built for release (`cargo xtask build-node`).
pub fn build() -> Result<(), String> {
    crate::plugin::build(true)?;
    transpile(true)
}

/// Transpiles `target/dist/keyward-plugin.wasm` (build it first) for Node.js into
/// `hosts/node/gen/`, and puts the lock addon beside it.
fn transpile(release: bool) -> Result<(), String> {
    node::ensure_node()?;
    let dir = root().join("hosts/node");
    node::npm_ci(&dir)?;
    let plugin = target_dir().join("dist/keyward-plugin.wasm");
    if !plugin.is_file() {
        return Err(format!(
            "{} is missing: the plugin is built before the Node host",
            plugin.display()
        ));
    }
    let gen = dir.join("gen");
    if gen.exists() {
        std::fs::remove_dir_all(&gen).map_err(|e| format!("{}: {e}", gen.display()))?;
    }
    run_in(
        &dir,
        Command::new("node")
            .arg("node_modules/@bytecodealliance/jco/dist/jco.js")
            .arg("transpile")
            .arg(&plugin)
            .args([
                "--instantiation",
                "sync",
                "--no-nodejs-compat",
                "--name",
                "keyward-plugin",
                "-o",
                "gen",
            ]),
    )?;
    lock_addon(&gen, release)
}

/// Builds the lock addon (a Node-API library) and copies it to `gen/keyward-lock.node`,
/// the name Node loads it by on every platform.
fn lock_addon(gen: &std::path::Path, release: bool) -> Result<(), String> {
    let mut build = cargo();
    build.args(["build", "-p", "keyward-node-lock"]);
    if release {
        build.arg("--release");
    }
    run(&mut build)?;
    let built = target_dir()
        .join(if release { "release" } else { "debug" })
        .join(format!(
            "{}keyward_node_lock{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ));
    let to = gen.join("keyward-lock.node");
    std::fs::copy(&built, &to)
        .map(|_| ())
        .map_err(|e| format!("cannot copy {} to {}: {e}", built.display(), to.display()))
}

/// Runs the Node host's tests against the CLI (built here if needed).
pub fn test() -> Result<(), String> {
    transpile(false)?;
    run(cargo().args(["build", "--bin", "keyward"]))?;
    let cli = target_dir().join("debug/keyward");
    let dir = root().join("hosts/node");
    let mut tests: Vec<String> = std::fs::read_dir(dir.join("test"))
        .map_err(|e| format!("{}/test: {e}", dir.display()))?
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".test.mjs"))
        .map(|n| format!("test/{n}"))
        .collect();
    tests.sort();
    run_in(
        &dir,
        Command::new("node")
            .arg("--test")
            .args(&tests)
            .env("KEYWARD_CLI", &cli),
    )
}
