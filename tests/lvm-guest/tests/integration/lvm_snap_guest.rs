//! lvm-snap on real LVM in the guest: the scenario groups of `lvm-snap-scenarios`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lvm_guest::{GuestImage, GuestRun, boot, tail};
use serde_json::Value;

/// What one boot reported: scenario name to (ok, detail), and the captured lvm2 outputs.
struct Reported {
    scenarios: BTreeMap<String, (bool, String)>,
    captures: BTreeMap<String, Value>,
}

fn run_group(group: &str, disks_mib: &[u64], expected: &[&str]) -> Reported {
    let image = GuestImage::cached().unwrap_or_else(|e| panic!("{e}"));
    let binary = Path::new(env!("CARGO_BIN_EXE_lvm-snap-scenarios"));
    let outcome = boot(
        &image,
        &GuestRun {
            binary,
            args: &[group],
            extra: &[],
            disks_mib,
            timeout: Duration::from_secs(420),
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("group {group}: guest ran {:?}", outcome.elapsed);
    let mut reported = Reported {
        scenarios: BTreeMap::new(),
        captures: BTreeMap::new(),
    };
    let mut done = false;
    for line in &outcome.results {
        let value: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("result line {line:?}: {e}"));
        if let Some(name) = value["scenario"].as_str() {
            let ok = value["ok"].as_bool().expect("ok is a boolean");
            let detail = value["detail"].as_str().unwrap_or_default().to_owned();
            eprintln!("  {name}: {} {detail}", if ok { "ok" } else { "FAILED" });
            reported.scenarios.insert(name.to_owned(), (ok, detail));
        } else if let Some(name) = value["capture"].as_str() {
            reported.captures.insert(name.to_owned(), value.clone());
        } else if value["done"] == Value::Bool(true) {
            done = true;
        }
    }
    std::fs::create_dir_all(capture_dir()).expect("capture directory");
    for (name, value) in &reported.captures {
        let path = capture_dir().join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_string_pretty(value).expect("json"))
            .expect("write capture");
    }
    let console = tail(&outcome.console, 80);
    for name in expected {
        match reported.scenarios.get(*name) {
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
    reported
}

/// Where the captured lvm2 outputs are written (to refresh lvm-snap's fixtures).
fn capture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lvm-captures")
}

#[test]
fn thick_and_thin_snapshots_of_ext4_and_xfs_show_the_origin_at_snapshot_time() {
    let reported = run_group(
        "snapshots",
        &[1024],
        &[
            "thick-ext4",
            "thick-xfs-percent",
            "thin-ext4",
            "thin-xfs",
            "capture-json",
        ],
    );
    for name in ["lvs-snapshots", "vgs", "lvs-missing-vg"] {
        assert_same_shape(&reported, name);
    }
}

/// lvm-snap's unit tests replay the fixtures in `lvm-snap/tests/fixtures`: the guest's lvm2
/// must still print that shape (same command line, same sections, same fields per row).
fn assert_same_shape(reported: &Reported, name: &str) {
    let captured = reported
        .captures
        .get(name)
        .unwrap_or_else(|| panic!("no capture {name}"));
    let fixture = lvm_guest::workspace_root().join(format!("lvm-snap/tests/fixtures/{name}.json"));
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(&fixture).expect("fixture"))
        .expect("fixture JSON");
    assert_eq!(captured["argv"], fixture["argv"], "{name}: command line");
    assert_eq!(captured["code"], fixture["code"], "{name}: exit status");
    let shape = |value: &Value| -> Vec<(String, Vec<String>)> {
        let stdout = value["stdout"].as_str().expect("stdout");
        if stdout.trim().is_empty() {
            return Vec::new();
        }
        let report: Value = serde_json::from_str(stdout).expect("report JSON");
        let mut shape = Vec::new();
        for section in report["report"].as_array().expect("report array") {
            for (kind, rows) in section.as_object().expect("section") {
                let mut fields: Vec<String> = rows
                    .as_array()
                    .expect("rows")
                    .iter()
                    .flat_map(|row| row.as_object().expect("row").keys().cloned())
                    .collect();
                fields.sort();
                fields.dedup();
                shape.push((kind.clone(), fields));
            }
        }
        shape
    };
    assert_eq!(shape(captured), shape(&fixture), "{name}: report shape");
}

#[test]
fn failures_are_reported_and_leave_no_snapshot_or_mount_of_ours() {
    let reported = run_group(
        "failures",
        &[512, 64],
        &[
            "overflow",
            "vg-full",
            "stale-after-sigkill",
            "name-taken-not-ours",
            "owner-still-running",
            "mount-fails",
            "panic-while-mounted",
        ],
    );
    for name in ["lvs-overflowed", "lvcreate-vg-full"] {
        assert_same_shape(&reported, name);
    }
}
