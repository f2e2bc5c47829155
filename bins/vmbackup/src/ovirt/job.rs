//! One oVirt VM's backup as a job of backup-core's runner: snapshot (a guard: deleted and
//! awaited on every path), the records and OVF, each disk read through imageio or the
//! appliance into a [`SaveSink`] (digested as it streams, sparse or compressed), disks in
//! parallel up to `disk_concurrency`, the manifest, then the snapshot removed and the
//! partial directory published.

use std::path::PathBuf;
use std::sync::Mutex;

use backup_core::batch::{
    self, AtStep, Failed, JobContext, Published, SaveOptions, SaveSink, create_file,
};
use backup_core::store::digest::digest_bytes;
use backup_core::store::{
    FileRole, MANIFEST_FORMAT, Manifest, ManifestDisk, ManifestFile, ManifestSource, ManifestState,
    ManifestVm, PartialBackup, Recorded, dir_name,
};
use disk_image::ImageFormat;
use disk_image::compress::Compression;
use ovirt_client::snapshot_backup::SnapshotDisk;
use ovirt_client::snapshot_backup::appliance::Appliance;
use ovirt_client::{BackupSettings, Connection, Owner, SnapshotBackup};

use super::layout::{disk_dat, disk_file, ovf_file, seed_name, vm_dir};
use super::manifest::{OVIRT_KIND, OvirtBackupRecord, OvirtDiskRecord, OvirtFields, RecordPaths};
use crate::config::{Config, JobKind, OvirtLayout, OvirtSettings, ReadMode};
use crate::error::{Result, VmBackupError};
use crate::save;
use crate::selection::Job;
use crate::status_log::Failure;

/// What every oVirt job of a run shares.
pub struct Engine<'a> {
    /// The engine's connection.
    pub connection: &'a Connection,
    /// The settings.
    pub config: &'a Config,
    /// Its oVirt part.
    pub ovirt: &'a OvirtSettings,
    /// The appliance disks are attached to in `mode=appliance`, or why there is none.
    pub appliance: std::result::Result<Appliance, String>,
    /// This process, as snapshot descriptions mark it.
    pub owner: Owner,
    /// The host running the backup (for the manifest).
    pub host_name: &'a str,
}

/// One selected VM's backup.
pub struct OvirtJob<'a> {
    /// The engine.
    pub engine: &'a Engine<'a>,
    /// The VM.
    pub job: &'a Job,
    /// How its disks are read.
    pub mode: ReadMode,
}

impl batch::Job for OvirtJob<'_> {
    type Kind = JobKind;
    type Step = Failure;

    fn name(&self) -> &str {
        &self.job.name
    }

    fn kind(&self) -> JobKind {
        self.job.kind
    }

    fn run(&self, cx: &JobContext<'_>) -> std::result::Result<Published, Failed<Failure>> {
        backup_vm(self, cx)
    }
}

/// A disk saved: its manifest entries.
struct SavedDisk {
    file: ManifestFile,
    disk: ManifestDisk,
    record: OvirtDiskRecord,
    dat: Option<ManifestFile>,
}

fn backup_vm(
    job: &OvirtJob<'_>,
    cx: &JobContext<'_>,
) -> std::result::Result<Published, Failed<Failure>> {
    let engine = job.engine;
    let ovirt = engine.ovirt;
    let config = engine.config;
    let vm_id = job.job.uuid.as_str();
    let vm_name = job.job.name.as_str();
    let start = cx.start();
    let name = seed_name(&ovirt.label, start);
    let dir = vm_dir(ovirt.layout, &config.backup_dir, vm_name, vm_id);
    let partial = match ovirt.layout {
        OvirtLayout::Own => PartialBackup::create(&dir, start, config.file_mode),
        OvirtLayout::OvirtSimpleBackup => {
            PartialBackup::create_named(&dir, &name, config.file_mode)
        }
    }
    .at(Failure::VmExport)?;
    let appliance = match job.mode {
        ReadMode::Imageio => None,
        ReadMode::Appliance => Some(
            engine
                .appliance
                .as_ref()
                .map_err(|why| VmBackupError::Backup(why.clone()))
                .at(Failure::Snapshot)?,
        ),
    };
    let settings = BackupSettings {
        snapshot_timeout: ovirt.snapshot_timeout,
        remove_timeout: ovirt.remove_timeout,
        stop: Some(cx.cancel().flag()),
        ..BackupSettings::default()
    };
    let description = engine.owner.describe(&name, cx.clock().now());
    let doing = |what: &str| format!("{vm_name}: {what}");
    let backup = SnapshotBackup::start(engine.connection, vm_id, &description, &settings)
        .map_err(|e| VmBackupError::ovirt(doing("snapshotting the VM"), e))
        .at(Failure::Snapshot)?;
    let snapshot_id = backup.snapshot().id().to_owned();
    let (mut files, ovf) = write_records(&backup, &partial, config, ovirt.layout)
        .map_err(|e| match e {
            VmBackupError::Ovirt { source, .. } => {
                VmBackupError::ovirt(doing("writing the VM's records"), *source)
            }
            other => other,
        })
        .at(Failure::MetadataExport)?;
    let options = SaveOptions {
        codec: save::codec(config.compression),
        digest: config.checksum,
        mode: partial.mode(),
        cancel: cx.cancel(),
        progress: cx.progress(),
    };
    let saved = save_disks(job, cx, &backup, appliance, &partial, &options, &name)?;
    let mut disks = Vec::new();
    let mut records_of_disks = Vec::new();
    for disk in saved {
        files.push(disk.file);
        files.extend(disk.dat);
        disks.push(disk.disk);
        records_of_disks.push(disk.record);
    }
    if let Err(error) = backup.finish() {
        cx.warn(format!(
            "{vm_name}: the snapshot {snapshot_id} could not be removed ({error}); the next run removes it"
        ));
    }
    let bytes = files.iter().map(|f| f.digest.bytes).sum();
    let mut manifest = shared_fields(job, cx, start);
    manifest.files = files;
    manifest.disks = disks;
    let record = &mut manifest.extra.ovirt;
    record.snapshot_id = snapshot_id;
    record.snapshot_description = description;
    record.ovf = ovf;
    record.disks = records_of_disks;
    let published = partial.commit(&manifest).at(Failure::MetadataExport)?;
    Ok(Published {
        backup: published,
        bytes,
    })
}

/// The manifest's fields every platform has, for `job` started at `start`.
fn shared_fields(
    job: &OvirtJob<'_>,
    cx: &JobContext<'_>,
    start: jiff::Timestamp,
) -> Manifest<OvirtFields> {
    let vm_name = job.job.name.as_str();
    let ovirt = job.engine.ovirt;
    Manifest {
        format: MANIFEST_FORMAT.to_owned(),
        state: ManifestState::Complete,
        created: start.to_string(),
        finished: cx.clock().now().to_string(),
        parent: None,
        tags: Vec::new(),
        kind: OVIRT_KIND.to_owned(),
        vm: ManifestVm {
            uuid: job.job.uuid.clone(),
            name: vm_name.to_owned(),
            directory: dir_name(vm_name),
        },
        source: ManifestSource {
            endpoint: ovirt.engine.clone(),
            host: job.engine.host_name.to_owned(),
        },
        tool: concat!("vmbackup ", env!("CARGO_PKG_VERSION")).to_owned(),
        files: Vec::new(),
        disks: Vec::new(),
        extra: OvirtFields {
            ovirt: OvirtBackupRecord {
                engine: ovirt.engine.clone(),
                vm_id: job.job.uuid.clone(),
                snapshot_id: String::new(),
                snapshot_description: String::new(),
                mode: job.mode,
                layout: ovirt.layout,
                ovf: None,
                records: RecordPaths {
                    vm: ovirt_client::records::VM_FILE.to_owned(),
                    disk_attachments: ovirt_client::records::ATTACHMENTS_FILE.to_owned(),
                    disks: ovirt_client::records::DISKS_FILE.to_owned(),
                    nics: ovirt_client::records::NICS_FILE.to_owned(),
                },
                disks: Vec::new(),
            },
        },
    }
}

/// Writes the VM's records and its OVF; returns their manifest entries and the OVF's path.
fn write_records(
    backup: &SnapshotBackup<'_>,
    partial: &PartialBackup,
    config: &Config,
    layout: OvirtLayout,
) -> Result<(Vec<ManifestFile>, Option<String>)> {
    let records = backup
        .records()
        .files()
        .map_err(|e| VmBackupError::ovirt("writing the VM's records", e))?;
    let mut files = Vec::new();
    let mut ovf = None;
    for (file, text) in &records {
        let path = if *file == ovirt_client::records::OVF_FILE {
            ovf = Some(ovf_file(layout).to_owned());
            ovf_file(layout)
        } else {
            file
        };
        files.push(small_file(
            partial,
            config,
            path,
            FileRole::Metadata,
            text.as_bytes(),
        )?);
    }
    Ok((files, ovf))
}

/// Writes and records a small file.
fn small_file(
    partial: &PartialBackup,
    config: &Config,
    path: &str,
    role: FileRole,
    contents: &[u8],
) -> Result<ManifestFile> {
    partial.write_file(path, contents)?;
    Ok(ManifestFile {
        path: path.to_owned(),
        role,
        compression: Recorded::Known(Compression::None),
        digest: digest_bytes(config.checksum, contents),
    })
}

/// Reads every disk, up to `disk_concurrency` at once; the first failure fails the job
/// (the others stop at the next piece: the partial directory goes with the job).
fn save_disks(
    job: &OvirtJob<'_>,
    cx: &JobContext<'_>,
    backup: &SnapshotBackup<'_>,
    appliance: Option<&Appliance>,
    partial: &PartialBackup,
    options: &SaveOptions<'_>,
    backup_name: &str,
) -> std::result::Result<Vec<SavedDisk>, Failed<Failure>> {
    let disks: Vec<(u32, &SnapshotDisk)> = (1u32..).zip(backup.disks()).collect();
    let next = Mutex::new(disks.iter());
    let results: Mutex<Vec<(u32, std::result::Result<SavedDisk, VmBackupError>)>> =
        Mutex::new(Vec::new());
    let failed = std::sync::atomic::AtomicBool::new(false);
    let workers = job
        .engine
        .ovirt
        .disk_concurrency
        .get()
        .min(disks.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    if failed.load(std::sync::atomic::Ordering::SeqCst) {
                        return;
                    }
                    let Some(&(index, disk)) = next.lock().expect("disk queue").next() else {
                        return;
                    };
                    let result = save_disk(
                        job,
                        cx,
                        backup,
                        appliance,
                        partial,
                        options,
                        index,
                        disk,
                        backup_name,
                    );
                    if result.is_err() {
                        failed.store(true, std::sync::atomic::Ordering::SeqCst);
                    }
                    results.lock().expect("disk results").push((index, result));
                }
            });
        }
    });
    let mut results = results.into_inner().expect("disk results");
    results.sort_by_key(|(index, _)| *index);
    let mut saved = Vec::with_capacity(results.len());
    for (_, result) in results {
        saved.push(result.at(Failure::VmExport)?);
    }
    if saved.len() != disks.len() {
        return Err(Failed::new(
            Failure::VmExport,
            VmBackupError::Backup("not every disk was read".to_owned()),
        ));
    }
    Ok(saved)
}

#[allow(clippy::too_many_arguments)]
fn save_disk(
    job: &OvirtJob<'_>,
    cx: &JobContext<'_>,
    backup: &SnapshotBackup<'_>,
    appliance: Option<&Appliance>,
    partial: &PartialBackup,
    options: &SaveOptions<'_>,
    index: u32,
    disk: &SnapshotDisk,
    backup_name: &str,
) -> Result<SavedDisk> {
    let ovirt = job.engine.ovirt;
    let vm_name = job.job.name.as_str();
    let label = format!("Disk{index} {}", disk.name);
    let span = cx.disk(&label, Some(disk.size));
    let relative = disk_file(ovirt.layout, index, disk, options.codec);
    let path: PathBuf = partial.file_path(&relative)?;
    let file = create_file(&path, options).map_err(|e| VmBackupError::Save(Box::new(e)))?;
    let mut sink = SaveSink::new(&file, &path, disk.size, options)
        .map_err(|e| VmBackupError::Save(Box::new(e)))?;
    let doing = format!("{vm_name}: reading disk {} ({})", disk.name, disk.id);
    let (data_bytes, device) = match appliance {
        None => {
            let summary = backup
                .download(disk, &mut sink, cx.progress())
                .map_err(|e| interrupted_or(cx, VmBackupError::ovirt(doing.clone(), e)))?;
            (summary.data_bytes, "imageio".to_owned())
        }
        Some(appliance) => {
            let device = appliance.device_of(&disk.id);
            let result = backup.read_through_appliance(appliance, disk, &mut sink, cx.progress());
            match result {
                Ok(summary) => (summary.data_bytes, device_name(&device)),
                Err(error) => {
                    // Only what this run attached: the snapshot disk on our appliance. A
                    // detach that failed once is tried again, so that the snapshot can go.
                    match job.engine.connection.detach_disk(&appliance.vm, &disk.id) {
                        Ok(()) => tracing::info!(disk = %disk.id, "detached after a failed read"),
                        Err(e) if e.is_not_found() => {}
                        Err(e) => {
                            tracing::warn!(disk = %disk.id, error = %e, "the disk is still attached");
                        }
                    }
                    return Err(interrupted_or(cx, VmBackupError::ovirt(doing, error)));
                }
            }
        }
    };
    let saved = sink
        .finish_saved()
        .map_err(|e| VmBackupError::Save(Box::new(e)))?;
    drop(file);
    span.finish(saved.digest.bytes);
    let dat = match ovirt.layout {
        OvirtLayout::Own => None,
        OvirtLayout::OvirtSimpleBackup => {
            let text = disk_dat(index, disk, &device, vm_name, backup_name, &job.job.uuid);
            let config = job.engine.config;
            Some(small_file(
                partial,
                config,
                &format!("Disk{index}.dat"),
                FileRole::Metadata,
                text.as_bytes(),
            )?)
        }
    };
    let compression = options.codec.compression();
    Ok(SavedDisk {
        file: ManifestFile {
            path: relative.clone(),
            role: FileRole::Disk,
            compression: Recorded::Known(compression),
            digest: saved.digest,
        },
        disk: ManifestDisk {
            device: format!("Disk{index}"),
            slot: index.to_string(),
            volume_uuid: disk.id.clone(),
            name: disk.name.clone(),
            virtual_size: disk.size,
            file: relative.clone(),
            format: Recorded::Known(ImageFormat::Raw),
        },
        record: OvirtDiskRecord {
            index,
            disk_id: disk.id.clone(),
            image_id: disk.image_id.clone(),
            name: disk.name.clone(),
            size: disk.size,
            bootable: disk.bootable,
            interface: disk.interface.map(|i| i.to_string()),
            source_format: disk.format.map(|f| f.to_string()),
            file: relative,
            compression: Recorded::Known(compression),
            data_bytes,
            dat: matches!(ovirt.layout, OvirtLayout::OvirtSimpleBackup)
                .then(|| format!("Disk{index}.dat")),
        },
        dat,
    })
}

/// The by-id name of a device (`virtio-0123…`).
fn device_name(path: &std::path::Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

/// A failure after the run was cancelled is the interruption.
fn interrupted_or(cx: &JobContext<'_>, error: VmBackupError) -> VmBackupError {
    if cx.cancel().is_cancelled() {
        VmBackupError::Interrupted
    } else {
        error
    }
}
