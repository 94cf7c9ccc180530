//! `cargo xtask <task>`: everything beyond plain `cargo build` lives here, so a fresh
//! machine needs nothing but Rust to build, test and benchmark keyward.
//!
//! Tasks:
//! - `build`   — every artifact: `target/release/keyward`, `target/dist/keyward-plugin.wasm`,
//!   `web/pkg/`
//! - `test`    — installs what tests need (wasm target, Chromium, playwright-core, jco),
//!   builds, runs every test: Rust, plugin, browser, the Node.js host
//! - `bench`   — benchmarks that print figures
//! - `demo`    — builds the CLI and runs the README walk-through on this machine
//! - `lint`    — `cargo fmt --check`, `cargo clippy --all-targets -D warnings`,
//!   `cargo doc` with warnings denied, and clippy of keyward-machine, keyward-files and
//!   the CLI for Windows and macOS
//! - `vectors` — regenerates `tests/vectors/` from the fixed test key
//! - `sizes`   — the size budgets of the plugin and the page, failing when one is over
//! - `fuzz [--seconds N] [TARGET]` — installs cargo-fuzz (pinned) and runs every fuzz target
//!   of `fuzz/` (or the one named) for N seconds each (default 60); a crash, a broken
//!   property, a call over 10 ms or a heap peak over 64 × the input fails, and the input is
//!   saved under `fuzz/artifacts/<target>/`
//! - `fuzz-seeds` — writes the fuzz targets' seeds (`fuzz/seeds/`) from `tests/vectors/`
#![deny(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod demo;
mod fuzz;
#[cfg(test)]
mod modules;
mod node;
mod node_host;
mod plugin;
mod postgres;
mod sizes;
mod vectors;
mod wasm_opt;
mod web;

const HELP: &str = "\
usage: cargo xtask <task>

  build                          every artifact: the CLI, the plugin, the page
  test                           install what tests need, build, run every test (with the
                                 replay of every saved fuzz input)
  bench                          benchmarks that print figures
  bench-plugin                   only the plugin's: its floor, then the plugin benchmark
  build-plugin                   target/dist/keyward-plugin.wasm (portable) and
                                 keyward-plugin-wide.wasm (optional, wasmtime only)
  build-node                     the Node.js host's files (hosts/node/gen/): the plugin,
                                 transpiled, and the lock addon
  test-node                      the Node.js host's tests (hosts/node/; needs the plugin built)
  demo                           the README walk-through, on this machine
  lint                           rustfmt, clippy and rustdoc with warnings denied
  vectors                        regenerate tests/vectors/ from the fixed test key
  fuzz [--seconds N] [TARGET]    install cargo-fuzz and run the fuzz targets, N seconds each
                                 (default 60); TARGET is one of text, bytes, resigned, state,
                                 ids, pem; failures are saved under fuzz/artifacts/<target>/;
                                 options after -- go to libFuzzer (-fork=1 -ignore_crashes=1
                                 to go on after a finding)
  fuzz-seeds                     write the fuzz seeds (fuzz/seeds/) from tests/vectors/
  sizes                          the plugin's and the page's sizes against their budgets
                                 (fails when one is over; `test` checks them too)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("help");
    let rest = &args[args.len().min(1)..];
    // Only `fuzz` takes options (and `help` shows the same text whatever follows): anything
    // after another task is a mistake to report, not to ignore (`cargo xtask test --release`
    // would otherwise run something else than asked).
    if !matches!(task, "fuzz" | "help" | "--help" | "-h") && !rest.is_empty() {
        eprintln!(
            "xtask: `{task}` takes no arguments (got {}); try `cargo xtask help`",
            rest.join(" ")
        );
        return ExitCode::FAILURE;
    }
    let result = match task {
        "build" => build(),
        "test" => test(),
        "bench" => bench(),
        "bench-plugin" => plugin::bench(),
        "vectors" => vectors::generate(&root().join("tests/vectors")),
        "demo" => demo::run_demo(),
        "build-web" => ensure_wasm_target().and_then(|()| web::build()),
        "sizes" => sizes::check(true),
        "build-plugin" => plugin::build(true).map(|_| ()),
        "build-node" => node_host::build(),
        "test-node" => node_host::test(),
        "lint" => lint(),
        "fuzz" => fuzz::fuzz(rest),
        "fuzz-seeds" => fuzz::seeds(),
        "help" | "--help" | "-h" => {
            println!("{HELP}");
            Ok(())
        }
        other => Err(format!("unknown task {other:?}; try `cargo xtask help`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Cargo's target directory (respects `CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_relative() { root().join(p) } else { p })
        .unwrap_or_else(|| root().join("target"))
}

/// `CARGO_ENCODED_RUSTFLAGS` for a wasm build: `flags`, plus path remapping so the panic
/// locations compiled into the module name crates as `name-version/src/…` rather than this
/// machine's cargo registry path (the same bytes whoever builds, and a little smaller).
pub fn wasm_rustflags(flags: &[&str]) -> String {
    let mut all: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    if let Some(home) = cargo_home {
        let registry = home.join("registry/src");
        for entry in std::fs::read_dir(&registry).into_iter().flatten().flatten() {
            all.push(format!("--remap-path-prefix={}/=", entry.path().display()));
        }
    }
    all.join("\x1f")
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Runs a command in the workspace root, failing with its name if it fails.
pub fn run(cmd: &mut Command) -> Result<(), String> {
    run_in(&root(), cmd)
}

/// Like [`run`], in `dir` instead of the workspace root.
pub fn run_in(dir: &Path, cmd: &mut Command) -> Result<(), String> {
    eprintln!("xtask: running {cmd:?} in {}", dir.display());
    let status = cmd
        .current_dir(dir)
        .status()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed with {status}"))
    }
}

/// `cargo` as invoked by this xtask (respects `$CARGO`).
pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Makes sure the wasm target is installed (fresh machines only have the host target).
pub fn ensure_wasm_target() -> Result<(), String> {
    let installed = |what: &str, name: &str| -> Result<bool, String> {
        let out = Command::new("rustup")
            .args([what, "list", "--installed"])
            .output()
            .map_err(|e| format!("cannot run rustup: {e}"))?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.trim() == name))
    };
    if !installed("target", "wasm32-unknown-unknown")? {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    // The shipped wasm builds rebuild core and alloc from source (see `shipped_wasm`).
    if !installed("component", "rust-src")? {
        run(Command::new("rustup").args(["component", "add", "rust-src"]))?;
    }
    Ok(())
}

/// Rust flags of the shipped (release) wasm builds, added to their own: a panic is an
/// immediate trap, with no message, location or formatting code compiled in, and no
/// source file names either (`-Zlocation-detail=none`: `#[track_caller]` functions such as
/// slice indexing still pass a location, which nothing reads here; 0.9 KB). Each build
/// adds its own LLVM inline threshold ([`PAGE_INLINE_THRESHOLD`],
/// `plugin::PLUGIN_INLINE_THRESHOLD`).
pub const SHIPPED_WASM_FLAGS: [&str; 4] = [
    "-Zunstable-options",
    "-Cpanic=immediate-abort",
    "-Zlocation-detail=none",
    "-Zinline-mir=no",
];

/// The page's LLVM inline threshold: inline only where that makes the code smaller (3.0 KB
/// smaller, measured no slower on 2026-11-30, A/B in one session: the typo-correction
/// search 2.25 and 2.27 ms against 2.41 and 2.26 ms). The page's size budget is the tight
/// one; its speed goals are met with room.
pub const PAGE_INLINE_THRESHOLD: &str = "-Cllvm-args=-inline-threshold=0";

/// Makes `cmd` (a release `cargo build` for wasm) rebuild core and alloc with
/// [`SHIPPED_WASM_FLAGS`]: the precompiled standard library formats every panic message
/// (bounds checks, `expect`), which costs the plugin and the page 4–8 KB each for text no
/// one can read (a panic in either already traps: their panic handlers abort). Both flags
/// are unstable: `RUSTC_BOOTSTRAP=1` enables them on the pinned stable toolchain, as for
/// cargo-fuzz (`cargo xtask fuzz`); the behaviour is the same trap, only smaller.
pub fn shipped_wasm(cmd: &mut Command) {
    cmd.arg("-Zbuild-std=core,alloc")
        .env("RUSTC_BOOTSTRAP", "1");
}

fn build() -> Result<(), String> {
    ensure_wasm_target()?;
    plugin::build(true)?;
    web::build()?;
    // After the page: the CLI embeds it (crate keyward-page).
    run(cargo().args(["build", "--release", "--bin", "keyward"]))?;
    sizes::check(false)
}

fn test() -> Result<(), String> {
    ensure_wasm_target()?;
    // The host embeds the plugin and the browser tests load the page's wasm: build both
    // before the Rust tests run.
    plugin::build(true)?;
    web::build()?;
    // The ledger tests run on PostgreSQL too: a throw-away server, required here.
    let pg = postgres::TempPostgres::start()?;
    // Every step runs even when one before it failed, so one failure does not hide others;
    // the run fails at the end, naming each step that failed.
    let mut failed: Vec<String> = Vec::new();
    let mut step = |name: &str, result: Result<(), String>| {
        if let Err(e) = result {
            failed.push(format!("{name}: {e}"));
        }
    };
    step(
        "Rust tests",
        run(cargo()
            .args(["test", "--workspace", "--all-targets", "--no-fail-fast"])
            .env("KEYWARD_TEST_POSTGRES", &pg.url)
            .env("KEYWARD_REQUIRE_POSTGRES", "1")),
    );
    drop(pg);
    step(
        "doc tests",
        run(cargo().args(["test", "--workspace", "--doc"])),
    );
    // Once more with keyward-web's own features, as in the page's wasm: in the workspace
    // run, the CLI's features (keyward-core's `messages`) are unified into it.
    step(
        "keyward-web",
        run(cargo().args(["test", "-p", "keyward-web"])),
    );
    // keyward-host's optional online activation, against keyward-online's stub service.
    step(
        "keyward-host online",
        run(cargo().args([
            "test",
            "-p",
            "keyward-host",
            "--features",
            "online",
            "--test",
            "online",
        ])),
    );
    // Every saved fuzz input (seeds, local corpus, past findings) through the fuzz targets'
    // bodies, on stable and without cargo-fuzz.
    step("fuzz replay", fuzz::replay());
    step("browser tests", web::test());
    step("Node host tests", node_host::test());
    // The size budgets are gates: over one, the test fails.
    step("size budgets", sizes::check(true));
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} step(s) failed:\n  {}",
            failed.len(),
            failed.join("\n  ")
        ))
    }
}

fn lint() -> Result<(), String> {
    run(cargo().args(["fmt", "--all", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        // keyward-host's optional online activation is linted too.
        "--features",
        "keyward-host/online",
        "--",
        "-D",
        "warnings",
    ]))?;
    // Docs on every public item, and no broken links in them.
    run(cargo()
        .args(["doc", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings"))?;
    fuzz::lint()?;
    // The machine-facts collectors and the state files for the other systems they support:
    // their code is behind `cfg`, so only a build for those targets type-checks it. Not the
    // CLI any more: through keyward-online's HTTPS client it depends on ring, whose build
    // script compiles C and needs a cross C compiler (and an SDK for macOS) that a Linux
    // machine does not have; its non-Unix code is one key-permission check (cli/src/env.rs).
    for target in ["x86_64-pc-windows-gnu", "x86_64-apple-darwin"] {
        let added = Command::new("rustup")
            .args(["target", "add", target])
            .status()
            .is_ok_and(|s| s.success());
        if !added {
            eprintln!(
                "xtask: WARNING: cannot install the {target} target; its code was not checked"
            );
            continue;
        }
        run(cargo().args([
            "clippy",
            "-p",
            "keyward-machine",
            "-p",
            "keyward-files",
            "--target",
            target,
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    Ok(())
}

fn bench() -> Result<(), String> {
    ensure_wasm_target()?;
    run(cargo().args(["bench", "-p", "keyward-core", "--bench", "core"]))?;
    // The merchant service under load, on SQLite and on a throw-away PostgreSQL.
    let pg = postgres::TempPostgres::start()?;
    run(cargo()
        .args([
            "bench",
            "-p",
            "keyward-server",
            "--bench",
            "load",
            "--profile",
            "server-bench",
        ])
        .env("KEYWARD_TEST_POSTGRES", &pg.url))?;
    drop(pg);
    plugin::bench()?;
    web::bench()?;
    Ok(())
}
