//! lvmbackup: LVM snapshot backups of a Xen host's guest volumes, compatible with xenbackup
//! (its `/etc/xenbackup.conf` and `/etc/xenback_vols`) and with the archives backup-manager
//! makes for it (names, GNU tar listed-incremental chains, `<prefix>-hashes.md5`), without
//! xenbackup's failure modes: every step's status is checked, a failed snapshot or mount
//! archives nothing, an overflowed snapshot's archive is not published, nothing of ours is
//! left behind, and retention never orphans an incremental.
//!
//! - [`config`]: the seed tools' files read as data (never sourced), and our TOML.
//! - [`naming`], [`schedule`]: backup-manager's archive names and master-day rule.

pub mod archive;
pub mod config;
pub mod device;
pub mod error;
pub mod hashes;
pub mod naming;
pub mod priority;
pub mod repository;
pub mod restore;
pub mod run;
pub mod schedule;
pub mod volume;

pub use error::{ConfigError, LvmBackupError, Result};
