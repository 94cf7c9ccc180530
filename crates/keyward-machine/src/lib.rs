//! The facts that identify a machine, for keyward system identification codes.
//!
//! [`collect`] reads them from the machine the program runs on; [`from_json_str`] and
//! [`from_json_file`] read them from a JSON document instead (for example facts gathered
//! on a customer's machine by another tool). Both paths apply the same [`normalize`]
//! rules, so the same machine yields the same [`MachineFacts`] either way.
//!
//! # What is collected
//!
//! On Linux:
//!
//! * `machine_id`: `/etc/machine-id`, falling back to `/var/lib/dbus/machine-id`;
//! * `product_uuid` and `board_serial`: `/sys/class/dmi/id/product_uuid` and
//!   `/sys/class/dmi/id/board_serial` (usually readable by root only);
//! * `disk_serial`: the serial number of the disk holding the root file system;
//! * `cpu`: vendor, family, model, stepping and model name of the first processor in
//!   `/proc/cpuinfo` (never the clock speed, which varies);
//! * `macs`: MAC addresses of physical network interfaces, ignoring loopback,
//!   bridges, tunnels, VPNs, containers and other virtual interfaces.
//!
//! On macOS `machine_id` is the `IOPlatformUUID` and `board_serial` the
//! `IOPlatformSerialNumber` reported by `ioreg`, `cpu` comes from `sysctl` and `macs`
//! from `networksetup -listallhardwareports`. On Windows `machine_id` is the registry's
//! `MachineGuid` and `cpu` the processor description, both read with `reg query`.
//! Elsewhere every fact is absent.
//!
//! A fact that cannot be read is `None` (or missing from `macs`): collection never fails.
//!
//! # Normalisation
//!
//! * Text values are trimmed and runs of white space inside them collapse to one space.
//! * Placeholder values that firmware vendors leave behind (`""`, `"None"`, `"0"`,
//!   `"To be filled by O.E.M."`, `"Default string"`, all-zero UUIDs, ...) become `None`.
//! * `machine_id` and `product_uuid` are lower-cased when they are hexadecimal
//!   identifiers (UUID case differs between tools but means nothing).
//! * MAC addresses are written `aa:bb:cc:dd:ee:ff`, sorted and deduplicated, so the
//!   order in which interfaces are found never changes the result. All-zero and
//!   broadcast addresses are dropped.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::path::Path;

pub use keyward_core::MachineFacts;

mod error;
mod json;

#[cfg(any(target_os = "linux", target_os = "android", test))]
#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
mod linux;

// The macOS and Windows collectors only run on their own platforms, but their output
// parsers are compiled and unit-tested everywhere.
#[cfg(any(target_os = "macos", test))]
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
mod macos;

#[cfg(any(windows, test))]
#[cfg_attr(not(windows), allow(dead_code))]
mod windows;

pub use error::FactsError;

/// Collects the facts of the machine this program runs on, normalised.
///
/// Never fails and never panics: a fact that cannot be read (missing file, no
/// permission, unsupported platform, virtual hardware without a serial number) is
/// simply `None`, and an interface whose address cannot be read is left out of `macs`.
///
/// Some facts need privileges: on most Linux systems the DMI `product_uuid` and
/// `board_serial` are readable by root only, so running as an ordinary user yields
/// fewer facts than running as root.
pub fn collect() -> MachineFacts {
    let mut facts = platform_facts();
    facts.cpu_id = facts.cpu_id.or_else(processor_id);
    finish(facts, false).unwrap_or_default()
}

/// The processor id as Windows' `wmic cpu get ProcessorId` prints it, and as the
/// marketplace's fingerprint carries it: CPUID leaf 1's EDX, then EAX, as 16 upper-case
/// hexadecimal digits (`BFEBFBFF00090672`). Read with the CPUID instruction, so the same
/// on every operating system; `None` on processors without CPUID.
#[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
pub fn processor_id() -> Option<String> {
    #[cfg(target_arch = "x86")]
    use std::arch::x86::__cpuid;
    #[cfg(target_arch = "x86_64")]
    use std::arch::x86_64::__cpuid;
    // Every x86-64 processor has CPUID leaf 1; 32-bit x86 ones since the Pentium.
    let leaf = __cpuid(1);
    Some(format!("{:08X}{:08X}", leaf.edx, leaf.eax))
}

/// The processor id (see the x86 version): other processors have none.
#[cfg(not(any(target_arch = "x86_64", target_arch = "x86")))]
pub fn processor_id() -> Option<String> {
    None
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn platform_facts() -> MachineFacts {
    linux::collect_from_root(Path::new("/"))
}

#[cfg(target_os = "macos")]
fn platform_facts() -> MachineFacts {
    macos::collect()
}

#[cfg(windows)]
fn platform_facts() -> MachineFacts {
    windows::collect()
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    windows
)))]
fn platform_facts() -> MachineFacts {
    MachineFacts::default()
}

/// Parses machine facts from a JSON document and normalises them.
///
/// The document is one object; every field is optional:
///
/// ```json
/// {
///   "machine_id": "3d1219c7c4c5404aaa1f6d2a48adfda4",
///   "product_uuid": "4c4c4544-0042-3510-8052-b4c04f384d32",
///   "board_serial": "/7QZ8DX2/CNWS20089O00JG/",
///   "disk_serial": "S4EWNX0R123456",
///   "cpu": "GenuineIntel family 6 model 142 stepping 10 (Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz)",
///   "macs": ["04:7c:16:5e:e3:5d"],
///   "cpu_id": "BFEBFBFF000906EA",
///   "custom": ["ACME-DONGLE-7"]
/// }
/// ```
///
/// `cpu_id` is the processor id (`wmic cpu get ProcessorId`, [`processor_id`]), and
/// `custom` lists identifiers the software vouches for (`custom:` hardware identification
/// codes bind to them).
///
/// Text fields may be `null`. MAC addresses may use any notation [`normalize_mac`]
/// accepts.
///
/// # Errors
///
/// [`FactsError::Syntax`] if the text is not JSON, [`FactsError::UnknownField`] for a
/// field not listed above, [`FactsError::InvalidValue`] for a value of the wrong type,
/// and [`FactsError::InvalidMac`] for a string in `macs` that is not a MAC address.
///
/// ```
/// let facts = keyward_machine::from_json_str(r#"{"macs": ["04-7C-16-5E-E3-5D"]}"#)?;
/// assert_eq!(facts.macs, ["04:7c:16:5e:e3:5d"]);
/// assert_eq!(facts.machine_id, None);
/// # Ok::<(), keyward_machine::FactsError>(())
/// ```
pub fn from_json_str(s: &str) -> Result<MachineFacts, FactsError> {
    json::parse(s, None)
}

/// Reads machine facts from a JSON file (see [`from_json_str`] for the format) and
/// normalises them.
///
/// # Errors
///
/// [`FactsError::Read`] if the file cannot be read; otherwise the errors of
/// [`from_json_str`], which then name the file.
pub fn from_json_file(path: &Path) -> Result<MachineFacts, FactsError> {
    let text = std::fs::read_to_string(path).map_err(|error| FactsError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    json::parse(&text, Some(path))
}

/// Applies the normalisation rules (see the [crate documentation](crate)) to facts
/// obtained some other way.
///
/// Normalising twice gives the same result as normalising once.
///
/// # Errors
///
/// [`FactsError::InvalidMac`] if an entry of `macs` is not a MAC address. An empty
/// entry is not an error: it is dropped, like an all-zero address.
pub fn normalize(facts: MachineFacts) -> Result<MachineFacts, FactsError> {
    finish(facts, true)
}

pub use keyward_core::facts::normalize_mac;

/// Runs a system tool and returns its standard output, or `None` if it cannot be started
/// or reports failure.
#[cfg(any(target_os = "macos", windows, test))]
fn run_command(program: &str, args: &[&str]) -> Option<String> {
    use std::process::{Command, Stdio};

    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        /// Do not flash a console window when called from a GUI program.
        const CREATE_NO_WINDOW: u32 = 0x0800_0000;
        command.creation_flags(CREATE_NO_WINDOW);
    }
    let output = command.output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Normalises every field with keyward-core's rules ([`MachineFacts::normalized`], which
/// [`keyward_core::SystemIdCode::compute`] applies too, so every host gets the same code).
/// With `strict`, an entry of `macs` that is not a MAC address is an error; otherwise it
/// is dropped (collection must never fail).
fn finish(facts: MachineFacts, strict: bool) -> Result<MachineFacts, FactsError> {
    if strict {
        if let Some(raw) = facts
            .macs
            .iter()
            .find(|m| !m.trim().is_empty() && normalize_mac(m).is_none())
        {
            return Err(FactsError::InvalidMac {
                value: raw.clone(),
                path: None,
            });
        }
    }
    Ok(facts.normalized())
}

/// All-zero and broadcast addresses never identify an interface.
#[cfg(any(target_os = "linux", target_os = "android", test))]
pub(crate) fn is_placeholder_mac(mac: &str) -> bool {
    mac == "00:00:00:00:00:00" || mac == "ff:ff:ff:ff:ff:ff"
}

/// Trims, collapses inner white space, and turns placeholders into `None`
/// ([`keyward_core::facts::clean_text`]).
#[cfg(any(target_os = "linux", target_os = "android", test))]
pub(crate) fn clean_text(value: Option<String>) -> Option<String> {
    keyward_core::facts::clean_text(value.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts_with(f: impl FnOnce(&mut MachineFacts)) -> MachineFacts {
        let mut facts = MachineFacts::default();
        f(&mut facts);
        facts
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_processor_id_is_cpuid_leaf_1_as_wmic_prints_it() {
        let id = processor_id().unwrap();
        assert_eq!(id.len(), 16, "{id}");
        assert!(id
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
        // EDX of leaf 1 has the FPU (bit 0), TSC (bit 4) and SSE2 (bit 26) flags on
        // every x86-64 processor.
        let edx = u32::from_str_radix(&id[..8], 16).unwrap();
        assert_eq!(edx & (1 | 1 << 4 | 1 << 26), 1 | 1 << 4 | 1 << 26, "{id}");
        assert_eq!(collect().cpu_id.as_deref(), Some(&id[..]));
    }

    #[test]
    fn mac_notations() {
        for s in [
            "00-1a-2B-3c-4d-5e",
            "001A.2B3C.4D5E",
            "00:1a:2b:3c:4d:5e",
            "001a2b3c4d5e",
            "  00:1A:2B:3C:4D:5E\n",
        ] {
            assert_eq!(
                normalize_mac(s).as_deref(),
                Some("00:1a:2b:3c:4d:5e"),
                "{s}"
            );
        }
    }

    #[test]
    fn mac_rejects() {
        for s in [
            "",
            "00:1a:2b:3c:4d",
            "00:1a:2b:3c:4d:5e:6f",
            "00:1a-2b:3c:4d:5e",
            "00.1a.2b.3c.4d.5e",
            "001a:2b3c:4d5e",
            "0:1a:2b:3c:4d:5e:",
            "00:1a:2b:3c:4d:5g",
            "001a2b3c4d5",
            "+01a2b3c4d5e",
            "00 1a 2b 3c 4d 5e",
            "é1:1a:2b:3c:4d:5",
            "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00",
        ] {
            assert_eq!(normalize_mac(s), None, "{s:?}");
        }
    }

    #[test]
    fn placeholders_become_none() {
        for junk in [
            "",
            "   ",
            "None",
            "NONE",
            "To be filled by O.E.M.",
            "to be filled by o.e.m.",
            "Default string",
            "0",
            "00000000",
            "00000000-0000-0000-0000-000000000000",
            "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
            "03000200-0400-0500-0006-000700080009",
            "Not Specified",
            "System Serial Number",
            "\0\0\0",
            "uninitialized",
            "XXXXXXXXXX",
        ] {
            assert_eq!(clean_text(Some(junk.to_string())), None, "{junk:?}");
        }
    }

    #[test]
    fn real_values_are_kept_and_tidied() {
        assert_eq!(
            clean_text(Some("  WD-WX31A  ".into())).as_deref(),
            Some("WD-WX31A")
        );
        assert_eq!(
            clean_text(Some("Intel(R)  Core(TM)\ti7 \0".into())).as_deref(),
            Some("Intel(R) Core(TM) i7")
        );
        // Numbers that are not a repeated placeholder digit stay.
        assert_eq!(clean_text(Some("1111".into())).as_deref(), Some("1111"));
        assert_eq!(clean_text(Some("10".into())).as_deref(), Some("10"));
        let id = |s: &str| facts_with(|f| f.product_uuid = Some(s.into())).normalized();
        assert_eq!(
            id("4C4C4544-0042-3510-8052-B4C04F384D32")
                .product_uuid
                .as_deref(),
            Some("4c4c4544-0042-3510-8052-b4c04f384d32")
        );
        // Not a hex identifier: case is kept.
        assert_eq!(
            id("VMware-42 1c").product_uuid.as_deref(),
            Some("VMware-42 1c")
        );
    }

    #[test]
    fn normalize_sorts_dedups_and_drops_junk() {
        let facts = facts_with(|f| {
            f.machine_id = Some(" 3D1219C7C4C5404AAA1F6D2A48ADFDA4\n".into());
            f.board_serial = Some("Default string".into());
            f.cpu = Some("  AuthenticAMD ".into());
            f.macs = vec![
                "04-7C-16-5E-E3-5D".into(),
                "00:1a:2b:3c:4d:5e".into(),
                "047c.165e.e35d".into(),
                "".into(),
                "00:00:00:00:00:00".into(),
                "FF:FF:FF:FF:FF:FF".into(),
            ];
        });
        let got = normalize(facts).unwrap();
        assert_eq!(
            got,
            facts_with(|f| {
                f.machine_id = Some("3d1219c7c4c5404aaa1f6d2a48adfda4".into());
                f.cpu = Some("AuthenticAMD".into());
                f.macs = vec!["00:1a:2b:3c:4d:5e".into(), "04:7c:16:5e:e3:5d".into()];
            })
        );
        assert_eq!(normalize(got.clone()).unwrap(), got);
    }

    #[test]
    fn normalize_rejects_bad_mac_by_name() {
        let facts = facts_with(|f| f.macs = vec!["00:1a:2b:3c:4d:5e".into(), "eth0".into()]);
        let err = normalize(facts).unwrap_err();
        assert!(matches!(&err, FactsError::InvalidMac { value, .. } if value == "eth0"));
        assert!(err.to_string().contains("`eth0`"), "{err}");
    }

    #[test]
    fn lossy_finish_drops_bad_mac() {
        let facts = facts_with(|f| f.macs = vec!["eth0".into(), "00:1a:2b:3c:4d:5e".into()]);
        assert_eq!(finish(facts, false).unwrap().macs, ["00:1a:2b:3c:4d:5e"]);
    }

    /// Runs on the real machine: whatever it finds, it must not panic and the result
    /// must already be normalised.
    #[test]
    fn collect_on_this_machine() {
        let facts = collect();
        assert!(
            facts.macs.windows(2).all(|w| w[0] < w[1]),
            "{:?}",
            facts.macs
        );
        for mac in &facts.macs {
            assert_eq!(normalize_mac(mac).as_deref(), Some(mac.as_str()));
        }
        assert_eq!(normalize(facts.clone()).unwrap(), facts);
        assert_eq!(collect(), facts, "collection is deterministic");
    }
}
