//! The keys the marketplace shares with the merchant, and the HMAC-SHA256 every scheme uses.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A secret shared with the marketplace: one interface's key (callbacks, License 1.0) or the
/// open API's secret key (SK). Never printed: `Debug` shows only its length.
#[derive(Clone)]
pub struct AccessKey(String);

impl AccessKey {
    /// Wraps a key as configured in the seller console.
    pub fn new(key: impl Into<String>) -> Self {
        AccessKey(key.into())
    }

    /// The key's text, for the schemes that put it inside the signed data.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// Whether no key was configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl core::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "AccessKey({} bytes)", self.0.len())
    }
}

/// HMAC-SHA256 of `data` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length (longer ones are hashed first): hmac returns
    // `InvalidLength` only for fixed-key-size MACs, never for `Hmac`.
    #[allow(clippy::expect_used)]
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// SHA-256 of `data`, lower-case hex.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    keyward_core::raw::hex(&Sha256::digest(data))
}

/// Whether two ASCII texts are equal ignoring case, in time that does not depend on where
/// they differ.
pub(crate) fn eq_ignore_case_ct(a: &str, b: &str) -> bool {
    let a: Vec<u8> = a.bytes().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<u8> = b.bytes().map(|c| c.to_ascii_lowercase()).collect();
    a.len() == b.len() && bool::from(a.ct_eq(&b))
}

/// Whether two byte strings are equal, in constant time for equal lengths.
pub(crate) fn eq_ct(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        // RFC 4231, test case 2.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            keyward_core::raw::hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn debug_hides_the_key() {
        let shown = format!("{:?}", AccessKey::new("s3cret-key"));
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn comparisons() {
        assert!(eq_ignore_case_ct("AbCd", "aBcD"));
        assert!(!eq_ignore_case_ct("abcd", "abce"));
        assert!(!eq_ignore_case_ct("abc", "abcd"));
        assert!(eq_ct(b"x", b"x"));
        assert!(!eq_ct(b"x", b"y"));
    }
}
