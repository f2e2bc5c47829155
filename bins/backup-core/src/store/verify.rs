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

#[cfg(test)]
mod tests {
    use std::io::Write;

    use disk_image::compress::{Codec, CompressWriter};

    use super::*;
    use crate::store::digest::DigestWriter;
    use crate::store::{
        DigestKind, FileMode, MANIFEST_FORMAT, ManifestDisk, ManifestSource, ManifestVm,
        PartialBackup, Recorded,
    };

    /// A committed backup of one raw disk image (`disk.raw.zst`, zstd) of `size` bytes.
    fn raw_backup(root: &Path, size: usize) -> PathBuf {
        let start = "2026-11-22T01:30:05Z".parse().unwrap();
        let backup = PartialBackup::create(&root.join("vm"), start, FileMode::default()).unwrap();
        let path = backup.file_path("disk.raw.zst").unwrap();
        let file = FileMode::default().create_new(&path).unwrap();
        let mut out = CompressWriter::new(
            DigestWriter::new(file, DigestKind::Sha256),
            Codec::Zstd {
                level: 1,
                threads: 0,
            },
        )
        .unwrap();
        out.write_all(&vec![7u8; size]).unwrap();
        let (_, digest) = out.finish().unwrap().finish();
        let manifest = Manifest {
            format: MANIFEST_FORMAT.to_owned(),
            state: ManifestState::Complete,
            created: "2026-11-22T01:30:05Z".to_owned(),
            finished: "2026-11-22T01:30:06Z".to_owned(),
            parent: None,
            tags: Vec::new(),
            kind: "test".to_owned(),
            vm: ManifestVm {
                uuid: "u".into(),
                name: "vm".into(),
                directory: "vm".into(),
            },
            source: ManifestSource {
                endpoint: "https://here".into(),
                host: "h".into(),
            },
            tool: "test".into(),
            files: vec![ManifestFile {
                path: "disk.raw.zst".into(),
                role: FileRole::Disk,
                compression: Recorded::Known(Compression::Zstd),
                digest,
            }],
            disks: vec![ManifestDisk {
                device: "xvda".into(),
                slot: "0".into(),
                volume_uuid: "v".into(),
                name: "system".into(),
                virtual_size: 4096,
                file: "disk.raw.zst".into(),
                format: Recorded::Known(ImageFormat::Raw),
            }],
            extra: crate::store::Extra::new(),
        };
        backup.commit(&manifest).unwrap()
    }

    #[test]
    fn a_sound_image_passes_a_short_or_changed_one_fails() {
        let root = tempfile::tempdir().unwrap();
        let dir = raw_backup(root.path(), 4096);
        let check = verify_backup(&dir).unwrap();
        assert!(check.ok(), "{:?}", check.problems);
        assert_eq!((check.vm.as_str(), check.files), ("vm", 1));

        // Same digest recorded, other bytes: the digest catches it.
        let image = dir.join("disk.raw.zst");
        let mut bytes = std::fs::read(&image).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&image, &bytes).unwrap();
        let check = verify_backup(&dir).unwrap();
        assert!(!check.ok());

        // A whole, well-digested image of the wrong size: the size check catches it.
        let root = tempfile::tempdir().unwrap();
        let dir = raw_backup(root.path(), 1000);
        let check = verify_backup(&dir).unwrap();
        assert!(
            check
                .problems
                .iter()
                .any(|p| p.contains("holds 1000 bytes of a 4096-byte disk")),
            "{:?}",
            check.problems
        );
    }

    #[test]
    fn a_file_stored_otherwise_than_recorded_fails() {
        let root = tempfile::tempdir().unwrap();
        let dir = raw_backup(root.path(), 4096);
        let path = dir.join(crate::store::MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("\"zstd\"", "\"gzip\"")).unwrap();
        let check = verify_backup(&dir).unwrap();
        assert!(
            check
                .problems
                .iter()
                .any(|p| p.contains("compression `gzip`, the file is zstd")),
            "{:?}",
            check.problems
        );
    }
}
