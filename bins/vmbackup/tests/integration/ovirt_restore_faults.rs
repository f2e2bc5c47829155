//! An oVirt restore that fails or is stopped part way removes what it made: the real
//! binary against the simulated engine with the real imageio daemon, with the upload's
//! ticket cancelled under it, the storage domain full, SIGTERM mid-upload, SIGKILL
//! mid-upload (the next restore sweeps what it left); each ends with the engine's VMs and
//! disks as before and a clean audit.

use std::path::Path;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use ovirt_sim::Call;

use super::ovirt_restore_support::{Engine, Running, run, seed_backup, wait_for_a_transfer};
use super::support::texts;

/// Replaces the backup's boot disk by 192 MiB of random bytes (its `DiskN.dat` says so;
/// the OVF's whole-GiB size is still right), so that its upload takes a while.
fn enlarge_boot_disk(dir: &Path) {
    let image = dir.join("Disk1.img");
    run(
        "dd",
        &[
            "if=/dev/urandom",
            &format!("of={}", image.display()),
            "bs=1M",
            "count=192",
            "status=none",
        ],
    );
    let dat = dir.join("Disk1.dat");
    let mut lines: Vec<String> = std::fs::read_to_string(&dat)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    lines[5] = (192u64 << 20).to_string();
    std::fs::write(&dat, lines.join("\n") + "\n").unwrap();
}

#[test]
fn a_restore_whose_ticket_is_cancelled_or_that_is_stopped_removes_what_it_made() {
    let engine = Engine::start();
    let root = engine.work.path().join("backups");
    let backup = seed_backup(&engine, &root, "20190701_120001", "", "");
    enlarge_boot_disk(&backup);
    let vms = engine.sim.vm_names();
    let disks = engine.sim.disk_list();
    let args = engine.restore_args(
        &backup,
        &["--vnic-profile", "ovirtmgmt", "--name", "doomed"],
    );

    // The engine cancels the upload's ticket under it.
    let restore = Running::start(&args);
    wait_for_a_transfer(&engine.sim);
    std::thread::sleep(Duration::from_millis(100));
    engine.sim.revoke_tickets();
    let output = restore.wait(Duration::from_secs(120));
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    engine.assert_nothing_left(&vms, &disks);

    // SIGTERM while the disk uploads.
    let restore = Running::start(&args);
    wait_for_a_transfer(&engine.sim);
    std::thread::sleep(Duration::from_millis(100));
    kill(Pid::from_raw(restore.pid()), Signal::SIGTERM).unwrap();
    let output = restore.wait(Duration::from_secs(60));
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    engine.assert_nothing_left(&vms, &disks);

    // The storage domain is full when the second disk is made (the engine's fault).
    engine.sim.faults().fail_call(
        Call::new("POST", "diskattachments"),
        2,
        400,
        "Cannot add Virtual Disk. Low disk space on Storage Domain data1.",
    );
    let output = engine.restore(
        &backup,
        &["--vnic-profile", "ovirtmgmt", "--name", "doomed"],
    );
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Low disk space"), "{stderr}");
    engine.assert_nothing_left(&vms, &disks);

    // And with nothing in the way, the same backup restores.
    let output = engine.restore(&backup, &["--vnic-profile", "ovirtmgmt", "--name", "fine"]);
    assert_eq!(output.status.code(), Some(0), "{}", texts(&output).1);
    assert!(engine.sim.vm_names().contains(&"fine".to_owned()));
    let per_vm = engine.sim.disk_list().len() - disks.len();

    // SIGKILL while the disk uploads: the half-made VM, its disk (made attached) and the
    // open upload stay behind; the rerun cancels that upload and removes exactly those.
    let restore = Running::start(&args);
    wait_for_a_transfer(&engine.sim);
    std::thread::sleep(Duration::from_millis(100));
    kill(Pid::from_raw(restore.pid()), Signal::SIGKILL).unwrap();
    let output = restore.wait(Duration::from_secs(60));
    assert_eq!(output.status.code(), None, "{}", texts(&output).1);
    let output = engine.restore(
        &backup,
        &["--vnic-profile", "ovirtmgmt", "--name", "doomed"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", texts(&output).1);
    let names = engine.sim.vm_names();
    assert_eq!(
        names.iter().filter(|n| *n == "doomed").count(),
        1,
        "{names:?}"
    );
    assert_eq!(engine.sim.disk_list().len(), disks.len() + 2 * per_vm);
    // The killed process could not revoke its SSO token (an engine expires it); nothing
    // else is left.
    let audit = serde_json::to_value(engine.sim.audit()).unwrap();
    let kinds: Vec<&str> = audit["leftovers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["token"], "{audit}");
}
