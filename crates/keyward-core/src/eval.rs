//! Evaluation: given artifacts, this machine's facts and `now`, what is the license's status?

use alloc::string::String;
use alloc::vec::Vec;

use crate::authcode::{LicenseId, LicenseTerms};
use crate::binding::{Binding, Mismatch};
use crate::codes::StatusCode;
use crate::facts::MachineFacts;
use crate::hwid::HardwareId;
use crate::keys::TrustedKeys;
use crate::time::{Timestamp, DAY};

/// Rules the host sets (not the merchant's artifacts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// After expiry, the license keeps working this long (seconds) while a renewal arrives.
    pub grace: u64,
    /// How far (seconds) `now` may fall behind the highest time seen before it counts as the
    /// clock being rolled back.
    pub clock_tolerance: u64,
}

/// The default [`Policy::clock_tolerance`]: a day. A clock that was ahead for a while by
/// up to a day (a PC that boots two systems, one keeping the hardware clock in local time,
/// is 8 hours off in China after each switch) must not lock a buyer out once it is right
/// again; a clock turned back further is caught. What a rollback can win is at most this
/// much use past an expiry.
pub const CLOCK_TOLERANCE: u64 = DAY;

impl Default for Policy {
    /// 3 days of grace, a day of clock tolerance ([`CLOCK_TOLERANCE`]).
    fn default() -> Self {
        Policy {
            grace: 3 * DAY,
            clock_tolerance: CLOCK_TOLERANCE,
        }
    }
}

/// Everything evaluation needs besides the artifacts.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// Keys the product trusts.
    pub trusted: &'a TrustedKeys,
    /// This machine's facts.
    pub facts: &'a MachineFacts,
    /// Hardware ids the host can vouch for beyond the facts (e.g. a dongle's serial).
    pub hardware_ids: &'a [HardwareId],
    /// The current time.
    pub now: Timestamp,
    /// Grace and clock rules.
    pub policy: Policy,
}

/// What a status report says about the license (after updates were applied).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LicenseSummary {
    /// The license.
    pub license_id: LicenseId,
    /// Product id.
    pub product: String,
    /// SKU / edition.
    pub sku: String,
    /// Seats.
    pub seats: u32,
    /// Features granted.
    pub features: Vec<String>,
    /// Valid from.
    pub not_before: Timestamp,
    /// Valid until (after renewals); `None` is perpetual.
    pub expires: Option<Timestamp>,
    /// Whole days left until expiry, rounded up; `None` when perpetual.
    pub days_left: Option<u64>,
    /// Trial license.
    pub trial: bool,
    /// Bound to a machine.
    pub bound: bool,
}

/// The status of a license on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "state", rename_all = "snake_case"))]
pub enum Status {
    /// Licensed: features are available.
    Active {
        /// The license.
        license: LicenseSummary,
    },
    /// Expired, but within the grace period: still works, renew soon.
    InGrace {
        /// The license.
        license: LicenseSummary,
        /// When grace ends.
        grace_ends: Timestamp,
    },
    /// The license starts later.
    NotYetValid {
        /// The license.
        license: LicenseSummary,
    },
    /// The license has expired.
    Expired {
        /// The license.
        license: LicenseSummary,
    },
    /// The merchant froze the license.
    Frozen {
        /// The license.
        license: LicenseSummary,
    },
    /// The merchant released (revoked) the license.
    Released {
        /// The license.
        license: LicenseSummary,
    },
    /// The license is bound to another machine.
    MachineMismatch {
        /// The license.
        license: LicenseSummary,
        /// Which facts differ.
        mismatch: Mismatch,
    },
    /// `now` is earlier than a time already seen: the clock was turned back.
    ClockRolledBack {
        /// The time given.
        now: Timestamp,
        /// The latest time seen before.
        high_water: Timestamp,
    },
    /// Nothing is installed.
    NoLicense,
}

impl Status {
    /// Stable code: `active`, `in_grace`, `not_yet_valid`, `expired`, `frozen`, `released`,
    /// `machine_mismatch`, `clock_rolled_back`, `no_license`.
    pub fn code(&self) -> StatusCode {
        match self {
            Status::Active { .. } => StatusCode::Active,
            Status::InGrace { .. } => StatusCode::InGrace,
            Status::NotYetValid { .. } => StatusCode::NotYetValid,
            Status::Expired { .. } => StatusCode::Expired,
            Status::Frozen { .. } => StatusCode::Frozen,
            Status::Released { .. } => StatusCode::Released,
            Status::MachineMismatch { .. } => StatusCode::MachineMismatch,
            Status::ClockRolledBack { .. } => StatusCode::ClockRolledBack,
            Status::NoLicense => StatusCode::NoLicense,
        }
    }

    /// Do features work? (active or in grace)
    pub fn is_usable(&self) -> bool {
        matches!(self, Status::Active { .. } | Status::InGrace { .. })
    }

    /// The license this status is about.
    pub fn license(&self) -> Option<&LicenseSummary> {
        match self {
            Status::Active { license }
            | Status::InGrace { license, .. }
            | Status::NotYetValid { license }
            | Status::Expired { license }
            | Status::Frozen { license }
            | Status::Released { license }
            | Status::MachineMismatch { license, .. } => Some(license),
            _ => None,
        }
    }

    /// Is `feature` available now?
    pub fn has_feature(&self, feature: &str) -> bool {
        self.is_usable()
            && self
                .license()
                .is_some_and(|l| l.features.iter().any(|f| f == feature))
    }

    /// How good a status is, to pick the best of several licenses.
    pub(crate) fn rank(&self) -> u8 {
        match self {
            Status::Active { .. } => 9,
            Status::InGrace { .. } => 8,
            Status::NotYetValid { .. } => 7,
            Status::Frozen { .. } => 6,
            Status::Expired { .. } => 5,
            Status::MachineMismatch { .. } => 4,
            Status::Released { .. } => 3,
            Status::ClockRolledBack { .. } => 2,
            Status::NoLicense => 0,
        }
    }

    /// A sentence for people (without the `messages` feature: the stable code).
    #[cfg(not(feature = "messages"))]
    pub fn describe(&self) -> String {
        String::from(self.code().as_str())
    }

    /// A sentence for people (without the `messages` feature: the stable code).
    #[cfg(feature = "messages")]
    pub fn describe(&self) -> String {
        let until = |l: &LicenseSummary| match l.expires {
            Some(e) => words!(
                "until {} ({} days left)",
                e.to_date(),
                l.days_left.unwrap_or(0)
            ),
            None => String::from("with no expiry"),
        };
        match self {
            Status::Active { license } => words!(
                "licensed: {}{}{}{}, {}",
                license.product,
                if license.sku.is_empty() { "" } else { " " },
                license.sku,
                if license.trial { " (trial)" } else { "" },
                until(license)
            ),
            Status::InGrace { license, grace_ends } => words!(
                "the license of {} expired on {}; it keeps working until {} — renew it",
                license.product,
                license.expires.map(|e| e.to_date()).unwrap_or_default(),
                grace_ends.to_date()
            ),
            Status::NotYetValid { license } => words!(
                "the license of {} starts on {}",
                license.product,
                license.not_before.to_rfc3339()
            ),
            Status::Expired { license } => words!(
                "the license of {} expired on {}: renew it and apply the renewal",
                license.product,
                license.expires.map(|e| e.to_date()).unwrap_or_default()
            ),
            Status::Frozen { license } => words!(
                "the license of {} is frozen by the merchant (for example an unpaid renewal): contact the merchant",
                license.product
            ),
            Status::Released { license } => words!(
                "the license of {} was released (ended) by the merchant",
                license.product
            ),
            Status::MachineMismatch { license, mismatch } if mismatch.differing == ["product"] => words!(
                "the license of {0} is bound to a system identification code made for another product or without a product, so it can match no machine: on the machine, run `keyward system-id --product {0}` (or let the software show its code) and ask the merchant for a license bound to that code",
                license.product
            ),
            Status::MachineMismatch { license, mismatch } => words!(
                "the license of {} is for another machine: {} of the required {} machine facts match; differing: {}",
                license.product,
                mismatch.matched,
                mismatch.required,
                crate::util::join(mismatch.differing.iter().copied(), ", ")
            ),
            Status::ClockRolledBack { now, high_water } => words!(
                "the system clock ({now}) is earlier than a time this machine already saw ({high_water}): set the clock to the correct date and time; if it is already correct (it was ahead for a while), ask the merchant for a clock reset (a signed update) and apply it"
            ),
            Status::NoLicense => String::from("no license is installed"),
        }
    }
}

/// Mutable facts about a license that updates change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LicenseFlags {
    /// Frozen by the merchant.
    pub frozen: bool,
    /// Released by the merchant.
    pub released: bool,
    /// Expiry set by the latest renewal.
    pub renewed_expiry: Option<Timestamp>,
}

/// Evaluates verified terms. The caller has checked signatures and the clock.
pub fn evaluate_terms(
    terms: &LicenseTerms,
    binding: Option<&Binding>,
    flags: &LicenseFlags,
    ctx: &Context<'_>,
) -> Status {
    let expires = match (flags.renewed_expiry, terms.expires) {
        (Some(r), _) => Some(r),
        (None, e) => e,
    };
    let now = ctx.now;
    let license = LicenseSummary {
        license_id: terms.license_id,
        product: terms.product.clone(),
        sku: terms.sku.clone(),
        seats: terms.seats,
        features: terms.features.clone(),
        not_before: terms.not_before,
        expires,
        days_left: expires.map(|e| e.0.saturating_sub(now.0).div_ceil(DAY)),
        trial: terms.trial,
        bound: binding.is_some(),
    };
    if flags.released {
        return Status::Released { license };
    }
    if let Some(b) = binding {
        if let Err(mismatch) = b.check(&terms.product, ctx.facts, ctx.hardware_ids) {
            return Status::MachineMismatch { license, mismatch };
        }
    }
    if flags.frozen {
        return Status::Frozen { license };
    }
    if now < terms.not_before {
        return Status::NotYetValid { license };
    }
    if let Some(e) = expires {
        if now >= e {
            let grace_ends = e.add_secs(ctx.policy.grace);
            return if now < grace_ends {
                Status::InGrace {
                    license,
                    grace_ends,
                }
            } else {
                Status::Expired { license }
            };
        }
    }
    Status::Active { license }
}

/// The clock was turned back: `now` is earlier than `high_water` minus the tolerance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockRollback {
    /// The time given.
    pub now: Timestamp,
    /// The latest time seen before.
    pub high_water: Timestamp,
}

impl From<ClockRollback> for Status {
    fn from(c: ClockRollback) -> Status {
        Status::ClockRolledBack {
            now: c.now,
            high_water: c.high_water,
        }
    }
}

/// Checks `now` against the highest time seen. Returns the new high-water mark.
pub fn check_clock(
    now: Timestamp,
    high_water: Timestamp,
    policy: &Policy,
) -> Result<Timestamp, ClockRollback> {
    if now.0.saturating_add(policy.clock_tolerance) < high_water.0 {
        Err(ClockRollback { now, high_water })
    } else {
        Ok(now.max(high_water))
    }
}
