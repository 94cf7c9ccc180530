//! Exit codes and the CLI's error type.
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

impl Exit {
    /// The numeric code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The class of a [`keyward_core::Error::code`] (and the CLI's own error codes).
    pub fn for_error_code(code: &str) -> Exit {
        match code {
            "typo"
            | "empty"
            | "not_a_keyward_code"
            | "unsupported_version"
            | "malformed"
            | "invalid_input"
            | "invalid_hardware_id"
            | "invalid_key"
            | "marketplace_code"
            | "invalid_row"
            | "invalid_facts" => Exit::Malformed,
            "bad_signature" | "unknown_key" => Exit::Signature,
            "wrong_kind" => Exit::WrongKind,
            "usage" => Exit::Usage,
            other => Exit::for_status_code(other),
        }
    }

    /// The class of a [`keyward_core::Status::code`] or verdict code (`valid`,
    /// `unverified` are successes).
    pub fn for_status_code(code: &str) -> Exit {
        match code {
            "active" | "in_grace" | "valid" | "unverified" => Exit::Ok,
            "expired" | "not_yet_valid" => Exit::Validity,
            "machine_mismatch" => Exit::Machine,
            "frozen" | "released" => Exit::Frozen,
            "clock_rolled_back" => Exit::Clock,
            "no_license" => Exit::NoLicense,
            "bad_signature" | "unknown_key" => Exit::Signature,
            "wrong_kind" => Exit::WrongKind,
            _ => Exit::Other,
        }
    }
}

/// A failure, as shown to people (`keyward: <message>` on stderr) and programs (the
/// `{"error": {...}}` object with `--json`).
#[derive(Clone, Debug)]
pub struct CliError {
    /// Stable snake_case code (`typo`, `bad_signature`, `io`, …).
    pub code: String,
    /// A sentence saying what is wrong and how to fix it.
    pub message: String,
    /// The exit code.
    pub exit: Exit,
    /// A correction, when a typo has exactly one.
    pub suggestion: Option<String>,
}

impl CliError {
    /// An error with an explicit code and exit class.
    pub fn new(code: &str, exit: Exit, message: impl Into<String>) -> CliError {
        CliError {
            code: code.to_string(),
            message: message.into(),
            exit,
            suggestion: None,
        }
    }

    /// An I/O or other failure (exit 1).
    pub fn other(code: &str, message: impl Into<String>) -> CliError {
        CliError::new(code, Exit::Other, message)
    }

    /// A file could not be read or written.
    pub fn io(action: &str, path: &Path, err: &std::io::Error) -> CliError {
        CliError::other("io", format!("cannot {action} {}: {err}", path.display()))
    }

    /// From a core error, with `context` (e.g. a file name) put in front of its message.
    pub fn core(err: &keyward_core::Error, context: Option<&str>) -> CliError {
        let message = match context {
            Some(c) => format!("{c}: {err}"),
            None => err.to_string(),
        };
        CliError {
            code: err.code().to_string(),
            exit: Exit::for_error_code(err.code()),
            message,
            suggestion: err.suggestion().map(str::to_string),
        }
    }

    /// From a license status that is not usable.
    pub fn status(status: &keyward_core::Status, extra: &str) -> CliError {
        CliError::new(
            status.code(),
            Exit::for_status_code(status.code()),
            format!("{}{extra}", status.describe()),
        )
    }
}

impl From<keyward_core::Error> for CliError {
    fn from(e: keyward_core::Error) -> Self {
        CliError::core(&e, None)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The result of a command: the exit code on success (a command may succeed at what it
/// did and still report a non-zero class, e.g. `status` of an expired license).
pub type CmdResult = Result<Exit, CliError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(Exit::for_error_code("typo").code(), 3);
        assert_eq!(Exit::for_error_code("marketplace_code").code(), 3);
        assert_eq!(Exit::for_error_code("unknown_key").code(), 4);
        assert_eq!(Exit::for_error_code("wrong_kind").code(), 9);
        assert_eq!(Exit::for_status_code("active").code(), 0);
        assert_eq!(Exit::for_status_code("in_grace").code(), 0);
        assert_eq!(Exit::for_status_code("not_yet_valid").code(), 5);
        assert_eq!(Exit::for_status_code("machine_mismatch").code(), 6);
        assert_eq!(Exit::for_status_code("released").code(), 7);
        assert_eq!(Exit::for_status_code("clock_rolled_back").code(), 8);
        assert_eq!(Exit::for_status_code("no_license").code(), 10);
        assert_eq!(Exit::for_error_code("io").code(), 1);
    }
}
