//! XenServer / XCP-ng API (XAPI) for Rust.
//!
//! This crate speaks XAPI's wire formats. Its layers:
//!
//! - [`rpc`]: the XML-RPC value tree, its encoding exactly as XAPI writes it (strings and
//!   64-bit ints as bare text, `<boolean>`, `dateTime.iso8601`), parsing with XAPI's
//!   leniencies, and a serde bridge (`to_value` / `from_value`). Pure, no I/O.
//! - [`records`]: typed records (`VmRecord`, `VdiRecord`, …) that read what any XAPI version
//!   sends and write every field an importer requires. An XVA's `ova.xml` holds the same
//!   records, which is why the `disk-image` crate builds on this one.
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

pub mod records;
pub mod rpc;
mod types;

pub use types::{DateTime, Ref};
