//! XenServer / XCP-ng API (XAPI) for Rust.
//!
//! This crate speaks XAPI's wire formats and, with the `client` feature, talks to XAPI hosts.
//! Its layers:
//!
//! - [`rpc`]: the XML-RPC value tree, its encoding exactly as XAPI writes it (strings and
//!   64-bit ints as bare text, `<boolean>`, `dateTime.iso8601`), parsing with XAPI's
//!   leniencies, XAPI's `Status` / `Value` / `ErrorDescription` envelope, and a serde bridge
//!   (`to_value` / `from_value`). With the `json` feature, `rpc::json` maps the same tree
//!   onto JSON-RPC. Pure, no I/O.
//! - [`records`]: typed records (`VmRecord`, `VdiRecord`, …) that read what any XAPI version
//!   sends and write every field an importer requires. An XVA's `ova.xml` holds the same
//!   records, which is why the `disk-image` crate builds on this one.
//! - With `client`: a `Transport` trait (XML-RPC and JSON-RPC over HTTP(S)), a
//!   `Session` (login that follows `HOST_IS_SLAVE`, one re-login on `SESSION_INVALID`,
//!   logout on drop), typed calls per class (`session.vm()`, `session.vdi()`, …), `Async.*`
//!   calls and task waits that always have a deadline, changed-block bitmaps, and HTTP
//!   transfers as streams (`Download`, `Upload`, `Import`), all over rustls with
//!   system roots, a CA file or a pinned certificate fingerprint (`TlsTrust`).
//!
//! The codec alone:
//!
//! ```
//! use xenapi::records::VmRecord;
//! use xenapi::rpc::{decode_value, encode_value, from_value, to_value};
//!
//! let vm = VmRecord { name_label: "web".into(), memory_static_max: 1 << 30, ..VmRecord::default() };
//! let xml = encode_value(&to_value(&vm)?);
//! assert!(xml.contains("<member><name>memory_static_max</name><value>1073741824</value>"));
//! let back: VmRecord = from_value(decode_value(&xml)?)?;
//! assert_eq!(back, vm);
//! # Ok::<(), xenapi::rpc::CodecError>(())
//! ```
//!
//! A backup of a VM, with the `client` feature: log in (trusting the host's self-signed
//! certificate by its fingerprint), snapshot, stream the snapshot's XVA into a file, check
//! the export's task, and destroy the snapshot.
//!
#![cfg_attr(feature = "client", doc = "```no_run")]
#![cfg_attr(not(feature = "client"), doc = "```ignore")]
//! use std::{fs::File, io, time::Duration};
//! use xenapi::{ExportOptions, Compression, Session, SessionOptions, TlsTrust};
//!
//! let options = SessionOptions {
//!     tls: TlsTrust::Pinned(vec!["9F:86:D0:81:88:4C:7D:65:9A:2F:EA:A0:C5:5A:D0:15:A3:BF:4F:1B:2B:0B:82:2C:D1:5D:6C:15:B0:F0:0A:08".parse()?]),
//!     ..SessionOptions::default()
//! };
//! let password = std::fs::read_to_string("/etc/vmbackup/password")?;
//! let session = Session::login("https://xs1.example.org", "root", password.trim(), options)?;
//!
//! let vm = session.vm().get_by_name_label("web")?.into_iter().next().expect("a VM named web");
//! let task = session.vm().snapshot_async(&vm, "backup")?;
//! let snapshot = session.wait_task(&task, Duration::from_secs(600))?.reference()?;
//!
//! let options = ExportOptions { compression: Compression::Zstd, ..ExportOptions::default() };
//! let mut download = session.export(&snapshot, &options)?;
//! io::copy(&mut download, &mut File::create("web.xva.zst")?)?;
//! download.finish()?; // the task's verdict, not the HTTP status
//!
//! session.vm().destroy(&snapshot)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Crate features
//!
//! - *(none, the default)*: the codec ([`rpc`]) and the [`records`]; depends only on
//!   quick-xml, serde and thiserror. `disk-image` uses this for `ova.xml`.
//! - `json`: `rpc::json`, the JSON-RPC mapping and documents (adds `serde_json`).
//! - `client`: everything that talks to a host: sessions, typed calls, tasks, changed
//!   blocks, transfers, TLS, and `guard` (snapshots and shutdowns as guards); adds
//!   `rustls` with the `ring` provider, `rustls-native-certs`, `sha2`, `base64` and
//!   `tracing`, and implies `json`. No async runtime.
//! - `dom0`: `dom0`, a host's dom0 over SSH / SFTP with its host key checked (uploads,
//!   remote files read as streams), for what XAPI does not offer and for plain Xen hosts
//!   (adds `ssh2`, which builds libssh2 and links the system's OpenSSL, `base64` and
//!   `tracing`). Independent of `client`.

#[cfg(feature = "client")]
pub mod api;
#[cfg(feature = "client")]
mod cbt;
#[cfg(feature = "dom0")]
pub mod dom0;
#[cfg(feature = "client")]
mod error;
#[cfg(feature = "client")]
pub mod guard;
#[cfg(feature = "client")]
mod http;
pub mod records;
pub mod rpc;
#[cfg(feature = "client")]
mod session;
#[cfg(feature = "client")]
mod tls;
#[cfg(feature = "client")]
mod transfer;
#[cfg(feature = "client")]
mod transport;
mod types;

#[cfg(feature = "client")]
pub use api::TaskOutcome;
#[cfg(feature = "client")]
pub use cbt::ChangedBlocks;
#[cfg(feature = "client")]
pub use error::{Result, XenApiError};
#[cfg(feature = "client")]
pub use http::{Connector, Endpoint, Scheme, Stop, Stopped, Timeouts, redact_credentials};
#[cfg(feature = "client")]
pub use session::{Credentials, Session, SessionOptions};
#[cfg(feature = "client")]
pub use tls::{Fingerprint, TlsTrust};
#[cfg(feature = "client")]
pub use transfer::{
    Compression, DiskFormat, Download, ExportOptions, Import, ImportOptions, Upload,
};
#[cfg(feature = "client")]
pub use transport::{JsonRpcTransport, Protocol, Reply, Transport, XmlRpcTransport};
pub use types::{DateTime, Ref};
