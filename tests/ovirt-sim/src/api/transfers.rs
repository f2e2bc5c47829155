//! `/imagetransfers`: the engine side of a transfer through the REAL imageio daemon. Adding
//! one installs a ticket (as vdsm would) for the disk's file (`format=cow`: the file backend)
//! or for a qemu-nbd export of its chain (`format=raw`: guest data, extents, and dirty
//! extents in a backup); the transfer is `initializing` for a while, then `transferring`;
//! finalize removes the ticket and passes through `finalizing_success` (or, by the knob or a
//! failed verification, `finalizing_failure`, which deletes an uploaded disk); cancel removes
//! the ticket (and an uploaded disk); extend renews the ticket for an hour. Pausing and
//! resuming are not simulated (404).

use std::time::Instant;

use super::{ApiRequest, collection, number};
use crate::engine::{Engine, Handled, Reply, new_id};
use crate::imageio::{NbdExport, NbdFormat, NbdOptions, Ticket, TicketOp, file_url};
use crate::model::{BackupPhase, Format, Phase, Transfer, Volume};
use crate::views;
use crate::xml::Xml;

pub(super) fn route(engine: &mut Engine, r: &ApiRequest<'_>) -> Handled {
    match (r.method, r.segments.as_slice()) {
        ("GET", [_]) => Ok(collection("image_transfers", |x| {
            for t in &engine.transfers {
                views::transfer(engine, t, x);
            }
        })),
        ("POST", [_]) => add(engine, r),
        ("GET", [_, id]) => {
            let t = engine
                .transfers
                .iter()
                .find(|t| t.id == *id)
                .ok_or_else(Reply::not_found)?;
            let mut x = Xml::new();
            views::transfer(engine, t, &mut x);
            Ok(Reply::xml(200, x.finish()))
        }
        ("POST", [_, id, "finalize"]) => finalize(engine, id),
        ("POST", [_, id, "cancel"]) => cancel(engine, id),
        ("POST", [_, id, "extend"]) => {
            let t = engine
                .transfers
                .iter()
                .find(|t| t.id == *id)
                .ok_or_else(Reply::not_found)?;
            if t.phase.is_over() {
                return Err(Reply::bad_request("The transfer is already finished"));
            }
            engine
                .daemon()?
                .extend_ticket(&t.ticket, 3600)
                .map_err(|e| {
                    Reply::fault(
                        500,
                        "Operation Failed",
                        &format!("Failed to extend the image ticket: {e}"),
                    )
                })?;
            Ok(Reply::action())
        }
        _ => Err(Reply::not_found()),
    }
}

#[allow(clippy::too_many_lines)] // the engine's checks in order, then the backend
fn add(engine: &mut Engine, r: &ApiRequest<'_>) -> Handled {
    let body = r.body()?;
    let upload = match body.text_at("direction").unwrap_or("upload") {
        "upload" => true,
        "download" => false,
        other => {
            return Err(Reply::bad_request(&format!(
                "Invalid value '{other}' for 'direction'"
            )));
        }
    };
    let snapshot_image = body.child("snapshot").and_then(|s| s.attr("id"));
    let disk_id = match (
        body.child("disk").and_then(|d| d.attr("id")),
        body.child("image").and_then(|d| d.attr("id")),
        snapshot_image,
    ) {
        (Some(id), _, _) | (None, Some(id), _) => id.to_owned(),
        (None, None, Some(image)) => engine
            .disks
            .iter()
            .find(|d| d.volumes.iter().any(|v| v.image_id == image))
            .map(|d| d.id.clone())
            .ok_or_else(Reply::not_found)?,
        (None, None, None) => {
            return Err(Reply::fault(
                400,
                "Incomplete parameters",
                "ImageTransfer [disk.id|snapshot.id] required for add",
            ));
        }
    };
    let disk = engine.disk(&disk_id)?;
    let format = match body.text_at("format") {
        None => disk.format,
        Some(text) => Format::parse(text)
            .ok_or_else(|| Reply::bad_request(&format!("Invalid value '{text}' for 'format'")))?,
    };
    engine.require_unlocked(&disk_id)?;
    if engine
        .transfers
        .iter()
        .any(|t| t.disk == disk_id && !t.phase.is_over())
    {
        return Err(Reply::busy(
            "Cannot transfer Virtual Disk: Disk is locked (another transfer is in progress).",
        ));
    }
    let backup = match body.child("backup").and_then(|b| b.attr("id")) {
        Some(id) => {
            let b = engine
                .backups
                .iter()
                .find(|b| b.id == id)
                .ok_or_else(Reply::not_found)?;
            if b.phase != BackupPhase::Ready || !b.disks.contains(&disk_id) || upload {
                return Err(Reply::bad_request(
                    "The backup is not ready, or does not hold this disk",
                ));
            }
            Some(b.clone())
        }
        None => None,
    };
    let volume: Volume = match snapshot_image {
        Some(image) => {
            if upload {
                return Err(Reply::bad_request("A disk snapshot can only be downloaded"));
            }
            disk.volumes
                .iter()
                .find(|v| v.image_id == image)
                .cloned()
                .ok_or_else(Reply::not_found)?
        }
        None => disk.active().clone(),
    };
    if format == Format::Cow
        && (disk.volumes.len() > 1 && snapshot_image.is_none() || volume.format != Format::Cow)
    {
        return Err(Reply::bad_request(
            "format=cow transfers need a single qcow2 volume; use format=raw",
        ));
    }
    let id = new_id();
    let ticket_id = new_id();
    let ops: &[TicketOp] = if upload {
        &[TicketOp::Write]
    } else {
        &[TicketOp::Read]
    };
    let inactivity_timeout = number(body, "inactivity_timeout")?.unwrap_or(60);
    let provisioned = disk.provisioned_size;
    let (url, size, nbd, dirty) = match format {
        Format::Cow => {
            let size = provisioned + provisioned / 8 + (16 << 20);
            (file_url(&volume.path), size, None, false)
        }
        Format::Raw => {
            let mut options = NbdOptions::new(if volume.format == Format::Cow {
                NbdFormat::Qcow2
            } else {
                NbdFormat::Raw
            });
            options.read_only = !upload;
            let bitmap = backup
                .as_ref()
                .and_then(|b| b.from_checkpoint.clone())
                .filter(|c| disk.bitmaps.contains(c));
            let dirty = bitmap.is_some();
            options.bitmap = bitmap;
            let export = NbdExport::start(&volume.path, &options).map_err(|e| {
                Reply::fault(
                    500,
                    "Operation Failed",
                    &format!("Failed to prepare the image: {e}"),
                )
            })?;
            (export.url(), provisioned, Some(export), dirty)
        }
    };
    let mut ticket = Ticket::new(ticket_id.clone(), size, url, ops);
    ticket.transfer_id = Some(id.clone());
    ticket.inactivity_timeout = inactivity_timeout;
    ticket.dirty = dirty;
    engine.daemon()?.add_ticket(&ticket).map_err(|e| {
        Reply::fault(
            500,
            "Operation Failed",
            &format!("Failed to add the image ticket: {e}"),
        )
    })?;
    let transfer = Transfer {
        id,
        disk: disk_id,
        snapshot_image: snapshot_image.map(str::to_owned),
        upload,
        format,
        phase: Phase::Initializing,
        next_at: Some(Instant::now() + engine.timing.transfer_step),
        ticket: ticket_id,
        nbd,
        backup: backup.map(|b| b.id),
        inactivity_timeout,
        timeout_policy: body
            .text_at("timeout_policy")
            .unwrap_or("legacy")
            .to_owned(),
    };
    let mut x = Xml::new();
    views::transfer(engine, &transfer, &mut x);
    engine.transfers.push(transfer);
    Ok(Reply::xml(201, x.finish()))
}

/// Removes the ticket and stops the export.
fn close(engine: &mut Engine, index: usize) -> Result<(), Reply> {
    let ticket = engine.transfers[index].ticket.clone();
    engine.daemon()?.remove_ticket(&ticket).map_err(|e| {
        Reply::fault(
            500,
            "Operation Failed",
            &format!("Failed to remove the image ticket: {e}"),
        )
    })?;
    engine.transfers[index].nbd = None;
    Ok(())
}

fn finalize(engine: &mut Engine, id: &str) -> Handled {
    let index = engine
        .transfers
        .iter()
        .position(|t| t.id == id)
        .ok_or_else(Reply::not_found)?;
    match engine.transfers[index].phase {
        Phase::Transferring => {}
        Phase::Initializing => {
            return Err(Reply::busy("Cannot finalize: the transfer is initializing"));
        }
        _ => return Err(Reply::bad_request("The transfer is already finished")),
    }
    close(engine, index)?;
    let knob = engine.faults.take_fail_finalize();
    let verified = verify(engine, index);
    let t = &mut engine.transfers[index];
    t.phase = if knob || !verified {
        Phase::FinalizingFailure
    } else {
        Phase::FinalizingSuccess
    };
    t.next_at = Some(Instant::now() + engine.timing.transfer_step);
    Ok(Reply::action())
}

/// What finalize checks: an upload into a qcow2 volume through the file backend must have
/// left a qcow2 image without a backing file.
fn verify(engine: &Engine, index: usize) -> bool {
    let t = &engine.transfers[index];
    if !t.upload || t.format != Format::Cow {
        return true;
    }
    let Ok(disk) = engine.disk(&t.disk) else {
        return false;
    };
    let path = disk.active().path.as_os_str();
    let Ok(output) = crate::tools::run(
        "qemu-img",
        &["info".as_ref(), "--output=json".as_ref(), path],
    ) else {
        return false;
    };
    let Ok(info) = serde_json::from_str::<serde_json::Value>(&output) else {
        return false;
    };
    info["format"] == "qcow2" && info.get("backing-filename").is_none()
}

fn cancel(engine: &mut Engine, id: &str) -> Handled {
    let index = engine
        .transfers
        .iter()
        .position(|t| t.id == id)
        .ok_or_else(Reply::not_found)?;
    if engine.transfers[index].phase.is_over() {
        return Err(Reply::bad_request("The transfer is already finished"));
    }
    close(engine, index)?;
    let t = &mut engine.transfers[index];
    t.phase = Phase::Cancelled;
    t.next_at = None;
    if t.upload {
        let disk = t.disk.clone();
        engine.remove_disk_now(&disk);
    }
    Ok(Reply::action())
}
