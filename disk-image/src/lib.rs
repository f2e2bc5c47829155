//! Disk images as streams.
//!
//! (Crate overview written with the XVA, VHD and pipeline modules.)

mod atomic;
mod checksum;
pub mod chunks;
pub mod compress;
mod copy;
mod error;
mod progress;
mod sink;
mod source;
mod spec;
mod zero;

pub mod vhd;
pub mod xend;
pub mod xva;

pub use atomic::AtomicFile;
pub use checksum::ChecksumKind;
pub use copy::copy_disk;
pub use error::{DiskImageError, Result};
pub use progress::{NoProgress, Progress};
pub use sink::{DiskSink, RawFileSink, RawStreamSink};
pub use source::{DiskInput, FileDisk, PaddedDisk, RandomAccessDisk, SequentialDisk, StreamDisk};
pub use spec::{Actions, Boot, DiskSpec, Platform, VifSpec, VmSpec};
pub use zero::is_zero;
