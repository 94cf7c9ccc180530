//! What the page is given: a verdict with the structure its messages need, as plain
//! values (written as JSON by `json`).

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use keyward_core::{
    binding::{Binding, MachineRef},
    error::Typo,
    Kind, LicenseTerms, MachineFacts, Timestamp, VerdictCode,
};

/// What an input field takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// Any artifact (the page's third field: certificates and signed updates).
    Any,
    /// Only this kind (the authorization-code field).
    Only(Kind),
    /// A system identification code or a hardware identification code (the machine field).
    Machine,
}

impl Field {
    /// From the page's name for it: a kind code (`authorization_code`, …), `machine`, or
    /// nothing / `any`.
    pub fn parse(name: Option<&str>) -> Option<Field> {
        match name {
            None | Some("") | Some("any") => Some(Field::Any),
            Some("machine") => Some(Field::Machine),
            Some(k) => kind_from_code(k).map(Field::Only),
        }
    }
}

/// A kind from its stable code.
pub fn kind_from_code(code: &str) -> Option<Kind> {
    Kind::ALL.into_iter().find(|k| k.code() == code)
}

/// When and where a check happens.
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// The current time.
    pub now: Timestamp,
    /// The highest time seen before (clock rollback detection); the page passes `now`.
    pub high_water: Timestamp,
    /// The machine's facts. The page has none (a browser cannot read them): a bound code is
    /// then judged on its terms alone and checked against the pasted machine code instead
    /// ([`super::Checker::bound_matches`]). The test vectors give facts, and then the verdict is
    /// exactly the core's.
    pub facts: Option<MachineFacts>,
}

/// Structured values for the page's messages (each is set only where it applies).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Args {
    /// The kind a field expected (`wrong_kind`).
    pub expected: Option<&'static str>,
    /// The kind that was pasted (`wrong_kind`, and `invalid_input` for a hardware id).
    pub found: Option<&'static str>,
    /// The offending character (`invalid_character`).
    pub character: Option<char>,
    /// Its 1-based position in the pasted text.
    pub position: Option<usize>,
    /// Code characters counted (`bad_length`, `incomplete`).
    pub symbols: Option<usize>,
    /// Code characters missing at the end of a cut-off code, and whether that is a lower
    /// bound (`incomplete`, when the core could tell).
    pub missing: Option<(usize, bool)>,
    /// Bytes pasted and accepted (`too_long`).
    pub length: Option<(usize, usize)>,
    /// Version found (`unsupported_version`).
    pub version: Option<u8>,
    /// The signing key's id (`unknown_key`).
    pub key_id: Option<String>,
    /// Machine facts or parts that matched, that are required, and the kinds that differ
    /// (`machine_mismatch`).
    pub mismatch: Option<(u8, u8, Vec<&'static str>)>,
    /// Whole days until expiry, rounded up (license statuses with an expiry).
    pub days_left: Option<u64>,
    /// When the grace period ends (`in_grace`).
    pub grace_ends: Option<Timestamp>,
    /// The time given and the highest seen (`clock_rolled_back`).
    pub clock: Option<(Timestamp, Timestamp)>,
    /// The hardware kind the text names by its prefix (`invalid_hardware_id`): `mac`, `sn`,
    /// `uuid`, `disk`, `fp`, `custom`, or none when it names none.
    pub hardware_kind: Option<&'static str>,
}

/// What a license is bound to, as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BoundTo {
    /// A system identification code (`KS1-…`), `tolerance` of its `facts` must match.
    System {
        /// The code's text.
        code: String,
        /// Facts that must match.
        tolerance: u8,
        /// Facts present in the code.
        facts: usize,
    },
    /// A hardware identification code (only salted digests are stored, so no value).
    Hardware {
        /// `mac`, `sn`, `uuid`, `disk`, `fp` or `custom`.
        kind: &'static str,
        /// Parts that must match.
        tolerance: u8,
        /// Parts bound.
        parts: usize,
    },
}

impl BoundTo {
    pub(crate) fn of(b: &Binding) -> BoundTo {
        match b {
            Binding::System { code, tolerance } => BoundTo::System {
                code: code.encode(),
                tolerance: *tolerance,
                facts: code.present(),
            },
            Binding::Hardware {
                kind, tolerance, ..
            } => BoundTo::Hardware {
                kind: kind.prefix(),
                tolerance: *tolerance,
                parts: b.parts_count(),
            },
        }
    }
}

/// What a license grants (from an authorization code, a certificate or a request).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct License {
    /// 16 hex digits.
    pub license_id: String,
    /// Product id.
    pub product: String,
    /// SKU / edition.
    pub sku: String,
    /// Seats.
    pub seats: u32,
    /// Valid from.
    pub not_before: Timestamp,
    /// Valid until; `None` is perpetual.
    pub expires: Option<Timestamp>,
    /// Features granted.
    pub features: Vec<String>,
    /// Trial license.
    pub trial: bool,
    /// Marketplace instance id.
    pub instance_id: Option<String>,
    /// Marketplace order id.
    pub order_id: Option<String>,
    /// The machine binding, if bound.
    pub bound_to: Option<BoundTo>,
}

impl License {
    pub(crate) fn of(t: &LicenseTerms, b: Option<&Binding>) -> License {
        License {
            license_id: t.license_id.to_string(),
            product: t.product.clone(),
            sku: t.sku.clone(),
            seats: t.seats,
            not_before: t.not_before,
            expires: t.expires,
            features: t.features.clone(),
            trial: t.trial,
            instance_id: t.instance_id.clone(),
            order_id: t.order_id.clone(),
            bound_to: b.map(BoundTo::of),
        }
    }
}

/// A machine named by a system or hardware identification code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Machine {
    /// `system_id` or `hardware_id`.
    pub kind: &'static str,
    /// Normal form (`KS1-…`, `mac:00:1A:…`).
    pub text: String,
    /// For a hardware id: `mac`, `sn`, `uuid`, `disk`, `fp` or `custom`.
    pub hardware_kind: Option<&'static str>,
    /// For a system id: how many of its five facts are present.
    pub facts: Option<usize>,
}

impl Machine {
    pub(crate) fn of(m: &MachineRef) -> Machine {
        match m {
            MachineRef::System(s) => Machine {
                kind: "system_id",
                text: s.encode(),
                hardware_kind: None,
                facts: Some(s.present()),
            },
            MachineRef::Hardware(h) => Machine {
                kind: "hardware_id",
                text: h.to_string(),
                hardware_kind: Some(h.kind().prefix()),
                facts: None,
            },
        }
    }
}

/// What a signed update does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Update {
    /// The license it applies to.
    pub license_id: String,
    /// Its sequence number.
    pub sequence: u32,
    /// `renew`, `freeze`, `unfreeze` or `release`.
    pub action: &'static str,
    /// The new expiry of a renewal.
    pub expires: Option<Timestamp>,
}

/// The contents of a valid artifact.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Details {
    /// License terms (authorization code, certificate, the code inside a request).
    pub license: Option<License>,
    /// The machine (system/hardware id, a request's machine).
    pub machine: Option<Machine>,
    /// A signed update's action.
    pub update: Option<Update>,
    /// The signing key's id.
    pub key_id: Option<String>,
    /// A request's or certificate's nonce, 16 hex digits.
    pub nonce: Option<String>,
    /// When a request was made or a certificate or update signed.
    pub issued: Option<Timestamp>,
}

/// The verdict on one field's text, with structure for the page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// What the text was recognised as (`authorization_code`, …, `hardware_id`), if known.
    pub kind: Option<&'static str>,
    /// The core's verdict code (`active`, `valid`, `typo`, `wrong_kind`, …), a value; its
    /// snake_case string only in the JSON.
    pub verdict: VerdictCode,
    /// The core's English sentence.
    pub message: String,
    /// The one correction of a typo, when exactly one makes the text fully valid.
    pub suggestion: Option<String>,
    /// With a suggestion: the code characters of the pasted text as the core reads them
    /// (full width folded, upper case, I/L as 1, O as 0, separators left out), so the page
    /// can mark what the correction changes without normalising text itself.
    pub pasted_as: Option<String>,
    /// A finer reason under the verdict code, for messages: `missing_or_extra` (a typo that
    /// is a dropped or doubled character), `invalid_character`, `bad_length`, `too_long`,
    /// `contents`, `two_codes`, `armour_two_begins`, `armour_end_without_begin`,
    /// `armour_end_missing`, `armour_wrong_title`, `armour_header_in_code`,
    /// `armour_not_a_certificate`, `armour`, `hardware_id_here`, `incomplete` (the beginning
    /// of a code, still being typed or cut off: every complete group checks; `args.symbols`
    /// counts its characters, `args.missing` what is missing when known).
    pub reason: Option<&'static str>,
    /// The groups whose check symbol fails (`typo`).
    pub typos: Vec<Typo>,
    /// Values for the message.
    pub args: Args,
    /// The contents, when the verdict is a license status or `valid`.
    pub details: Option<Details>,
    /// The license is bound but no machine facts were given: the binding was not checked
    /// (the page checks it against the machine field instead).
    pub binding_unchecked: bool,
}

/// How a bound license compares with a pasted machine code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineMatch {
    /// `match`, `mismatch`, `unbound` (nothing to check), `incomparable` (bound to a system
    /// id but a hardware id was pasted, or back) or `invalid` (either text is not valid).
    pub state: &'static str,
    /// `system` or `hardware`, when bound.
    pub bound: Option<&'static str>,
    /// Facts or parts that matched (on `mismatch`).
    pub matched: u8,
    /// Facts or parts that must match.
    pub required: u8,
    /// Kinds of the bound facts or parts that differ (on `mismatch`).
    pub differing: Vec<&'static str>,
}
