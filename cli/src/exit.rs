//! Exit codes and the CLI's error type.
//!
//! Every failure class has its own exit code (documented in `docs/CLI.md`), derived from
//! keyward-core's [`ErrorCode`], [`StatusCode`] and [`VerdictCode`].

use std::fmt;
use std::path::Path;

use keyward_core::{ErrorCode, StatusCode, VerdictCode};

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

    /// The class of a refusal code.
    pub fn for_error(code: ErrorCode) -> Exit {
        match code {
            ErrorCode::Typo
            | ErrorCode::Empty
            | ErrorCode::NotAKeywardCode
            | ErrorCode::UnsupportedVersion
            | ErrorCode::Malformed
            | ErrorCode::InvalidInput
            | ErrorCode::InvalidHardwareId
            | ErrorCode::InvalidKey
            | ErrorCode::MarketplaceCode => Exit::Malformed,
            ErrorCode::BadSignature | ErrorCode::UnknownKey => Exit::Signature,
            ErrorCode::WrongKind => Exit::WrongKind,
            ErrorCode::Expired | ErrorCode::NotYetValid => Exit::Validity,
            ErrorCode::MachineMismatch => Exit::Machine,
            ErrorCode::Frozen | ErrorCode::Released => Exit::Frozen,
            ErrorCode::ClockRolledBack => Exit::Clock,
            ErrorCode::NoLicense => Exit::NoLicense,
            _ => Exit::Other,
        }
    }

    /// The class of a license state.
    pub fn for_status(code: StatusCode) -> Exit {
        match code.refusal() {
            None => Exit::Ok,
            Some(e) => Exit::for_error(e),
        }
    }

    /// The class of a verdict (`valid` and `unverified` are successes).
    pub fn for_verdict(code: VerdictCode) -> Exit {
        match code {
            VerdictCode::Valid | VerdictCode::Unverified => Exit::Ok,
            VerdictCode::Status(s) => Exit::for_status(s),
            VerdictCode::Error(e) => Exit::for_error(e),
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
            code: err.code().as_str().to_string(),
            exit: Exit::for_error(err.code()),
            message,
            suggestion: err.suggestion().map(str::to_string),
        }
    }

    /// From a license status that is not usable.
    pub fn status(status: &keyward_core::Status, extra: &str) -> CliError {
        CliError::new(
            status.code().as_str(),
            Exit::for_status(status.code()),
            format!("{}{extra}", crate::output::describe(status)),
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
        assert_eq!(Exit::for_error(ErrorCode::Typo).code(), 3);
        assert_eq!(Exit::for_error(ErrorCode::MarketplaceCode).code(), 3);
        assert_eq!(Exit::for_error(ErrorCode::UnknownKey).code(), 4);
        assert_eq!(Exit::for_error(ErrorCode::WrongKind).code(), 9);
        assert_eq!(Exit::for_status(StatusCode::Active).code(), 0);
        assert_eq!(Exit::for_status(StatusCode::InGrace).code(), 0);
        assert_eq!(Exit::for_status(StatusCode::NotYetValid).code(), 5);
        assert_eq!(Exit::for_status(StatusCode::MachineMismatch).code(), 6);
        assert_eq!(Exit::for_status(StatusCode::Released).code(), 7);
        assert_eq!(Exit::for_status(StatusCode::ClockRolledBack).code(), 8);
        assert_eq!(Exit::for_status(StatusCode::NoLicense).code(), 10);
        assert_eq!(Exit::for_verdict(VerdictCode::Unverified).code(), 0);
        assert_eq!(Exit::for_error(ErrorCode::NoRandomness).code(), 1);
    }
}
