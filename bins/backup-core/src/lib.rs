//! The hypervisor-neutral backup engine shared by `vmbackup` (XenServer, oVirt) and
//! `lvmbackup` (a Xen host's logical volumes).
//!
//! - [`store`]: the backup directory format (layouts, the versioned manifest, partial
//!   directories published durably, the per-directory lock, scan, list, verify, prune);
//! - [`batch`]: the `Job`-driven run loop (concurrency, cancellation, typed run events,
//!   spans per VM and disk) and `save`, which streams, digests, compresses and verifies any
//!   source;
//! - [`mail`]: the e-mail report (a subject and a body, over SMTP).
//!
//! A platform adds itself by implementing [`batch::Job`]; nothing here knows XAPI, oVirt or
//! LVM.

pub mod batch;
pub mod mail;
pub mod store;
