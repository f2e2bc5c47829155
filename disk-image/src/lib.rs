//! Disk images as streams: read a disk once, at disk speed, in bounded memory, and write it
//! out as an XVA, a VHD or a sparse raw image; read those back, verifying.
//!
//! # Pieces
//!
//! - **Sources.** [`FileDisk`] opens a file or block device (its size from the device, its
//!   data ranges from `SEEK_DATA` / `SEEK_HOLE`, so holes are never read);
//!   [`vhd::VhdDisk`] reads a VHD the same way; [`StreamDisk`] wraps any `Read` of known size
//!   (an HTTP body). All are [`RandomAccessDisk`]s or [`SequentialDisk`]s, handed to writers
//!   as a [`DiskInput`]. A streamed source in any order (a VHD as it streams) yields
//!   [`Piece`]s: data at an offset, or a zero range.
//! - **The chunk pipeline** ([`chunks`]): 1 MiB chunks read, zero-checked and hashed on
//!   every core, delivered in order to one consumer, with a fixed pool of buffers.
//! - **Writers.** [`xva::write_xva`] (a VM described by a `VmSpec`) and
//!   [`xva::write_archive`] (ready `ova.xml` records) write XenServer's VM archive;
//!   [`DiskSink`]s receive a disk front to back: [`RawFileSink`] (sparse), [`RawStreamSink`],
//!   [`vhd::DynamicVhdSink`], [`vhd::FixedVhdSink`]; [`copy_disk`] drives one from a source.
//! - **Readers.** [`xva::XvaReader`] streams an XVA (plain, gzip or zstd), places every disk's
//!   chunks exactly as XAPI's importer does, and verifies every checksum.
//! - **Pieces** ([`pieces`]): a disk read once from a stream handed on as data at offsets
//!   and zero ranges, in any block order: [`pieces::read_raw_pieces`] (a raw stream) and
//!   [`vhd::read_dynamic_pieces`] (a dynamic VHD as XAPI exports it, in one pass).
//! - **Around them.** [`compress`] (zstd on several threads, gzip; magic-byte detection),
//!   [`AtomicFile`] (output that appears only when complete), [`Progress`] (reporting without
//!   terminal code), `xend` (xend guest configurations read as data into a `VmSpec`; feature
//!   `xend`).
//!
//! Errors are one type, [`DiskImageError`], whose message names the file, the archive member
//! or the offset; the xend parser has its own, `xend::XendError`, naming the line.
//!
//! # Crate features
//!
//! - `xva` (default): [`xva`], XenServer's VM archive, and the [`VmSpec`] it is built from.
//!   It needs `xenapi`'s codec and records (without its client).
//! - `xend`: `xend`, xend / xl guest configurations read as data into a `VmSpec`.
//!
//! Without either (`default-features = false`), the crate is the streaming core: sources,
//! the chunk pipeline, raw and VHD, compression, checksums, [`AtomicFile`] and
//! [`Progress`], and does not compile the XAPI codec. A tool that only streams blocks
//! (lvmbackup, cli-common) depends on it that way.
//!
//! # Design notes
//!
//! - `ova.xml` is XAPI's own records in XAPI's own XML-RPC encoding, so this crate uses the
//!   `xenapi` crate without its client (`default-features = false`: codec and records only,
//!   no network stack): one definition of `VmRecord` & co. serves the API and the archive.
//! - The tar framing of XVAs is written by hand: an XVA is a narrow, exact subset of tar
//!   (plain files with fixed names, no extensions), and the reader must tell a complete
//!   archive from one cut at a member boundary. Everything else (zstd, gzip, SHA-1, XXH64,
//!   `SEEK_DATA`) comes from the usual crates.
//! - `xend` lives here, not in a binary, because a xend configuration is one more way to
//!   describe the `VmSpec` an XVA is built from, and more than one tool reads them.
//!
//! # Example: a raw disk into an XVA, and back
//!
//! ```
//! # #[cfg(feature = "xva")] {
//! use disk_image::xva::{XvaOptions, XvaReader, write_xva};
//! use disk_image::{DiskInput, DiskSpec, FileDisk, NoProgress, RawFileSink, VmSpec};
//! # use std::os::unix::fs::FileExt;
//!
//! let dir = tempfile::tempdir()?;
//! let raw = dir.path().join("disk.raw");
//! let file = std::fs::File::create(&raw)?;
//! file.set_len(64 << 20)?; // 64 MiB, sparse
//! file.write_all_at(b"boot sector", 0)?;
//!
//! let mut spec = VmSpec::new("web");
//! spec.disks.push(DiskSpec { path: raw.clone(), device: None, writable: true });
//! let disk = FileDisk::open(&raw)?;
//! let mut xva = Vec::new();
//! let summary = write_xva(&spec, vec![DiskInput::Random(&disk)], &mut xva, "web.xva",
//!                         &XvaOptions::default(), &NoProgress)?;
//! assert_eq!(summary.disks[0].chunks, 2); // the first and the last chunk only
//!
//! let mut reader = XvaReader::open(&xva[..], "web.xva")?;
//! assert_eq!(reader.metadata().vms[0].1.name_label, "web");
//! let copy = std::fs::File::create(dir.path().join("copy.raw"))?;
//! reader.read_disk(Some(&mut RawFileSink::new(&copy, "copy.raw")), true, &NoProgress)?;
//! reader.finish()?;
//! assert_eq!(copy.metadata()?.len(), 64 << 20);
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod atomic;
mod checksum;
pub mod chunks;
pub mod compress;
mod copy;
mod error;
mod format;
pub mod pieces;
mod progress;
mod read_full;
mod sink;
mod source;
#[cfg(any(feature = "xva", feature = "xend"))]
mod spec;
mod zero;

pub mod vhd;
pub mod writeback;
#[cfg(feature = "xenapi-wire")]
mod xenapi_wire;
#[cfg(feature = "xend")]
pub mod xend;
#[cfg(feature = "xva")]
pub mod xva;

pub use atomic::AtomicFile;
pub use checksum::ChecksumKind;
pub use copy::copy_disk;
pub use error::{DiskImageError, Result};
pub use format::{ImageFormat, UnknownName};
pub use pieces::{Piece, PieceError};
pub use progress::{NoProgress, Progress};
pub use read_full::read_full;
pub use sink::{DiskSink, RawFileSink, RawStreamSink};
pub use source::{DiskInput, FileDisk, PaddedDisk, RandomAccessDisk, SequentialDisk, StreamDisk};
#[cfg(any(feature = "xva", feature = "xend"))]
pub use spec::{Actions, Boot, DiskSpec, Platform, VifSpec, VmSpec};
pub use zero::is_zero;
