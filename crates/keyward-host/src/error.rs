//! One error type for the embedding: what the plugin refused, what the sandbox stopped, and
//! what went wrong loading it.

use std::fmt;
use std::path::PathBuf;

/// Why a call did not succeed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The plugin refused the input: a typo, a bad signature, a license for another machine,
    /// … `code` is the stable keyward code (`typo`, `bad_signature`, `machine_mismatch`,
    /// `expired`, `wrong_kind`, …), the same as the CLI's and the page's.
    Refused {
        /// Stable machine-readable code.
        code: keyward_core::ErrorCode,
        /// A sentence a buyer can act on.
        message: String,
        /// A corrected code, when a typo has exactly one correction.
        suggestion: Option<String>,
    },
    /// The sandbox stopped the plugin: it ran past its time or fuel budget, asked for more
    /// memory than allowed, or trapped. The call had no effect on the saved state; the next
    /// call runs in a fresh instance.
    Sandbox {
        /// `time_limit`, `fuel_limit`, `memory_limit` or `trap`.
        code: &'static str,
        /// What happened.
        message: String,
    },
    /// No plugin was embedded at build time and no `plugin_path` was given.
    NoPlugin,
    /// The plugin file could not be compiled or instantiated (not a keyward plugin, or one
    /// for another version of the contract).
    Plugin {
        /// What went wrong.
        message: String,
    },
    /// The trusted keys could not be read.
    Keys {
        /// What is wrong with them.
        message: String,
    },
    /// A required setting is missing or invalid.
    Config {
        /// Which setting, and why.
        message: String,
    },
    /// The merchant service could not be reached, refused, or answered unlike one
    /// (`activate_online`, `fetch_updates`; feature `online`). `code` is the service's
    /// stable code for a refusal (`no_seat_left`, `not_found`, …), else `unreachable`,
    /// `bad_server_url` or `bad_response`.
    Online {
        /// Stable code.
        code: String,
        /// What happened and what to do.
        message: String,
        /// The service's suggestion (a corrected code), if any.
        suggestion: Option<String>,
    },
    /// A file or directory could not be read or written.
    Io {
        /// Which one.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl Error {
    /// A stable code: the plugin's code for [`Error::Refused`], the sandbox's for
    /// [`Error::Sandbox`], the service's for [`Error::Online`], otherwise `no_plugin`,
    /// `plugin`, `invalid_key`, `config` or `io`.
    pub fn code(&self) -> &str {
        match self {
            Error::Refused { code, .. } => code.as_str(),
            Error::Sandbox { code, .. } => code,
            Error::NoPlugin => "no_plugin",
            Error::Plugin { .. } => "plugin",
            Error::Keys { .. } => "invalid_key",
            Error::Config { .. } => "config",
            Error::Online { code, .. } => code,
            Error::Io { .. } => "io",
        }
    }

    /// The offered correction, when the plugin found a typo with exactly one.
    pub fn suggestion(&self) -> Option<&str> {
        match self {
            Error::Refused { suggestion, .. } | Error::Online { suggestion, .. } => {
                suggestion.as_deref()
            }
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Refused { message, .. } => f.write_str(message),
            Error::Sandbox { message, .. } => write!(f, "the license plugin was stopped: {message}"),
            Error::NoPlugin => f.write_str(
                "no license plugin: this build did not embed one (run `cargo xtask build` before building, or set KEYWARD_PLUGIN_WASM) and no plugin_path was given",
            ),
            Error::Plugin { message } => write!(f, "cannot load the license plugin: {message}"),
            Error::Keys { message } => write!(f, "invalid trusted keys: {message}"),
            Error::Config { message } => f.write_str(message),
            Error::Online { message, .. } => f.write_str(message),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
