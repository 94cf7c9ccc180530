//! Linux: facts from `/etc`, `/proc` and `/sys`.
//!
//! Every path is taken relative to a root directory so that tests can run the collector
//! against a fake file system tree.

use std::fs;
use std::path::Path;

use crate::{clean_text, is_placeholder_mac, normalize_mac, MachineFacts};

/// Collects the facts of the system whose `/` is `root`. Anything unreadable is `None`.
pub(crate) fn collect_from_root(root: &Path) -> MachineFacts {
    MachineFacts {
        machine_id: read_value(&root.join("etc/machine-id"))
            .or_else(|| read_value(&root.join("var/lib/dbus/machine-id"))),
        product_uuid: read_value(&root.join("sys/class/dmi/id/product_uuid")),
        board_serial: read_value(&root.join("sys/class/dmi/id/board_serial")),
        disk_serial: root_disk_serial(root),
        cpu: fs::read_to_string(root.join("proc/cpuinfo"))
            .ok()
            .and_then(|text| cpu_identity(&text)),
        macs: physical_macs(root),
        ..Default::default()
    }
}

/// A small text file (sysfs attribute, machine-id), cleaned; `None` if unreadable or junk.
fn read_value(path: &Path) -> Option<String> {
    let bytes = fs::read(path).ok()?;
    clean_text(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

// ---------------------------------------------------------------------------------------
// CPU

/// Vendor, family, model, stepping and model name of the first processor listed in
/// `/proc/cpuinfo` (ARM kernels list implementer, architecture, variant, part and
/// revision instead). Frequencies and per-core fields are ignored.
pub(crate) fn cpu_identity(cpuinfo: &str) -> Option<String> {
    const NUMBERED: &[(&str, &str)] = &[
        ("cpu family", "family"),
        ("model", "model"),
        ("stepping", "stepping"),
        ("CPU implementer", "implementer"),
        ("CPU architecture", "architecture"),
        ("CPU variant", "variant"),
        ("CPU part", "part"),
        ("CPU revision", "revision"),
    ];
    let mut block: Vec<(&str, &str)> = Vec::new();
    for line in cpuinfo.lines() {
        if line.trim().is_empty() {
            if block.is_empty() {
                continue;
            }
            break; // End of the first processor's block.
        }
        if let Some((key, value)) = line.split_once(':') {
            block.push((key.trim(), value.trim()));
        }
    }
    let get = |name: &str| {
        block
            .iter()
            .find(|(key, value)| *key == name && !value.is_empty())
            .map(|(_, value)| *value)
    };

    let mut parts: Vec<String> = Vec::new();
    if let Some(vendor) = get("vendor_id") {
        parts.push(vendor.to_string());
    }
    for (key, label) in NUMBERED {
        if let Some(value) = get(key) {
            parts.push(format!("{label} {value}"));
        }
    }
    let identity = match (parts.is_empty(), get("model name")) {
        (_, None) => parts.join(" "),
        (true, Some(name)) => name.to_string(),
        (false, Some(name)) => format!("{} ({name})", parts.join(" ")),
    };
    clean_text(Some(identity))
}

// ---------------------------------------------------------------------------------------
// Root disk

/// The serial number of the disk that holds the root file system.
fn root_disk_serial(root: &Path) -> Option<String> {
    let device = root_block_device(root)?;
    let disk = whole_disk(root, &device, 0)?;
    disk_serial(root, &disk)
}

/// The kernel name (`sda2`, `nvme0n1p2`, `dm-0`) of the block device mounted at `/`.
fn root_block_device(root: &Path) -> Option<String> {
    let (dev_number, source) = match fs::read_to_string(root.join("proc/self/mountinfo")) {
        Ok(text) => root_mount_from_mountinfo(&text)?,
        Err(_) => (
            None,
            root_source_from_mounts(&fs::read_to_string(root.join("proc/mounts")).ok()?)?,
        ),
    };
    // Block devices have a real major number; btrfs and overlay report an anonymous
    // device (major 0), for which only the mount source says which disk it is.
    if let Some(number) = dev_number.filter(|n| !n.starts_with("0:")) {
        if let Some(name) = file_name_of(&root.join("sys/dev/block").join(&number)) {
            return Some(name);
        }
    }
    let relative = source.strip_prefix("/dev/")?;
    // `/dev/mapper/root` or `/dev/disk/by-uuid/...` are symlinks to the kernel name.
    let name = file_name_of(&root.join("dev").join(relative)).or_else(|| {
        Path::new(relative)
            .file_name()?
            .to_str()
            .map(str::to_string)
    })?;
    root.join("sys/class/block")
        .join(&name)
        .exists()
        .then_some(name)
}

/// `(major:minor, source)` of the last mount on `/` (the one that is visible).
///
/// A line reads `36 35 98:0 / / rw,noatime shared:1 - ext4 /dev/sda2 rw`: the fifth field
/// is the mount point, the third the device number, and the source follows the
/// file system type after the `-` separator.
fn root_mount_from_mountinfo(text: &str) -> Option<(Option<String>, String)> {
    text.lines()
        .filter_map(|line| {
            let (mount, fs_part) = line.split_once(" - ")?;
            let fields: Vec<&str> = mount.split_whitespace().collect();
            if fields.get(4) != Some(&"/") {
                return None;
            }
            let source = fs_part.split_whitespace().nth(1)?;
            Some((fields.get(2).map(|s| s.to_string()), unescape(source)))
        })
        .next_back()
}

/// The source of the last mount on `/` in `/proc/mounts` (`/dev/sda2 / ext4 rw 0 0`),
/// ignoring the `rootfs` pseudo-mount.
fn root_source_from_mounts(text: &str) -> Option<String> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let source = fields.next()?;
            (fields.next() == Some("/") && source.starts_with("/dev/")).then(|| unescape(source))
        })
        .next_back()
}

/// Undoes the octal escapes (`\040` for a space) the kernel writes in mount tables.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (bytes[i], octal) {
            (b'\\', Some(d)) => {
                let value = d.iter().fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The last component of `path` after resolving symlinks, if it exists.
fn file_name_of(path: &Path) -> Option<String> {
    let real = fs::canonicalize(path).ok()?;
    Some(real.file_name()?.to_str()?.to_string())
}

/// The whole disk under block device `name`: itself for a disk, the parent disk for a
/// partition, and for device-mapper or md devices (LVM, LUKS, RAID) the disk under
/// their first underlying device.
fn whole_disk(root: &Path, name: &str, depth: u8) -> Option<String> {
    let dir = root.join("sys/class/block").join(name);
    if depth > 8 || !dir.exists() {
        return None;
    }
    if let Ok(entries) = fs::read_dir(dir.join("slaves")) {
        let mut slaves: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .collect();
        slaves.sort();
        if let Some(first) = slaves.first() {
            return whole_disk(root, first, depth + 1);
        }
    }
    if !dir.join("partition").exists() {
        return Some(name.to_string());
    }
    // In sysfs a partition's directory lives inside its disk's directory.
    file_name_of(&dir.join("..")).or_else(|| Some(disk_of_partition_name(name)))
}

/// The disk a partition belongs to, from the names alone: `sda1` → `sda`,
/// `nvme0n1p2` → `nvme0n1`, `mmcblk0p1` → `mmcblk0`.
fn disk_of_partition_name(name: &str) -> String {
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
    match stem.strip_suffix('p') {
        // Disks whose own name ends in a digit separate the partition number with `p`.
        Some(disk) if disk.ends_with(|c: char| c.is_ascii_digit()) => disk.to_string(),
        _ => stem.to_string(),
    }
}

/// The serial number the kernel reports for whole disk `disk`.
fn disk_serial(root: &Path, disk: &str) -> Option<String> {
    let dir = root.join("sys/block").join(disk);
    // NVMe, MMC and some SCSI drivers: `device/serial`; virtio-blk: `serial`.
    read_value(&dir.join("device/serial"))
        .or_else(|| read_value(&dir.join("serial")))
        .or_else(|| vpd_unit_serial(&dir.join("device/vpd_pg80")))
}

/// The unit serial number in a SCSI "Vital Product Data" page 0x80 (SATA and SAS disks):
/// a four-byte header whose last two bytes give the length of the ASCII serial.
fn vpd_unit_serial(path: &Path) -> Option<String> {
    let page = fs::read(path).ok()?;
    if page.len() < 4 || page[1] != 0x80 {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([page[2], page[3]]));
    let serial = page.get(4..)?;
    let serial = &serial[..len.min(serial.len())];
    clean_text(Some(String::from_utf8_lossy(serial).into_owned()))
}

// ---------------------------------------------------------------------------------------
// Network interfaces

/// Name prefixes of interfaces that software creates: containers, bridges, tunnels,
/// VPNs, hypervisors.
const VIRTUAL_PREFIXES: &[&str] = &[
    "docker",
    "veth",
    "virbr",
    "br-",
    "tun",
    "tap",
    "wg",
    "tailscale",
    "zt",
    "vmnet",
    "vboxnet",
    "lxcbr",
    "lxdbr",
    "cni",
    "flannel",
    "cali",
    "vxlan",
    "dummy",
    "ifb",
];

/// Normalised, sorted, deduplicated MAC addresses of the physical network interfaces.
fn physical_macs(root: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(root.join("sys/class/net")) else {
        return Vec::new();
    };
    let mut macs: Vec<String> = entries
        .flatten()
        .filter(|entry| match entry.file_name().to_str() {
            Some(name) => is_physical_interface(name, &entry.path()),
            None => false,
        })
        .filter_map(|entry| fs::read_to_string(entry.path().join("address")).ok())
        .filter_map(|address| normalize_mac(&address))
        .filter(|mac| !is_placeholder_mac(mac))
        .collect();
    macs.sort();
    macs.dedup();
    macs
}

/// Whether `/sys/class/net/<name>` (at `dir`) is a network card rather than an interface
/// made by software.
///
/// A locally administered address alone does not disqualify an interface: cloud and
/// VM network cards often have one, and it is as stable as the card.
fn is_physical_interface(name: &str, dir: &Path) -> bool {
    if name == "lo" || VIRTUAL_PREFIXES.iter().any(|p| name.starts_with(p)) {
        return false;
    }
    // Hardware interfaces link to their bus device; software ones have no `device`.
    if fs::symlink_metadata(dir.join("device")).is_err() {
        return false;
    }
    // Software interfaces live under /sys/devices/virtual.
    let real = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let components: Vec<_> = real
        .components()
        .map(|c| c.as_os_str().to_owned())
        .collect();
    if components
        .windows(2)
        .any(|w| w[0] == "devices" && w[1] == "virtual")
    {
        return false;
    }
    if dir.join("bridge").exists() || dir.join("tun_flags").exists() {
        return false;
    }
    // addr_assign_type 1 (NET_ADDR_RANDOM): the driver invents a new address at every
    // boot, so the address identifies nothing.
    let random = fs::read_to_string(dir.join("addr_assign_type")).is_ok_and(|t| t.trim() == "1");
    !random
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A fake root file system in a temporary directory.
    struct Tree {
        dir: tempfile::TempDir,
    }

    impl Tree {
        fn new() -> Self {
            Tree {
                dir: tempfile::tempdir().unwrap(),
            }
        }

        fn root(&self) -> &Path {
            self.dir.path()
        }

        fn file(&self, path: &str, contents: impl AsRef<[u8]>) -> &Self {
            let path = self.root().join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, contents).unwrap();
            self
        }

        fn dir(&self, path: &str) -> &Self {
            fs::create_dir_all(self.root().join(path)).unwrap();
            self
        }

        /// Creates a symlink at `link` pointing to `target` (relative to the link).
        fn link(&self, link: &str, target: &str) -> &Self {
            let link = self.root().join(link);
            fs::create_dir_all(link.parent().unwrap()).unwrap();
            symlink(target, link).unwrap();
            self
        }

        /// A network interface as sysfs shows it: its directory under `devices_path`
        /// (relative to `sys/devices`), the class symlink, and for hardware a `device` link.
        fn nic(&self, name: &str, devices_path: &str, mac: &str) -> &Self {
            let real = format!("sys/devices/{devices_path}/net/{name}");
            self.file(&format!("{real}/address"), format!("{mac}\n"));
            self.file(&format!("{real}/addr_assign_type"), "0\n");
            if !devices_path.starts_with("virtual") {
                self.link(&format!("{real}/device"), "../../../");
            }
            self.link(
                &format!("sys/class/net/{name}"),
                &format!("../../devices/{devices_path}/net/{name}"),
            )
        }

        /// A disk with partitions, as sysfs shows it: real directories
        /// `sys/devices/<parent>/<disk>/<part>`, and links from `sys/block`,
        /// `sys/class/block` and `sys/dev/block`.
        fn disk(&self, parent: &str, disk: &str, major: u32, partitions: &[&str]) -> &Self {
            let real = format!("devices/{parent}/{disk}");
            self.dir(&format!("sys/{real}"));
            self.link(&format!("sys/block/{disk}"), &format!("../{real}"));
            self.link(&format!("sys/class/block/{disk}"), &format!("../../{real}"));
            self.link(
                &format!("sys/dev/block/{major}:0"),
                &format!("../../{real}"),
            );
            for (i, part) in partitions.iter().enumerate() {
                self.file(
                    &format!("sys/{real}/{part}/partition"),
                    format!("{}\n", i + 1),
                );
                self.link(
                    &format!("sys/class/block/{part}"),
                    &format!("../../{real}/{part}"),
                );
                self.link(
                    &format!("sys/dev/block/{major}:{}", i + 1),
                    &format!("../../{real}/{part}"),
                );
            }
            self
        }

        fn mountinfo(&self, dev: &str, source: &str, fstype: &str) -> &Self {
            self.file(
                "proc/self/mountinfo",
                format!(
                    "22 27 0:21 / /proc rw,relatime - proc proc rw\n\
                     27 1 {dev} / / rw,relatime shared:1 - {fstype} {source} rw\n\
                     28 27 0:25 / /boot rw - vfat /dev/sda1 rw\n"
                ),
            )
        }
    }

    #[test]
    fn nic_filtering_keeps_only_physical() {
        let t = Tree::new();
        t.nic("lo", "virtual", "00:00:00:00:00:00")
            .nic("eth0", "pci0000:00/0000:00:1f.6", "04:7C:16:5E:E3:5D")
            .nic("wlp2s0", "pci0000:00/0000:02:00.0", "a4:83:e7:01:02:03")
            // Locally administered but on a real (virtio) bus: kept.
            .nic(
                "ens3",
                "pci0000:00/0000:00:03.0/virtio2",
                "02:fc:00:00:00:01",
            )
            .nic("docker0", "virtual", "02:42:ac:11:00:01")
            .nic("veth12ab", "virtual", "6a:1b:2c:3d:4e:5f")
            .nic("br-4f3e2d", "virtual", "02:42:aa:bb:cc:dd")
            .nic("virbr0", "virtual", "52:54:00:12:34:56")
            .nic("wg0", "virtual", "00:00:00:00:00:00")
            .nic("bond0", "virtual", "04:7c:16:5e:e3:5e")
            // Named like a container interface although it has a device link: dropped.
            .nic("docker1", "pci0000:00/0000:00:1c.0", "10:20:30:40:50:60")
            // A device link but a path under devices/virtual: dropped.
            .nic("odd0", "virtual", "10:20:30:40:50:61")
            .link("sys/devices/virtual/net/odd0/device", "../../../")
            // Hardware with an all-zero address (e.g. a modem): dropped.
            .nic("wwan0", "pci0000:00/0000:03:00.0", "00:00:00:00:00:00")
            // A bridge and a tap device that somehow have a device link: dropped.
            .nic("lan0", "pci0000:00/0000:04:00.0", "10:20:30:40:50:62")
            .dir("sys/devices/pci0000:00/0000:04:00.0/net/lan0/bridge")
            .nic("vpn0", "pci0000:00/0000:05:00.0", "10:20:30:40:50:63")
            .file(
                "sys/devices/pci0000:00/0000:05:00.0/net/vpn0/tun_flags",
                "0x1002\n",
            )
            // A driver that makes up a new address at each boot: dropped.
            .nic(
                "usb0",
                "pci0000:00/0000:00:14.0/usb1/1-1",
                "3e:11:22:33:44:55",
            )
            .file(
                "sys/devices/pci0000:00/0000:00:14.0/usb1/1-1/net/usb0/addr_assign_type",
                "1\n",
            );

        assert_eq!(
            physical_macs(t.root()),
            [
                "02:fc:00:00:00:01",
                "04:7c:16:5e:e3:5d",
                "a4:83:e7:01:02:03"
            ]
        );
    }

    #[test]
    fn macs_are_sorted_and_deduplicated() {
        let t = Tree::new();
        // Two ports of a bond share an address; names sort differently from addresses.
        t.nic("eth0", "pci0000:00/0000:01:00.0", "ff:00:00:00:00:01")
            .nic("eth1", "pci0000:00/0000:01:00.1", "0A:00:00:00:00:02")
            .nic("eth2", "pci0000:00/0000:01:00.2", "0a:00:00:00:00:02")
            .nic("eth3", "pci0000:00/0000:01:00.3", "10:00:00:00:00:03")
            .nic(
                "ib0",
                "pci0000:00/0000:01:00.4",
                "80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0a:bc:de",
            );
        assert_eq!(
            physical_macs(t.root()),
            [
                "0a:00:00:00:00:02",
                "10:00:00:00:00:03",
                "ff:00:00:00:00:01"
            ]
        );
    }

    #[test]
    fn no_net_directory() {
        let t = Tree::new();
        assert!(physical_macs(t.root()).is_empty());
    }

    #[test]
    fn cpuinfo_x86_first_processor_without_mhz() {
        let cpuinfo = "processor\t: 0\n\
            vendor_id\t: GenuineIntel\n\
            cpu family\t: 6\n\
            model\t\t: 142\n\
            model name\t: Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz\n\
            stepping\t: 10\n\
            microcode\t: 0xf4\n\
            cpu MHz\t\t: 2100.000\n\
            flags\t\t: fpu vme de pse\n\
            \n\
            processor\t: 1\n\
            vendor_id\t: GenuineIntel\n\
            cpu family\t: 6\n\
            model\t\t: 142\n\
            model name\t: Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz\n\
            stepping\t: 10\n\
            cpu MHz\t\t: 799.932\n";
        let expected = "GenuineIntel family 6 model 142 stepping 10 \
                        (Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz)";
        assert_eq!(cpu_identity(cpuinfo).as_deref(), Some(expected));
        // Another moment, another clock speed: same identity.
        let later = cpuinfo.replace("2100.000", "3900.123");
        assert_eq!(cpu_identity(&later).as_deref(), Some(expected));
    }

    #[test]
    fn cpuinfo_arm_and_odd_inputs() {
        let arm = "processor\t: 0\n\
            BogoMIPS\t: 108.00\n\
            Features\t: fp asimd evtstrm crc32 cpuid\n\
            CPU implementer\t: 0x41\n\
            CPU architecture: 8\n\
            CPU variant\t: 0x0\n\
            CPU part\t: 0xd08\n\
            CPU revision\t: 3\n\
            \n\
            Hardware\t: BCM2835\n\
            Model\t\t: Raspberry Pi 4 Model B Rev 1.4\n";
        assert_eq!(
            cpu_identity(arm).as_deref(),
            Some("implementer 0x41 architecture 8 variant 0x0 part 0xd08 revision 3")
        );
        assert_eq!(
            cpu_identity("\nmodel name : ARMv7 Processor rev 4 (v7l)\n").as_deref(),
            Some("ARMv7 Processor rev 4 (v7l)")
        );
        assert_eq!(cpu_identity(""), None);
        assert_eq!(cpu_identity("processor : 0\ncpu MHz : 100\n"), None);
    }

    #[test]
    fn partition_names_to_disk_names() {
        for (part, disk) in [
            ("sda1", "sda"),
            ("sdb12", "sdb"),
            ("vda2", "vda"),
            ("xvda1", "xvda"),
            ("nvme0n1p2", "nvme0n1"),
            ("nvme10n1p15", "nvme10n1"),
            ("mmcblk0p1", "mmcblk0"),
        ] {
            assert_eq!(disk_of_partition_name(part), disk, "{part}");
        }
    }

    #[test]
    fn root_disk_serial_sata_partition() {
        let t = Tree::new();
        let scsi = "pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0";
        t.disk(&format!("{scsi}/block"), "sda", 8, &["sda1", "sda2"])
            .link("sys/block/sda/device", "../../../0:0:0:0")
            .file(
                &format!("sys/devices/{scsi}/serial"),
                "  S3Z9NB0K123456A \n",
            )
            .mountinfo("8:2", "/dev/sda2", "ext4");
        assert_eq!(root_block_device(t.root()).as_deref(), Some("sda2"));
        assert_eq!(
            root_disk_serial(t.root()).as_deref(),
            Some("S3Z9NB0K123456A")
        );
    }

    #[test]
    fn root_disk_serial_nvme_partition_on_btrfs() {
        let t = Tree::new();
        // The serial sits on the controller (`device` links to nvme0).
        let controller = "pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0";
        t.disk(controller, "nvme0n1", 259, &["nvme0n1p1", "nvme0n1p2"])
            .file(
                &format!("sys/devices/{controller}/serial"),
                "S4EWNX0R123456      \n",
            )
            .link("sys/block/nvme0n1/device", "..")
            // btrfs reports an anonymous device number: the source names the partition.
            .mountinfo("0:31", "/dev/nvme0n1p2", "btrfs");
        assert_eq!(root_block_device(t.root()).as_deref(), Some("nvme0n1p2"));
        assert_eq!(
            whole_disk(t.root(), "nvme0n1p2", 0).as_deref(),
            Some("nvme0n1")
        );
        assert_eq!(
            root_disk_serial(t.root()).as_deref(),
            Some("S4EWNX0R123456")
        );
    }

    #[test]
    fn root_disk_serial_through_lvm() {
        let t = Tree::new();
        let scsi = "pci0000:00/0000:00:17.0/ata2/host1/target1:0:0/1:0:0:0";
        t.disk(&format!("{scsi}/block"), "sdb", 8, &["sdb1", "sdb2"])
            .file("sys/block/sdb/device/serial", "WD-WX31A\n")
            .dir("sys/devices/virtual/block/dm-0/slaves")
            .link(
                "sys/devices/virtual/block/dm-0/slaves/sdb2",
                &format!("../../../../{scsi}/block/sdb/sdb2"),
            )
            .link("sys/class/block/dm-0", "../../devices/virtual/block/dm-0")
            .link("sys/dev/block/253:0", "../../devices/virtual/block/dm-0")
            .mountinfo("253:0", "/dev/mapper/vg-root", "xfs");
        assert_eq!(root_disk_serial(t.root()).as_deref(), Some("WD-WX31A"));
    }

    #[test]
    fn root_disk_serial_virtio_and_missing() {
        // virtio-blk without a serial: an empty attribute.
        let t = Tree::new();
        t.disk(
            "pci0000:00/0000:00:02.0/virtio1/block",
            "vda",
            254,
            &["vda1"],
        )
        .file("sys/block/vda/serial", "")
        .mountinfo("254:1", "/dev/vda1", "ext4");
        assert_eq!(root_disk_serial(t.root()), None);

        // virtio-blk with a serial, disk not partitioned.
        let t = Tree::new();
        t.disk("pci0000:00/0000:00:02.0/virtio1/block", "vda", 254, &[])
            .file("sys/block/vda/serial", "vol-0abc\n")
            .mountinfo("254:0", "/dev/vda", "ext4");
        assert_eq!(root_disk_serial(t.root()).as_deref(), Some("vol-0abc"));

        // A container: the root is an overlay, no disk at all.
        let t = Tree::new();
        t.mountinfo("0:52", "overlay", "overlay");
        assert_eq!(root_disk_serial(t.root()), None);

        // Nothing readable.
        assert_eq!(root_disk_serial(Tree::new().root()), None);
    }

    #[test]
    fn root_disk_serial_from_vpd_page_and_proc_mounts() {
        let t = Tree::new();
        let mut page = vec![0x00, 0x80, 0x00, 0x0c];
        page.extend_from_slice(b"  ZA1B2C3D  ");
        page.extend_from_slice(b"garbage");
        t.disk(
            "pci0000:00/0000:00:11.0/host2/target2:0:0/2:0:0:0/block",
            "sdc",
            8,
            &["sdc1"],
        )
        .file("sys/block/sdc/device/vpd_pg80", page)
        // No mountinfo: /proc/mounts, where `rootfs` comes first.
        .file(
            "proc/mounts",
            "rootfs / rootfs rw 0 0\n/dev/sdc1 / ext4 rw 0 0\nproc /proc proc rw 0 0\n",
        );
        assert_eq!(root_disk_serial(t.root()).as_deref(), Some("ZA1B2C3D"));
    }

    #[test]
    fn mount_table_parsing() {
        let info = "27 1 8:2 / / rw shared:1 - ext4 /dev/sda2 rw\n\
                    99 27 8:5 / / rw - ext4 /dev/disk\\040one rw\n\
                    30 27 8:1 / /boot rw - vfat /dev/sda1 rw\n";
        assert_eq!(
            root_mount_from_mountinfo(info),
            Some((Some("8:5".to_string()), "/dev/disk one".to_string()))
        );
        assert_eq!(root_mount_from_mountinfo("garbage\n\n"), None);
        assert_eq!(unescape(r"a\134b\0"), r"a\b\0");
    }

    #[test]
    fn full_collection_from_fake_root() {
        let t = Tree::new();
        t.file("etc/machine-id", "uninitialized\n")
            .file("var/lib/dbus/machine-id", "3D1219C7C4C5404AAA1F6D2A48ADFDA4\n")
            .file("sys/class/dmi/id/product_uuid", "4c4c4544-0042-3510-8052-b4c04f384d32\n")
            .file("sys/class/dmi/id/board_serial", "To be filled by O.E.M.\n")
            .file("proc/cpuinfo", "vendor_id : AuthenticAMD\ncpu family : 26\nmodel : 2\nmodel name : AMD EPYC\nstepping : 1\ncpu MHz : 2596.098\n")
            .nic("eth0", "pci0000:00/0000:00:03.0/virtio2", "02:fc:00:00:00:01")
            .nic("docker0", "virtual", "02:42:ac:11:00:01")
            .disk("pci0000:00/0000:00:02.0/virtio1/block", "vda", 254, &[])
            .file("sys/block/vda/serial", "overlayblk")
            .mountinfo("254:0", "/dev/vda", "ext4");
        let facts = crate::finish(collect_from_root(t.root()), true).unwrap();
        assert_eq!(
            facts,
            MachineFacts {
                machine_id: Some("3d1219c7c4c5404aaa1f6d2a48adfda4".into()),
                product_uuid: Some("4c4c4544-0042-3510-8052-b4c04f384d32".into()),
                board_serial: None,
                disk_serial: Some("overlayblk".into()),
                cpu: Some("AuthenticAMD family 26 model 2 stepping 1 (AMD EPYC)".into()),
                macs: vec!["02:fc:00:00:00:01".into()],
                ..Default::default()
            }
        );
    }

    #[test]
    fn unreadable_facts_are_none() {
        let t = Tree::new();
        // A directory where a file is expected cannot be read as one.
        t.dir("etc/machine-id").dir("sys/class/dmi/id/product_uuid");
        assert_eq!(collect_from_root(t.root()), MachineFacts::default());
    }
}
