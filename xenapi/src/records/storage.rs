//! Storage records: VBD (a disk slot of a VM), VDI (a virtual disk) and SR (its repository).

use serde::{Deserialize, Serialize};

use super::StringMap;
use crate::types::{DateTime, Ref};

/// Whether a VBD is read-only or read-write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VbdMode {
    /// Read-only.
    RO,
    /// Read-write.
    #[default]
    RW,
}

/// What a VBD presents to the guest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VbdType {
    /// A CD drive (maybe empty).
    CD,
    /// A disk.
    #[default]
    Disk,
    /// A floppy drive.
    Floppy,
}

/// `VBD.get_record`: the attachment of a VDI to a VM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs, clippy::struct_excessive_bools)] // Fields are XAPI's, documented by XAPI.
pub struct VbdRecord {
    pub uuid: String,
    #[serde(rename = "VM")]
    pub vm: Ref,
    #[serde(rename = "VDI")]
    pub vdi: Ref,
    pub device: String,
    pub userdevice: String,
    pub bootable: bool,
    pub mode: VbdMode,
    #[serde(rename = "type")]
    pub kind: VbdType,
    pub unpluggable: bool,
    pub storage_lock: bool,
    pub empty: bool,
    pub other_config: StringMap,
    pub currently_attached: bool,
    pub status_code: i64,
    pub status_detail: String,
    pub runtime_properties: StringMap,
    pub qos_algorithm_type: String,
    pub qos_algorithm_params: StringMap,
    pub qos_supported_algorithms: Vec<String>,
    pub allowed_operations: Vec<String>,
    pub current_operations: StringMap,
}

impl Default for VbdRecord {
    fn default() -> Self {
        VbdRecord {
            uuid: String::new(),
            vm: Ref::null(),
            vdi: Ref::null(),
            device: String::new(),
            userdevice: String::new(),
            bootable: false,
            mode: VbdMode::RW,
            kind: VbdType::Disk,
            unpluggable: true,
            storage_lock: false,
            empty: false,
            other_config: StringMap::new(),
            currently_attached: false,
            status_code: 0,
            status_detail: String::new(),
            runtime_properties: StringMap::new(),
            qos_algorithm_type: String::new(),
            qos_algorithm_params: StringMap::new(),
            qos_supported_algorithms: Vec::new(),
            allowed_operations: Vec::new(),
            current_operations: StringMap::new(),
        }
    }
}

/// `VDI.get_record`: a virtual disk (or a snapshot of one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs, clippy::struct_excessive_bools)] // Fields are XAPI's, documented by XAPI.
pub struct VdiRecord {
    pub uuid: String,
    pub name_label: String,
    pub name_description: String,
    #[serde(rename = "SR")]
    pub sr: Ref,
    #[serde(rename = "VBDs")]
    pub vbds: Vec<Ref>,
    pub virtual_size: i64,
    pub physical_utilisation: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub sharable: bool,
    pub read_only: bool,
    pub other_config: StringMap,
    pub storage_lock: bool,
    pub location: String,
    pub managed: bool,
    pub missing: bool,
    pub parent: Ref,
    pub sm_config: StringMap,
    pub xenstore_data: StringMap,
    pub is_a_snapshot: bool,
    pub snapshot_of: Ref,
    pub snapshots: Vec<Ref>,
    pub snapshot_time: DateTime,
    pub tags: Vec<String>,
    pub cbt_enabled: bool,
    pub allowed_operations: Vec<String>,
    pub current_operations: StringMap,
}

impl Default for VdiRecord {
    fn default() -> Self {
        VdiRecord {
            uuid: String::new(),
            name_label: String::new(),
            name_description: String::new(),
            sr: Ref::null(),
            vbds: Vec::new(),
            virtual_size: 0,
            physical_utilisation: 0,
            kind: "user".to_owned(),
            sharable: false,
            read_only: false,
            other_config: StringMap::new(),
            storage_lock: false,
            location: String::new(),
            managed: true,
            missing: false,
            parent: Ref::null(),
            sm_config: StringMap::new(),
            xenstore_data: StringMap::new(),
            is_a_snapshot: false,
            snapshot_of: Ref::null(),
            snapshots: Vec::new(),
            snapshot_time: DateTime::epoch(),
            tags: Vec::new(),
            cbt_enabled: false,
            allowed_operations: Vec::new(),
            current_operations: StringMap::new(),
        }
    }
}

/// `SR.get_record`: a storage repository.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)] // Fields are XAPI's, documented by XAPI.
pub struct SrRecord {
    pub uuid: String,
    pub name_label: String,
    pub name_description: String,
    #[serde(rename = "VDIs")]
    pub vdis: Vec<Ref>,
    #[serde(rename = "PBDs")]
    pub pbds: Vec<Ref>,
    pub virtual_allocation: i64,
    pub physical_utilisation: i64,
    pub physical_size: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub content_type: String,
    pub shared: bool,
    pub other_config: StringMap,
    pub sm_config: StringMap,
    pub tags: Vec<String>,
    pub allowed_operations: Vec<String>,
    pub current_operations: StringMap,
}
