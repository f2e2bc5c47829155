//! lvmbackup: LVM snapshot backups of a Xen host's guest volumes, compatible with xenbackup
//! (its `/etc/xenbackup.conf` and `/etc/xenback_vols`) and with the archives backup-manager
//! makes for it (names, GNU tar listed-incremental chains, `<prefix>-hashes.md5`), without
//! xenbackup's failure modes: every step's status is checked, a failed snapshot or mount
//! archives nothing, an overflowed snapshot's archive is not published, nothing of ours is
//! left behind, and retention never orphans an incremental.
//!
//! - [`config`]: the seed tools' files read as data (never sourced), and our TOML.
//! - [`naming`], [`schedule`]: backup-manager's archive names and master-day rule.
//! - [`archive`]: GNU tar's listed-incremental archive of a mounted snapshot, compressed,
//!   written under a temporary name and published with its state and digest ([`hashes`]).
//! - [`volume`]: one volume's backup as a `backup-core` batch `Job`; [`run`]: a whole run
//!   (priority, backup device, every volume, retention after each).
//! - [`repository`]: the archives as chains, and chain-aware retention (never orphans an
//!   incremental); [`restore`]: a chain extracted by GNU tar, and verification.
//! - [`device`], [`priority`]: the backup device mount and `nice` / `ionice`.
//!
//! What a volume's night looks like, without LVM (the pieces a run strings together):
//!
//! ```
//! use jiff::civil::{Weekday, date};
//! use lvmbackup::naming::{FileType, NameFormat, dir_name};
//! use lvmbackup::repository::{NextArchive, Repository};
//! use lvmbackup::schedule::{ArchiveKind, MasterReason, MasterSchedule};
//!
//! let repo_dir = tempfile::tempdir()?;
//! let repo = Repository::new(repo_dir.path(), "xenhost");
//! let dir = dir_name(std::path::Path::new("/4backup/mydomu1/root"), NameFormat::Long);
//! let saturday = MasterSchedule::Weekly(Weekday::Saturday);
//! // a first run on a Wednesday makes a full archive, named as backup-manager names it
//! let NextArchive::Make(name, kind) =
//!     repo.next_archive(&dir, FileType::TarGz, saturday, date(2026, 11, 18))?
//! else {
//!     unreachable!("an empty repository")
//! };
//! assert_eq!(kind, ArchiveKind::Master(MasterReason::NoState));
//! assert_eq!(name.file_name(), "xenhost-4backup-mydomu1-root.20261118.master.tar.gz");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod archive;
pub mod config;
pub mod device;
pub mod error;
pub mod hashes;
pub mod image;
pub mod naming;
pub mod priority;
pub mod repository;
pub mod restore;
pub mod run;
pub mod schedule;
pub mod volume;

pub use error::{ConfigError, LvmBackupError, Result};
