//! Opening disk images and output destinations for the subcommands.

use std::fs::{self, Metadata};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use anyhow::{Context, Result, bail};
use cli_common::UsageError;
use disk_image::writeback::WritebackFile;
use disk_image::{FileDisk, PaddedDisk, RandomAccessDisk, vhd};

use crate::interrupt::PartialFile;

/// Opens a disk image for reading: a VHD (fixed or dynamic, detected by its footer) or a raw
/// image / block device. With `pad`, a size that is not a multiple of 512 is rounded up.
/// A character device (`/dev/zero`, `/dev/null`), a FIFO or a socket (no fixed size) and a
/// disk of 0 bytes are refused.
pub fn open_disk(path: &Path, pad: bool) -> Result<Box<dyn RandomAccessDisk>> {
    // Checked before opening: opening a FIFO would wait for a writer.
    if let Ok(meta) = fs::metadata(path) {
        let kind = meta.file_type();
        let odd = if kind.is_char_device() {
            Some("a character device")
        } else if kind.is_fifo() {
            Some("a FIFO")
        } else if kind.is_socket() {
            Some("a socket")
        } else {
            None
        };
        if let Some(odd) = odd {
            bail!(
                "`{}` is {odd}, which has no fixed size: give a disk image or a block device",
                path.display()
            );
        }
    }
    let disk: Box<dyn RandomAccessDisk> = if vhd::probe(path)?.is_some() {
        Box::new(vhd::VhdDisk::open(path)?)
    } else {
        Box::new(FileDisk::open(path)?)
    };
    if disk.size() == 0 {
        bail!(
            "`{}` holds 0 bytes: a disk needs at least one sector",
            path.display()
        );
    }
    if pad && !disk.size().is_multiple_of(512) {
        tracing::warn!(path = %path.display(), size = disk.size(), "padding to a whole number of 512-byte sectors");
        return Ok(Box::new(PaddedDisk::new(disk, 512)));
    }
    Ok(disk)
}

/// The layout `extract` and `convert` write (a command-line choice: fixed VHD is a writer
/// option, not one of the stored formats of [`disk_image::ImageFormat`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Raw, sparse.
    Raw,
    /// Dynamic (sparse) VHD.
    Vhd,
    /// Fixed VHD.
    VhdFixed,
}

impl OutputFormat {
    /// The format asked for, else vhd for a `.vhd` output, else raw. Standard output (`-`)
    /// takes raw only: a VHD is written out of order.
    pub fn for_output(asked: Option<Self>, output: &Path) -> Result<Self> {
        let format = asked.unwrap_or_else(|| match output.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("vhd") => OutputFormat::Vhd,
            _ => OutputFormat::Raw,
        });
        if output.as_os_str() == "-" && format != OutputFormat::Raw {
            bail!(UsageError(
                "only raw images can go to standard output".into()
            ));
        }
        Ok(format)
    }
}

/// Refuses an output that would destroy what the command reads or could never be written,
/// before anything is read or written: one in a folder that does not exist, an existing
/// directory, or the same file as one of
/// `inputs` (same device and inode, so symlinks and hard links count; for block devices, the
/// same device number).
pub fn check_output(output: &Path, inputs: &[&Path]) -> Result<()> {
    if output.as_os_str() == "-" {
        return Ok(());
    }
    let folder = match output.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    if !fs::metadata(folder).is_ok_and(|m| m.is_dir()) {
        bail!(UsageError(format!(
            "`{}`: no such folder `{}`",
            output.display(),
            folder.display()
        )));
    }
    let Ok(existing) = fs::metadata(output) else {
        return Ok(());
    };
    if existing.is_dir() {
        bail!(UsageError(format!(
            "`{}` is a directory: -o names the file to write",
            output.display()
        )));
    }
    for input in inputs {
        if fs::metadata(input).is_ok_and(|read| same_file(&existing, &read)) {
            bail!(UsageError(format!(
                "`{}` is also an input (`{}`): writing it would destroy what is read",
                output.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

fn same_file(a: &Metadata, b: &Metadata) -> bool {
    let block = |m: &Metadata| m.file_type().is_block_device();
    (a.dev() == b.dev() && a.ino() == b.ino()) || (block(a) && block(b) && a.rdev() == b.rdev())
}

/// Where output goes: standard output (`-`), or a file that appears only when complete.
pub enum Destination {
    /// Standard output.
    Stdout,
    /// A file, written under a temporary name until committed (removed on failure and on
    /// SIGINT / SIGTERM / SIGHUP).
    File(PartialFile),
}

impl Destination {
    /// `-` for standard output, else a path.
    pub fn create(path: &Path) -> Result<Self> {
        if path.as_os_str() == "-" {
            return Ok(Destination::Stdout);
        }
        Ok(Destination::File(PartialFile::create(path)?))
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
            Destination::File(file) => file.commit(),
        }
    }
}
