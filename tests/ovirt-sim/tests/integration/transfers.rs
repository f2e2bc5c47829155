//! `ovirt-img upload-disk` / `download-disk` (the official tool: SDK + imageio client)
//! against the simulator, checked with qemu-img; and the incremental backup API with dirty
//! extents from a qcow2 bitmap served by the real daemon.

use std::process::Command;

use ovirt_sim::imageio::venv_dir;

use super::support::{assert_identical, demo, qcow2_image, run};

#[test]
fn ovirt_img_uploads_and_downloads_through_the_simulator() {
    let fixture = demo();
    let (source, back) = (fixture.path("source.qcow2"), fixture.path("back.qcow2"));
    qcow2_image(&source, "128M", &["0", "3M", "100M"]);
    let password = fixture.path("password");
    let (user, secret) = fixture.sim.credentials();
    std::fs::write(&password, secret).unwrap();
    let ovirt_img = venv_dir().join("bin/ovirt-img");
    let common = |command: &str| {
        let mut c = Command::new(&ovirt_img);
        c.arg(command)
            .args(["--engine-url", fixture.sim.engine_url(), "--username", user])
            .arg("--password-file")
            .arg(&password)
            .arg("--cafile")
            .arg(fixture.sim.ca_file());
        c
    };
    let disk = "5d1e8f00-0000-4000-8000-00000000abcd";
    let upload = common("upload-disk")
        .args(["-s", "data1", "--disk-id", disk])
        .arg(&source)
        .output()
        .expect("run ovirt-img (install it with scripts/lib/install-ovirt-venv)");
    assert!(
        upload.status.success(),
        "{}",
        String::from_utf8_lossy(&upload.stderr)
    );
    assert_identical(&source, &fixture.sim.disk_file(disk).unwrap());
    let download = common("download-disk")
        .args(["-f", "qcow2", disk])
        .arg(&back)
        .output()
        .unwrap();
    assert!(
        download.status.success(),
        "{}",
        String::from_utf8_lossy(&download.stderr)
    );
    assert_identical(&source, &back);
    fixture.assert_clean_but_disks(&[disk]);
}

#[test]
fn an_incremental_backup_serves_exactly_the_blocks_written_since_the_checkpoint() {
    let fixture = demo();
    let full = fixture.path("full.raw");
    let first = fixture.sdk("backup", &["full", &full.to_string_lossy()]);
    let checkpoint = first["checkpoint"].as_str().unwrap().to_owned();
    assert_eq!(first["checkpoints"], 1);
    let data = fixture.sim.disk_ids("vm1")[1].clone();
    let file = fixture.sim.disk_file(&data).unwrap();
    assert_identical(&full, &file);
    // The "guest" writes after the checkpoint.
    let path = file.to_string_lossy();
    run(
        "qemu-io",
        &[
            "-f",
            "qcow2",
            "-c",
            "write -P 0x77 4M 64k",
            "-c",
            "write -P 0x78 20M 1M",
            &path,
        ],
    );
    let second = fixture.sdk("backup", &["incremental", &checkpoint]);
    assert_eq!(
        second["dirty"],
        serde_json::json!([[4 << 20, 64 << 10], [20 << 20, 1 << 20]])
    );
    assert_eq!(second["checkpoints"], 2);
    let removed = fixture.sdk("remove_root_checkpoint", &[]);
    assert_eq!(removed["newest"], 400, "only the root checkpoint can go");
    assert_eq!(removed["left"], serde_json::json!([second["checkpoint"]]));
    let info = run("qemu-img", &["info", "--output=json", &path]);
    assert!(
        !info.contains(removed["removed"].as_str().unwrap()),
        "{info}"
    );
    assert!(
        info.contains(second["checkpoint"].as_str().unwrap()),
        "{info}"
    );
    fixture.assert_clean();
}

#[test]
fn a_qcow2_file_uploads_as_is_and_a_disk_snapshot_downloads_as_frozen() {
    let fixture = demo();
    let (source, back) = (fixture.path("source.qcow2"), fixture.path("snapshot.raw"));
    qcow2_image(&source, "16M", &["0", "9M"]);
    let out = fixture.sdk(
        "cow_and_snapshot",
        &[&source.to_string_lossy(), &back.to_string_lossy()],
    );
    assert_eq!(out["cow_phase"], "finished_success");
    let log = fixture.sim.imageio_log();
    assert!(log.contains("EXTEND"), "the ticket was extended: {log}");
    assert_identical(
        &source,
        &fixture
            .sim
            .disk_file(out["cow_disk"].as_str().unwrap())
            .unwrap(),
    );
    assert_eq!(out["snapshot_phase"], "finished_success");
    // Merged back after the snapshot's removal: the disk is its single raw file again.
    let boot = fixture
        .sim
        .disk_file(out["boot"].as_str().unwrap())
        .unwrap();
    assert_identical(&back, &boot);
    let info = run(
        "qemu-img",
        &["info", "--output=json", &boot.to_string_lossy()],
    );
    assert!(info.contains("\"format\": \"raw\""), "{info}");
    fixture.assert_clean_but_disks(&[out["cow_disk"].as_str().unwrap()]);
}

#[test]
fn removing_snapshots_merges_their_overlays_down_in_any_order() {
    let fixture = demo();
    let (first, second) = (fixture.path("first.raw"), fixture.path("second.raw"));
    super::support::raw_image(&first, 16 << 20, &[(0, 0x33), (1 << 20, 0x61)]);
    super::support::raw_image(
        &second,
        16 << 20,
        &[(0, 0x33), (1 << 20, 0x62), (9 << 20, 0x63)],
    );
    let out = fixture.sdk(
        "two_snapshots",
        &[&first.to_string_lossy(), &second.to_string_lossy()],
    );
    assert_eq!(out["left"], serde_json::json!(["active"]));
    let disk = fixture
        .sim
        .disk_file(out["disk"].as_str().unwrap())
        .unwrap();
    assert_identical(&second, &disk);
    let info = run(
        "qemu-img",
        &["info", "--output=json", &disk.to_string_lossy()],
    );
    assert!(
        info.contains("\"format\": \"raw\""),
        "one raw volume again: {info}"
    );
    let volumes = std::fs::read_dir(disk.parent().unwrap()).unwrap().count();
    assert_eq!(volumes, 1, "the overlays are gone");
    fixture.assert_clean();
}
