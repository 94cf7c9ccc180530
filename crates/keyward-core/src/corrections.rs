//! The typo search's signature shortcut.
//!
//! A typo in a free-form part of a code (its license id, say) gives a group of candidate
//! corrections that all decode, and the search checked the signature of each: eight checks
//! for the test vectors' typo, most of the page's time for a paste. Ed25519's equation is
//! `[s]B = R + [k]A`, `k = SHA-512(R || A || M) mod l`; between such candidates only the
//! message `M` changes. So `R` is decompressed and `[s]B` computed once; a candidate then
//! costs its hash and `[k]A`. (For a typo in the signature's `s`, only `s` changes: `R +
//! [k]A` is kept and a candidate costs `[s]B`.)
//!
//! Both products are sums, over the scalar's non-adjacent form, of the doublings `[2^j]A`
//! and `[2^j]B`, computed once per key (`TrustedKeys::prepare_correction_tables`): about 85
//! point additions, in WebAssembly about a quarter of a signature check (which doubles 253
//! times, decompresses `R` and compresses its result). These are curve25519-dalek's group
//! operations: nothing here does arithmetic of its own.
//!
//! The shortcut only ever rules candidates out. One it lets through is verified with
//! `verify_strict`, as every signature is, so what is accepted is exactly what was. And it
//! never rules out one that `verify_strict` accepts: that `verify_strict` accepts means
//! `s` is canonical, `R` decompresses and `[k](-A) + [s]B` is the point `R`, which is this
//! equation (the same `k`, reduced the same way, so it holds for any key `A`).

use alloc::vec::Vec;
use core::cell::RefCell;
use core::fmt;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use sha2::{Digest, Sha512};

use crate::key_id::KeyId;

/// Digits of a scalar's non-adjacent form: a scalar is below 2^253, its form at most 254
/// digits long.
const DIGITS: usize = 254;

/// The doublings `[2^j]P`, j = 0..[`DIGITS`], of the base point and of each trusted key (in
/// the trusted keys' order).
#[derive(Clone)]
pub(crate) struct Tables {
    base: Vec<EdwardsPoint>,
    pub(crate) keys: Vec<Vec<EdwardsPoint>>,
}

impl fmt::Debug for Tables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tables({} keys)", self.keys.len())
    }
}

impl Tables {
    /// The tables of the base point and of `keys`.
    pub(crate) fn new(keys: impl Iterator<Item = EdwardsPoint>) -> Self {
        Tables {
            base: doublings(ED25519_BASEPOINT_POINT),
            keys: keys.map(doublings).collect(),
        }
    }
}

/// `[2^j]p` for j = 0..[`DIGITS`].
fn doublings(mut p: EdwardsPoint) -> Vec<EdwardsPoint> {
    let mut v = Vec::with_capacity(DIGITS);
    for _ in 0..DIGITS {
        v.push(p);
        p = p + p;
    }
    v
}

/// `start + [k]P`, with `doublings` the doublings of `P`.
fn add_multiple(start: EdwardsPoint, k: &Scalar, doublings: &[EdwardsPoint]) -> EdwardsPoint {
    let mut sum = start;
    for (d, p) in non_adjacent_form(k.as_bytes()).zip(doublings) {
        match d {
            1 => sum += p,
            -1 => sum -= p,
            _ => {}
        }
    }
    sum
}

/// The non-adjacent form of the little-endian `k` (below 2^253), least significant digit
/// first: digits -1, 0 and 1, no two adjacent ones non-zero (about one in three is), with
/// `k = sum of d_j 2^j`.
fn non_adjacent_form(k: &[u8; 32]) -> impl Iterator<Item = i8> + '_ {
    let bit = move |j: usize| k.get(j / 8).map_or(0, |b| (b >> (j % 8)) & 1);
    let mut carry = 0;
    (0..DIGITS).map(move |j| match (bit(j) + carry, bit(j + 1)) {
        // ...11 is ...00 less one: -1 here, and carry one up.
        (1, 1) => {
            carry = 1;
            -1
        }
        (1, _) => {
            carry = 0;
            1
        }
        (2, _) => {
            carry = 1;
            0
        }
        _ => {
            carry = 0;
            0
        }
    })
}

/// One typo search's last values of each side of the equation, each kept while what it
/// depends on stays the same: a typo in the body changes only the message, one in `s` only
/// `s`, one in `R` both `R` and `k`.
#[derive(Default)]
pub(crate) struct SignatureSearch {
    last: RefCell<Last>,
}

#[derive(Default)]
struct Last {
    /// `s`, and `[s]B` when `s` is canonical.
    sb: Option<([u8; 32], Option<EdwardsPoint>)>,
    /// `R`, and its point when it decompresses.
    r: Option<([u8; 32], Option<EdwardsPoint>)>,
    /// The key, `R` and the message, and `R + [k]A`.
    left: Option<(KeyId, [u8; 32], Vec<u8>, EdwardsPoint)>,
}

impl SignatureSearch {
    pub(crate) fn new() -> Self {
        SignatureSearch::default()
    }

    /// False when `sig` surely does not verify `signed` under the key `key_id`, whose
    /// encoding is `key` and doublings `a`; true when it may.
    pub(crate) fn may_verify(
        &self,
        tables: &Tables,
        a: &[EdwardsPoint],
        (key_id, key): (KeyId, &[u8; 32]),
        signed: &[u8],
        sig: &[u8; 64],
    ) -> bool {
        let mut r_bytes = [0u8; 32];
        r_bytes.copy_from_slice(&sig[..32]);
        let mut s_bytes = [0u8; 32];
        s_bytes.copy_from_slice(&sig[32..]);
        let last = &mut *self.last.borrow_mut();
        if last.sb.as_ref().is_none_or(|(s, _)| *s != s_bytes) {
            let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes));
            let sb = s.map(|s| add_multiple(EdwardsPoint::identity(), &s, &tables.base));
            last.sb = Some((s_bytes, sb));
        }
        let Some((_, Some(sb))) = &last.sb else {
            return false;
        };
        let same = |(id, r, m, _): &(KeyId, [u8; 32], Vec<u8>, EdwardsPoint)| {
            *id == key_id && *r == r_bytes && m.as_slice() == signed
        };
        if !last.left.as_ref().is_some_and(same) {
            if last.r.as_ref().is_none_or(|(r, _)| *r != r_bytes) {
                last.r = Some((r_bytes, CompressedEdwardsY(r_bytes).decompress()));
            }
            let Some((_, Some(r))) = &last.r else {
                return false;
            };
            let h = Sha512::new()
                .chain_update(r_bytes)
                .chain_update(key)
                .chain_update(signed)
                .finalize();
            let mut wide = [0u8; 64];
            wide.copy_from_slice(&h);
            let k = Scalar::from_bytes_mod_order_wide(&wide);
            last.left = Some((key_id, r_bytes, signed.to_vec(), add_multiple(*r, &k, a)));
        }
        last.left.as_ref().is_some_and(|(.., left)| left == sb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    /// The digits rebuild the scalar: sum of d_j 2^j, in the scalar field.
    #[test]
    fn non_adjacent_form_is_the_scalar() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..300 {
            let mut wide = [0u8; 64];
            for b in wide.iter_mut() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b = seed as u8;
            }
            // Random scalars, and the extremes: 0, 1, l - 1.
            let k = match i {
                0 => Scalar::ZERO,
                1 => Scalar::ONE,
                2 => -Scalar::ONE,
                _ => Scalar::from_bytes_mod_order_wide(&wide),
            };
            let digits: Vec<i8> = non_adjacent_form(k.as_bytes()).collect();
            let mut sum = Scalar::ZERO;
            let mut power = Scalar::ONE;
            for (j, d) in digits.iter().enumerate() {
                match d {
                    1 => sum += power,
                    -1 => sum -= power,
                    0 => {}
                    _ => panic!("digit {d}"),
                }
                if j > 0 {
                    assert!(
                        *d == 0 || digits[j - 1] == 0,
                        "adjacent non-zero digits at {j}"
                    );
                }
                power += power;
            }
            assert_eq!(sum, k);
        }
    }

    /// `start + [k]P` from the doublings is the curve's own `[k]P`.
    #[test]
    fn add_multiple_is_scalar_multiplication() {
        let p = SigningKey::from_bytes(&[3; 32])
            .verifying_key()
            .to_edwards();
        let table = doublings(p);
        for i in 0u8..40 {
            let k = Scalar::from_bytes_mod_order_wide(&[i.wrapping_mul(97) ^ 0x5a; 64]);
            assert_eq!(add_multiple(p, &k, &table), p + k * p);
        }
    }

    /// The shortcut lets through every signature `verify_strict` accepts, and rules out the
    /// rest of what it can: other messages, other keys' signatures, a signature whose `s`
    /// is not canonical or whose `R` does not decompress.
    #[test]
    fn never_rules_out_what_verifies() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let other = SigningKey::from_bytes(&[6; 32]);
        let public = key.verifying_key();
        let tables = Tables::new([public.to_edwards()].into_iter());
        let a = &tables.keys[0];
        let id = KeyId([1, 2, 3, 4]);
        let search = SignatureSearch::default();
        let may = |message: &[u8], sig: &[u8; 64]| {
            search.may_verify(&tables, a, (id, public.as_bytes()), message, sig)
        };
        for n in 0..40u8 {
            let message: Vec<u8> = (0..(n as usize * 7)).map(|i| i as u8 ^ n).collect();
            let sig = key.sign(&message).to_bytes();
            let strict = |m: &[u8], s: &[u8; 64]| {
                public
                    .verify_strict(m, &ed25519_dalek::Signature::from_bytes(s))
                    .is_ok()
            };
            assert!(strict(&message, &sig) && may(&message, &sig));
            let mut changed = message.clone();
            changed.push(n);
            assert!(!strict(&changed, &sig) && !may(&changed, &sig));
            let theirs = other.sign(&message).to_bytes();
            assert!(!strict(&message, &theirs) && !may(&message, &theirs));
            let mut bad_s = sig;
            bad_s[63] |= 0xf0; // s >= l: not canonical
            assert!(!strict(&message, &bad_s) && !may(&message, &bad_s));
        }
        // An R that is not a point: y = 2 has no x on the curve.
        let mut sig = key.sign(b"m").to_bytes();
        sig[..32].fill(0);
        sig[0] = 2;
        let mut r = [0u8; 32];
        r.copy_from_slice(&sig[..32]);
        assert!(CompressedEdwardsY(r).decompress().is_none());
        assert!(!may(b"m", &sig));
    }

    /// What a search keeps never leaks from one key, signature or message to another:
    /// interleaved calls give each its own answer.
    #[test]
    fn kept_values_follow_what_they_depend_on() {
        let keys = [
            SigningKey::from_bytes(&[7; 32]),
            SigningKey::from_bytes(&[8; 32]),
        ];
        let publics = keys.each_ref().map(|k| k.verifying_key());
        let tables = Tables::new(publics.iter().map(|p| p.to_edwards()));
        let ids = [KeyId([1; 4]), KeyId([2; 4])];
        let search = SignatureSearch::new();
        let messages: [&[u8]; 2] = [b"first message", b"second message"];
        let sig = |k: usize, m: usize| keys[k].sign(messages[m]).to_bytes();
        // Keys innermost: the same signature and message under each key in turn.
        for round in 0..3 {
            for (m, message) in messages.iter().enumerate() {
                for (sk, sm) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    for k in 0..2 {
                        let may = search.may_verify(
                            &tables,
                            &tables.keys[k],
                            (ids[k], publics[k].as_bytes()),
                            message,
                            &sig(sk, sm),
                        );
                        let expected = (sk, sm) == (k, m);
                        assert_eq!(
                            may, expected,
                            "round {round}: key {k}, message {m}, signature {sk}/{sm}"
                        );
                    }
                }
            }
        }
    }
}
