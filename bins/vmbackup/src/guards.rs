//! Snapshots made for a backup, as guards: whatever happens after they are taken — an export
//! error, a dropped connection, a full disk, Ctrl-C, a panic — they are destroyed with
//! their disks. `destroy` does it explicitly and reports failure; `Drop` is the backstop and
//! logs it. Every snapshot is marked with its owner as soon as it exists ([`crate::owner`]),
//! so that what a killed run leaves is recognised, and only that, by a later run.

use jiff::Timestamp;
use xenapi::records::VbdType;
use xenapi::{Ref, Session, XenApiError};

use crate::owner::Owner;

/// Which kind of object an owner mark goes on.
#[derive(Clone, Copy)]
enum Marked {
    Vm,
    Vdi,
}

/// Records this process as the owner of `object` in its `other_config` (replacing a mark
/// the snapshot copied from its source).
fn mark(session: &Session, kind: Marked, object: &Ref) -> xenapi::Result<()> {
    let mut map = match kind {
        Marked::Vm => session.vm().get_other_config(object)?,
        Marked::Vdi => session.vdi().get_other_config(object)?,
    };
    for (key, value) in Owner::this_process().entries(Timestamp::now()) {
        map.insert(key.to_owned(), value);
    }
    match kind {
        Marked::Vm => session.vm().set_other_config(object, &map),
        Marked::Vdi => session.vdi().set_other_config(object, &map),
    }
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

/// A VM snapshot, destroyed with its disks when dropped.
#[derive(Debug)]
pub struct VmSnapshot<'s> {
    session: &'s Session,
    snapshot: Option<Ref>,
}

impl<'s> VmSnapshot<'s> {
    /// Snapshots `vm` as `name`, marked as this process's.
    pub fn take(session: &'s Session, vm: &Ref, name: &str) -> xenapi::Result<Self> {
        let snapshot = session.vm().snapshot(vm, name)?;
        tracing::debug!(%snapshot, name, "snapshot taken");
        let guard = VmSnapshot {
            session,
            snapshot: Some(snapshot),
        };
        mark(session, Marked::Vm, guard.reference())?;
        Ok(guard)
    }

    /// Guards a snapshot that already exists (a leftover to remove, a skeleton).
    pub fn adopt(session: &'s Session, snapshot: Ref) -> Self {
        VmSnapshot {
            session,
            snapshot: Some(snapshot),
        }
    }

    /// The snapshot.
    pub fn reference(&self) -> &Ref {
        self.snapshot
            .as_ref()
            .expect("a live guard holds its snapshot")
    }

    /// Destroys the snapshot VM and its disks now.
    pub fn destroy(mut self) -> xenapi::Result<()> {
        match self.snapshot.take() {
            Some(snapshot) => destroy_vm_and_disks(self.session, &snapshot),
            None => Ok(()),
        }
    }
}

impl Drop for VmSnapshot<'_> {
    fn drop(&mut self) {
        if let Some(snapshot) = self.snapshot.take()
            && let Err(error) = destroy_vm_and_disks(self.session, &snapshot)
        {
            tracing::error!(%snapshot, %error, "could not remove a backup snapshot");
        }
    }
}

/// Destroys a (halted) VM and the disks in its VBDs; goes on after a failure and returns
/// the first one.
pub fn destroy_vm_and_disks(session: &Session, vm: &Ref) -> xenapi::Result<()> {
    let mut disks = Vec::new();
    for vbd in session.vm().get_vbds(vm)? {
        let record = session.vbd().get_record(&vbd)?;
        if record.kind == VbdType::Disk && !record.vdi.is_null() {
            disks.push(record.vdi);
        }
    }
    let mut first_error: Option<XenApiError> = session.vm().destroy(vm).err();
    for vdi in disks {
        if let Err(error) = session.vdi().destroy(&vdi) {
            tracing::error!(%vdi, %error, "could not remove a snapshot disk");
            first_error.get_or_insert(error);
        }
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok(()),
    }
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
        mark(session, Marked::Vdi, guard.reference())?;
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
