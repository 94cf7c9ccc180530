//! Armour has one rule, the same in every entry point (docs/FORMAT.md, finding 13.4): the
//! certificate's own BEGIN/END lines, header lines only right after BEGIN, and only an
//! activation certificate inside; text around the armour (an e-mail) is not read. Everything else is refused with
//! the reason to fix, by `Artifact::parse`, `verdict`, every `decode` and `raw::decode`.

use keyward_core::*;
use keyward_core::{
    binding::{Binding, MachineRef},
    error::ArmourError,
    eval::Policy,
    text::sniff_kind,
};

fn key() -> MerchantKey {
    MerchantKey::from_seed(&[0x3c; 32])
}

fn now() -> Timestamp {
    Timestamp::parse("2026-11-20T12:00:00Z").unwrap()
}

fn trusted() -> TrustedKeys {
    TrustedKeys::from_keys([key().public()])
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

fn terms() -> LicenseTerms {
    LicenseTerms {
        license_id: LicenseId([4; 8]),
        product: "acme-invoice".into(),
        sku: String::new(),
        seats: 1,
        not_before: now(),
        expires: None,
        features: vec![],
        trial: false,
        instance_id: None,
        order_id: None,
    }
}

fn certificate() -> ActivationCertificate {
    let sys = SystemIdCode::compute("acme-invoice", &facts());
    ActivationCertificate::issue(
        &key(),
        terms(),
        Binding::system(sys, None).unwrap(),
        [1; 8],
        now(),
    )
    .unwrap()
}

/// The armour of `cert` with its code lines replaced by `code`.
fn armoured(code: &str) -> String {
    format!(
        "-----BEGIN KEYWARD ACTIVATION CERTIFICATE-----\nLicense: 0404040404040404\n\n{code}\n-----END KEYWARD ACTIVATION CERTIFICATE-----\n"
    )
}

/// Every entry point that reads text, on `text`: each must refuse it with `reason`.
fn refused_everywhere(text: &str, reason: ArmourError) {
    let t = trusted();
    let want = Error::BadArmour(reason);
    assert_eq!(
        Artifact::parse(text, Some(&t)).err(),
        Some(want.clone()),
        "parse: {text}"
    );
    assert_eq!(
        Artifact::parse(text, None).err(),
        Some(want.clone()),
        "parse unverified"
    );
    assert_eq!(
        ActivationCertificate::decode(text, &t).err(),
        Some(want.clone()),
        "certificate decode"
    );
    assert_eq!(raw::decode(text).err(), Some(want.clone()), "raw decode");
    let ctx = Context {
        trusted: &t,
        facts: &facts(),
        hardware_ids: &[],
        now: now(),
        policy: Policy::default(),
    };
    let v = verdict(text, None, &ctx, now());
    assert_eq!(v.error, Some(want.clone()), "verdict: {text}");
    // The kinds that are never armoured refuse it for the same reason: every decoder reads
    // text through the one armour rule, and `sniff_kind` names no kind.
    assert_eq!(SystemIdCode::decode(text).err(), Some(want.clone()));
    assert_eq!(ActivationRequest::decode(text).err(), Some(want.clone()));
    assert_eq!(DeactivationCode::decode(text).err(), Some(want.clone()));
    assert_eq!(
        AuthorizationCode::decode(text, &t).err(),
        Some(want.clone())
    );
    assert_eq!(SignedUpdate::decode_unverified(text).err(), Some(want));
    assert_eq!(sniff_kind(text), None, "sniff_kind: {text}");
}

#[test]
fn the_certificate_as_written_reads_back_everywhere() {
    let c = certificate();
    let text = c.encode();
    let t = trusted();
    assert_eq!(ActivationCertificate::decode(&text, &t).unwrap(), c);
    assert!(matches!(
        Artifact::parse(&text, Some(&t)).unwrap(),
        Artifact::ActivationCertificate(_)
    ));
    assert_eq!(raw::decode(&text).unwrap().0, Kind::ActivationCertificate);
    // Blank lines around it, CRLF line ends, indentation, and no header lines are fine.
    let crlf = format!("\n\n  {}\n\n", text.replace('\n', "\r\n  "));
    assert_eq!(ActivationCertificate::decode(&crlf, &t).unwrap(), c);
    let bare = armoured(&raw::encode(Kind::ActivationCertificate, &c.to_bytes()));
    assert_eq!(ActivationCertificate::decode(&bare, &t).unwrap(), c);
    let no_headers = bare.replace("License: 0404040404040404\n\n", "");
    assert_eq!(ActivationCertificate::decode(&no_headers, &t).unwrap(), c);
}

#[test]
fn titles_must_be_the_certificates() {
    let text = certificate().encode();
    for (from, to) in [
        ("BEGIN KEYWARD ACTIVATION CERTIFICATE", "BEGIN BANANA"),
        ("END KEYWARD ACTIVATION CERTIFICATE", "END APPLE"),
        (
            "BEGIN KEYWARD ACTIVATION CERTIFICATE",
            "BEGIN KEYWARD SIGNED UPDATE",
        ),
        (
            "BEGIN KEYWARD ACTIVATION CERTIFICATE",
            "BEGIN keyward activation certificate",
        ),
        (
            "END KEYWARD ACTIVATION CERTIFICATE-----",
            "END KEYWARD ACTIVATION CERTIFICATE",
        ),
    ] {
        refused_everywhere(&text.replacen(from, to, 1), ArmourError::WrongTitle);
    }
}

#[test]
fn armour_is_found_in_text_and_then_strict() {
    let c = certificate();
    let text = c.encode();
    let t = trusted();
    // An e-mail around the armour (issue 8.11, 13.4): found, the rest not read.
    for mail in [
        format!("Dear buyer,\n{text}Regards\n"),
        format!("Dear buyer, your certificate:\n\n{text}\nRegards,\nACME KA1 team\n"),
        format!("{text}Regards\n"),
    ] {
        assert_eq!(
            ActivationCertificate::decode(&mail, &t).unwrap(),
            c,
            "{mail}"
        );
        assert!(matches!(
            Artifact::parse(&mail, Some(&t)).unwrap(),
            Artifact::ActivationCertificate(_)
        ));
        assert_eq!(raw::decode(&mail).unwrap().0, Kind::ActivationCertificate);
        assert_eq!(sniff_kind(&mail), Some(Kind::ActivationCertificate));
    }
    // Once found, the armour's own rules hold, text around it or not.
    let wrapped = |s: &str| format!("Dear buyer,\n{s}Regards\n");
    refused_everywhere(
        &wrapped(&text.replacen("END KEYWARD", "END KEYWART", 1)),
        ArmourError::WrongTitle,
    );
    let code = raw::encode(Kind::ActivationCertificate, &c.to_bytes());
    let (head, tail) = code.split_at(code.len() / 2);
    refused_everywhere(
        &wrapped(&armoured(&format!("{head}\nNote: keep this safe\n{tail}"))),
        ArmourError::HeaderInCode,
    );
    refused_everywhere(&wrapped(&format!("{text}{text}")), ArmourError::TwoBegins);
    refused_everywhere(&format!("{text}Regards\n{text}"), ArmourError::TwoBegins);
    refused_everywhere(&format!("{text}{text}"), ArmourError::TwoBegins);
    let two_begins = text.replacen(
        "\n\n",
        "\n\n-----BEGIN KEYWARD ACTIVATION CERTIFICATE-----\n",
        1,
    );
    refused_everywhere(&two_begins, ArmourError::TwoBegins);
    let cut = &text[..text.find("-----END").unwrap()];
    refused_everywhere(cut, ArmourError::EndMissing);
    let no_begin = &text[text.find("\n\n").unwrap()..];
    refused_everywhere(no_begin, ArmourError::EndWithoutBegin);
}

#[test]
fn header_lines_only_after_begin() {
    let c = certificate();
    let code = raw::encode(Kind::ActivationCertificate, &c.to_bytes());
    let (head, tail) = code.split_at(code.len() / 2);
    // A header line between the code's lines was silently dropped before 13.4.
    refused_everywhere(
        &armoured(&format!("{head}\nNote: keep this safe\n{tail}")),
        ArmourError::HeaderInCode,
    );
    refused_everywhere(
        &armoured(&format!("{code}\nExpires: never")),
        ArmourError::HeaderInCode,
    );
}

#[test]
fn only_a_certificate_inside() {
    let sys = SystemIdCode::compute("acme-invoice", &facts());
    let code = AuthorizationCode::issue(&key(), terms(), None).unwrap();
    let request = ActivationRequest::new(code.clone(), MachineRef::System(sys), [2; 8], now());
    for inside in [sys.encode(), code.encode(), request.encode()] {
        refused_everywhere(&armoured(&inside), ArmourError::NotACertificate);
    }
}

#[test]
fn an_email_quoted_certificate_or_code_is_read() {
    let c = certificate();
    let t = trusted();
    let quote = |text: &str, mark: &str| -> String {
        text.lines().map(|l| format!("{mark}{l}\n")).collect()
    };
    for mark in ["> ", ">", "> > ", "  >\t"] {
        let quoted = quote(&c.encode(), mark);
        assert_eq!(
            ActivationCertificate::decode(&quoted, &t).unwrap(),
            c,
            "{quoted}"
        );
        let code = AuthorizationCode::issue(&key(), terms(), None).unwrap();
        let quoted = quote(&code.encode(), mark);
        assert_eq!(AuthorizationCode::decode(&quoted, &t).unwrap(), code);
    }
    // Quoted lines mixed with unquoted text are not a quotation: the quote marks break
    // the armour's lines, which are then not found.
    let mixed = format!("Here it is:\n{}", quote(&c.encode(), "> "));
    assert!(ActivationCertificate::decode(&mixed, &t).is_err());
}

/// Found by the CI-length fuzz pass (`fuzz/regressions/text/13.4-damaged-armour-beside-a-system-id`):
/// a system identification code in text beside a damaged END line was read by
/// `SystemIdCode::decode`, which skipped the armour rule, while `sniff_kind` and
/// `Artifact::parse` refused the armour. Now a code of any kind beside damaged armour is
/// refused by every reader with the armour's reason.
#[test]
fn damaged_armour_beside_a_code_of_any_kind_is_refused_by_every_reader() {
    let sys = SystemIdCode::compute("acme-invoice", &facts());
    let code = AuthorizationCode::issue(&key(), terms(), None).unwrap();
    let request = ActivationRequest::new(code.clone(), MachineRef::System(sys), [2; 8], now());
    let deactivation = DeactivationCode {
        license_id: LicenseId([4; 8]),
        secret: [3; 10],
    };
    for code in [
        sys.encode(),
        code.encode(),
        request.encode(),
        deactivation.encode(),
    ] {
        refused_everywhere(
            &format!("-----END KEYWARD ACTIVATION CERTIFICATE-----\nYour code: {code}\n"),
            ArmourError::EndWithoutBegin,
        );
        refused_everywhere(
            &format!("Your code: {code}\n-----BEGIN KEYWARD ACTIVATION\n"),
            ArmourError::WrongTitle,
        );
        refused_everywhere(
            &format!("-----BEGIN KEYWARD ACTIVATION CERTIFICATE-----\n{code}\n"),
            ArmourError::EndMissing,
        );
    }
}
