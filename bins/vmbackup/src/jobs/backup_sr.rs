//! backup-sr-export (TINABS 2.0): the snapshot's system disk copied to the backup SR, its
//! data disks recreated blank there, the snapshot's metadata (now pointing at those disks)
//! exported into the backup; the disks stay on the SR, everything else is destroyed. See
//! [`crate::backup_sr`].

use std::collections::HashMap;
use std::time::Duration;

use xenapi::records::{StringMap, VbdMode, VbdRecord, VbdType, VdiRecord};
use xenapi::{Ref, Session};

use super::vm::clear_template_flags;
use super::vm_dir;
use super::{AtStep, Backup, JobFailure};
use crate::backup_sr::{CopyGuard, Marks, SrCopy, find_sr, leftovers};
use crate::error::VmBackupError;
use crate::guards::{VmSnapshot, take_snapshot};
use crate::status_log::Failure;
use backup_core::store::FileRole;

/// How long one `VDI.copy` may take (storage-side, but a large disk on a slow SR takes hours).
const COPY_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// Snapshots the VM, moves the snapshot's disks to the backup SR, exports its metadata.
pub(super) fn backup_sr_export(backup: &mut Backup<'_>) -> Result<(), JobFailure> {
    let session = backup.session();
    let named = backup.pool.config.backup_sr.as_deref().unwrap_or_default();
    let (sr, sr_record) = find_sr(backup.pool.inventory, named).at(Failure::BackupSrCopy)?;
    let sr_name = sr_record.name_label.clone();
    let sr_uuid = sr_record.uuid.clone();
    backup.sweep_leftovers();
    let owner = sweep_sr_leftovers(backup);
    let boot = backup
        .pool
        .inventory
        .boot_disk(backup.vm)
        .ok_or_else(|| {
            VmBackupError::Backup(format!(
                "{}: the VM has no system disk to copy",
                backup.vm.name_label
            ))
        })
        .at(Failure::XvdaUuidNotFound)?;
    let snapshot = take_snapshot(session, &backup.vm_ref, &backup.snapshot_name())
        .map_err(|e| VmBackupError::xapi(backup.doing("snapshotting the VM"), e))
        .at(Failure::Snapshot)?;
    clear_template_flags(backup, &snapshot)?;
    let target = Target {
        sr,
        sr_uuid,
        sr_name,
        boot_slot: boot.vbd.userdevice.clone(),
        marks: Marks {
            vm_uuid: backup.vm.uuid.clone(),
            created: backup.start.to_string(),
            owner,
            stamp: backup.dir.stamp().to_owned(),
        },
        label: format!(
            "{} (vmbackup backup-sr {})",
            backup.vm.name_label,
            backup_core::store::layout::backup_stamp(backup.start, 0)
        ),
        sources: backup
            .pool
            .inventory
            .disks_of(backup.vm)
            .into_iter()
            .map(|d| (d.vbd.userdevice, d.vdi.uuid))
            .collect(),
    };
    let mut guard = CopyGuard::new(session);
    let attached = move_disks(session, &snapshot, &target, &mut guard)
        .map_err(|e| {
            VmBackupError::xapi(
                backup.doing(&format!("moving the disks to SR {}", target.sr_name)),
                e,
            )
        })
        .at(Failure::BackupSrCopy)?;
    // From here the guard is the backup's: a failure before it is published destroys the
    // disks on the SR.
    backup.sr_copies = Some(guard);
    let archive = backup
        .metadata_archive_of(snapshot.reference())
        .at(Failure::MetadataExport)?;
    let file = format!("{}.xva", backup.stem);
    backup
        .add_small_file(&file, FileRole::BackupSrXva, &archive)
        .at(Failure::MetadataExport)?;
    // The disks stay: detach them, then the snapshot goes without them.
    for vbd in attached {
        session
            .vbd()
            .destroy(&vbd)
            .map_err(|e| {
                VmBackupError::xapi(backup.doing("detaching the disks from the snapshot"), e)
            })
            .at(Failure::BackupSrCopy)?;
    }
    if let Err(error) = snapshot.destroy() {
        backup.warn(format!("the backup snapshot could not be removed: {error}"));
    }
    Ok(())
}

/// Removes the disks on a backup SR that a killed run of this VM into this directory left
/// (a warning if that fails); returns the owner mark of this run's disks.
fn sweep_sr_leftovers(backup: &mut Backup<'_>) -> String {
    let here = vm_dir(backup.pool.config, &backup.vm.name_label);
    let owner = Marks::owner_of(backup.pool.host_name, &here);
    for leftover in leftovers(backup.pool.inventory, &backup.vm.uuid, &owner, &here) {
        tracing::warn!(vm = %backup.vm.name_label, vdi = %leftover, "removing a backup-SR disk left by an interrupted run");
        if let Err(error) = backup.session().vdi().destroy(&leftover) {
            backup.warn(format!(
                "could not remove the backup-SR disk {leftover} left by an interrupted run: {error}"
            ));
        }
    }
    owner
}

/// Where and how the disks go.
struct Target {
    sr: Ref,
    sr_uuid: String,
    sr_name: String,
    boot_slot: String,
    marks: Marks,
    label: String,
    /// The uuid of the VM's disk in each slot.
    sources: HashMap<String, String>,
}

/// On the snapshot, every disk is replaced by one on the backup SR (the system disk's copy,
/// blank ones for the others), in the same slot; returns the new VBDs. Every disk made is
/// in `guard` from the moment it exists.
fn move_disks(
    session: &Session,
    snapshot: &VmSnapshot<'_>,
    target: &Target,
    guard: &mut CopyGuard<'_>,
) -> xenapi::Result<Vec<Ref>> {
    let mut attached = Vec::new();
    for vbd_ref in session.vm().get_vbds(snapshot.reference())? {
        let vbd = session.vbd().get_record(&vbd_ref)?;
        if vbd.kind != VbdType::Disk || vbd.vdi.is_null() {
            continue;
        }
        let source = session.vdi().get_record(&vbd.vdi)?;
        let blank = vbd.userdevice != target.boot_slot;
        let label = format!("{} {}", target.label, vbd.device);
        let disk = if blank {
            session.vdi().create(&VdiRecord {
                name_label: label.clone(),
                name_description: "blank data disk of a backup-sr backup".to_owned(),
                sr: target.sr.clone(),
                virtual_size: source.virtual_size,
                kind: source.kind.clone(),
                other_config: target.marks.applied(StringMap::default()),
                ..VdiRecord::default()
            })?
        } else {
            // XAPI gives the copy the source's other_config as it creates it: marking the
            // (temporary) snapshot disk first means the copy is ours from its first moment,
            // and the next run finds it even if this one is killed during the copy.
            session
                .vdi()
                .set_other_config(&vbd.vdi, &target.marks.applied(source.other_config.clone()))?;
            session.vdi().copy(&vbd.vdi, &target.sr, COPY_TIMEOUT)?
        };
        let record = session.vdi().get_record(&disk)?;
        guard.add(
            disk.clone(),
            SrCopy {
                device: vbd.device.clone(),
                userdevice: vbd.userdevice.clone(),
                source_vdi_uuid: target
                    .sources
                    .get(&vbd.userdevice)
                    .cloned()
                    .unwrap_or_default(),
                vdi_uuid: record.uuid.clone(),
                sr_uuid: target.sr_uuid.clone(),
                sr_name: target.sr_name.clone(),
                virtual_size: record.virtual_size.max(0).cast_unsigned(),
                blank,
            },
        );
        if !blank {
            // The copy took the snapshot disk's name.
            session.vdi().set_name_label(&disk, &label)?;
        }
        // The snapshot's own disk goes (the snapshot's guard would take it anyway).
        session.vbd().destroy(&vbd_ref)?;
        session.vdi().destroy(&vbd.vdi)?;
        attached.push(session.vbd().create(&VbdRecord {
            vm: snapshot.reference().clone(),
            vdi: disk,
            userdevice: vbd.userdevice.clone(),
            device: vbd.device.clone(),
            bootable: vbd.bootable,
            mode: VbdMode::RW,
            kind: VbdType::Disk,
            unpluggable: vbd.unpluggable,
            other_config: StringMap::from([("owner".to_owned(), "true".to_owned())]),
            ..VbdRecord::default()
        })?);
    }
    Ok(attached)
}
