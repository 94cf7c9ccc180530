//! Merchant keys: Ed25519, PKCS#8 / SPKI PEM (OpenSSL reads and writes the same files),
//! a short key id, and the set of keys a product trusts.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::text::Kind;

/// Four bytes of SHA-256 over the public key: enough to pick the right trusted key and to
/// tell a merchant which key signed something, short enough to print everywhere.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 4]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for KeyId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
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
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| Error::InvalidKey {
            reason: "not a valid Ed25519 public key".to_string(),
        })?;
        if key.is_weak() {
            return Err(Error::InvalidKey {
                reason: "weak (small-order) Ed25519 public key".to_string(),
            });
        }
        Ok(Self::from_verifying(key))
    }

    fn from_verifying(key: VerifyingKey) -> Self {
        let digest = Sha256::new()
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
        let key = VerifyingKey::from_public_key_pem(pem.trim()).map_err(|e| Error::InvalidKey {
            reason: alloc::format!(
                "not an Ed25519 public key in PEM form ({e}); expected a file starting with -----BEGIN PUBLIC KEY-----"
            ),
        })?;
        Self::from_bytes(key.as_bytes())
    }

    /// SPKI PEM text.
    pub fn to_pem(&self) -> String {
        self.key
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default()
    }

    /// The 32 raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Short id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// Strict verification of `sig` over `domain || message`.
    pub(crate) fn verify(
        &self,
        kind: Kind,
        domain: &[u8],
        message: &[u8],
        sig: &[u8; 64],
    ) -> Result<(), Error> {
        let signed = signed_bytes(domain, message);
        let sig = ed25519_dalek::Signature::from_bytes(sig);
        // verify_strict: rejects non-canonical and small-order R and A, so no two distinct
        // signatures (or keys) validate the same artifact.
        self.key
            .verify_strict(&signed, &sig)
            .map_err(|_| Error::BadSignature { kind })
    }
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
    /// `openssl genpkey -algorithm ed25519` output.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let key = SigningKey::from_pkcs8_pem(pem.trim()).map_err(|e| Error::InvalidKey {
            reason: alloc::format!(
                "not an Ed25519 private key in PKCS#8 PEM form ({e}); expected a file starting with -----BEGIN PRIVATE KEY-----"
            ),
        })?;
        let public = PublicKey::from_verifying(key.verifying_key());
        Ok(MerchantKey { key, public })
    }

    /// PKCS#8 PEM text (v1, private key only: the form every OpenSSL version reads).
    pub fn to_pem(&self) -> String {
        let bytes = ed25519_dalek::pkcs8::KeypairBytes {
            secret_key: self.key.to_bytes(),
            public_key: None,
        };
        bytes
            .to_pkcs8_pem(LineEnding::LF)
            .map(|s| s.to_string())
            .unwrap_or_default()
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

    /// Reads every `PUBLIC KEY` PEM block in `text` (one file may hold several).
    pub fn from_pem(text: &str) -> Result<Self, Error> {
        let mut t = TrustedKeys::new();
        let mut rest = text;
        while let Some(start) = rest.find("-----BEGIN PUBLIC KEY-----") {
            let end_marker = "-----END PUBLIC KEY-----";
            let Some(end) = rest[start..].find(end_marker) else {
                return Err(Error::InvalidKey {
                    reason: "a PUBLIC KEY block has no END line".to_string(),
                });
            };
            let block = &rest[start..start + end + end_marker.len()];
            t.add(PublicKey::from_pem(block)?);
            rest = &rest[start + end + end_marker.len()..];
        }
        if t.keys.is_empty() {
            return Err(Error::InvalidKey {
                reason: "no -----BEGIN PUBLIC KEY----- block found".to_string(),
            });
        }
        Ok(t)
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

    pub(crate) fn verify(
        &self,
        kind: Kind,
        key_id: KeyId,
        domain: &[u8],
        message: &[u8],
        sig: &[u8; 64],
    ) -> Result<(), Error> {
        self.get(key_id)
            .ok_or(Error::UnknownKey { key_id })?
            .verify(kind, domain, message, sig)
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
    fn garbage_keys_are_errors() {
        assert!(MerchantKey::from_pem("hello").is_err());
        assert!(
            PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
                .is_err()
        );
        assert!(TrustedKeys::from_pem("").is_err());
        assert!(PublicKey::from_bytes(&[0; 32]).is_err());
    }
}
