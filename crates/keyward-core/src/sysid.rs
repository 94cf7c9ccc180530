//! The system identification code (系统识别码): a product tag and five salted, truncated fact
//! hashes.
//!
//! `KS1-XXXXXX-XXXXXX-XXXXXX-XXXXXX` — 31 characters, 100 bits: a 5-bit product tag, then
//! each fact (machine id, board, disk, CPU, MACs) as 19 bits of SHA-512 over a domain tag,
//! the product id and the value, so codes differ per merchant product and no raw serial
//! leaves the machine. 19 bits per fact keeps the code typeable; a different machine
//! matching three facts by chance has odds of about 1 in 10^17.
//!
//! The product tag says which product the code was made for without naming it (0: made
//! without a product; otherwise one of 31 values from a hash of the product id, the same
//! for every machine, so it links nothing across merchants). A code made for another
//! product can never match its machine (every fact hash is salted by the product), and
//! the tag lets the merchant, the page and the plugin say so instead of "0 of 3 facts
//! match" ([`SystemIdCode::made_for`]); two products share a tag with odds 1 in 31.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use sha2::{Digest, Sha512};

use crate::error::{CodeError, Error};
use crate::facts::{Fact, MachineFacts};
use crate::text::{self, Kind};

/// A system identification code: the product tag and one 19-bit hash per [`Fact`], 0 when
/// the fact was absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SystemIdCode {
    product_tag: u8,
    facts: [u32; 5],
}

const TAG_BITS: u32 = 5;
const FACT_BITS: u32 = 19;
const FACT_MASK: u32 = (1 << FACT_BITS) - 1;
/// Total bits: the tag and five facts, 100 (20 symbols of 5 bits).
const CODE_BITS: u32 = TAG_BITS + 5 * FACT_BITS;
/// Packed size: 100 bits in 13 bytes with 4 zero bits.
pub(crate) const PACKED_LEN: usize = 13;

/// The 5-bit tag of `product` (0 for none): see the module's documentation.
pub(crate) fn product_tag(product: &str) -> u8 {
    if product.is_empty() {
        return 0;
    }
    let d = Sha512::new()
        .chain_update(b"keyward:product-tag:v1\0")
        .chain_update(product.as_bytes())
        .finalize();
    1 + (u32::from_be_bytes([d[0], d[1], d[2], d[3]]) % 31) as u8
}

impl SystemIdCode {
    /// Computes this machine's code for `product` (may be empty: a product-neutral code, which
    /// matches no license),
    /// from its facts in normal form ([`MachineFacts::normalized`]): raw facts and
    /// normalised ones give the same code, in every host.
    pub fn compute(product: &str, facts: &MachineFacts) -> SystemIdCode {
        let facts = &facts.normalized();
        let board = match (&facts.product_uuid, &facts.board_serial) {
            (None, None) => None,
            (u, s) => Some(crate::util::cat(&[
                &u.as_deref().unwrap_or("").to_ascii_lowercase()[..],
                "|",
                s.as_deref().unwrap_or(""),
            ])),
        };
        let macs = if facts.macs.is_empty() {
            None
        } else {
            let mut m: Vec<String> = facts.macs.iter().map(|s| s.to_ascii_lowercase()).collect();
            crate::util::sort_dedup(&mut m);
            Some(crate::util::join(m.iter().map(String::as_str), ","))
        };
        let values = [
            facts.machine_id.clone(),
            board,
            facts.disk_serial.clone(),
            facts.cpu.clone(),
            macs,
        ];
        let mut out = [0u32; 5];
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                out[i] = fact_hash(product, Fact::ALL[i], v);
            }
        }
        SystemIdCode {
            product_tag: product_tag(product),
            facts: out,
        }
    }

    /// Whether this code may have been made for `product`: its product tag is that
    /// product's. `false` means certainly not (made without a product, or for another);
    /// `true` can be wrong for another product with odds 1 in 31.
    pub fn made_for(&self, product: &str) -> bool {
        self.product_tag == product_tag(product)
    }

    /// Refuses a code that cannot belong to a license of `product` (made without a product
    /// or for another one): a license bound to it would work on no machine. The merchant's
    /// issuing, activation and the page call this before binding.
    pub fn check_product(&self, product: &str) -> Result<(), Error> {
        if self.made_for(product) {
            return Ok(());
        }
        Err(Error::InvalidInput {
            field: "system identification code",
            reason: if self.made_without_product() {
                words!(
                    "it was made without a product (`keyward system-id` without --product), so no license can match it: on the buyer's machine, run `keyward system-id --product {product}` (or read the code the software shows) and use that code"
                )
            } else {
                words!(
                    "it was made for another product than {product}, so a license of {product} cannot match it: on the buyer's machine, run `keyward system-id --product {product}` (or read the code the software shows) and use that code"
                )
            },
        })
    }

    /// The product tag (0: made without a product; 1–31: a hash of the product id).
    pub fn product_tag(&self) -> u8 {
        self.product_tag
    }

    /// Whether this code was made without a product (`keyward system-id` without
    /// `--product`): such a code matches no license.
    pub fn made_without_product(&self) -> bool {
        self.product_tag == 0
    }

    /// The 19-bit hash of one fact (0: absent).
    pub fn fact(&self, f: Fact) -> u32 {
        self.facts[f as usize]
    }

    /// How many facts are present.
    pub fn present(&self) -> usize {
        self.facts.iter().filter(|&&v| v != 0).count()
    }

    /// Facts present in `self` (the bound code) that differ on `other` (this machine).
    pub fn differing(&self, other: &SystemIdCode) -> Vec<Fact> {
        Fact::ALL
            .into_iter()
            .filter(|&f| self.fact(f) != 0 && self.fact(f) != other.fact(f))
            .collect()
    }

    /// Facts present in both and equal.
    pub fn matching(&self, other: &SystemIdCode) -> usize {
        Fact::ALL
            .into_iter()
            .filter(|&f| self.fact(f) != 0 && self.fact(f) == other.fact(f))
            .count()
    }

    /// The 100 bits, most significant first: tag, then the facts in code order.
    fn bits(&self) -> u128 {
        self.facts
            .iter()
            .fold(self.product_tag as u128, |bits, &v| {
                (bits << FACT_BITS) | v as u128
            })
    }

    /// The inverse of [`Self::bits`]; `None` when no fact is present.
    fn from_bits(bits: u128) -> Option<SystemIdCode> {
        let mut facts = [0u32; 5];
        for (i, f) in facts.iter_mut().enumerate() {
            *f = ((bits >> (FACT_BITS as usize * (4 - i))) as u32) & FACT_MASK;
        }
        if facts.iter().all(|&v| v == 0) {
            return None;
        }
        Some(SystemIdCode {
            product_tag: ((bits >> (5 * FACT_BITS)) & 31) as u8,
            facts,
        })
    }

    pub(crate) fn to_packed(self) -> [u8; PACKED_LEN] {
        let mut out = [0u8; PACKED_LEN];
        out.copy_from_slice(&(self.bits() << 4).to_be_bytes()[16 - PACKED_LEN..]);
        out
    }

    pub(crate) fn from_packed(b: &[u8; PACKED_LEN]) -> Option<SystemIdCode> {
        let mut full = [0u8; 16];
        full[16 - PACKED_LEN..].copy_from_slice(b);
        let bits = u128::from_be_bytes(full);
        if bits & 0xf != 0 {
            return None;
        }
        Self::from_bits(bits >> 4)
    }

    /// Text form, `KS1-XXXXXX-XXXXXX-XXXXXX-XXXXXX`: the 100 bits as 20 symbols.
    pub fn encode(&self) -> String {
        let bits = self.bits();
        let values: Vec<u8> = (0..CODE_BITS / 5)
            .rev()
            .map(|i| ((bits >> (5 * i)) & 31) as u8)
            .collect();
        text::encode_values(Kind::SystemId, &values, usize::MAX)
    }

    /// Parses the text form (forgiving of case, spaces, full-width characters, I/L/O).
    pub fn decode(s: &str) -> Result<SystemIdCode, Error> {
        let sym = text::read_kind(s, Kind::SystemId)?;
        let values = text::decode_values(&sym)?;
        if values.len() != 20 {
            return Err(CodeError::BadLength {
                kind: Kind::SystemId,
                symbols: sym.values.len(),
            }
            .into());
        }
        let bits = values.iter().fold(0u128, |acc, &v| acc << 5 | v as u128);
        SystemIdCode::from_bits(bits).ok_or(Error::Malformed {
            kind: Kind::SystemId,
            offset: 0,
            reason: said!("no machine facts at all"),
        })
    }
}

impl fmt::Display for SystemIdCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

fn fact_hash(product: &str, fact: Fact, value: &str) -> u32 {
    let d = Sha512::new()
        .chain_update(b"keyward:system-id:v1\0")
        .chain_update((product.len() as u32).to_be_bytes())
        .chain_update(product.as_bytes())
        .chain_update([fact as u8])
        .chain_update(value.as_bytes())
        .finalize();
    let v = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) & FACT_MASK;
    // 0 means "absent"; a real hash that lands on 0 is nudged to 1.
    v.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    pub(crate) fn sample_facts() -> MachineFacts {
        MachineFacts {
            machine_id: Some("4c4c4544003d4a10804bb4c04f4e3732".to_string()),
            product_uuid: Some("4C4C4544-003D-4A10-804B-B4C04F4E3732".to_string()),
            board_serial: Some("CN1234567".to_string()),
            disk_serial: Some("S4EVNF0M123456".to_string()),
            cpu: Some("GenuineIntel 6 158 10 Intel(R) Core(TM) i7-8700".to_string()),
            macs: vec!["04:7c:16:5e:e3:5d".to_string()],
            ..Default::default()
        }
    }

    #[test]
    fn code_is_short_and_round_trips() {
        let c = SystemIdCode::compute("acme-invoice", &sample_facts());
        let s = c.encode();
        assert!(s.len() <= 32, "{s} is {} chars", s.len());
        assert_eq!(SystemIdCode::decode(&s).unwrap(), c);
        assert_eq!(
            SystemIdCode::decode(&s.to_lowercase().replace('-', " ")).unwrap(),
            c
        );
        assert_eq!(c.present(), 5);
    }

    #[test]
    fn product_salts_the_code() {
        let f = sample_facts();
        assert_ne!(
            SystemIdCode::compute("a", &f),
            SystemIdCode::compute("b", &f)
        );
    }

    #[test]
    fn the_product_tag_tells_products_apart() {
        let f = sample_facts();
        let a = SystemIdCode::compute("acme-invoice", &f);
        let none = SystemIdCode::compute("", &f);
        assert!(a.made_for("acme-invoice") && !a.made_without_product());
        assert!(none.made_without_product() && !none.made_for("acme-invoice"));
        assert_eq!(product_tag(""), 0);
        // Tags spread over 1..=31 and survive both encodings.
        let tags: alloc::collections::BTreeSet<u8> = (0..400)
            .map(|i| product_tag(&alloc::format!("product-{i}")))
            .collect();
        assert_eq!(tags.len(), 31);
        assert!(!tags.contains(&0));
        for product in ["acme-invoice", "", "b"] {
            let c = SystemIdCode::compute(product, &f);
            assert_eq!(SystemIdCode::decode(&c.encode()).unwrap(), c);
            assert_eq!(SystemIdCode::from_packed(&c.to_packed()), Some(c));
            assert!(c.made_for(product));
        }
        // Every fact keeps its 19 bits next to the tag.
        let full = SystemIdCode {
            product_tag: 31,
            facts: [FACT_MASK; 5],
        };
        assert_eq!(SystemIdCode::decode(&full.encode()).unwrap(), full);
        assert_eq!(SystemIdCode::from_packed(&full.to_packed()), Some(full));
    }

    #[test]
    fn mac_order_does_not_matter_and_differences_are_named() {
        let mut f = sample_facts();
        f.macs = vec![
            "aa:aa:aa:aa:aa:aa".to_string(),
            "04:7c:16:5e:e3:5d".to_string(),
        ];
        let a = SystemIdCode::compute("p", &f);
        f.macs.reverse();
        assert_eq!(a, SystemIdCode::compute("p", &f));
        f.disk_serial = Some("OTHER".to_string());
        let b = SystemIdCode::compute("p", &f);
        assert_eq!(a.differing(&b), vec![Fact::Disk]);
        assert_eq!(a.matching(&b), 4);
    }

    #[test]
    fn absent_facts_are_zero() {
        let f = MachineFacts {
            machine_id: Some("machine-1".to_string()),
            ..Default::default()
        };
        let c = SystemIdCode::compute("p", &f);
        assert_eq!(c.present(), 1);
        // A placeholder is no fact: "x" repeated, "To be filled by O.E.M.".
        let p = MachineFacts {
            machine_id: Some("x".to_string()),
            board_serial: Some("To be filled by O.E.M.".to_string()),
            ..Default::default()
        };
        assert_eq!(SystemIdCode::compute("p", &p).present(), 0);
        assert_eq!(SystemIdCode::decode(&c.encode()).unwrap(), c);
    }
}
