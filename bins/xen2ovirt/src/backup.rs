//! `--backup DIR`: a backup that vmbackup wrote (its `manifest.json`, read by backup-core's
//! store) as the source, no host needed. A vm-export backup is its XVA (settings from its
//! `ova.xml`, disks from its chunks); a vdi-export backup is its raw or VHD disk images
//! (plain, gzip or zstd), the settings from its `vm-metadata.xml` (the VM's `ova.xml`);
//! the VM's name and UUID are the manifest's (the archives hold the backup's snapshot).
//! Every file is read only through the manifest (paths that stay inside the backup), and
//! every byte is digested on the way: a digest or size that differs from the manifest's
//! fails the disk before its upload is finalized ([`ManifestCheck`]).

pub mod run;

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use backup_core::store::digest::{DigestReader, FileDigest, digest_bytes};
use backup_core::store::words::{DigestKind, FileRole, ManifestState};
use backup_core::store::{Manifest, ManifestDisk, ManifestFile};
use cli_common::UsageError;
use disk_image::compress::decompressed;
use disk_image::xva::{XvaMetadata, XvaReader};

use crate::source::{Power, SourceVm};

/// The largest `vm-metadata.xml` read.
const MAX_METADATA: u64 = 64 << 20;

/// What the backup holds.
pub enum BackupData {
    /// A vm-export: its XVA, open at its first disk, and the check of the file's bytes.
    Xva(Box<XvaReader<Box<dyn Read + Send>>>, ManifestCheck),
    /// A vdi-export: the disk image of each of the source's disks, in its order.
    Disks(Vec<(ManifestDisk, ManifestFile)>),
}

/// A backup opened as a source.
pub struct Backup {
    /// The backup's directory.
    pub dir: PathBuf,
    /// The VM it holds.
    pub source: SourceVm,
    /// Where its data is.
    pub data: BackupData,
}

fn refused(dir: &Path, why: impl std::fmt::Display) -> anyhow::Error {
    UsageError(format!("the backup {}: {why}", dir.display())).into()
}

/// Opens the backup `dir`: its manifest, the VM's settings, the files of its disks.
pub fn open(dir: &Path) -> Result<Backup> {
    let manifest = Manifest::read(dir).map_err(|e| refused(dir, e))?;
    if manifest.state != ManifestState::Complete {
        bail!(refused(
            dir,
            format!("its manifest says `{}`, not complete", manifest.state)
        ));
    }
    let role = |role: FileRole| manifest.files.iter().find(|f| f.role == role).cloned();
    let (source, data) = match manifest.kind.as_str() {
        "vm-export" => {
            let file = role(FileRole::Xva).ok_or_else(|| refused(dir, "no XVA in its manifest"))?;
            let check = ManifestCheck::open(dir, &file)?;
            let (input, _) = decompressed(check.reader())
                .with_context(|| format!("reading {}", check.path().display()))?;
            let reader = XvaReader::open(input, check.path().display().to_string())?;
            let source = crate::xva::source_vm(reader.metadata())
                .with_context(|| format!("reading the VM of {}", check.path().display()))?;
            (source, BackupData::Xva(Box::new(reader), check))
        }
        "vdi-export" => {
            let metadata = role(FileRole::Metadata)
                .ok_or_else(|| refused(dir, "no vm-metadata.xml in its manifest"))?;
            let xml = read_checked_text(dir, &metadata)?;
            let parsed = XvaMetadata::parse(&xml, &format!("`{}`", metadata.path))?;
            let mut source = crate::xva::source_vm(&parsed)
                .with_context(|| format!("reading the VM of the backup {}", dir.display()))?;
            source.power = Power::Halted;
            let disks = disk_files(dir, &manifest, &source)?;
            (source, BackupData::Disks(disks))
        }
        other => bail!(refused(
            dir,
            format!("a `{other}` backup holds no disks to migrate (vm-export and vdi-export do)")
        )),
    };
    // The archive and the metadata are of the snapshot taken for the backup: the VM's own
    // name and UUID are the manifest's.
    let mut source = source;
    source.name.clone_from(&manifest.vm.name);
    source.uuid.clone_from(&manifest.vm.uuid);
    Ok(Backup {
        dir: dir.to_owned(),
        source,
        data,
    })
}

/// The manifest's disk and file for each of the source's disks (matched by VDI UUID).
fn disk_files(
    dir: &Path,
    manifest: &Manifest,
    source: &SourceVm,
) -> Result<Vec<(ManifestDisk, ManifestFile)>> {
    source
        .disks
        .iter()
        .map(|disk| {
            let recorded = manifest
                .disks
                .iter()
                .find(|d| d.volume_uuid == disk.uuid)
                .ok_or_else(|| {
                    refused(
                        dir,
                        format!("it holds no image of disk `{}` ({})", disk.name, disk.uuid),
                    )
                })?;
            if recorded.virtual_size != disk.size {
                bail!(refused(
                    dir,
                    format!(
                        "disk `{}` is {} bytes in the manifest, {} in the VM's metadata",
                        disk.name, recorded.virtual_size, disk.size
                    )
                ));
            }
            let file = manifest.file(&recorded.file).cloned().ok_or_else(|| {
                refused(
                    dir,
                    format!("its manifest lists no file `{}`", recorded.file),
                )
            })?;
            Ok((recorded.clone(), file))
        })
        .collect()
}

/// A small file of the backup, read whole and checked against the manifest.
fn read_checked_text(dir: &Path, file: &ManifestFile) -> Result<String> {
    let path = Manifest::resolve(dir, &file.path).map_err(|e| refused(dir, e))?;
    let mut bytes = Vec::new();
    File::open(&path)
        .and_then(|f| f.take(MAX_METADATA).read_to_end(&mut bytes))
        .with_context(|| format!("reading {}", path.display()))?;
    let kind = digest_kind(dir, file)?;
    compare(&path, &file.digest, &digest_bytes(kind, &bytes))?;
    String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8 text", path.display()))
}

fn digest_kind(dir: &Path, file: &ManifestFile) -> Result<DigestKind> {
    file.digest.kind.known().map_err(|word| {
        refused(
            dir,
            format!("`{}` has a digest of the unknown kind `{word}`", file.path),
        )
    })
}

/// Fails unless `got` is what the manifest `recorded`.
fn compare(path: &Path, recorded: &FileDigest, got: &FileDigest) -> Result<()> {
    if got.bytes != recorded.bytes || got.value != recorded.value {
        bail!(
            "{} does not match its manifest: {} bytes with digest {}, the manifest records {} \
             bytes with digest {}",
            path.display(),
            got.bytes,
            got.value,
            recorded.bytes,
            recorded.value
        );
    }
    Ok(())
}

type Shared = Arc<Mutex<Option<DigestReader<BufReader<File>>>>>;

/// A file of the backup being read: [`ManifestCheck::reader`] gives its bytes (digested as
/// they pass), [`ManifestCheck::finish`] reads what is left and compares digest and size
/// with the manifest.
pub struct ManifestCheck {
    shared: Shared,
    path: PathBuf,
    recorded: FileDigest,
}

impl ManifestCheck {
    /// Opens `file` of the backup `dir`.
    pub fn open(dir: &Path, file: &ManifestFile) -> Result<ManifestCheck> {
        let path = Manifest::resolve(dir, &file.path).map_err(|e| refused(dir, e))?;
        let kind = digest_kind(dir, file)?;
        let opened = File::open(&path).with_context(|| format!("opening {}", path.display()))?;
        let reader = DigestReader::new(BufReader::with_capacity(1 << 20, opened), kind);
        Ok(ManifestCheck {
            shared: Arc::new(Mutex::new(Some(reader))),
            path,
            recorded: file.digest.clone(),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's bytes, digested as they are read.
    pub fn reader(&self) -> impl Read + Send + 'static {
        SharedReader(Arc::clone(&self.shared))
    }

    /// Reads the rest of the file and compares its digest and size with the manifest's.
    pub fn finish(self) -> Result<()> {
        let reader = self
            .shared
            .lock()
            .expect("digest lock")
            .take()
            .context("the backup file was checked twice")?;
        let got = reader
            .finish()
            .with_context(|| format!("reading {}", self.path.display()))?;
        compare(&self.path, &self.recorded, &got)
    }
}

struct SharedReader(Shared);

impl Read for SharedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.lock().expect("digest lock").as_mut() {
            Some(reader) => reader.read(buf),
            None => Ok(0),
        }
    }
}
