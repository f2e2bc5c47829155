//! The engine's objects as they travel on the wire (XML), one definition for reading and
//! writing.
//!
//! Every field is optional: the engine leaves out what it does not set (and what needs
//! `all_content`), and requests carry only what they mean. Elements this crate does not
//! model are ignored when reading. Enumerations are strict: a value outside the API model's
//! list is a parse error naming the value, never silently mapped to something else.

mod common;
mod enums;
mod jobs;
mod storage;
mod vm;

pub use common::{Action, Fault, Ref};
pub use enums::{
    BackupPhase, BiosType, CheckpointState, ConfigurationType, DiskBackup, DiskBackupMode,
    DiskContentType, DiskFormat, DiskInterface, DiskStatus, DiskStorageType,
    ImageTransferDirection, ImageTransferPhase, ImageTransferTimeoutPolicy, JobStatus,
    NicInterface, SnapshotStatus, SnapshotType, StorageDomainType, StorageType, UnknownValue,
    VmStatus, VmType,
};
pub use jobs::{
    Backup, Backups, Checkpoint, Checkpoints, ImageTransfer, ImageTransfers, Job, Jobs,
};
pub use storage::{
    Disk, DiskAttachment, DiskAttachments, Disks, Snapshot, Snapshots, Storage, StorageDomain,
    StorageDomains,
};
pub use vm::{
    Bios, Boot, BootDevices, Cluster, Clusters, Configuration, Cpu, CpuTopology, Initialization,
    Mac, MemoryPolicy, Network, Networks, Nic, Nics, Os, Tag, Tags, Vm, Vms, VnicProfile,
    VnicProfiles,
};

/// Declares a wire struct: every field optional, left out of requests when `None`.
macro_rules! wire_struct {
    ($(#[$m:meta])* $name:ident $xml:literal {
        $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)?
    }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(rename = $xml, default)]
        pub struct $name {
            $(
                $(#[$fm])*
                #[serde(skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
        }
    };
}

/// Declares a collection: `<vms><vm/>…</vms>`.
macro_rules! wire_list {
    ($(#[$m:meta])* $name:ident $xml:literal, $item:ty, $item_xml:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(rename = $xml, default)]
        pub struct $name {
            /// The members, in the engine's order.
            #[serde(rename = $item_xml)]
            pub items: Vec<$item>,
        }

        impl From<Vec<$item>> for $name {
            fn from(items: Vec<$item>) -> Self {
                $name { items }
            }
        }
    };
}

pub(crate) use {wire_list, wire_struct};
