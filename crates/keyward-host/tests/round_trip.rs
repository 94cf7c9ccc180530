//! The activation flows through the host: bound codes, the offline request/certificate
//! round trip, fact tolerance, updates, deactivation.

mod common;

use common::*;
use keyward_core::{
    binding::{Binding, MachineRef},
    ActivationCertificate, ActivationRequest, AuthorizationCode, LicenseId, SignedUpdate,
    SystemIdCode, Timestamp, UpdateAction,
};
use keyward_host::{Applied, Error};

/// What the merchant does with a request: check it and sign a certificate for its machine.
fn certificate_for(request: &str, now: u64) -> String {
    let req = ActivationRequest::decode(request).expect("a request");
    let binding = match &req.machine {
        MachineRef::System(s) => Binding::system(*s, None),
        MachineRef::Hardware(h) => Binding::hardware(h, None),
    }
    .expect("binding");
    ActivationCertificate::issue(
        &key(),
        req.code.terms().clone(),
        binding,
        req.nonce,
        Timestamp(now),
    )
    .expect("certificate")
    .encode()
}

fn refused_code(e: Error) -> keyward_host::ErrorCode {
    match e {
        Error::Refused { code, .. } => code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn offline_round_trip_and_other_machine() {
    let now = vectors_now();
    let clock = TestClock::new(now);
    let a_dir = tempfile::tempdir().expect("dir");
    let a = license(a_dir.path(), this_machine(), &clock);
    let code = unbound_code(1, now, Some(30));

    // Host A makes a request; the merchant signs a certificate natively.
    let request = a.request_for(&code, None).expect("request");
    assert!(request.starts_with("KR1-"), "{request}");
    let parsed = ActivationRequest::decode(&request).expect("decodes");
    assert_eq!(
        parsed.machine,
        MachineRef::System(SystemIdCode::compute("acme-invoice", &this_machine()))
    );
    assert_eq!(
        a.system_id().expect("system id"),
        match &parsed.machine {
            MachineRef::System(s) => s.encode(),
            MachineRef::Hardware(_) => unreachable!(),
        }
    );
    let cert = certificate_for(&request, now);
    let status = a.install(&cert).expect("installs");
    assert_eq!(status.code, "active");
    assert!(status.license.as_ref().is_some_and(|l| l.bound));
    assert!(a.has_feature("pro"));
    assert!(!a.has_feature("enterprise"));
    let s = a.status().expect("status");
    assert_eq!(s.code, "active");
    assert_eq!(s.license.as_ref().and_then(|l| l.days_left), Some(30));

    // The same certificate on host B: refused, naming the facts that differ.
    let b_dir = tempfile::tempdir().expect("dir");
    let b = license(b_dir.path(), other_machine(), &clock);
    match b.install(&cert) {
        Err(Error::Refused { code, message, .. }) => {
            assert_eq!(code, "machine_mismatch");
            for fact in ["machine_id", "board", "disk", "cpu", "mac"] {
                assert!(message.contains(fact), "{message}");
            }
        }
        other => panic!("expected machine_mismatch, got {other:?}"),
    }
    assert_eq!(b.status().expect("status").code, "no_license");
    let verdict = b.inspect(&cert).expect("verdict");
    assert_eq!(verdict.code, "machine_mismatch");
    assert!(!b.has_feature("pro"));
}

fn facts_with(changes: &[&str]) -> keyward_core::MachineFacts {
    let mut f = this_machine();
    for c in changes {
        match *c {
            "machine_id" => f.machine_id = Some("ffffffffffffffffffffffffffffffff".into()),
            "board" => f.board_serial = Some("REPLACED-BOARD".into()),
            "disk" => f.disk_serial = Some("NEW-DISK-0001".into()),
            "cpu" => f.cpu = Some("AuthenticAMD family 25 model 97 stepping 2".into()),
            "mac" => f.macs = vec!["02:00:00:aa:bb:cc".into()],
            other => panic!("{other}"),
        }
    }
    f
}

#[test]
fn tolerance_one_fact_of_five_changed_is_still_active_three_is_not() {
    let now = vectors_now();
    let clock = TestClock::new(now);
    let home = tempfile::tempdir().expect("dir");
    let a = license(home.path(), this_machine(), &clock);
    let cert = certificate_for(
        &a.request_for(&unbound_code(2, now, Some(30)), None)
            .expect("request"),
        now,
    );
    assert_eq!(a.install(&cert).expect("install").code, "active");

    let one = tempfile::tempdir().expect("dir");
    let c = license(one.path(), facts_with(&["disk"]), &clock);
    assert_eq!(c.install(&cert).expect("one fact changed").code, "active");
    assert!(c.has_feature("pro"));

    let three = tempfile::tempdir().expect("dir");
    let d = license(
        three.path(),
        facts_with(&["machine_id", "disk", "cpu"]),
        &clock,
    );
    match d.install(&cert) {
        Err(Error::Refused { code, message, .. }) => {
            assert_eq!(code, "machine_mismatch");
            assert!(message.contains("2 of the required 3"), "{message}");
            assert!(message.contains("disk"), "{message}");
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }

    // The machine changing under an installed license: status says so.
    let moved = license(
        home.path(),
        facts_with(&["machine_id", "board", "cpu"]),
        &clock,
    );
    let s = moved.status().expect("status");
    assert_eq!(s.code, "machine_mismatch");
    let m = s.mismatch.expect("mismatch details");
    assert_eq!((m.matched, m.required), (2, 3));
    assert!(!moved.has_feature("pro"));
}

#[test]
fn bound_code_activates_offline_and_wrong_machine_is_refused() {
    let now = vectors_now();
    let clock = TestClock::new(now);
    let dir = tempfile::tempdir().expect("dir");
    let l = license(dir.path(), this_machine(), &clock);
    let sys = SystemIdCode::decode(&l.system_id().expect("system id")).expect("a system id");
    let bound = AuthorizationCode::issue(
        &key(),
        terms(3, now, Some(365)),
        Some(Binding::system(sys, None).expect("binding")),
    )
    .expect("issue")
    .encode();
    let s = l.activate(&bound).expect("activates");
    assert_eq!(s.code, "active");
    assert!(l.has_feature("export"));
    // A request for the installed code (e.g. to move it to a certificate).
    let r = l.request(None).expect("request for the installed code");
    assert_eq!(
        ActivationRequest::decode(&r)
            .expect("request")
            .code
            .terms()
            .license_id,
        LicenseId([0xA0, 0, 0, 0, 0, 0, 0, 3])
    );
    let hw = l
        .request(Some("mac:04-7C-16-5E-E3-5D"))
        .expect("hardware request");
    assert!(matches!(
        ActivationRequest::decode(&hw).expect("request").machine,
        MachineRef::Hardware(_)
    ));

    let other_dir = tempfile::tempdir().expect("dir");
    let other = license(other_dir.path(), other_machine(), &clock);
    assert_eq!(
        refused_code(other.activate(&bound).unwrap_err()),
        "machine_mismatch"
    );
    // A typo is refused with the correction.
    let mut chars: Vec<char> = bound.chars().collect();
    chars[6] = if chars[6] == 'X' { 'Y' } else { 'X' };
    let typo: String = chars.into_iter().collect();
    let e = l.activate(&typo).unwrap_err();
    assert_eq!(e.code(), "typo");
    assert_eq!(e.suggestion(), Some(bound.as_str()));
    // Wrong kinds in the wrong place.
    assert_eq!(refused_code(l.install(&bound).unwrap_err()), "wrong_kind");
    assert_eq!(refused_code(l.apply(&bound).unwrap_err()), "wrong_kind");
    assert_eq!(
        refused_code(other.request(None).unwrap_err()),
        "invalid_input"
    );
}

#[test]
fn updates_and_deactivation() {
    let now = vectors_now();
    let clock = TestClock::new(now);
    let dir = tempfile::tempdir().expect("dir");
    let l = license(dir.path(), this_machine(), &clock);
    l.activate(&unbound_code(4, now, Some(10)))
        .expect("activate");
    let id = LicenseId([0xA0, 0, 0, 0, 0, 0, 0, 4]);
    let update = |seq, action| {
        SignedUpdate::issue(&key(), id, seq, action, Timestamp(now))
            .expect("update")
            .encode()
    };
    assert_eq!(
        l.apply(&update(1, UpdateAction::Freeze)).expect("freeze"),
        Applied::Applied
    );
    assert_eq!(l.status().expect("status").code, "frozen");
    assert!(!l.has_feature("pro"));
    assert_eq!(
        l.apply(&update(1, UpdateAction::Freeze)).expect("again"),
        Applied::AlreadyApplied
    );
    l.apply(&update(2, UpdateAction::Unfreeze))
        .expect("unfreeze");
    let renewed = now + 400 * 86_400;
    l.apply(&update(
        3,
        UpdateAction::Renew {
            expires: Timestamp(renewed),
        },
    ))
    .expect("renew");
    let s = l.status().expect("status");
    assert_eq!(s.code, "active");
    assert_eq!(s.license.as_ref().and_then(|l| l.days_left), Some(400));
    assert_eq!(
        refused_code(l.apply(&update(2, UpdateAction::Freeze)).unwrap_err()),
        "invalid_input"
    );

    // Expiry and grace follow the clock.
    clock.set(renewed + 3600);
    let s = l.status().expect("status");
    assert_eq!(s.code, "in_grace");
    assert!(s.grace_ends.is_some());
    assert!(l.has_feature("pro"));
    clock.set(renewed + 4 * 86_400);
    assert_eq!(l.status().expect("status").code, "expired");
    assert!(!l.has_feature("pro"));

    assert_eq!(
        l.deactivate_license("a000000000000004")
            .expect("deactivate"),
        1
    );
    assert_eq!(l.status().expect("status").code, "no_license");
    assert_eq!(l.deactivate().expect("none left"), 0);
    assert_eq!(
        l.deactivate_license("nonsense").unwrap_err().code(),
        "invalid_input"
    );
}

#[test]
fn hardware_bound_certificates_need_the_hardware() {
    let now = vectors_now();
    let clock = TestClock::new(now);
    let code = unbound_code(5, now, Some(30));

    // A MAC address this machine has (one of its facts).
    let dir = tempfile::tempdir().expect("dir");
    let l = license(dir.path(), this_machine(), &clock);
    let cert = certificate_for(
        &l.request_for(&code, Some("mac:04-7C-16-5E-E3-5D"))
            .expect("request"),
        now,
    );
    assert_eq!(l.install(&cert).expect("install").code, "active");

    // A dongle serial: only a host that vouches for it can use the certificate.
    let dongle = certificate_for(
        &l.request_for(&code, Some("sn:DONGLE-0042"))
            .expect("request"),
        now,
    );
    let without = tempfile::tempdir().expect("dir");
    let no_dongle = license(without.path(), this_machine(), &clock);
    assert_eq!(
        refused_code(no_dongle.install(&dongle).unwrap_err()),
        "machine_mismatch"
    );
    let with = tempfile::tempdir().expect("dir");
    let has_dongle = builder(with.path(), other_machine(), &clock)
        .hardware_ids(["sn:DONGLE-0042"])
        .build()
        .expect("license");
    assert_eq!(has_dongle.install(&dongle).expect("install").code, "active");
    assert!(has_dongle.has_feature("pro"));
}
