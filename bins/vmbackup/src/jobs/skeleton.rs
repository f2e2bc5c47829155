//! skeleton-export (TINABS): the system disk with its data, every other disk recreated
//! blank with its size, the VIFs as they are; one XVA; everything temporary destroyed.

use xenapi::records::{StringMap, VbdMode, VbdRecord, VbdType, VdiRecord};

use super::vm::export_snapshot;
use super::{AtStep, Backup, JobFailure};
use crate::error::VmBackupError;
use crate::guards::{TempVdi, VmSnapshot, take_snapshot};
use crate::status_log::Failure;

/// Snapshots the VM, swaps the snapshot's data disks for blank ones, exports it.
pub(super) fn skeleton_export(backup: &mut Backup<'_>) -> Result<(), JobFailure> {
    let session = backup.session();
    let boot = backup
        .pool
        .inventory
        .boot_disk(backup.vm)
        .ok_or_else(|| {
            VmBackupError::Backup(format!(
                "{}: the VM has no boot disk to keep",
                backup.vm.name_label
            ))
        })
        .at(Failure::XvdaUuidNotFound)?;
    let snapshot = take_snapshot(session, &backup.vm_ref, &backup.snapshot_name())
        .map_err(|e| VmBackupError::xapi(backup.doing("snapshotting the VM"), e))
        .at(Failure::Snapshot)?;
    blank_data_disks(backup, &snapshot, &boot.vbd.userdevice)
        .map_err(|e| VmBackupError::xapi(backup.doing("replacing the data disks by blank ones"), e))
        .at(Failure::SkeletonBuild)?;
    export_snapshot(backup, &snapshot)?;
    if let Err(error) = snapshot.destroy() {
        backup.warn(format!("the skeleton could not be removed: {error}"));
    }
    Ok(())
}

/// On the snapshot, every disk but the one in `boot_slot` is replaced by a blank disk of
/// the same size on the same SR, in the same slot.
fn blank_data_disks(
    backup: &Backup<'_>,
    snapshot: &VmSnapshot<'_>,
    boot_slot: &str,
) -> xenapi::Result<()> {
    let session = backup.session();
    for vbd_ref in session.vm().get_vbds(snapshot.reference())? {
        let vbd = session.vbd().get_record(&vbd_ref)?;
        if vbd.kind != VbdType::Disk || vbd.vdi.is_null() || vbd.userdevice == boot_slot {
            continue;
        }
        let data = session.vdi().get_record(&vbd.vdi)?;
        // The blank disk exists before the data snapshot goes, so a failure leaves the
        // snapshot whole (and its guard removes it).
        let blank = TempVdi::adopt(
            session,
            session.vdi().create(&VdiRecord {
                name_label: format!("{} (skeleton)", data.name_label),
                name_description: "blank disk of a skeleton backup".to_owned(),
                sr: data.sr.clone(),
                virtual_size: data.virtual_size,
                kind: data.kind.clone(),
                sharable: false,
                read_only: false,
                ..VdiRecord::default()
            })?,
        );
        session.vbd().destroy(&vbd_ref)?;
        session.vdi().destroy(&vbd.vdi)?;
        session.vbd().create(&VbdRecord {
            vm: snapshot.reference().clone(),
            vdi: blank.reference().clone(),
            userdevice: vbd.userdevice.clone(),
            device: vbd.device.clone(),
            bootable: false,
            mode: VbdMode::RW,
            kind: VbdType::Disk,
            unpluggable: vbd.unpluggable,
            other_config: StringMap::from([("owner".to_owned(), "true".to_owned())]),
            ..VbdRecord::default()
        })?;
        // Attached: the snapshot's guard now removes it with the snapshot.
        blank.release();
    }
    Ok(())
}
