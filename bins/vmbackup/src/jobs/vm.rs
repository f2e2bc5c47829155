//! vm-export and metadata-export.

use backup_core::store::FileRole;
use disk_image::compress::Compression;
use xenapi::ExportOptions;

use backup_core::batch::{Saved, Structure};

use super::{AtStep, Backup, JobFailure};
use crate::error::{Result, VmBackupError};
use crate::guards::{VmSnapshot, take_snapshot};
use crate::save::{self, save_download};
use crate::status_log::Failure;

/// vm-export: snapshot, clear the template flags, stream `/export`, destroy the snapshot.
pub(super) fn vm_export(backup: &mut Backup<'_>) -> std::result::Result<(), JobFailure> {
    let session = backup.session();
    let snapshot = take_snapshot(session, &backup.vm_ref, &backup.snapshot_name())
        .map_err(|e| VmBackupError::xapi(backup.doing("snapshotting the VM"), e))
        .at(Failure::Snapshot)?;
    export_snapshot(backup, &snapshot)?;
    if let Err(error) = snapshot.destroy() {
        backup.warn(format!("the backup snapshot could not be removed: {error}"));
    }
    Ok(())
}

/// Clears the snapshot's template and HA flags (so its export imports as a VM) and streams
/// its export into `<vm>.xva`.
pub(super) fn export_snapshot(
    backup: &mut Backup<'_>,
    snapshot: &VmSnapshot<'_>,
) -> std::result::Result<(), JobFailure> {
    clear_template_flags(backup, snapshot)?;
    let host_compression = backup.pool.config.compress;
    let options = ExportOptions {
        compression: if host_compression {
            Compression::Gzip
        } else {
            Compression::None
        }
        .into(),
        preserve_power_state: false,
    };
    let file = format!(
        "{}.xva{}{}",
        backup.stem,
        if host_compression { ".gz" } else { "" },
        save::codec(backup.pool.config.compression).suffix()
    );
    let saved = stream_export(backup, snapshot, options, &file).at(Failure::VmExport)?;
    let compression = if host_compression {
        Compression::Gzip
    } else {
        backup.pool.config.compression
    };
    backup.add_file(file, FileRole::Xva, compression, saved.digest);
    Ok(())
}

/// Streams the snapshot's `/export` into the backup's `file`, checked as an XVA.
fn stream_export(
    backup: &Backup<'_>,
    snapshot: &VmSnapshot<'_>,
    options: ExportOptions,
    file: &str,
) -> Result<Saved> {
    let path = backup.dir.file_path(file)?;
    let download = backup
        .session()
        .export(snapshot.reference(), &options)
        .map_err(|e| VmBackupError::xapi(backup.doing("starting the export"), e))?;
    save_download(
        download,
        &path,
        &backup.vm.name_label,
        Structure::Xva,
        &backup.save_options(),
    )
}

/// Clears the snapshot's `is_a_template` and `ha_always_run` (VmBackup.py's
/// `template-param-set`), so that its export or metadata describes a VM.
pub(super) fn clear_template_flags(
    backup: &Backup<'_>,
    snapshot: &VmSnapshot<'_>,
) -> std::result::Result<(), JobFailure> {
    let session = backup.session();
    let clear_flags = || -> xenapi::Result<()> {
        session
            .vm()
            .set_is_a_template(snapshot.reference(), false)?;
        session.vm().set_ha_always_run(snapshot.reference(), false)
    };
    clear_flags()
        .map_err(|e| VmBackupError::xapi(backup.doing("clearing the snapshot's template flags"), e))
        .at(Failure::TemplateParamSet)
}

/// metadata-export: the VM's `/export_metadata` archive as `<vm>.xva`.
pub(super) fn metadata_export(backup: &mut Backup<'_>) -> std::result::Result<(), JobFailure> {
    let archive = backup.metadata_archive().at(Failure::MetadataExport)?;
    let file = format!("{}.xva", backup.stem);
    backup
        .add_small_file(&file, FileRole::MetadataXva, &archive)
        .at(Failure::MetadataExport)?;
    backup.metadata = Some(archive);
    Ok(())
}
