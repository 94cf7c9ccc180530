//! What every signed artifact shares: body, key id, signature over a domain-separated
//! message, text decoding with typo location and correction, and the armour.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{CodeError, Error};
use crate::keys::{KeyId, MerchantKey, SignatureSearch, TrustedKeys};
use crate::text::{self, Edit, Kind, Symbols, VERSION};
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
    let mut a = body::<A>(r)?;
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
    verify_in(a, trusted, None)
}

/// [`verify`], within a typo search when `search` is given.
fn verify_in<A: SignedArtifact>(
    a: &A,
    trusted: &TrustedKeys,
    search: Option<&SignatureSearch>,
) -> Result<(), Error> {
    trusted.verify(
        A::KIND,
        a.key_id(),
        &message(A::DOMAIN, &[]),
        &body_bytes(a),
        a.signature(),
        search,
    )
}

/// Text to artifact. With `trusted`, the signature is verified and a one-character typo
/// gets a correction when exactly one makes the artifact fully valid. Without, the result
/// is structurally valid but unverified (for inspecting).
pub(crate) fn decode_text<A: SignedArtifact>(
    input: &str,
    trusted: Option<&TrustedKeys>,
) -> Result<A, Error> {
    let check = |bytes: &[u8], search: Option<&SignatureSearch>| -> Result<(), Error> {
        let a = from_bytes::<A>(bytes)?;
        match trusted {
            Some(t) => verify_in(&a, t, search),
            None => Ok(()),
        }
    };
    let bytes = decode_checked(input, A::KIND, trusted.is_some(), &check, needed::<A>)?;
    // The bytes passed `check`, so they parse (a second parse of a few hundred bytes costs
    // far less than keeping the search below generic: it exists once in WebAssembly builds).
    from_bytes::<A>(&bytes)
}

/// Checks a code's bytes (within a typo search, for its candidates).
type Check<'a> = dyn Fn(&[u8], Option<&SignatureSearch>) -> Result<(), Error> + 'a;

/// The bytes of the `kind` code in `input` that `check` accepts (`verified` when it checks
/// the signature; for a typo search's candidates it is given the search's
/// [`SignatureSearch`]), with the typo, pasted-twice and cut-off explanations of a refusal;
/// `needed` measures a whole code from the bytes of its beginning.
fn decode_checked(
    input: &str,
    kind: Kind,
    verified: bool,
    check: &Check<'_>,
    needed: fn(&[u8]) -> (usize, bool),
) -> Result<Vec<u8>, Error> {
    let sym = text::read_kind(input, kind).map_err(|e| {
        only_a_valid_copy(e, &|copy| {
            decode_checked(copy, kind, verified, check, needed).is_ok()
        })
    })?;
    let parse = |sym: &Symbols| -> Result<Vec<u8>, Error> {
        let bytes = text::decode_symbols(sym)?;
        check(&bytes, None)?;
        Ok(bytes)
    };
    parse(&sym).map_err(|e| {
        // A candidate's groups all check by construction: not checked again, which for a
        // 64 KB code is most of each candidate's cost. A substitution or swap changes one
        // or two symbols: its bytes are the pasted text's with those symbols' bits
        // rewritten, not a new packing of the whole code.
        let pasted = text::checked_symbols_bytes(&sym);
        let signatures = SignatureSearch::new();
        let candidate = |c: &Symbols, edit: Edit| {
            let bytes = match (edit, &pasted) {
                (Edit::Replace(p, _) | Edit::Swap(p), Some(b)) if p + 3 < c.values.len() => {
                    Some(text::repacked(b, c, p))
                }
                _ => text::checked_symbols_bytes(c),
            };
            bytes.is_some_and(|b| check(&b, Some(&signatures)).is_ok())
        };
        let search = if verified {
            Search::Signature
        } else {
            Search::Off
        };
        let e = explain(e, &sym, search, &candidate);
        text::cut_off(&sym, &e, needed).map_or(e, Error::Code)
    })
}

/// [`SignedArtifact::read_body`], once in the binary however many callers it has (it is
/// large, and the WebAssembly builds are size-gated).
#[inline(never)]
fn body<A: SignedArtifact>(r: &mut Reader<'_>) -> Result<A, Error> {
    A::read_body(r)
}

/// The code characters of a whole artifact, judged from the bytes of its beginning: exactly
/// its body and the 64-byte signature when the body is all there, else more than `bytes`
/// and the signature (a lower bound).
fn needed<A: SignedArtifact>(bytes: &[u8]) -> (usize, bool) {
    let mut r = Reader::new(A::KIND, bytes);
    let (total, exact) = match body::<A>(&mut r) {
        Ok(_) => (r.offset() + 64, true),
        Err(_) => (bytes.len() + 1 + 64, false),
    };
    (text::symbols_for_bytes(A::KIND, total), exact)
}

/// A code pasted twice keeps the one copy as its suggestion only when `valid` accepts it.
pub(crate) fn only_a_valid_copy(e: Error, valid: &dyn Fn(&str) -> bool) -> Error {
    match e {
        Error::Code(CodeError::PastedTwice {
            kind,
            suggestion: Some(copy),
        }) => Error::Code(CodeError::PastedTwice {
            kind,
            suggestion: valid(&copy).then_some(copy),
        }),
        other => other,
    }
}

/// How [`explain`] may judge a candidate correction.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Search {
    /// Not at all: no correction is offered (nothing to check a candidate against).
    Off,
    /// `valid` checks a signature: a candidate it accepts is the only one, as a second
    /// would be another valid signature under the merchant's key for another text (a
    /// forgery), so the search stops at the first. That halves a typo's signature checks
    /// on average (about ten candidates, each a signature check).
    Signature,
    /// `valid` is the caller's own test: every candidate is tried, and a correction is
    /// offered only when exactly one passes.
    Exhaustive,
}

/// Adds the offered correction to a decoding failure, when exactly one single-character
/// fix makes the artifact fully valid (`valid`, judged as `search` says).
/// Kept apart from the generic [`decode_text`] so it exists once in WebAssembly builds.
pub(crate) fn explain(
    e: Error,
    sym: &Symbols,
    search: Search,
    valid: &dyn Fn(&Symbols, Edit) -> bool,
) -> Error {
    // The one edit that makes the artifact valid, if exactly one does. Candidates are
    // written into one reused buffer; the search stops at the second distinct fix (at the
    // first, for a signature).
    let only_fix = |edits: Vec<Edit>| -> Option<(Edit, String)> {
        if search == Search::Off {
            return None;
        }
        let mut candidate = Symbols {
            kind: sym.kind,
            version: sym.version,
            values: Vec::with_capacity(sym.values.len() + 1),
            positions: Vec::new(),
        };
        let mut found: Option<(Edit, Vec<u8>)> = None;
        for edit in edits {
            edit.apply(&sym.values, &mut candidate.values);
            if found.as_ref().is_some_and(|(_, v)| *v == candidate.values) {
                continue; // the same text by another edit
            }
            if valid(&candidate, edit) {
                if found.is_some() {
                    return None;
                }
                found = Some((edit, candidate.values.clone()));
                if search == Search::Signature {
                    break;
                }
            }
        }
        found.map(|(edit, values)| {
            candidate.values = values;
            (edit, text::render(&candidate))
        })
    };
    // The group of the fix, in the pasted text's positions.
    let located = |edit: Edit| -> crate::error::Typo {
        let size = sym.kind.group_len() + 1;
        let g = edit.group(sym.kind);
        let first = (g * size).min(sym.values.len().saturating_sub(1));
        let last = ((g + 1) * size - 1).min(sym.values.len().saturating_sub(1));
        crate::error::Typo {
            group: g + 1,
            first_position: sym.position(first),
            last_position: sym.position(last),
        }
    };
    match e {
        Error::Code(CodeError::Typo {
            kind,
            groups,
            suggestion: None,
            missing_or_extra,
        }) => match only_fix(text::single_corrections(sym)) {
            // A fix found names its group alone.
            Some((edit, fix)) => Error::Code(CodeError::Typo {
                kind,
                groups: alloc::vec![located(edit)],
                suggestion: Some(fix),
                missing_or_extra: matches!(edit, Edit::Insert(..) | Edit::Delete(..)),
            }),
            None => Error::Code(CodeError::Typo {
                kind,
                groups,
                suggestion: None,
                missing_or_extra,
            }),
        },
        Error::Malformed { .. } => {
            // The checks passed, yet the contents do not decode: if one dropped or doubled
            // character in the last group explains it, say so and offer the fix.
            match only_fix(text::last_group_shift_corrections(sym)) {
                Some((edit, fix)) => Error::Code(CodeError::Typo {
                    kind: sym.kind,
                    groups: alloc::vec![located(edit)],
                    suggestion: Some(fix),
                    missing_or_extra: true,
                }),
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
