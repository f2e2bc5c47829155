//! Restoring an oVirt backup into a new VM: a backup of ours (`manifest.json`, the
//! engine's records and the OVF) or one that oVirtSimpleBackup wrote (`data.xml`,
//! `DiskN.dat`, `DiskN.img[.gz|.lzo|.bzip2|.pbzip2]`, see [`seed`]).
//!
//! 1. The backup is read as it describes itself ([`OvirtBackup`]): every file of ours
//!    through [`Manifest::resolve`](backup_core::store::Manifest::resolve), its stored
//!    length and words checked before the engine is touched; the seed's `DiskN.dat`
//!    parsed, a value it does not understand refused.
//! 2. The plan ([`ovirt_client::RestorePlan`]): the source's memory, CPU topology, OS,
//!    firmware, boot order, NICs (their MACs with `keep_macs`, else the engine's), disks
//!    with their sizes, interfaces and boot flags, boot disk first — from the records (ours)
//!    or from the OVF and `DiskN.dat` (the seed's, whose NICs go on the profile named like
//!    their network, or the one chosen).
//! 3. A [`VmBuild`]: the VM made on the chosen cluster, marked as ours
//!    ([`ovirt_client::Owner`]) while it is built; each disk made on the chosen storage
//!    domain (sparse where the domain allows it), uploaded through imageio (data as `PUT`,
//!    zero ranges as `PATCH zero`, holes of a raw image never read), every byte read
//!    through the manifest's digest (the seed's: its size and its decompressor's checksums,
//!    the `inputs` module), then attached with its interface and boot flag.
//! 4. With `check`, each disk downloaded again and compared ([`DiskCheck`]).
//! 5. Only then is the VM committed (its final description). Any failure before — a
//!    digest that differs, a cancelled ticket, a full domain, a disk that reads back
//!    differently, Ctrl-C or SIGTERM — drops the build, which removes the VM and every
//!    disk it made. A restore killed outright leaves a VM marked with a dead owner: the
//!    next restore (or backup run) sweeps it ([`ovirt_client::sweep_unfinished_vms`]).

mod backup;
mod check;
pub mod engine;
mod error;
mod inputs;
pub mod seed;

use std::path::Path;

use backup_core::batch::Cancel;
use disk_image::compress::{Compression, Detected};
use disk_image::{DiskInput, Progress};
use ovirt_client::restore::BuildSettings;
use ovirt_client::simplebackup::SystemLzop;
use ovirt_client::{Connection, NewDisk, Owner, RestoreChoices, TargetDomain, VmBuild};
use serde::Serialize;

pub use backup::{DiskImage, OvirtBackup};
pub use check::DiskCheck;
pub use error::Result;

use crate::error::VmBackupError;

use inputs::{CheckedFile, CheckedStream, ReadThrough};

/// How to restore.
#[derive(Debug, Clone, Default)]
pub struct OvirtRestoreOptions {
    /// The new VM's name (default: the backup's VM name with `-restored`).
    pub name: Option<String>,
    /// The cluster, by name (default: the engine's only cluster).
    pub cluster: Option<String>,
    /// The storage domain of the disks, by name.
    pub storage_domain: String,
    /// Keep the NICs' MAC addresses (the engine refuses while the source VM has them).
    pub keep_macs: bool,
    /// Put every NIC on this vNIC profile (name, `network/profile` or id).
    pub vnic_profile: Option<String>,
    /// Read every restored disk back and compare it with the backup before keeping the VM.
    pub check: bool,
    /// How disks are made and uploaded.
    pub build: BuildSettings,
}

/// What a restore made.
#[derive(Debug, Clone, Serialize)]
pub struct OvirtRestored {
    /// The new VM's id.
    pub vm: String,
    /// Its name.
    pub name: String,
    /// Its disks' ids, boot disk first.
    pub disks: Vec<String>,
    /// Bytes sent as data.
    pub data_bytes: u64,
    /// Bytes zeroed with `PATCH zero` (or skipped).
    pub zero_bytes: u64,
    /// The comparisons, with `check`.
    pub checks: Vec<DiskCheck>,
}

/// Restores `backup` through `connection`.
pub fn restore(
    connection: &Connection,
    backup: &OvirtBackup,
    options: &OvirtRestoreOptions,
    cancel: &Cancel,
    progress: &dyn Progress,
) -> Result<OvirtRestored> {
    let dir = backup.dir();
    let _span =
        tracing::info_span!("vm", name = %backup.vm_name(), backup = %dir.display()).entered();
    let owner = Owner::this_process("vmbackup");
    let now = jiff::Timestamp::now();
    sweep(connection, &owner, now);
    let choices = RestoreChoices {
        name: options
            .name
            .clone()
            .unwrap_or_else(|| format!("{}-restored", backup.vm_name())),
        cluster: engine::cluster(connection, options.cluster.as_deref())?,
        description: owner.describe("restoring", now),
        keep_macs: options.keep_macs,
        vnic_profile: options
            .vnic_profile
            .as_deref()
            .map(|name| engine::profile_by_name(connection, name))
            .transpose()?,
    };
    let (plan, images) = backup.plan(&choices, &|network| {
        engine::profile_for_network(connection, network)
    })?;
    let domain = TargetDomain::find(connection, &options.storage_domain).map_err(error::engine(
        format!("finding storage domain `{}`", options.storage_domain),
    ))?;
    cancel.check()?;
    let mut build = VmBuild::create(connection, &plan.vm, &plan.nics, &options.build)
        .map_err(error::engine(format!("creating VM `{}`", plan.vm.name)))?;
    let mut restored = OvirtRestored {
        vm: build.vm().to_owned(),
        name: plan.vm.name.clone(),
        disks: Vec::new(),
        data_bytes: 0,
        zero_bytes: 0,
        checks: Vec::new(),
    };
    let target = Target {
        domain: &domain,
        dir,
        cancel,
        progress,
    };
    let mut contents = Vec::new();
    for (disk, image) in plan.disks.iter().zip(&images) {
        cancel.check()?;
        let (id, content) = upload(&mut build, disk, image, &target, &mut restored)?;
        restored.disks.push(id.clone());
        contents.push((disk, id, content));
    }
    if options.check {
        restored.checks = check_disks(connection, &contents, dir, options, cancel)?;
    }
    cancel.check()?;
    build
        .commit(&format!("restored by vmbackup from {}", dir.display()))
        .map_err(error::engine("keeping the restored VM"))?;
    tracing::info!(vm = %restored.vm, name = %restored.name, "restored");
    Ok(restored)
}

/// Removes what killed restores (and runs) left: VMs marked by owners that are gone.
fn sweep(connection: &Connection, owner: &Owner, now: jiff::Timestamp) {
    match ovirt_client::sweep_unfinished_vms(connection, owner, now) {
        Ok((removed, failures)) => {
            for vm in removed {
                tracing::warn!(vm, "removed a VM an interrupted restore had left");
            }
            for error in failures {
                tracing::error!(%error, "could not remove a VM an interrupted restore had left");
            }
        }
        Err(error) => tracing::error!(%error, "could not look for VMs interrupted restores left"),
    }
}

/// Each restored disk read back and compared; a difference fails the restore.
fn check_disks(
    connection: &Connection,
    contents: &[(&NewDisk, String, String)],
    dir: &Path,
    options: &OvirtRestoreOptions,
    cancel: &Cancel,
) -> Result<Vec<DiskCheck>> {
    let mut checks = Vec::new();
    for (disk, id, content) in contents {
        cancel.check()?;
        let found = check::engine_digest(connection, id, disk.size, &options.build.options)?;
        let check = DiskCheck {
            disk: disk.name.clone(),
            id: id.clone(),
            backup: content.clone(),
            restored: found,
        };
        if !check.matches() {
            return Err(error::backup(
                dir,
                format!(
                    "the restored disk `{}` reads back differently (XXH64 {} instead of {}): \
                     the VM is removed",
                    check.disk, check.restored, check.backup
                ),
            ));
        }
        checks.push(check);
    }
    Ok(checks)
}

/// Where and how the disks go.
#[derive(Clone, Copy)]
struct Target<'a> {
    domain: &'a TargetDomain,
    dir: &'a Path,
    cancel: &'a Cancel,
    progress: &'a dyn Progress,
}

/// Uploads one disk's image into a new disk attached to the build's VM, checking it as it
/// is read; returns the disk's id and the XXH64 of its bytes.
fn upload(
    build: &mut VmBuild<'_>,
    disk: &NewDisk,
    image: &DiskImage,
    to: &Target<'_>,
    restored: &mut OvirtRestored,
) -> Result<(String, String)> {
    let Target {
        domain,
        dir,
        cancel,
        progress,
    } = *to;
    let _span = tracing::info_span!("disk", name = %disk.name).entered();
    let failed = error::engine(format!("restoring disk `{}`", disk.name));
    let (id, summary, through, path, expected) = match image {
        DiskImage::Ours {
            path,
            file,
            compression,
        } => {
            let kind = file
                .digest
                .kind
                .known()
                .map_err(|kind| error::backup(dir, format!("unknown digest kind `{kind}`")))?;
            let compressed = *compression != Compression::None;
            if compressed {
                let (mut stream, detected) = CheckedStream::ours(path, kind, disk.size, cancel)
                    .map_err(error::read(path))?;
                if !matches!(
                    (compression, detected),
                    (Compression::Zstd, Detected::Zstd) | (Compression::Gzip, Detected::Gzip)
                ) {
                    return Err(error::backup(
                        dir,
                        format!(
                            "`{}` is not {compression} as the manifest says ({detected:?})",
                            path.display()
                        ),
                    ));
                }
                let (id, summary) = build
                    .add_disk(disk, domain, DiskInput::Stream(&mut stream), progress)
                    .map_err(|e| interrupted_or(cancel, e, failed))?;
                let through = stream.finish().map_err(error::read(path))?;
                (id, summary, through, path, Some(&file.digest))
            } else {
                let source =
                    CheckedFile::open(path, Some(kind), cancel).map_err(error::read(path))?;
                let (id, summary) = build
                    .add_disk(disk, domain, DiskInput::Random(&source), progress)
                    .map_err(|e| interrupted_or(cancel, e, failed))?;
                (id, summary, source.finish(), path, Some(&file.digest))
            }
        }
        DiskImage::Seed(seed) => {
            let path = &seed.image;
            if seed.compression == ovirt_client::simplebackup::SeedCompression::None {
                let length = std::fs::metadata(path).map_err(error::read(path))?.len();
                if length != disk.size {
                    return Err(error::backup(
                        dir,
                        format!(
                            "`{}` holds {length} bytes, its Disk{}.dat says {}",
                            path.display(),
                            seed.index,
                            disk.size
                        ),
                    ));
                }
                let source = CheckedFile::open(path, None, cancel).map_err(error::read(path))?;
                let (id, summary) = build
                    .add_disk(disk, domain, DiskInput::Random(&source), progress)
                    .map_err(|e| interrupted_or(cancel, e, failed))?;
                (id, summary, source.finish(), path, None)
            } else {
                let reader = seed
                    .open(&SystemLzop)
                    .map_err(|e| error::backup(dir, e.to_string()))?;
                let mut stream = CheckedStream::seed(reader, path, disk.size, cancel);
                let (id, summary) = build
                    .add_disk(disk, domain, DiskInput::Stream(&mut stream), progress)
                    .map_err(|e| interrupted_or(cancel, e, failed))?;
                let through = stream.finish().map_err(error::read(path))?;
                (id, summary, through, path, None)
            }
        }
    };
    compare(dir, path, &through, expected)?;
    restored.data_bytes += summary.data_bytes;
    restored.zero_bytes += summary.zeroed_bytes + summary.skipped_bytes;
    Ok((id, through.content))
}

/// The restore's own stop reads as [`VmBackupError::Interrupted`], not as the upload's
/// failure it caused.
fn interrupted_or(
    cancel: &Cancel,
    error: ovirt_client::OvirtError,
    failed: impl FnOnce(ovirt_client::OvirtError) -> VmBackupError,
) -> VmBackupError {
    if cancel.is_cancelled() {
        VmBackupError::Interrupted
    } else {
        failed(error)
    }
}

/// The stored file's digest, as read, against the manifest's.
fn compare(
    dir: &Path,
    path: &Path,
    through: &ReadThrough,
    expected: Option<&backup_core::store::digest::FileDigest>,
) -> Result<()> {
    let (Some(expected), Some(found)) = (expected, &through.stored) else {
        return Ok(());
    };
    if found.value != expected.value || found.bytes != expected.bytes {
        return Err(error::backup(
            dir,
            format!(
                "`{}` is not the file the backup recorded ({} {} over {} bytes, the manifest \
                 says {} over {} bytes): the backup is damaged, the restore is undone",
                path.display(),
                found.kind,
                found.value,
                found.bytes,
                expected.value,
                expected.bytes
            ),
        ));
    }
    Ok(())
}
