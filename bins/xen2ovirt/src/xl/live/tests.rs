//! The snapshot sequence against lvm-snap's recording fake, fed with the `lvs` output that
//! lvm-snap's guest tests captured from real lvm2 (`lvm-snap/tests/fixtures`). This host has
//! no device-mapper: reading a real snapshot is not tested here.

use serde_json::{Map, Value};

use lvm_snap::{CommandOutput, Owner, RecordingRunner};

use super::*;

/// The captured `lvs` report: its argument vector and rows.
fn capture() -> (Vec<String>, Vec<Map<String, Value>>) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../lvm-snap/tests/fixtures/lvs-snapshots.json"
    );
    let value: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("the lvm-snap capture"))
            .expect("JSON");
    let argv = value["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    let report: Value = serde_json::from_str(value["stdout"].as_str().unwrap()).unwrap();
    let rows = report["report"][0]["lv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_object().unwrap().clone())
        .collect();
    (argv, rows)
}

/// An `lvs` reply: the origin `web1-root`, and with `snapshot` its snapshot (the captured
/// `web1-root.back` row renamed) at `percent` full.
fn lvs(rows: &[Map<String, Value>], snapshot: bool, percent: &str) -> CommandOutput {
    let row = |name: &str| rows.iter().find(|r| r["lv_name"] == name).unwrap().clone();
    let mut picked = vec![Value::Object(row("web1-root"))];
    if snapshot {
        let mut snap = row("web1-root.back");
        snap.insert("lv_name".into(), "web1-root.xen2ovirt".into());
        snap.insert("lv_path".into(), "/dev/vgsnap/web1-root.xen2ovirt".into());
        snap.insert("snap_percent".into(), percent.into());
        picked.push(Value::Object(snap));
    }
    CommandOutput::ok(serde_json::json!({"report": [{"lv": picked}]}).to_string())
}

fn disk() -> SourceDisk {
    SourceDisk {
        position: 0,
        device: "xvda".into(),
        name: "web1-root".into(),
        uuid: "/dev/vgsnap/web1-root".into(),
        size: 1 << 30,
        allocated: 1 << 30,
        storage: String::new(),
        bootable: true,
        read_only: false,
    }
}

#[test]
fn a_snapshot_is_taken_read_checked_and_removed() {
    let (argv, rows) = capture();
    let lvs_argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let runner = RecordingRunner::new()
        .expect(&lvs_argv, lvs(&rows, false, ""))
        .expect(&lvs_argv, lvs(&rows, false, ""))
        .expect(&["lvcreate", "-s"], CommandOutput::ok(""))
        .expect(&lvs_argv, lvs(&rows, true, "3.10"))
        .expect(&lvs_argv, lvs(&rows, true, "7.50"))
        .expect(
            &["lvremove", "-f", "vgsnap/web1-root.xen2ovirt"],
            CommandOutput::ok(""),
        );
    let lvm = Lvm::new(runner, Owner::new("testhost", 4242, 1_000_000));
    let disk_path = Path::new("/dev/vgsnap/web1-root");
    {
        let live = LiveDisks::take(&lvm, &[disk()]).unwrap();
        assert_eq!(
            live.device(disk_path).unwrap(),
            Path::new("/dev/vgsnap/web1-root.xen2ovirt")
        );
        live.check_intact(disk_path).unwrap();
    }
    let calls = lvm.runner().calls();
    let lvcreate = calls.iter().find(|c| c[0] == "lvcreate").unwrap().join(" ");
    assert!(
        lvcreate.contains("-l 20%ORIGIN") && lvcreate.contains("-n web1-root.xen2ovirt"),
        "{lvcreate}"
    );
    assert!(lvcreate.ends_with("vgsnap/web1-root"), "{lvcreate}");
    assert_eq!(calls.last().unwrap()[0], "lvremove");
    assert_eq!(lvm.runner().unused(), 0);
}

#[test]
fn an_overflowed_snapshot_fails_and_is_removed_all_the_same() {
    let (argv, rows) = capture();
    let lvs_argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let runner = RecordingRunner::new()
        .expect(&lvs_argv, lvs(&rows, false, ""))
        .expect(&lvs_argv, lvs(&rows, false, ""))
        .expect(&["lvcreate", "-s"], CommandOutput::ok(""))
        .expect(&lvs_argv, lvs(&rows, true, "3.10"))
        .expect(&lvs_argv, lvs(&rows, true, "100.00"))
        .expect(&["lvremove", "-f"], CommandOutput::ok(""));
    let lvm = Lvm::new(runner, Owner::new("testhost", 4242, 1_000_000));
    {
        let live = LiveDisks::take(&lvm, &[disk()]).unwrap();
        let error = live
            .check_intact(Path::new("/dev/vgsnap/web1-root"))
            .unwrap_err();
        assert!(format!("{error:#}").contains("web1-root"), "{error:#}");
    }
    assert_eq!(lvm.runner().unused(), 0);
}

#[test]
fn a_disk_that_is_not_an_lvm_volume_is_refused() {
    let lvm = Lvm::new(RecordingRunner::new(), Owner::new("h", 1, 1));
    let mut file = disk();
    file.uuid = "/srv/xen/web.img".into();
    let error = LiveDisks::take(&lvm, &[file]).err().expect("refused");
    assert!(error.downcast_ref::<UsageError>().is_some(), "{error:#}");
}
