//! The `bytes` target: any bytes through every binary decoder of keyward-core.
//!
//! Properties: whatever a `from_bytes` accepts re-encodes to exactly the same bytes (one
//! encoding per value), and its text form decodes to the same value; `raw::decode` returns
//! the bytes `raw::encode` was given, for every kind.

use keyward_core::{
    limits::MAX_TEXT_LEN, raw, text::sniff_kind, ActivationCertificate, ActivationRequest,
    AuthorizationCode, Kind, LicenseState, SignedUpdate,
};

use crate::limits::call;

macro_rules! signed_kind {
    ($ty:ty, $data:expr) => {{
        let data: &[u8] = $data;
        let decoded = call(concat!(stringify!($ty), "::from_bytes"), data.len(), || {
            <$ty>::from_bytes(data)
        });
        if let Ok(v) = decoded {
            assert_eq!(v.to_bytes(), data, "accepted bytes that are not canonical");
            let text = v.encode();
            assert_eq!(
                <$ty>::decode_unverified(&text),
                Ok(v),
                "its text {text:?} does not decode to the same value"
            );
        }
    }};
}

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    let n = data.len();
    signed_kind!(AuthorizationCode, data);
    signed_kind!(ActivationCertificate, data);
    signed_kind!(SignedUpdate, data);

    let request = call("ActivationRequest::from_bytes", n, || {
        ActivationRequest::from_bytes(data)
    });
    if let Ok(r) = request {
        assert_eq!(r.to_bytes(), data, "accepted bytes that are not canonical");
        let text = r.encode();
        assert_eq!(
            ActivationRequest::decode(&text),
            Ok(r),
            "its text {text:?} does not decode to the same value"
        );
    }

    // The state blob as it is (the `state` target fixes up its checksum to get further).
    let state = call("LicenseState::from_bytes", n, || {
        LicenseState::from_bytes(data)
    });
    if let Ok(s) = state {
        assert_eq!(
            s.to_bytes().ok().as_deref(),
            Some(data),
            "accepted a state blob that is not canonical"
        );
    }

    // The text layer: every kind carries any non-empty bytes and gives them back.
    if n > 0 {
        for kind in Kind::ALL {
            let text = raw::encode(kind, data);
            if text.len() > MAX_TEXT_LEN {
                continue;
            }
            let back = call("raw::decode", text.len(), || raw::decode(&text));
            assert_eq!(
                back.ok(),
                Some((kind, data.to_vec())),
                "raw::decode does not return what raw::encode was given"
            );
            assert_eq!(sniff_kind(&text), Some(kind));
        }
    }
}
