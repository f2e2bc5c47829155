//! vmbackup's oVirt platform (oVirtSimpleBackup's successor): the engine's connection
//! ([`connect`](mod@connect)), its VMs as selection sees them ([`inventory`]), the per-VM
//! [`Job`](backup_core::batch::Job) ([`job`]), the two backup layouts ([`layout`]), the run
//! with its sweep of dead runs' leftovers ([`run`]), and the manifest's oVirt record
//! ([`manifest`]). The steps themselves are `ovirt_client::snapshot_backup`'s; what both
//! platforms share (selection, the batch runner, the store, the status log, mail) is used
//! as is.

pub mod connect;
pub mod inventory;
pub mod job;
pub mod layout;
pub mod manifest;
pub mod run;

pub use connect::{connect, connect_options, ovirt_trust};
pub use manifest::{OVIRT_KIND, OvirtBackupRecord, OvirtDiskRecord, OvirtFields, RecordPaths};
