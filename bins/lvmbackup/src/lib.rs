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
//! - [`image`]: raw-image mode (sparse `.img` or `.img.zst` of the unmounted snapshot, for
//!   file systems dom0 cannot mount), with its record (size, digest).
//! - [`device`], [`priority`]: the backup device mount and `nice` / `ionice`.
//!
//! Volumes run one after the other by default; `concurrency = N` in the settings runs
//! volumes of different volume groups at once, never two of one group ([`run`]).
//!
//! # Differences from backup-manager
//!
//! Compared with Debian's backup-manager 0.7.14 on the same directory, settings and nights
//! by `tests/integration/backup_manager.rs` (it runs both; each row it checks fails the test
//! if either side drifts):
//!
//! | | backup-manager | lvmbackup | checked |
//! |---|---|---|---|
//! | archive names, long and short formats, `.master` on the master day and on a first run | `<prefix><dir>.<YYYYMMDD>[.master].tar.gz` | the same | yes, every night |
//! | members of each archive (GNU tar `-t`) | `tar --listed-incremental … -p -c -z` | the same members in the same order (plus `--no-check-device`, `--one-file-system`: no change on one file system) | yes, every archive |
//! | files beside the archives | `<prefix><dir>.incremental.bin`, `<prefix>-hashes.md5` | the same names; md5 values differ (gzip in-process: the stream is not GNU gzip's byte for byte) | names yes |
//! | TTL purge | a master goes once a younger master exists; an incremental stays only if an older master stayed: it **orphans** incrementals (TTL 3 on Sunday the 29th: it removed the 25th's master and the 26th, kept the 27th that needs them) | whole chains: a master and every archive up to a kept incremental stay (that night: nothing removed) | yes, every night |
//! | when it purges | before building, once per run | after each volume's archive is published, that volume only | by the order of the run |
//! | digest lines of purged archives | kept (its list names every archive ever made) | removed with the archive | yes |
//! | archive file mode | 0600 (it runs under umask 0077) | the process's umask (0644 under umask 022) | yes |
//! | a failed tar | archive left on disk, not in the digest list | partial file removed, state unchanged | lvm-guest failures |
//! | `BM_ARCHIVE_PURGEDUPS` (identical archives become symlinks) | yes | never (every archive is a file) | no |
//! | raw images, zstd, calendar retention, concurrency per volume group | none | the TOML settings | — |
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
