//! The stable codes: one value per outcome, the same snake_case string in the CLI's JSON,
//! the plugin's WIT, the host and the page. Programs match on these enums; the strings are
//! only for the wire.

use core::fmt;
use core::str::FromStr;

/// Defines a code enum with `as_str`, `ALL`, `FromStr`, `Display`, comparison with a string
/// (so `assert_eq!(err.code(), "typo")` reads naturally) and, with `serde`, serialisation
/// as the string.
macro_rules! codes {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $name {
            /// Every code, in a fixed order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The stable snake_case string, as on the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownCode;
            fn from_str(s: &str) -> Result<Self, UnknownCode> {
                match s {
                    $($text => Ok($name::$variant),)*
                    _ => Err(UnknownCode),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.as_str()
            }
        }

        #[cfg(feature = "serde")]
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

/// A string that is not one of the stable codes (from [`ErrorCode::from_str`] and its
/// kin).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownCode;

impl fmt::Display for UnknownCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a keyward code name")
    }
}

codes! {
    /// Why something was refused: every refusal code of keyward, in every form. keyward-core's
    /// [`Error`](crate::Error) gives the first group; a license status that stops an action
    /// gives the second ([`StatusCode::refusal`]); the plugin gives the last group itself. The
    /// WIT `error-code` enum has one case per code.
    ErrorCode {
        /// Nothing was entered.
        Empty = "empty",
        /// Not a keyward code (no `KA1`/`KS1`/`KR1`/`KC1`/`KN1` prefix).
        NotAKeywardCode = "not_a_keyward_code",
        /// A newer format than this software reads.
        UnsupportedVersion = "unsupported_version",
        /// A check symbol fails: a typing mistake, located (and corrected when one fix
        /// makes the code valid).
        Typo = "typo",
        /// The same code pasted twice: keep one copy (offered as the suggestion when valid).
        PastedTwice = "pasted_twice",
        /// The beginning of a code whose end is missing (every complete group checks).
        Incomplete = "incomplete",
        /// The text or contents are not well formed (wrong length, a bad character, two
        /// different codes, damaged armour, contents that do not decode).
        Malformed = "malformed",
        /// Another kind of artifact than the one asked for.
        WrongKind = "wrong_kind",
        /// Signed by a key that is not trusted here.
        UnknownKey = "unknown_key",
        /// The signature does not match: altered or forged.
        BadSignature = "bad_signature",
        /// An argument is invalid.
        InvalidInput = "invalid_input",
        /// A hardware identification code that cannot be read.
        InvalidHardwareId = "invalid_hardware_id",
        /// A key that cannot be read.
        InvalidKey = "invalid_key",
        /// The marketplace's own license code (`PL…`), not a keyward code.
        MarketplaceCode = "marketplace_code",
        /// A stored license state that cannot be read.
        CorruptState = "corrupt_state",
        /// The license is for another machine.
        MachineMismatch = "machine_mismatch",
        /// The license has expired.
        Expired = "expired",
        /// The merchant released (ended) the license.
        Released = "released",
        /// The clock is earlier than a time already seen.
        ClockRolledBack = "clock_rolled_back",
        /// The license starts later.
        NotYetValid = "not_yet_valid",
        /// The merchant froze the license.
        Frozen = "frozen",
        /// No license is installed.
        NoLicense = "no_license",
        /// The plugin: `init` has not been called.
        NotInitialized = "not_initialized",
        /// The plugin: `init` was called before; the trusted keys cannot change.
        AlreadyInitialized = "already_initialized",
        /// The plugin: the host could not save the new state; nothing changed.
        StateNotSaved = "state_not_saved",
        /// The plugin: the host gave no random bytes for a request's nonce.
        NoRandomness = "no_randomness",
    }
}

codes! {
    /// The state of a license on this machine, as a code (see [`Status`](crate::Status)).
    StatusCode {
        /// Licensed.
        Active = "active",
        /// Expired, still working during the grace period.
        InGrace = "in_grace",
        /// Starts later.
        NotYetValid = "not_yet_valid",
        /// Expired.
        Expired = "expired",
        /// Frozen by the merchant.
        Frozen = "frozen",
        /// Released (ended) by the merchant.
        Released = "released",
        /// Bound to another machine.
        MachineMismatch = "machine_mismatch",
        /// The clock was turned back.
        ClockRolledBack = "clock_rolled_back",
        /// Nothing installed.
        NoLicense = "no_license",
    }
}

impl StatusCode {
    /// Whether features work in this state (active or in grace).
    pub const fn is_usable(self) -> bool {
        matches!(self, StatusCode::Active | StatusCode::InGrace)
    }

    /// The refusal code of an action stopped by this state (`None` when usable).
    pub const fn refusal(self) -> Option<ErrorCode> {
        Some(match self {
            StatusCode::Active | StatusCode::InGrace => return None,
            StatusCode::NotYetValid => ErrorCode::NotYetValid,
            StatusCode::Expired => ErrorCode::Expired,
            StatusCode::Frozen => ErrorCode::Frozen,
            StatusCode::Released => ErrorCode::Released,
            StatusCode::MachineMismatch => ErrorCode::MachineMismatch,
            StatusCode::ClockRolledBack => ErrorCode::ClockRolledBack,
            StatusCode::NoLicense => ErrorCode::NoLicense,
        })
    }
}

/// The code of a [`Verdict`](crate::Verdict): a license's state, `valid` for an artifact
/// without one, or why the text was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VerdictCode {
    /// A valid artifact that is not a license (a system identification code, …).
    Valid,
    /// Well formed, but its signature was not checked: no trusted keys were given (the
    /// CLI's `inspect` without `--public-key`; [`verdict`](crate::verdict) always checks).
    Unverified,
    /// A license, judged on this machine.
    Status(StatusCode),
    /// Refused.
    Error(ErrorCode),
}

impl VerdictCode {
    /// The stable snake_case string, as on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            VerdictCode::Valid => "valid",
            VerdictCode::Unverified => "unverified",
            VerdictCode::Status(s) => s.as_str(),
            VerdictCode::Error(e) => e.as_str(),
        }
    }
}

impl FromStr for VerdictCode {
    type Err = UnknownCode;
    /// `valid`, `unverified`, then a status code, then an error code (`expired` is a status
    /// here).
    fn from_str(s: &str) -> Result<Self, UnknownCode> {
        match s {
            "valid" => return Ok(VerdictCode::Valid),
            "unverified" => return Ok(VerdictCode::Unverified),
            _ => {}
        }
        s.parse()
            .map(VerdictCode::Status)
            .or_else(|_| s.parse().map(VerdictCode::Error))
    }
}

impl fmt::Display for VerdictCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for VerdictCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<VerdictCode> for &str {
    fn eq(&self, other: &VerdictCode) -> bool {
        *self == other.as_str()
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for VerdictCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_and_is_unique() {
        for (i, c) in ErrorCode::ALL.iter().enumerate() {
            assert_eq!(c.as_str().parse::<ErrorCode>(), Ok(*c));
            assert!(!ErrorCode::ALL[..i].iter().any(|d| d.as_str() == c.as_str()));
        }
        for s in StatusCode::ALL {
            assert_eq!(s.as_str().parse::<StatusCode>(), Ok(*s));
            assert_eq!(
                s.as_str().parse::<VerdictCode>(),
                Ok(VerdictCode::Status(*s))
            );
            // Every refusing state has its refusal code, with the same string.
            match s.refusal() {
                Some(e) => assert_eq!(e.as_str(), s.as_str()),
                None => assert!(s.is_usable()),
            }
        }
        assert_eq!(
            "typo".parse::<VerdictCode>(),
            Ok(VerdictCode::Error(ErrorCode::Typo))
        );
        assert_eq!("valid".parse::<VerdictCode>(), Ok(VerdictCode::Valid));
        assert!("Typo".parse::<ErrorCode>().is_err());
        assert!("".parse::<VerdictCode>().is_err());
    }
}
