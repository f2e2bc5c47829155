//! `/vms/V/snapshots`: list (the `active` snapshot first), get (the OVF with `all_content`),
//! add (all disks or the ones listed; `locked` for a while), remove (merged in the
//! background: `locked`, then gone), and a snapshot's disks.

use std::time::Instant;

use super::{ApiRequest, active_snapshot_id, boolean, collection};
use crate::engine::{Engine, Handled, Reply, new_id, now_text};
use crate::model::Snapshot;
use crate::storage;
use crate::views;
use crate::xml::Xml;

pub(super) fn route(engine: &mut Engine, r: &ApiRequest<'_>, vm_id: &str) -> Handled {
    match (r.method, &r.segments[3..]) {
        ("GET", []) => {
            let vm = engine.vm(vm_id)?;
            Ok(collection("snapshots", |x| {
                views::active_snapshot(vm, x);
                for s in &vm.snapshots {
                    views::snapshot(vm, s, r.all_content, x);
                }
            }))
        }
        ("POST", []) => add(engine, r, vm_id),
        ("GET", [id]) => {
            let vm = engine.vm(vm_id)?;
            let mut x = Xml::new();
            if *id == active_snapshot_id(vm_id) {
                views::active_snapshot(vm, &mut x);
            } else {
                let s = vm
                    .snapshots
                    .iter()
                    .find(|s| s.id == *id)
                    .ok_or_else(Reply::not_found)?;
                views::snapshot(vm, s, r.all_content, &mut x);
            }
            Ok(Reply::xml(200, x.finish()))
        }
        ("DELETE", [id]) => remove(engine, vm_id, id),
        ("GET", [id, "disks"]) => {
            let vm = engine.vm(vm_id)?;
            let s = vm
                .snapshots
                .iter()
                .find(|s| s.id == *id)
                .ok_or_else(Reply::not_found)?;
            Ok(collection("disks", |x| {
                for disk in s.disks.iter().filter_map(|d| engine.disk(d).ok()) {
                    views::snapshot_disk(disk, &s.id, x);
                }
            }))
        }
        _ => Err(Reply::not_found()),
    }
}

fn add(engine: &mut Engine, r: &ApiRequest<'_>, vm_id: &str) -> Handled {
    let body = r.body()?;
    let description = body
        .text_at("description")
        .filter(|d| !d.is_empty())
        .ok_or_else(|| {
            Reply::fault(
                400,
                "Incomplete parameters",
                "Snapshot [description] required for add",
            )
        })?
        .to_owned();
    let persist_memory = boolean(body, "persist_memorystate")?.unwrap_or(true);
    let vm = engine.vm(vm_id)?;
    let own: Vec<String> = vm
        .attachments
        .iter()
        .filter(|a| a.snapshot.is_none())
        .map(|a| a.disk.clone())
        .collect();
    let disks: Vec<String> = match body.child("disk_attachments") {
        Some(list) => {
            let mut chosen = Vec::new();
            for a in list.all("disk_attachment") {
                let id = a.child("disk").and_then(|d| d.attr("id")).ok_or_else(|| {
                    Reply::fault(
                        400,
                        "Incomplete parameters",
                        "DiskAttachment [disk.id] required",
                    )
                })?;
                if !own.iter().any(|d| d == id) {
                    return Err(Reply::bad_request(&format!(
                        "Disk {id} is not attached to the VM"
                    )));
                }
                chosen.push(id.to_owned());
            }
            chosen
        }
        None => own,
    };
    if vm
        .snapshots
        .iter()
        .any(|s| Instant::now() < s.ready_at || s.removing_at.is_some())
    {
        return Err(Reply::busy(
            "Cannot create Snapshot. Snapshot is currently being created or removed for VM.",
        ));
    }
    for disk in &disks {
        engine.require_unlocked(disk)?;
    }
    let ovf = crate::ovf::of_vm(engine, vm);
    let id = new_id();
    let lock = engine.lock_until(engine.timing.snapshot_lock);
    for disk_id in &disks {
        let disk = engine.disk_mut(disk_id)?;
        storage::snapshot_volume(disk, &id, &new_id())
            .map_err(|e| Reply::fault(500, "Operation Failed", &e.to_string()))?;
        disk.locked_until = lock;
    }
    let snapshot = Snapshot {
        id,
        description,
        date: now_text(),
        persist_memory,
        disks,
        ovf,
        ready_at: Instant::now()
            + engine
                .timing
                .snapshot_lock
                .max(engine.faults.snapshot_lock().unwrap_or_default()),
        removing_at: None,
    };
    let vm = engine.vm(vm_id)?;
    let mut x = Xml::new();
    views::snapshot(vm, &snapshot, false, &mut x);
    engine.vm_mut(vm_id)?.snapshots.push(snapshot);
    Ok(Reply::xml(201, x.finish()))
}

fn remove(engine: &mut Engine, vm_id: &str, id: &str) -> Handled {
    let vm = engine.vm(vm_id)?;
    let s = vm
        .snapshots
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(Reply::not_found)?;
    if Instant::now() < s.ready_at || s.removing_at.is_some() {
        return Err(Reply::busy(
            "Cannot remove Snapshot. Snapshot is currently being created or removed.",
        ));
    }
    let in_use = engine.vms.iter().any(|v| {
        v.attachments
            .iter()
            .any(|a| a.snapshot.as_deref() == Some(id))
    });
    if in_use {
        return Err(Reply::busy(
            "Cannot remove Snapshot: Disk is locked (a disk of the snapshot is attached to a VM).",
        ));
    }
    let disks = s.disks.clone();
    for disk in &disks {
        engine.require_unlocked(disk)?;
        if engine
            .transfers
            .iter()
            .any(|t| t.disk == *disk && !t.phase.is_over())
        {
            return Err(Reply::busy(
                "Cannot remove Snapshot: Disk is locked (an image transfer is in progress).",
            ));
        }
    }
    let at = engine.lock_until(engine.timing.snapshot_lock);
    for disk in &disks {
        engine.disk_mut(disk)?.locked_until = at;
    }
    let snapshot = engine
        .vm_mut(vm_id)?
        .snapshots
        .iter_mut()
        .find(|s| s.id == id)
        .expect("found above");
    snapshot.removing_at = Some(at);
    Ok(Reply::removed())
}
