//! Property tests: encode∘decode is the identity; no input makes a parser panic.

use keyward_core::*;
use keyward_core::{
    binding::{Binding, MachineRef},
    limits::{MAX_FINGERPRINT_LEN, MAX_SEATS},
};
use proptest::prelude::*;

fn key() -> MerchantKey {
    MerchantKey::from_seed(&[0x33; 32])
}

fn ident(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Za-z0-9._-]{{1,{max}}}")).unwrap()
}

fn terms_strategy() -> impl Strategy<Value = LicenseTerms> {
    (
        any::<[u8; 8]>(),
        ident(64),
        prop_oneof![Just(String::new()), ident(16)],
        1u32..=MAX_SEATS,
        0u64..4_000_000_000,
        prop::option::of(60u64..2_000_000_000),
        prop::collection::vec(ident(32), 0..6),
        any::<bool>(),
        prop::option::of("[ -~]{0,20}[!-~]"),
        prop::option::of("[!-~]{1,64}"),
    )
        .prop_map(
            |(id, product, sku, seats, nb, dur, features, trial, instance, order)| LicenseTerms {
                license_id: LicenseId(id),
                product,
                sku,
                seats,
                not_before: Timestamp(nb),
                expires: dur.map(|d| Timestamp(nb + d)),
                features,
                trial,
                instance_id: instance
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty()),
                order_id: order,
            },
        )
}

fn facts_strategy() -> impl Strategy<Value = MachineFacts> {
    (
        prop::option::of("[a-f0-9]{32}"),
        prop::option::of("[A-Z0-9-]{1,36}"),
        prop::option::of("[A-Z0-9]{1,20}"),
        prop::option::of("[A-Z0-9_.]{1,20}"),
        prop::option::of("[ -~]{1,40}"),
        prop::collection::vec("[0-9a-f]{2}(:[0-9a-f]{2}){5}", 0..3),
    )
        .prop_map(
            |(machine_id, product_uuid, board_serial, disk_serial, cpu, macs)| MachineFacts {
                machine_id,
                product_uuid,
                board_serial,
                disk_serial,
                cpu,
                macs,
                ..Default::default()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn authorization_code_round_trips(t in terms_strategy(), facts in facts_strategy(), k in 0u8..3) {
        let sys = SystemIdCode::compute(&t.product, &facts);
        let binding = if sys.present() > 0 && k > 0 { Binding::system(sys, None).ok() } else { None };
        let code = AuthorizationCode::issue(&key(), t, binding).unwrap();
        let trusted = TrustedKeys::from_keys([key().public()]);
        let text = code.encode();
        prop_assert_eq!(&AuthorizationCode::decode(&text, &trusted).unwrap(), &code);
        prop_assert_eq!(&AuthorizationCode::from_bytes(&code.to_bytes()).unwrap(), &code);
    }

    #[test]
    fn certificate_round_trips(t in terms_strategy(), nonce in any::<[u8; 8]>(), issued in 0u64..4_000_000_000) {
        let hw = HardwareId::parse("mac:00:11:22:33:44:55").unwrap();
        let cert = ActivationCertificate::issue(&key(), t, Binding::hardware(&hw, None).unwrap(), nonce, Timestamp(issued)).unwrap();
        let trusted = TrustedKeys::from_keys([key().public()]);
        prop_assert_eq!(&ActivationCertificate::decode(&cert.encode(), &trusted).unwrap(), &cert);
    }

    #[test]
    fn system_id_round_trips(facts in facts_strategy(), product in ident(20)) {
        let c = SystemIdCode::compute(&product, &facts);
        if c.present() > 0 {
            prop_assert_eq!(SystemIdCode::decode(&c.encode()).unwrap(), c);
            prop_assert!(c.encode().len() <= 32);
        }
    }

    #[test]
    fn request_and_update_round_trip(t in terms_strategy(), nonce in any::<[u8; 8]>(), seq in 1u32.., renew in any::<bool>()) {
        let code = AuthorizationCode::issue(&key(), t.clone(), None).unwrap();
        let r = ActivationRequest::new(code, MachineRef::Hardware(HardwareId::parse("sn:ABC-123").unwrap()), nonce, Timestamp(1_800_000_000));
        prop_assert_eq!(&ActivationRequest::decode(&r.encode()).unwrap(), &r);
        let action = if renew { UpdateAction::Renew { expires: Timestamp(1_900_000_020) } } else { UpdateAction::Freeze };
        let u = SignedUpdate::issue(&key(), t.license_id, seq, action, Timestamp(1_800_000_000)).unwrap();
        prop_assert_eq!(&SignedUpdate::decode_unverified(&u.encode()).unwrap(), &u);
    }

    /// `parse(x.to_string()) == x` for every hardware id that parses, and the normal form
    /// fits what a request carries.
    #[test]
    fn hardware_id_normal_form_parses_to_itself(
        prefix in prop_oneof![Just(""), Just("mac:"), Just("sn:"), Just("uuid:"), Just("disk:"), Just("fp:"), Just("custom:"), Just("MAC : "), Just("Serial:")],
        body in prop_oneof![
            "[0-9a-fA-F:. -]{0,40}",
            "[0-9A-Za-z_./:+ -]{0,40}",
            "(([0-9a-fA-F]{12}|[0-9a-f]{2}(-[0-9a-f]{2}){5}),){0,400}[|]([A-Za-z0-9_. ]{1,10},?){0,3}[|][A-Za-z0-9 ]{0,10}[|][A-Z0-9 ]{0,16}",
            "\\PC{0,40}",
            "[{]?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}[}]?",
        ],
    ) {
        let text = format!("{prefix}{body}");
        if let Ok(h) = HardwareId::parse(&text) {
            let normal = h.to_string();
            prop_assert!(normal.len() <= MAX_FINGERPRINT_LEN + 16, "{} bytes", normal.len());
            let again = HardwareId::parse(&normal);
            prop_assert_eq!(again.as_ref().ok(), Some(&h), "{:?} -> {:?}", text, normal);
        }
    }

    #[test]
    fn random_text_never_panics(s in "\\PC{0,300}") {
        let trusted = TrustedKeys::from_keys([key().public()]);
        let _ = Artifact::parse(&s, Some(&trusted));
        let _ = Artifact::parse(&s, None);
        let _ = HardwareId::parse(&s);
        let _ = Timestamp::parse(&s);
        let _ = SystemIdCode::decode(&s);
        let _ = TrustedKeys::from_pem(&s);
        let _ = MerchantKey::from_pem(&s);
    }

    #[test]
    fn code_like_text_never_panics(prefix in "K[ASRCN][0-9]", body in "[0-9A-Za-z -]{0,400}") {
        let s = format!("{prefix}-{body}");
        let trusted = TrustedKeys::from_keys([key().public()]);
        let _ = Artifact::parse(&s, Some(&trusted));
        let _ = raw::decode(&s);
    }

    #[test]
    fn random_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = AuthorizationCode::from_bytes(&b);
        let _ = ActivationCertificate::from_bytes(&b);
        let _ = SignedUpdate::from_bytes(&b);
        let _ = ActivationRequest::from_bytes(&b);
        let _ = LicenseState::from_bytes(&b);
        let mut with_magic = b"KWST".to_vec();
        with_magic.extend_from_slice(&b);
        let _ = LicenseState::from_bytes(&with_magic);
        // Random bytes with valid check symbols reach the structural decoders.
        let trusted = TrustedKeys::from_keys([key().public()]);
        for kind in Kind::ALL {
            let _ = Artifact::parse(&raw::encode(kind, &b), Some(&trusted));
        }
    }
}
