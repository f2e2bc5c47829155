//! `xva-build convert`: a disk image from one format to another (raw, dynamic or fixed VHD),
//! streamed, with holes and all-zero blocks left sparse.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use cli_common::Outcome;
use disk_image::vhd::{DynamicVhdSink, FixedVhdSink};
use disk_image::{DiskInput, DiskSink, Progress, RawFileSink, RawStreamSink, copy_disk};

use crate::inputs::{Destination, OutputFormat, check_output, open_disk};

/// Options of `convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The source image or block device (raw, or VHD detected by its footer).
    input: PathBuf,
    /// Output image, or `-` for raw bytes on standard output.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Output format (default: vhd for a `.vhd` output, raw otherwise).
    #[arg(long, value_enum)]
    format: Option<OutputFormat>,
    /// Threads reading (default: one per core).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
}

/// Runs `convert`.
pub fn run(args: &ConvertArgs, progress: &dyn Progress) -> Result<Outcome> {
    check_output(&args.output, &[&args.input])?;
    let format = OutputFormat::for_output(args.format, &args.output)?;
    let source = open_disk(&args.input, false)?;
    let size = source.size();
    let destination = Destination::create(&args.output)?;
    let name = destination.name();
    let workers = args
        .workers
        .unwrap_or_else(disk_image::chunks::default_workers)
        .max(1);
    {
        let mut sink = open_sink(&destination, format, size)?;
        copy_disk(
            DiskInput::Random(source.as_ref()),
            sink.as_mut(),
            workers,
            progress,
        )
        .with_context(|| format!("converting `{}` into `{name}`", args.input.display()))?;
    }
    destination.commit()?;
    Ok(Outcome::Success)
}

/// The sink writing `format` into `destination`, for a disk of `size` bytes.
pub fn open_sink<'a>(
    destination: &'a Destination,
    format: OutputFormat,
    size: u64,
) -> Result<Box<dyn DiskSink + 'a>> {
    let name = destination.name();
    Ok(match (destination, format) {
        (Destination::Stdout, _) => Box::new(RawStreamSink::new(destination.writer(), name)),
        (Destination::File(file), OutputFormat::Raw) => {
            Box::new(RawFileSink::new(file.file(), name))
        }
        (Destination::File(file), OutputFormat::Vhd) => {
            Box::new(DynamicVhdSink::new(file.file(), name, size)?)
        }
        (Destination::File(file), OutputFormat::VhdFixed) => {
            Box::new(FixedVhdSink::new(file.file(), name, size)?)
        }
    })
}
