//! The `resigned` target: a mutated body of a signed artifact, re-signed with the test key
//! and encoded with valid check symbols, so the text layer and the signature pass and the
//! deep decoder is reached; then the same text with one typo.
//!
//! Input: `[kind, typo kind, typo position (2 bytes, little endian), typo symbol, body…]`.
//! `kind` picks authorization code, certificate or update (mod 3); the typo is a
//! substitution, an adjacent transposition, a deletion or an insertion (mod 4).
//!
//! Properties: the signed text decodes (verified) exactly when its bytes decode, to the same
//! value, which re-encodes to the same bytes and to a text that decodes the same; with one
//! typo it is never accepted, the only correction ever offered is the original text, and
//! the keys with the typo search's correction tables give the same answer.

use keyward_core::{
    limits::MAX_TEXT_LEN, raw, ActivationCertificate, AuthorizationCode, Error, Kind, SignedUpdate,
};

use crate::context::{key, prepared, sign_body, trusted, SIGNED};
use crate::limits::call;

/// Length of the header before the body.
pub const HEADER: usize = 5;

/// Crockford's base32 alphabet (docs/FORMAT.md).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// `text` with one typo: `how` % 4 picks substitution (by a different symbol), adjacent
/// transposition (of two different symbols, across a hyphen too), deletion or insertion,
/// at the code character `at` (modulo their number; the prefix counts). `None` when the
/// transposition would change nothing.
pub fn with_typo(text: &str, how: u8, at: u16, symbol: u8) -> Option<String> {
    let mut chars: Vec<char> = text.chars().collect();
    let places: Vec<usize> = (0..chars.len()).filter(|&i| chars[i] != '-').collect();
    let p = *places.get(usize::from(at) % places.len().max(1))?;
    let pick = |offset: u8| char::from(ALPHABET[usize::from(offset % 32)]);
    match how % 4 {
        0 => {
            let old = ALPHABET.iter().position(|&a| char::from(a) == chars[p]);
            // Any other symbol: 1 to 31 steps further round the alphabet.
            let step = 1 + symbol % 31;
            chars[p] = pick(old.map_or(symbol, |o| o as u8 + step));
        }
        1 => {
            let q = *places.iter().find(|&&q| q > p)?;
            if chars[p] == chars[q] {
                return None;
            }
            chars.swap(p, q);
        }
        2 => {
            chars.remove(p);
        }
        _ => chars.insert(p, pick(symbol)),
    }
    Some(chars.into_iter().collect())
}

macro_rules! signed_kind {
    ($ty:ty, $full:expr, $text:expr, $typo:expr) => {{
        let (full, text): (&[u8], &str) = ($full, $text);
        let from_bytes = <$ty>::from_bytes(full);
        let decoded = call(concat!(stringify!($ty), "::decode"), text.len(), || {
            <$ty>::decode(text, trusted())
        });
        match (&from_bytes, &decoded) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b, "decode and from_bytes give different values");
                assert_eq!(b.to_bytes(), full, "re-encoding changed the bytes");
                let canonical = b.encode();
                assert_eq!(<$ty>::decode(&canonical, trusted()).as_ref(), Ok(b));
            }
            (Ok(a), Err(e)) => assert!(
                a.key_id() != key().public().id() && matches!(e, Error::UnknownKey { .. }),
                "a correctly signed artifact was refused: {e:?}"
            ),
            (Err(e), Ok(_)) => panic!("decode accepted what from_bytes refuses: {e:?}"),
            (Err(_), Err(e)) => assert!(
                !matches!(e, Error::BadSignature { .. }),
                "the signature is right, yet decode says it is not"
            ),
        }
        if let Some(typo) = $typo {
            let typo: &str = typo;
            let judged = call(
                concat!(stringify!($ty), "::decode with a typo"),
                typo.len(),
                || <$ty>::decode(typo, trusted()),
            );
            // (The tables are built outside the measured call: once, like the page's.)
            let tables = prepared();
            let fast = call(
                concat!(stringify!($ty), "::decode with a typo, correction tables"),
                typo.len(),
                || <$ty>::decode(typo, tables),
            );
            assert_eq!(judged, fast, "the correction tables changed the answer");
            match judged {
                Ok(_) => panic!("a text with a typo was accepted: {typo:?}"),
                Err(e) => {
                    if let Some(s) = e.suggestion() {
                        assert_eq!(s, text, "the correction offered is not the original");
                    }
                }
            }
        }
    }};
}

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    let Some((header, body)) = data.split_first_chunk::<HEADER>() else {
        return;
    };
    let index = usize::from(header[0]) % SIGNED.len();
    let full = sign_body(index, body);
    let kind = SIGNED[index].0;
    let text = raw::encode(kind, &full);
    if text.len() > MAX_TEXT_LEN {
        return;
    }
    let at = u16::from_le_bytes([header[2], header[3]]);
    let typo = with_typo(&text, header[1], at, header[4]);
    let typo = typo.as_deref();
    match kind {
        Kind::AuthorizationCode => signed_kind!(AuthorizationCode, &full, &text, typo),
        Kind::ActivationCertificate => signed_kind!(ActivationCertificate, &full, &text, typo),
        _ => signed_kind!(SignedUpdate, &full, &text, typo),
    }
}
