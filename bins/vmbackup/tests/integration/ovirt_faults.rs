//! The oVirt fault table, binary level: each fault from ovirt-sim's knobs fails the VM it
//! hits (exit 1), publishes nothing, keeps the earlier backups intact and leaves the
//! engine's audit clean; a 401 is survived; a snapshot that cannot be removed is a warning
//! the next run sweeps; a full disk, SIGTERM, and SIGKILL followed by a rerun that removes
//! exactly what the dead run left.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ovirt_sim::Call;

use super::ovirt_support::{Engine, backups_below, partials_below};
use super::support::{s, vmbackup_exit, vmbackup_json};

/// Runs `config` expecting one failed VM; asserts nothing new was published, nothing is
/// left partial, the earlier backups verify, and the engine is clean.
fn fails_cleanly(engine: &Engine, config: &Path, why: &str, says: &str) {
    let before = backups_below(&engine.backups());
    let report = vmbackup_json(&["run", s(config), "--quiet"], 1);
    let vm = &report["vms"][0];
    assert_eq!(vm["status"], "failed", "{why}: {report:#}");
    let error = vm["error"].as_str().unwrap_or_default();
    assert!(error.contains(says), "{why}: `{says}` not in {error}");
    assert_eq!(backups_below(&engine.backups()), before, "{why}: published");
    assert!(partials_below(&engine.backups()).is_empty(), "{why}");
    let (out, _) = vmbackup_exit(&["verify", s(&engine.backups())], 0);
    assert_eq!(out.matches(": ok").count(), before.len(), "{why}: {out}");
    let audit = engine.sim.audit();
    assert!(audit.is_clean(), "{why}: {audit}");
}

#[test]
fn each_engine_fault_fails_the_vm_publishes_nothing_and_leaves_nothing() {
    let engine = Engine::new();
    let imageio = engine.config("imageio.cfg", "vm-export=vm2");
    let quick = engine.config("quick.cfg", "vm-export=vm2\nsnapshot_timeout=1");
    // The appliance finds its own id in SMBIOS (here a file of the test's own).
    let product_uuid = engine.dir.path().join("product_uuid");
    std::fs::write(
        &product_uuid,
        format!("{}\n", engine.appliance().to_uppercase()),
    )
    .unwrap();
    let appliance = engine.config(
        "appliance.cfg",
        &format!(
            "vm-export=vm2\nmode=appliance\nproduct_uuid_file={}\ndevice_timeout=2",
            product_uuid.display()
        ),
    );
    vmbackup_json(&["run", s(&imageio), "--quiet"], 0);
    let faults = engine.sim.faults();

    faults.fail_call(
        Call::new("POST", "snapshots"),
        1,
        400,
        "Cannot create snapshot",
    );
    fails_cleanly(
        &engine,
        &imageio,
        "snapshot add fails",
        "Cannot create snapshot",
    );

    faults.keep_snapshots_locked(Some(Duration::from_secs(3)));
    fails_cleanly(&engine, &quick, "snapshot stuck locked", "locked");
    faults.keep_snapshots_locked(None);

    faults.fail_call(
        Call::new("POST", "imagetransfers"),
        1,
        400,
        "Cannot transfer",
    );
    fails_cleanly(&engine, &imageio, "transfer add fails", "Cannot transfer");

    faults.fail_next_finalize();
    fails_cleanly(
        &engine,
        &imageio,
        "transfer failing in finalizing",
        "finaliz",
    );

    // Every ticket revoked as soon as its transfer has one: the download is cut.
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::SeqCst) {
                engine.sim.revoke_tickets();
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        fails_cleanly(&engine, &imageio, "ticket cancelled mid-download", "403");
        stop.store(true, Ordering::SeqCst);
    });

    faults.hide_appliance_devices(true);
    fails_cleanly(
        &engine,
        &appliance,
        "attachment never shows up under by-id",
        "showing up",
    );
    faults.hide_appliance_devices(false);

    faults.fail_call(
        Call::new("DELETE", "diskattachments"),
        1,
        400,
        "Cannot detach",
    );
    fails_cleanly(&engine, &appliance, "detach fails", "Cannot detach");

    // Still works after all of it.
    vmbackup_json(&["run", s(&appliance), "--quiet"], 0);
    assert_eq!(backups_below(&engine.backups()).len(), 2);
    engine.assert_clean();
}

#[test]
fn a_401_is_survived_and_a_snapshot_that_cannot_be_removed_is_swept_by_the_next_run() {
    let engine = Engine::new();
    let config = engine.config("c.cfg", "vm-export=vm2");
    // The session expires mid-run: once the snapshot is there, the next request gets 401.
    let report = std::thread::scope(|scope| {
        scope.spawn(|| {
            wait_for_snapshot(&engine);
            engine.sim.faults().unauthorized_once();
        });
        vmbackup_json(&["run", s(&config), "--quiet"], 0)
    });
    assert_eq!(report["vms"][0]["status"], "success", "{report:#}");
    assert!(engine.sim.logins() >= 2, "logged in again");
    engine.assert_clean();

    engine.sim.faults().fail_call(
        Call::new("DELETE", "snapshots"),
        1,
        400,
        "Cannot remove Snapshot",
    );
    let report = vmbackup_json(&["run", s(&config), "--quiet"], 0);
    let vm = &report["vms"][0];
    assert_eq!(vm["status"], "warning", "{report:#}");
    assert!(
        vm["warnings"].to_string().contains("could not be removed"),
        "{vm}"
    );
    assert!(!engine.sim.audit().is_clean(), "the snapshot is left");
    // That run is over: its snapshot is a dead run's, which the next run removes.
    let (out, _) = vmbackup_exit(&["run", s(&config)], 0);
    assert!(out.contains("a dead run left"), "{out}");
    engine.assert_clean();
    assert_eq!(backups_below(&engine.backups()).len(), 3);
}

/// A tmpfs mounted for one test, unmounted on every path.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(path).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .expect("mount runs (util-linux)");
        assert!(status.success(), "mounting a tmpfs needs root");
        Tmpfs(path.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_fails_the_backup_and_keeps_the_earlier_one() {
    let engine = Engine::new();
    let small = Tmpfs::mount(&engine.dir.path().join("small"), "200k");
    let config = engine.config_in("full.cfg", &small.0, "vm-export=vm2");
    vmbackup_json(&["run", s(&config), "--quiet"], 0);
    let first = backups_below(&small.0);
    assert_eq!(first.len(), 1);
    let big = engine.config_in("big.cfg", &small.0, "vm-export=vm1");
    let report = vmbackup_json(&["run", s(&big), "--quiet"], 1);
    assert!(
        report.to_string().contains("No space left on device"),
        "{report:#}"
    );
    assert_eq!(backups_below(&small.0), first);
    assert!(partials_below(&small.0).is_empty());
    vmbackup_exit(&["verify", s(&first[0])], 0);
    engine.assert_clean();
}

/// Starts `vmbackup run config` in the background.
fn spawn_run(config: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_vmbackup"))
        .args(["run", s(config), "--quiet"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until the engine holds a snapshot (the run is in its snapshot wait).
fn wait_for_snapshot(engine: &Engine) {
    let started = Instant::now();
    while leftovers(engine, "snapshot").is_empty() {
        assert!(started.elapsed() < Duration::from_secs(20), "no snapshot");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigterm_stops_cleanly_and_a_rerun_after_sigkill_sweeps_only_the_dead_run_s_snapshot() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let engine = Engine::new();
    let config = engine.config("c.cfg", "vm-export=vm1");
    engine
        .sim
        .faults()
        .keep_snapshots_locked(Some(Duration::from_secs(3)));
    let child = spawn_run(&config);
    wait_for_snapshot(&engine);
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap());
    kill(pid, Signal::SIGTERM).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(backups_below(&engine.backups()).is_empty());
    assert!(partials_below(&engine.backups()).is_empty());
    engine.assert_clean();

    // A snapshot that is not ours, which no sweep may touch.
    let options = vmbackup::ovirt::connect_options(
        &vmbackup::Config::load(&config, vmbackup::Overrides::default()).unwrap(),
    )
    .unwrap();
    let api = ovirt_client::Connection::connect(options, engine.sim.credentials().1).unwrap();
    let vm = engine.sim.vm_id("vm1").unwrap();
    let foreign = api
        .create_snapshot(&vm, "an admin's snapshot", None, None)
        .unwrap();
    let foreign_id = foreign.id.unwrap();
    api.wait_snapshot_ok(&vm, &foreign_id, Duration::from_secs(20))
        .unwrap();

    let child = spawn_run(&config);
    std::thread::sleep(Duration::from_millis(300));
    wait_until_two_snapshots(&engine);
    kill(
        Pid::from_raw(i32::try_from(child.id()).unwrap()),
        Signal::SIGKILL,
    )
    .unwrap();
    child.wait_with_output().unwrap();
    engine.sim.faults().keep_snapshots_locked(None);
    let left = leftovers(&engine, "snapshot");
    assert_eq!(left.len(), 2, "the dead run's and the admin's: {left:?}");

    let (out, _) = vmbackup_exit(&["run", s(&config)], 0);
    assert!(out.contains("a dead run left"), "{out}");
    let left = leftovers(&engine, "snapshot");
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].contains("an admin's snapshot"), "{left:?}");
    assert_eq!(backups_below(&engine.backups()).len(), 1);
    api.remove_snapshot(&vm, &foreign_id, Duration::from_secs(20))
        .unwrap();
    drop(api);
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

/// The audit's leftovers of `kind`, as JSON text.
fn leftovers(engine: &Engine, kind: &str) -> Vec<String> {
    let audit = serde_json::to_value(engine.sim.audit()).unwrap();
    audit["leftovers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"] == kind)
        .map(ToString::to_string)
        .collect()
}

/// Waits until the run's snapshot is there beside the admin's.
fn wait_until_two_snapshots(engine: &Engine) {
    let started = Instant::now();
    while leftovers(engine, "snapshot").len() < 2 {
        assert!(started.elapsed() < Duration::from_secs(20), "no snapshot");
        std::thread::sleep(Duration::from_millis(50));
    }
}
