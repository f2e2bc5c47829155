//! Putting a backup back into a pool: an XVA as a new VM (or, with `preserve`, with its
//! original identity, XAPI's `restore=true`), a raw or VHD disk into a new VDI; and, on
//! request, reading the restored disks back from the pool and comparing them with the
//! backup.
//!
//! A backup is read only as its manifest describes it: every path through
//! [`Manifest::resolve`] (the check `verify` makes), every file's stored length compared
//! with the manifest before anything is created in the pool, and every byte sent through
//! the manifest's digest. A file that differs fails the restore, and what the restore had
//! created (a new VDI, an imported VM) is removed again, as it is when the restore is
//! interrupted (Ctrl-C, SIGTERM).

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use backup_core::store::digest::DigestReader;
use backup_core::store::{FileRole, Manifest, ManifestDisk, ManifestFile, ManifestState, Recorded};
use disk_image::compress::{Compression, decompressed};
use disk_image::vhd::VhdDisk;
use disk_image::xva::XvaReader;
use disk_image::{DiskInput, DiskSink, ImageFormat, NoProgress, Progress, copy_disk};
use serde::Serialize;
use xenapi::records::{VbdType, VdiRecord};
use xenapi::{DiskFormat, ImportOptions, Ref, Session};

use crate::backup_sr::XapiManifest;
use crate::cancel::Cancel;
use crate::error::{Result, VmBackupError};
use crate::guards::{TempVdi, destroy_vm_and_disks};
use crate::owner::OWNER_KEYS;

/// How to restore.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// The SR (uuid) to put the disks on; the pool's default SR when `None`.
    pub sr: Option<String>,
    /// Keep the VM's original UUIDs and MACs (XAPI's `restore=true`): for putting a lost VM
    /// back, not for a copy beside the original. Refused while the original VM exists,
    /// unless `force`.
    pub preserve: bool,
    /// With `preserve`: restore even though the original VM still exists (two VMs then
    /// share a name and MAC addresses).
    pub force: bool,
    /// Read the restored disks back and compare them with the backup.
    pub check: bool,
}

/// What a restore created.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Restored {
    /// New VMs (uuids).
    pub vms: Vec<String>,
    /// New VDIs (uuids) of a disk restore.
    pub vdis: Vec<String>,
    /// Disk comparisons, when asked for.
    pub checks: Vec<DiskCheck>,
}

/// One restored disk compared with the backup.
#[derive(Debug, Clone, Serialize)]
pub struct DiskCheck {
    /// The VBD slot (or the device) of the disk.
    pub disk: String,
    /// The restored VDI's uuid.
    pub vdi: String,
    /// XXH64 of the backup's disk bytes.
    pub backup: String,
    /// XXH64 of the restored disk's bytes, read from the pool.
    pub restored: String,
}

impl DiskCheck {
    /// Whether the restored disk holds the backup's bytes.
    pub fn matches(&self) -> bool {
        self.backup == self.restored
    }
}

/// Restores the backup in `dir`.
pub fn restore_backup(
    session: &Session,
    dir: &Path,
    options: &RestoreOptions,
    cancel: &Cancel,
    progress: &dyn Progress,
) -> Result<Restored> {
    let manifest = XapiManifest::read_as(dir)?;
    if manifest.state != ManifestState::Complete {
        return Err(VmBackupError::Backup(format!(
            "`{}`: the manifest's state is `{}`, not complete",
            dir.display(),
            manifest.state
        )));
    }
    let sr = match &options.sr {
        Some(uuid) => Some(
            session
                .sr()
                .get_by_uuid(uuid)
                .map_err(|e| VmBackupError::xapi(format!("finding SR {uuid}"), e))?,
        ),
        None => None,
    };
    if !manifest.disks.is_empty() {
        return restore_disks(session, dir, &manifest, sr, options, cancel, progress);
    }
    if manifest.kind == crate::config::JobKind::BackupSrExport.as_str() {
        return crate::backup_sr::restore(session, dir, &manifest, sr, options, cancel, progress);
    }
    if manifest.kind == "metadata-export" {
        return Err(VmBackupError::Backup(format!(
            "`{}` holds metadata only: restore it with `xe vm-import metadata=true`",
            dir.display()
        )));
    }
    if options.preserve && !options.force {
        refuse_beside_the_original(session, &manifest)?;
    }
    let xva = manifest
        .files
        .iter()
        .find(|f| f.role == FileRole::Xva)
        .ok_or_else(|| VmBackupError::Backup(format!("`{}` holds no XVA", dir.display())))?;
    let path = checked_file(dir, xva)?;
    let length = xva.digest.bytes;
    let import = ImportOptions {
        sr: sr.clone(),
        restore: options.preserve,
        force: false,
        length: Some(length),
    };
    let fail = |e| VmBackupError::xapi(format!("importing `{}`", path.display()), e);
    let mut upload = session.import(&import).map_err(fail)?;
    progress.start(&manifest.vm.name, length);
    // The pool reads gzip and zstd XVAs itself: they go as stored.
    // Interrupted or failing to send, the upload is dropped unfinished and the pool
    // abandons the import.
    let (_, sound) = send_file(&path, xva, false, &mut upload, cancel, progress)?;
    let finished = upload.finish();
    let mut created = ImportedVms {
        session,
        vms: finished.as_ref().map(Clone::clone).unwrap_or_default(),
    };
    // A damaged archive may still have been imported: `created` removes it as it drops.
    sound?;
    finished.map_err(fail)?;
    progress.finish();
    let mut restored = Restored::default();
    let stamp = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for vm in &created.vms {
        // The archive names the VM after the backup's snapshot: give it its name back (a
        // copy beside the original says where it came from).
        let name = if options.preserve {
            manifest.vm.name.clone()
        } else {
            format!("{} (restored {stamp})", manifest.vm.name)
        };
        session.vm().set_name_label(vm, &name).map_err(fail)?;
        forget_owner(session, vm).map_err(fail)?;
        restored.vms.push(session.vm().get_uuid(vm).map_err(fail)?);
        if options.check {
            restored
                .checks
                .extend(check_vm_disks(session, vm, &path, cancel)?);
        }
    }
    created.vms.clear();
    Ok(restored)
}

/// VMs an import created, destroyed with their disks unless the restore got through.
struct ImportedVms<'s> {
    session: &'s Session,
    vms: Vec<Ref>,
}

impl Drop for ImportedVms<'_> {
    fn drop(&mut self) {
        for vm in self.vms.drain(..) {
            match destroy_vm_and_disks(self.session, &vm) {
                Ok(()) => tracing::warn!(%vm, "the restore failed: removed the VM it had imported"),
                Err(error) => {
                    tracing::error!(%vm, %error, "the restore failed and its VM could not be removed");
                }
            }
        }
    }
}

/// The archive is an export of a snapshot vmbackup marked as its own: the restored VM is
/// the user's, not a snapshot of ours.
fn forget_owner(session: &Session, vm: &Ref) -> xenapi::Result<()> {
    let mut map = session.vm().get_other_config(vm)?;
    let before = map.len();
    map.retain(|key, _| !OWNER_KEYS.contains(&key.as_str()));
    if map.len() == before {
        return Ok(());
    }
    session.vm().set_other_config(vm, &map)
}

/// With `--preserve`, the original VM must be gone: a second VM with its name and MACs
/// would clash on the network.
fn refuse_beside_the_original(session: &Session, manifest: &XapiManifest) -> Result<()> {
    match session.vm().get_by_uuid(&manifest.vm.uuid) {
        Ok(_) => Err(VmBackupError::Backup(format!(
            "the original VM `{}` ({}) still exists: restoring it with its identity would make \
             a second VM with the same name and MAC addresses; remove the original first, \
             restore without --preserve (a copy), or add --force",
            manifest.vm.name, manifest.vm.uuid
        ))),
        Err(xenapi::XenApiError::Api { code, .. }) if code == "UUID_INVALID" => Ok(()),
        Err(e) => Err(VmBackupError::xapi(
            format!("looking for the original VM {}", manifest.vm.uuid),
            e,
        )),
    }
}

/// The path of a file the manifest records, checked as `verify` checks it, and its stored
/// length compared with the manifest's before anything is sent.
fn checked_file(dir: &Path, file: &ManifestFile) -> Result<PathBuf> {
    let path = Manifest::resolve(dir, &file.path)?;
    let length = std::fs::metadata(&path)
        .map_err(|e| VmBackupError::io(format!("reading `{}`", path.display()), e))?
        .len();
    if length != file.digest.bytes {
        return Err(VmBackupError::Backup(format!(
            "`{}` holds {length} bytes, the manifest says {}: the backup is damaged",
            path.display(),
            file.digest.bytes
        )));
    }
    if let Err(value) = file.compression.known() {
        return Err(VmBackupError::Backup(format!(
            "`{}`: unknown compression `{value}` in the manifest",
            path.display()
        )));
    }
    Ok(path)
}

/// vdi-export backups: each image into a new VDI of its size.
fn restore_disks(
    session: &Session,
    dir: &Path,
    manifest: &XapiManifest,
    sr: Option<Ref>,
    options: &RestoreOptions,
    cancel: &Cancel,
    progress: &dyn Progress,
) -> Result<Restored> {
    // Every image is checked against the manifest before the pool is touched.
    let mut images = Vec::new();
    for disk in &manifest.disks {
        let file = manifest
            .file(&disk.file)
            .filter(|f| f.role == FileRole::Disk)
            .ok_or_else(|| {
                VmBackupError::Backup(format!(
                    "`{}`: the disk {} has no image among the backup's files",
                    dir.display(),
                    disk.device
                ))
            })?;
        let format = match disk.format.known() {
            Ok(format) => DiskFormat::from(format),
            Err(value) => {
                return Err(VmBackupError::Backup(format!(
                    "`{}`: unknown image format `{value}` in the manifest",
                    dir.display()
                )));
            }
        };
        images.push((disk, file, checked_file(dir, file)?, format));
    }
    let sr = target_sr(session, sr)?;
    let mut restored = Restored::default();
    let mut done = Vec::new();
    for (disk, file, path, format) in images {
        let fail = |e| VmBackupError::xapi(format!("restoring `{}`", path.display()), e);
        let vdi = TempVdi::adopt(
            session,
            session
                .vdi()
                .create(&VdiRecord {
                    name_label: format!("{} (restored)", disk.name),
                    name_description: format!("restored from {}", dir.display()),
                    sr: sr.clone(),
                    virtual_size: i64::try_from(disk.virtual_size).unwrap_or(i64::MAX),
                    kind: "user".to_owned(),
                    ..VdiRecord::default()
                })
                .map_err(fail)?,
        );
        let uuid = session
            .vdi()
            .get_record(vdi.reference())
            .map_err(fail)?
            .uuid;
        let compressed = file.compression != Recorded::Known(Compression::None);
        let written = (|| {
            let length = (!compressed).then_some(file.digest.bytes);
            let mut upload = session
                .import_raw_vdi(vdi.reference(), format, length)
                .map_err(fail)?;
            progress.start(&disk.device, length.unwrap_or(disk.virtual_size));
            let (sent, sound) = send_file(&path, file, compressed, &mut upload, cancel, progress)?;
            sound?;
            if format == DiskFormat::Raw && sent != disk.virtual_size {
                return Err(VmBackupError::Backup(format!(
                    "`{}` holds {sent} bytes of a {}-byte disk",
                    path.display(),
                    disk.virtual_size
                )));
            }
            upload.finish().map_err(fail)?;
            progress.finish();
            if options.check {
                restored.checks.push(DiskCheck {
                    disk: disk.device.clone(),
                    vdi: uuid.clone(),
                    backup: image_digest(&path, disk, compressed)?,
                    restored: pool_disk_digest(session, vdi.reference(), cancel)?,
                });
            }
            Ok(())
        })();
        if let Err(error) = written {
            return Err(removed(vdi, &uuid, error));
        }
        restored.vdis.push(uuid);
        done.push(vdi);
    }
    // Every disk is in: the new VDIs are the user's now.
    for vdi in done {
        vdi.release();
    }
    Ok(restored)
}

/// Removes a VDI the failed restore had created and half written, and says so.
fn removed(vdi: TempVdi<'_>, uuid: &str, error: VmBackupError) -> VmBackupError {
    match vdi.destroy() {
        Ok(()) => {
            tracing::warn!(
                vdi = uuid,
                "the restore failed: removed the new VDI it had half written"
            );
            error
        }
        Err(destroy) => {
            tracing::error!(vdi = uuid, error = %destroy, "the restore failed and the half-written VDI could not be removed");
            error
        }
    }
}

/// `sr`, or the pool's default SR.
pub(crate) fn target_sr(session: &Session, sr: Option<Ref>) -> Result<Ref> {
    if let Some(sr) = sr {
        return Ok(sr);
    }
    let pool = session
        .pool()
        .get_all()
        .map_err(|e| VmBackupError::xapi("reading the pool", e))?;
    let pool = pool
        .first()
        .ok_or_else(|| VmBackupError::Backup("the pool has no pool object".into()))?;
    session
        .pool()
        .get_default_sr(pool)
        .map_err(|e| VmBackupError::xapi("reading the pool's default SR", e))
}

/// Sends a file's bytes, decompressed first when `decompress` (the pool reads raw and VHD
/// images plain), through the manifest's digest of the file as stored; returns the bytes
/// sent, and whether the file was what the manifest says (an error to fail the restore
/// with, once what the pool made of the bytes is removed).
fn send_file(
    path: &Path,
    file: &ManifestFile,
    decompress: bool,
    out: &mut dyn Write,
    cancel: &Cancel,
    progress: &dyn Progress,
) -> Result<(u64, Result<()>)> {
    let read = |e| VmBackupError::io(format!("reading `{}`", path.display()), e);
    let kind = file.digest.kind.known().map_err(|kind| {
        VmBackupError::Backup(format!(
            "`{}`: unknown digest kind `{kind}` in the manifest",
            path.display()
        ))
    })?;
    let stored = BufReader::with_capacity(1 << 20, File::open(path).map_err(read)?);
    let mut digesting = DigestReader::new(stored, kind);
    let mut sent = 0u64;
    {
        let mut input: Box<dyn Read + Send + '_> = if decompress {
            decompressed(&mut digesting).map_err(read)?.0
        } else {
            Box::new(&mut digesting)
        };
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            cancel.check()?;
            let n = input.read(&mut buffer).map_err(read)?;
            if n == 0 {
                break;
            }
            out.write_all(&buffer[..n])
                .map_err(|e| VmBackupError::io("sending to the pool", e))?;
            sent += n as u64;
            progress.advance(n as u64);
        }
    }
    let found = digesting.finish().map_err(read)?;
    // A stop asked for while the last bytes went out still stops the restore.
    cancel.check()?;
    out.flush()
        .map_err(|e| VmBackupError::io("sending to the pool", e))?;
    if found.value != file.digest.value || found.bytes != file.digest.bytes {
        return Ok((
            sent,
            Err(VmBackupError::Backup(format!(
                "`{}` is not the file the backup recorded ({} {} over {} bytes, the manifest says \
             {} over {} bytes): the backup is damaged, nothing was restored from it",
                path.display(),
                found.kind,
                found.value,
                found.bytes,
                file.digest.value,
                file.digest.bytes
            ))),
        ));
    }
    Ok((sent, Ok(())))
}

/// Compares each disk of the restored `vm` with the same slot's disk in the XVA.
fn check_vm_disks(
    session: &Session,
    vm: &Ref,
    xva: &Path,
    cancel: &Cancel,
) -> Result<Vec<DiskCheck>> {
    let fail = |e| VmBackupError::xapi("reading the restored VM", e);
    let mut restored = Vec::new();
    for vbd_ref in session.vm().get_vbds(vm).map_err(fail)? {
        let vbd = session.vbd().get_record(&vbd_ref).map_err(fail)?;
        if vbd.kind == VbdType::Disk && !vbd.vdi.is_null() {
            restored.push((vbd.userdevice, vbd.vdi));
        }
    }
    let image = |e| VmBackupError::image(format!("reading `{}`", xva.display()), e);
    let (mut reader, _) = XvaReader::open_path(xva).map_err(image)?;
    let slots: Vec<(String, Option<String>)> = reader
        .metadata()
        .disks
        .iter()
        .map(|d| (d.id.clone(), d.vbd.as_ref().map(|v| v.userdevice.clone())))
        .collect();
    let mut checks = Vec::new();
    for (_, slot) in slots {
        let mut hash = HashSink::default();
        reader
            .read_disk(Some(&mut hash), true, &NoProgress)
            .map_err(image)?;
        let slot = slot.unwrap_or_default();
        let Some((_, vdi)) = restored.iter().find(|(userdevice, _)| *userdevice == slot) else {
            return Err(VmBackupError::Backup(format!(
                "the restored VM has no disk in slot {slot}"
            )));
        };
        checks.push(DiskCheck {
            disk: slot,
            vdi: session.vdi().get_record(vdi).map_err(fail)?.uuid,
            backup: hash.digest(),
            restored: pool_disk_digest(session, vdi, cancel)?,
        });
    }
    Ok(checks)
}

/// XXH64 of a disk image's bytes (raw, possibly compressed, or VHD).
fn image_digest(path: &Path, disk: &ManifestDisk, compressed: bool) -> Result<String> {
    let read = |e| VmBackupError::io(format!("reading `{}`", path.display()), e);
    let mut hash = HashSink::default();
    if disk.format == Recorded::Known(ImageFormat::Vhd) && !compressed {
        let vhd = VhdDisk::open(path)
            .map_err(|e| VmBackupError::image(format!("reading `{}`", path.display()), e))?;
        copy_disk(DiskInput::Random(&vhd), &mut hash, 2, &NoProgress)
            .map_err(|e| VmBackupError::image(format!("reading `{}`", path.display()), e))?;
    } else {
        let file = File::open(path).map_err(read)?;
        let (mut input, _) = decompressed(BufReader::new(file)).map_err(read)?;
        io::copy(&mut input, &mut hash).map_err(read)?;
    }
    Ok(hash.digest())
}

/// XXH64 of a VDI's bytes, read from the pool as raw.
pub(crate) fn pool_disk_digest(session: &Session, vdi: &Ref, cancel: &Cancel) -> Result<String> {
    let fail = |e| VmBackupError::xapi(format!("reading VDI {vdi} back"), e);
    let mut download = session
        .export_raw_vdi(vdi, DiskFormat::Raw, None)
        .map_err(fail)?;
    let mut hash = HashSink::default();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        cancel.check()?;
        let n = download
            .read(&mut buffer)
            .map_err(|e| VmBackupError::io("reading from the pool", e))?;
        if n == 0 {
            break;
        }
        hash.update(&buffer[..n]);
    }
    download.finish().map_err(fail)?;
    Ok(hash.digest())
}

/// XXH64 over a whole disk: what it is written, zeros for what it is not.
#[derive(Default)]
struct HashSink {
    hasher: xxhash_rust::xxh64::Xxh64,
    position: u64,
}

impl HashSink {
    fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
        self.position += data.len() as u64;
    }

    fn zeros_until(&mut self, offset: u64) {
        static ZEROS: [u8; 1 << 16] = [0; 1 << 16];
        while self.position < offset {
            let n = (offset - self.position).min(ZEROS.len() as u64) as usize;
            self.update(&ZEROS[..n]);
        }
    }

    fn digest(&self) -> String {
        format!("{:016x}", self.hasher.digest())
    }
}

impl DiskSink for HashSink {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> disk_image::Result<()> {
        self.zeros_until(offset);
        self.update(data);
        Ok(())
    }

    fn finish(&mut self, size: u64) -> disk_image::Result<()> {
        self.zeros_until(size);
        Ok(())
    }
}

impl Write for HashSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
