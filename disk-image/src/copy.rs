//! Copying a disk into a [`DiskSink`] through the chunk pipeline (raw to sparse raw, raw to
//! VHD, VHD to raw, …).

use crate::chunks::{self, ScanOptions};
use crate::error::Result;
use crate::progress::Progress;
use crate::sink::DiskSink;
use crate::source::DiskInput;

/// Copies every byte of `input` into `sink` and finishes it. All-zero chunks are not handed
/// to the sink (sinks treat what they are not given as zeros); holes are not even read.
pub fn copy_disk(
    input: DiskInput<'_>,
    sink: &mut dyn DiskSink,
    workers: usize,
    progress: &dyn Progress,
) -> Result<()> {
    let size = input.size();
    let options = ScanOptions {
        workers,
        ..ScanOptions::default()
    };
    progress.start(&input.name(), size);
    chunks::scan(input, &options, progress, &mut |chunk| match chunk.data {
        Some(data) if !chunk.is_zero => sink.write_at(chunk.offset, data),
        _ => Ok(()),
    })?;
    sink.finish(size)?;
    progress.finish();
    Ok(())
}
