//! A whole run, as xenbackup's cron job does it, on backup-core's batch runner: niceness and
//! I/O priority set on ourselves, the backup device mounted if it is not, then every volume
//! of the list, one after the other by default (dom0 is small), each a [`VolumeJob`], with
//! the volume's retention right after its archive is published, then the device unmounted
//! if this run mounted it. The result is data ([`RunReport`]); the binary renders it.
//!
//! With `concurrency = N` in the settings, volumes of different volume groups run at once
//! (N workers), the volumes of one volume group still one after the other: the jobs are
//! taken round-robin over the volume groups, and each holds its group's lock for its whole
//! run (snapshot to removal), so two snapshots of one group are never read at once. The
//! report keeps the list's order.

use std::path::PathBuf;

use backup_core::batch::{Batch, BoxError, Cancel, Clock, EventKind, Outcome, run_batch};
use jiff::civil::Date;
use lvm_snap::{CommandRunner, Lvm};
use serde::Serialize;

use crate::archive::{GnuTar, Levels};
use crate::config::{Config, SkippedLine, VolumeEntry};
use crate::device::BackupMount;
use crate::error::{LvmBackupError, Result};
use crate::repository::Repository;
use crate::volume::{Method, RunEnv, VolumeJob};

/// One volume's result.
#[derive(Debug, Clone, Serialize)]
pub struct VolumeReport {
    /// `domU/part`.
    pub name: String,
    /// The logical volume.
    pub device: String,
    /// How it was backed up (`tarball-incremental`, `raw-image (img.zst)`).
    pub method: String,
    /// `success`, `warning` or `failed`.
    pub status: &'static str,
    /// The archive published (or found already made today).
    pub archive: Option<PathBuf>,
    /// Its size.
    pub bytes: u64,
    /// The step that failed.
    pub step: Option<String>,
    /// Why.
    pub error: Option<String>,
    /// What went wrong without spoiling the archive.
    pub warnings: Vec<String>,
    /// Archives retention removed after this one was published.
    pub pruned: Vec<PathBuf>,
}

/// A run's result.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// Per volume, in list order.
    pub volumes: Vec<VolumeReport>,
    /// Lines of the volume list that were skipped.
    pub skipped: Vec<SkippedLine>,
    /// Warnings about the run as a whole (the list's stray `|`, the backup device).
    pub warnings: Vec<String>,
    /// Whether this run mounted (and unmounted) the backup device.
    pub mounted_backup_device: bool,
}

impl RunReport {
    /// Whether any volume failed.
    pub fn any_failed(&self) -> bool {
        self.volumes.iter().any(|v| v.status == "failed")
    }
}

/// What a run needs besides the configuration.
pub struct RunParts<'a, R> {
    /// lvm2.
    pub lvm: &'a Lvm<R>,
    /// GNU tar.
    pub tar: GnuTar,
    /// The stop flag.
    pub cancel: &'a Cancel,
    /// The clock.
    pub clock: &'a dyn Clock,
    /// The local date that names the archives.
    pub today: Date,
    /// Only these volumes (`domU/part`); empty: all.
    pub only: &'a [String],
}

/// Runs the backup of every volume `config` lists.
pub fn run<R: CommandRunner + Sync>(config: &Config, parts: &RunParts<'_, R>) -> Result<RunReport> {
    let xen = &config.xenbackup;
    let bm = &config.backup_manager;
    check_selection(config, parts.only)?;
    crate::priority::apply(parts.lvm.runner(), xen.nice, xen.ionice)?;
    let device = match &xen.backup_device {
        Some(device) => Some(BackupMount::ensure(device, &xen.backup_mount_point)?),
        None => None,
    };
    if !bm.repository_root.is_dir() {
        return Err(LvmBackupError::MountPoint {
            path: bm.repository_root.clone(),
            problem: "BM_REPOSITORY_ROOT is not a directory".into(),
        });
    }
    let env = run_env(config, parts);
    let selected: Vec<&VolumeEntry> = config
        .volumes
        .volumes
        .iter()
        .filter(|v| parts.only.is_empty() || parts.only.contains(&format!("{}/{}", v.domu, v.part)))
        .collect();
    let order = round_robin_by_group(&selected);
    let jobs: Vec<VolumeJob<'_, R>> = order
        .iter()
        .map(|&i| {
            let entry = selected[i];
            let method = config
                .settings
                .image_type_of(&format!("{}/{}", entry.domu, entry.part))
                .map_or(Method::TarballIncremental, Method::RawImage);
            VolumeJob::new(entry.clone(), method, &env)
        })
        .collect();
    let policy = config.policy();
    let retention =
        |job: &VolumeJob<'_, R>, _archive: &std::path::Path| -> Result<Vec<PathBuf>, BoxError> {
            let dir = job.dir();
            let plans: Vec<_> = env
                .repository
                .plan(&policy, parts.today)?
                .into_iter()
                .filter(|p| p.dir == dir)
                .collect();
            Ok(env.repository.prune(&plans, false)?)
        };
    let events = |event: &crate::volume::Event<'_>| {
        if let EventKind::Finished(report) = event.what {
            tracing::info!(
                volume = event.name,
                status = report.status().as_str(),
                "volume finished"
            );
        }
    };
    let reports = run_batch(
        &jobs,
        &Batch {
            concurrency: config.settings.concurrency,
            cancel: parts.cancel,
            clock: parts.clock,
            progress: &|_| Box::new(disk_image::NoProgress),
            events: &events,
            retention: Some(&retention),
        },
    );
    let mut warnings = config.volumes.warnings.clone();
    let mounted_backup_device = device.as_ref().is_some_and(BackupMount::mounted_by_us);
    if let Some(device) = device
        && let Err(error) = device.finish()
    {
        warnings.push(error.to_string());
    }
    let mut volumes: Vec<(usize, VolumeReport)> = reports
        .into_iter()
        .zip(&jobs)
        .zip(&order)
        .map(|((report, job), &i)| (i, volume_report(report, job)))
        .collect();
    volumes.sort_by_key(|(i, _)| *i);
    let volumes = volumes.into_iter().map(|(_, v)| v).collect();
    Ok(RunReport {
        volumes,
        skipped: config.volumes.skipped.clone(),
        warnings,
        mounted_backup_device,
    })
}

/// The indices of `entries` taken round-robin over their volume groups (first of each
/// group in order of first appearance, then the second of each, …), so that the first
/// workers start on different groups.
pub fn round_robin_by_group(entries: &[&VolumeEntry]) -> Vec<usize> {
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let vg = entry.device.vg();
        match groups.iter_mut().find(|(g, _)| *g == vg) {
            Some((_, members)) => members.push(i),
            None => groups.push((vg, vec![i])),
        }
    }
    let longest = groups.iter().map(|(_, m)| m.len()).max().unwrap_or(0);
    (0..longest)
        .flat_map(|round| {
            groups
                .iter()
                .filter_map(move |(_, m)| m.get(round).copied())
        })
        .collect()
}

/// Fails on a `--volume` the list does not have.
fn check_selection(config: &Config, only: &[String]) -> Result<()> {
    for wanted in only {
        if !config
            .volumes
            .volumes
            .iter()
            .any(|v| &format!("{}/{}", v.domu, v.part) == wanted)
        {
            return Err(crate::ConfigError::at(
                &config.volumes.path,
                0,
                format!("no volume {wanted} (domU/part) in the list"),
            )
            .into());
        }
    }
    Ok(())
}

/// What every volume of the run shares.
fn run_env<'a, R>(config: &Config, parts: &RunParts<'a, R>) -> RunEnv<'a, R> {
    let xen = &config.xenbackup;
    let bm = &config.backup_manager;
    RunEnv {
        lvm: parts.lvm,
        tar: parts.tar.clone(),
        repository: Repository::new(&bm.repository_root, &bm.prefix),
        mount_source_dir: xen.mount_source_dir.clone(),
        name_format: bm.name_format,
        filetype: config.filetype(),
        levels: Levels {
            gzip: config.settings.gzip_level,
            zstd: config.settings.zstd_level,
            zstd_threads: config.settings.zstd_threads,
        },
        schedule: bm.master,
        group_locks: config
            .volumes
            .volumes
            .iter()
            .map(|v| (v.device.vg().to_owned(), std::sync::Mutex::new(())))
            .collect(),
        snapshot_size: xen.snapshot_size,
        mount_delay: xen.mount_delay,
        today: parts.today,
    }
}

/// A volume's line of the report.
fn volume_report<R>(
    report: backup_core::batch::ReportOf<VolumeJob<'_, R>>,
    job: &VolumeJob<'_, R>,
) -> VolumeReport
where
    R: CommandRunner + Sync,
{
    let (step, error) = match &report.outcome {
        Outcome::Failed { step, error } => (Some(step.to_string()), Some(error.clone())),
        Outcome::Cancelled => (None, Some("the run was stopped before this volume".into())),
        Outcome::Published(_) => (None, None),
    };
    VolumeReport {
        status: report.status().as_str(),
        archive: report.backup().map(ToOwned::to_owned),
        bytes: report.bytes(),
        device: job.entry.device.to_string(),
        method: job.method.to_string(),
        name: report.name,
        step,
        error,
        warnings: report.warnings,
        pruned: report.pruned,
    }
}
