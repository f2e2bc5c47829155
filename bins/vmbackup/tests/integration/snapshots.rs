//! Every snapshot vmbackup takes records its owner: a run removes the snapshots a killed run
//! left (of the VM and of its disks), and never a live run's snapshot (another backup
//! directory, the same VM).

use std::fs;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use xapi_sim::{Endpoint, TransferFault};

use super::support::{Setup, s, texts, vm_with_disks, vmbackup_json};

/// Starts `vmbackup run config` with the next transfer on `endpoint` stalled, and waits
/// until it made its snapshot (of the VM, or of a disk).
fn start_stalled(setup: &Setup, config: &std::path::Path, endpoint: Endpoint) -> Child {
    setup.sim.faults().transfer(
        endpoint,
        TransferFault::Stall {
            at_byte: 1 << 20,
            duration: Duration::from_secs(4),
        },
    );
    let child = Command::new(env!("CARGO_BIN_EXE_vmbackup"))
        .args(["run", s(config), "--quiet", "--json"])
        .env_remove("VMBACKUP_PASSWORD")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let audit = setup.sim.audit();
        if !audit.snapshots.is_empty() || audit.vdis.iter().any(|v| v.label.starts_with("SNAP_")) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the backup never took its snapshot"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500)); // marked, and into the transfer
    child
}

#[test]
fn a_killed_vdi_export_leaves_a_disk_snapshot_the_next_run_removes() {
    let setup = Setup::new(vec![vm_with_disks("victim", 1)]);
    let config = setup.config("kill.cfg", "vdi-export=victim");
    let mut child = start_stalled(&setup, &config, Endpoint::ExportRawVdi);
    kill(
        Pid::from_raw(i32::try_from(child.id()).unwrap()),
        Signal::SIGKILL,
    )
    .unwrap();
    child.wait().unwrap();
    setup.sim.faults().clear();
    let left: Vec<_> = setup
        .sim
        .audit()
        .vdis
        .into_iter()
        .filter(|v| v.label.starts_with("SNAP_victim_"))
        .collect();
    assert_eq!(left.len(), 1, "the killed run leaves its disk snapshot");
    vmbackup_json(&["run", s(&config), "--quiet"], 0);
    let audit = setup.sim.audit();
    assert!(
        audit.vdis.is_empty() && audit.snapshots.is_empty(),
        "{audit}"
    );
}

#[test]
fn a_run_never_removes_the_live_snapshot_of_another_run_of_the_same_vm() {
    let setup = Setup::new(vec![vm_with_disks("shared", 1)]);
    fs::create_dir(setup.dir.path().join("other-backups")).unwrap();
    let first = setup.config("first.cfg", "vm-export=shared");
    let second_text = fs::read_to_string(&first).unwrap().replace(
        &format!("backup_dir={}", setup.backups().display()),
        &format!(
            "backup_dir={}",
            setup.dir.path().join("other-backups").display()
        ),
    );
    let second = setup.dir.path().join("second.cfg");
    fs::write(&second, second_text).unwrap();

    let child = start_stalled(&setup, &first, Endpoint::Export);
    // The second run finds the first's snapshot of the same VM: alive, not a leftover.
    let report = vmbackup_json(&["run", s(&second), "--quiet"], 0);
    assert_eq!(report["status"], "SUCCESS", "{report:#}");
    let output = child.wait_with_output().unwrap();
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let first_report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(first_report["status"], "SUCCESS", "{first_report:#}");
    setup.assert_clean();
}
