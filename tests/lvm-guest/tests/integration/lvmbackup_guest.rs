//! lvmbackup on real LVM in the guest: the real binary driven by the scenario
//! groups of `lvmbackup-scenarios`, one boot per group.

use std::path::Path;
use std::time::Duration;

use lvm_guest::{GuestImage, GuestRun, boot, tail, workspace_binary};
use serde_json::Value;

fn run_group(group: &str, disks_mib: &[u64], expected: &[&str]) {
    let image = GuestImage::cached().unwrap_or_else(|e| panic!("{e}"));
    let scenarios = Path::new(env!("CARGO_BIN_EXE_lvmbackup-scenarios"));
    let lvmbackup = workspace_binary("lvmbackup").unwrap_or_else(|e| panic!("{e}"));
    let outcome = boot(
        &image,
        &GuestRun {
            binary: scenarios,
            args: &[group],
            extra: &[&lvmbackup],
            disks_mib,
            timeout: Duration::from_secs(600),
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("group {group}: guest ran {:?}", outcome.elapsed);
    let mut reported = std::collections::BTreeMap::new();
    let mut done = false;
    for line in &outcome.results {
        let value: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("result line {line:?}: {e}"));
        if let Some(name) = value["scenario"].as_str() {
            let ok = value["ok"].as_bool().expect("ok is a boolean");
            let detail = value["detail"].as_str().unwrap_or_default().to_owned();
            eprintln!("  {name}: {} {detail}", if ok { "ok" } else { "FAILED" });
            reported.insert(name.to_owned(), (ok, detail));
        } else if value["done"] == Value::Bool(true) {
            done = true;
        }
    }
    let console = tail(&outcome.console, 100);
    for name in expected {
        match reported.get(*name) {
            Some((true, _)) => {}
            Some((false, detail)) => {
                panic!("scenario {name} failed: {detail}\nconsole:\n{console}")
            }
            None => panic!("scenario {name} did not report\nconsole:\n{console}"),
        }
    }
    assert!(
        done,
        "the scenario binary did not finish\nconsole:\n{console}"
    );
    assert_eq!(
        outcome.exit_code,
        Some(0),
        "guest exit status\nconsole:\n{console}"
    );
}

#[test]
fn four_nights_of_thick_and_thin_ext4_and_xfs_volumes_restore_with_gnu_tar() {
    run_group(
        "nights",
        &[1024, 256],
        &[
            "night-1",
            "night-2",
            "night-3",
            "night-4",
            "verify-list-restore",
        ],
    );
}

#[test]
fn failures_publish_nothing_and_leave_no_snapshot_mount_or_partial_file_and_raw_images_restore() {
    run_group(
        "failures",
        &[1024, 512, 64],
        &[
            "overflow",
            "vg-full",
            "mount-fails",
            "sigkill-then-rerun",
            "name-taken-not-ours",
            "sigterm-then-rerun",
            "raw-images",
            "raw-overflow",
            "backup-device-full",
        ],
    );
}
