//! Writing an XVA: `ova.xml`, then every disk's chunks with their checksums, streamed.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use serde::Serialize;
use xenapi::rpc::{Value, encode_value};

use super::metadata::{ExportVersion, XvaObject};
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
    /// Emulates XAPI's keep-alive quirk: after every `n` chunks written, a 0-byte chunk that
    /// takes the next number (so later numbers no longer match offsets). XAPI's importer and
    /// our reader accept it; it only serves simulators and reader tests. `None` for real use.
    pub xapi_keepalive_every: Option<u64>,
}

impl Default for XvaOptions {
    fn default() -> Self {
        XvaOptions {
            checksum: ChecksumKind::Sha1,
            workers: chunks::default_workers(),
            xapi_keepalive_every: None,
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

/// What a writer wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct XvaSummary {
    /// Per disk, in archive order.
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
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    let document = ova::build(spec, &packaged, &today)?;
    let disks = document.disk_ids.into_iter().zip(disks).collect();
    write_archive(&document.xml, disks, out, out_name, options, progress)
}

/// The `ova.xml` document of `objects`: `{version, objects: [{class, id, snapshot}]}`, encoded
/// as XAPI encodes it.
pub fn ova_xml(version: &ExportVersion, objects: &[XvaObject]) -> String {
    let text = |s: &str| Value::String(s.to_owned());
    let version = Value::Struct(vec![
        ("hostname".to_owned(), text(&version.hostname)),
        ("date".to_owned(), text(&version.date)),
        ("product_version".to_owned(), text(&version.product_version)),
        ("product_brand".to_owned(), text(&version.product_brand)),
        ("build_number".to_owned(), text(&version.build_number)),
        ("xapi_major".to_owned(), Value::Int(version.xapi_major)),
        ("xapi_minor".to_owned(), Value::Int(version.xapi_minor)),
        ("export_vsn".to_owned(), Value::Int(version.export_vsn)),
    ]);
    let objects = objects
        .iter()
        .map(|object| {
            Value::Struct(vec![
                ("class".to_owned(), text(&object.class)),
                ("id".to_owned(), text(&object.id)),
                ("snapshot".to_owned(), object.snapshot.clone()),
            ])
        })
        .collect();
    encode_value(&Value::Struct(vec![
        ("version".to_owned(), version),
        ("objects".to_owned(), Value::Array(objects)),
    ]))
}

/// Writes an XVA from a ready `ova.xml` (see [`ova_xml`]) and the disks it describes, given as
/// (archive id, bytes) in archive order: ids must ascend as strings, and each disk's size must
/// be the `virtual_size` its VDI record declares, a multiple of 512.
pub fn write_archive(
    ova_xml: &str,
    disks: Vec<(String, DiskInput<'_>)>,
    out: &mut dyn Write,
    out_name: &str,
    options: &XvaOptions,
    progress: &dyn Progress,
) -> Result<XvaSummary> {
    for pair in disks.windows(2) {
        if pair[0].0 >= pair[1].0 {
            return Err(DiskImageError::Invalid(format!(
                "XVA disks must be in string order of their ids: `{}` comes before `{}`",
                pair[0].0, pair[1].0
            )));
        }
    }
    for (_, disk) in &disks {
        check_whole_sectors(disk)?;
    }
    let mut tar = TarWriter::new(BufWriter::with_capacity(256 * 1024, out));
    let write_error = |what: &str| format!("writing {what} to `{out_name}`");
    let mtime = jiff::Timestamp::now().as_second().max(0).cast_unsigned();
    tar.append("ova.xml", ova_xml.as_bytes(), mtime)
        .context(|| write_error("ova.xml"))?;
    let scan_options = ScanOptions {
        chunk_size: CHUNK_SIZE,
        checksum: Some(options.checksum),
        force_first_and_last: true,
        workers: options.workers,
    };
    let keepalive_sum = options.checksum.compute(&[]);
    let mut written = Vec::with_capacity(disks.len());
    for (id, disk) in disks {
        let size = disk.size();
        let mut summary = WrittenDisk {
            id: id.clone(),
            size,
            chunks: 0,
            data_bytes: 0,
        };
        let mut skew = 0u64; // numbers taken by keep-alive chunks so far
        progress.start(&disk.name(), size);
        chunks::scan(disk, &scan_options, progress, &mut |chunk| {
            // The pipeline checksums exactly the chunks an XVA carries: those with data, and
            // the first and last.
            let (Some(data), Some(checksum)) = (chunk.data, chunk.checksum) else {
                return Ok(());
            };
            let mut append = |number: u64, data: &[u8], checksum: &str| -> Result<()> {
                let name = format!("{id}/{number:08}");
                tar.append(&name, data, 0).context(|| write_error(&name))?;
                let checksum_name = format!("{name}{}", options.checksum.suffix());
                tar.append(&checksum_name, checksum.as_bytes(), 0)
                    .context(|| write_error(&checksum_name))
            };
            append(chunk.index + skew, data, checksum)?;
            summary.chunks += 1;
            summary.data_bytes += data.len() as u64;
            let is_last = chunk.offset + chunk.len as u64 >= size;
            if let Some(every) = options.xapi_keepalive_every.filter(|n| *n > 0)
                && summary.chunks.is_multiple_of(every)
                && !is_last
            {
                skew += 1;
                append(chunk.index + skew, &[], &keepalive_sum)?;
                summary.chunks += 1;
            }
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

/// Refuses a disk whose size is not whole 512-byte sectors.
fn check_whole_sectors(disk: &DiskInput<'_>) -> Result<()> {
    let size = disk.size();
    if size.is_multiple_of(512) {
        return Ok(());
    }
    Err(DiskImageError::UnalignedSize {
        path: PathBuf::from(disk.name()),
        size,
        hint: "XAPI's importer needs whole 512-byte sectors; pad it (xva-build --pad)",
    })
}

/// Checks a disk's size and measures its data for `physical_utilisation`.
fn package(disk: &DiskInput<'_>) -> Result<PackagedDisk> {
    check_whole_sectors(disk)?;
    let size = disk.size();
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
