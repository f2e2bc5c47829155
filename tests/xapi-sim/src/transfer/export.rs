//! `GET /export` (a VM as an XVA, streamed through disk-image's writer) and
//! `GET /export_metadata` (only `ova.xml`).

use std::io::{self, Write};

use disk_image::compress::{Codec, CompressWriter};
use disk_image::xva::{XvaOptions, write_archive};
use disk_image::{ChecksumKind, DiskInput, FileDisk, NoProgress};
use xenapi::Ref;
use xenapi::records::PowerState;

use super::corrupt::CorruptingWriter;
use super::ova::OvaPlan;
use super::wire::{TaskProgress, WireWriter, cut_within, io_failure, send_whole};
use super::{Outcome, Transfer, transfer_headers};
use crate::error::{XapiError, XapiResult};
use crate::faults::TransferFault;
use crate::http::{Connection, write_head};
use crate::pool::{Pool, power_name};

/// The VM named by `ref` (which wins) or `uuid`.
fn requested_vm(pool: &Pool, transfer: &Transfer<'_>) -> XapiResult<Ref> {
    let request = transfer.request;
    match (request.query("ref"), request.query("uuid")) {
        (Some(reference), _) => pool.resolve_vm(reference),
        (None, Some(uuid)) => pool.vm_by_uuid(uuid),
        (None, None) => Err(XapiError::new("INVALID_VALUE", ["ref", ""])),
    }
}

fn date() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%d").to_string()
}

/// `GET /export`.
pub(crate) fn export(transfer: &Transfer<'_>, connection: &mut Connection) -> Outcome {
    let plan = {
        let pool = transfer.ctx.shared.lock();
        let checked = requested_vm(&pool, transfer).and_then(|vm| {
            let record = pool.vm(&vm)?;
            let exportable = matches!(
                record.power_state,
                PowerState::Halted | PowerState::Suspended
            ) || record.is_a_snapshot
                || record.is_a_template;
            if !exportable {
                return Err(XapiError::new(
                    "VM_BAD_POWER_STATE",
                    [
                        vm.as_str(),
                        power_name(PowerState::Halted),
                        power_name(record.power_state),
                    ],
                ));
            }
            OvaPlan::full(&pool, &vm)
        });
        match checked {
            Ok(plan) => plan,
            Err(error) => return Outcome::refused(error),
        }
    };
    let compression = match transfer.request.query("use_compression") {
        Some("true" | "gzip") => Codec::Gzip { level: 1 },
        Some("zstd") => Codec::Zstd {
            level: 3,
            threads: 0,
        },
        _ => Codec::None,
    };
    let mut headers = transfer_headers(transfer, "application/octet-stream");
    headers.push((
        "Content-Disposition",
        "attachment; filename=\"export.xva\"".to_owned(),
    ));
    let out = connection.get_mut();
    if let Err(error) = write_head(out, "HTTP/1.0", 200, &headers) {
        return Outcome::done(Err(io_failure(&error)));
    }
    Outcome::sent(stream_xva(transfer, &plan, compression, out))
}

fn stream_xva(
    transfer: &Transfer<'_>,
    plan: &OvaPlan,
    compression: Codec,
    out: &mut dyn Write,
) -> io::Result<()> {
    let (document, ids) = plan.document(&date()).map_err(io::Error::other)?;
    let disks = plan
        .streamed
        .iter()
        .map(|disk| FileDisk::open(&disk.path).map_err(io::Error::other))
        .collect::<io::Result<Vec<_>>>()?;
    let inputs = ids
        .iter()
        .cloned()
        .zip(disks.iter().map(|disk| DiskInput::Random(disk)))
        .collect();
    let total = plan.streamed.iter().map(|d| d.size).sum();
    let progress = TaskProgress::new(transfer, total);
    let options = XvaOptions {
        checksum: ChecksumKind::Xxhash,
        xapi_keepalive_every: transfer.ctx.shared.faults.keepalive_every(),
        ..XvaOptions::default()
    };
    let corrupt = transfer.faults.iter().find_map(|f| match f {
        TransferFault::CorruptChunk { disk, chunk } => Some((ids.get(*disk)?.clone(), *chunk)),
        _ => None,
    });
    let wire = WireWriter::new(out, transfer);
    let mut compressor = CompressWriter::new(wire, compression)?;
    let written = match &corrupt {
        Some((id, chunk)) => {
            let mut corrupting = CorruptingWriter::new(&mut compressor, id, *chunk);
            write_archive(
                &document,
                inputs,
                &mut corrupting,
                "the export",
                &options,
                &progress,
            )
        }
        None => write_archive(
            &document,
            inputs,
            &mut compressor,
            "the export",
            &options,
            &progress,
        ),
    };
    written.map_err(|e| cut_within(e).unwrap_or_else(io::Error::other))?;
    compressor.finish()?.flush()
}

/// `GET /export_metadata`: a tar holding only `ova.xml` (the VM and its snapshots), with a
/// `Content-Length`.
pub(crate) fn export_metadata(transfer: &Transfer<'_>, connection: &mut Connection) -> Outcome {
    let document = {
        let pool = transfer.ctx.shared.lock();
        requested_vm(&pool, transfer)
            .and_then(|vm| OvaPlan::metadata(&pool, &vm))
            .and_then(|plan| plan.document(&date()))
            .map(|(document, _)| document)
    };
    let document = match document {
        Ok(document) => document,
        Err(error) => return Outcome::refused(error),
    };
    let mut archive = Vec::with_capacity(document.len() + 2048);
    let written = write_archive(
        &document,
        Vec::new(),
        &mut archive,
        "the metadata export",
        &XvaOptions::default(),
        &NoProgress,
    );
    if let Err(error) = written {
        return Outcome::refused(XapiError::internal(format!(
            "writing the metadata archive: {error}"
        )));
    }
    Outcome::sent(send_whole(
        transfer,
        connection,
        "application/x-tar",
        &archive,
    ))
}
