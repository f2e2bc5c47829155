//! vmbackup's oVirt platform (oVirtSimpleBackup's successor): the engine's connection, its
//! VMs as selection sees them, the per-VM [`Job`](backup_core::batch::Job), the two backup
//! layouts, and the manifest's oVirt record. The steps themselves are
//! `ovirt_client::snapshot_backup`'s; what both platforms share (selection, the batch
//! runner, the store, the status log, mail) is used as is.

pub mod connect;
pub mod manifest;

pub use connect::{connect, connect_options, ovirt_trust};
pub use manifest::{OVIRT_KIND, OvirtBackupRecord, OvirtDiskRecord, OvirtFields, RecordPaths};
