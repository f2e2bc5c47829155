//! The directory model on real temporary directories: our layout and NAUbackup's, stray
//! entries, half-written backups, dry runs, and a crash between rename and delete.
//!
//! Moved from the retention crate with the code. Its manifests are now whole ones (the
//! store reads every manifest as the one [`Manifest`](backup_core::store::Manifest) type;
//! before, retention read five keys of its own copy): [`manifest`] fills in the keys a
//! case does not set.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use backup_core::store::{Layout, ScannedDir, StoreError, apply, scan_vm_dir};
use jiff::tz::TimeZone;
use retention::{BackupState, Decision, Plan, plan};
use tempfile::TempDir;

use super::support::{instant, policy};

const NOW: &str = "2026-11-22T12:00:00Z";

fn write(path: &Path, contents: &str) {
    fs::create_dir_all(path.parent().expect("has a parent")).expect("create parent");
    fs::write(path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// A whole manifest: `fields` (JSON object members, such as `"state": "complete"`) over
/// the keys every manifest has.
fn manifest(fields: &str) -> String {
    let mut whole: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
        r#"{"format": "vmtoolkit-backup/1", "state": "complete",
            "created": "2026-11-01T00:00:00Z", "finished": "2026-11-01T00:00:00Z",
            "parent": null, "tags": [], "kind": "vm-export",
            "vm": {"uuid": "u", "name_label": "vm", "directory": "vm"},
            "pool": {"master": "https://xs", "host": "h"}, "tool": "test", "files": []}"#,
    )
    .expect("the base manifest");
    let set: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&format!("{{{fields}}}")).expect("the test's manifest fields");
    whole.extend(set);
    serde_json::to_string(&whole).expect("serialises")
}

/// A finished backup in our layout, with a disk image and a manifest. A manifest without
/// `created` in `extra_manifest` gets the stamp's time.
fn own_backup(dir: &Path, stamp: &str, extra_manifest: &str) {
    write(&dir.join(stamp).join("disk-xvda.img"), "disk contents");
    let created = format!(
        r#""created": "{}""#,
        backup_core::store::layout::parse_stamp(stamp).expect("a stamp")
    );
    let fields = if extra_manifest.contains("\"created\"") {
        extra_manifest.trim_start_matches(", ").to_owned()
    } else {
        format!("{created}{extra_manifest}")
    };
    write(&dir.join(stamp).join("manifest.json"), &manifest(&fields));
}

/// Every path under `dir`, relative and sorted.
fn tree(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).expect("readable") {
            let path = entry.expect("entry").path();
            out.push(path.strip_prefix(root).expect("under root").to_path_buf());
            if path.is_dir() && !path.is_symlink() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// What a scan says of one backup: id, state, time, tags, parent.
type Seen = (String, BackupState, String, Vec<String>, Option<String>);

fn summary(scan: &ScannedDir) -> Vec<Seen> {
    scan.backups
        .iter()
        .map(|b| {
            (
                b.id.clone(),
                b.state,
                b.time.to_string(),
                b.tags.iter().cloned().collect(),
                b.parent.clone(),
            )
        })
        .collect()
}

fn names(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
        .collect()
}

/// Our layout with one of everything: complete, chained, same-second, protected,
/// incomplete, half-written, leftover, and entries that are not backups.
fn populate_own_layout(d: &Path) {
    own_backup(
        d,
        "2026-11-20T013005Z",
        r#", "created": "2026-11-20T02:30:05+01:00", "tags": ["weekly"], "parent": null"#,
    );
    own_backup(
        d,
        "2026-11-21T013005Z",
        r#", "parent": "2026-11-20T013005Z", "disks": [{"device": "xvda", "userdevice": "0",
              "vdi_uuid": "v", "name_label": "d", "virtual_size": 13,
              "file": "disk-xvda.img", "format": "raw"}]"#,
    );
    own_backup(
        d,
        "2026-11-21T013005Z.1",
        r#", "parent": "2026-11-21T013005Z""#,
    );
    own_backup(d, "2026-11-17T013005Z", "");
    write(&d.join("2026-11-17T013005Z/protected"), "");
    write(
        &d.join("2026-11-19T013005Z/disk-xvda.img"),
        "no manifest: crashed before it",
    );
    write(
        &d.join("2026-11-18T013005Z/manifest.json"),
        &manifest(r#""state": "writing", "created": "2026-11-18T01:30:05Z""#),
    );
    write(
        &d.join(".partial-2026-11-22T013005Z/manifest.json"),
        r#"{"format": "vmtoolkit-b"#,
    );
    write(
        &d.join(".deleting-2026-11-01T013005Z/disk-xvda.img"),
        "half deleted",
    );
    write(&d.join("notes.txt"), "a stray file");
    write(&d.join(".deleting-note"), "a stray file with our prefix");
    write(&d.join("2026-11-16T013005Z/manifest.json"), "{not json");
    write(
        &d.join("2026-11-15T013005Z/manifest.json"),
        r#"{"format": "vmtoolkit-backup/2", "state": "complete"}"#,
    );
    fs::create_dir(d.join("lost+found")).expect("mkdir");
    fs::create_dir(d.join(std::ffi::OsStr::from_bytes(b"\xff-latin1"))).expect("mkdir");
    std::os::unix::fs::symlink(d.join("2026-11-20T013005Z"), d.join("2026-11-14T013005Z"))
        .expect("symlink");
}

#[test]
fn own_layout_scan_tells_backups_from_everything_else() {
    let vm = TempDir::new().expect("tempdir");
    let d = vm.path();
    populate_own_layout(d);

    let scan = scan_vm_dir(d, &Layout::Own).expect("scan");
    let s = |text: &str| text.to_string();
    assert_eq!(
        summary(&scan),
        [
            (
                s(".partial-2026-11-22T013005Z"),
                BackupState::Incomplete,
                s("2026-11-22T01:30:05+00:00"),
                vec![],
                None
            ),
            (
                s("2026-11-17T013005Z"),
                BackupState::Protected,
                s("2026-11-17T01:30:05+00:00"),
                vec![],
                None
            ),
            (
                s("2026-11-18T013005Z"),
                BackupState::Incomplete,
                s("2026-11-18T01:30:05+00:00"),
                vec![],
                None
            ),
            (
                s("2026-11-20T013005Z"),
                BackupState::Complete,
                s("2026-11-20T02:30:05+01:00"),
                vec![s("weekly")],
                None
            ),
            (
                s("2026-11-21T013005Z"),
                BackupState::Complete,
                s("2026-11-21T01:30:05+00:00"),
                vec![],
                Some(s("2026-11-20T013005Z"))
            ),
            (
                s("2026-11-21T013005Z.1"),
                BackupState::Complete,
                s("2026-11-21T01:30:05+00:00"),
                vec![],
                Some(s("2026-11-21T013005Z"))
            ),
        ]
    );
    let ignored: Vec<(String, &str)> = scan
        .ignored
        .iter()
        .map(|i| {
            (
                i.path
                    .file_name()
                    .expect("name")
                    .to_string_lossy()
                    .into_owned(),
                i.why.as_str(),
            )
        })
        .collect();
    assert_eq!(ignored.len(), 5, "{ignored:?}");
    // A backup directory without a readable manifest was damaged after it was published
    // (ours are renamed only once the manifest is written): reported, never incomplete.
    let damaged: Vec<(&str, &str)> = scan
        .damaged
        .iter()
        .map(|d| (d.id.as_str(), d.why.as_str()))
        .collect();
    assert_eq!(
        damaged,
        [
            (
                "2026-11-15T013005Z",
                "manifest.json has unknown format `vmtoolkit-backup/2`"
            ),
            (
                "2026-11-16T013005Z",
                "manifest.json is not valid: key must be a string at line 1 column 2"
            ),
            ("2026-11-19T013005Z", "manifest.json is missing"),
        ]
    );
    for (name, why) in [
        (".deleting-note", "not a directory"),
        ("2026-11-14T013005Z", "not a directory"),
        ("lost+found", "not a backup directory name"),
        ("notes.txt", "not a directory"),
        ("\u{fffd}-latin1", "name is not valid UTF-8"),
    ] {
        assert!(
            ignored.contains(&(name.to_string(), why)),
            "{name}: {why} not in {ignored:?}"
        );
    }
    assert_eq!(names(&scan.leftovers), [".deleting-2026-11-01T013005Z"]);
}

#[test]
fn apply_removes_only_what_the_plan_says_and_a_dry_run_nothing() {
    let vm = TempDir::new().expect("tempdir");
    let d = vm.path();
    for day in 17..=21 {
        own_backup(d, &format!("2026-11-{day}T013005Z"), "");
    }
    write(
        &d.join(".partial-2026-11-16T013005Z/disk-xvda.img"),
        "an old failed run",
    );
    write(&d.join("notes.txt"), "a stray file");
    write(&d.join("lost+found/x"), "an unknown directory");
    let before = tree(d);

    let scan = scan_vm_dir(d, &Layout::Own).expect("scan");
    let plan = plan(&scan.backups, &policy(r#"{"keep_last": 2}"#), instant(NOW));
    let dry = apply(&scan, &plan, true).expect("dry run");
    assert_eq!(tree(d), before, "a dry run changed the directory");
    assert_eq!(
        names(&dry.removed),
        [
            ".partial-2026-11-16T013005Z",
            "2026-11-17T013005Z",
            "2026-11-18T013005Z",
            "2026-11-19T013005Z"
        ]
    );

    let done = apply(&scan, &plan, false).expect("apply");
    assert_eq!(done.removed, dry.removed);
    assert!(done.leftovers_removed.is_empty());
    let left: Vec<String> = fs::read_dir(d)
        .expect("readable")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        left,
        [
            "2026-11-20T013005Z",
            "2026-11-21T013005Z",
            "lost+found",
            "notes.txt"
        ]
    );
    assert_eq!(
        fs::read_to_string(d.join("lost+found/x")).expect("untouched"),
        "an unknown directory"
    );
    assert!(d.join("2026-11-21T013005Z/disk-xvda.img").exists());
}

#[test]
fn a_crash_between_rename_and_delete_leaves_no_complete_looking_backup() {
    let vm = TempDir::new().expect("tempdir");
    let d = vm.path();
    for day in 19..=21 {
        own_backup(d, &format!("2026-11-{day}T013005Z"), "");
    }
    // The state an apply leaves when killed after its rename, half-way through deleting:
    // the image is gone, the manifest still says "complete".
    fs::rename(
        d.join("2026-11-19T013005Z"),
        d.join(".deleting-2026-11-19T013005Z"),
    )
    .expect("rename");
    fs::remove_file(d.join(".deleting-2026-11-19T013005Z/disk-xvda.img")).expect("rm");
    assert!(
        d.join(".deleting-2026-11-19T013005Z/manifest.json")
            .exists()
    );

    let scan = scan_vm_dir(d, &Layout::Own).expect("scan");
    let ids: Vec<&str> = scan.backups.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(
        ids,
        ["2026-11-20T013005Z", "2026-11-21T013005Z"],
        "the half-deleted backup must not count"
    );
    assert_eq!(names(&scan.leftovers), [".deleting-2026-11-19T013005Z"]);

    // The next apply finishes the removal first, even when its plan removes nothing else.
    let plan = plan(&scan.backups, &policy(r#"{"keep_last": 5}"#), instant(NOW));
    assert_eq!(plan.removed().count(), 0);
    let dry = apply(&scan, &plan, true).expect("dry run");
    assert_eq!(dry.leftovers_removed, scan.leftovers);
    assert!(d.join(".deleting-2026-11-19T013005Z").exists());
    let report = apply(&scan, &plan, false).expect("apply");
    assert_eq!(report.leftovers_removed, scan.leftovers);
    assert!(!d.join(".deleting-2026-11-19T013005Z").exists());
    let top: Vec<PathBuf> = tree(d)
        .into_iter()
        .filter(|p| p.components().count() == 1)
        .collect();
    assert_eq!(
        top,
        [
            PathBuf::from("2026-11-20T013005Z"),
            PathBuf::from("2026-11-21T013005Z")
        ]
    );
}

#[test]
fn apply_refuses_plans_that_do_not_match_the_directory() {
    let vm = TempDir::new().expect("tempdir");
    let d = vm.path();
    own_backup(d, "2026-11-20T013005Z", "");
    own_backup(d, "2026-11-21T013005Z", "");
    let before = tree(d);
    let scan = scan_vm_dir(d, &Layout::Own).expect("scan");
    let decision = |id: &str, keep: bool| Decision {
        id: id.to_string(),
        keep,
        reasons: vec!["made by hand".into()],
    };
    let foreign = Plan {
        decisions: vec![
            decision("2026-11-21T013005Z", true),
            decision("2026-11-01T013005Z", false),
        ],
    };
    let err = apply(&scan, &foreign, false).expect_err("unknown backup");
    assert!(matches!(err, StoreError::PlanMismatch { .. }));
    assert!(
        err.to_string()
            .contains("backup `2026-11-01T013005Z` to remove was not found by the scan"),
        "{err}"
    );
    let everything = Plan {
        decisions: vec![
            decision("2026-11-21T013005Z", false),
            decision("2026-11-20T013005Z", false),
        ],
    };
    let err = apply(&scan, &everything, false).expect_err("removes every complete backup");
    assert!(
        err.to_string().contains("removes every complete backup"),
        "{err}"
    );
    assert_eq!(tree(d), before);
}

#[test]
fn naubackup_layout_reads_local_times_and_success_markers() {
    let vm = TempDir::new().expect("tempdir");
    let d = vm.path();
    let backup = |name: &str, markers: &[&str]| {
        write(&d.join(name).join("vm.xva"), "export");
        for marker in markers {
            write(&d.join(name).join(marker), "");
        }
    };
    backup("backup-2026-11-22-(01:00:00)", &[]);
    backup("backup-2026-11-21-(01:00:00)", &["success_compress"]);
    backup("backup-2026-11-20-(01:00:00)", &["success"]);
    // Clocks go back at 03:00 CEST: 02:30 happens twice, the earlier (+02:00) is taken.
    backup("backup-2026-10-25-(02:30:00)", &["success"]);
    backup(
        "backup-2026-07-01-(12:00:00)",
        &["success_compressing", "protected"],
    );
    // Clocks go forward at 02:00 CET: 02:30 does not exist and is read as 03:30 CEST.
    backup("backup-2026-03-29-(02:30:00)", &["success_restore"]);
    write(&d.join("00VMbackupWriteTest"), "");
    write(&d.join("backup-2026-11-23-(01:00:00).log"), "stray");
    fs::create_dir(d.join("METADATA_host")).expect("mkdir");

    let cet = TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").expect("valid TZ string");
    let layout = Layout::NauBackup { time_zone: cet };
    let scan = scan_vm_dir(d, &layout).expect("scan");
    let found: Vec<(&str, BackupState, String)> = scan
        .backups
        .iter()
        .map(|b| (b.id.as_str(), b.state, b.time.to_string()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "backup-2026-03-29-(02:30:00)",
                BackupState::Complete,
                "2026-03-29T03:30:00+02:00".to_string()
            ),
            (
                "backup-2026-07-01-(12:00:00)",
                BackupState::Protected,
                "2026-07-01T12:00:00+02:00".to_string()
            ),
            (
                "backup-2026-10-25-(02:30:00)",
                BackupState::Complete,
                "2026-10-25T02:30:00+02:00".to_string()
            ),
            (
                "backup-2026-11-20-(01:00:00)",
                BackupState::Complete,
                "2026-11-20T01:00:00+01:00".to_string()
            ),
            (
                "backup-2026-11-21-(01:00:00)",
                BackupState::Complete,
                "2026-11-21T01:00:00+01:00".to_string()
            ),
            (
                "backup-2026-11-22-(01:00:00)",
                BackupState::Incomplete,
                "2026-11-22T01:00:00+01:00".to_string()
            ),
        ]
    );
    assert_eq!(scan.ignored.len(), 3, "{:?}", scan.ignored);

    // NAUbackup's max_backups = 2, but applied correctly: the running backup, the two
    // newest complete ones and the protected one stay; stray entries are not touched.
    let plan = plan(&scan.backups, &policy(r#"{"keep_last": 2}"#), instant(NOW));
    let report = apply(&scan, &plan, false).expect("apply");
    assert_eq!(
        names(&report.removed),
        [
            "backup-2026-03-29-(02:30:00)",
            "backup-2026-10-25-(02:30:00)"
        ]
    );
    let mut left: Vec<String> = fs::read_dir(d)
        .expect("readable")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            "00VMbackupWriteTest",
            "METADATA_host",
            "backup-2026-07-01-(12:00:00)",
            "backup-2026-11-20-(01:00:00)",
            "backup-2026-11-21-(01:00:00)",
            "backup-2026-11-22-(01:00:00)",
            "backup-2026-11-23-(01:00:00).log",
        ]
    );
}

#[test]
fn naubackup_in_the_system_time_zone_and_missing_directories() {
    let vm = TempDir::new().expect("tempdir");
    write(&vm.path().join("backup-2026-11-22-(01:00:00)/success"), "");
    let scan = scan_vm_dir(vm.path(), &Layout::naubackup_local()).expect("scan");
    assert_eq!(scan.backups.len(), 1);
    assert_eq!(
        scan.backups[0].time.civil().to_string(),
        "2026-11-22T01:00:00"
    );

    let missing = vm.path().join("no-such-vm");
    let err = scan_vm_dir(&missing, &Layout::Own).expect_err("missing directory");
    assert!(matches!(err, StoreError::Io { .. }));
    assert!(err.to_string().contains("no-such-vm"), "{err}");
}
