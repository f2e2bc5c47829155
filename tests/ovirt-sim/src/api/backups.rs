//! `/vms/V/backups` and `/vms/V/checkpoints`: the incremental backup API. A backup creates
//! a checkpoint (a qcow2 bitmap in each `backup=incremental` disk); from a previous
//! checkpoint, its downloads serve dirty extents from that bitmap. Phases: `initializing`,
//! `ready`, then after finalize `finalizing`, `succeeded`.

use std::time::Instant;

use super::{ApiRequest, collection};
use crate::engine::{Engine, Handled, Reply, new_id, now_text};
use crate::model::{Backup, BackupPhase, Checkpoint};
use crate::storage;
use crate::views;
use crate::xml::Xml;

pub(super) fn route(engine: &mut Engine, r: &ApiRequest<'_>, vm_id: &str) -> Handled {
    engine.vm(vm_id)?;
    match (r.method, &r.segments[2..]) {
        ("GET", ["backups"]) => Ok(collection("backups", |x| {
            for b in engine.backups.iter().filter(|b| b.vm == vm_id) {
                views::backup(b, x);
            }
        })),
        ("POST", ["backups"]) => add(engine, r, vm_id),
        ("GET", ["backups", id]) => {
            let b = backup(engine, vm_id, id)?;
            let mut x = Xml::new();
            views::backup(b, &mut x);
            Ok(Reply::xml(200, x.finish()))
        }
        ("GET", ["backups", id, "disks"]) => {
            let b = backup(engine, vm_id, id)?;
            Ok(collection("disks", |x| {
                for disk in b.disks.iter().filter_map(|d| engine.disk(d).ok()) {
                    let incremental = b
                        .from_checkpoint
                        .as_ref()
                        .is_some_and(|c| disk.bitmaps.contains(c));
                    x.open(
                        "disk",
                        &[
                            ("href", &format!("{}/disks/{}", crate::API, disk.id)),
                            ("id", &disk.id),
                        ],
                    );
                    x.leaf("name", &disk.name).leaf(
                        "backup",
                        if disk.incremental {
                            "incremental"
                        } else {
                            "none"
                        },
                    );
                    x.leaf(
                        "backup_mode",
                        if incremental { "incremental" } else { "full" },
                    );
                    x.leaf("format", disk.format.name())
                        .leaf("provisioned_size", disk.provisioned_size);
                    x.close("disk");
                }
            }))
        }
        ("POST", ["backups", id, "finalize"]) => {
            let step = engine.timing.backup_step;
            let b = engine
                .backups
                .iter_mut()
                .find(|b| b.vm == vm_id && b.id == *id)
                .ok_or_else(Reply::not_found)?;
            if b.phase != BackupPhase::Ready {
                return Err(Reply::busy(&format!(
                    "Cannot finalize the backup in phase {}",
                    b.phase.name()
                )));
            }
            if engine
                .transfers
                .iter()
                .any(|t| t.backup.as_deref() == Some(*id) && !t.phase.is_over())
            {
                return Err(Reply::busy(
                    "Cannot finalize the backup: an image transfer is in progress",
                ));
            }
            let b = engine
                .backups
                .iter_mut()
                .find(|b| b.id == *id)
                .expect("found above");
            b.phase = BackupPhase::Finalizing;
            b.next_at = Some(Instant::now() + step);
            Ok(Reply::action())
        }
        ("GET", ["checkpoints"]) => Ok(collection("checkpoints", |x| {
            for c in engine.checkpoints.iter().filter(|c| c.vm == vm_id) {
                views::checkpoint(c, x);
            }
        })),
        ("GET", ["checkpoints", id]) => {
            let c = engine
                .checkpoints
                .iter()
                .find(|c| c.vm == vm_id && c.id == *id)
                .ok_or_else(Reply::not_found)?;
            let mut x = Xml::new();
            views::checkpoint(c, &mut x);
            Ok(Reply::xml(200, x.finish()))
        }
        ("DELETE", ["checkpoints", id]) => remove_checkpoint(engine, vm_id, id),
        _ => Err(Reply::not_found()),
    }
}

fn backup<'a>(engine: &'a Engine, vm_id: &str, id: &str) -> Result<&'a Backup, Reply> {
    engine
        .backups
        .iter()
        .find(|b| b.vm == vm_id && b.id == id)
        .ok_or_else(Reply::not_found)
}

fn add(engine: &mut Engine, r: &ApiRequest<'_>, vm_id: &str) -> Handled {
    let body = r.body()?;
    let disks: Vec<String> = body
        .child("disks")
        .map(|d| {
            d.all("disk")
                .filter_map(|d| d.attr("id"))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if disks.is_empty() {
        return Err(Reply::fault(
            400,
            "Incomplete parameters",
            "Backup [disks] required for add",
        ));
    }
    let vm = engine.vm(vm_id)?;
    for disk in &disks {
        if !vm
            .attachments
            .iter()
            .any(|a| a.disk == *disk && a.snapshot.is_none())
        {
            return Err(Reply::bad_request(&format!(
                "Disk {disk} is not attached to the VM"
            )));
        }
        engine.require_unlocked(disk)?;
    }
    if engine
        .backups
        .iter()
        .any(|b| b.vm == vm_id && b.phase != BackupPhase::Succeeded)
    {
        return Err(Reply::busy(
            "Cannot backup VM: a backup is already in progress.",
        ));
    }
    let from = body
        .text_at("from_checkpoint_id")
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    if let Some(from) = &from
        && !engine
            .checkpoints
            .iter()
            .any(|c| c.vm == vm_id && c.id == *from)
    {
        return Err(Reply::bad_request(&format!(
            "Checkpoint {from} does not exist for the VM"
        )));
    }
    let checkpoint = new_id();
    let mut marked = Vec::new();
    for disk_id in &disks {
        let disk = engine.disk_mut(disk_id)?;
        if disk.incremental {
            storage::add_bitmap(disk, &checkpoint)
                .map_err(|e| Reply::fault(500, "Operation Failed", &e.to_string()))?;
            marked.push(disk_id.clone());
        }
    }
    let parent = engine
        .checkpoints
        .iter()
        .rev()
        .find(|c| c.vm == vm_id)
        .map(|c| c.id.clone());
    engine.checkpoints.push(Checkpoint {
        id: checkpoint.clone(),
        vm: vm_id.to_owned(),
        parent,
        disks: marked,
        created: now_text(),
    });
    let b = Backup {
        id: body.attr("id").map_or_else(new_id, str::to_owned),
        vm: vm_id.to_owned(),
        disks,
        from_checkpoint: from,
        to_checkpoint: checkpoint,
        phase: BackupPhase::Initializing,
        next_at: Some(Instant::now() + engine.timing.backup_step),
        created: now_text(),
    };
    let mut x = Xml::new();
    views::backup(&b, &mut x);
    engine.backups.push(b);
    Ok(Reply::xml(201, x.finish()))
}

fn remove_checkpoint(engine: &mut Engine, vm_id: &str, id: &str) -> Handled {
    let oldest = engine
        .checkpoints
        .iter()
        .find(|c| c.vm == vm_id)
        .map(|c| c.id.clone());
    match oldest {
        None => return Err(Reply::not_found()),
        Some(oldest) if oldest != id => {
            if engine
                .checkpoints
                .iter()
                .any(|c| c.vm == vm_id && c.id == id)
            {
                return Err(Reply::bad_request(
                    "Only the root checkpoint of a VM can be removed",
                ));
            }
            return Err(Reply::not_found());
        }
        Some(_) => {}
    }
    let index = engine
        .checkpoints
        .iter()
        .position(|c| c.id == id)
        .expect("found above");
    let checkpoint = engine.checkpoints.remove(index);
    for disk in &checkpoint.disks {
        if let Ok(disk) = engine.disk_mut(disk) {
            storage::remove_bitmap(disk, id)
                .map_err(|e| Reply::fault(500, "Operation Failed", &e.to_string()))?;
        }
    }
    if let Some(next) = engine.checkpoints.iter_mut().find(|c| c.vm == vm_id) {
        next.parent = None;
    }
    Ok(Reply::removed())
}
