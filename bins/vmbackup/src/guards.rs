//! Snapshots made for a backup, as guards: whatever happens after they are taken — an export
//! error, a dropped connection, a full disk, Ctrl-C, a panic — they are destroyed with
//! their disks. `destroy` does it explicitly and reports failure; `Drop` is the backstop and
//! logs it. Every snapshot is marked with its owner as soon as it exists ([`crate::owner`]),
//! so that what a killed run leaves is recognised, and only that, by a later run.

use jiff::Timestamp;
use xenapi::{Ref, Session};

use crate::owner::Owner;

pub use xenapi::guard::{VmSnapshot, destroy_vm_and_disks};

/// Records this process as the owner of the VDI `vdi` in its `other_config` (replacing a
/// mark the snapshot copied from its source).
fn mark_vdi(session: &Session, vdi: &Ref) -> xenapi::Result<()> {
    let mut map = session.vdi().get_other_config(vdi)?;
    for (key, value) in Owner::this_process().entries(Timestamp::now()) {
        map.insert(key.to_owned(), value);
    }
    session.vdi().set_other_config(vdi, &map)
}

/// The name of the snapshot vmbackup takes of `vm_name` at `stamp`:
/// `web01 (vmbackup snapshot 2026-11-22T013005Z)`. An XVA of it imports under that name
/// (`restore` renames it back). Leftovers of an interrupted run are recognised by the
/// owner the snapshot records ([`crate::owner`]) and by being snapshots of that VM, never
/// by a name alone.
pub fn snapshot_name(vm_name: &str, stamp: &str) -> String {
    format!("{} {stamp})", snapshot_name_prefix(vm_name))
}

/// The start of every snapshot name [`snapshot_name`] gives for `vm_name`.
pub fn snapshot_name_prefix(vm_name: &str) -> String {
    format!("{vm_name} (vmbackup snapshot")
}

/// The name vmbackup gives the snapshot of the disk `disk_name` of `vm_name`, as
/// VmBackup.py did: `SNAP_<vm>_<disk>` (spaces of the disk's name as `-`).
pub fn disk_snapshot_name(vm_name: &str, disk_name: &str) -> String {
    format!(
        "{}{}",
        disk_snapshot_prefix(vm_name),
        disk_name.replace(' ', "-")
    )
}

/// The start of every name [`disk_snapshot_name`] gives for `vm_name`.
pub fn disk_snapshot_prefix(vm_name: &str) -> String {
    format!("SNAP_{vm_name}_")
}

/// Snapshots `vm` as `name`, marked as this process's (xenapi's guard: destroyed with its
/// disks when dropped).
pub fn take_snapshot<'s>(
    session: &'s Session,
    vm: &Ref,
    name: &str,
) -> xenapi::Result<VmSnapshot<'s>> {
    VmSnapshot::take(
        session,
        vm,
        name,
        &Owner::this_process().entries(Timestamp::now()),
    )
}

/// A VDI made for a backup (a disk snapshot, or a blank disk of a skeleton), destroyed when
/// dropped.
#[derive(Debug)]
pub struct TempVdi<'s> {
    session: &'s Session,
    vdi: Option<Ref>,
}

impl<'s> TempVdi<'s> {
    /// Snapshots `vdi`, marked as this process's.
    pub fn snapshot(session: &'s Session, vdi: &Ref) -> xenapi::Result<Self> {
        let snapshot = session
            .vdi()
            .snapshot(vdi, &xenapi::records::StringMap::default())?;
        let guard = TempVdi::adopt(session, snapshot);
        mark_vdi(session, guard.reference())?;
        Ok(guard)
    }

    /// Guards a VDI that exists.
    pub fn adopt(session: &'s Session, vdi: Ref) -> Self {
        TempVdi {
            session,
            vdi: Some(vdi),
        }
    }

    /// The VDI.
    pub fn reference(&self) -> &Ref {
        self.vdi.as_ref().expect("a live guard holds its VDI")
    }

    /// Destroys the VDI now.
    pub fn destroy(mut self) -> xenapi::Result<()> {
        match self.vdi.take() {
            Some(vdi) => self.session.vdi().destroy(&vdi),
            None => Ok(()),
        }
    }

    /// Stops guarding: the VDI now belongs to something else (a snapshot VM).
    pub fn release(mut self) -> Ref {
        self.vdi.take().expect("a live guard holds its VDI")
    }
}

impl Drop for TempVdi<'_> {
    fn drop(&mut self) {
        if let Some(vdi) = self.vdi.take()
            && let Err(error) = self.session.vdi().destroy(&vdi)
        {
            tracing::error!(%vdi, %error, "could not remove a backup disk snapshot");
        }
    }
}
