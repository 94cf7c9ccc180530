//! Evaluation and state: every status, updates and their order, the clock, tolerance.

use keyward_core::*;
use keyward_core::{
    binding::{Binding, MachineRef},
    eval::{LicenseFlags, Policy},
    limits::{MAX_ENTRIES, MAX_PENDING},
    state::{Applied, Credential, Entry},
};

fn key() -> MerchantKey {
    MerchantKey::from_seed(&[0x77; 32])
}
fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}
fn facts() -> MachineFacts {
    MachineFacts {
        machine_id: Some("machine".into()),
        product_uuid: Some("4c4c4544-003d-4a10-804b-b4c04f4e3732".into()),
        board_serial: Some("BOARD1".into()),
        disk_serial: Some("DISK1".into()),
        cpu: Some("cpu".into()),
        macs: vec!["04:7c:16:5e:e3:5d".into()],
        ..Default::default()
    }
}
fn terms(expires: Option<&str>) -> LicenseTerms {
    LicenseTerms {
        license_id: LicenseId([9; 8]),
        product: "acme".into(),
        sku: String::new(),
        seats: 1,
        not_before: t("2026-11-01"),
        expires: expires.map(t),
        features: vec!["pro".into()],
        trial: false,
        instance_id: None,
        order_id: None,
    }
}

struct Env {
    trusted: TrustedKeys,
    facts: MachineFacts,
}

impl Env {
    fn new() -> Self {
        Env {
            trusted: TrustedKeys::from_keys([key().public()]),
            facts: facts(),
        }
    }
    fn ctx(&self, now: &str) -> Context<'_> {
        Context {
            trusted: &self.trusted,
            facts: &self.facts,
            hardware_ids: &[],
            now: t(now),
            policy: Policy::default(),
        }
    }
}

fn cert_for(
    f: &MachineFacts,
    expires: Option<&str>,
    tolerance: Option<u8>,
) -> ActivationCertificate {
    let sys = SystemIdCode::compute("acme", f);
    ActivationCertificate::issue(
        &key(),
        terms(expires),
        Binding::system(sys, tolerance).unwrap(),
        [1; 8],
        t("2026-11-01"),
    )
    .unwrap()
}

#[test]
fn statuses_over_time() {
    let env = Env::new();
    let mut st = LicenseState::default();
    let cert = cert_for(&env.facts, Some("2026-12-01"), None);
    let s = st
        .install(
            Credential::Certificate(cert),
            &env.ctx("2026-10-20T00:00:00Z"),
        )
        .unwrap();
    assert_eq!(s.code(), "not_yet_valid");
    let s = st.status(&env.ctx("2026-11-20T00:00:00Z"));
    assert_eq!(s.code(), "active");
    assert!(s.has_feature("pro"));
    assert!(!s.has_feature("enterprise"));
    assert_eq!(s.license().unwrap().days_left, Some(11));
    let s = st.status(&env.ctx("2026-12-02T00:00:00Z"));
    assert_eq!(s.code(), "in_grace");
    assert!(s.has_feature("pro"));
    let s = st.status(&env.ctx("2026-12-05T00:00:00Z"));
    assert_eq!(s.code(), "expired");
    assert!(!s.has_feature("pro"));
}

#[test]
fn updates_renew_freeze_release_and_refuse_replay() {
    let env = Env::new();
    let mut st = LicenseState::default();
    let cert = cert_for(&env.facts, Some("2026-12-01"), None);
    let id = cert.terms().license_id;
    st.install(
        Credential::Certificate(cert),
        &env.ctx("2026-11-20T00:00:00Z"),
    )
    .unwrap();
    let up = |seq, action| SignedUpdate::issue(&key(), id, seq, action, t("2026-11-20")).unwrap();
    let ctx = env.ctx("2026-12-10T00:00:00Z");
    assert_eq!(st.status(&ctx).code(), "expired");
    let renew = up(
        1,
        UpdateAction::Renew {
            expires: t("2027-12-01"),
        },
    );
    assert_eq!(st.apply(&renew, &ctx).unwrap(), Applied::Applied);
    assert_eq!(st.status(&ctx).code(), "active");
    // The same update again is a no-op; an older one is refused.
    assert_eq!(st.apply(&renew, &ctx).unwrap(), Applied::AlreadyApplied);
    st.apply(&up(3, UpdateAction::Freeze), &ctx).unwrap();
    assert_eq!(st.status(&ctx).code(), "frozen");
    let old = st.apply(&up(2, UpdateAction::Unfreeze), &ctx).unwrap_err();
    assert!(old.to_string().contains("older"), "{old}");
    assert_eq!(st.status(&ctx).code(), "frozen");
    st.apply(&up(4, UpdateAction::Unfreeze), &ctx).unwrap();
    assert_eq!(st.status(&ctx).code(), "active");
    st.apply(&up(5, UpdateAction::Release), &ctx).unwrap();
    assert_eq!(st.status(&ctx).code(), "released");
    assert!(st.apply(&up(6, UpdateAction::Unfreeze), &ctx).is_err());
    // An update signed by another key is refused.
    let forged = SignedUpdate::issue(
        &MerchantKey::from_seed(&[1; 32]),
        id,
        9,
        UpdateAction::Unfreeze,
        t("2026-11-20"),
    )
    .unwrap();
    assert_eq!(st.apply(&forged, &ctx).unwrap_err().code(), "unknown_key");
    // State survives a round trip through bytes, updates included.
    let again = LicenseState::from_bytes(&st.to_bytes().unwrap()).unwrap();
    assert_eq!(again, st);
}

/// The state file is the buyer's to edit: an expiry written into it (without a renewal the
/// merchant signed, or with one for another license or signed by another key) never makes
/// an expired license active again; a signed renewal does, also after the state's bytes
/// are read back and after the certificate is installed again.
#[test]
fn an_edited_state_cannot_extend_a_license() {
    let env = Env::new();
    let cert = cert_for(&env.facts, Some("2026-12-01"), None);
    let id = cert.terms().license_id;
    let mut st = LicenseState::default();
    st.install(
        Credential::Certificate(cert.clone()),
        &env.ctx("2026-11-20T00:00:00Z"),
    )
    .unwrap();
    let ctx = env.ctx("2026-12-10T00:00:00Z");
    assert_eq!(st.status(&ctx).code(), "expired");

    // A buyer's edit: the expiry flag alone (what states before this change stored).
    let mut edited = st.clone();
    edited.entries[0].flags.renewed_expiry = Some(t("2099-01-01"));
    assert_eq!(edited.clone().status(&ctx).code(), "expired");
    let read_back = LicenseState::from_bytes(&edited.to_bytes().unwrap()).unwrap();
    assert_eq!(read_back.clone().status(&ctx).code(), "expired");
    let mut reinstalled = read_back;
    let installed = reinstalled
        .install(Credential::Certificate(cert.clone()), &ctx)
        .unwrap();
    assert_eq!(installed.code(), "expired");
    assert_eq!(reinstalled.status(&ctx).code(), "expired");

    // A renewal signed by another key, or for another license, pasted into the state.
    let renew = |key: &MerchantKey, license| {
        SignedUpdate::issue(
            key,
            license,
            1,
            UpdateAction::Renew {
                expires: t("2099-01-01"),
            },
            t("2026-11-20"),
        )
        .unwrap()
    };
    for forged in [
        renew(&MerchantKey::from_seed(&[1; 32]), id),
        renew(&key(), LicenseId([0xee; 8])),
    ] {
        let mut e = st.clone();
        e.entries[0].renewal = Some(forged);
        e.entries[0].flags.renewed_expiry = Some(t("2099-01-01"));
        assert_eq!(e.status(&ctx).code(), "expired");
    }

    // The merchant's renewal counts, kept through the bytes and a reinstall.
    st.apply(&renew(&key(), id), &ctx).unwrap();
    assert_eq!(st.status(&ctx).code(), "active");
    let mut back = LicenseState::from_bytes(&st.to_bytes().unwrap()).unwrap();
    assert_eq!(back, st);
    assert_eq!(back.status(&ctx).code(), "active");
    back.install(Credential::Certificate(cert), &ctx).unwrap();
    assert_eq!(back.status(&ctx).code(), "active");
}

#[test]
fn clock_rollback_is_reported_and_tolerated_within_limit() {
    let env = Env::new();
    let mut st = LicenseState::default();
    st.install(
        Credential::Certificate(cert_for(&env.facts, None, None)),
        &env.ctx("2026-11-20T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(st.status(&env.ctx("2026-11-22T12:00:00Z")).code(), "active");
    // 23 hours back: within the day of tolerance.
    assert_eq!(st.status(&env.ctx("2026-11-21T13:00:00Z")).code(), "active");
    // More than a day back: a rollback.
    let s = st.status(&env.ctx("2026-11-21T11:00:00Z"));
    assert_eq!(s.code(), "clock_rolled_back");
    assert!(s.describe().contains("set the clock to the correct date"));
    assert!(s.describe().contains("clock reset"));
    // The high-water mark did not move backwards.
    assert_eq!(st.high_water, t("2026-11-22T12:00:00Z"));
}

/// A dual-boot PC whose clock jumps 8 hours ahead and back, again and again, or a clock
/// that was a day ahead for a while: never locked out; a real rollback still caught; the
/// merchant's signed clock reset clears a mark that is too far ahead, offline.
#[test]
fn a_clock_ahead_for_a_while_does_not_lock_out_and_a_reset_clears_it() {
    let env = Env::new();
    let mut st = LicenseState::default();
    st.install(
        Credential::Certificate(cert_for(&env.facts, None, None)),
        &env.ctx("2026-11-20T00:00:00Z"),
    )
    .unwrap();
    let base = t("2026-11-20T08:00:00Z").0;
    for boot in 0..20u64 {
        let real = base + boot * 3 * 3600;
        let shown = if boot % 2 == 0 { real + 8 * 3600 } else { real };
        let mut ctx = env.ctx("2026-11-20T00:00:00Z");
        ctx.now = Timestamp(shown);
        assert_eq!(st.status(&ctx).code(), "active", "boot {boot}");
    }
    // A day ahead for a while, then right again.
    st.status(&env.ctx("2026-11-23T12:00:00Z"));
    assert_eq!(st.status(&env.ctx("2026-11-22T12:30:00Z")).code(), "active");
    // Two days ahead for a while: the correct clock now reads as turned back ...
    st.status(&env.ctx("2026-11-25T12:00:00Z"));
    assert_eq!(
        st.status(&env.ctx("2026-11-23T12:00:00Z")).code(),
        "clock_rolled_back"
    );
    // ... until the merchant's clock reset, signed at the real time, is applied.
    let id = LicenseId([9; 8]);
    let reset = SignedUpdate::issue(
        &key(),
        id,
        1,
        UpdateAction::ResetClock,
        t("2026-11-23T11:00:00Z"),
    )
    .unwrap();
    let decoded = SignedUpdate::decode(&reset.encode(), &env.trusted).unwrap();
    assert_eq!(decoded.action(), UpdateAction::ResetClock);
    assert_eq!(decoded.action().code(), "reset_clock");
    let ctx = env.ctx("2026-11-23T12:00:00Z");
    assert_eq!(st.apply(&decoded, &ctx).unwrap(), Applied::Applied);
    assert_eq!(st.high_water, t("2026-11-23T11:00:00Z"));
    assert_eq!(st.status(&ctx).code(), "active");
    // Applied once: the same reset again changes nothing, even after the clock ran ahead.
    st.status(&env.ctx("2026-11-26T12:00:00Z"));
    assert_eq!(st.apply(&decoded, &ctx).unwrap(), Applied::AlreadyApplied);
    assert_eq!(st.status(&ctx).code(), "clock_rolled_back");
    // A clock turned back before the reset's signing time is still caught.
    let mut st2 = st.clone();
    let reset2 = SignedUpdate::issue(
        &key(),
        id,
        2,
        UpdateAction::ResetClock,
        t("2026-11-23T11:00:00Z"),
    )
    .unwrap();
    st2.apply(&reset2, &ctx).unwrap();
    assert_eq!(
        st2.status(&env.ctx("2026-11-01T00:00:00Z")).code(),
        "clock_rolled_back"
    );
}

#[test]
fn tolerance_one_of_five_changed_still_active_three_changed_mismatch() {
    let env = Env::new();
    let cert = cert_for(&env.facts, None, None); // 3 of 5
    let mut f = facts();
    f.disk_serial = Some("NEW DISK".into());
    let one = Env {
        trusted: env.trusted.clone(),
        facts: f.clone(),
    };
    let st = {
        let mut st = LicenseState::default();
        st.install(
            Credential::Certificate(cert.clone()),
            &env.ctx("2026-11-20T00:00:00Z"),
        )
        .unwrap();
        st
    };
    assert_eq!(st.peek(&one.ctx("2026-11-20T00:00:00Z")).code(), "active");
    f.cpu = Some("new cpu".into());
    f.macs = vec!["aa:aa:aa:aa:aa:aa".into()];
    let three = Env {
        trusted: env.trusted.clone(),
        facts: f,
    };
    match st.peek(&three.ctx("2026-11-20T00:00:00Z")) {
        Status::MachineMismatch { mismatch, .. } => {
            assert_eq!(mismatch.differing, vec!["disk", "cpu", "mac"]);
            assert_eq!((mismatch.matched, mismatch.required), (2, 3));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn hardware_bindings_and_pasted_machine_checks() {
    let env = Env::new();
    let mac = HardwareId::parse("mac:04-7C-16-5E-E3-5D").unwrap();
    let code = AuthorizationCode::issue(
        &key(),
        terms(None),
        Some(Binding::hardware(&mac, None).unwrap()),
    )
    .unwrap();
    let s = Credential::Code(code.clone())
        .evaluate(&LicenseFlags::default(), &env.ctx("2026-11-20T00:00:00Z"))
        .unwrap();
    assert_eq!(s.code(), "active");
    let b = code.binding().unwrap();
    let same = MachineRef::Hardware(HardwareId::parse("047c.165e.e35d").unwrap());
    assert_eq!(b.check_machine_ref(&same), Some(Ok(())));
    let other = MachineRef::Hardware(HardwareId::parse("mac:00:00:00:00:00:01").unwrap());
    assert!(matches!(b.check_machine_ref(&other), Some(Err(_))));
    let sys = MachineRef::System(SystemIdCode::compute("acme", &env.facts));
    assert_eq!(b.check_machine_ref(&sys), None);
    // A custom id can only be vouched for by the host.
    let dongle = HardwareId::parse("custom:DONGLE-42").unwrap();
    let code = AuthorizationCode::issue(
        &key(),
        terms(None),
        Some(Binding::hardware(&dongle, None).unwrap()),
    )
    .unwrap();
    let cred = Credential::Code(code);
    assert_eq!(
        cred.evaluate(&LicenseFlags::default(), &env.ctx("2026-11-20T00:00:00Z"))
            .unwrap()
            .code(),
        "machine_mismatch"
    );
    let ids = [dongle];
    let mut ctx = env.ctx("2026-11-20T00:00:00Z");
    ctx.hardware_ids = &ids;
    assert_eq!(
        cred.evaluate(&LicenseFlags::default(), &ctx)
            .unwrap()
            .code(),
        "active"
    );
}

#[test]
fn damaged_state_is_an_error_not_a_panic() {
    let env = Env::new();
    let mut st = LicenseState::default();
    st.install(
        Credential::Certificate(cert_for(&env.facts, None, None)),
        &env.ctx("2026-11-20T00:00:00Z"),
    )
    .unwrap();
    let bytes = st.to_bytes().unwrap();
    for n in 0..bytes.len() {
        assert!(
            LicenseState::from_bytes(&bytes[..n]).is_err(),
            "truncated to {n}"
        );
    }
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x10;
        assert!(LicenseState::from_bytes(&b).is_err(), "byte {i} changed");
    }
}

#[test]
fn error_messages_say_what_to_do() {
    let trusted = TrustedKeys::from_keys([key().public()]);
    let cases = [
        ("", "nothing was entered"),
        ("hello", "not a keyward code"),
        ("KA9-AAAA", "update the software"),
        ("KA1-AB#CD", "cannot appear in a code"),
        ("PL0123456789ABCDEF", "marketplace"),
        ("mac:12", "12 hexadecimal digits"),
    ];
    for (input, want) in cases {
        let e = Artifact::parse(input, Some(&trusted)).unwrap_err();
        assert!(e.to_string().contains(want), "{input:?}: {e}");
    }
    let sys = SystemIdCode::compute("acme", &facts()).encode();
    let e = Artifact::parse_expecting(&sys, Kind::AuthorizationCode, Some(&trusted)).unwrap_err();
    assert_eq!(e.to_string(), "this is a system identification code, not an authorization code: paste it where a system identification code is asked for");
}

/// Re-seals a state body with a valid checksum, as a deliberate edit (not damage) would.
fn reseal(body: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha512};
    let mut out = body.to_vec();
    out.extend_from_slice(&Sha512::digest(body)[..8]);
    out
}

#[test]
fn state_blob_is_canonical() {
    let env = Env::new();
    let mut st = LicenseState::default();
    st.install(
        Credential::Certificate(cert_for(&env.facts, None, None)),
        &env.ctx("2026-11-20T00:00:00Z"),
    )
    .unwrap();
    let bytes = st.to_bytes().unwrap();
    let body = &bytes[..bytes.len() - 8];
    // The entry's flag byte is the third byte from the end of the body (flags, renewal
    // marker 0): every unknown bit is refused, the two known ones read back.
    let flag_at = body.len() - 2;
    assert_eq!(body[flag_at], 0);
    for bit in 0..8u8 {
        let mut b = body.to_vec();
        b[flag_at] = 1 << bit;
        let r = LicenseState::from_bytes(&reseal(&b));
        if bit < 2 {
            let again = r.unwrap();
            assert_eq!(again.to_bytes().unwrap(), reseal(&b), "bit {bit}");
        } else {
            assert_eq!(r.unwrap_err().code(), "corrupt_state", "bit {bit}");
        }
    }
    let mut b = body.to_vec();
    b[flag_at] = 0xfc;
    assert!(LicenseState::from_bytes(&reseal(&b)).is_err());

    // Entry count: the most that can be installed encodes and reads back; one more is
    // refused by the encoder, and a count that does not match the entries by the decoder.
    let entry = st.entries[0].clone();
    let entries = |n: usize| -> Vec<Entry> {
        (0..n)
            .map(|i| {
                let mut terms = terms(None);
                terms.license_id = LicenseId([i as u8, 1, 2, 3, 4, 5, 6, 7]);
                Entry {
                    credential: Credential::Code(
                        AuthorizationCode::issue(&key(), terms, None).unwrap(),
                    ),
                    ..entry.clone()
                }
            })
            .collect()
    };
    let full = LicenseState {
        high_water: t("2026-11-20"),
        entries: entries(MAX_ENTRIES),
        ..LicenseState::default()
    };
    let full_bytes = full.to_bytes().unwrap();
    assert_eq!(LicenseState::from_bytes(&full_bytes).unwrap(), full);
    for n in [MAX_ENTRIES + 1, 256, 257] {
        let over = LicenseState {
            high_water: t("2026-11-20"),
            entries: entries(n),
            ..LicenseState::default()
        };
        assert_eq!(over.to_bytes().unwrap_err().code(), "invalid_input", "{n}");
    }
    // The count byte follows magic, version and the varint high-water mark.
    let body = &full_bytes[..full_bytes.len() - 8];
    let count_at = 4 + 1 + 5;
    assert_eq!(body[count_at] as usize, MAX_ENTRIES);
    for count in [0u8, 1, 63, 65, 255] {
        let mut b = body.to_vec();
        b[count_at] = count;
        assert!(
            LicenseState::from_bytes(&reseal(&b)).is_err(),
            "count {count} with {MAX_ENTRIES} entries"
        );
    }

    // One entry per license: two for the same license are refused on both sides (a second
    // would survive the first's removal), and `take` clears every entry of the license if
    // the public `entries` were given two.
    let mut twice = LicenseState {
        high_water: t("2026-11-20"),
        entries: vec![entry.clone(), entry.clone()],
        ..LicenseState::default()
    };
    assert_eq!(twice.to_bytes().unwrap_err().code(), "invalid_input");
    let once = LicenseState {
        entries: vec![entry.clone()],
        ..twice.clone()
    };
    let once_body = once.to_bytes().unwrap();
    let once_body = &once_body[..once_body.len() - 8];
    // Duplicate the entry's bytes (everything after the count byte) and bump the count.
    let count_at = 4 + 1 + 5;
    let mut b = once_body[..=count_at].to_vec();
    b[count_at] = 2;
    b.extend_from_slice(&once_body[count_at + 1..]);
    b.extend_from_slice(&once_body[count_at + 1..]);
    match LicenseState::from_bytes(&reseal(&b)) {
        Err(Error::CorruptState { reason }) => assert!(reason.contains("twice"), "{reason}"),
        other => panic!("a license recorded twice was read as {other:?}"),
    }
    let id = entry.credential.license_id();
    assert!(twice.take(id).is_some());
    assert!(twice.entries.is_empty(), "a second entry survived take");
}

/// A certificate answering a request made on this machine keeps the request's secret, so
/// removing the license yields a deactivation code that verifies against the certificate;
/// the state round-trips through its bytes (version 2) with the secret and pending requests.
#[test]
fn deactivation_secret_survives_install_and_state_bytes() {
    let env = Env::new();
    let ctx = env.ctx("2026-11-10");
    let mut st = LicenseState::default();
    let id = terms(None).license_id;
    let secret = *b"0123456789";
    let nonce = st.remember_request(id, secret);
    assert_eq!(nonce, DeactivationCode::commitment(&secret));
    // Pending secrets are kept in the bytes (version 2).
    let bytes = st.to_bytes().unwrap();
    assert_eq!(bytes[4], 2);
    assert_eq!(LicenseState::from_bytes(&bytes).unwrap(), st);

    let sys = SystemIdCode::compute("acme", &env.facts);
    let cert = ActivationCertificate::issue(
        &key(),
        terms(None),
        Binding::system(sys, None).unwrap(),
        nonce,
        t("2026-11-01"),
    )
    .unwrap();
    st.install(Credential::Certificate(cert.clone()), &ctx)
        .unwrap();
    assert!(
        st.pending.is_empty(),
        "the pending secret moved to the entry"
    );
    assert_eq!(st.entries[0].secret, Some(secret));
    let st = LicenseState::from_bytes(&st.to_bytes().unwrap()).unwrap();
    // Installing the same certificate again keeps the secret.
    let mut again = st.clone();
    again
        .install(Credential::Certificate(cert.clone()), &ctx)
        .unwrap();
    assert_eq!(again.entries[0].secret, Some(secret));

    let mut st = st;
    let entry = st.take(id).expect("installed");
    let code = entry.deactivation_code().expect("a code");
    assert!(code.verifies(&cert));
    assert_eq!(DeactivationCode::decode(&code.encode()).unwrap(), code);
    assert!(st.entries.is_empty());
    assert!(st.take(id).is_none());
    // Nothing left that needs version 2: the bytes are version 1 again.
    assert_eq!(st.to_bytes().unwrap()[4], 1);
}

/// A certificate for a request this machine did not make (server-chosen nonce) has no
/// secret, and no deactivation code.
#[test]
fn certificate_without_a_request_here_has_no_deactivation_code() {
    let env = Env::new();
    let ctx = env.ctx("2026-11-10");
    let mut st = LicenseState::default();
    st.remember_request(LicenseId([9; 8]), [5; 10]);
    st.install(
        Credential::Certificate(cert_for(&env.facts, None, None)),
        &ctx,
    )
    .unwrap();
    assert_eq!(st.entries[0].secret, None);
    assert_eq!(st.pending.len(), 1, "kept: its certificate may still come");
    assert!(st
        .take(LicenseId([9; 8]))
        .unwrap()
        .deactivation_code()
        .is_none());
    assert!(st.pending.is_empty());
}

/// At most MAX_PENDING unanswered requests are remembered; a version 2 body without any
/// secret, and unknown flag bits, are refused (one state, one encoding).
#[test]
fn pending_requests_are_bounded_and_encoding_is_canonical() {
    let mut st = LicenseState::default();
    for i in 0..(MAX_PENDING as u8 + 3) {
        st.remember_request(LicenseId([i; 8]), [i; 10]);
    }
    assert_eq!(st.pending.len(), MAX_PENDING);
    assert_eq!(st.pending[0].license_id, LicenseId([3; 8]));
    assert_eq!(
        LicenseState::from_bytes(&st.to_bytes().unwrap()).unwrap(),
        st
    );

    // Seals a body with the state's checksum (the first 8 bytes of its SHA-512).
    let seal = |mut body: Vec<u8>| {
        use sha2::{Digest, Sha512};
        let sum = Sha512::digest(&body);
        body.extend_from_slice(&sum[..8]);
        body
    };
    let empty = LicenseState::default().to_bytes().unwrap();
    let body = empty[..empty.len() - 8].to_vec();
    assert_eq!(seal(body.clone()), empty);
    // Version 2 with an empty pending list and no secrets.
    let mut v2 = body.clone();
    v2[4] = 2;
    v2.push(0);
    let err = LicenseState::from_bytes(&seal(v2)).unwrap_err();
    assert_eq!(err.code(), "corrupt_state");
    // An entry flag bit no version defines.
    let env = Env::new();
    let mut one = LicenseState::default();
    one.install(
        Credential::Certificate(cert_for(&env.facts, None, None)),
        &env.ctx("2026-11-10"),
    )
    .unwrap();
    let good = one.to_bytes().unwrap();
    let mut body = good[..good.len() - 8].to_vec();
    // Layout: ... flags, renewal flag 0; the flags byte is the one before the last.
    let at = body.len() - 2;
    assert_eq!(body[at], 0);
    body[at] = 0x80;
    let err = LicenseState::from_bytes(&seal(body)).unwrap_err();
    assert_eq!(err.code(), "corrupt_state");
}
