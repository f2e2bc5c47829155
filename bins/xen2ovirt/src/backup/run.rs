//! A run from a vmbackup backup: a vm-export goes the XVA's way (its manifest digest
//! checked at the archive's end, before the VM is kept); a vdi-export streams each disk
//! image (raw or dynamic VHD, plain or compressed) into its upload, the file's digest and
//! size checked against the manifest before the upload is finalized.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Result, bail};
use backup_core::store::{ManifestDisk, ManifestFile};
use cli_common::Outcome;
use disk_image::compress::decompressed;
use disk_image::pieces::read_raw_pieces;
use disk_image::vhd::read_dynamic_pieces;
use disk_image::{ImageFormat, Piece, PieceError};

use super::{BackupData, ManifestCheck};
use crate::cli::Cli;
use crate::plan::PlannedDisk;
use crate::run;

/// `--backup DIR`.
pub fn run_backup(cli: &Cli, dir: &Path, stop: &Arc<AtomicBool>) -> Result<Outcome> {
    let backup = super::open(dir)?;
    let source = &backup.source;
    let origin = format!("the backup {}", dir.display());
    let disks = match backup.data {
        BackupData::Xva(reader, check) => {
            return run::run_xva_from(cli, *reader, source, &origin, || check.finish(), stop);
        }
        BackupData::Disks(disks) => disks,
    };
    let span = tracing::info_span!("vm", name = %source.name, uuid = %source.uuid, backup = %dir.display());
    let _entered = span.enter();
    let (engine, mut plan) = run::plan(cli, source)?;
    let mut pieces =
        |_: usize, planned: &PlannedDisk, push: &mut dyn FnMut(Piece) -> Result<()>| {
            let Some((recorded, file)) = disks
                .iter()
                .find(|(d, _)| d.volume_uuid == planned.source_uuid)
            else {
                bail!("the backup holds no image of disk {}", planned.source_uuid);
            };
            stream_image(&backup.dir, recorded, file, planned, push)
        };
    if cli.dry_run {
        return run::dry_run(cli, &mut plan, true, stop, pieces);
    }
    let marker = format!(
        "xen2ovirt: migrated from XenServer VM {} (`{}`) of {origin}",
        source.uuid, source.name
    );
    let (vm_id, reports) = run::migrate_disks(cli, &engine, &mut plan, &marker, stop, &mut pieces)?;
    run::finish(cli, &engine, &plan, vm_id, reports)
}

/// One disk image of the backup into `push`, checked against the manifest at its end; the
/// bytes read from the file.
pub fn stream_image(
    dir: &Path,
    recorded: &ManifestDisk,
    file: &ManifestFile,
    planned: &PlannedDisk,
    push: &mut dyn FnMut(Piece) -> Result<()>,
) -> Result<u64> {
    let check = ManifestCheck::open(dir, file)?;
    let name = check.path().display().to_string();
    let (input, _) = decompressed(check.reader())?;
    let unwrap = |e: PieceError<anyhow::Error>| match e {
        PieceError::Source(e) => anyhow::Error::new(e),
        PieceError::Sink(e) => e,
    };
    match recorded.format.known() {
        Ok(ImageFormat::Raw) => {
            read_raw_pieces(input, planned.size, &name, push).map_err(unwrap)?;
        }
        Ok(ImageFormat::Vhd) => {
            let summary = read_dynamic_pieces(input, &name, push).map_err(unwrap)?;
            if summary.size != planned.size {
                bail!(
                    "{name} holds a disk of {} bytes, the disk has {}",
                    summary.size,
                    planned.size
                );
            }
        }
        Err(word) => bail!("{name}: the manifest's image format `{word}` is unknown"),
    }
    let bytes = file.digest.bytes;
    check.finish()?;
    Ok(bytes)
}
