//! Restoring a backup-sr backup: the backup's metadata imported as a VM with blank disks
//! (a sparse XVA: a few MiB whatever the disk sizes), then, in the system disk's slot, a
//! copy of the backup SR's disk (`VDI.copy` into the target SR: storage-side, and the
//! backup stays whole for the next restore). Whatever the restore made is removed if a step
//! fails.

use std::io::{self, Read};
use std::ops::Range;
use std::path::Path;

use disk_image::xva::{XvaOptions, XvaReader, ova_xml, write_archive};
use disk_image::{DiskInput, NoProgress, Progress, RandomAccessDisk};
use xenapi::records::{StringMap, VbdMode, VbdRecord, VbdType};
use xenapi::rpc::Value;
use xenapi::{ImportOptions, Ref, Session};

use super::{XapiManifest, locate};
use crate::cancel::Cancel;
use crate::error::{Result, VmBackupError};
use crate::guards::{TempVdi, destroy_vm_and_disks};
use crate::restore::{DiskCheck, RestoreOptions, Restored, pool_disk_digest, target_sr};
use backup_core::store::FileRole;
use backup_core::store::digest::digest_bytes;
use backup_core::store::verify::METADATA_LIMIT;

/// Restores the backup-sr backup in `dir` (its `manifest`) onto `sr` (the pool's default SR
/// when `None`).
pub fn restore(
    session: &Session,
    dir: &Path,
    manifest: &XapiManifest,
    sr: Option<Ref>,
    options: &RestoreOptions,
    cancel: &Cancel,
    progress: &dyn Progress,
) -> Result<Restored> {
    let located = locate(session, manifest)?;
    let problems: Vec<&str> = located
        .iter()
        .filter_map(|(_, found)| found.as_ref().err().map(String::as_str))
        .collect();
    if !problems.is_empty() {
        return Err(VmBackupError::Backup(format!(
            "`{}` cannot be restored: {}",
            dir.display(),
            problems.join("; ")
        )));
    }
    let archive = read_archive(dir, manifest)?;
    let (xml, disks) = skeleton_of(
        &archive,
        manifest,
        options.preserve,
        &dir.display().to_string(),
    )?;
    let zeros: Vec<ZeroDisk> = disks.iter().map(|(_, size)| ZeroDisk(*size)).collect();
    let mut xva = Vec::new();
    let inputs = disks
        .iter()
        .zip(&zeros)
        .map(|((id, _), zero)| (id.clone(), DiskInput::Random(zero)))
        .collect();
    write_archive(
        &xml,
        inputs,
        &mut xva,
        "the restore's XVA",
        &XvaOptions::default(),
        &NoProgress,
    )
    .map_err(|e| VmBackupError::image("building the VM to restore", e))?;
    let sr = target_sr(session, sr)?;
    let fail = |e| VmBackupError::xapi(format!("restoring `{}`", dir.display()), e);
    let mut upload = session
        .import(&ImportOptions {
            sr: Some(sr.clone()),
            restore: options.preserve,
            force: false,
            length: Some(xva.len() as u64),
        })
        .map_err(fail)?;
    io::Write::write_all(&mut upload, &xva)
        .map_err(|e| VmBackupError::io("sending to the pool", e))?;
    let vms = upload.finish().map_err(fail)?;
    let [vm] = vms.as_slice() else {
        return Err(VmBackupError::Backup(format!(
            "the import of `{}` made {} VMs, not one",
            dir.display(),
            vms.len()
        )));
    };
    let imported = ImportedVm {
        session,
        vm: Some(vm.clone()),
    };
    let mut restored = Restored::default();
    for (copy, found) in &located {
        cancel.check()?;
        let (backup_vdi, _) = found.as_ref().expect("checked above");
        let vdi = if copy.blank {
            slot_vbd(session, vm, &copy.userdevice)?.1.vdi
        } else {
            progress.start(&copy.device, copy.virtual_size);
            let vdi = reattach(session, vm, copy, backup_vdi, &sr)?;
            progress.advance(copy.virtual_size);
            progress.finish();
            vdi
        };
        if options.check {
            restored.checks.push(DiskCheck {
                disk: copy.userdevice.clone(),
                vdi: session.vdi().get_record(&vdi).map_err(fail)?.uuid,
                backup: pool_disk_digest(session, backup_vdi, cancel)?,
                restored: pool_disk_digest(session, &vdi, cancel)?,
            });
        }
    }
    let stamp = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = if options.preserve {
        manifest.vm.name.clone()
    } else {
        format!("{} (restored {stamp})", manifest.vm.name)
    };
    session.vm().set_name_label(vm, &name).map_err(fail)?;
    restored.vms.push(session.vm().get_uuid(vm).map_err(fail)?);
    imported.keep();
    Ok(restored)
}

/// The backup's metadata archive, read whole (it is small).
fn read_archive(dir: &Path, manifest: &XapiManifest) -> Result<Vec<u8>> {
    let file = manifest
        .files
        .iter()
        .find(|f| f.role == FileRole::BackupSrXva)
        .ok_or_else(|| {
            VmBackupError::Backup(format!(
                "`{}` holds no {}",
                dir.display(),
                FileRole::BackupSrXva
            ))
        })?;
    if Path::new(&file.path).is_absolute() || file.path.split('/').any(|p| p == "..") {
        return Err(VmBackupError::Backup(format!(
            "`{}`: the manifest names `{}`, a path outside the backup",
            dir.display(),
            file.path
        )));
    }
    let path = dir.join(&file.path);
    let read = |e| VmBackupError::io(format!("reading `{}`", path.display()), e);
    let mut archive = Vec::new();
    std::fs::File::open(&path)
        .map_err(read)?
        .take(METADATA_LIMIT)
        .read_to_end(&mut archive)
        .map_err(read)?;
    let digest = digest_bytes(
        file.digest.kind.known().map_err(|kind| {
            VmBackupError::Backup(format!(
                "`{}`: unknown digest kind `{kind}`",
                path.display()
            ))
        })?,
        &archive,
    );
    if digest.value != file.digest.value || digest.bytes != file.digest.bytes {
        return Err(VmBackupError::Backup(format!(
            "`{}` does not match its manifest digest",
            path.display()
        )));
    }
    Ok(archive)
}

/// The `ova.xml` of the VM to import (the backup VM made a plain VM again: not a snapshot,
/// not a template; with `preserve`, the original VM's uuid; its disks without our marks)
/// and its disks (archive id, size) in archive order.
fn skeleton_of(
    archive: &[u8],
    manifest: &XapiManifest,
    preserve: bool,
    shown: &str,
) -> Result<(String, Vec<(String, u64)>)> {
    let reader = XvaReader::open(archive, shown)
        .map_err(|e| VmBackupError::image(format!("reading the metadata of `{shown}`"), e))?;
    let metadata = reader.metadata();
    if metadata.vms.len() != 1 {
        return Err(VmBackupError::Backup(format!(
            "`{shown}`: the metadata holds {} VMs, not one",
            metadata.vms.len()
        )));
    }
    let mut objects = metadata.objects.clone();
    for object in objects
        .iter_mut()
        .filter(|o| o.class.eq_ignore_ascii_case("VM"))
    {
        set(&mut object.snapshot, "is_a_snapshot", Value::Bool(false));
        set(&mut object.snapshot, "is_a_template", Value::Bool(false));
        set(
            &mut object.snapshot,
            "snapshot_of",
            Value::String(Ref::null().as_str().to_owned()),
        );
        if preserve {
            set(
                &mut object.snapshot,
                "uuid",
                Value::String(manifest.vm.uuid.clone()),
            );
        }
    }
    // The disks the import creates are the VM's, not the backup's: without our marks.
    for object in objects
        .iter_mut()
        .filter(|o| o.class.eq_ignore_ascii_case("VDI"))
    {
        if let Value::Struct(members) = &mut object.snapshot
            && let Some((_, Value::Struct(other_config))) =
                members.iter_mut().find(|(n, _)| n == "other_config")
        {
            other_config.retain(|(key, _)| !super::MARK_KEYS.contains(&key.as_str()));
        }
    }
    let disks = metadata
        .disks
        .iter()
        .map(|d| (d.id.clone(), d.size()))
        .collect();
    Ok((ova_xml(&metadata.version, &objects), disks))
}

/// Sets (or adds) a member of a struct value.
fn set(record: &mut Value, name: &str, value: Value) {
    if let Value::Struct(members) = record {
        match members.iter_mut().find(|(n, _)| n == name) {
            Some((_, old)) => *old = value,
            None => members.push((name.to_owned(), value)),
        }
    }
}

/// The VBD in slot `userdevice` of `vm`.
fn slot_vbd(session: &Session, vm: &Ref, userdevice: &str) -> Result<(Ref, VbdRecord)> {
    let fail = |e| VmBackupError::xapi("reading the restored VM", e);
    for vbd in session.vm().get_vbds(vm).map_err(fail)? {
        let record = session.vbd().get_record(&vbd).map_err(fail)?;
        if record.kind == VbdType::Disk && record.userdevice == userdevice && !record.vdi.is_null()
        {
            return Ok((vbd, record));
        }
    }
    Err(VmBackupError::Backup(format!(
        "the restored VM has no disk in slot {userdevice}"
    )))
}

/// Puts a copy of the backup SR's disk on `sr` into its slot of `vm`, in place of the
/// blank disk the import made there; returns the new disk.
fn reattach(
    session: &Session,
    vm: &Ref,
    copy: &super::SrCopy,
    backup_vdi: &Ref,
    sr: &Ref,
) -> Result<Ref> {
    let (vbd_ref, vbd) = slot_vbd(session, vm, &copy.userdevice)?;
    let fail = |e| VmBackupError::xapi(format!("putting disk {} back", copy.device), e);
    (|| -> xenapi::Result<Ref> {
        let disk = TempVdi::adopt(
            session,
            session
                .vdi()
                .copy(backup_vdi, sr, std::time::Duration::from_secs(24 * 3600))?,
        );
        // The copy carries the backup's marks: a restored disk is the VM's, not the backup's.
        let mut other_config = session.vdi().get_record(disk.reference())?.other_config;
        for key in super::MARK_KEYS {
            other_config.remove(key);
        }
        session
            .vdi()
            .set_other_config(disk.reference(), &other_config)?;
        session.vbd().destroy(&vbd_ref)?;
        session.vdi().destroy(&vbd.vdi)?;
        session.vbd().create(&VbdRecord {
            vm: vm.clone(),
            vdi: disk.reference().clone(),
            userdevice: vbd.userdevice.clone(),
            device: vbd.device.clone(),
            bootable: vbd.bootable,
            mode: VbdMode::RW,
            kind: VbdType::Disk,
            unpluggable: vbd.unpluggable,
            other_config: StringMap::from([("owner".to_owned(), "true".to_owned())]),
            ..VbdRecord::default()
        })?;
        // Attached: the VM's guard covers it now.
        Ok(disk.release())
    })()
    .map_err(fail)
}

/// The VM an import made, destroyed with its disks unless kept.
struct ImportedVm<'s> {
    session: &'s Session,
    vm: Option<Ref>,
}

impl ImportedVm<'_> {
    fn keep(mut self) {
        self.vm = None;
    }
}

impl Drop for ImportedVm<'_> {
    fn drop(&mut self) {
        if let Some(vm) = self.vm.take()
            && let Err(error) = destroy_vm_and_disks(self.session, &vm)
        {
            tracing::error!(%vm, %error, "could not remove a half-restored VM");
        }
    }
}

/// A disk of zeros: the blank disks of the VM to import.
struct ZeroDisk(u64);

impl RandomAccessDisk for ZeroDisk {
    fn size(&self) -> u64 {
        self.0
    }

    fn read_exact_at(&self, buf: &mut [u8], _offset: u64) -> io::Result<()> {
        buf.fill(0);
        Ok(())
    }

    fn data_ranges(&self) -> io::Result<Vec<Range<u64>>> {
        Ok(Vec::new())
    }

    fn name(&self) -> String {
        "a blank disk".to_owned()
    }
}
