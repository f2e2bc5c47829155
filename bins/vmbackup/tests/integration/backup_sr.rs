//! TINABS 2.0's backup-SR variant through the real binary against the simulated pool: the
//! system disk copied to a second SR, data disks blank there, metadata in the backup;
//! verify, restore (bytes compared), retention removing old copies, and failures at each
//! step leaving nothing behind.

use std::collections::BTreeSet;

use serde_json::Value;
use xapi_sim::Ref;

use super::support::{Setup, restore_checked, s, vm_with_disks, vmbackup_exit, vmbackup_json};

const SR_NAME: &str = "Backup NFS";

/// A pool with `web` (a system disk and a data disk, both holding data) and a backup SR.
fn pool() -> (Setup, Ref) {
    let setup = Setup::new(vec![vm_with_disks("web", 7)]);
    let sr = setup.sim.add_sr(SR_NAME, 1 << 40);
    setup.sim.mark_baseline();
    (setup, sr)
}

fn web(setup: &Setup) -> Ref {
    setup.sim.vms_by_name("web")[0].clone()
}

fn manifest(backup: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(backup.join("manifest.json")).unwrap()).unwrap()
}

/// The uuids of the disks on the backup SR.
fn on_sr(setup: &Setup, sr: &Ref) -> BTreeSet<String> {
    setup
        .sim
        .vdis_on(sr)
        .into_iter()
        .map(|(_, v)| v.uuid)
        .collect()
}

fn copies_of(manifest: &Value) -> BTreeSet<String> {
    manifest["sr_copies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["vdi_uuid"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn backup_sr_run_verify_restore_and_prune() {
    let (setup, sr) = pool();
    let vm = web(&setup);
    let disks = setup.sim.vdis_of(&vm);
    let system = setup.sim.vdi_bytes(&disks[0]).unwrap();
    let data_size = setup.sim.vdi(&disks[1]).unwrap().virtual_size;
    let config = setup.config(
        "sr.cfg",
        &format!("backup-sr-export=web:2\nbackup_sr={SR_NAME}"),
    );

    let preview = vmbackup_json(&["preview", s(&config)], 0);
    let shown = preview["backup_sr"].as_str().unwrap_or_default();
    assert!(shown.starts_with(&format!("{SR_NAME} (")), "{preview:#}");
    let report = vmbackup_json(&["run", s(&config), "--quiet"], 0);
    assert_eq!(report["vms"][0]["status"], "success", "{report:#}");
    assert_eq!(report["vms"][0]["kind"], "backup-sr-export");
    let backups = setup.backups_of("web");
    assert_eq!(backups.len(), 1);
    let first = manifest(&backups[0]);
    assert_eq!(first["kind"], "backup-sr-export");
    let roles: Vec<&str> = first["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["role"].as_str().unwrap())
        .collect();
    assert!(roles.contains(&"backup-sr-xva"), "{roles:?}");
    // Only metadata in the directory: far less than the disks.
    let stored: u64 = first["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["digest"]["bytes"].as_u64().unwrap())
        .sum();
    assert!(stored < 1 << 20, "{stored} bytes stored");

    check_disks_on_sr(&setup, &sr, &first, &system, data_size);

    // verify checks the disks on the SR through the pool.
    let (stdout, _) = vmbackup_exit(&["verify", s(&backups[0]), "--config", s(&config)], 0);
    assert!(stdout.contains(": ok"), "{stdout}");

    check_restore(&setup, &backups[0], &config, &system, data_size);
    // The backup stays whole.
    assert_eq!(on_sr(&setup, &sr), copies_of(&first));

    // Retention (:2): the third run removes the first backup and its disks on the SR.
    for _ in 0..2 {
        std::thread::sleep(std::time::Duration::from_millis(1100));
        vmbackup_json(&["run", s(&config), "--quiet"], 0);
    }
    let backups = setup.backups_of("web");
    assert_eq!(backups.len(), 2);
    let kept: BTreeSet<String> = backups
        .iter()
        .flat_map(|b| copies_of(&manifest(b)))
        .collect();
    assert_eq!(on_sr(&setup, &sr), kept);
    assert!(
        kept.is_disjoint(&copies_of(&first)),
        "the pruned backup's disks are gone"
    );

    // Without the pool, prune keeps backups whose disks it cannot remove.
    let offline = setup.dir.path().join("offline.cfg");
    std::fs::write(
        &offline,
        format!(
            "backup_dir={}\nbackup-sr-export=web:1\nbackup_sr={SR_NAME}\n",
            setup.backups().display()
        ),
    )
    .unwrap();
    let pruned = vmbackup_json(&["prune", "--config", s(&offline)], 0);
    assert_eq!(setup.backups_of("web").len(), 2, "{pruned:#}");
    assert!(pruned.to_string().contains("backup SR"), "{pruned:#}");

    // A disk gone from the SR makes verify fail, naming it.
    let oldest = manifest(&backups[0]);
    let gone = oldest["sr_copies"][0]["vdi_uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let (reference, _) = setup
        .sim
        .vdis_on(&sr)
        .into_iter()
        .find(|(_, v)| v.uuid == gone)
        .unwrap();
    destroy_vdi(&setup, &config, &reference);
    let (stdout, _) = vmbackup_exit(&["verify", s(&backups[0]), "--config", s(&config)], 1);
    assert!(stdout.contains("is gone from SR"), "{stdout}");
    // And without the pool, verify says it could not check them (never a pass).
    let (stdout, _) = vmbackup_exit(&["verify", s(&backups[1])], 1);
    assert!(stdout.contains("were not checked"), "{stdout}");

    // With the pool, prune removes the oldest backup with what is left of its disks.
    let keep_one = setup.config(
        "one.cfg",
        &format!("backup-sr-export=web:1\nbackup_sr={SR_NAME}"),
    );
    vmbackup_json(&["prune", "--config", s(&keep_one)], 0);
    assert_eq!(setup.backups_of("web"), [backups[1].clone()]);
    assert_eq!(on_sr(&setup, &sr), copies_of(&manifest(&backups[1])));
    setup.assert_no_leaks();
}

/// The disks of the backup `first` on the backup SR: the system disk's bytes, a blank data
/// disk of `data_size` bytes, both marked; nothing else new in the pool.
fn check_disks_on_sr(setup: &Setup, sr: &Ref, first: &Value, system: &[u8], data_size: i64) {
    // On the SR: the system disk's bytes, and a blank data disk of the same size, marked.
    assert_eq!(on_sr(setup, sr), copies_of(first));
    for (reference, record) in setup.sim.vdis_on(sr) {
        assert_eq!(
            record.other_config["vmbackup-backup-sr-vm"],
            first["vm"]["uuid"].as_str().unwrap()
        );
        let bytes = setup.sim.vdi_bytes(&reference).unwrap();
        if record.virtual_size == data_size {
            assert!(bytes.iter().all(|b| *b == 0), "the data disk is blank");
        } else {
            assert!(bytes == *system, "the system disk's copy holds its bytes");
        }
    }
    setup.assert_no_leaks();
    let audit = setup.sim.audit();
    assert!(
        audit
            .vdis
            .iter()
            .all(|v| on_sr(setup, sr).contains(&v.uuid)),
        "only the backup's disks are new:\n{audit}"
    );
}

/// Restores `backup` and checks the new VM: its system disk holds `system`, its data disk
/// (of `data_size` bytes) is blank, neither carries the backup's marks.
fn check_restore(
    setup: &Setup,
    backup: &std::path::Path,
    config: &std::path::Path,
    system: &[u8],
    data_size: i64,
) {
    // restore: a new VM whose system disk holds the bytes, whose data disk is blank.
    let restored = restore_checked(backup, config);
    let uuid = restored["vms"][0].as_str().unwrap();
    let (new_vm, record) = setup
        .sim
        .vms()
        .into_iter()
        .find(|(_, r)| r.uuid == uuid)
        .expect("the restored VM");
    assert!(!record.is_a_snapshot && !record.is_a_template, "{record:?}");
    assert!(
        record.name_label.starts_with("web (restored "),
        "{}",
        record.name_label
    );
    let new_disks = setup.sim.vdis_of(&new_vm);
    assert_eq!(new_disks.len(), 2);
    assert!(setup.sim.vdi_bytes(&new_disks[0]).unwrap() == *system);
    let restored_data = setup.sim.vdi(&new_disks[1]).unwrap();
    assert_eq!(restored_data.virtual_size, data_size);
    assert!(
        setup
            .sim
            .vdi_bytes(&new_disks[1])
            .unwrap()
            .iter()
            .all(|b| *b == 0)
    );
    assert!(
        !restored_data
            .other_config
            .contains_key("vmbackup-backup-sr-vm")
            && !setup
                .sim
                .vdi(&new_disks[0])
                .unwrap()
                .other_config
                .contains_key("vmbackup-backup-sr-vm"),
        "restored disks are the VM's, not the backup's"
    );
}

/// Destroys a VDI through the pool's API, as an admin would.
fn destroy_vdi(setup: &Setup, config: &std::path::Path, vdi: &Ref) {
    let config = vmbackup::Config::load(config, vmbackup::Overrides::default()).unwrap();
    let secret = cli_common::secrets::Secret::new(setup.sim.credentials().1);
    let session = vmbackup::connect::connect(&config, &secret).unwrap();
    session.vdi().destroy(vdi).unwrap();
}

#[test]
fn a_failure_at_any_step_leaves_nothing_on_either_sr() {
    let (setup, sr) = pool();
    let config = setup.config(
        "sr.cfg",
        &format!("backup-sr-export=web\nbackup_sr={SR_NAME}"),
    );
    for (method, nth) in [("VDI.copy", 1), ("VDI.create", 1), ("/export_metadata", 1)] {
        setup
            .sim
            .faults()
            .fail_call(method, nth, &["SR_BACKEND_FAILURE_1", "", "injected"]);
        let report = vmbackup_json(&["run", s(&config), "--quiet"], 1);
        assert_eq!(report["vms"][0]["status"], "failed", "{method}: {report:#}");
        assert!(
            report["vms"][0]["status_line"]
                .as_str()
                .unwrap()
                .contains("FAIL"),
            "{report:#}"
        );
        setup.sim.faults().clear();
        assert!(setup.backups_of("web").is_empty(), "{method}");
        assert!(
            on_sr(&setup, &sr).is_empty(),
            "{method}: disks left on the backup SR"
        );
        setup.assert_clean();
    }
    // A backup_sr that names no SR fails the VM, not the run's other work.
    let wrong = setup.config("wrong.cfg", "backup-sr-export=web\nbackup_sr=nowhere");
    let report = vmbackup_json(&["run", s(&wrong), "--quiet"], 1);
    assert!(
        report["vms"][0]["error"]
            .as_str()
            .unwrap()
            .contains("no SR has this uuid or name"),
        "{report:#}"
    );
    setup.assert_clean();
    let (_, stderr) = vmbackup_exit(&["preview", s(&wrong)], 2);
    assert!(stderr.contains("no SR has this uuid or name"), "{stderr}");
    // And the rule without backup_sr is a configuration error (exit 2).
    let missing = setup.config("missing.cfg", "backup-sr-export=web");
    let (_, stderr) = vmbackup_exit(&["preview", s(&missing)], 2);
    assert!(stderr.contains("backup_sr="), "{stderr}");
}

#[test]
fn disks_a_killed_run_left_on_the_backup_sr_are_swept_by_the_next_run_and_only_those() {
    use xenapi::records::{StringMap, VdiRecord};

    let (setup, sr) = pool();
    let config = setup.config(
        "sr.cfg",
        &format!("backup-sr-export=web\nbackup_sr={SR_NAME}"),
    );
    vmbackup_json(&["run", s(&config), "--quiet"], 0);
    let published = manifest(&setup.backups_of("web")[0]);
    let stamp = setup.backups_of("web")[0]
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();

    // What a run killed between VDI.copy and publishing leaves: a disk marked for this VM,
    // this host and this directory, whose backup directory never appeared.
    let node = vmbackup::status_log::node_name().unwrap();
    let host = vmbackup::status_log::short_host_name(&node);
    let owner = format!("{host}:{}", setup.backups().join("web").display());
    let vm_uuid = published["vm"]["uuid"].as_str().unwrap();
    let loaded = vmbackup::Config::load(&config, vmbackup::Overrides::default()).unwrap();
    let secret = cli_common::secrets::Secret::new(setup.sim.credentials().1);
    let session = vmbackup::connect::connect(&loaded, &secret).unwrap();
    let make = |owner: &str, stamp: &str| {
        let marks = StringMap::from([
            ("vmbackup-backup-sr-vm".to_owned(), vm_uuid.to_owned()),
            (
                "vmbackup-backup-sr-created".to_owned(),
                "2020-01-01T00:00:00Z".to_owned(),
            ),
            ("vmbackup-backup-sr-owner".to_owned(), owner.to_owned()),
            ("vmbackup-backup-sr-stamp".to_owned(), stamp.to_owned()),
        ]);
        let vdi = session
            .vdi()
            .create(&VdiRecord {
                name_label: "left behind".into(),
                sr: sr.clone(),
                virtual_size: 1 << 20,
                kind: "user".into(),
                other_config: marks,
                ..VdiRecord::default()
            })
            .unwrap();
        session.vdi().get_record(&vdi).unwrap().uuid
    };
    let killed = make(&owner, "2020-01-01T000000Z");
    let other_host = make(
        &format!("elsewhere:{}", setup.backups().join("web").display()),
        "2020-01-01T000000Z",
    );
    let of_a_backup = make(&owner, &stamp);

    vmbackup_json(&["run", s(&config), "--quiet"], 0);
    let now = on_sr(&setup, &sr);
    assert!(!now.contains(&killed), "the killed run's disk is swept");
    assert!(
        now.contains(&other_host),
        "another host's disk is not ours to sweep"
    );
    assert!(
        now.contains(&of_a_backup),
        "a backup that exists keeps its disks"
    );
    assert!(copies_of(&published).is_subset(&now));
}

#[test]
fn a_manifest_naming_a_disk_that_is_not_ours_never_gets_it_destroyed() {
    let (setup, sr) = pool();
    let vm = web(&setup);
    let production = setup.sim.vdis_of(&vm)[0].clone();
    let production_uuid = setup.sim.vdi(&production).unwrap().uuid;
    let config = setup.config(
        "sr.cfg",
        &format!("backup-sr-export=web:1\nbackup_sr={SR_NAME}"),
    );
    vmbackup_json(&["run", s(&config), "--quiet"], 0);
    let first = setup.backups_of("web")[0].clone();
    // A damaged (or hostile) manifest names the VM's own system disk as a backup disk.
    let mut edited = manifest(&first);
    edited["sr_copies"][0]["vdi_uuid"] = Value::from(production_uuid.clone());
    std::fs::write(first.join("manifest.json"), edited.to_string()).unwrap();

    let (stdout, _) = vmbackup_exit(&["verify", s(&first), "--config", s(&config)], 1);
    assert!(stdout.contains("not ours"), "{stdout}");
    // The next run's retention (:1) would remove the first backup: it keeps it instead.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let report = vmbackup_json(&["run", s(&config), "--quiet"], 0);
    assert!(
        report["vms"][0]["pruned"].as_array().unwrap().is_empty(),
        "{report:#}"
    );
    assert!(first.is_dir());
    assert!(
        setup.sim.vdi(&production).is_some(),
        "the VM's disk is intact"
    );
    // Nothing of the kept backup was destroyed: its other disk is still on the SR.
    let blank = edited["sr_copies"][1]["vdi_uuid"].as_str().unwrap();
    assert!(
        on_sr(&setup, &sr).contains(blank),
        "the kept backup lost a disk"
    );
    setup.assert_no_leaks();
}
