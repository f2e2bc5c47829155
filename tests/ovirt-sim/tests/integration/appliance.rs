//! The backup appliance: attaching the snapshot of a disk makes a real loop device holding
//! the disk's bytes, linked by serial; detaching (or stopping the simulator) releases it.

use std::path::{Path, PathBuf};

use super::support::{assert_identical, demo, run};

/// The loop devices whose backing file is under `dir` (ours only).
fn loops_under(dir: &Path) -> Vec<String> {
    run(
        "losetup",
        &["--list", "--noheadings", "--output", "NAME,BACK-FILE"],
    )
    .lines()
    .filter(|line| line.contains(&*dir.to_string_lossy()))
    .map(str::to_owned)
    .collect()
}

#[test]
fn an_attached_snapshot_is_a_loop_device_linked_by_serial() {
    let fixture = demo();
    let out = fixture.sdk("appliance", &["attach"]);
    let disk = out["disk"].as_str().unwrap();
    let link = fixture.by_id.path().join(format!("virtio-{}", &disk[..20]));
    let device = std::fs::read_link(&link).unwrap_or_else(|e| panic!("{}: {e}", link.display()));
    assert!(
        device.to_string_lossy().starts_with("/dev/loop"),
        "{}",
        device.display()
    );
    assert_eq!(out["logical_name"], device.to_string_lossy().as_ref());
    // The device holds the disk's bytes as the snapshot froze them (nothing wrote since).
    let active = fixture.sim.disk_file(disk).unwrap();
    assert_identical(&device, &active);
    let bytes = std::fs::read(&device).unwrap();
    assert_eq!(bytes.len(), 64 << 20);
    assert!(bytes[..64 << 10].iter().all(|&b| b == 0x11));
    assert!(
        bytes[32 << 20..(32 << 20) + (64 << 10)]
            .iter()
            .all(|&b| b == 0x11)
    );
    assert!(bytes[1 << 20..2 << 20].iter().all(|&b| b == 0));
    let scratch_root: PathBuf = active.ancestors().nth(4).unwrap().to_owned();
    assert_eq!(loops_under(&scratch_root).len(), 1);

    fixture.sdk(
        "appliance",
        &["detach", disk, out["snapshot"].as_str().unwrap()],
    );
    assert!(!link.exists(), "the by-id link is gone on detach");
    assert!(
        loops_under(&scratch_root).is_empty(),
        "the loop device is released on detach"
    );
    fixture.assert_clean();
}

#[test]
fn stopping_the_simulator_releases_attached_loop_devices() {
    let fixture = demo();
    let out = fixture.sdk("appliance", &["attach"]);
    let disk = out["disk"].as_str().unwrap();
    let link = fixture.by_id.path().join(format!("virtio-{}", &disk[..20]));
    let active = fixture.sim.disk_file(disk).unwrap();
    let root: PathBuf = active.ancestors().nth(4).unwrap().to_owned();
    assert_eq!(loops_under(&root).len(), 1);
    let super::support::Fixture {
        sim,
        by_id,
        scratch,
    } = fixture;
    drop(sim);
    assert!(!link.exists());
    assert!(
        loops_under(&root).is_empty(),
        "the loop device is released on drop"
    );
    drop((by_id, scratch));
}

#[test]
fn a_disk_attached_as_itself_is_looped_directly_and_writes_reach_it() {
    let fixture = demo();
    let out = fixture.sdk("attach_direct", &["attach"]);
    let disk = out["disk"].as_str().unwrap();
    let link = fixture.by_id.path().join(format!("virtio-{}", &disk[..20]));
    let device = std::fs::read_link(&link).unwrap();
    let file = fixture.sim.disk_file(disk).unwrap();
    let backing = run(
        "losetup",
        &["--list", "--noheadings", "--output", "BACK-FILE"],
    )
    .lines()
    .any(|line| line.trim() == file.to_string_lossy());
    assert!(backing, "{} loops {}", device.display(), file.display());
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut dev = std::fs::OpenOptions::new()
            .write(true)
            .open(&device)
            .unwrap();
        dev.seek(SeekFrom::Start(5 << 20)).unwrap();
        dev.write_all(&[0x99; 4096]).unwrap();
        dev.sync_all().unwrap();
    }
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes[5 << 20..(5 << 20) + 4096].iter().all(|&b| b == 0x99));
    let back = fixture.sdk("attach_direct", &["detach", disk]);
    assert_eq!(back["disk"], disk);
    assert_eq!(fixture.sim.disk_ids("vm2"), [disk]);
    assert!(!link.exists());
    let root: PathBuf = file.ancestors().nth(4).unwrap().to_owned();
    assert!(loops_under(&root).is_empty());
    fixture.assert_clean();
}
