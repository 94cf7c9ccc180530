//! The deactivation code (停用码): what an offline machine shows when it gives a seat back.
//!
//! When a machine makes an activation request it draws a random 10-byte secret, keeps it in
//! its state next to the license, and sends only a commitment to it as the request's nonce:
//! the first 8 bytes of SHA-512(`"keyward deactivation v1"` ‖ secret). The merchant's
//! certificate echoes (signs) that nonce. Deactivating on the machine removes the license
//! and reveals the secret as `KD1-…` (license id + secret, 18 bytes): anyone holding the
//! certificate — the merchant's service, or the merchant's CLI offline — checks that the
//! secret hashes to the certificate's nonce, which only the machine that made the request
//! could show, and frees the seat.
//!
//! The code is short enough to read out over the phone: 29 symbols in six groups of five
//! plus a check symbol each (`KD1-XXXXXX-XXXXXX-XXXXXX-XXXXXX-XXXXXX-XXXXX`), with the same
//! typo location as every keyward code.
//!
//! What it cannot prevent: a copy of the machine's state made before deactivating still
//! holds the certificate; the deactivation code proves the license was removed from one
//! copy, not from every copy (see docs/ACTIVATION.md).

use crate::signed;
use alloc::string::String;
use core::fmt;

use sha2::{Digest, Sha512};

use crate::authcode::LicenseId;
use crate::cert::ActivationCertificate;
use crate::error::Error;
use crate::limits::SECRET_LEN;
use crate::text::{self, Kind, Symbols};

/// The domain tag hashed in front of the secret.
const DOMAIN: &[u8] = b"keyward deactivation v1";

/// Encoded size: license id (8 bytes) and secret.
pub(crate) const BYTES: usize = 8 + SECRET_LEN;

/// A deactivation code: the license given back and the secret whose commitment its
/// certificate carries.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeactivationCode {
    /// The license whose seat is given back.
    pub license_id: LicenseId,
    /// The secret drawn when the activation request was made.
    pub secret: [u8; SECRET_LEN],
}

impl DeactivationCode {
    /// The commitment to `secret` that an activation request carries as its nonce (and the
    /// certificate echoes): the first 8 bytes of SHA-512(`"keyward deactivation v1"` ‖ secret).
    pub fn commitment(secret: &[u8; SECRET_LEN]) -> [u8; 8] {
        let d = Sha512::new()
            .chain_update(DOMAIN)
            .chain_update(secret)
            .finalize();
        let mut out = [0u8; 8];
        out.copy_from_slice(&d[..8]);
        out
    }

    /// Does this code give back the seat `certificate` holds: same license, and a secret
    /// that hashes to the certificate's nonce? The certificate's signature is the caller's
    /// to check (decode it with the trusted keys).
    pub fn verifies(&self, certificate: &ActivationCertificate) -> bool {
        let expected = certificate.nonce();
        let got = Self::commitment(&self.secret);
        // Compared without an early exit; the commitment is public, but this keeps the
        // comparison's time independent of where it differs anyway.
        let diff = expected
            .iter()
            .zip(got.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        diff == 0 && certificate.terms().license_id == self.license_id
    }

    /// Text form, `KD1-XXXXXX-XXXXXX-XXXXXX-XXXXXX-XXXXXX-XXXXX`.
    pub fn encode(&self) -> String {
        text::encode(Kind::DeactivationCode, &self.to_bytes())
    }

    fn to_bytes(self) -> [u8; BYTES] {
        let mut b = [0u8; BYTES];
        b[..8].copy_from_slice(&self.license_id.0);
        b[8..].copy_from_slice(&self.secret);
        b
    }

    fn from_bytes(b: &[u8]) -> Result<Self, Error> {
        if b.len() != BYTES {
            return Err(Error::Malformed {
                kind: Kind::DeactivationCode,
                offset: b.len().min(BYTES),
                reason: said!("a deactivation code holds 18 bytes"),
            });
        }
        let mut license_id = [0u8; 8];
        license_id.copy_from_slice(&b[..8]);
        let mut secret = [0u8; SECRET_LEN];
        secret.copy_from_slice(&b[8..]);
        Ok(DeactivationCode {
            license_id: LicenseId(license_id),
            secret,
        })
    }

    /// Parses the text form (forgiving of case, spaces, full-width characters, I/L/O). A
    /// mistyped character is located by group; no correction is offered, since without
    /// the certificate every single-character fix looks equally valid (see
    /// [`decode_with`](Self::decode_with)).
    pub fn decode(input: &str) -> Result<Self, Error> {
        Self::decode_checking(input, None)
    }

    /// Like [`decode`](Self::decode), and when the text has a typo, offers the correction if
    /// exactly one single-character fix gives a code that `valid` accepts (for example one
    /// that [`verifies`](Self::verifies) against a certificate of a live activation).
    pub fn decode_with(
        input: &str,
        valid: &dyn Fn(&DeactivationCode) -> bool,
    ) -> Result<Self, Error> {
        Self::decode_checking(input, Some(valid))
    }

    /// The correction search is the signed artifacts' own ([`signed::explain`]), with
    /// `valid` in the place of the signature.
    fn decode_checking(
        input: &str,
        valid: Option<&dyn Fn(&DeactivationCode) -> bool>,
    ) -> Result<Self, Error> {
        let sym = text::read_kind(input, Kind::DeactivationCode)?;
        let parse =
            |s: &Symbols| -> Result<Self, Error> { Self::from_bytes(&text::decode_symbols(s)?) };
        parse(&sym).map_err(|e| {
            let search = match valid {
                Some(_) => signed::Search::Exhaustive,
                None => signed::Search::Off,
            };
            signed::explain(e, &sym, search, &|c, _| {
                parse(c).is_ok_and(|d| valid.is_some_and(|v| v(&d)))
            })
        })
    }
}

impl fmt::Display for DeactivationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

/// The secret stays out of debug output (logs).
impl fmt::Debug for DeactivationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeactivationCode({}, secret: …)", self.license_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authcode::LicenseTerms;
    use crate::binding::Binding;
    use crate::keys::{MerchantKey, TrustedKeys};
    use crate::sysid::SystemIdCode;
    use crate::time::Timestamp;
    use alloc::vec;
    use alloc::vec::Vec;

    const SECRET: [u8; SECRET_LEN] = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];

    fn certificate(nonce: [u8; 8], id: u8) -> ActivationCertificate {
        let key = MerchantKey::from_seed(&[5; 32]);
        let now = Timestamp::parse("2026-11-20T00:00:00Z").unwrap();
        let terms = LicenseTerms {
            license_id: LicenseId([id; 8]),
            product: "acme-invoice".into(),
            sku: "pro".into(),
            seats: 1,
            not_before: now,
            expires: None,
            features: vec![],
            trial: false,
            instance_id: None,
            order_id: None,
        };
        let sys = SystemIdCode::decode(
            &SystemIdCode::compute(
                "acme-invoice",
                &crate::facts::MachineFacts {
                    machine_id: Some("m".into()),
                    ..Default::default()
                },
            )
            .encode(),
        )
        .unwrap();
        let c = ActivationCertificate::issue(
            &key,
            terms,
            Binding::system(sys, None).unwrap(),
            nonce,
            now,
        )
        .unwrap();
        // Through text and back, as the service and the CLI get it.
        ActivationCertificate::decode(&c.encode(), &TrustedKeys::from_keys([key.public()])).unwrap()
    }

    fn code() -> DeactivationCode {
        DeactivationCode {
            license_id: LicenseId([7; 8]),
            secret: SECRET,
        }
    }

    #[test]
    fn round_trip_and_shape() {
        let text = code().encode();
        assert!(text.starts_with("KD1-"), "{text}");
        let groups: Vec<&str> = text.split('-').collect();
        assert_eq!(groups.len(), 7, "{text}");
        assert!(groups[1..6].iter().all(|g| g.len() == 6), "{text}");
        assert_eq!(groups[6].len(), 5, "{text}");
        assert_eq!(DeactivationCode::decode(&text).unwrap(), code());
        let messy = text.to_lowercase().replace('-', " ");
        assert_eq!(DeactivationCode::decode(&messy).unwrap(), code());
    }

    #[test]
    fn the_right_secret_verifies_and_a_wrong_one_does_not() {
        let cert = certificate(DeactivationCode::commitment(&SECRET), 7);
        assert!(code().verifies(&cert));
        let mut wrong = code();
        wrong.secret[9] ^= 1;
        assert!(!wrong.verifies(&cert));
        // The right secret for another license's certificate does not free it either.
        let other = certificate(DeactivationCode::commitment(&SECRET), 8);
        assert!(!code().verifies(&other));
        // A certificate whose nonce is not a commitment (a server-chosen nonce).
        assert!(!code().verifies(&certificate([0; 8], 7)));
    }

    #[test]
    fn every_single_typo_is_located_and_corrected_against_the_certificate() {
        let cert = certificate(DeactivationCode::commitment(&SECRET), 7);
        let text = code().encode();
        let chars: Vec<char> = text.chars().collect();
        for (i, &c) in chars.iter().enumerate().skip(4) {
            if c == '-' {
                continue;
            }
            let mut typo = chars.clone();
            typo[i] = if c == 'X' { 'Y' } else { 'X' };
            let typo: String = typo.into_iter().collect();
            let group = chars[..i].iter().filter(|&&c| c == '-').count();
            let err = DeactivationCode::decode(&typo).unwrap_err();
            assert_eq!(err.code(), "typo", "{typo}");
            assert_eq!(err.typos().len(), 1, "{typo}");
            assert_eq!(err.typos()[0].group, group, "{typo}");
            assert_eq!(
                err.suggestion(),
                None,
                "{typo}: no certificate, no correction"
            );
            let err = DeactivationCode::decode_with(&typo, &|d| d.verifies(&cert)).unwrap_err();
            assert_eq!(err.suggestion(), Some(text.as_str()), "{typo}");
        }
    }

    #[test]
    fn wrong_kind_and_length_are_named() {
        let sys = "KS1-000010-000010-000010-000010";
        assert_eq!(
            DeactivationCode::decode(sys).unwrap_err().code(),
            "wrong_kind"
        );
        let short = crate::raw::encode(Kind::DeactivationCode, &[1; 17]);
        assert_eq!(
            DeactivationCode::decode(&short).unwrap_err().code(),
            "malformed"
        );
    }
}
