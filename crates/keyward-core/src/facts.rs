//! Facts about a machine, as collected by the host (keyward-machine) or read from JSON.
//!
//! The core never reads them itself: it has no I/O. Raw values never leave the machine;
//! only salted, truncated hashes of them go into a [`crate::SystemIdCode`].
//!
//! [`MachineFacts`] is also at the crate's root. The normalisation rules are here for hosts
//! that collect facts themselves ([`normalize_mac`], [`clean_text`], [`is_placeholder`]):
//! the same raw facts give the same system identification code in every host.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

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

/// What a host knows about the machine it runs on. Every field is optional: a fact that
/// cannot be read is simply absent, and tolerance matching treats it as "does not match".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct MachineFacts {
    /// `/etc/machine-id` (Linux), IOPlatformUUID (macOS), MachineGuid (Windows).
    pub machine_id: Option<String>,
    /// DMI product UUID (`/sys/class/dmi/id/product_uuid`).
    pub product_uuid: Option<String>,
    /// DMI board serial (`/sys/class/dmi/id/board_serial`).
    pub board_serial: Option<String>,
    /// Serial number of the disk holding the root file system.
    pub disk_serial: Option<String>,
    /// CPU identity (vendor, family, model, stepping: not the frequency, which varies).
    pub cpu: Option<String>,
    /// MAC addresses of physical network interfaces, as `aa:bb:cc:dd:ee:ff`.
    pub macs: Vec<String>,
    /// The processor id as `wmic cpu get ProcessorId` prints it: CPUID leaf 1's EDX then
    /// EAX in 16 hexadecimal digits (`BFEBFBFF00090672`), which is the CPU part of the
    /// marketplace's fingerprint (`fp:MAC|disk|board|cpu`). x86 machines only. It binds
    /// hardware identification codes; it is not part of the system identification code.
    pub cpu_id: Option<String>,
    /// Identifiers the merchant's software vouches for (a dongle's serial, an appliance
    /// id), which `custom:` hardware identification codes bind to; not part of the
    /// system identification code.
    pub custom: Vec<String>,
}

impl MachineFacts {
    /// The same facts in normal form: the one set of rules every host gets, because
    /// [`SystemIdCode::compute`](crate::SystemIdCode::compute) applies it (so a host in any
    /// language, giving raw facts to the plugin, gets the same code as the `keyward` CLI):
    ///
    /// * text is trimmed, and runs of white space (and NULs) inside it become one space;
    /// * placeholders firmware leaves behind ([`is_placeholder`]: `To be filled by O.E.M.`,
    ///   `Default string`, `0`, all-zero UUIDs, …) become absent;
    /// * `machine_id` and `product_uuid` are lower-cased when hexadecimal (UUID case
    ///   differs between tools but means nothing);
    /// * MAC addresses are written `aa:bb:cc:dd:ee:ff` ([`normalize_mac`]), sorted and
    ///   deduplicated; all-zero and broadcast addresses, and text that is not a MAC
    ///   address, are dropped;
    /// * `cpu_id` is upper-cased, without white space;
    /// * `custom` identifiers are trimmed (as a `custom:` hardware identification code is),
    ///   sorted and deduplicated; empty ones are dropped.
    ///
    /// Normalising twice gives the same facts as normalising once.
    pub fn normalized(&self) -> MachineFacts {
        let macs = normalized_list(&self.macs, &|m| {
            normalize_mac(m).filter(|m| !is_placeholder_mac(m))
        });
        let custom = normalized_list(&self.custom, &custom_value);
        MachineFacts {
            machine_id: clean_id(self.machine_id.as_deref()),
            product_uuid: clean_id(self.product_uuid.as_deref()),
            board_serial: clean_text(self.board_serial.as_deref()),
            disk_serial: clean_text(self.disk_serial.as_deref()),
            cpu: clean_text(self.cpu.as_deref()),
            macs,
            cpu_id: clean_text(self.cpu_id.as_deref()).map(|c| {
                let mut c = c.to_ascii_uppercase();
                c.retain(|c| c != ' ');
                c
            }),
            custom,
        }
    }
}

/// The values of `items` that `normal` keeps, in their normal form, sorted, without
/// duplicates. (A loop, not an iterator `collect`: one copy in the size-gated WebAssembly
/// builds.)
fn normalized_list(items: &[String], normal: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if let Some(v) = normal(item) {
            out.push(v);
        }
    }
    crate::util::sort_dedup(&mut out);
    out
}

/// Normalises one MAC address to lower-case `aa:bb:cc:dd:ee:ff`.
///
/// Accepts six pairs of hex digits separated by `:` or `-` (`00-1a-2B-3c-4d-5e`), three
/// groups of four separated by `.` (`001A.2B3C.4D5E`), or twelve bare hex digits, with
/// surrounding white space; `None` for anything else. Only the notation is checked: the
/// all-zero address is returned as such.
///
/// ```
/// use keyward_core::facts::normalize_mac;
/// assert_eq!(normalize_mac("001A.2B3C.4D5E").as_deref(), Some("00:1a:2b:3c:4d:5e"));
/// assert_eq!(normalize_mac("00:1a:2b:3c:4d"), None);
/// ```
pub fn normalize_mac(s: &str) -> Option<String> {
    let s = s.trim();
    let b = s.as_bytes();
    let (group_len, sep) = match b.len() {
        12 => (12, None),
        14 => (4, Some(b'.')),
        17 if matches!(b[2], b':' | b'-') => (2, Some(b[2])),
        _ => return None,
    };
    let mut digits = Vec::with_capacity(12);
    for (i, &c) in b.iter().enumerate() {
        let at_sep = sep.is_some() && (i + 1) % (group_len + 1) == 0;
        if at_sep {
            if Some(c) != sep {
                return None;
            }
        } else if c.is_ascii_hexdigit() {
            digits.push(c.to_ascii_lowercase());
        } else {
            return None;
        }
    }
    if digits.len() != 12 {
        return None;
    }
    let mut out = String::with_capacity(17);
    for (i, pair) in digits.chunks(2).enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.extend(pair.iter().map(|&d| char::from(d)));
    }
    Some(out)
}

/// Most characters of a custom identifier.
pub(crate) const MAX_CUSTOM_LEN: usize = 128;

/// A custom identifier in normal form (full-width forms folded, trimmed), or `None` when it
/// is empty, longer than 128 characters or holds a control character: the same rule for a
/// typed `custom:` code and for the identifiers a host vouches for (`custom`).
pub(crate) fn custom_value(value: &str) -> Option<String> {
    let value = crate::util::map_chars(value, crate::text::fold_char);
    let value = value.trim();
    let ok = !value.is_empty()
        && crate::util::char_count(value) <= MAX_CUSTOM_LEN
        && !value.chars().any(|c| c.is_control());
    ok.then(|| value.to_string())
}

/// All-zero and broadcast addresses never identify an interface.
pub(crate) fn is_placeholder_mac(mac: &str) -> bool {
    mac == "00:00:00:00:00:00" || mac == "ff:ff:ff:ff:ff:ff"
}

/// Like [`clean_text`], and lower-cases values made only of hex digits and hyphens.
fn clean_id(value: Option<&str>) -> Option<String> {
    let value = clean_text(value)?;
    if value.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        Some(value.to_ascii_lowercase())
    } else {
        Some(value)
    }
}

/// Trims, collapses inner white space (and NULs), and turns placeholders into `None`.
pub fn clean_text(value: Option<&str>) -> Option<String> {
    let value = value?;
    let mut cleaned = String::with_capacity(value.len());
    for word in value.split(|c: char| c.is_whitespace() || c == '\0') {
        if !word.is_empty() {
            if !cleaned.is_empty() {
                cleaned.push(' ');
            }
            cleaned.push_str(word);
        }
    }
    if is_placeholder(&cleaned) {
        None
    } else {
        Some(cleaned)
    }
}

/// Values firmware and operating systems report when they have nothing real to say.
const PLACEHOLDERS: &[&str] = &[
    "none",
    "null",
    "n/a",
    "na",
    "unknown",
    "invalid",
    "not specified",
    "not applicable",
    "not available",
    "not present",
    "to be filled by o.e.m.",
    "to be filled by oem",
    "default string",
    "default",
    "oem",
    "o.e.m.",
    "system serial number",
    "base board serial number",
    "chassis serial number",
    "serial number",
    "serial",
    "0123456789",
    "123456789",
    "1234567890",
    "uninitialized",
    // UUIDs of unconfigured AMI/Gigabyte boards, shared by many machines.
    "03000200-0400-0500-0006-000700080009",
    "00020003-0004-0005-0006-000700080009",
];

/// Whether `value` is a placeholder rather than an identifier: what firmware reports when
/// it has nothing real to say (`To be filled by O.E.M.`, `Default string`, `N/A`, …),
/// nothing but separators, or one digit or letter repeated (`0`, `0000-0000`, all-zero or
/// all-F UUIDs, `XXXXXXXX`). Such a value identifies no machine: as a fact it counts as
/// absent, and as a binding it would match many machines (callers warn).
pub fn is_placeholder(value: &str) -> bool {
    // ASCII folding: every placeholder is ASCII, and `str::to_lowercase` would pull Unicode's
    // case tables (about 17 KB) into both wasm builds.
    let lower = value.trim().to_ascii_lowercase();
    // Compared letters and digits only, so a normal form (`sn:TOBEFILLEDBYO.E.M.`, spaces
    // gone) or another spelling (`N.A.`, `Default_String`) is recognised too.
    let squash = |s: &str| crate::util::keep_chars(s, &|c| c.is_ascii_alphanumeric());
    let squashed = squash(&lower);
    if !squashed.is_empty() && PLACEHOLDERS.iter().any(|p| squash(p) == squashed) {
        return true;
    }
    let mut significant = lower
        .chars()
        .filter(|c| !matches!(c, '-' | ':' | '.' | '_' | ' ' | '/' | '{' | '}'));
    match significant.next() {
        None => true,
        Some(first) => {
            matches!(first, '0' | 'f' | 'x' | '*' | '?') && significant.all(|c| c == first)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_notations() {
        for p in [
            "To be filled by O.E.M.",
            "Default string",
            " default string ",
            "0",
            "00000000-0000-0000-0000-000000000000",
            "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
            "",
            "N/A",
            "TOBEFILLEDBYO.E.M.",
            "DEFAULTSTRING",
            "Default_String",
        ] {
            assert!(is_placeholder(p), "{p:?}");
        }
        for real in ["S4EVNF0M712345X", "BFEBFBFF00090672", "10"] {
            assert!(!is_placeholder(real), "{real:?}");
        }
        assert_eq!(
            normalize_mac("00-1A-2b-3C-4d-5E").as_deref(),
            Some("00:1a:2b:3c:4d:5e")
        );
        assert_eq!(
            normalize_mac(" 001a2b3c4d5e ").as_deref(),
            Some("00:1a:2b:3c:4d:5e")
        );
        assert_eq!(normalize_mac("00:1a-2b:3c:4d:5e"), None);
        assert_eq!(normalize_mac("001A.2B3C-4D5E"), None);
    }

    #[test]
    fn normalizing_is_idempotent_and_drops_junk() {
        let raw = MachineFacts {
            machine_id: Some("  8F3B1C2D4E5F60718293A4B5C6D7E8F9\n".into()),
            product_uuid: Some("00000000-0000-0000-0000-000000000000".into()),
            board_serial: Some("To be filled by O.E.M.".into()),
            disk_serial: Some(" S4EVNF0M712345X\0".into()),
            cpu: Some("GenuineIntel   family 6\tmodel 158".into()),
            macs: alloc::vec![
                "04-7C-16-5E-E3-5D".into(),
                "047c.165e.e35d".into(),
                "00:00:00:00:00:00".into(),
                "junk".into(),
            ],
            cpu_id: Some(" bfebfbff 00090672\n".into()),
            custom: alloc::vec![
                " b".into(),
                "".into(),
                "a".into(),
                "b".into(),
                "\u{7}".into()
            ],
        };
        let n = raw.normalized();
        assert_eq!(n.cpu_id.as_deref(), Some("BFEBFBFF00090672"));
        assert_eq!(n.custom, alloc::vec![String::from("a"), String::from("b")]);
        assert_eq!(
            n.machine_id.as_deref(),
            Some("8f3b1c2d4e5f60718293a4b5c6d7e8f9")
        );
        assert_eq!(n.product_uuid, None);
        assert_eq!(n.board_serial, None);
        assert_eq!(n.disk_serial.as_deref(), Some("S4EVNF0M712345X"));
        assert_eq!(n.cpu.as_deref(), Some("GenuineIntel family 6 model 158"));
        assert_eq!(n.macs, alloc::vec![String::from("04:7c:16:5e:e3:5d")]);
        assert_eq!(n.normalized(), n);
    }
}
