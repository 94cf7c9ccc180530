//! Errors: values with a stable machine code and a sentence a buyer can act on.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::codes::ErrorCode;
use crate::key_id::KeyId;
use crate::kind::Kind;

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
    /// The same code twice: pasted twice, in a row or further on in the text.
    PastedTwice {
        /// Kind named by the prefix.
        kind: Kind,
        /// The code once, when that copy is valid.
        suggestion: Option<String>,
    },
    /// Two different keyward codes in one text: which one is meant cannot be told.
    TwoCodes,
    /// The beginning of a code (every complete group passes its check) whose end is missing:
    /// cut off when it was copied.
    Incomplete {
        /// Kind named by the prefix.
        kind: Kind,
        /// How many code characters are missing at the end (separators not counted).
        missing: usize,
        /// `missing` is a lower bound: the code's length is not known from its beginning.
        at_least: bool,
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
    /// The armour around a certificate or update (its BEGIN/END lines) is damaged.
    BadArmour(ArmourError),
}

/// What is wrong with the armour (`-----BEGIN KEYWARD …-----` … `-----END …-----`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArmourError {
    /// More than one BEGIN line: two items pasted at once.
    TwoBegins,
    /// An END line without a BEGIN line before it.
    EndWithoutBegin,
    /// A BEGIN line without its END line: the text was cut off.
    EndMissing,
    /// A BEGIN or END line whose title is not `KEYWARD ACTIVATION CERTIFICATE` (the only
    /// armoured kind), or an END title that differs from the BEGIN title.
    WrongTitle,
    /// A `Name: value` line among the code's lines (header lines come first, right after
    /// the BEGIN line).
    HeaderInCode,
    /// The armour holds a code of another kind than an activation certificate.
    NotACertificate,
}

impl ArmourError {
    /// Stable name of the reason (the page words its message from it).
    pub const fn as_str(self) -> &'static str {
        match self {
            ArmourError::TwoBegins => "two_begins",
            ArmourError::EndWithoutBegin => "end_without_begin",
            ArmourError::EndMissing => "end_missing",
            ArmourError::WrongTitle => "wrong_title",
            ArmourError::HeaderInCode => "header_in_code",
            ArmourError::NotACertificate => "not_a_certificate",
        }
    }
}

impl Error {
    /// Stable machine-readable code: the same string in the CLI's JSON, WIT and the page.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Code(e) => e.code(),
            Error::Malformed { .. } => ErrorCode::Malformed,
            Error::BadArmour(_) => ErrorCode::Malformed,
            Error::WrongKind { .. } => ErrorCode::WrongKind,
            Error::UnknownKey { .. } => ErrorCode::UnknownKey,
            Error::BadSignature { .. } => ErrorCode::BadSignature,
            Error::InvalidInput { .. } => ErrorCode::InvalidInput,
            Error::InvalidHardwareId { .. } => ErrorCode::InvalidHardwareId,
            Error::InvalidKey { .. } => ErrorCode::InvalidKey,
            Error::MarketplaceCode => ErrorCode::MarketplaceCode,
            Error::CorruptState { .. } => ErrorCode::CorruptState,
        }
    }

    /// The groups whose check symbol fails, when this is a typo (else empty).
    pub fn typos(&self) -> &[Typo] {
        match self {
            Error::Code(CodeError::Typo { groups, .. }) => groups,
            _ => &[],
        }
    }

    /// The offered correction, when a typo has exactly one (or the one copy of a code
    /// pasted twice, when it is valid).
    pub fn suggestion(&self) -> Option<&str> {
        match self {
            Error::Code(
                CodeError::Typo { suggestion, .. } | CodeError::PastedTwice { suggestion, .. },
            ) => suggestion.as_deref(),
            _ => None,
        }
    }
}

impl CodeError {
    /// Stable machine-readable code, as [`Error::code`].
    pub fn code(&self) -> ErrorCode {
        match self {
            CodeError::Typo { .. } => ErrorCode::Typo,
            CodeError::Empty => ErrorCode::Empty,
            CodeError::UnknownPrefix => ErrorCode::NotAKeywardCode,
            CodeError::UnsupportedVersion { .. } => ErrorCode::UnsupportedVersion,
            CodeError::PastedTwice { .. } => ErrorCode::PastedTwice,
            CodeError::Incomplete { .. } => ErrorCode::Incomplete,
            CodeError::TooLong { .. }
            | CodeError::InvalidCharacter { .. }
            | CodeError::BadLength { .. }
            | CodeError::TwoCodes => ErrorCode::Malformed,
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
        f.write_str(self.code().as_str())
    }
}

#[cfg(not(feature = "messages"))]
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code().as_str())
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
            CodeError::InvalidCharacter { character, position } if character.is_ascii() => write!(
                f,
                "character {position} (\"{character}\") cannot appear in a code: codes use only digits and the letters A-Z except I, L, O and U; check that character"
            ),
            // Named by its code point: it may look like a Latin letter, or not show at all.
            CodeError::InvalidCharacter { character, position } => write!(
                f,
                "character {position} (\"{character}\", U+{:04X}) is not a Latin letter or digit, though it may look like one: codes use only digits and the letters A-Z except I, L, O and U; retype it",
                *character as u32
            ),
            CodeError::PastedTwice { kind, suggestion } => {
                write!(f, "the same {} was pasted twice: keep one copy", kind.name())?;
                match suggestion {
                    Some(s) => write!(f, ", {s}"),
                    None => Ok(()),
                }
            }
            CodeError::TwoCodes => f.write_str("two codes were pasted: paste one at a time"),
            CodeError::Incomplete { kind, missing, at_least } => write!(
                f,
                "this {} is incomplete: {}{missing} character{} missing at the end; copy it again, whole",
                kind.name(),
                if *at_least { "at least " } else { "" },
                if *missing == 1 { " is" } else { "s are" }
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
            Error::BadArmour(a) => f.write_str(match a {
                ArmourError::TwoBegins => "the text has more than one BEGIN line: paste one item at a time",
                ArmourError::EndWithoutBegin => "the text has an END line without a BEGIN line: copy the whole text, from BEGIN to END",
                ArmourError::EndMissing => "the -----END line is missing: copy the whole text, from BEGIN to END",
                ArmourError::WrongTitle => "the BEGIN and END lines must read -----BEGIN KEYWARD ACTIVATION CERTIFICATE----- and -----END KEYWARD ACTIVATION CERTIFICATE-----: copy the certificate as it was sent",
                ArmourError::HeaderInCode => "a 'Name: value' line is mixed into the code's lines: copy the certificate as it was sent",
                ArmourError::NotACertificate => "only activation certificates come between BEGIN and END lines, and this holds another kind of code: paste that code alone",
            }),
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
