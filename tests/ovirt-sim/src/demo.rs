//! The engine's fixed infrastructure and the demo VMs.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Instant;

use crate::config::{APPLIANCE_VM, SimConfig};
use crate::engine::{Engine, new_id, now_text};
use crate::error::SimError;
use crate::faults::Faults;
use crate::imageio::Imageio;
use crate::model::{Attachment, Disk, Format, Network, Nic, Power, SdKind, StorageDomain, Tag, Vm};
use crate::storage;

/// A fresh engine: data center and cluster `Default`, host `host1`, storage domains `data1`
/// (file) and `block1` (block), network `ovirtmgmt`; with `demo`, the demo VMs.
pub(crate) fn engine(
    config: &SimConfig,
    root: &Path,
    imageio: Imageio,
    faults: Faults,
) -> Result<Engine, SimError> {
    let mut storage_domains = Vec::new();
    for (name, kind) in [("data1", SdKind::File), ("block1", SdKind::Block)] {
        let id = new_id();
        let dir = root.join("storage").join(&id);
        std::fs::create_dir_all(&dir)
            .map_err(|e| SimError::io(format!("creating {}", dir.display()), e))?;
        storage_domains.push(StorageDomain {
            id,
            name: name.to_owned(),
            kind,
            dir,
            size: config.storage_size,
        });
    }
    let scratch = root.join("scratch");
    std::fs::create_dir_all(&scratch)
        .map_err(|e| SimError::io(format!("creating {}", scratch.display()), e))?;
    let mut engine = Engine {
        timing: config.timing,
        faults,
        user: config.user.clone(),
        password: config.password.clone(),
        tokens: BTreeMap::new(),
        logins: 0,
        data_center: (new_id(), "Default".to_owned()),
        cluster: (new_id(), "Default".to_owned()),
        host: (new_id(), "host1".to_owned()),
        storage_domains,
        networks: vec![Network {
            id: new_id(),
            name: "ovirtmgmt".to_owned(),
            profile_id: new_id(),
        }],
        vms: Vec::new(),
        disks: Vec::new(),
        transfers: Vec::new(),
        backups: Vec::new(),
        checkpoints: Vec::new(),
        jobs: Vec::new(),
        tags: Vec::new(),
        appliance: None,
        by_id_dir: config.by_id_dir.clone(),
        scratch,
        imageio_base: imageio.base_url(),
        imageio: Some(imageio),
        initial_snapshots: Vec::new(),
        initial_disks: Vec::new(),
    };
    if config.demo {
        demo(&mut engine)?;
    }
    engine.initial_disks = engine.disks.iter().map(|d| d.id.clone()).collect();
    Ok(engine)
}

fn vm(name: &str, power: Power) -> Vm {
    Vm {
        id: new_id(),
        name: name.to_owned(),
        description: format!("demo VM {name}"),
        memory: 1 << 30,
        guaranteed_memory: 1 << 30,
        max_memory: 4 << 30,
        boot: vec!["hd".to_owned()],
        sockets: 1,
        cores: 2,
        threads: 1,
        os_type: "other_linux".to_owned(),
        kind: "server".to_owned(),
        bios_type: "q35_sea_bios".to_owned(),
        power,
        power_change: None,
        given_ovf: None,
        nics: Vec::new(),
        attachments: Vec::new(),
        snapshots: Vec::new(),
        tags: Vec::new(),
        created: now_text(),
    }
}

/// A disk on `data1` holding 64 KiB runs of `pattern` at `offsets`.
fn disk(
    engine: &mut Engine,
    name: &str,
    format: Format,
    size: u64,
    pattern: u8,
    offsets: &[u64],
) -> Result<String, SimError> {
    let sd = engine.storage_domains[0].clone();
    let (id, image) = (new_id(), new_id());
    let volume = storage::create_volume(&sd.dir, &id, &image, format, size)?;
    for &offset in offsets {
        match format {
            Format::Raw => {
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&volume.path)
                    .map_err(|e| SimError::io(format!("opening {}", volume.path.display()), e))?;
                file.seek(SeekFrom::Start(offset))
                    .and_then(|_| file.write_all(&vec![pattern; 64 << 10]))
                    .map_err(|e| SimError::io(format!("writing {}", volume.path.display()), e))?;
            }
            Format::Cow => qemu_io(&volume.path, &format!("write -P {pattern} {offset} 64k"))?,
        }
    }
    engine.disks.push(Disk {
        id: id.clone(),
        name: name.to_owned(),
        description: String::new(),
        sd: sd.id,
        provisioned_size: size,
        format,
        sparse: true,
        incremental: format == Format::Cow,
        volumes: vec![volume],
        locked_until: Instant::now(),
        bitmaps: Vec::new(),
    });
    Ok(id)
}

fn qemu_io(path: &Path, command: &str) -> Result<(), SimError> {
    crate::tools::run(
        "qemu-io",
        &[
            OsStr::new("-f"),
            "qcow2".as_ref(),
            "-c".as_ref(),
            command.as_ref(),
            path.as_os_str(),
        ],
    )
    .map(drop)
}

fn attach(disk: String, bootable: bool) -> Attachment {
    Attachment {
        disk,
        bootable,
        interface: "virtio".to_owned(),
        active: true,
        pass_discard: false,
        snapshot: None,
        device: None,
    }
}

fn demo(engine: &mut Engine) -> Result<(), SimError> {
    let profile = engine.networks[0].profile_id.clone();
    let mut vm1 = vm("vm1", Power::Up);
    let boot = disk(
        engine,
        "vm1-boot",
        Format::Raw,
        64 << 20,
        0x11,
        &[0, 32 << 20],
    )?;
    let data = disk(
        engine,
        "vm1-data",
        Format::Cow,
        32 << 20,
        0x22,
        &[1 << 20, 16 << 20],
    )?;
    vm1.attachments.push(attach(boot, true));
    vm1.attachments.push(attach(data, false));
    vm1.nics.push(Nic {
        id: new_id(),
        name: "nic1".to_owned(),
        interface: "virtio".to_owned(),
        profile: Some(profile),
        mac: "56:6f:00:00:00:01".to_owned(),
    });
    let tag = Tag {
        id: new_id(),
        name: "backup".to_owned(),
        description: "VMs to back up".to_owned(),
    };
    vm1.tags.push(tag.id.clone());
    engine.tags.push(tag);
    let mut vm2 = vm("vm2", Power::Down);
    let disk2 = disk(engine, "vm2-boot", Format::Raw, 16 << 20, 0x33, &[0])?;
    vm2.attachments.push(attach(disk2, true));
    let appliance = vm(APPLIANCE_VM, Power::Up);
    engine.appliance = Some(appliance.id.clone());
    engine.vms.extend([vm1, vm2, appliance]);
    Ok(())
}
