//! The VM record.

use serde::{Deserialize, Serialize};

use super::StringMap;
use crate::types::{DateTime, Ref};

/// A VM's power state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PowerState {
    /// Shut down.
    #[default]
    Halted,
    /// Paused in memory.
    Paused,
    /// Running.
    Running,
    /// Suspended to a disk.
    Suspended,
}

/// `VM.get_record`: a VM, a template or a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs, clippy::struct_excessive_bools)] // Fields are XAPI's, documented by XAPI.
pub struct VmRecord {
    pub uuid: String,
    pub name_label: String,
    pub name_description: String,
    pub power_state: PowerState,
    pub user_version: i64,
    pub is_a_template: bool,
    pub is_default_template: bool,
    pub is_a_snapshot: bool,
    pub snapshot_of: Ref,
    pub snapshots: Vec<Ref>,
    pub snapshot_time: DateTime,
    pub parent: Ref,
    pub resident_on: Ref,
    pub affinity: Ref,
    pub memory_target: i64,
    pub memory_static_max: i64,
    pub memory_dynamic_max: i64,
    pub memory_dynamic_min: i64,
    pub memory_static_min: i64,
    #[serde(rename = "VCPUs_params")]
    pub vcpus_params: StringMap,
    #[serde(rename = "VCPUs_max")]
    pub vcpus_max: i64,
    #[serde(rename = "VCPUs_at_startup")]
    pub vcpus_at_startup: i64,
    pub actions_after_shutdown: String,
    pub actions_after_reboot: String,
    pub actions_after_crash: String,
    #[serde(rename = "VIFs")]
    pub vifs: Vec<Ref>,
    #[serde(rename = "VBDs")]
    pub vbds: Vec<Ref>,
    #[serde(rename = "PV_bootloader")]
    pub pv_bootloader: String,
    #[serde(rename = "PV_kernel")]
    pub pv_kernel: String,
    #[serde(rename = "PV_ramdisk")]
    pub pv_ramdisk: String,
    #[serde(rename = "PV_args")]
    pub pv_args: String,
    #[serde(rename = "PV_bootloader_args")]
    pub pv_bootloader_args: String,
    #[serde(rename = "PV_legacy_args")]
    pub pv_legacy_args: String,
    #[serde(rename = "HVM_boot_policy")]
    pub hvm_boot_policy: String,
    #[serde(rename = "HVM_boot_params")]
    pub hvm_boot_params: StringMap,
    pub platform: StringMap,
    #[serde(rename = "PCI_bus")]
    pub pci_bus: String,
    pub other_config: StringMap,
    pub domid: i64,
    pub domarch: String,
    pub is_control_domain: bool,
    pub metrics: Ref,
    pub guest_metrics: Ref,
    pub recommendations: String,
    pub ha_always_run: bool,
    pub ha_restart_priority: String,
    pub tags: Vec<String>,
    pub blocked_operations: StringMap,
    pub allowed_operations: Vec<String>,
    pub current_operations: StringMap,
    pub xenstore_data: StringMap,
    pub has_vendor_device: bool,
    pub domain_type: String,
}

impl Default for VmRecord {
    /// XAPI's defaults for the fields that have one; neutral values for the rest.
    fn default() -> Self {
        VmRecord {
            uuid: String::new(),
            name_label: String::new(),
            name_description: String::new(),
            power_state: PowerState::Halted,
            user_version: 1,
            is_a_template: false,
            is_default_template: false,
            is_a_snapshot: false,
            snapshot_of: Ref::null(),
            snapshots: Vec::new(),
            snapshot_time: DateTime::epoch(),
            parent: Ref::null(),
            resident_on: Ref::null(),
            affinity: Ref::null(),
            memory_target: 0,
            memory_static_max: 0,
            memory_dynamic_max: 0,
            memory_dynamic_min: 0,
            memory_static_min: 0,
            vcpus_params: StringMap::new(),
            vcpus_max: 1,
            vcpus_at_startup: 1,
            actions_after_shutdown: "destroy".to_owned(),
            actions_after_reboot: "restart".to_owned(),
            actions_after_crash: "restart".to_owned(),
            vifs: Vec::new(),
            vbds: Vec::new(),
            pv_bootloader: String::new(),
            pv_kernel: String::new(),
            pv_ramdisk: String::new(),
            pv_args: String::new(),
            pv_bootloader_args: String::new(),
            pv_legacy_args: String::new(),
            hvm_boot_policy: String::new(),
            hvm_boot_params: StringMap::new(),
            platform: StringMap::new(),
            pci_bus: String::new(),
            other_config: StringMap::new(),
            domid: -1,
            domarch: String::new(),
            is_control_domain: false,
            metrics: Ref::null(),
            guest_metrics: Ref::null(),
            recommendations: String::new(),
            ha_always_run: false,
            ha_restart_priority: String::new(),
            tags: Vec::new(),
            blocked_operations: StringMap::new(),
            allowed_operations: Vec::new(),
            current_operations: StringMap::new(),
            xenstore_data: StringMap::new(),
            has_vendor_device: false,
            domain_type: "unspecified".to_owned(),
        }
    }
}

impl VmRecord {
    /// Whether the VM boots as an HVM guest (XAPI derives this from `HVM_boot_policy`).
    pub fn is_hvm(&self) -> bool {
        !self.hvm_boot_policy.is_empty()
    }
}
