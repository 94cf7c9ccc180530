//! What every signed artifact shares: body, key id, signature over a domain-separated
//! message, text decoding with typo location and correction, and the armour.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{ArmourError, CodeError, Error};
use crate::keys::{KeyId, MerchantKey, TrustedKeys};
use crate::text::{self, Kind, Symbols, VERSION};
use crate::wire::{Reader, Writer};

/// A signed artifact's encoding. The signature covers `DOMAIN || VERSION || body`, so a
/// signature made for one kind can never verify as another.
pub(crate) trait SignedArtifact: Sized {
    const KIND: Kind;
    const DOMAIN: &'static [u8];
    /// Writes everything but the signature.
    fn write_body(&self, w: &mut Writer);
    /// Reads everything but the signature.
    fn read_body(r: &mut Reader<'_>) -> Result<Self, Error>;
    fn key_id(&self) -> KeyId;
    fn signature(&self) -> &[u8; 64];
    fn signature_mut(&mut self) -> &mut [u8; 64];
}

/// The methods every signed artifact shares, generated inside its `impl` block.
macro_rules! signed_artifact_methods {
    () => {
        /// Parses (text or armour) and verifies against the trusted keys; a single typo
        /// gets a suggested correction when exactly one makes it valid.
        pub fn decode(text: &str, trusted: &TrustedKeys) -> Result<Self, Error> {
            signed::decode_text(text, Some(trusted))
        }

        /// Parses without verifying the signature: for showing what it claims.
        pub fn decode_unverified(text: &str) -> Result<Self, Error> {
            signed::decode_text(text, None)
        }

        /// Verifies the signature against the trusted keys.
        pub fn verify(&self, trusted: &TrustedKeys) -> Result<(), Error> {
            signed::verify(self, trusted)
        }

        /// Canonical bytes (body and signature).
        pub fn to_bytes(&self) -> Vec<u8> {
            signed::to_bytes(self)
        }

        /// Parses canonical bytes without verifying.
        pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
            signed::from_bytes(bytes)
        }

        /// Which key signed it.
        pub fn key_id(&self) -> KeyId {
            self.key_id
        }
    };
}
pub(crate) use signed_artifact_methods;

/// The accessors of [`SignedArtifact`], for types with `key_id` and `signature` fields.
macro_rules! signed_artifact_accessors {
    () => {
        fn key_id(&self) -> KeyId {
            self.key_id
        }
        fn signature(&self) -> &[u8; 64] {
            &self.signature
        }
        fn signature_mut(&mut self) -> &mut [u8; 64] {
            &mut self.signature
        }
    };
}
pub(crate) use signed_artifact_accessors;

fn message(domain: &[u8], body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(domain.len() + 1 + body.len());
    m.extend_from_slice(domain);
    m.push(VERSION);
    m.extend_from_slice(body);
    m
}

pub(crate) fn body_bytes<A: SignedArtifact>(a: &A) -> Vec<u8> {
    let mut w = Writer::default();
    a.write_body(&mut w);
    w.buf
}

/// Signs in place.
pub(crate) fn sign<A: SignedArtifact>(a: &mut A, key: &MerchantKey) {
    let sig = key.sign(&message(A::DOMAIN, &body_bytes(a)), &[]);
    *a.signature_mut() = sig;
}

/// Body followed by the signature.
pub(crate) fn to_bytes<A: SignedArtifact>(a: &A) -> Vec<u8> {
    let mut v = body_bytes(a);
    v.extend_from_slice(a.signature());
    v
}

/// Parses body and signature from `r`, without verifying (the caller decides).
pub(crate) fn read<A: SignedArtifact>(r: &mut Reader<'_>) -> Result<A, Error> {
    let mut a = A::read_body(r)?;
    *a.signature_mut() = r.array()?;
    Ok(a)
}

pub(crate) fn from_bytes<A: SignedArtifact>(bytes: &[u8]) -> Result<A, Error> {
    let mut r = Reader::new(A::KIND, bytes);
    let a = read::<A>(&mut r)?;
    r.finish()?;
    // Canonical: re-encoding must give the same bytes (catches anything the reader let by).
    if to_bytes(&a) != bytes {
        return Err(Error::Malformed {
            kind: A::KIND,
            offset: 0,
            reason: said!("non-canonical encoding"),
        });
    }
    Ok(a)
}

pub(crate) fn verify<A: SignedArtifact>(a: &A, trusted: &TrustedKeys) -> Result<(), Error> {
    trusted.verify(
        A::KIND,
        a.key_id(),
        &message(A::DOMAIN, &[]),
        &body_bytes(a),
        a.signature(),
    )
}

/// Text to artifact. With `trusted`, the signature is verified and a one-character typo
/// gets a correction when exactly one makes the artifact fully valid. Without, the result
/// is structurally valid but unverified (for inspecting).
pub(crate) fn decode_text<A: SignedArtifact>(
    input: &str,
    trusted: Option<&TrustedKeys>,
) -> Result<A, Error> {
    let sym = symbols_of_kind(input, A::KIND)?;
    let parse = |sym: &Symbols| -> Result<A, Error> {
        let bytes = text::decode_symbols(sym)?;
        let a = from_bytes::<A>(&bytes)?;
        if let Some(t) = trusted {
            verify(&a, t)?;
        }
        Ok(a)
    };
    parse(&sym).map_err(|e| explain(e, &sym, trusted.is_some(), &|c| parse(c).is_ok()))
}

/// The normalised symbols of `input`, which must be a code of `kind`.
fn symbols_of_kind(input: &str, kind: Kind) -> Result<Symbols, Error> {
    let blanked = strip_armor(input)?;
    let sym = text::normalize(&blanked)?;
    if sym.kind != kind {
        return Err(Error::WrongKind {
            expected: kind,
            found: sym.kind,
        });
    }
    Ok(sym)
}

/// Adds the offered correction to a decoding failure, when exactly one single-character
/// fix makes the artifact fully valid (`valid`, which checks the signature when `verified`).
/// Kept apart from the generic [`decode_text`] so it exists once in WebAssembly builds.
fn explain(e: Error, sym: &Symbols, verified: bool, valid: &dyn Fn(&Symbols) -> bool) -> Error {
    let only_fix = |candidates: Vec<Symbols>| -> Option<String> {
        if !verified {
            return None;
        }
        let fixes: Vec<Symbols> = candidates.into_iter().filter(|c| valid(c)).collect();
        match fixes.as_slice() {
            [one] => Some(text::render(one)),
            _ => None,
        }
    };
    match e {
        Error::Code(CodeError::Typo {
            kind,
            groups,
            suggestion: None,
            missing_or_extra,
        }) => Error::Code(CodeError::Typo {
            kind,
            groups,
            suggestion: only_fix(text::single_corrections(sym)),
            missing_or_extra,
        }),
        Error::Malformed { .. } => {
            // The checks passed, yet the contents do not decode: if one dropped or doubled
            // character in the last group explains it, say so and offer the fix.
            match only_fix(text::last_group_shift_corrections(sym)) {
                Some(fix) => {
                    let size = sym.kind.group_len() + 1;
                    let last = sym.values.len().saturating_sub(1);
                    let first = last / size * size;
                    Error::Code(CodeError::Typo {
                        kind: sym.kind,
                        groups: alloc::vec![crate::error::Typo {
                            group: first / size + 1,
                            first_position: sym.positions.get(first).copied().unwrap_or(0),
                            last_position: sym.positions.get(last).copied().unwrap_or(0),
                        }],
                        suggestion: Some(fix),
                        missing_or_extra: true,
                    })
                }
                None => e,
            }
        }
        other => other,
    }
}

/// Encodes as a one-line code.
pub(crate) fn encode_text<A: SignedArtifact>(a: &A) -> String {
    text::encode(A::KIND, &to_bytes(a))
}

// ---------------------------------------------------------------------------------------
// Armour: `-----BEGIN KEYWARD …-----`, readable `Name: value` header lines (not signed, for
// people only), the grouped code, `-----END KEYWARD …-----`.

/// Wraps a code in armour with the given header lines.
pub(crate) fn armor(title: &str, headers: &[(&str, String)], kind: Kind, bytes: &[u8]) -> String {
    let mut s = crate::text::cat(&["-----BEGIN KEYWARD ", title, "-----\n"]);
    for (k, v) in headers {
        // Header values are for reading only; keep them on one line.
        let v: String = v.chars().filter(|c| !c.is_control()).collect();
        s.push_str(&crate::text::cat(&[k, ": ", &v, "\n"]));
    }
    s.push('\n');
    s.push_str(&text::encode_groups(kind, bytes, 6));
    s.push_str(&crate::text::cat(&[
        "\n-----END KEYWARD ",
        title,
        "-----\n",
    ]));
    s
}

/// Replaces armour and header lines with spaces, so the code's characters keep their
/// positions in the pasted text (typo positions then point into what the user pasted).
pub(crate) fn strip_armor(input: &str) -> Result<String, Error> {
    if input.len() > text::MAX_TEXT_LEN {
        return Err(Error::Code(CodeError::TooLong {
            len: input.len(),
            max: text::MAX_TEXT_LEN,
        }));
    }
    if text::find(input, "-----BEGIN").is_none() {
        return Ok(String::from(input));
    }
    let mut out = String::with_capacity(input.len());
    let mut inside = false;
    let mut seen_begin = false;
    let mut seen_end = false;
    for line in input.split_inclusive('\n') {
        let t = line.trim();
        let keep = if t.starts_with("-----BEGIN") {
            if seen_begin {
                return Err(Error::BadArmour(ArmourError::TwoBegins));
            }
            seen_begin = true;
            inside = true;
            false
        } else if t.starts_with("-----END") {
            if !inside {
                return Err(Error::BadArmour(ArmourError::EndWithoutBegin));
            }
            inside = false;
            seen_end = true;
            false
        } else {
            inside && !t.contains(':')
        };
        if keep {
            out.push_str(line);
        } else {
            out.extend(line.chars().map(|c| if c == '\n' { '\n' } else { ' ' }));
        }
    }
    if !seen_end {
        return Err(Error::BadArmour(ArmourError::EndMissing));
    }
    Ok(out)
}
