//! Faults injected at every step of every kind of backup: the VM fails with NAUbackup's
//! status word, the others go on, the pool is left with no snapshot, disk or session, no
//! directory is marked `success` without a complete, verified file, and earlier backups are
//! intact.

use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use xapi_sim::{Endpoint, TransferFault};

use super::support::{Setup, restore_checked, s, vm_with_disks, vmbackup_json};

/// A pool with the VM to break and a bystander, one good backup of each already taken
/// (`max_backups=1`: a failed run must not prune the good one).
pub(super) fn pool_with_backups(kind_rule: &str) -> (Setup, std::path::PathBuf) {
    pool_with_backups_and(kind_rule, "")
}

/// [`pool_with_backups`] with more settings (`key=value` lines).
pub(super) fn pool_with_backups_and(
    kind_rule: &str,
    settings: &str,
) -> (Setup, std::path::PathBuf) {
    let setup = Setup::new(vec![
        vm_with_disks("victim", 1),
        vm_with_disks("bystander", 2),
    ]);
    let config = setup.config(
        "faults.cfg",
        &format!("max_backups=1\n{settings}\n{kind_rule}=victim\n{kind_rule}=bystander"),
    );
    vmbackup_json(&["run", s(&config), "--quiet"], 0);
    setup.sim.mark_baseline();
    (setup, config)
}

/// Runs once with the fault armed and checks everything the issue promises: the fault hits
/// the first VM the run backs up; the other goes on.
pub(super) fn run_failing(setup: &Setup, config: &std::path::Path, status_word: &str) -> Value {
    let good: Vec<_> = ["victim", "bystander"]
        .iter()
        .map(|vm| setup.backups_of(vm))
        .collect();
    assert!(good.iter().all(|backups| backups.len() == 1));
    let report = vmbackup_json(&["run", s(config), "--quiet"], 1);
    let vms = report["vms"].as_array().unwrap();
    let failed: Vec<&Value> = vms.iter().filter(|vm| vm["status"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{report:#}");
    let name = failed[0]["name"].as_str().unwrap();
    assert!(
        failed[0]["status_line"]
            .as_str()
            .unwrap()
            .starts_with(status_word),
        "{report:#}"
    );
    assert!(
        vms.iter().any(|vm| vm["status"] == "success"),
        "the other VM goes on: {report:#}"
    );
    setup.assert_clean();
    let before = &good[usize::from(name == "bystander")];
    assert_eq!(
        &setup.backups_of(name),
        before,
        "the earlier backup is intact, and no new one appears"
    );
    let entries = fs::read_dir(setup.backups().join(name)).unwrap().count();
    assert_eq!(
        entries, 1,
        "nothing but the earlier backup in the VM's directory"
    );
    vmbackup_json(&["verify", s(&before[0])], 0);
    let line = format!(",end,{status_word} {name}");
    assert!(
        setup.status_log().iter().any(|l| l.ends_with(&line)),
        "{:?}",
        setup.status_log()
    );
    report
}

fn fail_call(setup: &Setup, method: &str) {
    setup
        .sim
        .faults()
        .fail_call(method, 1, &["INTERNAL_ERROR", "injected fault"]);
}

#[test]
fn vm_export_faults_at_every_step() {
    for (method, word) in [
        ("VM.snapshot", "SNAPSHOT-FAIL"),
        ("VM.set_is_a_template", "TEMPLATE-PARAM-SET-FAIL"),
        ("/export", "VM-EXPORT-FAIL"),
        ("/export_metadata", "METADATA-EXPORT-FAIL"),
    ] {
        let (setup, config) = pool_with_backups("vm-export");
        fail_call(&setup, method);
        run_failing(&setup, &config, word);
    }
}

#[test]
fn broken_export_streams_are_never_kept() {
    for fault in [
        TransferFault::Cut {
            after_bytes: 300_000,
        },
        TransferFault::CorruptChunk { disk: 0, chunk: 0 },
        TransferFault::ErrorInBody,
    ] {
        let (setup, config) = pool_with_backups("vm-export");
        setup.sim.faults().transfer(Endpoint::Export, fault.clone());
        let report = run_failing(&setup, &config, "VM-EXPORT-FAIL");
        if matches!(fault, TransferFault::CorruptChunk { .. }) {
            let errors: Vec<&str> = report["vms"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|vm| vm["error"].as_str())
                .collect();
            assert!(
                errors.iter().any(|e| e.contains("checksum mismatch")),
                "{report:#}"
            );
        }
    }
}

#[test]
fn vdi_export_faults_at_every_step() {
    for (method, word) in [
        ("VDI.snapshot", "VDI-SNAPSHOT-FAIL"),
        ("VDI.set_name_label", "VDI-PARAM-SET-FAIL"),
        ("/export_raw_vdi", "VDI-EXPORT-FAIL"),
    ] {
        let (setup, config) = pool_with_backups("vdi-export");
        fail_call(&setup, method);
        run_failing(&setup, &config, word);
    }
    let (setup, config) = pool_with_backups("vdi-export");
    setup.sim.faults().transfer(
        Endpoint::ExportRawVdi,
        TransferFault::Cut {
            after_bytes: 1_000_000,
        },
    );
    run_failing(&setup, &config, "VDI-EXPORT-FAIL");
}

#[test]
fn skeleton_and_metadata_export_faults() {
    let (setup, config) = pool_with_backups("skeleton-export");
    fail_call(&setup, "VDI.create");
    run_failing(&setup, &config, "SKELETON-BUILD-FAIL");
    let (setup, config) = pool_with_backups("metadata-export");
    fail_call(&setup, "/export_metadata");
    run_failing(&setup, &config, "METADATA-EXPORT-FAIL");
}

#[test]
fn a_snapshot_that_cannot_be_removed_is_a_warning_and_swept_next_time() {
    let (setup, config) = pool_with_backups("vm-export");
    fail_call(&setup, "VM.destroy");
    let report = vmbackup_json(&["run", s(&config), "--quiet"], 0);
    assert_eq!(report["status"], "WARNING", "{report:#}");
    assert_eq!(
        setup.sim.audit().snapshots.len(),
        1,
        "the snapshot XAPI refused to destroy"
    );
    vmbackup_json(&["run", s(&config), "--quiet"], 0);
    setup.assert_clean();
}

#[test]
fn xapi_quirks_do_not_spoil_a_backup() {
    let (setup, config) = pool_with_backups("vm-export");
    let faults = setup.sim.faults();
    faults.keepalive_chunks(Some(2));
    faults.redirect(Endpoint::Export, true);
    faults.transfer(
        Endpoint::Export,
        TransferFault::Stall {
            at_byte: 65_536,
            duration: Duration::from_secs(2),
        },
    );
    faults.async_delay(Duration::from_millis(300));
    let report = vmbackup_json(&["run", s(&config), "--quiet"], 0);
    assert_eq!(report["status"], "SUCCESS", "{report:#}");
    setup.sim.invalidate_sessions();
    vmbackup_json(&["run", s(&config), "--quiet"], 0);
    setup.assert_clean();
    let newest = setup.backups_of("victim").pop().unwrap();
    restore_checked(&newest, &config);
}

/// A tmpfs, unmounted on drop.
struct TinyFs(std::path::PathBuf);

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_backup_disk_fails_cleanly() {
    let setup = Setup::new(vec![vm_with_disks("victim", 1)]);
    let mount = setup.backups();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs", s(&mount)])
        .status()
        .expect("mount is missing: install with: apt-get install mount");
    assert!(mounted.success(), "this test mounts a tmpfs and needs root");
    let _tiny = TinyFs(mount.clone());
    let config = setup.config("full.cfg", "vm-export=victim");
    let report = vmbackup_json(&["run", s(&config), "--quiet"], 1);
    assert!(
        report["vms"][0]["error"]
            .as_str()
            .unwrap()
            .contains("No space left"),
        "{report:#}"
    );
    setup.assert_clean();
    let left: Vec<_> = fs::read_dir(mount.join("victim")).unwrap().collect();
    assert!(left.is_empty(), "no partial backup remains");
}

/// Starts a backup whose export stalls (a stop request is seen when the next block
/// arrives), and waits until its snapshot exists.
fn start_stalled_backup(setup: &Setup, config: &std::path::Path) -> std::process::Child {
    setup.sim.faults().transfer(
        Endpoint::Export,
        TransferFault::Stall {
            at_byte: 1 << 20,
            duration: Duration::from_secs(3),
        },
    );
    let child = Command::new(env!("CARGO_BIN_EXE_vmbackup"))
        .args(["run", s(config), "--quiet"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while setup.sim.audit().snapshots.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the backup never took its snapshot"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300)); // into the transfer
    child
}

#[test]
fn interrupted_runs_clean_up_and_killed_ones_are_cleaned_next_time() {
    let setup = Setup::new(vec![vm_with_disks("victim", 1)]);
    let config = setup.config("kill.cfg", "vm-export=victim");
    let child = start_stalled_backup(&setup, &config);
    kill(
        Pid::from_raw(i32::try_from(child.id()).unwrap()),
        Signal::SIGTERM,
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("interrupted"));
    setup.sim.faults().clear();
    setup.assert_clean();
    assert!(
        fs::read_dir(setup.backups().join("victim"))
            .unwrap()
            .next()
            .is_none(),
        "no partial backup remains"
    );

    let mut child = start_stalled_backup(&setup, &config);
    kill(
        Pid::from_raw(i32::try_from(child.id()).unwrap()),
        Signal::SIGKILL,
    )
    .unwrap();
    child.wait().unwrap();
    setup.sim.faults().clear();
    assert_eq!(
        setup.sim.audit().snapshots.len(),
        1,
        "a killed run leaves its snapshot"
    );
    vmbackup_json(&["run", s(&config), "--quiet"], 0);
    // The killed process could not log out (XAPI expires its session and task); the next
    // run removed everything the backup itself had made.
    let audit = setup.sim.audit();
    assert!(
        audit.snapshots.is_empty() && audit.vdis.is_empty() && audit.vbds.is_empty(),
        "{audit}"
    );
    let entries: Vec<String> = fs::read_dir(setup.backups().join("victim"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        entries.len(),
        1,
        "the killed run's partial backup is pruned: {entries:?}"
    );
    assert!(!entries[0].starts_with('.'));
}

/// A progress display that crashes once the transfer is under way.
struct Explodes;

impl disk_image::Progress for Explodes {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {
        panic!("the progress display crashed");
    }
    fn finish(&self) {}
}

#[test]
fn a_panic_mid_transfer_still_removes_the_snapshot_and_the_partial_backup() {
    use backup_core::batch::{Batch, Cancel, SystemClock, run_batch};
    use vmbackup::inventory::Inventory;
    use vmbackup::jobs::{Pool, XapiJob};

    let setup = Setup::new(vec![vm_with_disks("victim", 1)]);
    let path = setup.config("panic.cfg", "vm-export=victim");
    let config = vmbackup::Config::load(&path, vmbackup::Overrides::default()).unwrap();
    let secret = cli_common::secrets::Secret::new(setup.sim.credentials().1);
    let session = vmbackup::connect::connect(&config, &secret).unwrap();
    let inventory = Inventory::fetch(&session).unwrap();
    let selection = vmbackup::resolve(
        &config.rules,
        &inventory.vm_infos(),
        jiff::civil::Weekday::Monday,
    );
    let pool = Pool {
        session: &session,
        inventory: &inventory,
        config: &config,
        host_name: "test",
    };
    let jobs = [XapiJob {
        pool: &pool,
        job: &selection.jobs[0],
    }];
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_batch(
            &jobs,
            &Batch {
                concurrency: std::num::NonZeroUsize::MIN,
                cancel: &Cancel::new(),
                clock: &SystemClock,
                progress: &|_| Box::new(Explodes),
                events: &|_| {},
                retention: None,
            },
        )
    }));
    assert!(outcome.is_err(), "the job panicked");
    drop(session);
    setup.assert_clean();
    assert!(
        fs::read_dir(setup.backups().join("victim"))
            .unwrap()
            .next()
            .is_none(),
        "no partial backup remains"
    );
}
