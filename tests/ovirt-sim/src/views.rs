//! The engine's XML for each object, shaped like a 4.x engine's (see the recorded bodies in
//! `research/ovirt-real/samples/`): `id` and `href` attributes, links by id, lower-case enums.

use std::time::Instant;

use crate::API;
use crate::engine::Engine;
use crate::model::{
    Attachment, Backup, Checkpoint, Disk, Job, Nic, Power, SdKind, Snapshot, StorageDomain, Tag,
    Transfer, Vm,
};
use crate::ovf;
use crate::xml::Xml;

fn open_object(x: &mut Xml, name: &str, href: &str, id: &str) {
    x.open(name, &[("href", href), ("id", id)]);
}

/// A disk (`status` read now).
pub(crate) fn disk(engine: &Engine, disk: &Disk, x: &mut Xml) {
    let now = Instant::now();
    let href = format!("{API}/disks/{}", disk.id);
    open_object(x, "disk", &href, &disk.id);
    let actual = allocated(&disk.active().path);
    x.leaf("name", &disk.name)
        .leaf("alias", &disk.name)
        .leaf("description", &disk.description)
        .leaf("actual_size", actual)
        .leaf(
            "backup",
            if disk.incremental {
                "incremental"
            } else {
                "none"
            },
        )
        .leaf("content_type", "data")
        .leaf("format", disk.format.name())
        .leaf("image_id", &disk.active().image_id)
        .leaf("propagate_errors", "false")
        .leaf("provisioned_size", disk.provisioned_size)
        .leaf("shareable", "false")
        .leaf("sparse", disk.sparse)
        .leaf(
            "status",
            if engine.disk_locked(disk, now) {
                "locked"
            } else {
                "ok"
            },
        )
        .leaf("storage_type", "image")
        .leaf("total_size", actual)
        .leaf("wipe_after_delete", "false");
    x.open("storage_domains", &[])
        .link("storage_domain", "storagedomains", &disk.sd);
    x.close("storage_domains").close("disk");
}

/// A disk as a snapshot holds it (`GET …/snapshots/S/disks`): no href, the frozen image.
pub(crate) fn snapshot_disk(disk: &Disk, snapshot: &str, x: &mut Xml) {
    let volume = disk
        .volumes
        .iter()
        .find(|v| v.snapshot.as_deref() == Some(snapshot))
        .unwrap_or_else(|| disk.active());
    x.open("disk", &[("id", &disk.id)])
        .leaf("name", &disk.name)
        .leaf("alias", &disk.name)
        .leaf("actual_size", allocated(&volume.path))
        .leaf("format", volume.format.name())
        .leaf("image_id", &volume.image_id)
        .leaf("provisioned_size", disk.provisioned_size)
        .leaf("status", "ok")
        .leaf("total_size", allocated(&volume.path));
    x.empty("snapshot", &[("id", snapshot)]);
    x.open("storage_domains", &[])
        .link("storage_domain", "storagedomains", &disk.sd);
    x.close("storage_domains").close("disk");
}

/// Bytes a file holds on disk (its allocation).
fn allocated(path: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).map_or(0, |m| m.blocks() * 512)
}

/// A disk attachment, the disk linked or (`follow`) inlined.
pub(crate) fn attachment(engine: &Engine, vm: &Vm, a: &Attachment, follow_disk: bool, x: &mut Xml) {
    let href = format!("{API}/vms/{}/diskattachments/{}", vm.id, a.disk);
    open_object(x, "disk_attachment", &href, &a.disk);
    x.leaf("active", a.active)
        .leaf("bootable", a.bootable)
        .leaf("interface", &a.interface)
        .leaf("pass_discard", a.pass_discard)
        .leaf("read_only", "false")
        .leaf("uses_scsi_reservation", "false");
    if let Some(device) = &a.device {
        x.leaf("logical_name", device.device().display());
    }
    match engine.disk(&a.disk) {
        Ok(d) if follow_disk => disk(engine, d, x),
        _ => {
            x.link("disk", "disks", &a.disk);
        }
    }
    x.link("vm", "vms", &vm.id).close("disk_attachment");
}

/// A VM; its OVF only with `all_content`.
pub(crate) fn vm(engine: &Engine, vm: &Vm, all_content: bool, follow: Option<&str>, x: &mut Xml) {
    let href = format!("{API}/vms/{}", vm.id);
    open_object(x, "vm", &href, &vm.id);
    x.open("actions", &[]);
    for action in ["shutdown", "start", "stop"] {
        x.empty(
            "link",
            &[("href", &format!("{href}/{action}")), ("rel", action)],
        );
    }
    x.close("actions");
    x.leaf("name", &vm.name)
        .leaf("description", &vm.description);
    for rel in [
        "diskattachments",
        "nics",
        "snapshots",
        "tags",
        "backups",
        "checkpoints",
    ] {
        x.empty("link", &[("href", &format!("{href}/{rel}")), ("rel", rel)]);
    }
    x.open("bios", &[])
        .leaf("type", &vm.bios_type)
        .close("bios");
    x.open("cpu", &[])
        .leaf("architecture", "x86_64")
        .open("topology", &[]);
    x.leaf("cores", vm.cores)
        .leaf("sockets", vm.sockets)
        .leaf("threads", vm.threads);
    x.close("topology").close("cpu");
    x.leaf("creation_time", &vm.created);
    if all_content {
        x.open("initialization", &[]).open("configuration", &[]);
        x.leaf("data", ovf::of_vm(engine, vm)).leaf("type", "ovf");
        x.close("configuration").close("initialization");
    }
    x.leaf("memory", vm.memory);
    x.open("memory_policy", &[])
        .leaf("guaranteed", vm.guaranteed_memory)
        .leaf("max", vm.max_memory);
    x.close("memory_policy");
    x.open("os", &[]).open("boot", &[]).open("devices", &[]);
    for device in &vm.boot {
        x.leaf("device", device);
    }
    x.close("devices")
        .close("boot")
        .leaf("type", &vm.os_type)
        .close("os");
    x.leaf("stateless", "false");
    let status = match (vm.power, vm.power_change) {
        (Power::Down, Some((Power::Up, _))) => "powering_up",
        (Power::Up, Some((Power::Down, _))) => "powering_down",
        (Power::Up, _) => "up",
        (Power::Down, _) => "down",
    };
    x.leaf("status", status).leaf("type", &vm.kind);
    x.link("cluster", "clusters", &engine.cluster.0);
    x.empty(
        "template",
        &[
            (
                "href",
                &format!("{API}/templates/{}", crate::BLANK_TEMPLATE),
            ),
            ("id", crate::BLANK_TEMPLATE),
        ],
    );
    if let Some(follow) = follow
        && follow.split(',').any(|f| f.starts_with("disk_attachments"))
    {
        let follow_disk = follow.split(',').any(|f| f == "disk_attachments.disk");
        x.open("disk_attachments", &[]);
        for a in &vm.attachments {
            attachment(engine, vm, a, follow_disk, x);
        }
        x.close("disk_attachments");
    }
    x.close("vm");
}

/// A NIC.
pub(crate) fn nic(vm: &Vm, nic: &Nic, x: &mut Xml) {
    let href = format!("{API}/vms/{}/nics/{}", vm.id, nic.id);
    open_object(x, "nic", &href, &nic.id);
    x.leaf("name", &nic.name)
        .leaf("interface", &nic.interface)
        .leaf("linked", "true");
    x.open("mac", &[])
        .leaf("address", &nic.mac)
        .close("mac")
        .leaf("plugged", "true");
    if let Some(profile) = &nic.profile {
        x.link("vnic_profile", "vnicprofiles", profile);
    }
    x.link("vm", "vms", &vm.id).close("nic");
}

/// A VM snapshot (with its VM configuration inline, and the OVF with `all_content`).
pub(crate) fn snapshot(vm: &Vm, s: &Snapshot, all_content: bool, x: &mut Xml) {
    let href = format!("{API}/vms/{}/snapshots/{}", vm.id, s.id);
    open_object(x, "snapshot", &href, &s.id);
    x.open("actions", &[]).empty(
        "link",
        &[("href", &format!("{href}/restore")), ("rel", "restore")],
    );
    x.close("actions").leaf("description", &s.description);
    x.empty(
        "link",
        &[("href", &format!("{href}/disks")), ("rel", "disks")],
    );
    x.leaf("date", &s.date)
        .leaf("persist_memorystate", s.persist_memory);
    let locked = Instant::now() < s.ready_at || s.removing_at.is_some();
    x.leaf("snapshot_status", if locked { "locked" } else { "ok" });
    x.leaf("snapshot_type", "regular");
    // A snapshot is a VM (the SDK's Snapshot extends Vm): its OVF is its own.
    if all_content {
        x.open("initialization", &[]).open("configuration", &[]);
        x.leaf("data", &s.ovf).leaf("type", "ovf");
        x.close("configuration").close("initialization");
    }
    x.open("vm", &[("id", &vm.id)])
        .leaf("name", &vm.name)
        .close("vm");
    x.close("snapshot");
}

/// The implicit `active` snapshot every VM lists first.
pub(crate) fn active_snapshot(vm: &Vm, x: &mut Xml) {
    let id = crate::api::active_snapshot_id(&vm.id);
    let href = format!("{API}/vms/{}/snapshots/{id}", vm.id);
    open_object(x, "snapshot", &href, &id);
    x.leaf("description", "Active VM").leaf("date", &vm.created);
    x.leaf("persist_memorystate", "false")
        .leaf("snapshot_status", "ok");
    x.leaf("snapshot_type", "active")
        .link("vm", "vms", &vm.id)
        .close("snapshot");
}

/// An image transfer (the field set of a 4.5 engine).
pub(crate) fn transfer(engine: &Engine, t: &Transfer, x: &mut Xml) {
    let href = format!("{API}/imagetransfers/{}", t.id);
    open_object(x, "image_transfer", &href, &t.id);
    x.open("actions", &[]);
    for action in ["cancel", "finalize", "extend"] {
        x.empty(
            "link",
            &[("href", &format!("{href}/{action}")), ("rel", action)],
        );
    }
    x.close("actions");
    x.leaf("active", !t.phase.is_over())
        .leaf("direction", if t.upload { "upload" } else { "download" })
        .leaf("format", t.format.name())
        .leaf("inactivity_timeout", t.inactivity_timeout)
        .leaf("phase", t.phase.name());
    if !t.phase.is_over() {
        x.leaf(
            "proxy_url",
            format!("{}/images/{}", engine.imageio_base, t.ticket),
        );
    }
    x.leaf("shallow", "false")
        .leaf("timeout_policy", &t.timeout_policy);
    if !t.phase.is_over() {
        x.leaf(
            "transfer_url",
            format!("{}/images/{}", engine.imageio_base, t.ticket),
        );
    }
    x.leaf("transferred", 0);
    x.link("host", "hosts", &engine.host.0);
    x.empty("image", &[("id", &t.disk)]);
    if let Some(image) = &t.snapshot_image {
        x.empty("snapshot", &[("id", image)]);
    }
    if let Some(backup) = &t.backup {
        x.empty("backup", &[("id", backup)]);
    }
    x.close("image_transfer");
}

/// A VM backup.
pub(crate) fn backup(b: &Backup, x: &mut Xml) {
    let href = format!("{API}/vms/{}/backups/{}", b.vm, b.id);
    open_object(x, "backup", &href, &b.id);
    x.open("actions", &[]).empty(
        "link",
        &[("href", &format!("{href}/finalize")), ("rel", "finalize")],
    );
    x.close("actions");
    x.empty(
        "link",
        &[("href", &format!("{href}/disks")), ("rel", "disks")],
    );
    x.leaf("creation_date", &b.created);
    if let Some(from) = &b.from_checkpoint {
        x.leaf("from_checkpoint_id", from);
    }
    x.leaf("phase", b.phase.name())
        .leaf("to_checkpoint_id", &b.to_checkpoint);
    x.open("disks", &[]);
    for disk in &b.disks {
        x.link("disk", "disks", disk);
    }
    x.close("disks").link("vm", "vms", &b.vm).close("backup");
}

/// A checkpoint.
pub(crate) fn checkpoint(c: &Checkpoint, x: &mut Xml) {
    let href = format!("{API}/vms/{}/checkpoints/{}", c.vm, c.id);
    open_object(x, "checkpoint", &href, &c.id);
    x.leaf("creation_date", &c.created);
    if let Some(parent) = &c.parent {
        x.leaf("parent_id", parent);
    }
    x.leaf("state", "created").open("disks", &[]);
    for disk in &c.disks {
        x.link("disk", "disks", disk);
    }
    x.close("disks")
        .link("vm", "vms", &c.vm)
        .close("checkpoint");
}

/// A job.
pub(crate) fn job(j: &Job, x: &mut Xml) {
    let href = format!("{API}/jobs/{}", j.id);
    open_object(x, "job", &href, &j.id);
    x.leaf("description", &j.description)
        .leaf("auto_cleared", "true")
        .leaf("external", "false");
    let running = Instant::now() < j.ends_at;
    if !running {
        x.leaf("end_time", &j.started);
    }
    x.leaf("last_updated", &j.started)
        .leaf("start_time", &j.started);
    let status = match (running, j.failed) {
        (_, true) => "failed",
        (true, false) => "started",
        (false, false) => "finished",
    };
    x.leaf("status", status).close("job");
}

/// A storage domain.
pub(crate) fn storage_domain(engine: &Engine, sd: &StorageDomain, x: &mut Xml) {
    let href = format!("{API}/storagedomains/{}", sd.id);
    open_object(x, "storage_domain", &href, &sd.id);
    let used: u64 = engine
        .disks
        .iter()
        .filter(|d| d.sd == sd.id)
        .map(|d| d.volumes.iter().map(|v| allocated(&v.path)).sum::<u64>())
        .sum();
    x.leaf("name", &sd.name).leaf("description", "");
    x.leaf("available", sd.size.saturating_sub(used))
        .leaf("backup", "false");
    x.leaf("block_size", 512)
        .leaf("committed", used)
        .leaf("external_status", "ok");
    x.leaf("master", sd.kind == SdKind::File)
        .leaf("status", "active");
    x.open("storage", &[]).leaf(
        "type",
        if sd.kind == SdKind::File {
            "nfs"
        } else {
            "iscsi"
        },
    );
    x.close("storage");
    x.leaf("storage_format", "v5")
        .leaf("supports_discard", sd.kind == SdKind::Block);
    x.leaf("type", "data").leaf("used", used);
    x.open("data_centers", &[])
        .link("data_center", "datacenters", &engine.data_center.0);
    x.close("data_centers").close("storage_domain");
}

/// A tag.
pub(crate) fn tag(t: &Tag, x: &mut Xml) {
    open_object(x, "tag", &format!("{API}/tags/{}", t.id), &t.id);
    x.leaf("name", &t.name)
        .leaf("description", &t.description)
        .close("tag");
}
