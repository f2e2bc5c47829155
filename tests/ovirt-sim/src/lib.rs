//! `ovirt-sim`: a simulated oVirt engine for tests and demos. It speaks the REST API v4 (XML)
//! over real HTTPS with SSO, and its image transfers go through the REAL `ovirt-imageio`
//! daemon, which it starts on loopback and gives tickets as vdsm would.
//!
//! The engine has a data center and a cluster (`Default`), a host, two data storage
//! domains (`data1`, file: sparse raw allowed; `block1`, block: raw + sparse refused), the
//! `ovirtmgmt` network and its vNIC profile, users, tags, VMs with NICs and OVFs
//! (`all_content`), disks that are real sparse files or qcow2 images, snapshots that freeze
//! them under copy-on-write qcow2 overlays (merged back on removal), disk attachments, jobs
//! (`correlation_id`), image transfers and VM backups with checkpoints (qcow2 bitmaps, dirty
//! extents through qemu-nbd). Its asynchronous work behaves like the engine's: disks and
//! snapshots stay `locked` for a while, transfers pass through `initializing` and
//! `finalizing_*`, backups through `initializing` and `finalizing` ([`Timing`]).
//!
//! A backup appliance VM exists in the demo ([`APPLIANCE_VM`]): a disk (or the snapshot of
//! one) attached to it becomes a real loop device linked as
//! `<by-id dir>/virtio-<first 20 characters of the disk id>`.
//!
//! Tests turn fault knobs ([`Faults`]: a call failing or dropped, disks or snapshots stuck
//! `locked`, a finalize failing, a 401, appliance disks that never show up; and
//! [`Simulator::revoke_tickets`] for a ticket gone mid-transfer) and check with the
//! [`Audit`] that a client left nothing behind ([`Simulator::vm_names`] and
//! [`Simulator::disk_list`] for what a restore made). [`imageio`] is the harness for the real daemon, usable on its own.
//!
//! ```no_run
//! use ovirt_sim::{SimConfig, Simulator};
//!
//! let sim = Simulator::start(SimConfig::demo())?;
//! let (user, password) = sim.credentials();
//! println!("{} {user} {password} {}", sim.url(), sim.ca_file().display());
//! // … run a client against sim.url() …
//! assert!(sim.audit().is_clean(), "{}", sim.audit());
//! # Ok::<(), ovirt_sim::SimError>(())
//! ```

mod api;
mod appliance;
mod audit;
mod config;
mod demo;
mod engine;
mod error;
mod faults;
mod handle;
pub mod imageio;
mod model;
mod ovf;
mod server;
mod storage;
pub mod tools;
mod views;
mod xml;

pub use audit::{Audit, Leftover};
pub use config::{APPLIANCE_VM, SimConfig};
pub use engine::Timing;
pub use error::SimError;
pub use faults::{Call, Faults};
pub use handle::Simulator;

/// The API's path prefix.
pub(crate) const API: &str = "/ovirt-engine/api";
/// The id of the `Blank` template.
pub(crate) const BLANK_TEMPLATE: &str = "00000000-0000-0000-0000-000000000000";
/// The id of the admin user.
pub(crate) const ADMIN_USER_ID: &str = "fdfc627c-d875-11e0-90f0-83df133b58cc";
