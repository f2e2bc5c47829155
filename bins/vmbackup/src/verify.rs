//! Re-reading a backup: every file against its manifest digest, every XVA's chunk checksums
//! and structure, every disk image's size and structure (a compressed one decompressed as it
//! is read). A role, format, compression or state the manifest names and this version does
//! not know is a problem, never a pass: no file is called sound unless its structure and
//! size were checked.

use std::io::Read;
use std::path::{Path, PathBuf};

use disk_image::compress::{Detected, decompressed};
use disk_image::vhd::{VhdCheck, VhdDisk};
use disk_image::xva::XvaReader;
use disk_image::{NoProgress, RandomAccessDisk};
use serde::Serialize;

use crate::digest::{FileDigest, kind_named, read_digested};
use crate::error::{Result, VmBackupError};
use crate::manifest::{
    FileCompression, FileRole, ImageFormat, Manifest, ManifestFile, ManifestState,
};

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
    if manifest.state != ManifestState::Complete {
        check
            .problems
            .push(format!("the manifest's state is `{}`", manifest.state));
    }
    for disk in &manifest.disks {
        if manifest
            .file(&disk.file)
            .is_none_or(|f| f.role != FileRole::Disk)
        {
            check.problems.push(format!(
                "`{}`: the disk {} has no image among the backup's files",
                disk.file, disk.device
            ));
        }
    }
    for file in &manifest.files {
        let path = match Manifest::resolve(dir, &file.path) {
            Ok(path) => path,
            Err(error) => {
                check.problems.push(crate::run::chain(&error));
                continue;
            }
        };
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

/// The most a metadata-only archive may hold (records only).
pub(crate) const METADATA_LIMIT: u64 = 64 << 20;

/// Whether what the file turned out to be matches the manifest's compression.
fn check_compression(shown: &str, recorded: &FileCompression, detected: Detected) -> Result<()> {
    let matches = matches!(
        (recorded, detected),
        (FileCompression::None, Detected::Plain)
            | (FileCompression::Gzip, Detected::Gzip)
            | (FileCompression::Zstd, Detected::Zstd)
    );
    if matches {
        Ok(())
    } else {
        Err(VmBackupError::Backup(format!(
            "`{shown}`: the manifest says compression `{recorded}`, the file is {detected:?}"
        )))
    }
}

/// Reads one file of the backup once: its digest, and, by its role, the structure as the
/// bytes pass (every checksum of an XVA, the structure and size of a disk image).
fn check_file(path: &Path, file: &ManifestFile, manifest: &Manifest) -> Result<FileDigest> {
    let Some(kind) = kind_named(&file.digest.kind) else {
        return Err(VmBackupError::Backup(format!(
            "`{}`: unknown digest kind `{}` in the manifest",
            path.display(),
            file.digest.kind
        )));
    };
    let shown = path.display().to_string();
    let unknown = |what: &str, value: &str| {
        VmBackupError::Backup(format!(
            "`{shown}`: unknown {what} `{value}` in the manifest"
        ))
    };
    if let FileCompression::Unknown(value) = &file.compression {
        return Err(unknown("compression", value));
    }
    let image = |e| VmBackupError::image(format!("verifying `{shown}`"), e);
    let read = |e| VmBackupError::io(format!("reading `{shown}`"), e);
    match &file.role {
        FileRole::Unknown(value) => Err(unknown("role", value)),
        FileRole::Metadata | FileRole::NaubackupMetadata => {
            // Small text files: their digest and length are their check.
            read_digested(path, kind, |bytes| {
                let (_, detected) = decompressed(bytes).map_err(read)?;
                check_compression(&shown, &file.compression, detected)
            })
        }
        FileRole::Xva | FileRole::MetadataXva | FileRole::BackupSrXva => {
            read_digested(path, kind, |bytes| {
                let (archive, detected) = decompressed(bytes).map_err(read)?;
                check_compression(&shown, &file.compression, detected)?;
                if file.role != FileRole::Xva {
                    // Records only (small): ova.xml and the archive's whole structure.
                    let mut bytes = Vec::new();
                    archive
                        .take(METADATA_LIMIT)
                        .read_to_end(&mut bytes)
                        .map_err(read)?;
                    XvaReader::open(&bytes[..], shown.clone()).map_err(image)?;
                    return check_whole_tar(&bytes, &shown);
                }
                let mut reader = XvaReader::open(archive, shown.clone()).map_err(image)?;
                while reader
                    .read_disk(None, true, &NoProgress)
                    .map_err(image)?
                    .is_some()
                {}
                reader.finish().map_err(image)
            })
        }
        FileRole::Disk => {
            let Some(disk) = manifest.disks.iter().find(|d| d.file == file.path) else {
                return Err(VmBackupError::Backup(format!(
                    "`{shown}`: a disk image the manifest's disks do not describe"
                )));
            };
            let compressed = file.compression != FileCompression::None;
            let mut size = 0;
            let digest = read_digested(path, kind, |bytes| {
                let (mut plain, detected) = decompressed(bytes).map_err(read)?;
                check_compression(&shown, &file.compression, detected)?;
                size = match (&disk.format, compressed) {
                    (ImageFormat::Raw, _) => {
                        std::io::copy(&mut plain, &mut std::io::sink()).map_err(read)?
                    }
                    (ImageFormat::Vhd, true) => vhd_size(&mut plain, &shown)?,
                    (ImageFormat::Vhd, false) => VhdDisk::open(path).map_err(image)?.size(),
                    (ImageFormat::Unknown(value), _) => {
                        return Err(unknown("image format", value));
                    }
                };
                Ok(())
            })?;
            check_size(&shown, size, disk.virtual_size)?;
            Ok(digest)
        }
    }
}

/// Checks that `archive` (a metadata-only XVA, small) is a whole tar archive: every
/// member's header and data present, then the two zero blocks that end an archive. Its
/// `ova.xml` alone can be whole while the archive was cut short.
pub(crate) fn check_whole_tar(archive: &[u8], shown: &str) -> Result<()> {
    const BLOCK: usize = 512;
    let problem =
        |what: String| VmBackupError::Backup(format!("`{shown}` is not a whole archive: {what}"));
    let mut at = 0usize;
    loop {
        let Some(header) = archive.get(at..at + BLOCK) else {
            return Err(problem(format!(
                "it ends at byte {} inside a header",
                archive.len()
            )));
        };
        if header.iter().all(|b| *b == 0) {
            let end = at + 2 * BLOCK;
            if archive.len() < end {
                return Err(problem("the end-of-archive blocks are missing".to_owned()));
            }
            if archive[at..].iter().any(|b| *b != 0) {
                return Err(problem(format!(
                    "data after the end of the archive at byte {at}"
                )));
            }
            return Ok(());
        }
        let field = std::str::from_utf8(&header[124..136])
            .ok()
            .map(|text| text.trim_matches(|c: char| c == '\0' || c == ' '))
            .and_then(|text| u64::from_str_radix(text, 8).ok())
            .ok_or_else(|| problem(format!("a header at byte {at} has no valid size")))?;
        let size = usize::try_from(field)
            .map_err(|_| problem(format!("a member at byte {at} is too large")))?;
        at = at + BLOCK + size.div_ceil(BLOCK) * BLOCK;
        if at > archive.len() {
            return Err(problem(format!(
                "a member ends past byte {}",
                archive.len()
            )));
        }
    }
}

/// The virtual size of the VHD `input` streams, its structure checked on the way.
pub(crate) fn vhd_size(input: &mut dyn Read, shown: &str) -> Result<u64> {
    let mut check = VhdCheck::new(shown);
    std::io::copy(input, &mut check)
        .map_err(|e| VmBackupError::io(format!("checking the VHD `{shown}`"), e))?;
    check
        .finish()
        .map_err(|e| VmBackupError::image(format!("checking the VHD `{shown}`"), e))
}

/// A disk image must hold its whole disk.
pub(crate) fn check_size(shown: &str, size: u64, virtual_size: u64) -> Result<()> {
    if size == virtual_size {
        Ok(())
    } else {
        Err(VmBackupError::Backup(format!(
            "`{shown}` holds {size} bytes of a {virtual_size}-byte disk"
        )))
    }
}
