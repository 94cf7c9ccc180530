//! Merchant keys: Ed25519, PKCS#8 / SPKI PEM (OpenSSL reads and writes the same files),
//! a short key id, and the set of keys a product trusts.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha512};

#[cfg(feature = "correction-tables")]
pub(crate) use crate::corrections::SignatureSearch;
#[cfg(feature = "correction-tables")]
use crate::corrections::Tables;
use crate::error::Error;
pub use crate::key_id::KeyId;
use crate::kind::Kind;
use crate::limits::{MAX_TRUSTED_KEYS, MAX_TRUSTED_PEM};
use crate::pem;

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidKey {
        reason: reason.into(),
    }
}

/// A merchant's public key: what the plugin, the page and the CLI verify with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
    id: KeyId,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.id)
    }
}

impl PublicKey {
    /// From the 32 raw bytes. Rejects points that are not valid or have small order
    /// (weak keys would let a forger produce signatures valid for many messages).
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, Error> {
        let key = VerifyingKey::from_bytes(bytes)
            .map_err(|_| invalid("not a valid Ed25519 public key"))?;
        if key.is_weak() {
            return Err(invalid("weak (small-order) Ed25519 public key"));
        }
        Ok(Self::from_verifying(key))
    }

    fn from_verifying(key: VerifyingKey) -> Self {
        let digest = Sha512::new()
            .chain_update(b"keyward:key-id:v1\0")
            .chain_update(key.as_bytes())
            .finalize();
        let mut id = [0u8; 4];
        id.copy_from_slice(&digest[..4]);
        PublicKey { key, id: KeyId(id) }
    }

    /// Reads an SPKI PEM (`-----BEGIN PUBLIC KEY-----`), as written by `keyward keys
    /// generate` or `openssl pkey -pubout`.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let mut keys = TrustedKeys::from_pem(pem)?.keys;
        match keys.len() {
            1 => Ok(keys.remove(0)),
            n => Err(invalid(words!("expected one public key, found {n}"))),
        }
    }

    fn from_spki(der: &[u8]) -> Result<Self, Error> {
        let key: &[u8; 32] = der
            .strip_prefix(&pem::SPKI_HEADER)
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| {
                invalid("not an Ed25519 public key (keyward keys are Ed25519: make one with `keyward keys generate` or `openssl genpkey -algorithm ed25519`)")
            })?;
        Self::from_bytes(key)
    }

    /// SPKI PEM text.
    pub fn to_pem(&self) -> String {
        let mut der = pem::SPKI_HEADER.to_vec();
        der.extend_from_slice(self.key.as_bytes());
        pem::encode("PUBLIC KEY", &der)
    }

    /// The 32 raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Short id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// Whether `sig` is this key's Ed25519 signature of exactly `message` (no domain tag),
    /// under `verify_strict`: the one primitive every artifact's check goes through, public
    /// so that external test vectors (Wycheproof) can exercise it. Artifacts are checked
    /// with their domain tag by their own `decode`/`verify`, never with this directly.
    pub fn verify_message(&self, message: &[u8], sig: &[u8; 64]) -> bool {
        #[cfg(test)]
        SIGNATURE_CHECKS.with(|n| n.set(n.get() + 1));
        let sig = ed25519_dalek::Signature::from_bytes(sig);
        // verify_strict: rejects non-canonical and small-order R and A, so no two distinct
        // signatures (or keys) validate the same artifact.
        self.key.verify_strict(message, &sig).is_ok()
    }
}

#[cfg(test)]
std::thread_local! {
    /// Signature checks made on this thread, for tests that bound how many a call makes.
    pub(crate) static SIGNATURE_CHECKS: core::cell::Cell<usize> = const { core::cell::Cell::new(0) };
}

fn signed_bytes(domain: &[u8], message: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(domain.len() + message.len());
    v.extend_from_slice(domain);
    v.extend_from_slice(message);
    v
}

/// A merchant's private key. Only the merchant's CLI and service ever hold one.
pub struct MerchantKey {
    key: SigningKey,
    public: PublicKey,
}

impl fmt::Debug for MerchantKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MerchantKey({})", self.public.id)
    }
}

impl MerchantKey {
    /// From 32 bytes of secret randomness (the core has no random source of its own).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let key = SigningKey::from_bytes(seed);
        let public = PublicKey::from_verifying(key.verifying_key());
        MerchantKey { key, public }
    }

    /// Reads a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), including OpenSSL's
    /// `openssl genpkey -algorithm ed25519` output (v1) and the v2 form with the public key.
    pub fn from_pem(text: &str) -> Result<Self, Error> {
        let blocks = pem::blocks(text, "PRIVATE KEY").map_err(invalid)?;
        let [der] = blocks.as_slice() else {
            return Err(invalid(if blocks.is_empty() {
                "no -----BEGIN PRIVATE KEY----- block found (keyward reads PKCS#8 PEM files, as written by `keyward keys generate` or `openssl genpkey -algorithm ed25519`)"
            } else {
                "more than one private key in the file"
            }));
        };
        let not_ed25519 = || invalid("not an Ed25519 private key in PKCS#8 form");
        let (seed, public) = if let Some(rest) = der.strip_prefix(&pem::PKCS8_V1_HEADER) {
            (rest, None)
        } else if let Some(rest) = der.strip_prefix(&pem::PKCS8_V2_HEADER) {
            let (seed, tail) = rest.split_at(rest.len().min(32));
            let public = tail
                .strip_prefix(&pem::PKCS8_V2_PUBLIC)
                .ok_or_else(not_ed25519)?;
            (seed, Some(public))
        } else {
            return Err(not_ed25519());
        };
        let seed: &[u8; 32] = seed.try_into().map_err(|_| not_ed25519())?;
        let key = MerchantKey::from_seed(seed);
        if public.is_some_and(|p| p != key.public.key.as_bytes()) {
            return Err(invalid(
                "the public key stored in the file does not belong to its private key",
            ));
        }
        Ok(key)
    }

    /// PKCS#8 PEM text (v1, private key only: the form every OpenSSL version reads).
    pub fn to_pem(&self) -> String {
        let mut der = pem::PKCS8_V1_HEADER.to_vec();
        der.extend_from_slice(self.key.as_bytes());
        let text = pem::encode("PRIVATE KEY", &der);
        // Do not leave the secret lying around in freed memory.
        zeroize::Zeroize::zeroize(&mut der);
        text
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        self.public
    }

    pub(crate) fn sign(&self, domain: &[u8], message: &[u8]) -> [u8; 64] {
        self.key.sign(&signed_bytes(domain, message)).to_bytes()
    }
}

/// The keys a product trusts. Several are allowed so a merchant can rotate keys; nothing a
/// buyer types can add one.
#[derive(Clone, Debug, Default)]
pub struct TrustedKeys {
    keys: Vec<PublicKey>,
    /// See [`TrustedKeys::prepare_correction_tables`].
    #[cfg(feature = "correction-tables")]
    corrections: Option<Tables>,
}

impl TrustedKeys {
    /// An empty set (verifies nothing).
    pub fn new() -> Self {
        TrustedKeys::default()
    }

    /// A set of the given keys.
    pub fn from_keys(keys: impl IntoIterator<Item = PublicKey>) -> Self {
        let mut t = TrustedKeys::new();
        for k in keys {
            t.add(k);
        }
        t
    }

    /// Reads every `PUBLIC KEY` PEM block in `text` (one file may hold several): at most
    /// [`MAX_TRUSTED_KEYS`] keys in at most [`MAX_TRUSTED_PEM`] bytes, so a wrong file (or a
    /// hostile one) costs little to refuse.
    pub fn from_pem(text: &str) -> Result<Self, Error> {
        if text.len() > MAX_TRUSTED_PEM {
            return Err(invalid(words!(
                "the trusted key text is {} bytes, more than the {MAX_TRUSTED_PEM} bytes of {MAX_TRUSTED_KEYS} public keys: give the merchant's public key file (merchant.pem.pub)",
                text.len()
            )));
        }
        let mut t = TrustedKeys::new();
        for der in pem::blocks(text, "PUBLIC KEY").map_err(invalid)? {
            if t.keys.len() == MAX_TRUSTED_KEYS {
                return Err(invalid(words!(
                    "more than {MAX_TRUSTED_KEYS} public keys: a product trusts a few keys (the current one and those it rotated from); give only the merchant's keys"
                )));
            }
            t.add(PublicKey::from_spki(&der)?);
        }
        if t.keys.is_empty() {
            return Err(invalid(
                "no -----BEGIN PUBLIC KEY----- block found: give the merchant's public key file (merchant.pem.pub)",
            ));
        }
        Ok(t)
    }

    /// Makes the typo search about twice as fast where it checks many candidate corrections
    /// (a typo in a free-form part of a code, such as its license id): computes, once, the
    /// doublings of each key and of the curve's base point (254 points, 40 KB, each; about
    /// one signature check's time each), from which a candidate is ruled out for about a
    /// quarter of a check. For holders of the keys that check many pastes over time: the
    /// activation page uses it. Keys added later are searched as before. What is accepted
    /// is the same: a candidate that is not ruled out is verified as always.
    #[cfg(feature = "correction-tables")]
    pub fn prepare_correction_tables(&mut self) {
        self.corrections = Some(Tables::new(self.keys.iter().map(|k| k.key.to_edwards())));
    }

    /// Adds a key (ignored if already present).
    pub fn add(&mut self, key: PublicKey) {
        if !self.keys.contains(&key) {
            self.keys.push(key);
        }
    }

    /// The key with this id.
    pub fn get(&self, id: KeyId) -> Option<&PublicKey> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// All keys.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// Is the set empty?
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Verifies `sig` over `domain || message` with the key `key_id`; within a typo search,
    /// `search` first rules out, cheaply, the candidates that cannot verify.
    pub(crate) fn verify(
        &self,
        kind: Kind,
        key_id: KeyId,
        domain: &[u8],
        message: &[u8],
        sig: &[u8; 64],
        search: Option<&SignatureSearch>,
    ) -> Result<(), Error> {
        let i = self
            .keys
            .iter()
            .position(|k| k.id == key_id)
            .ok_or(Error::UnknownKey { key_id })?;
        let key = &self.keys[i];
        let signed = signed_bytes(domain, message);
        // (A key added after `prepare_correction_tables` has no table: searched as before.)
        #[cfg(feature = "correction-tables")]
        let ruled_out = match (search, &self.corrections) {
            (Some(search), Some(t)) => t.keys.get(i).is_some_and(|a| {
                !search.may_verify(t, a, (key_id, key.key.as_bytes()), &signed, sig)
            }),
            _ => false,
        };
        #[cfg(not(feature = "correction-tables"))]
        let ruled_out = {
            let _ = search; // (no tables without the feature: nothing is ruled out)
            false
        };
        if ruled_out || !key.verify_message(&signed, sig) {
            return Err(Error::BadSignature { kind });
        }
        Ok(())
    }
}

/// Without the `correction-tables` feature the typo search checks every candidate as usual.
#[cfg(not(feature = "correction-tables"))]
pub(crate) struct SignatureSearch;

#[cfg(not(feature = "correction-tables"))]
impl SignatureSearch {
    pub(crate) fn new() -> Self {
        SignatureSearch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip() {
        let k = MerchantKey::from_seed(&[7; 32]);
        let pem = k.to_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let k2 = MerchantKey::from_pem(&pem).unwrap();
        assert_eq!(k2.public(), k.public());
        let pub_pem = k.public().to_pem();
        assert_eq!(PublicKey::from_pem(&pub_pem).unwrap(), k.public());
        let both = alloc::format!(
            "{pub_pem}\n{}",
            MerchantKey::from_seed(&[8; 32]).public().to_pem()
        );
        assert_eq!(TrustedKeys::from_pem(&both).unwrap().keys().len(), 2);
    }

    #[test]
    fn openssl_genpkey_output_is_read() {
        // `openssl genpkey -algorithm ed25519` (PKCS#8 v1) and its `pkey -pubout`.
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIHo1VlL2nmM7S9tb0tq9E6yvWvF1bHUzVJfzAPLJXn3y\n-----END PRIVATE KEY-----\n";
        let k = MerchantKey::from_pem(pem).unwrap();
        let pub_pem = k.public().to_pem();
        assert!(pub_pem.starts_with("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA"));
    }

    #[test]
    fn pkcs8_v2_with_public_key_is_read_and_checked() {
        let k = MerchantKey::from_seed(&[9; 32]);
        let mut der = pem::PKCS8_V2_HEADER.to_vec();
        der.extend_from_slice(&[9; 32]);
        der.extend_from_slice(&pem::PKCS8_V2_PUBLIC);
        der.extend_from_slice(&k.public().to_bytes());
        let text = pem::encode("PRIVATE KEY", &der);
        assert_eq!(MerchantKey::from_pem(&text).unwrap().public(), k.public());
        // A public key that does not match the seed is refused.
        let last = der.len() - 1;
        der[last] ^= 1;
        assert!(MerchantKey::from_pem(&pem::encode("PRIVATE KEY", &der)).is_err());
    }

    #[test]
    fn trusted_key_text_is_capped() {
        let one = MerchantKey::from_seed(&[3; 32]).public().to_pem();
        // The most keys allowed are read.
        let most: String = (0..MAX_TRUSTED_KEYS as u8)
            .map(|i| MerchantKey::from_seed(&[i; 32]).public().to_pem())
            .collect();
        assert!(most.len() <= MAX_TRUSTED_PEM, "{}", most.len());
        assert_eq!(
            TrustedKeys::from_pem(&most).unwrap().keys().len(),
            MAX_TRUSTED_KEYS
        );
        // One more key is refused, with the reason.
        let more = alloc::format!(
            "{most}{}",
            MerchantKey::from_seed(&[200; 32]).public().to_pem()
        );
        let e = TrustedKeys::from_pem(&more).unwrap_err();
        assert_eq!(e.code(), "invalid_key");
        #[cfg(feature = "messages")]
        assert!(
            alloc::string::ToString::to_string(&e).contains("more than 64 public keys"),
            "{e}"
        );
        // 10,000 copies of one key: refused for its size before any is decoded.
        let huge = one.repeat(10_000);
        let e = TrustedKeys::from_pem(&huge).unwrap_err();
        assert_eq!(e.code(), "invalid_key");
        #[cfg(feature = "messages")]
        assert!(
            alloc::string::ToString::to_string(&e).contains("bytes, more than"),
            "{e}"
        );
    }

    #[test]
    fn garbage_keys_are_errors() {
        assert!(MerchantKey::from_pem("hello").is_err());
        assert!(
            PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
                .is_err()
        );
        assert!(TrustedKeys::from_pem("").is_err());
        assert!(PublicKey::from_bytes(&[0; 32]).is_err());
    }

    /// With the correction tables, a typo in a code's license id (where every candidate of
    /// its group decodes) costs one signature check, the fix's, not one per candidate; the
    /// answer is the same.
    #[cfg(feature = "correction-tables")]
    #[test]
    fn correction_tables_leave_one_signature_check() {
        use crate::{AuthorizationCode, LicenseId, LicenseTerms, Timestamp};
        let key = MerchantKey::from_seed(&[0x31; 32]);
        let plain = TrustedKeys::from_keys([key.public()]);
        let mut fast = plain.clone();
        fast.prepare_correction_tables();
        let code = AuthorizationCode::issue(
            &key,
            LicenseTerms {
                license_id: LicenseId([0xA5; 8]),
                product: "acme-invoice".into(),
                sku: String::new(),
                seats: 1,
                not_before: Timestamp(1_800_000_000),
                expires: None,
                features: Vec::new(),
                trial: false,
                instance_id: None,
                order_id: None,
            },
            None,
        )
        .unwrap()
        .encode();
        let checks = |t: &TrustedKeys, text: &str| {
            let before = SIGNATURE_CHECKS.with(|n| n.get());
            let r = AuthorizationCode::decode(text, t);
            (r, SIGNATURE_CHECKS.with(|n| n.get()) - before)
        };
        // Every place in the first groups after the key id (the license id's), every
        // substitution: the fix is found either way; with the tables, by one check.
        let (mut most_plain, mut typos) = (0, 0);
        for at in 14..24 {
            let mut chars: Vec<char> = code.chars().collect();
            if chars[at] == '-' {
                continue;
            }
            chars[at] = if chars[at] == 'X' { 'Y' } else { 'X' };
            let typo: String = chars.into_iter().collect();
            let (a, n_plain) = checks(&plain, &typo);
            let (b, n_fast) = checks(&fast, &typo);
            assert_eq!(a, b, "{typo}");
            assert_eq!(a.unwrap_err().suggestion(), Some(code.as_str()));
            assert_eq!(n_fast, 1, "{typo}");
            most_plain = most_plain.max(n_plain);
            typos += 1;
        }
        assert!(
            typos >= 8 && most_plain >= 4,
            "{typos} typos, {most_plain} checks at most"
        );
    }
}
