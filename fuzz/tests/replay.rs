//! Replays every saved input of every fuzz target through the same bodies libFuzzer runs,
//! with the same properties and limits, on stable and without cargo-fuzz:
//!
//! - `fuzz/regressions/<target>/`: every past finding (committed; see its README.md);
//! - `fuzz/seeds/<target>/`: the seeds `cargo xtask fuzz-seeds` makes from `tests/vectors/`;
//! - `fuzz/corpus/<target>/`: what libFuzzer saved on this machine, if anything.
//!
//! `cargo xtask test` makes the seeds and runs this.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Once;

use keyward_fuzz::TARGETS;

/// Findings whose fix has not landed yet: (target, file in `regressions/<target>/`). Their
/// replay must fail; once one passes, this test says so, and it comes off the list.
const EXPECTED_FAILURES: &[(&str, &str)] = &[];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The input files of `target` under `fuzz/<folder>/`, sorted (none if the folder is absent).
fn inputs(folder: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(folder).join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !name.starts_with('.') && !name.ends_with(".md")
        })
        .collect();
    files.sort();
    files
}

/// A failure's message, cut to a readable length (states and 64 KB inputs print long).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic without a message".into());
    match message.char_indices().nth(600) {
        Some((cut, _)) => format!("{}… ({} characters in all)", &message[..cut], message.len()),
        None => message,
    }
}

thread_local! {
    static REPLAYING: Cell<bool> = const { Cell::new(false) };
}

/// Panics inside a replayed input are collected and reported once, in short: keep the
/// default hook (message and backtrace) for everything else.
fn quiet_replays() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !REPLAYING.with(Cell::get) {
                default(info);
            }
        }));
    });
}

fn replay(target: &str) {
    keyward_fuzz::limits::set_time_factor(keyward_fuzz::limits::REPLAY_TIME_FACTOR);
    let run = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, run)| *run)
        .expect("a known target");
    let mut problems = Vec::new();
    let mut replayed = 0;
    for folder in ["regressions", "seeds", "corpus"] {
        for path in inputs(folder, target) {
            let data = std::fs::read(&path).expect("a readable input");
            let file = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let expected = folder == "regressions" && EXPECTED_FAILURES.contains(&(target, file));
            quiet_replays();
            REPLAYING.with(|r| r.set(true));
            let outcome = catch_unwind(AssertUnwindSafe(|| run(&data)));
            REPLAYING.with(|r| r.set(false));
            replayed += 1;
            match (outcome, expected) {
                (Ok(()), false) => {}
                (Err(_), true) => {
                    eprintln!("expected failure (fix not landed yet): {}", path.display())
                }
                (Ok(()), true) => problems.push(format!(
                    "{} now passes: take it off EXPECTED_FAILURES in fuzz/tests/replay.rs",
                    path.display()
                )),
                (Err(p), false) => {
                    problems.push(format!("{}: {}", path.display(), panic_message(&*p)))
                }
            }
        }
    }
    assert!(
        replayed > 0,
        "no inputs for the {target} target: run `cargo xtask fuzz-seeds` first"
    );
    eprintln!("{target}: {replayed} inputs replayed");
    assert!(
        problems.is_empty(),
        "{} of {replayed} {target} inputs failed:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn text() {
    replay("text");
}

#[test]
fn bytes() {
    replay("bytes");
}

#[test]
fn resigned() {
    replay("resigned");
}

#[test]
fn state() {
    replay("state");
}

#[test]
fn ids() {
    replay("ids");
}

#[test]
fn pem() {
    replay("pem");
}

#[test]
fn every_target_is_replayed_and_every_listed_failure_exists() {
    let tested = ["text", "bytes", "resigned", "state", "ids", "pem"];
    for (name, _) in TARGETS {
        assert!(
            tested.contains(&name),
            "no replay test for the {name} target"
        );
    }
    // `cargo xtask fuzz` runs the binaries of fuzz_targets/: each must be a target here.
    for entry in std::fs::read_dir(fuzz_dir().join("fuzz_targets")).expect("fuzz_targets/") {
        let name = entry.expect("an entry").file_name();
        let name = name.to_string_lossy();
        let name = name.strip_suffix(".rs").unwrap_or(&name);
        assert!(
            TARGETS.iter().any(|(t, _)| *t == name),
            "fuzz_targets/{name}.rs is not in keyward_fuzz::TARGETS"
        );
    }
    let readme = std::fs::read_to_string(fuzz_dir().join("regressions/README.md"))
        .expect("fuzz/regressions/README.md");
    for (target, _) in TARGETS {
        for path in inputs("regressions", target) {
            let file = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            assert!(
                readme.contains(&format!("`{target}/{file}`")),
                "regressions/{target}/{file} has no line in fuzz/regressions/README.md"
            );
        }
    }
    for (target, file) in EXPECTED_FAILURES {
        let path = fuzz_dir().join("regressions").join(target).join(file);
        assert!(path.is_file(), "{} is listed but missing", path.display());
    }
}
