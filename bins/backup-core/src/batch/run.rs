//! The run loop: every job, several at once, each in its own span; retention after each
//! success; one report per job, in the jobs' order. One job failing never stops the others;
//! a cancelled run reports the jobs it did not start as [`Outcome::Cancelled`].

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use disk_image::Progress;

use super::cancel::Cancel;
use super::clock::{Clock, elapsed};
use super::events::{EventKind, JobReport, Outcome, RunEvent};
use super::job::{BoxError, Job, JobContext, Note};
use crate::store::chain;

/// The report of one job of `J`.
pub type ReportOf<J> = JobReport<<J as Job>::Kind, <J as Job>::Step>;

/// An event about one job of `J`.
pub type EventOf<'a, J> = RunEvent<'a, <J as Job>::Kind, <J as Job>::Step>;

/// What runs after a job's backup is published: the platform's retention (plan and
/// prune the item's older backups). Its error becomes a warning of the job.
pub trait Retention<J>: Sync {
    /// Prunes after `job` published `backup`; returns the backups removed.
    fn after_success(&self, job: &J, backup: &Path) -> Result<Vec<PathBuf>, BoxError>;
}

impl<J, F> Retention<J> for F
where
    F: Fn(&J, &Path) -> Result<Vec<PathBuf>, BoxError> + Sync,
{
    fn after_success(&self, job: &J, backup: &Path) -> Result<Vec<PathBuf>, BoxError> {
        self(job, backup)
    }
}

/// How to run a batch of `J`s.
pub struct Batch<'a, J: Job> {
    /// Jobs run at once (fewer when there are fewer jobs).
    pub concurrency: NonZeroUsize,
    /// The stop flag (set by Ctrl-C / SIGTERM).
    pub cancel: &'a Cancel,
    /// Where the run reads the time.
    pub clock: &'a dyn Clock,
    /// A progress reporter for one job's transfers.
    pub progress: &'a (dyn Fn(&J) -> Box<dyn Progress> + Sync),
    /// Receives every event, from the worker threads, in order per job.
    pub events: &'a (dyn Fn(&EventOf<'_, J>) + Sync),
    /// Run after each success; `None`: keep everything.
    pub retention: Option<&'a dyn Retention<J>>,
}

/// Runs every job; returns a report per job, in the jobs' order. Jobs are taken in order
/// by `concurrency` worker threads; a job that fails is reported and the others go on; once
/// the stop flag is set, the jobs not started yet are reported as cancelled without
/// running. A job that panics ends the run with its panic, after the other workers finish
/// their current job (the guards of the panicking job clean up as it unwinds).
pub fn run_batch<J: Job>(jobs: &[J], batch: &Batch<'_, J>) -> Vec<ReportOf<J>> {
    let next = Mutex::new(jobs.iter().enumerate());
    let reports = Mutex::new(Vec::with_capacity(jobs.len()));
    let workers = batch.concurrency.get().min(jobs.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let Some((index, job)) = next.lock().expect("job queue").next() else {
                        return;
                    };
                    let report = run_one(index, job, batch);
                    reports.lock().expect("reports").push(report);
                }
            });
        }
    });
    let mut reports = reports.into_inner().expect("reports");
    reports.sort_by_key(|report| report.index);
    reports
}

/// One job, in its span: started, run (unless cancelled), retention, finished. Its own
/// log lines are `info`: the events are what a platform shows by default.
fn run_one<J: Job>(index: usize, job: &J, batch: &Batch<'_, J>) -> ReportOf<J> {
    let name = job.name();
    let kind = job.kind();
    let span = tracing::info_span!("job", job = name, kind = %kind);
    let _entered = span.enter();
    let send = |what: EventKind<'_, J::Kind, J::Step>| {
        (batch.events)(&RunEvent {
            at: batch.clock.now(),
            index,
            name,
            kind,
            what,
        });
    };
    let started = batch.clock.now();
    send(EventKind::Started);
    let (outcome, mut warnings) = if batch.cancel.is_cancelled() {
        tracing::info!("not started: the run was cancelled");
        (Outcome::Cancelled, Vec::new())
    } else {
        let progress = (batch.progress)(job);
        let notes = |note: Note<'_>| {
            send(match note {
                Note::DiskStarted { disk, size } => EventKind::DiskStarted { disk, size },
                Note::DiskFinished { disk, bytes } => EventKind::DiskFinished { disk, bytes },
                Note::Warning(text) => EventKind::Warning(text),
            });
        };
        let cx = JobContext {
            start: started,
            cancel: batch.cancel,
            clock: batch.clock,
            progress: progress.as_ref(),
            span: &span,
            notes: &notes,
            warnings: Mutex::new(Vec::new()),
        };
        let outcome = match job.run(&cx) {
            Ok(published) => Outcome::Published(published),
            Err(failed) => {
                let error = chain(failed.error.as_ref());
                tracing::info!(step = %failed.step, error, "failed");
                Outcome::Failed {
                    step: failed.step,
                    error,
                }
            }
        };
        (outcome, cx.warnings.into_inner().expect("warnings"))
    };
    let mut pruned = Vec::new();
    if let (Outcome::Published(published), Some(retention)) = (&outcome, batch.retention) {
        match retention.after_success(job, &published.backup) {
            Ok(removed) => {
                if !removed.is_empty() {
                    send(EventKind::Pruned(&removed));
                }
                pruned = removed;
            }
            Err(error) => {
                let text = format!("retention: {}", chain(error.as_ref()));
                tracing::info!("{text}");
                send(EventKind::Warning(&text));
                warnings.push(text);
            }
        }
    }
    let report = JobReport {
        index,
        name: name.to_owned(),
        kind,
        outcome,
        warnings,
        pruned,
        started,
        elapsed: elapsed(started, batch.clock.now()),
    };
    send(EventKind::Finished(&report));
    report
}
