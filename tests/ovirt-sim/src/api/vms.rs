//! `/vms`: search, get (the OVF with `all_content`), add (from template `Blank` or from an
//! OVF), update (the description), remove, power actions, NICs (a MAC given or made) and
//! tags.

use std::time::Instant;

use super::{ApiRequest, boolean, collection, id_of, matches, number, search};
use crate::engine::{Engine, Handled, Reply, new_id, now_text};
use crate::model::{Nic, Power, Vm};
use crate::views;
use crate::xml::{Node, Xml};

pub(super) fn route(engine: &mut Engine, r: &ApiRequest<'_>) -> Handled {
    match (r.method, r.segments.as_slice()) {
        ("GET", ["vms"]) => list(engine, r),
        ("POST", ["vms"]) => add(engine, r),
        ("GET", ["vms", id]) => {
            let vm = engine.vm(id)?;
            let mut x = Xml::new();
            views::vm(engine, vm, r.all_content, r.param("follow"), &mut x);
            Ok(Reply::xml(200, x.finish()))
        }
        ("DELETE", ["vms", id]) => remove(engine, r, id),
        ("PUT", ["vms", id]) => {
            let body = r.body()?;
            let vm = engine.vm_mut(id)?;
            if let Some(description) = body.text_at("description") {
                description.clone_into(&mut vm.description);
            }
            if let Some(os_type) = body.text_at("os/type") {
                os_type.clone_into(&mut vm.os_type);
            }
            let vm = engine.vm(id)?;
            let mut x = Xml::new();
            views::vm(engine, vm, false, None, &mut x);
            Ok(Reply::xml(200, x.finish()))
        }
        ("POST", ["vms", id, action @ ("start" | "stop" | "shutdown")]) => {
            power(engine, id, action)
        }
        ("GET", ["vms", id, "nics"]) => {
            let vm = engine.vm(id)?;
            Ok(collection("nics", |x| {
                for nic in &vm.nics {
                    views::nic(vm, nic, x);
                }
            }))
        }
        ("POST", ["vms", id, "nics"]) => add_nic(engine, r, id),
        ("GET", ["vms", id, "nics", nic]) => {
            let vm = engine.vm(id)?;
            let nic = vm
                .nics
                .iter()
                .find(|n| n.id == *nic)
                .ok_or_else(Reply::not_found)?;
            let mut x = Xml::new();
            views::nic(vm, nic, &mut x);
            Ok(Reply::xml(200, x.finish()))
        }
        ("DELETE", ["vms", id, "nics", nic]) => {
            let vm = engine.vm_mut(id)?;
            let before = vm.nics.len();
            vm.nics.retain(|n| n.id != *nic);
            if vm.nics.len() == before {
                return Err(Reply::not_found());
            }
            Ok(Reply::removed())
        }
        ("GET", ["vms", id, "tags"]) => {
            let vm = engine.vm(id)?;
            Ok(collection("tags", |x| {
                for tag in engine.tags.iter().filter(|t| vm.tags.contains(&t.id)) {
                    views::tag(tag, x);
                }
            }))
        }
        ("POST", ["vms", id, "tags"]) => {
            let body = r.body()?;
            let tag = match (body.attr("id"), body.text_at("name")) {
                (Some(tag_id), _) => engine.tags.iter().find(|t| t.id == tag_id),
                (None, Some(name)) => engine.tags.iter().find(|t| t.name == name),
                (None, None) => None,
            }
            .cloned()
            .ok_or_else(|| Reply::bad_request("No such tag"))?;
            let vm = engine.vm_mut(id)?;
            if !vm.tags.contains(&tag.id) {
                vm.tags.push(tag.id.clone());
            }
            let mut x = Xml::new();
            views::tag(&tag, &mut x);
            Ok(Reply::xml(201, x.finish()))
        }
        ("DELETE", ["vms", id, "tags", tag]) => {
            let vm = engine.vm_mut(id)?;
            let before = vm.tags.len();
            vm.tags.retain(|t| t != tag);
            if vm.tags.len() == before {
                return Err(Reply::not_found());
            }
            Ok(Reply::removed())
        }
        _ => Err(Reply::not_found()),
    }
}

fn list(engine: &Engine, r: &ApiRequest<'_>) -> Handled {
    let pattern = search(r, "name")?;
    let case_sensitive = r.flag("case_sensitive", true)?;
    let max = r
        .param("max")
        .map(|m| {
            m.parse::<usize>()
                .map_err(|_| Reply::bad_request("Invalid value for 'max'"))
        })
        .transpose()?
        .unwrap_or(usize::MAX);
    Ok(collection("vms", |x| {
        for vm in engine
            .vms
            .iter()
            .filter(|vm| pattern.is_none_or(|p| matches(p, &vm.name, case_sensitive)))
            .take(max)
        {
            views::vm(engine, vm, r.all_content, r.param("follow"), x);
        }
    }))
}

/// What a VM body says; missing values take the engine's defaults.
fn vm_from(engine: &Engine, body: &Node) -> Result<Vm, Reply> {
    let ovf = body
        .text_at("initialization/configuration/data")
        .filter(|d| !d.is_empty())
        .map(str::to_owned);
    let name = match body.text_at("name").filter(|n| !n.is_empty()) {
        Some(name) => name.to_owned(),
        None => ovf.as_deref().and_then(ovf_name).ok_or_else(|| {
            Reply::fault(400, "Incomplete parameters", "Vm [name] required for add")
        })?,
    };
    let cluster = body.child("cluster").ok_or_else(|| {
        Reply::fault(
            400,
            "Incomplete parameters",
            "Vm [cluster.id|name] required for add",
        )
    })?;
    let cluster_ok = cluster.attr("id") == Some(engine.cluster.0.as_str())
        || cluster.text_at("name") == Some(engine.cluster.1.as_str());
    if !cluster_ok {
        return Err(Reply::not_found());
    }
    if ovf.is_none() {
        let template = body.child("template").ok_or_else(|| {
            Reply::fault(
                400,
                "Incomplete parameters",
                "Vm [template.id|name] required for add",
            )
        })?;
        if template.attr("id") != Some(crate::BLANK_TEMPLATE)
            && template.text_at("name") != Some("Blank")
        {
            return Err(Reply::bad_request(
                "The simulator has only the template 'Blank'",
            ));
        }
    }
    let memory = number(body, "memory")?.unwrap_or(1 << 30);
    if let Some(guaranteed) = number(body, "memory_policy/guaranteed")?
        && guaranteed > memory
    {
        return Err(Reply::bad_request(
            "Cannot add VM. Physical Memory Guaranteed cannot exceed Memory Size.",
        ));
    }
    let max_memory = number(body, "memory_policy/max")?.unwrap_or(memory * 4);
    if max_memory < memory {
        return Err(Reply::bad_request(
            "Cannot add VM. Maximum memory cannot be smaller than the memory size.",
        ));
    }
    let mut boot: Vec<String> = body
        .at("os/boot/devices")
        .map(|d| d.all("device").map(|n| n.text.trim().to_owned()).collect())
        .unwrap_or_default();
    if let Some(bad) = boot
        .iter()
        .find(|d| !["hd", "cdrom", "network"].contains(&d.as_str()))
    {
        return Err(Reply::bad_request(&format!(
            "Invalid value '{bad}' for 'boot device'"
        )));
    }
    if boot.is_empty() {
        boot.push("hd".to_owned());
    }
    let count = |path: &str| -> Result<u32, Reply> {
        Ok(number(body, path)?.map_or(1, |n| u32::try_from(n).unwrap_or(u32::MAX)))
    };
    Ok(Vm {
        id: new_id(),
        name,
        description: body.text_at("description").unwrap_or_default().to_owned(),
        memory,
        guaranteed_memory: number(body, "memory_policy/guaranteed")?.unwrap_or(memory),
        max_memory,
        boot,
        sockets: count("cpu/topology/sockets")?,
        cores: count("cpu/topology/cores")?,
        threads: count("cpu/topology/threads")?,
        os_type: body.text_at("os/type").unwrap_or("other").to_owned(),
        kind: body.text_at("type").unwrap_or("server").to_owned(),
        bios_type: body
            .text_at("bios/type")
            .unwrap_or("q35_sea_bios")
            .to_owned(),
        power: Power::Down,
        power_change: None,
        given_ovf: ovf,
        nics: Vec::new(),
        attachments: Vec::new(),
        snapshots: Vec::new(),
        tags: Vec::new(),
        created: now_text(),
    })
}

/// The `<Name>` of an OVF's `Content`.
fn ovf_name(ovf: &str) -> Option<String> {
    let content = crate::xml::parse(ovf.as_bytes()).ok()?;
    content.child("Content")?.text_at("Name").map(str::to_owned)
}

fn add(engine: &mut Engine, r: &ApiRequest<'_>) -> Handled {
    let vm = vm_from(engine, r.body()?)?;
    if engine.vms.iter().any(|v| v.name == vm.name) {
        return Err(Reply::fault(
            409,
            "Operation Failed",
            "[Cannot add VM. The VM name is already in use, please choose a unique name and try again.]",
        ));
    }
    let mut x = Xml::new();
    views::vm(engine, &vm, false, None, &mut x);
    engine.vms.push(vm);
    Ok(Reply::xml(201, x.finish()))
}

fn remove(engine: &mut Engine, r: &ApiRequest<'_>, id: &str) -> Handled {
    let detach_only = r.flag("detach_only", false)?;
    let vm = engine.vm(id)?;
    if vm.power == Power::Up {
        return Err(Reply::busy("Cannot remove VM: VM is running."));
    }
    if Some(id) == engine.appliance.as_deref() {
        return Err(Reply::bad_request("The backup appliance cannot be removed"));
    }
    let disks: Vec<String> = vm.attachments.iter().map(|a| a.disk.clone()).collect();
    for disk in &disks {
        engine.require_unlocked(disk)?;
    }
    let index = engine
        .vms
        .iter()
        .position(|v| v.id == id)
        .expect("found above");
    engine.vms.remove(index);
    if !detach_only {
        for disk in disks {
            engine.remove_disk_now(&disk);
        }
    }
    Ok(Reply::removed())
}

fn power(engine: &mut Engine, id: &str, action: &str) -> Handled {
    let delay = engine.timing.job;
    let vm = engine.vm_mut(id)?;
    match action {
        "start" => {
            if vm.attachments.iter().all(|a| !a.bootable) {
                return Err(Reply::fault(
                    409,
                    "Operation Failed",
                    "[Cannot run VM without at least one bootable disk.]",
                ));
            }
            if vm.power == Power::Down {
                vm.power_change = Some((Power::Up, Instant::now() + delay));
            }
        }
        "shutdown" => {
            if vm.power == Power::Up {
                vm.power_change = Some((Power::Down, Instant::now() + delay));
            }
        }
        _ => {
            vm.power = Power::Down;
            vm.power_change = None;
        }
    }
    Ok(Reply::action())
}

fn add_nic(engine: &mut Engine, r: &ApiRequest<'_>, id: &str) -> Handled {
    let body = r.body()?;
    let name = body
        .text_at("name")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Reply::fault(400, "Incomplete parameters", "Nic [name] required for add"))?
        .to_owned();
    let profile = match body.child("vnic_profile") {
        Some(_) => {
            let profile = id_of(body, "vnic_profile", "Nic")?;
            if !engine.networks.iter().any(|n| n.profile_id == profile) {
                return Err(Reply::not_found());
            }
            Some(profile.to_owned())
        }
        None => None,
    };
    let _ = boolean(body, "linked")?;
    let nic_id = new_id();
    let mac = match body.text_at("mac/address").filter(|m| !m.is_empty()) {
        Some(given) => {
            let mac = given.to_ascii_lowercase();
            let pairs: Vec<&str> = mac.split(':').collect();
            let valid = pairs.len() == 6
                && pairs
                    .iter()
                    .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
            if !valid {
                return Err(Reply::bad_request(&format!(
                    "Invalid value '{given}' for 'mac.address'"
                )));
            }
            if engine
                .vms
                .iter()
                .flat_map(|v| &v.nics)
                .any(|n| n.mac == mac)
            {
                return Err(Reply::bad_request(&format!(
                    "[Cannot add Interface. MAC Address {mac} is already in use.]"
                )));
            }
            mac
        }
        None => format!(
            "56:6f:{}:{}:{}:{}",
            &nic_id[0..2],
            &nic_id[2..4],
            &nic_id[4..6],
            &nic_id[6..8]
        ),
    };
    let vm = engine.vm_mut(id)?;
    let nic = Nic {
        id: nic_id,
        name,
        interface: body.text_at("interface").unwrap_or("virtio").to_owned(),
        profile,
        mac,
    };
    let mut x = Xml::new();
    views::nic(vm, &nic, &mut x);
    vm.nics.push(nic);
    Ok(Reply::xml(201, x.finish()))
}
