//! Hardware identification codes (硬件识别码): device identifiers a buyer types, with a kind.
//!
//! `mac:00:1A:2B:3C:4D:5E`, `sn:…`, `uuid:…`, `disk:…`, `fp:MAC|disk|board|cpu` (the
//! marketplace's fingerprint string) and `custom:…`. Each kind has one normal form, so the
//! same device typed differently (`00-1a-2B-3c-4d-5e`, `001A.2B3C.4D5E`) binds the same.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use sha2::{Digest, Sha512};

use crate::error::Error;
use crate::facts::{custom_value, MachineFacts, MAX_CUSTOM_LEN};
use crate::limits::MAX_FINGERPRINT_LEN;
use crate::text::fold_char;

/// The kind of a hardware identification code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum HardwareKind {
    /// A network adapter's MAC address.
    Mac,
    /// A device serial number (mainboard, dongle, appliance).
    Serial,
    /// A UUID (DMI product UUID, VM UUID).
    Uuid,
    /// A disk serial number.
    Disk,
    /// The marketplace's `MAC|disk|board|cpu` fingerprint.
    Fingerprint,
    /// Anything else the merchant's product defines.
    Custom,
}

impl HardwareKind {
    /// The prefix before the colon (`mac`, `sn`, `uuid`, `disk`, `fp`, `custom`).
    pub const fn prefix(self) -> &'static str {
        match self {
            HardwareKind::Mac => "mac",
            HardwareKind::Serial => "sn",
            HardwareKind::Uuid => "uuid",
            HardwareKind::Disk => "disk",
            HardwareKind::Fingerprint => "fp",
            HardwareKind::Custom => "custom",
        }
    }

    pub(crate) const fn tag(self) -> u8 {
        match self {
            HardwareKind::Mac => 1,
            HardwareKind::Serial => 2,
            HardwareKind::Uuid => 3,
            HardwareKind::Disk => 4,
            HardwareKind::Fingerprint => 5,
            HardwareKind::Custom => 6,
        }
    }

    pub(crate) fn from_tag(t: u8) -> Option<Self> {
        [
            HardwareKind::Mac,
            HardwareKind::Serial,
            HardwareKind::Uuid,
            HardwareKind::Disk,
            HardwareKind::Fingerprint,
            HardwareKind::Custom,
        ]
        .into_iter()
        .find(|k| k.tag() == t)
    }
}

/// One part a hardware id binds to; a fingerprint has several.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum PartKind {
    /// A MAC address.
    Mac,
    /// A disk serial.
    Disk,
    /// A mainboard id or serial.
    Board,
    /// A CPU id.
    Cpu,
    /// A UUID.
    Uuid,
    /// A custom identifier.
    Custom,
}

impl PartKind {
    pub(crate) fn tag(self) -> u8 {
        self as u8 + 1
    }
    pub(crate) fn from_tag(t: u8) -> Option<Self> {
        [
            PartKind::Mac,
            PartKind::Disk,
            PartKind::Board,
            PartKind::Cpu,
            PartKind::Uuid,
            PartKind::Custom,
        ]
        .into_iter()
        .find(|k| k.tag() == t)
    }
    /// Stable name.
    pub const fn code(self) -> &'static str {
        match self {
            PartKind::Mac => "mac",
            PartKind::Disk => "disk",
            PartKind::Board => "board",
            PartKind::Cpu => "cpu",
            PartKind::Uuid => "uuid",
            PartKind::Custom => "custom",
        }
    }
}

/// A normalised, validated hardware identification code.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HardwareId {
    kind: HardwareKind,
    value: String,
}

/// Most bytes of text [`HardwareId::parse`] looks at (spaces and separators that the normal
/// form drops included).
const MAX_HARDWARE_ID_INPUT: usize = 4 * MAX_FINGERPRINT_LEN;
const MAX_SERIAL_LEN: usize = 128;

fn bad(reason: impl Into<String>) -> Error {
    Error::InvalidHardwareId {
        reason: reason.into(),
    }
}

fn normalize_mac(s: &str) -> Result<String, Error> {
    let hex = crate::util::keep_chars(s, &|c| !matches!(c, ':' | '-' | '.' | ' '));
    if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad(words!(
            "\"{s}\" is not a MAC address: expected 12 hexadecimal digits such as 00:1A:2B:3C:4D:5E"
        )));
    }
    let hex = hex.to_ascii_uppercase();
    if hex == "000000000000" || hex == "FFFFFFFFFFFF" {
        return Err(bad(words!(
            "\"{s}\" is not a device's MAC address (all zeros or broadcast)"
        )));
    }
    let mut out = String::with_capacity(17);
    for (i, c) in hex.chars().enumerate() {
        if i > 0 && i % 2 == 0 {
            out.push(':');
        }
        out.push(c);
    }
    Ok(out)
}

fn normalize_uuid(s: &str) -> Result<String, Error> {
    let hex = crate::util::keep_chars(s.trim_matches(|c| c == '{' || c == '}'), &|c| c != '-');
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad(words!(
            "\"{s}\" is not a UUID: expected 32 hexadecimal digits such as 4c4c4544-003d-4a10-804b-b4c04f4e3732"
        )));
    }
    let hex = hex.to_ascii_lowercase();
    if hex.bytes().all(|b| b == b'0') || hex.bytes().all(|b| b == b'f') {
        return Err(bad(said!(
            "an all-zero or all-F UUID does not identify a device"
        )));
    }
    // 8-4-4-4-12 digits.
    let mut out = String::with_capacity(36);
    for (i, c) in hex.chars().enumerate() {
        if matches!(i, 8 | 12 | 16 | 20) {
            out.push('-');
        }
        out.push(c);
    }
    Ok(out)
}

fn normalize_serial(what: &str, s: &str) -> Result<String, Error> {
    let v = crate::util::keep_chars(s, &|c| !c.is_whitespace());
    let v = v.to_ascii_uppercase();
    if v.is_empty() {
        return Err(bad(words!("the {what} is empty")));
    }
    if v.len() > MAX_SERIAL_LEN {
        return Err(bad(words!(
            "the {what} is {} characters long; at most {MAX_SERIAL_LEN} are allowed",
            v.len()
        )));
    }
    if let Some(c) = v
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':' | '+')))
    {
        return Err(bad(words!(
            "the {what} contains \"{c}\"; serial numbers use letters, digits and - _ . / : +"
        )));
    }
    Ok(v)
}

fn normalize_fingerprint(s: &str) -> Result<String, Error> {
    // Loops rather than iterator collects here and below: each `collect` is its own
    // generic copy in the size-gated WebAssembly builds.
    let mut parts = [""; 4];
    let mut count = 0;
    for (i, p) in s.split('|').enumerate() {
        if let Some(slot) = parts.get_mut(i) {
            *slot = p;
        }
        count += 1;
    }
    if count != 4 {
        return Err(bad(words!(
            "a fingerprint has four parts MAC|disk|board|cpu separated by '|', this one has {count}"
        )));
    }
    let list = |p: &str, f: &dyn Fn(&str) -> Result<String, Error>| -> Result<String, Error> {
        let mut items = Vec::new();
        for x in p.split(',') {
            let x = x.trim();
            if !x.is_empty() {
                items.push(f(x)?);
            }
        }
        crate::util::sort_dedup(&mut items);
        Ok(crate::util::join(items.iter().map(String::as_str), ","))
    };
    let macs = list(parts[0], &normalize_mac)?;
    let disks = list(parts[1], &|d| normalize_serial("disk id", d))?;
    let board = match parts[2].trim() {
        "" => String::new(),
        b => normalize_serial("board id", b)?,
    };
    let cpu = match parts[3].trim() {
        "" => String::new(),
        c => normalize_serial("CPU id", c)?,
    };
    if macs.is_empty() && disks.is_empty() && board.is_empty() && cpu.is_empty() {
        return Err(bad(said!("every part of the fingerprint is empty")));
    }
    // The bound is on the normal form (what requests and bindings carry, and what parses
    // again to the same id), not on the text typed: 285 MACs typed without separators are
    // 3,710 bytes but 5,135 once written with colons.
    let len = macs.len() + disks.len() + board.len() + cpu.len() + 3;
    if len > MAX_FINGERPRINT_LEN {
        return Err(bad(words!(
            "the fingerprint is {len} bytes long once normalised (MACs written with colons); at most {MAX_FINGERPRINT_LEN} are allowed: leave out some MAC addresses"
        )));
    }
    Ok(crate::util::cat(&[
        &macs[..],
        "|",
        &disks,
        "|",
        &board,
        "|",
        &cpu,
    ]))
}

/// The typed prefixes of a hardware identification code (`mac:…`), lower case, each with
/// the kind it names: the one list the parser and [`Artifact::parse`](crate::Artifact::parse)
/// (which tells a hardware id from a code by it) read.
pub(crate) const PREFIXES: [(&str, HardwareKind); 7] = [
    ("mac", HardwareKind::Mac),
    ("sn", HardwareKind::Serial),
    ("serial", HardwareKind::Serial),
    ("uuid", HardwareKind::Uuid),
    ("disk", HardwareKind::Disk),
    ("fp", HardwareKind::Fingerprint),
    ("custom", HardwareKind::Custom),
];

impl HardwareId {
    /// Parses and normalises `kind:value`. Without a known prefix, the kind is guessed:
    /// a MAC, a UUID or a fingerprint are recognised; anything else must say its kind.
    ///
    /// Every id that parses prints ([`Display`](fmt::Display)) as its normal form, which
    /// parses to the same id and is at most [`MAX_FINGERPRINT_LEN`] bytes after the prefix.
    pub fn parse(input: &str) -> Result<HardwareId, Error> {
        // Only a bound on work: the normal form's own bound is checked per kind.
        if input.len() > MAX_HARDWARE_ID_INPUT {
            return Err(bad(said!(
                "far too long for a hardware identification code"
            )));
        }
        let folded = crate::util::map_chars(input, fold_char);
        let s = folded.trim();
        if s.is_empty() {
            return Err(bad(
                "nothing was entered: type the device identifier, e.g. mac:00:1A:2B:3C:4D:5E",
            ));
        }
        let (kind, value) = match s.split_once(':') {
            Some((p, v)) => {
                let p = p.trim().to_ascii_lowercase();
                match PREFIXES.iter().find(|(name, _)| *name == p) {
                    Some(&(_, kind)) => (kind, v),
                    None => guess(s)?,
                }
            }
            None => guess(s)?,
        };
        let value = value.trim();
        let value = match kind {
            HardwareKind::Mac => normalize_mac(value)?,
            HardwareKind::Uuid => normalize_uuid(value)?,
            HardwareKind::Serial => normalize_serial("serial number", value)?,
            HardwareKind::Disk => normalize_serial("disk serial", value)?,
            HardwareKind::Fingerprint => normalize_fingerprint(value)?,
            HardwareKind::Custom => custom_value(value).ok_or_else(|| {
                bad(words!(
                    "a custom id must be 1 to {MAX_CUSTOM_LEN} characters, none of them a control character"
                ))
            })?,
        };
        Ok(HardwareId { kind, value })
    }

    /// The kind.
    pub fn kind(&self) -> HardwareKind {
        self.kind
    }

    /// The normalised value (without the prefix).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The parts a binding is made of: one for most kinds, one per MAC, disk, board and CPU
    /// for a fingerprint (so a fingerprint binding can tolerate a changed part).
    pub fn parts(&self) -> Vec<(PartKind, String)> {
        match self.kind {
            HardwareKind::Mac => alloc::vec![(PartKind::Mac, self.value.clone())],
            HardwareKind::Serial => alloc::vec![(PartKind::Board, self.value.clone())],
            HardwareKind::Uuid => alloc::vec![(PartKind::Uuid, self.value.clone())],
            HardwareKind::Disk => alloc::vec![(PartKind::Disk, self.value.clone())],
            HardwareKind::Custom => alloc::vec![(PartKind::Custom, self.value.clone())],
            HardwareKind::Fingerprint => {
                let mut out = Vec::new();
                let mut it = self.value.split('|');
                let kinds = [
                    PartKind::Mac,
                    PartKind::Disk,
                    PartKind::Board,
                    PartKind::Cpu,
                ];
                for k in kinds {
                    for item in it.next().unwrap_or("").split(',').filter(|x| !x.is_empty()) {
                        out.push((k, item.to_string()));
                    }
                }
                out
            }
        }
    }
}

fn guess(s: &str) -> Result<(HardwareKind, &str), Error> {
    if s.contains('|') {
        return Ok((HardwareKind::Fingerprint, s));
    }
    if normalize_mac(s).is_ok() {
        return Ok((HardwareKind::Mac, s));
    }
    if normalize_uuid(s).is_ok() {
        return Ok((HardwareKind::Uuid, s));
    }
    Err(bad(words!(
        "cannot tell what kind of identifier \"{s}\" is: write it as mac:…, sn:…, uuid:…, disk:…, fp:MAC|disk|board|cpu or custom:…"
    )))
}

impl fmt::Display for HardwareId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.prefix())?;
        f.write_str(":")?;
        f.write_str(&self.value)
    }
}

/// The 8-byte digest of one part, salted by its kind (binding stores only these).
pub(crate) fn part_digest(kind: PartKind, value: &str) -> [u8; 8] {
    let d = Sha512::new()
        .chain_update(b"keyward:hardware-id:v1\0")
        .chain_update([kind.tag()])
        .chain_update(value.as_bytes())
        .finalize();
    let mut out = [0u8; 8];
    out.copy_from_slice(&d[..8]);
    out
}

/// The parts this machine can vouch for, from its facts and any ids the host supplies.
pub(crate) fn machine_parts(facts: &MachineFacts, extra: &[HardwareId]) -> Vec<(PartKind, String)> {
    let mut out = Vec::new();
    for m in &facts.macs {
        if let Ok(m) = normalize_mac(m) {
            out.push((PartKind::Mac, m));
        }
    }
    if let Some(d) = facts
        .disk_serial
        .as_deref()
        .and_then(|d| normalize_serial("", d).ok())
    {
        out.push((PartKind::Disk, d));
    }
    if let Some(b) = facts
        .board_serial
        .as_deref()
        .and_then(|b| normalize_serial("", b).ok())
    {
        out.push((PartKind::Board, b));
    }
    if let Some(c) = facts
        .cpu
        .as_deref()
        .and_then(|c| normalize_serial("", c).ok())
    {
        out.push((PartKind::Cpu, c));
    }
    // The marketplace fingerprint's CPU part is the processor id, not the model string:
    // both are offered, and a fingerprint matches either.
    if let Some(c) = facts
        .cpu_id
        .as_deref()
        .and_then(|c| normalize_serial("", c).ok())
    {
        out.push((PartKind::Cpu, c));
    }
    for c in facts.custom.iter().filter_map(|c| custom_value(c)) {
        out.push((PartKind::Custom, c));
    }
    if let Some(u) = facts
        .product_uuid
        .as_deref()
        .and_then(|u| normalize_uuid(u).ok())
    {
        out.push((PartKind::Uuid, u));
    }
    for h in extra {
        out.extend(h.parts());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_forms_are_the_same() {
        let a = HardwareId::parse("mac:00-1a-2B-3c-4d-5e").unwrap();
        let b = HardwareId::parse("MAC: 001A.2B3C.4D5E").unwrap();
        let c = HardwareId::parse("００:１a:2b:3c:4d:5e").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a.to_string(), "mac:00:1A:2B:3C:4D:5E");
    }

    #[test]
    fn kinds_validate() {
        assert!(HardwareId::parse("mac:00:1a:2b").is_err());
        assert!(HardwareId::parse("mac:00:00:00:00:00:00").is_err());
        assert_eq!(
            HardwareId::parse("uuid:{4C4C4544-003D-4A10-804B-B4C04F4E3732}")
                .unwrap()
                .to_string(),
            "uuid:4c4c4544-003d-4a10-804b-b4c04f4e3732"
        );
        assert_eq!(
            HardwareId::parse("sn: cn12 345").unwrap().to_string(),
            "sn:CN12345"
        );
        assert!(HardwareId::parse("sn:").is_err());
        assert!(HardwareId::parse("sn:a<b").is_err());
        assert!(HardwareId::parse("hello").is_err());
        assert_eq!(HardwareId::parse("custom:狗-42").unwrap().value(), "狗-42");
    }

    #[test]
    fn marketplace_fingerprint() {
        let h = HardwareId::parse("fp:04:7C:16:5E:E3:5D|001B_444A_488B_5CEC.||BFEBFBFF00090672")
            .unwrap();
        assert_eq!(h.kind(), HardwareKind::Fingerprint);
        let parts = h.parts();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], (PartKind::Mac, "04:7C:16:5E:E3:5D".to_string()));
        // Without the prefix, the '|' gives it away; MAC lists are sorted.
        let g = HardwareId::parse("aa:aa:aa:aa:aa:aa,04-7c-16-5e-e3-5d|||").unwrap();
        assert_eq!(g.value(), "04:7C:16:5E:E3:5D,AA:AA:AA:AA:AA:AA|||");
        assert!(HardwareId::parse("fp:|||").is_err());
        assert!(HardwareId::parse("fp:a|b").is_err());
        let long = alloc::format!("fp:{}|||", "A".repeat(6000));
        assert!(HardwareId::parse(&long).is_err());
    }

    /// The fuzzing finding: MACs typed without separators grow by 5/12 when normalised.
    /// The bound is the normal form's, so whatever parses prints as text that parses again.
    #[test]
    fn the_normal_form_is_bounded_not_the_input() {
        let macs = |n: usize| -> String {
            (0..n)
                .map(|i| alloc::format!("0A1B2C{:06X}", i + 1))
                .collect::<Vec<_>>()
                .join(",")
        };
        let typed = alloc::format!("fp:{}|||", macs(285));
        assert_eq!(typed.len(), 3_710);
        let e = HardwareId::parse(&typed).unwrap_err();
        assert_eq!(e.code(), "invalid_hardware_id");
        #[cfg(feature = "messages")]
        assert!(e.to_string().contains("once normalised"), "{e}");
        // The most MACs that fit: 284 (284 * 17 + 283 + 3 = 5,114 bytes).
        let h = HardwareId::parse(&alloc::format!("fp:{}|||", macs(284))).unwrap();
        let normal = h.to_string();
        assert!(normal.len() <= MAX_FINGERPRINT_LEN + 3, "{}", normal.len());
        assert_eq!(HardwareId::parse(&normal).unwrap(), h);
        // Dashes and spaces that the normal form drops are not counted against the limit.
        let dashed: Vec<String> = macs(284)
            .split(',')
            .map(|m| {
                let b = m.as_bytes();
                b.chunks(2)
                    .map(|p| core::str::from_utf8(p).unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("-")
            })
            .collect();
        let spaced = alloc::format!("fp: {} | | | ", dashed.join(" , "));
        assert!(spaced.len() > MAX_FINGERPRINT_LEN);
        assert_eq!(HardwareId::parse(&spaced).unwrap(), h);
    }
}
