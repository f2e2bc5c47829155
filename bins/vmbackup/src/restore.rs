//! Putting a backup back into a pool: an XVA as a new VM (or, with `preserve`, with its
//! original identity, XAPI's `restore=true`), a raw or VHD disk into a new VDI; and, on
//! request, reading the restored disks back from the pool and comparing them with the
//! backup.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use disk_image::compress::decompressed;
use disk_image::vhd::VhdDisk;
use disk_image::xva::XvaReader;
use disk_image::{DiskInput, DiskSink, NoProgress, Progress, copy_disk};
use serde::Serialize;
use xenapi::records::{VbdType, VdiRecord};
use xenapi::{DiskFormat, ImportOptions, Ref, Session};

use crate::cancel::Cancel;
use crate::error::{Result, VmBackupError};
use crate::manifest::{Manifest, ManifestDisk};

/// How to restore.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// The SR (uuid) to put the disks on; the pool's default SR when `None`.
    pub sr: Option<String>,
    /// Keep the VM's original UUIDs and MACs (XAPI's `restore=true`): for putting a lost VM
    /// back, not for a copy beside the original.
    pub preserve: bool,
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
    let manifest = Manifest::read(dir)?;
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
    let xva = manifest
        .files
        .iter()
        .find(|f| f.role == "xva")
        .ok_or_else(|| VmBackupError::Backup(format!("`{}` holds no XVA", dir.display())))?;
    let path = dir.join(&xva.path);
    let length = std::fs::metadata(&path)
        .map_err(|e| VmBackupError::io(format!("reading `{}`", path.display()), e))?
        .len();
    let import = ImportOptions {
        sr: sr.clone(),
        restore: options.preserve,
        force: false,
        length: Some(length),
    };
    let fail = |e| VmBackupError::xapi(format!("importing `{}`", path.display()), e);
    let mut upload = session.import(&import).map_err(fail)?;
    progress.start(&manifest.vm.name_label, length);
    // The pool reads gzip and zstd XVAs itself: they go as stored.
    send_file(&path, false, &mut upload, cancel, progress)?;
    let vms = upload.finish().map_err(fail)?;
    progress.finish();
    let mut restored = Restored::default();
    let stamp = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for vm in &vms {
        // The archive names the VM after the backup's snapshot: give it its name back (a
        // copy beside the original says where it came from).
        let name = if options.preserve {
            manifest.vm.name_label.clone()
        } else {
            format!("{} (restored {stamp})", manifest.vm.name_label)
        };
        session.vm().set_name_label(vm, &name).map_err(fail)?;
        restored.vms.push(session.vm().get_uuid(vm).map_err(fail)?);
        if options.check {
            restored
                .checks
                .extend(check_vm_disks(session, vm, &path, cancel)?);
        }
    }
    Ok(restored)
}

/// vdi-export backups: each image into a new VDI of its size.
fn restore_disks(
    session: &Session,
    dir: &Path,
    manifest: &Manifest,
    sr: Option<Ref>,
    options: &RestoreOptions,
    cancel: &Cancel,
    progress: &dyn Progress,
) -> Result<Restored> {
    let sr = target_sr(session, sr)?;
    let mut restored = Restored::default();
    for disk in &manifest.disks {
        let path = dir.join(&disk.file);
        let fail = |e| VmBackupError::xapi(format!("restoring `{}`", path.display()), e);
        let vdi = session
            .vdi()
            .create(&VdiRecord {
                name_label: format!("{} (restored)", disk.name_label),
                name_description: format!("restored from {}", dir.display()),
                sr: sr.clone(),
                virtual_size: i64::try_from(disk.virtual_size).unwrap_or(i64::MAX),
                kind: "user".to_owned(),
                ..VdiRecord::default()
            })
            .map_err(fail)?;
        let uuid = session.vdi().get_record(&vdi).map_err(fail)?.uuid;
        let format = if disk.format == "vhd" {
            DiskFormat::Vhd
        } else {
            DiskFormat::Raw
        };
        let compressed = manifest.is_compressed(&disk.file);
        let length = if compressed {
            None
        } else {
            Some(
                std::fs::metadata(&path)
                    .map_err(|e| VmBackupError::io(format!("reading `{}`", path.display()), e))?
                    .len(),
            )
        };
        let mut upload = session.import_raw_vdi(&vdi, format, length).map_err(fail)?;
        progress.start(&disk.device, length.unwrap_or(disk.virtual_size));
        send_file(&path, compressed, &mut upload, cancel, progress)?;
        upload.finish().map_err(fail)?;
        progress.finish();
        if options.check {
            restored.checks.push(DiskCheck {
                disk: disk.device.clone(),
                vdi: uuid.clone(),
                backup: image_digest(&path, disk, compressed)?,
                restored: pool_disk_digest(session, &vdi, cancel)?,
            });
        }
        restored.vdis.push(uuid);
    }
    Ok(restored)
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
/// images plain).
fn send_file(
    path: &Path,
    decompress: bool,
    out: &mut dyn Write,
    cancel: &Cancel,
    progress: &dyn Progress,
) -> Result<()> {
    let read = |e| VmBackupError::io(format!("reading `{}`", path.display()), e);
    let file = BufReader::with_capacity(1 << 20, File::open(path).map_err(read)?);
    let mut input: Box<dyn Read + Send> = if decompress {
        decompressed(file).map_err(read)?.0
    } else {
        Box::new(file)
    };
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        cancel.check()?;
        let n = input.read(&mut buffer).map_err(read)?;
        if n == 0 {
            return out
                .flush()
                .map_err(|e| VmBackupError::io("sending to the pool", e));
        }
        out.write_all(&buffer[..n])
            .map_err(|e| VmBackupError::io("sending to the pool", e))?;
        progress.advance(n as u64);
    }
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
    if disk.format == "vhd" && !compressed {
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
