//! Text around a code (issue 8.11): the one code in pasted text is found and checked; a code
//! pasted twice, a cut-off code and two different codes are said as such; a look-alike
//! letter is named by its code point.

use keyward_core::*;
use keyward_core::{
    error::CodeError,
    eval::Policy,
    text::{code_characters, sniff_kind},
};

fn key() -> MerchantKey {
    MerchantKey::from_seed(&[0x5a; 32])
}

fn trusted() -> TrustedKeys {
    TrustedKeys::from_keys([key().public()])
}

fn now() -> Timestamp {
    Timestamp::parse("2026-11-20T12:00:00Z").unwrap()
}

fn code() -> String {
    let terms = LicenseTerms {
        license_id: LicenseId([6; 8]),
        product: "acme-invoice".into(),
        sku: "pro".into(),
        seats: 1,
        not_before: now(),
        expires: None,
        features: vec!["export".into()],
        trial: false,
        instance_id: None,
        order_id: None,
    };
    AuthorizationCode::issue(&key(), terms, None)
        .unwrap()
        .encode()
}

fn facts() -> MachineFacts {
    MachineFacts {
        machine_id: Some("m-1".into()),
        disk_serial: Some("d-1".into()),
        ..Default::default()
    }
}

fn parse(text: &str) -> Result<Artifact, Error> {
    Artifact::parse(text, Some(&trusted()))
}

fn verdict_of(text: &str) -> Verdict {
    let t = trusted();
    let f = facts();
    let ctx = Context {
        trusted: &t,
        facts: &f,
        hardware_ids: &[],
        now: now(),
        policy: Policy::default(),
    };
    verdict(text, None, &ctx, now())
}

#[test]
fn the_one_code_in_text_is_found_and_checked() {
    let code = code();
    let sys = SystemIdCode::compute("acme-invoice", &facts()).encode();
    for (before, after) in [
        ("“", "”"),
        ("「", "」"),
        ("\"", "\""),
        ("'", "'"),
        ("`", "`"),
        ("**", "**"),
        ("<code>", "</code>"),
        ("<p>Your code: ", "</p>"),
        ("您的授权码是：", "."),
        ("您的授权码是：", "。谢谢！"),
        ("Your code is ", ". Thanks!"),
        ("Your code is ", "\nRegards,\nACME"),
        ("Hi,\n\n    ", "\n\nThanks"),
    ] {
        let text = format!("{before}{code}{after}");
        let a = parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(a.kind(), Some(Kind::AuthorizationCode), "{text}");
        assert_eq!(
            AuthorizationCode::decode(&text, &trusted())
                .unwrap()
                .encode(),
            code
        );
        assert_eq!(sniff_kind(&text), Some(Kind::AuthorizationCode));
        assert_eq!(verdict_of(&text).code, "active", "{text}");
        let text = format!("{before}{sys}{after}");
        assert_eq!(SystemIdCode::decode(&text).unwrap().encode(), sys, "{text}");
    }
    // A typo inside quotes is located in the pasted text's positions.
    let mut typo: Vec<char> = code.chars().collect();
    typo[10] = if typo[10] == '7' { '8' } else { '7' };
    let typo: String = typo.into_iter().collect();
    let e = parse(&format!("Code: “{typo}”.")).unwrap_err();
    assert_eq!(e.code(), "typo");
    assert_eq!(e.suggestion(), Some(code.as_str()));
    assert_eq!(
        e.typos()[0].first_position,
        "Code: “".chars().count() + 4 + 1
    );
    // No code in the text: as before.
    assert_eq!(
        parse("hello, world").unwrap_err().code(),
        "not_a_keyward_code"
    );
    assert_eq!(parse("  \n").unwrap_err().code(), "empty");
}

#[test]
fn a_look_alike_letter_is_named_by_its_code_point() {
    let code = code();
    // Cyrillic А (U+0410) for the A of the prefix's group, inside the code.
    let i = code.find('-').unwrap() + 3;
    let mut chars: Vec<char> = code.chars().collect();
    chars.insert(i, '\u{410}');
    let text: String = chars.into_iter().collect();
    for t in [text.clone(), format!("Your code is “{text}”.")] {
        let e = parse(&t).unwrap_err();
        match &e {
            Error::Code(CodeError::InvalidCharacter { character, .. }) => {
                assert_eq!(*character, '\u{410}')
            }
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().contains("U+0410"), "{e}");
        assert!(e.to_string().contains("retype it"), "{e}");
    }
}

#[test]
fn a_code_pasted_twice_is_said_and_the_copy_offered() {
    let code = code();
    for sep in ["", " ", "\n", "\n\n", ", ", " and again: "] {
        let text = format!("{code}{sep}{code}");
        let e = parse(&text).unwrap_err();
        assert_eq!(e.code(), "pasted_twice", "{sep:?}: {e}");
        assert_eq!(e.suggestion(), Some(code.as_str()), "{sep:?}");
        assert!(e.to_string().contains("pasted twice"), "{e}");
        let e = AuthorizationCode::decode(&text, &trusted()).unwrap_err();
        assert_eq!(e.suggestion(), Some(code.as_str()));
        let v = verdict_of(&text);
        assert_eq!(v.code, "pasted_twice");
        assert_eq!(v.suggestion.as_deref(), Some(code.as_str()));
    }
    // A copy that is not valid is not offered.
    let other = TrustedKeys::from_keys([MerchantKey::from_seed(&[1; 32]).public()]);
    let e = AuthorizationCode::decode(&format!("{code}\n{code}"), &other).unwrap_err();
    assert_eq!(e.code(), "pasted_twice");
    assert_eq!(e.suggestion(), None);
    // A system identification code twice too.
    let sys = SystemIdCode::compute("acme-invoice", &facts()).encode();
    let e = parse(&format!("{sys} {sys}")).unwrap_err();
    assert_eq!(e.code(), "pasted_twice");
    assert_eq!(e.suggestion(), Some(sys.as_str()));
}

#[test]
fn two_different_codes_are_refused() {
    let code = code();
    let sys = SystemIdCode::compute("acme-invoice", &facts()).encode();
    for text in [
        format!("{code}, {sys}"),
        format!("{code}\n{sys}"),
        format!("code: {code}\nmachine: {sys}"),
    ] {
        let e = parse(&text).unwrap_err();
        assert_eq!(e, Error::Code(CodeError::TwoCodes), "{text}");
        assert!(e.to_string().contains("paste one at a time"));
    }
}

#[test]
fn a_cut_off_code_is_incomplete_with_what_is_missing() {
    let code = code();
    let symbols = code_characters(&code).len();
    // Cut inside a group (a cut right after a group may pass every check: then the
    // contents are said to end too soon, as damaged contents are).
    for keep in [40, 77, code.len() - 3, code.len() - 1] {
        let cut = &code[..keep];
        if cut.ends_with('-') {
            continue;
        }
        let e = parse(cut).unwrap_err();
        if e.suggestion().is_some() {
            // One missing character: the fix is offered instead.
            assert_eq!(e.code(), "typo");
            continue;
        }
        let missing = symbols - code_characters(cut).len();
        match &e {
            Error::Code(CodeError::Incomplete {
                kind: Kind::AuthorizationCode,
                missing: m,
                at_least,
            }) => {
                // Exact once the body is there (the 64-byte signature is what is cut),
                // else a lower bound that is never more than what is missing.
                if *at_least {
                    assert!(*m <= missing, "{keep}: {m} > {missing}");
                } else {
                    assert_eq!(*m, missing, "{keep}");
                }
            }
            other => panic!("{keep}: {other:?}"),
        }
        assert_eq!(e.code(), "incomplete");
        assert!(e.to_string().contains("missing at the end"), "{e}");
        assert_eq!(verdict_of(cut).code, "incomplete");
    }
    // The system identification code has one length: the number is exact.
    let sys = SystemIdCode::compute("acme-invoice", &facts()).encode();
    let cut = &sys[..sys.len() - 2];
    match parse(cut).unwrap_err() {
        Error::Code(CodeError::Incomplete {
            missing, at_least, ..
        }) => {
            assert_eq!((missing, at_least), (2, false));
        }
        other => panic!("{other:?}"),
    }
    // A complete code with a typo in its last, short group is not incomplete.
    let mut last: Vec<char> = code.chars().collect();
    let n = last.len() - 1;
    last[n] = if last[n] == '7' { '8' } else { '7' };
    let last: String = last.into_iter().collect();
    assert_eq!(
        AuthorizationCode::decode_unverified(&last)
            .unwrap_err()
            .code(),
        "typo"
    );
}

#[test]
fn the_exact_number_missing_for_every_cut_of_the_signature() {
    // Every cut inside the signature's groups: the body is all there, so the number is
    // exact, and never wrong.
    let code = code();
    let symbols = code_characters(&code).len();
    for keep in code.len() - 100..code.len() {
        let cut = &code[..keep];
        match AuthorizationCode::decode_unverified(cut) {
            Err(Error::Code(CodeError::Incomplete {
                missing, at_least, ..
            })) => {
                assert!(!at_least, "{keep}");
                assert_eq!(missing, symbols - code_characters(cut).len(), "{keep}");
            }
            Err(e) => assert!(
                matches!(e.code().as_str(), "typo" | "malformed"),
                "{keep}: {e:?}"
            ),
            Ok(_) => panic!("{keep}: a cut code decoded"),
        }
    }
}

/// Found by the CI-length fuzz pass (`fuzz/regressions/text/13.4-code-beside-a-bar`): text
/// that looks like a hardware id (a `|`, or a `mac:`-style prefix) yet holds a code beside it
/// was read as a hardware id by `Artifact::parse` and refused, while the code's own decoder
/// read the code. Now both read the code; text that is neither still gets the hardware id's
/// error.
#[test]
fn a_code_beside_what_looks_like_a_hardware_id_is_read() {
    let code = code();
    for text in [
        format!("ticket 4|2: {code}"),
        format!("{code}\nnotes: a|b"),
        format!("mac: see below\n{code}"),
        format!("fp:x|y\n{code}"),
    ] {
        let own = AuthorizationCode::decode(&text, &trusted());
        assert!(own.is_ok(), "{text}: {own:?}");
        match parse(&text) {
            Ok(Artifact::AuthorizationCode(c)) => assert_eq!(Ok(c), own),
            other => panic!("{text}: {other:?}"),
        }
        assert_eq!(verdict_of(&text).code, "active", "{text}");
    }
    // Neither a hardware id nor a code: the hardware id's reason.
    assert!(matches!(
        parse("fp:x|y"),
        Err(Error::InvalidHardwareId { .. })
    ));
    assert!(matches!(
        parse("mac:zz"),
        Err(Error::InvalidHardwareId { .. })
    ));
    // A hardware id that parses is still one.
    assert!(matches!(
        parse("mac:04:7c:16:5e:e3:5d"),
        Ok(Artifact::HardwareId(_))
    ));
}
