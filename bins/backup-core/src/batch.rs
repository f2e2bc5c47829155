//! The batch runner every platform's backups plug into: a [`Job`] per item (a VM, a
//! volume), run by [`run_batch`] several at once, with cancellation ([`Cancel`]), a clock
//! passed in ([`Clock`]), typed [`RunEvent`]s while it runs and a [`JobReport`] per job at
//! the end, in the jobs' order.
//!
//! # Adding a platform
//!
//! A platform (XenServer's XAPI exports, an oVirt image transfer, an LVM snapshot) adds
//! itself by implementing [`Job`] in its own crate; nothing here changes. Its `run` does the
//! platform's steps with their cleanup guards, streams each image through [`save`] (which
//! digests, compresses and checks it as it passes), writes everything into the store's
//! partial backup and publishes it. The runner gives it the stop flag, the run's start (which
//! names the backup), the clock, a progress reporter and its span (`job{job kind}`, and
//! `disk{disk}` under it through [`JobContext::disk`]), so that the lines of concurrent jobs
//! can be told apart.
//!
//! ```
//! use std::num::NonZeroUsize;
//! use std::path::PathBuf;
//! use backup_core::batch::{
//!     AtStep, Batch, Cancel, EventKind, Failed, FixedClock, Job, JobContext, Published,
//!     Status, run_batch,
//! };
//!
//! /// A logical volume's backup, as a second platform would write it.
//! struct VolumeJob {
//!     volume: String,
//!     backups: PathBuf,
//! }
//!
//! #[derive(Debug, Clone, Copy, PartialEq, Eq)]
//! enum Step { Snapshot, Stream }
//!
//! impl std::fmt::Display for Step {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
//!         f.write_str(match self { Step::Snapshot => "SNAPSHOT-FAIL", Step::Stream => "STREAM-FAIL" })
//!     }
//! }
//!
//! impl Job for VolumeJob {
//!     type Kind = &'static str;
//!     type Step = Step;
//!     fn name(&self) -> &str { &self.volume }
//!     fn kind(&self) -> &'static str { "raw-image" }
//!     fn run(&self, cx: &JobContext<'_>) -> Result<Published, Failed<Step>> {
//!         cx.cancel().check().at(Step::Snapshot)?;
//!         // … take the snapshot (a guard), then stream it through `save` …
//!         let disk = cx.disk(&self.volume, Some(4));
//!         let dir = self.backups.join(cx.start().strftime("%Y%m%dT%H%M%SZ").to_string());
//!         std::fs::create_dir_all(&dir).at(Step::Stream)?;
//!         std::fs::write(dir.join("image.raw"), b"data").at(Step::Stream)?;
//!         disk.finish(4);
//!         Ok(Published { backup: dir, bytes: 4 })
//!     }
//! }
//!
//! let root = tempfile::tempdir()?;
//! let jobs = ["vg0/root", "vg0/home"].map(|volume| VolumeJob {
//!     volume: volume.to_owned(),
//!     backups: root.path().join(volume),
//! });
//! let lines = std::sync::Mutex::new(Vec::new());
//! let reports = run_batch(&jobs, &Batch {
//!     concurrency: NonZeroUsize::new(2).unwrap(),
//!     cancel: &Cancel::new(),
//!     clock: &FixedClock("2026-11-22T01:30:05Z".parse()?),
//!     progress: &|_| Box::new(disk_image::NoProgress),
//!     events: &|event| {
//!         if let EventKind::Finished(report) = event.what {
//!             lines.lock().unwrap().push(format!("{}: {}", event.name, report.status().as_str()));
//!         }
//!     },
//!     retention: None,
//! });
//! assert!(reports.iter().all(|r| r.status() == Status::Success));
//! assert_eq!(reports[1].name, "vg0/home");
//! assert_eq!(lines.lock().unwrap().len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cancel;
mod clock;
mod events;
mod job;
mod run;

pub use cancel::{Cancel, Interrupted};
pub use clock::{Clock, FixedClock, SystemClock};
pub use events::{EventKind, JobReport, Outcome, RunEvent, Status, error_chain};
pub use job::{AtStep, BoxError, Disk, Failed, Job, JobContext, Published};
pub use run::{Batch, EventOf, ReportOf, Retention, run_batch};

#[cfg(test)]
mod tests;
