//! XVA, XenServer's VM archive: what XAPI's `/export` writes and `/import` reads.
//!
//! # Format
//!
//! An XVA is a tar stream (V7 headers, no directories) holding, in this order:
//!
//! 1. `ova.xml`: one XML-RPC `<value>`, a struct with a `version` header (`xapi_major`,
//!    `xapi_minor`, `export_vsn = 2`, …) and `objects`, an array of `{class, id, snapshot}`
//!    where `snapshot` is the object's full XAPI record and every reference to another
//!    exported object is that object's id (`Ref:007`);
//! 2. for each disk whose data is carried, in **string order of its id**: chunks named
//!    `<id>/NNNNNNNN` (8 decimal digits, increasing), each immediately followed by its checksum
//!    member `<id>/NNNNNNNN.checksum` (SHA-1, 40 lower-case hex digits) or `.xxhash` (XXH64,
//!    16 upper-case hex digits), without newline;
//! 3. two 512-byte zero blocks.
//!
//! Chunks are 1 MiB; the last one of a disk is shorter when the size is not a multiple.
//! All-zero chunks may be left out, except the first and the last of each disk. XAPI's
//! importer places data sequentially (see [`XvaReader`]), reads each disk up to its
//! `virtual_size` from `ova.xml`, and desynchronises on chunks whose length is not a multiple
//! of 512, so every disk size must be one.
//!
//! # What [`write_xva`] writes
//!
//! Ids zero-padded to one width (`Ref:000`, `Ref:001`, …) so string order is numeric order;
//! `xapi_major = 1`, `xapi_minor = 3` (as XenServer 5.5 wrote, so every later XAPI imports
//! it); every field XAPI's importer requires, VM `parent` included (its absence triggers a
//! memory reset); 1 MiB chunks read, zero-checked and hashed on every core; SHA-1 checksums by
//! default, XXH64 on request; no keep-alive chunks.
//!
//! ```no_run
//! use disk_image::{DiskInput, DiskSpec, FileDisk, NoProgress, VmSpec, xva};
//!
//! let disk = FileDisk::open("disk.raw")?;
//! let mut spec = VmSpec::new("web");
//! spec.disks.push(DiskSpec { path: "disk.raw".into(), device: None, writable: true });
//! let mut out = std::fs::File::create("web.xva")?;
//! let summary = xva::write_xva(&spec, vec![DiskInput::Random(&disk)], &mut out, "web.xva",
//!                              &xva::XvaOptions::default(), &NoProgress)?;
//! println!("{} bytes", summary.archive_bytes);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod metadata;
mod ova;
mod reader;
mod tar;
mod verifier;
mod writer;

pub use metadata::{ExportVersion, XvaDisk, XvaMetadata, XvaObject};
pub use reader::{DiskReport, XvaReader};
pub use verifier::StreamVerifier;
pub use writer::{WrittenDisk, XvaOptions, XvaSummary, ova_xml, write_archive, write_xva};
