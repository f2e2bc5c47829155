//! Every kind of backup against the simulated pool, end to end through the real binary:
//! what lands on disk, what the pool is left with, verification, and restores compared
//! byte for byte with the VMs backed up.

use std::fs;

use serde_json::Value;
use xapi_sim::{DiskContents, NewDisk, NewVm};

use super::support::{MIB, Setup, restore_checked, s, vm_with_disks, vmbackup_exit, vmbackup_json};

/// The disk bytes of a VM in the simulator, by slot order.
fn disk_bytes(setup: &Setup, vm_name: &str) -> Vec<Vec<u8>> {
    let vm = setup.sim.vms_by_name(vm_name);
    assert_eq!(vm.len(), 1, "one VM named {vm_name}");
    setup
        .sim
        .vdis_of(&vm[0])
        .iter()
        .map(|vdi| setup.sim.vdi_bytes(vdi).unwrap())
        .collect()
}

#[test]
fn vm_export_backs_up_verifies_and_restores() {
    let setup = Setup::new(vec![vm_with_disks("web 01", 1), vm_with_disks("db-01", 7)]);
    let config = setup.config("all.cfg", "vm-export=.*");
    let report = vmbackup_json(&["run", s(&config), "--quiet"], 0);
    assert_eq!(report["status"], "SUCCESS");
    let vms = report["vms"].as_array().unwrap();
    assert_eq!(vms.len(), 2);
    assert!(vms.iter().all(|vm| vm["status"] == "success"), "{report:#}");
    setup.assert_clean();

    let backups = setup.backups_of("web 01");
    assert_eq!(backups.len(), 1);
    let backup = &backups[0];
    for file in [
        "web 01.xva",
        "vm-metadata.xml",
        "vm.cfg",
        "DISK-xvda/vbd.cfg",
        "DISK-xvda/vdi.cfg",
        "DISK-xvdb/vdi.cfg",
        "VIFs/vif-0.cfg",
    ] {
        assert!(
            backup.join(file).is_file(),
            "{file} missing in {}",
            backup.display()
        );
    }
    let manifest: Value =
        serde_json::from_str(&fs::read_to_string(backup.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["vm"]["name_label"], "web 01");
    assert_eq!(manifest["kind"], "vm-export");
    assert_eq!(manifest["state"], "complete");
    let vdi_cfg = fs::read_to_string(backup.join("DISK-xvdb/vdi.cfg")).unwrap();
    assert!(
        vdi_cfg.contains(&format!("virtual_size={}", 8 * MIB + 512)),
        "{vdi_cfg}"
    );
    assert!(vdi_cfg.contains("read_only=False"), "{vdi_cfg}");

    let log = setup.status_log();
    assert!(
        log[0].contains(",vmbackup.py,") && log[0].ends_with(",begin"),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|l| l.contains(",vm-export,") && l.contains(",end,SUCCESS web 01,elapse:")),
        "{log:?}"
    );
    assert!(
        log.last().unwrap().ends_with(",end,SUCCESS,S:2 W:0 E:0"),
        "{log:?}"
    );

    let verified = vmbackup_json(&["verify", s(&setup.backups())], 0);
    assert_eq!(verified["ok"], true);

    let restored = restore_checked(backup, &config);
    assert_eq!(
        restored["checks"].as_array().unwrap().len(),
        2,
        "{restored:#}"
    );
    let stamp = backup.file_name().unwrap().to_string_lossy().into_owned();
    let copy_name = format!("web 01 (restored {stamp})");
    assert_eq!(disk_bytes(&setup, &copy_name), disk_bytes(&setup, "web 01"));
    // The settings come back too; a copy gets new identities.
    let record = |name: &str| setup.sim.vm(&setup.sim.vms_by_name(name)[0]).unwrap();
    let (original, copy) = (record("web 01"), record(&copy_name));
    assert_eq!(
        (
            copy.memory_static_max,
            copy.vcpus_max,
            copy.vcpus_at_startup,
            &copy.platform,
            &copy.hvm_boot_policy
        ),
        (
            original.memory_static_max,
            original.vcpus_max,
            original.vcpus_at_startup,
            &original.platform,
            &original.hvm_boot_policy
        )
    );
    assert_eq!(
        (copy.vbds.len(), copy.vifs.len()),
        (original.vbds.len(), original.vifs.len())
    );
    assert_ne!(copy.uuid, original.uuid);
}

#[test]
fn vdi_exports_as_vhd_and_raw_restore_into_new_disks() {
    let setup = Setup::new(vec![vm_with_disks("db-01", 3)]);
    let vhd = setup.config(
        "vhd.cfg",
        "vdi-export=db-01\nvdi_export_format=vhd\nall_disks=true",
    );
    vmbackup_json(&["run", s(&vhd), "--quiet"], 0);
    setup.assert_clean();
    let backup = setup.backups_of("db-01").pop().unwrap();
    for image in ["db-01-xvda.vhd", "db-01-xvdb.vhd"] {
        let info = std::process::Command::new("qemu-img")
            .args(["info", "--output=json", "-f", "vpc", s(&backup.join(image))])
            .output()
            .expect("qemu-img is missing: install with: apt-get install qemu-utils");
        assert!(
            info.status.success(),
            "{}",
            String::from_utf8_lossy(&info.stderr)
        );
    }
    let restored = restore_checked(&backup, &vhd);
    assert_eq!(restored["vdis"].as_array().unwrap().len(), 2);

    // NAUbackup's default: the boot disk only, raw; here compressed by us.
    let raw = setup.config("raw.cfg", "vdi-export=db-01\ncompression=zstd");
    vmbackup_json(&["run", s(&raw), "--quiet"], 0);
    let backup = setup.backups_of("db-01").pop().unwrap();
    assert!(backup.join("db-01.raw.zst").is_file());
    vmbackup_json(&["verify", s(&backup)], 0);
    restore_checked(&backup, &raw);
    setup.assert_no_leaks();
}

#[test]
fn compressed_exports_by_the_host_and_by_us() {
    let setup = Setup::new(vec![vm_with_disks("web", 5)]);
    let host = setup.config("host.cfg", "vm-export=web\ncompress=true");
    vmbackup_json(&["run", s(&host), "--quiet"], 0);
    let ours = setup.config(
        "ours.cfg",
        "vm-export=web\ncompression=zstd\nchecksum=sha256",
    );
    vmbackup_json(&["run", s(&ours), "--quiet"], 0);
    let backups = setup.backups_of("web");
    assert_eq!(backups.len(), 2);
    assert!(backups[0].join("web.xva.gz").is_file());
    assert!(backups[1].join("web.xva.zst").is_file());
    let manifest: Value =
        serde_json::from_str(&fs::read_to_string(backups[1].join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["files"][0]["digest"]["kind"], "sha256");
    vmbackup_json(&["verify", s(&setup.backups().join("web"))], 0);
    for backup in &backups {
        restore_checked(backup, &ours);
    }
    setup.assert_no_leaks();
}

#[test]
fn metadata_and_skeleton_exports() {
    let big_data = NewVm::new("files")
        .disk(NewDisk::new(
            "system",
            16 * MIB,
            DiskContents::Pattern {
                seed: 9,
                data_bytes: 2 * MIB,
            },
        ))
        .disk(NewDisk::new(
            "data",
            32 * MIB,
            DiskContents::Pattern {
                seed: 10,
                data_bytes: 8 * MIB,
            },
        ))
        .vif("02:00:00:00:00:01");
    let setup = Setup::new(vec![big_data, vm_with_disks("meta", 2)]);
    let config = setup.config("kinds.cfg", "skeleton-export=files\nmetadata-export=meta");
    vmbackup_json(&["run", s(&config), "--quiet"], 0);
    setup.assert_clean();

    let meta = setup.backups_of("meta").pop().unwrap();
    let xml = fs::read_to_string(meta.join("vm-metadata.xml")).unwrap();
    assert!(
        xml.contains("<value>meta</value>"),
        "the VM's record is in vm-metadata.xml"
    );
    let (_, stderr) = vmbackup_exit(&["restore", s(&meta), "--config", s(&config)], 1);
    assert!(stderr.contains("metadata only"), "{stderr}");

    let skeleton = setup.backups_of("files").pop().unwrap();
    let restored = vmbackup_json(
        &["restore", s(&skeleton), "--config", s(&config), "--quiet"],
        0,
    );
    let uuid = restored["vms"][0].as_str().unwrap();
    let copy = setup
        .sim
        .vms()
        .into_iter()
        .find(|(_, vm)| vm.uuid == uuid)
        .unwrap()
        .0;
    let disks: Vec<Vec<u8>> = setup
        .sim
        .vdis_of(&copy)
        .iter()
        .map(|v| setup.sim.vdi_bytes(v).unwrap())
        .collect();
    let original = disk_bytes(&setup, "files");
    assert_eq!(disks[0], original[0], "the system disk keeps its data");
    assert_eq!(
        disks[1].len(),
        original[1].len(),
        "the data disk keeps its size"
    );
    assert!(disks[1].iter().all(|&b| b == 0), "the data disk is blank");
    let vif_macs: Vec<String> = setup
        .sim
        .vm(&copy)
        .unwrap()
        .vifs
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(vif_macs.len(), 1, "the VIF is recreated");
}

#[test]
fn retention_keeps_what_the_rules_say_and_the_pool_database_is_saved() {
    let setup = Setup::new(vec![
        vm_with_disks("keep-two", 1),
        vm_with_disks("keep-one", 2),
    ]);
    let config = setup.config(
        "keep.cfg",
        "max_backups=2\npool_db_backup=1\nvm-export=keep-two\nvm-export=keep-one:1",
    );
    for _ in 0..3 {
        vmbackup_json(&["run", s(&config), "--quiet"], 0);
    }
    assert_eq!(setup.backups_of("keep-two").len(), 2);
    assert_eq!(setup.backups_of("keep-one").len(), 1);
    let dumps: Vec<_> = fs::read_dir(setup.backups())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("METADATA_")
        })
        .flat_map(|d| fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
        .collect();
    assert!(
        !dumps.is_empty()
            && dumps.iter().all(|d| d
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("pool_db_"))
    );
    let plan = vmbackup_json(&["prune", "--config", s(&config), "--dry-run"], 0);
    assert!(
        plan.as_array()
            .unwrap()
            .iter()
            .all(|vm| vm["removed"].as_array().unwrap().is_empty())
    );
    for decision in plan
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|vm| vm["plan"].as_array().unwrap())
    {
        let keys: Vec<&str> = decision
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["id", "keep", "reasons"], "{decision}");
    }
    let listed = vmbackup_json(&["list", "--config", s(&config)], 0);
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed:#}");
    setup.assert_clean();
}

#[test]
fn prune_keeps_what_a_rules_keep_says_as_run_does() {
    let setup = Setup::new(vec![vm_with_disks("db", 1), vm_with_disks("web01", 2)]);
    let rules = |db: u32| format!("max_backups=1\nvm-export=db:{db}\nvm-export=web.*:2");
    let config = setup.config("keep.cfg", &rules(3));
    for _ in 0..4 {
        vmbackup_json(&["run", s(&config), "--quiet"], 0);
    }
    assert_eq!(setup.backups_of("db").len(), 3);
    assert_eq!(setup.backups_of("web01").len(), 2);
    let removed = |report: &serde_json::Value, dir: &str| -> usize {
        report
            .as_array()
            .unwrap()
            .iter()
            .find(|vm| vm["dir"].as_str().unwrap().ends_with(dir))
            .map_or(0, |vm| vm["removed"].as_array().unwrap().len())
    };

    // The same configuration: prune keeps what the runs kept, not max_backups.
    let pruned = vmbackup_json(&["prune", "--config", s(&config)], 0);
    assert_eq!(
        (removed(&pruned, "/db"), removed(&pruned, "/web01")),
        (0, 0)
    );
    assert_eq!(setup.backups_of("db").len(), 3);
    assert_eq!(setup.backups_of("web01").len(), 2);

    // A smaller :N is applied to its VM only, with or without --vm.
    let fewer = setup.config("fewer.cfg", &rules(2));
    let pruned = vmbackup_json(&["prune", "--config", s(&fewer), "--dry-run"], 0);
    assert_eq!(
        (removed(&pruned, "/db"), removed(&pruned, "/web01")),
        (1, 0)
    );
    assert_eq!(setup.backups_of("db").len(), 3, "a dry run removes nothing");
    vmbackup_json(&["prune", "--config", s(&fewer), "--vm", "db"], 0);
    assert_eq!(setup.backups_of("db").len(), 2);
    assert_eq!(setup.backups_of("web01").len(), 2);
    setup.assert_clean();
}

#[test]
fn several_vms_at_once() {
    let vms = (0..4)
        .map(|i| vm_with_disks(&format!("vm{i}"), i))
        .collect();
    let setup = Setup::new(vms);
    let config = setup.config("parallel.cfg", "concurrency=2\nvm-export=vm.*");
    let report = vmbackup_json(&["run", s(&config), "--quiet"], 0);
    assert_eq!(report["vms"].as_array().unwrap().len(), 4);
    setup.assert_clean();
    vmbackup_json(&["verify", s(&setup.backups())], 0);
}

#[test]
fn hostile_names_stay_inside_the_backup_directory() {
    let long = "x".repeat(300);
    let names = [
        "../escape",
        "a/b",
        "it's \"quoted\"",
        "ünïcødé ✓",
        ".hidden",
        &long,
    ];
    let vms = names
        .iter()
        .enumerate()
        .map(|(i, n)| vm_with_disks(n, i as u64))
        .collect();
    let setup = Setup::new(vms);
    let config = setup.config("hostile.cfg", "vm-export=.*");
    vmbackup_json(&["run", s(&config), "--quiet"], 0);
    setup.assert_clean();
    let parent = setup.dir.path();
    let outside: Vec<_> = fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        outside.len(),
        4,
        "only backups/, the config, the password and the status log: {outside:?}"
    );
    let listed = vmbackup_json(&["list", "--backup-dir", s(&setup.backups())], 0);
    let mut found: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|vm| vm["vm"].as_str().unwrap().to_owned())
        .collect();
    found.sort();
    let mut expected: Vec<String> = names.iter().map(ToString::to_string).collect();
    expected.sort();
    assert_eq!(found, expected);
    for entry in fs::read_dir(setup.backups())
        .unwrap()
        .map(Result::unwrap)
        .filter(|e| e.path().is_dir())
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            !name.contains('/') && !name.starts_with('.') && name.len() <= 200,
            "{name}"
        );
    }
}
