//! What every command may need: the global options (state directory, machine facts, the
//! clock), reading inputs (`-` is standard input) and key files, and randomness.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use keyward_core::{
    eval::{check_clock, ClockRollback, Policy},
    Context, HardwareId, LicenseState, MachineFacts, MerchantKey, PublicKey, Timestamp,
    TrustedKeys,
};

use crate::exit::{Error, Exit};
use crate::state::{read_limited, Store};

/// Most bytes read as one artifact (the core rejects anything above 64 KiB with a clear
/// message; this only bounds memory).
const MAX_INPUT: u64 = 1024 * 1024;
/// Most bytes of a key file.
const MAX_KEY_FILE: u64 = 256 * 1024;

/// The global options, resolved.
pub struct Env {
    /// Machine-readable output.
    pub json: bool,
    state_dir: Option<PathBuf>,
    facts_path: Option<PathBuf>,
    now: Option<Timestamp>,
}

/// Where this machine's facts came from, for messages.
pub struct Facts {
    /// The facts.
    pub facts: MachineFacts,
    /// `machine facts from FILE` or `this machine's facts`.
    pub source: String,
}

impl Env {
    /// From the global options.
    pub fn new(
        json: bool,
        state_dir: Option<PathBuf>,
        facts_path: Option<PathBuf>,
        now: Option<Timestamp>,
    ) -> Env {
        Env {
            json,
            state_dir,
            facts_path,
            now,
        }
    }

    /// `--now`, or the system clock.
    pub fn now(&self) -> Timestamp {
        self.now.unwrap_or_else(|| {
            Timestamp(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0),
            )
        })
    }

    /// Checks `ctx.now` against the clock's high-water mark and, with the system clock,
    /// moves the mark forward. `--now` simulates a time: it is checked, never remembered
    /// (a trial of a future date must not lock a buyer out once the real date is back).
    pub fn observe(
        &self,
        state: &mut LicenseState,
        ctx: &Context<'_>,
    ) -> Result<(), ClockRollback> {
        if self.now.is_some() {
            check_clock(ctx.now, state.high_water, &ctx.policy).map(|_| ())
        } else {
            state.observe(ctx)
        }
    }

    /// This machine's facts: `--facts FILE`, or collected from the machine.
    pub fn facts(&self) -> Result<Facts, Error> {
        match &self.facts_path {
            Some(p) => {
                let facts = keyward_machine::from_json_file(p).map_err(|e| match e {
                    // A file that cannot be read is I/O, as everywhere (exit 1).
                    keyward_machine::FactsError::Read { ref error, .. }
                        if error.kind() != std::io::ErrorKind::InvalidData =>
                    {
                        Error::other("io", e.to_string())
                    }
                    _ => Error::new("invalid_facts", Exit::Malformed, e.to_string()),
                })?;
                Ok(Facts {
                    facts,
                    source: format!("machine facts from {}", p.display()),
                })
            }
            None => Ok(Facts {
                facts: keyward_machine::collect(),
                source: "this machine's facts".to_string(),
            }),
        }
    }

    /// The `--facts` file, if given.
    pub fn facts_path(&self) -> Option<&Path> {
        self.facts_path.as_deref()
    }

    /// The state directory: `--state-dir`, or the OS data directory + `keyward`.
    pub fn store(&self) -> Result<Store, Error> {
        let dir = match &self.state_dir {
            Some(d) => d.clone(),
            None => dirs::data_dir().map(|d| d.join("keyward")).ok_or_else(|| {
                Error::other(
                    "no_state_dir",
                    "cannot find this user's data directory (is HOME set?): give one with --state-dir DIR",
                )
            })?,
        };
        Ok(Store::new(dir))
    }

    /// Grace and clock rules (the core's defaults: 3 days of grace, a day of clock
    /// tolerance).
    pub fn policy(&self) -> Policy {
        Policy::default()
    }
}

/// Builds an evaluation context.
pub fn context<'a>(
    trusted: &'a TrustedKeys,
    facts: &'a MachineFacts,
    now: Timestamp,
    policy: Policy,
) -> Context<'a> {
    const NO_EXTRA: &[HardwareId] = &[];
    Context {
        trusted,
        facts,
        hardware_ids: NO_EXTRA,
        now,
        policy,
    }
}

/// Reads an artifact argument: `-` is standard input, an existing file is read, anything
/// else is the text itself.
pub fn read_input(arg: &str) -> Result<String, Error> {
    let bytes = if arg == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_INPUT + 1)
            .read_to_end(&mut buf)
            .map_err(|e| Error::other("io", format!("cannot read standard input: {e}")))?;
        buf
    } else {
        let p = Path::new(arg);
        // Only plausible paths are looked up (a code or pasted text is never a file name).
        if arg.len() < 4096 && !arg.contains('\n') && p.is_file() {
            read_limited(p, MAX_INPUT)?
        } else if looks_like_file_name(arg) {
            return Err(Error::other(
                "io",
                format!(
                    "there is no file {arg}: give the path of the file holding the code, the code itself, or - to read it from standard input"
                ),
            ));
        } else {
            return Ok(unquote(arg.to_string()));
        }
    };
    if bytes.len() as u64 > MAX_INPUT {
        return Err(Error::new(
            "malformed",
            Exit::Malformed,
            "the input is larger than 1 MiB, far larger than any keyward code: give only the code",
        ));
    }
    String::from_utf8(bytes).map(unquote).map_err(|_| {
        Error::new(
            "malformed",
            Exit::Malformed,
            "the input is not text (not UTF-8): give the code as text, not a binary file",
        )
    })
}

/// An e-mail reply quotes text with `>` at the start of each line (`> `, `>> `, `> > `).
/// When every non-blank line is quoted, the quote marks are replaced by spaces, which
/// keyward ignores, so positions in the text (of a typo) stay those of the text given.
pub fn unquote(text: String) -> String {
    let quoted = |l: &&str| l.trim_start().starts_with('>');
    let mut lines = text.lines().filter(|l| !l.trim().is_empty()).peekable();
    if lines.peek().is_none() || !lines.all(|l| quoted(&l)) {
        return text;
    }
    text.split_inclusive('\n')
        .map(|line| {
            // '>', spaces and tabs are one byte each: the prefix's length in bytes is its
            // length in characters.
            let rest = line.trim_start_matches(['>', ' ', '\t']);
            let n = line.len() - rest.len();
            format!("{}{rest}", " ".repeat(n))
        })
        .collect()
}

/// A missing file named like one (`cert.txt`, `in/req.txt`), rather than a code: codes
/// have no `.` or `/`, and hardware ids have a `kind:` prefix.
fn looks_like_file_name(arg: &str) -> bool {
    const EXTENSIONS: [&str; 10] = [
        "txt", "pem", "crt", "cert", "req", "lic", "key", "json", "asc", "jsonl",
    ];
    !arg.contains(':')
        && !arg.chars().any(char::is_whitespace)
        && Path::new(arg)
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn read_key_file(path: &Path) -> Result<String, Error> {
    let bytes = read_limited(path, MAX_KEY_FILE)?;
    String::from_utf8(bytes).map_err(|_| {
        Error::new(
            "invalid_key",
            Exit::Malformed,
            format!(
                "{} is not a PEM key file (not text): give the file written by `keyward keys generate`",
                path.display()
            ),
        )
    })
}

/// Reads the merchant's private key (PKCS#8 PEM, as written by `keyward keys generate` or
/// `openssl genpkey -algorithm ed25519`).
pub fn load_merchant_key(path: &Path) -> Result<MerchantKey, Error> {
    let text = read_key_file(path)?;
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return Err(Error::new(
            "invalid_key",
            Exit::Malformed,
            format!(
                "{} is an encrypted private key: encrypted keys are not supported; decrypt it with `openssl pkey -in {} -out plain.pem` (and keep plain.pem with mode 0600)",
                path.display(),
                path.display()
            ),
        ));
    }
    warn_if_readable_by_others(path);
    if text.contains("-----BEGIN PUBLIC KEY-----") && !text.contains("PRIVATE KEY-----") {
        return Err(Error::new(
            "invalid_key",
            Exit::Malformed,
            format!(
                "{} holds a public key; signing needs the private key (the file without .pub)",
                path.display()
            ),
        ));
    }
    MerchantKey::from_pem(&text)
        .map_err(|e| Error::core(&e, Some(&format!("key file {}", path.display()))))
}

/// Warns when a private key file can be read by other users than its owner.
#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(path) {
        let mode = m.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            errln!(
                "keyward: warning: the private key {} can be read by other users (mode {mode:04o}): whoever reads it can issue licenses; run `chmod 600 {}`",
                path.display(),
                path.display()
            );
        }
    }
}

/// Other systems have no such mode bits.
#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

/// Reads trusted public keys: every `PUBLIC KEY` block of the file (several are allowed,
/// for key rotation). A private key file is accepted too: its public key is used.
/// Returns the keys and their PEM text.
pub fn load_trusted(path: &Path) -> Result<(TrustedKeys, String), Error> {
    let text = read_key_file(path)?;
    if !text.contains("-----BEGIN PUBLIC KEY-----") && text.contains("-----BEGIN PRIVATE KEY-----")
    {
        let key = load_merchant_key(path)?;
        let pem = key.public().to_pem();
        return Ok((TrustedKeys::from_keys([key.public()]), pem));
    }
    let keys = TrustedKeys::from_pem(&text)
        .map_err(|e| Error::core(&e, Some(&format!("public key file {}", path.display()))))?;
    let pem = keys.keys().iter().map(PublicKey::to_pem).collect();
    Ok((keys, pem))
}

/// `N` bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], Error> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| {
        Error::other(
            "no_randomness",
            format!("the operating system's random number generator failed: {e}"),
        )
    })?;
    Ok(b)
}

/// Parses a date option: RFC 3339 or `YYYY-MM-DD` (midnight UTC). For clap.
pub fn parse_time(s: &str) -> Result<Timestamp, String> {
    Timestamp::parse(s).ok_or_else(|| {
        format!("{s:?} is not a date: write 2026-11-20 or 2026-11-20T08:00:00Z (RFC 3339)")
    })
}

/// Lower-case hex (keyward-core's, the one encoder every form uses).
pub use keyward_core::raw::hex;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquote_replaces_quote_marks_of_every_line() {
        assert_eq!(unquote("> a\n>> b\n\n> > c".into()), "  a\n   b\n\n    c");
        // Not every line quoted: left as it is.
        assert_eq!(unquote("a\n> b".into()), "a\n> b");
        assert_eq!(unquote("".into()), "");
    }
}
