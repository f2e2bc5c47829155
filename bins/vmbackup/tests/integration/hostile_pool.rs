//! A pool whose records carry hostile names: every name from the pool that becomes part of
//! a path (VBD and VIF devices, slots) goes through the safe-name mapping, or the backup is
//! refused; nothing is ever written outside the backup directory.

use std::fs;
use std::path::Path;

use xapi_sim::{HostileField, Ref};

use super::support::{Setup, s, vm_with_disks, vmbackup_json};

/// Deep enough to climb out of `<backups>/<vm>/.partial-<stamp>/DISK-…/` into the test's
/// own scratch directory, where a write that escapes would be seen.
const ESCAPE: &str = "../../../../../escaped";

/// Every file under `dir`, as paths relative to it.
fn files_under(dir: &Path, base: &Path, found: &mut Vec<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            files_under(&path, base, found);
        } else {
            found.push(path.strip_prefix(base).unwrap().display().to_string());
        }
    }
}

/// Asserts that everything the runs wrote is inside a backup of `vm_dir`: the scratch
/// directory holds only what the test made, and the backup directory only that VM's
/// backups.
fn assert_everything_inside(setup: &Setup, vm_dir: &str) {
    let mut found = Vec::new();
    files_under(setup.dir.path(), setup.dir.path(), &mut found);
    let strays: Vec<&String> = found
        .iter()
        .filter(|path| {
            let top = [
                "password",
                "status.log",
                "hostile.cfg",
                "backups/.vmbackup.lock",
            ]
            .contains(&path.as_str());
            let inside = path
                .strip_prefix(&format!("backups/{vm_dir}/"))
                .is_some_and(|rest| rest.starts_with("20") && rest.contains('/'));
            !top && !inside
        })
        .collect();
    assert!(strays.is_empty(), "written outside a backup: {strays:?}");
}

fn hostile_pool() -> (Setup, Vec<Ref>) {
    let setup = Setup::new(Vec::new());
    let created = setup.sim.add_vm(&vm_with_disks("victim", 1)).unwrap();
    let sim = &setup.sim;
    sim.set_hostile_name(&created.vbds[0], HostileField::VbdDevice, ESCAPE)
        .unwrap();
    sim.set_hostile_name(
        &created.vbds[1],
        HostileField::VbdDevice,
        &format!("{ESCAPE}-b"),
    )
    .unwrap();
    sim.set_hostile_name(&created.vbds[1], HostileField::VbdUserdevice, "../../1")
        .unwrap();
    sim.set_hostile_name(
        &created.vifs[0],
        HostileField::VifDevice,
        &format!("{ESCAPE}-vif"),
    )
    .unwrap();
    sim.set_hostile_name(&created.vdis[0], HostileField::VdiName, "../../../etc/x\n")
        .unwrap();
    let sr = sim.vdi(&created.vdis[0]).unwrap().sr;
    sim.set_hostile_name(&sr, HostileField::SrName, "/etc/passwd")
        .unwrap();
    sim.mark_baseline();
    (setup, created.vbds)
}

#[test]
fn a_hostile_pool_never_makes_vmbackup_write_outside_the_backup_directory() {
    let (setup, _) = hostile_pool();
    for rule in [
        "vm-export=victim",
        "vdi-export=victim\nall_disks=true",
        "vdi-export=victim\nall_disks=true\nvdi_export_format=vhd",
        "metadata-export=victim",
        "skeleton-export=victim:2",
    ] {
        let config = setup.config("hostile.cfg", rule);
        let report = vmbackup_json(&["run", s(&config), "--quiet"], 0);
        assert_eq!(report["status"], "SUCCESS", "{rule}: {report:#}");
        setup.assert_no_leaks();
        assert_everything_inside(&setup, "victim");
    }
    let verified = vmbackup_json(&["verify", s(&setup.backups())], 0);
    assert_eq!(verified["ok"], true, "{verified:#}");
}

#[test]
fn two_disks_with_one_device_name_are_refused_not_overwritten() {
    let (setup, vbds) = hostile_pool();
    setup
        .sim
        .set_hostile_name(&vbds[1], HostileField::VbdDevice, ESCAPE)
        .unwrap();
    let config = setup.config("hostile.cfg", "vdi-export=victim\nall_disks=true");
    let report = vmbackup_json(&["run", s(&config), "--quiet"], 1);
    assert_eq!(report["vms"][0]["status"], "failed", "{report:#}");
    setup.assert_clean();
    assert_everything_inside(&setup, "victim");
    assert!(setup.backups_of("victim").is_empty());
}
