//! A backup run: every selected VM as a XAPI [`Job`](backup_core::batch::Job) for
//! backup-core's runner, several at once if asked; NAUbackup's status log and the terminal's
//! lines rendered from its events; retention after each VM whose new backup is complete;
//! a report per VM for the JSON output, the e-mail report and the exit code. One VM failing
//! never stops the others.

use std::path::{Path, PathBuf};

use backup_core::batch::{BoxError, Cancel, Clock, EventKind, Outcome, SystemClock, run_batch};
use backup_core::store::Layout;
use disk_image::Progress;
use jiff::Timestamp;
use jiff::civil::DateTime;
use serde::Serialize;
use xenapi::Session;

use crate::config::Config;
use crate::inventory::Inventory;
use crate::jobs::{Pool, XapiJob, vm_dir};
use crate::prune::prune_vm_dir_in_pool;
use crate::selection::Job;
use crate::status_log::{StatusLog, VmEvent, VmJobReport, VmResult, error_of, local_time};

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
    /// Called with each human-readable line (a VM starting, ending), in order per VM.
    pub on_event: &'a (dyn Fn(&str) + Sync),
}

/// One VM's part in a run, as the JSON report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct VmReport {
    /// The VM's uuid.
    pub uuid: String,
    /// Its name.
    pub name: String,
    /// The kind of backup.
    pub kind: String,
    /// `success`, `warning` or `failed`.
    pub status: &'static str,
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

impl VmReport {
    /// The JSON rendering of `job`'s report.
    pub(crate) fn of(job: &Job, report: &VmJobReport) -> VmReport {
        let result = VmResult::of(report);
        VmReport {
            uuid: job.uuid.clone(),
            name: report.name.clone(),
            kind: report.kind.as_str().to_owned(),
            status: report.status().as_str(),
            status_line: result.end_status(),
            backup: report.backup().map(Path::to_path_buf),
            bytes: report.bytes(),
            seconds: report.elapsed.as_secs_f64(),
            error: error_of(report),
            warnings: report.warnings.clone(),
            pruned: report.pruned.clone(),
            result,
        }
    }
}

/// The local time now, as NAUbackup's logs show it.
pub fn local_now() -> DateTime {
    local_time(Timestamp::now())
}

pub use backup_core::store::chain;

/// Backs up every job's VM; returns a report per job, in the jobs' order.
pub fn run_jobs(
    session: &Session,
    inventory: &Inventory,
    jobs: &[Job],
    settings: &RunSettings<'_>,
) -> Vec<VmReport> {
    let clock = SystemClock;
    let pool = Pool {
        session,
        inventory,
        config: settings.config,
        host_name: settings.host_name,
    };
    let xapi_jobs: Vec<XapiJob<'_>> = jobs
        .iter()
        .map(|job| XapiJob { pool: &pool, job })
        .collect();
    let events = |event: &VmEvent<'_>| render(event, settings);
    let retention = |job: &XapiJob<'_>, _: &Path| -> Result<Vec<PathBuf>, BoxError> {
        retain(&pool, job.job, clock.now())
    };
    let reports = run_batch(
        &xapi_jobs,
        &backup_core::batch::Batch {
            concurrency: settings.config.concurrency,
            cancel: settings.cancel,
            clock: &clock,
            progress: &|job: &XapiJob<'_>| (settings.progress_for)(&job.job.name),
            events: &events,
            retention: Some(&retention),
        },
    );
    jobs.iter()
        .zip(&reports)
        .map(|(job, report)| VmReport::of(job, report))
        .collect()
}

/// The status log's records and the terminal's lines of one event.
pub(crate) fn render(event: &VmEvent<'_>, settings: &RunSettings<'_>) {
    if let Some(log) = settings.status_log
        && let Err(error) = log.record(event)
    {
        tracing::warn!(%error, "could not write the status log");
    }
    if let Some(line) = terminal_line(event) {
        (settings.on_event)(&line);
    }
}

/// VmBackup.py's progress line of an event, if it has one: `vm-export of web01: begin`,
/// `vm-export of web01: SUCCESS web01,elapse:2 size:1G`, or the failure words and the error.
fn terminal_line(event: &VmEvent<'_>) -> Option<String> {
    let prefix = format!("{} of {}", event.kind.as_str(), event.name);
    match event.what {
        EventKind::Started => Some(format!("{prefix}: begin")),
        EventKind::Finished(report) => {
            let detail = match &report.outcome {
                Outcome::Published(_) => String::new(),
                _ => format!(" ({})", error_of(report).unwrap_or_default()),
            };
            let line = VmResult::of(report).end_status();
            Some(format!("{prefix}: {line}{detail}"))
        }
        _ => None,
    }
}

/// Retention runs only once the new backup is complete, and never removes the newest one.
fn retain(pool: &Pool<'_>, job: &Job, now: Timestamp) -> Result<Vec<PathBuf>, BoxError> {
    let config = pool.config;
    let pruned = prune_vm_dir_in_pool(
        Some(pool.session),
        &vm_dir(config, &job.name),
        &Layout::Own,
        &config.policy_for(job.keep),
        now,
        false,
    )?;
    Ok(pruned.applied.removed)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use backup_core::batch::{EventKind, JobReport, Outcome, Published, RunEvent};
    use jiff::Timestamp;

    use super::*;
    use crate::config::JobKind;
    use crate::status_log::Failure;

    fn report(outcome: Outcome<Failure>) -> VmJobReport {
        JobReport {
            index: 0,
            name: "web01".into(),
            kind: JobKind::VdiExport,
            outcome,
            warnings: Vec::new(),
            pruned: Vec::new(),
            started: Timestamp::UNIX_EPOCH,
            elapsed: Duration::from_secs(130),
        }
    }

    fn line(what: EventKind<'_, JobKind, Failure>) -> Option<String> {
        terminal_line(&RunEvent {
            at: Timestamp::UNIX_EPOCH,
            index: 0,
            name: "web01",
            kind: JobKind::VdiExport,
            what,
        })
    }

    #[test]
    fn the_terminal_shows_each_vm_s_begin_and_end_as_vmbackup_py_did() {
        assert_eq!(
            line(EventKind::Started).as_deref(),
            Some("vdi-export of web01: begin")
        );
        let published = report(Outcome::Published(Published {
            backup: "/b/web01/x".into(),
            bytes: 2 << 30,
        }));
        assert_eq!(
            line(EventKind::Finished(&published)).as_deref(),
            Some("vdi-export of web01: SUCCESS web01,elapse:2 size:2G")
        );
        let failed = report(Outcome::Failed {
            step: Failure::VdiSnapshot,
            error: "no space".into(),
        });
        assert_eq!(
            line(EventKind::Finished(&failed)).as_deref(),
            Some("vdi-export of web01: VDI-SNAPSHOT-FAIL web01 (no space)")
        );
        let cancelled = report(Outcome::Cancelled);
        assert_eq!(
            line(EventKind::Finished(&cancelled)).as_deref(),
            Some("vdi-export of web01: VDI-EXPORT-FAIL web01 (interrupted before it started)")
        );
        assert_eq!(line(EventKind::Warning("w")), None);
    }

    #[test]
    fn the_json_report_keeps_its_fields() {
        let job = Job {
            uuid: "u1".into(),
            name: "web01".into(),
            kind: JobKind::VdiExport,
            keep: None,
            rule: crate::Location::CommandLine,
        };
        let failed = report(Outcome::Failed {
            step: Failure::VdiSnapshot,
            error: "no space".into(),
        });
        let json = serde_json::to_value(VmReport::of(&job, &failed)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "uuid": "u1", "name": "web01", "kind": "vdi-export", "status": "failed",
                "status_line": "VDI-SNAPSHOT-FAIL web01", "backup": null, "bytes": 0,
                "seconds": 130.0, "error": "no space", "warnings": [], "pruned": [],
            })
        );
    }
}
