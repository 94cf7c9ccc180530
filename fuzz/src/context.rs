//! What every target judges against: the fixed test key of `tests/vectors/` (the only key
//! trusted here), this machine's facts from the vectors, and their `now`.

use std::sync::OnceLock;

use ed25519_dalek::{Signer, SigningKey};
use keyward_core::{
    eval::Policy, Context, Kind, MachineFacts, MerchantKey, Timestamp, TrustedKeys,
};

/// The seed of the fixed test key, the same as `TEST_KEY_SEED` in `xtask/src/vectors.rs`
/// (the replay test checks that its public key is the one in `tests/vectors/vectors.json`).
/// Test vectors only: never use it for anything real.
pub const TEST_KEY_SEED: &[u8; 32] = b"keyward fixed test key: not safe";

/// `now` of the vectors: 2026-11-20T12:00:00Z.
pub const NOW: Timestamp = Timestamp(1_795_176_000);
/// The clock's high-water mark of the vectors: an hour before [`NOW`].
pub const HIGH_WATER: Timestamp = Timestamp(1_795_172_400);

/// The test key.
pub fn key() -> &'static MerchantKey {
    static KEY: OnceLock<MerchantKey> = OnceLock::new();
    KEY.get_or_init(|| MerchantKey::from_seed(TEST_KEY_SEED))
}

/// The trusted keys: the test key alone.
pub fn trusted() -> &'static TrustedKeys {
    static T: OnceLock<TrustedKeys> = OnceLock::new();
    T.get_or_init(|| TrustedKeys::from_keys([key().public()]))
}

/// [`trusted`] with the typo search's correction tables (as the activation page holds the
/// keys).
pub fn prepared() -> &'static TrustedKeys {
    static T: OnceLock<TrustedKeys> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = trusted().clone();
        t.prepare_correction_tables();
        t
    })
}

/// This machine's facts, as in the vectors.
pub fn facts() -> &'static MachineFacts {
    static F: OnceLock<MachineFacts> = OnceLock::new();
    F.get_or_init(|| MachineFacts {
        machine_id: Some("8f3b1c2d4e5f60718293a4b5c6d7e8f9".into()),
        product_uuid: Some("4c4c4544-003d-4a10-804b-b4c04f4e3732".into()),
        board_serial: Some("CN7016351P00AF".into()),
        disk_serial: Some("S4EVNF0M712345X".into()),
        cpu: Some("GenuineIntel family 6 model 158 stepping 10".into()),
        macs: vec!["04:7c:16:5e:e3:5d".into(), "04:7c:16:5e:e3:5e".into()],
        ..Default::default()
    })
}

/// The evaluation context at `now`.
pub fn context(now: Timestamp) -> Context<'static> {
    Context {
        trusted: trusted(),
        facts: facts(),
        hardware_ids: &[],
        now,
        policy: Policy::default(),
    }
}

/// The signed kinds, each with the domain its signatures cover (docs/FORMAT.md:
/// Ed25519 over `DOMAIN ‖ version ‖ body`).
pub const SIGNED: [(Kind, &[u8]); 3] = [
    (Kind::AuthorizationCode, b"keyward:authorization-code\0"),
    (
        Kind::ActivationCertificate,
        b"keyward:activation-certificate\0",
    ),
    (Kind::SignedUpdate, b"keyward:signed-update\0"),
];

/// The format version every signature covers.
pub const VERSION: u8 = 1;

/// `body` followed by the test key's signature over it as an artifact of the signed kind
/// `SIGNED[index]`: canonical bytes whenever the body is.
pub fn sign_body(index: usize, body: &[u8]) -> Vec<u8> {
    let (_, domain) = SIGNED[index % SIGNED.len()];
    let mut message = Vec::with_capacity(domain.len() + 1 + body.len());
    message.extend_from_slice(domain);
    message.push(VERSION);
    message.extend_from_slice(body);
    let signature = SigningKey::from_bytes(TEST_KEY_SEED).sign(&message);
    let mut out = body.to_vec();
    out.extend_from_slice(&signature.to_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_core::{
        binding::Binding, ActivationCertificate, AuthorizationCode, LicenseId, LicenseState,
        LicenseTerms, SignedUpdate, SystemIdCode, UpdateAction,
    };

    #[test]
    fn the_test_key_is_the_one_of_the_vectors() {
        let vectors = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/vectors.json"),
        )
        .expect("tests/vectors/vectors.json");
        let pem = key().public().to_pem().replace('\n', "\\n");
        assert!(vectors.contains(&pem), "the vectors trust another key");
    }

    #[test]
    fn re_signing_a_body_gives_the_issued_bytes() {
        let terms = LicenseTerms {
            license_id: LicenseId([3; 8]),
            product: "acme-invoice".into(),
            sku: "pro".into(),
            seats: 2,
            not_before: NOW,
            expires: None,
            features: vec!["export".into()],
            trial: false,
            instance_id: None,
            order_id: None,
        };
        let binding =
            Binding::system(SystemIdCode::compute("acme-invoice", facts()), None).unwrap();
        let artifacts = [
            AuthorizationCode::issue(key(), terms.clone(), None)
                .unwrap()
                .to_bytes(),
            ActivationCertificate::issue(key(), terms, binding, [1; 8], NOW)
                .unwrap()
                .to_bytes(),
            SignedUpdate::issue(key(), LicenseId([3; 8]), 1, UpdateAction::Freeze, NOW)
                .unwrap()
                .to_bytes(),
        ];
        for (index, bytes) in artifacts.iter().enumerate() {
            let body = &bytes[..bytes.len() - 64];
            assert_eq!(&sign_body(index, body), bytes, "{:?}", SIGNED[index].0);
        }
    }

    #[test]
    fn the_state_checksum_is_the_one_written() {
        let blob = LicenseState::default().to_bytes().unwrap();
        let body = &blob[..blob.len() - 8];
        assert_eq!(crate::state::with_checksum(body), blob);
    }
}
