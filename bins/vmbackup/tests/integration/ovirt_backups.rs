//! oVirt backups end to end: the real binary against ovirt-sim with the real imageio
//! daemon, both modes, both layouts, selection by oVirt tags, retention, verify and list;
//! bytes compared with `qemu-img compare`, the seed layout read by ovirt-client's reader of
//! oVirtSimpleBackup's backups, the engine's audit clean after each run.

use std::fs;

use ovirt_client::simplebackup::{self, SystemLzop};

use super::ovirt_support::{
    Engine, assert_identical, backups_below, decompress, manifest, partials_below,
};
use super::support::{s, vmbackup_exit, vmbackup_json};

#[test]
fn imageio_backups_in_our_layout_hold_disks_records_and_digests_and_retention_keeps_one() {
    let engine = Engine::new();
    let config = engine.config(
        "ovirt.cfg",
        "vm-export=tag:backup\nvm-export=vm2\ncompression=zstd\nmax_backups=1\ndisk_concurrency=2",
    );
    let report = vmbackup_json(&["run", s(&config), "--quiet"], 0);
    let vms = report["vms"].as_array().unwrap();
    let names: Vec<&str> = vms.iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["vm1", "vm2"], "{report:#}");
    engine.assert_clean();
    let vm1 = backups_below(&engine.backups().join("vm1"));
    assert_eq!(vm1.len(), 1, "{vm1:?}");
    let m = manifest(&vm1[0]);
    assert_eq!(m["ovirt"]["mode"], "imageio");
    assert_eq!(m["ovirt"]["layout"], "own");
    assert_eq!(m["ovirt"]["vm_id"], engine.sim.vm_id("vm1").unwrap());
    assert_eq!(m["ovirt"]["ovf"], "vm.ovf");
    let disks = m["ovirt"]["disks"].as_array().unwrap();
    assert_eq!(disks.len(), 2);
    assert_eq!(disks[0]["bootable"], true, "the boot disk first: {m:#}");
    for (index, disk) in disks.iter().enumerate() {
        let file = vm1[0].join(disk["file"].as_str().unwrap());
        assert!(file.to_string_lossy().ends_with(".raw.zst"), "{file:?}");
        let raw = engine.dir.path().join(format!("disk{index}.raw"));
        decompress("zstd", &file, &raw);
        assert_identical(&engine.disk_file("vm1", index), &raw);
        assert!(disk["data_bytes"].as_u64().unwrap() < disk["size"].as_u64().unwrap() / 4);
    }
    for record in [
        "vm.xml",
        "disk_attachments.xml",
        "disks.xml",
        "nics.xml",
        "vm.ovf",
    ] {
        assert!(vm1[0].join(record).is_file(), "{record}");
    }
    let ovf = fs::read_to_string(vm1[0].join("vm.ovf")).unwrap();
    assert!(ovf.contains("ovf:Envelope"), "{ovf}");
    let nics = fs::read_to_string(vm1[0].join("nics.xml")).unwrap();
    assert!(nics.contains("56:6f:00:00:00:01"), "{nics}");
    let (out, _) = vmbackup_exit(&["verify", s(&engine.backups())], 0);
    assert_eq!(out.matches(": ok").count(), 2, "{out}");
    let status = fs::read_to_string(engine.dir.path().join("status.log")).unwrap();
    assert!(status.contains("SUCCESS vm1"), "{status}");

    // A second run: the new backups are complete before the old ones go.
    vmbackup_json(&["run", s(&config), "--quiet"], 0);
    let again = backups_below(&engine.backups().join("vm1"));
    assert_eq!(again.len(), 1, "{again:?}");
    assert_ne!(again[0], vm1[0], "the newer backup is kept");
    let listed = vmbackup_json(&["list", "--config", s(&config)], 0);
    assert!(listed.to_string().contains("vm-export"), "{listed:#}");
    assert!(partials_below(&engine.backups()).is_empty());
    engine.assert_clean();
}

#[test]
fn appliance_backups_in_the_seed_layout_read_back_as_ovirtsimplebackup_s() {
    let engine = Engine::new();
    let config = engine.config(
        "seed.cfg",
        &format!(
            "vms_to_backup=vm1,vm2\nmode=appliance\nuuid_backup_engine={}\nlayout=ovirtsimplebackup\nlabel=BU_\ncompress=1\nretention=2\nwithoutmemory=1",
            engine.appliance()
        ),
    );
    let preview = vmbackup_json(&["preview", s(&config)], 0);
    let modes: Vec<&str> = preview["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["mode"].as_str().unwrap())
        .collect();
    assert_eq!(modes, ["appliance", "appliance"], "{preview:#}");
    vmbackup_json(&["run", s(&config), "--quiet"], 0);
    engine.assert_clean();
    let found = simplebackup::list(&engine.backups()).unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    let vm1 = &found[0];
    assert_eq!(vm1.vm_name, "vm1");
    assert_eq!(vm1.vm_uuid, engine.sim.vm_id("vm1").unwrap());
    assert_eq!(vm1.label, "BU_");
    assert!(vm1.stamp.is_some(), "{vm1:?}");
    assert_eq!(vm1.disks.len(), 2);
    let ovf = vm1.ovf().unwrap().expect("data.xml");
    assert!(ovf.contains("ovf:Envelope"));
    for (index, disk) in vm1.disks.iter().enumerate() {
        let info = disk.info.as_ref().expect("DiskN.dat");
        assert_eq!(info.bootable, index == 0);
        assert_eq!(info.vm_name, "vm1");
        assert!(info.device.starts_with("virtio-"), "{info:?}");
        assert_eq!(disk.verify(&SystemLzop).unwrap(), info.size);
        let raw = engine.dir.path().join(format!("seed{index}.raw"));
        decompress("gzip", &disk.image, &raw);
        assert_identical(&engine.disk_file("vm1", index), &raw);
    }
    let m = manifest(&vm1.path);
    assert_eq!(m["ovirt"]["mode"], "appliance");
    assert_eq!(m["ovirt"]["ovf"], "data.xml");
    let (out, _) = vmbackup_exit(&["verify", s(&vm1.path)], 0);
    assert!(out.contains(": ok"), "{out}");

    // A second run (retention=2 keeps both), then list, verify and prune of the layout.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    vmbackup_json(&["run", s(&config), "--quiet"], 0);
    assert_eq!(simplebackup::list(&engine.backups()).unwrap().len(), 4);
    let listed = vmbackup_json(&["list", "--config", s(&config)], 0);
    let seed_listed = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|vm| vm["backups"][0]["layout"] == "ovirtsimplebackup")
        .count();
    assert_eq!(seed_listed, 2, "{listed:#}");
    let (out, _) = vmbackup_exit(&["verify", "--config", s(&config)], 0);
    assert_eq!(out.matches(": ok").count(), 4, "{out}");
    let keep_one = engine.config(
        "keep1.cfg",
        "vms_to_backup=vm1,vm2\nlayout=ovirtsimplebackup\nretention=1",
    );
    vmbackup_json(&["prune", "--config", s(&keep_one)], 0);
    let left = simplebackup::list(&engine.backups()).unwrap();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.iter().all(|b| b.path.join("manifest.json").is_file()));
    engine.assert_clean();
    // The appliance never backs itself up, even when everything is selected.
    let all = engine.config(
        "all.cfg",
        &format!(
            "vm-export=.*\nmode=appliance\nappliance_vm={}",
            engine.appliance()
        ),
    );
    let preview = vmbackup_json(&["preview", s(&all)], 0);
    let names: Vec<&str> = preview["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["vm"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["vm1", "vm2"], "{preview:#}");
}
