//! The system identification code (系统识别码): five salted, truncated fact hashes.
//!
//! `KS1-XXXXXX-XXXXXX-XXXXXX-XXXXXX` — 31 characters. Each fact (machine id, board, disk,
//! CPU, MACs) becomes 20 bits of SHA-256 over a domain tag, the product id and the value, so
//! codes differ per merchant product and no raw serial leaves the machine. 20 bits per fact
//! keeps the code typeable; a different machine matching three facts by chance has odds of
//! about 1 in 10^17.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use sha2::{Digest, Sha512};

use crate::error::{CodeError, Error};
use crate::facts::MachineFacts;
use crate::text::{self, Kind};

/// The machine facts a system identification code is made of, in code order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Fact {
    /// OS installation id (`/etc/machine-id`).
    MachineId,
    /// Mainboard: DMI product UUID and board serial.
    Board,
    /// Root disk serial number.
    Disk,
    /// CPU identity.
    Cpu,
    /// MAC addresses of the physical network interfaces.
    Mac,
}

impl Fact {
    /// All five, in code order.
    pub const ALL: [Fact; 5] = [
        Fact::MachineId,
        Fact::Board,
        Fact::Disk,
        Fact::Cpu,
        Fact::Mac,
    ];

    /// Stable name (`machine_id`, `board`, `disk`, `cpu`, `mac`).
    pub const fn code(self) -> &'static str {
        match self {
            Fact::MachineId => "machine_id",
            Fact::Board => "board",
            Fact::Disk => "disk",
            Fact::Cpu => "cpu",
            Fact::Mac => "mac",
        }
    }
}

impl fmt::Display for Fact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fact::MachineId => "machine id",
            Fact::Board => "mainboard",
            Fact::Disk => "system disk",
            Fact::Cpu => "CPU",
            Fact::Mac => "network adapters",
        })
    }
}

/// A system identification code: one 20-bit hash per [`Fact`], 0 when the fact was absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SystemIdCode {
    facts: [u32; 5],
}

const FACT_BITS: u32 = 20;
const FACT_MASK: u32 = (1 << FACT_BITS) - 1;
/// Packed size: 5 × 20 bits = 100 bits, in 13 bytes with 4 zero bits.
pub(crate) const PACKED_LEN: usize = 13;

impl SystemIdCode {
    /// Computes this machine's code for `product` (may be empty: a product-neutral code),
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
        SystemIdCode { facts: out }
    }

    /// The 20-bit hash of one fact (0: absent).
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

    pub(crate) fn to_packed(self) -> [u8; PACKED_LEN] {
        let mut bits: u128 = 0;
        for v in self.facts {
            bits = (bits << FACT_BITS) | v as u128;
        }
        bits <<= 4;
        let mut out = [0u8; PACKED_LEN];
        out.copy_from_slice(&bits.to_be_bytes()[16 - PACKED_LEN..]);
        out
    }

    pub(crate) fn from_packed(b: &[u8; PACKED_LEN]) -> Option<SystemIdCode> {
        let mut full = [0u8; 16];
        full[16 - PACKED_LEN..].copy_from_slice(b);
        let bits = u128::from_be_bytes(full);
        if bits & 0xf != 0 {
            return None;
        }
        let bits = bits >> 4;
        let mut facts = [0u32; 5];
        for (i, f) in facts.iter_mut().enumerate() {
            *f = ((bits >> (FACT_BITS as usize * (4 - i))) as u32) & FACT_MASK;
        }
        if facts.iter().all(|&v| v == 0) {
            return None;
        }
        Some(SystemIdCode { facts })
    }

    /// Text form, `KS1-XXXXXX-XXXXXX-XXXXXX-XXXXXX`: four symbols per fact.
    pub fn encode(&self) -> String {
        let values: Vec<u8> = self
            .facts
            .iter()
            .flat_map(|&v| (0..4).rev().map(move |i| ((v >> (5 * i)) & 31) as u8))
            .collect();
        text::encode_values(Kind::SystemId, &values, usize::MAX)
    }

    /// Parses the text form (forgiving of case, spaces, full-width characters, I/L/O).
    pub fn decode(s: &str) -> Result<SystemIdCode, Error> {
        let sym = text::normalize(s)?;
        if sym.kind != Kind::SystemId {
            return Err(Error::WrongKind {
                expected: Kind::SystemId,
                found: sym.kind,
            });
        }
        let values = text::decode_values(&sym)?;
        if values.len() != 20 {
            return Err(CodeError::BadLength {
                kind: Kind::SystemId,
                symbols: sym.values.len(),
            }
            .into());
        }
        let mut facts = [0u32; 5];
        for (f, chunk) in facts.iter_mut().zip(values.chunks(4)) {
            *f = chunk.iter().fold(0, |acc, &v| acc << 5 | v as u32);
        }
        if facts.iter().all(|&v| v == 0) {
            return Err(Error::Malformed {
                kind: Kind::SystemId,
                offset: 0,
                reason: said!("no machine facts at all"),
            });
        }
        Ok(SystemIdCode { facts })
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
