//! vdi-export: the boot disk (or every disk) as a raw or VHD image.

use backup_core::store::{FileRole, ManifestDisk, Recorded, dir_name};
use disk_image::ImageFormat;
use xenapi::DiskFormat;

use backup_core::batch::{Saved, Structure};

use super::{AtStep, Backup, JobFailure};
use crate::error::{Result, VmBackupError};
use crate::guards::{TempVdi, disk_snapshot_name};
use crate::inventory::VmDisk;
use crate::naubackup_files::disk_device;
use crate::save::{self, save_download};
use crate::status_log::Failure;

/// Snapshots each disk, streams it, checks the image, destroys the disk snapshot.
pub(super) fn vdi_export(backup: &mut Backup<'_>) -> std::result::Result<(), JobFailure> {
    let inventory = backup.pool.inventory;
    let disks: Vec<VmDisk> = if backup.pool.config.all_disks {
        inventory.disks_of(backup.vm)
    } else {
        inventory.boot_disk(backup.vm).into_iter().collect()
    };
    if disks.is_empty() {
        return Err(VmBackupError::Backup(format!(
            "{}: the VM has no boot disk (xvda) to export",
            backup.vm.name_label
        )))
        .at(Failure::XvdaUuidNotFound);
    }
    let single = disks.len() == 1;
    for (index, disk) in disks.iter().enumerate() {
        let device = disk_device(disk, index);
        let file = export_disk(backup, disk, &device, single)?;
        backup.disks.push(ManifestDisk {
            device,
            slot: disk.vbd.userdevice.clone(),
            volume_uuid: disk.vdi.uuid.clone(),
            name: disk.vdi.name_label.clone(),
            virtual_size: disk.vdi.virtual_size.max(0).cast_unsigned(),
            file,
            format: Recorded::Known(backup.pool.config.vdi_export_format),
        });
    }
    Ok(())
}

/// One disk: returns the image's file name.
fn export_disk(
    backup: &mut Backup<'_>,
    disk: &VmDisk,
    device: &str,
    single: bool,
) -> std::result::Result<String, JobFailure> {
    let size = disk.vdi.virtual_size.max(0).cast_unsigned();
    let scope = backup.cx.disk(device, Some(size));
    let session = backup.session();
    let snapshot = TempVdi::snapshot(session, &disk.vdi_ref)
        .map_err(|e| VmBackupError::xapi(backup.doing(&format!("snapshotting disk {device}")), e))
        .at(Failure::VdiSnapshot)?;
    // VmBackup.py's name for the disk snapshot, so an admin recognises it.
    let label = disk_snapshot_name(&backup.vm.name_label, &disk.vdi.name_label);
    session
        .vdi()
        .set_name_label(snapshot.reference(), &label)
        .map_err(|e| VmBackupError::xapi(backup.doing("naming the disk snapshot"), e))
        .at(Failure::VdiParamSet)?;
    let format = backup.pool.config.vdi_export_format;
    let stem = if single {
        backup.stem.clone()
    } else {
        format!("{}-{}", backup.stem, dir_name(device))
    };
    let file = format!(
        "{stem}.{}{}",
        format.as_str(),
        save::codec(backup.pool.config.compression).suffix()
    );
    let saved = stream_disk(backup, &snapshot, device, &file, size).at(Failure::VdiExport)?;
    scope.finish(saved.digest.bytes);
    backup.add_file(
        file.clone(),
        FileRole::Disk,
        backup.pool.config.compression,
        saved.digest,
    );
    if let Err(error) = snapshot.destroy() {
        backup.warn(format!(
            "the snapshot of disk {device} could not be removed: {error}"
        ));
    }
    Ok(file)
}

/// Streams the disk snapshot's `/export_raw_vdi` into the backup's `file`: a raw image
/// must be the disk's exact size, a VHD (compressed or not) a structure checked as it
/// streams, of that size.
fn stream_disk(
    backup: &Backup<'_>,
    snapshot: &TempVdi<'_>,
    device: &str,
    file: &str,
    size: u64,
) -> Result<Saved> {
    let path = backup.dir.file_path(file)?;
    let format = backup.pool.config.vdi_export_format;
    let download = backup
        .session()
        .export_raw_vdi(snapshot.reference(), DiskFormat::from(format), None)
        .map_err(|e| {
            VmBackupError::xapi(backup.doing(&format!("starting the export of {device}")), e)
        })?;
    let structure = match format {
        ImageFormat::Raw => Structure::Raw { size: Some(size) },
        ImageFormat::Vhd => Structure::Vhd { size: Some(size) },
    };
    let label = format!("{} {device}", backup.vm.name_label);
    save_download(download, &path, &label, structure, &backup.save_options())
}
