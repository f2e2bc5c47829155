//! The source VM, platform-neutral: what xen2ovirt needs to know about a VM to rebuild it
//! elsewhere (memory, vCPUs and their topology, firmware, PV or HVM, NICs with their MACs
//! and networks, disks with their sizes, positions and boot order).
//!
//! [`SourceVm::from_xapi`] maps XAPI's records onto it without any I/O; [`crate::xapi`]
//! reads the records from a pool.

use serde::Serialize;
use xenapi::records::{
    NetworkRecord, PowerState, VbdMode, VbdRecord, VbdType, VdiRecord, VifRecord, VmRecord,
};

/// How the guest is virtualised on the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Virtualisation {
    /// Paravirtualised (a Xen kernel, `pygrub` or a kernel from dom0).
    Pv,
    /// Fully virtualised (emulated firmware and devices, maybe PV drivers).
    Hvm,
    /// PVH (paravirtualised, no emulated devices).
    Pvh,
}

/// The VM's power state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Power {
    /// Shut down: its disks can be read.
    Halted,
    /// Running.
    Running,
    /// Paused in memory.
    Paused,
    /// Suspended to disk.
    Suspended,
}

/// The firmware the guest boots with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Firmware {
    /// A PC BIOS (PV guests are rebuilt on one: their boot loader is grub on the disk).
    Bios,
    /// UEFI.
    Uefi,
    /// UEFI with secure boot.
    UefiSecureBoot,
}

/// vCPUs and how they are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cpus {
    /// vCPUs at start.
    pub count: u32,
    /// vCPUs the guest may grow to.
    pub max: u32,
    /// Cores per socket (XAPI's `platform:cores-per-socket`, 1 when absent).
    pub cores_per_socket: u32,
}

impl Cpus {
    /// Sockets at start: `count / cores_per_socket`, or one socket per vCPU when the
    /// cores do not divide the count.
    pub fn sockets(&self) -> u32 {
        if self.count.is_multiple_of(self.cores_per_socket) {
            self.count / self.cores_per_socket
        } else {
            self.count
        }
    }

    /// Cores per socket at start (1 when they do not divide the count).
    pub fn cores(&self) -> u32 {
        if self.count.is_multiple_of(self.cores_per_socket) {
            self.cores_per_socket
        } else {
            1
        }
    }
}

/// A network interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceNic {
    /// Its position (XAPI's VIF `device`, 0 for the first).
    pub position: u32,
    /// Its MAC address, lower case (`aa:bb:cc:dd:ee:ff`).
    pub mac: String,
    /// Its MTU.
    pub mtu: u32,
    /// The name of the network it is on.
    pub network: String,
    /// That network's UUID.
    pub network_uuid: String,
    /// That network's bridge (`xenbr0`).
    pub bridge: String,
}

/// A disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceDisk {
    /// Its position (XAPI's `userdevice`: 0 for the first disk).
    pub position: u32,
    /// The guest's name for it (`xvda`), as XAPI last saw it; may be empty.
    pub device: String,
    /// The disk's name.
    pub name: String,
    /// The disk's UUID (what the source reads it by).
    pub uuid: String,
    /// Virtual size in bytes.
    pub size: u64,
    /// Bytes allocated on the source storage.
    pub allocated: u64,
    /// The storage repository it lives on.
    pub storage: String,
    /// XAPI's `bootable` flag.
    pub bootable: bool,
    /// Attached read-only.
    pub read_only: bool,
}

/// A VM as xen2ovirt rebuilds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceVm {
    /// Its name.
    pub name: String,
    /// Its UUID.
    pub uuid: String,
    /// Free text.
    pub description: String,
    /// Its power state when read.
    pub power: Power,
    /// Memory in bytes (the static maximum: what the guest sees).
    pub memory: u64,
    /// vCPUs.
    pub cpus: Cpus,
    /// PV, HVM or PVH.
    pub virtualisation: Virtualisation,
    /// Its firmware.
    pub firmware: Firmware,
    /// Its NICs, by position.
    pub nics: Vec<SourceNic>,
    /// Its disks in boot order: the boot disk first, then by position.
    pub disks: Vec<SourceDisk>,
    /// What the source has that is not migrated (CD drives, …), for the plan.
    pub left_out: Vec<String>,
}

/// One disk slot of a VM as XAPI describes it: the VBD, its VDI and the VDI's SR name.
#[derive(Debug, Clone)]
pub struct XapiDisk {
    /// The VBD.
    pub vbd: VbdRecord,
    /// Its VDI (`None` for an empty drive).
    pub vdi: Option<VdiRecord>,
    /// The name of the VDI's SR.
    pub sr_name: String,
}

/// Why a VM's records cannot be mapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingError(pub String);

impl std::fmt::Display for MappingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MappingError {}

fn number(what: &str, value: &str) -> Result<u32, MappingError> {
    value
        .trim()
        .parse()
        .map_err(|_| MappingError(format!("{what} `{value}` is not a number")))
}

fn positive(what: &str, value: i64) -> Result<u64, MappingError> {
    u64::try_from(value)
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| MappingError(format!("{what} is {value}")))
}

impl SourceVm {
    /// Maps a VM's records: the VM, its disk slots, and its VIFs with their networks.
    pub fn from_xapi(
        vm: &VmRecord,
        disks: &[XapiDisk],
        nics: &[(VifRecord, NetworkRecord)],
    ) -> Result<SourceVm, MappingError> {
        let name = &vm.name_label;
        let context = |e: MappingError| MappingError(format!("VM `{name}`: {}", e.0));
        let memory = positive("memory_static_max", vm.memory_static_max).map_err(context)?;
        let cpus = cpus(vm).map_err(context)?;
        let virtualisation = virtualisation(vm).map_err(context)?;
        let firmware = firmware(vm, virtualisation).map_err(context)?;
        let mut left_out = Vec::new();
        let mut mapped = Vec::new();
        for slot in disks {
            match disk(slot).map_err(context)? {
                Some(disk) => mapped.push(disk),
                None => left_out.push(format!(
                    "{} drive at position {}{}",
                    match slot.vbd.kind {
                        VbdType::CD => "CD",
                        VbdType::Floppy => "floppy",
                        VbdType::Disk => "empty disk",
                    },
                    slot.vbd.userdevice,
                    if slot.vbd.empty { " (empty)" } else { "" }
                )),
            }
        }
        mapped.sort_by_key(|d| d.position);
        if let Some(twice) = mapped.windows(2).find(|w| w[0].position == w[1].position) {
            return Err(context(MappingError(format!(
                "two disks at position {}",
                twice[0].position
            ))));
        }
        // The boot disk: the first bootable one, else the first one.
        if let Some(boot) = mapped.iter().position(|d| d.bootable) {
            let disk = mapped.remove(boot);
            mapped.insert(0, disk);
        }
        let mut nics = nics
            .iter()
            .map(|(vif, network)| nic(vif, network))
            .collect::<Result<Vec<_>, _>>()
            .map_err(context)?;
        nics.sort_by_key(|n| n.position);
        Ok(SourceVm {
            name: name.clone(),
            uuid: vm.uuid.clone(),
            description: vm.name_description.clone(),
            power: match vm.power_state {
                PowerState::Halted => Power::Halted,
                PowerState::Running => Power::Running,
                PowerState::Paused => Power::Paused,
                PowerState::Suspended => Power::Suspended,
            },
            memory,
            cpus,
            virtualisation,
            firmware,
            nics,
            disks: mapped,
            left_out,
        })
    }
}

fn cpus(vm: &VmRecord) -> Result<Cpus, MappingError> {
    let count = u32::try_from(positive("VCPUs_at_startup", vm.vcpus_at_startup)?)
        .map_err(|_| MappingError(format!("VCPUs_at_startup is {}", vm.vcpus_at_startup)))?;
    let max = u32::try_from(vm.vcpus_max.max(vm.vcpus_at_startup)).unwrap_or(count);
    let cores_per_socket = match vm.platform.get("cores-per-socket") {
        Some(text) => number("platform:cores-per-socket", text)?.max(1),
        None => 1,
    };
    Ok(Cpus {
        count,
        max,
        cores_per_socket,
    })
}

/// XAPI's `domain_type` when set, else (older pools) `HVM_boot_policy`.
fn virtualisation(vm: &VmRecord) -> Result<Virtualisation, MappingError> {
    match vm.domain_type.as_str() {
        "pvh" | "pv_in_pvh" => Ok(Virtualisation::Pvh),
        "unspecified" | "" if vm.is_hvm() => Ok(Virtualisation::Hvm),
        "hvm" => Ok(Virtualisation::Hvm),
        "pv" | "unspecified" | "" => Ok(Virtualisation::Pv),
        other => Err(MappingError(format!("domain_type `{other}` is unknown"))),
    }
}

/// `HVM_boot_params:firmware` (`bios` or `uefi`; XenServer 8 and XCP-ng 8) and
/// `platform:secureboot`. PV and PVH guests get a BIOS.
fn firmware(vm: &VmRecord, virtualisation: Virtualisation) -> Result<Firmware, MappingError> {
    if virtualisation != Virtualisation::Hvm {
        return Ok(Firmware::Bios);
    }
    match vm.hvm_boot_params.get("firmware").map(String::as_str) {
        None | Some("bios" | "") => Ok(Firmware::Bios),
        Some("uefi") => match vm.platform.get("secureboot").map(String::as_str) {
            Some("true" | "auto") => Ok(Firmware::UefiSecureBoot),
            None | Some("false" | "") => Ok(Firmware::Uefi),
            Some(other) => Err(MappingError(format!(
                "platform:secureboot `{other}` is unknown"
            ))),
        },
        Some(other) => Err(MappingError(format!(
            "HVM_boot_params:firmware `{other}` is unknown"
        ))),
    }
}

/// A disk slot that holds a disk; `None` for CD drives, floppies and empty slots.
fn disk(slot: &XapiDisk) -> Result<Option<SourceDisk>, MappingError> {
    let vbd = &slot.vbd;
    let (Some(vdi), VbdType::Disk, false) = (&slot.vdi, vbd.kind, vbd.empty) else {
        return Ok(None);
    };
    let position = number("VBD userdevice", &vbd.userdevice)?;
    let size = positive(
        &format!("the virtual size of disk `{}`", vdi.name_label),
        vdi.virtual_size,
    )?;
    Ok(Some(SourceDisk {
        position,
        device: vbd.device.clone(),
        name: vdi.name_label.clone(),
        uuid: vdi.uuid.clone(),
        size,
        allocated: u64::try_from(vdi.physical_utilisation).unwrap_or(0),
        storage: slot.sr_name.clone(),
        bootable: vbd.bootable,
        read_only: vbd.mode == VbdMode::RO || vdi.read_only,
    }))
}

fn nic(vif: &VifRecord, network: &NetworkRecord) -> Result<SourceNic, MappingError> {
    let mac = vif.mac.to_ascii_lowercase();
    if !is_mac(&mac) {
        return Err(MappingError(format!(
            "VIF {} has the MAC `{}`, not six hex pairs",
            vif.device, vif.mac
        )));
    }
    Ok(SourceNic {
        position: number("VIF device", &vif.device)?,
        mac,
        mtu: u32::try_from(vif.mtu).unwrap_or(1500),
        network: network.name_label.clone(),
        network_uuid: network.uuid.clone(),
        bridge: network.bridge.clone(),
    })
}

/// `aa:bb:cc:dd:ee:ff`.
fn is_mac(text: &str) -> bool {
    let parts: Vec<&str> = text.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests;
