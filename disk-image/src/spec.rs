//! What a VM to be packaged looks like, independent of where the description came from
//! (command-line flags, a xend guest configuration, a XenServer record).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How the VM boots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "mode")]
pub enum Boot {
    /// Fully virtualised, booting from its disks and CD in `order` (XAPI's `HVM_boot_params`
    /// order: `c` = disk, `d` = CD, `n` = network).
    Hvm {
        /// Boot device order, e.g. `cd`.
        order: String,
    },
    /// Paravirtualised.
    Pv {
        /// The bootloader run in dom0 (`pygrub`), when the kernel comes from the guest's disk.
        bootloader: Option<String>,
        /// A kernel stored on the host (`/boot/guest/<uuid>/vmlinuz`), when not booted by a
        /// bootloader.
        kernel: Option<String>,
        /// The matching initial ramdisk on the host.
        ramdisk: Option<String>,
        /// Kernel command line.
        args: String,
    },
}

/// Platform flags, written to the VM's `platform` map. They take effect: each is written as
/// `true` / `false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(clippy::struct_excessive_bools)] // Five independent hypervisor flags.
pub struct Platform {
    /// ACPI tables.
    pub acpi: bool,
    /// Local APIC.
    pub apic: bool,
    /// Physical address extension.
    pub pae: bool,
    /// No-execute page protection.
    pub nx: bool,
    /// Hyper-V enlightenments for Windows guests.
    pub viridian: bool,
}

impl Default for Platform {
    /// XenServer's defaults for a new guest: everything on but `nx`, as xva.py intended.
    fn default() -> Self {
        Platform {
            acpi: true,
            apic: true,
            pae: true,
            nx: false,
            viridian: true,
        }
    }
}

/// What the hypervisor does when the guest powers off, reboots or crashes (XAPI's
/// `actions_after_*`: `destroy`, `restart`, `preserve`, `coredump_and_destroy`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actions {
    /// After shutdown.
    pub shutdown: String,
    /// After reboot.
    pub reboot: String,
    /// After a crash.
    pub crash: String,
}

impl Default for Actions {
    fn default() -> Self {
        Actions {
            shutdown: "destroy".to_owned(),
            reboot: "restart".to_owned(),
            crash: "restart".to_owned(),
        }
    }
}

/// One disk of the VM, in VBD order (the first is the boot disk).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskSpec {
    /// The image or block device holding the disk's bytes.
    pub path: PathBuf,
    /// The guest device name the disk had (`xvda`, `hda`, `sda1`), if known.
    pub device: Option<String>,
    /// Whether the guest may write to it.
    pub writable: bool,
}

/// One network interface of the VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VifSpec {
    /// The MAC address, or `None` to let the host generate one.
    pub mac: Option<String>,
    /// The network (bridge) to connect to, matched on import by name, then by bridge.
    pub network: String,
}

impl VifSpec {
    /// The MAC address `text` in lower case, if it is six colon-separated pairs of hex digits.
    pub fn parse_mac(text: &str) -> Option<String> {
        let pairs: Vec<&str> = text.split(':').collect();
        let valid = pairs.len() == 6
            && pairs
                .iter()
                .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
        valid.then(|| text.to_ascii_lowercase())
    }
}

/// A VM to package as an XVA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmSpec {
    /// `name_label`.
    pub name: String,
    /// `name_description`.
    pub description: String,
    /// Memory at boot, in bytes.
    pub memory: u64,
    /// Maximum memory in bytes (xend's `maxmem`), at least `memory`.
    pub max_memory: Option<u64>,
    /// Virtual CPUs at boot.
    pub vcpus: u32,
    /// Maximum virtual CPUs (xend's `maxvcpus`), at least `vcpus`.
    pub max_vcpus: Option<u32>,
    /// How the VM boots.
    pub boot: Boot,
    /// Platform flags.
    pub platform: Platform,
    /// Power-state actions.
    pub actions: Actions,
    /// Disks, boot disk first.
    pub disks: Vec<DiskSpec>,
    /// Network interfaces, in device order.
    pub vifs: Vec<VifSpec>,
    /// Whether to add an empty CD drive (userdevice 3), as XenServer's HVM templates do.
    pub cd_drive: bool,
}

impl VmSpec {
    /// A VM with xva.py's defaults (256 MiB, 1 vCPU, HVM, default platform) and no disks.
    pub fn new(name: impl Into<String>) -> Self {
        VmSpec {
            name: name.into(),
            description: String::new(),
            memory: 256 << 20,
            max_memory: None,
            vcpus: 1,
            max_vcpus: None,
            boot: Boot::Hvm {
                order: "cd".to_owned(),
            },
            platform: Platform::default(),
            actions: Actions::default(),
            disks: Vec::new(),
            vifs: Vec::new(),
            cd_drive: true,
        }
    }
}
