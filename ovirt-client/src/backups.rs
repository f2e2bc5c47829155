//! VM backups and checkpoints (the incremental backup API): start, wait until `ready`, list
//! the backup's disks, finalize and wait until `succeeded`; a [`VmBackup`] guard finalizes
//! on every path (a VM left in backup mode cannot be shut down without `force`).

use std::time::Duration;

use crate::connection::{Connection, Query};
use crate::error::{OvirtError, Result};
use crate::types::{Action, Backup, BackupPhase, Checkpoint, Checkpoints, Disk, Disks};
use crate::wait::Poll;

/// A running VM backup, finalized when dropped.
pub struct VmBackup<'c> {
    connection: &'c Connection,
    vm: String,
    record: Backup,
    id: String,
    timeout: Duration,
    open: bool,
}

impl Connection {
    /// Starts a backup of `disks`, incremental from `from_checkpoint` (`None`: full), and
    /// waits until it is `ready`.
    pub fn start_backup(
        &self,
        vm: &str,
        disks: &[&str],
        from_checkpoint: Option<&str>,
        timeout: Duration,
    ) -> Result<VmBackup<'_>> {
        let body = Backup {
            from_checkpoint_id: from_checkpoint.map(str::to_owned),
            disks: Some(Disks::from(
                disks
                    .iter()
                    .map(|id| Disk {
                        id: Some((*id).to_owned()),
                        ..Disk::default()
                    })
                    .collect::<Vec<_>>(),
            )),
            ..Backup::default()
        };
        let what = format!("starting a backup of VM {vm}");
        let record: Backup =
            self.add(&format!("/vms/{vm}/backups"), &Query::new(), &body, &what)?;
        let id = record.id.clone().ok_or_else(|| OvirtError::Failed {
            what: what.clone(),
            state: "the engine returned a backup without an id".into(),
        })?;
        let mut backup = VmBackup {
            connection: self,
            vm: vm.to_owned(),
            record,
            id,
            timeout,
            open: true,
        };
        match backup.wait_phase(BackupPhase::Ready) {
            Ok(record) => {
                backup.record = record;
                Ok(backup)
            }
            Err(error) => Err(error), // dropped: finalized
        }
    }

    /// A VM's checkpoints.
    pub fn checkpoints(&self, vm: &str) -> Result<Vec<Checkpoint>> {
        let what = format!("listing checkpoints of VM {vm}");
        Ok(self
            .get::<Checkpoints>(&format!("/vms/{vm}/checkpoints"), &Query::new(), &what)?
            .items)
    }

    /// Removes a checkpoint.
    pub fn remove_checkpoint(&self, vm: &str, id: &str) -> Result<()> {
        self.remove(
            &format!("/vms/{vm}/checkpoints/{id}"),
            &Query::new(),
            &format!("removing checkpoint {id} of VM {vm}"),
        )
    }
}

impl VmBackup<'_> {
    /// The backup as the engine last described it (`to_checkpoint_id` is the new
    /// checkpoint).
    pub fn backup(&self) -> &Backup {
        &self.record
    }

    /// The disks of the backup, each with its `backup_mode` (full or incremental).
    pub fn disks(&self) -> Result<Vec<Disk>> {
        let what = format!("listing disks of backup {}", self.id);
        Ok(self
            .connection
            .get::<Disks>(&format!("{}/disks", self.path()), &Query::new(), &what)?
            .items)
    }

    /// The backup's id (for [`crate::transfers::TransferSettings::backup`]).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Finalizes and waits until `succeeded`.
    pub fn finish(mut self) -> Result<()> {
        self.finalize()
    }

    fn path(&self) -> String {
        format!("/vms/{}/backups/{}", self.vm, self.id)
    }

    fn wait_phase(&self, wanted: BackupPhase) -> Result<Backup> {
        let what = format!("backup {} of VM {} becoming {wanted}", self.id, self.vm);
        self.connection.wait_for(&what, self.timeout, || {
            let record: Backup = self.connection.get(&self.path(), &Query::new(), &what)?;
            match record.phase {
                Some(phase) if phase == wanted => Ok(Poll::Ready(record)),
                Some(BackupPhase::Failed) => Err(OvirtError::Failed {
                    what: what.clone(),
                    state: "failed".into(),
                }),
                phase => Ok(Poll::Pending(
                    phase.map_or("without a phase".into(), |p| p.to_string()),
                )),
            }
        })
    }

    fn finalize(&mut self) -> Result<()> {
        self.open = false;
        let what = format!("finalizing backup {} of VM {}", self.id, self.vm);
        self.connection.action(
            &self.path(),
            "finalize",
            &Query::new(),
            &Action::default(),
            &what,
        )?;
        match self.wait_phase(BackupPhase::Succeeded) {
            Err(error) if error.is_not_found() => Ok(()), // engines drop finished backups
            other => other.map(|_| ()),
        }
    }
}

impl Drop for VmBackup<'_> {
    fn drop(&mut self) {
        if self.open
            && let Err(error) = self.finalize()
        {
            tracing::error!(backup = %self.id, vm = %self.vm, %error, "could not finalize a VM backup");
        }
    }
}
