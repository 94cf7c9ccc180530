//! The Node.js host (`hosts/node/`): jco (pinned by its package-lock) transpiles the
//! portable plugin into `hosts/node/gen/`, then its tests run every vector, the offline
//! round trip with the `keyward` CLI as the merchant, and the throwing-import case.

use std::process::Command;

use crate::{cargo, node, root, run, run_in, target_dir};

/// Transpiles `target/dist/keyward-plugin.wasm` (build it first) for Node.js.
pub fn transpile() -> Result<(), String> {
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
    )
}

/// Runs the Node host's tests against the CLI (built here if needed).
pub fn test() -> Result<(), String> {
    transpile()?;
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
