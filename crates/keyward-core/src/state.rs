//! What a machine remembers between runs: installed licenses, the updates applied to them,
//! and the highest time seen (to notice a clock turned back). The host stores the bytes; the
//! core defines them, with a checksum so a damaged file is reported, not misread.
//!
//! The state is not trusted: every credential in it is re-verified on every evaluation.

use alloc::vec::Vec;

use sha2::{Digest, Sha512};

use crate::authcode::{AuthorizationCode, LicenseId};
use crate::cert::ActivationCertificate;
use crate::deactivation::DeactivationCode;
use crate::error::Error;
use crate::eval::{check_clock, evaluate_terms, ClockRollback, Context, LicenseFlags, Status};
use crate::keys::TrustedKeys;
use crate::kind::Kind;
use crate::limits::SECRET_LEN;
use crate::limits::{MAX_ENTRIES, MAX_PENDING};
use crate::time::Timestamp;
use crate::update::{SignedUpdate, UpdateAction};
use crate::wire::{Reader, Writer};

/// Something that grants a license on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// An authorization code (bound to this machine, or unbound).
    Code(AuthorizationCode),
    /// An activation certificate.
    Certificate(ActivationCertificate),
}

impl Credential {
    /// The license it grants.
    pub fn license_id(&self) -> LicenseId {
        match self {
            Credential::Code(c) => c.terms().license_id,
            Credential::Certificate(c) => c.terms().license_id,
        }
    }

    fn verify(&self, ctx: &Context<'_>) -> Result<(), Error> {
        match self {
            Credential::Code(c) => c.verify(ctx.trusted),
            Credential::Certificate(c) => c.verify(ctx.trusted),
        }
    }

    /// Evaluates without touching any state (signature checked first).
    pub fn evaluate(&self, flags: &LicenseFlags, ctx: &Context<'_>) -> Result<Status, Error> {
        self.verify(ctx)?;
        Ok(self.evaluate_verified(flags, ctx))
    }

    /// Evaluates a credential whose signature the caller has already verified.
    pub fn evaluate_verified(&self, flags: &LicenseFlags, ctx: &Context<'_>) -> Status {
        match self {
            Credential::Code(c) => evaluate_terms(c.terms(), c.binding(), flags, ctx),
            Credential::Certificate(c) => evaluate_terms(c.terms(), Some(c.binding()), flags, ctx),
        }
    }
}

/// One installed license.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// What grants it.
    pub credential: Credential,
    /// Highest update sequence applied (0: none).
    pub sequence: u32,
    /// Effect of the updates applied. The buyer can edit the state file, so only what
    /// restricts the license is taken from here as written; a renewed expiry counts only
    /// with its signed `renewal` (see [`verified_flags`](Entry::verified_flags)).
    pub flags: LicenseFlags,
    /// The renewal that set `flags.renewed_expiry`, kept with its signature so that the
    /// longer validity is checked again at every evaluation, like the credential.
    pub renewal: Option<SignedUpdate>,
    /// The secret whose commitment the certificate carries (see [`DeactivationCode`]):
    /// `None` for an authorization code, or a certificate answering a request this machine
    /// did not make (one made by the activation page or the merchant's service).
    pub secret: Option<[u8; SECRET_LEN]>,
}

impl Entry {
    /// The flags as they may be trusted: `renewed_expiry` only from a renewal for this
    /// license that verifies against `trusted` (an edited or unsigned expiry is ignored,
    /// so the credential's own expiry applies); freezing and releasing only restrict, and
    /// are taken as written.
    pub fn verified_flags(&self, trusted: &TrustedKeys) -> LicenseFlags {
        let renewed_expiry = self.renewal.as_ref().and_then(|u| match u.action() {
            UpdateAction::Renew { expires }
                if u.license_id() == self.credential.license_id() && u.verify(trusted).is_ok() =>
            {
                Some(expires)
            }
            _ => None,
        });
        LicenseFlags {
            renewed_expiry,
            ..self.flags
        }
    }

    /// The rank of the best status this entry could have: [`Self::verified_flags`] gives
    /// either the renewal's expiry or none, so the better of the two, computed without
    /// checking any signature.
    fn best_case(&self, ctx: &Context<'_>) -> u8 {
        let rank = |renewed_expiry| {
            let flags = LicenseFlags {
                renewed_expiry,
                ..self.flags
            };
            self.credential.evaluate_verified(&flags, ctx).rank()
        };
        let claimed = self.renewal.as_ref().and_then(|u| match u.action() {
            UpdateAction::Renew { expires } => Some(expires),
            _ => None,
        });
        match claimed {
            Some(expires) => rank(None).max(rank(Some(expires))),
            None => rank(None),
        }
    }

    /// The deactivation code that gives this license's seat back, when this machine made
    /// the request its certificate answers (the secret hashes to the certificate's nonce).
    pub fn deactivation_code(&self) -> Option<DeactivationCode> {
        let Credential::Certificate(cert) = &self.credential else {
            return None;
        };
        let code = DeactivationCode {
            license_id: cert.terms().license_id,
            secret: self.secret?,
        };
        code.verifies(cert).then_some(code)
    }
}

/// The secret of an activation request this machine made and whose certificate is not
/// installed yet: the request's nonce is its commitment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingRequest {
    /// The license the request is for.
    pub license_id: LicenseId,
    /// The secret (see [`DeactivationCode`]).
    pub secret: [u8; SECRET_LEN],
}

/// Everything a machine remembers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LicenseState {
    /// The latest time seen.
    pub high_water: Timestamp,
    /// Installed licenses.
    pub entries: Vec<Entry>,
    /// Requests made here whose certificates are not installed yet (oldest first, at most
    /// [`MAX_PENDING`]).
    pub pending: Vec<PendingRequest>,
}

const MAGIC: &[u8; 4] = b"KWST";
/// Version 1: no deactivation secrets. Version 2 adds them: flag bit 2 of an entry says a
/// 10-byte secret follows its renewal, and a list of pending requests ends the body. A
/// state with no secret and no pending request is written as version 1 (so such states
/// keep their bytes), and a version 2 body without either is refused: one state, one
/// encoding.
const STATE_VERSION: u8 = 1;
const STATE_VERSION_SECRETS: u8 = 2;
/// Entry flag bits: frozen, released, a deactivation secret follows.
const F_FROZEN: u8 = 1;
const F_RELEASED: u8 = 2;
const F_SECRET: u8 = 4;
const MAX_ITEM: u64 = 16 * 1024;

fn too_many_entries() -> Error {
    Error::InvalidInput {
        field: "state",
        reason: words!("at most {MAX_ENTRIES} licenses can be installed"),
    }
}

/// What applying an update did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Applied.
    Applied,
    /// The same update was applied before: nothing changed (idempotent).
    AlreadyApplied,
}

impl LicenseState {
    /// Serialised bytes, with a trailing checksum. More than [`MAX_ENTRIES`] licenses are
    /// refused (the count is one byte, and [`from_bytes`](Self::from_bytes) reads no more).
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        if self.entries.len() > MAX_ENTRIES {
            return Err(too_many_entries());
        }
        for (i, e) in self.entries.iter().enumerate() {
            let id = e.credential.license_id();
            if self.entries[..i]
                .iter()
                .any(|o| o.credential.license_id() == id)
            {
                return Err(Error::InvalidInput {
                    field: "state",
                    reason: words!("license {id} is recorded twice: keep one entry per license"),
                });
            }
        }
        let mut w = Writer::default();
        w.bytes(MAGIC);
        let secrets = !self.pending.is_empty() || self.entries.iter().any(|e| e.secret.is_some());
        w.u8(if secrets {
            STATE_VERSION_SECRETS
        } else {
            STATE_VERSION
        });
        w.varint(self.high_water.0);
        w.u8(self.entries.len() as u8);
        for e in &self.entries {
            let (tag, bytes) = match &e.credential {
                Credential::Code(c) => (1, c.to_bytes()),
                Credential::Certificate(c) => (2, c.to_bytes()),
            };
            w.u8(tag);
            w.varint(bytes.len() as u64);
            w.bytes(&bytes);
            w.varint(e.sequence as u64);
            let mut f = 0;
            if e.flags.frozen {
                f |= F_FROZEN;
            }
            if e.flags.released {
                f |= F_RELEASED;
            }
            if e.secret.is_some() {
                f |= F_SECRET;
            }
            w.u8(f);
            // 2: the signed renewal (its expiry is read from it); 1: an expiry without
            // one (states written before renewals were kept; never trusted); 0: none.
            match (&e.renewal, e.flags.renewed_expiry) {
                (Some(u), _) => {
                    let bytes = u.to_bytes();
                    w.u8(2);
                    w.varint(bytes.len() as u64);
                    w.bytes(&bytes);
                }
                (None, Some(t)) => {
                    w.u8(1);
                    w.varint(t.0);
                }
                (None, None) => w.u8(0),
            }
            if let Some(secret) = &e.secret {
                w.bytes(secret);
            }
        }
        if secrets {
            w.u8(self.pending.len() as u8);
            for p in &self.pending {
                w.bytes(&p.license_id.0);
                w.bytes(&p.secret);
            }
        }
        let sum = Sha512::digest(&w.buf);
        w.bytes(&sum[..8]);
        Ok(w.buf)
    }

    /// Parses state bytes; a truncated or altered file is an error, never a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<LicenseState, Error> {
        let corrupt = |reason| Error::CorruptState { reason };
        if bytes.len() < 4 + 1 + 8 || &bytes[..4] != MAGIC {
            return Err(corrupt("not a keyward state file"));
        }
        let (body, sum) = bytes.split_at(bytes.len() - 8);
        if Sha512::digest(body)[..8] != *sum {
            return Err(corrupt(
                "state file checksum mismatch (truncated or damaged)",
            ));
        }
        // Past the checksum, a structural error means a bug or another version, not damage.
        Self::read_body(&body[4..]).map_err(|e| match e {
            Error::CorruptState { .. } => e,
            _ => corrupt("unreadable contents (written by another version of keyward?)"),
        })
    }

    fn read_body(body: &[u8]) -> Result<LicenseState, Error> {
        let corrupt = |reason| Error::CorruptState { reason };
        let mut r = Reader::new(Kind::ActivationCertificate, body);
        let version = r.u8()?;
        if version != STATE_VERSION && version != STATE_VERSION_SECRETS {
            return Err(corrupt("state file from another version"));
        }
        let known_flags = if version == STATE_VERSION {
            F_FROZEN | F_RELEASED
        } else {
            F_FROZEN | F_RELEASED | F_SECRET
        };
        let high_water = Timestamp(r.varint()?);
        let n = r.u8()? as usize;
        if n > MAX_ENTRIES {
            return Err(corrupt("too many entries"));
        }
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let tag = r.u8()?;
            let len = r.varint_max(MAX_ITEM)? as usize;
            let item = r.take(len)?;
            let credential = match tag {
                1 => Credential::Code(AuthorizationCode::from_bytes(item)?),
                2 => Credential::Certificate(ActivationCertificate::from_bytes(item)?),
                _ => return Err(corrupt("unknown entry")),
            };
            let sequence = r.varint_max(u32::MAX as u64)? as u32;
            let f = r.u8()?;
            if f & !known_flags != 0 {
                return Err(corrupt("unknown entry flags"));
            }
            let (renewed_expiry, renewal) = match r.u8()? {
                0 => (None, None),
                1 => (Some(Timestamp(r.varint()?)), None),
                2 => {
                    let len = r.varint_max(MAX_ITEM)? as usize;
                    let u = SignedUpdate::from_bytes(r.take(len)?)?;
                    match u.action() {
                        UpdateAction::Renew { expires }
                            if u.license_id() == credential.license_id() =>
                        {
                            (Some(expires), Some(u))
                        }
                        _ => return Err(corrupt("a renewal that is not this license's")),
                    }
                }
                _ => return Err(corrupt("bad renewal flag")),
            };
            let secret = if f & F_SECRET != 0 {
                Some(r.array()?)
            } else {
                None
            };
            // One entry per license, as `install` keeps it: a second one would survive
            // `take` and `remove` of the first.
            let id = credential.license_id();
            if entries
                .iter()
                .any(|e: &Entry| e.credential.license_id() == id)
            {
                return Err(corrupt("a license recorded twice"));
            }
            entries.push(Entry {
                credential,
                sequence,
                flags: LicenseFlags {
                    frozen: f & F_FROZEN != 0,
                    released: f & F_RELEASED != 0,
                    renewed_expiry,
                },
                renewal,
                secret,
            });
        }
        let mut pending = Vec::new();
        if version == STATE_VERSION_SECRETS {
            let n = r.u8()? as usize;
            if n > MAX_PENDING {
                return Err(corrupt("too many pending requests"));
            }
            for _ in 0..n {
                pending.push(PendingRequest {
                    license_id: LicenseId(r.array()?),
                    secret: r.array()?,
                });
            }
            if pending.is_empty() && entries.iter().all(|e| e.secret.is_none()) {
                return Err(corrupt("version 2 state without secrets"));
            }
        }
        r.finish()?;
        Ok(LicenseState {
            high_water,
            entries,
            pending,
        })
    }

    /// Moves the high-water mark to `now`, or reports a rolled-back clock.
    pub fn observe(&mut self, ctx: &Context<'_>) -> Result<(), ClockRollback> {
        self.high_water = check_clock(ctx.now, self.high_water, &ctx.policy)?;
        Ok(())
    }

    /// The best status among installed licenses (active beats in-grace beats the rest).
    /// Moves the high-water mark forward; the caller persists the state afterwards.
    pub fn status(&mut self, ctx: &Context<'_>) -> Status {
        if let Err(c) = self.observe(ctx) {
            return c.into();
        }
        self.peek(ctx)
    }

    /// Like [`status`](Self::status) but changes nothing (for a cached, read-only check).
    pub fn peek(&self, ctx: &Context<'_>) -> Status {
        if let Err(c) = check_clock(ctx.now, self.high_water, &ctx.policy) {
            return c.into();
        }
        let mut best = Status::NoLicense;
        for e in &self.entries {
            // Signatures are the cost here (up to two per entry): an entry whose status
            // could not beat the best so far, even if every signature it carries held, is
            // not checked at all. So a state of many genuine licenses costs a few checks,
            // not one per license (fuzz finding: 250 entries took 11 ms).
            if e.best_case(ctx) <= best.rank() {
                continue;
            }
            // A credential that no longer verifies (key removed, state edited) is ignored,
            // and so is a renewal that does not.
            if let Ok(s) = e.credential.evaluate(&e.verified_flags(ctx.trusted), ctx) {
                if s.rank() > best.rank() {
                    best = s;
                }
            }
        }
        best
    }

    /// Installs a verified credential, replacing an earlier one for the same license
    /// (keeping the updates already applied to it). Returns the status it gives.
    pub fn install(&mut self, credential: Credential, ctx: &Context<'_>) -> Result<Status, Error> {
        let id = credential.license_id();
        let old = self
            .entries
            .iter()
            .find(|e| e.credential.license_id() == id);
        let flags = old
            .map(|e| (e.sequence, e.verified_flags(ctx.trusted), e.renewal.clone()))
            .unwrap_or_default();
        let status = credential.evaluate(&flags.1, ctx)?;
        // The secret of the request this certificate answers: a pending one, or the one
        // already kept when the same certificate is installed again.
        let secret = match &credential {
            Credential::Certificate(cert) => self
                .pending
                .iter()
                .map(|p| p.secret)
                .chain(old.and_then(|e| e.secret))
                .find(|s| {
                    DeactivationCode {
                        license_id: id,
                        secret: *s,
                    }
                    .verifies(cert)
                }),
            Credential::Code(_) => None,
        };
        // Refused before anything changes: a refused install leaves the state as it was.
        let others = self
            .entries
            .iter()
            .filter(|e| e.credential.license_id() != id)
            .count();
        if others >= MAX_ENTRIES {
            return Err(too_many_entries());
        }
        self.entries.retain(|e| e.credential.license_id() != id);
        if secret.is_some() {
            self.pending.retain(|p| p.license_id != id);
        }
        self.entries.push(Entry {
            credential,
            sequence: flags.0,
            flags: flags.1,
            renewal: flags.2,
            secret,
        });
        Ok(status)
    }

    /// Applies a verified update to its license. Stale updates (sequence not above the last
    /// one applied) are refused, except the very same update again, which is a no-op.
    pub fn apply(&mut self, update: &SignedUpdate, ctx: &Context<'_>) -> Result<Applied, Error> {
        update.verify(ctx.trusted)?;
        let entry = self
            .entries
            .iter_mut()
            .find(|e| e.credential.license_id() == update.license_id())
            .ok_or_else(|| Error::InvalidInput {
                field: "update",
                reason: words!(
                    "it is for license {}, which is not installed on this machine",
                    update.license_id()
                ),
            })?;
        if update.sequence() <= entry.sequence {
            if update.sequence() == entry.sequence {
                return Ok(Applied::AlreadyApplied);
            }
            return Err(Error::InvalidInput {
                field: "update",
                reason: words!(
                    "it is older (number {}) than one already applied (number {}); nothing changed",
                    update.sequence(),
                    entry.sequence
                ),
            });
        }
        if entry.flags.released {
            return Err(Error::InvalidInput {
                field: "update",
                reason: said!("the license was released; it cannot be changed any more").into(),
            });
        }
        entry.sequence = update.sequence();
        match update.action() {
            UpdateAction::Renew { expires } => {
                entry.flags.renewed_expiry = Some(expires);
                entry.renewal = Some(update.clone());
            }
            UpdateAction::Freeze => entry.flags.frozen = true,
            UpdateAction::Unfreeze => entry.flags.frozen = false,
            UpdateAction::Release => entry.flags.released = true,
            // The merchant vouches for its signing time: the mark goes back to it (and
            // forward again with the next time seen).
            UpdateAction::ResetClock => self.high_water = update.issued(),
        }
        Ok(Applied::Applied)
    }

    /// Remembers the secret of an activation request for `license_id` made on this
    /// machine, and returns the commitment to use as the request's nonce. The oldest
    /// pending request is forgotten past [`MAX_PENDING`]. The caller draws `secret` from a
    /// secure random source and persists the state before handing the request out.
    pub fn remember_request(&mut self, license_id: LicenseId, secret: [u8; SECRET_LEN]) -> [u8; 8] {
        if self.pending.len() >= MAX_PENDING {
            self.pending.remove(0);
        }
        self.pending.push(PendingRequest { license_id, secret });
        DeactivationCode::commitment(&secret)
    }

    /// Removes a license and returns its entry, whose
    /// [`deactivation_code`](Entry::deactivation_code) gives the seat back; `None` when it
    /// was not installed. Pending requests for it are forgotten too.
    /// Every entry of the license goes, should `entries` (public) hold it twice; the first
    /// is returned.
    pub fn take(&mut self, id: LicenseId) -> Option<Entry> {
        let i = self
            .entries
            .iter()
            .position(|e| e.credential.license_id() == id)?;
        self.pending.retain(|p| p.license_id != id);
        let first = self.entries.remove(i);
        self.entries.retain(|e| e.credential.license_id() != id);
        Some(first)
    }

    /// Removes a license (deactivate). Returns whether it was installed.
    pub fn remove(&mut self, id: LicenseId) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.credential.license_id() != id);
        before != self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SIGNATURE_CHECKS;
    use crate::{
        eval::Policy, time::DAY, AuthorizationCode, LicenseId, LicenseTerms, MachineFacts,
        MerchantKey,
    };

    fn checks_made(f: impl FnOnce()) -> usize {
        let before = SIGNATURE_CHECKS.with(|n| n.get());
        f();
        SIGNATURE_CHECKS.with(|n| n.get()) - before
    }

    /// `status` on a state of many genuine licenses checks a few signatures, not one (or
    /// two) per license: a fuzz input of 250 pushed entries took 11 ms checking them all.
    /// The answer is the one checking every entry gives: the first best license.
    #[test]
    fn status_checks_only_signatures_that_could_change_it() {
        let key = MerchantKey::from_seed(&[0x42; 32]);
        let trusted = TrustedKeys::from_keys([key.public()]);
        let now = Timestamp(1_800_000_000);
        let code = |i: u8, expires: u64| {
            let terms = LicenseTerms {
                license_id: LicenseId([i; 8]),
                product: "acme".into(),
                sku: "".into(),
                seats: 1,
                not_before: Timestamp(expires - 40 * DAY),
                expires: Some(Timestamp(expires)),
                features: Vec::new(),
                trial: false,
                instance_id: None,
                order_id: None,
            };
            let code = AuthorizationCode::issue(&key, terms, None).unwrap();
            Entry {
                credential: Credential::Code(code),
                sequence: 0,
                flags: LicenseFlags::default(),
                renewal: None,
                secret: None,
            }
        };
        let facts = MachineFacts::default();
        let ctx = Context {
            trusted: &trusted,
            facts: &facts,
            hardware_ids: &[],
            now,
            policy: Policy::default(),
        };
        // An expired license first, then 40 active ones: the first active one wins.
        let mut state = LicenseState::default();
        state.entries.push(code(0, now.0 - 100 * DAY));
        state
            .entries
            .extend((1..=40).map(|i| code(i, now.0 + 30 * DAY)));
        let mut status = Status::NoLicense;
        let n = checks_made(|| status = state.status(&ctx));
        assert!(
            matches!(&status, Status::Active { license } if license.license_id == LicenseId([1; 8])),
            "{status:?}"
        );
        assert_eq!(n, 2, "status checked {n} signatures for 41 licenses");

        // A forged best license is checked, refused, and the genuine next one found.
        let Credential::Code(genuine) = &state.entries[1].credential else {
            unreachable!()
        };
        let mut bytes = genuine.to_bytes();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let forged = AuthorizationCode::from_bytes(&bytes)
            .expect("a signature is not checked by from_bytes");
        state.entries[1].credential = Credential::Code(forged);
        let status = state.peek(&ctx);
        assert!(
            matches!(&status, Status::Active { license } if license.license_id == LicenseId([2; 8])),
            "{status:?}"
        );
    }
}
