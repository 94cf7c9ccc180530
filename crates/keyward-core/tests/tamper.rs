//! Every single-bit change to a signed artifact is rejected, and every single-character
//! typo in an authorization code is located (and corrected when a key is available).

use keyward_core::*;
use keyward_core::{binding::Binding, error::CodeError, time::DAY};

fn key() -> MerchantKey {
    MerchantKey::from_seed(&[0x5a; 32])
}

fn now() -> Timestamp {
    Timestamp::parse("2026-11-20T12:00:00Z").unwrap()
}

fn terms() -> LicenseTerms {
    LicenseTerms {
        license_id: LicenseId(*b"\x01\x23\x45\x67\x89\xab\xcd\xef"),
        product: "acme-invoice".into(),
        sku: "pro".into(),
        seats: 5,
        not_before: now(),
        expires: Some(now().add_secs(30 * DAY)),
        features: vec!["export".into()],
        trial: false,
        instance_id: Some("inst-1".into()),
        order_id: None,
    }
}

fn facts() -> MachineFacts {
    MachineFacts {
        machine_id: Some("m".into()),
        product_uuid: Some("4c4c4544-003d-4a10-804b-b4c04f4e3732".into()),
        board_serial: None,
        disk_serial: Some("d".into()),
        cpu: Some("c".into()),
        macs: vec!["04:7c:16:5e:e3:5d".into()],
        ..Default::default()
    }
}

fn trusted() -> TrustedKeys {
    TrustedKeys::from_keys([key().public()])
}

/// The same keys with the typo search's tables (as the activation page holds them).
fn prepared() -> TrustedKeys {
    let mut t = trusted();
    t.prepare_correction_tables();
    t
}

/// Flips every bit of `bytes`, re-encodes with valid check symbols (so only the signature
/// or structure can catch it) and asserts `accept` rejects each one.
fn every_bit_flip_rejected(kind: Kind, bytes: &[u8], accept: impl Fn(&str) -> Result<(), Error>) {
    let mut rejected = 0;
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut b = bytes.to_vec();
            b[i] ^= 1 << bit;
            let text = raw::encode(kind, &b);
            let r = accept(&text);
            assert!(r.is_err(), "bit {bit} of byte {i} flipped was accepted");
            let code = r.unwrap_err().code();
            assert!(
                matches!(
                    code,
                    ErrorCode::BadSignature | ErrorCode::Malformed | ErrorCode::UnknownKey
                ),
                "unexpected {code} for byte {i} bit {bit}"
            );
            rejected += 1;
        }
    }
    assert_eq!(rejected, bytes.len() * 8);
}

#[test]
fn every_bit_flip_of_an_authorization_code_is_rejected() {
    let sys = SystemIdCode::compute("acme-invoice", &facts());
    let code = AuthorizationCode::issue(&key(), terms(), Some(Binding::system(sys, None).unwrap()))
        .unwrap();
    let t = trusted();
    AuthorizationCode::decode(&code.encode(), &t).unwrap();
    every_bit_flip_rejected(Kind::AuthorizationCode, &code.to_bytes(), |s| {
        AuthorizationCode::decode(s, &t).map(|_| ())
    });
}

#[test]
fn every_bit_flip_of_a_certificate_is_rejected() {
    let hw = HardwareId::parse("fp:04:7C:16:5E:E3:5D|S1,S2|B|C").unwrap();
    let cert = ActivationCertificate::issue(
        &key(),
        terms(),
        Binding::hardware(&hw, None).unwrap(),
        [3; 8],
        now(),
    )
    .unwrap();
    let t = trusted();
    ActivationCertificate::decode(&cert.encode(), &t).unwrap();
    every_bit_flip_rejected(Kind::ActivationCertificate, &cert.to_bytes(), |s| {
        ActivationCertificate::decode(s, &t).map(|_| ())
    });
}

#[test]
fn every_bit_flip_of_an_update_is_rejected() {
    let u = SignedUpdate::issue(
        &key(),
        terms().license_id,
        7,
        UpdateAction::Renew {
            expires: now().add_secs(400 * DAY),
        },
        now(),
    )
    .unwrap();
    let t = trusted();
    every_bit_flip_rejected(Kind::SignedUpdate, &u.to_bytes(), |s| {
        SignedUpdate::decode(s, &t).map(|_| ())
    });
}

#[test]
fn signatures_do_not_cross_kinds() {
    // The same body bytes under another kind's prefix never verify (domain separation).
    let code = AuthorizationCode::issue(&key(), terms(), None).unwrap();
    let t = trusted();
    for kind in [Kind::ActivationCertificate, Kind::SignedUpdate] {
        let text = raw::encode(kind, &code.to_bytes());
        assert!(Artifact::parse(&text, Some(&t)).is_err());
    }
}

/// Every text-level bit flip of every character: rejected, or (case and look-alike folding)
/// decodes to exactly the same artifact.
#[test]
fn every_text_bit_flip_is_rejected_or_harmless() {
    let code = AuthorizationCode::issue(&key(), terms(), None).unwrap();
    let text = code.encode();
    let t = trusted();
    let bytes = text.as_bytes();
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut b = bytes.to_vec();
            b[i] ^= 1 << bit;
            let Ok(s) = String::from_utf8(b) else {
                continue;
            };
            if let Ok(c) = AuthorizationCode::decode(&s, &t) {
                assert_eq!(c, code, "char {i} bit {bit}: {s}");
            }
        }
    }
}

#[test]
fn every_typo_is_located_and_corrected() {
    let code = AuthorizationCode::issue(&key(), terms(), None)
        .unwrap()
        .encode();
    let (t, fast) = (trusted(), prepared());
    let chars: Vec<char> = code.chars().collect();
    let alphabet: Vec<char> = "0123456789ABCDEFGHJKMNPQRSTVWXYZ".chars().collect();
    // Positions of code characters after the prefix, and their group numbers.
    let mut group = 0;
    let mut groups = vec![0usize; chars.len()];
    for (i, c) in chars.iter().enumerate() {
        if *c == '-' {
            group += 1;
        }
        groups[i] = group;
    }
    let mut substitutions = 0;
    let mut corrected = 0;
    for i in 4..chars.len() {
        if chars[i] == '-' {
            continue;
        }
        for &a in &alphabet {
            if a == chars[i] {
                continue;
            }
            let mut typo = chars.clone();
            typo[i] = a;
            let typo: String = typo.into_iter().collect();
            let err = AuthorizationCode::decode(&typo, &t).unwrap_err();
            // The correction tables change the cost of the search, never its answer.
            assert_eq!(AuthorizationCode::decode(&typo, &fast), Err(err.clone()));
            match &err {
                Error::Code(CodeError::Typo {
                    groups: g,
                    suggestion,
                    ..
                }) => {
                    assert_eq!(g.len(), 1, "{typo}");
                    assert_eq!(g[0].group, groups[i], "{typo}");
                    assert!((g[0].first_position..=g[0].last_position).contains(&(i + 1)));
                    // A single substitution always has exactly one signature-valid fix.
                    assert_eq!(suggestion.as_deref(), Some(code.as_str()), "{typo}");
                    corrected += 1;
                }
                other => panic!("substitution at {i} gave {other:?}"),
            }
            substitutions += 1;
        }
    }
    assert_eq!(substitutions, corrected);
    // Adjacent transpositions (within groups and across a hyphen).
    let idx: Vec<usize> = (4..chars.len()).filter(|&i| chars[i] != '-').collect();
    for w in idx.windows(2) {
        let (a, b) = (w[0], w[1]);
        if chars[a] == chars[b] {
            continue;
        }
        let mut typo = chars.clone();
        typo.swap(a, b);
        let typo: String = typo.into_iter().collect();
        let err = AuthorizationCode::decode(&typo, &t).unwrap_err();
        assert_eq!(AuthorizationCode::decode(&typo, &fast), Err(err.clone()));
        assert_eq!(err.code(), "typo", "{typo}");
        assert_eq!(err.suggestion(), Some(code.as_str()), "{typo}");
    }
}

#[test]
fn typical_code_is_short() {
    // 12-character product id, one feature, 30-day validity, unbound.
    let mut t = terms();
    t.sku = String::new();
    t.seats = 1;
    t.instance_id = None;
    t.features = vec!["export".into()];
    let s = AuthorizationCode::issue(&key(), t, None).unwrap().encode();
    assert!(s.len() <= 220, "{} characters: {s}", s.len());
}

#[test]
fn every_dropped_or_doubled_character_is_found_and_corrected() {
    let (t, fast) = (trusted(), prepared());
    // Codes of several lengths, so the last group is cut at every place (a code's length
    // decides where the shifted symbols end up).
    let mut lengths = std::collections::BTreeSet::new();
    for extra in 0..8 {
        let mut terms = terms();
        terms.product = format!("{}{}", terms.product, "x".repeat(extra));
        let code = AuthorizationCode::issue(&key(), terms, None)
            .unwrap()
            .encode();
        lengths.insert(code.len() % 11);
        let chars: Vec<char> = code.chars().collect();
        let size = 10; // symbols per group, check included
        for i in 4..chars.len() {
            if chars[i] == '-' {
                continue;
            }
            // The group of character i (1-based), counting only code characters.
            let symbol = chars[4..i].iter().filter(|&&c| c != '-').count();
            let group = symbol / size + 1;
            let mut dropped = chars.clone();
            dropped.remove(i);
            let dropped: String = dropped.into_iter().collect();
            let err = AuthorizationCode::decode(&dropped, &t).unwrap_err();
            assert_eq!(AuthorizationCode::decode(&dropped, &fast), Err(err.clone()));
            assert_eq!(err.code(), "typo", "{dropped}");
            assert_eq!(err.suggestion(), Some(code.as_str()), "dropped {i}: {err}");
            // Located to one group: the mistake's, or the one next to it when the dropped
            // character is a group's last or first.
            assert_eq!(err.typos().len(), 1, "dropped {i}: {err}");
            assert!(
                err.typos()[0].group.abs_diff(group) <= 1,
                "dropped {i}: {err}"
            );
            let mut doubled = chars.clone();
            doubled.insert(i, chars[i]);
            let doubled: String = doubled.into_iter().collect();
            let err = AuthorizationCode::decode(&doubled, &t).unwrap_err();
            assert_eq!(AuthorizationCode::decode(&doubled, &fast), Err(err.clone()));
            assert_eq!(err.suggestion(), Some(code.as_str()), "doubled {i}: {err}");
            assert_eq!(err.typos().len(), 1, "doubled {i}: {err}");
            assert!(
                err.typos()[0].group.abs_diff(group) <= 1,
                "doubled {i}: {err}"
            );
        }
    }
    assert!(lengths.len() >= 4, "code lengths mod 11: {lengths:?}");
    let code = AuthorizationCode::issue(&key(), terms(), None)
        .unwrap()
        .encode();
    let chars: Vec<char> = code.chars().collect();
    // The message says what happened and where.
    let mut dropped = chars.clone();
    dropped.remove(30);
    let dropped: String = dropped.into_iter().collect();
    let msg = AuthorizationCode::decode_unverified(&dropped)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("missing or one too many"), "{msg}");
    assert!(msg.contains("group 3"), "{msg}");
}
