//! Saving any stream into a backup file: compressed if asked, digested as stored, sparse
//! where possible, its structure checked as it passes (an XVA's checksums, a VHD's headers,
//! BAT and footer, a raw disk's length: a body that ends early while the host says it
//! succeeded is caught here, whatever the compression), and interruptible.
//!
//! The source is any [`Read`]: a XAPI `/export` download, an oVirt imageio transfer, an LVM
//! snapshot opened as a file. What only the source knows (a XAPI task's verdict, a transfer
//! to finalize) its platform checks after `save` returns.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use disk_image::compress::{Codec, CompressWriter};
use disk_image::vhd::VhdCheck;
use disk_image::writeback::WritebackFile;
use disk_image::{DiskImageError, DiskSink, Progress, RawFileSink};

use super::cancel::{Cancel, Interrupted};

mod sink;
use crate::store::digest::{DigestWriter, FileDigest};
use crate::store::{DigestKind, FileMode};
pub use sink::{SaveSink, create_file};

/// Why a stream could not be saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SaveError {
    /// Creating or writing the file failed.
    #[error("{action} `{}`", path.display())]
    Write {
        /// `creating`, `writing`, `finishing`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Reading the source failed.
    #[error("receiving `{label}`")]
    Receive {
        /// What was being received (the label given to [`save`]).
        label: String,
        /// The source's error.
        #[source]
        source: std::io::Error,
    },
    /// The stream is not the structure it should be (a bad XVA checksum, a cut VHD).
    #[error("verifying `{}`", path.display())]
    Structure {
        /// The file.
        path: PathBuf,
        /// What the check found.
        #[source]
        source: Box<DiskImageError>,
    },
    /// The stream has the right structure but not the size expected.
    #[error("`{}`: {problem}", path.display())]
    Size {
        /// The file.
        path: PathBuf,
        /// Received or found, against expected.
        problem: String,
    },
    /// The run was cancelled; the file is incomplete.
    #[error("interrupted")]
    Interrupted,
}

impl From<Interrupted> for SaveError {
    fn from(_: Interrupted) -> Self {
        SaveError::Interrupted
    }
}

/// What a stream is, so that its structure is checked as it streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Structure {
    /// A raw disk: stored sparse when not compressed; its structure is its length, checked
    /// against `size` when given.
    Raw {
        /// The disk's size in bytes.
        size: Option<u64>,
    },
    /// A VHD: headers, BAT and footer; its virtual size is checked against `size` when
    /// given, and returned in [`Saved::vhd_size`].
    Vhd {
        /// The disk's size in bytes.
        size: Option<u64>,
    },
    /// An XVA (XenServer's export): every chunk checksum and the archive's structure.
    #[cfg(feature = "xva")]
    Xva,
    /// Bytes with no structure checked here (an archive GNU tar writes, checked by its
    /// caller): stored as they come.
    Opaque,
}

/// How to store a stream.
#[derive(Clone, Copy)]
pub struct SaveOptions<'a> {
    /// Compression done here (the codec, its level and threads).
    pub codec: Codec,
    /// The digest recorded in the manifest.
    pub digest: DigestKind,
    /// The mode of the file.
    pub mode: FileMode,
    /// The run's stop flag.
    pub cancel: &'a Cancel,
    /// Where progress goes.
    pub progress: &'a dyn Progress,
}

/// What a saved stream amounted to.
#[derive(Debug, Clone)]
pub struct Saved {
    /// Digest of the file as stored.
    pub digest: FileDigest,
    /// Bytes read from the source.
    pub received: u64,
    /// The virtual size of a VHD, its structure checked.
    pub vhd_size: Option<u64>,
}

/// The checker of a [`Structure`], fed the bytes as received.
enum Checker {
    #[cfg(feature = "xva")]
    Xva(Box<disk_image::xva::StreamVerifier>),
    Vhd(Box<VhdCheck>),
    None,
}

impl Checker {
    fn new(structure: Structure, shown: &str) -> Self {
        match structure {
            #[cfg(feature = "xva")]
            Structure::Xva => Checker::Xva(Box::new(disk_image::xva::StreamVerifier::start(
                shown.to_owned(),
            ))),
            Structure::Vhd { .. } => Checker::Vhd(Box::new(VhdCheck::new(shown))),
            Structure::Raw { .. } | Structure::Opaque => Checker::None,
        }
    }

    fn feed(&mut self, block: &[u8]) -> Result<(), DiskImageError> {
        match self {
            #[cfg(feature = "xva")]
            Checker::Xva(verifier) => verifier.feed(block),
            Checker::Vhd(check) => check
                .write_all(block)
                .map_err(|e| DiskImageError::io("checking the VHD", e)),
            Checker::None => Ok(()),
        }
    }

    /// Ends the check: the virtual size of a VHD.
    fn finish(self) -> Result<Option<u64>, DiskImageError> {
        match self {
            #[cfg(feature = "xva")]
            Checker::Xva(verifier) => verifier.finish().map(|_| None),
            Checker::Vhd(check) => check.finish().map(Some),
            Checker::None => Ok(None),
        }
    }
}

/// Streams `reader` into the new file `path` (it must not exist), as `structure`; `label`
/// names it in progress and errors, `length` (when the source knows it) is the progress's
/// total. A raw disk saved without compression leaves its all-zero 4 KiB blocks as holes;
/// the digest covers every byte as stored.
pub fn save(
    reader: impl Read,
    length: Option<u64>,
    path: &Path,
    label: &str,
    structure: Structure,
    options: &SaveOptions<'_>,
) -> Result<Saved, SaveError> {
    let file = options
        .mode
        .create_new(path)
        .map_err(|source| write_error("creating", path, source))?;
    options.progress.start(label, length.unwrap_or(0));
    let saved = if matches!(structure, Structure::Raw { .. }) && options.codec == Codec::None {
        save_sparse(reader, &file, path, label, options)?
    } else {
        save_stream(reader, &file, path, label, structure, options)?
    };
    check_size(structure, path, &saved)?;
    options.progress.finish();
    Ok(saved)
}

fn save_stream(
    mut reader: impl Read,
    file: &File,
    path: &Path,
    label: &str,
    structure: Structure,
    options: &SaveOptions<'_>,
) -> Result<Saved, SaveError> {
    let shown = path.display().to_string();
    let mut checker = Checker::new(structure, &shown);
    let digesting = DigestWriter::new(
        BufWriter::with_capacity(1 << 20, WritebackFile::new(file)),
        options.digest,
    );
    let mut out = CompressWriter::new(digesting, options.codec)
        .map_err(|source| write_error("writing", path, source))?;
    let received = pump(&mut reader, label, options, &mut |block| {
        checker
            .feed(block)
            .map_err(|source| structure_error(path, source))?;
        out.write_all(block)
            .map_err(|source| write_error("writing", path, source))
    })?;
    let (buffered, digest) = out
        .finish()
        .map_err(|source| write_error("writing", path, source))?
        .finish();
    // Synced with the rest of the backup when it is published.
    buffered
        .into_inner()
        .map_err(|e| write_error("writing", path, e.into_error()))?;
    let vhd_size = checker
        .finish()
        .map_err(|source| structure_error(path, source))?;
    Ok(Saved {
        digest,
        received,
        vhd_size,
    })
}

fn save_sparse(
    mut reader: impl Read,
    file: &File,
    path: &Path,
    label: &str,
    options: &SaveOptions<'_>,
) -> Result<Saved, SaveError> {
    let mut sink = RawFileSink::new(file, path.display().to_string());
    let mut digest = DigestWriter::new(std::io::sink(), options.digest);
    let mut position = 0u64;
    let received = pump(&mut reader, label, options, &mut |block| {
        digest.write_all(block).expect("a sink cannot fail");
        sink.write_at(position, block)
            .map_err(|source| structure_error(path, source))?;
        position += block.len() as u64;
        Ok(())
    })?;
    sink.finish(position)
        .map_err(|source| structure_error(path, source))?;
    Ok(Saved {
        digest: digest.finish().1,
        received,
        vhd_size: None,
    })
}

/// A raw disk must be its exact size, a VHD's virtual size the disk's.
fn check_size(structure: Structure, path: &Path, saved: &Saved) -> Result<(), SaveError> {
    let problem = |problem: String| {
        Err(SaveError::Size {
            path: path.to_path_buf(),
            problem,
        })
    };
    match structure {
        Structure::Raw { size: Some(size) } if saved.received != size => problem(format!(
            "received {} bytes of a {size}-byte disk",
            saved.received
        )),
        Structure::Vhd { size: Some(size) } => match saved.vhd_size {
            Some(found) if found == size => Ok(()),
            Some(found) => problem(format!("a VHD of {found} bytes for a {size}-byte disk")),
            None => problem("the VHD's structure was not checked".to_owned()),
        },
        _ => Ok(()),
    }
}

/// Reads `reader` to its end in 1 MiB blocks, handing each to `store`; stops at once when
/// the run is cancelled. Returns the bytes read.
fn pump(
    reader: &mut impl Read,
    label: &str,
    options: &SaveOptions<'_>,
    store: &mut dyn FnMut(&[u8]) -> Result<(), SaveError>,
) -> Result<u64, SaveError> {
    let mut buffer = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        options.cancel.check()?;
        let n =
            disk_image::read_full(reader, &mut buffer).map_err(|source| SaveError::Receive {
                label: label.to_owned(),
                source,
            })?;
        if n == 0 {
            return Ok(total);
        }
        store(&buffer[..n])?;
        total += n as u64;
        options.progress.advance(n as u64);
    }
}

fn write_error(action: &'static str, path: &Path, source: std::io::Error) -> SaveError {
    SaveError::Write {
        action,
        path: path.to_path_buf(),
        source,
    }
}

fn structure_error(path: &Path, source: DiskImageError) -> SaveError {
    SaveError::Structure {
        path: path.to_path_buf(),
        source: Box::new(source),
    }
}

#[cfg(test)]
mod tests;
