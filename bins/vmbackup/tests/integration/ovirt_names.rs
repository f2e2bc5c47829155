//! A VM name and a disk alias from the engine are input: they become one safe directory
//! and file name each (the store's reversible mapping), never a path.

use std::time::Duration;

use ovirt_client::NewVm;
use ovirt_client::types::{Disk, DiskFormat, DiskInterface, StorageDomain, StorageDomains, VmType};

use super::ovirt_support::{Engine, backups_below, manifest};
use super::support::{s, vmbackup_json};

#[test]
fn hostile_vm_names_and_disk_aliases_become_safe_names() {
    let engine = Engine::new();
    let config = engine.config("c.cfg", r"vm-export=\.\./etc.*");
    let options = vmbackup::ovirt::connect_options(
        &vmbackup::Config::load(&config, vmbackup::Overrides::default()).unwrap(),
    )
    .unwrap();
    let api = ovirt_client::Connection::connect(options, engine.sim.credentials().1).unwrap();
    let hostile = "../etc/web 01";
    let vm = api
        .create_vm(&NewVm {
            name: hostile.into(),
            cluster: "Default".into(),
            description: None,
            memory: 1 << 30,
            guaranteed_memory: None,
            max_memory: None,
            sockets: 1,
            cores: 1,
            threads: 1,
            os_type: "other_linux".into(),
            vm_type: VmType::Server,
            bios: None,
            boot_devices: Vec::new(),
        })
        .unwrap();
    let vm_id = vm.id.unwrap();
    let sd = api
        .storage_domains()
        .unwrap()
        .into_iter()
        .find(|d| d.name.as_deref() == Some("data1"))
        .unwrap();
    let disk = Disk {
        name: Some("../../escape/disk".into()),
        format: Some(DiskFormat::Raw),
        sparse: Some(true),
        provisioned_size: Some(1 << 20),
        storage_domains: Some(StorageDomains::from(vec![StorageDomain::with_id(
            sd.id.unwrap(),
        )])),
        ..Disk::default()
    };
    let attachment = api
        .attach_new_disk(&vm_id, &disk, DiskInterface::Virtio, true)
        .unwrap();
    let disk_id = attachment
        .disk
        .and_then(|d| d.id)
        .or(attachment.id)
        .unwrap();
    api.wait_disk_ok(&disk_id, Duration::from_secs(20)).unwrap();
    drop(api);

    let report = vmbackup_json(&["run", s(&config), "--quiet"], 0);
    assert_eq!(report["vms"][0]["name"], hostile, "{report:#}");
    let backups = backups_below(&engine.backups());
    assert_eq!(backups.len(), 1, "{backups:?}");
    let backup = &backups[0];
    // <backups>/<one safe name>/<stamp>: nothing escaped, nothing nested.
    assert_eq!(backup.parent().unwrap().parent().unwrap(), engine.backups());
    let m = manifest(backup);
    assert_eq!(m["vm"]["name_label"], hostile);
    let file = m["ovirt"]["disks"][0]["file"].as_str().unwrap();
    assert!(!file.contains('/'), "{file}");
    assert!(backup.join(file).is_file());
    assert_eq!(m["ovirt"]["disks"][0]["name"], "../../escape/disk");
    let listed = vmbackup_json(&["list", "--config", s(&config)], 0);
    assert_eq!(listed[0]["vm"], hostile, "{listed:#}");
    engine.assert_clean();
}
