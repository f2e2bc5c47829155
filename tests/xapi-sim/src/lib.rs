//! `xapi-sim`: a simulated XenServer / XCP-ng pool that speaks XAPI over real HTTP(S).
//!
//! It serves XML-RPC (`POST /`, `/RPC2`), JSON-RPC (`POST /jsonrpc`) and XAPI's HTTP
//! transfers (`/export`, `/export_metadata`, `/export_raw_vdi`, `/import`,
//! `/import_raw_vdi`, `/pool/xmldbdump`) with XAPI's semantics: snapshots are templates with
//! `is_a_snapshot`, disks hold real bytes in sparse files (a snapshot's disks share them
//! copy-on-write, as XAPI's do: a hard link, broken by the first write), exports are real
//! XVAs written by
//! disk-image, transfers answer `200` first and report through their task. A master and a
//! slave host listen on two loopback addresses at the same port (`127.0.0.1` and `127.0.0.2`),
//! as a pool's hosts do on 443: the slave answers logins with `HOST_IS_SLAVE` and the master's
//! address alone, and a client reaches the master on the port it already uses. Each port
//! accepts plain HTTP and TLS (a self-signed certificate, pinned by fingerprint). Records
//! carry every field of XAPI's datamodel, `allowed_operations` included.
//!
//! Tests turn fault knobs ([`Faults`], [`SimHandle::invalidate_sessions`],
//! [`SimHandle::swap_master`]) and check with the [`Audit`] that a client left nothing
//! behind.
//!
//! ```no_run
//! use xapi_sim::{SimConfig, Simulator};
//!
//! let sim = Simulator::start(SimConfig::demo())?;
//! let (user, password) = sim.credentials();
//! println!("{} {user} {password}", sim.url());
//! // … run a client against sim.url() …
//! assert!(sim.audit().is_clean(), "{}", sim.audit());
//! # Ok::<(), xapi_sim::SimError>(())
//! ```

mod audit;
mod config;
mod demo;
mod disks;
mod error;
mod faults;
mod handle;
mod http;
mod persist;
mod pool;
mod rpc;
mod shared;
mod transfer;

pub use audit::{Audit, Leftover};
pub use config::{DiskContents, NewDisk, NewVm, SimConfig};
pub use error::{Result, SimError, XapiError};
pub use faults::{Endpoint, Faults, TransferFault};
pub use handle::{SimHandle, Simulator};
pub use pool::CreatedVm;
pub use xenapi::Ref;
