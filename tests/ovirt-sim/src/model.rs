//! The engine's objects. Statuses that the real engine changes in the background (a disk or a
//! snapshot `locked` for a while, a transfer `initializing`, a job `started`) are stored as
//! the instant they change, and read with the time of the request.

use std::path::PathBuf;
use std::time::Instant;

use crate::appliance::LoopDevice;
use crate::imageio::NbdExport;

/// A disk's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Raw,
    Cow,
}

impl Format {
    pub(crate) fn parse(text: &str) -> Option<Format> {
        match text {
            "raw" => Some(Format::Raw),
            "cow" => Some(Format::Cow),
            _ => None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Raw => "raw",
            Format::Cow => "cow",
        }
    }

    /// qemu's name for it.
    pub(crate) fn qemu(self) -> &'static str {
        match self {
            Format::Raw => "raw",
            Format::Cow => "qcow2",
        }
    }
}

/// A storage domain's flavour: file (NFS-like: sparse raw allowed) or block (iSCSI-like:
/// refuses raw + sparse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SdKind {
    File,
    Block,
}

/// A data storage domain.
#[derive(Debug, Clone)]
pub(crate) struct StorageDomain {
    pub id: String,
    pub name: String,
    pub kind: SdKind,
    pub dir: PathBuf,
    pub size: u64,
}

/// One volume of a disk's chain: the bottom is the base, the last one is active.
#[derive(Debug, Clone)]
pub(crate) struct Volume {
    pub image_id: String,
    pub path: PathBuf,
    pub format: Format,
    /// The VM snapshot that froze this volume (`None`: the active volume).
    pub snapshot: Option<String>,
}

/// A disk (an image of volumes on a storage domain).
#[derive(Debug)]
pub(crate) struct Disk {
    pub id: String,
    pub name: String,
    pub description: String,
    pub sd: String,
    pub provisioned_size: u64,
    pub format: Format,
    pub sparse: bool,
    pub incremental: bool,
    pub volumes: Vec<Volume>,
    /// Locked until then (creation, snapshot, merge).
    pub locked_until: Instant,
    /// Checkpoint bitmaps present in the active volume, oldest first.
    pub bitmaps: Vec<String>,
}

impl Disk {
    pub(crate) fn active(&self) -> &Volume {
        self.volumes.last().expect("a disk has a volume")
    }
}

/// A VM's power state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Power {
    Down,
    Up,
}

/// A disk attached to a VM.
#[derive(Debug)]
pub(crate) struct Attachment {
    pub disk: String,
    pub bootable: bool,
    pub interface: String,
    pub active: bool,
    pub pass_discard: bool,
    /// Attached as the snapshot of the disk (the appliance way): that VM snapshot's volume.
    pub snapshot: Option<String>,
    /// The loop device exposing the bytes (attachments to the appliance only).
    pub device: Option<LoopDevice>,
}

/// A NIC.
#[derive(Debug, Clone)]
pub(crate) struct Nic {
    pub id: String,
    pub name: String,
    pub interface: String,
    pub profile: Option<String>,
    pub mac: String,
}

/// A VM snapshot (the `active` one is implicit).
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub id: String,
    pub description: String,
    pub date: String,
    pub persist_memory: bool,
    pub disks: Vec<String>,
    pub ovf: String,
    /// Locked until then (creation).
    pub ready_at: Instant,
    /// Being removed: gone (merged) then.
    pub removing_at: Option<Instant>,
}

/// A VM.
#[derive(Debug)]
pub(crate) struct Vm {
    pub id: String,
    pub name: String,
    pub description: String,
    pub memory: u64,
    /// Memory always available (`memory_policy/guaranteed`).
    pub guaranteed_memory: u64,
    /// Memory hot-plug maximum (`memory_policy/max`).
    pub max_memory: u64,
    /// Boot devices in order (`hd`, `cdrom`, `network`).
    pub boot: Vec<String>,
    pub sockets: u32,
    pub cores: u32,
    pub threads: u32,
    pub os_type: String,
    pub kind: String,
    pub bios_type: String,
    pub power: Power,
    /// A power change in flight: the state it reaches, and when.
    pub power_change: Option<(Power, Instant)>,
    /// An OVF given when the VM was created from one (otherwise one is generated).
    pub given_ovf: Option<String>,
    pub nics: Vec<Nic>,
    pub attachments: Vec<Attachment>,
    pub snapshots: Vec<Snapshot>,
    pub tags: Vec<String>,
    pub created: String,
}

/// An image transfer's phase (the engine's `ImageTransferPhase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Initializing,
    Transferring,
    FinalizingSuccess,
    FinalizingFailure,
    FinishedSuccess,
    FinishedFailure,
    Cancelled,
}

impl Phase {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Phase::Initializing => "initializing",
            Phase::Transferring => "transferring",
            Phase::FinalizingSuccess => "finalizing_success",
            Phase::FinalizingFailure => "finalizing_failure",
            Phase::FinishedSuccess => "finished_success",
            Phase::FinishedFailure => "finished_failure",
            Phase::Cancelled => "cancelled",
        }
    }

    pub(crate) fn is_over(self) -> bool {
        matches!(
            self,
            Phase::FinishedSuccess | Phase::FinishedFailure | Phase::Cancelled
        )
    }
}

/// An image transfer.
#[derive(Debug)]
pub(crate) struct Transfer {
    pub id: String,
    pub disk: String,
    /// The disk snapshot (volume) a download was asked for.
    pub snapshot_image: Option<String>,
    pub upload: bool,
    pub format: Format,
    pub phase: Phase,
    /// When the current phase moves on by itself (initializing, finalizing).
    pub next_at: Option<Instant>,
    pub ticket: String,
    pub nbd: Option<NbdExport>,
    pub backup: Option<String>,
    pub inactivity_timeout: u64,
    pub timeout_policy: String,
}

/// A VM backup's phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BackupPhase {
    Initializing,
    Ready,
    Finalizing,
    Succeeded,
}

impl BackupPhase {
    pub(crate) fn name(self) -> &'static str {
        match self {
            BackupPhase::Initializing => "initializing",
            BackupPhase::Ready => "ready",
            BackupPhase::Finalizing => "finalizing",
            BackupPhase::Succeeded => "succeeded",
        }
    }
}

/// A VM backup (the incremental backup API).
#[derive(Debug, Clone)]
pub(crate) struct Backup {
    pub id: String,
    pub vm: String,
    pub disks: Vec<String>,
    pub from_checkpoint: Option<String>,
    pub to_checkpoint: String,
    pub phase: BackupPhase,
    pub next_at: Option<Instant>,
    pub created: String,
}

/// A checkpoint of a VM's disks (a qcow2 bitmap of the same name in each).
#[derive(Debug, Clone)]
pub(crate) struct Checkpoint {
    pub id: String,
    pub vm: String,
    pub parent: Option<String>,
    pub disks: Vec<String>,
    pub created: String,
}

/// A job, found by its correlation id.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub id: String,
    pub description: String,
    pub correlation_id: String,
    pub started: String,
    pub ends_at: Instant,
    pub failed: bool,
}

/// A tag.
#[derive(Debug, Clone)]
pub(crate) struct Tag {
    pub id: String,
    pub name: String,
    pub description: String,
}

/// A network with its vNIC profile (one each, as `ovirtmgmt` has by default).
#[derive(Debug, Clone)]
pub(crate) struct Network {
    pub id: String,
    pub name: String,
    pub profile_id: String,
}
