//! A snapshot as a guard: made by [`crate::Lvm::snapshot`], removed by [`Snapshot::remove`]
//! (which reports failure) or, on every other path (an early `?`, a panic), by `Drop`, which
//! logs failure. Its read-only mounts borrow it, so it cannot be removed while mounted and
//! its mounts are dropped first.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::attr::Health;
use crate::error::{LvmError, Result};
use crate::lvm::{Lvm, Stale};
use crate::mount::ReadOnlyMount;
use crate::names::VolumeRef;
use crate::runner::CommandRunner;
use crate::volumes::LogicalVolume;

/// How big a snapshot is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotSize {
    /// A copy-on-write snapshot with this much space, in bytes (lvm2 rounds it up to whole
    /// extents; read [`Snapshot::volume`] for the size it got).
    Bytes(u64),
    /// A copy-on-write snapshot with this percentage (1-100) of the origin's size
    /// (`-l N%ORIGIN`; 100 can hold every block of the origin).
    PercentOfOrigin(u8),
    /// A thin snapshot of a thin volume: no size, it shares the thin pool.
    Thin,
}

impl SnapshotSize {
    pub(crate) fn lvcreate_args(self, target: &VolumeRef) -> Result<Vec<String>> {
        let invalid = |problem| LvmError::InvalidSize {
            snapshot: target.to_string(),
            problem,
        };
        Ok(match self {
            SnapshotSize::Bytes(0) => return Err(invalid("a snapshot size of 0 bytes")),
            SnapshotSize::Bytes(bytes) => vec!["-L".into(), format!("{bytes}b")],
            SnapshotSize::PercentOfOrigin(percent @ 1..=100) => {
                vec!["-l".into(), format!("{percent}%ORIGIN")]
            }
            SnapshotSize::PercentOfOrigin(_) => {
                return Err(invalid("a snapshot size outside 1-100% of the origin"));
            }
            // -kn: no activation-skip flag, so lvcreate activates it (lvmthin(7))
            SnapshotSize::Thin => vec!["-kn".into()],
        })
    }
}

/// How full a snapshot is.
#[derive(Debug, Clone, PartialEq)]
pub enum Fill {
    /// A copy-on-write snapshot: its own space.
    CopyOnWrite {
        /// Percent used (100 once it overflowed).
        percent: f64,
        /// It overflowed and was invalidated: reads fail.
        invalid: bool,
        /// A merge of it into its origin failed.
        merge_failed: bool,
    },
    /// A thin snapshot: the pool it shares.
    Thin {
        /// The thin pool.
        pool: String,
        /// Percent of the pool's data space used.
        pool_percent: f64,
        /// The pool's health.
        pool_health: Health,
    },
}

impl Fill {
    /// Whether the snapshot no longer holds the origin's state: an invalid or full
    /// copy-on-write snapshot, or a thin pool out of data space or failed.
    pub fn overflowed(&self) -> bool {
        match self {
            Fill::CopyOnWrite {
                percent,
                invalid,
                merge_failed,
            } => *invalid || *merge_failed || *percent >= 100.0,
            Fill::Thin {
                pool_percent,
                pool_health,
                ..
            } => {
                matches!(pool_health, Health::OutOfData | Health::Failed) || *pool_percent >= 100.0
            }
        }
    }
}

impl fmt::Display for Fill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fill::CopyOnWrite {
                percent,
                invalid,
                merge_failed,
            } => {
                write!(f, "{percent:.2}% of its copy-on-write space used")?;
                if *invalid {
                    write!(f, ", invalid")?;
                }
                if *merge_failed {
                    write!(f, ", merge failed")?;
                }
                Ok(())
            }
            Fill::Thin {
                pool,
                pool_percent,
                pool_health,
            } => {
                write!(f, "thin pool {pool} {pool_percent:.2}% full")?;
                if *pool_health != Health::Ok {
                    write!(f, ", pool health {pool_health:?}")?;
                }
                Ok(())
            }
        }
    }
}

/// A snapshot of ours, removed when dropped.
#[derive(Debug)]
pub struct Snapshot<'l, R: CommandRunner> {
    lvm: &'l Lvm<R>,
    reference: VolumeRef,
    origin: VolumeRef,
    volume: Option<LogicalVolume>,
    replaced: Option<Stale>,
    live: bool,
}

impl<'l, R: CommandRunner> Snapshot<'l, R> {
    pub(crate) fn new(
        lvm: &'l Lvm<R>,
        reference: VolumeRef,
        origin: VolumeRef,
        replaced: Option<Stale>,
    ) -> Self {
        Snapshot {
            lvm,
            reference,
            origin,
            volume: None,
            replaced,
            live: true,
        }
    }

    pub(crate) fn set_volume(&mut self, volume: LogicalVolume) {
        self.volume = Some(volume);
    }

    /// The snapshot (`vg/name`).
    pub fn reference(&self) -> &VolumeRef {
        &self.reference
    }

    /// Its origin.
    pub fn origin(&self) -> &VolumeRef {
        &self.origin
    }

    /// The snapshot as `lvs` reported it once made and active.
    pub fn volume(&self) -> &LogicalVolume {
        self.volume
            .as_ref()
            .expect("a handed-out snapshot has been read back")
    }

    /// Its block device.
    pub fn device(&self) -> PathBuf {
        self.volume().device()
    }

    /// The stale snapshot of ours it replaced, if there was one.
    pub fn replaced(&self) -> Option<&Stale> {
        self.replaced.as_ref()
    }

    /// How full it is now (for a thin snapshot: its pool).
    pub fn fill(&self) -> Result<Fill> {
        let volumes = self.lvm.volumes(self.reference.vg())?;
        let find = |name: &str| {
            volumes
                .iter()
                .find(|v| v.name == name)
                .ok_or_else(|| LvmError::NotFound {
                    vg: self.reference.vg().to_owned(),
                    lv: name.to_owned(),
                })
        };
        let snapshot = find(self.reference.lv())?;
        let missing = |field: &str| LvmError::Report {
            command: "lvs".into(),
            target: self.reference.to_string(),
            problem: format!("no {field} for an active snapshot"),
        };
        if snapshot.is_thin() {
            let pool_name = snapshot.pool.clone().ok_or_else(|| missing("pool_lv"))?;
            let pool = find(&pool_name)?;
            Ok(Fill::Thin {
                pool_percent: pool
                    .data_percent
                    .ok_or_else(|| missing("pool data_percent"))?,
                pool_health: pool.attr.health,
                pool: pool_name,
            })
        } else {
            Ok(Fill::CopyOnWrite {
                percent: snapshot
                    .snap_percent
                    .ok_or_else(|| missing("snap_percent"))?,
                invalid: snapshot.attr.invalid(),
                merge_failed: snapshot.attr.merge_failed(),
            })
        }
    }

    /// Its fill level, or [`LvmError::Overflowed`] if it no longer holds the origin's state.
    /// Check it after reading the snapshot: the copy-on-write space fills while it is read.
    pub fn check_intact(&self) -> Result<Fill> {
        let fill = self.fill()?;
        if fill.overflowed() {
            return Err(LvmError::Overflowed {
                vg: self.reference.vg().to_owned(),
                lv: self.reference.lv().to_owned(),
                fill: fill.to_string(),
            });
        }
        Ok(fill)
    }

    /// Mounts it read-only on `target` with the options for `fstype` (see
    /// [`crate::read_only_options`]). The mount borrows the snapshot: it is unmounted before
    /// the snapshot can be removed.
    pub fn mount(&self, target: &Path, fstype: &str, options: &str) -> Result<ReadOnlyMount<'_>> {
        ReadOnlyMount::new(&self.device(), target, fstype, options)
    }

    /// Removes it now, reporting failure.
    pub fn remove(mut self) -> Result<()> {
        self.live = false;
        self.lvm.remove(&self.reference)
    }
}

impl<R: CommandRunner> Drop for Snapshot<'_, R> {
    fn drop(&mut self) {
        if self.live
            && let Err(error) = self.lvm.remove(&self.reference)
        {
            tracing::error!(snapshot = %self.reference, %error, "could not remove a snapshot");
        }
    }
}
