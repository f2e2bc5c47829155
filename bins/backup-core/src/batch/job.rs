//! What a platform implements: a [`Job`] backs up one item (a VM, a volume) and is handed
//! a [`JobContext`] by the runner.

use std::fmt;
use std::path::PathBuf;
use std::sync::Mutex;

use disk_image::Progress;
use jiff::Timestamp;
use tracing::Span;

use super::cancel::Cancel;
use super::clock::Clock;

/// A job's error, whatever the platform's error type.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One item's backup (a VM, a volume), as a platform does it. See the [module
/// docs](crate::batch) for an example.
///
/// `run` does the platform's steps (snapshot, stream through [`save`](super::save),
/// metadata, cleanup guards), writes the files into a store partial backup, publishes it,
/// and says what it published; the runner reports it and runs retention after it.
pub trait Job: Sync {
    /// The platform's kinds of backup (`vm-export`, `raw-image`, …), shown in events.
    type Kind: Copy + fmt::Debug + fmt::Display + Send + Sync;
    /// The platform's steps, so that a failure says where it happened (NAUbackup's
    /// `SNAPSHOT-FAIL`, …).
    type Step: Copy + fmt::Debug + fmt::Display + Send + Sync;

    /// The item's name, as events and reports show it.
    fn name(&self) -> &str;

    /// The kind of backup.
    fn kind(&self) -> Self::Kind;

    /// Backs the item up. Called at most once per run, inside the job's span, from one of
    /// the runner's worker threads; not called at all when the run was cancelled before
    /// the job's turn.
    fn run(&self, cx: &JobContext<'_>) -> Result<Published, Failed<Self::Step>>;
}

/// A backup a job published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// Its directory, as the store published it.
    pub backup: PathBuf,
    /// Bytes stored.
    pub bytes: u64,
}

/// A failed job: the step that failed and why.
#[derive(Debug)]
pub struct Failed<S> {
    /// Which step failed.
    pub step: S,
    /// Why.
    pub error: BoxError,
}

impl<S> Failed<S> {
    /// A failure of `step`.
    pub fn new(step: S, error: impl Into<BoxError>) -> Self {
        Failed {
            step,
            error: error.into(),
        }
    }
}

/// Attaches the failing step to an error: `snapshot(…).at(Step::Snapshot)?`.
pub trait AtStep<T> {
    /// `Err(e)` becomes `Err(Failed { step, error: e })`.
    fn at<S>(self, step: S) -> Result<T, Failed<S>>;
}

impl<T, E: Into<BoxError>> AtStep<T> for Result<T, E> {
    fn at<S>(self, step: S) -> Result<T, Failed<S>> {
        self.map_err(|error| Failed::new(step, error))
    }
}

/// What a job tells the runner while it runs; the runner turns each into a
/// [`RunEvent`](super::RunEvent) naming the job.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Note<'a> {
    DiskStarted { disk: &'a str, size: Option<u64> },
    DiskFinished { disk: &'a str, bytes: u64 },
    Warning(&'a str),
}

/// What a job gets from the runner: the stop flag, the clock and the run's start, a
/// progress reporter, its tracing span, and the way to report disks and warnings.
pub struct JobContext<'a> {
    pub(crate) start: Timestamp,
    pub(crate) cancel: &'a Cancel,
    pub(crate) clock: &'a dyn Clock,
    pub(crate) progress: &'a dyn Progress,
    pub(crate) span: &'a Span,
    pub(crate) notes: &'a (dyn Fn(Note<'_>) + Sync),
    pub(crate) warnings: Mutex<Vec<String>>,
}

impl JobContext<'_> {
    /// When the job started, by the run's clock: it names the backup.
    pub fn start(&self) -> Timestamp {
        self.start
    }

    /// The run's stop flag: check it between steps and pass it to [`save`](super::save).
    pub fn cancel(&self) -> &Cancel {
        self.cancel
    }

    /// The run's clock (for the manifest's end time, the age of leftovers).
    pub fn clock(&self) -> &dyn Clock {
        self.clock
    }

    /// Where this job's transfer progress goes.
    pub fn progress(&self) -> &dyn Progress {
        self.progress
    }

    /// The job's span (`job{name kind}`), already entered: record fields on it or make
    /// child spans under it.
    pub fn span(&self) -> &Span {
        self.span
    }

    /// Something went wrong without spoiling the backup (a snapshot left behind): the
    /// runner reports it as a warning event and in the job's report.
    pub fn warn(&self, text: impl Into<String>) {
        let text = text.into();
        tracing::info!("{text}");
        (self.notes)(Note::Warning(&text));
        self.warnings.lock().expect("warnings").push(text);
    }

    /// Starts one disk (or volume image) of the job: a span `disk{disk}` entered until the
    /// returned guard goes, and a disk-started event; [`Disk::finish`] sends the
    /// disk-finished event.
    pub fn disk<'c>(&'c self, disk: &'c str, size: Option<u64>) -> Disk<'c> {
        let entered = tracing::info_span!(parent: self.span, "disk", disk).entered();
        (self.notes)(Note::DiskStarted { disk, size });
        Disk {
            cx: self,
            name: disk,
            _entered: entered,
        }
    }
}

/// One disk of a job under way (see [`JobContext::disk`]).
pub struct Disk<'c> {
    cx: &'c JobContext<'c>,
    name: &'c str,
    _entered: tracing::span::EnteredSpan,
}

impl Disk<'_> {
    /// The disk is saved, `bytes` of it stored.
    pub fn finish(self, bytes: u64) {
        (self.cx.notes)(Note::DiskFinished {
            disk: self.name,
            bytes,
        });
    }
}
