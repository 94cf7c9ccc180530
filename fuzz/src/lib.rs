//! # keyward-fuzz
//!
//! The bodies of keyward's fuzz targets, one module per parser surface, shared by the
//! libFuzzer binaries (`fuzz_targets/`, run by `cargo xtask fuzz`) and by the replay test
//! (`tests/replay.rs`, run by `cargo xtask test` on stable without cargo-fuzz).
//!
//! Every target checks properties, not just "no panic": round trips to the canonical form,
//! the same answer from every entry point, and the budget of each parser call ([`limits`]):
//! at most 10 ms of CPU time and a peak of at most 64 × the input (plus a small constant)
//! of heap. Breaking one panics with a sentence saying what broke; libFuzzer then saves the
//! input under `fuzz/artifacts/<target>/`.
//!
//! | target | input | properties |
//! |---|---|---|
//! | [`text`] | any text | every `decode`, `Artifact::parse`, `verdict`, `sniff_kind` agree; decoded ⇒ re-encoding gives the canonical text, which decodes to the same value |
//! | [`bytes`] | any bytes | every `from_bytes` that accepts re-encodes to the identical bytes, and its text decodes to the same value |
//! | [`resigned`] | kind, typo, body | the body re-signed with the test key decodes exactly when its bytes do; one typo is never accepted and its only suggestion is the original |
//! | [`state`] | state blob, operations | the blob reads back canonically; install / apply / remove keep it readable and lose nothing on failure |
//! | [`ids`] | any text | hardware ids, times and license ids re-parse from their normal form |
//! | [`pem`] | any text | keys read from PEM write back to PEM that reads the same keys |
#![deny(unsafe_code)]

// The counting allocator wraps the system one: the only unsafe code in the fuzz targets.
#[allow(unsafe_code)]
pub mod alloc_count;
pub mod bytes;
pub mod context;
pub mod ids;
pub mod limits;
pub mod pem;
pub mod resigned;
pub mod state;
pub mod text;

/// A target's body: runs one input, panics when a property or a limit breaks.
pub type Target = fn(&[u8]);

/// Every target by name, as `cargo xtask fuzz` and the replay test know them.
pub const TARGETS: [(&str, Target); 6] = [
    ("text", text::run),
    ("bytes", bytes::run),
    ("resigned", resigned::run),
    ("state", state::run),
    ("ids", ids::run),
    ("pem", pem::run),
];

/// The input as text: invalid UTF-8 becomes U+FFFD, so every input reaches the parsers.
pub fn lossy(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// `text` shortened for a failure message: long inputs are the rule here.
pub fn short(text: &str) -> String {
    const KEEP: usize = 120;
    match text.char_indices().nth(KEEP) {
        None => format!("{text:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes in all)", &text[..cut], text.len()),
    }
}

/// What a result says, shortened: `ok` or the error.
pub fn outcome<T, E: std::fmt::Debug>(r: &Result<T, E>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => short(&format!("{e:?}")),
    }
}
