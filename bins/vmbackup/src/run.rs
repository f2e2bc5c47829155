//! A backup run: every selected VM, several at once if asked, each recorded in NAUbackup's
//! status log; retention after each VM whose new backup is complete; the pool database
//! dump; a summary for the e-mail report and the exit code. One VM failing never stops the
//! others.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use backup_core::store::Layout;
use disk_image::Progress;
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde::Serialize;
use xenapi::Session;

use crate::cancel::Cancel;
use crate::config::{Config, JobKind};
use crate::inventory::Inventory;
use crate::jobs::{JobContext, run_job, vm_dir};
use crate::prune::prune_vm_dir_in_pool;
use crate::selection::Job;
use crate::status_log::{Failure, StatusLog, VmOutcome, VmResult};

/// What a run needs besides the pool.
pub struct RunSettings<'a> {
    /// The settings.
    pub config: &'a Config,
    /// The stop flag (set by Ctrl-C / SIGTERM).
    pub cancel: &'a Cancel,
    /// A progress reporter for one VM's transfer.
    pub progress_for: &'a (dyn Fn(&str) -> Box<dyn Progress> + Sync),
    /// NAUbackup's status log, when the run has one.
    pub status_log: Option<&'a StatusLog>,
    /// The host running the backup.
    pub host_name: &'a str,
    /// Called with each human-readable event (a VM starting, ending), in order per VM.
    pub on_event: &'a (dyn Fn(&str) + Sync),
}

/// One VM's part in a run.
#[derive(Debug, Clone, Serialize)]
pub struct VmReport {
    /// The VM's uuid.
    pub uuid: String,
    /// Its name.
    pub name: String,
    /// The kind of backup.
    pub kind: String,
    /// `success`, `warning` or `failed`.
    pub status: String,
    /// NAUbackup's status words for the VM (`SUCCESS web,elapse:2 size:1G`, `SNAPSHOT-FAIL web`).
    pub status_line: String,
    /// The new backup's directory.
    pub backup: Option<PathBuf>,
    /// Bytes stored.
    pub bytes: u64,
    /// Seconds taken.
    pub seconds: f64,
    /// The error, with its causes.
    pub error: Option<String>,
    /// Warnings (a snapshot left behind, a prune that failed).
    pub warnings: Vec<String>,
    /// Older backups removed by retention.
    pub pruned: Vec<PathBuf>,
    /// The result as the status log and the e-mail report see it.
    #[serde(skip)]
    pub result: VmResult,
}

/// The local time now, as NAUbackup's logs show it.
pub fn local_now() -> DateTime {
    Timestamp::now().to_zoned(TimeZone::system()).datetime()
}

/// The error and its causes on one line: `a: b: c`.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

/// Backs up every job's VM; returns a report per job, in the jobs' order.
pub fn run_jobs(
    session: &Session,
    inventory: &Inventory,
    jobs: &[Job],
    settings: &RunSettings<'_>,
) -> Vec<VmReport> {
    let ctx = JobContext {
        session,
        inventory,
        config: settings.config,
        cancel: settings.cancel,
        host_name: settings.host_name,
    };
    let next = Mutex::new(jobs.iter().enumerate());
    let reports = Mutex::new(Vec::with_capacity(jobs.len()));
    let workers = settings.config.concurrency.get().min(jobs.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let Some((index, job)) = next.lock().expect("job queue").next() else {
                        return;
                    };
                    let report = back_up_one(&ctx, job, settings);
                    reports.lock().expect("reports").push((index, report));
                }
            });
        }
    });
    let mut reports = reports.into_inner().expect("reports");
    reports.sort_by_key(|(index, _)| *index);
    reports.into_iter().map(|(_, report)| report).collect()
}

fn back_up_one(ctx: &JobContext<'_>, job: &Job, settings: &RunSettings<'_>) -> VmReport {
    let begun = Instant::now();
    if let Some(log) = settings.status_log
        && let Err(error) = log.vm_begin(local_now(), job.kind, &job.name)
    {
        tracing::warn!(%error, "could not write the status log");
    }
    (settings.on_event)(&format!("{} of {}: begin", job.kind.as_str(), job.name));
    let outcome = if settings.cancel.is_cancelled() {
        Err((
            primary_step(job.kind),
            "interrupted before it started".to_owned(),
        ))
    } else {
        let progress = (settings.progress_for)(&job.name);
        run_job(ctx, job, Timestamp::now(), progress.as_ref())
            .map_err(|failure| (failure.step, chain(&failure.error)))
    };
    let mut report = VmReport {
        uuid: job.uuid.clone(),
        name: job.name.clone(),
        kind: job.kind.as_str().to_owned(),
        status: String::new(),
        status_line: String::new(),
        backup: None,
        bytes: 0,
        seconds: 0.0,
        error: None,
        warnings: Vec::new(),
        pruned: Vec::new(),
        result: VmResult {
            kind: job.kind,
            vm: job.name.clone(),
            outcome: VmOutcome::Success,
            elapsed: std::time::Duration::ZERO,
            size: 0,
            detail: None,
        },
    };
    match outcome {
        Ok(done) => {
            report.backup = Some(done.path);
            report.bytes = done.bytes;
            report.warnings = done.warnings;
            prune_after_success(ctx, job, &mut report);
        }
        Err((step, error)) => {
            report.result.outcome = VmOutcome::Failed(step);
            report.error = Some(error);
        }
    }
    finish_report(&mut report, begun);
    if let Some(log) = settings.status_log
        && let Err(error) = log.vm_end(local_now(), &report.result)
    {
        tracing::warn!(%error, "could not write the status log");
    }
    let detail = report
        .error
        .as_deref()
        .map(|e| format!(" ({e})"))
        .unwrap_or_default();
    (settings.on_event)(&format!(
        "{} of {}: {}{detail}",
        job.kind.as_str(),
        job.name,
        report.status_line
    ));
    report
}

/// Retention runs only once the new backup is complete, and never removes the newest one.
fn prune_after_success(ctx: &JobContext<'_>, job: &Job, report: &mut VmReport) {
    let config = ctx.config;
    let policy = config.policy_for(job.keep);
    match prune_vm_dir_in_pool(
        Some(ctx.session),
        &vm_dir(config, &job.name),
        &Layout::Own,
        &policy,
        Timestamp::now(),
        false,
    ) {
        Ok(pruned) => report.pruned = pruned.applied.removed,
        Err(error) => report
            .warnings
            .push(format!("retention: {}", chain(&error))),
    }
}

fn finish_report(report: &mut VmReport, begun: Instant) {
    if report.error.is_none() && !report.warnings.is_empty() {
        report.result.outcome = VmOutcome::Warning;
    }
    report.result.elapsed = begun.elapsed();
    report.result.size = report.bytes;
    report.result.detail = report
        .error
        .clone()
        .or_else(|| (!report.warnings.is_empty()).then(|| report.warnings.join("; ")));
    report.seconds = report.result.elapsed.as_secs_f64();
    match report.result.outcome {
        VmOutcome::Success => "success",
        VmOutcome::Warning => "warning",
        VmOutcome::Failed(_) => "failed",
    }
    .clone_into(&mut report.status);
    report.status_line = report.result.end_status();
}

/// The failure word of a job that never ran.
fn primary_step(kind: JobKind) -> Failure {
    match kind {
        JobKind::VmExport => Failure::VmExport,
        JobKind::VdiExport => Failure::VdiExport,
        JobKind::MetadataExport => Failure::MetadataExport,
        JobKind::SkeletonExport => Failure::SkeletonBuild,
        JobKind::BackupSrExport => Failure::BackupSrCopy,
    }
}
