//! Re-reading a backup: every file against its manifest digest, every XVA's chunk checksums
//! and structure, every disk image's size and structure.

use std::path::{Path, PathBuf};

use disk_image::compress::decompressed;
use disk_image::vhd::VhdDisk;
use disk_image::xva::XvaReader;
use disk_image::{NoProgress, RandomAccessDisk};
use serde::Serialize;

use crate::digest::{FileDigest, kind_named, read_digested};
use crate::error::{Result, VmBackupError};
use crate::manifest::{Manifest, ManifestFile};

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
        match check_file(&path, file, &manifest) {
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
    }
    Ok(check)
}

/// Reads one file of the backup once: its digest, and, by its role, the structure as the
/// bytes pass (every checksum of an XVA, the length of a compressed raw image).
fn check_file(path: &Path, file: &ManifestFile, manifest: &Manifest) -> Result<FileDigest> {
    let Some(kind) = kind_named(&file.digest.kind) else {
        return Err(VmBackupError::Backup(format!(
            "`{}`: unknown digest kind `{}` in the manifest",
            path.display(),
            file.digest.kind
        )));
    };
    let shown = path.display().to_string();
    let image = |e| VmBackupError::image(format!("verifying `{shown}`"), e);
    let read = |e| VmBackupError::io(format!("reading `{shown}`"), e);
    let disk = manifest.disks.iter().find(|d| d.file == file.path);
    read_digested(path, kind, |bytes| match (file.role.as_str(), disk) {
        ("xva" | "metadata-xva" | crate::backup_sr::ROLE, _) => {
            let (archive, _) = decompressed(bytes).map_err(read)?;
            let mut reader = XvaReader::open(archive, shown.clone()).map_err(image)?;
            if file.role != "xva" {
                return Ok(()); // records only: ova.xml read, no disk data follows
            }
            while reader
                .read_disk(None, true, &NoProgress)
                .map_err(image)?
                .is_some()
            {}
            reader.finish().map_err(image)
        }
        ("disk", Some(disk)) => {
            let size = match (disk.format.as_str(), file.compression != "none") {
                ("raw", true) => {
                    let (mut raw, _) = decompressed(bytes).map_err(read)?;
                    std::io::copy(&mut raw, &mut std::io::sink()).map_err(read)?
                }
                ("raw", false) => std::fs::metadata(path).map_err(read)?.len(),
                ("vhd", false) => VhdDisk::open(path).map_err(image)?.size(),
                // A compressed VHD is covered by its digest.
                _ => return Ok(()),
            };
            check_size(&shown, size, disk.virtual_size)
        }
        _ => Ok(()),
    })
}

/// A disk image must hold its whole disk.
fn check_size(shown: &str, size: u64, virtual_size: u64) -> Result<()> {
    if size == virtual_size {
        Ok(())
    } else {
        Err(VmBackupError::Backup(format!(
            "`{shown}` holds {size} bytes of a {virtual_size}-byte disk"
        )))
    }
}
