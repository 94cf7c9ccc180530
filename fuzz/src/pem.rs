//! The `pem` target: merchant key files as pasted or read from disk.
//!
//! Properties: trusted keys read from PEM write back to PEM that reads the same keys, in the
//! same order; a single public key is the one trusted-keys reading finds; a private key
//! written back reads as the same key.

use keyward_core::{MerchantKey, PublicKey, TrustedKeys};

use crate::limits::call;

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    let input = crate::lossy(data);
    let t: &str = &input;
    let n = t.len();

    let trusted = call("TrustedKeys::from_pem", n, || TrustedKeys::from_pem(t));
    if let Ok(keys) = &trusted {
        let written: String = keys.keys().iter().map(PublicKey::to_pem).collect();
        let again = TrustedKeys::from_pem(&written);
        assert_eq!(
            again.as_ref().map(TrustedKeys::keys).ok(),
            Some(keys.keys()),
            "trusted keys written back as PEM do not read the same"
        );
        for k in keys.keys() {
            assert_eq!(PublicKey::from_pem(&k.to_pem()).as_ref(), Ok(k));
        }
    }

    if let Ok(k) = call("PublicKey::from_pem", n, || PublicKey::from_pem(t)) {
        assert_eq!(
            trusted.as_ref().map(TrustedKeys::keys).ok(),
            Some(&[k][..]),
            "one public key, but reading trusted keys found others"
        );
    }

    if let Ok(k) = call("MerchantKey::from_pem", n, || MerchantKey::from_pem(t)) {
        let again = MerchantKey::from_pem(&k.to_pem());
        assert_eq!(
            again.map(|a| a.public()).ok(),
            Some(k.public()),
            "a private key written back as PEM does not read as the same key"
        );
    }
}
