//! Snapshots: create without memory, wait until `ok`, list (the `active` one skipped), list
//! their disks, delete and wait until gone.

use std::time::Duration;

use crate::connection::{Connection, Query};
use crate::error::{OvirtError, Result};
use crate::types::{
    Disk, DiskAttachment, DiskAttachments, Disks, Snapshot, SnapshotStatus, SnapshotType, Snapshots,
};
use crate::wait::Poll;

impl Connection {
    /// Takes a snapshot without memory of the given disks (`None`: all disks); it starts
    /// `locked` (see [`Connection::wait_snapshot_ok`]). With a `correlation_id`, its jobs can
    /// be awaited with [`Connection::wait_for_jobs`].
    pub fn create_snapshot(
        &self,
        vm: &str,
        description: &str,
        disks: Option<&[&str]>,
        correlation_id: Option<&str>,
    ) -> Result<Snapshot> {
        let body = Snapshot {
            description: Some(description.to_owned()),
            persist_memorystate: Some(false),
            disk_attachments: disks.map(|ids| {
                DiskAttachments::from(
                    ids.iter()
                        .map(|id| DiskAttachment {
                            disk: Some(Disk {
                                id: Some((*id).to_owned()),
                                ..Disk::default()
                            }),
                            ..DiskAttachment::default()
                        })
                        .collect::<Vec<_>>(),
                )
            }),
            ..Snapshot::default()
        };
        self.add(
            &format!("/vms/{vm}/snapshots"),
            &correlation_id.map_or_else(Query::new, |id| Query::new().correlation_id(id)),
            &body,
            &format!("snapshotting VM {vm}"),
        )
    }

    /// A snapshot.
    pub fn snapshot(&self, vm: &str, id: &str) -> Result<Snapshot> {
        self.get(
            &format!("/vms/{vm}/snapshots/{id}"),
            &Query::new(),
            &format!("getting snapshot {id} of VM {vm}"),
        )
    }

    /// Waits until a snapshot is `ok`.
    pub fn wait_snapshot_ok(&self, vm: &str, id: &str, timeout: Duration) -> Result<Snapshot> {
        self.wait_for(
            &format!("snapshot {id} of VM {vm} becoming ok"),
            timeout,
            || {
                let snapshot = self.snapshot(vm, id)?;
                Ok(match snapshot.snapshot_status {
                    Some(SnapshotStatus::Ok) => Poll::Ready(snapshot),
                    seen => {
                        Poll::Pending(seen.map_or("without a status".into(), |s| s.to_string()))
                    }
                })
            },
        )
    }

    /// A VM's snapshots, without the `active` one (the VM's current state).
    pub fn snapshots(&self, vm: &str) -> Result<Vec<Snapshot>> {
        let list: Snapshots = self.get(
            &format!("/vms/{vm}/snapshots"),
            &Query::new(),
            &format!("listing snapshots of VM {vm}"),
        )?;
        Ok(list
            .items
            .into_iter()
            .filter(|s| s.snapshot_type != Some(SnapshotType::Active))
            .collect())
    }

    /// The disks of a snapshot (their `image_id` is the disk snapshot).
    pub fn snapshot_disks(&self, vm: &str, snapshot: &str) -> Result<Vec<Disk>> {
        let what = format!("listing disks of snapshot {snapshot} of VM {vm}");
        Ok(self
            .get::<Disks>(
                &format!("/vms/{vm}/snapshots/{snapshot}/disks"),
                &Query::new(),
                &what,
            )?
            .items)
    }

    /// Deletes a snapshot and waits until the engine has merged it away (the snapshot
    /// answers 404).
    pub fn remove_snapshot(&self, vm: &str, id: &str, timeout: Duration) -> Result<()> {
        let what = format!("removing snapshot {id} of VM {vm}");
        self.remove(&format!("/vms/{vm}/snapshots/{id}"), &Query::new(), &what)?;
        self.wait_for(&what, timeout, || match self.snapshot(vm, id) {
            Err(error) if error.is_not_found() => Ok(Poll::Ready(())),
            Err(error) => Err(error),
            Ok(snapshot) => Ok(Poll::Pending(
                snapshot
                    .snapshot_status
                    .map_or_else(|| "present".to_owned(), |s| s.to_string()),
            )),
        })
        .map_err(|error| match error {
            OvirtError::Timeout {
                what,
                state,
                waited,
            } => OvirtError::Timeout {
                what,
                state: format!("{state} (not gone)"),
                waited,
            },
            other => other,
        })
    }
}
