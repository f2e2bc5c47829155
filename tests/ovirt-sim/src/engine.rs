//! The engine's state and what every handler shares: ids, the clock, replies and faults in
//! the engine's XML, the background work done when its time comes ([`Engine::tick`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::faults::Faults;
use crate::imageio::Imageio;
use crate::model::{
    Backup, Checkpoint, Disk, Job, Network, Phase, StorageDomain, Tag, Transfer, Vm,
};
use crate::storage;
use crate::xml::Xml;

/// How long the engine's background work takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// A new disk, a disk being snapshotted or merged: `locked` this long.
    pub disk_lock: Duration,
    /// A new snapshot stays `locked` (and a removed one visible) this long.
    pub snapshot_lock: Duration,
    /// A transfer stays `initializing` this long, and `finalizing_*` this long.
    pub transfer_step: Duration,
    /// A backup stays `initializing` / `finalizing` this long.
    pub backup_step: Duration,
    /// A job stays `started` this long; VM power changes take this long.
    pub job: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            disk_lock: Duration::from_millis(300),
            snapshot_lock: Duration::from_millis(300),
            transfer_step: Duration::from_millis(200),
            backup_step: Duration::from_millis(200),
            job: Duration::from_millis(300),
        }
    }
}

/// A response: status, content type and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    /// Close the connection after it.
    pub close: bool,
}

impl Reply {
    pub(crate) fn xml(status: u16, body: String) -> Reply {
        Reply {
            status,
            content_type: "application/xml",
            body,
            close: false,
        }
    }

    /// An engine fault: `<fault><reason/><detail/></fault>`.
    pub(crate) fn fault(status: u16, reason: &str, detail: &str) -> Reply {
        let body = Xml::new()
            .open("fault", &[])
            .leaf("detail", detail)
            .leaf("reason", reason)
            .close("fault")
            .finish();
        Reply::xml(status, body)
    }

    pub(crate) fn not_found() -> Reply {
        Reply::fault(404, "Not Found", "Entity not found")
    }

    pub(crate) fn bad_request(detail: &str) -> Reply {
        Reply::fault(400, "Operation Failed", detail)
    }

    /// The fault a busy engine answers (clients retry it).
    pub(crate) fn busy(detail: &str) -> Reply {
        Reply::fault(409, "Operation Failed", detail)
    }

    /// An action's answer: `<action><status>complete</status></action>`.
    pub(crate) fn action() -> Reply {
        let body = Xml::new()
            .open("action", &[])
            .leaf("status", "complete")
            .close("action")
            .finish();
        Reply::xml(200, body)
    }

    /// What DELETE answers: 200 (the SDK accepts nothing else), no body.
    pub(crate) fn removed() -> Reply {
        Reply::xml(200, String::new())
    }
}

/// The handlers' result: a reply either way.
pub(crate) type Handled = Result<Reply, Reply>;

/// The whole engine.
pub(crate) struct Engine {
    pub timing: Timing,
    pub faults: Faults,
    pub user: String,
    pub password: String,
    /// Open SSO tokens and their user.
    pub tokens: BTreeMap<String, String>,
    /// Successful SSO logins so far.
    pub logins: u64,
    pub data_center: (String, String),
    pub cluster: (String, String),
    pub host: (String, String),
    pub storage_domains: Vec<StorageDomain>,
    pub networks: Vec<Network>,
    pub vms: Vec<Vm>,
    pub disks: Vec<Disk>,
    pub transfers: Vec<Transfer>,
    pub backups: Vec<Backup>,
    pub checkpoints: Vec<Checkpoint>,
    pub jobs: Vec<Job>,
    pub tags: Vec<Tag>,
    /// The backup appliance VM, whose attachments become loop devices.
    pub appliance: Option<String>,
    /// Where the appliance's disks are linked by serial.
    pub by_id_dir: PathBuf,
    /// Scratch space (appliance copies).
    pub scratch: PathBuf,
    /// The imageio daemon (taken out when the simulator stops).
    pub imageio: Option<Imageio>,
    /// Its base URL, for transfer URLs.
    pub imageio_base: String,
    /// The objects the engine had before any client came: not leftovers.
    pub initial_snapshots: Vec<String>,
    /// The disks it had then (a floating one among them is not a leftover).
    pub initial_disks: Vec<String>,
}

/// A new id.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Now, as the engine writes dates.
pub(crate) fn now_text() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3f+00:00")
        .to_string()
}

impl Engine {
    /// The instant a lock set now ends, stretched by the "keep locked" knob.
    pub(crate) fn lock_until(&self, base: Duration) -> Instant {
        let extra = self.faults.disk_lock().unwrap_or(Duration::ZERO);
        Instant::now() + base.max(extra)
    }

    pub(crate) fn disk(&self, id: &str) -> Result<&Disk, Reply> {
        self.disks
            .iter()
            .find(|d| d.id == id)
            .ok_or_else(Reply::not_found)
    }

    pub(crate) fn disk_mut(&mut self, id: &str) -> Result<&mut Disk, Reply> {
        self.disks
            .iter_mut()
            .find(|d| d.id == id)
            .ok_or_else(Reply::not_found)
    }

    pub(crate) fn vm(&self, id: &str) -> Result<&Vm, Reply> {
        self.vms
            .iter()
            .find(|v| v.id == id)
            .ok_or_else(Reply::not_found)
    }

    pub(crate) fn vm_mut(&mut self, id: &str) -> Result<&mut Vm, Reply> {
        self.vms
            .iter_mut()
            .find(|v| v.id == id)
            .ok_or_else(Reply::not_found)
    }

    /// The imageio daemon, or the engine's fault when it is gone.
    pub(crate) fn daemon(&self) -> Result<&Imageio, Reply> {
        self.imageio
            .as_ref()
            .ok_or_else(|| Reply::fault(503, "Operation Failed", "The simulator is stopping"))
    }

    pub(crate) fn sd(&self, id: &str) -> Option<&StorageDomain> {
        self.storage_domains.iter().find(|s| s.id == id)
    }

    /// Whether a disk is locked now: by a lock in time, a snapshot being taken or removed,
    /// or an upload in progress.
    pub(crate) fn disk_locked(&self, disk: &Disk, now: Instant) -> bool {
        now < disk.locked_until
            || self
                .transfers
                .iter()
                .any(|t| t.disk == disk.id && t.upload && !t.phase.is_over())
    }

    /// Refuses work on a locked disk with the engine's busy fault.
    pub(crate) fn require_unlocked(&self, disk_id: &str) -> Result<(), Reply> {
        let disk = self.disk(disk_id)?;
        if self.disk_locked(disk, Instant::now()) {
            return Err(Reply::busy(&format!(
                "Cannot perform the operation. Disk {} is locked. Please try again in a few minutes.",
                disk.name
            )));
        }
        Ok(())
    }

    /// Does the background work that is due: transfers leave `initializing` and finish
    /// finalizing, removed snapshots merge, backups become ready or succeed.
    pub(crate) fn tick(&mut self) {
        let now = Instant::now();
        let due = |at: Option<Instant>| at.is_some_and(|at| at <= now);
        let mut removed_uploads = Vec::new();
        for transfer in &mut self.transfers {
            if !due(transfer.next_at) {
                continue;
            }
            transfer.next_at = None;
            transfer.phase = match transfer.phase {
                Phase::Initializing => Phase::Transferring,
                Phase::FinalizingSuccess => Phase::FinishedSuccess,
                Phase::FinalizingFailure => {
                    if transfer.upload {
                        removed_uploads.push(transfer.disk.clone());
                    }
                    Phase::FinishedFailure
                }
                other => other,
            };
        }
        for disk in removed_uploads {
            // A failed upload deletes its disk, as the engine does.
            self.remove_disk_now(&disk);
        }
        let mut merges = Vec::new();
        for vm in &mut self.vms {
            vm.snapshots.retain(|s| {
                if due(s.removing_at) {
                    merges.push(s.clone());
                    false
                } else {
                    true
                }
            });
            if let Some((power, at)) = vm.power_change
                && at <= now
            {
                vm.power = power;
                vm.power_change = None;
            }
        }
        for snapshot in merges {
            for disk_id in &snapshot.disks {
                if let Some(disk) = self.disks.iter_mut().find(|d| &d.id == disk_id)
                    && let Err(error) = storage::merge_snapshot(disk, &snapshot.id)
                {
                    tracing::error!(%error, disk = %disk_id, "merging a removed snapshot failed");
                }
            }
        }
        for backup in &mut self.backups {
            if due(backup.next_at) {
                backup.next_at = None;
                backup.phase = match backup.phase {
                    crate::model::BackupPhase::Initializing => crate::model::BackupPhase::Ready,
                    crate::model::BackupPhase::Finalizing => crate::model::BackupPhase::Succeeded,
                    other => other,
                };
            }
        }
    }

    /// Removes a disk and its files at once (detaching it from any VM).
    pub(crate) fn remove_disk_now(&mut self, id: &str) {
        for vm in &mut self.vms {
            vm.attachments.retain(|a| a.disk != id);
        }
        if let Some(index) = self.disks.iter().position(|d| d.id == id) {
            let disk = self.disks.remove(index);
            if let Err(error) = storage::remove_disk(&disk) {
                tracing::error!(%error, disk = %id, "removing a disk's files failed");
            }
        }
    }

    /// Records a job for a request that carried `correlation_id`.
    pub(crate) fn add_job(&mut self, correlation_id: &str, description: &str, failed: bool) {
        self.jobs.push(Job {
            id: new_id(),
            description: description.to_owned(),
            correlation_id: correlation_id.to_owned(),
            started: now_text(),
            ends_at: Instant::now() + self.timing.job,
            failed,
        });
    }
}
