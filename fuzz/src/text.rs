//! The `text` target: any pasted text through every text entry point of keyward-core.
//!
//! Properties:
//! - each kind's own decoder: decoded ⇒ `encode` gives a canonical text that decodes to the
//!   same value and encodes to itself; a verified decode accepts only what the unverified one
//!   does, and refuses it only for its signature or key; an offered correction decodes;
//! - `Artifact::parse` gives exactly what the kind's own decoder gives (and the other way);
//! - `sniff_kind` names the kind of whatever decodes;
//! - `verdict` says what `Artifact::parse` says, with or without an expected kind, and is
//!   `wrong_kind` when the prefix names another kind;
//! - armour that decodes has matching BEGIN and END titles naming a keyward kind;
//! - `raw::decode` accepts what it encodes.

use keyward_core::{
    raw, text::sniff_kind, verdict, ActivationCertificate, ActivationRequest, Artifact,
    AuthorizationCode, DeactivationCode, Error, HardwareId, Kind, SignedUpdate, SystemIdCode,
};

use crate::context::{context, trusted, HIGH_WATER, NOW};
use crate::limits::call;

/// Checks one signed kind's decoders on `t`; returns (verified, unverified) results.
macro_rules! signed_kind {
    ($ty:ty, $kind:expr, $t:expr, $sniffed:expr) => {{
        let t: &str = $t;
        let n = t.len();
        let verified = call(concat!(stringify!($ty), "::decode"), n, || {
            <$ty>::decode(t, trusted())
        });
        let unverified = call(concat!(stringify!($ty), "::decode_unverified"), n, || {
            <$ty>::decode_unverified(t)
        });
        if let Ok(v) = &verified {
            assert_eq!(
                unverified.as_ref().ok(),
                Some(v),
                "decode accepted what decode_unverified did not"
            );
        }
        if let Ok(v) = &unverified {
            assert_eq!(
                $sniffed,
                Some($kind),
                "sniff_kind disagrees with the decoder"
            );
            let canonical = v.encode();
            let again = <$ty>::decode_unverified(&canonical);
            assert_eq!(
                again.as_ref(),
                Ok(v),
                "the canonical text {canonical:?} does not decode to the same value"
            );
            assert_eq!(
                again.map(|a| a.encode()).ok().as_deref(),
                Some(canonical.as_str()),
                "the canonical text is not a fixed point of decode and encode"
            );
            match &verified {
                Ok(_) => assert_eq!(<$ty>::decode(&canonical, trusted()).as_ref(), Ok(v)),
                Err(e) => assert!(
                    matches!(e, Error::BadSignature { .. } | Error::UnknownKey { .. }),
                    "structurally valid, yet the verified decode failed with {e:?}"
                ),
            }
        }
        if let Err(e) = &verified {
            if let Some(s) = e.suggestion() {
                let fixed = <$ty>::decode(s, trusted());
                assert!(
                    fixed.is_ok(),
                    "the offered correction {s:?} does not decode: {fixed:?}"
                );
            }
        }
        (verified, unverified)
    }};
}

/// The title of the first BEGIN line and of the first END line, if the text has armour.
fn armour_titles(t: &str) -> Option<(&str, Option<&str>)> {
    let title = |prefix: &str| {
        t.lines().find_map(|l| {
            let rest = l.trim().strip_prefix(prefix)?;
            Some(rest.strip_suffix("-----").unwrap_or(rest).trim())
        })
    };
    Some((title("-----BEGIN")?, title("-----END")))
}

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    let input = crate::lossy(data);
    let t: &str = &input;
    let n = t.len();

    let sniffed = call("sniff_kind", n, || sniff_kind(t));

    let (code, code_u) = signed_kind!(AuthorizationCode, Kind::AuthorizationCode, t, sniffed);
    let (cert, cert_u) = signed_kind!(
        ActivationCertificate,
        Kind::ActivationCertificate,
        t,
        sniffed
    );
    let (update, update_u) = signed_kind!(SignedUpdate, Kind::SignedUpdate, t, sniffed);

    let system_id = call("SystemIdCode::decode", n, || SystemIdCode::decode(t));
    if let Ok(s) = &system_id {
        assert_eq!(sniffed, Some(Kind::SystemId), "sniff_kind disagrees");
        let canonical = s.encode();
        assert_eq!(SystemIdCode::decode(&canonical).as_ref(), Ok(s));
    }
    let request = call("ActivationRequest::decode", n, || {
        ActivationRequest::decode(t)
    });
    if let Ok(r) = &request {
        assert_eq!(
            sniffed,
            Some(Kind::ActivationRequest),
            "sniff_kind disagrees"
        );
        let canonical = r.encode();
        let again = ActivationRequest::decode(&canonical);
        assert_eq!(
            again.as_ref(),
            Ok(r),
            "{canonical:?} does not decode the same"
        );
        assert_eq!(again.map(|a| a.encode()).ok(), Some(canonical));
    }
    let deactivation = call("DeactivationCode::decode", n, || {
        DeactivationCode::decode(t)
    });
    if let Ok(d) = &deactivation {
        assert_eq!(
            sniffed,
            Some(Kind::DeactivationCode),
            "sniff_kind disagrees"
        );
        let canonical = d.encode();
        assert_eq!(DeactivationCode::decode(&canonical).as_ref(), Ok(d));
    }
    let hardware_id = call("HardwareId::parse", n, || HardwareId::parse(t));
    if let Ok(h) = &hardware_id {
        let normal = h.to_string();
        assert_eq!(
            HardwareId::parse(&normal).as_ref(),
            Ok(h),
            "the normal form {normal:?} does not parse to the same id"
        );
    }
    let raw = call("raw::decode", n, || raw::decode(t));
    if let Ok((kind, bytes)) = &raw {
        assert_eq!(
            sniffed,
            Some(*kind),
            "sniff_kind disagrees with raw::decode"
        );
        let again = raw::decode(&raw::encode(*kind, bytes));
        assert_eq!(again.as_ref().ok(), Some(&(*kind, bytes.clone())));
    }

    // Artifact::parse gives what the kind's own decoder gives, verified or not.
    for verified in [true, false] {
        let keys = verified.then(trusted);
        let parsed = call("Artifact::parse", n, || Artifact::parse(t, keys));
        let (c, ce, u) = if verified {
            (&code, &cert, &update)
        } else {
            (&code_u, &cert_u, &update_u)
        };
        let as_hardware_id = parsed.as_ref().is_ok_and(|a| a.kind().is_none());
        let own: Option<Artifact> = match sniffed {
            _ if as_hardware_id => hardware_id.clone().ok().map(Artifact::HardwareId),
            Some(Kind::AuthorizationCode) => c.clone().ok().map(Artifact::AuthorizationCode),
            Some(Kind::ActivationCertificate) => {
                ce.clone().ok().map(Artifact::ActivationCertificate)
            }
            Some(Kind::SignedUpdate) => u.clone().ok().map(Artifact::SignedUpdate),
            Some(Kind::SystemId) => system_id.clone().ok().map(Artifact::SystemId),
            Some(Kind::DeactivationCode) => {
                deactivation.clone().ok().map(Artifact::DeactivationCode)
            }
            Some(Kind::ActivationRequest) => request
                .clone()
                .ok()
                .filter(|r| !verified || r.code.verify(trusted()).is_ok())
                .map(Artifact::ActivationRequest),
            _ => None,
        };
        if let Ok(a) = &parsed {
            if let Some(k) = a.kind() {
                assert_eq!(
                    sniffed,
                    Some(k),
                    "sniff_kind disagrees with Artifact::parse"
                );
            }
        }
        match (&parsed, &own) {
            (Ok(a), Some(o)) => assert_eq!(a, o, "Artifact::parse and the kind's decoder differ"),
            (Ok(a), None) => panic!(
                "Artifact::parse accepted {:?}, its kind's own decoder refused it",
                a.kind_code()
            ),
            (Err(e), Some(o)) => panic!(
                "the {} decoder accepted it, Artifact::parse refused it: {e:?}",
                o.kind_code()
            ),
            _ => {}
        }
        if let Ok(a) = &parsed {
            if let Some((begin, end)) = armour_titles(t) {
                assert_eq!(
                    Some(begin),
                    end,
                    "armour with different BEGIN and END titles"
                );
                assert!(
                    begin.starts_with("KEYWARD "),
                    "{} decoded from armour titled {begin:?}",
                    a.kind_code()
                );
                if a.kind() == Some(Kind::ActivationCertificate) {
                    assert_eq!(begin, "KEYWARD ACTIVATION CERTIFICATE");
                }
            }
        }
    }

    // The verdict says what Artifact::parse says.
    let ctx = context(NOW);
    let parsed = Artifact::parse(t, Some(trusted()));
    let v = call("verdict", n, || verdict(t, None, &ctx, HIGH_WATER));
    match &parsed {
        Ok(a) => {
            assert_eq!(v.kind, Some(a.kind_code()), "verdict names another kind");
            assert!(v.suggestion.is_none() && v.typos.is_empty());
        }
        Err(e) => {
            assert_eq!(
                v.code,
                keyward_core::VerdictCode::Error(e.code()),
                "verdict and Artifact::parse disagree"
            );
            assert_eq!(v.suggestion.as_deref(), e.suggestion());
        }
    }
    if let Some(s) = &v.suggestion {
        let fixed = Artifact::parse(s, Some(trusted()));
        assert!(
            fixed.is_ok(),
            "the verdict's correction {s:?} is refused: {fixed:?}"
        );
    }
    for expected in Kind::ALL {
        let ve = call("verdict (expected kind)", n, || {
            verdict(t, Some(expected), &ctx, HIGH_WATER)
        });
        match sniffed {
            Some(found) if found != expected => {
                assert_eq!(ve.code, "wrong_kind", "a {found:?} in a {expected:?} field")
            }
            _ => {
                if parsed.as_ref().is_ok_and(|a| a.kind() == Some(expected)) {
                    assert_eq!(ve, v, "the expected kind changed the verdict");
                }
            }
        }
    }
}
