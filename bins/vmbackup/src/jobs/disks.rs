//! vdi-export: the boot disk (or every disk) as a raw or VHD image.

use backup_core::store::{FileRole, ManifestDisk, Recorded, dir_name};
use disk_image::ImageFormat;
use xenapi::DiskFormat;

use super::{AtStep, Backup, JobFailure};
use crate::error::VmBackupError;
use crate::guards::{TempVdi, disk_snapshot_name};
use crate::inventory::VmDisk;
use crate::naubackup_files::disk_device;
use crate::save::{self, Saved, Structure, save, save_raw_disk};
use crate::status_log::Failure;

/// Snapshots each disk, streams it, checks the image, destroys the disk snapshot.
pub(super) fn vdi_export(backup: &mut Backup<'_>) -> Result<(), JobFailure> {
    let inventory = backup.ctx.inventory;
    let disks: Vec<VmDisk> = if backup.ctx.config.all_disks {
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
            format: Recorded::Known(backup.ctx.config.vdi_export_format),
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
) -> Result<String, JobFailure> {
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
    let format = backup.ctx.config.vdi_export_format;
    let stem = if single {
        backup.stem.clone()
    } else {
        format!("{}-{}", backup.stem, dir_name(device))
    };
    let file = format!(
        "{stem}.{}{}",
        format.as_str(),
        save::codec(backup.ctx.config.compression).suffix()
    );
    let size = disk.vdi.virtual_size.max(0).cast_unsigned();
    let saved = (|| {
        let path = backup.dir.file_path(&file)?;
        let wire = DiskFormat::from(format);
        let download = session
            .export_raw_vdi(snapshot.reference(), wire, None)
            .map_err(|e| {
                VmBackupError::xapi(backup.doing(&format!("starting the export of {device}")), e)
            })?;
        let label = format!("{} {device}", backup.vm.name_label);
        let saved = match format {
            ImageFormat::Raw => save_raw_disk(
                download,
                &path,
                &label,
                &backup.save_options(Structure::Raw),
            )?,
            ImageFormat::Vhd => save(
                download,
                &path,
                &label,
                &backup.save_options(Structure::Vhd),
            )?,
        };
        check_image(&path, format, size, &saved)?;
        Ok(saved)
    })()
    .at(Failure::VdiExport)?;
    backup.add_file(
        file.clone(),
        FileRole::Disk,
        backup.ctx.config.compression,
        saved.digest,
    );
    if let Err(error) = snapshot.destroy() {
        backup.warnings.push(format!(
            "the snapshot of disk {device} could not be removed: {error}"
        ));
    }
    Ok(file)
}

/// The image must hold the whole disk: a raw image its exact size, a VHD (compressed or
/// not) a structure checked as it streamed, of that size.
fn check_image(
    path: &std::path::Path,
    format: ImageFormat,
    size: u64,
    saved: &Saved,
) -> crate::error::Result<()> {
    let shown = path.display();
    let problem = |what: String| VmBackupError::Backup(format!("`{shown}`: {what}"));
    match format {
        ImageFormat::Raw if saved.received != size => Err(problem(format!(
            "received {} bytes of a {size}-byte disk",
            saved.received
        ))),
        ImageFormat::Raw => Ok(()),
        ImageFormat::Vhd => match saved.vhd_size {
            Some(found) if found == size => Ok(()),
            Some(found) => Err(problem(format!(
                "a VHD of {found} bytes for a {size}-byte disk"
            ))),
            None => Err(problem("the VHD's structure was not checked".to_owned())),
        },
    }
}
