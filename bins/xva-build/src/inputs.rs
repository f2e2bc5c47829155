//! Opening disk images and output destinations for the subcommands.

use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use cli_common::UsageError;
use disk_image::writeback::WritebackFile;
use disk_image::{AtomicFile, FileDisk, PaddedDisk, RandomAccessDisk, vhd};

/// Opens a disk image for reading: a VHD (fixed or dynamic, detected by its footer) or a raw
/// image / block device. With `pad`, a size that is not a multiple of 512 is rounded up.
pub fn open_disk(path: &Path, pad: bool) -> Result<Box<dyn RandomAccessDisk>> {
    let disk: Box<dyn RandomAccessDisk> = if vhd::probe(path)?.is_some() {
        Box::new(vhd::VhdDisk::open(path)?)
    } else {
        Box::new(FileDisk::open(path)?)
    };
    if pad && !disk.size().is_multiple_of(512) {
        tracing::warn!(path = %path.display(), size = disk.size(), "padding to a whole number of 512-byte sectors");
        return Ok(Box::new(PaddedDisk::new(disk, 512)));
    }
    Ok(disk)
}

/// An output image format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImageFormat {
    /// Raw, sparse.
    Raw,
    /// Dynamic (sparse) VHD.
    Vhd,
    /// Fixed VHD.
    VhdFixed,
}

impl ImageFormat {
    /// The format asked for, else vhd for a `.vhd` output, else raw. Standard output (`-`)
    /// takes raw only: a VHD is written out of order.
    pub fn for_output(asked: Option<Self>, output: &Path) -> Result<Self> {
        let format = asked.unwrap_or_else(|| match output.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("vhd") => ImageFormat::Vhd,
            _ => ImageFormat::Raw,
        });
        if output.as_os_str() == "-" && format != ImageFormat::Raw {
            bail!(UsageError(
                "only raw images can go to standard output".into()
            ));
        }
        Ok(format)
    }
}

/// Where output goes: standard output (`-`), or a file that appears only when complete.
pub enum Destination {
    /// Standard output.
    Stdout,
    /// A file, written under a temporary name until committed.
    File(AtomicFile),
}

impl Destination {
    /// `-` for standard output, else a path.
    pub fn create(path: &Path) -> Result<Self> {
        if path.as_os_str() == "-" {
            return Ok(Destination::Stdout);
        }
        Ok(Destination::File(AtomicFile::create(path)?))
    }

    /// A name for messages.
    pub fn name(&self) -> String {
        match self {
            Destination::Stdout => "standard output".to_owned(),
            Destination::File(file) => file.target().display().to_string(),
        }
    }

    /// A buffered writer into the destination.
    pub fn writer(&self) -> Box<dyn Write + '_> {
        match self {
            Destination::Stdout => {
                Box::new(io::BufWriter::with_capacity(1 << 20, io::stdout().lock()))
            }
            Destination::File(file) => Box::new(WritebackFile::new(file.file())),
        }
    }

    /// Makes the output durable and, for a file, moves it into place.
    pub fn commit(self) -> Result<()> {
        match self {
            Destination::Stdout => io::stdout().flush().context("flushing standard output"),
            Destination::File(file) => Ok(file.commit()?),
        }
    }
}
