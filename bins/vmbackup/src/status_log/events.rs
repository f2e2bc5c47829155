//! The status log and the results as renderings of backup-core's typed run events and
//! reports.

use backup_core::batch::{EventKind, JobReport, Outcome, RunEvent, Status};
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

use super::{Failure, StatusLog, VmOutcome, VmResult};
use crate::config::JobKind;
use crate::error::Result;

/// A report of one of vmbackup's jobs.
pub type VmJobReport = JobReport<JobKind, Failure>;

/// An event of one of vmbackup's jobs.
pub type VmEvent<'a> = RunEvent<'a, JobKind, Failure>;

/// What a job that never ran says in the status log and the report.
pub const NOT_STARTED: &str = "interrupted before it started";

/// The backup host's local time at `at`, as NAUbackup's logs show it.
pub fn local_time(at: Timestamp) -> DateTime {
    at.to_zoned(TimeZone::system()).datetime()
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Failure {
    /// The failure word of a job of `kind` that never ran (the run was cancelled first).
    pub fn not_started(kind: JobKind) -> Failure {
        match kind {
            JobKind::VmExport => Failure::VmExport,
            JobKind::VdiExport => Failure::VdiExport,
            JobKind::MetadataExport => Failure::MetadataExport,
            JobKind::SkeletonExport => Failure::SkeletonBuild,
            JobKind::BackupSrExport => Failure::BackupSrCopy,
        }
    }
}

impl VmResult {
    /// The result as the status log and the e-mail report show a job's report.
    pub fn of(report: &VmJobReport) -> VmResult {
        let outcome = match (&report.outcome, report.status()) {
            (Outcome::Failed { step, .. }, _) => VmOutcome::Failed(*step),
            (Outcome::Cancelled, _) => VmOutcome::Failed(Failure::not_started(report.kind)),
            (_, Status::Warning) => VmOutcome::Warning,
            _ => VmOutcome::Success,
        };
        VmResult {
            kind: report.kind,
            vm: report.name.clone(),
            outcome,
            elapsed: report.elapsed,
            size: report.bytes(),
            detail: error_of(report)
                .or_else(|| (!report.warnings.is_empty()).then(|| report.warnings.join("; "))),
        }
    }
}

/// The error of a job that failed or never ran.
pub fn error_of(report: &VmJobReport) -> Option<String> {
    match &report.outcome {
        Outcome::Failed { error, .. } => Some(error.clone()),
        Outcome::Cancelled => Some(NOT_STARTED.to_owned()),
        Outcome::Published(_) => None,
    }
}

impl StatusLog {
    /// Appends what `event` means to NAUbackup's log: a VM's begin record when its job
    /// starts, its end record when it finishes; nothing for the events in between.
    pub fn record(&self, event: &VmEvent<'_>) -> Result<()> {
        match event.what {
            EventKind::Started => self.vm_begin(local_time(event.at), event.kind, event.name),
            EventKind::Finished(report) => self.vm_end(local_time(event.at), &VmResult::of(report)),
            _ => Ok(()),
        }
    }
}
