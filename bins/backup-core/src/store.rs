//! The backup store: the on-disk truth every backup tool shares.
//!
//! ```text
//! <backup_dir>/
//!   .vmbackup.lock                 the lock every command that changes the store takes
//!   <dir_name(vm)>/                one directory per VM (the safe-name mapping, `names`)
//!     2026-11-22T013005Z/          a complete backup: its files, `success`, manifest.json
//!     2026-11-22T013005Z.1/        a second backup started in the same second
//!     .partial-2026-11-23T013005Z/ a backup being written (never read as a backup)
//!     .deleting-2026-11-01T013005Z/ a removal a crash interrupted (the next prune ends it)
//!     backup-2019-09-05-(10:33:49)/ NAUbackup's layout, read too
//! ```
//!
//! - [`layout`]: the names on disk, ours and NAUbackup's ([`Layout`]);
//! - [`Manifest`]: the versioned, typed record of one backup (its words in [`words`]);
//! - [`PartialBackup`]: a backup being written, published durably ([`durable`]'s one fsync
//!   policy) or removed when dropped; [`FileMode`] for everything it creates;
//! - [`StoreLock`]: one process at a time changes a backup directory;
//! - [`digest`]: the digests a manifest records;
//! - [`scan_vm_dir`], [`list_backups`], [`verify_backup`]: reading the store;
//! - [`prune_vm_dir`]: retention's plan, a platform's [`PruneHook`], and the crash-safe
//!   [`apply`].
//!
//! Nothing here knows a hypervisor: a platform writes its files into a [`PartialBackup`]
//! and its own keys into the manifest ([`Manifest::extra`]).
//!
//! # Example
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use backup_core::store::{
//!     FileMode, Layout, MANIFEST_FORMAT, Manifest, ManifestSource, ManifestState, ManifestVm,
//!     NoHook, PartialBackup, StoreLock, dir_name, list_backups, prune_vm_dir, verify_backup,
//! };
//! use retention::{KeepCount, Policy};
//!
//! let store = tempfile::tempdir()?;
//! let _lock = StoreLock::acquire(store.path())?;
//! let vm_dir = store.path().join(dir_name("web/01"));
//! for start in ["2026-11-20T01:30:05Z", "2026-11-21T01:30:05Z"] {
//!     let backup = PartialBackup::create(&vm_dir, start.parse()?, FileMode::default())?;
//!     let manifest = Manifest {
//!         format: MANIFEST_FORMAT.to_owned(),
//!         state: ManifestState::Complete,
//!         created: start.to_owned(),
//!         finished: start.to_owned(),
//!         parent: None,
//!         tags: Vec::new(),
//!         kind: "example".to_owned(),
//!         vm: ManifestVm { uuid: "u1".into(), name: "web/01".into(), directory: dir_name("web/01") },
//!         source: ManifestSource { endpoint: "https://example".into(), host: "here".into() },
//!         tool: "doc".into(),
//!         files: Vec::new(),
//!         disks: Vec::new(),
//!         extra: serde_json::Map::new(),
//!     };
//!     backup.commit(&manifest)?;
//! }
//! let listed = list_backups(store.path())?;
//! assert_eq!(listed[0].vm, "web/01");
//! assert_eq!(listed[0].backups.len(), 2);
//! assert!(verify_backup(&vm_dir.join("2026-11-21T013005Z"))?.ok());
//!
//! let policy = Policy { keep_last: KeepCount::Count(1), ..Policy::default() };
//! let now = "2026-11-22T00:00:00Z".parse()?;
//! let pruned = prune_vm_dir(&vm_dir, &Layout::Own, &policy, now, false, &NoHook)?;
//! assert_eq!(pruned.applied.removed, [vm_dir.join("2026-11-20T013005Z")]);
//! # Ok(())
//! # }
//! ```

mod apply;
pub mod digest;
pub mod durable;
mod error;
pub mod layout;
mod listing;
mod lock;
mod manifest;
mod names;
mod partial;
mod prune;
mod scan;
pub mod verify;
pub mod words;

pub use apply::{ApplyReport, apply};
pub use error::{Result, StoreError, chain};
pub use layout::{Layout, MANIFEST_FILE, MANIFEST_FORMAT};
pub use listing::{
    ListedBackup, ListedState, VmBackups, backups_under, list_backups, list_simplebackup,
    list_vm_dir, list_vm_dir_in, simplebackup_vm_dirs,
};
pub use lock::{LOCK_FILE, StoreLock};
pub use manifest::{Extra, Manifest, ManifestDisk, ManifestFile, ManifestSource, ManifestVm};
pub use names::{MAX_DIR_NAME_BYTES, POOL_DB_DIR_PREFIX, dir_name, vm_name_of_dir};
pub use partial::{FileMode, PartialBackup};
pub use prune::{NoHook, PruneHook, Pruned, prune_vm_dir};
pub use scan::{Damaged, Ignored, ScannedDir, scan_vm_dir};
pub use verify::{BackupCheck, verify_backup};
pub use words::{DigestKind, FileRole, ManifestState, Recorded};
