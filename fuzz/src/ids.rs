//! The `ids` target: hardware identification codes, times and license ids as typed.
//!
//! Properties: a hardware id that parses re-parses from its normal form (`to_string`) to the
//! same id, and an activation request carrying it encodes and decodes back (as bytes and as
//! text); a time that parses re-parses from its RFC 3339 form, and its date from its date
//! form; a license id re-parses from its hex form.

use std::sync::OnceLock;

use keyward_core::{
    binding::{Binding, MachineRef},
    limits::MAX_PARTS,
    time::DAY,
    ActivationRequest, AuthorizationCode, HardwareId, LicenseId, LicenseTerms, Timestamp,
};

use crate::context::{key, NOW};
use crate::limits::call;
use crate::{outcome, short};

/// An authorization code for the requests built here.
fn code() -> &'static AuthorizationCode {
    static CODE: OnceLock<AuthorizationCode> = OnceLock::new();
    CODE.get_or_init(|| {
        let terms = LicenseTerms {
            license_id: LicenseId([7; 8]),
            product: "acme-invoice".into(),
            sku: String::new(),
            seats: 1,
            not_before: NOW,
            expires: None,
            features: Vec::new(),
            trial: false,
            instance_id: None,
            order_id: None,
        };
        match AuthorizationCode::issue(key(), terms, None) {
            Ok(c) => c,
            Err(e) => panic!("the fuzz code cannot be issued: {e:?}"),
        }
    })
}

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    let input = crate::lossy(data);
    let t: &str = &input;
    let n = t.len();

    if let Ok(h) = call("HardwareId::parse", n, || HardwareId::parse(t)) {
        let normal = h.to_string();
        let again = HardwareId::parse(&normal);
        assert!(
            again.as_ref() == Ok(&h),
            "{} parses, its normal form {} does not parse to the same id: {}",
            short(t),
            short(&normal),
            outcome(&again)
        );
        if let Ok(b) = call("Binding::hardware", n, || Binding::hardware(&h, None)) {
            assert!(b.parts_count() <= MAX_PARTS);
        }
        let request = ActivationRequest::new(code().clone(), MachineRef::Hardware(h), [9; 8], NOW);
        let bytes = request.to_bytes();
        let back = ActivationRequest::from_bytes(&bytes);
        assert!(
            back.as_ref() == Ok(&request),
            "an activation request carrying {} does not read back: {}",
            short(&normal),
            outcome(&back)
        );
        let text = request.encode();
        let back = ActivationRequest::decode(&text);
        assert!(
            back.as_ref() == Ok(&request),
            "an activation request carrying {} does not decode from its text: {}",
            short(&normal),
            outcome(&back)
        );
    }

    if let Some(ts) = call("Timestamp::parse", n, || Timestamp::parse(t)) {
        let rfc = ts.to_rfc3339();
        assert_eq!(
            Timestamp::parse(&rfc),
            Some(ts),
            "{} parses, its RFC 3339 form {rfc:?} does not parse back",
            short(t)
        );
        let date = ts.to_date();
        assert_eq!(
            Timestamp::parse(&date),
            Some(Timestamp(ts.0 - ts.0 % DAY)),
            "{} parses, its date {date:?} does not parse to its day",
            short(t)
        );
    }

    if let Some(id) = call("LicenseId::parse", n, || LicenseId::parse(t)) {
        assert_eq!(LicenseId::parse(&id.to_string()), Some(id));
    }
}
