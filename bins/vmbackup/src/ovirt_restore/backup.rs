//! An oVirt backup as a restore reads it: ours (`manifest.json` with the engine's records
//! and the OVF, every file through its digest) or oVirtSimpleBackup's (`data.xml`,
//! `DiskN.dat`, `DiskN.img[.gz|.lzo|.bzip2|.pbzip2]`, no digests), and for each disk the
//! image to read and how.

use std::io;
use std::path::{Path, PathBuf};

use backup_core::store::digest::digest_bytes;
use backup_core::store::{FileRole, MANIFEST_FILE, Manifest, ManifestState, Recorded};
use disk_image::ImageFormat;
use disk_image::compress::Compression;
use ovirt_client::records::VM_FILE;
use ovirt_client::simplebackup::{self, SimpleBackup, SimpleDisk};
use ovirt_client::{RestoreChoices, RestorePlan, VmRecords};

use super::error::{OvirtRestoreError, Result};

/// An oVirt backup found in a directory.
#[derive(Debug)]
pub enum OvirtBackup {
    /// Written by vmbackup: its manifest and the engine's records of the VM.
    Ours {
        /// The backup's directory.
        dir: PathBuf,
        /// Its manifest.
        manifest: Box<Manifest>,
        /// The VM, its disks, attachments and NICs as the engine described them.
        records: Box<VmRecords>,
    },
    /// Written by oVirtSimpleBackup.
    Seed(SimpleBackup),
}

/// Where a disk's bytes are in a backup.
#[derive(Debug, Clone)]
pub enum DiskImage {
    /// Ours: a file the manifest records (digest, compression).
    Ours {
        /// The file.
        path: PathBuf,
        /// Its record.
        file: backup_core::store::ManifestFile,
    },
    /// The seed's `DiskN.img…`.
    Seed(SimpleDisk),
}

/// Whether the manifest of `dir` is one of an oVirt backup of ours: it records the
/// engine's VM record ([`VM_FILE`]).
fn records_vm(manifest: &Manifest) -> bool {
    manifest.files.iter().any(|f| file_name(&f.path) == VM_FILE)
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

impl OvirtBackup {
    /// The oVirt backup in `dir`, or `None` when `dir` holds another platform's backup (a
    /// manifest without the engine's records) or no backup this module reads.
    pub fn open(dir: &Path) -> Result<Option<OvirtBackup>> {
        if dir.join(MANIFEST_FILE).is_file() {
            let manifest = Manifest::read(dir)?;
            if !records_vm(&manifest) {
                return Ok(None);
            }
            if manifest.state != ManifestState::Complete {
                return Err(OvirtRestoreError::backup(
                    dir,
                    format!("the manifest's state is `{}`, not complete", manifest.state),
                ));
            }
            let records = read_records(dir, &manifest)?;
            return Ok(Some(OvirtBackup::Ours {
                dir: dir.to_path_buf(),
                manifest: Box::new(manifest),
                records: Box::new(records),
            }));
        }
        if simplebackup::looks_like_backup(dir) {
            let backup = SimpleBackup::open(dir).map_err(|e| {
                OvirtRestoreError::backup(
                    dir,
                    format!("not a readable oVirtSimpleBackup backup: {e}"),
                )
            })?;
            return Ok(Some(OvirtBackup::Seed(backup)));
        }
        Ok(None)
    }

    /// The backup's directory.
    pub fn dir(&self) -> &Path {
        match self {
            OvirtBackup::Ours { dir, .. } => dir,
            OvirtBackup::Seed(backup) => &backup.path,
        }
    }

    /// The name of the VM backed up.
    pub fn vm_name(&self) -> String {
        match self {
            OvirtBackup::Ours { manifest, .. } => manifest.vm.name.clone(),
            OvirtBackup::Seed(backup) => backup.vm_name.clone(),
        }
    }

    /// The OVF of the VM, if the backup has one.
    pub fn ovf(&self) -> Result<Option<String>> {
        match self {
            OvirtBackup::Ours { records, .. } => Ok(records.ovf.clone()),
            OvirtBackup::Seed(backup) => backup
                .ovf()
                .map_err(|e| OvirtRestoreError::backup(&backup.path, e.to_string())),
        }
    }

    /// The settings of the VM to make, and for each of its disks (in the plan's order)
    /// the image to read. `profile` gives the vNIC profile of a NIC known by its network's
    /// name only (the seed's OVF), when `choices` names none.
    pub fn plan(
        &self,
        choices: &RestoreChoices,
        profile: &dyn Fn(Option<&str>) -> Result<String>,
    ) -> Result<(RestorePlan, Vec<DiskImage>)> {
        match self {
            OvirtBackup::Ours {
                dir,
                manifest,
                records,
            } => {
                let plan = RestorePlan::from_records(records, choices)
                    .map_err(|e| OvirtRestoreError::backup(dir, e.to_string()))?;
                let images = plan
                    .disks
                    .iter()
                    .map(|disk| our_image(dir, manifest, disk))
                    .collect::<Result<_>>()?;
                Ok((plan, images))
            }
            OvirtBackup::Seed(backup) => super::seed::plan(backup, choices, profile),
        }
    }
}

/// The image of `disk` in our backup, its size and format checked against the manifest.
fn our_image(dir: &Path, manifest: &Manifest, disk: &ovirt_client::NewDisk) -> Result<DiskImage> {
    let id = disk.source.as_deref().unwrap_or_default();
    let recorded = manifest
        .disks
        .iter()
        .find(|d| d.volume_uuid == id)
        .ok_or_else(|| {
            OvirtRestoreError::backup(
                dir,
                format!("the records name disk {id}, the manifest has no image of it"),
            )
        })?;
    if recorded.virtual_size != disk.size {
        return Err(OvirtRestoreError::backup(
            dir,
            format!(
                "disk {id}: the manifest gives {} bytes, the records {}",
                recorded.virtual_size, disk.size
            ),
        ));
    }
    match &recorded.format {
        Recorded::Known(ImageFormat::Raw) => {}
        other => {
            return Err(OvirtRestoreError::backup(
                dir,
                format!("disk {id}: image format `{other}` (a restore reads raw images)"),
            ));
        }
    }
    let file = manifest
        .file(&recorded.file)
        .filter(|f| f.role == FileRole::Disk)
        .ok_or_else(|| {
            OvirtRestoreError::backup(
                dir,
                format!(
                    "disk {id}: `{}` is not among the backup's disk files",
                    recorded.file
                ),
            )
        })?;
    let path = Manifest::resolve(dir, &file.path)?;
    let stored = std::fs::metadata(&path)
        .map_err(OvirtRestoreError::read(&path))?
        .len();
    if stored != file.digest.bytes {
        return Err(OvirtRestoreError::backup(
            dir,
            format!(
                "`{}` holds {stored} bytes, the manifest says {}: the backup is damaged",
                file.path, file.digest.bytes
            ),
        ));
    }
    if let Err(kind) = file.digest.kind.known() {
        return Err(OvirtRestoreError::backup(
            dir,
            format!("`{}`: unknown digest kind `{kind}`", file.path),
        ));
    }
    match file.compression.known() {
        Ok(Compression::None) if stored != disk.size => {
            return Err(OvirtRestoreError::backup(
                dir,
                format!(
                    "`{}` holds {stored} bytes of a {}-byte disk",
                    file.path, disk.size
                ),
            ));
        }
        Ok(_) => {}
        Err(value) => {
            return Err(OvirtRestoreError::backup(
                dir,
                format!("`{}`: unknown compression `{value}`", file.path),
            ));
        }
    }
    Ok(DiskImage::Ours {
        path,
        file: file.clone(),
    })
}

/// The engine's records and the OVF, each file read through the manifest's digest.
fn read_records(dir: &Path, manifest: &Manifest) -> Result<VmRecords> {
    VmRecords::from_files(|name| {
        let Some(file) = manifest.files.iter().find(|f| file_name(&f.path) == name) else {
            return Ok(None);
        };
        let path = Manifest::resolve(dir, &file.path).map_err(io::Error::other)?;
        let bytes = std::fs::read(&path)?;
        let kind = file.digest.kind.known().map_err(|kind| {
            io::Error::other(format!("`{}`: unknown digest kind `{kind}`", file.path))
        })?;
        if file.compression != Recorded::Known(Compression::None) {
            return Err(io::Error::other(format!(
                "`{}`: a record file is stored compressed ({})",
                file.path, file.compression
            )));
        }
        if digest_bytes(kind, &bytes) != file.digest {
            return Err(io::Error::other(format!(
                "`{}` is not the file the backup recorded (its digest differs): the backup is damaged",
                file.path
            )));
        }
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| io::Error::other(format!("`{}` is not UTF-8 text", file.path)))
    })
    .map_err(|e| OvirtRestoreError::backup(dir, backup_core::store::chain(&e)))
}
