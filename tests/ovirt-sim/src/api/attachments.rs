//! `/vms/V/diskattachments`: attach an existing disk, the snapshot of a disk (the backup
//! appliance way) or a new disk; (de)activate; detach (by default the disk stays). On the
//! backup appliance an active attachment is a real loop device ([`crate::appliance`]).

use super::{ApiRequest, boolean, collection};
use crate::appliance::LoopDevice;
use crate::engine::{Engine, Handled, Reply, new_id};
use crate::model::{Attachment, Format};
use crate::storage;
use crate::views;
use crate::xml::Xml;

pub(super) fn route(engine: &mut Engine, r: &ApiRequest<'_>, vm_id: &str) -> Handled {
    match (r.method, &r.segments[3..]) {
        ("GET", []) => {
            let vm = engine.vm(vm_id)?;
            Ok(collection("disk_attachments", |x| {
                for a in &vm.attachments {
                    views::attachment(engine, vm, a, false, x);
                }
            }))
        }
        ("POST", []) => add(engine, r, vm_id),
        ("GET", [disk]) => {
            let vm = engine.vm(vm_id)?;
            let a = vm
                .attachments
                .iter()
                .find(|a| a.disk == *disk)
                .ok_or_else(Reply::not_found)?;
            let mut x = Xml::new();
            views::attachment(engine, vm, a, false, &mut x);
            Ok(Reply::xml(200, x.finish()))
        }
        ("PUT", [disk]) => update(engine, r, vm_id, disk),
        ("DELETE", [disk]) => {
            let detach_only = r.flag("detach_only", true)?;
            let vm = engine.vm_mut(vm_id)?;
            let index = vm
                .attachments
                .iter()
                .position(|a| a.disk == *disk)
                .ok_or_else(Reply::not_found)?;
            // Dropping the attachment releases its loop device.
            let attachment = vm.attachments.remove(index);
            drop(attachment);
            if !detach_only {
                engine.remove_disk_now(disk);
            }
            Ok(Reply::removed())
        }
        _ => Err(Reply::not_found()),
    }
}

fn add(engine: &mut Engine, r: &ApiRequest<'_>, vm_id: &str) -> Handled {
    engine.vm(vm_id)?;
    let body = r.body()?;
    let incomplete = |what: &str| {
        Reply::fault(
            400,
            "Incomplete parameters",
            &format!("DiskAttachment [{what}] required for add"),
        )
    };
    let disk_node = body.child("disk").ok_or_else(|| incomplete("disk"))?;
    let interface = body
        .text_at("interface")
        .ok_or_else(|| incomplete("interface"))?
        .to_owned();
    if !["virtio", "virtio_scsi", "ide", "sata", "spapr_vscsi"].contains(&interface.as_str()) {
        return Err(Reply::bad_request(&format!(
            "Invalid value '{interface}' for 'interface'"
        )));
    }
    let bootable = boolean(body, "bootable")?.unwrap_or(false);
    let active = boolean(body, "active")?.unwrap_or(false);
    let pass_discard = boolean(body, "pass_discard")?.unwrap_or(false);
    let snapshot = disk_node
        .child("snapshot")
        .and_then(|s| s.attr("id"))
        .map(str::to_owned);
    let disk_id = match disk_node.attr("id") {
        Some(id) if disk_node.child("provisioned_size").is_none() => {
            engine.disk(id)?;
            if snapshot.is_none() {
                engine.require_unlocked(id)?;
            }
            if let Some(snapshot) = &snapshot {
                let frozen = engine
                    .disk(id)?
                    .volumes
                    .iter()
                    .any(|v| v.snapshot.as_deref() == Some(snapshot.as_str()));
                if !frozen {
                    return Err(Reply::fault(
                        404,
                        "Not Found",
                        "The disk has no such snapshot",
                    ));
                }
            }
            id.to_owned()
        }
        _ => super::disks::create(engine, disk_node)?,
    };
    if engine.vms.iter().any(|vm| {
        vm.attachments
            .iter()
            .any(|a| a.disk == disk_id && a.snapshot == snapshot)
    }) {
        return Err(Reply::fault(
            409,
            "Operation Failed",
            "[Cannot attach Virtual Disk: the disk is already attached to a VM.]",
        ));
    }
    let mut attachment = Attachment {
        disk: disk_id,
        bootable,
        interface,
        active,
        pass_discard,
        snapshot,
        device: None,
    };
    if active && engine.appliance.as_deref() == Some(vm_id) && !engine.faults.devices_hidden() {
        attachment.device = Some(plug(engine, &attachment)?);
    }
    let vm = engine.vm(vm_id)?;
    let mut x = Xml::new();
    views::attachment(engine, vm, &attachment, false, &mut x);
    engine.vm_mut(vm_id)?.attachments.push(attachment);
    Ok(Reply::xml(201, x.finish()))
}

fn update(engine: &mut Engine, r: &ApiRequest<'_>, vm_id: &str, disk: &str) -> Handled {
    let body = r.body()?;
    let active = boolean(body, "active")?;
    let bootable = boolean(body, "bootable")?;
    let appliance = engine.appliance.as_deref() == Some(vm_id);
    let index = engine
        .vm(vm_id)?
        .attachments
        .iter()
        .position(|a| a.disk == disk)
        .ok_or_else(Reply::not_found)?;
    let device = match active {
        Some(true) if appliance && engine.vm(vm_id)?.attachments[index].device.is_none() => {
            Some(plug(engine, &engine.vm(vm_id)?.attachments[index])?)
        }
        _ => None,
    };
    let vm = engine.vm_mut(vm_id)?;
    let attachment = &mut vm.attachments[index];
    if let Some(active) = active {
        attachment.active = active;
        if !active {
            attachment.device = None;
        }
    }
    if device.is_some() {
        attachment.device = device;
    }
    if let Some(bootable) = bootable {
        attachment.bootable = bootable;
    }
    // The disk's own properties go inline, as the API edits an attached disk.
    if let Some(description) = body.text_at("disk/description") {
        description.clone_into(&mut engine.disk_mut(disk)?.description);
    }
    let vm = engine.vm(vm_id)?;
    let mut x = Xml::new();
    views::attachment(engine, vm, &vm.attachments[index], false, &mut x);
    Ok(Reply::xml(200, x.finish()))
}

/// The appliance's loop device for an attachment: the raw volume itself, or a scratch raw
/// copy of the snapshot (or qcow2 chain).
fn plug(engine: &Engine, attachment: &Attachment) -> Result<LoopDevice, Reply> {
    let disk = engine.disk(&attachment.disk)?;
    let failed = |e: crate::SimError| {
        Reply::fault(
            500,
            "Operation Failed",
            &format!("Failed to hot-plug disk: {e}"),
        )
    };
    let volume = match &attachment.snapshot {
        Some(snapshot) => disk
            .volumes
            .iter()
            .find(|v| v.snapshot.as_deref() == Some(snapshot.as_str()))
            .ok_or_else(Reply::not_found)?,
        None => disk.active(),
    };
    let direct =
        attachment.snapshot.is_none() && disk.volumes.len() == 1 && volume.format == Format::Raw;
    if direct {
        return LoopDevice::attach(&volume.path, None, &engine.by_id_dir, &disk.id).map_err(failed);
    }
    let scratch = engine
        .scratch
        .join(format!("appliance-{}-{}.raw", disk.id, new_id()));
    storage::export_raw(volume, &scratch).map_err(failed)?;
    LoopDevice::attach(&scratch, Some(scratch.clone()), &engine.by_id_dir, &disk.id).map_err(|e| {
        let _ = std::fs::remove_file(&scratch);
        failed(e)
    })
}
