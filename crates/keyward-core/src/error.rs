//! Errors: values with a stable machine code and a sentence a buyer can act on.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::keys::KeyId;
use crate::text::Kind;

/// One group of a code whose check symbol does not match.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Typo {
    /// 1-based group number, not counting the `KA1` prefix.
    pub group: usize,
    /// 1-based character position in the pasted text where the group starts.
    pub first_position: usize,
    /// 1-based character position in the pasted text where the group ends.
    pub last_position: usize,
}

/// What is wrong with the text of a code, found before any signature is checked.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodeError {
    /// Nothing was pasted.
    Empty,
    /// Far more text than any keyward artifact.
    TooLong {
        /// Bytes received.
        len: usize,
        /// Bytes accepted.
        max: usize,
    },
    /// The text does not start with a keyward prefix such as `KA1`.
    UnknownPrefix,
    /// A keyward code of a version this build does not know.
    UnsupportedVersion {
        /// Kind named by the prefix.
        kind: Kind,
        /// Version digit found.
        version: u8,
    },
    /// A character that cannot appear in a code.
    InvalidCharacter {
        /// The character (after full-width folding).
        character: char,
        /// 1-based position in the pasted text.
        position: usize,
    },
    /// The number of characters cannot be right: some are missing or extra.
    BadLength {
        /// Kind named by the prefix.
        kind: Kind,
        /// Code characters found after the prefix.
        symbols: usize,
    },
    /// One or more groups fail their check symbol: a mistyped or swapped character.
    Typo {
        /// Kind named by the prefix.
        kind: Kind,
        /// The failing groups.
        groups: Vec<Typo>,
        /// The one single-character correction that makes the code fully valid, if exactly
        /// one does (only filled in when trusted keys were available to check it).
        suggestion: Option<String>,
        /// The length or the pattern of failing groups says a character was dropped or
        /// typed twice, in or near the first group listed.
        missing_or_extra: bool,
    },
}

/// Why an artifact was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The text is not a well-formed code (typos, bad characters, wrong length).
    Code(CodeError),
    /// The code's checks pass but its contents are not a canonical artifact.
    Malformed {
        /// Kind being decoded.
        kind: Kind,
        /// Byte offset in the decoded contents where decoding failed.
        offset: usize,
        /// What was wrong there.
        reason: &'static str,
    },
    /// A valid code of another kind than the one expected here.
    WrongKind {
        /// What this field or command takes.
        expected: Kind,
        /// What was pasted.
        found: Kind,
    },
    /// Signed by a key that is not among the trusted keys.
    UnknownKey {
        /// Key id found in the artifact.
        key_id: KeyId,
    },
    /// The signature does not verify: the artifact was altered or forged.
    BadSignature {
        /// Kind of the artifact.
        kind: Kind,
    },
    /// An argument given to an issuing function is out of range.
    InvalidInput {
        /// Which field.
        field: &'static str,
        /// What is allowed.
        reason: String,
    },
    /// A hardware identification code that is not valid for its kind.
    InvalidHardwareId {
        /// Why, in words.
        reason: String,
    },
    /// A key file that cannot be read as an Ed25519 key.
    InvalidKey {
        /// Why, in words.
        reason: String,
    },
    /// A marketplace authorization code (`PL…`): only the merchant's service can exchange
    /// it for a keyward code.
    MarketplaceCode,
    /// A stored license state that cannot be read (truncated, damaged, other version).
    CorruptState {
        /// What is wrong.
        reason: &'static str,
    },
    /// Armour lines are missing or do not match.
    BadArmor {
        /// What is wrong.
        reason: &'static str,
    },
}

impl Error {
    /// Stable machine-readable code: the same string in the CLI's JSON, WIT and the page.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Code(e) => e.code(),
            Error::Malformed { .. } => "malformed",
            Error::BadArmor { .. } => "malformed",
            Error::WrongKind { .. } => "wrong_kind",
            Error::UnknownKey { .. } => "unknown_key",
            Error::BadSignature { .. } => "bad_signature",
            Error::InvalidInput { .. } => "invalid_input",
            Error::InvalidHardwareId { .. } => "invalid_hardware_id",
            Error::InvalidKey { .. } => "invalid_key",
            Error::MarketplaceCode => "marketplace_code",
            Error::CorruptState { .. } => "corrupt_state",
        }
    }

    /// The groups whose check symbol fails, when this is a typo (else empty).
    pub fn typos(&self) -> &[Typo] {
        match self {
            Error::Code(CodeError::Typo { groups, .. }) => groups,
            _ => &[],
        }
    }

    /// The offered correction, when a typo has exactly one.
    pub fn suggestion(&self) -> Option<&str> {
        match self {
            Error::Code(CodeError::Typo { suggestion, .. }) => suggestion.as_deref(),
            _ => None,
        }
    }
}

impl CodeError {
    /// Stable machine-readable code, as [`Error::code`].
    pub fn code(&self) -> &'static str {
        match self {
            CodeError::Typo { .. } => "typo",
            CodeError::Empty => "empty",
            CodeError::UnknownPrefix => "not_a_keyward_code",
            CodeError::UnsupportedVersion { .. } => "unsupported_version",
            _ => "malformed",
        }
    }
}

impl From<CodeError> for Error {
    fn from(e: CodeError) -> Self {
        Error::Code(e)
    }
}

/// Without the `messages` feature an error displays as its stable code (see [`words!`]).
#[cfg(not(feature = "messages"))]
impl fmt::Display for CodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(not(feature = "messages"))]
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(feature = "messages")]
impl fmt::Display for CodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodeError::Empty => f.write_str("nothing was entered: paste the whole code"),
            CodeError::TooLong { len, max } => write!(
                f,
                "the text is {len} bytes long, far longer than any keyward code (at most {max}): paste only the code"
            ),
            CodeError::UnknownPrefix => f.write_str(
                "this is not a keyward code: keyward codes start with KA1 (authorization code), KS1 (system identification code), KR1 (activation request), KC1 (activation certificate), KN1 (signed update) or KD1 (deactivation code)",
            ),
            CodeError::UnsupportedVersion { kind, version } => write!(
                f,
                "this {} has version {version}, which this software does not understand: update the software",
                kind.name()
            ),
            CodeError::InvalidCharacter { character, position } => write!(
                f,
                "character {position} (\"{character}\") cannot appear in a code: codes use only digits and the letters A-Z except I, L, O and U; check that character"
            ),
            CodeError::BadLength { kind, symbols } => write!(
                f,
                "this {} has {symbols} characters, which cannot be right: a character is missing or extra; compare it with the original",
                kind.name()
            ),
            CodeError::Typo {
                kind,
                groups,
                suggestion,
                missing_or_extra: true,
            } => {
                write!(f, "this {} has a character missing or one too many", kind.name())?;
                if let Some(g) = groups.first() {
                    write!(
                        f,
                        ", in or near group {} (characters {}-{})",
                        g.group, g.first_position, g.last_position
                    )?;
                }
                match suggestion {
                    Some(s) => write!(f, "; did you mean {s}?"),
                    None => f.write_str(": compare it with the original, character by character"),
                }
            }
            CodeError::Typo { kind, groups, suggestion, .. } => {
                write!(f, "this {} has a typing mistake in ", kind.name())?;
                for (i, g) in groups.iter().enumerate() {
                    if i > 0 {
                        f.write_str(if i + 1 == groups.len() { " and " } else { ", " })?;
                    }
                    write!(
                        f,
                        "group {} (characters {}-{})",
                        g.group, g.first_position, g.last_position
                    )?;
                }
                match suggestion {
                    Some(s) => write!(f, "; did you mean {s}?"),
                    None => f.write_str(": check those characters against the original"),
                }
            }
        }
    }
}

#[cfg(feature = "messages")]
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Code(e) => e.fmt(f),
            Error::Malformed { kind, offset, reason } => write!(
                f,
                "this {} passes its checks but its contents are invalid ({reason}, at byte {offset}); it was not made by keyward or was damaged: ask the merchant for a new one",
                kind.name()
            ),
            Error::WrongKind { expected, found } => write!(
                f,
                "this is {}, not {}: paste it where {} is asked for",
                found.a_name(),
                expected.a_name(),
                found.a_name()
            ),
            Error::UnknownKey { key_id } => write!(
                f,
                "signed with key {key_id}, which is not one of this product's keys: it is for another merchant or product, or the software needs the merchant's new public key"
            ),
            Error::BadSignature { kind } => write!(
                f,
                "the signature of this {} does not match its contents: it was altered or forged; ask the merchant for a new one",
                kind.name()
            ),
            Error::InvalidInput { field, reason } => write!(f, "invalid {field}: {reason}"),
            Error::InvalidHardwareId { reason } => {
                write!(f, "invalid hardware identification code: {reason}")
            }
            Error::InvalidKey { reason } => write!(f, "invalid key: {reason}"),
            Error::BadArmor { reason } => write!(f, "damaged certificate text: {reason}"),
            Error::CorruptState { reason } => write!(f, "the stored license state is damaged: {reason}"),
            Error::MarketplaceCode => f.write_str(
                "this is the marketplace's license code (PL…), not a keyward code: paste it on the merchant's activation page, which exchanges it for an authorization code",
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}
#[cfg(feature = "std")]
impl std::error::Error for CodeError {}
