//! Facts about a machine, as collected by the host (keyward-machine) or read from JSON.
//!
//! The core never reads them itself: it has no I/O. Raw values never leave the machine;
//! only salted, truncated hashes of them go into a [`crate::SystemIdCode`].

use alloc::string::String;
use alloc::vec::Vec;

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
}
