//! What the plugin answers, as plain Rust values (the names of keyward-core and the WIT).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keyward_core::StatusCode;

use crate::bindings::keyward::plugin::types as wit;

/// The kinds of keyward code (keyward-core's [`Kind`], the one enum for them), for
/// [`License::inspect_as`](crate::License::inspect_as); its stable name is [`Kind::code`].
pub use keyward_core::Kind;

/// The WIT case of `kind`.
pub(crate) fn kind_to_wit(kind: Kind) -> wit::Kind {
    match kind {
        Kind::AuthorizationCode => wit::Kind::AuthorizationCode,
        Kind::SystemId => wit::Kind::SystemId,
        Kind::ActivationRequest => wit::Kind::ActivationRequest,
        Kind::ActivationCertificate => wit::Kind::ActivationCertificate,
        Kind::SignedUpdate => wit::Kind::SignedUpdate,
        Kind::DeactivationCode => wit::Kind::DeactivationCode,
    }
}

/// One group of a code whose check symbol fails: where a buyer mistyped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Typo {
    /// 1-based group number, not counting the prefix.
    pub group: u32,
    /// 1-based character position in the pasted text where the group starts.
    pub first_position: u32,
    /// 1-based character position where it ends.
    pub last_position: u32,
}

/// The verdict on pasted text: the same code on every form of keyward (CLI, page, plugin).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// What the text was recognised as (`authorization_code`, `system_id`,
    /// `activation_request`, `activation_certificate`, `signed_update`, `hardware_id`).
    pub kind: Option<String>,
    /// `active`, `expired`, …, `valid`, or an error code (`typo`, `bad_signature`,
    /// `unknown_key`, `malformed`, `wrong_kind`, …).
    pub code: String,
    /// For people.
    pub message: String,
    /// The corrected code, when a typo has exactly one correction.
    pub suggestion: Option<String>,
    /// Groups whose check symbols fail (only for `typo`).
    pub typos: Vec<Typo>,
}

impl From<wit::Verdict> for Verdict {
    fn from(v: wit::Verdict) -> Self {
        Verdict {
            kind: v.kind,
            code: verdict_code(v.code),
            message: v.message,
            suggestion: v.suggestion,
            typos: v
                .typos
                .into_iter()
                .map(|t| Typo {
                    group: t.group,
                    first_position: t.first_position,
                    last_position: t.last_position,
                })
                .collect(),
        }
    }
}

/// What a license grants, after the updates applied to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LicenseSummary {
    /// 16 hex digits.
    pub license_id: String,
    /// Product id.
    pub product: String,
    /// SKU / edition (may be empty).
    pub sku: String,
    /// Seats.
    pub seats: u32,
    /// Features granted.
    pub features: Vec<String>,
    /// Valid from.
    pub not_before: SystemTime,
    /// Valid until; `None` when perpetual.
    pub expires: Option<SystemTime>,
    /// Whole days left until expiry, rounded up; `None` when perpetual.
    pub days_left: Option<u64>,
    /// Trial license.
    pub trial: bool,
    /// Bound to a machine.
    pub bound: bool,
}

/// Why this machine does not match a license's binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The bound facts or parts this machine lacks (`machine_id`, `board`, `disk`, `cpu`,
    /// `mac`, `uuid`, `custom`).
    pub differing: Vec<String>,
    /// How many matched.
    pub matched: u8,
    /// How many must match.
    pub required: u8,
}

/// The clock is earlier than a time already seen on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClockRollback {
    /// The time given.
    pub now: SystemTime,
    /// The latest time seen before.
    pub high_water: SystemTime,
}

/// The license status on this machine: the best of the installed licenses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// Which status: `active`, `in_grace`, `not_yet_valid`, `expired`, `frozen`,
    /// `released`, `machine_mismatch`, `clock_rolled_back` or `no_license` (compare it with
    /// a [`StatusCode`] or its string).
    pub code: StatusCode,
    /// Whether features work (active or in grace).
    pub usable: bool,
    /// For people.
    pub message: String,
    /// The license the status is about.
    pub license: Option<LicenseSummary>,
    /// When grace ends (`in_grace` only).
    pub grace_ends: Option<SystemTime>,
    /// Which facts differ (`machine_mismatch` only).
    pub mismatch: Option<Mismatch>,
    /// The times involved (`clock_rolled_back` only).
    pub clock: Option<ClockRollback>,
}

impl Status {
    /// Whether `feature` is available now.
    pub fn has_feature(&self, feature: &str) -> bool {
        self.usable
            && self
                .license
                .as_ref()
                .is_some_and(|l| l.features.iter().any(|f| f == feature))
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A WIT `status-code` as keyward-core's [`StatusCode`].
pub(crate) fn status_code(c: wit::StatusCode) -> StatusCode {
    use wit::StatusCode as C;
    match c {
        C::Active => StatusCode::Active,
        C::InGrace => StatusCode::InGrace,
        C::NotYetValid => StatusCode::NotYetValid,
        C::Expired => StatusCode::Expired,
        C::Frozen => StatusCode::Frozen,
        C::Released => StatusCode::Released,
        C::MachineMismatch => StatusCode::MachineMismatch,
        C::ClockRolledBack => StatusCode::ClockRolledBack,
        C::NoLicense => StatusCode::NoLicense,
    }
}

/// A WIT `verdict-code` as keyward's one stable snake_case string: `valid`, the status
/// code, or the error code.
pub(crate) fn verdict_code(c: wit::VerdictCode) -> String {
    match c {
        wit::VerdictCode::Valid => "valid",
        wit::VerdictCode::Status(s) => status_code(s).as_str(),
        wit::VerdictCode::Error(e) => crate::code(e).as_str(),
    }
    .into()
}

pub(crate) fn time(secs: u64) -> SystemTime {
    UNIX_EPOCH
        .checked_add(Duration::from_secs(secs))
        .unwrap_or(UNIX_EPOCH)
}

impl From<wit::Status> for Status {
    fn from(s: wit::Status) -> Self {
        Status {
            code: status_code(s.code),
            usable: s.usable,
            message: s.message,
            license: s.license.map(|l| LicenseSummary {
                license_id: l.license_id,
                product: l.product,
                sku: l.sku,
                seats: l.seats,
                features: l.features,
                not_before: time(l.not_before),
                expires: l.expires.map(time),
                days_left: l.days_left,
                trial: l.trial,
                bound: l.bound,
            }),
            grace_ends: s.grace_ends.map(time),
            mismatch: s.mismatch.map(|m| Mismatch {
                differing: m.differing,
                matched: m.matched,
                required: m.required,
            }),
            clock: s.clock.map(|c| ClockRollback {
                now: time(c.now),
                high_water: time(c.high_water),
            }),
        }
    }
}

/// What applying a signed update did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Applied.
    Applied,
    /// The same update was applied before: nothing changed.
    AlreadyApplied,
}

impl From<wit::Applied> for Applied {
    fn from(a: wit::Applied) -> Self {
        match a {
            wit::Applied::Applied => Applied::Applied,
            wit::Applied::AlreadyApplied => Applied::AlreadyApplied,
        }
    }
}
