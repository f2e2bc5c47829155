//! What a run says, as data: [`RunEvent`]s while it runs, one [`JobReport`] per job at its
//! end. A status log, a terminal's lines and a JSON report are renderings of these; nothing
//! here is prose to be parsed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;

use super::job::Published;

/// One thing that happened in a run, to one job.
#[derive(Debug, Clone, Copy)]
pub struct RunEvent<'a, K, S> {
    /// When, by the run's clock.
    pub at: Timestamp,
    /// The job's place in the list the run was given.
    pub index: usize,
    /// The job's item name.
    pub name: &'a str,
    /// The job's kind.
    pub kind: K,
    /// What happened.
    pub what: EventKind<'a, K, S>,
}

/// What a [`RunEvent`] says. Per job, in this order: `Started`, then any of `DiskStarted`,
/// `DiskFinished`, `Warning` as the job goes, `Pruned` after a success, and `Finished`
/// last.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum EventKind<'a, K, S> {
    /// The job's turn came (sent even when the run was cancelled before it: `Finished`
    /// then says [`Outcome::Cancelled`]).
    Started,
    /// A disk of the job started streaming; its size when known.
    DiskStarted {
        /// The disk's name.
        disk: &'a str,
        /// Its size in bytes.
        size: Option<u64>,
    },
    /// A disk was saved.
    DiskFinished {
        /// The disk's name.
        disk: &'a str,
        /// Bytes stored.
        bytes: u64,
    },
    /// Something to look at that did not spoil the backup.
    Warning(&'a str),
    /// Retention removed these older backups after the new one was published.
    Pruned(&'a [PathBuf]),
    /// The job ended; its report is final.
    Finished(&'a JobReport<K, S>),
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<S> {
    /// Its backup is published.
    Published(Published),
    /// It failed at `step`.
    Failed {
        /// The step that failed.
        step: S,
        /// The error and its causes on one line (`a: b: c`, [`chain`](crate::store::chain)).
        error: String,
    },
    /// The run was cancelled before the job's turn: it did not run.
    Cancelled,
}

/// A job's result in three words, as summaries count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Published, no warnings.
    Success,
    /// Published, with warnings.
    Warning,
    /// Failed or cancelled: no new backup.
    Failed,
}

impl Status {
    /// `success`, `warning` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Warning => "warning",
            Status::Failed => "failed",
        }
    }
}

/// One job's part in a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobReport<K, S> {
    /// The job's place in the list the run was given.
    pub index: usize,
    /// Its item name.
    pub name: String,
    /// Its kind.
    pub kind: K,
    /// How it ended.
    pub outcome: Outcome<S>,
    /// Warnings: the job's own, then retention's.
    pub warnings: Vec<String>,
    /// Older backups removed by retention after this job's success.
    pub pruned: Vec<PathBuf>,
    /// When its turn came, by the run's clock.
    pub started: Timestamp,
    /// How long it took, by the run's clock.
    pub elapsed: Duration,
}

impl<K, S> JobReport<K, S> {
    /// Success, warning or failed.
    pub fn status(&self) -> Status {
        match &self.outcome {
            Outcome::Published(_) if self.warnings.is_empty() => Status::Success,
            Outcome::Published(_) => Status::Warning,
            Outcome::Failed { .. } | Outcome::Cancelled => Status::Failed,
        }
    }

    /// The published backup's directory.
    pub fn backup(&self) -> Option<&Path> {
        match &self.outcome {
            Outcome::Published(published) => Some(&published.backup),
            _ => None,
        }
    }

    /// Bytes stored (0 unless published).
    pub fn bytes(&self) -> u64 {
        match &self.outcome {
            Outcome::Published(published) => published.bytes,
            _ => 0,
        }
    }
}
