//! The simulator against the official Python SDK (`ovirtsdk4`) and imageio client: login,
//! search, `all_content`, follow, snapshots, jobs, faults, disk add, uploads and downloads
//! through the real imageio daemon, re-login after a 401, and the SDK's own XML reader
//! over the simulator's bodies.

use super::support::{assert_identical, demo, qcow2_image};

#[test]
fn the_official_sdk_drives_the_engine_and_the_real_daemon_moves_the_bytes() {
    let fixture = demo();
    let (source, back) = (fixture.path("source.qcow2"), fixture.path("back.qcow2"));
    qcow2_image(&source, "64M", &["0", "1M", "40M"]);
    let out = fixture.sdk(
        "basics",
        &[&source.to_string_lossy(), &back.to_string_lossy()],
    );
    assert_eq!(out["vm"], "vm1");
    assert_eq!(out["ovf_has_name"], true);
    assert_eq!(out["wildcard"], serde_json::json!(["vm1", "vm2"]));
    assert_eq!(
        out["followed_disks"],
        serde_json::json!(["vm1-boot", "vm1-data"])
    );
    assert_eq!(out["snapshot_first_status"], "locked");
    assert_eq!(out["snapshot_disks"], 2);
    assert_eq!(out["snapshot_ovf"], true);
    assert_eq!(out["job"], serde_json::json!(["finished"]));
    assert_eq!(out["snapshot_types_after"], serde_json::json!(["active"]));
    let fault = out["block_fault"]
        .as_str()
        .expect("the block domain refused raw + sparse");
    assert!(
        fault.contains("incompatible with the storage domain type"),
        "{fault}"
    );
    assert_eq!(out["not_found"], 404);
    assert_eq!(out["disk_first_status"], "locked");
    assert_eq!(out["host"], "host1");
    assert_eq!(out["upload_phases"][0], "initializing");
    assert_eq!(
        out["download_phases"].as_array().unwrap().last().unwrap(),
        "finished_success"
    );
    assert_identical(&source, &back);
    let disk = fixture
        .sim
        .disk_file(out["disk"].as_str().unwrap())
        .unwrap();
    assert_identical(&source, &disk);
    let log = fixture.sim.imageio_log();
    assert_eq!(log.matches("[tickets] [local] ADD").count(), 2, "{log}");
    assert_eq!(log.matches("[tickets] [local] REMOVE").count(), 2, "{log}");
    fixture.assert_clean_but_disks(&[out["disk"].as_str().unwrap()]);
}

#[test]
fn a_401_makes_the_sdk_log_in_again_and_a_wrong_password_is_access_denied() {
    let fixture = demo();
    fixture.sim.faults().unauthorized_once();
    let out = fixture.sdk("relogin", &[]);
    assert_eq!(out["vms"], 3);
    assert_eq!(fixture.sim.logins(), 2);
    let refused = out["wrong_password"].as_str().unwrap();
    assert!(refused.contains("access_denied"), "{refused}");
    fixture.assert_clean();
}

#[test]
fn the_sdk_reader_parses_every_body() {
    let fixture = demo();
    let out = fixture.sdk("reader", &[]);
    let parsed = &out["parsed"];
    let expect = [("", "Api"), ("/vms/VM", "Vm"), ("/vms/no-such-vm", "Fault")];
    for (path, type_name) in expect {
        assert_eq!(parsed[path], type_name, "{path}: {parsed}");
    }
    let lists = [
        ("/vms", "Vm"),
        ("/vms/VM/diskattachments", "DiskAttachment"),
        ("/vms/VM/nics", "Nic"),
        ("/vms/VM/snapshots", "Snapshot"),
        ("/vms/VM/tags", "Tag"),
        ("/disks", "Disk"),
        ("/storagedomains", "StorageDomain"),
        ("/clusters", "Cluster"),
        ("/datacenters", "DataCenter"),
        ("/hosts", "Host"),
        ("/networks", "Network"),
        ("/vnicprofiles", "VnicProfile"),
        ("/users", "User"),
        ("/tags", "Tag"),
    ];
    for (path, type_name) in lists {
        assert_eq!(
            parsed[path],
            serde_json::json!([type_name]),
            "{path}: {parsed}"
        );
    }
    for empty in [
        "/vms/VM/backups",
        "/vms/VM/checkpoints",
        "/imagetransfers",
        "/jobs",
    ] {
        assert_eq!(
            parsed[empty],
            serde_json::json!(["empty"]),
            "{empty}: {parsed}"
        );
    }
    fixture.assert_clean();
}

#[test]
fn vms_nics_disks_attachments_and_tags_live_and_die_as_on_an_engine() {
    let fixture = demo();
    let out = fixture.sdk("lifecycle", &[]);
    assert_eq!(out["new_status"], "down");
    assert_eq!(out["nic_profile"], true);
    assert_eq!(out["stopped"], "down");
    assert_eq!(out["deactivated"], false);
    assert_eq!(out["disk_kept"], true);
    assert_eq!(out["ovf_cpu"], true);
    assert_eq!(out["from_ovf"], "new-vm");
    assert_eq!(out["tags"], serde_json::json!(["nightly"]));
    assert_eq!(out["duplicate"], 409);
    assert_eq!(out["pki_matches"], true);
    assert_eq!(out["basic"], 3);
    assert!(fixture.sim.vm_id("new-vm").is_none());
    fixture.assert_clean();
}

#[test]
fn a_restores_settings_and_kept_mac_reach_the_official_sdk() {
    let fixture = demo();
    let out = fixture.sdk("restore_settings", &[]);
    assert_eq!(out["boot"], serde_json::json!(["network", "hd"]));
    assert_eq!(
        out["memory_policy"],
        serde_json::json!([1u64 << 30, 8u64 << 30])
    );
    assert_eq!(out["description"], "building");
    assert_eq!(out["mac"], "56:6f:aa:bb:cc:dd");
    assert_eq!(out["duplicate_mac"], 400);
    assert_eq!(out["updated"], "restored from a backup");
    assert!(fixture.sim.vm_id("restored").is_none());
    fixture.assert_clean();
}
