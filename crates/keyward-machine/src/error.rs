//! The error type of this crate.

use std::fmt;
use std::path::{Path, PathBuf};

/// Why machine facts could not be read or normalised.
///
/// Its [`Display`](fmt::Display) text is a complete sentence for a person: what is
/// wrong, where, and how to fix it.
#[derive(Debug)]
#[non_exhaustive]
pub enum FactsError {
    /// The facts file could not be read (missing, unreadable, not UTF-8).
    ///
    /// The I/O error is already part of the message, so
    /// [`std::error::Error::source`] does not repeat it; it is available in `error`.
    Read {
        /// The file that was asked for.
        path: PathBuf,
        /// What the operating system reported.
        error: std::io::Error,
    },
    /// The text is not well-formed JSON.
    Syntax {
        /// The file the text came from, if it came from a file.
        path: Option<PathBuf>,
        /// Line of the problem, counting from 1.
        line: usize,
        /// Column of the problem, counting from 1 (0 at the very start of the input).
        column: usize,
        /// What the JSON parser found wrong.
        detail: String,
    },
    /// The JSON object has a field that machine facts do not have (often a typo).
    UnknownField {
        /// The file the text came from, if it came from a file.
        path: Option<PathBuf>,
        /// The name of the unexpected field.
        field: String,
        /// Line of the field, counting from 1.
        line: usize,
        /// Column of the field, counting from 1.
        column: usize,
    },
    /// Well-formed JSON of the wrong shape: not an object, a number where a string is
    /// expected, a field given twice, ...
    InvalidValue {
        /// The file the text came from, if it came from a file.
        path: Option<PathBuf>,
        /// Line of the problem, counting from 1.
        line: usize,
        /// Column of the problem, counting from 1.
        column: usize,
        /// What was expected and what was found.
        detail: String,
    },
    /// An entry of `macs` is not a MAC address.
    InvalidMac {
        /// The entry, as given.
        value: String,
        /// The file it came from, if it came from a file.
        path: Option<PathBuf>,
    },
}

/// The accepted JSON shape, quoted in messages about malformed documents.
const EXAMPLE: &str = r#"{"machine_id": "...", "product_uuid": "...", "board_serial": "...", "disk_serial": "...", "cpu": "...", "macs": ["04:7c:16:5e:e3:5d"]}"#;

impl FactsError {
    /// Records which file the facts came from, for errors that do not know yet.
    pub(crate) fn in_file(mut self, file: &Path) -> Self {
        match &mut self {
            FactsError::Syntax { path, .. }
            | FactsError::UnknownField { path, .. }
            | FactsError::InvalidValue { path, .. }
            | FactsError::InvalidMac { path, .. } => *path = Some(file.to_path_buf()),
            FactsError::Read { .. } => {}
        }
        self
    }
}

/// "the machine facts file `x.json`" or "the machine facts text".
struct Origin<'a>(&'a Option<PathBuf>);

impl fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(path) => write!(f, "the machine facts file `{}`", path.display()),
            None => f.write_str("the machine facts text"),
        }
    }
}

impl fmt::Display for FactsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FactsError::Read { path, error } => write!(
                f,
                "cannot read the machine facts file `{}`: {error}. Check that the path is \
                 right, that the file is readable, and that it is UTF-8 text.",
                path.display()
            ),
            FactsError::Syntax {
                path,
                line,
                column,
                detail,
            } => write!(
                f,
                "{} is not valid JSON at line {line}, column {column}: {detail}. Fix the \
                 syntax there (look for a missing quote, comma or bracket, or a trailing \
                 comma); the expected shape is {EXAMPLE}, with every field optional.",
                Origin(path)
            ),
            FactsError::UnknownField {
                path,
                field,
                line,
                column,
            } => write!(
                f,
                "{} has an unknown field `{field}` at line {line}, column {column}. The \
                 only fields are machine_id, product_uuid, board_serial, disk_serial, cpu \
                 and macs; correct the spelling or remove `{field}`.",
                Origin(path)
            ),
            FactsError::InvalidValue {
                path,
                line,
                column,
                detail,
            } => write!(
                f,
                "{} has a wrong value at line {line}, column {column}: {detail}. The \
                 document must be one object whose fields are strings (or null), except \
                 macs, which is an array of strings: {EXAMPLE}.",
                Origin(path)
            ),
            FactsError::InvalidMac { value, path } => {
                write!(f, "`{value}` is not a MAC address")?;
                if let Some(path) = path {
                    write!(f, " (in `{}`)", path.display())?;
                }
                f.write_str(
                    ". Write each MAC address as six pairs of hex digits, such as \
                     \"04:7c:16:5e:e3:5d\" (\"04-7C-16-5E-E3-5D\", \"047c.165e.e35d\" and \
                     \"047c165ee35d\" are accepted too).",
                )
            }
        }
    }
}

impl std::error::Error for FactsError {}
