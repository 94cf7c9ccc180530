//! Exit codes and the CLI's error type, `Error` (the concept is *error* everywhere:
//! keyward-core's `Error`, keyward-host's `Error`; see docs/GLOSSARY.md).
//!
//! Every failure class has its own exit code (documented in `docs/CLI.md`), derived from
//! the stable codes of [`keyward_core::Error::code`] and [`keyward_core::Status::code`].

use std::fmt;
use std::path::Path;

/// The process exit codes, one per failure class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Success; for `status`, a license is active (or in grace).
    Ok = 0,
    /// I/O or any other error.
    Other = 1,
    /// Usage error (reported by clap).
    Usage = 2,
    /// Malformed input: typos, not a keyward code, bad hardware id, bad key file.
    Malformed = 3,
    /// Signature: altered or forged (`bad_signature`), or signed by an untrusted key.
    Signature = 4,
    /// Expired or not yet valid.
    Validity = 5,
    /// Bound to another machine.
    Machine = 6,
    /// Frozen or released by the merchant.
    Frozen = 7,
    /// The clock was turned back.
    Clock = 8,
    /// A valid artifact of the wrong kind for this command.
    WrongKind = 9,
    /// No license installed.
    NoLicense = 10,
}

/// Every stable code the CLI reports — keyward-core's error and status codes, the
/// verdicts, and the CLI's own — with its exit code: the one mapping from a code to an
/// exit code, for every command. docs/CLI.md lists the same table (a test checks that
/// they agree). A code not listed exits 1.
pub const TABLE: &[(&str, Exit)] = &[
    // Success; for `status`, a usable license.
    ("active", Exit::Ok),
    ("in_grace", Exit::Ok),
    ("valid", Exit::Ok),
    ("unverified", Exit::Ok),
    // I/O and the environment.
    ("io", Exit::Other),
    ("file_exists", Exit::Other),
    ("corrupt_state", Exit::Other),
    ("state_busy", Exit::Other),
    ("state_read_only", Exit::Other),
    ("state_not_a_directory", Exit::Other),
    ("state_unreadable", Exit::Other),
    ("no_state_dir", Exit::Other),
    ("no_keys", Exit::Other),
    ("no_facts", Exit::Other),
    ("no_randomness", Exit::Other),
    ("counter_corrupt", Exit::Other),
    ("counter_full", Exit::Other),
    ("no_page", Exit::Other),
    ("internal", Exit::Other),
    // The merchant service (`--server`): unreachable, or refusing.
    ("unreachable", Exit::Other),
    ("bad_response", Exit::Other),
    ("no_seat_left", Exit::Other),
    ("not_found", Exit::Other),
    ("no_deactivation_code", Exit::Other),
    ("conflict", Exit::Other),
    // The command line.
    ("usage", Exit::Usage),
    ("output_is_input", Exit::Usage),
    ("bad_server_url", Exit::Usage),
    // Malformed input.
    ("typo", Exit::Malformed),
    ("pasted_twice", Exit::Malformed),
    ("incomplete", Exit::Malformed),
    ("empty", Exit::Malformed),
    ("not_a_keyward_code", Exit::Malformed),
    ("unsupported_version", Exit::Malformed),
    ("malformed", Exit::Malformed),
    ("marketplace_code", Exit::Malformed),
    ("invalid_input", Exit::Malformed),
    // The merchant service's refusal of a value it was sent (`keyward admin issue --days 0`).
    ("bad_request", Exit::Malformed),
    ("invalid_hardware_id", Exit::Malformed),
    ("invalid_key", Exit::Malformed),
    ("invalid_facts", Exit::Malformed),
    ("invalid_row", Exit::Malformed),
    ("invalid_product_file", Exit::Malformed),
    // Signatures.
    ("bad_signature", Exit::Signature),
    ("unknown_key", Exit::Signature),
    // Validity in time.
    ("expired", Exit::Validity),
    ("not_yet_valid", Exit::Validity),
    // Machine.
    ("machine_mismatch", Exit::Machine),
    ("deactivation_mismatch", Exit::Machine),
    // The merchant's updates.
    ("frozen", Exit::Frozen),
    ("released", Exit::Frozen),
    // Clock.
    ("clock_rolled_back", Exit::Clock),
    // A valid thing in the wrong place.
    ("wrong_kind", Exit::WrongKind),
    ("wrong_product", Exit::WrongKind),
    // Nothing installed.
    ("no_license", Exit::NoLicense),
];

impl Exit {
    /// The numeric code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The exit code of a stable code (error, status or verdict), from [`TABLE`].
    pub fn of(code: &str) -> Exit {
        TABLE
            .iter()
            .find(|(c, _)| *c == code)
            .map_or(Exit::Other, |(_, e)| *e)
    }
}

/// A failure, as shown to people (`keyward: <message>` on stderr) and programs (the
/// `{"error": {...}}` object with `--json`).
#[derive(Clone, Debug)]
pub struct Error {
    /// Stable snake_case code (`typo`, `bad_signature`, `io`, …).
    pub code: String,
    /// A sentence saying what is wrong and how to fix it.
    pub message: String,
    /// The exit code.
    pub exit: Exit,
    /// A correction, when a typo has exactly one.
    pub suggestion: Option<String>,
}

impl Error {
    /// An error with an explicit code and exit class.
    pub fn new(code: &str, exit: Exit, message: impl Into<String>) -> Error {
        Error {
            code: code.to_string(),
            message: message.into(),
            exit,
            suggestion: None,
        }
    }

    /// An I/O or other failure (exit 1).
    pub fn other(code: &str, message: impl Into<String>) -> Error {
        Error::new(code, Exit::Other, message)
    }

    /// A file could not be read or written.
    pub fn io(action: &str, path: &Path, err: &std::io::Error) -> Error {
        Error::other("io", format!("cannot {action} {}: {err}", path.display()))
    }

    /// From a core error, with `context` (e.g. a file name) put in front of its message.
    pub fn core(err: &keyward_core::Error, context: Option<&str>) -> Error {
        let message = match context {
            Some(c) => format!("{c}: {err}"),
            None => err.to_string(),
        };
        Error {
            code: err.code().to_string(),
            exit: Exit::of(err.code().as_str()),
            message,
            suggestion: err.suggestion().map(str::to_string),
        }
    }

    /// The same error with `context` (an option name) put in front of its message.
    pub fn context(mut self, context: &str) -> Error {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// From a license status that is not usable.
    pub fn status(status: &keyward_core::Status, extra: &str) -> Error {
        Error::new(
            status.code().as_str(),
            Exit::of(status.code().as_str()),
            format!("{}{extra}", status.describe()),
        )
    }
}

impl From<keyward_core::Error> for Error {
    fn from(e: keyward_core::Error) -> Self {
        Error::core(&e, None)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The result of a command: the exit code on success (a command may succeed at what it
/// did and still report a non-zero class, e.g. `status` of an expired license).
pub type CmdResult = Result<Exit, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_entry_per_code() {
        for (i, (c, _)) in TABLE.iter().enumerate() {
            assert!(
                !TABLE[..i].iter().any(|(d, _)| d == c),
                "{c} is listed twice"
            );
        }
        assert_eq!(Exit::of("typo").code(), 3);
        assert_eq!(Exit::of("unknown_key").code(), 4);
        assert_eq!(Exit::of("in_grace").code(), 0);
        assert_eq!(Exit::of("no_license").code(), 10);
        assert_eq!(Exit::of("something new").code(), 1);
    }

    /// Every code the CLI's sources name when they make an error is in the table.
    #[test]
    fn every_code_the_cli_makes_is_in_the_table() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = vec![src.clone()];
        let mut seen = 0;
        while let Some(p) = files.pop() {
            if p.is_dir() {
                files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            for start in ["Error::new(", "Error::other("] {
                for (i, _) in text.match_indices(start) {
                    let rest = text[i + start.len()..].trim_start();
                    let Some(rest) = rest.strip_prefix('"') else {
                        continue;
                    };
                    let code = &rest[..rest.find('"').unwrap()];
                    if code.is_empty() || code.contains(' ') || code.contains('{') {
                        continue;
                    }
                    seen += 1;
                    assert!(
                        TABLE.iter().any(|(c, _)| *c == code),
                        "{code} ({}) is not in exit::TABLE",
                        p.display()
                    );
                }
            }
        }
        assert!(seen > 20, "{seen}");
    }

    /// docs/CLI.md's exit-code table lists exactly these codes, with the same exit codes.
    #[test]
    fn the_documented_table_is_this_table() {
        let docs = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/CLI.md"),
        )
        .unwrap();
        let section = &docs[docs.find("## Exit codes").unwrap()..];
        let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
        let mut documented = Vec::new();
        for line in section.lines().filter(|l| l.starts_with("| ")) {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let Ok(exit) = cells[1].parse::<u8>() else {
                continue;
            };
            for code in cells[3].split(',').map(|c| c.trim().trim_matches('`')) {
                if !code.is_empty() {
                    documented.push((code.to_string(), exit));
                }
            }
        }
        for (code, exit) in TABLE {
            assert!(
                documented
                    .iter()
                    .any(|(c, e)| c == code && *e == exit.code()),
                "docs/CLI.md does not list {code} under exit {}",
                exit.code()
            );
        }
        for (code, exit) in &documented {
            assert_eq!(Exit::of(code).code(), *exit, "docs/CLI.md: {code}");
        }
    }
}
