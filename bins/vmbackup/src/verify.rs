//! Re-reading a backup: every file against its manifest digest, every XVA's chunk checksums
//! and structure, every disk image's size and structure.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use disk_image::compress::decompressed;
use disk_image::vhd::VhdDisk;
use disk_image::xva::XvaReader;
use disk_image::{NoProgress, RandomAccessDisk};
use serde::Serialize;

use crate::digest::digest_file;
use crate::error::{Result, VmBackupError};
use crate::manifest::Manifest;

/// What checking one backup found.
#[derive(Debug, Clone, Serialize)]
pub struct BackupCheck {
    /// The backup's directory.
    pub path: PathBuf,
    /// The VM it holds.
    pub vm: String,
    /// Files checked.
    pub files: usize,
    /// Problems found (empty: the backup is sound).
    pub problems: Vec<String>,
}

impl BackupCheck {
    /// Whether the backup is sound.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks the backup in `dir`. A backup that cannot even be read (no manifest) is an error;
/// damaged files are problems in the result.
pub fn verify_backup(dir: &Path) -> Result<BackupCheck> {
    let manifest = Manifest::read(dir)?;
    let mut check = BackupCheck {
        path: dir.to_path_buf(),
        vm: manifest.vm.name_label.clone(),
        files: manifest.files.len(),
        problems: Vec::new(),
    };
    for file in &manifest.files {
        let path = dir.join(&file.path);
        if !path.starts_with(dir) || file.path.split('/').any(|part| part == "..") {
            check
                .problems
                .push(format!("`{}`: a path outside the backup", file.path));
            continue;
        }
        match digest_file(&path, &file.digest.kind) {
            Ok(found) if found.value == file.digest.value && found.bytes == file.digest.bytes => {}
            Ok(found) => check.problems.push(format!(
                "`{}`: {} {} over {} bytes, the manifest says {} over {} bytes",
                file.path,
                found.kind,
                found.value,
                found.bytes,
                file.digest.value,
                file.digest.bytes
            )),
            Err(error) => check.problems.push(crate::run::chain(&error)),
        }
        let structure = match file.role.as_str() {
            "xva" => check_xva(&path),
            "metadata-xva" => check_metadata_xva(&path),
            "disk" => check_disk(&path, &manifest, &file.path),
            _ => Ok(()),
        };
        if let Err(error) = structure {
            check.problems.push(crate::run::chain(&error));
        }
    }
    Ok(check)
}

/// Every checksum and the structure of an XVA (plain, gzip or zstd).
fn check_xva(path: &Path) -> Result<()> {
    let fail = |e| VmBackupError::image(format!("verifying `{}`", path.display()), e);
    let (mut reader, _) = XvaReader::open_path(path).map_err(fail)?;
    while reader
        .read_disk(None, true, &NoProgress)
        .map_err(fail)?
        .is_some()
    {}
    reader.finish().map_err(fail)
}

/// A records-only archive: `ova.xml` first, and readable.
fn check_metadata_xva(path: &Path) -> Result<()> {
    XvaReader::open_path(path)
        .map(drop)
        .map_err(|e| VmBackupError::image(format!("verifying `{}`", path.display()), e))
}

/// A disk image holds its whole disk: a VHD's structure and size, a raw image's size
/// (decompressed if it was compressed).
fn check_disk(path: &Path, manifest: &Manifest, relative: &str) -> Result<()> {
    let Some(disk) = manifest.disks.iter().find(|d| d.file == relative) else {
        return Ok(());
    };
    let shown = path.display();
    let read = |e| VmBackupError::io(format!("reading `{shown}`"), e);
    let compressed = manifest.is_compressed(relative);
    let size = match (disk.format.as_str(), compressed) {
        ("vhd", false) => VhdDisk::open(path)
            .map_err(|e| VmBackupError::image(format!("verifying `{shown}`"), e))?
            .size(),
        ("raw", false) => std::fs::metadata(path).map_err(read)?.len(),
        ("raw", true) => {
            let file = File::open(path).map_err(read)?;
            let (mut input, _) = decompressed(BufReader::new(file)).map_err(read)?;
            std::io::copy(&mut input, &mut std::io::sink()).map_err(read)?
        }
        // A compressed VHD is covered by its digest.
        _ => return Ok(()),
    };
    if size == disk.virtual_size {
        Ok(())
    } else {
        Err(VmBackupError::Backup(format!(
            "`{shown}` holds {size} bytes of a {}-byte disk",
            disk.virtual_size
        )))
    }
}
