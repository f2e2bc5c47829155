//! Disks, disk attachments, snapshots, storage domains.

use super::{
    DiskBackup, DiskBackupMode, DiskContentType, DiskFormat, DiskInterface, DiskStatus,
    DiskStorageType, Initialization, Ref, SnapshotStatus, SnapshotType, StorageDomainType,
    StorageType, Vm, wire_list, wire_struct,
};

wire_struct! {
    /// A disk (an image on a storage domain).
    Disk "disk" {
        /// Its id (also the id of its attachments).
        #[serde(rename = "@id")]
        id: String,
        /// Its API path.
        #[serde(rename = "@href")]
        href: String,
        /// Its name.
        name: String,
        /// Its alias (older engines' name).
        alias: String,
        /// Free text.
        description: String,
        /// `locked` while the engine works on it.
        status: DiskStatus,
        /// Image format.
        format: DiskFormat,
        /// Thin provisioned.
        sparse: bool,
        /// Virtual size in bytes.
        provisioned_size: u64,
        /// Bytes allocated on storage.
        actual_size: u64,
        /// Bytes allocated including snapshots.
        total_size: u64,
        /// Allocation to create a `cow` disk with on block storage (must hold the upload).
        initial_size: u64,
        /// Changed-block tracking.
        backup: DiskBackup,
        /// In a backup's disk list: how this disk is backed up.
        backup_mode: DiskBackupMode,
        /// What it holds.
        content_type: DiskContentType,
        /// How it is stored.
        storage_type: DiskStorageType,
        /// The id of its current volume (image).
        image_id: String,
        /// Attachable to several VMs at once.
        shareable: bool,
        /// Zeroed when removed.
        wipe_after_delete: bool,
        /// Where it lives.
        storage_domains: StorageDomains,
        /// In a snapshot's disk list, or to attach a snapshot of the disk: the VM snapshot.
        snapshot: Ref,
    }
}

wire_list!(
    /// Disks.
    Disks "disks", Disk, "disk"
);

wire_struct! {
    /// A disk plugged into a VM (its id is the disk's id).
    DiskAttachment "disk_attachment" {
        /// Its id (the disk's).
        #[serde(rename = "@id")]
        id: String,
        /// Its API path.
        #[serde(rename = "@href")]
        href: String,
        /// Plugged (active) or not.
        active: bool,
        /// Boot disk.
        bootable: bool,
        /// Bus.
        interface: DiskInterface,
        /// Device name in the guest (only with a guest agent).
        logical_name: String,
        /// Discard passed to storage.
        pass_discard: bool,
        /// Read-only for the guest.
        read_only: bool,
        /// The disk (a reference, or inline with `follow`, or a new disk in a request).
        disk: Disk,
        /// The VM.
        vm: Ref,
    }
}

wire_list!(
    /// Disk attachments.
    DiskAttachments "disk_attachments", DiskAttachment, "disk_attachment"
);

wire_struct! {
    /// A VM snapshot.
    Snapshot "snapshot" {
        /// Its id.
        #[serde(rename = "@id")]
        id: String,
        /// Its API path.
        #[serde(rename = "@href")]
        href: String,
        /// Its description (how backups name their snapshots).
        description: String,
        /// When it was taken.
        date: String,
        /// Whether memory was saved too.
        persist_memorystate: bool,
        /// `locked` while being taken or removed.
        snapshot_status: SnapshotStatus,
        /// `active` is the VM's current state, not a snapshot.
        snapshot_type: SnapshotType,
        /// The VM configuration at the time.
        vm: Box<Vm>,
        /// The OVF the snapshot froze, with `all_content`.
        initialization: Initialization,
        /// In a request: which disks to include (absent: all; empty: none).
        disk_attachments: DiskAttachments,
    }
}

wire_list!(
    /// Snapshots.
    Snapshots "snapshots", Snapshot, "snapshot"
);

wire_struct! {
    /// A storage domain.
    StorageDomain "storage_domain" {
        /// Its id.
        #[serde(rename = "@id")]
        id: String,
        /// Its API path.
        #[serde(rename = "@href")]
        href: String,
        /// Its name.
        name: String,
        /// Its role.
        #[serde(rename = "type")]
        domain_type: StorageDomainType,
        /// Its technology.
        storage: Storage,
        /// Free bytes.
        available: u64,
        /// Used bytes.
        used: u64,
        /// Bytes promised to disks.
        committed: u64,
        /// Whether discard reaches the storage.
        supports_discard: bool,
        /// Sector size.
        block_size: u32,
    }
}

wire_list!(
    /// Storage domains.
    StorageDomains "storage_domains", StorageDomain, "storage_domain"
);

wire_struct! {
    /// A storage domain's backing storage.
    Storage "storage" {
        /// Technology.
        #[serde(rename = "type")]
        storage_type: StorageType,
        /// Server address.
        address: String,
        /// Export path.
        path: String,
    }
}

impl StorageDomain {
    /// A reference to a storage domain by id, for requests.
    pub fn with_id(id: impl Into<String>) -> Self {
        StorageDomain {
            id: Some(id.into()),
            ..StorageDomain::default()
        }
    }

    /// A reference to a storage domain by name, for requests.
    pub fn with_name(name: impl Into<String>) -> Self {
        StorageDomain {
            name: Some(name.into()),
            ..StorageDomain::default()
        }
    }
}
