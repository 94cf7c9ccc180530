//! The activation certificate (激活证书 / 许可文件): one license bound to one machine,
//! signed by the merchant, carried back to the buyer as armoured text.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::authcode::LicenseTerms;
use crate::binding::Binding;
use crate::error::Error;
use crate::keys::{KeyId, MerchantKey, TrustedKeys};
use crate::kind::Kind;
use crate::signed::{self, SignedArtifact};
use crate::time::{Timestamp, MINUTE};
use crate::wire::{Reader, Writer};

/// A signed activation certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivationCertificate {
    key_id: KeyId,
    terms: LicenseTerms,
    binding: Binding,
    nonce: [u8; 8],
    issued: Timestamp,
    signature: [u8; 64],
}

impl ActivationCertificate {
    signed::signed_artifact_methods!();

    /// Signs a certificate binding `terms` to `binding`; `nonce` echoes the request's.
    pub fn issue(
        key: &MerchantKey,
        terms: LicenseTerms,
        binding: Binding,
        nonce: [u8; 8],
        issued: Timestamp,
    ) -> Result<Self, Error> {
        let mut c = ActivationCertificate {
            key_id: key.public().id(),
            terms: terms.normalized()?,
            binding,
            nonce,
            issued: issued.floor_minute(),
            signature: [0; 64],
        };
        signed::sign(&mut c, key);
        Ok(c)
    }

    /// Armoured text with readable (unsigned) header lines.
    pub fn encode(&self) -> String {
        let t = &self.terms;
        let mut headers: Vec<(&str, String)> = alloc::vec![
            ("License", t.license_id.to_string()),
            ("Product", t.product.clone()),
        ];
        if !t.sku.is_empty() {
            headers.push(("Edition", t.sku.clone()));
        }
        headers.push((
            "Expires",
            t.expires.map_or(String::from("never"), |e| e.to_rfc3339()),
        ));
        if !t.features.is_empty() {
            headers.push((
                "Features",
                crate::util::join(t.features.iter().map(String::as_str), ", "),
            ));
        }
        headers.push(("Key", self.key_id.to_string()));
        crate::text::armour::armour(
            "ACTIVATION CERTIFICATE",
            &headers,
            Kind::ActivationCertificate,
            &signed::to_bytes(self),
        )
    }

    /// What the license grants.
    pub fn terms(&self) -> &LicenseTerms {
        &self.terms
    }
    /// The machine it is bound to.
    pub fn binding(&self) -> &Binding {
        &self.binding
    }
    /// The request's nonce, echoed.
    pub fn nonce(&self) -> [u8; 8] {
        self.nonce
    }
    /// When it was signed.
    pub fn issued(&self) -> Timestamp {
        self.issued
    }
}

impl SignedArtifact for ActivationCertificate {
    const KIND: Kind = Kind::ActivationCertificate;
    const DOMAIN: &'static [u8] = b"keyward:activation-certificate\0";

    fn write_body(&self, w: &mut Writer) {
        w.bytes(&self.key_id.0);
        self.terms.write(w, Some(&self.binding));
        w.bytes(&self.nonce);
        w.varint(self.issued.0 / MINUTE);
    }

    fn read_body(r: &mut Reader<'_>) -> Result<Self, Error> {
        let key_id = KeyId(r.array()?);
        let (terms, binding) = LicenseTerms::read(r)?;
        let binding = binding.ok_or(r.err(said!("a certificate must be bound to a machine")))?;
        let nonce = r.array()?;
        let issued = Timestamp(r.varint_max(u64::MAX / MINUTE / 4)? * MINUTE);
        Ok(ActivationCertificate {
            key_id,
            terms,
            binding,
            nonce,
            issued,
            signature: [0; 64],
        })
    }

    signed::signed_artifact_accessors!();
}
