//! One volume's backup, as a `backup-core` batch [`Job`]: wait `SNAPMOUNTDELAY`, snapshot
//! (a guard; a stale snapshot of ours is removed first, a volume that is not ours is never
//! touched), mount it read-only with its file system's options (a guard), check that the
//! mount point now shows the snapshot, archive, unmount, check that the snapshot did not
//! overflow while it was read, remove the snapshot, publish. An overflowed snapshot's
//! archive is discarded, never published; on every failure the partial archive is removed,
//! the mount and the snapshot go (guards), and the chain's state stays as it was.
//!
//! The snapshot is named as xenbackup names it, `<lv>.back`. A thin volume gets a thin
//! snapshot (no size; `SNAPSIZE` applies to the others).
//!
//! A volume in raw-image mode ([`crate::image`]) is not mounted: the snapshot's block
//! device is read whole into the image, then the same overflow check decides whether it is
//! published.

use std::collections::BTreeMap;
use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use backup_core::batch::{AtStep, Failed, Job, JobContext, Published};
use jiff::civil::Date;
use lvm_snap::{CommandRunner, Lvm, LvmError, Snapshot, SnapshotSize};

use crate::archive::{ArchiveRequest, GnuTar, Levels};
use crate::config::VolumeEntry;
use crate::error::LvmBackupError;
use crate::image::{ImageRequest, write_image};
use crate::naming::{ArchiveName, FileType, NameFormat, dir_name};
use crate::repository::{NextArchive, Repository};
use crate::schedule::MasterSchedule;

/// What every volume of a run shares.
#[derive(Debug)]
pub struct RunEnv<'a, R> {
    /// lvm2.
    pub lvm: &'a Lvm<R>,
    /// GNU tar.
    pub tar: GnuTar,
    /// Where the archives go.
    pub repository: Repository,
    /// `MNTSOURCEDIR`.
    pub mount_source_dir: PathBuf,
    /// `BM_TARBALL_NAMEFORMAT`.
    pub name_format: NameFormat,
    /// The archives' format.
    pub filetype: FileType,
    /// Levels of gzip and zstd.
    pub levels: Levels,
    /// The master days.
    pub schedule: MasterSchedule,
    /// `SNAPSIZE`.
    pub snapshot_size: SnapshotSize,
    /// `SNAPMOUNTDELAY`.
    pub mount_delay: Duration,
    /// The run's local date (names the archives).
    pub today: Date,
    /// One lock per volume group: a volume's job holds its group's for its whole run.
    pub group_locks: BTreeMap<String, Mutex<()>>,
}

/// The steps of a volume's backup, as failures name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Before the snapshot: the delay, today's archive, the mount point.
    Prepare,
    /// `lvcreate`.
    Snapshot,
    /// The read-only mount, and the check that the mount point shows it.
    Mount,
    /// GNU tar and the compressor.
    Archive,
    /// The unmount.
    Unmount,
    /// The snapshot's fill level after the read.
    OverflowCheck,
    /// The archive's rename, the state, the digest line.
    Publish,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Prepare => "prepare",
            Step::Snapshot => "snapshot",
            Step::Mount => "mount",
            Step::Archive => "archive",
            Step::Unmount => "unmount",
            Step::OverflowCheck => "overflow-check",
            Step::Publish => "publish",
        })
    }
}

/// The kind of backup a volume gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A GNU tar listed-incremental archive of the mounted snapshot.
    TarballIncremental,
    /// A raw image of the snapshot's blocks, of this file type (`.img` or `.img.zst`).
    RawImage(FileType),
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Method::TarballIncremental => f.write_str("tarball-incremental"),
            Method::RawImage(filetype) => write!(f, "raw-image ({filetype})"),
        }
    }
}

/// An event of a run of volume jobs.
pub type Event<'a> = backup_core::batch::RunEvent<'a, Method, Step>;

/// One volume of the list, to back up.
#[derive(Debug)]
pub struct VolumeJob<'a, R> {
    /// The volume.
    pub entry: VolumeEntry,
    /// `domU/part`, its name in reports.
    pub name: String,
    /// How it is backed up.
    pub method: Method,
    /// What the run shares.
    pub env: &'a RunEnv<'a, R>,
}

impl<'a, R> VolumeJob<'a, R> {
    /// The job of `entry`, backed up by `method`.
    pub fn new(entry: VolumeEntry, method: Method, env: &'a RunEnv<'a, R>) -> Self {
        VolumeJob {
            name: format!("{}/{}", entry.domu, entry.part),
            method,
            entry,
            env,
        }
    }

    /// The archives' file type: the run's tar type, or this volume's image type.
    fn filetype(&self) -> FileType {
        match self.method {
            Method::TarballIncremental => self.env.filetype,
            Method::RawImage(filetype) => filetype,
        }
    }

    /// Where its snapshot is mounted: `MNTSOURCEDIR/<domU>/<part>`.
    pub fn mount_point(&self) -> PathBuf {
        self.env
            .mount_source_dir
            .join(&self.entry.domu)
            .join(&self.entry.part)
    }

    /// The `<dir>` part of its archives' names.
    pub fn dir(&self) -> String {
        dir_name(&self.mount_point(), self.env.name_format)
    }
}

impl<R: CommandRunner + Sync> Job for VolumeJob<'_, R> {
    type Kind = Method;
    type Step = Step;

    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> Method {
        self.method
    }

    fn run(&self, cx: &JobContext<'_>) -> Result<Published, Failed<Step>> {
        let env = self.env;
        let entry = &self.entry;
        let _group = env.group_locks.get(entry.device.vg()).map(|lock| {
            // a panicking job of the group poisons it; its guards cleaned up as it unwound
            lock.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        });
        tracing::debug!(vg = entry.device.vg(), "volume group's turn");
        wait(env.mount_delay, cx).at(Step::Prepare)?;
        let (name, kind) = match env
            .repository
            .next_archive(&self.dir(), self.filetype(), env.schedule, env.today)
            .at(Step::Prepare)?
        {
            NextArchive::Make(name, kind) => (name, kind),
            NextArchive::AlreadyExists(path) => {
                cx.warn(format!(
                    "{} exists already: not made again (as backup-manager skips it)",
                    path.display()
                ));
                let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
                return Ok(Published {
                    backup: path,
                    bytes,
                });
            }
        };
        tracing::info!(archive = %name, kind = ?kind, "archiving");
        if let Method::RawImage(_) = self.method {
            return self.image(cx, &name);
        }
        let mount_point = self.mount_point();
        std::fs::create_dir_all(&mount_point)
            .map_err(LvmBackupError::io(format!(
                "creating {}",
                mount_point.display()
            )))
            .at(Step::Prepare)?;

        let snapshot = self.snapshot(cx)?;
        let mount = snapshot
            .mount(&mount_point, &entry.fstype, &entry.options)
            .at(Step::Mount)?;
        shows_snapshot(&mount_point, snapshot.volume().device_number).at(Step::Mount)?;

        cx.cancel().check().at(Step::Archive)?;
        let disk = cx.disk(&self.name, None);
        let pending = env
            .tar
            .create(&ArchiveRequest {
                repository: env.repository.root(),
                name: &name,
                source: &mount_point,
                levels: env.levels,
            })
            .at(Step::Archive)?;
        mount.unmount().at(Step::Unmount)?;
        checked_and_removed(snapshot, cx)?;
        let published = pending.publish().at(Step::Publish)?;
        disk.finish(published.bytes);
        tracing::info!(archive = %published.path.display(), bytes = published.bytes, md5 = %published.md5, "published");
        Ok(Published {
            backup: published.path,
            bytes: published.bytes,
        })
    }
}

impl<R: CommandRunner + Sync> VolumeJob<'_, R> {
    /// The snapshot of the volume (a guard), after a stale one of ours is removed.
    fn snapshot(&self, cx: &JobContext<'_>) -> Result<Snapshot<'_, R>, Failed<Step>> {
        let env = self.env;
        let entry = &self.entry;
        cx.cancel().check().at(Step::Snapshot)?;
        let origin = env
            .lvm
            .volume(&entry.device)
            .at(Step::Snapshot)?
            .ok_or_else(|| LvmError::NotFound {
                vg: entry.device.vg().to_owned(),
                lv: entry.device.lv().to_owned(),
            })
            .at(Step::Snapshot)?;
        let size = if origin.is_thin() {
            SnapshotSize::Thin
        } else {
            env.snapshot_size
        };
        let snapshot_name = format!("{}.back", entry.device.lv());
        let snapshot = env
            .lvm
            .snapshot(&entry.device, &snapshot_name, size)
            .at(Step::Snapshot)?;
        if let Some(stale) = snapshot.replaced() {
            cx.warn(stale_warning(snapshot.reference(), stale));
        }
        Ok(snapshot)
    }

    /// Raw-image mode: the snapshot's device read whole into the image (not mounted), the
    /// overflow check, the snapshot removed, the image published.
    fn image(&self, cx: &JobContext<'_>, name: &ArchiveName) -> Result<Published, Failed<Step>> {
        let env = self.env;
        let snapshot = self.snapshot(cx)?;
        let volume = snapshot.volume();
        let size = volume
            .origin_size
            .filter(|_| !volume.is_thin())
            .unwrap_or(volume.size);
        cx.cancel().check().at(Step::Archive)?;
        let disk = cx.disk(&self.name, Some(size));
        let device = snapshot.device();
        let pending = write_image(&ImageRequest {
            repository: env.repository.root(),
            name,
            volume: &self.entry.device.to_string(),
            device: &device,
            size,
            zstd_level: env.levels.zstd,
            zstd_threads: env.levels.zstd_threads,
            cancel: cx.cancel(),
            progress: cx.progress(),
        });
        let pending = match pending {
            Ok(pending) => pending,
            // an overflowed snapshot fails reads (EIO): say so rather than the read error
            Err(error) => {
                if let Err(LvmError::Overflowed { vg, lv, fill }) = snapshot.check_intact() {
                    return Err(LvmBackupError::Overflowed {
                        snapshot: format!("{vg}/{lv}"),
                        fill,
                    })
                    .at(Step::OverflowCheck);
                }
                return Err(error).at(Step::Archive);
            }
        };
        checked_and_removed(snapshot, cx)?;
        let bytes = pending.bytes();
        let (path, record) = pending.publish().at(Step::Publish)?;
        disk.finish(bytes);
        tracing::info!(image = %path.display(), bytes, size = record.size, digest = %record.digest.value, "published");
        Ok(Published {
            backup: path,
            bytes,
        })
    }
}

/// Fails if `snapshot` overflowed while it was read (the archive is then dropped, never
/// published), else removes it (a failure to remove it is a warning).
fn checked_and_removed<R: CommandRunner>(
    snapshot: Snapshot<'_, R>,
    cx: &JobContext<'_>,
) -> Result<(), Failed<Step>> {
    let fill = snapshot
        .check_intact()
        .map_err(|error| match error {
            LvmError::Overflowed { vg, lv, fill } => LvmBackupError::Overflowed {
                snapshot: format!("{vg}/{lv}"),
                fill,
            },
            other => other.into(),
        })
        .at(Step::OverflowCheck)?;
    tracing::info!(%fill, "snapshot intact after the read");
    if let Err(error) = snapshot.remove() {
        cx.warn(format!("could not remove the snapshot: {error}"));
    }
    Ok(())
}

/// The warning about a stale snapshot removed before the new one was made.
fn stale_warning(snapshot: &lvm_snap::VolumeRef, stale: &lvm_snap::Stale) -> String {
    let owner = stale
        .owner
        .as_ref()
        .map_or_else(|| "an unknown run".to_owned(), ToString::to_string);
    let unmounted = if stale.unmounted.is_empty() {
        String::new()
    } else {
        format!(", unmounted from {:?}", stale.unmounted)
    };
    format!(
        "removed a stale snapshot {snapshot} an interrupted run left (made by {owner}){unmounted}"
    )
}

/// Waits `delay`, or less if the run is cancelled.
fn wait(delay: Duration, cx: &JobContext<'_>) -> Result<(), backup_core::batch::Interrupted> {
    let until = Instant::now() + delay;
    while Instant::now() < until {
        cx.cancel().check()?;
        std::thread::sleep((until - Instant::now()).min(Duration::from_millis(100)));
    }
    cx.cancel().check()
}

/// Fails unless the file system at `mount_point` is the snapshot's device: nothing is
/// archived from a mount point that is not the snapshot.
fn shows_snapshot(mount_point: &Path, device: Option<(u32, u32)>) -> Result<(), LvmBackupError> {
    let metadata = std::fs::metadata(mount_point).map_err(LvmBackupError::io(format!(
        "reading {}",
        mount_point.display()
    )))?;
    let dev = metadata.dev();
    let got = (
        nix::sys::stat::major(dev) as u32,
        nix::sys::stat::minor(dev) as u32,
    );
    match device {
        Some(want) if want == got => Ok(()),
        Some(want) => Err(LvmBackupError::MountPoint {
            path: mount_point.to_owned(),
            problem: format!(
                "shows device {}:{}, not the snapshot's {}:{}",
                got.0, got.1, want.0, want.1
            ),
        }),
        None => Err(LvmBackupError::MountPoint {
            path: mount_point.to_owned(),
            problem: "lvm2 reported no device number for the snapshot".into(),
        }),
    }
}
