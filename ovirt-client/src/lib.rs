//! oVirt Engine REST API v4 client, and the ovirt-imageio data path.
//!
//! # Pieces
//!
//! - **[`Connection`]**: `https://ENGINE/ovirt-engine/api`, `Version: 4`, XML in and out,
//!   the official SDK's header set and query encoding; an SSO token (one re-login on 401,
//!   revoked on drop) or Basic auth; TLS by the engine's CA file, by the CA fetched from
//!   the engine's `pki-resource` and accepted only if it matches a pinned SHA-256
//!   fingerprint, or by the system roots ([`Trust`]); the engine's busy faults ("Disk is
//!   locked", "Related operation is currently in progress", 409) retried with backoff
//!   ([`RetryPolicy`]), bad arguments not. The password is the caller's (`&str`) and never
//!   shows in `Debug` output or logs.
//! - **Resources**, as methods of [`Connection`]: VMs (exact-name search, OVF with
//!   `all_content`, create empty or from an OVF, start / shutdown / stop / remove, NICs),
//!   clusters, storage domains, networks and vNIC profiles, disks (create floating, wait
//!   until `ok`), disk attachments (existing disk, snapshot of a disk, new disk; always
//!   `active`; deactivate; detach only), snapshots (no memory; the `active` one skipped;
//!   delete and wait until gone), jobs by `correlation_id`. Every wait has a deadline.
//! - **Image transfers as guards** ([`transfers`]): a [`Download`] is finalized on every
//!   path; an [`Upload`] is finalized on success and cancelled on failure, **which makes the
//!   engine delete the disk**.
//! - **VM backups** ([`backups`]): the incremental backup API, a [`VmBackup`] guard that
//!   always finalizes, checkpoints.
//! - **The data path** ([`imageio`]): `OPTIONS`, extents (`zero` and `dirty`), ranged `GET`s
//!   into a [`disk_image::DiskSink`], parallel `PUT`s from a [`disk_image::DiskInput`] (a raw
//!   file with its holes, a VHD, an XVA disk, an HTTP body), `PATCH` zero, one flush.
//! - **The platform's backup and restore steps**, each a guard-based operation a backup
//!   tool's job (vmbackup) or a migration (xen2ovirt) calls:
//!   - [`snapshot_backup`]: a snapshot without memory whose description marks it as ours
//!     with its owner ([`owner`]), waited until `ok` (deadline, stop flag), removed and
//!     awaited on every path; each disk downloaded through an image transfer of its disk
//!     snapshot (sparse, into any [`disk_image::DiskSink`]) or read on the backup appliance
//!     by serial ([`snapshot_backup::appliance`]); the VM's OVF and records ([`records`]);
//!   - [`sweep`]: what dead runs left (snapshots, their transfers and appliance
//!     attachments, half-built VMs and their floating disks), found by the owner mark,
//!     removed — only those;
//!   - [`restore`]: a new VM with given settings, NICs (MACs kept when asked) and disks
//!     (sparse where the domain allows), uploaded through imageio, removed if anything
//!     fails; its plan from a backup's records or from an OVF ([`ovf`]);
//!   - [`simplebackup`]: oVirtSimpleBackup's backup layout, listed and read (gzip, lzop,
//!     bzip2).
//! - **Wire types** ([`types`]): every object as one serde struct for reading and writing;
//!   unknown elements ignored, unknown enumeration values refused.
//!
//! Errors are one type, [`OvirtError`], carrying the request and the engine's fault
//! `reason` and `detail`, the SSO error, or the imageio daemon's explanation.
//!
//! # Design notes
//!
//! - HTTP is `reqwest` (blocking, rustls with the `ring` provider); certificates are
//!   verified by rustls against the chosen roots, never by code of this crate.
//! - The data path uses one HTTP connection per worker and bounded buffers, so memory is
//!   fixed (about 40 MiB with the defaults) whatever the image size, and the time follows
//!   the data: holes and zero extents are neither read nor sent.
//!
//! # Example: a VM as the engine describes it
//!
//! ```
//! use ovirt_client::types::{Vm, VmStatus};
//!
//! let body = r#"<vm href="/ovirt-engine/api/vms/123" id="123">
//!     <name>web</name><status>up</status><memory>2147483648</memory>
//!     <cpu><topology><cores>2</cores><sockets>1</sockets><threads>1</threads></topology></cpu>
//!     <something_new>ignored</something_new>
//! </vm>"#;
//! let vm: Vm = ovirt_client::xml::parse(body, "GET /vms/123")?;
//! assert_eq!(vm.name.as_deref(), Some("web"));
//! assert_eq!(vm.status, Some(VmStatus::Up));
//! assert!(ovirt_client::xml::parse::<Vm>("<vm><status>asleep</status></vm>", "GET").is_err());
//! # Ok::<(), ovirt_client::OvirtError>(())
//! ```
//!
//! # Example: back up a disk through an image transfer
//!
//! ```no_run
//! use std::time::Duration;
//! use disk_image::{NoProgress, RawFileSink};
//! use ovirt_client::imageio::TransferOptions;
//! use ovirt_client::{ConnectOptions, Connection, TransferSettings, Trust};
//!
//! let mut options = ConnectOptions::new("https://engine.example", "admin@internal");
//! options.trust = Trust::PinnedCa("AB:CD:…".parse()?);
//! let engine = Connection::connect(options, "password from a file")?;
//! let vm = engine.find_vm("web", true)?.expect("a VM named web");
//! let vm_id = vm.id.as_deref().unwrap();
//! let snapshot = engine.create_snapshot(vm_id, "backup", None, None)?;
//! let snapshot_id = snapshot.id.as_deref().unwrap();
//! engine.wait_snapshot_ok(vm_id, snapshot_id, Duration::from_secs(600))?;
//! for disk in engine.snapshot_disks(vm_id, snapshot_id)? {
//!     let out = std::fs::File::create(format!("{}.raw", disk.id.as_deref().unwrap()))?;
//!     let settings = TransferSettings { snapshot: disk.image_id.clone(), ..Default::default() };
//!     engine.download_disk(disk.id.as_deref().unwrap(), disk.provisioned_size.unwrap(),
//!         &mut RawFileSink::new(&out, "disk"), &TransferOptions::default(),
//!         &settings, &NoProgress)?;
//! }
//! engine.remove_snapshot(vm_id, snapshot_id, Duration::from_secs(600))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

//! # Example: the steps of a backup job
//!
//! ```no_run
//! use disk_image::{NoProgress, RawFileSink};
//! use ovirt_client::{BackupSettings, Connection, Owner, SnapshotBackup};
//!
//! # fn job(engine: &Connection, vm_id: &str) -> ovirt_client::Result<()> {
//! let owner = Owner::this_process("vmbackup");
//! let description = owner.describe("BU_20261201_225500", jiff::Timestamp::now());
//! let backup = SnapshotBackup::start(engine, vm_id, &description, &BackupSettings::default())?;
//! for (name, text) in backup.records().files()? {
//!     std::fs::write(name, text).expect("write a record");
//! }
//! for (n, disk) in backup.disks().iter().enumerate() {
//!     let file = std::fs::File::create(format!("Disk{}.img", n + 1)).expect("create");
//!     backup.download(disk, &mut RawFileSink::new(&file, &disk.name), &NoProgress)?;
//! }
//! backup.finish() // the snapshot deleted and awaited; dropping the backup does it too
//! # }
//! ```

mod attachments;
pub mod backups;
pub mod connection;
mod disks;
pub mod error;
pub mod imageio;
mod jobs;
pub mod ovf;
pub mod owner;
pub mod records;
pub mod restore;
pub mod simplebackup;
pub mod snapshot_backup;
mod snapshots;
pub mod sweep;
pub mod tls;
pub mod transfers;
pub mod types;
mod vms;
mod wait;
pub mod xml;

pub use backups::VmBackup;
pub use connection::{AuthMethod, ConnectOptions, Connection, PollPolicy, RetryPolicy};
pub use error::{OvirtError, Result};
pub use owner::{Mark, Owner};
pub use records::VmRecords;
pub use restore::{NewDisk, NewNic, RestoreChoices, RestorePlan, TargetDomain, VmBuild};
pub use snapshot_backup::{BackupSettings, SnapshotBackup, SnapshotDisk, StopFlag, VmSnapshot};
pub use sweep::{SweepReport, sweep_leftovers, sweep_unfinished_disks, sweep_unfinished_vms};
pub use tls::{Fingerprint, Trust};
pub use transfers::{Download, TransferSettings, Upload};
pub use vms::NewVm;
