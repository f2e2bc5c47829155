//! The API model's enumerations (lowercase on the wire), complete as of API 4.6.

use std::fmt;
use std::str::FromStr;

/// A value the API model does not list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a known {kind}")]
pub struct UnknownValue {
    kind: &'static str,
    value: String,
}

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        pub enum $name {
            $($(#[$vm])* $variant,)+
        }

        impl $name {
            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(text: &str) -> Result<Self, UnknownValue> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue { kind: stringify!($name), value: text.to_owned() }),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = UnknownValue;
            fn try_from(text: String) -> Result<Self, UnknownValue> {
                text.trim().parse()
            }
        }

        impl From<$name> for &'static str {
            fn from(value: $name) -> &'static str {
                value.as_str()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum! {
    /// A VM's run state.
    VmStatus {
        /// Powered off.
        Down = "down",
        /// Its disks are locked (snapshot, copy).
        ImageLocked = "image_locked",
        /// Moving to another host.
        Migrating = "migrating",
        /// Its host does not answer.
        NotResponding = "not_responding",
        /// Paused.
        Paused = "paused",
        /// Shutting down.
        PoweringDown = "powering_down",
        /// Booting.
        PoweringUp = "powering_up",
        /// Rebooting.
        RebootInProgress = "reboot_in_progress",
        /// Being resumed from a saved state.
        RestoringState = "restoring_state",
        /// Its state is being saved.
        SavingState = "saving_state",
        /// Suspended to disk.
        Suspended = "suspended",
        /// Not assigned to a host.
        Unassigned = "unassigned",
        /// Unknown to the engine.
        Unknown = "unknown",
        /// Running.
        Up = "up",
        /// Waiting for a host.
        WaitForLaunch = "wait_for_launch",
    }
}

wire_enum! {
    /// A disk's state: `locked` while the engine works on it.
    DiskStatus {
        /// Unusable (a failed operation).
        Illegal = "illegal",
        /// Busy.
        Locked = "locked",
        /// Ready.
        Ok = "ok",
    }
}

wire_enum! {
    /// A snapshot's state.
    SnapshotStatus {
        /// Being previewed.
        InPreview = "in_preview",
        /// Being created or removed.
        Locked = "locked",
        /// Ready.
        Ok = "ok",
    }
}

wire_enum! {
    /// What a snapshot is; every VM has one `active` snapshot, its current state.
    SnapshotType {
        /// The VM's current state (not a real snapshot).
        Active = "active",
        /// A preview.
        Preview = "preview",
        /// A snapshot someone took.
        Regular = "regular",
        /// The state of a stateless VM.
        Stateless = "stateless",
    }
}

wire_enum! {
    /// A job's state.
    JobStatus {
        /// Aborted.
        Aborted = "aborted",
        /// Failed.
        Failed = "failed",
        /// Done.
        Finished = "finished",
        /// Running.
        Started = "started",
        /// Unknown to the engine.
        Unknown = "unknown",
    }
}

wire_enum! {
    /// Where an image transfer is (the engine's state machine).
    ImageTransferPhase {
        /// Cancelled.
        Cancelled = "cancelled",
        /// Cancelled by the system.
        CancelledSystem = "cancelled_system",
        /// Cancelled by the user.
        CancelledUser = "cancelled_user",
        /// Cleaning up.
        FinalizingCleanup = "finalizing_cleanup",
        /// Finalizing after a failure.
        FinalizingFailure = "finalizing_failure",
        /// Finalizing (verifying) after success.
        FinalizingSuccess = "finalizing_success",
        /// Cleaned up.
        FinishedCleanup = "finished_cleanup",
        /// Ended in failure.
        FinishedFailure = "finished_failure",
        /// Ended in success.
        FinishedSuccess = "finished_success",
        /// Preparing the ticket.
        Initializing = "initializing",
        /// Paused by the system.
        PausedSystem = "paused_system",
        /// Paused by the user.
        PausedUser = "paused_user",
        /// Resuming.
        Resuming = "resuming",
        /// Ready for data.
        Transferring = "transferring",
        /// Unknown.
        Unknown = "unknown",
    }
}

wire_enum! {
    /// Which way an image transfer moves data.
    ImageTransferDirection {
        /// From the engine to us.
        Download = "download",
        /// From us to the engine.
        Upload = "upload",
    }
}

wire_enum! {
    /// What the engine does with an idle transfer.
    ImageTransferTimeoutPolicy {
        /// Cancel it.
        Cancel = "cancel",
        /// The engine's old behaviour (pause uploads, cancel downloads).
        Legacy = "legacy",
        /// Pause it.
        Pause = "pause",
    }
}

wire_enum! {
    /// A VM backup's phase.
    BackupPhase {
        /// Failed.
        Failed = "failed",
        /// Being finalized.
        Finalizing = "finalizing",
        /// Being prepared.
        Initializing = "initializing",
        /// Disks can be downloaded.
        Ready = "ready",
        /// Starting.
        Starting = "starting",
        /// Finished.
        Succeeded = "succeeded",
    }
}

wire_enum! {
    /// Whether a disk takes part in incremental backups.
    DiskBackup {
        /// Changed-block tracking on (qcow2 only).
        Incremental = "incremental",
        /// Full backups only.
        None = "none",
    }
}

wire_enum! {
    /// How a disk is backed up in one backup.
    DiskBackupMode {
        /// Everything.
        Full = "full",
        /// What changed since the checkpoint.
        Incremental = "incremental",
    }
}

wire_enum! {
    /// A VM's firmware and chipset.
    BiosType {
        /// The cluster's default.
        ClusterDefault = "cluster_default",
        /// i440fx with `SeaBIOS`.
        I440fxSeaBios = "i440fx_sea_bios",
        /// Q35 with UEFI.
        Q35Ovmf = "q35_ovmf",
        /// Q35 with `SeaBIOS`.
        Q35SeaBios = "q35_sea_bios",
        /// Q35 with UEFI secure boot.
        Q35SecureBoot = "q35_secure_boot",
    }
}

wire_enum! {
    /// What a disk holds.
    DiskContentType {
        /// A backup scratch disk.
        BackupScratch = "backup_scratch",
        /// Guest data.
        Data = "data",
        /// Hosted engine.
        HostedEngine = "hosted_engine",
        /// Hosted engine configuration.
        HostedEngineConfiguration = "hosted_engine_configuration",
        /// Hosted engine metadata.
        HostedEngineMetadata = "hosted_engine_metadata",
        /// Hosted engine lock space.
        HostedEngineSanlock = "hosted_engine_sanlock",
        /// An ISO image.
        Iso = "iso",
        /// A memory dump.
        MemoryDumpVolume = "memory_dump_volume",
        /// Memory metadata.
        MemoryMetadataVolume = "memory_metadata_volume",
        /// An OVF store.
        OvfStore = "ovf_store",
    }
}

wire_enum! {
    /// How a disk is stored.
    DiskStorageType {
        /// Cinder.
        Cinder = "cinder",
        /// An image on a storage domain.
        Image = "image",
        /// A direct LUN.
        Lun = "lun",
        /// Managed block storage.
        ManagedBlockStorage = "managed_block_storage",
    }
}

wire_enum! {
    /// A storage domain's role.
    StorageDomainType {
        /// VM disks.
        Data = "data",
        /// Export domain.
        Export = "export",
        /// Image provider.
        Image = "image",
        /// ISO images.
        Iso = "iso",
        /// Managed block storage.
        ManagedBlockStorage = "managed_block_storage",
        /// Volume provider.
        Volume = "volume",
    }
}

wire_enum! {
    /// A storage domain's technology; `iscsi` and `fcp` are block domains.
    StorageType {
        /// Cinder.
        Cinder = "cinder",
        /// Fibre channel (block).
        Fcp = "fcp",
        /// Glance.
        Glance = "glance",
        /// Gluster.
        Glusterfs = "glusterfs",
        /// iSCSI (block).
        Iscsi = "iscsi",
        /// Local storage.
        Localfs = "localfs",
        /// Managed block storage.
        ManagedBlockStorage = "managed_block_storage",
        /// NFS.
        Nfs = "nfs",
        /// POSIX file system.
        Posixfs = "posixfs",
    }
}

impl StorageType {
    /// Block storage, where `raw` disks cannot be sparse.
    pub fn is_block(self) -> bool {
        matches!(self, StorageType::Iscsi | StorageType::Fcp)
    }
}

wire_enum! {
    /// A checkpoint's state.
    CheckpointState {
        /// Usable.
        Created = "created",
        /// Unusable.
        Invalid = "invalid",
    }
}

wire_enum! {
    /// A NIC's device model.
    NicInterface {
        /// Intel e1000.
        E1000 = "e1000",
        /// Intel e1000e.
        E1000e = "e1000e",
        /// PCI pass-through.
        PciPassthrough = "pci_passthrough",
        /// Realtek 8139.
        Rtl8139 = "rtl8139",
        /// Realtek 8139 / virtio.
        Rtl8139Virtio = "rtl8139_virtio",
        /// sPAPR VLAN.
        SpaprVlan = "spapr_vlan",
        /// virtio-net.
        Virtio = "virtio",
    }
}

wire_enum! {
    /// A disk's bus.
    DiskInterface {
        /// IDE.
        Ide = "ide",
        /// SATA.
        Sata = "sata",
        /// sPAPR VSCSI.
        SpaprVscsi = "spapr_vscsi",
        /// virtio-blk.
        Virtio = "virtio",
        /// virtio-scsi.
        VirtioScsi = "virtio_scsi",
    }
}

wire_enum! {
    /// A VM's optimisation profile.
    VmType {
        /// Desktop.
        Desktop = "desktop",
        /// High performance.
        HighPerformance = "high_performance",
        /// Server.
        Server = "server",
    }
}

wire_enum! {
    /// A disk's image format.
    DiskFormat {
        /// qcow2.
        Cow = "cow",
        /// Raw.
        Raw = "raw",
    }
}

wire_enum! {
    /// The format of a VM configuration.
    ConfigurationType {
        /// OVA.
        Ova = "ova",
        /// OVF (what `all_content` returns).
        Ovf = "ovf",
    }
}
