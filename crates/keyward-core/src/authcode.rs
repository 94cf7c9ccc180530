//! The authorization code (授权码): what the merchant issues for one license.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::binding::Binding;
use crate::error::Error;
use crate::keys::{KeyId, MerchantKey, TrustedKeys};
use crate::kind::Kind;
use crate::limits::MAX_SEATS;
use crate::signed::{self, SignedArtifact};
use crate::time::{Timestamp, MINUTE};
use crate::wire::{check_str, read_sorted_strs, Charset, Reader, Writer};

/// A license's id: 8 random bytes chosen by the issuer, shown as 16 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LicenseId(pub [u8; 8]);

impl LicenseId {
    /// Parses 16 hex digits (case and surrounding space ignored).
    pub fn parse(s: &str) -> Option<LicenseId> {
        let s = s.trim();
        if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut out = [0u8; 8];
        let digit = |b: u8| char::from(b).to_digit(16).map(|d| d as u8);
        for (o, pair) in out.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
            *o = digit(pair[0])? << 4 | digit(pair[1])?;
        }
        Some(LicenseId(out))
    }
}

impl fmt::Display for LicenseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::util::hex(&self.0))
    }
}

impl fmt::Debug for LicenseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LicenseId({self})")
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for LicenseId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Limits, shared with certificates.
pub(crate) const MAX_PRODUCT: usize = 64;
pub(crate) const MAX_FEATURES: usize = 32;
pub(crate) const MAX_FEATURE: usize = 32;
pub(crate) const MAX_REF: usize = 64;

/// What a license grants: shared by authorization codes and activation certificates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LicenseTerms {
    /// The license.
    pub license_id: LicenseId,
    /// Product id (`[A-Za-z0-9._-]`, 1–64).
    pub product: String,
    /// SKU / edition (may be empty).
    pub sku: String,
    /// Seats (machines) the license covers.
    pub seats: u32,
    /// Valid from.
    pub not_before: Timestamp,
    /// Valid until; `None` is perpetual.
    pub expires: Option<Timestamp>,
    /// Features granted, sorted.
    pub features: Vec<String>,
    /// Trial / test license.
    pub trial: bool,
    /// Marketplace instance id.
    pub instance_id: Option<String>,
    /// Marketplace order id.
    pub order_id: Option<String>,
}

const F_TRIAL: u8 = 1;
const F_PERPETUAL: u8 = 2;
const F_BINDING: u8 = 4;
const F_INSTANCE: u8 = 8;
const F_ORDER: u8 = 16;

impl LicenseTerms {
    /// Validates every field and puts it in canonical form (times to whole minutes,
    /// features sorted and unique).
    pub fn normalized(mut self) -> Result<LicenseTerms, Error> {
        check_str("product", &self.product, 1, MAX_PRODUCT, Charset::Ident)?;
        check_str("sku", &self.sku, 0, MAX_PRODUCT, Charset::Ident)?;
        if self.seats == 0 || self.seats > MAX_SEATS {
            return Err(Error::InvalidInput {
                field: "seats",
                reason: words!("must be 1 to {MAX_SEATS}, got {}", self.seats),
            });
        }
        self.not_before = self.not_before.floor_minute();
        if let Some(e) = self.expires {
            let e = e.floor_minute();
            if e <= self.not_before {
                return Err(Error::InvalidInput {
                    field: "expires",
                    reason: words!("must be after the start ({}), got {}", self.not_before, e),
                });
            }
            self.expires = Some(e);
        }
        crate::util::sort_dedup(&mut self.features);
        if self.features.len() > MAX_FEATURES {
            return Err(Error::InvalidInput {
                field: "feature",
                reason: words!("at most {MAX_FEATURES} features"),
            });
        }
        for f in &self.features {
            check_str("feature", f, 1, MAX_FEATURE, Charset::Ident)?;
        }
        for (field, r) in [
            ("instance-id", &self.instance_id),
            ("order-id", &self.order_id),
        ] {
            if let Some(r) = r {
                check_str(field, r, 1, MAX_REF, Charset::Printable)?;
            }
        }
        Ok(self)
    }

    pub(crate) fn flags(&self, binding: bool) -> u8 {
        let mut f = 0;
        if self.trial {
            f |= F_TRIAL;
        }
        if self.expires.is_none() {
            f |= F_PERPETUAL;
        }
        if binding {
            f |= F_BINDING;
        }
        if self.instance_id.is_some() {
            f |= F_INSTANCE;
        }
        if self.order_id.is_some() {
            f |= F_ORDER;
        }
        f
    }

    /// Writes the terms; `binding` goes between the fixed fields and the references.
    pub(crate) fn write(&self, w: &mut Writer, binding: Option<&Binding>) {
        w.bytes(&self.license_id.0);
        w.u8(self.flags(binding.is_some()));
        w.str(&self.product);
        w.str(&self.sku);
        w.varint(self.seats as u64);
        let nb = self.not_before.0 / MINUTE;
        w.varint(nb);
        if let Some(e) = self.expires {
            w.varint(e.0 / MINUTE - nb);
        }
        w.u8(self.features.len() as u8);
        for f in &self.features {
            w.str(f);
        }
        if let Some(b) = binding {
            b.write(w);
        }
        for r in [&self.instance_id, &self.order_id].into_iter().flatten() {
            w.str(r);
        }
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<(LicenseTerms, Option<Binding>), Error> {
        let license_id = LicenseId(r.array()?);
        let flags = r.u8()?;
        if flags & !(F_TRIAL | F_PERPETUAL | F_BINDING | F_INSTANCE | F_ORDER) != 0 {
            return Err(r.err(said!("unknown flags")));
        }
        let product = r.str(1, MAX_PRODUCT, Charset::Ident)?;
        let sku = r.str(0, MAX_PRODUCT, Charset::Ident)?;
        let seats = r.varint_max(MAX_SEATS as u64)? as u32;
        if seats == 0 {
            return Err(r.err(said!("zero seats")));
        }
        // Minutes; bounded so seconds never overflow.
        const MAX_MINUTES: u64 = u64::MAX / MINUTE / 4;
        let nb = r.varint_max(MAX_MINUTES)?;
        let expires = if flags & F_PERPETUAL == 0 {
            let d = r.varint_max(MAX_MINUTES)?;
            if d == 0 {
                return Err(r.err(said!("zero validity")));
            }
            Some(Timestamp((nb + d) * MINUTE))
        } else {
            None
        };
        let features = read_sorted_strs(r, MAX_FEATURES, 1, MAX_FEATURE, Charset::Ident)?;
        let binding = if flags & F_BINDING != 0 {
            Some(Binding::read(r)?)
        } else {
            None
        };
        let instance_id = if flags & F_INSTANCE != 0 {
            Some(r.str(1, MAX_REF, Charset::Printable)?)
        } else {
            None
        };
        let order_id = if flags & F_ORDER != 0 {
            Some(r.str(1, MAX_REF, Charset::Printable)?)
        } else {
            None
        };
        Ok((
            LicenseTerms {
                license_id,
                product,
                sku,
                seats,
                not_before: Timestamp(nb * MINUTE),
                expires,
                features,
                trial: flags & F_TRIAL != 0,
                instance_id,
                order_id,
            },
            binding,
        ))
    }
}

/// A signed authorization code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationCode {
    key_id: KeyId,
    terms: LicenseTerms,
    binding: Option<Binding>,
    signature: [u8; 64],
}

impl AuthorizationCode {
    signed::signed_artifact_methods!();

    /// Issues (signs) a code. Fails with a clear message when a field is out of range.
    pub fn issue(
        key: &MerchantKey,
        terms: LicenseTerms,
        binding: Option<Binding>,
    ) -> Result<AuthorizationCode, Error> {
        let mut c = AuthorizationCode {
            key_id: key.public().id(),
            terms: terms.normalized()?,
            binding,
            signature: [0; 64],
        };
        signed::sign(&mut c, key);
        Ok(c)
    }

    /// Text form, `KA1-…`.
    pub fn encode(&self) -> String {
        signed::encode_text(self)
    }

    /// What the license grants.
    pub fn terms(&self) -> &LicenseTerms {
        &self.terms
    }

    /// The machine binding, if the code is bound.
    pub fn binding(&self) -> Option<&Binding> {
        self.binding.as_ref()
    }
}

impl SignedArtifact for AuthorizationCode {
    const KIND: Kind = Kind::AuthorizationCode;
    const DOMAIN: &'static [u8] = b"keyward:authorization-code\0";

    fn write_body(&self, w: &mut Writer) {
        w.bytes(&self.key_id.0);
        self.terms.write(w, self.binding.as_ref());
    }

    fn read_body(r: &mut Reader<'_>) -> Result<Self, Error> {
        let key_id = KeyId(r.array()?);
        let (terms, binding) = LicenseTerms::read(r)?;
        Ok(AuthorizationCode {
            key_id,
            terms,
            binding,
            signature: [0; 64],
        })
    }

    signed::signed_artifact_accessors!();
}
