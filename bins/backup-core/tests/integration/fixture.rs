//! Backups written by vmbackup before the store moved (`tests/fixtures/before-move`, see
//! its README): they read typed, write back byte for byte, list, and verify; and a word the
//! store does not know, put into a copy of one, fails verify.

use std::fs;
use std::path::{Path, PathBuf};

use backup_core::store::{
    FileRole, Layout, ListedState, MANIFEST_FILE, Manifest, ManifestState, NoHook, Recorded,
    backups_under, list_backups, prune_vm_dir, verify_backup,
};
use disk_image::ImageFormat;
use disk_image::compress::Compression;
use retention::{KeepCount, Policy};

/// The fixture's backup directory.
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/before-move/backups")
}

/// The one backup of the VM directory `vm` in `root`.
fn backup_of(root: &Path, vm: &str) -> PathBuf {
    let mut found: Vec<PathBuf> = fs::read_dir(root.join(vm))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(found.len(), 1, "{vm}: {found:?}");
    found.remove(0)
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn old_manifests_read_typed_and_write_back_byte_for_byte() {
    let root = fixture();
    for vm in ["web 01%2Fa", "db-01", "app-01"] {
        let dir = backup_of(&root, vm);
        let text = fs::read_to_string(dir.join(MANIFEST_FILE)).unwrap();
        let manifest = Manifest::read(&dir).unwrap();
        // The store's untyped `extra` (app-01's `sr_copies`) writes its keys sorted: the
        // same JSON value; vmbackup's typed one gives the bytes back (its own test).
        let written: serde_json::Value = serde_json::from_str(&manifest.to_json()).unwrap();
        let read: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(written, read, "{vm}: written back as read");
        if manifest.extra.is_empty() {
            assert_eq!(manifest.to_json(), text, "{vm}: byte for byte");
        }
        assert_eq!(manifest.state, ManifestState::Complete);
        for file in &manifest.files {
            assert!(!matches!(file.role, FileRole::Unknown(_)), "{vm}: {file:?}");
            assert!(file.compression.known().is_ok(), "{vm}: {file:?}");
            assert!(file.digest.kind.known().is_ok(), "{vm}: {file:?}");
        }
    }
    let web = Manifest::read(&backup_of(&root, "web 01%2Fa")).unwrap();
    assert_eq!(web.vm.name, "web 01/a");
    assert_eq!(web.kind, "vm-export");
    assert_eq!(web.files[0].role, FileRole::Xva);
    assert_eq!(web.files[0].compression, Recorded::Known(Compression::Zstd));
    let db = Manifest::read(&backup_of(&root, "db-01")).unwrap();
    assert_eq!(db.disks[0].format, Recorded::Known(ImageFormat::Raw));
    assert_eq!(db.disks[0].slot, "0");
    assert_eq!(db.files[0].compression, Recorded::Known(Compression::Gzip));
    let app = Manifest::read(&backup_of(&root, "app-01")).unwrap();
    assert_eq!(app.files[0].role, FileRole::BackupSrXva);
    assert_eq!(app.extra["sr_copies"][0]["sr_name"], "Backup NFS");
}

#[test]
fn old_backups_list_and_verify() {
    let listed = list_backups(&fixture()).unwrap();
    let summary: Vec<(&str, usize, ListedState, &str, Option<&str>)> = listed
        .iter()
        .map(|vm| {
            let b = &vm.backups[0];
            (
                vm.vm.as_str(),
                vm.backups.len(),
                b.state,
                b.layout,
                b.kind.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "app-01",
                1,
                ListedState::Complete,
                "ours",
                Some("backup-sr-export")
            ),
            (
                "db-01",
                1,
                ListedState::Complete,
                "ours",
                Some("vdi-export")
            ),
            (
                "web 01/a",
                1,
                ListedState::Complete,
                "ours",
                Some("vm-export")
            ),
        ]
    );
    let backups = backups_under(&fixture()).unwrap();
    assert_eq!(backups.len(), 3);
    for dir in backups {
        let check = verify_backup(&dir).unwrap();
        assert!(check.ok(), "{}: {:?}", dir.display(), check.problems);
        assert!(check.files >= 6, "{check:?}");
    }
}

/// Puts `from` -> `to` into the manifest of the backup `dir` (once, exactly).
fn rewrite(dir: &Path, from: &str, to: &str) {
    let path = dir.join(MANIFEST_FILE);
    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(text.matches(from).count(), 1, "{from} in {text}");
    fs::write(&path, text.replace(from, to)).unwrap();
}

#[test]
fn an_unknown_word_in_an_old_manifest_fails_verify() {
    for (vm, from, to, problem) in [
        (
            "web 01%2Fa",
            r#""role": "xva""#,
            r#""role": "ova""#,
            "unknown role `ova`",
        ),
        (
            "web 01%2Fa",
            r#""compression": "zstd""#,
            r#""compression": "lz4""#,
            "unknown compression `lz4`",
        ),
        (
            "db-01",
            r#""format": "raw""#,
            r#""format": "qcow2""#,
            "unknown image format `qcow2`",
        ),
        (
            "db-01",
            r#""kind": "sha256",
        "value": "47"#,
            r#""kind": "blake3",
        "value": "47"#,
            "unknown digest kind `blake3`",
        ),
        (
            "db-01",
            r#""state": "complete""#,
            r#""state": "sealed""#,
            "the manifest's state is `sealed`",
        ),
    ] {
        let scratch = tempfile::tempdir().unwrap();
        copy_tree(&fixture().join(vm), &scratch.path().join(vm));
        let dir = backup_of(scratch.path(), vm);
        assert!(verify_backup(&dir).unwrap().ok(), "{vm}: sound before");
        rewrite(&dir, from, to);
        let check = verify_backup(&dir).unwrap();
        assert!(!check.ok(), "{vm}: {to} must fail");
        assert!(
            check.problems.iter().any(|p| p.contains(problem)),
            "{vm}: {problem} in {:?}",
            check.problems
        );
        // The manifest still reads, and writes back with the unknown word as it was.
        assert!(Manifest::read(&dir).unwrap().to_json().contains(to));
    }
}

#[test]
fn old_backups_prune_with_new_ones_beside_them() {
    let scratch = tempfile::tempdir().unwrap();
    let vm = scratch.path().join("db-01");
    copy_tree(&fixture().join("db-01"), &vm);
    let old = backup_of(scratch.path(), "db-01");
    // A second backup, one day later, with the same manifest re-dated.
    let newer = vm.join("2026-12-02T231715Z");
    copy_tree(&old, &newer);
    let mut manifest = Manifest::read(&newer).unwrap();
    manifest.created = "2026-12-02T23:17:15Z".to_owned();
    fs::write(newer.join(MANIFEST_FILE), manifest.to_json()).unwrap();

    let policy = Policy {
        keep_last: KeepCount::Count(1),
        ..Policy::default()
    };
    let now = "2026-12-03T00:00:00Z".parse().unwrap();
    let pruned = prune_vm_dir(&vm, &Layout::Own, &policy, now, false, &NoHook).unwrap();
    assert_eq!(pruned.applied.removed, std::slice::from_ref(&old));
    assert!(!old.exists() && newer.exists());
}
