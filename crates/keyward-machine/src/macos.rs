//! macOS: facts from `ioreg`, `sysctl` and `networksetup`.

use crate::{normalize_mac, run_command, MachineFacts};

/// Collects what the system tools report. A tool that is missing or fails gives `None`.
pub(crate) fn collect() -> MachineFacts {
    let platform = run_command(
        "/usr/sbin/ioreg",
        &["-r", "-d", "1", "-c", "IOPlatformExpertDevice"],
    )
    .unwrap_or_default();
    MachineFacts {
        machine_id: ioreg_property(&platform, "IOPlatformUUID"),
        board_serial: ioreg_property(&platform, "IOPlatformSerialNumber"),
        cpu: run_command("/usr/sbin/sysctl", &["-n", "machdep.cpu.brand_string"]),
        macs: run_command("/usr/sbin/networksetup", &["-listallhardwareports"])
            .map(|text| hardware_port_macs(&text))
            .unwrap_or_default(),
        ..MachineFacts::default()
    }
}

/// The value of a string property in `ioreg` output: `  "IOPlatformUUID" = "ABC-..."`.
fn ioreg_property(text: &str, name: &str) -> Option<String> {
    let key = format!("\"{name}\"");
    text.lines().find_map(|line| {
        let value = line
            .trim()
            .strip_prefix(&key)?
            .trim_start()
            .strip_prefix('=')?;
        let value = value.trim().strip_prefix('"')?.strip_suffix('"')?;
        Some(value.to_string())
    })
}

/// MAC addresses of the hardware ports listed by `networksetup -listallhardwareports`,
/// leaving out bridges (such as the Thunderbolt bridge) and ports without an address.
fn hardware_port_macs(text: &str) -> Vec<String> {
    let mut macs = Vec::new();
    let mut device = "";
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("Device:") {
            device = name.trim();
        } else if let Some(address) = line.strip_prefix("Ethernet Address:") {
            if !device.starts_with("bridge") {
                macs.extend(normalize_mac(address));
            }
        }
    }
    macs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioreg_output() {
        let text = r#"+-o MacBookPro18,3  <class IOPlatformExpertDevice, id 0x100000212, registered>
    {
      "IOPlatformSerialNumber" = "C02XL0GYJGH5"
      "IOPlatformUUID" = "5B0E6A7C-1234-5678-9ABC-DEF012345678"
      "IOPlatformUUIDX" = "wrong"
      "model" = <"MacBookPro18,3">
    }
"#;
        assert_eq!(
            ioreg_property(text, "IOPlatformUUID").as_deref(),
            Some("5B0E6A7C-1234-5678-9ABC-DEF012345678")
        );
        assert_eq!(
            ioreg_property(text, "IOPlatformSerialNumber").as_deref(),
            Some("C02XL0GYJGH5")
        );
        assert_eq!(ioreg_property(text, "model"), None);
        assert_eq!(ioreg_property("", "IOPlatformUUID"), None);
    }

    #[test]
    fn networksetup_output() {
        let text = "\nHardware Port: Ethernet\nDevice: en0\nEthernet Address: 3c:22:fb:01:02:03\n\n\
                    Hardware Port: Wi-Fi\nDevice: en1\nEthernet Address: A4:83:E7:0A:0B:0C\n\n\
                    Hardware Port: Thunderbolt Bridge\nDevice: bridge0\nEthernet Address: 36:11:22:33:44:55\n\n\
                    Hardware Port: iPhone USB\nDevice: en5\nEthernet Address: N/A\n\n\
                    VLAN Configurations\n===================\n";
        assert_eq!(
            hardware_port_macs(text),
            ["3c:22:fb:01:02:03", "a4:83:e7:0a:0b:0c"]
        );
    }

    /// On other systems the tools are missing or fail: no panic, just fewer facts.
    #[test]
    fn collect_does_not_panic() {
        let facts = collect();
        if !cfg!(target_os = "macos") {
            assert_eq!(facts.machine_id, None);
        }
    }
}
