//! Stub: replaced by the web tasks (build, test, bench).

/// Builds web/pkg.
pub fn build() -> Result<(), String> {
    Err("web build is not written yet".into())
}

/// Browser tests.
pub fn test() -> Result<(), String> {
    Err("web test is not written yet".into())
}

/// Page benchmarks.
pub fn bench() -> Result<(), String> {
    Err("web bench is not written yet".into())
}
