//! Re-reading a backup: every file against its manifest digest, every XVA's chunk checksums
//! and structure, every disk image's size and structure (a compressed one decompressed as it
//! is read). A role, format, compression or state the manifest names and this version does
//! not know is a problem, never a pass: no file is called sound unless its structure and
//! size were checked.

use std::io::Read;
use std::path::{Path, PathBuf};

use disk_image::compress::{Compression, decompressed};
use disk_image::vhd::{VhdCheck, VhdDisk};
use disk_image::xva::XvaReader;
use disk_image::{ImageFormat, NoProgress, RandomAccessDisk};
use serde::Serialize;

use super::digest::{FileDigest, read_digested};
use super::error::{Result, StoreError, chain};
use super::manifest::{Manifest, ManifestFile};
use super::words::{FileRole, ManifestState};

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
    let _span = tracing::info_span!("verify", backup = %dir.display()).entered();
    let mut check = BackupCheck {
        path: dir.to_path_buf(),
        vm: manifest.vm.name.clone(),
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
                check.problems.push(chain(&error));
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
            Err(error) => check.problems.push(chain(&error)),
        }
    }
    for problem in &check.problems {
        tracing::warn!(%problem, "backup not sound");
    }
    Ok(check)
}

/// The most a metadata-only archive may hold (records only).
pub const METADATA_LIMIT: u64 = 64 << 20;

/// Whether what the file turned out to be matches the manifest's compression.
fn check_compression(path: &Path, recorded: Compression, detected: Compression) -> Result<()> {
    if recorded == detected {
        Ok(())
    } else {
        Err(StoreError::damaged(
            path,
            format!("the manifest says compression `{recorded}`, the file is {detected}"),
        ))
    }
}

/// Reads one file of the backup once: its digest, and, by its role, the structure as the
/// bytes pass (every checksum of an XVA, the structure and size of a disk image). Every
/// word of the manifest it needs must be known, or the file fails.
fn check_file(path: &Path, file: &ManifestFile, manifest: &Manifest) -> Result<FileDigest> {
    let unknown = |what: &str, value: &str| {
        StoreError::damaged(path, format!("unknown {what} `{value}` in the manifest"))
    };
    let kind = file
        .digest
        .kind
        .known()
        .map_err(|value| unknown("digest kind", value))?;
    let compression = file
        .compression
        .known()
        .map_err(|value| unknown("compression", value))?;
    let shown = path.display().to_string();
    let image = |e| StoreError::image("verifying", path, e);
    let read = |e| StoreError::io("reading", path, e);
    match &file.role {
        FileRole::Unknown(value) => Err(unknown("role", value)),
        FileRole::Metadata | FileRole::NaubackupMetadata => {
            // Small text files: their digest and length are their check.
            read_digested(path, kind, |bytes| {
                let (_, detected) = decompressed(bytes).map_err(read)?;
                check_compression(path, compression, detected.into())
            })
        }
        FileRole::Xva | FileRole::MetadataXva | FileRole::BackupSrXva => {
            read_digested(path, kind, |bytes| {
                let (archive, detected) = decompressed(bytes).map_err(read)?;
                check_compression(path, compression, detected.into())?;
                if file.role != FileRole::Xva {
                    // Records only (small): ova.xml and the archive's whole structure.
                    let mut bytes = Vec::new();
                    archive
                        .take(METADATA_LIMIT)
                        .read_to_end(&mut bytes)
                        .map_err(read)?;
                    XvaReader::open(&bytes[..], shown.clone()).map_err(image)?;
                    return check_whole_tar(&bytes, path);
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
                return Err(StoreError::damaged(
                    path,
                    "a disk image the manifest's disks do not describe",
                ));
            };
            let format = disk
                .format
                .known()
                .map_err(|value| unknown("image format", value))?;
            let compressed = compression != Compression::None;
            let mut size = 0;
            let digest = read_digested(path, kind, |bytes| {
                let (mut plain, detected) = decompressed(bytes).map_err(read)?;
                check_compression(path, compression, detected.into())?;
                size = match (format, compressed) {
                    (ImageFormat::Raw, _) => {
                        std::io::copy(&mut plain, &mut std::io::sink()).map_err(read)?
                    }
                    (ImageFormat::Vhd, true) => vhd_size(&mut plain, path)?,
                    (ImageFormat::Vhd, false) => VhdDisk::open(path).map_err(image)?.size(),
                };
                Ok(())
            })?;
            check_size(path, size, disk.virtual_size)?;
            Ok(digest)
        }
    }
}

/// Checks that `archive` (a metadata-only XVA, small) is a whole tar archive: every
/// member's header and data present, then the two zero blocks that end an archive. Its
/// `ova.xml` alone can be whole while the archive was cut short.
pub fn check_whole_tar(archive: &[u8], path: &Path) -> Result<()> {
    const BLOCK: usize = 512;
    let problem = |what: String| StoreError::damaged(path, format!("not a whole archive: {what}"));
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
pub fn vhd_size(input: &mut dyn Read, path: &Path) -> Result<u64> {
    let mut check = VhdCheck::new(path.display().to_string());
    std::io::copy(input, &mut check).map_err(|e| StoreError::io("checking the VHD", path, e))?;
    check
        .finish()
        .map_err(|e| StoreError::image("checking the VHD", path, e))
}

/// A disk image must hold its whole disk.
pub fn check_size(path: &Path, size: u64, virtual_size: u64) -> Result<()> {
    if size == virtual_size {
        Ok(())
    } else {
        Err(StoreError::damaged(
            path,
            format!("holds {size} bytes of a {virtual_size}-byte disk"),
        ))
    }
}
