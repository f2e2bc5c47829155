//! A VM snapshot, destroyed with its disks when dropped.

use crate::records::VbdType;
use crate::{Ref, Result, Session, XenApiError};

/// A VM snapshot, destroyed with its disks when dropped: whatever happens after it is taken
/// (an export error, a dropped connection, Ctrl-C, a panic). [`VmSnapshot::destroy`] does it
/// explicitly and reports failure; `Drop` is the backstop and logs it.
#[derive(Debug)]
pub struct VmSnapshot<'s> {
    session: &'s Session,
    snapshot: Option<Ref>,
}

impl<'s> VmSnapshot<'s> {
    /// Snapshots `vm` as `name` and records `marks` in the snapshot's `other_config` (its
    /// owner, so that a later run recognises a leftover; a mark copied from the source is
    /// replaced). When marking fails the snapshot is destroyed again.
    pub fn take(
        session: &'s Session,
        vm: &Ref,
        name: &str,
        marks: &[(&str, String)],
    ) -> Result<Self> {
        let snapshot = session.vm().snapshot(vm, name)?;
        tracing::debug!(%snapshot, name, "snapshot taken");
        let guard = VmSnapshot {
            session,
            snapshot: Some(snapshot),
        };
        if !marks.is_empty() {
            let mut map = session.vm().get_other_config(guard.reference())?;
            for (key, value) in marks {
                map.insert((*key).to_owned(), value.clone());
            }
            session.vm().set_other_config(guard.reference(), &map)?;
        }
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

    /// The snapshot's disks (VDIs of its disk VBDs), each with its VBD's `userdevice`.
    pub fn disks(&self) -> Result<Vec<(String, Ref)>> {
        disks_of(self.session, self.reference())
    }

    /// Destroys the snapshot VM and its disks now.
    pub fn destroy(mut self) -> Result<()> {
        match self.snapshot.take() {
            Some(snapshot) => destroy_vm_and_disks(self.session, &snapshot),
            None => Ok(()),
        }
    }
}

impl Drop for VmSnapshot<'_> {
    fn drop(&mut self) {
        if let Some(snapshot) = self.snapshot.take() {
            match destroy_vm_and_disks(self.session, &snapshot) {
                Ok(()) => tracing::debug!(%snapshot, "snapshot destroyed"),
                Err(error) => {
                    tracing::error!(%snapshot, %error, "could not destroy a snapshot: remove it by hand");
                }
            }
        }
    }
}

/// The VDIs of `vm`'s disk VBDs, with each VBD's `userdevice`.
fn disks_of(session: &Session, vm: &Ref) -> Result<Vec<(String, Ref)>> {
    let mut disks = Vec::new();
    for vbd in session.vm().get_vbds(vm)? {
        let record = session.vbd().get_record(&vbd)?;
        if record.kind == VbdType::Disk && !record.vdi.is_null() {
            disks.push((record.userdevice, record.vdi));
        }
    }
    Ok(disks)
}

/// Destroys a (halted) VM and the disks in its VBDs; goes on after a failure and returns
/// the first one.
pub fn destroy_vm_and_disks(session: &Session, vm: &Ref) -> Result<()> {
    let disks = disks_of(session, vm)?;
    let mut first_error: Option<XenApiError> = session.vm().destroy(vm).err();
    for (_, vdi) in disks {
        if let Err(error) = session.vdi().destroy(&vdi) {
            tracing::error!(%vdi, %error, "could not remove a snapshot disk");
            first_error.get_or_insert(error);
        }
    }
    first_error.map_or(Ok(()), Err)
}
