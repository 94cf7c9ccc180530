//! Stub: replaced by the plugin tasks (build, test, bench).

use std::path::PathBuf;

/// Builds the plugin artifact.
pub fn build(_release: bool) -> Result<PathBuf, String> {
    Err("plugin build is not written yet".into())
}

/// Plugin benchmarks.
pub fn bench() -> Result<(), String> {
    Err("plugin bench is not written yet".into())
}
