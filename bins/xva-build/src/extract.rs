//! `xva-build extract`: one disk of an XVA out as a raw or VHD image.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use cli_common::{Outcome, UsageError};
use disk_image::xva::XvaReader;
use disk_image::{NoProgress, Progress};

use crate::convert::open_sink;
use crate::inputs::{Destination, OutputFormat, check_output};

/// Options of `extract`.
#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// The archive (plain, gzip or zstd).
    file: PathBuf,
    /// Which disk: its index in `inspect`'s list, its device (`xvda`) or its VDI uuid.
    #[arg(short, long)]
    disk: String,
    /// Output image, or `-` for raw bytes on standard output.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Image format (default: vhd for a `.vhd` output, raw otherwise).
    #[arg(long, value_enum)]
    format: Option<OutputFormat>,
    /// Do not verify the extracted disk's checksums.
    #[arg(long)]
    no_verify: bool,
}

/// Runs `extract`.
pub fn run(args: &ExtractArgs, progress: &dyn Progress) -> Result<Outcome> {
    check_output(&args.output, &[&args.file])?;
    let (mut reader, _) = XvaReader::open_path(&args.file)?;
    let wanted = {
        let listing = reader.metadata().listing();
        let found = match args.disk.parse::<usize>() {
            Ok(index) => listing.get(index).copied(),
            Err(_) => listing.iter().copied().find(|d| {
                d.vdi.uuid == args.disk || d.vbd.as_ref().is_some_and(|v| v.device == args.disk)
            }),
        };
        let Some(disk) = found else {
            bail!(UsageError(format!(
                "`{}` has no disk `{}` (it has {}; see `xva-build inspect`)",
                args.file.display(),
                args.disk,
                listing.len()
            )));
        };
        disk.id.clone()
    };
    let format = OutputFormat::for_output(args.format, &args.output)?;
    // Skip the disks stored before the wanted one; the archive is a stream.
    while reader.next_disk().is_some_and(|d| d.id != wanted) {
        reader.read_disk(None, false, &NoProgress)?;
    }
    let size = reader
        .next_disk()
        .map(disk_image::xva::XvaDisk::size)
        .unwrap_or_default();
    let destination = Destination::create(&args.output)?;
    let name = destination.name();
    {
        let mut sink = open_sink(&destination, format, size)?;
        reader
            .read_disk(Some(sink.as_mut()), !args.no_verify, progress)
            .with_context(|| format!("extracting disk {wanted} into `{name}`"))?;
    }
    let to_file = matches!(destination, Destination::File(_));
    destination.commit()?;
    if to_file {
        let mut out = cli_common::Stdout::lock();
        writeln!(out, "{name}: disk {wanted}, {size} bytes")?;
        out.flush()?;
    }
    Ok(Outcome::Success)
}
