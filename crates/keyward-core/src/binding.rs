//! Binding a license to a machine, with a k-of-n tolerance for replaced parts.

use alloc::vec::Vec;

use crate::error::Error;
use crate::facts::MachineFacts;
use crate::hwid::{machine_parts, part_digest, HardwareId, HardwareKind, PartKind};
use crate::limits::MAX_PARTS;
use crate::sysid::{SystemIdCode, PACKED_LEN};
use crate::wire::{Reader, Writer};

/// The machine a request asks to bind to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MachineRef {
    /// This machine's system identification code (salted with the code's product).
    System(SystemIdCode),
    /// A hardware identification code the buyer typed.
    Hardware(HardwareId),
}

/// What a license is bound to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Binding {
    /// A system identification code: at least `tolerance` of its present facts must match.
    System {
        /// The bound code.
        code: SystemIdCode,
        /// Facts that must match (k of n).
        tolerance: u8,
    },
    /// A hardware identification code, stored as salted digests of its parts.
    Hardware {
        /// The kind the buyer typed.
        kind: HardwareKind,
        /// (part kind, digest), sorted.
        parts: Vec<(PartKind, [u8; 8])>,
        /// Parts that must match (k of n).
        tolerance: u8,
    },
}

/// Why a machine does not match a binding.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Mismatch {
    /// Names of the bound facts or parts this machine does not have
    /// (`machine_id`, `board`, `disk`, `cpu`, `mac`, `uuid`, `custom`); only `product` when
    /// the bound system identification code was made for another product or without one
    /// (no fact can match then: each is salted by the product).
    pub differing: Vec<&'static str>,
    /// How many matched.
    pub matched: u8,
    /// How many must match.
    pub required: u8,
}

/// Majority of `n`: 3 of 5, 3 of 4, 2 of 3, 2 of 2, 1 of 1.
fn default_tolerance(n: usize) -> u8 {
    (n / 2 + 1) as u8
}

/// The digest of each of a machine's parts, as bindings hold them.
fn digests(parts: &[(PartKind, alloc::string::String)]) -> Vec<(PartKind, [u8; 8])> {
    let mut have = Vec::with_capacity(parts.len());
    for (k, v) in parts {
        have.push((*k, part_digest(*k, v)));
    }
    have
}

impl Binding {
    /// Binds to a system identification code. `tolerance` defaults to a majority of the
    /// code's present facts (3 of 5).
    pub fn system(code: SystemIdCode, tolerance: Option<u8>) -> Result<Binding, Error> {
        let n = code.present();
        let k = tolerance.unwrap_or(default_tolerance(n));
        check_k(k, n)?;
        Ok(Binding::System { code, tolerance: k })
    }

    /// Binds to a hardware identification code. `tolerance` defaults to all parts for a
    /// single identifier and a majority for a fingerprint.
    pub fn hardware(id: &HardwareId, tolerance: Option<u8>) -> Result<Binding, Error> {
        let mut parts: Vec<(PartKind, [u8; 8])> = id
            .parts()
            .iter()
            .map(|(k, v)| (*k, part_digest(*k, v)))
            .collect();
        crate::util::sort_dedup(&mut parts);
        if parts.len() > MAX_PARTS {
            return Err(Error::InvalidHardwareId {
                reason: words!(
                    "a fingerprint may have at most {MAX_PARTS} parts, this one has {}",
                    parts.len()
                ),
            });
        }
        let n = parts.len();
        let k = tolerance.unwrap_or(if id.kind() == HardwareKind::Fingerprint {
            default_tolerance(n)
        } else {
            n as u8
        });
        check_k(k, n)?;
        Ok(Binding::Hardware {
            kind: id.kind(),
            parts,
            tolerance: k,
        })
    }

    /// k of k-of-n.
    pub fn tolerance(&self) -> u8 {
        match self {
            Binding::System { tolerance, .. } | Binding::Hardware { tolerance, .. } => *tolerance,
        }
    }

    /// n of k-of-n.
    pub fn parts_count(&self) -> usize {
        match self {
            Binding::System { code, .. } => code.present(),
            Binding::Hardware { parts, .. } => parts.len(),
        }
    }

    /// Checks this machine against the binding. `product` salts system codes.
    pub fn check(
        &self,
        product: &str,
        facts: &MachineFacts,
        extra: &[HardwareId],
    ) -> Result<(), Mismatch> {
        let (matched, differing) = match self {
            Binding::System { code, .. } => {
                system_match(code, &SystemIdCode::compute(product, facts))
            }
            Binding::Hardware { parts, .. } => {
                count_parts(parts, &digests(&machine_parts(facts, extra)))
            }
        };
        self.verdict(matched, differing)
    }

    /// Checks a machine named by its system or hardware identification code (what a buyer
    /// pastes on the page, what a request carries). `None` when the binding is of the
    /// other type (a hardware binding cannot be checked against a system code, and back).
    pub fn check_machine_ref(&self, machine: &MachineRef) -> Option<Result<(), Mismatch>> {
        let (matched, differing) = match (self, machine) {
            (Binding::System { code, .. }, MachineRef::System(other)) => system_match(code, other),
            (Binding::Hardware { parts, .. }, MachineRef::Hardware(id)) => {
                count_parts(parts, &digests(&id.parts()))
            }
            _ => return None,
        };
        Some(self.verdict(matched, differing))
    }

    fn verdict(&self, matched: usize, differing: Vec<&'static str>) -> Result<(), Mismatch> {
        if matched >= self.tolerance() as usize {
            Ok(())
        } else {
            Err(Mismatch {
                differing,
                matched: matched as u8,
                required: self.tolerance(),
            })
        }
    }

    pub(crate) fn write(&self, w: &mut Writer) {
        match self {
            Binding::System { code, tolerance } => {
                w.u8(1);
                w.u8(*tolerance);
                w.bytes(&code.to_packed());
            }
            Binding::Hardware {
                kind,
                parts,
                tolerance,
            } => {
                w.u8(2);
                w.u8(*tolerance);
                w.u8(kind.tag());
                w.u8(parts.len() as u8);
                for (k, d) in parts {
                    w.u8(k.tag());
                    w.bytes(d);
                }
            }
        }
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Binding, Error> {
        let tag = r.u8()?;
        let tolerance = r.u8()?;
        let b = match tag {
            1 => {
                let packed: [u8; PACKED_LEN] = r.array()?;
                let code = SystemIdCode::from_packed(&packed)
                    .ok_or(r.err(said!("invalid system id binding")))?;
                Binding::System { code, tolerance }
            }
            2 => {
                let kind =
                    HardwareKind::from_tag(r.u8()?).ok_or(r.err(said!("unknown hardware kind")))?;
                let n = r.u8()? as usize;
                if n == 0 || n > MAX_PARTS {
                    return Err(r.err(said!("invalid number of hardware parts")));
                }
                let mut parts: Vec<(PartKind, [u8; 8])> = Vec::with_capacity(n);
                for _ in 0..n {
                    let k = PartKind::from_tag(r.u8()?).ok_or(r.err(said!("unknown part kind")))?;
                    let d: [u8; 8] = r.array()?;
                    if parts.last().is_some_and(|last| *last >= (k, d)) {
                        return Err(r.err(said!("hardware parts not in canonical order")));
                    }
                    parts.push((k, d));
                }
                Binding::Hardware {
                    kind,
                    parts,
                    tolerance,
                }
            }
            _ => return Err(r.err(said!("unknown binding kind"))),
        };
        if tolerance == 0 || tolerance as usize > b.parts_count() {
            return Err(r.err(said!("binding tolerance out of range")));
        }
        Ok(b)
    }
}

/// How many of the bound code's facts the machine's code has, and the names of those it
/// lacks (`product` alone when the two were made for different products).
fn system_match(bound: &SystemIdCode, here: &SystemIdCode) -> (usize, Vec<&'static str>) {
    let matched = bound.matching(here);
    if bound.product_tag() != here.product_tag() {
        return (matched, alloc::vec!["product"]);
    }
    let differing = bound
        .differing(here)
        .into_iter()
        .map(|f| f.code())
        .collect();
    (matched, differing)
}

/// How many bound parts the machine has, and the kinds of those it lacks.
fn count_parts(
    bound: &[(PartKind, [u8; 8])],
    have: &[(PartKind, [u8; 8])],
) -> (usize, Vec<&'static str>) {
    let mut matched = 0;
    let mut differing: Vec<&'static str> = Vec::new();
    for p in bound {
        if have.contains(p) {
            matched += 1;
        } else if !differing.contains(&p.0.code()) {
            differing.push(p.0.code());
        }
    }
    (matched, differing)
}

fn check_k(k: u8, n: usize) -> Result<(), Error> {
    if k == 0 || k as usize > n {
        return Err(Error::InvalidInput {
            field: "tolerance",
            reason: words!("must be between 1 and {n} (the number of bound facts), got {k}"),
        });
    }
    Ok(())
}
