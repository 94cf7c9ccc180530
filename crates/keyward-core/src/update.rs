//! Signed updates (续费/冻结/释放通知): renew, freeze, unfreeze or release one license, or
//! reset the machine's clock mark through it. The
//! per-license sequence number means an old update can never be replayed over a newer one.

use alloc::string::String;
use alloc::vec::Vec;

use crate::authcode::LicenseId;
use crate::error::Error;
use crate::keys::{KeyId, MerchantKey, TrustedKeys};
use crate::kind::Kind;
use crate::signed::{self, SignedArtifact};
use crate::time::{Timestamp, MINUTE};
use crate::wire::{Reader, Writer};

/// What an update does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateAction {
    /// New expiry (a renewal).
    Renew {
        /// The new expiry.
        expires: Timestamp,
    },
    /// Suspend the license (the marketplace froze it, e.g. unpaid).
    Freeze,
    /// Lift a freeze.
    Unfreeze,
    /// Release / revoke: the license ends for good.
    Release,
    /// Clears the machine's clock high-water mark back to the update's signing time: for a
    /// buyer whose clock was once far ahead (so a correct clock now reads as turned back),
    /// offline. The signing time is the merchant's, so a clock really turned back before it
    /// is still caught.
    ResetClock,
}

impl UpdateAction {
    /// Stable name (`renew`, `freeze`, `unfreeze`, `release`, `reset_clock`).
    pub fn code(&self) -> &'static str {
        match self {
            UpdateAction::Renew { .. } => "renew",
            UpdateAction::Freeze => "freeze",
            UpdateAction::Unfreeze => "unfreeze",
            UpdateAction::Release => "release",
            UpdateAction::ResetClock => "reset_clock",
        }
    }
}

/// A signed update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedUpdate {
    key_id: KeyId,
    license_id: LicenseId,
    sequence: u32,
    action: UpdateAction,
    issued: Timestamp,
    signature: [u8; 64],
}

impl SignedUpdate {
    signed::signed_artifact_methods!();

    /// Signs an update. `sequence` must grow with every update of the license (from 1).
    pub fn issue(
        key: &MerchantKey,
        license_id: LicenseId,
        sequence: u32,
        action: UpdateAction,
        issued: Timestamp,
    ) -> Result<Self, Error> {
        if sequence == 0 {
            return Err(Error::InvalidInput {
                field: "sequence",
                reason: String::from("starts at 1"),
            });
        }
        let action = match action {
            UpdateAction::Renew { expires } => UpdateAction::Renew {
                expires: expires.floor_minute(),
            },
            a => a,
        };
        let mut u = SignedUpdate {
            key_id: key.public().id(),
            license_id,
            sequence,
            action,
            issued: issued.floor_minute(),
            signature: [0; 64],
        };
        signed::sign(&mut u, key);
        Ok(u)
    }

    /// Text form, `KN1-…`.
    pub fn encode(&self) -> String {
        signed::encode_text(self)
    }
    /// The license it applies to.
    pub fn license_id(&self) -> LicenseId {
        self.license_id
    }
    /// Its sequence number.
    pub fn sequence(&self) -> u32 {
        self.sequence
    }
    /// What it does.
    pub fn action(&self) -> UpdateAction {
        self.action
    }
    /// When it was signed.
    pub fn issued(&self) -> Timestamp {
        self.issued
    }
}

impl SignedArtifact for SignedUpdate {
    const KIND: Kind = Kind::SignedUpdate;
    const DOMAIN: &'static [u8] = b"keyward:signed-update\0";

    fn write_body(&self, w: &mut Writer) {
        w.bytes(&self.key_id.0);
        w.bytes(&self.license_id.0);
        w.varint(self.sequence as u64);
        match self.action {
            UpdateAction::Renew { expires } => {
                w.u8(1);
                w.varint(expires.0 / MINUTE);
            }
            UpdateAction::Freeze => w.u8(2),
            UpdateAction::Unfreeze => w.u8(3),
            UpdateAction::Release => w.u8(4),
            UpdateAction::ResetClock => w.u8(5),
        }
        w.varint(self.issued.0 / MINUTE);
    }

    fn read_body(r: &mut Reader<'_>) -> Result<Self, Error> {
        let key_id = KeyId(r.array()?);
        let license_id = LicenseId(r.array()?);
        let sequence = r.varint_max(u32::MAX as u64)? as u32;
        if sequence == 0 {
            return Err(r.err(said!("sequence number 0")));
        }
        const MAX_MINUTES: u64 = u64::MAX / MINUTE / 4;
        let action = match r.u8()? {
            1 => UpdateAction::Renew {
                expires: Timestamp(r.varint_max(MAX_MINUTES)? * MINUTE),
            },
            2 => UpdateAction::Freeze,
            3 => UpdateAction::Unfreeze,
            4 => UpdateAction::Release,
            5 => UpdateAction::ResetClock,
            _ => return Err(r.err(said!("unknown update action"))),
        };
        let issued = Timestamp(r.varint_max(MAX_MINUTES)? * MINUTE);
        Ok(SignedUpdate {
            key_id,
            license_id,
            sequence,
            action,
            issued,
            signature: [0; 64],
        })
    }

    signed::signed_artifact_accessors!();
}
