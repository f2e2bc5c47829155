//! Jobs, image transfers, VM backups and checkpoints.

use super::{
    BackupPhase, CheckpointState, Disk, DiskFormat, Disks, ImageTransferDirection,
    ImageTransferPhase, ImageTransferTimeoutPolicy, JobStatus, Ref, wire_list, wire_struct,
};

wire_struct! {
    /// An engine job (one per command; found by `correlation_id`).
    Job "job" {
        /// Its id.
        #[serde(rename = "@id")]
        id: String,
        /// Its API path.
        #[serde(rename = "@href")]
        href: String,
        /// What it does ("Adding Disk").
        description: String,
        /// Its state.
        status: JobStatus,
        /// Started (ISO 8601).
        start_time: String,
        /// Ended (ISO 8601).
        end_time: String,
        /// Started outside the engine.
        external: bool,
    }
}

wire_list!(
    /// Jobs.
    Jobs "jobs", Job, "job"
);

wire_struct! {
    /// An image transfer: the engine's ticket for moving a disk's bytes through imageio.
    ImageTransfer "image_transfer" {
        /// Its id.
        #[serde(rename = "@id")]
        id: String,
        /// Its API path.
        #[serde(rename = "@href")]
        href: String,
        /// Whether data moves.
        active: bool,
        /// Upload or download.
        direction: ImageTransferDirection,
        /// `raw`: the NBD backend (guest data, extents, any disk format).
        format: DiskFormat,
        /// Seconds without I/O before the engine acts (0: never).
        inactivity_timeout: u32,
        /// Where the transfer is.
        phase: ImageTransferPhase,
        /// The engine's imageio proxy (fallback).
        proxy_url: String,
        /// The host's imageio daemon (preferred).
        transfer_url: String,
        /// Download one layer only.
        shallow: bool,
        /// What happens when idle.
        timeout_policy: ImageTransferTimeoutPolicy,
        /// Bytes moved so far.
        transferred: u64,
        /// The host serving it.
        host: Ref,
        /// The image (volume).
        image: Ref,
        /// The disk (in requests).
        disk: Disk,
        /// A disk snapshot to download (a disk-snapshot id, not a VM snapshot id).
        snapshot: Ref,
        /// The VM backup it belongs to.
        backup: Ref,
    }
}

wire_list!(
    /// Image transfers.
    ImageTransfers "image_transfers", ImageTransfer, "image_transfer"
);

wire_struct! {
    /// A VM backup (the incremental backup API).
    Backup "backup" {
        /// Its id.
        #[serde(rename = "@id")]
        id: String,
        /// Its API path.
        #[serde(rename = "@href")]
        href: String,
        /// The checkpoint it is incremental from (absent: full).
        from_checkpoint_id: String,
        /// The checkpoint it creates.
        to_checkpoint_id: String,
        /// Its phase.
        phase: BackupPhase,
        /// Created (ISO 8601).
        creation_date: String,
        /// The disks it covers.
        disks: Disks,
        /// The snapshot the engine took for it (4.5).
        snapshot: Ref,
        /// The host running it.
        host: Ref,
    }
}

wire_list!(
    /// VM backups.
    Backups "backups", Backup, "backup"
);

wire_struct! {
    /// A checkpoint: the point an incremental backup starts from.
    Checkpoint "checkpoint" {
        /// Its id.
        #[serde(rename = "@id")]
        id: String,
        /// Its API path.
        #[serde(rename = "@href")]
        href: String,
        /// The checkpoint before it.
        parent_id: String,
        /// Created (ISO 8601).
        creation_date: String,
        /// Usable or not.
        state: CheckpointState,
        /// The disks it covers.
        disks: Disks,
    }
}

wire_list!(
    /// Checkpoints.
    Checkpoints "checkpoints", Checkpoint, "checkpoint"
);

impl ImageTransfer {
    /// The disk this transfer moves, by id, for requests.
    pub fn for_disk(disk_id: &str, direction: ImageTransferDirection) -> Self {
        ImageTransfer {
            disk: Some(Disk {
                id: Some(disk_id.to_owned()),
                ..Disk::default()
            }),
            direction: Some(direction),
            format: Some(DiskFormat::Raw),
            ..ImageTransfer::default()
        }
    }
}
