//! An oVirt backup as a restore reads it: ours (`manifest.json` with the engine's records
//! and the OVF, every file through its digest) or oVirtSimpleBackup's (`data.xml`,
//! `DiskN.dat`, `DiskN.img[.gz|.lzo|.bzip2|.pbzip2]`, no digests), and for each disk the
//! image to read and how.

use std::io;
use std::path::{Path, PathBuf};

use backup_core::store::digest::digest_bytes;
use backup_core::store::{MANIFEST_FILE, Manifest, ManifestFile, ManifestState, Recorded};
use disk_image::compress::Compression;
use ovirt_client::records::{ATTACHMENTS_FILE, DISKS_FILE, NICS_FILE, OVF_FILE, VM_FILE};
use ovirt_client::simplebackup::{self, SimpleBackup, SimpleDisk};
use ovirt_client::{RestoreChoices, RestorePlan, VmRecords};

use super::error::{self, Result};
use crate::ovirt::{OvirtDiskRecord, OvirtFields};

/// An oVirt backup found in a directory.
#[derive(Debug)]
pub enum OvirtBackup {
    /// Written by vmbackup: its manifest and the engine's records of the VM.
    Ours {
        /// The backup's directory.
        dir: PathBuf,
        /// Its manifest, with the oVirt record.
        manifest: Box<Manifest<OvirtFields>>,
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
        file: ManifestFile,
        /// Its compression as the oVirt record gives it.
        compression: Compression,
    },
    /// The seed's `DiskN.img…`.
    Seed(SimpleDisk),
}

/// The key under which an oVirt backup's manifest keeps its record.
const OVIRT_KEY: &str = "ovirt";

impl OvirtBackup {
    /// The oVirt backup in `dir`, or `None` when `dir` holds another platform's backup (a
    /// manifest without the engine's records) or no backup this module reads.
    pub fn open(dir: &Path) -> Result<Option<OvirtBackup>> {
        if dir.join(MANIFEST_FILE).is_file() {
            if !Manifest::read(dir)?.extra.contains_key(OVIRT_KEY) {
                return Ok(None);
            }
            let manifest = Manifest::<OvirtFields>::read_as(dir)?;
            if manifest.state != ManifestState::Complete {
                return Err(error::backup(
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
                error::backup(dir, format!("not a readable oVirtSimpleBackup backup: {e}"))
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
                .map_err(|e| error::backup(&backup.path, e.to_string())),
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
                    .map_err(|e| error::backup(dir, e.to_string()))?;
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

/// The image of `disk` in our backup, its size and words checked against the manifest.
fn our_image(
    dir: &Path,
    manifest: &Manifest<OvirtFields>,
    disk: &ovirt_client::NewDisk,
) -> Result<DiskImage> {
    let id = disk.source.as_deref().unwrap_or_default();
    let recorded: &OvirtDiskRecord = manifest.extra.ovirt.disk(id).ok_or_else(|| {
        error::backup(
            dir,
            format!("the records name disk {id}, the manifest has no image of it"),
        )
    })?;
    if recorded.size != disk.size {
        return Err(error::backup(
            dir,
            format!(
                "disk {id}: the manifest gives {} bytes, the records {}",
                recorded.size, disk.size
            ),
        ));
    }
    let compression = recorded.compression.known().map_err(|value| {
        error::backup(
            dir,
            format!("`{}`: unknown compression `{value}`", recorded.file),
        )
    })?;
    let (path, file) = recorded_file(dir, manifest, &recorded.file)?;
    if file.compression != Recorded::Known(compression) {
        return Err(error::backup(
            dir,
            format!(
                "`{}`: the manifest says `{}` and `{}`",
                recorded.file, file.compression, recorded.compression
            ),
        ));
    }
    if compression == Compression::None && file.digest.bytes != disk.size {
        return Err(error::backup(
            dir,
            format!(
                "`{}` holds {} bytes of a {}-byte disk",
                file.path, file.digest.bytes, disk.size
            ),
        ));
    }
    Ok(DiskImage::Ours {
        path,
        file: file.clone(),
        compression,
    })
}

/// The file `relative` of our backup: its path (only through [`Manifest::resolve`]), its
/// record, its stored length equal to the manifest's, its digest kind known.
fn recorded_file<'m>(
    dir: &Path,
    manifest: &'m Manifest<OvirtFields>,
    relative: &str,
) -> Result<(PathBuf, &'m ManifestFile)> {
    let file = manifest.file(relative).ok_or_else(|| {
        error::backup(dir, format!("`{relative}` is not among the backup's files"))
    })?;
    let path = Manifest::resolve(dir, &file.path)?;
    let stored = std::fs::metadata(&path).map_err(error::read(&path))?.len();
    if stored != file.digest.bytes {
        return Err(error::backup(
            dir,
            format!(
                "`{}` holds {stored} bytes, the manifest says {}: the backup is damaged",
                file.path, file.digest.bytes
            ),
        ));
    }
    if let Err(kind) = file.digest.kind.known() {
        return Err(error::backup(
            dir,
            format!("`{}`: unknown digest kind `{kind}`", file.path),
        ));
    }
    Ok((path, file))
}

/// The engine's records and the OVF, each file read through the manifest's digest.
fn read_records(dir: &Path, manifest: &Manifest<OvirtFields>) -> Result<VmRecords> {
    let ovirt = &manifest.extra.ovirt;
    let mut failure = None;
    let records = VmRecords::from_files(|name| {
        let relative = match name {
            VM_FILE => &ovirt.records.vm,
            ATTACHMENTS_FILE => &ovirt.records.disk_attachments,
            DISKS_FILE => &ovirt.records.disks,
            NICS_FILE => &ovirt.records.nics,
            OVF_FILE => match &ovirt.ovf {
                Some(path) => path,
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        match record_text(dir, manifest, relative) {
            Ok(text) => Ok(Some(text)),
            Err(e) => {
                let text = e.to_string();
                failure = Some(e);
                Err(io::Error::other(text))
            }
        }
    });
    match (records, failure) {
        (Ok(records), _) => Ok(records),
        (Err(_), Some(e)) => Err(e),
        (Err(e), None) => Err(error::backup(dir, backup_core::store::chain(&e))),
    }
}

/// A record file's text, its digest checked.
fn record_text(dir: &Path, manifest: &Manifest<OvirtFields>, relative: &str) -> Result<String> {
    let (path, file) = recorded_file(dir, manifest, relative)?;
    if file.compression != Recorded::Known(Compression::None) {
        return Err(error::backup(
            dir,
            format!(
                "`{relative}`: a record stored compressed ({})",
                file.compression
            ),
        ));
    }
    let bytes = std::fs::read(&path).map_err(error::read(&path))?;
    let kind = file.digest.kind.known().map_err(|kind| {
        error::backup(dir, format!("`{relative}`: unknown digest kind `{kind}`"))
    })?;
    if digest_bytes(kind, &bytes) != file.digest {
        return Err(error::backup(
            dir,
            format!(
                "`{relative}` is not the file the backup recorded (its digest differs): the backup is damaged"
            ),
        ));
    }
    String::from_utf8(bytes)
        .map_err(|_| error::backup(dir, format!("`{relative}` is not UTF-8 text")))
}
