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
//!     SaveOptions, Status, Structure, run_batch, save,
//! };
//! use backup_core::store::{
//!     DigestKind, FileMode, FileRole, MANIFEST_FORMAT, Manifest, ManifestFile, ManifestSource,
//!     ManifestState, ManifestVm, PartialBackup, Recorded, dir_name,
//! };
//! use disk_image::compress::{Codec, Compression};
//!
//! /// A logical volume's backup, as a second platform would write it.
//! struct VolumeJob {
//!     volume: String,
//!     store: PathBuf,
//! }
//!
//! /// Where a volume's backup can fail.
//! #[derive(Debug, Clone, Copy, PartialEq, Eq)]
//! enum Step { Snapshot, Stream, Publish }
//!
//! impl std::fmt::Display for Step {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
//!         f.write_str(match self {
//!             Step::Snapshot => "SNAPSHOT-FAIL",
//!             Step::Stream => "STREAM-FAIL",
//!             Step::Publish => "PUBLISH-FAIL",
//!         })
//!     }
//! }
//!
//! impl Job for VolumeJob {
//!     type Kind = &'static str;
//!     type Step = Step;
//!
//!     fn name(&self) -> &str {
//!         &self.volume
//!     }
//!
//!     fn kind(&self) -> &'static str {
//!         "raw-image"
//!     }
//!
//!     fn run(&self, cx: &JobContext<'_>) -> Result<Published, Failed<Step>> {
//!         cx.cancel().check().at(Step::Snapshot)?;
//!         // … take the LVM snapshot here: a guard, removed on every path …
//!         let image: &[u8] = b"the snapshot's bytes";
//!         let dir = self.store.join(dir_name(&self.volume));
//!         let partial = PartialBackup::create(&dir, cx.start(), FileMode::default()).at(Step::Stream)?;
//!         let disk = cx.disk(&self.volume, Some(image.len() as u64));
//!         let options = SaveOptions {
//!             codec: Codec::None,
//!             digest: DigestKind::Xxh64,
//!             mode: partial.mode(),
//!             cancel: cx.cancel(),
//!             progress: cx.progress(),
//!         };
//!         let path = partial.file_path("image.raw").at(Step::Stream)?;
//!         let size = Some(image.len() as u64);
//!         let saved = save(image, size, &path, &self.volume, Structure::Raw { size }, &options)
//!             .at(Step::Stream)?;
//!         disk.finish(saved.digest.bytes);
//!         let bytes = saved.digest.bytes;
//!         let manifest = Manifest {
//!             format: MANIFEST_FORMAT.to_owned(),
//!             state: ManifestState::Complete,
//!             created: cx.start().to_string(),
//!             finished: cx.clock().now().to_string(),
//!             parent: None,
//!             tags: Vec::new(),
//!             kind: self.kind().to_owned(),
//!             vm: ManifestVm { uuid: String::new(), name: self.volume.clone(), directory: dir_name(&self.volume) },
//!             source: ManifestSource { endpoint: "lvm:vg0".into(), host: "dom0".into() },
//!             tool: "example".into(),
//!             files: vec![ManifestFile {
//!                 path: "image.raw".into(),
//!                 role: FileRole::Disk,
//!                 compression: Recorded::Known(Compression::None),
//!                 digest: saved.digest,
//!             }],
//!             disks: Vec::new(),
//!             extra: serde_json::Map::new(),
//!         };
//!         let backup = partial.commit(&manifest).at(Step::Publish)?;
//!         Ok(Published { backup, bytes })
//!     }
//! }
//!
//! let store = tempfile::tempdir()?;
//! let jobs = ["vg0/root", "vg0/home"].map(|volume| VolumeJob {
//!     volume: volume.to_owned(),
//!     store: store.path().to_path_buf(),
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
//! assert!(reports.iter().all(|r| r.status() == Status::Success), "{reports:?}");
//! assert_eq!(reports[1].name, "vg0/home");
//! assert!(reports[1].backup().unwrap().ends_with("2026-11-22T013005Z"));
//! assert_eq!(lines.lock().unwrap().len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The runner then sends [`RunEvent`]s (a job started, a disk started or finished, a warning,
//! older backups pruned, the job finished with its [`Outcome`]) and returns a [`JobReport`]
//! per job; a platform renders them (a status log, terminal lines, JSON). A
//! [`Retention`] given to [`Batch`] runs after each success only, with the new backup's
//! directory.

mod cancel;
mod clock;
mod events;
mod job;
mod run;
mod save;

pub use cancel::{Cancel, Interrupted};
pub use clock::{Clock, FixedClock, SystemClock};
pub use events::{EventKind, JobReport, Outcome, RunEvent, Status};
pub use job::{AtStep, BoxError, Disk, Failed, Job, JobContext, Published};
pub use run::{Batch, EventOf, ReportOf, Retention, run_batch};
pub use save::{SaveError, SaveOptions, SaveSink, Saved, Structure, create_file, save};

#[cfg(test)]
mod tests;
