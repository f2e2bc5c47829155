//! Writing an XVA: `ova.xml`, then every disk's chunks with their checksums, streamed.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use serde::Serialize;

use super::ova::{self, PackagedDisk};
use super::tar::TarWriter;
use crate::checksum::ChecksumKind;
use crate::chunks::{self, CHUNK_SIZE, ScanOptions};
use crate::error::{DiskImageError, IoContext, Result};
use crate::progress::Progress;
use crate::source::DiskInput;
use crate::spec::VmSpec;

/// How to write an XVA.
#[derive(Debug, Clone, Copy)]
pub struct XvaOptions {
    /// Checksum after each chunk (SHA-1 by default: importable by every XAPI version).
    pub checksum: ChecksumKind,
    /// Threads reading and hashing chunks.
    pub workers: usize,
}

impl Default for XvaOptions {
    fn default() -> Self {
        XvaOptions {
            checksum: ChecksumKind::Sha1,
            workers: chunks::default_workers(),
        }
    }
}

/// What was written for one disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WrittenDisk {
    /// Archive id (`Ref:002`).
    pub id: String,
    /// Virtual size in bytes.
    pub size: u64,
    /// Chunks written (all-zero chunks are skipped; the first and last never are).
    pub chunks: u64,
    /// Bytes of chunk data written.
    pub data_bytes: u64,
}

/// What [`write_xva`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct XvaSummary {
    /// Per disk, in the VM's disk order.
    pub disks: Vec<WrittenDisk>,
    /// Bytes of archive written (before any compression the caller applies).
    pub archive_bytes: u64,
}

/// Writes the XVA of `spec`, whose disks' bytes come from `disks` (same order), to `out`.
/// `out_name` names the destination in errors.
///
/// Every disk size must be a multiple of 512 (XAPI's importer misreads anything else); wrap
/// a source in [`crate::PaddedDisk`] to round it up.
pub fn write_xva(
    spec: &VmSpec,
    disks: Vec<DiskInput<'_>>,
    out: &mut dyn Write,
    out_name: &str,
    options: &XvaOptions,
    progress: &dyn Progress,
) -> Result<XvaSummary> {
    let mut packaged = Vec::with_capacity(disks.len());
    for disk in &disks {
        packaged.push(package(disk)?);
    }
    let now = jiff::Timestamp::now();
    let document = ova::build(spec, &packaged, &now.strftime("%Y-%m-%d").to_string())?;
    let mut tar = TarWriter::new(BufWriter::with_capacity(256 * 1024, out));
    let write_error = |what: &str| format!("writing {what} to `{out_name}`");
    tar.append(
        "ova.xml",
        document.xml.as_bytes(),
        now.as_second().max(0).cast_unsigned(),
    )
    .context(|| write_error("ova.xml"))?;

    let scan_options = ScanOptions {
        chunk_size: CHUNK_SIZE,
        checksum: Some(options.checksum),
        force_first_and_last: true,
        workers: options.workers,
    };
    let mut written = Vec::with_capacity(disks.len());
    for ((disk, id), facts) in disks.into_iter().zip(&document.disk_ids).zip(&packaged) {
        let mut summary = WrittenDisk {
            id: id.clone(),
            size: facts.size,
            chunks: 0,
            data_bytes: 0,
        };
        progress.start(&facts.label, facts.size);
        chunks::scan(disk, &scan_options, progress, &mut |chunk| {
            // The pipeline checksums exactly the chunks an XVA carries: those with data, and
            // the first and last.
            let (Some(data), Some(checksum)) = (chunk.data, chunk.checksum) else {
                return Ok(());
            };
            let name = format!("{id}/{:08}", chunk.index);
            tar.append(&name, data, 0).context(|| write_error(&name))?;
            let checksum_name = format!("{name}{}", options.checksum.suffix());
            tar.append(&checksum_name, checksum.as_bytes(), 0)
                .context(|| write_error(&checksum_name))?;
            summary.chunks += 1;
            summary.data_bytes += data.len() as u64;
            Ok(())
        })?;
        progress.finish();
        written.push(summary);
    }
    tar.finish()
        .context(|| write_error("the end of the archive"))?;
    Ok(XvaSummary {
        disks: written,
        archive_bytes: tar.written(),
    })
}

/// Checks a disk's size and measures its data for `physical_utilisation`.
fn package(disk: &DiskInput<'_>) -> Result<PackagedDisk> {
    let size = disk.size();
    if size % 512 != 0 {
        return Err(DiskImageError::UnalignedSize {
            path: PathBuf::from(disk.name()),
            size,
            hint: "XAPI's importer needs whole 512-byte sectors; pad it (xva-build --pad)",
        });
    }
    let allocated = match disk {
        DiskInput::Random(random) => random
            .data_ranges()
            .map_err(|e| DiskImageError::io(format!("finding the data of `{}`", random.name()), e))?
            .iter()
            .map(|r| r.end.min(size).saturating_sub(r.start))
            .sum(),
        DiskInput::Stream(_) => size,
    };
    let name = disk.name();
    let label = name.rsplit('/').next().unwrap_or(&name).to_owned();
    Ok(PackagedDisk {
        size,
        allocated,
        label,
    })
}
