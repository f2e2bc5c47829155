//! `--live` on the dom0: a running guest's LVM-backed `phy:` disks read from LVM snapshots
//! taken through lvm-snap (crash-consistent, each disk at its own instant: as after a power
//! cut), each snapshot checked for overflow after it was read and removed on every path.
//! Copy-on-write snapshots get [`SNAPSHOT_PERCENT`] of their origin's size; thin volumes
//! get thin snapshots.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use cli_common::UsageError;
use lvm_snap::{CommandRunner, Lvm, Snapshot, SnapshotSize, VolumeRef};

use crate::source::SourceDisk;

/// The copy-on-write space of a snapshot, in percent of its origin: what the guest may
/// write while its disk is read.
pub const SNAPSHOT_PERCENT: u8 = 20;

/// The name of the snapshot of volume `lv`.
fn snapshot_name(lv: &str) -> String {
    format!("{lv}.xen2ovirt")
}

/// The snapshots of a guest's disks, removed when dropped.
pub struct LiveDisks<'l, R: CommandRunner> {
    snapshots: Vec<(PathBuf, Snapshot<'l, R>)>,
}

impl<'l, R: CommandRunner> LiveDisks<'l, R> {
    /// Snapshots each of `disks` (each must be an LVM volume, `/dev/VG/LV`); what was made
    /// is removed again if one fails.
    pub fn take(lvm: &'l Lvm<R>, disks: &[SourceDisk]) -> Result<Self> {
        let mut snapshots = Vec::new();
        for disk in disks {
            let path = PathBuf::from(&disk.uuid);
            let origin = VolumeRef::parse(&disk.uuid).map_err(|e| {
                UsageError(format!(
                    "--live reads LVM snapshots: disk `{}` is not an LVM volume ({e})",
                    disk.uuid
                ))
            })?;
            let volume = lvm
                .volume(&origin)?
                .ok_or_else(|| UsageError(format!("--live: no LVM volume {origin}")))?;
            let size = if volume.is_thin() {
                SnapshotSize::Thin
            } else {
                SnapshotSize::PercentOfOrigin(SNAPSHOT_PERCENT)
            };
            let snapshot = lvm
                .snapshot(&origin, &snapshot_name(origin.lv()), size)
                .with_context(|| format!("snapshotting {origin}"))?;
            if let Some(stale) = snapshot.replaced() {
                tracing::warn!(snapshot = %snapshot.reference(), owner = ?stale.owner, "removed a stale snapshot of an earlier run");
            }
            tracing::info!(snapshot = %snapshot.reference(), "snapshot taken");
            snapshots.push((path, snapshot));
        }
        Ok(LiveDisks { snapshots })
    }

    fn find(&self, disk: &Path) -> Result<&Snapshot<'l, R>> {
        self.snapshots
            .iter()
            .find(|(path, _)| path == disk)
            .map(|(_, snapshot)| snapshot)
            .with_context(|| format!("no snapshot of disk {}", disk.display()))
    }

    /// The block device to read instead of `disk`.
    pub fn device(&self, disk: &Path) -> Result<PathBuf> {
        Ok(self.find(disk)?.device())
    }

    /// After `disk` was read: fails if its snapshot overflowed (what was read is not one
    /// instant of the disk).
    pub fn check_intact(&self, disk: &Path) -> Result<()> {
        let snapshot = self.find(disk)?;
        let fill = snapshot
            .check_intact()
            .with_context(|| format!("the snapshot of {}", disk.display()))?;
        tracing::info!(snapshot = %snapshot.reference(), %fill, "snapshot intact after the copy");
        Ok(())
    }
}

#[cfg(test)]
mod tests;
