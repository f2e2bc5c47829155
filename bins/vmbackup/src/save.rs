//! Saving a download from the pool into a backup file: compressed if asked, digested as
//! stored, sparse where possible, its structure checked as it passes (an XVA's checksums, a
//! VHD's headers, BAT and footer: a body that ends early while the host's task succeeds is
//! caught here, whatever the compression), and interruptible.

use std::io::{BufWriter, Read, Write};
use std::path::Path;

use backup_core::store::digest::{DigestWriter, FileDigest};
use backup_core::store::{DigestKind, FileMode};
use disk_image::compress::{Codec, CompressWriter, Compression};
use disk_image::vhd::VhdCheck;
use disk_image::xva::StreamVerifier;
use disk_image::{DiskSink, Progress, RawFileSink};
use xenapi::Download;

use crate::cancel::Cancel;
use crate::error::{Result, VmBackupError};
use disk_image::writeback::WritebackFile;

/// How to store a download.
#[derive(Clone, Copy)]
pub struct SaveOptions<'a> {
    /// Compression done here.
    pub compression: Compression,
    /// Digest recorded in the manifest.
    pub digest: DigestKind,
    /// The structure to check while the download streams.
    pub structure: Structure,
    /// The mode of the file.
    pub mode: FileMode,
    /// The run's stop flag.
    pub cancel: &'a Cancel,
    /// Where progress goes.
    pub progress: &'a dyn Progress,
}

/// What a download is, so that its structure can be checked as it streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Structure {
    /// An XVA: every chunk checksum and the archive's structure.
    Xva,
    /// A VHD: headers, BAT and footer; [`Saved::vhd_size`] is its virtual size.
    Vhd,
    /// A raw disk: its length is its structure ([`Saved::received`]).
    Raw,
}

/// What a saved download amounted to.
#[derive(Debug, Clone)]
pub struct Saved {
    /// Digest of the file as stored.
    pub digest: FileDigest,
    /// Bytes received from the pool.
    pub received: u64,
    /// The virtual size of a VHD, its structure checked.
    pub vhd_size: Option<u64>,
}

/// The checker of a [`Structure`], fed the bytes as received.
enum Checker {
    Xva(Box<StreamVerifier>),
    Vhd(Box<VhdCheck>),
    Raw,
}

impl Checker {
    fn new(structure: Structure, shown: &str) -> Self {
        match structure {
            Structure::Xva => Checker::Xva(Box::new(StreamVerifier::start(shown.to_owned()))),
            Structure::Vhd => Checker::Vhd(Box::new(VhdCheck::new(shown))),
            Structure::Raw => Checker::Raw,
        }
    }

    fn feed(&mut self, block: &[u8]) -> std::result::Result<(), disk_image::DiskImageError> {
        match self {
            Checker::Xva(verifier) => verifier.feed(block),
            Checker::Vhd(check) => check
                .write_all(block)
                .map_err(|e| disk_image::DiskImageError::io("checking the VHD", e)),
            Checker::Raw => Ok(()),
        }
    }

    /// Ends the check: the virtual size of a VHD.
    fn finish(self) -> std::result::Result<Option<u64>, disk_image::DiskImageError> {
        match self {
            Checker::Xva(verifier) => verifier.finish().map(|_| None),
            Checker::Vhd(check) => check.finish().map(Some),
            Checker::Raw => Ok(None),
        }
    }
}

/// The compressor (level, threads) a `compression=` setting stands for; its
/// [`suffix`](Codec::suffix) ends the file names.
pub fn codec(compression: Compression) -> Codec {
    let threads = u32::try_from(disk_image::chunks::default_workers()).unwrap_or(2);
    match compression {
        Compression::None => Codec::None,
        Compression::Zstd => Codec::Zstd { level: 3, threads },
        Compression::Gzip => Codec::Gzip { level: 6 },
    }
}

/// Streams `download` into `path` and waits for its task: the task's success, not the
/// transfer's, says the pool sent everything.
pub fn save(
    mut download: Download<'_>,
    path: &Path,
    label: &str,
    options: &SaveOptions<'_>,
) -> Result<Saved> {
    let shown = path.display().to_string();
    let write_error = |e| VmBackupError::io(format!("writing `{shown}`"), e);
    let file = options.mode.create_new(path).map_err(write_error)?;
    options
        .progress
        .start(label, download.content_length().unwrap_or(0));
    let mut checker = Checker::new(options.structure, &shown);
    let digesting = DigestWriter::new(
        BufWriter::with_capacity(1 << 20, WritebackFile::new(&file)),
        options.digest,
    );
    let mut out =
        CompressWriter::new(digesting, codec(options.compression)).map_err(write_error)?;
    let received = pump(
        &mut download,
        &mut |block| {
            checker
                .feed(block)
                .map_err(|e| VmBackupError::image(format!("verifying `{shown}`"), e))?;
            out.write_all(block).map_err(write_error)
        },
        options,
    )?;
    let (buffered, digest) = out.finish().map_err(write_error)?.finish();
    // Synced with the rest of the backup when it is committed.
    buffered
        .into_inner()
        .map_err(|e| write_error(e.into_error()))?;
    let vhd_size = checker
        .finish()
        .map_err(|e| VmBackupError::image(format!("verifying `{shown}`"), e))?;
    download.finish().map_err(|e| {
        VmBackupError::xapi(format!("waiting for the pool to complete `{label}`"), e)
    })?;
    options.progress.finish();
    Ok(Saved {
        digest,
        received,
        vhd_size,
    })
}

/// Streams a raw disk download into `path`, leaving all-zero 4 KiB blocks as holes (when not
/// compressing); the digest covers every byte of the disk.
pub fn save_raw_disk(
    mut download: Download<'_>,
    path: &Path,
    label: &str,
    options: &SaveOptions<'_>,
) -> Result<Saved> {
    if options.compression != Compression::None {
        return save(download, path, label, options);
    }
    let shown = path.display().to_string();
    let file = options
        .mode
        .create_new(path)
        .map_err(|e| VmBackupError::io(format!("creating `{shown}`"), e))?;
    options
        .progress
        .start(label, download.content_length().unwrap_or(0));
    let mut sink = RawFileSink::new(&file, shown.clone());
    let mut digest = DigestWriter::new(std::io::sink(), options.digest);
    let mut position = 0u64;
    let received = pump(
        &mut download,
        &mut |block| {
            digest
                .write_all(block)
                .map_err(|e| VmBackupError::io("digesting", e))?;
            sink.write_at(position, block)
                .map_err(|e| VmBackupError::image(format!("writing `{shown}`"), e))?;
            position += block.len() as u64;
            Ok(())
        },
        options,
    )?;
    sink.finish(position)
        .map_err(|e| VmBackupError::image(format!("finishing `{shown}`"), e))?;
    download.finish().map_err(|e| {
        VmBackupError::xapi(format!("waiting for the pool to complete `{label}`"), e)
    })?;
    options.progress.finish();
    Ok(Saved {
        digest: digest.finish().1,
        received,
        vhd_size: None,
    })
}

/// Reads `download` to its end in 1 MiB blocks, handing each to `store`; stops at once when
/// the run is cancelled. Returns the bytes read.
fn pump(
    download: &mut Download<'_>,
    store: &mut dyn FnMut(&[u8]) -> Result<()>,
    options: &SaveOptions<'_>,
) -> Result<u64> {
    let mut buffer = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        options.cancel.check()?;
        let n = read_full(download, &mut buffer)
            .map_err(|e| VmBackupError::io("receiving from the pool", e))?;
        if n == 0 {
            return Ok(total);
        }
        store(&buffer[..n])?;
        total += n as u64;
        options.progress.advance(n as u64);
    }
}

/// Fills `buffer` as far as the stream allows.
fn read_full(input: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match input.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
