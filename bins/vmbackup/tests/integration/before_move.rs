//! Backups written before the store moved into backup-core (the fixture in
//! `bins/backup-core/tests/fixtures/before-move`, real output of vmbackup at `95c890e`):
//! the binary of today lists them, verifies them, and restores them into a new pool,
//! reading the restored disks back; vmbackup's typed manifest writes them back byte for
//! byte.

use std::fs;
use std::path::{Path, PathBuf};

use backup_core::store::MANIFEST_FILE;
use vmbackup::backup_sr::XapiManifest;

use super::support::{Setup, restore_checked, s, vmbackup_exit, vmbackup_json};

/// The fixture's backup directory.
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../backup-core/tests/fixtures/before-move/backups")
}

/// The one backup of the VM directory `vm`.
fn backup_of(vm: &str) -> PathBuf {
    let mut found: Vec<PathBuf> = fs::read_dir(fixture().join(vm))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(found.len(), 1, "{vm}: {found:?}");
    found.remove(0)
}

#[test]
fn old_manifests_write_back_byte_for_byte() {
    for vm in ["web 01%2Fa", "db-01", "app-01"] {
        let dir = backup_of(vm);
        let manifest = XapiManifest::read_as(&dir).unwrap();
        let text = fs::read_to_string(dir.join(MANIFEST_FILE)).unwrap();
        assert_eq!(manifest.to_json(), text, "{vm}");
    }
    let app = XapiManifest::read_as(&backup_of("app-01")).unwrap();
    assert_eq!(app.extra.sr_copies[0].sr_name, "Backup NFS");
}

#[test]
fn old_backups_list_verify_and_restore() {
    let listed = vmbackup_json(&["list", "--backup-dir", s(&fixture())], 0);
    let names: Vec<(&str, &str, &str)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|vm| {
            let backup = &vm["backups"][0];
            (
                vm["vm"].as_str().unwrap(),
                backup["state"].as_str().unwrap(),
                backup["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("app-01", "complete", "backup-sr-export"),
            ("db-01", "complete", "vdi-export"),
            ("web 01/a", "complete", "vm-export"),
        ]
    );

    let (web, db) = (backup_of("web 01%2Fa"), backup_of("db-01"));
    let (stdout, _) = vmbackup_exit(&["verify", s(&web), s(&db)], 0);
    assert_eq!(stdout.matches(": ok").count(), 2, "{stdout}");
    // Its files are sound; its disk on the backup SR went with the pool that made it.
    let (stdout, _) = vmbackup_exit(&["verify", s(&backup_of("app-01"))], 1);
    assert!(
        stdout.contains("were not checked: verify needs the pool"),
        "{stdout}"
    );

    let setup = Setup::new(Vec::new());
    let config = setup.config("restore.cfg", "");
    let restored = restore_checked(&web, &config);
    assert_eq!(restored["vms"].as_array().unwrap().len(), 1, "{restored:#}");
    let restored = restore_checked(&db, &config);
    assert_eq!(
        restored["vdis"].as_array().unwrap().len(),
        1,
        "{restored:#}"
    );
}
