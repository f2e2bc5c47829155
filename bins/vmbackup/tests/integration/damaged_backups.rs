//! Backups whose manifest is missing, damaged or unreadable: `verify` reports them (exit 1),
//! `list` shows them, and neither `prune` nor a run's retention removes them on the strength
//! of the manifest alone.

use std::fs;

use serde_json::Value;

use super::support::{Setup, s, vm_with_disks, vmbackup_json};

#[test]
fn backups_with_a_missing_or_damaged_manifest_are_reported_and_never_pruned() {
    let setup = Setup::new(vec![vm_with_disks("web", 1)]);
    let config = setup.config("damaged.cfg", "max_backups=1\nvdi-export=web");
    vmbackup_json(&["run", s(&config), "--quiet"], 0);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    vmbackup_json(&["run", s(&config), "--quiet"], 0);
    // max_backups=1 removed the first; make two more and damage them.
    let kept = setup.backups_of("web").pop().unwrap();
    let mut damaged = Vec::new();
    for damage in ["missing", "broken"] {
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let config2 = setup.config("keep.cfg", "max_backups=10\nvdi-export=web");
        vmbackup_json(&["run", s(&config2), "--quiet"], 0);
        let newest = setup.backups_of("web").pop().unwrap();
        let manifest = newest.join("manifest.json");
        match damage {
            "missing" => fs::remove_file(&manifest).unwrap(),
            _ => fs::write(&manifest, "{\"format\": \"vmtoolkit-backup/1\", \"sta").unwrap(),
        }
        damaged.push(newest);
    }

    // verify: every damaged backup is a problem, whether named alone or found below.
    for path in [&setup.backups(), &setup.backups().join("web")] {
        let report = vmbackup_json(&["verify", s(path)], 1);
        let backups = report["backups"].as_array().unwrap();
        for dir in &damaged {
            let found = backups
                .iter()
                .find(|b| b["path"] == s(dir))
                .unwrap_or_else(|| panic!("{} not verified: {report:#}", dir.display()));
            assert!(
                !found["problems"].as_array().unwrap().is_empty(),
                "{report:#}"
            );
        }
    }
    for dir in &damaged {
        vmbackup_json(&["verify", s(dir)], 1);
    }

    // list: shown, as damaged.
    let listed = vmbackup_json(&["list", "--backup-dir", s(&setup.backups())], 0);
    let backups = listed[0]["backups"].as_array().unwrap();
    for dir in &damaged {
        let id = dir.file_name().unwrap().to_str().unwrap();
        let entry: &Value = backups
            .iter()
            .find(|b| b["id"] == id)
            .unwrap_or_else(|| panic!("{id} not listed: {listed:#}"));
        assert_eq!(entry["state"], "damaged", "{listed:#}");
    }

    // prune and a run's retention (max_backups=1) leave them alone, and say so.
    let (stdout, _) = super::support::vmbackup_exit(&["prune", "--config", s(&config)], 0);
    for dir in &damaged {
        let id = dir.file_name().unwrap().to_str().unwrap();
        assert!(
            stdout.contains(&format!("keep   {id}  damaged: ")),
            "{stdout}"
        );
    }
    std::thread::sleep(std::time::Duration::from_millis(1100));
    vmbackup_json(&["run", s(&config), "--quiet"], 0);
    for dir in &damaged {
        assert!(
            dir.join("success").is_file(),
            "{} was removed",
            dir.display()
        );
    }
    assert!(
        !kept.exists(),
        "the complete backup beyond max_backups=1 is pruned"
    );
}
