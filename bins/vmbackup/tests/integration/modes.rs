//! Backups and pool database dumps are private to their owner by default (files 0600,
//! folders 0700); `file_mode` sets another mode (folders get it with `x` where `r` is).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::support::{Setup, s, vm_with_disks, vmbackup_exit, vmbackup_json};

/// Every mode below `dir` (itself excluded): (path, is a directory, mode).
fn modes(dir: &Path, found: &mut Vec<(String, bool, u32)>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = fs::symlink_metadata(&path).unwrap();
        found.push((
            path.display().to_string(),
            meta.is_dir(),
            meta.permissions().mode() & 0o7777,
        ));
        if meta.is_dir() {
            modes(&path, found);
        }
    }
}

fn assert_modes(setup: &Setup, file: u32, dir: u32) {
    let mut found = Vec::new();
    for entry in fs::read_dir(setup.backups()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
            found.push((path.display().to_string(), true, mode));
            modes(&path, &mut found);
        }
    }
    let dumps = found
        .iter()
        .filter(|(p, _, _)| Path::new(p).extension().is_some_and(|e| e == "dump"))
        .count();
    assert_eq!(dumps, 1, "{found:?}");
    let wrong: Vec<_> = found
        .iter()
        .filter(|(_, is_dir, mode)| *mode != if *is_dir { dir } else { file })
        .collect();
    assert!(wrong.is_empty(), "expected {file:o}/{dir:o}: {wrong:?}");
}

#[test]
fn backups_are_private_by_default_and_file_mode_sets_another_mode() {
    let setup = Setup::new(vec![vm_with_disks("web", 1)]);
    let rules = "pool_db_backup=1\nvdi-export=web\nall_disks=true";
    let config = setup.config("modes.cfg", rules);
    vmbackup_json(&["run", s(&config), "--quiet"], 0);
    // The VM's directory is new: private too. (The backup directory is the user's.)
    assert_modes(&setup, 0o600, 0o700);

    let setup = Setup::new(vec![vm_with_disks("web", 1)]);
    let config = setup.config("modes.cfg", &format!("file_mode=0640\n{rules}"));
    vmbackup_json(&["run", s(&config), "--quiet"], 0);
    assert_modes(&setup, 0o640, 0o750);

    for bad in ["0755", "0400", "640x", "01600"] {
        let config = setup.config("bad.cfg", &format!("file_mode={bad}\nvm-export=web"));
        let (_, stderr) = vmbackup_exit(&["preview", s(&config)], 2);
        assert!(stderr.contains("file_mode"), "{bad}: {stderr}");
    }
}
