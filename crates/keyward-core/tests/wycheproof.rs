//! External Ed25519 vectors: every case of Wycheproof's `ed25519_test.json` (small-order and
//! non-canonical keys, malleated and non-canonical signatures, truncated and padded ones)
//! through keyward's own path: [`PublicKey::from_bytes`] then
//! [`PublicKey::verify_message`] (`verify_strict`), the primitive every artifact check uses.

use keyward_core::PublicKey;
use wycheproof::eddsa::{TestName, TestSet};
use wycheproof::TestResult;

#[test]
fn wycheproof_ed25519_vectors() {
    let set = TestSet::load(TestName::Ed25519).expect("the Ed25519 vectors");
    let (mut accepted, mut rejected) = (0, 0);
    for group in &set.test_groups {
        let pk: Option<&[u8; 32]> = group.key.pk.as_slice().try_into().ok();
        let key = pk.and_then(|pk| PublicKey::from_bytes(pk).ok());
        for t in &group.tests {
            let sig: Option<&[u8; 64]> = t.sig.as_slice().try_into().ok();
            let ok = match (key, sig) {
                (Some(k), Some(sig)) => k.verify_message(&t.msg, sig),
                _ => false,
            };
            match t.result {
                TestResult::Valid => assert!(ok, "case {} ({}) must verify", t.tc_id, t.comment),
                TestResult::Invalid => {
                    assert!(!ok, "case {} ({}) must be refused", t.tc_id, t.comment)
                }
                // "Acceptable": verify_strict decides; either is within the specification.
                _ => {}
            }
            if ok {
                accepted += 1;
            } else {
                rejected += 1;
            }
        }
    }
    // The file has both kinds in numbers (guards against an empty or misread set).
    assert!(
        accepted >= 50 && rejected >= 50,
        "{accepted} accepted, {rejected} rejected"
    );
}
