//! `GET /export_raw_vdi` (raw: the whole virtual size; vhd: a dynamic VHD, with `base` only
//! the blocks that differ from it) and `PUT /import_raw_vdi` (raw or VHD into a VDI).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use disk_image::vhd::{DynamicVhd, VhdDisk};
use disk_image::{DiskInput, FileDisk, RandomAccessDisk, RawStreamSink, copy_disk};
use xenapi::Ref;
use xenapi::records::VdiRecord;
use xenapi::rpc::{Value, encode_value};

use super::import::{accept_upload, drain_body, target_sr};
use super::wire::{BodyReader, TaskProgress, WireWriter, cut_within, io_failure, is_cut};
use super::{Outcome, Transfer, transfer_headers};
use crate::disks;
use crate::error::{XapiError, XapiResult};
use crate::http::{Connection, write_head};
use crate::pool::Pool;

/// Bytes read and written at a time by an import.
const PIECE: usize = 4 << 20;
/// Granularity of a differential VHD: its block size.
const VHD_BLOCK: u64 = 2 << 20;

fn requested_vdi(pool: &Pool, transfer: &Transfer<'_>, name: &str) -> XapiResult<Option<Ref>> {
    transfer
        .request
        .query(name)
        .map(|text| pool.resolve_vdi(text))
        .transpose()
}

fn format(transfer: &Transfer<'_>) -> XapiResult<&'static str> {
    match transfer.request.query("format").unwrap_or("raw") {
        "raw" => Ok("raw"),
        "vhd" => Ok("vhd"),
        other => Err(XapiError::new("INVALID_VALUE", ["format", other])),
    }
}

/// `GET /export_raw_vdi`.
pub(crate) fn export_raw_vdi(transfer: &Transfer<'_>, connection: &mut Connection) -> Outcome {
    let checked = (|| {
        let pool = transfer.ctx.shared.lock();
        let vdi = requested_vdi(&pool, transfer, "vdi")?
            .ok_or_else(|| XapiError::new("INVALID_VALUE", ["vdi", ""]))?;
        if pool.vdi_attached(&vdi) {
            return Err(XapiError::new("VDI_IN_USE", [vdi.as_str(), "export"]));
        }
        let base = requested_vdi(&pool, transfer, "base")?
            .map(|base| pool.vdi_path(&base))
            .transpose()?;
        let uuid = pool.vdi(&vdi)?.uuid.clone();
        Ok((pool.vdi_path(&vdi)?, base, uuid, format(transfer)?))
    })();
    let (path, base, uuid, format) = match checked {
        Ok(checked) => checked,
        Err(error) => return Outcome::refused(error),
    };
    let out = connection.get_mut();
    Outcome::sent(if format == "raw" {
        send_raw(transfer, &path, &uuid, out)
    } else {
        send_vhd(transfer, &path, base, &uuid, out)
    })
}

/// Sends the whole virtual size; holes are sent as zeros without being read.
fn send_raw(
    transfer: &Transfer<'_>,
    path: &PathBuf,
    uuid: &str,
    out: &mut dyn Write,
) -> io::Result<()> {
    let disk = FileDisk::open(path).map_err(io::Error::other)?;
    let mut headers = transfer_headers(transfer, "application/octet-stream");
    headers.extend(transfer.content_length(disk.size()));
    headers.push((
        "Content-Disposition",
        format!("attachment; filename=\"{uuid}.raw\""),
    ));
    write_head(out, "HTTP/1.1", 200, &headers)?;
    let progress = TaskProgress::new(transfer, disk.size());
    let mut sink = RawStreamSink::new(WireWriter::new(out, transfer), format!("{uuid}.raw"));
    copy_disk(
        DiskInput::Random(&disk),
        &mut sink,
        disks::READ_WORKERS,
        &progress,
    )
    .map_err(|e| cut_within(e).unwrap_or_else(io::Error::other))
}

fn send_vhd(
    transfer: &Transfer<'_>,
    path: &PathBuf,
    base: Option<PathBuf>,
    uuid: &str,
    out: &mut dyn Write,
) -> io::Result<()> {
    let disk = FileDisk::open(path).map_err(io::Error::other)?;
    let disk: Box<dyn RandomAccessDisk> = match base {
        Some(base) => Box::new(DiffDisk::new(
            disk,
            &FileDisk::open(base).map_err(io::Error::other)?,
        )?),
        None => Box::new(disk),
    };
    let vhd = DynamicVhd::plan(disk.as_ref()).map_err(io::Error::other)?;
    let len = vhd.file_len();
    let mut headers = transfer_headers(transfer, "application/vhd");
    headers.extend(transfer.content_length(len));
    headers.push((
        "Content-Disposition",
        format!("attachment; filename=\"{uuid}.vhd\""),
    ));
    write_head(out, "HTTP/1.1", 200, &headers)?;
    let progress = TaskProgress::new(transfer, disk.size());
    let mut wire = WireWriter::new(out, transfer);
    vhd.write(&mut wire, &progress)
        .map_err(|e| cut_within(e).unwrap_or_else(io::Error::other))?;
    wire.flush()
}

/// A disk whose data ranges are only the VHD blocks that differ from a base disk.
struct DiffDisk {
    disk: FileDisk,
    ranges: Vec<Range<u64>>,
}

impl DiffDisk {
    fn new(disk: FileDisk, base: &FileDisk) -> io::Result<Self> {
        let size = disk.size();
        let mut candidates: Vec<u64> = disk
            .data_ranges()?
            .into_iter()
            .chain(base.data_ranges()?)
            .flat_map(|r| (r.start / VHD_BLOCK)..r.end.min(size).div_ceil(VHD_BLOCK))
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        let mut ranges = Vec::new();
        let (mut ours, mut theirs) = (vec![0u8; VHD_BLOCK as usize], vec![0u8; VHD_BLOCK as usize]);
        for block in candidates {
            let start = block * VHD_BLOCK;
            let len = (size - start).min(VHD_BLOCK) as usize;
            disk.read_exact_at(&mut ours[..len], start)?;
            let in_base = base.size().saturating_sub(start).min(len as u64) as usize;
            theirs[..len].fill(0);
            base.read_exact_at(&mut theirs[..in_base], start)?;
            if ours[..len] != theirs[..len] {
                ranges.push(start..start + len as u64);
            }
        }
        Ok(DiffDisk { disk, ranges })
    }
}

impl RandomAccessDisk for DiffDisk {
    fn size(&self) -> u64 {
        self.disk.size()
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.disk.read_exact_at(buf, offset)
    }
    fn data_ranges(&self) -> io::Result<Vec<Range<u64>>> {
        Ok(self.ranges.clone())
    }
    fn name(&self) -> String {
        self.disk.name()
    }
}

/// `PUT /import_raw_vdi`.
pub(crate) fn import_raw_vdi(transfer: &Transfer<'_>, connection: &mut Connection) -> Outcome {
    let length = match transfer.request.content_length() {
        Ok(length) => length,
        Err(error) => return Outcome::refused(io_failure(&error)),
    };
    let checked = transfer.ctx.shared.mutate(|pool| {
        let format = format(transfer)?;
        let requested = requested_vdi(pool, transfer, "vdi")?;
        let (vdi, created) = if let Some(vdi) = requested {
            (vdi, false)
        } else {
            let size = length.filter(|_| format == "raw").ok_or_else(|| {
                XapiError::new(
                    "INVALID_VALUE",
                    ["vdi", "a new VDI needs format=raw and a Content-Length"],
                )
            })?;
            let sr = target_sr(pool, transfer)?;
            let record = VdiRecord {
                name_label: "Imported VDI".to_owned(),
                sr,
                virtual_size: i64::try_from(size).map_err(|_| XapiError::internal("too large"))?,
                ..VdiRecord::default()
            };
            (pool.create_vdi(record)?, true)
        };
        if pool.vdi_attached(&vdi) {
            return Err(XapiError::new("VDI_IN_USE", [vdi.as_str(), "import"]));
        }
        Ok((vdi.clone(), pool.vdi_path(&vdi)?, format, created))
    });
    let (vdi, path, format, created) = match checked {
        Ok(checked) => checked,
        Err(error) => return Outcome::refused(error),
    };
    if let Err(outcome) = accept_upload(transfer, connection) {
        return outcome;
    }
    let mut body = BodyReader::new(connection, length, transfer);
    let written = if format == "raw" {
        receive_raw(&path, &mut body).map(|whole| vec![whole])
    } else {
        receive_vhd(&path, &mut body)
    };
    let abrupt = written.as_ref().is_err_and(is_cut);
    let result = written.map_err(|e| io_failure(&e)).map(|ranges| {
        let mut pool = transfer.ctx.shared.lock();
        for range in ranges {
            pool.record_write(&vdi, range.start, range.end - range.start);
        }
        transfer.ctx.shared.save(&pool);
        encode_value(&Value::from(&vdi))
    });
    if !abrupt {
        drain_body(&mut body, result.is_err());
    }
    if result.is_err() && created {
        let _ = transfer.ctx.shared.mutate(|pool| pool.destroy_vdi(&vdi));
    }
    Outcome {
        result,
        head_sent: true,
        abrupt,
    }
}

/// Writes the raw body over the disk from its start; returns the range written.
fn receive_raw(path: &Path, body: &mut BodyReader<'_>) -> io::Result<Range<u64>> {
    let file = disks::open_for_write(path)?;
    let size = file.metadata()?.len();
    let mut buf = vec![0u8; PIECE];
    let mut offset = 0u64;
    loop {
        let n = read_full(body, &mut buf)?;
        if n == 0 {
            break;
        }
        if offset + n as u64 > size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the body is larger than the VDI ({size} bytes)"),
            ));
        }
        disks::overwrite_at(&file, offset, &buf[..n])?;
        offset += n as u64;
    }
    file.sync_all()?;
    Ok(0..offset)
}

/// Spools a VHD body next to the disk (a name of its own per request: a client's empty
/// probe of the same VDI may still be finishing), then writes its allocated blocks into
/// the disk.
fn receive_vhd(path: &Path, body: &mut BodyReader<'_>) -> io::Result<Vec<Range<u64>>> {
    let spool = path.with_extension(format!("upload-{}.vhd", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let mut file = File::create(&spool)?;
        io::copy(body, &mut file)?;
        file.sync_all()?;
        let vhd = VhdDisk::open(&spool).map_err(io::Error::other)?;
        let disk = disks::open_for_write(path)?;
        let size = disk.metadata()?.len();
        if vhd.size() != size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the VHD holds {} bytes, the VDI {size}", vhd.size()),
            ));
        }
        let ranges = vhd.data_ranges()?;
        let mut buf = vec![0u8; PIECE];
        for range in &ranges {
            let mut offset = range.start;
            while offset < range.end {
                let len = (range.end - offset).min(PIECE as u64) as usize;
                vhd.read_exact_at(&mut buf[..len], offset)?;
                disks::overwrite_at(&disk, offset, &buf[..len])?;
                offset += len as u64;
            }
        }
        Ok(ranges)
    })();
    let _ = fs::remove_file(&spool);
    result
}

fn read_full(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}
