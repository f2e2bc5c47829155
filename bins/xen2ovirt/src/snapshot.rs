//! `--live`: a running source copied from a snapshot (crash-consistent: what its disks
//! held at one instant), the snapshot destroyed with its disks on every path.
//!
//! The guard is the same as vmbackup's `guards::VmSnapshot`; it belongs in a library (xenapi
//! or backup-core) that both use.

use anyhow::{Context, Result, bail};
use xenapi::records::VbdType;
use xenapi::{Ref, Session};

use crate::source::SourceDisk;

/// A snapshot of the source: destroyed with its disks when dropped.
pub struct Snapshot<'s> {
    session: &'s Session,
    snapshot: Ref,
}

impl<'s> Snapshot<'s> {
    /// Snapshots `vm` (called `name`).
    pub fn take(session: &'s Session, vm: &Ref, name: &str) -> Result<Self> {
        let label = format!("{name} (xen2ovirt snapshot)");
        let snapshot = session
            .vm()
            .snapshot(vm, &label)
            .with_context(|| format!("snapshotting VM `{name}`"))?;
        tracing::info!(%snapshot, vm = %name, "snapshot taken");
        Ok(Snapshot { session, snapshot })
    }

    /// The snapshot's disk for each of `disks` (matched by position), in their order.
    pub fn vdis(&self, disks: &[SourceDisk]) -> Result<Vec<Ref>> {
        let mut by_position = Vec::new();
        for vbd in self.session.vm().get_vbds(&self.snapshot)? {
            let record = self.session.vbd().get_record(&vbd)?;
            if record.kind == VbdType::Disk && !record.vdi.is_null() {
                by_position.push((record.userdevice, record.vdi));
            }
        }
        disks
            .iter()
            .map(|disk| {
                let position = disk.position.to_string();
                match by_position.iter().find(|(p, _)| *p == position) {
                    Some((_, vdi)) => Ok(vdi.clone()),
                    None => bail!(
                        "the snapshot has no disk at position {position} (`{}`)",
                        disk.name
                    ),
                }
            })
            .collect()
    }

    fn destroy(&self) -> xenapi::Result<()> {
        let mut vdis = Vec::new();
        for vbd in self.session.vm().get_vbds(&self.snapshot)? {
            let record = self.session.vbd().get_record(&vbd)?;
            if record.kind == VbdType::Disk && !record.vdi.is_null() {
                vdis.push(record.vdi);
            }
        }
        let mut first = self.session.vm().destroy(&self.snapshot).err();
        for vdi in vdis {
            if let Err(error) = self.session.vdi().destroy(&vdi) {
                first.get_or_insert(error);
            }
        }
        first.map_or(Ok(()), Err)
    }
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        match self.destroy() {
            Ok(()) => tracing::info!(snapshot = %self.snapshot, "snapshot destroyed"),
            Err(error) => {
                tracing::error!(snapshot = %self.snapshot, %error, "could not destroy the snapshot: remove it by hand");
            }
        }
    }
}
