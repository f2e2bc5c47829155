//! One VM's backup, of each kind, as VmBackup.py does it but safely: every snapshot is a
//! guard (removed on every path), every file is written into a partial directory that only
//! becomes a backup once complete and verified.
//!
//! - **vm-export**: snapshot the VM, clear `is_a_template` and `ha_always_run` on the
//!   snapshot, stream `/export` into `<vm>.xva` (verified as it streams), destroy the snapshot
//!   and its disks.
//! - **vdi-export**: snapshot the boot disk (or every disk with `all_disks`), stream
//!   `/export_raw_vdi` as raw (sparse) or VHD, destroy the disk snapshots.
//! - **metadata-export**: `/export_metadata` into `<vm>.xva` (an `ova.xml`-only archive).
//! - **skeleton-export** (TINABS): snapshot the VM, replace every data disk of the snapshot
//!   by a blank disk of the same size, export that, destroy it all.
//! - **backup-sr-export** (TINABS 2.0): snapshot the VM, copy its system disk to the backup
//!   SR and recreate its data disks blank there, export the metadata only; the disks on the
//!   SR stay, recorded in the manifest (see [`crate::backup_sr`]).
//!
//! Every kind also writes `vm-metadata.xml` (the VM's `ova.xml`, snapshots included),
//! NAUbackup's `vm.cfg` / `DISK-*/*.cfg` / `VIFs/*.cfg`, and the manifest.

mod backup_sr;
mod disks;
mod skeleton;
mod vm;

use std::io::Read;
use std::path::PathBuf;

use backup_core::batch::{self, AtStep, Failed, JobContext, Published, SaveOptions};
use backup_core::store::digest::{self, digest_bytes};
use backup_core::store::verify::{METADATA_LIMIT, check_whole_tar};
use backup_core::store::{
    FileRole, MANIFEST_FORMAT, Manifest, ManifestDisk, ManifestFile, ManifestSource, ManifestState,
    ManifestVm, PartialBackup, Recorded, dir_name,
};
use disk_image::compress::Compression;
use jiff::Timestamp;
use xenapi::records::VmRecord;
use xenapi::{Ref, Session};

use crate::config::{Config, JobKind};
use crate::error::{Result, VmBackupError};
use crate::guards::{
    destroy_vm_and_disks, disk_snapshot_prefix, snapshot_name, snapshot_name_prefix,
};
use crate::inventory::Inventory;
use crate::naubackup_files::metadata_files;
use crate::owner::Owner;
use crate::save;
use crate::selection::Job;
use crate::status_log::Failure;

/// What every job of a run shares: the pool, its records, the settings.
pub struct Pool<'a> {
    /// The pool's session.
    pub session: &'a Session,
    /// Its records, read at the start of the run.
    pub inventory: &'a Inventory,
    /// The settings.
    pub config: &'a Config,
    /// The host running the backup (for the manifest).
    pub host_name: &'a str,
}

/// One selected VM's backup as a job of backup-core's runner.
pub struct XapiJob<'a> {
    /// The pool.
    pub pool: &'a Pool<'a>,
    /// The VM and how to back it up.
    pub job: &'a Job,
}

/// A failed backup: the step (NAUbackup's status words) and the error.
pub type JobFailure = Failed<Failure>;

impl batch::Job for XapiJob<'_> {
    type Kind = JobKind;
    type Step = Failure;

    fn name(&self) -> &str {
        &self.job.name
    }

    fn kind(&self) -> JobKind {
        self.job.kind
    }

    fn run(&self, cx: &JobContext<'_>) -> std::result::Result<Published, JobFailure> {
        run_job(self.pool, self.job, cx)
    }
}

/// The directory all of a VM's backups live in.
pub fn vm_dir(config: &Config, vm_name: &str) -> PathBuf {
    config.backup_dir.join(dir_name(vm_name))
}

/// Backs up one VM; the job's start names the backup.
fn run_job(
    pool: &Pool<'_>,
    job: &Job,
    cx: &JobContext<'_>,
) -> std::result::Result<Published, JobFailure> {
    let (vm_ref, vm) = pool
        .inventory
        .vm_by_uuid(&job.uuid)
        .at(Failure::VerifyVmName)?;
    let mut backup = Backup::start(pool, job, &vm_ref, vm, cx).at(Failure::VerifyVmName)?;
    backup.sweep_leftovers();
    match job.kind {
        JobKind::VmExport => vm::vm_export(&mut backup)?,
        JobKind::VdiExport => disks::vdi_export(&mut backup)?,
        JobKind::MetadataExport => vm::metadata_export(&mut backup)?,
        JobKind::SkeletonExport => skeleton::skeleton_export(&mut backup)?,
        JobKind::BackupSrExport => backup_sr::backup_sr_export(&mut backup)?,
    }
    backup.write_metadata().at(Failure::MetadataExport)?;
    backup.commit().at(Failure::MetadataExport)
}

/// One backup being made: the partial directory and what the manifest will say.
pub(crate) struct Backup<'a> {
    pool: &'a Pool<'a>,
    cx: &'a JobContext<'a>,
    job: &'a Job,
    vm_ref: Ref,
    vm: &'a VmRecord,
    start: Timestamp,
    dir: PartialBackup,
    stem: String,
    files: Vec<ManifestFile>,
    disks: Vec<ManifestDisk>,
    /// The `/export_metadata` archive, once fetched.
    metadata: Option<Vec<u8>>,
    /// Disks on a backup SR (backup-sr-export): destroyed unless the backup is published.
    sr_copies: Option<crate::backup_sr::CopyGuard<'a>>,
}

impl<'a> Backup<'a> {
    fn start(
        pool: &'a Pool<'a>,
        job: &'a Job,
        vm_ref: &Ref,
        vm: &'a VmRecord,
        cx: &'a JobContext<'a>,
    ) -> Result<Self> {
        let stem = dir_name(&vm.name_label);
        let start = cx.start();
        let dir = PartialBackup::create(
            &vm_dir(pool.config, &vm.name_label),
            start,
            pool.config.file_mode,
        )?;
        Ok(Backup {
            pool,
            cx,
            job,
            vm_ref: vm_ref.clone(),
            vm,
            start,
            dir,
            stem,
            files: Vec::new(),
            disks: Vec::new(),
            metadata: None,
            sr_copies: None,
        })
    }

    fn session(&self) -> &'a Session {
        self.pool.session
    }

    fn save_options(&self) -> SaveOptions<'a> {
        SaveOptions {
            codec: save::codec(self.pool.config.compression),
            digest: self.pool.config.checksum,
            mode: self.dir.mode(),
            cancel: self.cx.cancel(),
            progress: self.cx.progress(),
        }
    }

    /// Something that did not spoil the backup (a snapshot left behind).
    fn warn(&self, text: String) {
        self.cx.warn(text);
    }

    /// What a failed XAPI call was doing, for messages.
    fn doing(&self, what: &str) -> String {
        format!("{}: {what}", self.vm.name_label)
    }

    /// The name of this run's snapshot.
    fn snapshot_name(&self) -> String {
        snapshot_name(
            &self.vm.name_label,
            &backup_core::store::layout::backup_stamp(self.start, 0),
        )
    }

    /// Removes the snapshots (of the VM and of its disks) that interrupted runs left and
    /// whose owner is gone ([`crate::owner`]); a warning if that fails.
    fn sweep_leftovers(&self) {
        let leftovers = self.pool.inventory.leftovers(
            &self.vm_ref,
            &snapshot_name_prefix(&self.vm.name_label),
            &disk_snapshot_prefix(&self.vm.name_label),
            &Owner::this_process(),
            self.cx.clock().now(),
        );
        for leftover in leftovers.vms {
            tracing::warn!(vm = %self.vm.name_label, snapshot = %leftover, "removing a snapshot left by an interrupted run");
            if let Err(error) = destroy_vm_and_disks(self.session(), &leftover) {
                self.warn(format!(
                    "could not remove the leftover snapshot {leftover}: {error}"
                ));
            }
        }
        for leftover in leftovers.vdis {
            tracing::warn!(vm = %self.vm.name_label, vdi = %leftover, "removing a disk snapshot left by an interrupted run");
            if let Err(error) = self.session().vdi().destroy(&leftover) {
                self.warn(format!(
                    "could not remove the leftover disk snapshot {leftover}: {error}"
                ));
            }
        }
    }

    /// Records a file written into the backup.
    fn add_file(
        &mut self,
        path: String,
        role: FileRole,
        compression: Compression,
        digest: digest::FileDigest,
    ) {
        self.files.push(ManifestFile {
            path,
            role,
            compression: Recorded::Known(compression),
            digest,
        });
    }

    /// Writes and records a small metadata file.
    fn add_small_file(&mut self, path: &str, role: FileRole, contents: &[u8]) -> Result<()> {
        self.dir.write_file(path, contents)?;
        let digest = digest_bytes(self.pool.config.checksum, contents);
        self.add_file(path.to_owned(), role, Compression::None, digest);
        Ok(())
    }

    /// `vm-metadata.xml` and NAUbackup's files.
    fn write_metadata(&mut self) -> Result<()> {
        let archive = match self.metadata.take() {
            Some(archive) => archive,
            None => self.metadata_archive()?,
        };
        let reader = disk_image::xva::XvaReader::open(&archive[..], "vm-metadata")
            .map_err(|e| VmBackupError::image(self.doing("reading the exported metadata"), e))?;
        self.add_small_file(
            "vm-metadata.xml",
            FileRole::Metadata,
            reader.ova_xml().as_bytes(),
        )?;
        for (path, text) in metadata_files(self.pool.inventory, self.vm) {
            self.add_small_file(&path, FileRole::NaubackupMetadata, text.as_bytes())?;
        }
        Ok(())
    }

    /// The VM's `/export_metadata` archive (small: records only).
    fn metadata_archive(&self) -> Result<Vec<u8>> {
        self.metadata_archive_of(&self.vm_ref)
    }

    /// The `/export_metadata` archive of `vm` (this VM, or a snapshot of it).
    fn metadata_archive_of(&self, vm: &Ref) -> Result<Vec<u8>> {
        let fail = |e| VmBackupError::xapi(self.doing("exporting the VM's metadata"), e);
        let download = self.session().export_metadata(vm).map_err(fail)?;
        let mut archive = Vec::new();
        let mut limited = download.take(METADATA_LIMIT);
        limited
            .read_to_end(&mut archive)
            .map_err(|e| VmBackupError::io(self.doing("receiving the VM's metadata"), e))?;
        limited.into_inner().finish().map_err(fail)?;
        let shown = self.doing("the exported metadata");
        check_whole_tar(&archive, std::path::Path::new(&shown))?;
        Ok(archive)
    }

    fn commit(self) -> Result<Published> {
        let manifest = Manifest {
            format: MANIFEST_FORMAT.to_owned(),
            state: ManifestState::Complete,
            created: self.start.to_string(),
            finished: self.cx.clock().now().to_string(),
            parent: None,
            tags: Vec::new(),
            kind: self.job.kind.as_str().to_owned(),
            vm: ManifestVm {
                uuid: self.vm.uuid.clone(),
                name: self.vm.name_label.clone(),
                directory: self.stem.clone(),
            },
            source: ManifestSource {
                endpoint: self.session().endpoint().to_string(),
                host: self.pool.host_name.to_owned(),
            },
            tool: concat!("vmbackup ", env!("CARGO_PKG_VERSION")).to_owned(),
            files: self.files,
            disks: self.disks,
            extra: crate::backup_sr::XapiFields {
                sr_copies: self
                    .sr_copies
                    .as_ref()
                    .map(crate::backup_sr::CopyGuard::copies)
                    .unwrap_or_default(),
            },
        };
        let bytes = manifest.files.iter().map(|f| f.digest.bytes).sum();
        let backup = self.dir.commit(&manifest)?;
        if let Some(copies) = self.sr_copies {
            copies.keep();
        }
        Ok(Published { backup, bytes })
    }
}
